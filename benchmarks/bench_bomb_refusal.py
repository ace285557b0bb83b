"""Time and peak memory of refusing each decompression bomb (SECURITY.md row 1) over HTTP.

A real `assetlens serve` process (embedded mode) receives every bomb of
`tests.support.media_samples.BOMBS` `--repeat` times; for each upload the server's peak
resident set is reset (/proc/PID/clear_refs) and its growth read back (VmHWM − VmRSS), and
the request's wall time is taken on the client. A control row uploads an image that is
accepted and fully decoded (4000×4000 RGB, 48 MB of pixels) to show what decoding costs.

    python -m benchmarks.bench_bomb_refusal --repeat 20 --json docs/results/bomb_refusal.json
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

import httpx

from benchmarks.bench_upload_memory import vm_kib
from tests.support.media_samples import BOMBS, png_pixel_flood
from tests.support.server import free_port


def reset_peak(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def measure(
    http: httpx.Client, pid: int, filename: str, data: bytes, repeat: int
) -> dict[str, object]:
    """Status, wall times (ms) and peak RSS growth (MiB) of `repeat` uploads of `data`."""
    times, growths, statuses = [], [], set()
    for _ in range(repeat):
        reset_peak(pid)
        before = vm_kib(pid, "VmRSS")
        started = time.perf_counter()
        response = http.post(
            "/v1/assets", params={"wait": "false"}, files={"file": (filename, data)}
        )
        times.append((time.perf_counter() - started) * 1000)
        growths.append((vm_kib(pid, "VmHWM") - before) / 1024)
        statuses.add(response.status_code)
    times.sort()
    return {
        "file": filename,
        "bytes_sent": len(data),
        "status": sorted(statuses),
        "ms_median": round(statistics.median(times), 1),
        "ms_max": round(times[-1], 1),
        "peak_rss_growth_mib_max": round(max(growths), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "ASSETLENS_DATA_DIR": str(Path(tmp) / "data"),
            "ASSETLENS_CLIP_ENABLED": "false",
            "ASSETLENS_RUN_INDEXER_IN_PROCESS": "false",
            # The proof in the server's process, where the probe reads it: a proof
            # worker's memory is its own (docs/INGEST.md, "Where the proof runs").
            "ASSETLENS_PROOF_WORKERS": "0",
        }
        key = (
            subprocess.run(
                [sys.executable, "-m", "assetlens", "keys", "create", "--workspace", "bench"],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "assetlens", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        rows: dict[str, dict[str, object]] = {}
        try:
            base = f"http://127.0.0.1:{port}"
            with httpx.Client(
                base_url=base, timeout=120, headers={"Authorization": f"Bearer {key}"}
            ) as http:
                for _ in range(300):
                    try:
                        if http.get("/v1/health").status_code == 200:
                            break
                    except httpx.TransportError:
                        time.sleep(0.1)
                for name, (filename, make) in BOMBS.items():
                    rows[name] = measure(http, server.pid, filename, make(), args.repeat)
                rows["control: accepted 4000x4000 RGB PNG"] = measure(
                    http,
                    server.pid,
                    "big.png",
                    png_pixel_flood(4000, 4000, rgb=True),
                    max(1, args.repeat // 4),
                )
        finally:
            server.terminate()
            server.wait(timeout=30)
    report = {
        "date": datetime.date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "repeat": args.repeat,
        "results": rows,
    }
    print(json.dumps(report, indent=2, ensure_ascii=False))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
