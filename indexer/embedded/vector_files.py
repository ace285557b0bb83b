"""Vector files: one vector set's in-memory rows written to disk, so that a new process maps
them instead of reading every float32 vector back from SQLite (24.7 s at 1M vectors).

Beside the HNSW graphs of the same database file (indexer/embedded/ann.py):

    ann/<database file>/<key>.vectors.json          which generation is current, and the
                                                    journal `seq` its rows reflect
    ann/<database file>/<key>.vectors-<gen>.npy     the float32 matrix (n × dim), mapped
    ann/<database file>/<key>.vectors-<gen>.npz     status, changed seq, rowid and type by
                                                    row, and the asset ids (packed: their
                                                    UTF-8 bytes and end offsets)
    ann/<database file>/<key>.vectors.lock          fcntl lock held while a process writes

A file of version 1 kept the ids as a JSON list in `<key>.vectors-<gen>.ids` (parsed whole
before the first kNN: 150 ms at 1M); it still loads, and the next rewrite makes version 2.
A loaded file is the state at its seq; the loader then applies what the journal committed
after it (ModelVectors.sync), exactly as it does for rows held since an earlier query, so a
file that lags behind is never wrong, only slower to catch up. Rows a writer changed while it
copied them out hold a newer state than the seq says; applying the changes after the seq
replaces them with the newest again. Files are written to temporary names and renamed into
place, the `.json` last; a reader keeps the mapping it opened when a newer one replaces it.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from pathlib import Path

import numpy as np

from indexer.embedded.ann_graph import ann_key
from indexer.embedded.file_lock import file_lock
from indexer.embedded.packed_ids import PackedIds
from indexer.embedded.readahead import read_ahead
from indexer.embedded.vectors import Arrays

log = logging.getLogger(__name__)

_VERSION = 2
_READABLE = (1, 2)


class VectorFiles:
    """The vector files of one database file's vector sets."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory

    def _meta_path(self, workspace: str, model: str) -> Path:
        return self.dir / f"{ann_key(workspace, model)}.vectors.json"

    def seq(self, workspace: str, model: str) -> int:
        """The seq of this set's current file, or -1 when there is none (or unreadable)."""
        try:
            meta = json.loads(self._meta_path(workspace, model).read_text(encoding="utf-8"))
            return int(meta["seq"]) if meta.get("version") in _READABLE else -1
        except (OSError, ValueError, KeyError, TypeError):
            return -1

    def load(self, workspace: str, model: str) -> tuple[Arrays, int] | None:
        """This set's rows as of the file's seq (the matrix mapped copy-on-write), or None
        when there is no file or it cannot be read (logged: the rows come from SQLite)."""
        meta_path = self._meta_path(workspace, model)
        if not meta_path.exists():
            return None
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            if meta.get("version") not in _READABLE:
                return None
            if meta["workspace"] != workspace or meta["model"] != model:
                raise ValueError("file names another vector set")
            stem = f"{ann_key(workspace, model)}.vectors-{meta['gen']}"
            n, dim = int(meta["n"]), int(meta["dim"])
            # The rescoring would fault the mapping in page by page: ask for it whole.
            read_ahead(lambda: [self.dir / f"{stem}.npy"])
            # "c": pages are shared with the page cache (and other processes) until a row is
            # changed in this process, which then gets its own copy of that page.
            # np.asarray: a plain array over the mapping (np.memmap's indexing costs more).
            matrix = np.asarray(np.load(self.dir / f"{stem}.npy", mmap_mode="c",
                                        allow_pickle=False))  # fmt: skip
            with np.load(self.dir / f"{stem}.npz", allow_pickle=False) as rows:
                status, changed = rows["status"], rows["changed"]
                rowids, types = rows["rowids"], rows["types"]
                packed = (rows["id_bytes"], rows["id_ends"]) if meta["version"] > 1 else None
            ids: list[str] | PackedIds = (
                PackedIds(*packed)
                if packed is not None
                else json.loads((self.dir / f"{stem}.ids").read_text(encoding="utf-8"))
            )
            arrays = Arrays(ids, matrix, status, changed, rowids, types)
            _check(arrays, n, dim)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("embedded index: vector file %s unreadable (%s); reading SQLite",
                        meta_path, exc)  # fmt: skip
            return None
        return arrays, int(meta["seq"])

    def save(self, workspace: str, model: str, arrays: Arrays, seq: int) -> bool:
        """Write `arrays` as this set's file at `seq`; False when another process is writing
        it now (its file will do)."""
        key = ann_key(workspace, model)
        self.dir.mkdir(parents=True, exist_ok=True)
        with file_lock(self.dir / f"{key}.vectors.lock", wait=False) as held:
            if not held:
                return False
            gen = uuid.uuid4().hex[:16]
            stem = f"{key}.vectors-{gen}"
            tmp = f".{uuid.uuid4().hex}"
            parts = {suffix: self.dir / f"{tmp}{suffix}.tmp" for suffix in (".npy", ".npz")}
            id_bytes, id_ends = PackedIds.pack(arrays.ids)
            try:
                with parts[".npy"].open("wb") as fh:
                    np.save(fh, np.ascontiguousarray(arrays.matrix, dtype=np.float32))
                with parts[".npz"].open("wb") as fh:
                    np.savez(fh, status=arrays.status, changed=arrays.changed,
                             rowids=arrays.rowids, types=arrays.types, id_bytes=id_bytes,
                             id_ends=id_ends)  # fmt: skip
                for suffix, path in parts.items():
                    os.replace(path, self.dir / f"{stem}{suffix}")
            finally:
                for path in parts.values():
                    path.unlink(missing_ok=True)
            meta = {
                "version": _VERSION,
                "workspace": workspace,
                "model": model,
                "gen": gen,
                "seq": seq,
                "n": len(arrays.ids),
                "dim": int(arrays.matrix.shape[1]),
            }
            meta_tmp = self.dir / f"{tmp}.json.tmp"
            meta_tmp.write_text(json.dumps(meta), encoding="utf-8")
            os.replace(meta_tmp, self.dir / f"{key}.vectors.json")
            for old in self.dir.glob(f"{key}.vectors-*"):
                if not old.name.startswith(f"{stem}."):
                    old.unlink(missing_ok=True)
            return True


def _check(arrays: Arrays, n: int, dim: int) -> None:
    """Raise ValueError unless every part of a loaded file has the shape its .json says."""
    if arrays.matrix.dtype != np.float32 or arrays.matrix.shape != (n, dim):
        raise ValueError("matrix shape")
    expected = {"status": np.int8, "changed": np.int64, "rowids": np.int64, "types": np.int8}
    for name, dtype in expected.items():
        part = getattr(arrays, name)
        if part.dtype != dtype or part.shape != (n,):
            raise ValueError(f"{name} shape")
    if not isinstance(arrays.ids, list | PackedIds) or len(arrays.ids) != n:
        raise ValueError("ids")
