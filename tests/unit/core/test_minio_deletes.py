"""Deletes that MinIO turns into a check, then a delete (it ignores If-Match on DELETE): a
change written in between must not be acknowledged and then deleted (docs/MINIO.md).

The store is the fake with the S3 adapter's check-then-delete; the concurrent writer runs
in the gap through its hook, in order, never by timing.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image

from assetlens import layout
from assetlens.bootstrap import Container, build
from assetlens.domain import Asset, utcnow
from assetlens.errors import AssetInUse, NotFound
from assetlens.manifests import TOMBSTONE
from assetlens.services.asset_inputs import UploadForm
from assetlens.services.idempotency import IdempotencyService
from assetlens.services.idempotency_records import IdempotencyRecord
from assetlens.services.references import ReferenceIn
from assetlens.spool import spool_file
from indexer.embedded import EmbeddedSearchIndex
from tests.conftest import make_settings
from tests.fakes import CheckThenDeleteStore, FakeEmbedder


def wired(tmp_path: Path, hook_prefix: str) -> Iterator[tuple[Container, CheckThenDeleteStore]]:
    store = CheckThenDeleteStore(hook_prefix)
    container = build(
        make_settings(tmp_path / "data"),
        store=store,
        index=EmbeddedSearchIndex(tmp_path / "index"),
        embedder=FakeEmbedder(),
    )
    container.index.ensure()
    yield container, store
    container.close()


@pytest.fixture
def on_manifests(tmp_path: Path) -> Iterator[tuple[Container, CheckThenDeleteStore]]:
    yield from wired(tmp_path, "manifests/")


@pytest.fixture
def on_idempotency(tmp_path: Path) -> Iterator[tuple[Container, CheckThenDeleteStore]]:
    yield from wired(tmp_path, layout.IDEMPOTENCY_PREFIX)


def uploaded(container: Container, tmp_path: Path) -> Asset:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 120, 30)).save(buffer, format="PNG")
    buffer.seek(0)
    return container.assets.upload("ws", spool_file(buffer, tmp_path, "a.png", 10**7), UploadForm())


def test_a_restore_racing_a_trash_purge_is_refused_not_acknowledged_and_lost(
    on_manifests: tuple[Container, CheckThenDeleteStore], tmp_path: Path
) -> None:
    """Before the tombstone, the restore landing between the purge's ETag check and its
    DELETE answered 200 with the asset restored, and the DELETE then removed it."""
    container, store = on_manifests
    asset = container.assets.delete("ws", uploaded(container, tmp_path).id)
    outcome: list[object] = []

    def restore(_key: str) -> None:
        try:
            outcome.append(container.assets.restore("ws", asset.id))
        except NotFound as exc:
            outcome.append(exc)

    store.between_check_and_delete = restore
    container.trash.purge("ws", asset.id)
    assert len(outcome) == 1 and isinstance(outcome[0], NotFound)  # never acknowledged
    with pytest.raises(NotFound):
        container.assets.get("ws", asset.id)
    assert list(container.store.list_keys(layout.manifest_prefix("ws"))) == []


def test_a_claim_written_inside_the_sweeps_delete_keeps_its_result(
    on_idempotency: tuple[Container, CheckThenDeleteStore],
) -> None:
    """The sweep checks an expired record, a request claims the key (by CAS) before the
    DELETE lands, and the DELETE takes the claim: the request puts its result back, so a
    retry with the key is replayed instead of run a second time."""
    container, store = on_idempotency
    now = [utcnow()]
    service = IdempotencyService(
        container.settings, container.store, container.assets, clock=lambda: now[0]
    )
    runs: list[str] = []
    claimed, swept = threading.Event(), threading.Event()

    def act(name: str, wait: bool = False) -> str:
        def action(_planned: str | None) -> str:
            runs.append(name)
            if wait:
                claimed.set()
                assert swept.wait(30)
            return name

        return service.run(
            "ws",
            "k",
            "fingerprint",
            action,
            lambda made: {"asset_id": made},
            lambda record: f"replayed {record.asset_id}",
        )

    assert act("first") == "first"
    now[0] += timedelta(seconds=container.settings.idempotency_ttl_seconds + 1)
    answers: list[str] = []
    request = threading.Thread(target=lambda: answers.append(act("second", wait=True)))

    def claim_in_the_gap(_key: str) -> None:
        request.start()
        assert claimed.wait(30)  # the claim is written; the DELETE comes next

    store.between_check_and_delete = claim_in_the_gap
    assert service.sweep_expired() == 1
    swept.set()
    request.join(30)
    assert answers == ["second"]
    record = IdempotencyRecord.model_validate_json(
        container.store.get_bytes(layout.idempotency_key("ws", "k")).data
    )
    assert record.asset_id == "second"
    assert act("third") == "replayed second"
    assert runs == ["first", "second"]


@pytest.fixture
def on_references(tmp_path: Path) -> Iterator[tuple[Container, CheckThenDeleteStore]]:
    yield from wired(tmp_path, "usage-refs/")


def test_two_removals_of_one_reference_release_the_count_once(
    on_references: tuple[Container, CheckThenDeleteStore], tmp_path: Path
) -> None:
    """Before the tombstone both removals passed the ETag check, both DELETEs succeeded
    (MinIO answers a DELETE of a missing key with success) and the count went down twice:
    the asset could then be trashed while a reference to it remained."""
    container, store = on_references
    asset = uploaded(container, tmp_path)
    uses = [
        ReferenceIn(resource_type="story", resource_id=f"s-{n}", usage_type="cover") for n in (1, 2)
    ]
    first, _ = (container.references.create("ws", asset.id, use) for use in uses)
    outcome: list[object] = []

    def second_removal(_key: str) -> None:
        try:
            container.references.remove("ws", asset.id, first.id)
            outcome.append("removed")
        except NotFound as exc:
            outcome.append(exc)

    store.between_check_and_delete = second_removal
    container.references.remove("ws", asset.id, first.id)
    assert len(outcome) == 1 and isinstance(outcome[0], NotFound)
    assert container.assets.get("ws", asset.id).references_count == 1
    with pytest.raises(AssetInUse):
        container.assets.delete("ws", asset.id)
    assert [ref.id for ref in container.references.list_references("ws", asset.id)] != []
    again = container.references.create("ws", asset.id, uses[0])  # the use can come back
    assert again.id == first.id


def test_a_tombstone_left_by_an_interrupted_remove_is_cleared_by_the_next_read(
    on_manifests: tuple[Container, CheckThenDeleteStore], tmp_path: Path
) -> None:
    """A crash between `Manifests.remove`'s tombstone and its delete leaves a manifest gone
    to every reader; the next read (the periodic reconcile reads them all) deletes it."""
    container, store = on_manifests
    asset = uploaded(container, tmp_path)
    key = layout.manifest_key("ws", asset.id)
    _, etag = container.assets.manifests.get("ws", asset.id)
    store.put_bytes(key, TOMBSTONE, content_type="application/json", if_match=etag)  # crash
    assert key in set(store.list_keys("manifests/"))
    assert [a.id for a in container.assets.manifests.iter_all("ws")] == []
    assert key not in set(store.list_keys("manifests/"))
    with pytest.raises(NotFound):
        container.assets.manifests.get("ws", asset.id)
