"""Keyword search on SQLite FTS5 alone (`engine="sqlite"`): text, filters, facets and
sorting in SQL over the journal's own tables."""

# SQL here is assembled only from fixed column/table names; every value is a bound
# parameter, so S608 (string-built SQL) does not apply.
# ruff: noqa: S608

from __future__ import annotations

import sqlite3
from typing import Any

from assetlens.domain import Asset
from assetlens.filters import COST_BUCKETS, SIZE_BUCKETS, Facet
from assetlens.query import FacetBucket, Hit, SearchPage, SearchQuery
from assetlens.searchtext import search_terms
from indexer.embedded.translate import (
    FACET_COLUMNS,
    FACET_SIDE_TABLES,
    Where,
    filter_where,
    match_expression,
    matched_source,
    ordering,
)

# Range facets list their buckets in range order, not by count.
_BUCKET_ORDER: dict[Facet, dict[str, int]] = {
    Facet.SIZE: {label: i for i, (label, _, _) in enumerate(SIZE_BUCKETS)},
    Facet.COST: {label: i for i, (label, _, _) in enumerate(COST_BUCKETS)},
}


def fts_search(conn: sqlite3.Connection, query: SearchQuery) -> SearchPage:
    """One page of `query` read through `conn` (a read transaction of the caller's)."""
    terms = search_terms(query.text)
    has_text = bool(terms)
    order = ordering(query.sort, has_text)
    match_params: list[Any] = [match_expression(terms)] if has_text else []
    where = filter_where(query.workspace, query.filters)
    page = Where(list(where.parts), list(where.params))
    if query.cursor:
        cond, params = order.after(query.cursor)
        page.add(cond, *params)
    score = "-m.rank" if has_text else "NULL"
    if query.facets:
        # Match once into a per-connection temp table; the count and every facet read it
        # instead of re-running the full-text match and filters.
        total = _fill_matched(conn, "matched", where, match_params)
    else:
        base = _with_match(where, match_params)
        (total,) = conn.execute(
            f"SELECT COUNT(*) FROM assets a WHERE {base.sql()}", base.params
        ).fetchone()
    rows = conn.execute(
        f"SELECT a.id, a.rowid, {order.expr}, {score} FROM {matched_source(has_text)} "
        f"WHERE {page.sql()} ORDER BY {order.order_by()} LIMIT ?",
        [*match_params, *page.params, query.limit + 1],
    ).fetchall()
    docs = _docs(conn, [r[1] for r in rows[: query.limit]])
    facets = {f.value: _count_facet(conn, query, f, match_params) for f in query.facets}
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    hits = [
        Hit(asset=Asset.model_validate_json(docs[rowid]), score=None if s is None else float(s))
        for _, rowid, _, s in rows
    ]
    next_cursor = order.cursor(rows[-1][2], rows[-1][0]) if more and rows else None
    return SearchPage(total=int(total), hits=hits, facets=facets, next_cursor=next_cursor)


def _count_facet(
    conn: sqlite3.Connection, query: SearchQuery, facet: Facet, match_params: list[Any]
) -> list[FacetBucket]:
    """`facet`'s buckets over the hits (temp.matched), or in disjunctive mode over the hits
    of the filters less the facet's own field (temp.relaxed)."""
    filters = query.facet_filters(facet)
    prefix = query.facet_prefix.get(facet, "")
    if filters is query.filters:
        return _facet(conn, facet, query.facet_size, "matched", prefix)
    _fill_matched(conn, "relaxed", filter_where(query.workspace, filters), match_params)
    return _facet(conn, facet, query.facet_size, "relaxed", prefix)


def _docs(conn: sqlite3.Connection, rowids: list[int]) -> dict[int, str]:
    """The asset JSON of each rowid."""
    if not rowids:
        return {}
    return dict(
        conn.execute(
            f"SELECT rowid, doc FROM asset_blobs WHERE rowid IN ({', '.join('?' * len(rowids))})",
            rowids,
        ).fetchall()
    )


def _with_match(where: Where, match_params: list[Any]) -> Where:
    """`where` and, with a text, the full-text match."""
    base = Where(list(where.parts), list(where.params))
    if match_params:
        base.add(
            "a.rowid IN (SELECT rowid FROM assets_fts WHERE assets_fts MATCH ?)", *match_params
        )
    return base


def _fill_matched(
    conn: sqlite3.Connection, table: str, where: Where, match_params: list[Any]
) -> int:
    """Fill the per-connection temp table `table` with the rowids passing `where` (and the
    text match); returns how many."""
    base = _with_match(where, match_params)
    conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS {table} (rowid INTEGER PRIMARY KEY)")
    conn.execute(f"DELETE FROM temp.{table}")
    count: int = conn.execute(
        f"INSERT INTO temp.{table} SELECT a.rowid FROM assets a WHERE {base.sql()}", base.params
    ).rowcount
    return count


def _facet(
    conn: sqlite3.Connection, facet: Facet, size: int, source: str, prefix: str = ""
) -> list[FacetBucket]:
    """Counts of `facet`'s values (those starting with `prefix`) over the assets in the
    temp table `source`."""
    # substr counts characters, so this is a prefix test with no LIKE/GLOB wildcards to escape.
    starts = "AND substr({0}, 1, ?) = ? " if prefix else ""
    starts_params: list[Any] = [len(prefix), prefix] if prefix else []
    if facet in FACET_SIDE_TABLES:
        side, column = FACET_SIDE_TABLES[facet]
        rows = conn.execute(
            f"SELECT s.{column}, COUNT(*) AS n FROM temp.{source} h JOIN {side} s "
            f"ON s.asset_rowid = h.rowid {starts.format(f's.{column}')}"
            f"GROUP BY s.{column} ORDER BY n DESC, s.{column} ASC LIMIT ?",
            [*starts_params, size],
        ).fetchall()
        return [FacetBucket(value=str(v), count=n) for v, n in rows]
    column = FACET_COLUMNS[facet]
    if facet is Facet.CREATED:
        order = f"a.{column} DESC"
    elif facet in _BUCKET_ORDER:
        order = "n DESC"  # re-ordered by bucket below; a handful of rows
    else:
        order = f"n DESC, a.{column} ASC"
    rows = conn.execute(
        f"SELECT a.{column}, COUNT(*) AS n FROM temp.{source} h JOIN assets a "
        f"ON a.rowid = h.rowid WHERE a.{column} IS NOT NULL {starts.format(f'a.{column}')}"
        f"GROUP BY a.{column} ORDER BY {order} LIMIT ?",
        [*starts_params, size if facet not in _BUCKET_ORDER else len(_BUCKET_ORDER[facet])],
    ).fetchall()
    if facet in _BUCKET_ORDER:
        ranks = _BUCKET_ORDER[facet]
        rows = sorted(rows, key=lambda r: ranks.get(r[0], len(ranks)))[:size]
    if facet in (Facet.AI_GENERATED, Facet.FAVORITE):
        return [FacetBucket(value="true" if v else "false", count=n) for v, n in rows]
    return [FacetBucket(value=str(v), count=n) for v, n in rows]
