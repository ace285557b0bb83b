"""Production-mode processes for the fault scenarios: `assetlens serve` and `assetlens
indexer` as real subprocesses of this checkout, configured through ASSETLENS_* variables,
plus the bookkeeping every scenario shares (scaled counts, upload outcomes, waits).

ASSETLENS_FAULT_SCALE=full turns the CI sizes into the issue's (docs/RELIABILITY.md).
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from assetlens.config import Settings
from tests.support.server import free_port

REPO = Path(__file__).resolve().parents[2]
FULL = os.environ.get("ASSETLENS_FAULT_SCALE", "ci").strip().lower() == "full"
START_LIMIT = 120.0  # a cold Python start of the whole app on a busy 2-core machine
REFUSED = (503, 507)
WS = "faults"  # the workspace every scenario uploads into


def scaled(ci: int, full: int) -> int:
    """`full` under ASSETLENS_FAULT_SCALE=full, else the CI size."""
    return full if FULL else ci


def environment(settings: Settings) -> dict[str, str]:
    """The settings as the ASSETLENS_* variables a separate process reads, with this
    checkout first on the import path (not an editable install of another one)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSETLENS_")}
    for name, value in settings.model_dump(mode="json").items():
        if value is not None:
            env[f"ASSETLENS_{name.upper()}"] = str(value)
    env["ASSETLENS_S3_SECRET_KEY"] = settings.s3_secret_key.get_secret_value()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def wait_until(condition: Callable[[], bool], limit: float, what: str) -> float:
    """Poll `condition` until true; the seconds it took. Fails the test after `limit`."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > limit:
            pytest.fail(f"{what}: not within {limit:.0f} s")
        time.sleep(0.25)
    return time.monotonic() - started


def wait_for_drain(pending: Callable[[], int], stall: float, what: str) -> float:
    """Poll `pending` until it is 0; the seconds it took. Fails only when it has not fallen
    for `stall` seconds: a stuck queue, however long a large backlog takes to work off."""
    started = last_progress = time.monotonic()
    least = pending()
    while least > 0:
        time.sleep(1.0)
        now = pending()
        if now < least:
            least, last_progress = now, time.monotonic()
        elif time.monotonic() - last_progress > stall:
            pytest.fail(f"{what}: {least} left and none done in {stall:.0f} s")
    return time.monotonic() - started


@dataclass
class Process:
    """One `python -m assetlens ...` subprocess, its output in a log file."""

    argv: list[str]
    env: dict[str, str]
    log: Path
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> Process:
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "assetlens", *self.argv],
                cwd=REPO,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        return self

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def kill(self) -> None:
        """SIGKILL: no cleanup, no flush, as an OOM kill or a power cut."""
        if self.popen is not None and self.running:
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait(timeout=30)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not exited within 30 s."""
        if self.popen is None or not self.running:
            return
        self.popen.terminate()
        try:
            self.popen.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()


@dataclass
class Server(Process):
    """`assetlens serve` on a free loopback port."""

    port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        super().start()

        def up() -> bool:
            if not self.running:
                pytest.fail(f"assetlens serve exited:\n{self.output()[-3000:]}")
            with suppress(httpx.HTTPError):
                return httpx.get(self.url + "/v1/health", timeout=2).status_code == 200
            return False

        wait_until(up, START_LIMIT, "assetlens serve answering /v1/health")
        return self


class Stack:
    """The processes of one scenario; everything it started is stopped on close."""

    def __init__(self, settings: Settings, logs: Path) -> None:
        self.settings = settings
        self.env = environment(settings)
        self.logs = logs
        self.processes: list[Process] = []
        logs.mkdir(parents=True, exist_ok=True)

    def serve(self) -> Server:
        n, port = len(self.processes), free_port()
        server = Server(
            ["serve", "--port", str(port)], self.env, self.logs / f"{n}-serve.log", port=port
        )
        self.processes.append(server)
        return server.start()

    def indexer(self) -> Process:
        n = len(self.processes)
        process = Process(["indexer"], self.env, self.logs / f"{n}-indexer.log")
        self.processes.append(process)
        return process.start()

    def run(self, *argv: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """A one-shot command (`reconcile`, `gc` ...), its output captured."""
        return subprocess.run(
            [sys.executable, "-m", "assetlens", *argv],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def close(self) -> None:
        for process in self.processes:
            process.stop()


@contextmanager
def stack(settings: Settings, logs: Path) -> Iterator[Stack]:
    running = Stack(settings, logs)
    try:
        yield running
    finally:
        running.close()


@dataclass
class Outcomes:
    """What a batch of uploads got back: ids of the accepted, counts of the refused."""

    accepted: list[str] = field(default_factory=list)
    refused: int = 0
    unexpected: list[str] = field(default_factory=list)

    def record(self, response: httpx.Response | BaseException) -> None:
        """201 → accepted; 503/507 problem+json with Retry-After → cleanly refused; any
        other answer (a 500, a dropped connection, a hang) is unexpected."""
        if isinstance(response, BaseException):
            self.unexpected.append(f"{type(response).__name__}: {response}")
        elif response.status_code == 201:
            self.accepted.append(response.json()["id"])
        elif (
            response.status_code in REFUSED
            and response.headers.get("content-type") == "application/problem+json"
        ):
            self.refused += 1
        else:
            self.unexpected.append(f"{response.status_code}: {response.text[:300]}")


def upload(http: httpx.Client, n: int, data: bytes, prompt: str) -> httpx.Response:
    """One multipart upload, answered without waiting for the indexer."""
    return http.post(
        "/v1/assets",
        params={"wait": "false"},
        files={"file": (f"{n}.png", data, "image/png")},
        data={"prompt": prompt},
    )


def client(base_url: str, key: str, timeout: float = 120.0) -> httpx.Client:
    return httpx.Client(
        base_url=base_url, timeout=timeout, headers={"Authorization": f"Bearer {key}"}
    )


def figures(name: str, **values: object) -> None:
    """One line of measured figures (run with -s to see them; docs/RELIABILITY.md)."""
    print(f"\nFAULTS {name}: " + ", ".join(f"{k}={v}" for k, v in values.items()))


def noise_png(seed: int, side: int = 1100) -> bytes:
    """An incompressible PNG (3.6 MB at the default side): its upload takes many chunks."""
    pixels = np.random.default_rng(seed).integers(0, 256, (side, side, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "PNG", compress_level=0)
    return out.getvalue()
