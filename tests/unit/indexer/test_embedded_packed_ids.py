"""A vector file's asset ids, packed as bytes and end offsets (indexer/embedded/packed_ids.py):
the sequence itself, the file format, and files of the older JSON format."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from indexer.embedded import EmbeddedSearchIndex
from indexer.embedded.ann import AnnSettings, ann_key
from indexer.embedded.database import POINTER
from indexer.embedded.packed_ids import PackedIds
from indexer.embedded.vector_files import VectorFiles
from indexer.embedded.vectors import Arrays
from tests.contract.search_index_contract import MODEL, WS
from tests.unit.indexer.test_embedded_ann import asset_id, doc, knn, vectors

HEX = [f"{i:032x}" for i in range(5)]
MIXED = ["a", "", "café", "東京タワー", "with\0nul", "x" * 300]


def _packed(ids: list[str]) -> PackedIds:
    return PackedIds(*PackedIds.pack(ids))


@pytest.mark.parametrize("ids", [HEX, MIXED, [], ["same", "size"], ["ab", "c", "def"]])
def test_ids_come_back_as_they_went_in(ids: list[str]) -> None:
    packed = _packed(ids)
    assert len(packed) == len(ids)
    assert packed.tolist() == ids
    assert list(packed) == ids
    assert [packed[i] for i in range(len(ids))] == ids
    assert packed[1:3] == ids[1:3]
    if ids:
        assert packed[-1] == ids[-1]
    with pytest.raises(IndexError):
        packed[len(ids)]
    assert PackedIds.pack(packed)[0] is PackedIds.pack(packed)[0]  # its own arrays, not re-encoded


def test_offsets_that_do_not_fit_the_bytes_are_refused() -> None:
    data, ends = PackedIds.pack(["ab", "cd"])
    with pytest.raises(ValueError, match="do not fit"):
        PackedIds(data[:3], ends)
    with pytest.raises(ValueError, match="do not fit"):
        PackedIds(data, np.array([3, 2, 4], dtype=np.int64))
    with pytest.raises(ValueError, match="do not fit"):
        PackedIds(data, np.array([-1, 4], dtype=np.int64))


N = 600
SETTINGS = AnnSettings(threshold=10_000, fold_after=10_000, exact_below=0, background=False,
                       vector_file_min=0)  # fmt: skip


@pytest.fixture
def saved(tmp_path: Path) -> tuple[Path, VectorFiles]:
    """An index of N vectors whose vector file is written; its directory and files."""
    corpus = vectors(N, seed=5)
    index = EmbeddedSearchIndex(tmp_path / "index", ann=SETTINGS)
    try:
        index.upsert([doc(i, corpus[i]) for i in range(N)])
        index.catch_up()
    finally:
        index.close()
    db = (tmp_path / "index" / POINTER).read_text().strip()
    return tmp_path / "index", VectorFiles(tmp_path / "index" / "ann" / db)


def _stem(files: VectorFiles) -> str:
    meta = json.loads((files.dir / f"{ann_key(WS, MODEL)}.vectors.json").read_text())
    return f"{ann_key(WS, MODEL)}.vectors-{meta['gen']}"


def test_a_vector_file_keeps_its_ids_packed_beside_the_rows(
    saved: tuple[Path, VectorFiles],
) -> None:
    path, files = saved
    assert not list(files.dir.glob("*.ids"))  # no JSON list any more (graph files aside)
    loaded = files.load(WS, MODEL)
    assert loaded is not None
    arrays, _ = loaded
    assert isinstance(arrays.ids, PackedIds)
    assert arrays.ids.tolist() == [asset_id(i) for i in range(N)]
    # A new process answers with the right ids, and a row added after the file (the ids
    # become a list then) is found too.
    corpus = vectors(N, seed=5)
    fresh = EmbeddedSearchIndex(path, ann=SETTINGS)
    try:
        assert knn(fresh, corpus[17])[0][0] == asset_id(17)
        fresh.upsert([doc(N + 3, corpus[17] * -1)])
        assert knn(fresh, corpus[17] * -1)[0][0] == asset_id(N + 3)
        assert knn(fresh, corpus[42])[0][0] == asset_id(42)
    finally:
        fresh.close()


def test_a_file_of_the_json_format_still_loads(saved: tuple[Path, VectorFiles]) -> None:
    """A version-1 file (ids in a JSON list beside the npz) reads as before."""
    _, files = saved
    stem = _stem(files)
    ids = [asset_id(i) for i in range(N)]
    with np.load(files.dir / f"{stem}.npz") as rows:
        kept = {name: rows[name] for name in ("status", "changed", "rowids", "types")}
    with (files.dir / f"{stem}.npz").open("wb") as fh:
        np.savez(fh, **kept)
    (files.dir / f"{stem}.ids").write_text(json.dumps(ids))
    meta_path = files.dir / f"{ann_key(WS, MODEL)}.vectors.json"
    meta = json.loads(meta_path.read_text())
    meta_path.write_text(json.dumps({**meta, "version": 1}))
    assert files.seq(WS, MODEL) == meta["seq"]
    loaded = files.load(WS, MODEL)
    assert loaded is not None
    assert loaded[0].ids == ids
    # Written again, it is the packed format.
    assert files.save(WS, MODEL, Arrays(ids, *(loaded[0].matrix, *kept.values())), meta["seq"])
    assert not list(files.dir.glob("*.vectors-*.ids"))
    again = files.load(WS, MODEL)
    assert again is not None
    assert isinstance(again[0].ids, PackedIds)
    assert again[0].ids.tolist() == ids
