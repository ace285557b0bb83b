"""The short CI version of the load run (benchmarks/load; the long one is documented in
docs/RELIABILITY.md): concurrent clients mixing uploads, searches, thumbnails and patches
against `assetlens serve` in both modes, with 0 errors and every acknowledged upload kept."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from assetlens.bootstrap import build
from assetlens.config import Settings
from benchmarks.load.loadgen import run
from tests.conftest import make_settings
from tests.faults.conftest import Production
from tests.faults.harness import figures, scaled, stack

pytestmark = [pytest.mark.load]
# CI: 12 clients for 20 s; ASSETLENS_FAULT_SCALE=full: 50 for 10 minutes; either can be
# set outright (ASSETLENS_LOAD_USERS, ASSETLENS_LOAD_SECONDS).
USERS = int(os.environ.get("ASSETLENS_LOAD_USERS") or scaled(12, 50))
SECONDS = float(os.environ.get("ASSETLENS_LOAD_SECONDS") or scaled(20, 600))


def run_load(settings: Settings, logs: Path, *, indexer: bool) -> None:
    setup = build(settings, use_embedder=False)
    key = setup.keys.create("load")
    setup.close()
    with stack(settings, logs) as procs:
        server = procs.serve()
        if indexer:
            procs.indexer()
        report = asyncio.run(run(server.url, key, users=USERS, seconds=SECONDS))
    print("\n" + report.table())
    assert report.errors == 0, report.error_samples()
    assert report.lost == []
    assert report.acknowledged  # uploads really happened
    assert all(row["requests"] for row in report.rows())  # and every kind of request


def test_load_embedded(tmp_path: Path) -> None:
    run_load(make_settings(tmp_path / "data"), tmp_path / "logs", indexer=False)
    figures("load-embedded", users=USERS, seconds=SECONDS)


@pytest.mark.integration
def test_load_production(production: Production, tmp_path: Path) -> None:
    run_load(production.unproxied, tmp_path / "logs", indexer=True)
    figures("load-production", users=USERS, seconds=SECONDS)
