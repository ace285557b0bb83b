"""BlobService: reference markers and safe collection, with the fake store passed in.

The race tests interleave a user (ensure) and a collector deterministically through the
service's hooks, then hammer the same pair from threads."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pytest

from assetlens import layout
from assetlens.domain import Asset, AssetType
from assetlens.errors import Conflict, Unavailable
from assetlens.services.blobs import BlobHooks, BlobService, BlobUse
from assetlens.spool import Spooled
from storage.local import LocalObjectStore
from tests.fakes import FakeObjectStore

A = "a" * 32
B = "b" * 32


def spooled(tmp_path: Path, data: bytes, name: str = "blob.bin") -> Spooled:
    path = tmp_path / name
    path.write_bytes(data)
    return Spooled(path, name, len(data), hashlib.sha256(data).hexdigest())


def complete(store: FakeObjectStore) -> FakeObjectStore:
    """A library whose reference markers are all written (no legacy manifest scan)."""
    store.put_bytes(layout.BLOB_REFS_COMPLETE_KEY, b"{}")
    return store


def test_ensure_writes_the_marker_and_the_blob_once(tmp_path: Path) -> None:
    store = complete(FakeObjectStore())
    blobs = BlobService(store)
    source = spooled(tmp_path, b"hello")
    blobs.ensure("alpha", A, source)
    etag = store.stat(layout.blob_key(source.sha256)).etag
    blobs.ensure("beta", B, source)
    assert store.stat(layout.blob_key(source.sha256)).etag == etag  # not written twice
    assert list(store.list_keys(layout.blob_ref_prefix(source.sha256))) == [
        layout.blob_ref_key(source.sha256, "alpha", A),
        layout.blob_ref_key(source.sha256, "beta", B),
    ]


def test_release_collects_blob_previews_and_vectors_only_with_the_last_reference(
    tmp_path: Path,
) -> None:
    store = complete(FakeObjectStore())
    blobs = BlobService(store)
    source = spooled(tmp_path, b"shared bytes")
    sha = source.sha256
    blobs.ensure("alpha", A, source)
    blobs.ensure("beta", B, source)
    store.put_bytes(layout.preview_key(sha, "small"), b"webp")
    store.put_bytes(layout.vector_key(sha, "m"), b"[]")
    other = spooled(tmp_path, b"other bytes", "other.bin")
    blobs.ensure("alpha", layout.version_ref_id(A, 2), other)

    assert blobs.release("alpha", A, sha) is False  # beta still uses it
    assert store.exists(layout.blob_key(sha))
    assert blobs.release("beta", B, sha) is True
    assert not store.exists(layout.blob_key(sha))
    assert list(store.list_keys(layout.derived_prefix(sha))) == []
    assert not store.exists(layout.blob_gc_key(sha))
    assert store.exists(layout.blob_key(other.sha256))  # another blob is untouched
    blobs.release("beta", B, sha)  # releasing twice is harmless
    assert store.exists(layout.blob_key(other.sha256))
    assert not store.exists(layout.blob_gc_key(sha))


def test_a_reference_written_after_the_mark_stops_the_collector(tmp_path: Path) -> None:
    store = complete(FakeObjectStore())
    source = spooled(tmp_path, b"contended")
    user = BlobService(store)
    user.ensure("alpha", A, source)
    second = spooled(tmp_path, b"contended", "again.bin")

    def upload_meanwhile(sha: str) -> None:  # collector marked, has not listed refs yet
        store.put_bytes(layout.blob_ref_key(sha, "beta", B), b"")

    collector = BlobService(store, hooks=BlobHooks(after_mark=upload_meanwhile))
    assert collector.release("alpha", A, source.sha256) is False
    user.ensure("beta", B, second)
    assert store.exists(layout.blob_key(source.sha256))
    assert not store.exists(layout.blob_gc_key(source.sha256))


def test_a_user_arriving_during_deletion_waits_and_writes_the_blob_again(tmp_path: Path) -> None:
    """The collector found no refs and is about to delete when the user writes its marker:
    the user sees the mark, waits until the collector is done, then stores the bytes."""
    store = complete(FakeObjectStore())
    source = spooled(tmp_path, b"deleted under our feet")
    BlobService(store).ensure("alpha", A, source)
    waiting = threading.Event()
    done: list[BaseException | None] = []

    def user_waits(seconds: float) -> None:
        waiting.set()
        threading.Event().wait(seconds)

    user = BlobService(store, sleep=user_waits, poll_seconds=0.01)

    def upload() -> None:
        try:
            user.ensure("beta", B, spooled(tmp_path, b"deleted under our feet", "b.bin"))
            done.append(None)
        except BaseException as exc:
            done.append(exc)

    thread = threading.Thread(target=upload)

    def start_user(sha: str) -> None:
        thread.start()
        assert waiting.wait(10)  # the user wrote its marker and saw the mark

    collector = BlobService(store, hooks=BlobHooks(before_delete=start_user))
    assert collector.release("alpha", A, source.sha256) is True
    thread.join(10)
    assert done == [None]
    assert store.get_bytes(layout.blob_key(source.sha256)).data == b"deleted under our feet"
    assert store.exists(layout.blob_ref_key(source.sha256, "beta", B))


def test_a_collection_that_outlasts_the_wait_answers_503(tmp_path: Path) -> None:
    store = complete(FakeObjectStore())
    source = spooled(tmp_path, b"stuck")
    store.put_bytes(layout.blob_gc_key(source.sha256), b"{}")  # a crashed collector's mark
    now = [0.0]

    def advance(seconds: float) -> None:
        now[0] += seconds

    blobs = BlobService(
        store, wait_seconds=1.0, poll_seconds=0.5, sleep=advance, clock=lambda: now[0]
    )
    with pytest.raises(Unavailable):
        blobs.ensure("alpha", A, source)
    assert now[0] >= 1.0


def test_add_ref_to_a_blob_that_is_gone_is_a_conflict_and_leaves_no_marker() -> None:
    store = complete(FakeObjectStore())
    sha = "c" * 64
    with pytest.raises(Conflict):
        BlobService(store).add_ref("alpha", A, sha)
    assert list(store.list_keys(layout.blob_ref_prefix(sha))) == []


def test_before_the_backfill_a_manifest_without_markers_keeps_its_blob(tmp_path: Path) -> None:
    store = FakeObjectStore()
    source = spooled(tmp_path, b"legacy")
    store.put_bytes(layout.blob_key(source.sha256), b"legacy")
    legacy = Asset(
        id=A,
        workspace="alpha",
        name="x",
        type=AssetType.OTHER,
        mime="text/plain",
        extension="txt",
        size_bytes=6,
        sha256=source.sha256,
    )
    store.put_bytes(layout.manifest_key("alpha", A), legacy.model_dump_json().encode())
    blobs = BlobService(store)
    assert blobs.collect(source.sha256) is False
    assert store.exists(layout.blob_key(source.sha256))

    assert blobs.backfill([BlobUse("alpha", A, source.sha256)]) == 1
    assert blobs.backfill([BlobUse("alpha", A, source.sha256)]) == 0  # once only
    assert blobs.release("alpha", A, source.sha256) is True


def race_release_and_upload(
    blobs: BlobService, tmp_path: Path, data: bytes, round_: int
) -> list[BaseException]:
    """Release `alpha`'s reference and upload the same bytes as `beta`, at once."""
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []
    sha = hashlib.sha256(data).hexdigest()

    def release() -> None:
        barrier.wait()
        blobs.release("alpha", A, sha)

    def upload() -> None:
        barrier.wait()
        try:
            blobs.ensure("beta", B, spooled(tmp_path, data, f"b{round_}.bin"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=release), threading.Thread(target=upload)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return errors


@pytest.mark.parametrize(("backend", "rounds"), [("fake", 300), ("local", 25)])
def test_hammer_release_against_an_upload_of_the_same_bytes(
    tmp_path: Path, backend: str, rounds: int
) -> None:
    """Many rounds of: one asset releases the bytes while another uploads them. Whatever
    the interleaving, the uploader's blob exists afterwards."""
    store = FakeObjectStore() if backend == "fake" else LocalObjectStore(tmp_path / "store")
    store.put_bytes(layout.BLOB_REFS_COMPLETE_KEY, b"{}")
    blobs = BlobService(store, poll_seconds=0.001)
    for round_ in range(rounds):
        data = f"round {round_ % 5}".encode()
        source = spooled(tmp_path, data, f"a{round_}.bin")
        blobs.ensure("alpha", A, source)
        assert race_release_and_upload(blobs, tmp_path, data, round_) == []
        assert store.get_bytes(layout.blob_key(source.sha256)).data == data, round_
        blobs.release("beta", B, source.sha256)
        assert not store.exists(layout.blob_key(source.sha256))


def test_the_backfill_counts_only_the_markers_it_had_to_write(tmp_path: Path) -> None:
    store = FakeObjectStore()
    blobs = BlobService(store)
    old, new = spooled(tmp_path, b"before markers"), spooled(tmp_path, b"since markers")
    store.put_bytes(layout.blob_ref_key(new.sha256, "alpha", B), b"")  # an upload since
    uses = [BlobUse("alpha", A, old.sha256), BlobUse("alpha", B, new.sha256)]
    assert blobs.backfill(uses) == 1
    assert store.exists(layout.blob_ref_key(old.sha256, "alpha", A))
