"""Exact nearest-neighbour search over the vectors of the embedded index.

The vectors of one (workspace, model) live in memory as one float32 matrix, loaded on first
use and then kept in step with the database incrementally: every write bumps a global `seq`
(stored on the changed row, or in `removals`), so a reader fetches only what changed since
the seq it last saw — including writes made by other processes. Exact search was chosen over
an ANN library after measuring (benchmarks/bench_vectors.py): at 100k × 512 one matrix-vector
product takes milliseconds on a laptop CPU and has perfect recall and no index to maintain.
Past a size threshold the candidates come from an HNSW index instead (indexer/embedded/ann.py);
this matrix still gives every returned score, and `changed` (the seq of each position's last
change) tells that index which vectors it does not know yet.
"""

# SQL here is assembled only from fixed column names; every value is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import numpy.typing as npt

from assetlens.domain import AssetStatus, AssetType
from assetlens.errors import InvalidInput
from indexer.embedded.packed_ids import PackedIds

STATUS_CODES: dict[str, int] = {status.value: code for code, status in enumerate(AssetStatus)}
TYPE_CODES: dict[str, int] = {kind.value: code for code, kind in enumerate(AssetType)}
_DEAD = -1
_MIN_CAPACITY = 1024

# rowid, id, vector_model, vector, status, type, seq
Row = tuple[int, str, str | None, bytes | None, str, str, int]
# What a vector file gives: a set's arrays and the seq they reflect (vector_files.py).
Saved = Callable[[], "tuple[Arrays, int] | None"]
_COLUMNS = "a.rowid, a.id, a.vector_model, b.vector, a.status, a.type, a.seq"


@dataclass(slots=True)
class Arrays:
    """The per-position arrays of a vector set (what a vector file holds)."""

    ids: list[str] | PackedIds  # a vector file's ids stay packed (read-only)
    matrix: npt.NDArray[np.float32]
    status: npt.NDArray[np.int8]
    changed: npt.NDArray[np.int64]  # the seq of each position's last change
    rowids: npt.NDArray[np.int64]  # the SQLite rowid of each position's asset
    types: npt.NDArray[np.int8]


