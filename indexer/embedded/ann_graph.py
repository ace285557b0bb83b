"""The HNSW graph files of the embedded index: settings, one loaded generation, and building,
extending and writing generations (indexer/embedded/ann.py says how they are used)."""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from usearch.index import Index

from indexer.embedded.packed_ids import PackedIds
from indexer.embedded.vectors import ModelVectors, Snapshot

_DEAD = -1
# The .json of a generation whose ids are packed in `<stem>.ids.npz`; before, a JSON list in
# `<stem>.ids` (no version in the .json), still read.
VERSION = 2
_ADD_CHUNK = 50_000  # vectors copied and added at a time (bounds the build's extra memory)


@dataclass(frozen=True, slots=True)
class AnnSettings:
    """When and how the embedded index uses an HNSW graph (defaults: docs/BENCHMARKS.md)."""

    threshold: int = 100_000  # live vectors of one (workspace, model) before the graph is used
    fold_after: int = 20_000  # delta size that makes a process fold it into the graph
    exact_below: int = 20_000  # a filtered kNN over at most this many rows is exact
    oversample: int = 4  # graph candidates per wanted hit, before filters
    background: bool = True  # fold in a thread (False: inside the query, for tests)
    dtype: str = "f16"  # graph vectors; scores always come from the float32 rows
    connectivity: int = 16
    expansion_add: int = 128
    # At 1M vectors, 100 queries: 64 gave recall@10 0.745; 256 gave 0.946-0.970 depending on
    # the build (usearch's threaded build is not deterministic), too close to 0.95; 512 gives
    # 0.981-0.991 at graph search p95 4-10 ms (benchmarks/bench_ann_breadth.py).
    expansion_search: int = 512
    threads: int = 0  # build threads; 0: every core
    # A set with this many vectors gets a vector file (indexer/embedded/vector_files.py);
    # a smaller one is read from SQLite in well under a second.
    vector_file_min: int = 5_000

    def vector_file_after(self, live: int) -> int:
        """Rows changed since a set's vector file that make the upkeep write it again: at
        most fold_after (a new process then reads at most that many rows from SQLite, about
        0.5 s at 20,000), and a twentieth of the set (a file is rewritten whole)."""
        return max(1, min(self.fold_after, max(1_000, live // 20)))

    def streaming_after(self, live: int) -> int:
        """Rows changed that make the upkeep rewrite a graph or vector file while writes are
        still streaming in: a quarter of the set, so that a bulk import of N vectors writes
        each file a bounded number of times (about 5 N rows in all) rather than every
        fold_after rows (N² / 2 fold_after); queries meanwhile scan the change exactly."""
        return max(self.fold_after, live // 4)


@dataclass(slots=True)
class LoadedAnn:
    """One generation of a graph, opened read-only (memory-mapped)."""

    stat_key: tuple[int, int, int]
    seq: int
    dim: int
    index: Index
    size: int  # labels, removed ones included
    stale: int  # labels removed from the graph
    path: Path  # the .usearch file; .ids.npz (or .ids) and .rowids.npy beside it
    # The SQLite rowid of each label (-1: removed); None for a generation written before
    # they were recorded, until label_rowids works them out from the ids.
    rowids: npt.NDArray[np.int64] | None = None
    packed: bool = True  # the ids are in .ids.npz (False: a JSON list in .ids)
    _ids: list[str] | PackedIds | None = None

    @property
    def ids(self) -> list[str] | PackedIds:
        """The asset id of each label ("" once removed), read on first use: a search needs
        only the rowids, a fold the ids."""
        if self._ids is None:
            self._ids = read_ids(self.path, packed=self.packed)
            if len(self._ids) != self.size:
                raise ValueError("graph and its ids disagree")
        return self._ids


def read_ids(path: Path, *, packed: bool) -> list[str] | PackedIds:
    """The ids of the generation whose graph is `path`: two arrays read from its .ids.npz
    (an id is decoded when asked for), or an older generation's JSON list."""
    if packed:
        with np.load(path.with_suffix(".ids.npz"), allow_pickle=False) as parts:
            return PackedIds(parts["id_bytes"], parts["id_ends"])
    ids = json.loads(path.with_suffix(".ids").read_text(encoding="utf-8"))
    if not isinstance(ids, list):
        raise ValueError("graph ids are not a list")
    return ids


def label_rowids(ann: LoadedAnn, snap: Snapshot) -> npt.NDArray[np.int64]:
    """The rowid of each of `ann`'s labels (-1: removed or unknown), from its file or, for
    an older generation, from the ids and `snap` once, then kept beside it for others (a
    label whose row changed since is not trusted anyway: its row's seq is newer)."""
    if ann.rowids is None:
        positions, n = snap.positions, snap.rowids.size
        rowids = np.fromiter(
            (int(snap.rowids[p]) if (p := positions.get(i)) is not None and p < n else -1
             for i in ann.ids), dtype=np.int64, count=ann.size)  # fmt: skip
        tmp = ann.path.with_name(f".{uuid.uuid4().hex}.rowids.tmp")
        try:
            with tmp.open("wb") as fh:
                np.save(fh, rowids, allow_pickle=False)
            _replace(tmp, ann.path.with_suffix(".rowids.npy"))
        except OSError:
            pass  # derived: worked out again by the next process
        finally:
            tmp.unlink(missing_ok=True)
        ann.rowids = rowids
    return ann.rowids


def ann_key(workspace: str, model: str) -> str:
    """The file stem of a (workspace, model) graph (ids and model names may hold any byte)."""
    return hashlib.sha256(f"{workspace}\0{model}".encode()).hexdigest()[:32]


def _replace(tmp: Path, path: Path) -> None:
    os.replace(tmp, path)


def _write_json(path: Path, value: Any) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(json.dumps(value), encoding="utf-8")
    _replace(tmp, path)


# A graph, the asset id and rowid of each label ("" and -1 once removed) and how many
# labels were removed.
Graph = tuple[Index, list[str] | PackedIds, npt.NDArray[np.int64], int]


def built(snap: Snapshot, settings: AnnSettings) -> Graph:
    """A new graph of every live row of `snap`."""
    live = np.flatnonzero(snap.status != _DEAD)
    index = new_index(int(snap.matrix.shape[1]), settings)
    for start in range(0, live.size, _ADD_CHUNK):
        part = live[start : start + _ADD_CHUNK]
        index.add(np.arange(start, start + part.size, dtype=np.uint64),
                  snap.matrix[part], threads=settings.threads)  # fmt: skip
    return index, [snap.ids[int(p)] for p in live], snap.rowids[live].copy(), 0


def added(ann: LoadedAnn, snap: Snapshot, delta: npt.NDArray[np.int64],
          settings: AnnSettings) -> Graph:  # fmt: skip
    """The graph of `ann` with the delta folded in: changed or removed rows' labels
    removed, the live ones added under new labels.

    Labels are matched to rows by rowid, in numpy: a label stays only while a row of
    `snap` outside the delta still has its rowid (that row is the label's asset, unchanged
    since: a rewritten or new row, whatever its rowid, is in the delta). Matching by asset
    id made a Python string, a dict entry and two lookups per label: 3.3 of a 5.8 s fold of
    1,000 changed rows at 1M (docs/BENCHMARKS.md)."""
    index = Index.restore(str(ann.path), view=False)
    if index is None:
        raise ValueError(f"unreadable graph {ann.path}")
    rowids = label_rowids(ann, snap).copy()
    id_bytes, id_ends = PackedIds.pack(ann.ids)
    lengths = np.diff(id_ends, prepend=np.int64(0))
    stable = snap.status != _DEAD
    stable[delta] = False
    # Rows removed and then compacted out of memory are in no delta: theirs go too. A label
    # already removed has no id; one with an id but no rowid (an older generation's, its
    # row unknown) goes as well.
    gone = np.flatnonzero((lengths > 0) & ~np.isin(rowids, snap.rowids[stable]))
    if gone.size:
        index.remove(gone.astype(np.uint64))
        rowids[gone] = -1
        keep = np.ones(lengths.size, dtype=bool)
        keep[gone] = False
        id_bytes = id_bytes[np.repeat(keep, lengths)]
        lengths[gone] = 0
    add = delta[snap.status[delta] != _DEAD]
    size = int(lengths.size)
    if add.size:
        index.add(np.arange(size, size + add.size, dtype=np.uint64),
                  snap.matrix[add], threads=settings.threads)  # fmt: skip
        new_bytes, new_ends = PackedIds.pack([snap.ids[int(p)] for p in add])
        id_bytes = np.concatenate([id_bytes, new_bytes])
        lengths = np.concatenate([lengths, np.diff(new_ends, prepend=np.int64(0))])
        rowids = np.concatenate([rowids, snap.rowids[add]])
    ids = PackedIds(id_bytes, np.cumsum(lengths, dtype=np.int64))
    return index, ids, rowids, ann.stale + int(gone.size)


def new_index(dim: int, s: AnnSettings) -> Index:
    """An empty graph with the settings' parameters (inner product)."""
    return Index(
        ndim=dim,
        metric="ip",
        dtype=s.dtype,
        connectivity=s.connectivity,
        expansion_add=s.expansion_add,
        expansion_search=s.expansion_search,
    )


def write_generation(directory: Path, key: str, entry: ModelVectors, snap: Snapshot,
                     graph: Graph) -> None:  # fmt: skip
    """Write a new generation (graph, ids and rowids first, each to a temporary name and
    renamed to the generation's own, then the .json naming it), then remove the older ones
    (a process still reading one keeps its open mapping). A crash before the .json leaves
    the previous generation named, whole; the next generation's clean-up removes the
    strays."""
    index, ids, rowids, stale = graph
    gen = uuid.uuid4().hex[:16]
    stem = directory / f"{key}-{gen}"
    tmp = uuid.uuid4().hex
    parts = {suffix: directory / f".{tmp}{suffix}.tmp"
             for suffix in (".usearch", ".ids.npz", ".rowids.npy")}  # fmt: skip
    id_bytes, id_ends = PackedIds.pack(ids)
    try:
        index.save(str(parts[".usearch"]))
        with parts[".ids.npz"].open("wb") as fh:
            np.savez(fh, id_bytes=id_bytes, id_ends=id_ends)
        with parts[".rowids.npy"].open("wb") as fh:
            np.save(fh, rowids.astype(np.int64), allow_pickle=False)
        for suffix, path in parts.items():
            _replace(path, stem.with_suffix(suffix))
    finally:
        for path in parts.values():
            path.unlink(missing_ok=True)
    _write_json(directory / f"{key}.json", {
        "version": VERSION, "workspace": entry.workspace, "model": entry.model, "gen": gen,
        "seq": snap.seq, "dim": int(snap.matrix.shape[1]), "size": len(ids), "stale": stale,
    })  # fmt: skip
    for old in directory.glob(f"{key}-*"):
        if not old.name.startswith(f"{stem.name}."):
            old.unlink(missing_ok=True)
