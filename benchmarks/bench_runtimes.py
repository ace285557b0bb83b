"""The CLIP runtimes side by side: torch, ONNX Runtime fp32 and ONNX Runtime int8.

For each runtime, over the same images: `OpenClipEmbedder.embed_images` throughput (wall and
per CPU-second), the worst cosine between its vectors and torch's, and how well it keeps
image-to-image search: recall@10 of each image's ten nearest neighbours against torch's.
The images are seeded drawings (shapes and gradients in a few palettes), so neighbours are
structured rather than noise. Real weights cannot be downloaded here: the architecture runs
with seeded random weights (the same compute; agreement figures hold for these weights).

Run from the repository root:
    python -m benchmarks.bench_runtimes --model ViT-B-32 --n-images 96 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from benchmarks.bench_embedder import make_settings
from embeddings.open_clip_embedder import OpenClipEmbedder
from embeddings.runtimes import RuntimeName

RUNTIMES = (RuntimeName.TORCH, RuntimeName.ONNX, RuntimeName.ONNX_INT8)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="ViT-B-32", help="open_clip architecture or 'tiny'")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--n-images", type=int, default=96)
    parser.add_argument("--image-size", type=int, default=384)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--device", default="cpu", choices=["cpu"])
    parser.add_argument("--json", type=Path, default=None)
    return parser.parse_args(argv)


def drawings(count: int, size: int) -> list[Image.Image]:
    """Seeded pictures: a gradient ground and a few shapes, from one of eight palettes."""
    rng = np.random.default_rng(0)
    palettes = rng.integers(0, 256, (8, 4, 3))
    images = []
    for index in range(count):
        palette = palettes[index % len(palettes)]
        ramp = np.linspace(0, 1, size, dtype=np.float32)[:, None, None]
        ground = (palette[0] * (1 - ramp) + palette[1] * ramp).astype(np.uint8)
        image = Image.fromarray(np.broadcast_to(ground, (size, size, 3)).copy(), "RGB")
        draw = ImageDraw.Draw(image)
        for _ in range(int(rng.integers(2, 6))):
            x, y = rng.integers(0, size, 2)
            r = int(rng.integers(size // 12, size // 3))
            colour = tuple(int(c) for c in palette[int(rng.integers(2, 4))])
            box = (int(x) - r, int(y) - r, int(x) + r, int(y) + r)
            (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=colour)
        images.append(image)
    return images


def neighbours(vectors: np.ndarray, k: int) -> np.ndarray:
    scores = vectors @ vectors.T
    np.fill_diagonal(scores, -np.inf)
    return np.argsort(-scores, axis=1)[:, :k]


def recall_at(reference: np.ndarray, candidate: np.ndarray, k: int = 10) -> float:
    ref, cand = neighbours(reference, k), neighbours(candidate, k)
    return float(np.mean([len(set(a) & set(b)) / k for a, b in zip(ref, cand, strict=True)]))


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    images = drawings(args.n_images, args.image_size)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-runtimes-") as tmp:
        base = make_settings(args.model, Path(tmp), args)
        vectors: dict[RuntimeName, np.ndarray] = {}
        for runtime in RUNTIMES:
            embedder = OpenClipEmbedder(base.model_copy(update={"clip_runtime": runtime.value}))
            started = time.perf_counter()
            embedder.embed_images(images[:2])  # load (and export the first time), warm up
            load_s = time.perf_counter() - started
            walls, cpus = [], []
            for _ in range(args.repeats):
                wall, cpu = time.perf_counter(), time.process_time()
                found = embedder.embed_images(images)
                walls.append(time.perf_counter() - wall)
                cpus.append(time.process_time() - cpu)
            vectors[runtime] = np.asarray(found, dtype=np.float32)
            results[runtime.value] = {
                "model_id": embedder.model_id,
                "load_seconds": load_s,
                "images_per_s_best": args.n_images / min(walls),
                "images_per_cpu_s_best": args.n_images / min(cpus),
            }
    reference = vectors[RuntimeName.TORCH]
    for runtime in RUNTIMES:
        made = vectors[runtime]
        results[runtime.value]["worst_cosine_vs_torch"] = float((made * reference).sum(1).min())
        results[runtime.value]["recall_at_10_vs_torch"] = recall_at(reference, made)
    report = {
        "model": args.model,
        "weights": "seeded random",
        "n_images": args.n_images,
        "image_size": args.image_size,
        "batch_size": args.batch_size,
        "repeats": args.repeats,
        "results": results,
        "load_average": os.getloadavg(),
        "machine": {
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "processor": platform.processor() or platform.machine(),
        },
        "date": time.strftime("%Y-%m-%d"),
    }
    print(f"{args.model} n={args.n_images} bs={args.batch_size} load avg {os.getloadavg()[0]:.1f}")
    print(
        f"  {'runtime':10} {'img/s':>8} {'img/CPU-s':>10} {'worst cos':>10} "
        f"{'recall@10':>10}  model id"
    )
    for name, row in results.items():
        print(
            f"  {name:10} {row['images_per_s_best']:8.1f} {row['images_per_cpu_s_best']:10.1f}"
            f" {row['worst_cosine_vs_torch']:10.5f} {row['recall_at_10_vs_torch']:10.3f}"
            f"  {row['model_id']}"
        )
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2), encoding="utf-8")
    return report


if __name__ == "__main__":
    main()
