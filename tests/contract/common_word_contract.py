"""Totals and facets of a word that matches most of the library, the same on every SearchIndex.

Such a word takes each backend's fast path for common words: Elasticsearch counts it by its
complement (assetlens.facetcounts: the scope's counts less those of the documents the word does
not match); the embedded index counts the hits in the facets' pass and, when every document
passes the filters, finds the page by the text alone. The library here makes `ember` common
enough for the estimate (it is in most documents of the whole index, other workspace and trash
included), and every expected count is worked out below from the assets themselves, so a
wrong subtraction, a value missing on one side, a stale cached scope or a page found without
the filters it needed fails a test.
Mixed into each adapter's contract test class beside SearchIndexContract.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable

import pytest

from assetlens.domain import Asset, AssetStatus, AssetType
from assetlens.filters import (
    COST_BUCKETS,
    SIZE_BUCKETS,
    Facet,
    FacetMode,
    Filters,
    cost_bucket,
    size_bucket,
)
from assetlens.ports import SearchIndex
from assetlens.query import FacetBucket, SearchQuery, Sort, SortField
from tests.contract.search_index_contract import (
    MB,
    OTHER_WS,
    WS,
    ids_of,
    make_asset,
    make_doc,
    on,
    paginate,
    put,
    search,
)

WORD = "ember"
_TYPES = [AssetType.IMAGE, AssetType.IMAGE, AssetType.VIDEO, AssetType.AUDIO, AssetType.IMAGE]
_SIZES = [50_000, 500_000, 5 * MB, 50 * MB]
_COSTS = [None, 0.0, 0.05, 2.0, 12.5]
FACETS = [Facet.TYPE, Facet.TAGS, Facet.FOLDER, Facet.CREATED, Facet.SIZE, Facet.COST,
          Facet.FAVORITE, Facet.STATUS]  # fmt: skip


def _library() -> list[Asset]:
    """48 assets of the main workspace (one in seven without the word, two in the trash),
    and six of another workspace that all have it."""
    assets = []
    for i in range(48):
        words = "plain stone wall" if i % 7 == 0 else f"an {WORD} in the dark number {i}"
        assets.append(make_asset(
            f"cw{i}", prompt=words, type=_TYPES[i % 5],
            tags=[f"t{i % 4}", *(["shared"] if i % 2 else []), *(["rare"] if i == 5 else [])],
            folder_id=None if i % 6 == 5 else f"folder-{i % 3}",
            created=on(1 + i % 5, 1 + i % 20), size=_SIZES[i % 4], cost=_COSTS[i % 5],
            favorite=i % 5 == 0,
            status=AssetStatus.DELETED if i in (3, 17) else
            AssetStatus.PROCESSING if i % 11 == 1 else AssetStatus.READY,
        ))  # fmt: skip
    assets.extend(
        make_asset(
            f"cw-other{i}",
            workspace=OTHER_WS,
            prompt=f"{WORD} {WORD}",
            tags=["t0", "spy"],
            folder_id="folder-1",
        )
        for i in range(6)
    )
    return assets


LIBRARY = _library()

Predicate = Callable[[Asset], bool]


def _values(facet: Facet, asset: Asset) -> list[str]:
    """The values an asset counts under in a facet (as the indexes define them)."""
    match facet:
        case Facet.TYPE:
            return [asset.type.value]
        case Facet.TAGS:
            return list(asset.tags)
        case Facet.FOLDER:
            return [asset.folder_id] if asset.folder_id else []
        case Facet.CREATED:
            return [asset.created_at.strftime("%Y-%m")]
        case Facet.SIZE:
            return [size_bucket(asset.size_bytes)]
        case Facet.COST:
            bucket = cost_bucket(asset.generation.cost)
            return [bucket] if bucket else []
        case Facet.FAVORITE:
            return ["true" if asset.favorite else "false"]
        case Facet.STATUS:
            return [asset.status.value]
    raise AssertionError(facet)


def _ordered(facet: Facet, counts: Counter[str], size: int) -> list[tuple[str, int]]:
    """Buckets in the API's order: months newest first, ranges in range order, else by
    count then value."""
    ranges = {Facet.SIZE: [b[0] for b in SIZE_BUCKETS], Facet.COST: [b[0] for b in COST_BUCKETS]}
    if facet is Facet.CREATED:
        items = sorted(counts.items(), reverse=True)
    elif facet in ranges:
        items = sorted(counts.items(), key=lambda kv: ranges[facet].index(kv[0]))
    else:
        items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return items[:size]


def _matches(asset: Asset, text: bool, filters: dict[Facet, set[str]]) -> bool:
    """Whether an asset of the main workspace is a hit: not in the trash, the word when `text`,
    and a value of each filtered facet among the selected ones."""
    if asset.workspace != WS or asset.status is AssetStatus.DELETED:
        return False
    if text and WORD not in (asset.generation.prompt or ""):
        return False
    return all(set(_values(f, asset)) & chosen for f, chosen in filters.items())


def expected(
    filters: dict[Facet, set[str]],
    facets: Iterable[Facet],
    *,
    disjunctive: bool = False,
    size: int = 20,
    library: list[Asset] = LIBRARY,
) -> tuple[set[str], dict[str, list[tuple[str, int]]]]:
    """The hits and the buckets of each facet, counted here from the assets."""
    hits = {a.id for a in library if _matches(a, True, filters)}
    buckets = {}
    for facet in facets:
        scope = {f: v for f, v in filters.items() if not (disjunctive and f is facet)}
        counts = Counter(value for a in library if _matches(a, True, scope)
                         for value in _values(facet, a))  # fmt: skip
        buckets[facet.value] = _ordered(facet, counts, size)
    return hits, buckets


def buckets_of(page_facets: dict[str, list[FacetBucket]]) -> dict[str, list[tuple[str, int]]]:
    return {name: [(b.value, b.count) for b in found] for name, found in page_facets.items()}


class CommonWordContract:
    """Needs the `index` fixture of SearchIndexContract."""

    @pytest.fixture
    def common_index(self, index: SearchIndex) -> SearchIndex:
        put(index, *(make_doc(a) for a in LIBRARY))
        return index

    def test_the_word_is_common_and_has_a_rare_complement(self) -> None:
        hits, _ = expected({}, [])
        in_workspace = [a for a in LIBRARY if a.workspace == WS]
        assert 30 < len(hits) < len(in_workspace) - 5

    def test_total_and_facets_of_a_common_word(self, common_index: SearchIndex) -> None:
        page = search(common_index, WORD, facets=FACETS)
        hits, buckets = expected({}, FACETS)
        assert page.total == len(hits) == 39
        assert set(ids_of(page)) == hits
        assert buckets_of(page.facets) == buckets
        # Spelled out for one facet: three tags tied, ordered by value.
        assert buckets["tags"] == [("shared", 19), ("t0", 10), ("t1", 10), ("t2", 10), ("t3", 9),
                                   ("rare", 1)]  # fmt: skip

    @pytest.mark.parametrize("filters", [
        {Facet.TYPE: {"image"}},
        {Facet.TYPE: {"image", "audio"}, Facet.TAGS: {"shared"}},
        {Facet.FOLDER: {"folder-1", "folder-2"}, Facet.COST: {"0", ">=10"}},
        {Facet.STATUS: {"processing"}},
    ])  # fmt: skip
    @pytest.mark.parametrize("mode", list(FacetMode))
    def test_filters_and_facet_modes(
        self, common_index: SearchIndex, filters: dict[Facet, set[str]], mode: FacetMode
    ) -> None:
        query = Filters(
            type=[AssetType(v) for v in filters.get(Facet.TYPE, ())],
            tags=sorted(filters.get(Facet.TAGS, ())),
            folder_id=sorted(filters.get(Facet.FOLDER, ())),
            cost_range=sorted(filters.get(Facet.COST, ())),
            status=[AssetStatus(v) for v in filters.get(Facet.STATUS, ())],
        )
        page = search(common_index, WORD, filters=query, facets=FACETS, facet_mode=mode)
        hits, buckets = expected(filters, FACETS, disjunctive=mode is FacetMode.DISJUNCTIVE)
        assert page.total == len(hits)
        assert set(ids_of(page)) == hits
        assert buckets_of(page.facets) == buckets

    def test_facet_size_cuts_after_ordering_ties(self, common_index: SearchIndex) -> None:
        page = search(common_index, WORD, facets=[Facet.TAGS, Facet.CREATED], facet_size=2)
        _, buckets = expected({}, [Facet.TAGS, Facet.CREATED], size=2)
        assert buckets_of(page.facets) == buckets
        assert buckets["tags"] == [("shared", 19), ("t0", 10)]

    @pytest.mark.parametrize("sort", [Sort(), Sort(field=SortField.CREATED_AT)])
    def test_every_page_has_the_same_total_and_facets(
        self, common_index: SearchIndex, sort: Sort
    ) -> None:
        query = SearchQuery(workspace=WS, text=WORD, facets=FACETS, limit=7, sort=sort,
                            filters=Filters(tags=["shared"]),
                            facet_mode=FacetMode.DISJUNCTIVE)  # fmt: skip
        hits, buckets = expected({Facet.TAGS: {"shared"}}, FACETS, disjunctive=True)
        seen: list[str] = []
        pages = list(paginate(common_index, query))
        for page in pages:
            assert page.total == len(hits)
            assert buckets_of(page.facets) == buckets
            seen.extend(ids_of(page))
        assert len(pages) == -(-len(hits) // 7)
        assert len(seen) == len(set(seen))
        assert set(seen) == hits

    def test_counts_follow_writes(self, common_index: SearchIndex) -> None:
        """A scope counted (and cached) before a write is never used after it."""
        facets = [Facet.TYPE, Facet.TAGS]
        before = search(common_index, WORD, facets=facets)
        assert buckets_of(before.facets) == expected({}, facets)[1]
        added = [make_asset("late-hit", prompt=f"{WORD} late", type=AssetType.FONT, tags=["late"]),
                 make_asset("late-miss", prompt="no such word", type=AssetType.FONT,
                            tags=["late"])]  # fmt: skip
        put(common_index, *(make_doc(a) for a in added))
        common_index.remove(WS, [LIBRARY[1].id])
        common_index.refresh()
        after = search(common_index, WORD, facets=facets)
        library = [a for a in LIBRARY if a.id != LIBRARY[1].id] + added
        hits, buckets = expected({}, facets, library=library)
        assert after.total == len(hits) == before.total
        assert buckets_of(after.facets) == buckets
        assert ("late", 1) in buckets["tags"]

    @pytest.mark.parametrize("sort", [Sort(), Sort(field=SortField.CREATED_AT)])
    def test_a_library_of_one_workspace(self, index: SearchIndex, sort: Sort) -> None:
        """Every document passes the filters (one workspace, no trash): the page may be found
        by the text alone, and must still page exactly."""
        library = [a for a in LIBRARY if a.workspace == WS and a.status is not AssetStatus.DELETED]
        put(index, *(make_doc(a) for a in library))
        hits, buckets = expected({}, FACETS, library=library)
        query = SearchQuery(workspace=WS, text=WORD, facets=FACETS, limit=7, sort=sort)
        seen: list[str] = []
        for page in paginate(index, query):
            assert page.total == len(hits)
            assert buckets_of(page.facets) == buckets
            seen.extend(ids_of(page))
        assert len(seen) == len(set(seen)) == len(hits)
        if sort.field is SortField.CREATED_AT:
            newest = sorted((a for a in library if a.id in hits), key=lambda a: a.id)
            newest.sort(key=lambda a: a.created_at, reverse=True)
            assert seen == [a.id for a in newest]
