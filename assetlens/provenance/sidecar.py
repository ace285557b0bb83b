"""Sidecar provenance for `assetlens ingest DIR`: `<stem>.txt/.json` or `<name>.txt/.json`."""

from __future__ import annotations

from pathlib import Path

from assetlens.domain import Generation
from assetlens.provenance.coerce import load_json
from assetlens.provenance.detect import from_json, from_text, guarded

MAX_SIDECAR_BYTES = 8 * 1024 * 1024


def sidecar_candidates(path: Path) -> list[Path]:
    """Sidecar paths considered for a media file, most specific first."""
    return [
        path.with_name(path.name + ".json"),
        path.with_name(path.name + ".txt"),
        path.with_suffix(".json"),
        path.with_suffix(".txt"),
    ]


def read_sidecar(path: Path) -> Generation | None:
    """Provenance from a sidecar beside `path`: A1111 parameters text, or any known JSON
    layout (ComfyUI API/UI graph, InvokeAI, NovelAI, SwarmUI, Fooocus, …). Never raises."""
    for candidate in sidecar_candidates(path):
        text = guarded(_read_text, candidate)
        if text is None:
            continue
        if candidate.suffix == ".json":
            data = load_json(text)
            found = guarded(from_json, data, text) if data is not None else None
        else:
            found = guarded(from_text, text)
        if found is not None:
            return found
    return None


def _read_text(path: Path) -> str | None:
    if not path.is_file() or path.stat().st_size > MAX_SIDECAR_BYTES:
        return None
    return path.read_bytes().decode("utf-8-sig", "replace")
