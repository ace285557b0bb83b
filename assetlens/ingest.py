"""Bulk import of files from disk (the `assetlens ingest` command)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from assetlens import media, provenance
from assetlens.domain import Asset, Source
from assetlens.errors import AssetlensError
from assetlens.services.assets import AssetService, UploadForm
from assetlens.spool import Spooled

log = logging.getLogger(__name__)
SIDECAR_SUFFIXES = (".txt", ".json")


@dataclass
class IngestReport:
    created: list[Asset] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)
    # Files whose bytes a live asset of the workspace already holds, with that asset's id.
    skipped: list[tuple[Path, str]] = field(default_factory=list)


def discover(paths: Iterable[Path]) -> Iterator[Path]:
    """Files under `paths` with an allowed extension, in a stable order. A `.txt`/`.json`
    that is a sidecar of a media file beside it is not an asset of its own."""
    for root in paths:
        candidates = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() \
            else [root]
        for path in candidates:
            if path.name.startswith("."):
                continue
            if path.suffix.lower() in SIDECAR_SUFFIXES and _is_sidecar(path):
                continue
            if media.classify_extension(path.name) is not None:
                yield path


def _is_sidecar(path: Path) -> bool:
    stem = path.with_suffix("")
    if stem.suffix and media.classify_extension(stem.name) is not None and stem.exists():
        return True  # image.png.txt
    return any(
        sibling != path and sibling.stem == path.stem
        and sibling.suffix.lower() not in SIDECAR_SUFFIXES
        and media.classify_extension(sibling.name) is not None
        for sibling in path.parent.glob(f"{_glob_escape(path.stem)}.*")
    )


def _glob_escape(text: str) -> str:
    return "".join(f"[{c}]" if c in "*?[]" else c for c in text)


def hash_in_place(path: Path) -> Spooled:
    """A local file used directly as the upload source: hashed, never copied or removed."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return Spooled(path=path, filename=path.name, size=size, sha256=digest.hexdigest())


def ingest_files(
    assets: AssetService,
    workspace: str,
    files: Iterable[Path],
    *,
    tags: list[str] | None = None,
    allow_duplicates: bool = False,
    on_progress: Callable[[Path, Asset | None, str | None], None] | None = None,
) -> IngestReport:
    """Import `files` into `workspace`. A file whose sha256 a live (not trashed) asset of
    the workspace already has is skipped unless `allow_duplicates`; so is a second copy
    within the same run. `on_progress(path, asset, error)` follows each file (asset and
    error both None for a skipped one)."""
    report = IngestReport()
    for path in files:
        asset: Asset | None = None
        error: str | None = None
        try:
            spooled = hash_in_place(path)
            existing = None if allow_duplicates else assets.existing_copy(workspace,
                                                                          spooled.sha256)
            if existing is not None:
                report.skipped.append((path, existing))
            else:
                asset = assets.upload(workspace, spooled, UploadForm(
                    tags=list(tags or []), source=Source.IMPORT.value,
                    sidecar=provenance.read_sidecar(path)))
                report.created.append(asset)
        except AssetlensError as exc:
            error = exc.detail
        except OSError as exc:
            error = str(exc)
        if error is not None:
            report.failed.append((path, error))
        if on_progress:
            on_progress(path, asset, error)
    return report
