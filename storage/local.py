"""ObjectStore on a local filesystem: the embedded mode's source of truth.

Layout under `root`: `objects/<key>` holds each object as a plain file, `tmp/` holds writes
in progress (same filesystem, so a rename is atomic), `locks/` holds 64 lock files that
serialise conditional writes per key across threads and processes (local_cas.py). File
handling that must survive a crash lives in local_files.py.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO

from assetlens.errors import InvalidInput, ObjectNotFound, PreconditionFailed, StoreUnavailable
from assetlens.ports import NewObject, ObjectInfo, StoredObject
from storage.keys import MAX_KEY_LENGTH, validate_batch_keys, validate_key, validate_prefix
from storage.local_cas import commit, etag_of, info_of, key_lock, prestamp
from storage.local_files import (
    RangeReader,
    current_file,
    describe_os_error,
    fsync_all,
    fsync_dir,
    gaining_entries,
    open_dir,
    staged_file,
    write_all,
)

CHUNK_SIZE = 1 << 20
#: Files a `put_many` holds open together (a longer batch is written in parts).
BATCH_FILES = 64


class LocalObjectStore:
    """The `ObjectStore` port on a directory. Nothing is touched until the first call.

    Limits compared with S3: a key cannot be both an object and the directory of other
    keys (`a` and `a/b`): such a write raises InvalidInput. `content_type` is not stored
    (the API sniffs types itself). Needs a POSIX filesystem with `flock` (ext4, xfs, btrfs,
    tmpfs, APFS); not NFS without working locks, not Windows.
    """

    def __init__(self, root: Path) -> None:
        self._root = Path(root)
        self._objects = self._root / "objects"
        self._tmp = self._root / "tmp"
        self._locks = self._root / "locks"

    @property
    def root(self) -> Path:
        """The directory holding `objects/`, `tmp/` and `locks/`."""
        return self._root

    # -- writes -------------------------------------------------------------------------

    def put_stream(
        self,
        key: str,
        src: BinaryIO,
        *,
        size: int | None = None,
        content_type: str = "application/octet-stream",
        create_only: bool = False,
    ) -> ObjectInfo:
        """Copy `src` to `key` in 1 MiB chunks; if `size` is given it must match exactly
        (else InvalidInput and nothing is written). Reading stops as soon as `src` gives
        more than `size` bytes."""
        validate_key(key)
        if size is not None and size < 0:
            raise InvalidInput("size must not be negative")
        with self._os_errors("write", key), staged_file(self._tmp) as staged:
            written = 0
            while chunk := src.read(CHUNK_SIZE):
                written += len(chunk)
                if size is not None and written > size:
                    raise InvalidInput(
                        f"stream for {key!r} is longer than the declared {size} bytes"
                    )
                write_all(staged.fd, chunk)
            if size is not None and written != size:
                raise InvalidInput(
                    f"stream for {key!r} ended after {written} of the declared {size} bytes"
                )
            # Flush the bulk outside the key's lock; the commit's fsync then has little left.
            os.fsync(staged.fd)
            return commit(
                self._objects,
                self._locks,
                key,
                self._path(key),
                staged,
                if_match=None,
                create_only=create_only,
            )

    def put_bytes(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str = "application/octet-stream",
        if_match: str | None = None,
        create_only: bool = False,
    ) -> ObjectInfo:
        """Write a small object; `if_match` is a compare-and-swap on the current ETag,
        `create_only` fails when the key exists. Both raise PreconditionFailed."""
        validate_key(key)
        if if_match is not None and create_only:
            raise InvalidInput("if_match and create_only cannot be combined")
        with self._os_errors("write", key), staged_file(self._tmp) as staged:
            write_all(staged.fd, data)
            return commit(
                self._objects,
                self._locks,
                key,
                self._path(key),
                staged,
                if_match=if_match,
                create_only=create_only,
            )

    def put_many(self, objects: Sequence[NewObject]) -> list[ObjectInfo]:
        """Write a batch of small objects with their fsyncs issued together: stage and
        stamp every file and fsync them all at once (data and stamp are down before any
        name points at them), rename each onto its key under its lock, then fsync at once
        the directories that gained entries (and any file whose key held a version too
        recent for its stamp, stamped again under the lock)."""
        validate_batch_keys(obj.key for obj in objects)
        infos: list[ObjectInfo] = []
        for start in range(0, len(objects), BATCH_FILES):
            infos += self._put_batch(objects[start : start + BATCH_FILES])
        return infos

    def _put_batch(self, objects: Sequence[NewObject]) -> list[ObjectInfo]:
        """One part of `put_many` (at least one object), its files open together. The
        fsyncs run concurrently, so the filesystem commits its journal once for them all
        (docs/INGEST.md); not `syncfs`, which also waits for every other writer's data.
        Each file is synced once: stamped before its data fsync (a new key keeps that
        stamp), not again after the rename (docs/INGEST.md, "Derived objects")."""
        with self._os_errors("write", objects[0].key), ExitStack() as files:
            staged, stamps = [], []
            for obj in objects:
                staged.append(files.enter_context(staged_file(self._tmp)))
                write_all(staged[-1].fd, obj.data)
                stamps.append(prestamp(staged[-1].fd))
            fsync_all([file.fd for file in staged])
            paths = [self._path(obj.key) for obj in objects]
            gaining = gaining_entries(paths, self._objects)
            infos = [commit(self._objects, self._locks, obj.key, path, file,
                            if_match=None, create_only=False, durable=False, prestamped=True)
                     for obj, path, file in zip(objects, paths, staged, strict=True)]  # fmt: skip
            restamped = [
                file.fd
                for file, stamp in zip(staged, stamps, strict=True)
                if os.fstat(file.fd).st_mtime_ns != stamp
            ]
            with ExitStack() as dirs:
                fds = [dirs.enter_context(open_dir(directory)) for directory in gaining]
                fsync_all([*fds, *restamped])
            return infos

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        """Remove `key`; a missing key is fine unless `if_match` is given."""
        path = self._path(key)
        with self._os_errors("delete", key), key_lock(self._locks, key):
            current = current_file(path)
            if if_match is not None and (current is None or etag_of(current) != if_match):
                raise PreconditionFailed(f"object {key!r} does not have ETag {if_match!r}")
            if current is None:
                return
            os.unlink(path)
            # A concurrent delete may prune the emptied directory first: nothing to sync.
            with suppress(FileNotFoundError):
                fsync_dir(path.parent)
            self._prune(path.parent)

    # -- reads --------------------------------------------------------------------------

    def get_bytes(self, key: str) -> StoredObject:
        """The whole object and its info (read from the same open file, so they agree)."""
        with self._os_errors("read", key), self._open(key) as file:
            st = os.fstat(file.fileno())
            data = file.read()
        return StoredObject(data=data, info=info_of(key, st))

    def iter_range(
        self, key: str, start: int = 0, end: int | None = None, chunk_size: int = 1 << 16
    ) -> Iterator[bytes]:
        """Bytes `start..end` (inclusive, clamped to the object) in chunks of at most
        `chunk_size`. Errors are raised by this call, before any byte is yielded:
        ObjectNotFound, or InvalidInput when `start` is at or past the end of the object
        (except a whole read, `start=0, end=None`, of an empty object), when `end < start`
        or a value is negative. The API answers an unsatisfiable Range with 416 itself."""
        if start < 0 or (end is not None and end < start) or chunk_size <= 0:
            raise InvalidInput(f"invalid byte range {start}-{end} (chunk size {chunk_size})")
        with self._os_errors("read", key):
            file = self._open(key)
            try:
                size = os.fstat(file.fileno()).st_size
                if start >= size and not (start == 0 and end is None):
                    raise InvalidInput(f"range start {start} is beyond the {size} bytes of {key!r}")
                stop = size if end is None else min(end + 1, size)
                file.seek(start)
            except BaseException:
                file.close()
                raise
        return RangeReader(file, stop - start, chunk_size)

    def stat(self, key: str) -> ObjectInfo:
        """Size, ETag and modification time of `key`; ObjectNotFound when missing."""
        path = self._path(key)
        with self._os_errors("stat", key):
            st = current_file(path)
        if st is None:
            raise ObjectNotFound(f"no object {key!r}")
        return info_of(key, st)

    def exists(self, key: str) -> bool:
        """Whether an object is stored under `key`."""
        path = self._path(key)
        with self._os_errors("stat", key):
            return current_file(path) is not None

    def list_keys(self, prefix: str) -> Iterator[str]:
        """Keys starting with `prefix` in lexicographic (byte) order, read lazily one
        directory at a time. The prefix may end mid-segment: `queue/17` → `queue/1700…`."""
        validate_prefix(prefix)
        head, _, partial = prefix.rpartition("/")
        directory = self._objects.joinpath(*head.split("/")) if head else self._objects
        return self._walk(directory, f"{head}/" if head else "", partial)

    def local_path(self, key: str) -> Path:
        """The object's own file (`objects/<key>`): a reader that opened it keeps its bytes
        even if the key is replaced or removed meanwhile (each write is a new file)."""
        path = self._path(key)
        with self._os_errors("stat", key):
            if current_file(path) is None:
                raise ObjectNotFound(f"no object {key!r}")
        return path

    def presigned_get_url(
        self,
        key: str,
        expires: timedelta,
        *,
        content_type: str | None = None,
        content_disposition: str | None = None,
    ) -> str | None:
        """Always None: files are served by the API itself."""
        validate_key(key)
        return None

    # -- maintenance --------------------------------------------------------------------

    def check(self) -> None:
        """Create the layout and write, fsync and remove a probe file; StoreUnavailable if
        any of that fails (missing or read-only root, full disk…)."""
        with self._os_errors("write a probe file", None), staged_file(self._tmp) as staged:
            write_all(staged.fd, b"ok")
            os.fsync(staged.fd)

    def sweep_temp(self, older_than: timedelta = timedelta(hours=1)) -> int:
        """Remove temp files untouched for `older_than` (left by crashed writers); returns
        how many. Call at startup; a short `older_than` could remove a live slow upload."""
        cutoff = time.time_ns() - int(older_than.total_seconds() * 1e9)
        removed = 0
        with self._os_errors("sweep temp files", None):
            try:
                entries = list(os.scandir(self._tmp))
            except FileNotFoundError:
                return 0
            for entry in entries:
                try:
                    if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime_ns < cutoff:
                        os.unlink(entry.path)
                        removed += 1
                except FileNotFoundError:
                    continue  # another sweeper, or the writer committed it meanwhile
        return removed

    # -- internals ----------------------------------------------------------------------

    def _path(self, key: str) -> Path:
        return self._objects.joinpath(*validate_key(key).split("/"))

    @contextmanager
    def _os_errors(self, action: str, key: str | None) -> Iterator[None]:
        try:
            yield
        except OSError as exc:
            raise StoreUnavailable(describe_os_error(exc, action, key)) from exc

    def _prune(self, directory: Path) -> None:
        """Remove directories emptied by a delete, so their names are free for keys."""
        while directory != self._objects and self._objects in directory.parents:
            try:
                os.rmdir(directory)
            except OSError:
                return
            directory = directory.parent

    def _open(self, key: str) -> io.FileIO:
        path = self._path(key)
        try:
            # Unbuffered: a range read goes straight from the seek position in whole chunks.
            return io.FileIO(path, "rb")
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise ObjectNotFound(f"no object {key!r}") from None

    def _walk(self, directory: Path, key_head: str, partial: str) -> Iterator[str]:
        try:
            with os.scandir(directory) as it:
                entries = [
                    (entry.name + "/" if entry.is_dir(follow_symlinks=False) else entry.name, entry)
                    for entry in it
                    if entry.name.startswith(partial)
                ]
        except (FileNotFoundError, NotADirectoryError):
            return
        except OSError as exc:
            raise StoreUnavailable(describe_os_error(exc, "list", key_head or None)) from exc
        # A directory sorts as "name/": every key below it starts so, which keeps a
        # depth-first walk in the same order as sorting the full keys.
        entries.sort(key=lambda pair: pair[0])
        for sort_name, entry in entries:
            key = key_head + entry.name
            if sort_name.endswith("/"):
                yield from self._walk(Path(entry.path), key + "/", "")
            elif entry.is_file(follow_symlinks=False) and _is_listable(key):
                yield key


def _is_listable(key: str) -> bool:
    """Stray files with names no key can have (an editor's backup…) are not objects."""
    if len(key) > MAX_KEY_LENGTH:
        return False
    try:
        validate_key(key)
    except InvalidInput:
        return False
    return True
