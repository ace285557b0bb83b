"""ObjectStore on a local filesystem: the embedded mode's source of truth.

Layout under `root`: `objects/<key>` holds each object as a plain file, `tmp/` holds writes
in progress (same filesystem, so a rename is atomic), `locks/` holds 64 lock files that
serialise conditional writes per key across threads and processes.
"""

from __future__ import annotations

import errno
import fcntl
import io
import os
import stat
import tempfile
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from assetlens.errors import InvalidInput, ObjectNotFound, PreconditionFailed, StoreUnavailable
from assetlens.ports import ObjectInfo, StoredObject
from storage.keys import MAX_KEY_LENGTH, validate_key, validate_prefix

CHUNK_SIZE = 1 << 20
LOCK_STRIPES = 64
_COMMIT_ATTEMPTS = 5
# FAT-like filesystems keep 2 s timestamps; stepping by that much keeps stamps increasing.
_COARSE_STEP_NS = 2_000_000_000

_REASONS = {
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EFBIG: "file too large for the filesystem or process limit",
    errno.EROFS: "read-only file system",
    errno.EIO: "I/O error",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ENOTDIR: "store root is not a directory",
}


def _describe(exc: OSError, action: str, key: str | None) -> str:
    """A problem detail without filesystem paths (they may reach API clients)."""
    code = exc.errno if exc.errno is not None else 0
    name = errno.errorcode.get(code, "unknown")
    reason = _REASONS.get(code) or (os.strerror(code) if code else str(exc.__class__.__name__))
    target = f" {key!r}" if key else ""
    return f"local object store could not {action}{target}: {reason} ({name})"


def etag_of(st: os.stat_result) -> str:
    """ETag from inode, mtime and size: free to compute on `stat`, no hashing.

    Every write is a fresh temp file renamed over the key, so the inode changes; an inode
    freed by an older version can be reused, which is why the commit (under the key's lock)
    also stamps mtime strictly above the version it replaces: an ETag can never come back
    for the same key, so a stale If-Match cannot pass (no ABA) even for equal-size writes.
    """
    return f"{st.st_ino:x}-{st.st_mtime_ns:x}-{st.st_size:x}"


def _info(key: str, st: os.stat_result) -> ObjectInfo:
    modified = datetime.fromtimestamp(st.st_mtime_ns / 1e9, tz=UTC)
    return ObjectInfo(key=key, size=st.st_size, etag=etag_of(st), modified=modified)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _make_dirs(path: Path) -> None:
    """`mkdir -p` that fsyncs each parent gaining an entry, so new dirs survive a crash."""
    if path.is_dir():
        return
    if path.parent != path:
        _make_dirs(path.parent)
    try:
        os.mkdir(path)
    except FileExistsError:
        if path.is_dir():
            return
        raise
    _fsync_dir(path.parent)


