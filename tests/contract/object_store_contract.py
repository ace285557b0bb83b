"""The one contract every `ObjectStore` adapter passes, unchanged.

Subclass `ObjectStoreContract` in a `Test…` class and provide a `store` fixture; nothing
else. Every test writes under its own random prefix (`ns`), so a store shared between
tests (one S3 bucket) works as well as a fresh one. Only the Protocol's documented
behaviour is checked: ETags are opaque (compared, never parsed), `modified` may be None.

Behaviour pinned here that adapters must implement:
- `iter_range` raises ObjectNotFound / InvalidInput when called, before yielding, so the
  API can answer 404 / 416 before it starts a response; `end` is clamped to the object.
- `put_stream` accepts sources that return short reads, and with `size` given rejects a
  longer or shorter stream with InvalidInput, leaving the key as it was.
- `list_keys` and `iter_range` argument errors may surface when iterated; tests consume.
"""

from __future__ import annotations

import io
import random
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from assetlens.errors import InvalidInput, ObjectNotFound, PreconditionFailed
from assetlens.ports import NewObject, ObjectStore

MiB = 1 << 20
BIG_SIZE = 12 * MiB + 12_345  # over two S3 multipart parts, not a multiple of any chunk


def _payload(size: int, seed: int = 7) -> bytes:
    return random.Random(seed).randbytes(size)


