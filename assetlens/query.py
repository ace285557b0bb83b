"""The backend-neutral search model: the queries (keyword and vector), their sort order and
what a search answers. What narrows and counts a search is in assetlens.filters, the page
cursors in assetlens.cursors. Each index adapter translates them in one module."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field, field_validator

from assetlens.domain import Asset
from assetlens.errors import InvalidInput
from assetlens.filters import PREFIX_FACETS, Facet, FacetMode, Filters
from assetlens.normalize import tag_key

MAX_LIMIT = 100
MAX_QUERY_CHARS = 1000


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


# The cost an asset without one sorts as, so that it comes last ascending and descending
# (costs are never negative).
COST_MISSING_ASCENDING = 1.7976931348623157e308
COST_MISSING_DESCENDING = -1.0


class SortField(StrEnum):
    RELEVANCE = "relevance"
    CREATED_AT = "created_at"
    UPDATED_AT = "updated_at"
    NAME = "name"
    SIZE = "size"
    # Assets without a cost come last in both directions.
    COST = "cost"


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
