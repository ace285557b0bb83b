"""The backend-neutral query model (assetlens.query) translated to tantivy queries.

Each query term matches as Elasticsearch's does (indexer.elasticsearch.translate.term_clause):
its words as a phrase in any exact text (scores summed, weighted by searchtext's field
weights), or one of its stems in `stems`, or — while typed — as the beginning of a longer word.
Filters carry no score. User text never becomes query syntax: terms are built, not parsed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tantivy import FieldType, Occur, Query, Searcher

from assetlens.cursors import decode_sort_cursor
from assetlens.facetcounts import ordered_buckets
from assetlens.filters import Facet, Filters
from assetlens.query import FacetBucket, Sort, SortField
from assetlens.searchtext import (
    EXACT_FIELDS,
    FIELD_WEIGHTS,
    PREFIX_WEIGHT,
    STEM_FIELD,
    SearchTerm,
    search_terms,
)
from indexer.embedded.keyword_schema import (
    COST,
    COST_ASC,
    COST_DESC,
    SCHEMA,
    TEXT_FIELDS,
    words,
)
from indexer.embedded.schema import micros, scalar_filters

# (field, prefix) → the field's words beginning with it, or None when they are too many.
PrefixExpander = Callable[[str, str], list[str] | None]
# A prefix expanding to more words than this is left to tantivy's phrase prefix query.
MAX_PREFIX_WORDS = 256

# Facet → the keyword field it counts.
FACET_FIELDS: dict[Facet, str] = {
    Facet.TYPE: "type", Facet.TAGS: "tags", Facet.FOLDER: "folder_id", Facet.MODEL: "models",
    Facet.PROVIDER: "provider", Facet.SOURCE: "source", Facet.GENERATOR: "generator",
    Facet.SAMPLER: "sampler", Facet.LORAS: "loras", Facet.AI_GENERATED: "ai_generated",
    Facet.STATUS: "status", Facet.FAVORITE: "favorite", Facet.CREATED: "created_month",
    Facet.SIZE: "size_bucket", Facet.COST: "cost_bucket",
}  # fmt: skip
# Terms aggregations return at most this many values (tantivy's default bucket limit is
# 65,000); every value is asked for so counts are exact and ties are cut by value here.
MAX_FACET_VALUES = 60_000
_SORT_FIELDS: dict[SortField, str] = {
    SortField.CREATED_AT: "created_at",
    SortField.UPDATED_AT: "updated_at",
    SortField.NAME: "name_sort",
    SortField.SIZE: "size_bytes",
}


def _terms(field: str, values: list[str]) -> Query:
    if len(values) == 1:
        return Query.term_query(SCHEMA, field, values[0])
    return Query.term_set_query(SCHEMA, field, values)


def _int_range(field: str, low: int | None, high: int | None) -> Query:
    return Query.range_query(SCHEMA, field, FieldType.Integer, low, high)


def filter_query(workspace: str, filters: Filters) -> Query:
    """The documents of `workspace` passing `filters` (scoring nothing)."""
    must: list[Query] = [
        Query.term_query(SCHEMA, "workspace", workspace),
        _terms("status", [s.value for s in filters.effective_status()]),
    ]
    keyword = [*scalar_filters(filters), ("tags", filters.tags), ("loras", filters.loras),
               ("models", filters.model)]  # fmt: skip
    must.extend(_terms(field, values) for field, values in keyword if values)
    if filters.ai_generated is not None:
        must.append(Query.term_query(SCHEMA, "ai_generated", str(filters.ai_generated).lower()))
    if filters.favorite is not None:
        must.append(Query.term_query(SCHEMA, "favorite", str(filters.favorite).lower()))
    if filters.created_from is not None or filters.created_to is not None:
        must.append(_int_range(
            "created_at",
            None if filters.created_from is None else micros(filters.created_from),
            None if filters.created_to is None else micros(filters.created_to),
        ))  # fmt: skip
    if filters.size_min is not None or filters.size_max is not None:
        must.append(_int_range("size_bytes", filters.size_min, filters.size_max))
    # An asset without a cost has no `cost` value: it fails any cost range, as in SQL.
    if filters.cost_min is not None or filters.cost_max is not None:
        must.append(Query.range_query(SCHEMA, COST, FieldType.Float, filters.cost_min,
                                      filters.cost_max))  # fmt: skip
    clauses = [(Occur.Must, q) for q in must]
    if filters.exclude_folder_id:
        # Assets without a folder have no folder_id term, so MustNot lets them pass.
        clauses.append((Occur.MustNot, _terms("folder_id", filters.exclude_folder_id)))
    return Query.const_score_query(Query.boolean_query(clauses), 0.0)


def _weighted(query: Query, weight: float) -> Query:
    return query if weight == 1.0 else Query.boost_query(query, weight)


def term_query(term: SearchTerm, expand: PrefixExpander | None = None) -> Query | None:
    """The query one search term matches by (None for a term without words once analysed).
    With `expand`, a prefix is matched by the words it expands to (see `prefix_expander`)."""
    parts: list[str | tuple[int, str]] = list(words(term.text).split())
    if not parts:
        return None
    ways: list[Query] = []
    for name in EXACT_FIELDS:
        field = TEXT_FIELDS[name]
        exact = (Query.term_query(SCHEMA, field, parts[0]) if len(parts) == 1
                 else Query.phrase_query(SCHEMA, field, parts))  # fmt: skip
        ways.append(_weighted(exact, FIELD_WEIGHTS[name]))
    stem_field = TEXT_FIELDS[STEM_FIELD]
    ways.extend(_weighted(Query.term_query(SCHEMA, stem_field, stem), FIELD_WEIGHTS[STEM_FIELD])
                for stem in term.stems)  # fmt: skip
    if term.prefix and len(parts) == 1:
        ways.extend(_prefix_query(name, str(parts[0]), expand) for name in EXACT_FIELDS)
    return Query.boolean_query([(Occur.Should, way) for way in ways])


def _prefix_query(name: str, prefix: str, expand: PrefixExpander | None) -> Query:
    """The words of one text field that begin with a typed word and are longer than it (the
    word itself is scored once, by its exact clause), scored as a small constant, as
    Elasticsearch's wildcard query is: the words it expands to when `expand` lists them, else
    a regular expression query (which walks the term dictionary itself)."""
    field = TEXT_FIELDS[name]
    expanded = None if expand is None else expand(field, prefix)
    if expanded is None:
        regex = Query.regex_query(SCHEMA, field, longer_regex(prefix))
        return Query.const_score_query(regex, FIELD_WEIGHTS[name] * PREFIX_WEIGHT)
    longer = [word for word in expanded if word != prefix]
    if not longer:
        return Query.empty_query()
    return Query.const_score_query(_terms(field, longer), FIELD_WEIGHTS[name] * PREFIX_WEIGHT)


def longer_regex(prefix: str) -> str:
    """A term-dictionary regular expression for the words beginning with `prefix` and longer
    than it (characters but ASCII letters and digits as code point escapes)."""
    return _literal(prefix) + "(?s:.+)"


def prefix_expander(searcher: Searcher) -> PrefixExpander:
    """Lists the words of a field beginning with a prefix in `searcher`'s term dictionary;
    None past MAX_PREFIX_WORDS (the phrase prefix query is then used)."""

    def expand(field: str, prefix: str) -> list[str] | None:
        # One past the bound tells "too many" without listing thousands of words in Python.
        found = searcher.terms_with_prefix(field, prefix, limit=MAX_PREFIX_WORDS + 1)
        if len(found) > MAX_PREFIX_WORDS:
            return None
        return [word for word, _ in found]

    return expand


def text_query(text: str | None, expand: PrefixExpander | None = None) -> Query | None:
    """Every term of `text` required; None when it has no words."""
    clauses = [q for q in (term_query(t, expand) for t in search_terms(text)) if q is not None]
    if not clauses:
        return None
    return Query.boolean_query([(Occur.Must, q) for q in clauses])


def combined(text: Query | None, filters: Query) -> Query:
    if text is None:
        return filters
    return Query.boolean_query([(Occur.Must, text), (Occur.Must, filters)])


# -- ordering -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KeywordOrdering:
    """How hits are ordered: by score (`field` None) or by a fast field, then by asset id
    ascending. Cursors are (value, asset id), as for the SQLite engine."""

    sort: SortField
    field: str | None
    descending: bool

    @property
    def is_rank(self) -> bool:
        return self.field is None

    def before(self, a: Any, b: Any) -> bool:
        """Whether sort value `a` comes strictly before `b`."""
        return bool(a > b) if self.descending else bool(a < b)

    def after_cursor(self, value: Any, asset_id: str, cursor: tuple[Any, str]) -> bool:
        """Whether a hit comes strictly after the one `cursor` was made from."""
        return self.before(cursor[0], value) or (value == cursor[0] and asset_id > cursor[1])

    def cursor_range(self, cursor: tuple[Any, str]) -> Query | None:
        """A filter keeping hits at or after the cursor's value (numeric fields only)."""
        if self.field is None or self.sort is SortField.NAME:
            return None
        value = cursor[0]
        kind = FieldType.Float if self.sort is SortField.COST else FieldType.Integer
        if self.sort is not SortField.COST and not float(value).is_integer():
            return None
        low, high = (None, value) if self.descending else (value, None)
        return Query.range_query(SCHEMA, self.field, kind, low, high)

    def decode(self, cursor: str) -> tuple[Any, str]:
        return decode_sort_cursor(cursor, self.sort)


