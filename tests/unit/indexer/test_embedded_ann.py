"""The embedded index's HNSW path (indexer/embedded/ann.py): recall, deletions, the delta,
folds, other processes, rebuild, and damaged graph files."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from assetlens.bootstrap import build_index
from assetlens.config import Settings
from assetlens.domain import AssetStatus
from assetlens.filters import Filters
from assetlens.query import IndexDoc, VectorQuery
from indexer.embedded import EmbeddedSearchIndex
from indexer.embedded.ann import AnnFiles, AnnSettings, ann_key
from indexer.embedded.database import POINTER
from indexer.embedded.knn_filter import candidate_mask
from indexer.embedded.vectors import ModelVectors
from tests.contract.search_index_contract import MODEL, WS, make_asset, make_doc

ROOT = Path(__file__).resolve().parents[3]
N = 3000
DIM = 32
K = 10
# Graph for every set of 1000+ vectors; folds inside the query; a delta of up to 50 rows.
SYNC = AnnSettings(threshold=1000, fold_after=50, exact_below=0, background=False)

_CHILD = """
import json, sys
from pathlib import Path
from assetlens.query import IndexDoc, VectorQuery
from indexer.embedded import EmbeddedSearchIndex
from indexer.embedded.ann import AnnSettings
ann = AnnSettings(threshold=1000, fold_after=0, exact_below=0, background=False)
index = EmbeddedSearchIndex(Path(sys.argv[1]), ann=ann)
op = json.loads(sys.argv[2])
index.upsert([IndexDoc.model_validate(d) for d in op["docs"]])
index.remove(op["workspace"], op["remove"])
if op["fold"]:
    index.knn(VectorQuery(workspace=op["workspace"], vector=op["vector"], model=op["model"]))
