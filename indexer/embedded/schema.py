"""The embedded index's SQLite schema and how an IndexDoc becomes its rows."""

# SQL here is assembled only from fixed column/table names; every value is a bound
# parameter, so S608 (string-built SQL) does not apply.
# ruff: noqa: S608

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from assetlens.domain import Asset, Generation
from assetlens.filters import Filters, cost_bucket, created_month, index_cost, size_bucket
from assetlens.normalize import tag_key
from assetlens.query import IndexDoc
from assetlens.searchtext import FIELD_WEIGHTS, search_texts
from assetlens.textsplit import split_cjk

# 2: assets.favorite; 3: assets.cost, cost_bucket and sha256; 4: the FTS table gains the
# `names` and `stems` columns and a prefix index; 5: asset_models (every checkpoint an asset
# was made with); 6: assets_seq_all (the tantivy keyword index catches up by seq across
# workspaces). An older database is migrated in place by `migrate`.
SCHEMA_VERSION = 6
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# The FTS columns are assetlens.searchtext's texts; their bm25 weights are its field weights.
FTS_COLUMNS = tuple(FIELD_WEIGHTS)
FTS_WEIGHTS = tuple(FIELD_WEIGHTS.values())
# `prefix`: an index of every word's first 3 characters, so the prefix match of a word being
# typed (MIN_PREFIX_CHARS or more) reads a range of it instead of every word.
FTS_DDL = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS assets_fts USING fts5 ({', '.join(FTS_COLUMNS)}, "
    "tokenize = 'unicode61 remove_diacritics 2', prefix = '3')"
)

# Every model of an asset (assets.model is the primary one, which the cost stats group by).
MODELS_DDL = """
CREATE TABLE IF NOT EXISTS asset_models (
    asset_rowid INTEGER NOT NULL, model TEXT NOT NULL, PRIMARY KEY (asset_rowid, model)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS asset_models_model ON asset_models (model, asset_rowid);
"""

# What the keyword index's catch-up reads: the assets written after a seq, in any workspace.
SEQ_INDEX_DDL = "CREATE INDEX IF NOT EXISTS assets_seq_all ON assets (seq)"

DDL = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta (key, value) VALUES ('seq', 0), ('schema', {SCHEMA_VERSION});

-- AUTOINCREMENT: rowids are never reused, so an FTS rowid always means one asset row.
CREATE TABLE IF NOT EXISTS assets (
    rowid INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace TEXT NOT NULL,
    id TEXT NOT NULL,
    revision INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    folder_id TEXT,
    model TEXT,
    provider TEXT,
    source TEXT NOT NULL,
    generator TEXT,
    sampler TEXT,
    ai_generated INTEGER,
    favorite INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    created_month TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    size_bucket TEXT NOT NULL,
    name TEXT NOT NULL,
    name_sort TEXT NOT NULL,
    vector_model TEXT,
    cost REAL,
    cost_bucket TEXT,
    sha256 TEXT NOT NULL DEFAULT '',
    UNIQUE (workspace, id)
);
-- The asset JSON and vector are kilobytes: kept apart, so that scans over the filter and
-- facet columns above read small rows instead of walking overflow pages.
CREATE TABLE IF NOT EXISTS asset_blobs (
    rowid INTEGER PRIMARY KEY, doc TEXT NOT NULL, vector BLOB
);
CREATE INDEX IF NOT EXISTS assets_seq ON assets (workspace, seq);
{SEQ_INDEX_DDL};
CREATE INDEX IF NOT EXISTS assets_created ON assets (workspace, created_at, id);
CREATE INDEX IF NOT EXISTS assets_updated ON assets (workspace, updated_at, id);
CREATE INDEX IF NOT EXISTS assets_name ON assets (workspace, name_sort, id);
CREATE INDEX IF NOT EXISTS assets_size ON assets (workspace, size_bytes, id);
CREATE INDEX IF NOT EXISTS assets_vmodel ON assets (workspace, vector_model);

