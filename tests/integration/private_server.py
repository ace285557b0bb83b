"""A server of a test's own (Elasticsearch or MinIO), driven through its scripts/*.sh on
free ports in its own services dir, so it can be stopped, killed or hung while the shared
servers keep running. Restarts keep the data: a real restart."""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import pytest

from tests.integration.conftest import run_script, unavailable
from tests.support.processes import alive


@dataclass
class PrivateServer:
    services: Path
    env: dict[str, str] = field(init=False)

    name: ClassVar[str]
    script: ClassVar[list[str]]
    pid_file: ClassVar[str]  # relative to the services dir
    start_timeout: ClassVar[float] = 120.0

    def __post_init__(self) -> None:
        self.env = {"ASSETLENS_SERVICES_DIR": str(self.services), **self.settings()}

    def settings(self) -> dict[str, str]:
        """The script's environment: ports, keep-data, memory."""
        raise NotImplementedError

    def start(self) -> None:
        failure = run_script([*self.script, "start"], self.env, timeout=self.start_timeout)
        if failure is not None:
            unavailable(f"could not start a private {self.name}: {failure}")

    def stop(self) -> None:
        self.resume()
        run_script([*self.script, "stop"], self.env, timeout=90)

    def pid(self) -> int:
        return int((self.services / self.pid_file).read_text().strip())

    def kill(self) -> None:
        """SIGKILL, as a crash or an OOM kill would, and wait (bounded) until it is gone."""
        pid = self.pid()
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 15
        while alive(pid):
            if time.monotonic() > deadline:
                pytest.fail(f"{self.name} pid {pid} still alive 15 s after SIGKILL")
            time.sleep(0.05)

    def pause(self) -> None:
        """SIGSTOP: the port still accepts connections but nothing answers."""
        os.kill(self.pid(), signal.SIGSTOP)

    def resume(self) -> None:
        if (self.services / self.pid_file).exists() and alive(self.pid()):
            os.kill(self.pid(), signal.SIGCONT)
