"""Opening an HNSW graph generation and reading its ids: JSON list vs packed .npz.

    python -m benchmarks.bench_ann_ids --convert SRC DST   # DST: a packed copy of SRC's graph
    python -m benchmarks.bench_ann_ids DIR [DIR ...] --rounds 5 --out result.json
    python -m benchmarks.bench_ann_ids DIR [DIR ...] --fold 1000 --vectors VEC --code ROOT ...

SRC is an `ann/<database file>` directory with a generation written before the ids were
packed (`.ids` JSON); it is only read (the converted copy gets its own files). Each
measurement runs in a fresh process, the directories alternated round by round, and
reports wall and CPU milliseconds of: opening the graph (`AnnFiles.current`, what a search
needs), reading the ids (what a fold, or a generation without label rowids, needs), and
making the list of them that a fold edits. With --fold N: a whole fold (`added`, in
memory, nothing written) of N rows changed since the graph, on the set's vector file in VEC;
--code gives each DIR the source tree to run (e.g. main's checkout for a JSON-ids one).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

# Only what main's code has too: --code runs a JSON-ids directory with it.
from indexer.embedded.ann import AnnFiles, AnnSettings
from indexer.embedded.ann_graph import added
from indexer.embedded.vector_files import VectorFiles
from indexer.embedded.vectors import ModelVectors


def _meta(directory: Path) -> tuple[Path, dict[str, Any]]:
    (meta_path,) = [p for p in directory.glob("*.json") if "." not in p.stem]
    meta: dict[str, Any] = json.loads(meta_path.read_text(encoding="utf-8"))
    return meta_path, meta


def convert(src: Path, dst: Path) -> None:
    """Copy src's current generation into dst with its ids packed."""
    from indexer.embedded.ann_graph import VERSION
    from indexer.embedded.packed_ids import PackedIds

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


def measure_once(directory: Path, fold: int, vectors: Path | None) -> dict[str, float]:
    """One fresh process's open, ids and list (or fold), in ms."""
    _, meta = _meta(directory)
    files = AnnFiles(directory, AnnSettings())
    ann, open_ms, open_cpu = _timed(lambda: files.current(meta["workspace"], meta["model"]))
    assert ann is not None, "graph unreadable"
    if fold:
        assert vectors is not None, "--fold needs --vectors"
        loaded = VectorFiles(vectors).load(meta["workspace"], meta["model"])
        assert loaded is not None, "vector file unreadable"
        entry = ModelVectors(meta["workspace"], meta["model"])
        entry.restore(*loaded)
        snap = entry.snapshot()
        changed = snap.changed.copy()
        changed[:fold] = snap.seq + 1  # rewritten since the graph: removed, added again
        snap = dataclasses.replace(snap, changed=changed, seq=snap.seq + 1)
        delta = np.flatnonzero(changed > ann.seq)
        settings = AnnSettings()
        graph, fold_ms, fold_cpu = _timed(lambda: added(ann, snap, delta, settings))
        assert len(graph[1]) == ann.size + fold
        assert graph[3] == ann.stale + fold
        return {"open_ms": open_ms, "open_cpu_ms": open_cpu, "fold_ms": fold_ms,
                "fold_cpu_ms": fold_cpu}  # fmt: skip
    ids, ids_ms, ids_cpu = _timed(lambda: ann.ids)
    listed, list_ms, list_cpu = _timed(
        lambda: ids.tolist() if hasattr(ids, "tolist") else list(ids)
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
    parser.add_argument("--fold", type=int, default=0)
    parser.add_argument("--vectors", type=Path)
    parser.add_argument("--code", type=Path, nargs="*", help="source tree per DIR")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.convert:
        convert(*args.dirs)
        return
    if args.once:
        print(json.dumps(measure_once(args.dirs[0], args.fold, args.vectors)))
        return
    runs: dict[str, list[dict[str, float]]] = {str(d): [] for d in args.dirs}
    loads = []
    codes = args.code or [Path.cwd()] * len(args.dirs)
    extra = ["--fold", str(args.fold), "--vectors", str(args.vectors)] if args.fold else []
    for _ in range(args.rounds):
        for d, code in zip(args.dirs, codes, strict=True):
            env = {**os.environ, "PYTHONPATH": str(code.resolve())}
            out = subprocess.run([sys.executable, __file__, "--once", str(d), *extra],
                                 check=True, capture_output=True, text=True, env=env)  # fmt: skip
            runs[str(d)].append(json.loads(out.stdout))
            loads.append(os.getloadavg()[0])
    result = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "load": loads,
              "fold": args.fold, "code": [str(c) for c in codes], "runs": runs}  # fmt: skip
    for d, rs in runs.items():
        medians = {k: float(np.median([r[k] for r in rs])) for k in rs[0]}
        print(d, {k: round(v, 1) for k, v in medians.items()})
    if args.out:
        args.out.write_text(json.dumps(result, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