class _ShortReads(io.RawIOBase):
    """A non-seekable source that hands out at most `step` bytes per read, as sockets do."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data = memoryview(data)
        self._pos = 0
        self._step = step

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), self._step, len(self._data) - self._pos)
        buffer[:n] = self._data[self._pos : self._pos + n]
        self._pos += n
        return n


class ObjectStoreContract:
    """Mixin of contract tests; subclasses provide the `store` fixture."""

    @pytest.fixture
    def ns(self) -> str:
        """A key prefix no other test uses."""
        return f"contract-{uuid.uuid4().hex[:12]}/"

    @pytest.fixture(scope="class")
    @classmethod
    def big_file(cls, tmp_path_factory: pytest.TempPathFactory) -> Path:
        path = tmp_path_factory.mktemp("contract-big") / "big.bin"
        path.write_bytes(_payload(BIG_SIZE, seed=12))
        return path

    # -- protocol and health ------------------------------------------------------------

    def test_implements_the_protocol(self, store: ObjectStore) -> None:
        assert isinstance(store, ObjectStore)

    def test_check_passes(self, store: ObjectStore) -> None:
        store.check()

    def test_presigned_url_is_none_or_an_http_url(self, store: ObjectStore, ns: str) -> None:
        key = f"{ns}signed"
        store.put_bytes(key, b"x")
        url = store.presigned_get_url(key, timedelta(minutes=5))
        assert url is None or url.startswith(("http://", "https://"))

    def test_local_path_is_none_or_the_objects_bytes(self, store: ObjectStore, ns: str) -> None:
        key = f"{ns}local"
        store.put_bytes(key, b"in place")
        path = store.local_path(key)
        assert path is None or path.read_bytes() == b"in place"
        store.delete(key)
        if path is not None:  # a store with local files says when the key is gone
            with pytest.raises(ObjectNotFound):
                store.local_path(key)

    # -- bytes round trips --------------------------------------------------------------

    @pytest.mark.parametrize("size", [0, 1, 2, 255, 4096, 65_537, MiB + 3])
    def test_put_get_bytes_round_trip(self, store: ObjectStore, ns: str, size: int) -> None:
        key = f"{ns}blob-{size}"
        data = _payload(size, seed=size)
        info = store.put_bytes(key, data, content_type="application/x-test")
        got = store.get_bytes(key)
        assert got.data == data
        assert info.key == key
        assert info.size == size
        assert got.info.size == size
        assert got.info.etag == info.etag
        assert store.stat(key).size == size
        assert store.exists(key)

    def test_put_returns_the_info_stat_reports(self, store: ObjectStore, ns: str) -> None:
        key = f"{ns}info.json"
        info = store.put_bytes(key, b'{"a": 1}')
        st = store.stat(key)
        assert (st.key, st.size, st.etag) == (info.key, info.size, info.etag)
        assert isinstance(info.etag, str)
        assert info.etag
        assert st.modified is None or (
            isinstance(st.modified, datetime) and st.modified.tzinfo is not None
        )

    def test_put_many_writes_every_object_and_returns_what_stat_reports(
        self, store: ObjectStore, ns: str
    ) -> None:
        objects = [NewObject(f"{ns}bands/{n}/{n * 7:04x}/asset", b"") for n in range(4)]
        objects += [
            NewObject(f"{ns}derived/preview-{size}.webp", _payload(size, seed=size), "image/webp")
            for size in (1_200, 70_000)
        ]
        infos = store.put_many(objects)
        assert [info.key for info in infos] == [obj.key for obj in objects]
        for obj, info in zip(objects, infos, strict=True):
            stored = store.get_bytes(obj.key)
            assert stored.data == obj.data
            assert (stored.info.size, stored.info.etag) == (len(obj.data), info.etag)
        assert sorted(store.list_keys(f"{ns}bands/")) == sorted(o.key for o in objects[:4])

    def test_put_many_replaces_what_was_there(self, store: ObjectStore, ns: str) -> None:
        key = f"{ns}derived/preview.webp"
        before = store.put_bytes(key, b"an older preview, longer than the new one")
        [after] = store.put_many([NewObject(key, b"new")])
        assert store.get_bytes(key).data == b"new"
        assert after.etag != before.etag
        with pytest.raises(PreconditionFailed):
            store.put_bytes(key, b"stale", if_match=before.etag)

    def test_put_many_of_nothing_writes_nothing(self, store: ObjectStore, ns: str) -> None:
        assert store.put_many([]) == []
        assert list(store.list_keys(ns)) == []

    @pytest.mark.parametrize("bad", ["same", "../escape", ""])
    def test_put_many_checks_every_key_before_writing_any(
        self, store: ObjectStore, ns: str, bad: str
    ) -> None:
        first = NewObject(f"{ns}a", b"1")
        second = NewObject(first.key if bad == "same" else bad, b"2")
        with pytest.raises(InvalidInput):
            store.put_many([first, second])
        assert not store.exists(first.key)

    def test_overwrite_replaces_content(self, store: ObjectStore, ns: str) -> None:
        key = f"{ns}doc"
        store.put_bytes(key, b"first version, longer")
        store.put_bytes(key, b"second")
        assert store.get_bytes(key).data == b"second"
        assert store.stat(key).size == 6

    # -- streaming ----------------------------------------------------------------------

    @pytest.mark.parametrize("declare_size", [True, False])
    def test_put_stream_large_file(
        self, store: ObjectStore, ns: str, big_file: Path, declare_size: bool
    ) -> None:
        key = f"{ns}big.bin"
        with big_file.open("rb") as src:
            info = store.put_stream(key, src, size=BIG_SIZE if declare_size else None)
        assert info.size == BIG_SIZE
        assert store.stat(key).size == BIG_SIZE
        assert store.stat(key).etag == info.etag
        assert b"".join(store.iter_range(key, chunk_size=MiB)) == big_file.read_bytes()

    def test_put_stream_handles_short_reads(self, store: ObjectStore, ns: str) -> None:
        key = f"{ns}trickle"
        data = _payload(300_001)
        store.put_stream(key, io.BufferedReader(_ShortReads(data, 7_777), 1024))
        store.put_stream(f"{key}-raw", _ShortReads(data, 7_777))  # type: ignore[arg-type]
        assert store.get_bytes(key).data == data
        assert store.get_bytes(f"{key}-raw").data == data

    def test_put_stream_empty(self, store: ObjectStore, ns: str) -> None:
        key = f"{ns}empty"
        info = store.put_stream(key, io.BytesIO(b""), size=0)
        assert info.size == 0
        assert store.get_bytes(key).data == b""
        assert b"".join(store.iter_range(key)) == b""

    @pytest.mark.parametrize("declared", [99, 101, 0, 10_000])
    def test_put_stream_size_mismatch_writes_nothing(
        self, store: ObjectStore, ns: str, declared: int
    ) -> None:
        fresh, existing = f"{ns}fresh", f"{ns}existing"
        store.put_bytes(existing, b"original")
        original_etag = store.stat(existing).etag
        for key in (fresh, existing):
            with pytest.raises(InvalidInput):
                store.put_stream(key, io.BytesIO(b"z" * 100), size=declared)
        assert not store.exists(fresh)
        assert store.get_bytes(existing).data == b"original"
        assert store.stat(existing).etag == original_etag
        assert list(store.list_keys(ns)) == [existing]

    # -- ranged reads -------------------------------------------------------------------

    @pytest.mark.parametrize(
        ("start", "end"),
        [
            (0, None),  # whole
            (0, 0),  # first byte
            (0, 9_999),  # head
            (123_456, 234_567),  # middle
            (200_000, None),  # open end
            (299_999, None),  # last byte, open
            (299_999, 299_999),  # last byte, closed
            (42, 42),  # single byte
            (250_000, 10_000_000),  # end past the object: clamped
        ],
    )
    def test_iter_range(self, store: ObjectStore, ns: str, start: int, end: int | None) -> None:
        key = f"{ns}ranged"
        data = _payload(300_000)
        store.put_bytes(key, data)
        chunks = list(store.iter_range(key, start, end, chunk_size=10_000))
        expected = data[start:] if end is None else data[start : end + 1]
        assert b"".join(chunks) == expected
        assert all(0 < len(chunk) <= 10_000 for chunk in chunks)

    def test_iter_range_default_chunks(self, store: ObjectStore, ns: str) -> None:
        key = f"{ns}ranged-default"
        data = _payload(200_000)
        store.put_bytes(key, data)
        chunks = list(store.iter_range(key))
        assert b"".join(chunks) == data
        assert all(len(chunk) <= 1 << 16 for chunk in chunks)

    @pytest.mark.parametrize(("start", "end"), [(100, None), (100, 200), (150, None), (5, 4)])
    def test_iter_range_unsatisfiable(
        self, store: ObjectStore, ns: str, start: int, end: int | None
    ) -> None:
        key = f"{ns}short"
        store.put_bytes(key, b"x" * 100)
        with pytest.raises(InvalidInput):
            b"".join(store.iter_range(key, start, end))

    def test_iter_range_raises_before_yielding(self, store: ObjectStore, ns: str) -> None:
        key = f"{ns}eager"
        store.put_bytes(key, b"x" * 10)
        with pytest.raises(ObjectNotFound):
            store.iter_range(f"{ns}missing")
        with pytest.raises(InvalidInput):
            store.iter_range(key, 10)

    # -- ETags and conditional writes ---------------------------------------------------

    def test_etag_stable_without_writes(self, store: ObjectStore, ns: str) -> None:
        key = f"{ns}stable"
        info = store.put_bytes(key, b"same")
        store.put_bytes(f"{ns}neighbour", b"other")
        store.get_bytes(key)
        list(store.iter_range(key))
        assert store.stat(key).etag == info.etag
        assert store.get_bytes(key).info.etag == info.etag

    def test_etag_changes_on_overwrite(self, store: ObjectStore, ns: str) -> None:
        key = f"{ns}changing"
        seen = {store.put_bytes(key, b"v0").etag}
        for version in range(1, 5):
            info = store.put_bytes(key, f"v{version}".encode())
            assert info.etag not in seen
            assert store.stat(key).etag == info.etag
            seen.add(info.etag)
        with io.BytesIO(b"streamed") as src:
            assert store.put_stream(key, src).etag not in seen

    def test_create_only(self, store: ObjectStore, ns: str) -> None:
        key = f"{ns}once"
        first = store.put_bytes(key, b"first", create_only=True)
        with pytest.raises(PreconditionFailed):
            store.put_bytes(key, b"second", create_only=True)
        with pytest.raises(PreconditionFailed):
            store.put_stream(key, io.BytesIO(b"third"), size=5, create_only=True)
        got = store.get_bytes(key)
        assert got.data == b"first"
        assert got.info.etag == first.etag

    def test_create_only_stream_on_new_key(self, store: ObjectStore, ns: str) -> None:
        key = f"{ns}stream-once"
        info = store.put_stream(key, io.BytesIO(b"abc"), size=3, create_only=True)
        assert store.stat(key).etag == info.etag

    def test_if_match_success(self, store: ObjectStore, ns: str) -> None:
        key = f"{ns}cas"
        v1 = store.put_bytes(key, b"1")
        v2 = store.put_bytes(key, b"2", if_match=v1.etag)
        assert store.get_bytes(key).data == b"2"
        assert store.stat(key).etag == v2.etag
        assert v2.etag != v1.etag

    def test_if_match_wrong_or_stale_etag(self, store: ObjectStore, ns: str) -> None:
        key = f"{ns}cas-stale"
        v1 = store.put_bytes(key, b"1")
        v2 = store.put_bytes(key, b"2")
        for etag in (v1.etag, "not-an-etag", '"0"'):
            with pytest.raises(PreconditionFailed):
                store.put_bytes(key, b"3", if_match=etag)
        assert store.get_bytes(key).data == b"2"
        assert store.stat(key).etag == v2.etag

    def test_if_match_missing_key(self, store: ObjectStore, ns: str) -> None:
        key = f"{ns}cas-missing"
        other = store.put_bytes(f"{ns}other", b"x")
        with pytest.raises(PreconditionFailed):
            store.put_bytes(key, b"x", if_match=other.etag)
        assert not store.exists(key)

    def test_concurrent_compare_and_swap_loses_no_update(self, store: ObjectStore, ns: str) -> None:
        key = f"{ns}counter"
        store.put_bytes(key, b"0")
        threads, increments = 8, 12
        barrier = threading.Barrier(threads)
        conflicts: list[int] = []
        errors: list[BaseException] = []

        def worker() -> None:
            try:
                barrier.wait()
                lost = 0
                for _ in range(increments):
                    lost += _increment(store, key)
                conflicts.append(lost)
            except BaseException as exc:
                errors.append(exc)

        pool = [threading.Thread(target=worker) for _ in range(threads)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join(timeout=60)
        assert not errors
        assert int(store.get_bytes(key).data) == threads * increments
        assert len(conflicts) == threads

    # -- delete -------------------------------------------------------------------------

    def test_delete_is_idempotent(self, store: ObjectStore, ns: str) -> None:
        key = f"{ns}doomed"
        store.put_bytes(key, b"x")
        store.delete(key)
        assert not store.exists(key)
        store.delete(key)
        store.delete(f"{ns}never-existed")
        with pytest.raises(ObjectNotFound):
            store.stat(key)

    def test_delete_if_match(self, store: ObjectStore, ns: str) -> None:
        key = f"{ns}doomed-cas"
        v1 = store.put_bytes(key, b"1")
        v2 = store.put_bytes(key, b"2")
        with pytest.raises(PreconditionFailed):
            store.delete(key, if_match=v1.etag)
        assert store.get_bytes(key).data == b"2"
        store.delete(key, if_match=v2.etag)
        assert not store.exists(key)
        with pytest.raises(PreconditionFailed):
            store.delete(key, if_match=v2.etag)

    def test_delete_frees_the_prefix(self, store: ObjectStore, ns: str) -> None:
        store.put_bytes(f"{ns}a/b/c", b"deep")
        store.delete(f"{ns}a/b/c")
        store.put_bytes(f"{ns}a", b"shallow")
        store.put_bytes(f"{ns}a.b", b"sibling")
        assert store.get_bytes(f"{ns}a").data == b"shallow"
        assert list(store.list_keys(ns)) == [f"{ns}a", f"{ns}a.b"]

    # -- listing ------------------------------------------------------------------------

    def test_list_keys_lexicographic(self, store: ObjectStore, ns: str) -> None:
        names = [
            "x0", "x-1", "x.1", "x/1", "x/0/z", "x/0/a", "xA", "x_", "xa",
            "y", "queue/1700000000-b", "queue/1700000000-a", "queue/17", "queue/2", "queue/16",
        ]  # fmt: skip
        for i, name in enumerate(reversed(names)):
            store.put_bytes(ns + name, str(i).encode())
        listed = list(store.list_keys(ns))
        assert listed == sorted(ns + name for name in names)
        assert listed.index(f"{ns}x.1") < listed.index(f"{ns}x/0/a") < listed.index(f"{ns}x0")

    def test_list_keys_prefixes(self, store: ObjectStore, ns: str) -> None:
        for name in ["queue/1700-a", "queue/1700-b", "queue/1710", "queue/18", "queued", "q/x"]:
            store.put_bytes(ns + name, b"")

        def names(prefix: str) -> list[str]:
            return [key.removeprefix(ns) for key in store.list_keys(ns + prefix)]

        assert names("queue/17") == ["queue/1700-a", "queue/1700-b", "queue/1710"]
        assert names("queue/170") == ["queue/1700-a", "queue/1700-b"]
        assert names("queue/") == ["queue/1700-a", "queue/1700-b", "queue/1710", "queue/18"]
        assert names("queue") == [
            "queue/1700-a", "queue/1700-b", "queue/1710", "queue/18", "queued",
        ]  # fmt: skip
        assert names("q")[:2] == ["q/x", "queue/1700-a"]
        assert len(names("q")) == 6
        assert names("queue/1700-a") == ["queue/1700-a"]
        assert names("queue/19") == []
        assert names("nothing/here/") == []
        assert names("queue/1700-a/") == []

    def test_list_keys_is_lazy_and_repeatable(self, store: ObjectStore, ns: str) -> None:
        for i in range(5):
            store.put_bytes(f"{ns}item-{i}", b"")
        iterator = store.list_keys(ns)
        assert next(iterator) == f"{ns}item-0"
        assert list(store.list_keys(ns)) == [f"{ns}item-{i}" for i in range(5)]

    # -- missing and invalid keys -------------------------------------------------------

    def test_missing_key(self, store: ObjectStore, ns: str) -> None:
        key = f"{ns}missing"
        with pytest.raises(ObjectNotFound):
            store.get_bytes(key)
        with pytest.raises(ObjectNotFound):
            store.stat(key)
        with pytest.raises(ObjectNotFound):
            b"".join(store.iter_range(key))
        assert not store.exists(key)

    def test_prefix_of_a_key_is_not_a_key(self, store: ObjectStore, ns: str) -> None:
        store.put_bytes(f"{ns}dir/leaf", b"x")
        assert not store.exists(f"{ns}dir")
        with pytest.raises(ObjectNotFound):
            store.get_bytes(f"{ns}dir")
        with pytest.raises(ObjectNotFound):
            store.stat(f"{ns}dir")

    @pytest.mark.parametrize(
        "key",
        [
            "", "/abs", "a//b", "a/", "..", ".", "a/../b", "a/./b", "../escape",
            "a b", "a\\b", "é", "a\x00b", "a\nb", "x" * 513, "a/\u2024\u2024/b",
        ],
    )  # fmt: skip
    def test_invalid_keys_rejected(self, store: ObjectStore, key: str) -> None:
        calls: list[Callable[[], object]] = [
            lambda: store.put_bytes(key, b"x"),
            lambda: store.put_stream(key, io.BytesIO(b"x")),
            lambda: store.get_bytes(key),
            lambda: store.stat(key),
            lambda: store.exists(key),
            lambda: store.delete(key),
            lambda: b"".join(store.iter_range(key)),
        ]
        for call in calls:
            with pytest.raises(InvalidInput):
                call()

    @pytest.mark.parametrize("prefix", ["/abs", "a//", "../", "a/../", "a b", "é"])
    def test_invalid_prefixes_rejected(self, store: ObjectStore, prefix: str) -> None:
        with pytest.raises(InvalidInput):
            list(store.list_keys(prefix))


def _increment(store: ObjectStore, key: str) -> int:
    """Add one to the counter at `key` by compare-and-swap; returns the conflicts seen."""
    conflicts = 0
    while True:
        current = store.get_bytes(key)
        try:
            store.put_bytes(key, str(int(current.data) + 1).encode(), if_match=current.info.etag)
        except PreconditionFailed:
            conflicts += 1
            continue
        return conflicts
