"""The duplicate policy at ingest: what an upload of content the workspace already holds
does — `allow` (store it again), `link` (answer with the existing asset) or `reject` (409
naming it) — over exact duplicates (same sha256) and, when enabled, near duplicates
(perceptual-hash distance, CLIP score).

One policy document per workspace in the store; without one, the defaults of Settings.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from PIL.Image import Image
from pydantic import BaseModel, ConfigDict, Field

from assetlens import layout, media
from assetlens.config import Settings
from assetlens.domain import Asset, AssetStatus, AssetType
from assetlens.errors import Conflict, NotFound, ObjectNotFound, Unavailable
from assetlens.manifests import Manifests
from assetlens.ports import Embedder, ObjectStore, SearchIndex
from assetlens.query import VectorQuery

log = logging.getLogger(__name__)

# Near duplicates are looked for among still images only (what pHash and CLIP compare).
NEAR_TYPES = frozenset({AssetType.IMAGE, AssetType.LOGO})
CLIP_CANDIDATES = 10
# A band value shared by very many assets (flat images) must not cost thousands of reads.
MAX_BAND_CANDIDATES = 200


class PolicyName(StrEnum):
    ALLOW = "allow"
    LINK = "link"
    REJECT = "reject"


class NearPolicy(BaseModel):
    """Whether near duplicates count too, and how near: a pHash Hamming distance at most
    `phash_distance` (of 64 bits) or a CLIP cosine similarity at least `clip_score`."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    enabled: bool = False
    phash_distance: int = Field(default=4, ge=0, le=32)
    clip_score: float = Field(default=0.95, ge=0.5, le=1.0)


class DuplicatePolicy(BaseModel):
    """A workspace's duplicate policy (GET/PUT /v1/settings/duplicates)."""

    model_config = ConfigDict(extra="forbid")

    policy: PolicyName = PolicyName.ALLOW
    near: NearPolicy = Field(default_factory=NearPolicy)

    @classmethod
    def from_settings(cls, settings: Settings) -> DuplicatePolicy:
        return cls(
            policy=PolicyName(settings.duplicate_policy),
            near=NearPolicy(
                enabled=settings.near_duplicates_enabled,
                phash_distance=settings.near_duplicate_phash_distance,
                clip_score=settings.near_duplicate_clip_score,
            ),
        )


@dataclass(frozen=True, slots=True)
class Match:
    """An existing live asset an upload duplicates: exactly, or nearly (with the measure
    that found it)."""

    asset: Asset
    exact: bool
    phash_distance: int | None = None
    clip_score: float | None = None


class DuplicateRejected(Conflict):
    """The workspace's policy refuses duplicates and the upload is one (409)."""

    def __init__(self, match: Match) -> None:
        kind = "an exact" if match.exact else "a near"
        super().__init__(
            f"the workspace rejects duplicates; this file is {kind} duplicate "
            f"of asset {match.asset.id}"
        )
        self.extra.update(duplicate_of=match.asset.id, exact=match.exact)


