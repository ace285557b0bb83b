"""KeywordIndex: text, filters, facets and sorting of the embedded index on tantivy.

SQLite stays the journal and the document store: every write is committed there first with
a `seq`. The tantivy index is derived from one database file and lives beside it:

    index-<hex>.sqlite3.keyword/
        lock        fcntl lock: one process at a time brings the index up to date
        applied     "<schema version> <seq>": every journal write up to seq is in `data`
        data/       the tantivy index

Before a search answers, the index catches up: when `applied` is behind the journal's seq,
the searching process takes the lock (or waits while another process holds it), re-reads
`applied`, and replays the assets written since (and the removals log) into tantivy, commits,
then records the seq. A crash before the tantivy commit loses only uncommitted work; a crash
between the commit and `applied` makes the next catch-up replay writes it already holds, which
is harmless (each asset is replaced by its key). A write is therefore visible to the next
search in any process (read-your-writes), and a library without the directory (made before
this engine, or by a `rebuild`) gets it built from SQLite on first use.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tantivy

from assetlens.cursors import encode_cursor
from assetlens.domain import Asset
from assetlens.query import FacetBucket, Hit, SearchPage, SearchQuery
from indexer.embedded.file_lock import file_lock
from indexer.embedded.keyword_counts import TOTAL_AGG, CoverageCache, facet_groups
from indexer.embedded.keyword_query import (
    KeywordOrdering,
    combined,
    facet_aggregation,
    facet_buckets,
    filter_query,
    ordering,
    prefix_expander,
    text_query,
)
from indexer.embedded.keyword_schema import (
    KEY,
    KEYWORD_SCHEMA_VERSION,
    ROWID,
    SCHEMA,
    changed_rows,
    doc_key,
    register_analysis,
)

SUFFIX = ".keyword"
# Writer memory: a catch-up of a few writes needs little; a build from scratch uses more so
# that tantivy flushes fewer, larger segments.
_SMALL_HEAP = 32_000_000
_BUILD_HEAP = 256_000_000
_BUILD_THRESHOLD = 5_000
_SQL_CHUNK = 30_000


def keyword_dir(index_dir: Path, db_name: str) -> Path:
    """The keyword index directory of one database file."""
    return index_dir / f"{db_name}{SUFFIX}"


@dataclass(slots=True)
class _Opened:
    index: tantivy.Index
    seq: int  # the applied seq the reader last reloaded at


def _read_applied(path: Path) -> int:
    """The seq recorded in `applied`, or -1 when missing, unreadable or of another version."""
    try:
        version, seq = path.read_text(encoding="utf-8").split()
        return int(seq) if int(version) == KEYWORD_SCHEMA_VERSION else -1
    except (FileNotFoundError, ValueError):
        return -1


def _write_applied(path: Path, seq: int) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(f"{KEYWORD_SCHEMA_VERSION} {seq}\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _journal_seq(conn: sqlite3.Connection) -> int:
    (seq,) = conn.execute("SELECT value FROM meta WHERE key = 'seq'").fetchone()
    return int(seq)


class KeywordIndex:
    """The tantivy side of an EmbeddedSearchIndex directory (one per database file)."""

    def __init__(self, index_dir: Path) -> None:
        self._dir = index_dir
        self._mutex = threading.Lock()  # one catch-up per process at a time
        self._opened: dict[str, _Opened] = {}
        self._coverage = CoverageCache()

    # -- catching up ------------------------------------------------------------------------

    def searcher(self, conn: sqlite3.Connection, db: str) -> tantivy.Searcher:
        """A searcher holding every write committed to database `db` before this call."""
        return self.searcher_at(conn, db)[0]

    def searcher_at(self, conn: sqlite3.Connection, db: str) -> tuple[tantivy.Searcher, int]:
        """`searcher`, and the applied journal seq it holds."""
        journal = _journal_seq(conn)
        home = keyword_dir(self._dir, db)
        applied = _read_applied(home / "applied")
        if applied < journal:
            applied = self.catch_up(conn, db)
        with self._mutex:
            opened = self._opened.get(db)
        if opened is None:
            try:
                index = tantivy.Index.open(str(home / "data"))
            except (ValueError, OSError):
                # Recorded as applied yet unreadable (removed or damaged): built again.
                applied = self.catch_up(conn, db, rebuild=True)
                index = tantivy.Index.open(str(home / "data"))
            register_analysis(index)
            index.config_reader("Manual")
            with self._mutex:
                opened = self._opened.setdefault(db, _Opened(index, applied))
        with self._mutex:
            if opened.seq < applied:
                opened.index.reload()
                opened.seq = applied
            return opened.index.searcher(), opened.seq

    def catch_up(self, conn: sqlite3.Connection, db: str, *, rebuild: bool = False) -> int:
        """Bring db's keyword index up to the journal (building it when missing, or with
        `rebuild`); returns the seq it now holds. Waits while another process does the same."""
        home = keyword_dir(self._dir, db)
        home.mkdir(exist_ok=True)
        with self._mutex, file_lock(home / "lock"):
            applied = _read_applied(home / "applied")
            conn.execute("BEGIN")
            try:
                journal = _journal_seq(conn)
                if applied >= journal and not rebuild:
                    return applied
                floor_row = conn.execute(
                    "SELECT value FROM meta WHERE key = 'removals_floor'"
                ).fetchone()
                # Removals at or below the floor were pruned from the log: an index that old
                # cannot tell what was removed, so it is built again.
                full = (
                    rebuild
                    or applied < 0
                    or (floor_row is not None and int(floor_row[0]) > applied)
                )
                self._apply(conn, home, applied, full)
            finally:
                conn.execute("COMMIT")
            _write_applied(home / "applied", journal)
            return journal

    def _apply(self, conn: sqlite3.Connection, home: Path, applied: int, full: bool) -> None:
        """Replay the journal after `applied` (all of it when `full`) into tantivy, inside the
        caller's read transaction, and commit."""
        data = home / "data"
        if full:
            # A fresh index: whatever a crashed build or an older version left goes.
            self._opened.pop(home.name.removesuffix(SUFFIX), None)
            shutil.rmtree(data, ignore_errors=True)
        data.mkdir(exist_ok=True)
        index = tantivy.Index(SCHEMA, path=str(data), reuse=True)
        register_analysis(index)
        pending = 0 if full else int(conn.execute(
            "SELECT COUNT(*) FROM assets WHERE seq > ?", (applied,)).fetchone()[0])  # fmt: skip
        big = full or pending > _BUILD_THRESHOLD
        writer = index.writer(_BUILD_HEAP if big else _SMALL_HEAP, 0 if big else 1)
        try:
            if not full:
                for workspace, asset_id in conn.execute(
                    "SELECT workspace, id FROM removals WHERE seq > ?", (applied,)
                ):
                    writer.delete_documents_by_term(KEY, doc_key(workspace, asset_id))
            for row in changed_rows(conn, 0 if full else applied):
                if not full:
                    writer.delete_documents_by_term(KEY, row.key)
                writer.add_document(row.document())
            writer.commit()
        except BaseException:
            writer.rollback()
            raise
        finally:
            writer.wait_merging_threads()

    # -- searching --------------------------------------------------------------------------

    def search(self, conn: sqlite3.Connection, db: str, query: SearchQuery) -> SearchPage:
        searcher, seq = self.searcher_at(conn, db)
        text = text_query(query.text, prefix_expander(searcher))
        order = ordering(query.sort, text is not None)
        filters = filter_query(query.workspace, query.filters)
        base = combined(text, filters)
        cursor = order.decode(query.cursor) if query.cursor else None
        # When every document passes the filters (a library of one workspace, nothing in the
        # trash, no filter), the text alone finds the same hits, and tantivy skips the blocks
        # of a text query that cannot reach the top k (it cannot once the filters are ANDed
        # in). Wider filters (a disjunctive facet's) then pass every document too.
        text_alone = text is not None and self._passes_all(searcher, db, seq, query, filters)
        # The facets' aggregation pass counts the hits too when one of its groups has the
        # query's own filters; then the page need not count them.
        facets, total = _facets(searcher, text, query, text_alone) if query.facets else ({}, None)
        # Otherwise the page's own search counts them; with a cursor (its query is narrowed
        # to the cursor's side), or for a full read, they are counted first.
        if total is None and (cursor or (order.is_rank and not order.descending)):
            total = _count(searcher, base)
        page_query = text if text is not None and text_alone else base
        rows, more, total = _page(conn, searcher, page_query, order, cursor, query.limit, total)
        docs = _docs(conn, [rowid for _, _, rowid in rows])
        hits = [
            Hit(asset=Asset.model_validate_json(docs[rowid]),
                score=float(value) if order.is_rank else None)
            for value, _, rowid in rows if rowid in docs
        ]  # fmt: skip
        next_cursor = encode_cursor([rows[-1][0], rows[-1][1]]) if more and rows else None
        return SearchPage(total=total, hits=hits, facets=facets, next_cursor=next_cursor)

    def _passes_all(
        self,
        searcher: tantivy.Searcher,
        db: str,
        seq: int,
        query: SearchQuery,
        filters: tantivy.Query,
    ) -> bool:
        """Whether every document of the index passes the query's workspace and filters (a
        library of one workspace, no trash, no filter): counted once per applied seq."""
        key = (db, seq, query.model_dump_json(include={"workspace", "filters"}))
        return self._coverage.get(key, lambda: _count(searcher, filters) == searcher.num_docs)

    # -- files ------------------------------------------------------------------------------

    def forget(self, keep: set[str]) -> None:
        """Remove the keyword index of every database file not in `keep`."""
        with self._mutex:
            for db in [name for name in self._opened if name not in keep]:
                del self._opened[db]
        for path in self._dir.glob(f"index-*{SUFFIX}"):
            if path.name.removesuffix(SUFFIX) not in keep:
                shutil.rmtree(path, ignore_errors=True)

    def close(self) -> None:
        with self._mutex:
            self._opened.clear()


