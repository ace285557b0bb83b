"""The backend-neutral search model. Each index adapter translates it in one module."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from assetlens.domain import Asset, AssetStatus, AssetType
from assetlens.errors import InvalidInput
from assetlens.normalize import tag_key

MAX_LIMIT = 100
MAX_FILTER_VALUES = 100
MAX_QUERY_CHARS = 1000
# Folder ids a filter may exclude: every folder of a workspace (the root view). Below
# SQLite's bound-parameter limit (32766) and Elasticsearch's terms limit (65536).
MAX_EXCLUDED_FOLDERS = 30_000


class SearchMode(StrEnum):
    KEYWORD = "keyword"
    SEMANTIC = "semantic"
    HYBRID = "hybrid"


class Facet(StrEnum):
    """Facet names; `created` buckets by month, `size` by fixed ranges (SIZE_BUCKETS)."""

    TYPE = "type"
    TAGS = "tags"
    FOLDER = "folder"
    MODEL = "model"
    PROVIDER = "provider"
    SOURCE = "source"
    GENERATOR = "generator"
    SAMPLER = "sampler"
    LORAS = "loras"
    AI_GENERATED = "ai_generated"
    STATUS = "status"
    CREATED = "created"
    SIZE = "size"


# (label, lower bound inclusive, upper bound exclusive); None is open.
SIZE_BUCKETS: list[tuple[str, int | None, int | None]] = [
    ("<100KB", None, 100 * 1024),
    ("100KB-1MB", 100 * 1024, 1024 * 1024),
    ("1MB-10MB", 1024 * 1024, 10 * 1024 * 1024),
    ("10MB-100MB", 10 * 1024 * 1024, 100 * 1024 * 1024),
    (">=100MB", 100 * 1024 * 1024, None),
]


class SortField(StrEnum):
    RELEVANCE = "relevance"
    CREATED_AT = "created_at"
    UPDATED_AT = "updated_at"
    NAME = "name"
    SIZE = "size"


class Sort(BaseModel):
    field: SortField = SortField.RELEVANCE
    descending: bool = True

    @classmethod
    def parse(cls, text: str | None, has_text: bool) -> Sort:
        """`"created_at:desc"`, `"name"`, `"-size"`…; default relevance with text, newest first
        without."""
        if not text:
            return cls(field=SortField.RELEVANCE if has_text else SortField.CREATED_AT)
        descending = text.startswith("-")
        name, _, direction = text.lstrip("-").partition(":")
        try:
            field = SortField(name)
        except ValueError as exc:
            raise InvalidInput(f"unknown sort field {name!r}") from exc
        if direction:
            if direction not in ("asc", "desc"):
                raise InvalidInput("sort direction must be asc or desc")
            descending = direction == "desc"
        elif not text.startswith("-"):
            descending = field in (SortField.RELEVANCE, SortField.CREATED_AT, SortField.UPDATED_AT)
        if field is SortField.RELEVANCE and not has_text:
            field, descending = SortField.CREATED_AT, True
        return cls(field=field, descending=descending)


class Filters(BaseModel):
    """Within a field any listed value matches; across fields all must match."""

    model_config = ConfigDict(extra="forbid")

    type: list[AssetType] = Field(default_factory=list, max_length=MAX_FILTER_VALUES)
    tags: list[str] = Field(default_factory=list, max_length=MAX_FILTER_VALUES)
    folder_id: list[str] = Field(default_factory=list, max_length=MAX_FILTER_VALUES)
    # folder_id with every folder below it (SearchService expands it into the subtree's ids).
    include_subfolders: bool = False
    # Assets in none of these folders (assets without a folder pass): the root view.
    exclude_folder_id: list[str] = Field(default_factory=list,
                                         max_length=MAX_EXCLUDED_FOLDERS)
    model: list[str] = Field(default_factory=list, max_length=MAX_FILTER_VALUES)
    provider: list[str] = Field(default_factory=list, max_length=MAX_FILTER_VALUES)
    source: list[str] = Field(default_factory=list, max_length=MAX_FILTER_VALUES)
    generator: list[str] = Field(default_factory=list, max_length=MAX_FILTER_VALUES)
    sampler: list[str] = Field(default_factory=list, max_length=MAX_FILTER_VALUES)
    loras: list[str] = Field(default_factory=list, max_length=MAX_FILTER_VALUES)
    status: list[AssetStatus] = Field(default_factory=list, max_length=10)
    ai_generated: bool | None = None
    ids: list[str] = Field(default_factory=list, max_length=2000)
    created_from: datetime | None = None
    created_to: datetime | None = None
    size_min: int | None = Field(default=None, ge=0)
    size_max: int | None = Field(default=None, ge=0)

    @field_validator("folder_id", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("tags", mode="after")
    @classmethod
    def _canonical_tags(cls, value: list[str]) -> list[str]:
        return [tag_key(v) for v in value]

    def effective_status(self) -> list[AssetStatus]:
        """Deleted assets are hidden unless asked for explicitly."""
        return self.status or [AssetStatus.PROCESSING, AssetStatus.READY, AssetStatus.FAILED]


class SearchQuery(BaseModel):
    """A keyword (full-text + filters) query against one workspace."""

    workspace: str
    text: str | None = Field(default=None, max_length=MAX_QUERY_CHARS)
    filters: Filters = Field(default_factory=Filters)
    facets: list[Facet] = Field(default_factory=list)
    sort: Sort = Field(default_factory=Sort)
    limit: int = Field(default=20, ge=1, le=MAX_LIMIT)
    cursor: str | None = None
    facet_size: int = Field(default=20, ge=1, le=200)


class VectorQuery(BaseModel):
    """k nearest neighbours of `vector` among vectors made by `model`."""

    workspace: str
    vector: list[float]
    model: str
    k: int = Field(default=20, ge=1, le=1000)
    filters: Filters = Field(default_factory=Filters)
    exclude_ids: list[str] = Field(default_factory=list)


class Hit(BaseModel):
    asset: Asset
    score: float | None = None


class FacetBucket(BaseModel):
    value: str
    count: int


class SearchPage(BaseModel):
    total: int
    hits: list[Hit]
    facets: dict[str, list[FacetBucket]] = Field(default_factory=dict)
    next_cursor: str | None = None


class IndexDoc(BaseModel):
    """What the indexer gives a search index: the asset and, optionally, its image vector."""

    asset: Asset
    vector: list[float] | None = None
    vector_model: str | None = None


def encode_cursor(values: list[Any]) -> str:
    """An opaque cursor from the sort values of the last hit (search_after style)."""
    raw = json.dumps(values, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[Any]:
    """The sort values inside a cursor; InvalidInput when it was not made by encode_cursor."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput("malformed cursor") from exc
    if not isinstance(values, list) or len(values) > 4:
        raise InvalidInput("malformed cursor")
    return values


def size_bucket(size: int) -> str:
    for label, low, high in SIZE_BUCKETS:
        if (low is None or size >= low) and (high is None or size < high):
            return label
    return SIZE_BUCKETS[-1][0]
