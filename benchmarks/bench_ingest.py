"""Ingest throughput, from one run: a single-core floor, the ingest pipeline without CLIP and
with CLIP ViT-B-32, and the embedder's own throughput, on the same render-like files.

* floor: one process, per file a bare Pillow decode plus the same two WebP previews
  (`webp_previews`, the production settings); nothing stored.
* pipeline: what `assetlens ingest` does (assetlens/cli_ingest.py): files imported (hash,
  validate in the proof's worker processes, store blob and manifest, enqueue) while the
  indexer drains the queue beside it (analysis in `indexer_workers` processes, the next
  batch analysed while the current one embeds and is written), embedded mode, until every
  asset is indexed. The worker
  processes are started and warmed up before the clock (once per run, like the model
  load; `assetlens ingest` does it while the first files are imported) and their start-up
  CPU is printed on its own line.
* sequential (with --sequential): upload everything, then `drain()` with no worker
  processes: one item after another, as before the pipeline.
* embedder: `embed_images` alone on 224-px images, batches of `clip_batch_size`.

CLIP runs the real ViT-B-32 architecture through OpenClipEmbedder with seeded random
weights saved to a local checkpoint (same compute as the LAION weights, which can't be
downloaded here). CPU seconds are this process's and its children's (the worker pool), so
per-CPU-second rates (and CPU-ms per asset) stay comparable when other work shares the
machine; the last lines give the pipeline/floor ratio on the wall clock and as projected
from CPU per asset onto this machine's cores when idle (the floor uses one core).

    python -m benchmarks.bench_ingest --n 240 --sequential --json docs/results/ingest.json
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import resource
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from PIL import Image
from rich.progress import Progress

from assetlens.bootstrap import build
from assetlens.cli_ingest import ingest_all
from assetlens.config import Settings
from assetlens.media.images import EMBED_SHORT_SIDE
from assetlens.media.pool import default_workers
from assetlens.media.previews import fit_short_side, webp_previews
from assetlens.services.asset_inputs import UploadForm
from assetlens.services.duplicate_policy import PolicyName
from benchmarks.render_corpus import render_files

WORKSPACE = "bench"


def vit_b32_checkpoint(directory: Path) -> Path:
    import open_clip
    import torch

    path = directory / "vit-b-32-random.pt"
    if not path.exists():
        torch.manual_seed(0)
        model = open_clip.create_model("ViT-B-32", pretrained=None)
        torch.save(model.state_dict(), path)
    return path


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _live_children_cpu_seconds() -> float:
    """CPU seconds spent so far by this process's live worker processes (Linux /proc):
    RUSAGE_CHILDREN counts a child only once it has exited."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for child in multiprocessing.active_children():
        # Fields after the command name: state is the 3rd field, utime the 14th, stime the 15th.
        fields = Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / tick


@contextmanager
def measured(result: dict[str, Any], n: int, spent_before: float = 0.0) -> Iterator[None]:
    """Adds wall and CPU seconds of the block, and rates per second of each, to `result`.
    `spent_before`: CPU seconds that live children spent before the block (their start),
    which RUSAGE_CHILDREN will count when they exit inside it."""
    wall, cpu, own = time.perf_counter(), _cpu_seconds(), time.process_time()
    yield
    wall, cpu = time.perf_counter() - wall, _cpu_seconds() - cpu - spent_before
    own = time.process_time() - own
    # This process's share (uploads, indexing, the threads around them); the rest is the
    # worker processes' (analysis, provenance).
    result.update(
        seconds=round(wall, 2),
        cpu_seconds=round(cpu, 2),
        own_cpu_seconds=round(own, 2),
        n=n,
        per_s=round(n / wall, 2),
        per_cpu_s=round(n / cpu, 2),
    )


