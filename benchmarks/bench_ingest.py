"""Ingest throughput: upload (validate + store + enqueue) and indexing (analysis, previews,
provenance, optional CLIP embedding, index write), embedded mode, with and without CLIP.

CLIP runs the real ViT-B-32 architecture through OpenClipEmbedder with seeded random
weights saved to a local checkpoint (same compute as the LAION weights, which can't be
downloaded here).

    python -m benchmarks.bench_ingest --n 200 --json docs/results/ingest.json
"""

from __future__ import annotations

import argparse
import io
import json
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

from assetlens.bootstrap import build
from assetlens.config import Settings
from assetlens.services.asset_inputs import UploadForm
from assetlens.spool import spool_file
from tests.support.media_samples import make_demo_images


def vit_b32_checkpoint(directory: Path) -> Path:
    import open_clip
    import torch

    torch.manual_seed(0)
    model = open_clip.create_model("ViT-B-32", pretrained=None)
    path = directory / "vit-b-32-random.pt"
    torch.save(model.state_dict(), path)
    return path


def run(n: int, clip: bool, workdir: Path, images: list[tuple[str, bytes]]) -> dict[str, Any]:
    data_dir = workdir / ("clip" if clip else "plain")
    overrides: dict[str, Any] = {
        "data_dir": data_dir,
        "clip_enabled": clip,
        "indexer_batch_size": 32,
    }
    if clip:
        overrides.update(
            clip_model="ViT-B-32", clip_checkpoint=vit_b32_checkpoint(workdir), clip_batch_size=32
        )
    container = build(Settings(_env_file=None, **overrides))
    container.index.ensure()
    if clip and container.embedder is not None:
        container.embedder.embed_texts(["warm up"])  # model load is not ingest cost
    spool = data_dir / "bench-src"
    started = time.perf_counter()
    for number in range(n):
        name, data = images[number % len(images)]
        # Unique bytes per asset so nothing is deduplicated away.
        payload = data + number.to_bytes(4, "big")
        spooled = spool_file(io.BytesIO(payload), spool, f"{number}-{name}", 50_000_000)
        container.assets.upload("bench", spooled, UploadForm(prompt=f"benchmark {name}"))
        spooled.discard()
    uploaded = time.perf_counter()
    container.indexer.drain()
    indexed = time.perf_counter()
    container.close()
    return {
        "clip": clip,
        "assets": n,
        "upload_per_s": n / (uploaded - started),
        "index_per_s": n / (indexed - uploaded),
        "end_to_end_per_s": n / (indexed - started),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    images = make_demo_images(24, size=512)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for clip in (False, True):
            result = run(args.n, clip, Path(tmp), images)
            results.append(result)
            print(
                f"clip={clip}: upload {result['upload_per_s']:.1f}/s, "
                f"index {result['index_per_s']:.1f}/s, "
                f"end-to-end {result['end_to_end_per_s']:.1f}/s"
            )
    report = {
        "machine": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "image_size": "512x512 PNG",
        "results": results,
    }
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
