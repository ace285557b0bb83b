"""Approximate kNN for large (workspace, model) vector sets: a usearch HNSW file per set.

Below `AnnSettings.threshold` live vectors kNN stays exact (indexer/embedded/vectors.py). Past
it, candidates come from an HNSW graph and are rescored with the exact vectors held in memory,
so every returned score is the true dot product and a removed asset is never returned (its
in-memory row is dead, whatever the graph still holds).

The graph is derived data, shared by every process that opens the index directory:

    ann/<database file>/<key>.json            which generation is current, and the `seq`
                                              (of the database) the graph reflects
    ann/<database file>/<key>-<gen>.usearch   the HNSW graph (labels 0..n-1), memory-mapped
    ann/<database file>/<key>-<gen>.ids.npz   the asset id of each label, packed (their
                                              UTF-8 bytes and end offsets: packed_ids.py)
    ann/<database file>/<key>-<gen>.rowids.npy   the SQLite rowid of each label
    ann/<database file>/<key>.lock            fcntl lock held while a process folds

A search uses the graph plus an exact scan of the vectors written or removed after its seq
(the delta, known from each in-memory row's `changed` seq). When the delta passes
`fold_after`, one process folds it into a new generation (incremental add and remove, or a
full build when many labels are stale), written to temporary names and renamed into place,
the `.json` last; the others see the new generation on their next query (one stat).
A generation whose `.json` has no `version` (written before 2026-12-02) keeps its ids as a
JSON list in `<key>-<gen>.ids`; it is still read, and the next fold writes the packed form.
`EmbeddedSearchIndex.rebuild` builds the graphs of the new database before switching to it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
from usearch.index import Index

from indexer.embedded.ann_graph import (
    VERSION,
    AnnSettings,
    LoadedAnn,
    added,
    ann_key,
    built,
    label_rowids,
    write_generation,
)
from indexer.embedded.file_lock import file_lock
from indexer.embedded.readahead import read_ahead
from indexer.embedded.vector_files import VectorFiles
from indexer.embedded.vectors import ModelVectors, Snapshot, best_of, check_query

__all__ = ["AnnCache", "AnnFiles", "AnnSettings", "ann_key"]

log = logging.getLogger(__name__)


class AnnFiles:
    """The graphs of one database file: loading, searching, folding and building them."""

    def __init__(self, directory: Path, settings: AnnSettings) -> None:
        self.dir = directory
        self.settings = settings
        self._lock = threading.Lock()
        self._loaded: dict[str, LoadedAnn] = {}
        self._folding: dict[str, threading.Thread] = {}
        self._delta_cache: tuple[tuple[int, int, int], npt.NDArray[np.int64]] | None = None
        self.vectors = VectorFiles(directory)

    # -- reading --------------------------------------------------------------------------

    def current(self, workspace: str, model: str) -> LoadedAnn | None:
        """The newest generation of this set's graph, or None (none yet, or unreadable)."""
        key = ann_key(workspace, model)
        meta_path = self.dir / f"{key}.json"
        try:
            st = meta_path.stat()
        except FileNotFoundError:
            return None
        stat_key = (st.st_ino, st.st_mtime_ns, st.st_size)
        with self._lock:
            found = self._loaded.get(key)
        if found is not None and found.stat_key == stat_key:
            return found
        try:
            loaded = self._load(meta_path, stat_key, workspace, model)
        except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
            # A graph is derived: an unreadable one is answered exactly and rebuilt.
            log.warning("embedded index: ANN graph %s unreadable (%s); using exact kNN",
                        meta_path, exc)  # fmt: skip
            return None
        with self._lock:
            self._loaded[key] = loaded
        return loaded

    def _load(self, meta_path: Path, stat_key: tuple[int, int, int], workspace: str,
              model: str) -> LoadedAnn:  # fmt: skip
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta["workspace"] != workspace or meta["model"] != model:
            raise ValueError("graph names another vector set")
        stem = meta_path.with_name(f"{meta_path.stem}-{meta['gen']}")
        size = int(meta["size"])
        # The first searches would fault the mapped graph in page by page: ask for it whole.
        read_ahead(lambda: [stem.with_suffix(".usearch")])
        index = Index.restore(str(stem.with_suffix(".usearch")), view=True)
        if index is None or size < index.size or index.ndim != int(meta["dim"]):
            raise ValueError("graph and its ids disagree")
        # A query-time knob, not part of the graph: graphs saved with an older default get
        # this one too. (usearch defines the setter; mypy misreads the property's layout.)
        index.expansion_search = self.settings.expansion_search  # type: ignore[misc]
        rowids_path = stem.with_suffix(".rowids.npy")
        rowids = np.load(rowids_path, allow_pickle=False) if rowids_path.exists() else None
        if rowids is not None and (rowids.dtype != np.int64 or rowids.shape != (size,)):
            raise ValueError("graph and its rowids disagree")
        # No version: written before the ids were packed (a JSON list in `.ids`).
        packed = meta.get("version", 1) >= VERSION
        return LoadedAnn(stat_key, int(meta["seq"]), int(meta["dim"]), index, size,
                         int(meta["stale"]), stem.with_suffix(".usearch"), rowids,
                         packed)  # fmt: skip

    # -- searching ------------------------------------------------------------------------

    def top_k(
        self,
        entry: ModelVectors,
        snap: Snapshot,
        vector: Sequence[float],
        k: int,
        mask: npt.NDArray[np.bool_],
    ) -> list[tuple[str, float]]:
        """The k best (id, exact dot product) among the positions `mask` lets through
        (knn_filter.candidate_mask), best first, ties by id: exact below the threshold, else
        rescored candidates from the graph."""
        if snap.matrix.shape[0] == 0:
            return []
        query = check_query(snap, vector)
        passing = int(np.count_nonzero(mask))
        if snap.live < self.settings.threshold or passing <= self.settings.exact_below:
            return best_of(snap, np.flatnonzero(mask), query, k)
        ann = self.current(entry.workspace, entry.model)
        delta = self._delta(snap, ann)
        if ann is None or ann.dim != query.size or delta.size > self.settings.fold_after:
            self.request_fold(entry)
            ann = self.current(entry.workspace, entry.model)  # a synchronous fold's result
            delta = self._delta(snap, ann)
        if ann is None or ann.dim != query.size:
            return best_of(snap, np.flatnonzero(mask), query, k)
        try:
            found = self._graph_candidates(ann, snap, query, k, mask, passing, delta)
        except (RuntimeError, ValueError, OSError) as exc:
            # A graph that loaded but cannot be searched: answer exactly (logged).
            log.warning("embedded index: ANN graph %s failed (%s); using exact kNN", ann.path, exc)
            found = None
        if found is None:
            return best_of(snap, np.flatnonzero(mask), query, k)
        return best_of(snap, found, query, k)

    def _delta(self, snap: Snapshot, ann: LoadedAnn | None) -> npt.NDArray[np.int64]:
        """Positions changed after the graph's seq; remembered per (rows, graph) pair, since
        between writes every query would compute the same (a scan of every row)."""
        since = ann.seq if ann is not None else -1
        key = (id(snap.changed), snap.seq, since)
        cached = self._delta_cache
        if cached is not None and cached[0] == key:
            return cached[1]
        delta = np.flatnonzero(snap.changed > since)
        self._delta_cache = (key, delta)
        return delta

    def _graph_candidates(
        self,
        ann: LoadedAnn,
        snap: Snapshot,
        query: npt.NDArray[np.float32],
        k: int,
        mask: npt.NDArray[np.bool_],
        passing: int,
        delta: npt.NDArray[np.int64],
    ) -> npt.NDArray[np.int64] | None:
        """Positions to rescore: the graph's nearest that pass the filters, over-fetched by
        the filters' selectivity until k pass, plus every delta row that passes; None when
        the graph would have to be searched almost whole (exact is cheaper then)."""
        fresh = delta[mask[delta]]
        size = ann.size
        rowids = label_rowids(ann, snap)
        count = max(k * self.settings.oversample,
                    math.ceil(k * self.settings.oversample * snap.live / passing))  # fmt: skip
        while True:
            if count * 2 >= size:
                if size > self.settings.exact_below:
                    return None
                labels = np.arange(size, dtype=np.int64)
            else:
                keys = ann.index.search(query, count, threads=1).keys
                labels = keys[keys < size].astype(np.int64)  # past the ids: names nothing
            found = snap.rowid_positions(rowids[labels])
            # Rows changed after the graph's seq are rescored from `fresh` instead.
            hits = found[mask[found] & (snap.changed[found] <= ann.seq)]
            if hits.size >= k or count * 2 >= size:
                return np.unique(np.concatenate([hits, fresh]))
            count *= 4

    # -- folding and building -------------------------------------------------------------

    def fold_if_due(self, entry: ModelVectors, snap: Snapshot, streaming: bool = False) -> None:
        """Request a fold when the set is past the threshold and its graph is missing or
        behind by more than fold_after rows (the upkeep's check after writes; while writes
        are streaming in, by more than a quarter of the set)."""
        if snap.live < self.settings.threshold or snap.matrix.shape[0] == 0:
            return
        due = self.settings.fold_after
        if streaming:
            due = max(due, self.settings.streaming_after(snap.live))
        ann = self.current(entry.workspace, entry.model)
        if ann is None or ann.dim != snap.matrix.shape[1] or self._delta(snap, ann).size > due:
            self.request_fold(entry)

    def request_fold(self, entry: ModelVectors) -> None:
        """Fold the delta into the graph: now (settings.background False) or in a thread,
        one per set per process; a fold another process holds the lock for is skipped."""
        key = ann_key(entry.workspace, entry.model)
        if not self.settings.background:
            self.fold(entry)
            return
        with self._lock:
            running = self._folding.get(key)
            if running is not None and running.is_alive():
                return
            thread = threading.Thread(target=self._fold_logged, args=(entry,),
                                      name=f"ann-fold-{key[:8]}", daemon=True)  # fmt: skip
            self._folding[key] = thread
        thread.start()

    def _fold_logged(self, entry: ModelVectors) -> None:
        try:
            self.fold(entry)
        except Exception:
            # A failed fold leaves the previous generation in use; searches stay correct.
            log.exception("embedded index: folding the ANN graph failed")

    def join(self) -> None:
        """Wait for this process's background folds."""
        with self._lock:
            threads, self._folding = list(self._folding.values()), {}
        for thread in threads:
            thread.join()

    def _locked(self, key: str, *, wait: bool) -> contextlib.AbstractContextManager[bool]:
        self.dir.mkdir(parents=True, exist_ok=True)
        return file_lock(self.dir / f"{key}.lock", wait=wait)

    def fold(self, entry: ModelVectors) -> None:
        """Bring this set's graph up to the entry's current rows, under the set's lock."""
        key = ann_key(entry.workspace, entry.model)
        with self._locked(key, wait=not self.settings.background) as held:
            if not held:
                return  # another process is folding; its result is seen on a later query
            with entry.lock:
                snap = entry.snapshot()
            ann = self.current(entry.workspace, entry.model)
            if ann is not None and ann.dim == snap.matrix.shape[1]:
                delta = np.flatnonzero(snap.changed > ann.seq)
                if delta.size <= self.settings.fold_after:
                    return  # folded meanwhile (by another process)
                if ann.stale + delta.size < ann.size // 3:
                    try:
                        graph = added(ann, snap, delta, self.settings)
                    except (OSError, ValueError) as exc:
                        # Its ids (read only now) are gone or damaged: built afresh below.
                        log.warning("embedded index: ANN graph %s unreadable (%s); "
                                    "building it again", ann.path, exc)  # fmt: skip
                    else:
                        write_generation(self.dir, key, entry, snap, graph)
                        return
            write_generation(self.dir, key, entry, snap, built(snap, self.settings))

    def build_all(self, conn: sqlite3.Connection) -> int:
        """Build the graph of every (workspace, model) past the threshold, and the vector
        file of every one past vector_file_min, in the database `conn` is open on (a
        rebuild's new file). Returns the number of graphs built."""
        s = self.settings
        sets = conn.execute(
            "SELECT workspace, vector_model, count(*) FROM assets WHERE vector_model IS NOT NULL "
            "GROUP BY workspace, vector_model HAVING count(*) >= ?",
            (max(min(s.threshold, s.vector_file_min), 1),),
        ).fetchall()
        graphs = 0
        for workspace, model, count in sets:
            entry = ModelVectors(workspace, model)
            entry.sync(conn)
            if count >= max(s.threshold, 1):
                with self._locked(ann_key(workspace, model), wait=True):
                    snap = entry.snapshot()
                    write_generation(self.dir, ann_key(workspace, model), entry, snap,
                                     built(snap, s))  # fmt: skip
                graphs += 1
            if count >= s.vector_file_min:
                self.vectors.save(workspace, model, entry.arrays(), entry.seq)
        return graphs

    def mapped_files(self) -> list[Path]:
        """The current graph and vector file of every set: what a new process maps and its
        first kNN faults in (older generations are deleted once a newer one is named)."""
        return sorted([*self.dir.glob("*.usearch"), *self.dir.glob("*.vectors-*.npy")])

    def disk_bytes(self) -> int:
        """Bytes of every graph and vector file of this database (benchmarks report it)."""
        return sum(p.stat().st_size for p in self.dir.glob("*") if p.is_file())


class AnnCache:
    """AnnFiles per database file of one index directory."""

    def __init__(self, root: Path, settings: AnnSettings) -> None:
        self.root = root
        self.settings = settings
        self._lock = threading.Lock()
        self._files: dict[str, AnnFiles] = {}

    def files(self, db: str) -> AnnFiles:
        with self._lock:
            found = self._files.get(db)
            if found is None:
                # Another database is active now (a rebuild): its graphs are dead weight.
                for stale in [name for name in self._files if name != db]:
                    del self._files[stale]
                found = self._files[db] = AnnFiles(self.root / db, self.settings)
            return found

    def detached(self, db: str) -> AnnFiles:
        """AnnFiles for a database not yet active (a rebuild's), outside the cache."""
        return AnnFiles(self.root / db, self.settings)

    def join(self) -> None:
        """Wait for the background folds of the active database's graphs."""
        with self._lock:
            files = list(self._files.values())
        for f in files:
            f.join()

    def close(self) -> None:
        """Forget the open graphs. A fold still running finishes on its own (daemon thread):
        closing never waits minutes for a large build, and a fold cut short by the process
        exiting leaves only a temporary file, never a half-written generation."""
        with self._lock:
            self._files = {}
