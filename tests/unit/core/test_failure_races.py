"""A final failure is recorded only on the revision the failing pass worked on.

A change that lands while an old version's last attempt fails — a new version, a rollback,
an edit — must neither be marked `failed` (a new version would never be analysed) nor lose
its place in the queue. Fakes passed in; every interleaving is made by a hook that runs at
the exact step, never by timing.
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from assetlens import layout, media, provenance
from assetlens.domain import Asset, AssetStatus, AssetType, Generation, MediaInfo
from assetlens.manifests import Manifests
from assetlens.provenance.stealth import StealthRead
from assetlens.services.index_failures import mark_failed
from assetlens.spool import spool_file
from tests.contract.search_index_contract import make_asset
from tests.fakes import CheckThenDeleteStore, FakeObjectStore
from tests.unit.core.test_poison import MAX_ATTEMPTS, POISON, Library, make_library

FINE = (30, 200, 40)


def new_version(lib: Library, asset_id: str, colour: tuple[int, int, int]) -> Asset:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), colour).save(buffer, format="PNG")
    buffer.seek(0)
    spooled = spool_file(buffer, lib.tmp, "next.png", 10_000_000)
    try:
        return lib.container.versions.upload("ws", asset_id, spooled)[0]
    finally:
        spooled.discard()


def is_poison(path: Path) -> bool:
    with Image.open(path) as image:
        return bool(image.convert("RGB").getpixel((0, 0)) == POISON)


def test_a_stale_revision_is_not_marked_failed() -> None:
    manifests = Manifests(FakeObjectStore())
    asset = make_asset("a")
    manifests.create(asset)
    edited = manifests.update("ws-main", asset.id, lambda a: a)  # revision 2
    assert mark_failed(manifests, "ws-main", asset.id, "boom", revision=1) is None
    assert manifests.get("ws-main", asset.id)[0] == edited  # left as it is
    marked = mark_failed(manifests, "ws-main", asset.id, "boom", revision=edited.revision)
    assert marked is not None and (marked.status, marked.error) == (AssetStatus.FAILED, "boom")


def test_a_new_version_arriving_during_the_last_failing_attempt_is_analysed(tmp_path: Path) -> None:
    """The old version's analysis fails on every attempt; a new version is uploaded while
    the last one runs. Before the fix the new version was marked failed with the old one's
    error, and the next pass indexed it as failed without analysing it."""
    holder: dict[str, str] = {}
    tries: list[int] = []

    def extract(path: Path, mime: str, stealth: StealthRead | None) -> Generation | None:
        if is_poison(path):
            tries.append(1)
            if len(tries) == MAX_ATTEMPTS:
                new_version(lib, holder["id"], FINE)
            raise ValueError("parser bug")
        return provenance.extract(path, mime, stealth)

    for lib in make_library(tmp_path, extract=extract):
        holder["id"] = asset_id = lib.upload("poison.png", POISON)
        for _ in range(MAX_ATTEMPTS):
            assert lib.indexer.run_once() == 1
            lib.clock.now += 100
        assert len(tries) == MAX_ATTEMPTS
        assert lib.status(asset_id) == (AssetStatus.PROCESSING, None)
        assert lib.queue.attempts("ws", asset_id) is not None  # still queued
        lib.indexer.drain()
        current = lib.container.assets.get("ws", asset_id)
        assert (current.version, current.status, current.error) == (2, AssetStatus.READY, None)
        assert current.media is not None
        assert lib.indexed()["poison.png"].asset.revision == current.revision
        assert lib.queue.pending() == 0


def test_a_new_version_arriving_while_the_old_one_is_found_damaged_is_analysed(
    tmp_path: Path,
) -> None:
    """The immediate failure (pixels that do not decode) is bound to its revision too."""
    holder: dict[str, str] = {}

    def analyse(path: Path, asset_type: AssetType, mime: str) -> media.Analysis:
        if is_poison(path):
            new_version(lib, holder["id"], FINE)
            return media.Analysis(
                media=MediaInfo(format="png", width=8, height=8), undecodable=True
            )
        return media.analyse(path, asset_type, mime)

    for lib in make_library(tmp_path, analyse=analyse):
        holder["id"] = asset_id = lib.upload("damaged.png", POISON)
        lib.indexer.drain()
        current = lib.container.assets.get("ws", asset_id)
        assert (current.version, current.status, current.error) == (2, AssetStatus.READY, None)
        assert lib.queue.pending() == 0


def test_a_change_whose_enqueue_lands_inside_the_failed_items_ack_is_queued_again(
    tmp_path: Path,
) -> None:
    """On MinIO the ack checks the ETag, then deletes. The change's manifest is written
    during the last failing attempt, its enqueue lands between the ack's check and delete
    and is deleted with the item: the re-check after the ack queues the asset again."""
    store = CheckThenDeleteStore(layout.QUEUE_PREFIX)
    holder: dict[str, str] = {}
    tries: list[int] = []

    def edit_now_enqueue_later() -> None:
        def retag(asset: Asset) -> Asset:
            asset.tags = ["edited"]
            return asset

        lib.container.assets.manifests.update("ws", holder["id"], retag)
        store.between_check_and_delete = lambda _key: lib.queue.enqueue("ws", holder["id"])

    def extract(path: Path, mime: str, stealth: StealthRead | None) -> Generation | None:
        tries.append(1)
        if len(tries) == MAX_ATTEMPTS:
            edit_now_enqueue_later()
        raise ValueError("parser bug")

    for lib in make_library(tmp_path, extract=extract, store=store):
        holder["id"] = asset_id = lib.upload("poison.png", POISON)
        for _ in range(MAX_ATTEMPTS):
            assert lib.indexer.run_once() == 1
            lib.clock.now += 100
        assert store.between_check_and_delete is None  # the enqueue landed in the gap
        asset = lib.container.assets.get("ws", asset_id)
        assert (asset.status, asset.tags) == (AssetStatus.PROCESSING, ["edited"])
        # Queued again, with a fresh set of attempts for the edited revision.
        assert lib.queue.attempts("ws", asset_id) == (0, 0.0)
        for _ in range(MAX_ATTEMPTS):
            assert lib.indexer.run_once() == 1
            lib.clock.now += 100
        status, error = lib.status(asset_id)
        assert status is AssetStatus.FAILED and error is not None
        assert lib.queue.pending() == 0
