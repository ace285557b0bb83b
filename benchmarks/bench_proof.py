"""What proving uploads in worker processes costs (docs/INGEST.md, "Where the proof runs"):
the proof in the receiving process (`ASSETLENS_PROOF_WORKERS=0`) against the proof's worker
processes (the default), on 1024² render-like PNGs and JPEGs.

* proof call: `InProcessProver` against a started `ProofPool(2)`, in this process, the same
  files: wall p50/p95 per call and CPU per call (this process's and the workers').
* HTTP upload: a real `assetlens serve` process (embedded mode, the indexer not in it, so
  only the upload path runs) receives `--n` distinct files of one kind, one after another
  (`wait=false`); the client times each request. CPU is the server's and its children's
  (the proof workers), from /proc, over the whole run, per upload.

Modes alternate A B B A per kind (`--rounds` times), so that a change of the shared
machine's load falls on both.

    python -m benchmarks.bench_proof --n 60 --rounds 2 --json docs/results/proof_upload.json
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from assetlens.config import Settings
from assetlens.media.proofs import InProcessProver, ProofPool
from assetlens.ports import UploadProver
from benchmarks.bench_upload_memory import create_key
from benchmarks.render_corpus import render_files
from tests.support.server import free_port

MODES = {"in-process": "0", "workers": ""}  # "" = the default (one per core, at least 2)


def cpu_seconds(pid: int) -> float:
    """User + system CPU of `pid` and of its live children (the proof workers), from /proc
    (in clock ticks: runs of many calls keep the rounding small)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(proc.name) == pid or int(fields[1]) == pid:  # fields[1]: the parent's pid
            total += int(fields[11]) + int(fields[12])
    return total / tick


