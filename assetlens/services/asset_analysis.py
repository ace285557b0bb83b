"""Analysis of assets during indexing: each original fetched to a temp file and analysed (in
a worker process when the indexer has a pool); then, for a whole batch, previews and pHash
bands stored in one write, lineage linked and each manifest marked ready."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from assetlens import layout, media
from assetlens.domain import Asset, AssetStatus, AssetType, Generation
from assetlens.errors import ObjectNotFound
from assetlens.manifests import Manifests
from assetlens.ports import NewObject, ObjectStore, SearchIndex
from assetlens.provenance.stealth import StealthRead
from assetlens.services.lineage import LineageService

Analyser = Callable[[Path, AssetType, str], media.Analysis]
#: Provenance of the file at a path with a sniffed mime; the stealth-pixel text the
#: analysis read from its own decode, if it did, spares a second decode.
Extractor = Callable[[Path, str, StealthRead | None], Generation | None]
#: Marks an asset failed with a reason; returns it as marked (None if it is gone).
MarkFailed = Callable[[str, str, str], Asset | None]


@dataclass(frozen=True, slots=True)
class Analysed:
    """An asset analysed, nothing of the analysis stored yet (see `AssetAnalysis.record`)."""

    asset: Asset
    analysis: media.Analysis
    parsed: Generation | None
    previews: dict[str, str]
    derived: list[NewObject]


class AssetAnalysis:
    """The per-asset half of indexing; `analyse` is safe to run for several assets at once."""

    def __init__(self, store: ObjectStore, index: SearchIndex, manifests: Manifests,
                 lineage: LineageService, tmp: Path, analyse: Analyser, extract: Extractor,
                 fail: MarkFailed) -> None:
        self._store = store
        self._index = index
        self._manifests = manifests
        self._lineage = lineage
        self._tmp = tmp
        self._analyse = analyse
        self._extract = extract
        self._fail = fail

    def analyse(self, asset: Asset) -> Analysed | tuple[Asset, None]:
        """Analyse `asset`'s original; the asset marked failed (and no embed image) when
        the original is missing or its pixels do not decode. `record` stores the rest."""
        try:
            with self._original(asset) as path:
                analysis = self._analyse(path, asset.type, asset.mime)
                if analysis.undecodable:
                    # Never ready, and no retries: another decode of these bytes fails the same.
                    return self._fail(asset.workspace, asset.id, "the file is damaged: its "
                                      "pixels could not be decoded") or asset, None
                parsed = self._extract(path, asset.mime, analysis.stealth)
        except ObjectNotFound:
            return self._fail(asset.workspace, asset.id,
                              "the original file is missing from the store") or asset, None
        previews = {size: layout.preview_key(asset.sha256, size) for size in analysis.previews}
        derived = [NewObject(previews[size], data, "image/webp")
                   for size, data in analysis.previews.items()]
        if analysis.phash:
            derived += [NewObject(layout.phash_band_key(asset.workspace, band, value, asset.id),
                                  b"")
                        for band, value in enumerate(layout.phash_bands(analysis.phash))]
        return Analysed(asset, analysis, parsed, previews, derived)

    @contextmanager
    def _original(self, asset: Asset) -> Iterator[Path]:
        """A path to the original: the store's own file where it keeps one (the local
        store; a blob's bytes never change), else a temp copy. ObjectNotFound if missing."""
        key = layout.blob_key(asset.sha256)
        local = self._store.local_path(key)
        if local is not None:
            yield local
            return
        self._tmp.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=self._tmp, suffix="." + asset.extension) as tmp:
            for chunk in self._store.iter_range(key):
                tmp.write(chunk)
            tmp.flush()
            yield Path(tmp.name)

    def record(self, batch: list[Analysed]) \
            -> list[tuple[Asset, Image.Image | None] | Exception]:
        """Store what `batch` made and mark each asset ready; per asset, the updated asset
        and its embed image, or the error that stopped it. The derived objects (previews,
        pHash bands: all made again by another analysis) go in one write for the batch,
        which the local store makes durable with one sync; the manifests that point at them
        are written after it, one by one. Raises when that one write fails."""
        objects = [obj for analysed in batch for obj in analysed.derived]
        if objects:
            self._store.put_many(list({obj.key: obj for obj in objects}.values()))
        results: list[tuple[Asset, Image.Image | None] | Exception] = []
        for analysed in batch:
            try:
                results.append((self._mark_ready(analysed), analysed.analysis.embed_image))
            except Exception as exc:
                results.append(exc)
        return results

    def _mark_ready(self, analysed: Analysed) -> Asset:
        asset, analysis, parsed = analysed.asset, analysed.analysis, analysed.parsed
        parents = self._lineage.named_inputs(asset.workspace, asset.id, parsed, self._index) \
            if parsed is not None else {}
        self._lineage.link(asset.workspace, asset.id, parents)

        def mutate(current: Asset) -> Asset | None:
            if current.status not in (AssetStatus.PROCESSING, AssetStatus.DELETED):
                return None  # someone else finished it
            if current.sha256 != asset.sha256:
                return None  # a new version arrived meanwhile; its own pass analyses it
            current.media = analysis.media
            current.phash = analysis.phash
            current.previews = analysed.previews
            if parsed is not None:  # otherwise keep what a sidecar said
                current.generation_parsed = parsed
            for parent, relation in parents.items():
                if parent not in current.lineage:
                    current.lineage.append(parent)
                    current.lineage_relations[parent] = relation
            current.recompute_generation()
            if current.status is AssetStatus.PROCESSING:
                current.status = AssetStatus.READY
            elif current.deleted_from is AssetStatus.PROCESSING:
                current.deleted_from = AssetStatus.READY
            return current

        return self._manifests.update(asset.workspace, asset.id, mutate)
