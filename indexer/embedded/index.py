"""EmbeddedSearchIndex: the SearchIndex port on one SQLite journal, keyword search on
tantivy (indexer.embedded.keyword) or FTS5 (fts_search), kNN in memory (vectors, ann).

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

from assetlens.domain import Asset
from assetlens.errors import IndexUnavailable
from assetlens.query import (
    Hit,
    IndexDoc,
    SearchPage,
    SearchQuery,
    VectorQuery,
)
from assetlens.stats import IndexStats
from indexer.embedded.ann import AnnCache, AnnSettings
from indexer.embedded.fts_search import fts_search
from indexer.embedded.journal import delete_side_rows, fill, prune_removals, replay, upsert_one
from indexer.embedded.keyword import KeywordIndex
from indexer.embedded.schema import DDL, blob_vector, migrate
from indexer.embedded.stats import library_stats
from indexer.embedded.translate import (
    filter_where,
)
from indexer.embedded.vectors import VectorCache

POINTER = "current"
# What answers keyword searches: tantivy (indexer.embedded.keyword), or SQLite FTS5 alone.
ENGINES = ("tantivy", "sqlite")
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
                upsert_one(conn, doc, seq)

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
                delete_side_rows(conn, row[0])
                conn.execute(
                    "INSERT INTO removals (seq, workspace, id) VALUES (?, ?, ?)",
                    (seq, workspace, asset_id),
                )
            prune_removals(conn)

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
        with self._read("search") as conn:
            return fts_search(conn, query)

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
                count = fill(new, docs)
                if self._keyword is not None:
                    # Built before the switch, so that searches after it only catch up the
                    # few writes replayed below.
                    self._keyword.catch_up(new, name)
                self._ann.detached(name).build_all(new)
                with self._write_lock:
                    # Writes that reached the old database while we were building.
                    replay(old_conn, new, int(start_seq))
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
