"""A Python client generated from a served `/openapi.json` with openapi-python-client (the
standard generator; it runs offline), importable under a package name of the caller's."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path
from types import ModuleType

CONFIG = Path(__file__).resolve().parents[2] / "docs" / "openapi-client.yaml"


def generate(document: bytes, into: Path, package: str) -> ModuleType:
    """Generate a client package `package` under `into` from the OpenAPI `document` and
    import it. Fails on any generator warning: an operation or model it had to skip is a
    defect of the document."""
    into.mkdir(parents=True, exist_ok=True)
    spec = into / "openapi.json"
    spec.write_bytes(document)
    config = into / "config.yaml"
    # No post hooks: formatting the output (ruff) is for people, and costs CI time.
    config.write_text(CONFIG.read_text() + "post_hooks: []\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "openapi_python_client",
            "generate",
            "--path",
            str(spec),
            "--output-path",
            str(into / package),
            "--meta",
            "none",
            "--config",
            str(config),
            "--fail-on-warning",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"openapi-python-client failed:\n{result.stdout}\n{result.stderr}")
    sys.path.insert(0, str(into))
    try:
        return importlib.import_module(package)
    finally:
        sys.path.remove(str(into))
