"""Ports: what the core needs from the outside world. Adapters live in `storage/`,
`indexer/` and `embeddings/`; each port has one contract suite in `tests/contract/`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

from PIL.Image import Image

from assetlens.media.results import Inspection
from assetlens.query import Hit, IndexDoc, SearchPage, SearchQuery, VectorQuery
from assetlens.stats import IndexStats


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    key: str
    size: int
    etag: str
    modified: datetime | None = None


@dataclass(frozen=True, slots=True)
class StoredObject:
    data: bytes
    info: ObjectInfo


@dataclass(frozen=True, slots=True)
class NewObject:
    """One small object of a `put_many` batch."""

    key: str
    data: bytes
    content_type: str = "application/octet-stream"


@runtime_checkable
class ObjectStore(Protocol):
    """A flat key → bytes store with strong read-after-write and conditional writes.

    Keys are `/`-separated ASCII paths made by the core (never user input). Errors:
    ObjectNotFound, PreconditionFailed (If-Match mismatch, or create_only and the key
    exists), StoreUnavailable (backend down or failing after retries). A write is either
    complete under its key or absent: no reader ever sees a partial object.
    """

    def put_stream(
        self,
        key: str,
        src: BinaryIO,
        *,
        size: int | None = None,
        content_type: str = "application/octet-stream",
        create_only: bool = False,
    ) -> ObjectInfo:
        """Write `src` (read in chunks, constant memory) under `key`."""
        ...

    def put_bytes(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str = "application/octet-stream",
        if_match: str | None = None,
        create_only: bool = False,
    ) -> ObjectInfo:
        """Write a small object; `if_match` makes it a compare-and-swap on the ETag."""
        ...

    def put_many(self, objects: Sequence[NewObject]) -> list[ObjectInfo]:
        """Write several small objects unconditionally (as `put_bytes` without conditions
        would, one by one); returns their infos in order. For derived objects that can be
        made again (previews, pHash bands): each is complete or absent under its key at
        every moment, and all are durable when the call returns, but a crash or an error
        during the call may leave any of them unwritten. Stores that sync every write
        (local) issue a batch's syncs together here, so the filesystem commits them
        at once. Keys are checked first, and must be distinct:
        InvalidInput, and nothing written, otherwise."""
        ...

    def get_bytes(self, key: str) -> StoredObject:
        """Read a small object whole, with its ETag."""
        ...

    def iter_range(
        self, key: str, start: int = 0, end: int | None = None, chunk_size: int = 1 << 16
    ) -> Iterator[bytes]:
        """Bytes `start..end` (inclusive; None = to the end) in chunks, constant memory."""
        ...

    def stat(self, key: str) -> ObjectInfo: ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        """Remove `key`; a missing key is not an error unless `if_match` is given."""
        ...

    def list_keys(self, prefix: str) -> Iterator[str]:
        """All keys starting with `prefix`, in lexicographic order."""
        ...

    def local_path(self, key: str) -> Path | None:
        """A file on this machine holding `key`'s bytes, to be read in place (never
        written), or None when the backend keeps none (S3). ObjectNotFound when the key is
        missing. The object may be replaced or removed afterwards like any object: for
        content-addressed keys (blobs), whose bytes never change, that is only a removal."""
        ...

    def presigned_get_url(
        self,
        key: str,
        expires: timedelta,
        *,
        content_type: str | None = None,
        content_disposition: str | None = None,
    ) -> str | None:
        """A direct, expiring download URL, or None when the backend has none (local).
        `content_type` / `content_disposition`, when given, are what the download answers
        with (signed into the URL, so a client cannot change them)."""
        ...

    def check(self) -> None:
        """Raise StoreUnavailable unless the store answers."""
        ...


@runtime_checkable
class SearchIndex(Protocol):
    """The derived search index. Rebuildable from the object store at any time.

    Upserts are idempotent and ordered by `asset.revision`: a document older than the
    stored one is ignored, so at-least-once indexing converges. Errors: IndexUnavailable.
    """

    def ensure(self) -> None:
        """Create the index (schema, mapping, alias) when missing."""
        ...

    def upsert(self, docs: Sequence[IndexDoc]) -> None: ...

    def remove(self, workspace: str, asset_ids: Sequence[str]) -> None: ...

    def get(self, workspace: str, asset_id: str) -> IndexDoc | None: ...

    def revisions(self) -> Iterator[tuple[str, str, int]]:
        """(workspace, asset id, revision) of every indexed asset, for reconciling."""
        ...

    def search(self, query: SearchQuery) -> SearchPage: ...

    def knn(self, query: VectorQuery) -> list[Hit]:
        """Nearest neighbours by dot product of L2-normalised vectors, best first."""
        ...

    def stats(self, workspace: str) -> IndexStats:
        """Counts, bytes and generation cost of `workspace`'s assets (by type, model,
        provider and month), its trash, and its storage with each blob counted once. Exact
        (no approximate distinct counts)."""
        ...

    def rebuild(self, docs: Iterable[IndexDoc]) -> int:
        """Build a fresh index from `docs`, then switch to it atomically; returns the count.
        Searches keep answering from the old index until the switch."""
        ...

    def refresh(self) -> None:
        """Make every write so far visible to search (near-real-time backends)."""
        ...

    def read_ahead(self) -> None:
        """Start loading what this process's first queries would otherwise read from disk
        piecemeal, in the background; returns at once (a server calls it at start-up)."""
        ...

    def check(self) -> None: ...

    def close(self) -> None: ...


@runtime_checkable
class Embedder(Protocol):
    """CLIP-style image and text encoder producing L2-normalised vectors."""

    @property
    def model_id(self) -> str:
        """Identifies the weights; vectors of different ids are never compared."""
        ...

    def available(self) -> bool:
        """Whether a model can be loaded here (weights present), without raising."""
        ...

    def unavailable_reason(self) -> str | None:
        """Why no model can be loaded (what was looked for, how to provide it), else None."""
        ...

    def embed_images(self, images: Sequence[Image]) -> list[list[float]]:
        """Raises EmbeddingUnavailable when no model can be loaded."""
        ...

    def embed_texts(self, texts: Sequence[str]) -> list[list[float]]: ...


@runtime_checkable
class UploadProver(Protocol):
    """Where an upload's proof runs (`media.inspect_upload`: the sniff, the header limits,
    the pixel proof; and the decode of search by image's query): in this process
    (`InProcessProver`) or in worker processes that a crashing decoder may take down without
    taking the caller (`ProofPool`)."""

    def prove(self, path: Path, filename: str, *, max_image_pixels: int) -> Inspection:
        """The inspection of the file at `path` sent as `filename`, or its refusal
        (UnsupportedMediaType, InvalidInput; UndecodableUpload when the proof crashed)."""
        ...

    def query_image(self, path: Path, filename: str, *, max_image_pixels: int) -> Image:
        """Search by image's query image, proven like an upload and decoded where the proof
        runs: the first frame in RGB, scaled to the embedder's input size; the same
        refusals as `prove`, and UnsupportedMediaType for an SVG."""
        ...

    def start(self) -> None:
        """Get ready ahead of the first file (start worker processes), if there is anything
        to start."""
        ...

    def close(self) -> None: ...
