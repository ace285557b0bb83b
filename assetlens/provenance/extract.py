"""`extract`: generation provenance of a stored upload, whatever its container."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from assetlens.domain import Generation
from assetlens.provenance.c2pa import is_ai_source, known_generator, read_c2pa
from assetlens.provenance.containers import Carrier, read_audio, read_image, read_video
from assetlens.provenance.detect import guarded, interpret
from assetlens.provenance.stealth import StealthRead

log = logging.getLogger(__name__)


@dataclass
class Extraction:
    """What `inspect` found: the generation (if any) and notes on what was skipped."""

    generation: Generation | None = None
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


def extract(path: Path, mime: str, stealth: StealthRead | None = None) -> Generation | None:
    """Generation provenance embedded in the file at `path` (sniffed `mime`), or None when
    it carries none. Never raises for bad content; reads are size-bounded. `stealth`: the
    stealth-pixel text the analysis read from its own decode of the same file, if it did.
    """
    return inspect(path, mime, stealth).generation


def inspect(path: Path, mime: str, stealth: StealthRead | None = None) -> Extraction:
    """Like `extract`, also returning notes (oversized or unreadable chunks)."""
    started = time.monotonic()
    result = Extraction()
    kind = mime.split("/", 1)[0].lower()
    reader: Callable[[Path], Carrier] | None = (
        partial(read_image, stealth=stealth)
        if kind == "image"
        else {"video": read_video, "audio": read_audio}.get(kind)
    )
    carrier = guarded(reader, path) if reader is not None else None
    if carrier is None:
        carrier = Carrier()
        if reader is not None:
            result.notes.append(f"{kind} metadata unreadable")
    generation = guarded(interpret, carrier, kind == "audio")
    result.notes.extend(carrier.notes)
    c2pa = guarded(read_c2pa, path, mime) if kind in ("image", "video", "audio") else None
    if c2pa is not None:
        generation = generation or Generation()
        generation.c2pa = c2pa
        name = known_generator(c2pa)
        if generation.generator is None and name:
            generation.generator = name
            generation.provider = generation.provider or name
        if is_ai_source(c2pa):
            generation.ai_generated = True
    for note in result.notes:
        log.debug("provenance %s: %s", path.name, note)
    result.generation = generation
    result.seconds = time.monotonic() - started
    return result
