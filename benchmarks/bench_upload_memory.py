"""Peak memory of the API process while a 500 MB video is uploaded over HTTP.

A real `assetlens serve` process receives the file streamed from disk; its peak resident
set (VmHWM from /proc) is read before and after. The video is a valid MP4 padded with a
`free` box, so it passes validation like any large upload.

    python -m benchmarks.bench_upload_memory --mb 500 --json docs/results/upload_memory.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.support.media_samples import mp4_bytes
from tests.support.server import free_port


def padded_mp4(path: Path, megabytes: int) -> None:
    head = mp4_bytes(with_audio=False, seconds=1.0)
    pad = megabytes * 1024 * 1024 - len(head)
    with path.open("wb") as out:
        out.write(head)
        out.write((pad).to_bytes(4, "big") + b"free")
        chunk = b"\x00" * (1 << 20)
        remaining = pad - 8
        while remaining > 0:
            out.write(chunk[: min(len(chunk), remaining)])
            remaining -= len(chunk)


def vm_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def stream(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            yield chunk


def create_key(env: dict[str, str]) -> str:
    """A new API key for the workspace `bench` of the library `env` names."""
    return (
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=int, default=500)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        video = work / "big.mp4"
        padded_mp4(video, args.mb)
        env = {
            **os.environ,
            "ASSETLENS_DATA_DIR": str(work / "data"),
            "ASSETLENS_CLIP_ENABLED": "false",
            "ASSETLENS_MAX_VIDEO_BYTES": str((args.mb + 10) * 1024 * 1024),
        }
        key = create_key(env)
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "assetlens", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(300):
                try:
                    if httpx.get(base + "/v1/health").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            before = vm_kib(server.pid, "VmHWM")
            boundary = "benchboundary"
            head = (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                f'filename="big.mp4"\r\nContent-Type: video/mp4\r\n\r\n'
            ).encode()
            tail = f"\r\n--{boundary}--\r\n".encode()

            def body() -> Iterator[bytes]:
                yield head
                yield from stream(video)
                yield tail

            started = time.perf_counter()
            response = httpx.post(
                base + "/v1/assets",
                content=body(),
                timeout=600,
                headers={
                    "Authorization": f"Bearer {key}",
                    "Content-Type": f"multipart/form-data; boundary={boundary}",
                },
            )
            elapsed = time.perf_counter() - started
            after = vm_kib(server.pid, "VmHWM")
        finally:
            server.terminate()
            server.wait(timeout=30)
    report = {
        "file_mb": args.mb,
        "status": response.status_code,
        "seconds": round(elapsed, 2),
        "mb_per_s": round(args.mb / elapsed, 1),
        "server_peak_rss_before_mib": round(before / 1024, 1),
        "server_peak_rss_after_mib": round(after / 1024, 1),
        "machine": platform.processor() or platform.machine(),
    }
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
