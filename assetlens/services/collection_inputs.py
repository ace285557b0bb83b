"""What a client sends to create or change a collection, its items and its shares, with the
limits that keep one collection document small (and searchable in one query)."""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from assetlens.collections import ShareRole
from assetlens.errors import InvalidInput

MAX_NAME_CHARS = 200
MAX_DESCRIPTION_CHARS = 2000
MAX_ITEMS = 1000  # below Filters.ids' limit, so a collection is searched in one query
MAX_SHARES = 100
MAX_BATCH = 100
MAX_PAGE = 100


def clean_label(value: str, limit: int, what: str) -> str:
    """NFC text without control, format (zero-width, bidi) characters, whitespace collapsed."""
    text = unicodedata.normalize("NFC", value)
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf"))
    text = " ".join(text.split())
    if len(text) > limit:
        raise InvalidInput(f"{what} is longer than {limit} characters")
    return text


class CollectionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=MAX_NAME_CHARS * 2)
    description: str = Field(default="", max_length=MAX_DESCRIPTION_CHARS * 2)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        text = clean_label(value, MAX_NAME_CHARS, "name")
        if not text:
            raise ValueError("name is empty")
        return text

    @field_validator("description")
    @classmethod
    def _description(cls, value: str) -> str:
        return clean_label(value, MAX_DESCRIPTION_CHARS, "description")


class CollectionPatch(BaseModel):
    """Owner-only edits; omitted fields stay as they are."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=MAX_NAME_CHARS * 2)
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION_CHARS * 2)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        return None if value is None else CollectionCreate._name(value)

    @field_validator("description")
    @classmethod
    def _description(cls, value: str | None) -> str | None:
        return None if value is None else clean_label(value, MAX_DESCRIPTION_CHARS, "description")


AssetId = Annotated[str, Field(max_length=64)]


class ItemsAdd(BaseModel):
    model_config = ConfigDict(extra="forbid")

    asset_ids: list[AssetId] = Field(min_length=1, max_length=MAX_BATCH)
    position: int | None = Field(
        default=None,
        ge=0,
        le=MAX_ITEMS,
        description="insert before this index (0 = first); default: at the end",
    )


class ItemsOrder(BaseModel):
    model_config = ConfigDict(extra="forbid")

    asset_ids: list[AssetId] = Field(min_length=1, max_length=MAX_ITEMS)


class ShareSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: ShareRole


class TagsSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tags: list[str] = Field(max_length=100)
