"""The backend-neutral query model (assetlens.query) translated to SQLite SQL.

User text never reaches FTS5 syntax: it is cut into terms (assetlens.searchtext) and each term
and stem is quoted, so `owner:*`, `NEAR(`, `"` or `(((` are just words or nothing.
"""

# SQL here is assembled only from fixed column/table names; every value is a bound
# parameter, so S608 (string-built SQL) does not apply.
# ruff: noqa: S608

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from assetlens.cursors import decode_sort_cursor, encode_cursor
from assetlens.filters import Facet, Filters
from assetlens.query import COST_MISSING_ASCENDING, COST_MISSING_DESCENDING, Sort, SortField
from assetlens.searchtext import EXACT_FIELDS, STEM_FIELD, SearchTerm
from indexer.embedded.schema import FTS_WEIGHTS, micros, scalar_filters

# Facet → the assets column it counts (tags, loras and models live in side tables).
FACET_COLUMNS: dict[Facet, str] = {
    Facet.TYPE: "type",
    Facet.FOLDER: "folder_id",
    Facet.PROVIDER: "provider",
    Facet.SOURCE: "source",
    Facet.GENERATOR: "generator",
    Facet.SAMPLER: "sampler",
    Facet.AI_GENERATED: "ai_generated",
    Facet.FAVORITE: "favorite",
    Facet.STATUS: "status",
    Facet.CREATED: "created_month",
    Facet.SIZE: "size_bucket",
    Facet.COST: "cost_bucket",
}
FACET_SIDE_TABLES: dict[Facet, tuple[str, str]] = {
    Facet.TAGS: ("asset_tags", "tag"),
    Facet.LORAS: ("asset_loras", "lora"),
    # Every model an asset used: an SDXL base + refiner asset counts once under each.
    Facet.MODEL: ("asset_models", "model"),
}
_SORT_COLUMNS: dict[SortField, str] = {
    SortField.CREATED_AT: "a.created_at",
    SortField.UPDATED_AT: "a.updated_at",
    SortField.NAME: "a.name_sort",
    SortField.SIZE: "a.size_bytes",
}
_EXACT_COLUMNS = "{" + " ".join(EXACT_FIELDS) + "}"
_BM25 = f"bm25(assets_fts, {', '.join(str(w) for w in FTS_WEIGHTS)})"


@dataclass(slots=True)
class Where:
    """A conjunction of SQL conditions with their parameters."""

    parts: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)

    def add(self, sql: str, *params: Any) -> None:
        self.parts.append(sql)
        self.params.extend(params)

    def sql(self) -> str:
        return " AND ".join(self.parts) if self.parts else "1"


def _quoted(text: str) -> str:
    """An FTS5 string: tokenized as a phrase, no operator read inside it."""
    return '"' + text.replace('"', '""') + '"'


def term_expression(term: SearchTerm) -> str:
    """The FTS5 expression one query term matches by: the term itself in an exact column,
    one of its stems in the stems column, or (while typed) a longer word it begins.

    FTS5 has no "longer words only" prefix: the prefix is asked for in the rows without the
    word itself (`NOT`), so the word is scored once, by its exact phrase, and the rows that
    match are the same (an exact word or a longer one)."""
    exact = f"{_EXACT_COLUMNS} : {_quoted(term.text)}"
    ways = [exact]
    ways.extend(f"{STEM_FIELD} : {_quoted(stem)}" for stem in term.stems)
    if term.prefix:
        ways.append(f"({_EXACT_COLUMNS} : {_quoted(term.text)} * NOT {exact})")
    return "(" + " OR ".join(ways) + ")"


def match_expression(terms: list[SearchTerm]) -> str:
    """An FTS5 MATCH expression requiring every term."""
    return " AND ".join(term_expression(term) for term in terms)


def _placeholders(values: list[Any]) -> str:
    return ", ".join("?" * len(values))


