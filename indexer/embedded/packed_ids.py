"""Asset ids as two arrays, for the vector files (indexer/embedded/vector_files.py).

A vector file's ids were a JSON list: parsing it built a Python string per row before the
first kNN could run (150 ms at 1M rows), though a kNN needs only its k hits' ids. Here they
are their UTF-8 bytes end to end plus each one's end offset, loaded as two arrays; an id is
decoded when it is asked for. All of them are decoded only when a set's rows change (the
list is then made once: ModelVectors) or its positions by id are needed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import overload

import numpy as np
import numpy.typing as npt

Packed = tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]


class PackedIds(Sequence[str]):
    """A read-only sequence of ids over their packed bytes and end offsets."""

    __slots__ = ("_data", "_ends")

    def __init__(self, data: npt.NDArray[np.uint8], ends: npt.NDArray[np.int64]) -> None:
        if data.ndim != 1 or ends.ndim != 1:
            raise ValueError("packed ids are two flat arrays")
        if ends.size and (int(ends[-1]) != data.size or bool(np.any(np.diff(ends) < 0))
                          or int(ends[0]) < 0):  # fmt: skip
            raise ValueError("packed ids' offsets do not fit their bytes")
        self._data = data
        self._ends = ends

    @staticmethod
    def pack(ids: Sequence[str]) -> Packed:
        """The bytes and end offsets of `ids` (a PackedIds gives its own arrays)."""
        if isinstance(ids, PackedIds):
            return ids._data, ids._ends
        encoded = [asset_id.encode() for asset_id in ids]
        ends = np.cumsum(np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)))
        return np.frombuffer(b"".join(encoded), dtype=np.uint8), ends.astype(np.int64)

    def __len__(self) -> int:
        return int(self._ends.size)

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            return self.tolist()[index]
        n = self._ends.size
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError("id index out of range")
        start = int(self._ends[index - 1]) if index else 0
        return self._data[start : int(self._ends[index])].tobytes().decode()

    def __iter__(self) -> Iterator[str]:
        return iter(self.tolist())

    def tolist(self) -> list[str]:
        """Every id, decoded at once (far faster than one at a time)."""
        n = self._ends.size
        if n == 0:
            return []
        width = int(self._ends[0])
        data = self._data
        # The usual case, ids of one length in ASCII (hex uuids): one numpy conversion. NUL
        # bytes are excluded because fixed-width byte strings drop trailing ones.
        if (width > 0 and data.size == n * width and bool(np.all(np.diff(self._ends) == width))
                and int(data.max()) < 0x80 and bool(np.all(data != 0))):  # fmt: skip
            fixed: list[str] = data.view(f"S{width}").astype(f"U{width}").tolist()
            return fixed
        raw = data.tobytes()
        ends = self._ends.tolist()
        return [raw[start:end].decode() for start, end in zip([0, *ends[:-1]], ends, strict=True)]
