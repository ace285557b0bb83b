"""In-memory adapters passed into the core in unit tests (never patched in)."""

from __future__ import annotations

import hashlib
import itertools
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image

from assetlens.errors import (
    EmbeddingUnavailable,
    InvalidInput,
    ObjectNotFound,
    PreconditionFailed,
    StoreUnavailable,
)
from assetlens.ports import NewObject, ObjectInfo, StoredObject
from storage.keys import validate_batch_keys, validate_key, validate_prefix


class FakeObjectStore:
    """A dict behind a lock. `down = True` simulates an outage (StoreUnavailable)."""

    def __init__(self) -> None:
        self._objects: dict[str, tuple[bytes, str]] = {}
        self._lock = threading.Lock()
        self._counter = itertools.count(1)
        self.down = False
        self.fail_keys_with_prefix: str | None = None

    def _guard(self, key: str) -> None:
        if self.down or (self.fail_keys_with_prefix and key.startswith(self.fail_keys_with_prefix)):
            raise StoreUnavailable("fake store is down")
        validate_key(key)

    def put_stream(
        self,
        key: str,
        src: BinaryIO,
        *,
        size: int | None = None,
        content_type: str = "application/octet-stream",
        create_only: bool = False,
    ) -> ObjectInfo:
        data = src.read()
        if size is not None and len(data) != size:
            raise InvalidInput("size mismatch")
        return self.put_bytes(key, data, content_type=content_type, create_only=create_only)

    def put_bytes(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str = "application/octet-stream",
        if_match: str | None = None,
        create_only: bool = False,
    ) -> ObjectInfo:
        self._guard(key)
        if if_match is not None and create_only:
            raise InvalidInput("if_match and create_only exclude each other")
        with self._lock:
            current = self._objects.get(key)
            if create_only and current is not None:
                raise PreconditionFailed(f"{key} exists")
            if if_match is not None and (current is None or current[1] != if_match):
                raise PreconditionFailed(f"{key} changed")
            etag = f"e{next(self._counter)}"
            self._objects[key] = (bytes(data), etag)
            return ObjectInfo(key, len(data), etag)

    def put_many(self, objects: Sequence[NewObject]) -> list[ObjectInfo]:
        validate_batch_keys(obj.key for obj in objects)
        # Through put_bytes, so that subclasses hooking writes see these as well.
        return [self.put_bytes(obj.key, obj.data, content_type=obj.content_type) for obj in objects]

    def get_bytes(self, key: str) -> StoredObject:
        self._guard(key)
        with self._lock:
            if key not in self._objects:
                raise ObjectNotFound(key)
            data, etag = self._objects[key]
        return StoredObject(data, ObjectInfo(key, len(data), etag))

    def iter_range(
        self, key: str, start: int = 0, end: int | None = None, chunk_size: int = 1 << 16
    ) -> Iterator[bytes]:
        data = self.get_bytes(key).data  # raises now, like the real stores, not on next()
        if start < 0 or (end is not None and end < start) or (start and start >= len(data)):
            raise InvalidInput("range outside the object")
        stop = len(data) if end is None else min(end + 1, len(data))
        return (
            data[offset : min(offset + chunk_size, stop)]
            for offset in range(start, stop, chunk_size)
        )

    def stat(self, key: str) -> ObjectInfo:
        return self.get_bytes(key).info

    def exists(self, key: str) -> bool:
        self._guard(key)
        with self._lock:
            return key in self._objects

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        self._guard(key)
        with self._lock:
            current = self._objects.get(key)
            if if_match is not None and (current is None or current[1] != if_match):
                raise PreconditionFailed(f"{key} changed")
            self._objects.pop(key, None)

    def list_keys(self, prefix: str) -> Iterator[str]:
        validate_prefix(prefix)
        if self.down:
            raise StoreUnavailable("fake store is down")
        with self._lock:
            keys = sorted(k for k in self._objects if k.startswith(prefix))
        yield from keys

    def local_path(self, key: str) -> Path | None:
        return None  # in memory

    def presigned_get_url(
        self,
        key: str,
        expires: timedelta,
        *,
        content_type: str | None = None,
        content_disposition: str | None = None,
    ) -> str | None:
        return None

    def check(self) -> None:
        if self.down:
            raise StoreUnavailable("fake store is down")