def corpus(workdir: Path, n: int, unique: int, size: int) -> list[Path]:
    """`n` distinct files (two PNGs per JPEG): `unique` pictures, each copy made distinct
    by bytes after its end (which decoders ignore) so nothing is deduplicated away."""
    bases = render_files(
        Path(tempfile.gettempdir()) / f"assetlens-render-corpus-{size}", unique, size
    )
    files = workdir / "files"
    files.mkdir(parents=True, exist_ok=True)
    paths = []
    for number in range(n):
        base = bases[number % len(bases)]
        path = files / f"{number:05d}-{base.name}"
        path.write_bytes(base.read_bytes() + number.to_bytes(4, "big"))
        paths.append(path)
    return paths


def floor(paths: list[Path]) -> dict[str, Any]:
    result: dict[str, Any] = {"name": "floor (1 process: decode + previews)"}
    with measured(result, len(paths)):
        for path in paths:
            with Image.open(path) as im:
                im.load()
                webp_previews(im)
    return result


def _settings(data_dir: Path, clip: Path | None, workers: int) -> Settings:
    overrides: dict[str, Any] = {
        "data_dir": data_dir,
        "clip_enabled": clip is not None,
        "indexer_batch_size": 32,
        "indexer_workers": workers,
    }
    if clip is not None:
        overrides.update(clip_model="ViT-B-32", clip_checkpoint=clip, clip_batch_size=32)
    return Settings(_env_file=None, **overrides)


def pipeline(paths: list[Path], data_dir: Path, clip: Path | None) -> dict[str, Any]:
    settings = _settings(data_dir, clip, workers=0)
    result: dict[str, Any] = {
        "name": f"pipeline, {'CLIP ViT-B-32' if clip else 'no CLIP'}",
        "workers": settings.indexer_workers or default_workers(),
    }
    container = build(settings)
    result["proof_workers"] = getattr(container.prover, "workers", 0)
    container.index.ensure()
    if container.embedder is not None:
        container.embedder.embed_texts(["warm up"])  # model load is not ingest cost
    # Nor is starting the worker processes: paid once per run (a fresh interpreter each,
    # importing the analysis modules, then a tiny analysis that loads what the first one
    # would), reported on its own line. `assetlens ingest` does the same while it imports.
    container.indexer.start_workers()
    container.prover.start()  # the upload proof's workers (`assetlens ingest` starts them too)
    started = _live_children_cpu_seconds()
    result["worker_start_cpu_seconds"] = round(started, 2)
    with measured(result, len(paths), spent_before=started):
        try:
            with Progress(disable=True) as progress:
                totals = ingest_all(
                    container.assets,
                    container.indexer,
                    container.queue,
                    WORKSPACE,
                    paths,
                    tags=[],
                    policy=PolicyName.ALLOW,
                    progress=progress,
                )
        finally:
            container.close()  # joins the worker processes, so their CPU time counts
    if totals.imported != len(paths) or totals.indexed < len(paths):
        raise RuntimeError(f"ingest lost files: {totals}")
    return result


def sequential(paths: list[Path], data_dir: Path, clip: Path | None) -> dict[str, Any]:
    result: dict[str, Any] = {"name": f"sequential, {'CLIP ViT-B-32' if clip else 'no CLIP'}"}
    container = build(_settings(data_dir, clip, workers=1))
    container.index.ensure()
    if container.embedder is not None:
        container.embedder.embed_texts(["warm up"])
    from assetlens.ingest import hash_in_place

    with measured(result, len(paths)):
        for path in paths:
            container.assets.upload(WORKSPACE, hash_in_place(path), UploadForm())
        container.indexer.drain()
    container.close()
    return result


