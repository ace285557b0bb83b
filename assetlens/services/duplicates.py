"""Exact and near duplicates of an asset within its workspace.

Exact: same sha256 (marker keys per content hash). Near: perceptual-hash distance, with
candidates from pHash band markers (always complete within 3 bits) and from the CLIP
neighbours when a model is available (which also catch re-encodes and crops further away).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from assetlens import layout
from assetlens.domain import Asset, AssetStatus
from assetlens.errors import Conflict, EmbeddingUnavailable, InvalidInput, NotFound
from assetlens.manifests import Manifests
from assetlens.media import hamming
from assetlens.ports import ObjectStore
from assetlens.services.search import SearchService

NEAR_PHASH_BITS = 10
NEAR_CLIP_SCORE = 0.92
CLIP_CANDIDATES = 20
# A band value shared by very many assets (blank or flat images) must not turn one request
# into thousands of manifest reads.
MAX_BAND_CANDIDATES = 200


@dataclass(frozen=True, slots=True)
class NearDuplicate:
    asset: Asset
    phash_distance: int | None
    clip_score: float | None


@dataclass(frozen=True, slots=True)
class Duplicates:
    exact: list[Asset]
    near: list[NearDuplicate]


class DuplicateService:
    def __init__(self, store: ObjectStore, manifests: Manifests, search: SearchService) -> None:
        self._store = store
        self._manifests = manifests
        self._search = search

    def find(self, workspace: str, asset_id: str) -> Duplicates:
        asset, _ = self._manifests.get(workspace, asset_id)
        exact_ids = {
            key.rsplit("/", 1)[1]
            for key in self._store.list_keys(layout.sha_member_prefix(workspace, asset.sha256))
        } - {asset_id}
        # The manifest says what an asset holds now: a marker can outlive a version switch.
        exact = [
            other
            for other in self._live(workspace, sorted(exact_ids))
            if other.sha256 == asset.sha256
        ]
        candidates: dict[str, float | None] = {}
        if asset.phash:
            for band, value in enumerate(layout.phash_bands(asset.phash)):
                keys = self._store.list_keys(layout.phash_band_prefix(workspace, band, value))
                for key in itertools.islice(keys, MAX_BAND_CANDIDATES):
                    candidates.setdefault(key.rsplit("/", 1)[1], None)
        try:
            for hit in self._search.similar(workspace, asset_id, CLIP_CANDIDATES):
                candidates[hit.asset.id] = hit.score
        except (EmbeddingUnavailable, InvalidInput, Conflict):
            pass  # no model here, or no vector for this asset (audio, still processing…)
        near = []
        exact_now = {other.id for other in exact}
        for other in self._live(workspace, sorted(set(candidates) - exact_now - {asset_id})):
            distance = (
                hamming(asset.phash, other.phash)
                if asset.phash and other.phash and len(asset.phash) == len(other.phash)
                else None
            )
            score = candidates.get(other.id)
            if (distance is not None and distance <= NEAR_PHASH_BITS) or (
                score is not None and score >= NEAR_CLIP_SCORE
            ):
                near.append(NearDuplicate(other, distance, score))
        near.sort(
            key=lambda n: (
                n.phash_distance if n.phash_distance is not None else 99,
                -(n.clip_score or 0.0),
                n.asset.id,
            )
        )
        return Duplicates(exact=exact, near=near)

    def _live(self, workspace: str, ids: list[str]) -> list[Asset]:
        found = []
        for other_id in ids:
            try:
                other, _ = self._manifests.get(workspace, other_id)
            except NotFound:
                continue  # a marker may outlive its asset
            if other.status is not AssetStatus.DELETED:
                found.append(other)
        return found
