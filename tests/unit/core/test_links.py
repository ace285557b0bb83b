"""LinkService: signing, expiry, trashed and replaced assets, redirects; fakes passed in."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from assetlens.bootstrap import Container, build
from assetlens.domain import Asset, AssetStatus, AssetType
from assetlens.errors import InvalidInput, NotFound
from assetlens.services.links import LinkInvalid, LinkService
from assetlens.signing import Disposition, Rendition, SigningSecret
from tests.conftest import make_settings
from tests.fakes import FakeObjectStore


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


class PresigningStore(FakeObjectStore):
    """Records what a redirect asked the store to presign."""

    def __init__(self) -> None:
        super().__init__()
        self.presigned: list[tuple[str, timedelta, str | None, str | None]] = []

    def presigned_get_url(
        self,
        key: str,
        expires: timedelta,
        *,
        content_type: str | None = None,
        content_disposition: str | None = None,
    ) -> str | None:
        self.presigned.append((key, expires, content_type, content_disposition))
        return f"https://store.example/{key}?sig=x"


@pytest.fixture
def store() -> PresigningStore:
    return PresigningStore()


@pytest.fixture
def container(tmp_path: Path, store: PresigningStore) -> Iterator[Container]:
    wired = build(
        make_settings(tmp_path / "data", signed_url_max_seconds=3600, signed_url_redirect=True),
        store=store,
        use_embedder=False,
    )
    yield wired
    wired.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def links(container: Container, store: PresigningStore, clock: Clock) -> LinkService:
    return LinkService(
        container.settings,
        store,
        container.assets,
        container.versions,
        SigningSecret(store),
        clock=clock,
    )


def seed(
    container: Container, *, workspace: str = "ws", mime: str = "image/png", name: str = "cat.png"
) -> Asset:
    asset = Asset(
        workspace=workspace,
        name=name,
        type=AssetType.IMAGE,
        mime=mime,
        extension=name.rsplit(".", 1)[1],
        size_bytes=10,
        sha256="ab" * 32,
        status=AssetStatus.READY,
    )
    container.assets.manifests.create(asset)
    return asset


def test_a_link_opens_to_its_asset_until_it_expires(
    container: Container, links: LinkService, clock: Clock
) -> None:
    asset = seed(container)
    link = links.sign("ws", asset.id, expires_in=60, disposition=Disposition.ATTACHMENT)
    assert link.expires_at.timestamp() == int(clock.now) + 60
    target = links.open(link.token)
    assert (target.asset.id, target.rendition, target.disposition) == (
        asset.id,
        Rendition.CONTENT,
        Disposition.ATTACHMENT,
    )
    assert target.remaining_seconds == 60
    clock.now += 60
    assert links.open(link.token).remaining_seconds == 1  # the last second still serves
    clock.now += 1
    with pytest.raises(LinkInvalid, match="expired"):
        links.open(link.token)


@pytest.mark.parametrize("expires_in", [0, -1, 3601, 2**70])
def test_lifetimes_outside_the_configured_bounds_are_refused(
    container: Container, links: LinkService, expires_in: int
) -> None:
    asset = seed(container)
    with pytest.raises(InvalidInput, match="between 1 and 3600"):
        links.sign("ws", asset.id, expires_in=expires_in)


def test_another_workspaces_asset_is_not_found(container: Container, links: LinkService) -> None:
    asset = seed(container, workspace="other")
    with pytest.raises(NotFound):
        links.sign("ws", asset.id, expires_in=60)


def test_a_trashed_asset_gets_no_link_and_its_links_stop_serving(
    container: Container, links: LinkService
) -> None:
    asset = seed(container)
    token = links.sign("ws", asset.id, expires_in=60).token
    container.assets.delete("ws", asset.id)
    with pytest.raises(LinkInvalid):
        links.open(token)
    with pytest.raises(NotFound, match="trash"):
        links.sign("ws", asset.id, expires_in=60)
    container.assets.restore("ws", asset.id)
    assert links.open(token).asset.id == asset.id  # restored: the link serves again


def test_a_removed_asset_link_is_forbidden_not_an_error(
    container: Container, links: LinkService
) -> None:
    asset = seed(container)
    token = links.sign("ws", asset.id, expires_in=60).token
    container.assets.manifests.delete("ws", asset.id)
    with pytest.raises(LinkInvalid):
        links.open(token)


def test_a_link_to_a_version_no_longer_kept_is_refused(
    container: Container, links: LinkService
) -> None:
    asset = seed(container)
    token = links.sign("ws", asset.id, expires_in=60).token

    def new_version(current: Asset) -> Asset:
        current.version += 1
        return current

    # The manifest moves on without a record of version 1: nothing pins its bytes.
    container.assets.manifests.update("ws", asset.id, new_version)
    with pytest.raises(LinkInvalid, match="no longer kept"):
        links.open(token)


def test_a_link_signed_with_another_secret_is_refused(
    container: Container, links: LinkService, store: PresigningStore
) -> None:
    asset = seed(container)
    foreign = LinkService(
        container.settings,
        store,
        container.assets,
        container.versions,
        SigningSecret(store, b"x" * 32),
    )
    with pytest.raises(LinkInvalid, match="not valid"):
        links.open(foreign.sign("ws", asset.id, expires_in=60).token)


def test_redirects_are_presigned_for_the_links_remaining_life(
    container: Container, links: LinkService, store: PresigningStore, clock: Clock
) -> None:
    asset = seed(container)
    token = links.sign("ws", asset.id, expires_in=600, disposition=Disposition.ATTACHMENT).token
    clock.now += 100
    url = links.redirect_url(links.open(token))
    assert url is not None and url.startswith("https://store.example/blobs/")
    ((key, expires, mime, disposition),) = store.presigned
    assert key.endswith(asset.sha256) and expires == timedelta(seconds=500)
    assert mime == "image/png"
    assert disposition == "attachment; filename*=UTF-8''cat.png"


def test_previews_and_active_content_are_never_redirected(
    container: Container, links: LinkService, store: PresigningStore
) -> None:
    image, svg = seed(container), seed(container, mime="image/svg+xml", name="logo.svg")
    thumb = links.sign("ws", image.id, expires_in=60, rendition=Rendition.SMALL).token
    active = links.sign("ws", svg.id, expires_in=60).token
    assert links.redirect_url(links.open(thumb)) is None
    assert links.redirect_url(links.open(active)) is None
    assert store.presigned == []


def test_no_redirect_unless_configured(tmp_path: Path, store: PresigningStore) -> None:
    wired = build(make_settings(tmp_path / "d2"), store=store, use_embedder=False)
    try:
        asset = seed(wired)
        target = wired.links.open(wired.links.sign("ws", asset.id, expires_in=60).token)
        assert wired.links.redirect_url(target) is None
        assert store.presigned == []
    finally:
        wired.close()
