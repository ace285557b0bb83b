"""A local file's digest and upload proof in one call, for `assetlens ingest` to run in the
analysis worker processes: the import then only writes (docs/INGEST.md, "`assetlens ingest`
of many files")."""

from __future__ import annotations

import hashlib
from pathlib import Path

from assetlens.errors import AssetlensError
from assetlens.media.results import Inspection
from assetlens.media.validate import inspect_upload

#: A file's size and sha-256 (hex), and the upload proof's verdict on it.
Examined = tuple[int, str, Inspection]


def digest(path: Path) -> tuple[int, str]:
    """Size and sha-256 (hex) of the file at `path`, read in 1 MiB pieces."""
    sha = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            sha.update(chunk)
            size += len(chunk)
    return size, sha.hexdigest()


def examine_files(paths: list[Path], max_image_pixels: int) -> list[Examined | Exception]:
    """Per file: its digest and `inspect_upload`'s verdict (the same proof an upload gets),
    or the refusal (AssetlensError, OSError) as a value, so one bad file does not cost the
    others theirs. Module level: pickled to a worker process."""
    examined: list[Examined | Exception] = []
    for path in paths:
        try:
            size, sha256 = digest(path)
            examined.append(
                (size, sha256, inspect_upload(path, path.name, max_image_pixels=max_image_pixels))
            )
        except (AssetlensError, OSError) as exc:
            examined.append(exc)
    return examined
