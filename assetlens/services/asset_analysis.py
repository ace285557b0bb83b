"""Analysis of assets during indexing: each original analysed where the store keeps it (else
from a temp copy), in a worker process when the indexer has a pool; then, for a whole
batch, previews and pHash bands stored in one write, lineage linked and each manifest
marked ready."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Iterator
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
#: Marks an asset failed with a reason, only at the revision given (workspace, id, reason,
#: revision); returns it as marked (None if it is gone or has moved past that revision).
MarkFailed = Callable[[str, str, str, int], Asset | None]
#: An asset marked ready after its analysis, and the image its analysis made for embedding.
Stored = tuple[Asset, Image.Image | None]
#: `map`, or a thread pool's: how `record` runs the per-asset step.
Mapper = Callable[
    [Callable[["Analysed"], "Stored | Exception"], Iterable["Analysed"]],
    Iterable["Stored | Exception"],
]


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

    def __init__(
        self,
        store: ObjectStore,
        index: SearchIndex,
        manifests: Manifests,
        lineage: LineageService,
        tmp: Path,
        analyse: Analyser,
        extract: Extractor,
        fail: MarkFailed,
    ) -> None:
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
                    return self._fail(
                        asset.workspace,
                        asset.id,
                        "the file is damaged: its pixels could not be decoded",
                        asset.revision,
                    ) or asset, None
                parsed = self._extract(path, asset.mime, analysis.stealth)
        except ObjectNotFound:
            return self._fail(
                asset.workspace,
                asset.id,
                "the original file is missing from the store",
                asset.revision,
            ) or asset, None
        previews = {size: layout.preview_key(asset.sha256, size) for size in analysis.previews}
        derived = [
            NewObject(previews[size], data, "image/webp")
            for size, data in analysis.previews.items()
        ]
        if analysis.phash:
            derived += [
                NewObject(layout.phash_band_key(asset.workspace, band, value, asset.id), b"")
                for band, value in enumerate(layout.phash_bands(analysis.phash))
            ]
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

    def record(self, batch: list[Analysed], run: Mapper = map) -> list[Stored | Exception]:
        """`store_derived`, then `mark_ready` for each (through `run`: a thread pool's
        `map` marks several at once); per asset, the updated asset and its embed image, or
        the error that stopped it (that of the one write for all, if it failed)."""
        try:
            self.store_derived(batch)
        except Exception as exc:
            return [exc] * len(batch)
        return list(run(self._ready, batch))

    def _ready(self, analysed: Analysed) -> Stored | Exception:
        try:
            return self.mark_ready(analysed), analysed.analysis.embed_image
        except Exception as exc:
            return exc

    def store_derived(self, batch: list[Analysed]) -> None:
        """Store what `batch` made besides its manifests: the previews and pHash bands (all
        made again by another analysis) in one write, which the local store makes durable
        with syncs issued together. Then `mark_ready` each: the manifests that point at them
        come after."""
        objects = {obj.key: obj for analysed in batch for obj in analysed.derived}
        if objects:  # copies of one blob share its previews
            self._store.put_many(list(objects.values()))

    def mark_ready(self, analysed: Analysed) -> Asset:
        """Link the asset's named inputs and mark it ready (or keep what another pass did);
        the updated asset. After `store_derived`."""
        asset, analysis, parsed = analysed.asset, analysed.analysis, analysed.parsed
        parents = (
            self._lineage.named_inputs(asset.workspace, asset.id, parsed, self._index)
            if parsed is not None
            else {}
        )
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
