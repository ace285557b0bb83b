"""Fixtures for the media tests: sample files written to a temporary folder."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image

from assetlens.media import Inspection, inspect_upload
from assetlens.media.proofs import ProofPool

#: Assetlens' default pixel limit (Settings.max_image_pixels).
MAX_PIXELS = 64_000_000

WriteFile = Callable[[str, bytes], Path]


def rgb_at(im: Image.Image, xy: tuple[int, int]) -> tuple[int, int, int]:
    """The (r, g, b) of one pixel of `im`, whatever its mode."""
    pixel = im.convert("RGB").getpixel(xy)
    assert isinstance(pixel, tuple)
    return int(pixel[0]), int(pixel[1]), int(pixel[2])


Inspect = Callable[[str, bytes], Inspection]


@pytest.fixture
def write_file(tmp_path: Path) -> WriteFile:
    """Write bytes under a file name in the test's temporary folder; returns the path."""

    def write(name: str, data: bytes) -> Path:
        path = tmp_path / name
        path.write_bytes(data)
        return path

    return write


@pytest.fixture(scope="session")
def proof_pool() -> Iterator[ProofPool]:
    """The upload proof's worker processes, as a server and `assetlens ingest` run it."""
    pool = ProofPool(2)
    yield pool
    pool.close()


@pytest.fixture(params=["in-process", "workers"])
def inspect(request: pytest.FixtureRequest, write_file: WriteFile) -> Inspect:
    """inspect_upload on bytes given under a file name, with the default pixel limit: in
    this process, and in the proof's worker processes (the same verdicts must come back,
    refusals included)."""
    prove = (
        inspect_upload
        if request.param == "in-process"
        else request.getfixturevalue("proof_pool").prove
    )

    def run(name: str, data: bytes) -> Inspection:
        return prove(write_file(name, data), name, max_image_pixels=MAX_PIXELS)

    return run
