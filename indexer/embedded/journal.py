"""Writes to an embedded index database: one asset's rows, a bulk fill, the replay of what
reached an old database while a new one was built, and the bounded removals log."""

# SQL here is assembled only from fixed column/table names; every value is a bound
# parameter, so S608 (string-built SQL) does not apply.
# ruff: noqa: S608

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from assetlens.domain import Asset
from assetlens.query import IndexDoc
from indexer.embedded.schema import FTS_COLUMNS, blob_vector, doc_rows

REBUILD_BATCH = 500
REMOVALS_KEPT = 10_000
_ASSET_COLUMNS = (
    "workspace", "id", "revision", "seq", "type", "folder_id", "model", "provider",
    "source", "generator", "sampler", "ai_generated", "favorite", "status", "created_at",
    "updated_at", "created_month", "size_bytes", "size_bucket", "name", "name_sort",
    "vector_model", "cost", "cost_bucket", "sha256",
)  # fmt: skip
_INSERT_ASSET = (
    f"INSERT INTO assets ({', '.join(_ASSET_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(_ASSET_COLUMNS))})"
)
_UPDATE_ASSET = f"UPDATE assets SET {', '.join(f'{c} = ?' for c in _ASSET_COLUMNS)} WHERE rowid = ?"
_INSERT_FTS = (
    f"INSERT INTO assets_fts (rowid, {', '.join(FTS_COLUMNS)}) "
    f"VALUES (?, {', '.join('?' * len(FTS_COLUMNS))})"
)


def upsert_one(conn: sqlite3.Connection, doc: IndexDoc, seq: int) -> None:
    rows = doc_rows(doc)
    values = [seq if c == "seq" else rows.columns[c] for c in _ASSET_COLUMNS]
    found = conn.execute(
        "SELECT rowid, revision FROM assets WHERE workspace = ? AND id = ?",
        (doc.asset.workspace, doc.asset.id),
    ).fetchone()
    if found is not None:
        rowid, revision = found
        if revision > doc.asset.revision:
            return
        conn.execute(_UPDATE_ASSET, [*values, rowid])
        delete_side_rows(conn, rowid)
    else:
        rowid = conn.execute(_INSERT_ASSET, values).lastrowid
    conn.execute(
        "INSERT INTO asset_blobs (rowid, doc, vector) VALUES (?, ?, ?)",
        (rowid, rows.doc, rows.vector),
    )
    conn.execute(_INSERT_FTS, [rowid, *rows.texts])
    conn.executemany(
        "INSERT INTO asset_tags (asset_rowid, tag) VALUES (?, ?)", [(rowid, t) for t in rows.tags]
    )
    conn.executemany(
        "INSERT INTO asset_loras (asset_rowid, lora) VALUES (?, ?)",
        [(rowid, lora) for lora in rows.loras],
    )
    conn.executemany(
        "INSERT INTO asset_models (asset_rowid, model) VALUES (?, ?)",
        [(rowid, model) for model in rows.models],
    )


def delete_side_rows(conn: sqlite3.Connection, rowid: int) -> None:
    conn.execute("DELETE FROM asset_blobs WHERE rowid = ?", (rowid,))
    conn.execute("DELETE FROM assets_fts WHERE rowid = ?", (rowid,))
    conn.execute("DELETE FROM asset_tags WHERE asset_rowid = ?", (rowid,))
    conn.execute("DELETE FROM asset_loras WHERE asset_rowid = ?", (rowid,))
    conn.execute("DELETE FROM asset_models WHERE asset_rowid = ?", (rowid,))


def prune_removals(conn: sqlite3.Connection) -> None:
    """Keep the removals log bounded; a vector cache older than the pruned part reloads."""
    (count,) = conn.execute("SELECT COUNT(*) FROM removals").fetchone()
    if count <= REMOVALS_KEPT * 2:
        return
    (floor,) = conn.execute(
        "SELECT seq FROM removals ORDER BY seq DESC LIMIT 1 OFFSET ?", (REMOVALS_KEPT,)
    ).fetchone()
    conn.execute("DELETE FROM removals WHERE seq <= ?", (floor,))
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('removals_floor', ?)", (floor,))


def fill(conn: sqlite3.Connection, docs: Iterable[IndexDoc]) -> int:
    count = 0
    batch: list[IndexDoc] = []

    def flush() -> None:
        conn.execute("BEGIN IMMEDIATE")
        (seq,) = conn.execute(
            "UPDATE meta SET value = value + 1 WHERE key = 'seq' RETURNING value"
        ).fetchone()
        for doc in batch:
            upsert_one(conn, doc, int(seq))
        conn.execute("COMMIT")
        batch.clear()

    for doc in docs:
        batch.append(doc)
        count += 1
        if len(batch) >= REBUILD_BATCH:
            flush()
    if batch:
        flush()
    return count


def replay(old: sqlite3.Connection, new: sqlite3.Connection, since: int) -> None:
    """Apply to `new` the upserts and removals committed to `old` after seq `since`."""
    old.execute("BEGIN")
    try:
        changed = old.execute(
            "SELECT b.doc, b.vector, a.vector_model FROM assets a "
            "JOIN asset_blobs b ON b.rowid = a.rowid WHERE a.seq > ?",
            (since,),
        ).fetchall()
        removed = old.execute(
            "SELECT workspace, id FROM removals WHERE seq > ?", (since,)
        ).fetchall()
    finally:
        old.execute("COMMIT")
    if not changed and not removed:
        return
    new.execute("BEGIN IMMEDIATE")
    (seq,) = new.execute(
        "UPDATE meta SET value = value + 1 WHERE key = 'seq' RETURNING value"
    ).fetchone()
    for workspace, asset_id in removed:
        row = new.execute(
            "DELETE FROM assets WHERE workspace = ? AND id = ? RETURNING rowid",
            (workspace, asset_id),
        ).fetchone()
        if row is not None:
            delete_side_rows(new, row[0])
    for doc_json, blob, model in changed:
        doc = IndexDoc(
            asset=Asset.model_validate_json(doc_json), vector=blob_vector(blob), vector_model=model
        )
        upsert_one(new, doc, int(seq))
    new.execute("COMMIT")
