"""Response models of the /v1/collections routes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from api.schemas import AssetOut
from assetlens.collections import Role, ShareRole
from assetlens.services.collection_access import Access
from assetlens.services.collections import ItemsPage, ItemView


class CollectionOut(BaseModel):
    id: str
    name: str
    description: str
    owner: str = Field(description="the workspace that owns the collection and its assets")
    role: Role = Field(description="the caller's role: owner, edit or view")
    item_count: int
    shares: dict[str, ShareRole] = Field(
        description="workspace → role; shown to the owner only (empty for grantees)"
    )
    revision: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, access: Access) -> CollectionOut:
        collection = access.collection
        return cls(
            id=collection.id,
            name=collection.name,
            description=collection.description,
            owner=collection.owner,
            role=access.role,
            item_count=len(collection.items),
            shares=dict(collection.shares) if access.role is Role.OWNER else {},
            revision=collection.revision,
            created_at=collection.created_at,
            updated_at=collection.updated_at,
        )


class CollectionList(BaseModel):
    items: list[CollectionOut]


class CollectionItemOut(BaseModel):
    position: int = Field(description="0-based place in the collection's order")
    added_at: datetime
    added_by: str | None = Field(description="the workspace that added it (owner only)")
    asset: AssetOut

    @classmethod
    def of(cls, view: ItemView, role: Role) -> CollectionItemOut:
        return cls(
            position=view.position,
            added_at=view.item.added_at,
            added_by=view.item.added_by if role is Role.OWNER else None,
            asset=AssetOut.of(view.asset),
        )


class CollectionItemsPage(BaseModel):
    collection: CollectionOut
    items: list[CollectionItemOut]
    next_cursor: str | None

    @classmethod
    def of(cls, page: ItemsPage) -> CollectionItemsPage:
        return cls(
            collection=CollectionOut.of(page.access),
            items=[CollectionItemOut.of(v, page.access.role) for v in page.items],
            next_cursor=page.next_cursor,
        )