def filter_where(workspace: str, filters: Filters, alias: str = "a") -> Where:
    """The conditions selecting `workspace`'s assets that pass `filters`."""
    where = Where()
    where.add(f"{alias}.workspace = ?", workspace)
    statuses = [s.value for s in filters.effective_status()]
    where.add(f"{alias}.status IN ({_placeholders(statuses)})", *statuses)
    for column, values in scalar_filters(filters):
        if values:
            where.add(f"{alias}.{column} IN ({_placeholders(values)})", *values)
    if filters.exclude_folder_id:
        where.add(
            f"({alias}.folder_id IS NULL OR {alias}.folder_id NOT IN "
            f"({_placeholders(filters.exclude_folder_id)}))",
            *filters.exclude_folder_id,
        )
    for table, column, values in (
        ("asset_tags", "tag", filters.tags),
        ("asset_loras", "lora", filters.loras),
        ("asset_models", "model", filters.model),
    ):
        if values:
            where.add(
                f"{alias}.rowid IN (SELECT asset_rowid FROM {table} "
                f"WHERE {column} IN ({_placeholders(values)}))",
                *values,
            )
    if filters.ai_generated is not None:
        where.add(f"{alias}.ai_generated = ?", int(filters.ai_generated))
    if filters.favorite is not None:
        where.add(f"{alias}.favorite = ?", int(filters.favorite))
    if filters.created_from is not None:
        where.add(f"{alias}.created_at >= ?", micros(filters.created_from))
    if filters.created_to is not None:
        where.add(f"{alias}.created_at <= ?", micros(filters.created_to))
    if filters.size_min is not None:
        where.add(f"{alias}.size_bytes >= ?", filters.size_min)
    if filters.size_max is not None:
        where.add(f"{alias}.size_bytes <= ?", filters.size_max)
    # A NULL cost fails both comparisons: assets without a cost never pass a cost filter.
    if filters.cost_min is not None:
        where.add(f"{alias}.cost >= ?", filters.cost_min)
    if filters.cost_max is not None:
        where.add(f"{alias}.cost <= ?", filters.cost_max)
    return where


@dataclass(frozen=True, slots=True)
class Ordering:
    """How hits are ordered: the SQL sort expression, its SQL direction, and whether the
    expression is the (negated) bm25 rank."""

    field: SortField
    expr: str
    ascending: bool

    @property
    def is_rank(self) -> bool:
        return self.field is SortField.RELEVANCE

    def order_by(self) -> str:
        return f"{self.expr} {'ASC' if self.ascending else 'DESC'}, a.id ASC"

    def after(self, cursor: str) -> tuple[str, list[Any]]:
        """The condition selecting hits strictly after the one a cursor was made from."""
        value, last_id = self._decode(cursor)
        op = ">" if self.ascending else "<"
        return f"({self.expr} {op} ? OR ({self.expr} = ? AND a.id > ?))", [value, value, last_id]

    def cursor(self, value: Any, asset_id: str) -> str:
        return encode_cursor([value, asset_id])

    def _decode(self, cursor: str) -> tuple[Any, str]:
        return decode_sort_cursor(cursor, self.field)


def ordering(sort: Sort, has_text: bool) -> Ordering:
    """The ordering for `sort`; relevance without text falls back to newest first."""
    if sort.field is SortField.RELEVANCE:
        if not has_text:
            return Ordering(SortField.CREATED_AT, _SORT_COLUMNS[SortField.CREATED_AT], False)
        # bm25() is lower-is-better, so "most relevant first" is ascending rank.
        return Ordering(SortField.RELEVANCE, "m.rank", sort.descending)
    if sort.field is SortField.COST:
        missing = COST_MISSING_DESCENDING if sort.descending else COST_MISSING_ASCENDING
        return Ordering(SortField.COST, f"COALESCE(a.cost, {missing!r})", not sort.descending)
    return Ordering(sort.field, _SORT_COLUMNS[sort.field], not sort.descending)


def matched_source(has_text: bool) -> str:
    """The FROM clause: assets alone, or joined with the full-text matches and their rank."""
    if not has_text:
        return "assets a"
    return (
        f"(SELECT rowid AS fts_rowid, {_BM25} AS rank FROM assets_fts "
        "WHERE assets_fts MATCH ?) m JOIN assets a ON a.rowid = m.fts_rowid"
    )
