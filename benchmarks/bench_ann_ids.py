"""Opening an HNSW graph generation and reading its ids: JSON list vs packed .npz.

    python -m benchmarks.bench_ann_ids --convert SRC DST   # DST: a packed copy of SRC's graph
    python -m benchmarks.bench_ann_ids DIR [DIR ...] --rounds 5 --out result.json

SRC is an `ann/<database file>` directory with a generation written before the ids were
packed (`.ids` JSON); it is only read (the converted copy gets its own files). Each
measurement runs in a fresh process, the directories alternated round by round, and
reports wall and CPU milliseconds of: opening the graph (`AnnFiles.current`, what a search
needs), reading the ids (what a fold, or a generation without label rowids, needs), and
making the list of them that a fold edits.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from indexer.embedded.ann import AnnFiles, AnnSettings
from indexer.embedded.ann_graph import VERSION, read_ids
from indexer.embedded.packed_ids import PackedIds


def _meta(directory: Path) -> tuple[Path, dict[str, Any]]:
    (meta_path,) = [p for p in directory.glob("*.json") if "." not in p.stem]
    meta: dict[str, Any] = json.loads(meta_path.read_text(encoding="utf-8"))
    return meta_path, meta


def convert(src: Path, dst: Path) -> None:
    """Copy src's current generation into dst with its ids packed."""
    meta_path, meta = _meta(src)
    stem = f"{meta_path.stem}-{meta['gen']}"
    dst.mkdir(parents=True, exist_ok=True)
    for suffix in (".usearch", ".rowids.npy"):
        shutil.copyfile(src / f"{stem}{suffix}", dst / f"{stem}{suffix}")
    ids = json.loads((src / f"{stem}.ids").read_text(encoding="utf-8"))
    id_bytes, id_ends = PackedIds.pack(ids)
    with (dst / f"{stem}.ids.npz").open("wb") as fh:
        np.savez(fh, id_bytes=id_bytes, id_ends=id_ends)
    (dst / meta_path.name).write_text(json.dumps({**meta, "version": VERSION}), encoding="utf-8")


def _timed(fn: Any) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn()
    return value, (time.perf_counter() - wall) * 1e3, (time.process_time() - cpu) * 1e3


def measure_once(directory: Path) -> dict[str, float]:
    """One fresh process's open, ids and list, in ms."""
    _, meta = _meta(directory)
    files = AnnFiles(directory, AnnSettings())
    ann, open_ms, open_cpu = _timed(lambda: files.current(meta["workspace"], meta["model"]))
    assert ann is not None, "graph unreadable"
    ids, ids_ms, ids_cpu = _timed(lambda: read_ids(ann.path, packed=ann.packed))
    listed, list_ms, list_cpu = _timed(
        lambda: ids.tolist() if isinstance(ids, PackedIds) else list(ids)
    )
    assert len(listed) == ann.size
    return {"open_ms": open_ms, "open_cpu_ms": open_cpu, "ids_ms": ids_ms,
            "ids_cpu_ms": ids_cpu, "list_ms": list_ms, "list_cpu_ms": list_cpu}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("dirs", nargs="+", type=Path)
    parser.add_argument("--convert", action="store_true")
    parser.add_argument("--once", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.convert:
        convert(*args.dirs)
        return
    if args.once:
        print(json.dumps(measure_once(args.dirs[0])))
        return
    runs: dict[str, list[dict[str, float]]] = {str(d): [] for d in args.dirs}
    loads = []
    for _ in range(args.rounds):
        for d in args.dirs:
            out = subprocess.run([sys.executable, "-m", "benchmarks.bench_ann_ids", "--once",
                                  str(d)], check=True, capture_output=True, text=True)  # fmt: skip
            runs[str(d)].append(json.loads(out.stdout))
            loads.append(os.getloadavg()[0])
    result = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "load": loads,
              "runs": runs}  # fmt: skip
    for d, rs in runs.items():
        medians = {k: float(np.median([r[k] for r in rs])) for k in rs[0]}
        print(d, {k: round(v, 1) for k, v in medians.items()})
    if args.out:
        args.out.write_text(json.dumps(result, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