def serve(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [sys.executable, "-m", "assetlens", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(600):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    server.kill()
    raise RuntimeError("the server did not start")


def run(mode: str, files: list[Path], tmp: Path) -> dict[str, Any]:
    """`files` uploaded one after another to a fresh server in `mode`."""
    data = tmp / f"data-{mode}-{time.monotonic_ns()}"
    env = {
        **os.environ,
        "ASSETLENS_DATA_DIR": str(data),
        "ASSETLENS_CLIP_ENABLED": "false",
        "ASSETLENS_RUN_INDEXER_IN_PROCESS": "false",
        "ASSETLENS_PROOF_WORKERS": MODES[mode],
    }
    if not MODES[mode]:
        del env["ASSETLENS_PROOF_WORKERS"]
    key = create_key(env)
    port = free_port()
    server = serve(env, port)
    times: list[float] = []
    try:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            timeout=120,
            headers={"Authorization": f"Bearer {key}"},
        ) as http:
            # Two uploads first: the first request's imports, and the workers' warm-up
            # (started in the background at server start) are not per-upload costs.
            for path in files[:2]:
                warm = http.post(
                    "/v1/assets",
                    params={"wait": "false"},
                    files={"file": (f"warm-{path.name}", path.read_bytes() + b"w")},
                )
                warm.raise_for_status()
            cpu = cpu_seconds(server.pid)
            for path in files:
                body = path.read_bytes()
                started = time.perf_counter()
                response = http.post(
                    "/v1/assets", params={"wait": "false"}, files={"file": (path.name, body)}
                )
                times.append((time.perf_counter() - started) * 1000)
                response.raise_for_status()
            cpu = cpu_seconds(server.pid) - cpu
    finally:
        server.terminate()
        server.wait(timeout=60)
    return {**latency(mode, times), "cpu_ms_per_upload": round(cpu * 1000 / len(files), 2)}


def call_alone(mode: str, prover: UploadProver, files: list[Path]) -> dict[str, Any]:
    """Each of `files` proven by `prover`, one after another."""
    pixels = Settings(_env_file=None).max_image_pixels
    times: list[float] = []
    cpu = cpu_seconds(os.getpid())
    for path in files:
        started = time.perf_counter()
        prover.prove(path, path.name, max_image_pixels=pixels)
        times.append((time.perf_counter() - started) * 1000)
    cpu = cpu_seconds(os.getpid()) - cpu
    return {**latency(mode, times), "cpu_ms_per_call": round(cpu * 1000 / len(files), 2)}


def latency(mode: str, times: list[float]) -> dict[str, Any]:
    """The count, p50 and p95 of `times` (ms)."""
    times = sorted(times)
    return {
        "mode": mode,
        "n": len(times),
        "ms_p50": round(statistics.median(times), 2),
        "ms_p95": round(times[int(0.95 * (len(times) - 1))], 2),
    }


def calls(kinds: dict[str, list[Path]], rounds: int) -> list[dict[str, Any]]:
    rows = []
    pool = ProofPool(2)
    pool.start()
    provers: dict[str, UploadProver] = {"in-process": InProcessProver(), "workers": pool}
    try:
        for kind, files in kinds.items():
            provers["in-process"].prove(files[0], files[0].name, max_image_pixels=1 << 26)
            for _ in range(rounds):
                for mode in ("in-process", "workers", "workers", "in-process"):
                    row = {
                        "kind": kind,
                        "what": "proof call",
                        **call_alone(mode, provers[mode], files),
                    }
                    rows.append(row)
                    print(
                        f"call {kind:<5} {mode:<11} p50 {row['ms_p50']:6.2f} ms  "
                        f"p95 {row['ms_p95']:6.2f} ms  "
                        f"{row['cpu_ms_per_call']:6.2f} CPU-ms per call",
                        flush=True,
                    )
            rows.append({"kind": kind, "what": "paired calls", **paired(provers, files)})
            row = rows[-1]
            print(
                f"call {kind:<5} paired      p50 {row['ms_p50_in_process']:6.2f} ms in-process, "
                f"{row['ms_p50_workers']:6.2f} ms in the workers; the workers' extra time per "
                f"file: median {row['ms_extra_median']:5.2f} ms",
                flush=True,
            )
    finally:
        pool.close()
    return rows


def paired(provers: dict[str, UploadProver], files: list[Path]) -> dict[str, Any]:
    """Each file proven both ways, back to back, which way first alternating: the load
    of the moment falls on both calls of a pair, so the median of the differences is the
    pool's own cost, where the p50 of whole runs moves with the shared machine's load."""
    pixels = Settings(_env_file=None).max_image_pixels
    times: dict[str, list[float]] = {"in-process": [], "workers": []}
    for number, path in enumerate(files * 3):
        order = ("in-process", "workers") if number % 2 else ("workers", "in-process")
        for mode in order:
            started = time.perf_counter()
            provers[mode].prove(path, path.name, max_image_pixels=pixels)
            times[mode].append((time.perf_counter() - started) * 1000)
    extra = sorted(b - a for a, b in zip(times["in-process"], times["workers"], strict=True))
    return {
        "n": len(extra),
        "ms_p50_in_process": round(statistics.median(times["in-process"]), 2),
        "ms_p50_workers": round(statistics.median(times["workers"]), 2),
        "ms_extra_median": round(statistics.median(extra), 3),
        "ms_extra_p25_p75": [
            round(extra[len(extra) // 4], 3),
            round(extra[3 * len(extra) // 4], 3),
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=60, help="uploads per kind, per run")
    parser.add_argument("--rounds", type=int, default=1, help="A B B A rounds per kind")
    parser.add_argument("--calls-only", action="store_true", help="skip the HTTP runs")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    load_before = os.getloadavg()
    corpus = render_files(Path(tempfile.gettempdir()) / "assetlens-render-corpus-1024", 3 * args.n)
    kinds = {
        "png": [p for p in corpus if p.suffix == ".png"][: args.n],
        "jpeg": [p for p in corpus if p.suffix == ".jpg"][: args.n],
    }
    rows = calls(kinds, args.rounds)
    with tempfile.TemporaryDirectory() as folder:
        for kind, files in kinds.items():
            for _ in range(0 if args.calls_only else args.rounds):
                for mode in ("in-process", "workers", "workers", "in-process"):
                    row = {"kind": kind, "what": "HTTP upload", **run(mode, files, Path(folder))}
                    rows.append(row)
                    print(
                        f"HTTP {kind:<5} {mode:<11} p50 {row['ms_p50']:7.2f} ms  "
                        f"p95 {row['ms_p95']:7.2f} ms  "
                        f"{row['cpu_ms_per_upload']:6.2f} CPU-ms per upload",
                        flush=True,
                    )
    report = {
        "date": datetime.date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "files": f"{args.n} distinct 1024² render-like files per kind (PNG; JPEG q92)",
        "results": rows,
    }
    print(
        f"load average before {report['load_average_before']}, after {report['load_average_after']}"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