def ordering(sort: Sort, has_text: bool) -> KeywordOrdering:
    """The ordering for `sort`; relevance without text falls back to newest first."""
    if sort.field is SortField.RELEVANCE:
        if not has_text:
            return KeywordOrdering(SortField.CREATED_AT, "created_at", True)
        return KeywordOrdering(SortField.RELEVANCE, None, sort.descending)
    if sort.field is SortField.COST:
        return KeywordOrdering(SortField.COST, COST_DESC if sort.descending else COST_ASC,
                               sort.descending)  # fmt: skip
    return KeywordOrdering(sort.field, _SORT_FIELDS[sort.field], sort.descending)


# -- facets -------------------------------------------------------------------------------


def facet_aggregation(
    facet: Facet, prefix: str = "", *, size: int = MAX_FACET_VALUES
) -> dict[str, Any]:
    """The terms aggregation counting `facet`: up to `size` values, only those starting
    with `prefix`."""
    terms: dict[str, Any] = {"field": FACET_FIELDS[facet], "size": size}
    if prefix:
        terms["include"] = prefix_regex(prefix)
    return {"terms": terms}


def prefix_regex(prefix: str) -> str:
    """A regular expression (Rust regex syntax, matched against the whole value) for the
    values starting with `prefix`: every character but an ASCII letter or digit written as
    a code point escape, which that syntax reads literally whatever the character."""
    return _literal(prefix) + "(?s:.*)"


def _literal(text: str) -> str:
    """`text` matched literally in Rust regex syntax: every character but an ASCII letter or
    digit written as a code point escape, which that syntax reads literally whatever it is."""
    return "".join(char if char.isascii() and char.isalnum() else f"\\x{{{ord(char):x}}}"
                   for char in text)  # fmt: skip


def facet_counts(result: dict[str, Any]) -> dict[str, int]:
    """Every value's count in the answer to one terms aggregation."""
    return {str(b["key"]): int(b["doc_count"]) for b in result.get("buckets", [])}


def facet_buckets(facet: Facet, result: dict[str, Any], size: int) -> list[FacetBucket]:
    """The buckets of one terms aggregation, ordered and cut as every backend does
    (assetlens.facetcounts.ordered_buckets)."""
    return ordered_buckets(facet, facet_counts(result), size)
