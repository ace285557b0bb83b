"""What a search is narrowed and counted by: the facets, their fixed buckets (size, cost)
and the Filters model. Shared by every query kind (keyword, vector) and every backend."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from assetlens.domain import AssetStatus, AssetType
from assetlens.errors import InvalidInput
from assetlens.fields import MAX_ID_CHARS, ByteCount, TagText
from assetlens.normalize import tag_key

MAX_FILTER_VALUES = 100
# Folder ids a filter may exclude: every folder of a workspace (the root view). Below
# SQLite's bound-parameter limit (32766) and Elasticsearch's terms limit (65536).
MAX_EXCLUDED_FOLDERS = 30_000
# An asset or folder id as a filter names it: the field rules' limit (assetlens/fields.py),
# so a filter refuses what no route would have stored.
FilterId = Annotated[str, Field(max_length=MAX_ID_CHARS)]


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
_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")

# Facet → the Filters field that takes its bucket values (dropped for it in disjunctive mode):
# the field of the facet's own name, except for these.
_OTHER_FILTER_FIELDS = {
    Facet.FOLDER: "folder_id",
    Facet.CREATED: "created_month",
    Facet.SIZE: "size_range",
    Facet.COST: "cost_range",
}
FACET_FILTER_FIELDS: dict[Facet, str] = {f: _OTHER_FILTER_FIELDS.get(f, f.value) for f in Facet}
# Facets of free text values, which a prefix can narrow (SearchQuery.facet_prefix); the
# others count fixed labels, booleans or months.
PREFIX_FACETS = frozenset(
    {
        Facet.TYPE,
        Facet.TAGS,
        Facet.FOLDER,
        Facet.MODEL,
        Facet.PROVIDER,
        Facet.SOURCE,
        Facet.GENERATOR,
        Facet.SAMPLER,
        Facet.LORAS,
    }
)

DEFAULT_STATUSES = (AssetStatus.PROCESSING, AssetStatus.READY, AssetStatus.FAILED)


class Filters(BaseModel):
    """Within a field any listed value matches; across fields all must match."""

    model_config = ConfigDict(extra="forbid")

    type: list[AssetType] = Field(default_factory=list, max_length=MAX_FILTER_VALUES)
    tags: list[TagText] = Field(default_factory=list, max_length=MAX_FILTER_VALUES)
    folder_id: list[FilterId] = Field(default_factory=list, max_length=MAX_FILTER_VALUES)
    # folder_id with every folder below it (SearchService expands it into the subtree's ids).
    include_subfolders: bool = False
    # Assets in none of these folders (assets without a folder pass): the root view.
    exclude_folder_id: list[FilterId] = Field(default_factory=list, max_length=MAX_EXCLUDED_FOLDERS)
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
    ids: list[FilterId] = Field(default_factory=list, max_length=2000)
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


def created_month(created: datetime) -> str:
    """The created facet's value of a creation time: its UTC month, YYYY-MM (naive times are
    UTC)."""
    aware = created if created.tzinfo else created.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m")


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