def embedder_alone(paths: list[Path], clip: Path) -> dict[str, Any]:
    from embeddings.open_clip_embedder import OpenClipEmbedder

    embedder = OpenClipEmbedder(_settings(Path(tempfile.gettempdir()), clip, workers=1))
    images = []
    for path in paths:
        with Image.open(path) as im:
            im.draft("RGB", (600, 600))
            images.append(fit_short_side(im.convert("RGB"), EMBED_SHORT_SIDE))
    embedder.embed_images(images[:2])  # model load
    result: dict[str, Any] = {"name": "embedder alone, CLIP ViT-B-32"}
    with measured(result, len(images)):
        embedder.embed_images(images)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=240, help="files per pipeline run")
    parser.add_argument("--unique", type=int, default=24, help="distinct pictures")
    parser.add_argument("--size", type=int, default=1024, help="pixels per side")
    parser.add_argument("--no-clip", action="store_true", help="skip the CLIP runs")
    parser.add_argument(
        "--sequential",
        action="store_true",
        help="also run the one-item-after-another mode for comparison",
    )
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=None,
        help="where the files and the library go (default: a new temporary "
        "directory); the filesystem's cost of creating files is part "
        "of the pipeline's (docs/BENCHMARKS.md)",
    )
    args = parser.parse_args()
    load_before = os.getloadavg()
    results: list[dict[str, Any]] = []

    def record(result: dict[str, Any]) -> None:
        results.append(result)
        print(
            f"{result['name']:<40} {result['per_s']:7.1f}/s  "
            f"{result['per_cpu_s']:7.1f} per CPU-second  "
            f"{1000 / result['per_cpu_s']:6.1f} CPU-ms each  ({result['seconds']} s)",
            flush=True,
        )
        if result["own_cpu_seconds"] < result["cpu_seconds"] - 0.005:
            n = result["n"]
            print(
                f"{'':<4}of which this process {result['own_cpu_seconds'] * 1000 / n:.1f} "
                f"CPU-ms each, the worker processes "
                f"{(result['cpu_seconds'] - result['own_cpu_seconds']) * 1000 / n:.1f}",
                flush=True,
            )
        if "worker_start_cpu_seconds" in result:
            proof = f" and {result['proof_workers']} proof" if result.get("proof_workers") else ""
            print(
                f"{'':<4}+ starting and warming up {result['workers']} analysis{proof} "
                f"worker processes, "
                f"once per run: "
                f"{result['worker_start_cpu_seconds']} CPU-s (not counted above)",
                flush=True,
            )

    with tempfile.TemporaryDirectory(dir=args.work_dir) as tmp:
        work = Path(tmp)
        paths = corpus(work, args.n, args.unique, args.size)
        record(floor(paths))
        runs: list[tuple[str, Callable[..., dict[str, Any]], Path | None]] = [
            ("plain", pipeline, None)
        ]
        if args.sequential:
            runs.append(("plain-seq", sequential, None))
        if not args.no_clip:
            checkpoint = vit_b32_checkpoint(work)
            record(embedder_alone(paths[: min(len(paths), 96)], checkpoint))
            runs.append(("clip", pipeline, checkpoint))
            if args.sequential:
                runs.append(("clip-seq", sequential, checkpoint))
        for label, run, clip in runs:
            record(run(paths, work / label, clip))
    by_name = {r["name"]: r for r in results}
    floor_run, plain_run = (
        by_name["floor (1 process: decode + previews)"],
        by_name["pipeline, no CLIP"],
    )
    base, plain = floor_run["per_s"], plain_run["per_s"]
    cores = default_workers()
    # The floor uses one core; the pipeline may use them all. On a shared machine the wall
    # ratio depends on how the load splits between them, so also print what the CPU each
    # costs gives on `cores` idle cores: cores × per-CPU-second against the floor's rate.
    projected = cores * plain_run["per_cpu_s"] / floor_run["per_cpu_s"]
    print(
        f"pipeline without CLIP / floor: {plain / base:.2f}× on the wall clock; "
        f"{projected:.2f}× from CPU per asset on {cores} idle cores (target ≥ 1.5×)"
    )
    if "pipeline, CLIP ViT-B-32" in by_name:
        own = by_name["embedder alone, CLIP ViT-B-32"]["per_s"]
        with_clip = by_name["pipeline, CLIP ViT-B-32"]["per_s"]
        print(f"pipeline with CLIP / embedder alone: {with_clip / own:.2f}")
    report = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "cpus_usable": default_workers(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "files": f"{args.n} × {args.size}² render-like (2 PNG : 1 JPEG q92)",
        "work_dir": str(args.work_dir or tempfile.gettempdir()),
        "results": results,
    }
    print(
        f"load average before {report['load_average_before']}, after {report['load_average_after']}"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
