"""Bulk import of files from disk (the `assetlens ingest` command)."""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from assetlens import media, provenance
from assetlens.domain import Asset, Source
from assetlens.errors import AssetlensError
from assetlens.services.asset_inputs import UploadForm
from assetlens.services.assets import AssetService, Submitted
from assetlens.services.duplicate_policy import (
    DuplicatePolicyService,
    DuplicateRejected,
    PolicyName,
)
from assetlens.spool import Spooled

log = logging.getLogger(__name__)
SIDECAR_SUFFIXES = (".txt", ".json")
#: Files acknowledged together at most (one `put_many` per kind of write for all of them, see
#: services/upload_group.py); a resumed ingest imports again at most the group in hand.
GROUP = 16
#: Bytes after which a group is committed early: big files are acknowledged as they come.
GROUP_BYTES = 256 << 20


@dataclass
class IngestReport:
    created: list[Asset] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)
    # Files a live asset of the workspace already holds (policy `link`), with its id.
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    # Files refused as duplicates (policy `reject`), with the id of the asset they duplicate.
    rejected: list[tuple[Path, str]] = field(default_factory=list)


def discover(paths: Iterable[Path]) -> Iterator[Path]:
    """Files under `paths` with an allowed extension, in a stable order. A `.txt`/`.json`
    that is a sidecar of a media file beside it is not an asset of its own."""
    for root in paths:
        candidates = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
        for path in candidates:
            if path.name.startswith("."):
                continue
            if path.suffix.lower() in SIDECAR_SUFFIXES and _is_sidecar(path):
                continue
            if media.classify_extension(path.name) is not None:
                yield path


def unimportable(paths: Iterable[Path]) -> list[Path]:
    """The files named themselves (not found under a directory) that `discover` leaves out
    for their type: the user asked for them, so they are reported, not passed over."""
    return [
        path
        for path in paths
        if path.is_file()
        and not path.name.startswith(".")
        and media.classify_extension(path.name) is None
    ]


def _is_sidecar(path: Path) -> bool:
    stem = path.with_suffix("")
    if stem.suffix and media.classify_extension(stem.name) is not None and stem.exists():
        return True  # image.png.txt
    return any(
        sibling != path
        and sibling.stem == path.stem
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


def ingest_policy(
    policies: DuplicatePolicyService | None, workspace: str, requested: PolicyName | None = None
) -> PolicyName:
    """The duplicate policy an import applies: `requested`, else the workspace's, where
    `allow` counts as `link` — re-running an import of the same folder must not double it
    (ask for `allow` explicitly to store copies)."""
    if requested is not None:
        return requested
    name = policies.get(workspace).policy if policies is not None else PolicyName.LINK
    return PolicyName.LINK if name is PolicyName.ALLOW else name


def ingest_files(
    assets: AssetService,
    workspace: str,
    files: Iterable[Path],
    *,
    tags: list[str] | None = None,
    allow_duplicates: bool = False,
    duplicates: PolicyName = PolicyName.LINK,
    on_progress: Callable[[Path, Asset | None, str | None], None] | None = None,
) -> IngestReport:
    """Import `files` into `workspace` under the duplicate policy `duplicates` (see
    `ingest_policy`; `allow_duplicates` is `allow`): a file whose content a live asset of the
    workspace already has — a copy earlier in the same run included — is skipped (`link`),
    refused (`reject`) or stored (`allow`). Files are acknowledged in `groups` (see
    services/upload_group.py): `on_progress(path, asset, error)` follows each file once its
    group is (asset and error both None for a skipped or refused duplicate)."""
    policy = PolicyName.ALLOW if allow_duplicates else duplicates
    report = IngestReport()
    form = UploadForm(tags=list(tags or []), source=Source.IMPORT.value, duplicates=policy)
    for group in groups(files):
        uploads: list[tuple[Spooled, UploadForm]] = []
        refused: dict[Path, str] = {}
        for path in group:
            try:
                uploads.append(
                    (
                        hash_in_place(path),
                        replace(form, tags=list(form.tags), sidecar=provenance.read_sidecar(path)),
                    )
                )
            except AssetlensError as exc:
                refused[path] = exc.detail
            except OSError as exc:
                refused[path] = str(exc)
        outcomes = iter(assets.submit_many(workspace, uploads))
        for path in group:
            error = refused.get(path)
            outcome = next(outcomes) if error is None else None
            asset = _record(report, path, outcome)
            if isinstance(outcome, OSError) or (
                isinstance(outcome, AssetlensError) and not isinstance(outcome, DuplicateRejected)
            ):
                error = outcome.detail if isinstance(outcome, AssetlensError) else str(outcome)
            if error is not None:
                report.failed.append((path, error))
            if on_progress:
                on_progress(path, asset, error)
    return report


def groups(files: Iterable[Path]) -> Iterator[list[Path]]:
    """`files` in the groups that are acknowledged together: 2, 4, 8, then GROUP files (so
    that the indexing beside the import has files at once), fewer where they reach
    GROUP_BYTES."""
    group: list[Path] = []
    size, wanted = 0, 2
    for path in files:
        group.append(path)
        with contextlib.suppress(OSError):  # refused when its group is imported
            size += path.stat().st_size
        if len(group) >= wanted or size >= GROUP_BYTES:
            yield group
            group, size, wanted = [], 0, min(GROUP, 2 * wanted)
    if group:
        yield group


def _record(
    report: IngestReport, path: Path, outcome: Submitted | Exception | None
) -> Asset | None:
    """Adds a file's outcome to `report`; the asset it created, if it did."""
    if isinstance(outcome, DuplicateRejected):
        report.rejected.append((path, str(outcome.extra["duplicate_of"])))
    elif isinstance(outcome, Submitted) and outcome.linked:
        report.skipped.append((path, outcome.asset.id))
    elif isinstance(outcome, Submitted):
        report.created.append(outcome.asset)
        return outcome.asset
    return None
