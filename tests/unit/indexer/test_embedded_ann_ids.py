"""The ids of an HNSW graph generation (indexer/embedded/ann_graph.py): packed in an .npz,
older generations' JSON list still read, and a writer that dies between its renames."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from indexer.embedded import EmbeddedSearchIndex
from indexer.embedded.ann import AnnFiles, ann_key
from indexer.embedded.ann_graph import read_ids
from indexer.embedded.database import POINTER
from indexer.embedded.packed_ids import PackedIds
from tests.contract.search_index_contract import MODEL, WS
from tests.unit.indexer import test_embedded_ann as ann_tests
from tests.unit.indexer.test_embedded_ann import (
    ROOT,
    SYNC,
    N,
    ann_meta,
    asset_id,
    doc,
    knn,
    vectors,
)

# A writer that dies (no clean-up, no finally) at its n-th rename of a generation's files:
# 1-3 the graph, ids and rowids, 4 the .json naming the generation.
_DYING_WRITER = """
import json, os, sys
from pathlib import Path
from assetlens.query import IndexDoc, VectorQuery
from indexer.embedded import EmbeddedSearchIndex, ann_graph
from indexer.embedded.ann import AnnSettings
calls, die_at, real = [0], int(sys.argv[3]), ann_graph._replace
def replace(tmp, path):
    calls[0] += 1
    if calls[0] == die_at:
        os._exit(17)
    real(tmp, path)
ann_graph._replace = replace
op = json.loads(sys.argv[2])
index = EmbeddedSearchIndex(Path(sys.argv[1]),
                            ann=AnnSettings(threshold=1000, fold_after=0, exact_below=0,
                                          background=False))
