"""Retrying failed assets: each is counted once, by the retry whose write changed it."""

from __future__ import annotations

from collections.abc import Iterator

from assetlens.domain import Asset, AssetStatus
from assetlens.manifests import Manifests
from assetlens.services.index_failures import retry_failed
from assetlens.workqueue import WorkQueue
from tests.contract.search_index_contract import make_asset
from tests.fakes import FakeObjectStore


class RacedManifests(Manifests):
    """Runs a second `retry_failed` (another process) after listing each asset and before
    this retry updates it: the interleaving where both saw the asset failed."""

    def __init__(self, store: FakeObjectStore, queue: WorkQueue) -> None:
        super().__init__(store)
        self._other = Manifests(store)
        self._queue = queue
        self.other_counted = 0

    def iter_all(self, workspace: str | None = None) -> Iterator[Asset]:
        for asset in super().iter_all(workspace):
            self.other_counted += retry_failed(self._other, self._queue)
            yield asset


def failed_assets(manifests: Manifests, labels: list[str]) -> list[str]:
    ids = []
    for label in labels:
        asset = make_asset(label)
        asset.status = AssetStatus.FAILED
        asset.error = "analysis failed: boom"
        manifests.create(asset)
        ids.append(asset.id)
    return ids


def test_racing_retries_count_each_asset_once() -> None:
    store = FakeObjectStore()
    queue = WorkQueue(store)
    manifests = RacedManifests(store, queue)
    ids = failed_assets(Manifests(store), ["a", "b"])
    counted = retry_failed(manifests, queue)
    assert counted + manifests.other_counted == len(ids)
    assert counted == 0  # the other retry changed both before this one's writes
    assert {a.status for a in Manifests(store).iter_all()} == {AssetStatus.PROCESSING}
    assert queue.pending() == 2


def test_retry_counts_and_queues_only_failed_assets() -> None:
    store = FakeObjectStore()
    queue = WorkQueue(store)
    manifests = Manifests(store)
    failed = failed_assets(manifests, ["a", "b"])
    manifests.create(make_asset("c"))
    assert retry_failed(manifests, queue) == 2
    assert retry_failed(manifests, queue) == 0
    assert sorted(i.asset_id for i in queue.claim(10)) == sorted(failed)
    assert all(manifests.get("ws-main", i)[0].error is None for i in failed)
