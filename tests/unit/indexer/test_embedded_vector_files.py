"""The embedded index's kNN filters, vector files and background catch-up (issue 12)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from assetlens.domain import AssetStatus, AssetType
from assetlens.filters import Filters
from indexer.embedded import EmbeddedSearchIndex
from indexer.embedded.ann import AnnSettings, ann_key
from indexer.embedded.database import POINTER
from indexer.embedded.keyword import keyword_dir
from indexer.embedded.translate import filter_where
from indexer.embedded.upkeep import Upkeep
from indexer.embedded.vector_files import VectorFiles
from tests.contract.search_index_contract import MODEL, WS
from tests.unit.indexer.test_embedded_ann import asset_id, doc, exact, knn, vectors

N = 2000
TAGS = ("red", "green", "blue")
# Graph past 500 vectors, folded inside the query; filtered kNN over 50+ rows uses it too;
# vector files for every set, rewritten after 10 changed rows.
GRAPH = AnnSettings(threshold=500, fold_after=10, exact_below=50, background=False,
                    vector_file_min=0)  # fmt: skip


def _doc_kwargs(i: int) -> dict[str, object]:
    """Attributes that vary independently, so that each filter selects its own subset."""
    return {
        "type": (AssetType.IMAGE, AssetType.IMAGE, AssetType.LOGO)[(i // 9) % 3],
        "tags": [TAGS[i % 3], TAGS[(i // 3) % 3]],
        "folder_id": f"f{i % 4}",
        "loras": [f"lora{i % 5}"],
        "models": [f"m{(i // 7) % 2}"],
        "status": AssetStatus.PROCESSING if i % 11 == 0 else AssetStatus.READY,
    }


@pytest.fixture(scope="module")
def corpus() -> npt.NDArray[np.float32]:
    return vectors(N, seed=21)


def _fill(index: EmbeddedSearchIndex, corpus: npt.NDArray[np.float32]) -> None:
    for start in range(0, N, 500):
        index.upsert([doc(i, corpus[i], **_doc_kwargs(i)) for i in range(start, start + 500)])


@pytest.fixture
def filled(tmp_path: Path, corpus: npt.NDArray[np.float32]) -> Iterator[EmbeddedSearchIndex]:
    index = EmbeddedSearchIndex(tmp_path / "index", ann=GRAPH)
    _fill(index, corpus)
    index.catch_up()  # vector file and graph
    yield index
    index.close()


def _sql_ids(index: EmbeddedSearchIndex, filters: Filters) -> set[str]:
    """The ids the filters select, asked of SQLite the way keyword search filters."""
    db = index.directory / (index.directory / POINTER).read_text().strip()
    where = filter_where(WS, filters)
    with sqlite3.connect(db) as conn:
        sql = f"SELECT a.id FROM assets a WHERE {where.sql()}"
        return {r[0] for r in conn.execute(sql, where.params)}


FILTERS = [
    Filters(type=[AssetType.IMAGE], tags=["red"]),
    Filters(tags=["green", "blue"], loras=["lora1"]),
    Filters(model=["m1"], folder_id=["f2"]),
    Filters(folder_id=["f1", "f3"], type=[AssetType.LOGO]),
    Filters(status=[AssetStatus.PROCESSING]),
    Filters(exclude_folder_id=["f0"], tags=["blue"]),
    Filters(ids=[asset_id(i) for i in range(0, 600, 3)], tags=["red"]),
]


@pytest.mark.parametrize("filters", FILTERS, ids=lambda f: str(f.model_dump(exclude_defaults=True)))
def test_filtered_knn_returns_what_the_filters_select(
    filled: EmbeddedSearchIndex, corpus: npt.NDArray[np.float32], filters: Filters
) -> None:
    """Every filter answered in memory, from a side table or from SQL selects the same
    assets as the SQL filter keyword search uses; past exact_below the graph answers with
    recall@10 of 0.9 or more against exact search over those assets."""
    passing = sorted(_sql_ids(filled, filters))
    assert passing  # the case filters something
    rows = np.array([int(i, 16) for i in passing])
    recalls = []
    for q in vectors(20, seed=22):
        hits = knn(filled, q, k=10, filters=filters)
        assert {h for h, _ in hits} <= set(passing)
        truth = [passing[int(j)] for j in np.argsort(-(corpus[rows] @ q), kind="stable")[:10]]
        recalls.append(len({h for h, _ in hits} & set(truth)) / len(truth))
        if len(passing) <= GRAPH.exact_below:
            assert [h for h, _ in hits] == truth
    assert np.mean(recalls) >= 0.9


def test_everything_filtered_out_is_empty(
    filled: EmbeddedSearchIndex, corpus: npt.NDArray[np.float32]
) -> None:
    assert knn(filled, corpus[0], filters=Filters(tags=["no-such-tag"])) == []
    assert knn(filled, corpus[0], filters=Filters(folder_id=["nowhere"], tags=["red"])) == []


def test_a_new_process_reads_the_vector_file_not_sqlite(
    filled: EmbeddedSearchIndex, corpus: npt.NDArray[np.float32]
) -> None:
    """With the vectors gone from SQLite (seq unchanged), a new index still finds them: its
    rows came from the vector file."""
    db = filled.directory / (filled.directory / POINTER).read_text().strip()
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE asset_blobs SET vector = NULL")
    fresh = EmbeddedSearchIndex(filled.directory, ann=GRAPH)
    try:
        q = corpus[5]
        assert knn(fresh, q)[0][0] == asset_id(5)
        assert len({h for h, _ in knn(fresh, q)} & set(exact(corpus, q))) >= 9
    finally:
        fresh.close()


def _caught_up(
    path: Path, corpus: npt.NDArray[np.float32], settings: AnnSettings
) -> tuple[EmbeddedSearchIndex, VectorFiles, int]:
    """A filled index with its vector file written, the files and the file's seq."""
    index = EmbeddedSearchIndex(path, ann=settings)
    _fill(index, corpus)
    index.catch_up()
    db = (path / POINTER).read_text().strip()
    files = VectorFiles(path / "ann" / db)
    saved = files.seq(WS, MODEL)
    assert saved > 0
    return index, files, saved


