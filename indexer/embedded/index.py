"""EmbeddedSearchIndex: the SearchIndex port on SQLite FTS5 plus exact in-memory kNN.

Layout of the index directory:
    current                 the name of the active database file (replaced atomically)
    index-<hex>.sqlite3     databases; `rebuild` writes a new one, then switches `current`

Every operation checks `current` (one stat) so a switch made by another process is seen at
once. Each thread has its own connection (WAL mode: readers never block the writer).
"""

# SQL here is assembled only from fixed column/table names; every value is a bound
# parameter, so S608 (string-built SQL) does not apply.
# ruff: noqa: S608

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from assetlens.domain import Asset
from assetlens.errors import IndexUnavailable
from assetlens.query import (
    COST_BUCKETS,
    SIZE_BUCKETS,
    Facet,
    FacetBucket,
    Hit,
    IndexDoc,
    SearchPage,
    SearchQuery,
    VectorQuery,
)
from assetlens.searchtext import search_terms
from assetlens.stats import IndexStats
from indexer.embedded.ann import AnnCache, AnnSettings
from indexer.embedded.keyword import KeywordIndex
from indexer.embedded.schema import DDL, FTS_COLUMNS, blob_vector, doc_rows, migrate
from indexer.embedded.stats import library_stats
from indexer.embedded.translate import (
    FACET_COLUMNS,
    FACET_SIDE_TABLES,
    Where,
    filter_where,
    match_expression,
    matched_source,
    ordering,
)
from indexer.embedded.vectors import VectorCache

POINTER = "current"
# What answers keyword searches: tantivy (indexer.embedded.keyword), or SQLite FTS5 alone.
ENGINES = ("tantivy", "sqlite")
_REBUILD_BATCH = 500
_REMOVALS_KEPT = 10_000
# Range facets list their buckets in range order, not by count.
_BUCKET_ORDER: dict[Facet, dict[str, int]] = {
    Facet.SIZE: {label: i for i, (label, _, _) in enumerate(SIZE_BUCKETS)},
    Facet.COST: {label: i for i, (label, _, _) in enumerate(COST_BUCKETS)},
}
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


@contextlib.contextmanager
def _unavailable(action: str) -> Iterator[None]:
    """SQLite failures (locked past the busy timeout, unreadable file, disk full) become
    IndexUnavailable, so the core never sees a library exception."""
    try:
        yield
    except sqlite3.Error as exc:
        raise IndexUnavailable(f"embedded index: {action} failed: {exc}") from exc
    except OSError as exc:
        raise IndexUnavailable(f"embedded index: {action} failed: {exc.strerror}") from exc


def _connect(path: Path, busy_timeout_s: float) -> sqlite3.Connection:
    # mode=rw: a missing database file is an error, never silently a new empty index.
    conn = sqlite3.connect(
        f"{path.resolve().as_uri()}?mode=rw",
        uri=True,
        timeout=busy_timeout_s,
        isolation_level=None,
        check_same_thread=False,
    )
    conn.execute("PRAGMA journal_mode = WAL")
    # The index is derived data: NORMAL keeps it consistent on a crash and may only lose
    # the last commits on power loss, which reconcile repairs.
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
    return conn


def _create_db(path: Path, busy_timeout_s: float) -> sqlite3.Connection:
    path.touch(exist_ok=False)
    conn = _connect(path, busy_timeout_s)
    conn.executescript(DDL)
    return conn


