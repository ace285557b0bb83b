"""Spooling incoming bytes to a local temp file while hashing and enforcing a size cap."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from assetlens.errors import PayloadTooLarge, Unavailable

_OUT_OF_SPACE = (errno.ENOSPC, errno.EDQUOT)


@contextlib.contextmanager
def _disk_errors() -> Iterator[None]:
    """A full or failing spool disk is the server's condition, not the client's: 503 with
    Retry-After (and no path in the detail), never a 500."""
    try:
        yield
    except OSError as exc:
        reason = (
            "no space left on the server's disk"
            if exc.errno in _OUT_OF_SPACE
            else f"a disk error ({errno.errorcode.get(exc.errno or 0, 'unknown')})"
        )
        raise Unavailable(f"the upload could not be received: {reason}") from exc


@dataclass(frozen=True, slots=True)
class Spooled:
    """A complete upload on local disk. The caller owns `path` and removes it."""

    path: Path
    filename: str
    size: int
    sha256: str

    def discard(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


class Spooler:
    """Write chunks as they arrive; never holds more than one chunk in memory."""

    def __init__(self, directory: Path, filename: str, limit: int) -> None:
        with _disk_errors():
            directory.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(dir=directory, prefix="upload-", suffix=".part")
        self._file: BinaryIO = os.fdopen(fd, "wb")
        self.path = Path(name)
        self.filename = filename
        self.limit = limit
        self.size = 0
        self._hash = hashlib.sha256()

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.limit:
            self.abort()
            raise PayloadTooLarge(f"file exceeds the limit of {self.limit} bytes")
        self._hash.update(chunk)
        try:
            with _disk_errors():
                self._file.write(chunk)
        except Unavailable:
            self.abort()
            raise

    def finish(self) -> Spooled:
        try:
            with _disk_errors():
                self._file.close()  # flushes the last buffered bytes: may hit a full disk
        except Unavailable:
            self.abort()
            raise
        return Spooled(self.path, self.filename, self.size, self._hash.hexdigest())

    def abort(self) -> None:
        with contextlib.suppress(OSError):  # a flush that fails again on a full disk
            self._file.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def spool_file(src: BinaryIO, directory: Path, filename: str, limit: int) -> Spooled:
    """Copy a readable stream into a spooled temp file (CLI ingest, URL downloads)."""
    spooler = Spooler(directory, filename, limit)
    try:
        while chunk := src.read(1 << 20):
            spooler.write(chunk)
    except BaseException:
        spooler.abort()
        raise
    return spooler.finish()
