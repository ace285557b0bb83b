"""`assetlens ingest` proves its files in the proof's worker processes: a file that crashes
the decoder (a stand-in that kills its worker with SIGSEGV on a marker) is reported as
refused like any bad file, and the run imports every other file, those of its group too."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from rich.progress import Progress

from assetlens.bootstrap import Container, build
from assetlens.cli_ingest import ingest_all
from assetlens.ingest import ingest_files
from assetlens.media.proofs import UNSAFE, ProofPool
from assetlens.services.duplicate_policy import PolicyName
from tests.conftest import make_settings
from tests.support.crashing_proof import crash_on_marker, marked_png


@pytest.fixture
def container(tmp_path: Path) -> Iterator[Container]:
    wired = build(make_settings(tmp_path / "data"), prover=ProofPool(2, crash_on_marker))
    wired.index.ensure()
    yield wired
    wired.close()


def _files(folder: Path, count: int) -> tuple[list[Path], Path]:
    """`count` good PNGs with one that crashes the decoder among them (third), in order."""
    folder.mkdir()
    paths = []
    for n in range(count):
        path = folder / f"{n:02}.png"
        Image.new("RGB", (40, 30), (n * 12, 80, 160)).save(path, format="PNG")
        paths.append(path)
    poison = folder / "crash.png"
    poison.write_bytes(marked_png())
    paths.insert(2, poison)
    return paths, poison


def test_an_ingest_refuses_the_crashing_file_and_imports_the_rest_of_its_group(
    tmp_path: Path, container: Container
) -> None:
    paths, poison = _files(tmp_path / "files", 9)  # groups of 2, 4, 4: poison in the second

    report = ingest_files(container.assets, "ws", paths)

    assert report.failed == [(poison, UNSAFE)]
    assert sorted(asset.name for asset in report.created) == sorted(
        path.name for path in paths if path != poison
    )
    assert container.queue.pending() == 9


def test_the_ingest_command_reports_the_crashing_file_and_goes_on(
    tmp_path: Path, container: Container
) -> None:
    paths, poison = _files(tmp_path / "files", 12)

    with Progress(disable=True) as progress:
        totals = ingest_all(
            container.assets,
            container.indexer,
            container.queue,
            "ws",
            paths,
            tags=[],
            policy=PolicyName.LINK,
            progress=progress,
        )

    assert totals.failed == [(poison, UNSAFE)]
    assert (totals.imported, totals.indexed) == (12, 12)
