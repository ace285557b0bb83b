"""Throughput of `OpenClipEmbedder.embed_images` against a plain open_clip forward pass.

Three ways over the same 512×512 PIL images, same model, same batch size:

- pipeline:        OpenClipEmbedder.embed_images (RGB check, preprocessing, forward,
                   normalisation, conversion to Python lists)
- plain+preprocess: open_clip's own preprocess transform + encode_image + normalise
- plain forward:   encode_image + normalise on tensors preprocessed beforehand

overhead = 1 - pipeline / (plain+preprocess): what the adapter costs over using open_clip
directly. Real ViT-B-32 weights cannot be downloaded here, so the ViT-B-32 architecture runs
with seeded random weights saved to a local checkpoint (same compute as the real model).

Run from the repository root:
    python -m benchmarks.bench_embedder --model ViT-B-32 --n-images 64 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import open_clip
import torch
from PIL import Image

from assetlens.config import Settings
from embeddings.open_clip_embedder import OpenClipEmbedder
from tests.support.tiny_clip import make_tiny_clip

TINY = "tiny"
T = TypeVar("T")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="ViT-B-32", help=f"open_clip architecture or {TINY!r}")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--n-images", type=int, default=64)
    parser.add_argument("--image-size", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("--json", type=Path, default=None, help="write results here")
    return parser.parse_args(argv)


def make_images(count: int, size: int) -> list[Image.Image]:
    """Seeded noise images; resize cost does not depend on content."""
    rng = np.random.default_rng(0)
    return [
        Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8), "RGB")
        for _ in range(count)
    ]


def make_settings(model: str, folder: Path, args: argparse.Namespace) -> Settings:
    """Settings for a local checkpoint of `model` with seeded random weights."""
    common: dict[str, Any] = {
        "data_dir": folder / "data",
        "clip_device": args.device,
        "clip_batch_size": args.batch_size,
        "clip_threads": args.threads,
    }
    if model == TINY:
        config, checkpoint, name = make_tiny_clip(folder)
        open_clip.add_model_config(config)  # the plain baseline needs the name registered too
        return Settings(
            clip_model=name, clip_model_config=config, clip_checkpoint=checkpoint, **common
        )
    torch.manual_seed(0)
    random_model = open_clip.create_model(model, pretrained=None)
    checkpoint = folder / f"{model}-random.pt"
    torch.save(random_model.state_dict(), checkpoint)
    del random_model
    return Settings(clip_model=model, clip_checkpoint=checkpoint, **common)


def batches(items: Sequence[T], size: int) -> list[Sequence[T]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def measure(runs: dict[str, Callable[[], object]], repeats: int, n: int) -> dict[str, Any]:
    """Images/s per run, by wall clock and by process CPU time (all threads).

    Runs are interleaved so drift hits all alike. On a shared machine the CPU-time rate is the
    steadier one: other processes stretch wall time, not the work this process does.
    """
    wall: dict[str, list[float]] = {name: [] for name in runs}
    cpu: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            wall_start, cpu_start = time.perf_counter(), time.process_time()
            run()
            cpu[name].append(time.process_time() - cpu_start)
            wall[name].append(time.perf_counter() - wall_start)
    return {
        name: {
            "images_per_s_best": n / min(wall[name]),
            "images_per_s_median": n / statistics.median(wall[name]),
            "images_per_cpu_s_median": n / statistics.median(cpu[name]),
            "wall_seconds": wall[name],
            "cpu_seconds": cpu[name],
        }
        for name in runs
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    images = make_images(args.n_images, args.image_size)
    with tempfile.TemporaryDirectory(prefix="bench-embedder-") as tmp:
        settings = make_settings(args.model, Path(tmp), args)
        embedder = OpenClipEmbedder(settings)
        started = time.perf_counter()
        if not embedder.available():
            raise SystemExit(f"embedder unavailable: {embedder.unavailable_reason()}")
        load_s = time.perf_counter() - started

        device = torch.device(args.device)
        model, _, preprocess = open_clip.create_model_and_transforms(
            settings.clip_model, pretrained=str(settings.clip_checkpoint), device=device
        )
        model.eval()
        pre = [preprocess(image) for image in images]

        def encode(pixels: torch.Tensor) -> np.ndarray[Any, Any]:
            with torch.inference_mode():
                features = model.encode_image(pixels.to(device))
                features = torch.nn.functional.normalize(features.float(), dim=-1)
                return features.cpu().numpy()

        def plain_forward() -> list[np.ndarray[Any, Any]]:
            return [encode(torch.stack(list(chunk))) for chunk in batches(pre, args.batch_size)]

        def plain_with_preprocess() -> list[np.ndarray[Any, Any]]:
            return [
                encode(torch.stack([preprocess(image) for image in chunk]))
                for chunk in batches(images, args.batch_size)
            ]

        def pipeline() -> list[list[float]]:
            return embedder.embed_images(images)

        # Warm-up, and check that both paths compute the same vectors.
        reference = np.concatenate(plain_with_preprocess())
        max_abs_diff = float(np.max(np.abs(np.asarray(pipeline()) - reference)))
        plain_forward()

        results = measure(
            {
                "pipeline": pipeline,
                "plain_with_preprocess": plain_with_preprocess,
                "plain_forward": plain_forward,
            },
            args.repeats,
            args.n_images,
        )
    rates = {
        key: {name: results[name][key] for name in results}
        for key in ("images_per_s_best", "images_per_s_median", "images_per_cpu_s_median")
    }
    report: dict[str, Any] = {
        "model": args.model,
        "model_id": embedder.model_id,
        "weights": "seeded random (same architecture and compute as the released weights)",
        "batch_size": args.batch_size,
        "n_images": args.n_images,
        "image_size": args.image_size,
        "repeats": args.repeats,
        "device": args.device,
        "torch_threads": torch.get_num_threads(),
        "load_seconds": load_s,
        "max_abs_diff_vs_plain": max_abs_diff,
        "results": results,
        "overhead_vs_plain_with_preprocess_pct": {
            key: 100.0 * (1.0 - r["pipeline"] / r["plain_with_preprocess"])
            for key, r in rates.items()
        },
        "load_average": os.getloadavg(),
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "open_clip": open_clip.__version__,
            "gpu": torch.cuda.get_device_name() if args.device == "cuda" else None,
        },
    }
    print(
        f"{args.model} bs={args.batch_size} n={args.n_images} {args.device} "
        f"threads={torch.get_num_threads()} repeats={args.repeats} "
        f"load avg {os.getloadavg()[0]:.1f}\n"
        f"  {'images/s':24} {'best wall':>10} {'median wall':>12} {'per CPU-s':>10}"
    )
    for name in results:
        print(
            f"  {name:24} {rates['images_per_s_best'][name]:10.1f} "
            f"{rates['images_per_s_median'][name]:12.1f} "
            f"{rates['images_per_cpu_s_median'][name]:10.1f}"
        )
    overhead = report["overhead_vs_plain_with_preprocess_pct"]
    print(
        "  pipeline overhead vs plain+preprocessing: "
        + ", ".join(f"{key} {value:+.1f} %" for key, value in overhead.items())
        + f"  (max |Δ| vs plain {max_abs_diff:.2e})"
    )
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2), encoding="utf-8")
    return report


if __name__ == "__main__":
    main()