class CheckThenDeleteStore(FakeObjectStore):
    """The fake store with a conditional delete as the S3 adapter does it on MinIO, which
    ignores If-Match on DELETE: the ETag is checked, then the key deleted whatever it holds
    by then. `between_check_and_delete(key)` runs in that gap once, for a key under
    `hook_prefix`, as a concurrent writer landing there would."""

    def __init__(self, hook_prefix: str) -> None:
        super().__init__()
        self.hook_prefix = hook_prefix
        self.between_check_and_delete: Callable[[str], object] | None = None

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        if if_match is not None:
            self._guard(key)
            with self._lock:
                current = self._objects.get(key)
            if current is None or current[1] != if_match:
                raise PreconditionFailed(f"{key} changed")
        hook = self.between_check_and_delete
        if hook is not None and key.startswith(self.hook_prefix):
            self.between_check_and_delete = None
            hook(key)
        super().delete(key)


COLOURS = {
    "red": (220, 30, 30),
    "green": (30, 200, 40),
    "blue": (30, 40, 220),
    "yellow": (230, 220, 30),
    "black": (0, 0, 0),
    "white": (255, 255, 255),
}


class FakeEmbedder:
    """Vectors from a 4×4 colour thumbnail: similar pictures give close vectors. Text that
    names a colour embeds like a plain image of that colour, so semantic search is
    meaningful in tests without torch."""

    def __init__(self, available: bool = True, model_id: str = "fake/colour-4x4") -> None:
        self._available = available
        self._model_id = model_id
        self.calls = 0

    @property
    def model_id(self) -> str:
        return self._model_id

    def available(self) -> bool:
        return self._available

    def unavailable_reason(self) -> str | None:
        return None if self._available else "fake embedder has no weights"

    def embed_images(self, images: Sequence[Image.Image]) -> list[list[float]]:
        if not self._available:
            raise EmbeddingUnavailable("fake embedder has no weights")
        self.calls += 1
        return [
            self._vector(np.asarray(im.convert("RGB").resize((4, 4)), dtype=np.float32))
            for im in images
        ]

    def embed_texts(self, texts: Sequence[str]) -> list[list[float]]:
        if not self._available:
            raise EmbeddingUnavailable("fake embedder has no weights")
        vectors = []
        for text in texts:
            colour = next((c for name, c in COLOURS.items() if name in text.lower()), None)
            if colour is None:
                seed = int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)
                pixels = np.random.default_rng(seed).uniform(0, 255, (4, 4, 3))
            else:
                pixels = np.tile(np.array(colour, dtype=np.float32), (4, 4, 1))
            vectors.append(self._vector(pixels.astype(np.float32)))
        return vectors

    @staticmethod
    def _vector(pixels: np.ndarray) -> list[float]:
        flat = pixels.reshape(-1) / 255.0 + 0.05
        vector: list[float] = (flat / np.linalg.norm(flat)).astype(np.float32).tolist()
        return vector


class PoisonEmbedder(FakeEmbedder):
    """The colour fake, except that a batch holding an image of the `poison` colour raises,
    as a model can on one bad input: the indexer must keep it from failing the others.
    Set `poison` to None to cure it."""

    def __init__(self, poison: tuple[int, int, int] | None) -> None:
        super().__init__()
        self.poison = poison
        self.poisoned_calls = 0

    def embed_images(self, images: Sequence[Image.Image]) -> list[list[float]]:
        if any(self._poisoned(image) for image in images):
            self.poisoned_calls += 1
            raise RuntimeError("CUDA error: an illegal memory access was encountered (fake)")
        return super().embed_images(images)

    def _poisoned(self, image: Image.Image) -> bool:
        if self.poison is None:
            return False
        mean = np.asarray(image.convert("RGB"), dtype=np.float32).mean(axis=(0, 1))
        return bool(np.all(np.abs(mean - np.array(self.poison, dtype=np.float32)) < 12))
