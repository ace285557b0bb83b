"""assetlens.facetcounts: the decision rule, the subtraction and the bucket order."""

from __future__ import annotations

import pytest

from assetlens.facetcounts import (
    Counts,
    estimated_matches,
    ordered_buckets,
    subtract,
    use_complement,
)
from assetlens.filters import Facet


def test_estimate_is_the_best_fields_rarest_word() -> None:
    assert estimated_matches({"prompt": [900, 400], "name": [50, 800], "stems": [0]}) == 400
    assert estimated_matches({"prompt": [], "name": [7]}) == 7
    assert estimated_matches({}) == 0


@pytest.mark.parametrize(("estimate", "documents", "expected"), [
    (501, 1000, True), (500, 1000, False), (0, 0, False), (10, 0, False), (1000, 1000, True),
])  # fmt: skip
def test_complement_only_past_half(estimate: int, documents: int, expected: bool) -> None:
    assert use_complement(estimate, documents) is expected


def test_subtract_counts_what_the_text_matches() -> None:
    scope = Counts(total=100, facets={
        Facet.TYPE: {"image": 70, "video": 30},
        Facet.TAGS: {"cat": 40, "dog": 10, "gone": 5},
    })  # fmt: skip
    without = Counts(total=12, facets={
        Facet.TYPE: {"image": 2, "video": 10},
        Facet.TAGS: {"cat": 1, "gone": 5},
    })  # fmt: skip
    assert subtract(scope, without) == Counts(total=88, facets={
        Facet.TYPE: {"image": 68, "video": 20},
        Facet.TAGS: {"cat": 39, "dog": 10},  # "gone" only outside the text: no bucket
    })  # fmt: skip


@pytest.mark.parametrize("without", [
    Counts(total=101),
    Counts(total=1, facets={Facet.TYPE: {"image": 71}}),
    Counts(total=1, facets={Facet.TYPE: {"font": 1}}),
    Counts(total=1, facets={Facet.TAGS: {"cat": 1}}),
])  # fmt: skip
def test_subtract_refuses_counts_that_do_not_fit(without: Counts) -> None:
    """A negative count or a value the scope lacks means the index moved between the two
    requests: None, and the adapter counts directly."""
    scope = Counts(total=100, facets={Facet.TYPE: {"image": 70, "video": 30}})
    assert subtract(scope, without) is None


def _pairs(facet: Facet, counts: dict[str, int], size: int = 20) -> list[tuple[str, int]]:
    return [(b.value, b.count) for b in ordered_buckets(facet, counts, size)]


def test_buckets_by_count_then_value_and_cut() -> None:
    counts = {"b": 5, "a": 5, "é": 5, "z": 9, "none": 0, "B": 5}
    # Code point order: "B" < "a" < "b" < "é" (UTF-8 byte order too).
    assert _pairs(Facet.TAGS, counts) == [("z", 9), ("B", 5), ("a", 5), ("b", 5), ("é", 5)]
    assert _pairs(Facet.TAGS, counts, size=2) == [("z", 9), ("B", 5)]


def test_months_newest_first_and_ranges_in_range_order() -> None:
    assert _pairs(Facet.CREATED, {"2024-01": 9, "2024-03": 1, "2023-12": 4}) == [
        ("2024-03", 1),
        ("2024-01", 9),
        ("2023-12", 4),
    ]
    assert _pairs(Facet.SIZE, {">=100MB": 9, "<100KB": 1, "1MB-10MB": 0}) == [
        ("<100KB", 1),
        (">=100MB", 9),
    ]
    assert _pairs(Facet.COST, {"1-10": 2, "0": 3, "<0.01": 1}, size=2) == [("0", 3), ("<0.01", 1)]