def test_writes_after_the_vector_file_are_applied_on_load(
    tmp_path: Path, corpus: npt.NDArray[np.float32]
) -> None:
    """A file that lags the journal is caught up from SQLite: a later update, removal and
    addition are all seen by a new process."""
    settings = AnnSettings(threshold=500, fold_after=10_000, exact_below=50, background=False,
                           vector_file_min=0)  # fmt: skip
    index, files, saved = _caught_up(tmp_path / "index", corpus, settings)
    moved = -corpus[7]
    index.upsert([doc(7, moved, revision=2, **_doc_kwargs(7))])
    index.remove(WS, [asset_id(8)])
    index.upsert([doc(N + 1, corpus[8])])
    index.catch_up()  # 3 changes: under vector_file_after, so the file stays as it was
    assert files.seq(WS, MODEL) == saved
    index.close()
    fresh = EmbeddedSearchIndex(tmp_path / "index", ann=settings)
    try:
        best_id, best_score = knn(fresh, moved)[0]
        assert best_id == asset_id(7)
        assert best_score == pytest.approx(1.0, abs=1e-5)
        near = [h for h, _ in knn(fresh, corpus[8])]
        assert asset_id(8) not in near
        assert near[0] == asset_id(N + 1)
    finally:
        fresh.close()


def test_a_damaged_vector_file_is_read_from_sqlite(
    filled: EmbeddedSearchIndex, corpus: npt.NDArray[np.float32]
) -> None:
    ann_dir = filled.directory / "ann" / (filled.directory / POINTER).read_text().strip()
    (matrix,) = ann_dir.glob(f"{ann_key(WS, MODEL)}.vectors-*.npy")
    matrix.write_bytes(matrix.read_bytes()[:1000])
    fresh = EmbeddedSearchIndex(filled.directory, ann=GRAPH)
    try:
        assert knn(fresh, corpus[3])[0][0] == asset_id(3)
    finally:
        fresh.close()


def test_rebuild_writes_the_new_databases_vector_file(
    filled: EmbeddedSearchIndex, corpus: npt.NDArray[np.float32]
) -> None:
    docs = [doc(i, corpus[i], **_doc_kwargs(i)) for i in range(N)]
    filled.rebuild(docs)
    db = (filled.directory / POINTER).read_text().strip()
    assert VectorFiles(filled.directory / "ann" / db).seq(WS, MODEL) > 0
    assert knn(filled, corpus[11])[0][0] == asset_id(11)


