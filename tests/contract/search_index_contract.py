"""The SearchIndex contract: one suite every index adapter must pass unchanged.

Subclass `SearchIndexContract` and provide an `index` fixture yielding a fresh, empty,
ensured SearchIndex. Tests assert on ids and orders, never on raw text scores (each backend
scores differently); kNN scores are dot products, compared with a tolerance that allows for
quantised vector indexes (vectors here are well separated).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from assetlens.domain import (
    Asset,
    AssetStatus,
    AssetType,
    Generation,
    LoRA,
    Source,
)
from assetlens.errors import InvalidInput
from assetlens.filters import Facet, FacetMode, Filters
from assetlens.ports import SearchIndex
from assetlens.query import IndexDoc, SearchPage, SearchQuery, Sort, SortField, VectorQuery
from assetlens.stats import GroupTotals, IndexStats, Totals

WS = "ws-main"
OTHER_WS = "ws-other"
MODEL = "clip-test"
OTHER_MODEL = "clip-other"
DIM = 8
KNN_TOLERANCE = 0.02
T0 = datetime(2024, 1, 10, 12, 0, tzinfo=UTC)
MB = 1024 * 1024

_MIME = {
    AssetType.IMAGE: ("image/png", "png"),
    AssetType.VIDEO: ("video/mp4", "mp4"),
    AssetType.AUDIO: ("audio/mpeg", "mp3"),
    AssetType.FONT: ("font/ttf", "ttf"),
    AssetType.LOGO: ("image/svg+xml", "svg"),
    AssetType.TEXT: ("text/plain", "txt"),
    AssetType.OTHER: ("application/octet-stream", "bin"),
}


def aid(label: str) -> str:
    """A stable 32-hex asset id for a readable label."""
    return hashlib.sha256(label.encode()).hexdigest()[:32]


def make_asset(
    label: str,
    *,
    workspace: str = WS,
    name: str | None = None,
    description: str = "",
    type: AssetType = AssetType.IMAGE,
    prompt: str | None = None,
    negative_prompt: str | None = None,
    texts: Sequence[str] = (),
    tags: Sequence[str] = (),
    folder_id: str | None = None,
    model: str | None = None,
    models: Sequence[str] = (),
    provider: str | None = None,
    source: Source = Source.UPLOAD,
    generator: str | None = None,
    sampler: str | None = None,
    loras: Sequence[str] = (),
    ai_generated: bool | None = None,
    favorite: bool = False,
    status: AssetStatus = AssetStatus.READY,
    size: int = 1000,
    created: datetime = T0,
    updated: datetime | None = None,
    revision: int = 1,
    cost: float | None = None,
) -> Asset:
    """An Asset for tests; the id is derived from `label` (and workspace-independent, so the
    same label in two workspaces is the same id, as an attacker would try)."""
    mime, ext = _MIME[type]
    return Asset(
        id=aid(label),
        workspace=workspace,
        name=name if name is not None else f"{label}.{ext}",
        description=description,
        type=type,
        mime=mime,
        extension=ext,
        size_bytes=size,
        sha256=hashlib.sha256(label.encode()).hexdigest(),
        status=status,
        tags=list(tags),
        folder_id=folder_id,
        favorite=favorite,
        source=source,
        generation=Generation(
            prompt=prompt,
            negative_prompt=negative_prompt,
            texts=list(texts),
            model=model,
            models=list(models),
            provider=provider,
            generator=generator,
            sampler=sampler,
            loras=[LoRA(name=n, weight=0.8) for n in loras],
            ai_generated=ai_generated,
            cost=cost,
        ),
        revision=revision,
        created_at=created,
        updated_at=updated or created,
    )


def on(month: int, day: int) -> datetime:
    """Noon UTC on a day of 2024."""
    return datetime(2024, month, day, 12, tzinfo=UTC)


def make_doc(
    asset: Asset, vector: Sequence[float] | None = None, model: str | None = MODEL
) -> IndexDoc:
    return IndexDoc(
        asset=asset,
        vector=list(vector) if vector is not None else None,
        vector_model=model if vector is not None else None,
    )


def unit(*components: float) -> list[float]:
    """A DIM-dimensional L2-normalised vector from its leading components."""
    values = [*components, *([0.0] * (DIM - len(components)))]
    norm = math.sqrt(sum(v * v for v in values))
    return [v / norm for v in values]


def ids_of(page: SearchPage) -> list[str]:
    return [hit.asset.id for hit in page.hits]


def put(index: SearchIndex, *docs: IndexDoc) -> None:
    index.upsert(list(docs))
    index.refresh()


def search(index: SearchIndex, text: str | None = None, **kwargs: Any) -> SearchPage:
    kwargs.setdefault("limit", 100)
    return index.search(SearchQuery(workspace=kwargs.pop("workspace", WS), text=text, **kwargs))


def found(index: SearchIndex, text: str | None = None, **kwargs: Any) -> set[str]:
    page = search(index, text, **kwargs)
    assert page.total == len(page.hits), "test data fits in one page"
    return set(ids_of(page))


def facet(page: SearchPage, name: Facet) -> list[tuple[str, int]]:
    return [(b.value, b.count) for b in page.facets[name.value]]


def paginate(index: SearchIndex, query: SearchQuery) -> Iterator[SearchPage]:
    """Every page of `query`, following next_cursor until there is none."""
    for _ in range(100):
        page = index.search(query)
        yield page
        if page.next_cursor is None:
            return
        query = query.model_copy(update={"cursor": page.next_cursor})
    raise AssertionError("pagination did not end")


# A small library for filters and facets. `sunset` is in the prompts of f1, f2 and f3.
FACET_DOCS = [
    make_asset("f1", type=AssetType.IMAGE, prompt="red sunset over the sea",
               tags=["cat", "cute"], folder_id="folder-1", model="sdxl", provider="local",
               source=Source.GENERATION, generator="comfyui", sampler="euler",
               loras=["detail"], ai_generated=True, size=50_000, created=on(1, 10),
               favorite=True, cost=0.002),
    make_asset("f2", type=AssetType.IMAGE, prompt="sunset city skyline",
               tags=["cat"], folder_id="folder-2", model="flux", provider="replicate",
               source=Source.GENERATION, generator="a1111", sampler="dpm",
               loras=["detail", "style"], ai_generated=True, size=500_000, created=on(2, 5),
               cost=0.05),
    make_asset("f3", type=AssetType.VIDEO, prompt="timelapse sunset", tags=["dog"],
               folder_id="folder-1", source=Source.UPLOAD, ai_generated=False,
               size=5 * MB, created=on(2, 20), favorite=True),
    make_asset("f4", type=AssetType.AUDIO, source=Source.IMPORT, size=50 * MB,
               created=on(3, 1), cost=0),
    make_asset("f5", type=AssetType.IMAGE, prompt="a dog in the park", tags=["dog", "cute"],
               model="sdxl", provider="local", source=Source.URL, sampler="euler",
               ai_generated=True, status=AssetStatus.PROCESSING, size=200 * MB,
               created=on(3, 15), cost=12.5),
    make_asset("f6", type=AssetType.IMAGE, prompt="sunset deleted", tags=["cat"], model="sdxl",
               status=AssetStatus.DELETED, created=on(1, 20), favorite=True, cost=1.5),
    # Another workspace, matching almost every filter: must never show up.
    make_asset("f1", workspace=OTHER_WS, type=AssetType.IMAGE, prompt="sunset sunset",
               tags=["cat", "cute"], folder_id="folder-1", model="sdxl", provider="local",
               source=Source.GENERATION, generator="comfyui", sampler="euler",
               loras=["detail"], ai_generated=True, size=50_000, favorite=True, cost=0.002),
    make_asset("x9", workspace=OTHER_WS, type=AssetType.IMAGE, prompt="sunset", tags=["cat"],
               cost=3.0),
]  # fmt: skip
F1, F2, F3, F4, F5, F6 = (aid(f"f{i}") for i in range(1, 7))
X9 = aid("x9")

# Vectors for kNN: dot products with E0 are 1.0, 0.8, 0.3 and 0.0.
E0 = unit(1)
V_A, V_B, V_C, V_D = unit(1), unit(0.8, 0.6), unit(0.3, 0, math.sqrt(1 - 0.09)), unit(0, 0, 0, 1)


class SearchIndexContract:
    """Behaviour every SearchIndex adapter must have. Needs an `index` fixture."""

    @pytest.fixture
    def facet_index(self, index: SearchIndex) -> SearchIndex:
        put(index, *(make_doc(a) for a in FACET_DOCS))
        return index

    @pytest.fixture
    def knn_index(self, index: SearchIndex) -> SearchIndex:
        put(
            index,
            make_doc(make_asset("a", prompt="alpha"), V_A),
            make_doc(make_asset("b", prompt="beta", type=AssetType.VIDEO), V_B),
            make_doc(make_asset("c", prompt="gamma"), V_C),
            make_doc(make_asset("d", prompt="delta", type=AssetType.VIDEO), V_D),
            make_doc(make_asset("other-model"), E0, model=OTHER_MODEL),
            make_doc(make_asset("no-vector")),
            make_doc(make_asset("gone", status=AssetStatus.DELETED), E0),
            make_doc(make_asset("a2", workspace=OTHER_WS), E0),
            make_doc(make_asset("spy", workspace=OTHER_WS), E0),
        )
        return index

    # -- documents ---------------------------------------------------------------------

    def test_upsert_then_get_roundtrips_asset_and_vector(self, index: SearchIndex) -> None:
        asset = make_asset("one", prompt="a lighthouse", tags=["sea"], loras=["x"], size=1234,
                           model="sdxl", description="desc", texts=["node text"])  # fmt: skip
        put(index, make_doc(asset, V_B))
        got = index.get(WS, asset.id)
        assert got is not None
        assert got.asset.model_dump() == asset.model_dump()
        assert got.vector_model == MODEL
        assert got.vector is not None
        assert got.vector == pytest.approx(V_B, abs=1e-6)
        assert index.get(WS, aid("missing")) is None
        assert index.get(OTHER_WS, asset.id) is None

    def test_upsert_is_idempotent(self, index: SearchIndex) -> None:
        doc = make_doc(make_asset("one", prompt="lighthouse"), V_A)
        put(index, doc)
        put(index, doc)
        page = search(index, "lighthouse")
        assert page.total == 1
        assert ids_of(page) == [aid("one")]

    def test_older_revision_is_ignored_equal_revision_overwrites(self, index: SearchIndex) -> None:
        put(index, make_doc(make_asset("one", name="second.png", revision=2)))
        put(index, make_doc(make_asset("one", name="first.png", revision=1)))
        got = index.get(WS, aid("one"))
        assert got is not None
        assert (got.asset.name, got.asset.revision) == ("second.png", 2)
        assert found(index, "first") == set()
        put(index, make_doc(make_asset("one", name="again.png", revision=2)))
        assert found(index, "again") == {aid("one")}
        assert found(index, "second") == set()

    def test_batch_keeps_newest_revision_of_each_asset(self, index: SearchIndex) -> None:
        index.upsert(
            [
                make_doc(make_asset("one", name="newer.png", revision=3)),
                make_doc(make_asset("one", name="older.png", revision=2)),
            ]
        )
        index.refresh()
        got = index.get(WS, aid("one"))
        assert got is not None
        assert got.asset.name == "newer.png"

    def test_update_replaces_text_tags_and_vector(self, index: SearchIndex) -> None:
        put(index, make_doc(make_asset("one", prompt="lighthouse", tags=["sea"]), V_A))
        put(index, make_doc(make_asset("one", prompt="windmill", tags=["land"], revision=2), V_D))
        assert found(index, "lighthouse") == set()
        assert found(index, "windmill") == {aid("one")}
        assert found(index, filters=Filters(tags=["sea"])) == set()
        assert found(index, filters=Filters(tags=["land"])) == {aid("one")}
        hits = index.knn(VectorQuery(workspace=WS, vector=V_D, model=MODEL, k=1))
        assert hits[0].score == pytest.approx(1.0, abs=KNN_TOLERANCE)

    def test_remove(self, knn_index: SearchIndex) -> None:
        knn_index.remove(WS, [aid("a"), aid("never-indexed")])
        knn_index.refresh()
        assert knn_index.get(WS, aid("a")) is None
        assert found(knn_index, "alpha") == set()
        hits = knn_index.knn(VectorQuery(workspace=WS, vector=E0, model=MODEL, k=10))
        assert aid("a") not in [h.asset.id for h in hits]
        assert next(h.asset.id for h in hits) == aid("b")
        # Removing from one workspace leaves the same id elsewhere alone.
        knn_index.remove(WS, [aid("a2")])
        knn_index.refresh()
        assert knn_index.get(OTHER_WS, aid("a2")) is not None
        knn_index.remove(WS, [])

    def test_read_ahead_returns_and_changes_no_answer(self, knn_index: SearchIndex) -> None:
        query = VectorQuery(workspace=WS, vector=E0, model=MODEL, k=10)

        def answers() -> tuple[list[str], list[str]]:
            return [h.asset.id for h in knn_index.knn(query)], ids_of(search(knn_index, "alpha"))

        before = answers()
        assert before[0] and before[1] == [aid("a")]
        knn_index.read_ahead()
        knn_index.read_ahead()  # again while the first may still run
        assert answers() == before

    def test_revisions_lists_every_indexed_asset(self, index: SearchIndex) -> None:
        put(
            index,
            make_doc(make_asset("one", revision=3)),
            make_doc(make_asset("two")),
            make_doc(make_asset("one", workspace=OTHER_WS, revision=7)),
        )
        assert sorted(index.revisions()) == sorted(
            [(WS, aid("one"), 3), (WS, aid("two"), 1), (OTHER_WS, aid("one"), 7)]
        )

    def test_check_passes_on_a_working_index(self, index: SearchIndex) -> None:
        index.check()

    # -- workspace isolation -----------------------------------------------------------

    def test_other_workspace_never_visible(self, facet_index: SearchIndex) -> None:
        assert X9 not in found(facet_index, "sunset")
        assert found(facet_index, filters=Filters(ids=[X9, F1])) == {F1}
        assert found(facet_index, workspace=OTHER_WS) == {F1, X9}
        page = search(facet_index, "sunset", facets=[Facet.TAGS, Facet.TYPE])
        assert facet(page, Facet.TAGS) == [("cat", 2), ("cute", 1), ("dog", 1)]
        assert facet_index.get(WS, X9) is None
        assert search(facet_index, "sunset", workspace="nobody").total == 0

    def test_knn_never_crosses_workspaces(self, knn_index: SearchIndex) -> None:
        hits = knn_index.knn(VectorQuery(workspace=WS, vector=E0, model=MODEL, k=100))
        assert all(h.asset.workspace == WS for h in hits)
        assert aid("spy") not in [h.asset.id for h in hits]
        filtered = knn_index.knn(
            VectorQuery(workspace=WS, vector=E0, model=MODEL, filters=Filters(ids=[aid("spy")]))
        )
        assert filtered == []
        theirs = knn_index.knn(VectorQuery(workspace=OTHER_WS, vector=E0, model=MODEL, k=10))
        assert sorted(h.asset.id for h in theirs) == sorted([aid("a2"), aid("spy")])

    # -- full text ---------------------------------------------------------------------

    def test_name_and_prompt_outrank_description(self, index: SearchIndex) -> None:
        put(
            index,
            make_doc(make_asset("desc", name="untitled.png", prompt="a photo of a harbour",
                                description="an old lighthouse on the rocks, at dusk")),
            make_doc(make_asset("both", name="lighthouse.png",
                                prompt="lighthouse on a cliff, dramatic sky")),
            make_doc(make_asset("none", name="forest.png", prompt="pine forest")),
        )  # fmt: skip
        page = search(index, "lighthouse", sort=Sort(field=SortField.RELEVANCE))
        assert ids_of(page) == [aid("both"), aid("desc")]
        assert page.total == 2
        assert all(h.score is not None and h.score > 0 for h in page.hits)
        assert page.hits[0].score is not None
        assert page.hits[1].score is not None
        assert page.hits[0].score > page.hits[1].score

    def test_every_text_field_is_searchable(self, index: SearchIndex) -> None:
        put(
            index,
            make_doc(make_asset("n", name="zephyr.png")),
            make_doc(make_asset("p", prompt="a quokka smiling")),
            make_doc(make_asset("np", negative_prompt="blurry, watermark")),
            make_doc(make_asset("d", description="taken in Reykjavik")),
            make_doc(make_asset("t", tags=["marzipan"])),
            make_doc(make_asset("w", texts=["KSampler node: obsidian castle"])),
        )
        assert found(index, "zephyr") == {aid("n")}
        assert found(index, "quokka") == {aid("p")}
        assert found(index, "watermark") == {aid("np")}
        assert found(index, "reykjavik") == {aid("d")}
        assert found(index, "marzipan") == {aid("t")}
        assert found(index, "obsidian") == {aid("w")}

    def test_all_words_must_match(self, index: SearchIndex) -> None:
        put(
            index,
            make_doc(make_asset("1", prompt="red fox in snow")),
            make_doc(make_asset("2", prompt="red car")),
        )
        assert found(index, "red fox") == {aid("1")}
        assert found(index, "red") == {aid("1"), aid("2")}
        assert found(index, "blue fox") == set()

    def test_case_insensitive_in_latin_and_cyrillic(self, index: SearchIndex) -> None:
        put(
            index,
            make_doc(make_asset("ru", prompt="Красная ЛИСА в снегу")),
            make_doc(make_asset("en", prompt="MOUNTAIN Lake")),
            make_doc(make_asset("fr", prompt="Café au lait")),
        )
        assert found(index, "лиса") == {aid("ru")}
        assert found(index, "КРАСНАЯ") == {aid("ru")}
        assert found(index, "mountain LAKE") == {aid("en")}
        assert found(index, "CAFÉ") == {aid("fr")}

    def test_cjk_prompt_found_by_word_and_single_ideograph(self, index: SearchIndex) -> None:
        put(
            index,
            make_doc(make_asset("zh", prompt="一只可爱的猫咪坐在窗台上，阳光明媚")),
            make_doc(make_asset("ja", prompt="桜の木の下で眠る子犬")),
            make_doc(make_asset("dog", prompt="一只小狗")),
        )
        assert found(index, "猫咪") == {aid("zh")}
        assert found(index, "猫") == {aid("zh")}
        assert found(index, "窗台 阳光") == {aid("zh")}
        assert found(index, "一只") == {aid("zh"), aid("dog")}
        assert found(index, "子犬") == {aid("ja")}
        assert found(index, "桜") == {aid("ja")}
        assert found(index, "老虎") == set()

    @pytest.mark.parametrize(
        "text",
        [
            "owner:*", "*", "(((", '"', '""', "NEAR(a b)", "a OR b", "NOT sunset", "-sunset",
            "sunset AND", "\\", "'; DROP TABLE assets; --", ".*(a+)+$", "[a-z]+",
            '{"query": {"match_all": {}}}', "^^^", "sun*", "_all:*", "workspace:ws-other",
            "\x00", "🔥", "x" * 1000, "sunset " * 140, "  ",
        ],
    )  # fmt: skip
    def test_hostile_query_text_is_plain_text(self, facet_index: SearchIndex, text: str) -> None:
        page = search(facet_index, text, facets=[Facet.TYPE])
        assert all(h.asset.workspace == WS for h in page.hits)
        assert X9 not in ids_of(page)
        assert F6 not in ids_of(page)
        assert page.total <= 5

    @pytest.mark.parametrize("text", ["*", "(((", '"', "  ", "\\", "🔥"])
    def test_text_without_words_is_no_text(self, facet_index: SearchIndex, text: str) -> None:
        assert found(facet_index, text) == found(facet_index) == {F1, F2, F3, F4, F5}

    def test_operator_words_are_searched_as_words(self, index: SearchIndex) -> None:
        put(
            index,
            make_doc(make_asset("owner", prompt="portrait of the owner")),
            make_doc(make_asset("near", prompt="near the river OR the sea")),
        )
        assert found(index, "owner:*") == {aid("owner")}
        assert found(index, "NEAR(river") == {aid("near")}
        assert found(index, '"river" OR') == {aid("near")}

    # -- filters -----------------------------------------------------------------------

    @pytest.mark.parametrize(
        ("filters", "expected"),
        [
            (Filters(), {F1, F2, F3, F4, F5}),
            (Filters(type=[AssetType.IMAGE]), {F1, F2, F5}),
            (Filters(type=[AssetType.IMAGE, AssetType.VIDEO]), {F1, F2, F3, F5}),
            (Filters(tags=["cat"]), {F1, F2}),
            (Filters(tags=["CAT", "dog"]), {F1, F2, F3, F5}),
            (Filters(folder_id="folder-1"), {F1, F3}),
            (Filters(folder_id=["folder-1", "folder-2"]), {F1, F2, F3}),
            # Assets in none of these folders; those without a folder pass (the root view).
            (Filters(exclude_folder_id=["folder-1"]), {F2, F4, F5}),
            (Filters(exclude_folder_id=["folder-1", "folder-2"]), {F4, F5}),
            (Filters(exclude_folder_id=["folder-2"], type=[AssetType.IMAGE]), {F1, F5}),
            (Filters(model=["sdxl"]), {F1, F5}),
            (Filters(provider=["replicate"]), {F2}),
            (Filters(source=["upload"]), {F3}),
            (Filters(generator=["comfyui"]), {F1}),
            (Filters(sampler=["euler"]), {F1, F5}),
            (Filters(loras=["style"]), {F2}),
            (Filters(loras=["detail"]), {F1, F2}),
            (Filters(ai_generated=True), {F1, F2, F5}),
            (Filters(ai_generated=False), {F3}),
            (Filters(favorite=True), {F1, F3}),
            (Filters(favorite=False), {F2, F4, F5}),
            (Filters(favorite=True, status=[AssetStatus.DELETED]), {F6}),
            (Filters(created_month=["2024-02"]), {F2, F3}),
            (Filters(created_month=["2024-01", "2024-03"]), {F1, F4, F5}),
            (Filters(created_month=["2023-12"]), set()),
            (Filters(size_range=["<100KB"]), {F1}),
            (Filters(size_range=["1MB-10MB", ">=100MB"]), {F3, F5}),
            (Filters(size_range=["10MB-100MB"], created_month=["2024-03"]), {F4}),
            (Filters(ids=[F1, F3, X9, F6]), {F1, F3}),
            (Filters(created_from=on(2, 5), created_to=on(3, 1)), {F2, F3, F4}),
            (Filters(created_from=on(2, 5) + timedelta(seconds=1)), {F3, F4, F5}),
            (Filters(created_to=on(1, 10) - timedelta(microseconds=1)), set()),
            (Filters(size_min=500_000, size_max=5 * MB), {F2, F3}),
            (Filters(size_max=49_999), set()),
            (Filters(status=[AssetStatus.DELETED]), {F6}),
            (Filters(status=[AssetStatus.READY, AssetStatus.DELETED]), {F1, F2, F3, F4, F6}),
            (Filters(status=[AssetStatus.PROCESSING]), {F5}),
            (Filters(type=[AssetType.IMAGE], tags=["cute"]), {F1, F5}),
            (Filters(model=["sdxl"], provider=["replicate"]), set()),
            # Cost: assets without one (f3) never pass a cost filter.
            (Filters(cost_range=["0"]), {F4}),
            (Filters(cost_range=["<0.01", ">=10"]), {F1, F5}),
            (Filters(cost_range=["1-10"]), set()),
            (Filters(cost_range=["1-10"], status=[AssetStatus.DELETED]), {F6}),
            (Filters(cost_min=0), {F1, F2, F4, F5}),
            (Filters(cost_min=0.002), {F1, F2, F5}),
            (Filters(cost_max=0.05), {F1, F2, F4}),
            (Filters(cost_min=0.003, cost_max=0.05), {F2}),
            (Filters(cost_min=0.002, cost_range=["<0.01", "0"], type=[AssetType.IMAGE]), {F1}),
        ],
    )  # fmt: skip
    def test_filters(self, facet_index: SearchIndex, filters: Filters, expected: set[str]) -> None:
        assert found(facet_index, filters=filters) == expected

    def test_filters_combine_with_text(self, facet_index: SearchIndex) -> None:
        assert found(facet_index, "sunset") == {F1, F2, F3}
        assert found(facet_index, "sunset", filters=Filters(type=[AssetType.IMAGE])) == {F1, F2}
        assert found(facet_index, "sunset", filters=Filters(status=[AssetStatus.DELETED])) == {F6}

    # -- facets ------------------------------------------------------------------------

    def test_facets_count_the_filtered_set(self, facet_index: SearchIndex) -> None:
        page = search(facet_index, facets=list(Facet), limit=1)
        assert page.total == 5
        assert len(page.hits) == 1
        assert facet(page, Facet.TYPE) == [("image", 3), ("audio", 1), ("video", 1)]
        assert facet(page, Facet.TAGS) == [("cat", 2), ("cute", 2), ("dog", 2)]
        assert facet(page, Facet.FOLDER) == [("folder-1", 2), ("folder-2", 1)]
        assert facet(page, Facet.MODEL) == [("sdxl", 2), ("flux", 1)]
        assert facet(page, Facet.PROVIDER) == [("local", 2), ("replicate", 1)]
        assert facet(page, Facet.SOURCE) == [
            ("generation", 2), ("import", 1), ("upload", 1), ("url", 1),
        ]  # fmt: skip
        assert facet(page, Facet.GENERATOR) == [("a1111", 1), ("comfyui", 1)]
        assert facet(page, Facet.SAMPLER) == [("euler", 2), ("dpm", 1)]
        assert facet(page, Facet.LORAS) == [("detail", 2), ("style", 1)]
        assert facet(page, Facet.AI_GENERATED) == [("true", 3), ("false", 1)]
        assert facet(page, Facet.STATUS) == [("ready", 4), ("processing", 1)]
        assert facet(page, Facet.FAVORITE) == [("false", 3), ("true", 2)]
        assert facet(page, Facet.CREATED) == [("2024-03", 2), ("2024-02", 2), ("2024-01", 1)]
        assert facet(page, Facet.SIZE) == [
            ("<100KB", 1), ("100KB-1MB", 1), ("1MB-10MB", 1), ("10MB-100MB", 1), (">=100MB", 1),
        ]  # fmt: skip
        assert facet(page, Facet.COST) == [("0", 1), ("<0.01", 1), ("0.01-0.1", 1), (">=10", 1)]

    def test_facets_respect_text_and_filters(self, facet_index: SearchIndex) -> None:
        page = search(
            facet_index, "sunset", filters=Filters(type=[AssetType.IMAGE]),
            facets=[Facet.TYPE, Facet.TAGS, Facet.MODEL, Facet.SIZE, Facet.CREATED],
        )  # fmt: skip
        assert page.total == 2
        assert facet(page, Facet.TYPE) == [("image", 2)]
        assert facet(page, Facet.TAGS) == [("cat", 2), ("cute", 1)]
        assert facet(page, Facet.MODEL) == [("flux", 1), ("sdxl", 1)]
        assert facet(page, Facet.SIZE) == [("<100KB", 1), ("100KB-1MB", 1)]
        assert facet(page, Facet.CREATED) == [("2024-02", 1), ("2024-01", 1)]
        deleted = search(facet_index, filters=Filters(status=[AssetStatus.DELETED]),
                         facets=[Facet.STATUS, Facet.TAGS])  # fmt: skip
        assert facet(deleted, Facet.STATUS) == [("deleted", 1)]
        assert facet(deleted, Facet.TAGS) == [("cat", 1)]

    def test_every_model_of_an_asset_counts_and_filters(self, index: SearchIndex) -> None:
        """An SDXL base + refiner asset counts once under each model and matches a filter
        on either; the cost stats group by the primary model only (no double counting)."""
        put(index,
            make_doc(make_asset("two-pass", model="sdxl-base", models=["sdxl-refiner"],
                                cost=0.5)),
            make_doc(make_asset("base-only", model="sdxl-base", cost=0.25)),
            make_doc(make_asset("refiner-first", models=["sdxl-refiner", "upscaler"])),
            make_doc(make_asset("flux", model="flux")))  # fmt: skip
        page = search(index, facets=[Facet.MODEL])
        assert page.total == 4
        assert facet(page, Facet.MODEL) == [
            ("sdxl-base", 2), ("sdxl-refiner", 2), ("flux", 1), ("upscaler", 1),
        ]  # fmt: skip
        assert found(index, filters=Filters(model=["sdxl-refiner"])) == {
            aid("two-pass"),
            aid("refiner-first"),
        }
        assert found(index, filters=Filters(model=["upscaler", "flux"])) == {
            aid("refiner-first"),
            aid("flux"),
        }
        narrowed = search(
            index,
            filters=Filters(model=["flux"]),
            facets=[Facet.MODEL],
            facet_mode=FacetMode.DISJUNCTIVE,
        )
        assert narrowed.total == 1
        assert facet(narrowed, Facet.MODEL) == facet(page, Facet.MODEL)
        by_model = {group.value: (group.assets, group.cost) for group in index.stats(WS).by_model}
        assert by_model == {"sdxl-base": (2, 0.75), "sdxl-refiner": (1, 0.0), "flux": (1, 0.0)}

    def test_facet_size_keeps_the_top_values(self, facet_index: SearchIndex) -> None:
        page = search(facet_index, facets=[Facet.TYPE, Facet.SOURCE], facet_size=1)
        assert facet(page, Facet.TYPE) == [("image", 3)]
        assert facet(page, Facet.SOURCE) == [("generation", 2)]

    def test_no_facets_unless_asked(self, facet_index: SearchIndex) -> None:
        assert search(facet_index).facets == {}

    def test_month_and_size_filters_cut_at_bucket_bounds(self, index: SearchIndex) -> None:
        tick = timedelta(microseconds=1)
        feb = datetime(2024, 2, 1, tzinfo=UTC)
        mar = datetime(2024, 3, 1, tzinfo=UTC)
        put(
            index,
            make_doc(make_asset("jan-last", created=feb - tick, size=100 * 1024 - 1)),
            make_doc(make_asset("feb-first", created=feb, size=100 * 1024)),
            make_doc(make_asset("feb-last", created=mar - tick, size=MB - 1)),
            make_doc(make_asset("mar-first", created=mar, size=MB)),
        )
        assert found(index, filters=Filters(created_month=["2024-02"])) == {
            aid("feb-first"), aid("feb-last"),
        }  # fmt: skip
        assert found(index, filters=Filters(size_range=["100KB-1MB"])) == {
            aid("feb-first"), aid("feb-last"),
        }  # fmt: skip
        page = search(index, facets=[Facet.CREATED, Facet.SIZE])
        assert facet(page, Facet.CREATED) == [("2024-03", 1), ("2024-02", 2), ("2024-01", 1)]
        assert facet(page, Facet.SIZE) == [("<100KB", 1), ("100KB-1MB", 2), ("1MB-10MB", 1)]

    def test_cost_ranges_cut_at_bucket_bounds(self, index: SearchIndex) -> None:
        costs = {
            "zero": 0.0,
            "tiny": 1e-9,
            "under-cent": 0.0099999,
            "cent": 0.01,
            "dime": 0.1,
            "under-one": 0.99999,
            "one": 1.0,
            "ten": 10.0,
            "none": None,
        }
        put(index, *(make_doc(make_asset(label, cost=cost)) for label, cost in costs.items()))
        page = search(index, facets=[Facet.COST])
        assert facet(page, Facet.COST) == [
            ("0", 1), ("<0.01", 2), ("0.01-0.1", 1), ("0.1-1", 2), ("1-10", 1), (">=10", 1),
        ]  # fmt: skip
        assert found(index, filters=Filters(cost_range=["<0.01"])) == {
            aid("tiny"), aid("under-cent"),
        }  # fmt: skip
        assert found(index, filters=Filters(cost_range=["0.1-1"])) == {
            aid("dime"), aid("under-one"),
        }  # fmt: skip
        assert found(index, filters=Filters(cost_max=0)) == {aid("zero")}

    def test_disjunctive_cost_keeps_the_other_ranges(self, facet_index: SearchIndex) -> None:
        page = search(
            facet_index, filters=Filters(cost_range=["0"], type=[AssetType.AUDIO]),
            facets=[Facet.COST, Facet.TYPE], facet_mode=FacetMode.DISJUNCTIVE,
        )  # fmt: skip
        assert ids_of(page) == [F4]
        assert facet(page, Facet.COST) == [("0", 1)]
        assert facet(page, Facet.TYPE) == [("audio", 1)]
        wider = search(
            facet_index, filters=Filters(cost_range=["0"], type=[AssetType.IMAGE]),
            facets=[Facet.COST], facet_mode=FacetMode.DISJUNCTIVE,
        )  # fmt: skip
        assert wider.total == 0
        assert facet(wider, Facet.COST) == [("<0.01", 1), ("0.01-0.1", 1), (">=10", 1)]

    # -- stats -------------------------------------------------------------------------

    def test_stats_totals_groups_and_trash(self, facet_index: SearchIndex) -> None:
        stats = facet_index.stats(WS)
        live_bytes = 50_000 + 500_000 + 5 * MB + 50 * MB + 200 * MB
        assert stats.live == Totals(assets=5, bytes=live_bytes, cost=12.552, priced=4)
        assert stats.by_type == [
            GroupTotals(value="image", assets=3, bytes=50_000 + 500_000 + 200 * MB,
                        cost=12.552, priced=3),
            GroupTotals(value="audio", assets=1, bytes=50 * MB, cost=0.0, priced=1),
            GroupTotals(value="video", assets=1, bytes=5 * MB, cost=0.0, priced=0),
        ]  # fmt: skip
        assert [(g.value, g.assets, g.cost) for g in stats.by_model] == [
            ("sdxl", 2, 12.502), ("flux", 1, 0.05),
        ]  # fmt: skip
        assert [(g.value, g.assets, g.cost) for g in stats.by_provider] == [
            ("local", 2, 12.502), ("replicate", 1, 0.05),
        ]  # fmt: skip
        assert [(g.value, g.assets, g.cost, g.priced) for g in stats.by_month] == [
            ("2024-03", 2, 12.5, 2), ("2024-02", 2, 0.05, 1), ("2024-01", 1, 0.002, 1),
        ]  # fmt: skip
        assert stats.trash == Totals(assets=1, bytes=1000, cost=1.5, priced=1)
        # Every asset's blob, the trash's included; each label has its own content.
        assert stats.storage_blobs == 6
        assert stats.storage_bytes == live_bytes + 1000

    def test_stats_count_each_blob_once_per_workspace(self, index: SearchIndex) -> None:
        shared = "ab" * 32
        put(
            index,
            make_doc(make_asset("one", size=700).model_copy(update={"sha256": shared})),
            make_doc(make_asset("copy", size=700).model_copy(update={"sha256": shared})),
            make_doc(make_asset("trashed", size=700, status=AssetStatus.DELETED)
                     .model_copy(update={"sha256": shared})),
            make_doc(make_asset("own", size=50)),
            make_doc(make_asset("theirs", workspace=OTHER_WS, size=700)
                     .model_copy(update={"sha256": shared})),
        )  # fmt: skip
        stats = index.stats(WS)
        assert (stats.storage_blobs, stats.storage_bytes) == (2, 750)
        assert stats.live.assets == 3
        assert stats.live.bytes == 1450
        assert (stats.trash.assets, stats.trash.bytes) == (1, 700)
        assert (index.stats(OTHER_WS).storage_blobs, index.stats(OTHER_WS).live.bytes) == (1, 700)

    def test_stats_of_an_empty_workspace_are_zero(self, facet_index: SearchIndex) -> None:
        assert facet_index.stats("ws-empty") == IndexStats()

    # -- disjunctive facets --------------------------------------------------------------

    def test_disjunctive_facet_ignores_its_own_field(self, facet_index: SearchIndex) -> None:
        page = search(
            facet_index, filters=Filters(type=[AssetType.IMAGE], created_month=["2024-03"]),
            facets=[Facet.TYPE, Facet.CREATED, Facet.SIZE, Facet.FAVORITE],
            facet_mode=FacetMode.DISJUNCTIVE,
        )  # fmt: skip
        assert ids_of(page) == [F5]
        assert page.total == 1
        # Each facet is counted without its own field's filter…
        assert facet(page, Facet.TYPE) == [("audio", 1), ("image", 1)]
        assert facet(page, Facet.CREATED) == [("2024-03", 1), ("2024-02", 1), ("2024-01", 1)]
        # …and narrowed by every other one.
        assert facet(page, Facet.SIZE) == [(">=100MB", 1)]
        assert facet(page, Facet.FAVORITE) == [("false", 1)]

    def test_disjunctive_multi_select_keeps_the_other_values(
        self, facet_index: SearchIndex
    ) -> None:
        page = search(
            facet_index, filters=Filters(model=["sdxl", "flux"], tags=["cat"]),
            facets=[Facet.MODEL, Facet.TAGS, Facet.LORAS], facet_mode=FacetMode.DISJUNCTIVE,
        )  # fmt: skip
        assert set(ids_of(page)) == {F1, F2}
        assert facet(page, Facet.MODEL) == [("flux", 1), ("sdxl", 1)]
        assert facet(page, Facet.TAGS) == [("cat", 2), ("cute", 2), ("dog", 1)]
        assert facet(page, Facet.LORAS) == [("detail", 2), ("style", 1)]
        narrowed = search(
            facet_index, filters=Filters(model=["sdxl"], tags=["cat"]),
            facets=[Facet.MODEL, Facet.TAGS, Facet.LORAS], facet_mode=FacetMode.DISJUNCTIVE,
        )  # fmt: skip
        assert ids_of(narrowed) == [F1]
        assert facet(narrowed, Facet.MODEL) == [("flux", 1), ("sdxl", 1)]
        assert facet(narrowed, Facet.TAGS) == [("cute", 2), ("cat", 1), ("dog", 1)]
        assert facet(narrowed, Facet.LORAS) == [("detail", 1)]

    def test_disjunctive_counts_even_with_no_hits(self, facet_index: SearchIndex) -> None:
        page = search(
            facet_index, filters=Filters(size_range=["<100KB", "1MB-10MB"], favorite=False),
            facets=[Facet.SIZE, Facet.FAVORITE], facet_mode=FacetMode.DISJUNCTIVE,
        )  # fmt: skip
        assert page.total == 0
        assert page.hits == []
        assert facet(page, Facet.SIZE) == [("100KB-1MB", 1), ("10MB-100MB", 1), (">=100MB", 1)]
        assert facet(page, Facet.FAVORITE) == [("true", 2)]

    def test_disjunctive_with_text_and_folders(self, facet_index: SearchIndex) -> None:
        page = search(
            facet_index, "sunset", filters=Filters(type=[AssetType.VIDEO], folder_id="folder-1"),
            facets=[Facet.TYPE, Facet.FOLDER], facet_mode=FacetMode.DISJUNCTIVE,
        )  # fmt: skip
        assert ids_of(page) == [F3]
        assert facet(page, Facet.TYPE) == [("image", 1), ("video", 1)]
        assert facet(page, Facet.FOLDER) == [("folder-1", 1)]

    def test_disjunctive_status_adds_the_selected_ones(self, facet_index: SearchIndex) -> None:
        page = search(
            facet_index, filters=Filters(status=[AssetStatus.DELETED]),
            facets=[Facet.STATUS, Facet.TAGS], facet_mode=FacetMode.DISJUNCTIVE,
        )  # fmt: skip
        assert ids_of(page) == [F6]
        assert facet(page, Facet.STATUS) == [("ready", 4), ("deleted", 1), ("processing", 1)]
        assert facet(page, Facet.TAGS) == [("cat", 1)]

    @pytest.mark.parametrize(
        "filters",
        [
            Filters(),
            Filters(type=[AssetType.IMAGE], tags=["cute"]),
            Filters(favorite=False, size_range=["<100KB", "100KB-1MB"]),
            Filters(status=[AssetStatus.PROCESSING, AssetStatus.DELETED], model=["sdxl"]),
        ],
    )
    def test_disjunctive_hits_pass_every_filter(
        self, facet_index: SearchIndex, filters: Filters
    ) -> None:
        """Only the counts change with the mode; hits, total and pages do not, and with
        no filter on any faceted field the counts are the conjunctive ones."""
        pages = {
            mode: list(paginate(facet_index, SearchQuery(
                workspace=WS, filters=filters, facets=list(Facet), facet_mode=mode, limit=2,
            )))
            for mode in FacetMode
        }  # fmt: skip
        conjunctive, disjunctive = pages[FacetMode.CONJUNCTIVE], pages[FacetMode.DISJUNCTIVE]
        assert [ids_of(p) for p in disjunctive] == [ids_of(p) for p in conjunctive]
        assert [p.total for p in disjunctive] == [p.total for p in conjunctive]
        if filters == Filters():
            assert disjunctive[0].facets == conjunctive[0].facets
        else:
            assert disjunctive[0].facets != conjunctive[0].facets

    # -- sorting and pagination --------------------------------------------------------

    @pytest.fixture
    def sort_index(self, index: SearchIndex) -> list[Asset]:
        day = timedelta(days=1)
        assets = [
            make_asset(
                "s1", name="banana.png", size=300, created=T0, updated=T0 + 5 * day, cost=0.5
            ),
            make_asset("s2", name="Apple.png", size=100, created=T0 + day, updated=T0 + day),
            make_asset(
                "s3", name="cherry.png", size=300, created=T0 + day, updated=T0 + 3 * day, cost=0.5
            ),
            make_asset("s4", name="apple.png", size=50, created=T0 + 2 * day, updated=T0, cost=0),
            make_asset("s5", name="date.png", size=300, created=T0 - day, updated=T0 + 3 * day),
            make_asset(
                "s6", name="Elder.png", size=7000, created=T0 + day, updated=T0 + 9 * day, cost=2
            ),
            make_asset(
                "s7", name="fig.png", size=1, created=T0 + 4 * day, updated=T0 + 3 * day, cost=0.01
            ),
            make_asset("s8", workspace=OTHER_WS, name="aaa.png", size=0, created=T0 - 9 * day),
        ]
        put(index, *(make_doc(a) for a in assets))
        return [a for a in assets if a.workspace == WS]

    @pytest.mark.parametrize("field", [f for f in SortField if f is not SortField.RELEVANCE])
    @pytest.mark.parametrize("descending", [False, True])
    @pytest.mark.parametrize("limit", [1, 2, 3, 100])
    def test_sort_and_cursor_pagination(
        self,
        index: SearchIndex,
        sort_index: list[Asset],
        field: SortField,
        descending: bool,
        limit: int,
    ) -> None:
        # Assets without a cost come last in both directions.
        no_cost = -1.0 if descending else math.inf
        keys: dict[SortField, Any] = {
            SortField.CREATED_AT: lambda a: a.created_at,
            SortField.UPDATED_AT: lambda a: a.updated_at,
            SortField.NAME: lambda a: a.name.lower(),
            SortField.SIZE: lambda a: a.size_bytes,
            SortField.COST: lambda a: no_cost if a.generation.cost is None else a.generation.cost,
        }
        key = keys[field]
        # Sort by id ascending first, then stably by the key: ties stay in id order.
        by_id = sorted(sort_index, key=lambda a: a.id)
        expected = [a.id for a in sorted(by_id, key=key, reverse=descending)]
        query = SearchQuery(
            workspace=WS, sort=Sort(field=field, descending=descending), limit=limit
        )
        pages = list(paginate(index, query))
        got = [asset_id for page in pages for asset_id in ids_of(page)]
        assert got == expected
        assert all(page.total == len(expected) for page in pages)
        assert all(len(page.hits) <= limit for page in pages)
        assert all(h.score is None for page in pages for h in page.hits)

    def test_relevance_pagination_is_stable(self, index: SearchIndex) -> None:
        docs = [
            make_doc(make_asset(f"r{i}", name=f"file{i}.png",
                                prompt=" ".join(["lantern"] * (1 + i % 4) + ["glow"] * i)))
            for i in range(9)
        ]  # fmt: skip
        docs.append(make_doc(make_asset("unrelated", prompt="nothing to see")))
        put(index, *docs)
        query = SearchQuery(workspace=WS, text="lantern", limit=100)
        everything = ids_of(index.search(query))
        assert sorted(everything) == sorted(aid(f"r{i}") for i in range(9))
        pages = list(paginate(index, query.model_copy(update={"limit": 2})))
        got = [asset_id for page in pages for asset_id in ids_of(page)]
        assert got == everything
        scores = [h.score for page in pages for h in page.hits]
        assert all(s is not None for s in scores)
        assert scores == sorted(scores, reverse=True)  # type: ignore[type-var]

    def test_malformed_cursor_is_invalid_input(
        self, sort_index: list[Asset], index: SearchIndex
    ) -> None:
        with pytest.raises(InvalidInput):
            search(index, cursor="not-a-cursor")

    # -- kNN ---------------------------------------------------------------------------

    def test_knn_orders_by_dot_product(self, knn_index: SearchIndex) -> None:
        hits = knn_index.knn(VectorQuery(workspace=WS, vector=E0, model=MODEL, k=10))
        assert [h.asset.id for h in hits] == [aid("a"), aid("b"), aid("c"), aid("d")]
        scores = [h.score for h in hits]
        assert scores == pytest.approx([1.0, 0.8, 0.3, 0.0], abs=KNN_TOLERANCE)
        top2 = knn_index.knn(VectorQuery(workspace=WS, vector=V_D, model=MODEL, k=2))
        assert next(h.asset.id for h in top2) == aid("d")
        assert len(top2) == 2

    def test_knn_filters_exclusions_and_models(self, knn_index: SearchIndex) -> None:
        def knn(**kwargs: Any) -> list[str]:
            query = VectorQuery(workspace=WS, vector=E0, **{"model": MODEL, "k": 10, **kwargs})
            return [h.asset.id for h in knn_index.knn(query)]

        assert knn(filters=Filters(type=[AssetType.VIDEO])) == [aid("b"), aid("d")]
        assert knn(filters=Filters(ids=[aid("c"), aid("d")])) == [aid("c"), aid("d")]
        assert knn(exclude_ids=[aid("a"), aid("c")]) == [aid("b"), aid("d")]
        assert knn(k=1, exclude_ids=[aid("a")]) == [aid("b")]
        assert knn(model=OTHER_MODEL) == [aid("other-model")]
        assert knn(model="never-seen") == []
        assert knn(filters=Filters(status=[AssetStatus.DELETED])) == [aid("gone")]
        assert knn(filters=Filters(tags=["nothing"])) == []
        assert aid("no-vector") not in knn()

    # -- lifecycle ---------------------------------------------------------------------

    def test_deleted_assets_hidden_unless_asked(self, index: SearchIndex) -> None:
        put(
            index,
            make_doc(make_asset("live", prompt="harbor"), V_A),
            make_doc(make_asset("trash", prompt="harbor", status=AssetStatus.DELETED), V_A),
        )
        assert found(index, "harbor") == {aid("live")}
        assert found(index, "harbor", filters=Filters(status=[AssetStatus.DELETED])) == {
            aid("trash")
        }
        knn = index.knn(VectorQuery(workspace=WS, vector=V_A, model=MODEL))
        assert [h.asset.id for h in knn] == [aid("live")]

    def test_rebuild_switches_content_and_keeps_answering(self, index: SearchIndex) -> None:
        put(index, make_doc(make_asset("old", prompt="granite quarry"), V_A))
        seen_during_build: list[set[str]] = []

        def docs() -> Iterator[IndexDoc]:
            yield make_doc(make_asset("new1", prompt="marble statue"), V_B)
            seen_during_build.append(found(index, "granite"))
            yield make_doc(make_asset("new2", prompt="marble quarry"), V_C)
            yield make_doc(make_asset("new3", workspace=OTHER_WS, prompt="marble"), V_C)

        assert index.rebuild(docs()) == 3
        index.refresh()
        assert seen_during_build == [{aid("old")}]
        assert found(index, "granite") == set()
        assert found(index, "marble") == {aid("new1"), aid("new2")}
        assert index.get(WS, aid("old")) is None
        hits = index.knn(VectorQuery(workspace=WS, vector=V_B, model=MODEL))
        assert next(h.asset.id for h in hits) == aid("new1")
        put(index, make_doc(make_asset("after", prompt="marble")))
        assert aid("after") in found(index, "marble")