def _write_atomic(path: Path, text: str, *, exclusive: bool = False) -> bool:
    """Write `path` whole or not at all (temp, fsync, rename or link). With `exclusive` an
    existing file is kept and False returned."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    try:
        if exclusive:
            try:
                os.link(tmp, path)
            except FileExistsError:
                return False
        else:
            os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return True


class EmbeddedSearchIndex:
    """A SearchIndex in one directory, for one machine: SQLite is the journal and document
    store; keyword search (text, filters, facets, sorting) runs on a tantivy index derived
    from it (`engine="tantivy"`, indexer.embedded.keyword) or on SQLite FTS5 itself
    (`engine="sqlite"`); dot-product kNN over an in-memory float32 matrix, exact or (past
    `AnnSettings.threshold` vectors) from the candidates of an HNSW graph."""

    def __init__(self, path: Path, *, busy_timeout_s: float = 15.0, engine: str = "tantivy",
                 ann: AnnSettings | None = None) -> None:  # fmt: skip
        if engine not in ENGINES:
            raise ValueError(f"unknown embedded search engine {engine!r}")
        self._dir = Path(path)
        self._keyword = KeywordIndex(self._dir) if engine == "tantivy" else None
        self._busy_timeout_s = busy_timeout_s
        self._local = threading.local()
        self._lock = threading.Lock()  # guards _conns and the pointer cache
        self._write_lock = threading.Lock()  # one writer per process; rebuild's switch
        self._conns: list[sqlite3.Connection] = []
        self._pointer_key: tuple[int, int, int] | None = None
        self._db_name: str | None = None
        self._vectors = VectorCache()
        self._ann = AnnCache(self._dir / "ann", ann or AnnSettings())

    # -- files and connections ------------------------------------------------------------

    @property
    def directory(self) -> Path:
        return self._dir

    @property
    def ann_settings(self) -> AnnSettings:
        """When kNN uses an HNSW graph (indexer/embedded/ann.py)."""
        return self._ann.settings

    def wait_for_folds(self) -> None:
        """Wait until this process's background HNSW folds are done (tests, benchmarks)."""
        self._ann.join()

    def _active_db(self) -> str:
        """The active database file name, re-read when `current` was replaced."""
        pointer = self._dir / POINTER
        try:
            st = pointer.stat()
        except FileNotFoundError:
            self._create_initial()
            st = pointer.stat()
        key = (st.st_ino, st.st_mtime_ns, st.st_size)
        with self._lock:
            if key != self._pointer_key or self._db_name is None:
                name = pointer.read_text(encoding="utf-8").strip()
                if not name or "/" in name or name.startswith("."):
                    raise IndexUnavailable(f"embedded index: bad pointer {pointer}")
                self._pointer_key, self._db_name = key, name
            return self._db_name

    def _create_initial(self) -> None:
        self._dir.mkdir(parents=True, exist_ok=True)
        name = f"index-{uuid.uuid4().hex}.sqlite3"
        _create_db(self._dir / name, self._busy_timeout_s).close()
        # Another process may create one at the same moment; the first pointer wins.
        if not _write_atomic(self._dir / POINTER, name + "\n", exclusive=True):
            self._remove_db_files(name)

    def _conn(self) -> tuple[sqlite3.Connection, str]:
        """This thread's connection to the active database (reopened after a switch)."""
        db = self._active_db()
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None and getattr(self._local, "db", None) == db:
            return conn, db
        if conn is not None:
            self._forget(conn)
        conn = _connect(self._dir / db, self._busy_timeout_s)
        migrate(conn)
        self._local.conn, self._local.db = conn, db
        with self._lock:
            self._conns.append(conn)
        return conn, db

    def _forget(self, conn: sqlite3.Connection) -> None:
        with self._lock:
            if conn in self._conns:
                self._conns.remove(conn)
        conn.close()

    @contextlib.contextmanager
    def _read(self, action: str) -> Iterator[sqlite3.Connection]:
        """A connection inside one read transaction (a consistent snapshot)."""
        with _unavailable(action):
            conn, _ = self._conn()
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                conn.execute("COMMIT")

    @contextlib.contextmanager
    def _write(self, action: str) -> Iterator[tuple[sqlite3.Connection, int]]:
        """A connection inside one write transaction, with the seq stamped on its changes."""
        with _unavailable(action), self._write_lock:
            conn, _ = self._conn()
            # IMMEDIATE takes the write lock now (waiting up to busy_timeout for another
            # process) instead of failing when a read transaction tries to upgrade.
            conn.execute("BEGIN IMMEDIATE")
            try:
                (seq,) = conn.execute(
                    "UPDATE meta SET value = value + 1 WHERE key = 'seq' RETURNING value"
                ).fetchone()
                yield conn, int(seq)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _remove_db_files(self, name: str) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            (self._dir / f"{name}{suffix}").unlink(missing_ok=True)
        shutil.rmtree(self._dir / "ann" / name, ignore_errors=True)

    # -- SearchIndex --------------------------------------------------------------------

    def ensure(self) -> None:
        """Create the directory and an empty database when missing."""
        with _unavailable("ensure"):
            conn, _ = self._conn()
            conn.execute("SELECT value FROM meta WHERE key = 'seq'").fetchone()

    def check(self) -> None:
        """Raise IndexUnavailable unless the active database can be opened and read."""
        with self._read("check") as conn:
            conn.execute("SELECT value FROM meta WHERE key = 'seq'").fetchone()
            conn.execute("SELECT rowid FROM assets LIMIT 1").fetchone()

    def upsert(self, docs: Sequence[IndexDoc]) -> None:
        """Insert or replace docs; one older than the stored revision is ignored."""
        if not docs:
            return
        with self._write("upsert") as (conn, seq):
            for doc in docs:
                _upsert_one(conn, doc, seq)

    def remove(self, workspace: str, asset_ids: Sequence[str]) -> None:
        if not asset_ids:
            return
        with self._write("remove") as (conn, seq):
            for asset_id in dict.fromkeys(asset_ids):
                row = conn.execute(
                    "DELETE FROM assets WHERE workspace = ? AND id = ? RETURNING rowid",
                    (workspace, asset_id),
                ).fetchone()
                if row is None:
                    continue
                _delete_side_rows(conn, row[0])
                conn.execute(
                    "INSERT INTO removals (seq, workspace, id) VALUES (?, ?, ?)",
                    (seq, workspace, asset_id),
                )
            _prune_removals(conn)

    def get(self, workspace: str, asset_id: str) -> IndexDoc | None:
        with self._read("get") as conn:
            row = conn.execute(
                "SELECT b.doc, b.vector, a.vector_model FROM assets a JOIN asset_blobs b "
                "ON b.rowid = a.rowid WHERE a.workspace = ? AND a.id = ?",
                (workspace, asset_id),
            ).fetchone()
        if row is None:
            return None
        return IndexDoc(
            asset=Asset.model_validate_json(row[0]), vector=blob_vector(row[1]),
            vector_model=row[2],
        )  # fmt: skip

    def revisions(self) -> Iterator[tuple[str, str, int]]:
        """Every (workspace, id, revision), read in rowid-keyed batches so no transaction
        stays open while the caller works."""
        last = 0
        while True:
            with self._read("revisions") as conn:
                rows = conn.execute(
                    "SELECT rowid, workspace, id, revision FROM assets WHERE rowid > ? "
                    "ORDER BY rowid LIMIT 1000",
                    (last,),
                ).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            for _, workspace, asset_id, revision in rows:
                yield workspace, asset_id, int(revision)

    def search(self, query: SearchQuery) -> SearchPage:
        if self._keyword is not None:
            with _unavailable("search"):
                conn, db = self._conn()
                try:
                    return self._keyword.search(conn, db, query)
                except ValueError as exc:  # tantivy's error for a failed search or write
                    raise IndexUnavailable(f"embedded index: search failed: {exc}") from exc
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
        with self._read("search") as conn:
            if query.facets:
                # Match once into a per-connection temp table; the count and every facet
                # read it instead of re-running the full-text match and filters.
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
            facets = {
                f.value: self._count_facet(conn, query, f, match_params) for f in query.facets
            }
        more = len(rows) > query.limit
        rows = rows[: query.limit]
        hits = [
            Hit(asset=Asset.model_validate_json(docs[rowid]), score=None if s is None else float(s))
            for _, rowid, _, s in rows
        ]
        next_cursor = order.cursor(rows[-1][2], rows[-1][0]) if more and rows else None
        return SearchPage(total=int(total), hits=hits, facets=facets, next_cursor=next_cursor)

    @staticmethod
    def _count_facet(conn: sqlite3.Connection, query: SearchQuery, facet: Facet,
                     match_params: list[Any]) -> list[FacetBucket]:
        """`facet`'s buckets over the hits (temp.matched), or in disjunctive mode over the
        hits of the filters less the facet's own field (temp.relaxed)."""
        filters = query.facet_filters(facet)
        if filters is query.filters:
            return _facet(conn, facet, query.facet_size, "matched")
        _fill_matched(conn, "relaxed", filter_where(query.workspace, filters), match_params)
        return _facet(conn, facet, query.facet_size, "relaxed")

    def knn(self, query: VectorQuery) -> list[Hit]:
        """Top-k by exact dot product among `query.model`'s vectors in the workspace (from
        an HNSW graph's candidates past the ANN threshold: indexer/embedded/ann.py)."""
        filters = query.filters
        statuses = [s.value for s in filters.effective_status()]
        # Status and ids are checked in memory; any other filter asks SQLite which ids pass.
        needs_sql = bool(filters.model_dump(exclude={"status", "ids"}, exclude_defaults=True))
        with _unavailable("knn"):
            conn, db = self._conn()
            entry = self._vectors.entry(db, query.workspace, query.model)
            with entry.lock:
                entry.sync(conn)
                snap = entry.snapshot()
            allowed: list[str] | None = list(filters.ids) if filters.ids else None
            if needs_sql:
                where = filter_where(query.workspace, filters)
                where.add("a.vector_model = ?", query.model)
                allowed = [
                    r[0]
                    for r in conn.execute(f"SELECT a.id FROM assets a WHERE {where.sql()}",
                                          where.params)
                ]  # fmt: skip
            best = self._ann.files(db).top_k(entry, snap, query.vector, query.k, statuses,
                                             allowed, set(query.exclude_ids))  # fmt: skip
            if not best:
                return []
            ids = [asset_id for asset_id, _ in best]
            rows = dict(
                conn.execute(
                    f"SELECT a.id, b.doc FROM assets a JOIN asset_blobs b ON b.rowid = a.rowid "
                    f"WHERE a.workspace = ? AND a.id IN ({', '.join('?' * len(ids))})",
                    [query.workspace, *ids],
                ).fetchall()
            )
        # A hit removed between the vector snapshot and this read is simply left out.
        return [
            Hit(asset=Asset.model_validate_json(rows[asset_id]), score=score)
            for asset_id, score in best
            if asset_id in rows
        ]

    def stats(self, workspace: str) -> IndexStats:
        """GROUP BYs over the assets columns, in one read transaction (one snapshot)."""
        with self._read("stats") as conn:
            return library_stats(conn, workspace)

    def rebuild(self, docs: Iterable[IndexDoc]) -> int:
        """Write `docs` into a new database file, replay writes made to the old one in the
        meantime, then switch `current` to it atomically. Returns the number of docs."""
        with _unavailable("rebuild"):
            old_conn, old_db = self._conn()
            (start_seq,) = old_conn.execute("SELECT value FROM meta WHERE key = 'seq'").fetchone()
            name = f"index-{uuid.uuid4().hex}.sqlite3"
            new = _create_db(self._dir / name, self._busy_timeout_s)
            try:
                count = _fill(new, docs)
                if self._keyword is not None:
                    # Built before the switch, so that searches after it only catch up the
                    # few writes replayed below.
                    self._keyword.catch_up(new, name)
                self._ann.detached(name).build_all(new)
                with self._write_lock:
                    # Writes that reached the old database while we were building.
                    _replay(old_conn, new, int(start_seq))
                    new.close()
                    _write_atomic(self._dir / POINTER, name + "\n")
            except BaseException:
                new.close()
                self._remove_db_files(name)
                raise
            self._active_db()
            # Keep the database just replaced (other processes may still be reading it
            # until their next operation); remove any older one.
            for path in self._dir.glob("index-*.sqlite3"):
                if path.name not in (name, old_db):
                    self._remove_db_files(path.name)
            if self._keyword is not None:
                self._keyword.forget({name, old_db})
            return count

    def refresh(self) -> None:
        """Writes are visible on commit; nothing to do."""

    def close(self) -> None:
        """Close every connection this index opened (any thread); later calls reopen."""
        with self._lock:
            conns, self._conns = self._conns, []
            self._pointer_key = self._db_name = None
        for conn in conns:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
        self._local = threading.local()
        self._vectors.clear()
        if self._keyword is not None:
            self._keyword.close()
        self._ann.close()


