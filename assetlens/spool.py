"""Spooling incoming bytes to a local temp file while hashing and enforcing a size cap."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from assetlens.errors import PayloadTooLarge


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
        self._file.write(chunk)

    def finish(self) -> Spooled:
        self._file.close()
        return Spooled(self.path, self.filename, self.size, self._hash.hexdigest())

    def abort(self) -> None:
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