class _RowidLookup:
    """Positions by SQLite rowid: the rowids sorted (usually as they are: rows are appended
    in rowid order), computed once per (arrays, seq) and shared by the snapshots."""

    def __init__(self) -> None:
        self._key: tuple[int, int, int] | None = None
        self._sorted: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self._order: npt.NDArray[np.int64] | None = None

    def find(self, rowids: npt.NDArray[np.int64], seq: int,
             wanted: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:  # fmt: skip
        # The buffer's address: each snapshot is a new view of the same arrays.
        key = (rowids.__array_interface__["data"][0], rowids.size, seq)
        if key != self._key:
            ascending = rowids.size < 2 or bool(np.all(rowids[1:] > rowids[:-1]))
            order = None if ascending else np.argsort(rowids, kind="stable")
            self._sorted, self._order = (rowids if order is None else rowids[order]), order
            self._key = key
        at: npt.NDArray[np.int64] = np.searchsorted(self._sorted, wanted).astype(np.int64)
        at[at >= self._sorted.size] = 0
        found = self._sorted[at] == wanted if self._sorted.size else np.zeros(0, dtype=bool)
        at = at[found]
        if self._order is None:
            return at
        positions: npt.NDArray[np.int64] = self._order[at]
        return positions


@dataclass(slots=True)
class Snapshot:
    """What a search needs, taken under the lock and used outside it (arrays are replaced,
    never shrunk in place, so a snapshot stays valid)."""

    ids: list[str] | PackedIds
    matrix: npt.NDArray[np.float32]
    status: npt.NDArray[np.int8]
    changed: npt.NDArray[np.int64]
    rowids: npt.NDArray[np.int64]
    types: npt.NDArray[np.int8]
    seq: int
    live: int  # rows not dead
    owner: ModelVectors

    @property
    def positions(self) -> dict[str, int]:
        """Position by asset id (built on first use; may hold positions past this snapshot)."""
        return self.owner.positions(self.ids)

    def rowid_positions(self, rowids: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """The positions of those `rowids` this snapshot holds (others left out)."""
        return self.owner.lookup.find(self.rowids, self.seq, rowids)


class ModelVectors:
    """The vectors of one (workspace, model), kept in step with the database by seq."""

    def __init__(self, workspace: str, model: str, saved: Saved | None = None) -> None:
        self.workspace = workspace
        self.model = model
        self.seq = -1  # -1: never loaded
        self._saved = saved
        # Whether the rows came from a vector file, and whether one was asked for since.
        self.restored = False
        self.file_requested = False
        self.lock = threading.Lock()
        self.lookup = _RowidLookup()
        # A vector file's ids stay packed until a row is added (then a list, made once).
        self._ids: list[str] | PackedIds = []
        self._pos: dict[str, int] | None = {}
        self._pos_lock = threading.Lock()
        self._matrix: npt.NDArray[np.float32] = np.zeros((0, 0), dtype=np.float32)
        self._status: npt.NDArray[np.int8] = np.zeros(0, dtype=np.int8)
        self._changed: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self._rowids: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self._types: npt.NDArray[np.int8] = np.zeros(0, dtype=np.int8)
        self._dead = 0

    @classmethod
    def of(cls, workspace: str, model: str, ids: Sequence[str],
           matrix: npt.NDArray[np.float32], status: str, seq: int) -> ModelVectors:  # fmt: skip
        """Vectors given whole, all images with one status, last changed at `seq` and rowids
        1..n (benchmarks measure the kNN path with them; the index loads from SQLite)."""
        made = cls(workspace, model)
        n = len(ids)
        made.restore(Arrays(
            list(ids), matrix, np.full(n, STATUS_CODES[status], dtype=np.int8),
            np.full(n, seq, dtype=np.int64), np.arange(1, n + 1, dtype=np.int64),
            np.full(n, TYPE_CODES[AssetType.IMAGE.value], dtype=np.int8),
        ), seq)  # fmt: skip
        return made

    def restore(self, arrays: Arrays, seq: int) -> None:
        """Take `arrays` (a vector file's, or given whole) as the state at `seq`. The matrix
        may be a read-only or copy-on-write mapping: it is copied before it grows."""
        self._ids, self._pos = arrays.ids, None
        self._matrix, self._status, self._changed = arrays.matrix, arrays.status, arrays.changed
        self._rowids, self._types = arrays.rowids, arrays.types
        self._dead = int(np.count_nonzero(arrays.status == _DEAD))
        self.seq = seq
        self.restored = True

    @property
    def dim(self) -> int:
        return int(self._matrix.shape[1])

    def positions(self, ids: Sequence[str] | None = None) -> dict[str, int]:
        """Position by asset id, built on first use (a restored set needs it only to apply
        changes or to look ids up, never for a plain kNN). With `ids` (a snapshot's): the
        positions in that list, which are these unless the rows were compacted or reloaded
        since (then a list of their own)."""
        with self._pos_lock:
            if ids is not None and ids is not self._ids:
                return {asset_id: i for i, asset_id in enumerate(ids)}
            if self._pos is None:
                self._pos = {asset_id: i for i, asset_id in enumerate(self._ids)}
            return self._pos

    def sync(self, conn: sqlite3.Connection) -> None:
        """Apply every change committed since the last sync (one read snapshot); the first
        starts from the set's vector file when there is one (indexer/embedded/vector_files)."""
        if self.seq < 0 and self._saved is not None and (found := self._saved()) is not None:
            self.restore(*found)
        conn.execute("BEGIN")
        try:
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            current, floor = int(meta["seq"]), int(meta.get("removals_floor", 0))
            if current == self.seq:
                return
            # Past the journal: a file of another database's history (never written so).
            if self.seq < 0 or self.seq < floor or self.seq > current:
                rows: list[Row] = conn.execute(
                    f"SELECT {_COLUMNS} FROM assets a JOIN asset_blobs b ON b.rowid = a.rowid "
                    "WHERE a.workspace = ? AND a.vector_model = ? ORDER BY a.rowid",
                    (self.workspace, self.model),
                ).fetchall()
                self._reset()
                removed: list[tuple[str, int]] = []
            else:
                rows = conn.execute(
                    f"SELECT {_COLUMNS} FROM assets a LEFT JOIN asset_blobs b "
                    "ON b.rowid = a.rowid WHERE a.workspace = ? AND a.seq > ? ORDER BY a.rowid",
                    (self.workspace, self.seq),
                ).fetchall()
                removed = conn.execute(
                    "SELECT id, seq FROM removals WHERE workspace = ? AND seq > ?",
                    (self.workspace, self.seq),
                ).fetchall()
        finally:
            conn.execute("COMMIT")
        for asset_id, seq in removed:
            self._drop(asset_id, int(seq))
        self._apply(rows)
        self.seq = current
        if self._dead > max(_MIN_CAPACITY, len(self._ids) // 2):
            self._compact()

    def snapshot(self) -> Snapshot:
        n = len(self._ids)
        return Snapshot(
            self._ids,
            self._matrix[:n],
            self._status[:n],
            self._changed[:n],
            self._rowids[:n],
            self._types[:n],
            self.seq,
            n - self._dead,
            self,
        )

    def arrays(self) -> Arrays:
        """The current arrays, trimmed to the rows in use (for writing a vector file)."""
        n = len(self._ids)
        # A list is copied (rows are appended to it); packed ids never change.
        ids = self._ids[:n] if isinstance(self._ids, list) else self._ids
        return Arrays(ids, self._matrix[:n], self._status[:n], self._changed[:n],
                      self._rowids[:n], self._types[:n])  # fmt: skip

    def _reset(self) -> None:
        self._ids, self._pos, self._dead = [], {}, 0
        self._matrix = np.zeros((0, 0), dtype=np.float32)
        self._status = np.zeros(0, dtype=np.int8)
        self._changed = np.zeros(0, dtype=np.int64)
        self._rowids = np.zeros(0, dtype=np.int64)
        self._types = np.zeros(0, dtype=np.int8)

    def _drop(self, asset_id: str, seq: int) -> None:
        pos = self.positions().get(asset_id)
        if pos is not None and self._status[pos] != _DEAD:
            self._status[pos] = _DEAD
            self._changed[pos] = seq
            self._dead += 1

    def _apply(self, rows: Sequence[Row]) -> None:
        positions = self.positions()
        for rowid, asset_id, model, blob, status, kind, seq in rows:
            if model != self.model or blob is None:
                self._drop(asset_id, seq)
                continue
            vector = np.frombuffer(blob, dtype=np.float32)
            if self._matrix.shape[1] == 0:
                self._matrix = np.zeros((0, vector.size), dtype=np.float32)
            if vector.size != self.dim:
                # A model id names one architecture; a vector of another size is corrupt.
                self._drop(asset_id, seq)
                continue
            pos = positions.get(asset_id)
            if pos is not None and self._rowids[pos] != rowid:
                # Removed and added again (a new rowid): a new position keeps the rowids
                # ascending, which makes finding rows by rowid a binary search.
                self._drop(asset_id, seq)
                pos = None
            if pos is None:
                pos = self._append(asset_id)
            elif self._status[pos] == _DEAD:
                self._dead -= 1
            self._matrix[pos] = vector
            self._status[pos] = STATUS_CODES.get(status, 0)
            self._changed[pos] = seq
            self._rowids[pos] = rowid
            self._types[pos] = TYPE_CODES.get(kind, TYPE_CODES[AssetType.OTHER.value])

    def _append(self, asset_id: str) -> int:
        pos = len(self._ids)
        if pos >= self._matrix.shape[0]:
            capacity = max(_MIN_CAPACITY, pos * 2)
            # New arrays, so a snapshot taken before keeps its own (copy-on-grow); a
            # vector file's mapping becomes memory here, at the first row added after it.
            self._matrix = _grown(self._matrix, pos, (capacity, self.dim), 0)
            self._status = _grown(self._status, pos, (capacity,), _DEAD)
            self._changed = _grown(self._changed, pos, (capacity,), 0)
            self._rowids = _grown(self._rowids, pos, (capacity,), 0)
            self._types = _grown(self._types, pos, (capacity,), 0)
        # Appending keeps earlier positions, so a snapshot's first n ids stay right.
        if not isinstance(self._ids, list):
            self._ids = self._ids.tolist()
        self._ids.append(asset_id)
        self.positions()[asset_id] = pos
        return pos

    def _compact(self) -> None:
        keep = np.flatnonzero(self._status[: len(self._ids)] != _DEAD)
        ids = self._ids if isinstance(self._ids, list) else self._ids.tolist()
        self._ids = [ids[i] for i in keep.tolist()]
        self._pos = {asset_id: i for i, asset_id in enumerate(self._ids)}
        self._matrix = np.ascontiguousarray(self._matrix[keep])
        self._status = self._status[keep].copy()
        self._changed = self._changed[keep].copy()
        self._rowids = self._rowids[keep].copy()
        self._types = self._types[keep].copy()
        self._dead = 0


def _grown(array: npt.NDArray[Any], used: int, shape: tuple[int, ...],
           fill: int) -> npt.NDArray[Any]:  # fmt: skip
    # zeros: untouched pages of a large matrix cost no memory until rows reach them.
    made = (
        np.zeros(shape, dtype=array.dtype) if fill == 0 else np.full(shape, fill, dtype=array.dtype)
    )
    made[:used] = array[:used]
    return made


def check_query(snap: Snapshot, vector: Sequence[float]) -> npt.NDArray[np.float32]:
    """The query as a float32 array of the model's dimension (InvalidInput otherwise)."""
    query = np.asarray(vector, dtype=np.float32)
    if query.ndim != 1 or query.size != snap.matrix.shape[1]:
        raise InvalidInput(
            f"vector has {query.size} dimensions; this model's vectors have {snap.matrix.shape[1]}"
        )
    return query


def best_of(
    snap: Snapshot, positions: npt.NDArray[np.int64], query: npt.NDArray[np.float32], k: int
) -> list[tuple[str, float]]:
    """The k best (id, dot product) among `positions`; best first, ties by id."""
    if positions.size == 0:
        return []
    if positions.size * 4 < snap.matrix.shape[0]:
        scores = snap.matrix[positions] @ query
    else:
        scores = (snap.matrix @ query)[positions]
    if positions.size > k:
        best = np.argpartition(-scores, k - 1)[:k]
        positions, scores = positions[best], scores[best]
    hits = [(snap.ids[int(p)], float(s)) for p, s in zip(positions, scores, strict=True)]
    hits.sort(key=lambda hit: (-hit[1], hit[0]))
    return hits


class VectorCache:
    """ModelVectors per (database file, workspace, model), created on first use; `saved`
    gives a set's vector file (db, workspace, model), read on its first sync."""

    def __init__(self, saved: Callable[[str, str, str], tuple[Arrays, int] | None] | None = None,
                 ) -> None:  # fmt: skip
        self._saved = saved
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str, str], ModelVectors] = {}

    def entry(self, db: str, workspace: str, model: str) -> ModelVectors:
        with self._lock:
            key = (db, workspace, model)
            found = self._entries.get(key)
            if found is None:
                # After a rebuild switch the old file's vectors are dead weight.
                for stale in [k for k in self._entries if k[0] != db]:
                    del self._entries[stale]
                saved = None if self._saved is None else partial(self._saved, *key)
                found = self._entries[key] = ModelVectors(workspace, model, saved)
            return found

    def cached(self, db: str, workspace: str, model: str) -> ModelVectors | None:
        """The set's ModelVectors when this process holds it already, else None."""
        with self._lock:
            return self._entries.get((db, workspace, model))

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
