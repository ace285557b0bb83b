"""Reading the embedded index's mapped files ahead: which files, and that a hint never fails
a caller (indexer/embedded/readahead.py)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from indexer.embedded import EmbeddedSearchIndex
from indexer.embedded.ann import AnnSettings
from indexer.embedded.readahead import advise_will_need, read_ahead
from tests.contract.search_index_contract import DIM, make_asset, make_doc

pytestmark = pytest.mark.skipif(not hasattr(__import__("os"), "posix_fadvise"),
                                reason="posix_fadvise is Linux/Unix only")  # fmt: skip


def _vectors(n: int) -> list[list[float]]:
    rng = np.random.default_rng(3)
    matrix = rng.normal(size=(n, DIM))
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    return [[float(x) for x in row] for row in matrix]


@pytest.fixture
def index(tmp_path: Path) -> EmbeddedSearchIndex:
    ann = AnnSettings(threshold=0, fold_after=2, exact_below=0, vector_file_min=1)
    made = EmbeddedSearchIndex(tmp_path / "index", ann=ann)
    made.ensure()
    return made


def test_the_mapped_files_are_the_current_graph_and_vector_file(
    index: EmbeddedSearchIndex,
) -> None:
    assert index.mapped_files() == []
    index.read_ahead()  # nothing to read: returns, and the thread finds nothing to do
    docs = [make_doc(make_asset(f"v{i}"), v) for i, v in enumerate(_vectors(40))]
    index.upsert(docs)
    index.settle()
    files = index.mapped_files()
    try:
        assert sorted(p.suffix for p in files) == [".npy", ".usearch"]
        assert all(p.is_file() and p.stat().st_size > 0 for p in files)
        # Older generations are gone once newer ones are named: only the current ones.
        index.upsert([make_doc(make_asset(f"w{i}"), v) for i, v in enumerate(_vectors(40))])
        index.settle()
        newer = index.mapped_files()
        assert len(newer) == 2
        assert all(p.is_file() for p in newer)
        assert set(newer) != set(files)
        assert all(advise_will_need(p) for p in newer)
    finally:
        index.close()


def test_a_missing_file_is_skipped_and_a_failing_listing_only_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    present = tmp_path / "present.bin"
    present.write_bytes(b"x" * 10_000_000)  # more than one advice chunk
    assert advise_will_need(present)
    assert not advise_will_need(tmp_path / "missing.bin")

    def broken() -> list[Path]:
        raise OSError("the index directory is gone")

    with caplog.at_level(logging.INFO, logger="indexer.embedded.readahead"):
        read_ahead(broken).join()
        read_ahead(lambda: [tmp_path / "missing.bin", present]).join()
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO] == [
        "embedded index: nothing read ahead: the index directory is gone"
    ]
