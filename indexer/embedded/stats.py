"""The embedded index's library statistics (`SearchIndex.stats`): GROUP BYs over the
assets table."""

# SQL here is assembled only from fixed column names; every value is a bound parameter, so
# S608 (string-built SQL) does not apply.
# ruff: noqa: S608

from __future__ import annotations

import sqlite3

from assetlens.stats import GroupTotals, IndexStats, StatsGroup, finish_groups, totals

_LIVE = "status != 'deleted'"
# Stats dimension → the assets column it groups by.
_COLUMNS: dict[StatsGroup, str] = {
    StatsGroup.TYPE: "type",
    StatsGroup.MODEL: "model",
    StatsGroup.PROVIDER: "provider",
    StatsGroup.MONTH: "created_month",
}
# Assets, bytes, summed cost and how many have one (TOTAL is 0.0 over none, never NULL).
_SUMS = "COUNT(*), SUM(size_bytes), TOTAL(cost), COUNT(cost)"


def library_stats(conn: sqlite3.Connection, workspace: str) -> IndexStats:
    """`workspace`'s stats, read through `conn` (the caller holds one read transaction)."""
    live = conn.execute(
        f"SELECT {_SUMS} FROM assets WHERE workspace = ? AND {_LIVE}", (workspace,)
    ).fetchone()
    groups: dict[StatsGroup, list[GroupTotals]] = {}
    for group, column in _COLUMNS.items():
        rows = conn.execute(
            f"SELECT {column}, {_SUMS} FROM assets WHERE workspace = ? AND {_LIVE} "
            f"AND {column} IS NOT NULL GROUP BY {column}",
            (workspace,),
        ).fetchall()
        groups[group] = finish_groups(
            group,
            (GroupTotals(value=str(value), **totals(*sums).model_dump()) for value, *sums in rows),
        )
    trash = conn.execute(
        f"SELECT {_SUMS} FROM assets WHERE workspace = ? AND NOT ({_LIVE})", (workspace,)
    ).fetchone()
    # Copies of one file share a sha256 (and so a size): each distinct blob counts once.
    blobs, stored = conn.execute(
        "SELECT COUNT(*), SUM(size) FROM (SELECT MAX(size_bytes) AS size FROM assets "
        "WHERE workspace = ? GROUP BY sha256)",
        (workspace,),
    ).fetchone()
    return IndexStats(
        live=totals(*live),
        by_type=groups[StatsGroup.TYPE],
        by_model=groups[StatsGroup.MODEL],
        by_provider=groups[StatsGroup.PROVIDER],
        by_month=groups[StatsGroup.MONTH],
        trash=totals(*trash),
        storage_blobs=int(blobs),
        storage_bytes=int(stored or 0),
    )
