"""Signed links: expiring URLs that serve one asset's content or preview without a key."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from assetlens import layout, media
from assetlens.config import Settings
from assetlens.domain import Asset, AssetStatus
from assetlens.errors import Forbidden, InvalidInput, NotFound, ObjectNotFound
from assetlens.ports import ObjectStore
from assetlens.services.assets import AssetService
from assetlens.services.versions import VersionService
from assetlens.signing import Disposition, LinkClaims, Rendition, SigningSecret, sign, verify

# S3 presigned URLs live at most 7 days; a redirect never outlives the link either.
MAX_PRESIGN = timedelta(days=7)


class LinkInvalid(Forbidden):
    """A signed link that does not (or no longer does) serve anything: 403."""

    title = "Link not valid"


@dataclass(frozen=True, slots=True)
class SignedLink:
    token: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class LinkTarget:
    """What a verified, unexpired link serves, and for how many more seconds."""

    asset: Asset
    rendition: Rendition
    disposition: Disposition
    remaining_seconds: int


def content_disposition(asset: Asset, disposition: Disposition) -> str:
    """The Content-Disposition for an asset's bytes. Active content (SVG, HTML…) is always
    an attachment, whatever was asked for."""
    filename = asset.name if "." in asset.name else f"{asset.name}.{asset.extension}"
    kind = Disposition.ATTACHMENT if media.is_active_content(asset.mime) else disposition
    return f"{kind.value}; filename*=UTF-8''{quote(filename)}"


class LinkService:
    """Makes and opens signed links. The token pins the version that was current when it
    was made: the link keeps serving those bytes after newer versions while that version
    is kept, and stops once it is deleted or pruned, the asset is trashed or removed, or
    the link expires."""

    def __init__(
        self,
        settings: Settings,
        store: ObjectStore,
        assets: AssetService,
        versions: VersionService,
        secret: SigningSecret,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self._store = store
        self._assets = assets
        self._versions = versions
        self._secret = secret
        self._clock = clock

    def sign(
        self,
        workspace: str,
        asset_id: str,
        *,
        expires_in: int,
        disposition: Disposition = Disposition.INLINE,
        rendition: Rendition = Rendition.CONTENT,
    ) -> SignedLink:
        """A link to `asset_id` of `workspace` valid for `expires_in` seconds (1 to the
        configured maximum). NotFound for another workspace's, a missing or a trashed one."""
        limit = self._settings.signed_url_max_seconds
        if not 1 <= expires_in <= limit:
            raise InvalidInput(f"expires_in must be between 1 and {limit} seconds")
        asset = self._assets.get(workspace, asset_id)
        if asset.status is AssetStatus.DELETED:
            raise NotFound("asset is in the trash; restore it first")
        expires = int(self._clock()) + expires_in
        claims = LinkClaims(workspace, asset.id, asset.version, rendition, disposition, expires)
        return SignedLink(sign(self._secret.get(), claims), datetime.fromtimestamp(expires, UTC))

    def open(self, token: str) -> LinkTarget:
        """The asset a token serves. LinkInvalid (403) when the signature does not check,
        the link expired, the asset is gone or trashed, or its version is no longer kept."""
        claims = verify(self._secret.get(), token)
        if claims is None:
            raise LinkInvalid("the link is not valid")
        now = self._clock()
        if now > claims.expires:
            raise LinkInvalid("the link has expired")
        try:
            asset = self._assets.get(claims.workspace, claims.asset_id)
        except NotFound as exc:
            raise LinkInvalid("the link no longer serves anything") from exc
        if asset.status is AssetStatus.DELETED:
            raise LinkInvalid("the link no longer serves anything")
        if asset.version != claims.version:
            try:
                asset = self._versions.content_asset(
                    claims.workspace, claims.asset_id, claims.version
                )
            except NotFound as exc:
                raise LinkInvalid("the version this link was made for is no longer kept") from exc
        remaining = max(1, claims.expires - int(now))
        return LinkTarget(asset, claims.rendition, claims.disposition, remaining)

    def preview(self, target: LinkTarget) -> bytes | None:
        """The preview a thumbnail link serves (of the pinned version's bytes); None when
        there is none (yet)."""
        key = layout.preview_key(target.asset.sha256, target.rendition.value)
        try:
            return self._store.get_bytes(key).data
        except ObjectNotFound:
            return None

    def redirect_url(self, target: LinkTarget) -> str | None:
        """A store presigned URL for a content link when redirects are configured and the
        store has them (S3/MinIO), valid no longer than the link; None otherwise. Active
        content is never redirected: the API serves it with a sandboxing CSP."""
        asset = target.asset
        if (
            not self._settings.signed_url_redirect
            or target.rendition is not Rendition.CONTENT
            or media.is_active_content(asset.mime)
        ):
            return None
        expires = min(timedelta(seconds=target.remaining_seconds), MAX_PRESIGN)
        return self._store.presigned_get_url(
            layout.blob_key(asset.sha256),
            expires,
            content_type=asset.mime,
            content_disposition=content_disposition(asset, target.disposition),
        )