def test_the_upkeep_thread_catches_everything_up_after_writes(
    tmp_path: Path, corpus: npt.NDArray[np.float32]
) -> None:
    """With background work on, a bulk fill is followed by the keyword index, the vector
    file and the graph being brought up to the journal without any query."""
    settings = AnnSettings(threshold=500, fold_after=10, exact_below=50, vector_file_min=0)
    index = EmbeddedSearchIndex(tmp_path / "index", ann=settings)
    try:
        _fill(index, corpus)
        # Asked before the upkeep is done (or while it runs): still the right answer.
        assert knn(index, corpus[N - 1])[0][0] == asset_id(N - 1)
        index.settle()
        db = (tmp_path / "index" / POINTER).read_text().strip()
        conn = sqlite3.connect(tmp_path / "index" / db)
        (journal,) = conn.execute("SELECT value FROM meta WHERE key = 'seq'").fetchone()
        conn.close()
        applied = (keyword_dir(tmp_path / "index", db) / "applied").read_text().split()
        assert int(applied[1]) == journal
        ann_dir = tmp_path / "index" / "ann" / db
        assert VectorFiles(ann_dir).seq(WS, MODEL) == journal
        assert (ann_dir / f"{ann_key(WS, MODEL)}.json").is_file()
        assert knn(index, corpus[9])[0][0] == asset_id(9)
    finally:
        index.close()


def test_upkeep_runs_once_for_a_burst_of_writes_and_stops_on_close() -> None:
    runs: list[int] = []
    ran = threading.Event()

    def work(streaming: bool) -> None:
        assert not streaming  # the burst ended long before max_delay_s
        runs.append(1)
        ran.set()

    upkeep = Upkeep(work, quiet_s=0.05, max_delay_s=5.0)
    for _ in range(20):
        upkeep.poke()
    assert upkeep.settle(timeout_s=10)
    assert ran.is_set()
    assert len(runs) == 1
    upkeep.close()
    upkeep.poke()  # closed: no thread, no run
    assert upkeep.settle(timeout_s=1)
    assert len(runs) == 1


def test_upkeep_during_a_steady_stream_of_writes_says_so() -> None:
    """Writes that never pause for quiet_s still get a run every max_delay_s, marked as
    streaming; once they stop, one more run comes, not streaming, with no further write."""
    seen: list[bool] = []

    upkeep = Upkeep(seen.append, quiet_s=0.05, max_delay_s=0.2)
    stream_until = threading.Event()

    def stream() -> None:
        while not stream_until.is_set():
            upkeep.poke()
            stream_until.wait(0.005)

    writer = threading.Thread(target=stream)
    writer.start()
    try:
        for _ in range(1000):  # until one streaming run happened (bounded, not timed)
            if True in seen:
                break
            threading.Event().wait(0.01)
    finally:
        stream_until.set()
        writer.join()
    assert upkeep.settle(timeout_s=10)
    upkeep.close()
    assert True in seen
    assert seen[-1] is False


def test_a_streaming_catch_up_leaves_the_vector_file_and_graph_until_a_quarter_changed(
    tmp_path: Path, corpus: npt.NDArray[np.float32]
) -> None:
    """While a bulk import streams in, whole-file rewrites wait for a quarter of the set to
    change (writes O(N) rows in all, not O(N²)); the catch-up once writes pause does them."""
    settings = AnnSettings(threshold=500, fold_after=10, exact_below=50, background=False,
                           vector_file_min=0)  # fmt: skip
    index, files, saved = _caught_up(tmp_path / "index", corpus, settings)
    ann_dir = tmp_path / "index" / "ann" / (tmp_path / "index" / POINTER).read_text().strip()
    key = ann_key(WS, MODEL)
    graph_meta = (ann_dir / f"{key}.json").read_text()
    extra = vectors(100, seed=5)  # 100 changes: past fold_after, under a quarter of 2,000
    index.upsert([doc(N + i, extra[i]) for i in range(100)])
    index.catch_up(streaming=True)
    assert files.seq(WS, MODEL) == saved
    assert (ann_dir / f"{key}.json").read_text() == graph_meta
    index.catch_up()  # writes paused
    assert files.seq(WS, MODEL) > saved
    assert (ann_dir / f"{key}.json").read_text() != graph_meta
    index.close()