def _page(
    conn: sqlite3.Connection,
    searcher: tantivy.Searcher,
    base: tantivy.Query,
    order: KeywordOrdering,
    cursor: tuple[Any, str] | None,
    limit: int,
    total: int | None,
) -> tuple[list[tuple[Any, str, int]], bool, int]:
    """The page's (sort value, asset id, rowid) rows after `cursor`, whether more follow,
    and the number of hits (counted by the first search when `total` is None).

    tantivy orders by score or one field; ties are ordered by asset id here. A top-k answer
    is exact for every value strictly before its last one, so the window grows until it holds
    `limit` such hits after the cursor, or every hit."""
    query = base
    if cursor is not None and (bound := order.cursor_range(cursor)) is not None:
        query = tantivy.Query.boolean_query(
            [(tantivy.Occur.Must, base), (tantivy.Occur.Must, bound)])  # fmt: skip
    # Least relevant first is no top-k: every hit is read.
    # Twice the page: ties at the boundary seldom leave fewer than `limit` exact hits.
    k = 2 * limit + 1 if total is None or order.descending or not order.is_rank else total + 1
    while True:
        direction = tantivy.Order.Desc if order.descending else tantivy.Order.Asc
        result = searcher.search(query, k, count=total is None, order_by_field=order.field,
                                 order=direction)  # fmt: skip
        if total is None:
            total = int(result.count)  # type: ignore[attr-defined]  # not in the type stubs
        found = result.hits
        complete = len(found) < k
        if not complete:
            boundary = found[-1][0]
            found = [hit for hit in found if order.before(hit[0], boundary)]
        rowids = searcher.fast_field_values(ROWID, [address for _, address in found])
        known = [None if r is None else int(r) for r in rowids]
        ids = _ids(conn, [r for r in known if r is not None])
        rows = [(value, ids[rowid], rowid)
                for (value, _), rowid in zip(found, known, strict=True)
                if rowid is not None and rowid in ids]  # fmt: skip
        if cursor is not None:
            rows = [r for r in rows if order.after_cursor(r[0], r[1], cursor)]
        # Hits tied at the boundary (left out above) come after every row kept: with
        # `limit` rows the page is exact and more follow.
        if complete or len(rows) >= limit:
            break
        k = min(k * 4, total + 1)
    rows.sort(key=lambda r: r[1])
    rows.sort(key=lambda r: r[0], reverse=order.descending)
    return rows[:limit], not complete or len(rows) > limit, total


