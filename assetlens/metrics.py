"""What the core reports about its work, as a port: services call a `Metrics`, the wiring
point passes the Prometheus one (assetlens.prometheus) or `NO_METRICS`. The core never
imports a metrics library."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Protocol

from PIL.Image import Image

from assetlens.ports import Embedder


class Metrics(Protocol):
    """Application events worth counting. Every method is cheap and never raises."""

    def uploaded(self, size_bytes: int) -> None:
        """An upload (or URL import) was stored: its size."""
        ...

    def indexed(self, result: str, count: int = 1) -> None:
        """Indexer outcomes: `ok`, `retry` (will try again) or `failed` (gave up)."""
        ...

    def searched(self, mode: str, seconds: float) -> None:
        """A search (keyword | semantic | hybrid | similar | by_image) took `seconds`."""
        ...

    def embedded(self, kind: str, size: int, seconds: float) -> None:
        """The embedder encoded a batch of `size` images or texts (`kind`)."""
        ...


class NoMetrics:
    """Records nothing: the default of services built without metrics (tests, the CLI)."""

    def uploaded(self, size_bytes: int) -> None:
        pass

    def indexed(self, result: str, count: int = 1) -> None:
        pass

    def searched(self, mode: str, seconds: float) -> None:
        pass

    def embedded(self, kind: str, size: int, seconds: float) -> None:
        pass


NO_METRICS: Metrics = NoMetrics()


class TimedEmbedder:
    """An Embedder that reports each batch's duration; everything else passes through."""

    def __init__(self, inner: Embedder, metrics: Metrics) -> None:
        self._inner = inner
        self._metrics = metrics

    @property
    def model_id(self) -> str:
        return self._inner.model_id

    def available(self) -> bool:
        return self._inner.available()

    def unavailable_reason(self) -> str | None:
        return self._inner.unavailable_reason()

    def embed_images(self, images: Sequence[Image]) -> list[list[float]]:
        started = time.perf_counter()
        vectors = self._inner.embed_images(images)
        self._metrics.embedded("image", len(images), time.perf_counter() - started)
        return vectors

    def embed_texts(self, texts: Sequence[str]) -> list[list[float]]:
        started = time.perf_counter()
        vectors = self._inner.embed_texts(texts)
        self._metrics.embedded("text", len(texts), time.perf_counter() - started)
        return vectors
