"""Fixtures shared by the embedder tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def onnx_exports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One ONNX export folder for the whole run: a model is exported once, not per test."""
    return tmp_path_factory.mktemp("onnx-exports")