def _upsert_one(conn: sqlite3.Connection, doc: IndexDoc, seq: int) -> None:
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
        _delete_side_rows(conn, rowid)
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


def _delete_side_rows(conn: sqlite3.Connection, rowid: int) -> None:
    conn.execute("DELETE FROM asset_blobs WHERE rowid = ?", (rowid,))
    conn.execute("DELETE FROM assets_fts WHERE rowid = ?", (rowid,))
    conn.execute("DELETE FROM asset_tags WHERE asset_rowid = ?", (rowid,))
    conn.execute("DELETE FROM asset_loras WHERE asset_rowid = ?", (rowid,))
    conn.execute("DELETE FROM asset_models WHERE asset_rowid = ?", (rowid,))


def _prune_removals(conn: sqlite3.Connection) -> None:
    """Keep the removals log bounded; a vector cache older than the pruned part reloads."""
    (count,) = conn.execute("SELECT COUNT(*) FROM removals").fetchone()
    if count <= _REMOVALS_KEPT * 2:
        return
    (floor,) = conn.execute(
        "SELECT seq FROM removals ORDER BY seq DESC LIMIT 1 OFFSET ?", (_REMOVALS_KEPT,)
    ).fetchone()
    conn.execute("DELETE FROM removals WHERE seq <= ?", (floor,))
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('removals_floor', ?)", (floor,))