def test_the_catch_up_once_a_stream_pauses_writes_the_vector_file_whatever_its_lag(
    tmp_path: Path, corpus: npt.NDArray[np.float32]
) -> None:
    """A bulk import must not end with rows only in SQLite: every new process would copy the
    mapped matrix to append them. Outside a stream the same small lag waits (as before)."""
    settings = AnnSettings(threshold=500, fold_after=10_000, exact_below=50, background=False,
                           vector_file_min=0)  # fmt: skip
    index, files, saved = _caught_up(tmp_path / "index", corpus, settings)
    extra = vectors(20, seed=6)  # under vector_file_after (1,000 rows)
    index.upsert([doc(N + i, extra[i]) for i in range(10)])
    index.catch_up()  # not after a stream: the lag waits
    assert files.seq(WS, MODEL) == saved
    index.upsert([doc(N + 10 + i, extra[10 + i]) for i in range(10)])
    index.catch_up(streaming=True)
    assert files.seq(WS, MODEL) == saved
    index.catch_up()  # writes paused after the stream
    after = files.seq(WS, MODEL)
    assert after > saved
    index.upsert([doc(N + 30, extra[0])])
    index.catch_up()  # the stream was settled: back to the usual threshold
    assert files.seq(WS, MODEL) == after
    index.close()


def test_a_failing_upkeep_run_is_logged_and_the_next_write_retries() -> None:
    calls: list[int] = []

    def work(streaming: bool) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("disk full")

    upkeep = Upkeep(work, quiet_s=0.01)
    upkeep.poke()
    assert upkeep.settle(timeout_s=10)
    upkeep.poke()
    assert upkeep.settle(timeout_s=10)
    upkeep.close()
    assert len(calls) == 2


def test_a_set_read_whole_from_sqlite_gets_its_vector_file(
    tmp_path: Path, corpus: npt.NDArray[np.float32]
) -> None:
    """A library from before vector files (or one whose file was lost): the first kNN reads
    SQLite, then the upkeep writes the file for the next process, without any write."""
    writer = EmbeddedSearchIndex(tmp_path / "index", ann=GRAPH)  # background off: no upkeep
    _fill(writer, corpus)
    writer.close()
    db = (tmp_path / "index" / POINTER).read_text().strip()
    files = VectorFiles(tmp_path / "index" / "ann" / db)
    assert files.seq(WS, MODEL) == -1
    reader = EmbeddedSearchIndex(tmp_path / "index", ann=AnnSettings(vector_file_min=100))
    try:
        assert knn(reader, corpus[4])[0][0] == asset_id(4)
        reader.settle()
        assert files.seq(WS, MODEL) > 0
    finally:
        reader.close()


def test_a_graph_from_before_label_rowids_gets_them(
    filled: EmbeddedSearchIndex, corpus: npt.NDArray[np.float32]
) -> None:
    """A generation written without .rowids.npy is searched through its ids once, and the
    rowids it works out are kept beside it for the next process."""
    ann_dir = filled.directory / "ann" / (filled.directory / POINTER).read_text().strip()
    (rowids,) = ann_dir.glob(f"{ann_key(WS, MODEL)}-*.rowids.npy")
    rowids.unlink()
    fresh = EmbeddedSearchIndex(filled.directory, ann=GRAPH)
    try:
        q = corpus[13]
        assert knn(fresh, q)[0][0] == asset_id(13)
        assert len({h for h, _ in knn(fresh, q)} & set(exact(corpus, q))) >= 9
    finally:
        fresh.close()
    assert rowids.is_file()


def test_a_graph_whose_ids_are_lost_is_searched_then_built_again(
    filled: EmbeddedSearchIndex, corpus: npt.NDArray[np.float32]
) -> None:
    """Searching needs only the label rowids; the fold that needs the ids builds afresh."""
    ann_dir = filled.directory / "ann" / (filled.directory / POINTER).read_text().strip()
    (ids,) = ann_dir.glob(f"{ann_key(WS, MODEL)}-*.ids.npz")
    ids.unlink()
    fresh = EmbeddedSearchIndex(filled.directory, ann=GRAPH)
    try:
        assert knn(fresh, corpus[17])[0][0] == asset_id(17)
        more = vectors(20, seed=23)
        fresh.upsert([doc(N + 10 + i, v) for i, v in enumerate(more)])  # past fold_after
        assert knn(fresh, more[3])[0][0] == asset_id(N + 13)  # folds: a full build
    finally:
        fresh.close()
    assert list(ann_dir.glob(f"{ann_key(WS, MODEL)}-*.ids.npz"))
