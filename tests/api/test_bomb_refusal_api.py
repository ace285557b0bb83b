"""SECURITY.md row 1 over HTTP: decompression bombs are refused from their headers with a
4xx problem, nothing stored, and the refusal costs the server next to no memory: the test
process's peak resident set (VmHWM, reset through /proc/self/clear_refs before each upload)
grows by far less than decoding any of them would take. Both backends.

The time a refusal takes is measured, not asserted: benchmarks/bench_bomb_refusal.py,
figures in docs/BENCHMARKS.md ("Refusing decompression bombs"), where a control upload that
is decoded (4000×4000 RGB) shows the same probe seeing 61 MiB in a fresh server process.
That control is not a test here: in a long pytest process the allocator may hand a decode
memory that is already resident, so a lower bound would be flaky; an upper bound is not."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from assetlens.bootstrap import Container
from tests.api.conftest import live_with
from tests.conftest import Api
from tests.fakes import FakeEmbedder
from tests.support import media_samples as samples

Live = tuple[str, Container]
# Decoding the smallest image bomb here takes 243 MB (9000×9000 RGB); refusing any from its
# header took under 2 MiB of peak RSS here (a busy 2-core machine).
BOUND_MIB = 48


# bomb → (status, the words its refusal names)
REFUSALS: dict[str, tuple[int, str]] = {
    "png-100k-by-100k": (422, "too large"),
    "png-rgb-pixel-flood": (422, "9000×9000 pixels exceeds limit"),
    "gif-65535-square": (422, "too large"),
    "svg-billion-laughs": (422, "unsafe SVG"),
    "json-100k-deep": (422, "deep"),
}


def peak_rss_reset() -> bool:
    """Reset this process's peak RSS to its current RSS; False where Linux cannot."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def rss_kib(field: str) -> int:
    found = re.search(rf"^{field}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.M)
    assert found, field
    return int(found.group(1))


@pytest.fixture(scope="module", params=["embedded", "servers"])
def live_quiet(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Live]:
    """A server whose indexer is stopped: the upload is all that runs while measured. Its
    proof runs in this process, where the probe reads memory (with the proof's worker
    processes, a worker would pay for a decode: tests/unit/media/ prove the bombs there)."""
    with live_with(request, tmp_path_factory, FakeEmbedder(), proof_workers=0) as live:
        live[1].stop_indexer_thread()
        yield live


@pytest.mark.parametrize("bomb", list(samples.BOMBS))
def test_a_bomb_is_refused_from_its_header_with_little_memory(live_quiet: Live, bomb: str) -> None:
    base_url, container = live_quiet
    workspace = f"bomb-{uuid.uuid4().hex[:8]}"
    api = Api(base_url, container.keys.create(workspace))
    filename, make = samples.BOMBS[bomb]
    status, words = REFUSALS[bomb]
    data = make()
    if not peak_rss_reset():
        pytest.skip("no /proc/self/clear_refs: peak RSS cannot be reset on this system")
    before = rss_kib("VmRSS")
    response = api.upload(filename, data, wait=False)
    growth_mib = (rss_kib("VmHWM") - before) / 1024
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert words in response.json()["detail"]
    assert list(container.assets.manifests.iter_all(workspace)) == []
    assert growth_mib < BOUND_MIB, f"peak RSS grew {growth_mib:.1f} MiB refusing {bomb}"
