"""The embedded index's database files: which one is active, and each thread's connection.

Layout of the index directory:
    current                 the name of the active database file (replaced atomically)
    index-<hex>.sqlite3     databases; `rebuild` writes a new one, then switches `current`

Every operation checks `current` (one stat) so a switch made by another process is seen at
once. Each thread has its own connection (WAL mode: readers never block the writer).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

from assetlens.errors import IndexUnavailable
from indexer.embedded.schema import DDL, migrate

POINTER = "current"


@contextlib.contextmanager
def unavailable(action: str) -> Iterator[None]:
    """SQLite failures (locked past the busy timeout, unreadable file, disk full) become
    IndexUnavailable, so the core never sees a library exception."""
    try:
        yield
    except sqlite3.Error as exc:
        raise IndexUnavailable(f"embedded index: {action} failed: {exc}") from exc
    except OSError as exc:
        raise IndexUnavailable(f"embedded index: {action} failed: {exc.strerror}") from exc


def connect(path: Path, busy_timeout_s: float) -> sqlite3.Connection:
    """A connection to an existing database file, in autocommit mode (explicit BEGINs)."""
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


def create_db(path: Path, busy_timeout_s: float) -> sqlite3.Connection:
    """A new database file with the current schema (an existing file is an error)."""
    path.touch(exist_ok=False)
    conn = connect(path, busy_timeout_s)
    conn.executescript(DDL)
    return conn


def write_atomic(path: Path, text: str, *, exclusive: bool = False) -> bool:
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


class Databases:
    """The active database of one index directory and this process's connections to it."""

    def __init__(self, directory: Path, busy_timeout_s: float) -> None:
        self.dir = directory
        self.busy_timeout_s = busy_timeout_s
        self._local = threading.local()
        self._lock = threading.Lock()  # guards _conns and the pointer cache
        self.write_lock = threading.Lock()  # one writer per process; rebuild's switch
        self._conns: list[sqlite3.Connection] = []
        self._pointer_key: tuple[int, int, int] | None = None
        self._db_name: str | None = None

    def active(self) -> str:
        """The active database file name, re-read when `current` was replaced."""
        pointer = self.dir / POINTER
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
        self.dir.mkdir(parents=True, exist_ok=True)
        name = f"index-{uuid.uuid4().hex}.sqlite3"
        create_db(self.dir / name, self.busy_timeout_s).close()
        # Another process may create one at the same moment; the first pointer wins.
        if not write_atomic(self.dir / POINTER, name + "\n", exclusive=True):
            self.remove_files(name)

    def switch(self, name: str) -> None:
        """Make database `name` the active one (atomically, for every process)."""
        write_atomic(self.dir / POINTER, name + "\n")
        self.active()

    def conn(self) -> tuple[sqlite3.Connection, str]:
        """This thread's connection to the active database (reopened after a switch)."""
        db = self.active()
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None and getattr(self._local, "db", None) == db:
            return conn, db
        if conn is not None:
            self._forget(conn)
        conn = connect(self.dir / db, self.busy_timeout_s)
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
    def read(self, action: str) -> Iterator[sqlite3.Connection]:
        """A connection inside one read transaction (a consistent snapshot)."""
        with unavailable(action):
            conn, _ = self.conn()
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                conn.execute("COMMIT")

    @contextlib.contextmanager
    def write(self, action: str) -> Iterator[tuple[sqlite3.Connection, int]]:
        """A connection inside one write transaction, with the seq stamped on its changes."""
        with unavailable(action), self.write_lock:
            conn, _ = self.conn()
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

    def remove_files(self, name: str) -> None:
        """Remove database `name`'s SQLite files (its derived files are the caller's)."""
        for suffix in ("", "-wal", "-shm", "-journal"):
            (self.dir / f"{name}{suffix}").unlink(missing_ok=True)

    def close(self) -> None:
        """Close every connection (any thread); later calls reopen."""
        with self._lock:
            conns, self._conns = self._conns, []
            self._pointer_key = self._db_name = None
        for conn in conns:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
        self._local = threading.local()
