"""Embedded-index behaviour beyond the shared contract: files, processes, threads, caches."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from assetlens.errors import IndexUnavailable, InvalidInput
from assetlens.filters import Facet, Filters
from assetlens.query import IndexDoc, SearchQuery, Sort, SortField, VectorQuery
from indexer.embedded import EmbeddedSearchIndex
from indexer.embedded.database import POINTER
from indexer.embedded.schema import SCHEMA_VERSION
from tests.contract.search_index_contract import MODEL, WS, aid, make_asset, make_doc, unit

ROOT = Path(__file__).resolve().parents[3]

# Run in a separate Python process: open the same index and apply one operation.
_CHILD = """
import json, sys
from pathlib import Path
from assetlens.query import IndexDoc
from indexer.embedded import EmbeddedSearchIndex
index = EmbeddedSearchIndex(Path(sys.argv[1]))
op = json.loads(sys.argv[2])
if op["op"] == "upsert":
    index.upsert([IndexDoc.model_validate(d) for d in op["docs"]])
elif op["op"] == "remove":
    index.remove(op["workspace"], op["ids"])
elif op["op"] == "rebuild":
    index.rebuild(IndexDoc.model_validate(d) for d in op["docs"])
index.close()
"""


def in_other_process(path: Path, op: dict[str, object]) -> None:
    subprocess.run(
        [sys.executable, "-c", _CHILD, str(path), json.dumps(op)],
        check=True,
        cwd=ROOT,
        timeout=120,
    )


def dump(*docs: IndexDoc) -> list[dict[str, object]]:
    return [d.model_dump(mode="json") for d in docs]


def knn_ids(index: EmbeddedSearchIndex, vector: list[float], k: int = 10) -> list[str]:
    hits = index.knn(VectorQuery(workspace=WS, vector=vector, model=MODEL, k=k))
    return [h.asset.id for h in hits]


@pytest.fixture
def index(tmp_path: Path) -> EmbeddedSearchIndex:
    idx = EmbeddedSearchIndex(tmp_path / "index")
    idx.ensure()
    return idx


def test_constructor_touches_nothing(tmp_path: Path) -> None:
    EmbeddedSearchIndex(tmp_path / "index")
    assert not (tmp_path / "index").exists()


def test_first_use_creates_the_index(tmp_path: Path) -> None:
    idx = EmbeddedSearchIndex(tmp_path / "index")
    assert idx.search(SearchQuery(workspace=WS)).total == 0
    assert (tmp_path / "index" / POINTER).is_file()
    idx.close()


def test_check_raises_when_the_database_cannot_be_opened(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(IndexUnavailable):
        EmbeddedSearchIndex(blocker).check()
    idx = EmbeddedSearchIndex(tmp_path / "index")
    idx.ensure()
    idx.close()
    (tmp_path / "index" / POINTER).write_text("index-gone.sqlite3\n")
    with pytest.raises(IndexUnavailable):
        idx.check()
    with pytest.raises(IndexUnavailable):
        idx.search(SearchQuery(workspace=WS))


def test_corrupt_database_is_unavailable(index: EmbeddedSearchIndex) -> None:
    db = index.directory / (index.directory / POINTER).read_text().strip()
    index.close()
    db.write_bytes(b"garbage" * 1000)
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    with pytest.raises(IndexUnavailable):
        index.check()


def test_vector_cache_sees_writes_of_another_process(index: EmbeddedSearchIndex) -> None:
    index.upsert([make_doc(make_asset("a"), unit(1))])
    assert knn_ids(index, unit(1)) == [aid("a")]  # cache now loaded
    newer = make_doc(make_asset("b"), unit(1, 0.01))
    moved = make_doc(make_asset("a", revision=2), unit(0, 1))
    in_other_process(index.directory, {"op": "upsert", "docs": dump(newer, moved)})
    assert knn_ids(index, unit(1)) == [aid("b"), aid("a")]
    in_other_process(index.directory, {"op": "remove", "workspace": WS, "ids": [aid("b")]})
    assert knn_ids(index, unit(1)) == [aid("a")]
    assert index.search(SearchQuery(workspace=WS)).total == 1


def test_rebuild_in_another_process_is_seen(index: EmbeddedSearchIndex) -> None:
    index.upsert([make_doc(make_asset("old", prompt="granite"), unit(1))])
    assert knn_ids(index, unit(1)) == [aid("old")]
    fresh = make_doc(make_asset("new", prompt="marble"), unit(1))
    in_other_process(index.directory, {"op": "rebuild", "docs": dump(fresh)})
    assert knn_ids(index, unit(1)) == [aid("new")]
    page = index.search(SearchQuery(workspace=WS, text="marble"))
    assert [h.asset.id for h in page.hits] == [aid("new")]


def test_rebuild_switches_pointer_and_prunes_old_files(index: EmbeddedSearchIndex) -> None:
    pointer = index.directory / POINTER
    first = pointer.read_text().strip()
    index.rebuild([make_doc(make_asset("one"))])
    second = pointer.read_text().strip()
    index.rebuild([make_doc(make_asset("two"))])
    third = pointer.read_text().strip()
    assert len({first, second, third}) == 3
    files = sorted(p.name for p in index.directory.glob("index-*.sqlite3"))
    # The database just replaced stays for readers that have not switched yet.
    assert files == sorted([second, third])
    assert not list(index.directory.glob(".*.tmp"))


def test_rebuild_keeps_writes_made_while_building(index: EmbeddedSearchIndex) -> None:
    index.upsert([make_doc(make_asset("gone-soon", prompt="slate"))])

    def docs() -> Iterator[IndexDoc]:
        yield make_doc(make_asset("base", prompt="slate"))
        # A concurrent writer (the indexer) while the rebuild reads the store.
        index.upsert([make_doc(make_asset("late", prompt="slate"), unit(1))])
        index.remove(WS, [aid("gone-soon")])

    assert index.rebuild(docs()) == 1
    page = index.search(SearchQuery(workspace=WS, text="slate"))
    assert sorted(h.asset.id for h in page.hits) == sorted([aid("base"), aid("late")])
    assert knn_ids(index, unit(1)) == [aid("late")]


def test_failed_rebuild_leaves_the_index_as_it_was(index: EmbeddedSearchIndex) -> None:
    index.upsert([make_doc(make_asset("kept", prompt="basalt"))])
    before = set(index.directory.iterdir())

    def docs() -> Iterator[IndexDoc]:
        yield make_doc(make_asset("never", prompt="basalt"))
        raise RuntimeError("store went away")

    with pytest.raises(RuntimeError):
        index.rebuild(docs())
    assert set(index.directory.iterdir()) == before
    assert index.search(SearchQuery(workspace=WS, text="basalt")).total == 1


def test_concurrent_writers_and_readers(index: EmbeddedSearchIndex) -> None:
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            for i in range(25):
                doc = make_doc(make_asset(f"w{worker}-{i}", prompt="pebble"), unit(1, i))
                index.upsert([doc])
        except BaseException as exc:
            errors.append(exc)

    def read() -> None:
        try:
            for _ in range(25):
                index.search(SearchQuery(workspace=WS, text="pebble"))
                index.knn(VectorQuery(workspace=WS, vector=unit(1), model=MODEL))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    threads += [threading.Thread(target=read) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert index.search(SearchQuery(workspace=WS, text="pebble")).total == 100
    assert len(knn_ids(index, unit(1), k=1000)) == 100
    index.close()


def test_vector_cache_survives_many_removals(index: EmbeddedSearchIndex) -> None:
    docs = [make_doc(make_asset(f"v{i}"), unit(1, i / 10)) for i in range(3000)]
    index.upsert(docs)
    assert len(knn_ids(index, unit(1), k=1000)) == 1000
    index.remove(WS, [aid(f"v{i}") for i in range(1, 3000)])
    assert knn_ids(index, unit(1), k=1000) == [aid("v0")]
    index.upsert([make_doc(make_asset("v5", revision=2), unit(1))])
    assert sorted(knn_ids(index, unit(1))) == sorted([aid("v0"), aid("v5")])


def test_knn_rejects_a_vector_of_the_wrong_size(index: EmbeddedSearchIndex) -> None:
    index.upsert([make_doc(make_asset("a"), unit(1))])
    with pytest.raises(InvalidInput):
        index.knn(VectorQuery(workspace=WS, vector=[1.0, 0.0], model=MODEL))


def test_knn_with_filter_uses_current_rows(index: EmbeddedSearchIndex) -> None:
    index.upsert([make_doc(make_asset("a", tags=["x"]), unit(1))])
    hits = index.knn(
        VectorQuery(workspace=WS, vector=unit(1), model=MODEL, filters=Filters(tags=["x"]))
    )
    assert [h.asset.id for h in hits] == [aid("a")]
    index.upsert([make_doc(make_asset("a", tags=["y"], revision=2), unit(1))])
    hits = index.knn(
        VectorQuery(workspace=WS, vector=unit(1), model=MODEL, filters=Filters(tags=["x"]))
    )
    assert hits == []


def test_implements_the_search_index_port(tmp_path: Path) -> None:
    from assetlens.ports import SearchIndex

    assert isinstance(EmbeddedSearchIndex(tmp_path / "index"), SearchIndex)


def test_a_schema_1_database_is_migrated_on_open(tmp_path: Path) -> None:
    """A database made before `favorite` existed gains the column, filled from the stored
    asset JSON, the first time a newer process opens it."""
    path = tmp_path / "index"
    first = EmbeddedSearchIndex(path)
    first.upsert([make_doc(make_asset("star", favorite=True)), make_doc(make_asset("plain"))])
    first.close()
    db = path / (path / POINTER).read_text(encoding="utf-8").strip()
    with sqlite3.connect(db) as conn:  # make it look like a schema-1 database
        conn.execute("ALTER TABLE assets DROP COLUMN favorite")
        conn.execute("UPDATE meta SET value = 1 WHERE key = 'schema'")
    conn.close()
    reopened = EmbeddedSearchIndex(path)
    try:
        page = reopened.search(SearchQuery(workspace=WS, filters=Filters(favorite=True),
                                           facets=[Facet.FAVORITE]))  # fmt: skip
        assert [h.asset.id for h in page.hits] == [aid("star")]
        assert [(b.value, b.count) for b in page.facets["favorite"]] == [("true", 1)]
        with sqlite3.connect(db) as conn:
            (version,) = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        conn.close()
        assert version == SCHEMA_VERSION
    finally:
        reopened.close()


def test_a_schema_2_database_gains_costs_and_blobs_on_open(tmp_path: Path) -> None:
    """A database made before `cost`, `cost_bucket` and `sha256` existed gains the columns,
    filled from the stored asset JSON, so cost filters, facets, sorting and stats work at
    once without a reindex."""
    path = tmp_path / "index"
    first = EmbeddedSearchIndex(path)
    first.upsert([make_doc(make_asset("paid", cost=0.5, size=10)),
                  make_doc(make_asset("free", cost=0, size=20)),
                  make_doc(make_asset("unknown", size=30))])  # fmt: skip
    first.close()
    db = path / (path / POINTER).read_text(encoding="utf-8").strip()
    with sqlite3.connect(db) as conn:  # make it look like a schema-2 database
        for column in ("cost", "cost_bucket", "sha256"):
            conn.execute(f"ALTER TABLE assets DROP COLUMN {column}")
        conn.execute("UPDATE meta SET value = 2 WHERE key = 'schema'")
    conn.close()
    reopened = EmbeddedSearchIndex(path)
    try:
        page = reopened.search(SearchQuery(
            workspace=WS, facets=[Facet.COST], sort=Sort(field=SortField.COST, descending=True),
        ))  # fmt: skip
        assert [h.asset.id for h in page.hits] == [aid("paid"), aid("free"), aid("unknown")]
        assert [(b.value, b.count) for b in page.facets["cost"]] == [("0", 1), ("0.1-1", 1)]
        stats = reopened.stats(WS)
        assert (stats.live.cost, stats.live.priced) == (0.5, 2)
        assert (stats.storage_blobs, stats.storage_bytes) == (3, 60)
    finally:
        reopened.close()


def test_a_schema_3_database_gains_every_model_on_open(tmp_path: Path) -> None:
    """A database made before `asset_models` fills it from the stored asset JSON (a
    document from before `generation.models` counts its `model`), without a reindex."""
    path = tmp_path / "index"
    first = EmbeddedSearchIndex(path)
    first.upsert([make_doc(make_asset("two-pass", model="base", models=["refiner"])),
                  make_doc(make_asset("old", model="base"))])  # fmt: skip
    first.close()
    db = path / (path / POINTER).read_text(encoding="utf-8").strip()
    with sqlite3.connect(db) as conn:  # make it look like a schema-3 database
        conn.execute("DROP TABLE asset_models")
        conn.execute(
            "UPDATE asset_blobs SET doc = json_remove(doc, '$.generation.models') "
            "WHERE rowid = (SELECT rowid FROM assets WHERE id = ?)",
            (aid("old"),),
        )
        conn.execute("UPDATE meta SET value = 3 WHERE key = 'schema'")
    conn.close()
    reopened = EmbeddedSearchIndex(path)
    try:
        page = reopened.search(SearchQuery(workspace=WS, facets=[Facet.MODEL]))
        assert [(b.value, b.count) for b in page.facets["model"]] == [("base", 2), ("refiner", 1)]
        refined = reopened.search(SearchQuery(workspace=WS, filters=Filters(model=["refiner"])))
        assert [h.asset.id for h in refined.hits] == [aid("two-pass")]
    finally:
        reopened.close()


@pytest.mark.parametrize("version", [3, SCHEMA_VERSION])
def test_an_old_full_text_table_gains_stems_and_names_on_open(tmp_path: Path, version: int) -> None:
    """A database whose full-text table predates the `names` and `stems` columns has it made
    again from the stored asset JSON the first time a newer process opens it: word forms and
    names are found at once, without a reindex. The columns decide, not the version number
    (which branches merged in another order could have used for something else)."""
    path = tmp_path / "index"
    first = EmbeddedSearchIndex(path)
    first.upsert([make_doc(make_asset("fox", prompt="a fox", model="sd_xl_base_1.0")),
                  make_doc(make_asset("cat", prompt="a cat"))])  # fmt: skip
    first.close()
    db = path / (path / POINTER).read_text(encoding="utf-8").strip()
    with sqlite3.connect(db) as conn:  # make it look like a schema-3 database
        conn.execute("DROP TABLE assets_fts")
        conn.execute(
            "CREATE VIRTUAL TABLE assets_fts USING fts5 (name, prompt, tags, "
            "description, other, tokenize = 'unicode61 remove_diacritics 2')"
        )
        conn.execute(
            "INSERT INTO assets_fts (rowid, name, prompt, tags, description, other) "
            "SELECT rowid, name, json_extract(doc, '$.generation.prompt'), '', '', '' "
            "FROM asset_blobs JOIN assets USING (rowid)"
        )
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (version,))
    conn.close()
    reopened = EmbeddedSearchIndex(path)
    try:
        for text in ("foxes", "sdxl", "a fox"):
            page = reopened.search(SearchQuery(workspace=WS, text=text))
            assert [h.asset.id for h in page.hits] == [aid("fox")], text
        with sqlite3.connect(db) as conn:
            (version,) = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            columns = [row[1] for row in conn.execute("PRAGMA table_info(assets_fts)")]
        conn.close()
        assert version == SCHEMA_VERSION
        assert columns[-2:] == ["names", "stems"]
    finally:
        reopened.close()
