"""Image vectors for index documents: the per-(blob, model) cache in the object store, and
embedding that keeps one poison image (one that makes the model raise, or come back with a
vector that isn't one) from failing the images batched with it."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from PIL import Image

from assetlens import layout
from assetlens.domain import Asset, AssetStatus, AssetType
from assetlens.errors import EmbeddingUnavailable, ObjectNotFound, Unavailable
from assetlens.ports import Embedder, ObjectStore
from assetlens.query import IndexDoc

log = logging.getLogger(__name__)

EMBEDDABLE = frozenset({AssetType.IMAGE, AssetType.LOGO, AssetType.VIDEO})
Outcome = list[float] | Exception


@dataclass(frozen=True, slots=True)
class VectorFailure:
    """A document left without its vector because embedding its image raised."""

    doc: IndexDoc
    error: Exception


class Vectors:
    """Attaches CLIP image vectors to index documents, from the cache or the embedder."""

    def __init__(self, store: ObjectStore, embedder: Embedder | None) -> None:
        self._store = store
        self._embedder = embedder

    def attach(
        self, docs: Sequence[IndexDoc], images: Mapping[str, Image.Image] | None = None
    ) -> list[VectorFailure]:
        """Cached vectors where present and sound; the rest embedded in one batch (if a model
        loads). `images` maps a blob's sha256 to the embed image its analysis just made, so
        a fresh asset is not decoded again; others embed their stored medium preview.
        Returns the documents whose own image failed; the others are unaffected.
        Backend outages (`Unavailable`) are raised: they are nobody's fault in particular."""
        embedder = self._embedder
        if embedder is None or not docs:
            return []
        model = embedder.model_id if embedder.available() else None
        if model is None:
            return []
        wanted: list[tuple[IndexDoc, Image.Image]] = []
        for doc in docs:
            if not _embeddable(doc.asset):
                continue
            cached = self._cached(doc.asset.sha256, model)
            if cached is not None:
                doc.vector, doc.vector_model = cached, model
                continue
            image = (images or {}).get(doc.asset.sha256)
            if image is None:
                image = self._preview_image(doc.asset)
            if image is not None:
                wanted.append((doc, image))
        if not wanted:
            return []
        try:
            outcomes = _embed(embedder, [image for _, image in wanted])
        except EmbeddingUnavailable as exc:
            log.warning("indexing without vectors: %s", exc.detail)
            return []
        failures = []
        for (doc, _), outcome in zip(wanted, outcomes, strict=True):
            if isinstance(outcome, Exception):
                failures.append(VectorFailure(doc, outcome))
                continue
            doc.vector, doc.vector_model = outcome, model
            self._store.put_bytes(
                layout.vector_key(doc.asset.sha256, model),
                json.dumps({"model": model, "vector": outcome}).encode(),
                content_type="application/json",
            )
        return failures

    def _cached(self, sha256: str, model: str) -> list[float] | None:
        """The cached vector, or None when there is none or it is unreadable: a corrupt
        cache entry is recomputed (and overwritten), never a reason to fail the asset."""
        try:
            data = self._store.get_bytes(layout.vector_key(sha256, model)).data
        except ObjectNotFound:
            return None
        try:
            record = json.loads(data)
            if record.get("model") != model:
                return None
            vector = [float(x) for x in record["vector"]]
        except (ValueError, TypeError, KeyError, AttributeError):
            vector = []
        if _sound(vector):
            return vector
        log.warning("cached vector of blob %s for %s is corrupt; recomputing it", sha256, model)
        return None

    def _preview_image(self, asset: Asset) -> Image.Image | None:
        # The 600 px preview is plenty for CLIP's 224 px input and far cheaper than the original.
        try:
            data = self._store.get_bytes(asset.previews["medium"]).data
        except ObjectNotFound:
            return None
        with contextlib.suppress(OSError, ValueError):
            image = Image.open(io.BytesIO(data), formats=["WEBP"])
            image.load()
            return image.convert("RGB")
        return None


def _embeddable(asset: Asset) -> bool:
    # A failed asset is indexed as it is: whatever failed it is not tried again here.
    return (
        asset.type in EMBEDDABLE
        and "medium" in asset.previews
        and asset.status is not AssetStatus.FAILED
    )


def _sound(vector: Sequence[float]) -> bool:
    return bool(vector) and all(math.isfinite(x) for x in vector)


def _embed(embedder: Embedder, images: list[Image.Image]) -> list[Outcome]:
    """One outcome per image: its vector, or what went wrong with it. A batch that raises
    is split up and each image embedded alone, so only the poison one fails."""
    try:
        vectors = embedder.embed_images(images)
        if len(vectors) != len(images):
            raise ValueError(
                f"the embedder returned {len(vectors)} vectors for {len(images)} images"
            )
    except (EmbeddingUnavailable, Unavailable):
        raise
    except Exception as exc:  # torch, a decoder, a bug: any of them, for any one image
        if len(images) == 1:
            return [exc]
        log.warning(
            "embedding a batch of %d images failed (%s); embedding them one by one",
            len(images),
            type(exc).__name__,
        )
        return [_embed(embedder, [image])[0] for image in images]
    return [
        list(v) if _sound(v) else ValueError("the embedder returned a non-finite vector")
        for v in vectors
    ]
