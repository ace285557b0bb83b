"""EmbeddedSearchIndex: the SearchIndex port on one SQLite journal, keyword search on
tantivy (indexer.embedded.keyword) or FTS5 (fts_search), kNN in memory (vectors, ann).

The database files and connections are indexer.embedded.database's; the derived structures
(tantivy index, vector files, HNSW graphs) live beside them and are caught up by
indexer.embedded.upkeep in the background.
"""

# SQL here is assembled only from fixed column/table names; every value is a bound
# parameter, so S608 (string-built SQL) does not apply.
# ruff: noqa: S608

from __future__ import annotations

import shutil
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

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
from indexer.embedded.database import Databases, create_db, unavailable
from indexer.embedded.fts_search import fts_search
from indexer.embedded.journal import delete_side_rows, fill, prune_removals, replay, upsert_one
from indexer.embedded.keyword import KeywordIndex
from indexer.embedded.knn_filter import filter_mask
from indexer.embedded.readahead import read_ahead
from indexer.embedded.schema import blob_vector
from indexer.embedded.stats import library_stats
from indexer.embedded.upkeep import Upkeep
from indexer.embedded.vectors import VectorCache

# What answers keyword searches: tantivy (indexer.embedded.keyword), or SQLite FTS5 alone.
ENGINES = ("tantivy", "sqlite")


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
        self._db = Databases(self._dir, busy_timeout_s)
        self._ann = AnnCache(self._dir / "ann", ann or AnnSettings())
        self._vectors = VectorCache(
            lambda db, workspace, model: self._ann.files(db).vectors.load(workspace, model)
        )
        # The vector sets this process wrote to since the last catch-up.
        self._touched: set[tuple[str, str]] = set()
        # Sets a streaming catch-up left behind: the run once writes pause writes their vector
        # files whatever the lag (see _catch_up_vectors).
        self._streamed: set[tuple[str, str]] = set()
        self._touched_lock = threading.Lock()
        self._upkeep = self._new_upkeep()

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

    def settle(self) -> None:
        """Wait until the background catch-up after this process's writes, and the folds it
        started, are done (tests, benchmarks)."""
        if self._upkeep is not None:
            self._upkeep.settle()
        self._ann.join()

    def mapped_files(self) -> list[Path]:
        """What this process's first kNN maps: the current HNSW graph and vector file of
        each set of the active database."""
        return self._ann.files(self._db.active()).mapped_files()

    def read_ahead(self) -> None:
        """Read the mapped files into the page cache from a background thread; returns at
        once. Out of the cache, a first kNN faults them in page by page (docs/SEARCH.md)."""
        read_ahead(self.mapped_files)

    def _new_upkeep(self) -> Upkeep | None:
        # Without background work (tests) queries catch up on their own, as they always can.
        return Upkeep(self.catch_up) if self._ann.settings.background else None

    def _written(self, sets: Iterable[tuple[str, str]]) -> None:
        with self._touched_lock:
            self._touched.update(sets)
        if self._upkeep is not None:
            self._upkeep.poke()

    def catch_up(self, streaming: bool = False) -> None:
        """Bring the derived structures up to the journal now (the upkeep thread runs this
        after writes): the tantivy index, and for each vector set this process wrote to,
        its rows in memory, its vector file and its HNSW graph (folded in its own thread).
        While writes are `streaming` in, the graph and the vector file, each rewritten
        whole, wait for a quarter of the set to change (AnnSettings.streaming_after)."""
        with self._touched_lock:
            touched, self._touched = self._touched, set()
            settling = set() if streaming else touched & self._streamed
            self._streamed -= settling
        with unavailable("catch up"):
            conn, db = self._db.conn()
            if self._keyword is not None:
                self._keyword.catch_up(conn, db)
            for key in sorted(touched):
                self._catch_up_vectors(conn, db, *key, streaming, settling=key in settling)
        if streaming:  # files left for later: the run once writes pause looks again
            with self._touched_lock:
                self._touched.update(touched)
                self._streamed.update(touched)

    def _catch_up_vectors(
        self,
        conn: sqlite3.Connection,
        db: str,
        workspace: str,
        model: str,
        streaming: bool,
        *,
        settling: bool = False,
    ) -> None:
        settings = self._ann.settings
        smallest = max(1, min(settings.vector_file_min, settings.threshold))
        entry = self._vectors.cached(db, workspace, model)
        if entry is None:  # not in memory yet: load it only for a set that needs files
            (count,) = conn.execute(
                "SELECT COUNT(*) FROM assets WHERE workspace = ? AND vector_model = ?",
                (workspace, model),
            ).fetchone()
            if count < smallest:
                return  # small: read from SQLite quickly, and searched exactly
            entry = self._vectors.entry(db, workspace, model)
        with entry.lock:
            entry.sync(conn)
            snap = entry.snapshot()
            arrays = entry.arrays()
        files = self._ann.files(db)
        files.fold_if_due(entry, snap, streaming)
        if snap.live < settings.vector_file_min:
            return
        saved = files.vectors.seq(workspace, model)
        behind = snap.rowids.size if saved < 0 else int(np.count_nonzero(snap.changed > saved))
        due = settings.vector_file_after(snap.live)
        if streaming:
            due = max(due, settings.streaming_after(snap.live))
        # Once a stream of writes pauses, any lag is written out: a process that loads a
        # file missing rows added since copies the whole mapped matrix to append them (2 GB
        # and 4 s at 1M), so a bulk import must not end with its last rows only in SQLite.
        if behind >= due or (behind and (saved < 0 or settling)):
            files.vectors.save(workspace, model, arrays, snap.seq)

    def _remove_db_files(self, name: str) -> None:
        self._db.remove_files(name)
        shutil.rmtree(self._dir / "ann" / name, ignore_errors=True)

    # -- SearchIndex --------------------------------------------------------------------

    def ensure(self) -> None:
        """Create the directory and an empty database when missing."""
        with unavailable("ensure"):
            conn, _ = self._db.conn()
            conn.execute("SELECT value FROM meta WHERE key = 'seq'").fetchone()

    def check(self) -> None:
        """Raise IndexUnavailable unless the active database can be opened and read."""
        with self._db.read("check") as conn:
            conn.execute("SELECT value FROM meta WHERE key = 'seq'").fetchone()
            conn.execute("SELECT rowid FROM assets LIMIT 1").fetchone()

    def upsert(self, docs: Sequence[IndexDoc]) -> None:
        """Insert or replace docs; one older than the stored revision is ignored."""
        if not docs:
            return
        with self._db.write("upsert") as (conn, seq):
            for doc in docs:
                upsert_one(conn, doc, seq)
        self._written((d.asset.workspace, d.vector_model) for d in docs
                      if d.vector_model is not None)  # fmt: skip

    def remove(self, workspace: str, asset_ids: Sequence[str]) -> None:
        if not asset_ids:
            return
        with self._db.write("remove") as (conn, seq):
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
        self._written(())

    def get(self, workspace: str, asset_id: str) -> IndexDoc | None:
        with self._db.read("get") as conn:
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
            with self._db.read("revisions") as conn:
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
            with unavailable("search"):
                conn, db = self._db.conn()
                try:
                    return self._keyword.search(conn, db, query)
                except ValueError as exc:  # tantivy's error for a failed search or write
                    raise IndexUnavailable(f"embedded index: search failed: {exc}") from exc
        with self._db.read("search") as conn:
            return fts_search(conn, query)

    def knn(self, query: VectorQuery) -> list[Hit]:
        """Top-k by exact dot product among `query.model`'s vectors in the workspace (from
        an HNSW graph's candidates past the ANN threshold: indexer/embedded/ann.py)."""
        with unavailable("knn"):
            conn, db = self._db.conn()
            entry = self._vectors.entry(db, query.workspace, query.model)
            with entry.lock:
                entry.sync(conn)
                snap = entry.snapshot()
                wants_file = (
                    not (entry.restored or entry.file_requested)
                    and snap.live >= self._ann.settings.vector_file_min
                )
                entry.file_requested |= wants_file
            if wants_file:
                # Read whole from SQLite (a library from before vector files, or a file that
                # was lost): the upkeep writes one so that the next process maps it instead.
                self._written([(query.workspace, query.model)])
            mask = filter_mask(conn, snap, query.workspace, query.filters, query.exclude_ids)
            best = self._ann.files(db).top_k(entry, snap, query.vector, query.k, mask)
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
        with self._db.read("stats") as conn:
            return library_stats(conn, workspace)

    def rebuild(self, docs: Iterable[IndexDoc]) -> int:
        """Write `docs` into a new database file, replay writes made to the old one in the
        meantime, then switch `current` to it atomically. Returns the number of docs."""
        with unavailable("rebuild"):
            old_conn, old_db = self._db.conn()
            (start_seq,) = old_conn.execute("SELECT value FROM meta WHERE key = 'seq'").fetchone()
            name = f"index-{uuid.uuid4().hex}.sqlite3"
            new = create_db(self._dir / name, self._db.busy_timeout_s)
            try:
                count = fill(new, docs)
                if self._keyword is not None:
                    # Built before the switch, so that searches after it only catch up the
                    # few writes replayed below.
                    self._keyword.catch_up(new, name)
                self._ann.detached(name).build_all(new)
                with self._db.write_lock:
                    # Writes that reached the old database while we were building.
                    replay(old_conn, new, int(start_seq))
                    new.close()
                    self._db.switch(name)
            except BaseException:
                new.close()
                self._remove_db_files(name)
                raise
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
        """Stop the background catch-up and close every connection this index opened (any
        thread); later calls reopen."""
        if self._upkeep is not None:
            self._upkeep.close()
            self._upkeep = self._new_upkeep()
        self._db.close()
        self._vectors.clear()
        if self._keyword is not None:
            self._keyword.close()
        self._ann.close()
