"""The `assetlens demo` library: varied sample images carrying real generation metadata,
imported once however often the demo runs, and the demo workspace's API key."""

from __future__ import annotations

import json
import os
import random
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw
from PIL.PngImagePlugin import PngInfo

from assetlens.apikeys import ApiKeys
from assetlens.errors import Unauthorized
from assetlens.ingest import IngestReport, ingest_files
from assetlens.services.assets import AssetService

DEMO_WORKSPACE = "demo"


@dataclass(frozen=True, slots=True)
class Sample:
    prompt: str
    tags: tuple[str, ...]
    colour: tuple[int, int, int]
    shape: str
    model: str


SAMPLES = [
    Sample(
        "a red fox in a snowy birch forest at dawn, cinematic lighting",
        ("animal", "winter"),
        (200, 60, 30),
        "circle",
        "sdxl-base-1.0",
    ),
    Sample(
        "neon cyberpunk city street at night, rain reflections",
        ("city", "night"),
        (40, 20, 160),
        "rect",
        "flux-dev",
    ),
    Sample(
        "minimalist logo of a blue whale, flat vector",
        ("logo", "animal"),
        (30, 90, 200),
        "ellipse",
        "sdxl-base-1.0",
    ),
    Sample(
        "golden wheat field under a stormy sky, oil painting",
        ("landscape", "painting"),
        (210, 170, 40),
        "rect",
        "sd-1.5",
    ),
    Sample(
        "portrait of an astronaut cat floating in space",
        ("animal", "space"),
        (20, 20, 40),
        "circle",
        "flux-dev",
    ),
    Sample(
        "桜の木の下の静かな寺院、水彩画",
        ("japan", "painting"),
        (240, 170, 200),
        "ellipse",
        "sdxl-base-1.0",
    ),
    Sample(
        "isometric tiny house with a green roof, 3d render",
        ("architecture",),
        (60, 160, 70),
        "rect",
        "sd-1.5",
    ),
    Sample(
        "abstract swirling ink in teal and orange",
        ("abstract",),
        (20, 150, 150),
        "circle",
        "flux-dev",
    ),
    Sample(
        "vintage poster of a mountain railway, art deco",
        ("poster", "landscape"),
        (120, 80, 50),
        "rect",
        "sdxl-base-1.0",
    ),
    Sample(
        "macro photo of a dew drop on a purple flower",
        ("macro", "nature"),
        (130, 50, 170),
        "ellipse",
        "sd-1.5",
    ),
    Sample(
        "snowy mountain lake with a wooden cabin",
        ("landscape", "winter"),
        (200, 220, 240),
        "rect",
        "flux-dev",
    ),
    Sample(
        "robot barista making latte art, studio photo",
        ("robot", "coffee"),
        (110, 110, 120),
        "circle",
        "sdxl-base-1.0",
    ),
]


def _draw(sample: Sample, seed: int, size: int = 384) -> Image.Image:
    rng = random.Random(seed)
    image = Image.new("RGB", (size, size), tuple(c // 3 for c in sample.colour))
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x0, y0 = rng.randrange(size // 2), rng.randrange(size // 2)
        x1, y1 = x0 + rng.randrange(60, size // 2), y0 + rng.randrange(60, size // 2)
        shade = tuple(min(255, max(0, c + rng.randrange(-40, 40))) for c in sample.colour)
        box = (x0, y0, x1, y1)
        if sample.shape == "circle":
            draw.ellipse(box, fill=shade)
        elif sample.shape == "ellipse":
            draw.ellipse((x0, y0, x1, y0 + (y1 - y0) // 2), fill=shade)
        else:
            draw.rectangle(box, fill=shade)
    return image


def write_samples(directory: Path) -> list[Path]:
    """Write the sample PNGs (A1111-style `parameters` chunks) plus a ComfyUI-style one."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for number, sample in enumerate(SAMPLES):
        seed = 1000 + number
        info = PngInfo()
        parameters = (
            f"{sample.prompt}\nNegative prompt: blurry, low quality\n"
            f"Steps: 30, Sampler: DPM++ 2M, CFG scale: 7, Seed: {seed}, Size: 384x384, "
            f"Model: {sample.model}"
        )
        info.add_itxt("parameters", parameters)
        path = directory / f"{number:02d}-{sample.tags[0]}.png"
        _draw(sample, seed).save(path, pnginfo=info)
        tags_path = path.with_suffix(".tags.json")
        tags_path.write_text(json.dumps(list(sample.tags)))
        paths.append(path)
    prompt_note = directory / "prompt-ideas.md"
    prompt_note.write_text(
        "# Prompt ideas\n\n- a lighthouse in a thunderstorm, long exposure\n"
        "- watercolor map of an imaginary island\n"
    )
    paths.append(prompt_note)
    return paths


def sample_tags(path: Path) -> list[str]:
    tags_path = path.with_suffix(".tags.json")
    if tags_path.exists():
        return [str(t) for t in json.loads(tags_path.read_text())]
    return ["notes"]


def load_samples(assets: AssetService, directory: Path) -> IngestReport:
    """Write the samples to `directory` and import the ones the demo workspace lacks: the
    samples are deterministic, so a second run finds every one already there."""
    report = IngestReport()
    for path in write_samples(directory):
        one = ingest_files(assets, DEMO_WORKSPACE, [path], tags=sample_tags(path))
        report.created += one.created
        report.failed += one.failed
        report.skipped += one.skipped
    return report


def demo_key(keys: ApiKeys, path: Path) -> str:
    """The demo workspace's API key, kept in `path` (owner-only) so every run prints the
    same working key; a new one when the file is missing or its key no longer works."""
    if path.is_file():
        key = path.read_text().strip()
        try:
            if keys.identify(key).workspace == DEMO_WORKSPACE:
                return key
        except Unauthorized:
            pass  # revoked or from another library: make a fresh one
    key = keys.create(DEMO_WORKSPACE, "demo")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key
