"""LocalObjectStore behaviour beyond the shared contract: on-disk layout, crash safety,
cross-process locking, failure mapping and memory use."""

from __future__ import annotations

import io
import multiprocessing
import os
import threading
import time
import tracemalloc
from concurrent.futures import ProcessPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest

from assetlens.errors import InvalidInput, ObjectNotFound, PreconditionFailed, StoreUnavailable
from storage.keys import validate_key, validate_prefix
from storage.local import LocalObjectStore
from tests.unit.storage import _workers

MiB = 1 << 20
SPAWN = multiprocessing.get_context("spawn")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def store(root: Path) -> LocalObjectStore:
    return LocalObjectStore(root)


def _files(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*") if p.is_file())


# -- layout and keys --------------------------------------------------------------------


def test_constructor_touches_nothing(root: Path) -> None:
    LocalObjectStore(root)
    assert not root.exists()


def test_objects_are_plain_files_under_objects(store: LocalObjectStore, root: Path) -> None:
    store.put_bytes("manifests/ws/a1.json", b"{}")
    assert (root / "objects" / "manifests" / "ws" / "a1.json").read_bytes() == b"{}"
    assert list((root / "tmp").iterdir()) == []


@pytest.mark.parametrize(
    "key", ["../outside", "a/../../outside", "/etc/passwd", "..", "a/..", "./x", "a\\..\\b"]
)
def test_traversal_keys_never_reach_the_disk(tmp_path: Path, key: str) -> None:
    store = LocalObjectStore(tmp_path / "deep" / "store")
    with pytest.raises(InvalidInput):
        store.put_bytes(key, b"x")
    with pytest.raises(InvalidInput):
        store.put_stream(key, io.BytesIO(b"x"))
    with pytest.raises(InvalidInput):
        store.delete(key)
    assert list(tmp_path.iterdir()) == []


def test_segment_and_key_length_limits() -> None:
    assert validate_key("a" * 255) == "a" * 255
    with pytest.raises(InvalidInput):
        validate_key("a" * 256)
    assert validate_key("/".join(["a" * 100] * 5) + "/bbbbbbb") == "/".join(["a" * 100] * 5) + (
        "/bbbbbbb"
    )
    with pytest.raises(InvalidInput):
        validate_key("/".join(["a" * 100] * 5) + "/bbbbbbbbbbbb")


@pytest.mark.parametrize("prefix", ["", "a", "a/", "queue/17", "a/b-", "a/..x", "a/.", "a/.."])
def test_valid_prefixes(prefix: str) -> None:
    assert validate_prefix(prefix) == prefix


def test_key_and_directory_cannot_share_a_name(store: LocalObjectStore) -> None:
    store.put_bytes("a/b", b"under a")
    store.put_bytes("x", b"plain x")
    for key in ("a", "x/y", "x/y/z"):
        with pytest.raises(InvalidInput, match="collides"):
            store.put_bytes(key, b"clash")
        with pytest.raises(InvalidInput, match="collides"):
            store.put_bytes(key, b"clash", create_only=True)
    assert store.get_bytes("a/b").data == b"under a"
    assert store.get_bytes("x").data == b"plain x"
    assert list(store.list_keys("")) == ["a/b", "x"]
    assert list((store.root / "tmp").iterdir()) == []


def test_leftover_empty_directory_does_not_block_its_key(
    store: LocalObjectStore, root: Path
) -> None:
    (root / "objects" / "k" / "sub").mkdir(parents=True)
    store.put_bytes("k/sub", b"fine")
    assert store.get_bytes("k/sub").data == b"fine"


def test_delete_prunes_emptied_directories(store: LocalObjectStore, root: Path) -> None:
    store.put_bytes("a/b/c/d", b"1")
    store.put_bytes("a/keep", b"2")
    store.delete("a/b/c/d")
    assert not (root / "objects" / "a" / "b").exists()
    assert (root / "objects" / "a" / "keep").is_file()
    store.delete("a/keep")
    assert (root / "objects").is_dir()
    assert list((root / "objects").iterdir()) == []


def test_listing_skips_files_no_key_can_name(store: LocalObjectStore, root: Path) -> None:
    store.put_bytes("d/good", b"")
    (root / "objects" / "d" / "bad name").write_bytes(b"")
    (root / "objects" / "d" / "link").symlink_to(root / "objects" / "d" / "good")
    assert list(store.list_keys("")) == ["d/good"]


def test_presigned_url_is_none(store: LocalObjectStore) -> None:
    store.put_bytes("k", b"x")
    assert store.presigned_get_url("k", timedelta(minutes=1)) is None


def test_if_match_with_create_only_is_rejected(store: LocalObjectStore) -> None:
    info = store.put_bytes("k", b"x")
    with pytest.raises(InvalidInput):
        store.put_bytes("k", b"y", if_match=info.etag, create_only=True)
    assert store.get_bytes("k").data == b"x"


# -- ETags ------------------------------------------------------------------------------


def test_etag_changes_on_every_write_even_same_content(store: LocalObjectStore) -> None:
    """Rewriting the same bytes in a tight loop frees and reuses inodes within one
    timestamp tick; a stale ETag must still never match a later version (no ABA)."""
    etags = [store.put_bytes("counter", b"7").etag for _ in range(40)]
    assert len(set(etags)) == len(etags)
    for stale in etags[:-1]:
        with pytest.raises(PreconditionFailed):
            store.put_bytes("counter", b"7", if_match=stale)
    assert store.stat("counter").etag == etags[-1]


def test_modified_follows_writes(store: LocalObjectStore) -> None:
    first = store.put_bytes("k", b"1")
    second = store.put_bytes("k", b"2")
    assert first.modified is not None
    assert second.modified is not None
    assert second.modified >= first.modified
    assert second.modified.tzinfo is not None


# -- crash safety and temp files --------------------------------------------------------


def test_sweep_removes_only_stale_temp_files(store: LocalObjectStore, root: Path) -> None:
    assert store.sweep_temp(timedelta(hours=1)) == 0  # nothing yet, creates nothing
    assert not root.exists()
    store.put_bytes("kept", b"object")
    old, fresh = root / "tmp" / "put-old.tmp", root / "tmp" / "put-fresh.tmp"
    old.write_bytes(b"half")
    fresh.write_bytes(b"in progress")
    two_hours_ago = time.time() - 7200
    os.utime(old, (two_hours_ago, two_hours_ago))
    assert store.sweep_temp(timedelta(hours=1)) == 1
    assert not old.exists()
    assert fresh.exists()
    assert store.get_bytes("kept").data == b"object"


def test_unrenamed_temp_file_is_not_an_object(store: LocalObjectStore, root: Path) -> None:
    store.check()
    (root / "tmp" / "put-crashed.tmp").write_bytes(b"partial")
    assert list(store.list_keys("")) == []
    with pytest.raises(ObjectNotFound):
        store.stat("crashed")
    assert store.sweep_temp(timedelta(0)) == 1


@pytest.mark.parametrize("existing", [None, b"previous version"])
def test_process_killed_mid_write_leaves_no_partial_object(
    store: LocalObjectStore, root: Path, existing: bytes | None
) -> None:
    if existing is not None:
        store.put_bytes("victim", existing)
    proc = SPAWN.Process(target=_workers.crash_mid_write, args=(str(root), "victim", 3 * MiB))
    proc.start()
    proc.join(timeout=60)
    assert proc.exitcode == 3
    if existing is None:
        assert not store.exists("victim")
        assert list(store.list_keys("")) == []
    else:
        assert store.get_bytes("victim").data == existing
    leftovers = list((root / "tmp").iterdir())
    assert len(leftovers) == 1
    assert leftovers[0].stat().st_size >= 3 * MiB
    assert store.sweep_temp(timedelta(0)) == 1
    assert list((root / "tmp").iterdir()) == []


# -- concurrency ------------------------------------------------------------------------


def test_compare_and_swap_across_processes(store: LocalObjectStore, root: Path) -> None:
    store.put_bytes("counter", b"0")
    processes, increments = 4, 25
    with ProcessPoolExecutor(processes, mp_context=SPAWN) as pool:
        futures = [
            pool.submit(_workers.increment, str(root), "counter", increments)
            for _ in range(processes)
        ]
        conflicts = [future.result(timeout=120) for future in futures]
    assert int(store.get_bytes("counter").data) == processes * increments
    assert all(c >= 0 for c in conflicts)


def test_writes_race_deletes_in_one_directory(store: LocalObjectStore) -> None:
    """Deletes prune emptied directories while writers create files in them."""
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(60):
                store.put_bytes(f"shared/dir/w{n}-{i}", b"x")
        except BaseException as exc:
            errors.append(exc)

    def deleter() -> None:
        try:
            for _ in range(120):
                for key in list(store.list_keys("shared/")):
                    store.delete(key)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(3)]
    threads.append(threading.Thread(target=deleter))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    store.put_bytes("shared/dir/final", b"ok")
    assert store.get_bytes("shared/dir/final").data == b"ok"


