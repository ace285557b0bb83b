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

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from assetlens.domain import AssetStatus
from assetlens.errors import InvalidInput

STATUS_CODES: dict[str, int] = {status.value: code for code, status in enumerate(AssetStatus)}
_DEAD = -1
_MIN_CAPACITY = 1024

Row = tuple[str, str | None, bytes | None, str, int]  # id, vector_model, vector, status, seq


@dataclass(slots=True)
class Snapshot:
    """What a search needs, taken under the lock and used outside it (arrays are replaced,
    never shrunk in place, so a snapshot stays valid)."""

    ids: list[str]
    positions: dict[str, int]
    matrix: npt.NDArray[np.float32]
    status: npt.NDArray[np.int8]
    changed: npt.NDArray[np.int64]
    seq: int
    live: int  # rows not dead


class ModelVectors:
    """The vectors of one (workspace, model), kept in step with the database by seq."""

    def __init__(self, workspace: str, model: str) -> None:
        self.workspace = workspace
        self.model = model
        self.seq = -1  # -1: never loaded
        self.lock = threading.Lock()
        self._ids: list[str] = []
        self._pos: dict[str, int] = {}
        self._matrix: npt.NDArray[np.float32] = np.zeros((0, 0), dtype=np.float32)
        self._status: npt.NDArray[np.int8] = np.zeros(0, dtype=np.int8)
        self._changed: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self._dead = 0

    @classmethod
    def of(cls, workspace: str, model: str, ids: Sequence[str],
           matrix: npt.NDArray[np.float32], status: str, seq: int) -> ModelVectors:  # fmt: skip
        """Vectors given whole, all with one status and last changed at `seq` (benchmarks
        measure the kNN path with them; the index loads its vectors from SQLite)."""
        made = cls(workspace, model)
        made._ids, made._pos = list(ids), {asset_id: i for i, asset_id in enumerate(ids)}
        made._matrix = matrix
        made._status = np.full(len(ids), STATUS_CODES[status], dtype=np.int8)
        made._changed = np.full(len(ids), seq, dtype=np.int64)
        made.seq = seq
        return made

    @property
    def dim(self) -> int:
        return int(self._matrix.shape[1])

    def sync(self, conn: sqlite3.Connection) -> None:
        """Apply every change committed since the last sync (one read snapshot)."""
        conn.execute("BEGIN")
        try:
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            current, floor = int(meta["seq"]), int(meta.get("removals_floor", 0))
            if current == self.seq:
                return
            if self.seq < 0 or self.seq < floor:
                rows: list[Row] = conn.execute(
                    "SELECT a.id, a.vector_model, b.vector, a.status, a.seq FROM assets a "
                    "JOIN asset_blobs b ON b.rowid = a.rowid "
                    "WHERE a.workspace = ? AND a.vector_model = ?",
                    (self.workspace, self.model),
                ).fetchall()
                self._reset()
                removed: list[tuple[str, int]] = []
            else:
                rows = conn.execute(
                    "SELECT a.id, a.vector_model, b.vector, a.status, a.seq FROM assets a "
                    "LEFT JOIN asset_blobs b ON b.rowid = a.rowid "
                    "WHERE a.workspace = ? AND a.seq > ?",
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
            self._ids, self._pos, self._matrix[:n], self._status[:n], self._changed[:n], self.seq,
            n - self._dead,
        )

    def _reset(self) -> None:
        self._ids, self._pos, self._dead = [], {}, 0
        self._matrix = np.zeros((0, 0), dtype=np.float32)
        self._status = np.zeros(0, dtype=np.int8)
        self._changed = np.zeros(0, dtype=np.int64)

    def _drop(self, asset_id: str, seq: int) -> None:
        pos = self._pos.get(asset_id)
        if pos is not None and self._status[pos] != _DEAD:
            self._status[pos] = _DEAD
            self._changed[pos] = seq
            self._dead += 1

    def _apply(self, rows: Sequence[Row]) -> None:
        for asset_id, model, blob, status, seq in rows:
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
            pos = self._pos.get(asset_id)
            if pos is None:
                pos = self._append(asset_id)
            elif self._status[pos] == _DEAD:
                self._dead -= 1
            self._matrix[pos] = vector
            self._status[pos] = STATUS_CODES.get(status, 0)
            self._changed[pos] = seq

    def _append(self, asset_id: str) -> int:
        pos = len(self._ids)
        if pos >= self._matrix.shape[0]:
            capacity = max(_MIN_CAPACITY, pos * 2)
            # New arrays, so a snapshot taken before keeps its own (copy-on-grow).
            matrix = np.zeros((capacity, self.dim), dtype=np.float32)
            matrix[:pos] = self._matrix[:pos]
            status = np.full(capacity, _DEAD, dtype=np.int8)
            status[:pos] = self._status[:pos]
            changed = np.zeros(capacity, dtype=np.int64)
            changed[:pos] = self._changed[:pos]
            self._matrix, self._status, self._changed = matrix, status, changed
        # Appending keeps earlier positions, so a snapshot's first n ids stay right.
        self._ids.append(asset_id)
        self._pos[asset_id] = pos
        return pos

    def _compact(self) -> None:
        keep = np.flatnonzero(self._status[: len(self._ids)] != _DEAD)
        self._ids = [self._ids[i] for i in keep]
        self._pos = {asset_id: i for i, asset_id in enumerate(self._ids)}
        self._matrix = np.ascontiguousarray(self._matrix[keep])
        self._status = self._status[keep].copy()
        self._changed = self._changed[keep].copy()
        self._dead = 0


def check_query(snap: Snapshot, vector: Sequence[float]) -> npt.NDArray[np.float32]:
    """The query as a float32 array of the model's dimension (InvalidInput otherwise)."""
    query = np.asarray(vector, dtype=np.float32)
    if query.ndim != 1 or query.size != snap.matrix.shape[1]:
        raise InvalidInput(
            f"vector has {query.size} dimensions; this model's vectors have {snap.matrix.shape[1]}"
        )
    return query


def candidate_mask(
    snap: Snapshot,
    statuses: Collection[str],
    allowed: Collection[str] | None,
    exclude: Collection[str],
) -> npt.NDArray[np.bool_]:
    """By position: live, status in `statuses`, in `allowed` when given, not in `exclude`."""
    n = int(snap.matrix.shape[0])
    codes = np.array([STATUS_CODES[s] for s in statuses if s in STATUS_CODES], dtype=np.int8)
    if allowed is None:
        mask = np.isin(snap.status, codes)
    else:
        mask = np.zeros(n, dtype=bool)
        positions = _positions(snap, allowed)
        mask[positions] = np.isin(snap.status[positions], codes)
    if exclude:
        mask[_positions(snap, exclude)] = False
    return mask


def _positions(snap: Snapshot, ids: Collection[str]) -> npt.NDArray[np.int64]:
    n = int(snap.matrix.shape[0])
    return np.fromiter(
        (p for i in ids if (p := snap.positions.get(i)) is not None and p < n), dtype=np.int64
    )


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
    """ModelVectors per (database file, workspace, model), created on first use."""

    def __init__(self) -> None:
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
                found = self._entries[key] = ModelVectors(workspace, model)
            return found

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
