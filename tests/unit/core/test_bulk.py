"""BulkService and the per-asset changes it uses, with fakes passed in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from assetlens.bootstrap import Container, build
from assetlens.domain import Asset, AssetStatus, AssetType, BulkAction
from assetlens.errors import InvalidInput
from assetlens.manifests import Manifests
from assetlens.ports import ObjectInfo
from assetlens.query import IndexDoc
from assetlens.services.bulk import BulkQuery, BulkRequest
from tests.conftest import make_settings
from tests.fakes import FakeObjectStore

WORD = "lighthouse"


class RacingStore(FakeObjectStore):
    """Before the first compare-and-swap of `key`, another writer adds the tag `theirs`:
    the CAS then loses, as it would against a concurrent PATCH."""

    def __init__(self) -> None:
        super().__init__()
        self.key: str | None = None
        self.raced = False

    def put_bytes(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str = "application/octet-stream",
        if_match: str | None = None,
        create_only: bool = False,
    ) -> ObjectInfo:
        if key == self.key and if_match is not None and not self.raced:
            self.raced = True
            current = Asset.model_validate_json(self.get_bytes(key).data)
            current.tags = [*current.tags, "theirs"]
            current.revision += 1
            super().put_bytes(key, current.model_dump_json().encode())
        return super().put_bytes(
            key, data, content_type=content_type, if_match=if_match, create_only=create_only
        )


@pytest.fixture
def store() -> RacingStore:
    return RacingStore()


@pytest.fixture
def container(tmp_path: Path, store: RacingStore) -> Iterator[Container]:
    wired = build(
        make_settings(tmp_path / "data", bulk_max_assets=120), store=store, use_embedder=False
    )
    wired.index.ensure()
    yield wired
    wired.close()


def seed(container: Container, count: int, *, prompt: str = WORD) -> list[Asset]:
    """`count` ready assets written straight to the store and the index (no media work)."""
    assets = [
        Asset(
            workspace="ws",
            name=f"a{n}.png",
            type=AssetType.IMAGE,
            mime="image/png",
            extension="png",
            size_bytes=10,
            sha256=f"{n:064x}",
            tags=["old"],
            status=AssetStatus.READY,
            description=prompt,
        )
        for n in range(count)
    ]
    for asset in assets:
        container.assets.manifests.create(asset)
    container.index.upsert([IndexDoc(asset=asset) for asset in assets])
    return assets


def revisions(manifests: Manifests, assets: list[Asset]) -> list[int]:
    return [manifests.get("ws", a.id)[0].revision for a in assets]


def test_change_tags_works_on_the_manifest_current_at_write_time(
    container: Container, store: RacingStore
) -> None:
    (asset,) = seed(container, 1)
    store.key = f"manifests/ws/{asset.id}.json"
    changed = container.assets.change_tags("ws", asset.id, add=["Mine"], remove=["OLD"])
    assert store.raced and changed is not None
    assert changed.tags == ["theirs", "mine"]  # the racing writer's tag survived
    assert changed.revision == asset.revision + 2


def test_change_tags_without_effect_writes_no_revision(container: Container) -> None:
    (asset,) = seed(container, 1)
    assert container.assets.change_tags("ws", asset.id, add=["old"], remove=["absent"]) is None
    assert container.assets.get("ws", asset.id).revision == asset.revision
    assert container.queue.claim(10) == []  # nothing to re-index either


def test_query_is_paged_through_every_match(container: Container) -> None:
    assets = seed(container, 110)
    seed(container, 3, prompt="harbour")
    result = container.bulk.run(
        "ws", BulkRequest(action=BulkAction.TAG, tags=["Coast"], query=BulkQuery(q=WORD))
    )
    assert result.matched == 110 and not result.failed
    assert sorted(result.succeeded) == sorted(a.id for a in assets)
    assert {tuple(container.assets.get("ws", a.id).tags) for a in assets} == {("old", "coast")}


def test_query_over_the_cap_is_refused_before_any_change(container: Container) -> None:
    assets = seed(container, 121)
    with pytest.raises(InvalidInput, match="at most 120"):
        container.bulk.run("ws", BulkRequest(action=BulkAction.DELETE, query=BulkQuery()))
    assert set(revisions(container.assets.manifests, assets)) == {1}


def test_results_keep_the_request_order(container: Container) -> None:
    assets = seed(container, 20)
    missing = "f" * 32
    ids = [a.id for a in reversed(assets)]
    result = container.bulk.run(
        "ws", BulkRequest(action=BulkAction.FAVORITE, ids=[ids[0], missing, *ids[1:]])
    )
    assert result.succeeded == ids
    assert [(f.id, f.status) for f in result.failed] == [(missing, 404)]