def test_create_delete_churn_across_processes_in_one_directory(root: Path) -> None:
    """Each delete prunes the emptied directory while the other process is between
    creating it and renaming into it: the writer must recreate it, not fail."""
    keys = ["spin/dir/a", "spin/dir/b"]  # on different lock stripes, so truly concurrent
    with ProcessPoolExecutor(2, mp_context=SPAWN) as pool:
        futures = [pool.submit(_workers.churn, str(root), key, 600) for key in keys]
        assert [future.result(timeout=120) for future in futures] == [600, 600]
    assert list(LocalObjectStore(root).list_keys("")) == []


class _Endless(io.RawIOBase):
    """An endless source that counts what was read from it."""

    def __init__(self) -> None:
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        buffer[:] = b"e" * len(buffer)
        self.read_bytes += len(buffer)
        return len(buffer)


def test_stream_longer_than_declared_stops_early(store: LocalObjectStore) -> None:
    source = _Endless()
    with pytest.raises(InvalidInput, match="longer than the declared"):
        store.put_stream("k", source, size=10)  # type: ignore[arg-type]
    assert source.read_bytes <= 2 * MiB
    assert not store.exists("k")
    assert list((store.root / "tmp").iterdir()) == []


# -- failures ---------------------------------------------------------------------------


def test_root_under_a_file_is_unavailable(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_bytes(b"")
    store = LocalObjectStore(blocker / "store")
    with pytest.raises(StoreUnavailable) as checked:
        store.check()
    with pytest.raises(StoreUnavailable) as written:
        store.put_bytes("k", b"x")
    with pytest.raises(StoreUnavailable):
        store.put_stream("k", io.BytesIO(b"x"))
    for detail in (checked.value.detail, written.value.detail):
        assert str(tmp_path) not in detail  # details may reach API clients
        assert "ENOTDIR" in detail or "EEXIST" in detail


@pytest.mark.skipif(
    os.geteuid() == 0, reason="root ignores permission bits; covered by the root-under-a-file test"
)
def test_read_only_root_is_unavailable(tmp_path: Path) -> None:
    root = tmp_path / "store"
    LocalObjectStore(root).check()
    for sub in (root, root / "objects", root / "tmp", root / "locks"):
        sub.chmod(0o500)
    try:
        with pytest.raises(StoreUnavailable):
            LocalObjectStore(root).check()
        with pytest.raises(StoreUnavailable):
            LocalObjectStore(root).put_bytes("k", b"x")
    finally:
        for sub in (root, root / "objects", root / "tmp", root / "locks"):
            sub.chmod(0o700)


def test_write_failure_mid_stream_is_unavailable_and_cleans_up(root: Path) -> None:
    """A process file-size limit fails the write like a full disk does (ENOSPC cannot be
    provoked without mounting a small filesystem)."""
    with ProcessPoolExecutor(1, mp_context=SPAWN) as pool:
        detail = pool.submit(
            _workers.write_over_file_size_limit, str(root), "big", 2 * MiB, 5 * MiB
        ).result(timeout=60)
    assert "EFBIG" in detail
    assert "'big'" in detail
    assert str(root) not in detail
    store = LocalObjectStore(root)
    assert not store.exists("big")
    assert list((root / "tmp").iterdir()) == []


# -- resources --------------------------------------------------------------------------


def test_range_readers_release_their_files(store: LocalObjectStore) -> None:
    store.put_bytes("k", b"x" * 100_000)
    before = len(os.listdir("/proc/self/fd"))
    started = [store.iter_range("k", chunk_size=1000) for _ in range(50)]
    for reader in started[:25]:
        next(reader)
    del started, reader
    assert len(os.listdir("/proc/self/fd")) == before
    assert b"".join(store.iter_range("k", 99_990)) == b"x" * 10


def test_streaming_200_mb_uses_little_memory(store: LocalObjectStore, tmp_path: Path) -> None:
    size = 200 * MiB
    source = tmp_path / "source.bin"
    block = os.urandom(MiB)
    with source.open("wb") as out:
        for _ in range(size // MiB):
            out.write(block)
    try:
        tracemalloc.start()
        with source.open("rb") as src:
            info = store.put_stream("video/big.mp4", src, size=size)
        _, put_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        total = sum(len(chunk) for chunk in store.iter_range("video/big.mp4", chunk_size=MiB))
        _, read_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        source.unlink()
    assert info.size == size
    assert total == size
    assert put_peak < 16 * MiB, f"put_stream peak {put_peak / MiB:.1f} MiB"
    assert read_peak < 16 * MiB, f"iter_range peak {read_peak / MiB:.1f} MiB"
