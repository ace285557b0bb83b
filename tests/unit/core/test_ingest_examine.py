"""`assetlens ingest` with worker processes hashes and proves its files there
(`pooled_examiner`): the same verdicts as the in-process proof, in order, and a file that
kills a worker is refused on its own."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from assetlens import media
from assetlens.bootstrap import build
from assetlens.errors import AssetlensError
from assetlens.ingest import hash_in_place, ingest_files, pooled_examiner
from assetlens.media.examine import Examined, examine_files
from assetlens.media.pool import AnalysisCrashed, AnalysisPool
from assetlens.spool import Spooled
from tests.conftest import make_settings

PIXELS = 64_000_000


def examine_or_crash(paths: list[Path], max_image_pixels: int) -> list[Examined | Exception]:
    """`examine_files` whose worker dies (as in a native decoder crash) on a file named
    poison."""
    if any(path.name.startswith("poison") for path in paths):
        os._exit(3)
    return examine_files(paths, max_image_pixels)


def _files(tmp_path: Path) -> list[Path]:
    paths = []
    for n in range(4):
        path = tmp_path / f"{n}.png"
        Image.new("RGB", (64, 48), (60 * n, 20, 200)).save(path, format="PNG")
        paths.append(path)
    jpeg = tmp_path / "photo.jpg"
    Image.new("RGB", (80, 60), (10, 200, 30)).save(jpeg, format="JPEG")
    damaged = tmp_path / "damaged.png"
    damaged.write_bytes(paths[0].read_bytes()[:-30])  # IEND and the stream's end cut off
    return [*paths[:2], damaged, jpeg, *paths[2:]]


@pytest.fixture
def pool() -> Iterator[AnalysisPool]:
    workers = AnalysisPool(2)
    yield workers
    workers.close()


def test_files_proven_in_the_workers_get_the_in_process_verdicts_in_order(
    tmp_path: Path, pool: AnalysisPool
) -> None:
    paths = _files(tmp_path)

    examined = pooled_examiner(pool, PIXELS)(paths)

    assert len(examined) == len(paths)
    for path, verdict in zip(paths, examined, strict=True):
        if path.name == "damaged.png":
            assert isinstance(verdict, AssetlensError)
            with pytest.raises(type(verdict)) as refusal:
                media.inspect_upload(path, path.name, max_image_pixels=PIXELS)
            assert verdict.detail == refusal.value.detail
            continue
        expected = media.inspect_upload(path, path.name, max_image_pixels=PIXELS)
        assert isinstance(verdict, Spooled)
        hashed = hash_in_place(path)
        assert (verdict.path, verdict.size, verdict.sha256) == (path, hashed.size, hashed.sha256)
        assert verdict.inspected == expected
    assert sum(isinstance(verdict, Exception) for verdict in examined) == 1


def test_a_file_that_kills_a_worker_is_refused_and_the_others_of_its_chunk_are_not(
    tmp_path: Path, pool: AnalysisPool
) -> None:
    made = _files(tmp_path)
    paths = [*made[:2], tmp_path / "poison.png", made[3]]
    paths[2].write_bytes(made[0].read_bytes())

    examined = pooled_examiner(pool, PIXELS, examine_or_crash)(paths)

    assert isinstance(examined[2], AnalysisCrashed)
    assert [isinstance(verdict, Spooled) for verdict in examined] == [True, True, False, True]


def test_an_ingest_proven_in_the_workers_refuses_what_the_proof_refuses(
    tmp_path: Path, pool: AnalysisPool
) -> None:
    container = build(make_settings(tmp_path / "data"))
    try:
        (tmp_path / "files").mkdir()
        paths = _files(tmp_path / "files")
        report = ingest_files(container.assets, "ws", paths, examine=pooled_examiner(pool, PIXELS))
    finally:
        container.close()
    damaged = next(path for path in paths if path.name == "damaged.png")
    with pytest.raises(AssetlensError) as refusal:
        media.inspect_upload(damaged, damaged.name, max_image_pixels=PIXELS)
    assert report.failed == [(damaged, refusal.value.detail)]
    assert sorted(asset.name for asset in report.created) == sorted(
        path.name for path in paths if path != damaged
    )
    assert {asset.mime for asset in report.created} == {"image/png", "image/jpeg"}