def _count(searcher: tantivy.Searcher, query: tantivy.Query) -> int:
    """How many documents match `query`."""
    result = searcher.search(query, 1, count=True)
    # The type stubs leave out SearchResult.count, which tantivy-py has.
    return int(result.count)  # type: ignore[attr-defined]


def _ids(conn: sqlite3.Connection, rowids: list[int]) -> dict[int, str]:
    """The asset id of each rowid still in the journal."""
    found: dict[int, str] = {}
    for start in range(0, len(rowids), _SQL_CHUNK):
        chunk = rowids[start : start + _SQL_CHUNK]
        found.update(conn.execute(
            f"SELECT rowid, id FROM assets WHERE rowid IN ({', '.join('?' * len(chunk))})",  # noqa: S608
            chunk,
        ).fetchall())  # fmt: skip
    return found


def _docs(conn: sqlite3.Connection, rowids: list[int]) -> dict[int, str]:
    """The asset JSON of each rowid."""
    if not rowids:
        return {}
    return dict(conn.execute(
        f"SELECT rowid, doc FROM asset_blobs WHERE rowid IN ({', '.join('?' * len(rowids))})",  # noqa: S608
        rowids,
    ).fetchall())  # fmt: skip


def _facets(
    searcher: tantivy.Searcher,
    text: tantivy.Query | None,
    query: SearchQuery,
    text_alone: bool = False,
) -> tuple[dict[str, list[FacetBucket]], int | None]:
    """Every requested facet counted over the hits, one aggregation pass per distinct set of
    filters (over the text alone with `text_alone`: every document passes them); and the
    number of hits, counted in the pass over the query's own filters when there is one (None
    otherwise)."""
    result: dict[str, list[FacetBucket]] = {}
    total: int | None = None
    for filters, facets in facet_groups(query):
        if text is not None and text_alone:
            scope = text
        else:
            scope = combined(text, filter_query(query.workspace, filters))
        aggs = {f.value: facet_aggregation(f, query.facet_prefix.get(f, "")) for f in facets}
        counts_total = filters == query.filters
        if counts_total:
            aggs[TOTAL_AGG] = {"value_count": {"field": ROWID}}
        answer = searcher.aggregate(scope, aggs)
        if counts_total:
            total = int(answer[TOTAL_AGG]["value"])
        for facet in facets:
            result[facet.value] = facet_buckets(facet, answer.get(facet.value, {}),
                                                query.facet_size)  # fmt: skip
    return {f.value: result[f.value] for f in query.facets}, total