index.close()
"""


def vectors(n: int, seed: int) -> npt.NDArray[np.float32]:
    """Unit vectors around 50 centres: clustered like embeddings, so HNSW has work to do."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((50, DIM))
    points = centres[rng.integers(0, 50, n)] + 0.6 * rng.standard_normal((n, DIM))
    unit: npt.NDArray[np.float32] = (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(
        np.float32
    )
    return unit


def asset_id(i: int) -> str:
    return f"{i:032x}"


def doc(i: int, vector: npt.NDArray[np.float32], **kwargs: object) -> IndexDoc:
    asset = make_asset(f"v{i}", **kwargs).model_copy(update={"id": asset_id(i)})  # type: ignore[arg-type]
    return make_doc(asset, vector.tolist())


def knn(index: EmbeddedSearchIndex, vector: npt.NDArray[np.float32], k: int = K,
        filters: Filters | None = None) -> list[tuple[str, float]]:  # fmt: skip
    query = VectorQuery(workspace=WS, vector=vector.tolist(), model=MODEL, k=k,
                        filters=filters or Filters())  # fmt: skip
    return [(h.asset.id, float(h.score or 0.0)) for h in index.knn(query)]


def exact(matrix: npt.NDArray[np.float32], vector: npt.NDArray[np.float32],
          k: int = K) -> list[str]:  # fmt: skip
    scores = matrix @ vector
    return [asset_id(int(i)) for i in np.argsort(-scores, kind="stable")[:k]]


def ann_meta(root: Path) -> dict[str, object]:
    db = (root / POINTER).read_text().strip()
    meta: dict[str, object] = json.loads(
        (root / "ann" / db / f"{ann_key(WS, MODEL)}.json").read_text()
    )
    return meta


@pytest.fixture(scope="module")
def corpus() -> npt.NDArray[np.float32]:
    return vectors(N, seed=7)


@pytest.fixture
def filled(tmp_path: Path, corpus: npt.NDArray[np.float32]) -> Iterator[EmbeddedSearchIndex]:
    index = EmbeddedSearchIndex(tmp_path / "index", ann=SYNC)
    for start in range(0, N, 500):
        index.upsert([doc(i, corpus[i]) for i in range(start, min(N, start + 500))])
    knn(index, corpus[0])  # builds the graph
    yield index
    index.close()


def test_recall_at_10_and_exact_scores(filled: EmbeddedSearchIndex,
                                       corpus: npt.NDArray[np.float32]) -> None:  # fmt: skip
    queries = vectors(100, seed=8)
    recalls = []
    for q in queries:
        hits = knn(filled, q)
        truth = exact(corpus, q)
        recalls.append(len({h for h, _ in hits} & set(truth)) / K)
        for hit_id, score in hits:  # rescored with the stored float32 vector
            assert score == pytest.approx(float(corpus[int(hit_id, 16)] @ q), abs=1e-5)
    assert np.mean(recalls) >= 0.95
    assert ann_meta(filled.directory)["size"] == N


def test_removed_and_deleted_assets_are_never_returned(
    filled: EmbeddedSearchIndex, corpus: npt.NDArray[np.float32]
) -> None:
    q = corpus[5]
    first = [h for h, _ in knn(filled, q)]
    filled.remove(WS, first[:3])
    filled.upsert([doc(int(first[3], 16), corpus[int(first[3], 16)],
                       status=AssetStatus.DELETED)])  # fmt: skip
    after = [h for h, _ in knn(filled, q)]
    assert not set(first[:4]) & set(after)
    assert len(after) == K
    # The same once the delta is folded into the graph (forced by a big delta).
    seq_before = ann_meta(filled.directory)["seq"]
    for start in range(0, 60, 20):
        filled.upsert([doc(i, corpus[i]) for i in range(100 + start, 120 + start)])
    assert not set(first[:4]) & {h for h, _ in knn(filled, q)}
    meta = ann_meta(filled.directory)
    assert meta["seq"] != seq_before
    assert meta["stale"] == 3 + 1 + 60  # removed, re-statused, rewritten rows' old labels


def test_writes_since_the_graph_are_found_before_any_fold(
    filled: EmbeddedSearchIndex, corpus: npt.NDArray[np.float32]
) -> None:
    seq = ann_meta(filled.directory)["seq"]
    q = vectors(1, seed=9)[0]
    filled.upsert([doc(N + 1, q), doc(7, -q)])  # a new exact match; an old row moved away
    hits = knn(filled, q)
    assert hits[0][0] == asset_id(N + 1)
    assert hits[0][1] == pytest.approx(1.0, abs=1e-5)
    assert asset_id(7) not in {h for h, _ in hits}
    assert knn(filled, -q)[0][0] == asset_id(7)
    assert ann_meta(filled.directory)["seq"] == seq  # answered from graph + delta


def test_filtered_knn_returns_only_matching_assets(
    tmp_path: Path, corpus: npt.NDArray[np.float32]
) -> None:
    index = EmbeddedSearchIndex(tmp_path / "index", ann=SYNC)
    tagged = set(range(0, N, 3))
    index.upsert([doc(i, corpus[i], tags=["third"] if i in tagged else []) for i in range(N)])
    q = corpus[1]
    hits = knn(index, q, filters=Filters(tags=["third"]))
    truth = [asset_id(int(i)) for i in sorted(tagged, key=lambda i: -float(corpus[i] @ q))[:K]]
    assert {int(h, 16) for h, _ in hits} <= tagged
    assert len(set(truth) & {h for h, _ in hits}) >= 9
    index.close()


def test_another_process_writes_and_folds(filled: EmbeddedSearchIndex,
                                         corpus: npt.NDArray[np.float32]) -> None:  # fmt: skip
    q = vectors(1, seed=10)[0]
    before = [h for h, _ in knn(filled, q)]
    gen = ann_meta(filled.directory)["gen"]
    op = {"workspace": WS, "model": MODEL, "vector": q.tolist(), "remove": before[:2],
          "docs": [doc(N + 5, q).model_dump(mode="json")], "fold": False}  # fmt: skip
    subprocess.run([sys.executable, "-c", _CHILD, str(filled.directory), json.dumps(op)],
                   check=True, cwd=ROOT, timeout=120)  # fmt: skip
    seen = [h for h, _ in knn(filled, q)]
    assert seen[0] == asset_id(N + 5)
    assert not set(before[:2]) & set(seen)
    # Now the other process folds its own writes into a new generation of the graph.
    op.update(docs=[doc(N + 6, q).model_dump(mode="json")], remove=[seen[0]], fold=True)
    subprocess.run([sys.executable, "-c", _CHILD, str(filled.directory), json.dumps(op)],
                   check=True, cwd=ROOT, timeout=120)  # fmt: skip
    assert ann_meta(filled.directory)["gen"] != gen
    after = [h for h, _ in knn(filled, q)]
    assert after[0] == asset_id(N + 6)
    assert asset_id(N + 5) not in after


def test_rebuild_builds_the_graph_of_the_new_database(
    filled: EmbeddedSearchIndex, corpus: npt.NDArray[np.float32]
) -> None:
    old_db = (filled.directory / POINTER).read_text().strip()
    filled.rebuild(doc(i, corpus[i]) for i in range(N) if i != 3)
    new_db = (filled.directory / POINTER).read_text().strip()
    assert new_db != old_db
    assert ann_meta(filled.directory)["size"] == N - 1
    assert asset_id(3) not in {h for h, _ in knn(filled, corpus[3])}
    filled.rebuild(doc(i, corpus[i]) for i in range(N))
    assert not (filled.directory / "ann" / old_db).exists()  # went with its database


def test_a_damaged_graph_is_answered_exactly_then_rebuilt(
    filled: EmbeddedSearchIndex, corpus: npt.NDArray[np.float32]
) -> None:
    meta = ann_meta(filled.directory)
    db = (filled.directory / POINTER).read_text().strip()
    graph = filled.directory / "ann" / db / f"{ann_key(WS, MODEL)}-{meta['gen']}.usearch"
    graph.write_bytes(b"not a graph")
    fresh = EmbeddedSearchIndex(filled.directory, ann=SYNC)
    q = corpus[11]
    assert knn(fresh, q)[0][0] == asset_id(11)
    assert ann_meta(filled.directory)["gen"] != meta["gen"]
    fresh.close()


def test_background_fold_leaves_answers_exact_meanwhile(
    tmp_path: Path, corpus: npt.NDArray[np.float32]
) -> None:
    ann = AnnSettings(threshold=1000, fold_after=50, exact_below=0, background=True)
    index = EmbeddedSearchIndex(tmp_path / "index", ann=ann)
    index.upsert([doc(i, corpus[i]) for i in range(1200)])
    truth = exact(corpus[:1200], corpus[2])
    assert [h for h, _ in knn(index, corpus[2])] == truth  # no graph yet: exact
    index.wait_for_folds()  # the one the query started
    assert ann_meta(tmp_path / "index")["size"] == 1200
    index.close()


def test_below_the_threshold_no_graph_is_built(
    tmp_path: Path, corpus: npt.NDArray[np.float32]
) -> None:
    index = EmbeddedSearchIndex(tmp_path / "index", ann=SYNC)
    index.upsert([doc(i, corpus[i]) for i in range(999)])
    assert [h for h, _ in knn(index, corpus[4])] == exact(corpus[:999], corpus[4])
    assert not (tmp_path / "index" / "ann").exists()
    index.close()


def test_the_settings_reach_the_index(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, embedded_ann_threshold=5, embedded_ann_fold_after=7)
    index = build_index(settings)
    assert isinstance(index, EmbeddedSearchIndex)
    assert (index.ann_settings.threshold, index.ann_settings.fold_after) == (5, 7)
    assert index.ann_settings.background


def test_vectors_given_whole_are_searched_like_loaded_ones(
    tmp_path: Path, corpus: npt.NDArray[np.float32]
) -> None:
    """ModelVectors.of (benchmarks/bench_vectors.py --embedded) feeds the same kNN path."""
    ids = [asset_id(i) for i in range(N)]
    entry = ModelVectors.of(WS, MODEL, ids, corpus, AssetStatus.READY.value, seq=1)
    files = AnnFiles(tmp_path, SYNC)
    files.fold(entry)
    snap = entry.snapshot()
    q = corpus[9]
    mask = candidate_mask(snap, [AssetStatus.READY.value], None, ())
    hits = files.top_k(entry, snap, q.tolist(), K, mask)
    assert [h for h, _ in hits][:1] == [asset_id(9)]
    assert len(set(exact(corpus, q)) & {h for h, _ in hits}) >= 9
    assert files.disk_bytes() > corpus.nbytes // 2  # f16 vectors plus the graph's links


def test_a_graph_saved_with_another_search_breadth_is_searched_with_the_setting(
    tmp_path: Path, corpus: npt.NDArray[np.float32]
) -> None:
    """The search breadth is a query-time setting: a graph written under an older default
    (64, recall@10 0.74 at 1M) is searched with the current one once loaded."""
    from dataclasses import replace

    ids = [asset_id(i) for i in range(N)]
    entry = ModelVectors.of(WS, MODEL, ids, corpus, AssetStatus.READY.value, seq=1)
    AnnFiles(tmp_path, replace(SYNC, expansion_search=64)).fold(entry)
    loaded = AnnFiles(tmp_path, replace(SYNC, expansion_search=300)).current(WS, MODEL)
    assert loaded is not None
    assert loaded.index.expansion_search == 300