def _fill(conn: sqlite3.Connection, docs: Iterable[IndexDoc]) -> int:
    count = 0
    batch: list[IndexDoc] = []

    def flush() -> None:
        conn.execute("BEGIN IMMEDIATE")
        (seq,) = conn.execute(
            "UPDATE meta SET value = value + 1 WHERE key = 'seq' RETURNING value"
        ).fetchone()
        for doc in batch:
            _upsert_one(conn, doc, int(seq))
        conn.execute("COMMIT")
        batch.clear()

    for doc in docs:
        batch.append(doc)
        count += 1
        if len(batch) >= _REBUILD_BATCH:
            flush()
    if batch:
        flush()
    return count


def _replay(old: sqlite3.Connection, new: sqlite3.Connection, since: int) -> None:
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
            _delete_side_rows(new, row[0])
    for doc_json, blob, model in changed:
        doc = IndexDoc(
            asset=Asset.model_validate_json(doc_json), vector=blob_vector(blob), vector_model=model
        )
        _upsert_one(new, doc, int(seq))
    new.execute("COMMIT")


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
        base.add("a.rowid IN (SELECT rowid FROM assets_fts WHERE assets_fts MATCH ?)",
                 *match_params)
    return base


def _fill_matched(conn: sqlite3.Connection, table: str, where: Where,
                  match_params: list[Any]) -> int:
    """Fill the per-connection temp table `table` with the rowids passing `where` (and the
    text match); returns how many."""
    base = _with_match(where, match_params)
    conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS {table} (rowid INTEGER PRIMARY KEY)")
    conn.execute(f"DELETE FROM temp.{table}")
    count: int = conn.execute(
        f"INSERT INTO temp.{table} SELECT a.rowid FROM assets a WHERE {base.sql()}", base.params
    ).rowcount
    return count