index.upsert([IndexDoc.model_validate(d) for d in op["docs"]])
index.knn(VectorQuery(workspace=op["workspace"], vector=op["vector"], model=op["model"]))
"""


# The fixtures of the HNSW tests: N vectors and their graph (one generation, built whole).
corpus = ann_tests.corpus
filled = ann_tests.filled


def _ann_dir(index: EmbeddedSearchIndex) -> Path:
    return index.directory / "ann" / (index.directory / POINTER).read_text().strip()


def _stem(index: EmbeddedSearchIndex) -> Path:
    return _ann_dir(index) / f"{ann_key(WS, MODEL)}-{ann_meta(index.directory)['gen']}"


def _to_json_ids(index: EmbeddedSearchIndex) -> list[str]:
    """Turn the current generation into the form written before the ids were packed."""
    stem = _stem(index)
    ids = read_ids(stem.with_suffix(".usearch"), packed=True)
    assert isinstance(ids, PackedIds)
    listed = ids.tolist()
    stem.with_suffix(".ids").write_text(json.dumps(listed), encoding="utf-8")
    stem.with_suffix(".ids.npz").unlink()
    meta_path = _ann_dir(index) / f"{ann_key(WS, MODEL)}.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    del meta["version"]
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    return listed


def test_a_generation_keeps_its_ids_packed_and_reads_them_back(
    filled: EmbeddedSearchIndex, corpus: npt.NDArray[np.float32]
) -> None:
    filled.remove(WS, [asset_id(5), asset_id(6)])
    more = vectors(61, seed=31)  # past fold_after: the next kNN folds
    filled.upsert([doc(N + i, v) for i, v in enumerate(more[:60])])
    filled.upsert([doc(9, more[60])])  # moved: its label goes, a new one comes
    assert knn(filled, more[0])[0][0] == asset_id(N)
    assert knn(filled, more[60])[0][0] == asset_id(9)
    assert asset_id(9) not in {h for h, _ in knn(filled, corpus[9])[:1]}
    meta = ann_meta(filled.directory)
    assert meta["version"] == 2 and meta["stale"] == 3  # folded, not built afresh
    stem = _stem(filled)
    assert not stem.with_suffix(".ids").exists()
    ids = read_ids(stem.with_suffix(".usearch"), packed=True)
    assert isinstance(ids, PackedIds)
    # Removed labels keep their place; the delta is added in row order (9's row is kept).
    expected = [asset_id(i) for i in range(N)] + [asset_id(9)]
    expected += [asset_id(N + i) for i in range(60)]
    expected[5] = expected[6] = expected[9] = ""
    assert ids.tolist() == expected


def test_a_generation_with_json_ids_answers_the_same_and_folds_into_the_packed_form(
    filled: EmbeddedSearchIndex, corpus: npt.NDArray[np.float32]
) -> None:
    queries = [corpus[i] for i in (3, 400, 2999)] + list(vectors(3, seed=33))
    before = [knn(filled, q) for q in queries]
    listed = _to_json_ids(filled)
    old = EmbeddedSearchIndex(filled.directory, ann=SYNC)
    try:
        assert [knn(old, q) for q in queries] == before
        loaded = AnnFiles(_ann_dir(old), SYNC).current(WS, MODEL)
        assert loaded is not None and not loaded.packed and loaded.ids == listed
        # A fold reads the JSON ids, removes two labels and writes the packed form.
        old.remove(WS, [asset_id(1), asset_id(2)])
        more = vectors(60, seed=34)
        old.upsert([doc(N + i, v) for i, v in enumerate(more)])
        assert knn(old, more[7])[0][0] == asset_id(N + 7)
    finally:
        old.close()
    meta = ann_meta(filled.directory)
    assert meta["version"] == 2 and meta["stale"] == 2 and meta["size"] == N + 60
    assert not list(_ann_dir(filled).glob("*.ids"))  # the old generation went
    ids = read_ids(_stem(filled).with_suffix(".usearch"), packed=True)
    assert ids[:3] == [asset_id(0), "", ""] and ids[N + 59] == asset_id(N + 59)


@pytest.mark.parametrize("die_at", [1, 2, 3, 4])
def test_a_writer_dying_between_its_renames_leaves_the_named_generation_whole(
    filled: EmbeddedSearchIndex, corpus: npt.NDArray[np.float32], die_at: int
) -> None:
    q = vectors(1, seed=35)[0]
    meta = ann_meta(filled.directory)
    named = {p.name for p in _ann_dir(filled).glob(f"{ann_key(WS, MODEL)}-*")}
    op = {"workspace": WS, "model": MODEL, "vector": q.tolist(),
          "docs": [doc(N + 1, q).model_dump(mode="json")]}  # fmt: skip
    child = subprocess.run([sys.executable, "-c", _DYING_WRITER, str(filled.directory),
                            json.dumps(op), str(die_at)], cwd=ROOT, timeout=120)  # fmt: skip
    assert child.returncode == 17
    assert ann_meta(filled.directory) == meta  # still names the generation it named
    left = {p.name for p in _ann_dir(filled).glob(f"{ann_key(WS, MODEL)}-*")}
    assert named <= left and len(left - named) == die_at - 1  # strays of the dead one
    fresh = EmbeddedSearchIndex(filled.directory, ann=SYNC)
    try:
        assert knn(fresh, q)[0][0] == asset_id(N + 1)  # the graph + the write it left
        assert knn(fresh, corpus[8])[0][0] == asset_id(8)
        loaded = AnnFiles(_ann_dir(fresh), SYNC).current(WS, MODEL)
        assert loaded is not None and len(loaded.ids) == loaded.size == N  # a consistent pair
        more = vectors(60, seed=36)
        fresh.upsert([doc(N + 2 + i, v) for i, v in enumerate(more)])
        assert knn(fresh, more[0])[0][0] == asset_id(N + 2)  # folds a new generation
    finally:
        fresh.close()
    stem = _stem(filled)
    assert {p.name for p in _ann_dir(filled).glob(f"{ann_key(WS, MODEL)}-*")} == {
        stem.with_suffix(s).name for s in (".usearch", ".ids.npz", ".rowids.npy")
    }
