"""The backend-neutral search model. Each index adapter translates it in one module."""

from __future__ import annotations

import base64
import json
import math
import re
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from assetlens.domain import Asset, AssetStatus, AssetType
from assetlens.errors import InvalidInput
from assetlens.fields import INT64_MAX, INT64_MIN, ByteCount
from assetlens.normalize import tag_key

MAX_LIMIT = 100
MAX_FILTER_VALUES = 100
MAX_QUERY_CHARS = 1000
# Folder ids a filter may exclude: every folder of a workspace (the root view). Below
# SQLite's bound-parameter limit (32766) and Elasticsearch's terms limit (65536).
MAX_EXCLUDED_FOLDERS = 30_000


class SearchMode(StrEnum):
    """How a search ranks: `auto` (the default) is hybrid when a CLIP model is available
    and keyword otherwise; the others are what they say (semantic and hybrid need CLIP)."""

    AUTO = "auto"
    KEYWORD = "keyword"
    SEMANTIC = "semantic"
    HYBRID = "hybrid"


class RankedBy(StrEnum):
    """The mode a search actually used (`mode_used` in its response): never `auto`."""

    KEYWORD = "keyword"
    SEMANTIC = "semantic"
    HYBRID = "hybrid"


class Facet(StrEnum):
    """Facet names; `created` buckets by month, `size` and `cost` by fixed ranges
    (SIZE_BUCKETS, COST_BUCKETS)."""

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
    FAVORITE = "favorite"
    CREATED = "created"
    SIZE = "size"
    COST = "cost"


class FacetMode(StrEnum):
    """How facets are counted. `conjunctive`: over the hits (every filter applies).
    `disjunctive`: each facet over the hits of every filter except its own field's, so that
    the other values of a field stay visible (and countable) while some are selected."""

    CONJUNCTIVE = "conjunctive"
    DISJUNCTIVE = "disjunctive"


# (label, lower bound inclusive, upper bound exclusive); None is open.
SIZE_BUCKETS: list[tuple[str, int | None, int | None]] = [
    ("<100KB", None, 100 * 1024),
    ("100KB-1MB", 100 * 1024, 1024 * 1024),
    ("1MB-10MB", 1024 * 1024, 10 * 1024 * 1024),
    ("10MB-100MB", 10 * 1024 * 1024, 100 * 1024 * 1024),
    (">=100MB", 100 * 1024 * 1024, None),
]
SIZE_LABELS = tuple(label for label, _, _ in SIZE_BUCKETS)
# Generation cost ranges: (label, lower bound, upper bound exclusive; None is open). "0" is
# exactly zero (free); every other bucket is above its lower bound or equal to it, except
# that zero itself sits in "0", not in "<0.01" (see `cost_range_bounds`).
COST_BUCKETS: list[tuple[str, float, float | None]] = [
    ("0", 0.0, 0.0),
    ("<0.01", 0.0, 0.01),
    ("0.01-0.1", 0.01, 0.1),
    ("0.1-1", 0.1, 1.0),
    ("1-10", 1.0, 10.0),
    (">=10", 10.0, None),
]
COST_LABELS = tuple(label for label, _, _ in COST_BUCKETS)
# The cost an asset without one sorts as, so that it comes last ascending and descending
# (costs are never negative).
COST_MISSING_ASCENDING = 1.7976931348623157e308
COST_MISSING_DESCENDING = -1.0
_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")

# Facet → the Filters field that takes its bucket values (dropped for it in disjunctive mode).
FACET_FILTER_FIELDS: dict[Facet, str] = {
    Facet.TYPE: "type", Facet.TAGS: "tags", Facet.FOLDER: "folder_id", Facet.MODEL: "model",
    Facet.PROVIDER: "provider", Facet.SOURCE: "source", Facet.GENERATOR: "generator",
    Facet.SAMPLER: "sampler", Facet.LORAS: "loras", Facet.AI_GENERATED: "ai_generated",
    Facet.STATUS: "status", Facet.FAVORITE: "favorite", Facet.CREATED: "created_month",
    Facet.SIZE: "size_range", Facet.COST: "cost_range",
}  # fmt: skip
# Facets of free text values, which a prefix can narrow (SearchQuery.facet_prefix); the
# others count fixed labels, booleans or months.
PREFIX_FACETS = frozenset({Facet.TYPE, Facet.TAGS, Facet.FOLDER, Facet.MODEL, Facet.PROVIDER,
                           Facet.SOURCE, Facet.GENERATOR, Facet.SAMPLER, Facet.LORAS})


