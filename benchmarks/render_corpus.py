"""Deterministic render-like images for ingest benchmarks: smooth lighting, shapes with soft
edges and fine grain, like the output of an image model (not flat test cards, which
compress to nothing and decode in no time). PNG and JPEG, at the sizes models produce."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter


def render_like(seed: int, size: int = 1024) -> Image.Image:
    """One RGB picture: a lit gradient, a few blurred shapes, grain."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    base = rng.uniform(40, 200, 3).astype(np.float32)
    tilt = rng.uniform(-90, 90, (3, 2)).astype(np.float32)
    pixels = np.stack([base[c] + tilt[c, 0] * x + tilt[c, 1] * y for c in range(3)], axis=-1)
    im = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(im)
    for _ in range(int(rng.integers(4, 9))):
        x0, y0 = rng.integers(0, size * 3 // 4, 2)
        w, h = rng.integers(size // 10, size // 2, 2)
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        box = (int(x0), int(y0), int(x0 + w), int(y0 + h))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=colour)
    im = im.filter(ImageFilter.GaussianBlur(radius=float(rng.uniform(1.5, 6))))
    grain = rng.normal(0, 6, (size, size, 3)).astype(np.float32)
    noisy = np.asarray(im, dtype=np.float32) + grain
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8), "RGB")


def render_files(directory: Path, count: int, size: int = 1024) -> list[Path]:
    """`count` files in `directory`: two PNGs for every JPEG (quality 92), all distinct."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        jpeg = i % 3 == 2
        path = directory / f"render-{i:05d}.{'jpg' if jpeg else 'png'}"
        if not path.exists():
            buf = io.BytesIO()
            if jpeg:
                render_like(i, size).save(buf, "JPEG", quality=92)
            else:
                render_like(i, size).save(buf, "PNG", compress_level=6)
            path.write_bytes(buf.getvalue())
        paths.append(path)
    return paths