def _facet(conn: sqlite3.Connection, facet: Facet, size: int, source: str) -> list[FacetBucket]:
    """Counts of `facet`'s values over the assets in the temp table `source`."""
    if facet in FACET_SIDE_TABLES:
        side, column = FACET_SIDE_TABLES[facet]
        rows = conn.execute(
            f"SELECT s.{column}, COUNT(*) AS n FROM temp.{source} h JOIN {side} s "
            f"ON s.asset_rowid = h.rowid "
            f"GROUP BY s.{column} ORDER BY n DESC, s.{column} ASC LIMIT ?",
            [size],
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
        f"ON a.rowid = h.rowid WHERE a.{column} IS NOT NULL "
        f"GROUP BY a.{column} ORDER BY {order} LIMIT ?",
        [size if facet not in _BUCKET_ORDER else len(_BUCKET_ORDER[facet])],
    ).fetchall()
    if facet in _BUCKET_ORDER:
        ranks = _BUCKET_ORDER[facet]
        rows = sorted(rows, key=lambda r: ranks.get(r[0], len(ranks)))[:size]
    if facet in (Facet.AI_GENERATED, Facet.FAVORITE):
        return [FacetBucket(value="true" if v else "false", count=n) for v, n in rows]
    return [FacetBucket(value=str(v), count=n) for v, n in rows]