CREATE TABLE IF NOT EXISTS asset_tags (
    asset_rowid INTEGER NOT NULL, tag TEXT NOT NULL, PRIMARY KEY (asset_rowid, tag)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS asset_tags_tag ON asset_tags (tag, asset_rowid);
CREATE TABLE IF NOT EXISTS asset_loras (
    asset_rowid INTEGER NOT NULL, lora TEXT NOT NULL, PRIMARY KEY (asset_rowid, lora)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS asset_loras_lora ON asset_loras (lora, asset_rowid);
{MODELS_DDL}
-- Removals since a sequence number, for vector caches that update incrementally.
CREATE TABLE IF NOT EXISTS removals (
    seq INTEGER NOT NULL, workspace TEXT NOT NULL, id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS removals_seq ON removals (workspace, seq);

{FTS_DDL};
"""


def migrate(conn: sqlite3.Connection) -> None:
    """Bring a database made by an older schema version up to SCHEMA_VERSION, in one write
    transaction (safe when several processes try at once: the loser finds it done)."""
    if _schema_version(conn) >= SCHEMA_VERSION and _fts_current(conn) and _has_models_table(conn):
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = _schema_version(conn)
        if version < 2:
            columns = {row[1] for row in conn.execute("PRAGMA table_info(assets)")}
            if "favorite" not in columns:
                conn.execute("ALTER TABLE assets ADD COLUMN favorite INTEGER NOT NULL DEFAULT 0")
            # The stored asset JSON already says which assets are favourites.
            conn.execute(
                "UPDATE assets SET favorite = COALESCE((SELECT json_extract(b.doc, '$.favorite') "
                "FROM asset_blobs b WHERE b.rowid = assets.rowid), 0)"
            )
        if version < 3:
            _add_cost_and_sha(conn)
        if version < 6:
            conn.execute(SEQ_INDEX_DDL)
        # Made again whenever its columns are not FTS_COLUMNS (schema 4 added `names` and
        # `stems`), whatever the version number says.
        if not _fts_current(conn):
            _rebuild_fts(conn)
        # Like the FTS table: made whenever it is missing, whatever the version number says.
        if not _has_models_table(conn):
            _fill_models(conn)
        conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema', ?)", (SCHEMA_VERSION,)
        )
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _add_cost_and_sha(conn: sqlite3.Connection) -> None:
    """Schema 3: the cost, its bucket and the blob's sha256 as columns, filled from the
    stored asset JSON (the bucket computed in Python, as `doc_rows` does)."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(assets)")}
    for name, ddl in (
        ("cost", "REAL"),
        ("cost_bucket", "TEXT"),
        ("sha256", "TEXT NOT NULL DEFAULT ''"),
    ):
        if name not in columns:
            conn.execute(f"ALTER TABLE assets ADD COLUMN {name} {ddl}")
    rows = conn.execute(
        "SELECT rowid, json_extract(doc, '$.generation.cost'), json_extract(doc, '$.sha256') "
        "FROM asset_blobs"
    ).fetchall()
    conn.executemany(
        "UPDATE assets SET cost = ?, cost_bucket = ?, sha256 = ? WHERE rowid = ?",
        [
            (_number(cost), cost_bucket(_number(cost)), sha or "", rowid)
            for rowid, cost, sha in rows
        ],
    )


def _fts_current(conn: sqlite3.Connection) -> bool:
    """Whether the FTS table has the columns of FTS_COLUMNS, in order."""
    columns = tuple(row[1] for row in conn.execute("PRAGMA table_info(assets_fts)"))
    return columns == FTS_COLUMNS


def _rebuild_fts(conn: sqlite3.Connection) -> None:
    """The FTS table made again with the current columns (schema 4: `names` and `stems`),
    its rows computed from the stored asset JSON (as `doc_rows` does)."""
    conn.execute("DROP TABLE IF EXISTS assets_fts")
    conn.execute(FTS_DDL)
    insert = (f"INSERT INTO assets_fts (rowid, {', '.join(FTS_COLUMNS)}) "
              f"VALUES (?, {', '.join('?' * len(FTS_COLUMNS))})")  # fmt: skip
    rows = conn.execute("SELECT rowid, doc FROM asset_blobs ORDER BY rowid")
    while batch := rows.fetchmany(500):
        conn.executemany(
            insert, [(rowid, *fts_texts(Asset.model_validate_json(doc))) for rowid, doc in batch]
        )


def _has_models_table(conn: sqlite3.Connection) -> bool:
    return (
        conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'asset_models'"
        ).fetchone()
        is not None
    )


