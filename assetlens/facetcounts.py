"""Counting a common word's hits by their complement, and the order of facet buckets.

A word that matches most of a library makes the total and the facet counts visit nearly every
document. They can be had from the few that do *not* match instead:

    count(value ∧ filters ∧ text) = count(value ∧ filters) − count(value ∧ filters ∧ ¬text)

The first side (the "scope": workspace and filters, no text) does not depend on the text, so
an adapter caches it until the index changes; the second visits the minority. Both sides need
every value of each facet, so an adapter falls back to counting directly when a facet has more
values than it asks for, or when the two sides disagree (a write landed between them).

What is backend-neutral lives here: the decision rule, the subtraction (used by the
Elasticsearch adapter; in the embedded index a negated text costs more than the counting it
saves, see docs/SEARCH.md), and the order and cut of the buckets, which every backend and path
uses so that their answers are identical.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from assetlens.filters import COST_BUCKETS, SIZE_BUCKETS, Facet
from assetlens.query import FacetBucket

# The complement is counted when the text is estimated to match more than this share of the
# documents: it then visits fewer than half of them (and the scope side comes from a cache).
COMPLEMENT_FRACTION = 0.5
# The most values per facet the counting requests ask for: a facet with more values in the
# scope is counted directly (Elasticsearch refuses requests of more than 65,536 buckets).
MAX_COMPLEMENT_VALUES = 2_000

# Range facets list their buckets in range order, not by count.
_RANGE_ORDER: dict[Facet, dict[str, int]] = {
    Facet.SIZE: {label: i for i, (label, _, _) in enumerate(SIZE_BUCKETS)},
    Facet.COST: {label: i for i, (label, _, _) in enumerate(COST_BUCKETS)},
}


@dataclass(frozen=True, slots=True)
class Counts:
    """The number of hits and, per facet, every value's count over one set of documents."""

    total: int
    facets: dict[Facet, dict[str, int]] = field(default_factory=dict)


def estimated_matches(doc_freqs: Mapping[str, Iterable[int]]) -> int:
    """A cheap estimate of how many documents a text matches, from the document frequencies
    of its analysed words in each text field: the best field's rarest word. It is low rather
    than high (a document may hold its words in different fields), so a text is counted by
    its complement only when one field alone shows it common."""
    best = 0
    for frequencies in doc_freqs.values():
        values = list(frequencies)
        if values:
            best = max(best, min(values))
    return best


def use_complement(estimate: int, documents: int) -> bool:
    """Whether to count a text's hits by their complement: it is estimated to match more than
    COMPLEMENT_FRACTION of `documents`."""
    return documents > 0 and estimate > COMPLEMENT_FRACTION * documents


def subtract(scope: Counts, without_text: Counts) -> Counts | None:
    """The counts of the text's hits: `scope` (the filters alone) less `without_text` (the
    filters and not the text). Values whose count falls to zero are dropped. None when the
    two do not fit together (a count below zero, or a value or facet missing from the scope):
    the index changed between the two requests, and the caller counts directly instead."""
    total = scope.total - without_text.total
    if total < 0:
        return None
    facets: dict[Facet, dict[str, int]] = {}
    for facet, outside in without_text.facets.items():
        inside = scope.facets.get(facet)
        if inside is None or not outside.keys() <= inside.keys():
            return None
    for facet, inside in scope.facets.items():
        outside = without_text.facets.get(facet, {})
        counts: dict[str, int] = {}
        for value, count in inside.items():
            left = count - outside.get(value, 0)
            if left < 0:
                return None
            if left:
                counts[value] = left
        facets[facet] = counts
    return Counts(total=total, facets=facets)


def ordered_buckets(facet: Facet, counts: Mapping[str, int], size: int) -> list[FacetBucket]:
    """The first `size` buckets of a facet, as every backend orders them: months newest first,
    size and cost ranges in range order, any other facet by count then value (code point
    order, which is also the UTF-8 byte order Elasticsearch sorts keywords by). Values
    counted zero are not buckets."""
    items = [(value, count) for value, count in counts.items() if count > 0]
    if facet is Facet.CREATED:
        items.sort(key=lambda b: b[0], reverse=True)
    elif facet in _RANGE_ORDER:
        ranks = _RANGE_ORDER[facet]
        items.sort(key=lambda b: ranks.get(b[0], len(ranks)))
    else:
        items.sort(key=lambda b: (-b[1], b[0]))
    return [FacetBucket(value=value, count=count) for value, count in items[:size]]
