"""CollectionService with fakes passed in: the role decision, revocation, grant markers,
compare-and-swap under races, hidden items and the search restriction."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import pytest

from assetlens import layout
from assetlens.collections import CollectionDocs, Role, ShareRole
from assetlens.domain import Asset, AssetStatus, AssetType
from assetlens.errors import Forbidden, InvalidInput, NotFound
from assetlens.ports import ObjectInfo
from assetlens.query import Hit, IndexDoc, SearchPage, SearchQuery, VectorQuery
from assetlens.services.assets import AssetService
from assetlens.services.collection_inputs import (
    CollectionCreate,
    ItemsAdd,
    ItemsOrder,
    ShareSet,
    TagsSet,
)
from assetlens.services.collections import CollectionService
from assetlens.services.search import SearchRequest, SearchService
from assetlens.stats import IndexStats
from assetlens.workqueue import WorkQueue
from tests.conftest import make_settings
from tests.fakes import FakeObjectStore


class RecordingIndex:
    """A search index that records the keyword queries it is asked and finds nothing."""

    def __init__(self) -> None:
        self.queries: list[SearchQuery] = []

    def ensure(self) -> None:
        return None

    def upsert(self, docs: Sequence[IndexDoc]) -> None:
        return None

    def remove(self, workspace: str, asset_ids: Sequence[str]) -> None:
        return None

    def get(self, workspace: str, asset_id: str) -> IndexDoc | None:
        return None

    def revisions(self) -> Iterator[tuple[str, str, int]]:
        return iter(())

    def search(self, query: SearchQuery) -> SearchPage:
        self.queries.append(query)
        return SearchPage(total=0, hits=[])

    def knn(self, query: VectorQuery) -> list[Hit]:
        return []

    def stats(self, workspace: str) -> IndexStats:
        return IndexStats()

    def rebuild(self, docs: Iterable[IndexDoc]) -> int:
        return 0

    def refresh(self) -> None:
        return None

    def read_ahead(self) -> None:
        return None

    def check(self) -> None:
        return None

    def close(self) -> None:
        return None


class RacingStore(FakeObjectStore):
    """Lets `interfere` write first the next time a collection document is swapped, so the
    swap loses its race exactly once."""

    def __init__(self) -> None:
        super().__init__()
        self.interfere: list[tuple[str, bytes]] = []

    def put_bytes(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str = "application/octet-stream",
        if_match: str | None = None,
        create_only: bool = False,
    ) -> ObjectInfo:
        if if_match is not None and self.interfere and "/collections/" in key:
            other_key, other_data = self.interfere.pop()
            super().put_bytes(other_key, other_data)
        return super().put_bytes(
            key, data, content_type=content_type, if_match=if_match, create_only=create_only
        )


class World:
    def __init__(self, tmp_path: Path, store: FakeObjectStore | None = None) -> None:
        self.store = store or FakeObjectStore()
        self.index = RecordingIndex()
        self.assets = AssetService(
            make_settings(tmp_path), self.store, self.index, WorkQueue(self.store, lease_seconds=30)
        )
        self.docs = CollectionDocs(self.store)
        self.service = CollectionService(
            self.docs, self.assets, SearchService(self.index, None, self.assets.manifests)
        )

    def asset(self, workspace: str = "alpha", status: AssetStatus = AssetStatus.READY) -> str:
        asset = Asset(
            workspace=workspace,
            name="a.png",
            type=AssetType.IMAGE,
            mime="image/png",
            extension="png",
            size_bytes=1,
            sha256="0" * 64,
            status=status,
        )
        self.assets.manifests.create(asset)
        return asset.id

    def shared_collection(self, *asset_ids: str) -> str:
        cid = self.service.create("alpha", CollectionCreate(name="Board")).collection.id
        if asset_ids:
            self.service.add_items("alpha", cid, ItemsAdd(asset_ids=list(asset_ids)))
        self.service.share("alpha", cid, "viewer", ShareSet(role=ShareRole.VIEW))
        self.service.share("alpha", cid, "editor", ShareSet(role=ShareRole.EDIT))
        return cid


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


def test_the_role_decision(world: World) -> None:
    cid = world.shared_collection()
    assert world.service.open("alpha", cid).role is Role.OWNER
    assert world.service.open("editor", cid, Role.EDIT).role is Role.EDIT
    assert world.service.open("viewer", cid).role is Role.VIEW
    with pytest.raises(Forbidden):
        world.service.open("viewer", cid, Role.EDIT)
    with pytest.raises(Forbidden):
        world.service.open("editor", cid, Role.OWNER)
    for stranger, collection_id in (("beta", cid), ("alpha", "0" * 32), ("alpha", "../x")):
        with pytest.raises(NotFound):
            world.service.open(stranger, collection_id)


def test_revoking_ends_access_on_the_next_call(world: World) -> None:
    cid = world.shared_collection()
    world.service.unshare("alpha", cid, "viewer")
    with pytest.raises(NotFound):
        world.service.open("viewer", cid)
    assert not world.store.exists(layout.grant_key("viewer", cid))
    assert world.service.open("editor", cid).role is Role.EDIT


def test_a_stale_grant_marker_grants_nothing(world: World) -> None:
    cid = world.shared_collection()
    world.docs.put_grant("beta", cid, "alpha")  # a marker the document does not back
    with pytest.raises(NotFound):
        world.service.open("beta", cid)
    assert cid not in [a.collection.id for a in world.service.list_for("beta")]


def test_sharing_again_repairs_a_lost_marker(world: World) -> None:
    cid = world.shared_collection()
    world.docs.drop_grant("viewer", cid)  # as if the process died between the two writes
    assert world.service.list_for("viewer") == []
    world.service.share("alpha", cid, "viewer", ShareSet(role=ShareRole.VIEW))
    assert [a.role for a in world.service.list_for("viewer")] == [Role.VIEW]


def test_share_refuses_the_owner_and_bad_names(world: World) -> None:
    cid = world.shared_collection()
    for grantee in ("alpha", "Not A Workspace", "../etc"):
        with pytest.raises(InvalidInput):
            world.service.share("alpha", cid, grantee, ShareSet(role=ShareRole.VIEW))


def test_a_lost_race_is_retried_without_losing_the_other_write(tmp_path: Path) -> None:
    world = World(tmp_path, RacingStore())
    cid = world.shared_collection()
    member = world.asset()
    current, _ = world.docs.get("alpha", cid)
    concurrent = current.model_copy(
        update={"name": "Renamed meanwhile", "revision": current.revision + 1}
    )
    assert isinstance(world.store, RacingStore)
    world.store.interfere.append(
        (layout.collection_key("alpha", cid), concurrent.model_dump_json().encode())
    )
    world.service.add_items("alpha", cid, ItemsAdd(asset_ids=[member]))
    final, _ = world.docs.get("alpha", cid)
    assert final.name == "Renamed meanwhile"
    assert final.item_ids() == [member]
    assert final.revision == current.revision + 2


def test_concurrent_adds_all_land(world: World) -> None:
    cid = world.shared_collection()
    ids = [world.asset() for _ in range(12)]

    def add(asset_id: str) -> None:
        world.service.add_items(
            "editor" if ids.index(asset_id) % 2 else "alpha", cid, ItemsAdd(asset_ids=[asset_id])
        )

    # the editor may add only what is shared with it: share the odd ones first
    odd = [i for n, i in enumerate(ids) if n % 2]
    lent = world.service.create("alpha", CollectionCreate(name="Lent")).collection.id
    world.service.add_items("alpha", lent, ItemsAdd(asset_ids=odd))
    world.service.share("alpha", lent, "editor", ShareSet(role=ShareRole.VIEW))
    threads = [threading.Thread(target=add, args=(i,)) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(world.docs.get("alpha", cid)[0].item_ids()) == sorted(ids)


def test_an_editor_adds_only_what_the_owner_shares_with_it(world: World) -> None:
    cid = world.shared_collection()
    private = world.asset()
    editors_own = world.asset("editor")
    for asset_id in (private, editors_own):
        with pytest.raises(InvalidInput):
            world.service.add_items("editor", cid, ItemsAdd(asset_ids=[asset_id]))
    with pytest.raises(Forbidden):
        world.service.add_items("viewer", cid, ItemsAdd(asset_ids=[private]))
    assert world.docs.get("alpha", cid)[0].items == []


def test_items_skip_trashed_and_purged_assets(world: World) -> None:
    live, trashed, purged = world.asset(), world.asset(), world.asset()
    cid = world.shared_collection(live, trashed, purged)
    world.assets.delete("alpha", trashed)
    world.assets.manifests.delete("alpha", purged)
    page = world.service.items("viewer", cid)
    assert [view.asset.id for view in page.items] == [live]
    assert [view.position for view in page.items] == [0]
    for gone in (trashed, purged):
        with pytest.raises(NotFound):
            world.service.asset("viewer", cid, gone)
    world.service.remove_item("editor", cid, purged)  # the collection can be tidied
    assert world.docs.get("alpha", cid)[0].item_ids() == [live, trashed]


def test_reorder_puts_the_listed_first(world: World) -> None:
    a, b, c = world.asset(), world.asset(), world.asset()
    cid = world.shared_collection(a, b, c)
    world.service.reorder("editor", cid, ItemsOrder(asset_ids=[c, a]))
    assert world.docs.get("alpha", cid)[0].item_ids() == [c, a, b]
    world.service.add_items("alpha", cid, ItemsAdd(asset_ids=[world.asset()], position=1))
    assert world.docs.get("alpha", cid)[0].item_ids()[0] == c


def test_deleting_withdraws_every_grant_marker(world: World) -> None:
    cid = world.shared_collection()
    world.service.delete("alpha", cid)
    assert list(world.store.list_keys(layout.grant_prefix("viewer"))) == []
    assert list(world.store.list_keys(layout.grant_prefix("editor"))) == []
    with pytest.raises(NotFound):
        world.service.open("alpha", cid)


def test_editor_tags_go_through_the_asset_manifest(world: World) -> None:
    member = world.asset()
    cid = world.shared_collection(member)
    updated = world.service.set_tags("editor", cid, member, TagsSet(tags=["Sky", "sky"]))
    assert updated.tags == ["sky"]
    assert world.assets.get("alpha", member).tags == ["sky"]
    with pytest.raises(Forbidden):
        world.service.set_tags("viewer", cid, member, TagsSet(tags=["x"]))


def test_search_is_one_query_over_the_collections_live_items(world: World) -> None:
    a, b = world.asset(), world.asset()
    cid = world.shared_collection(a, b)
    world.service.search("viewer", cid, SearchRequest(q="sky"))
    query = world.index.queries[-1]
    assert query.workspace == "alpha"
    assert query.filters.ids == [a, b]
    assert AssetStatus.DELETED not in query.filters.status
    narrowed = SearchRequest.model_validate({"filters": {"ids": [b, world.asset()]}})
    world.service.search("viewer", cid, narrowed)
    assert world.index.queries[-1].filters.ids == [b]


def test_search_of_nothing_asks_the_index_nothing(world: World) -> None:
    cid = world.shared_collection()
    trash_only = SearchRequest.model_validate({"filters": {"status": ["deleted"]}})
    for request in (SearchRequest(), trash_only):
        assert world.service.search("viewer", cid, request).total == 0
    a = world.asset()
    world.service.add_items("alpha", cid, ItemsAdd(asset_ids=[a]))
    assert world.service.search("viewer", cid, trash_only).total == 0
    assert world.index.queries == []