def _fill_models(conn: sqlite3.Connection) -> None:
    """Schema 5: asset_models filled from the stored asset JSON (a document from before
    `generation.models` has its `model` alone)."""
    for statement in MODELS_DDL.split(";"):
        if statement.strip():
            conn.execute(statement)
    rows = conn.execute(
        "SELECT rowid, json_extract(doc, '$.generation') FROM asset_blobs"
    ).fetchall()
    pairs = []
    for rowid, generation in rows:
        parsed = Generation.model_validate_json(generation) if generation else Generation()
        pairs += [(rowid, model) for model in parsed.models]
    conn.executemany("INSERT OR IGNORE INTO asset_models (asset_rowid, model) VALUES (?, ?)", pairs)


def _number(value: object) -> float | None:
    return index_cost(float(value)) if isinstance(value, int | float) else None


def _schema_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
    return 1 if row is None else int(row[0])


def scalar_filters(filters: Filters) -> list[tuple[str, list[str]]]:
    """Each one-value-per-asset column `filters` can narrow, with the values it accepts (an
    empty list: not narrowed). The SQLite columns and the tantivy fields share these names."""
    return [
        ("type", [t.value for t in filters.type]),
        ("folder_id", filters.folder_id),
        ("provider", filters.provider),
        ("source", filters.source),
        ("generator", filters.generator),
        ("sampler", filters.sampler),
        ("created_month", filters.created_month),
        ("size_bucket", filters.size_range),
        ("cost_bucket", filters.cost_range),
        ("id", filters.ids),
    ]


def micros(value: datetime) -> int:
    """Microseconds since the epoch; naive datetimes are taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value - _EPOCH) // timedelta(microseconds=1)


def name_key(name: str) -> str:
    """The sort key of a name: lowercased (as a keyword field with a lowercase normalizer)."""
    return name.lower()


def vector_blob(vector: list[float] | None) -> bytes | None:
    if vector is None:
        return None
    return np.asarray(vector, dtype=np.float32).tobytes()


def blob_vector(blob: bytes | None) -> list[float] | None:
    if blob is None:
        return None
    return [float(x) for x in np.frombuffer(blob, dtype=np.float32)]


@dataclass(frozen=True, slots=True)
class DocRows:
    """What one IndexDoc is stored as: the assets row, its JSON and vector, its FTS texts,
    tags, LoRAs and models."""

    columns: dict[str, object]
    doc: str
    vector: bytes | None
    texts: tuple[str, ...]
    tags: list[str]
    loras: list[str]
    models: list[str]


def fts_texts(asset: Asset) -> tuple[str, ...]:
    """The FTS column values of an asset, in FTS_COLUMNS order."""
    return tuple(split_cjk(t) for t in search_texts(asset).fields())


def doc_rows(doc: IndexDoc) -> DocRows:
    """Split an IndexDoc into the values of its rows (seq is set by the writer)."""
    asset = doc.asset
    gen = asset.generation
    has_vector = doc.vector is not None and doc.vector_model is not None
    columns: dict[str, object] = {
        "workspace": asset.workspace,
        "id": asset.id,
        "revision": asset.revision,
        "type": asset.type.value,
        "folder_id": asset.folder_id,
        "model": gen.model,
        "provider": gen.provider,
        "source": asset.source.value,
        "generator": gen.generator,
        "sampler": gen.sampler,
        "ai_generated": None if gen.ai_generated is None else int(gen.ai_generated),
        "favorite": int(asset.favorite),
        "status": asset.status.value,
        "created_at": micros(asset.created_at),
        "updated_at": micros(asset.updated_at),
        "created_month": created_month(asset.created_at),
        "size_bytes": asset.size_bytes,
        "size_bucket": size_bucket(asset.size_bytes),
        "name": asset.name,
        "name_sort": name_key(asset.name),
        "vector_model": doc.vector_model if has_vector else None,
        "cost": index_cost(gen.cost),
        "cost_bucket": cost_bucket(gen.cost),
        "sha256": asset.sha256,
    }
    return DocRows(
        columns=columns,
        doc=asset.model_dump_json(),
        vector=vector_blob(doc.vector) if has_vector else None,
        texts=fts_texts(asset),
        tags=sorted({tag_key(t) for t in asset.tags} - {""}),
        loras=sorted({lora.name for lora in gen.loras}),
        models=sorted(set(gen.models)),
    )