class SortField(StrEnum):
    RELEVANCE = "relevance"
    CREATED_AT = "created_at"
    UPDATED_AT = "updated_at"
    NAME = "name"
    SIZE = "size"
    # Assets without a cost come last in both directions.
    COST = "cost"


DEFAULT_STATUSES = (AssetStatus.PROCESSING, AssetStatus.READY, AssetStatus.FAILED)


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
    favorite: bool | None = None
    created_month: list[str] = Field(default_factory=list, max_length=MAX_FILTER_VALUES)
    size_range: list[str] = Field(default_factory=list, max_length=len(SIZE_BUCKETS))
    ids: list[str] = Field(default_factory=list, max_length=2000)
    created_from: datetime | None = None
    created_to: datetime | None = None
    size_min: ByteCount | None = None
    size_max: ByteCount | None = None
    # Generation cost (`generation.cost`); assets without one never pass a cost filter.
    cost_range: list[str] = Field(default_factory=list, max_length=len(COST_BUCKETS))
    cost_min: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    cost_max: float | None = Field(default=None, ge=0, allow_inf_nan=False)

    @field_validator("folder_id", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("tags", mode="after")
    @classmethod
    def _canonical_tags(cls, value: list[str]) -> list[str]:
        return [tag_key(v) for v in value]

    @field_validator("created_month", mode="after")
    @classmethod
    def _months(cls, value: list[str]) -> list[str]:
        for month in value:
            if not _MONTH.fullmatch(month):
                raise ValueError(f"created_month values are YYYY-MM months, not {month[:20]!r}")
        return value

    @field_validator("size_range", "cost_range", mode="after")
    @classmethod
    def _bucket_labels(cls, value: list[str], info: ValidationInfo) -> list[str]:
        allowed = SIZE_LABELS if info.field_name == "size_range" else COST_LABELS
        for label in value:
            if label not in allowed:
                raise ValueError(f"{info.field_name} values are one of {', '.join(allowed)}")
        return value

    def effective_status(self) -> list[AssetStatus]:
        """Deleted assets are hidden unless asked for explicitly."""
        return self.status or list(DEFAULT_STATUSES)

    def without(self, facet: Facet) -> Filters:
        """These filters less the field `facet` counts (its disjunctive counting set).

        Status is the exception: dropping it would hide the trash again, so its counting
        set is the default statuses plus those selected (the same set when none is)."""
        name = FACET_FILTER_FIELDS[facet]
        if facet is Facet.STATUS:
            if not self.status:
                return self
            widened = [s for s in AssetStatus if s in DEFAULT_STATUSES or s in self.status]
            return self.model_copy(update={"status": widened})
        if getattr(self, name) in (None, []):
            return self
        default = Filters.model_fields[name].get_default(call_default_factory=True)
        return self.model_copy(update={name: default})


class SearchQuery(BaseModel):
    """A keyword (full-text + filters) query against one workspace."""

    workspace: str
    text: str | None = Field(default=None, max_length=MAX_QUERY_CHARS)
    filters: Filters = Field(default_factory=Filters)
    facets: list[Facet] = Field(default_factory=list)
    facet_mode: FacetMode = FacetMode.CONJUNCTIVE
    sort: Sort = Field(default_factory=Sort)
    limit: int = Field(default=20, ge=1, le=MAX_LIMIT)
    cursor: str | None = None
    facet_size: int = Field(default=20, ge=1, le=200)
    # Per facet, only the values starting with this text are counted (before facet_size
    # cuts), so a rare value with the prefix is found; tags compare in normalised form.
    facet_prefix: dict[Facet, str] = Field(default_factory=dict)

    @field_validator("facet_prefix", mode="after")
    @classmethod
    def _prefixes(cls, value: dict[Facet, str]) -> dict[Facet, str]:
        if not value.keys() <= PREFIX_FACETS:
            raise ValueError("only facets of text values take a prefix")
        return {f: tag_key(p) if f is Facet.TAGS else p for f, p in value.items() if p}

    def facet_filters(self, facet: Facet) -> Filters:
        """The filters `facet` is counted under: all of them, or in disjunctive mode all
        but the facet's own field."""
        if self.facet_mode is FacetMode.DISJUNCTIVE:
            return self.filters.without(facet)
        return self.filters


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
    # Index adapters rank by keyword; the search service sets the vector modes.
    mode_used: RankedBy = RankedBy.KEYWORD


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
        values = json.loads(base64.urlsafe_b64decode(padded.encode()), parse_int=_cursor_int)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput("malformed cursor") from exc
    if not isinstance(values, list) or len(values) > 4 or \
            not all(_cursor_value(value) for value in values):
        raise InvalidInput("malformed cursor")
    return values


def decode_sort_cursor(cursor: str, field: SortField) -> tuple[Any, str]:
    """The (sort value, asset id) inside a cursor made for a page sorted by `field`;
    InvalidInput when it is malformed or was made for another sort. Every backend pages by
    this pair."""
    values = decode_cursor(cursor)
    if len(values) != 2 or not isinstance(values[1], str):
        raise InvalidInput("malformed cursor")
    value = values[0]
    if field is SortField.NAME:
        ok = isinstance(value, str)
    elif field in (SortField.RELEVANCE, SortField.COST):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    else:
        ok = isinstance(value, int) and not isinstance(value, bool)
    if not ok:
        raise InvalidInput("cursor does not belong to this sort order")
    return value, values[1]


def _cursor_int(digits: str) -> int:
    # Thousands of digits are never converted (quadratic, and no sort value is that long).
    if len(digits) > 20:
        raise ValueError("a number longer than any sort value")
    return int(digits)


def _cursor_value(value: Any) -> bool:
    """Whether `value` is a sort value encode_cursor could have written: text, or a number
    the backends compare (a 64-bit integer, a finite float)."""
    if value is None or isinstance(value, bool | str):
        return not isinstance(value, str) or len(value) <= 4096
    if isinstance(value, int):
        return INT64_MIN <= value <= INT64_MAX
    return isinstance(value, float) and math.isfinite(value)


def size_bucket(size: int) -> str:
    for label, low, high in SIZE_BUCKETS:
        if (low is None or size >= low) and (high is None or size < high):
            return label
    return SIZE_BUCKETS[-1][0]


def index_cost(cost: float | None) -> float | None:
    """The cost an index stores and filters on: a finite, non-negative number or nothing
    (a value no client could set through the API, e.g. NaN from an old manifest, is none)."""
    if cost is None or not math.isfinite(cost) or cost < 0:
        return None
    return float(cost)


def cost_range_bounds(label: str) -> tuple[float, bool, float | None]:
    """(low, whether low itself is in, high exclusive or None) of a cost bucket; "0" is
    (0, True, 0): the adapters read `high == low` as exactly `low`."""
    for name, low, high in COST_BUCKETS:
        if name == label:
            return low, not (low == 0 and high != 0), high
    raise InvalidInput(f"unknown cost range {label!r}")


def cost_bucket(cost: float | None) -> str | None:
    """The COST_BUCKETS label of a cost (None without one)."""
    value = index_cost(cost)
    if value is None:
        return None
    for label, _, _ in COST_BUCKETS:
        low, inclusive, high = cost_range_bounds(label)
        if high == low:
            if value == low:
                return label
            continue
        if (value > low or (inclusive and value == low)) and (high is None or value < high):
            return label
    return COST_BUCKETS[-1][0]