class DuplicatePolicyService:
    def __init__(
        self, settings: Settings, store: ObjectStore, index: SearchIndex, embedder: Embedder | None
    ) -> None:
        self._settings = settings
        self._store = store
        self._index = index
        self._embedder = embedder
        self._manifests = Manifests(store)

    # -- the policy document ----------------------------------------------------------------

    def stored(self, workspace: str) -> DuplicatePolicy | None:
        """The workspace's own policy, or None when it has not set one."""
        try:
            data = self._store.get_bytes(layout.duplicate_policy_key(workspace)).data
        except ObjectNotFound:
            return None
        return DuplicatePolicy.model_validate_json(data)

    def get(self, workspace: str) -> DuplicatePolicy:
        """The policy in force: the workspace's own, else the defaults of Settings."""
        return self.stored(workspace) or DuplicatePolicy.from_settings(self._settings)

    def put(self, workspace: str, policy: DuplicatePolicy) -> DuplicatePolicy:
        """Replace the workspace's policy (the whole document: last writer wins)."""
        self._store.put_bytes(
            layout.duplicate_policy_key(workspace),
            policy.model_dump_json().encode(),
            content_type="application/json",
        )
        return policy

    # -- applying it ------------------------------------------------------------------------

    def apply(
        self,
        workspace: str,
        sha256: str,
        path: Path,
        asset_type: AssetType,
        mime: str,
        override: PolicyName | None = None,
    ) -> Asset | None:
        """The policy (`override`, else the workspace's) for an upload: the existing asset
        to answer with (`link`), None to store the upload, DuplicateRejected (`reject`)."""
        policy = self.get(workspace)
        name = override or policy.policy
        if name is PolicyName.ALLOW:
            return None
        match = self.match(workspace, sha256, path, asset_type, mime, policy.near)
        if match is None:
            return None
        if name is PolicyName.REJECT:
            raise DuplicateRejected(match)
        return match.asset

    def match(
        self,
        workspace: str,
        sha256: str,
        path: Path,
        asset_type: AssetType,
        mime: str,
        near: NearPolicy,
    ) -> Match | None:
        """The live asset of `workspace` that the file at `path` duplicates, exactly first,
        then nearly when `near.enabled`; None when it duplicates nothing."""
        exact = self._exact(workspace, sha256)
        if exact is not None:
            return Match(exact, exact=True)
        if not near.enabled or asset_type not in NEAR_TYPES:
            return None
        analysis = media.analyse(path, asset_type, mime)
        found = (
            self._by_phash(workspace, analysis.phash, near.phash_distance) if analysis.phash else []
        )
        if analysis.embed_image is not None:
            found += self._by_clip(workspace, analysis.embed_image, near.clip_score)
        found.sort(
            key=lambda m: (
                m.phash_distance if m.phash_distance is not None else 99,
                -(m.clip_score or 0.0),
                m.asset.created_at,
                m.asset.id,
            )
        )
        return found[0] if found else None

    def _exact(self, workspace: str, sha256: str) -> Asset | None:
        copies = []
        for key in self._store.list_keys(layout.sha_member_prefix(workspace, sha256)):
            other = self._live(workspace, key.rsplit("/", 1)[1])
            # A marker can outlive its asset's bytes (moved after a version switch, in a
            # write of its own): the manifest says what the asset holds now.
            if other is not None and other.sha256 == sha256:
                copies.append(other)
        return min(copies, key=lambda a: (a.created_at, a.id)) if copies else None

    def _by_phash(self, workspace: str, phash: str, limit: int) -> list[Match]:
        # Candidates share at least one 16-bit band: complete within 3 bits, and a good net
        # beyond (CLIP catches what it misses when a model is available).
        ids: set[str] = set()
        for band, value in enumerate(layout.phash_bands(phash)):
            keys = self._store.list_keys(layout.phash_band_prefix(workspace, band, value))
            ids.update(key.rsplit("/", 1)[1] for key in itertools.islice(keys, MAX_BAND_CANDIDATES))
        found = []
        for other_id in sorted(ids):
            other = self._live(workspace, other_id)
            if other is None or not other.phash or len(other.phash) != len(phash):
                continue
            distance = media.hamming(phash, other.phash)
            if distance <= limit:
                found.append(Match(other, exact=False, phash_distance=distance))
        return found

    def _by_clip(self, workspace: str, image: Image, min_score: float) -> list[Match]:
        embedder = self._embedder
        if embedder is None or not embedder.available():
            return []  # no model here: the pHash check alone applies
        try:
            vector = embedder.embed_images([image])[0]
            hits = self._index.knn(
                VectorQuery(
                    workspace=workspace, vector=vector, model=embedder.model_id, k=CLIP_CANDIDATES
                )
            )
        except Unavailable as exc:
            # Uploads must not depend on the index or the model: only this check is lost.
            log.warning("near-duplicate CLIP check skipped: %s", exc.detail)
            return []
        found = []
        for hit in hits:
            if hit.score is None or hit.score < min_score:
                continue
            other = self._live(workspace, hit.asset.id)
            if other is not None:
                found.append(Match(other, exact=False, clip_score=hit.score))
        return found

    def _live(self, workspace: str, asset_id: str) -> Asset | None:
        try:
            asset, _ = self._manifests.get(workspace, asset_id)
        except NotFound:
            return None  # a marker of a failed upload, or of a purged asset
        return None if asset.status is AssetStatus.DELETED else asset