def _write_all(fd: int, data: bytes | bytearray | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _current(path: Path) -> os.stat_result | None:
    """The object file at `path`, or None when there is none (missing, or a directory)."""
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    return st if stat.S_ISREG(st.st_mode) else None


@dataclass
class _Staged:
    """A temp file being written; `consumed` once renamed onto its key."""

    fd: int
    path: Path
    consumed: bool = False


class _RangeReader(Iterator[bytes]):
    """Yields `length` bytes of an open file in chunks; closes it when done or dropped."""

    def __init__(self, file: io.FileIO, length: int, chunk_size: int) -> None:
        self._file: io.FileIO | None = file
        self._left = length
        self._chunk = chunk_size

    def __iter__(self) -> _RangeReader:
        return self

    def __next__(self) -> bytes:
        if self._file is None:
            raise StopIteration
        data = self._file.read(min(self._chunk, self._left)) if self._left > 0 else b""
        if not data:
            self.close()
            raise StopIteration
        self._left -= len(data)
        return data

    def close(self) -> None:
        """Release the file handle; further iteration yields nothing."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def __del__(self) -> None:
        self.close()


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
        with self._os_errors("write", key), self._staged() as staged:
            written = 0
            while chunk := src.read(CHUNK_SIZE):
                written += len(chunk)
                if size is not None and written > size:
                    raise InvalidInput(
                        f"stream for {key!r} is longer than the declared {size} bytes"
                    )
                _write_all(staged.fd, chunk)
            if size is not None and written != size:
                raise InvalidInput(
                    f"stream for {key!r} ended after {written} of the declared {size} bytes"
                )
            # Flush the bulk outside the key's lock; the commit's fsync then has little left.
            os.fsync(staged.fd)
            return self._commit(key, staged, if_match=None, create_only=create_only)

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
        with self._os_errors("write", key), self._staged() as staged:
            _write_all(staged.fd, data)
            return self._commit(key, staged, if_match=if_match, create_only=create_only)

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        """Remove `key`; a missing key is fine unless `if_match` is given."""
        path = self._path(key)
        with self._os_errors("delete", key), self._lock(key):
            current = _current(path)
            if if_match is not None and (current is None or etag_of(current) != if_match):
                raise PreconditionFailed(f"object {key!r} does not have ETag {if_match!r}")
            if current is None:
                return
            os.unlink(path)
            # A concurrent delete may prune the emptied directory first: nothing to sync.
            with suppress(FileNotFoundError):
                _fsync_dir(path.parent)
            self._prune(path.parent)

    # -- reads --------------------------------------------------------------------------

    def get_bytes(self, key: str) -> StoredObject:
        """The whole object and its info (read from the same open file, so they agree)."""
        with self._os_errors("read", key), self._open(key) as file:
            st = os.fstat(file.fileno())
            data = file.read()
        return StoredObject(data=data, info=_info(key, st))

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
        return _RangeReader(file, stop - start, chunk_size)

    def stat(self, key: str) -> ObjectInfo:
        """Size, ETag and modification time of `key`; ObjectNotFound when missing."""
        path = self._path(key)
        with self._os_errors("stat", key):
            st = _current(path)
        if st is None:
            raise ObjectNotFound(f"no object {key!r}")
        return _info(key, st)

    def exists(self, key: str) -> bool:
        """Whether an object is stored under `key`."""
        path = self._path(key)
        with self._os_errors("stat", key):
            return _current(path) is not None

    def list_keys(self, prefix: str) -> Iterator[str]:
        """Keys starting with `prefix` in lexicographic (byte) order, read lazily one
        directory at a time. The prefix may end mid-segment: `queue/17` → `queue/1700…`."""
        validate_prefix(prefix)
        head, _, partial = prefix.rpartition("/")
        directory = self._objects.joinpath(*head.split("/")) if head else self._objects
        return self._walk(directory, f"{head}/" if head else "", partial)

    def presigned_get_url(self, key: str, expires: timedelta, *,
                          content_type: str | None = None,
                          content_disposition: str | None = None) -> str | None:
        """Always None: files are served by the API itself."""
        validate_key(key)
        return None

    # -- maintenance --------------------------------------------------------------------

    def check(self) -> None:
        """Create the layout and write, fsync and remove a probe file; StoreUnavailable if
        any of that fails (missing or read-only root, full disk…)."""
        with self._os_errors("write a probe file", None), self._staged() as staged:
            _write_all(staged.fd, b"ok")
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
            raise StoreUnavailable(_describe(exc, action, key)) from exc

    @contextmanager
    def _staged(self) -> Iterator[_Staged]:
        """A temp file in `tmp/`, removed on exit unless it was renamed onto a key."""
        _make_dirs(self._tmp)
        fd, name = tempfile.mkstemp(dir=self._tmp, prefix="put-", suffix=".tmp")
        staged = _Staged(fd=fd, path=Path(name))
        try:
            yield staged
        finally:
            os.close(fd)
            if not staged.consumed:
                with suppress(FileNotFoundError):
                    os.unlink(staged.path)

    @contextmanager
    def _lock(self, key: str) -> Iterator[None]:
        """Exclusive per-key lock across threads and processes: an `flock` on one of 64
        striped files. Opened per call: a shared descriptor would not exclude threads or
        forked children, since flock belongs to the open file description."""
        _make_dirs(self._locks)
        stripe = zlib.crc32(key.encode("ascii")) % LOCK_STRIPES
        fd = os.open(
            self._locks / f"{stripe:02d}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600
        )
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _commit(
        self, key: str, staged: _Staged, *, if_match: str | None, create_only: bool
    ) -> ObjectInfo:
        """Under the key's lock: check preconditions, stamp, fsync, publish atomically."""
        final = self._path(key)
        _make_dirs(self._objects)
        with self._lock(key):
            current = _current(final)
            if create_only and current is not None:
                raise PreconditionFailed(f"object {key!r} already exists")
            if if_match is not None and (current is None or etag_of(current) != if_match):
                raise PreconditionFailed(f"object {key!r} does not have ETag {if_match!r}")
            if current is None:
                self._clear_empty_dir(key, final)
            self._stamp(staged.fd, current)
            self._publish(key, staged, final, create_only=create_only)
            _fsync_dir(final.parent)
            return _info(key, os.fstat(staged.fd))

    @staticmethod
    def _stamp(fd: int, current: os.stat_result | None) -> None:
        """Set mtime strictly above the replaced version's (see `etag_of`), then fsync."""
        floor = current.st_mtime_ns + 1 if current is not None else 0
        target = max(time.time_ns(), floor)
        os.utime(fd, ns=(target, target))
        if current is not None and os.fstat(fd).st_mtime_ns <= current.st_mtime_ns:
            target = current.st_mtime_ns + _COARSE_STEP_NS
            os.utime(fd, ns=(target, target))
        os.fsync(fd)

    def _publish(self, key: str, staged: _Staged, final: Path, *, create_only: bool) -> None:
        for _ in range(_COMMIT_ATTEMPTS):
            try:
                self._make_key_dirs(key, final.parent)
                if create_only:
                    # link, unlike rename, never replaces: an object that appeared anyway
                    # (a writer not using the lock) is kept, and this write fails.
                    os.link(staged.path, final)
                else:
                    os.replace(staged.path, final)
                    staged.consumed = True
                return
            except FileNotFoundError:
                continue  # a concurrent delete pruned the now-empty parent; recreate it
            except FileExistsError:
                if final.is_dir():
                    raise self._conflict(key) from None
                raise PreconditionFailed(f"object {key!r} already exists") from None
            except (IsADirectoryError, NotADirectoryError):
                raise self._conflict(key) from None
        raise StoreUnavailable(
            f"local object store could not write {key!r}: its directory or temp file kept vanishing"
        )

    def _make_key_dirs(self, key: str, directory: Path) -> None:
        try:
            _make_dirs(directory)
        except (FileExistsError, NotADirectoryError):
            raise self._conflict(key) from None

    def _clear_empty_dir(self, key: str, final: Path) -> None:
        """An empty directory at the key (left by a crash mid-prune) is removed; a
        non-empty one means other keys live under it."""
        if final.is_dir():
            try:
                os.rmdir(final)
            except OSError:
                raise self._conflict(key) from None

    @staticmethod
    def _conflict(key: str) -> InvalidInput:
        return InvalidInput(
            f"object key {key!r} collides with another key's path: the local store cannot "
            "hold both 'a' and 'a/…'"
        )

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
            raise StoreUnavailable(_describe(exc, "list", key_head or None)) from exc
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
