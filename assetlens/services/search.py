"""Search use cases: keyword, semantic (CLIP text → image vectors), hybrid, similar."""

from __future__ import annotations

import time
from collections.abc import Sequence

from PIL.Image import Image
from pydantic import BaseModel, ConfigDict, Field

from assetlens.cursors import decode_cursor, encode_cursor
from assetlens.domain import AssetStatus
from assetlens.errors import Conflict, EmbeddingUnavailable, InvalidInput
from assetlens.filters import Facet, FacetMode, Filters
from assetlens.folders import FolderCatalog
from assetlens.manifests import Manifests
from assetlens.metrics import NO_METRICS, Metrics
from assetlens.ports import Embedder, SearchIndex
from assetlens.query import (
    MAX_QUERY_CHARS,
    FacetBucket,
    Hit,
    RankedBy,
    SearchMode,
    SearchPage,
    SearchQuery,
    Sort,
    SortField,
    VectorQuery,
)

RRF_K = 60
# How deep each list goes before fusing; pages of fused results stay inside this window.
FUSION_WINDOW = 200
MAX_VECTOR_RESULTS = 1000


class SearchRequest(BaseModel):
    """The body of POST /v1/search."""

    model_config = ConfigDict(extra="forbid")

    q: str | None = Field(default=None, max_length=MAX_QUERY_CHARS)
    mode: SearchMode = SearchMode.AUTO
    filters: Filters = Field(default_factory=Filters)
    facets: list[Facet] = Field(default_factory=list, max_length=len(Facet))
    facet_mode: FacetMode = FacetMode.CONJUNCTIVE
    sort: str | None = Field(default=None, max_length=40)
    limit: int = Field(default=20, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=512)


def reciprocal_rank_fusion(rankings: Sequence[Sequence[Hit]], k: int = RRF_K) -> list[Hit]:
    """Fuse ranked lists: score = Σ 1/(k + rank). Ties broken by asset id for stability."""
    scores: dict[str, float] = {}
    hits: dict[str, Hit] = {}
    for ranking in rankings:
        for rank, hit in enumerate(ranking, start=1):
            scores[hit.asset.id] = scores.get(hit.asset.id, 0.0) + 1.0 / (k + rank)
            hits.setdefault(hit.asset.id, hit)
    order = sorted(scores, key=lambda asset_id: (-scores[asset_id], asset_id))
    return [Hit(asset=hits[i].asset, score=scores[i]) for i in order]


class SearchService:
    def __init__(
        self,
        index: SearchIndex,
        embedder: Embedder | None,
        manifests: Manifests,
        folders: FolderCatalog | None = None,
        *,
        metrics: Metrics = NO_METRICS,
    ) -> None:
        self._metrics = metrics
        self._index = index
        self._embedder = embedder
        self._manifests = manifests
        self._folders = folders

    def expand_folders(self, workspace: str, filters: Filters) -> Filters:
        """`include_subfolders` turned into the ids of the folders' whole subtrees (past
        the 100-value cap a client may send: the tree bounds them)."""
        if not filters.include_subfolders or not filters.folder_id or self._folders is None:
            return filters
        ids = self._folders.read(workspace).subtrees(filters.folder_id)
        return filters.model_copy(update={"folder_id": ids, "include_subfolders": False})

    def search(self, workspace: str, request: SearchRequest) -> SearchPage:
        """One page of results for `request` (keyword, semantic or hybrid), timed under the
        mode it ran in (what `auto` became)."""
        started = time.perf_counter()
        page = self._search(workspace, request)
        self._metrics.searched(page.mode_used.value, time.perf_counter() - started)
        return page

    def _search(self, workspace: str, request: SearchRequest) -> SearchPage:
        request = request.model_copy(
            update={"filters": self.expand_folders(workspace, request.filters)}
        )
        text = (request.q or "").strip() or None
        sort = Sort.parse(request.sort, has_text=bool(text))
        mode = self.resolve_mode(request.mode, text, sort)
        ranked_cursor = request.mode is SearchMode.AUTO and _is_ranked_cursor(request.cursor)
        if (
            request.mode is SearchMode.AUTO
            and request.cursor
            and text
            and sort.field is SortField.RELEVANCE
        ):
            # A later page of `auto` goes on in the mode its first page ran in, whatever the
            # model did since: the two modes' cursors mean different things.
            mode = RankedBy.HYBRID if ranked_cursor else RankedBy.KEYWORD
        if mode is RankedBy.KEYWORD:
            return self._keyword(workspace, request, text, sort)
        if not text:
            raise InvalidInput(f"{mode.value} search needs a query text `q`")
        if sort.field is not SortField.RELEVANCE:
            # Silently ranking by similarity under a requested order would mislead.
            raise InvalidInput(
                f"{mode.value} results are ranked by similarity, so `sort` cannot order them: "
                'leave `sort` out (or "relevance"), or search with mode "keyword"'
            )
        try:
            vector, model = self._embed_text(text)
        except EmbeddingUnavailable as exc:
            if request.mode is not SearchMode.AUTO:
                raise
            if ranked_cursor:  # a hybrid page 2 cannot go on as keyword: an outage (503)
                raise EmbeddingUnavailable(
                    f"this cursor pages a hybrid search, which needs its model ({exc.detail}); "
                    "retry later, or search again without the cursor"
                ) from exc
            # The model went away between the check and the embedding: auto still answers.
            return self._keyword(workspace, request, text, sort)
        offset = _offset(request.cursor)
        depth = min(MAX_VECTOR_RESULTS, max(offset + request.limit, FUSION_WINDOW))
        ranked = self._rank(workspace, mode, text, (vector, model), request.filters, depth)
        page = self._page(workspace, ranked, offset, request, (mode, vector, model), depth)
        return page.model_copy(update={"mode_used": mode})

    def resolve_mode(self, mode: SearchMode, text: str | None, sort: Sort) -> RankedBy:
        """The mode a request runs in: `auto` is hybrid for a query text ranked by relevance
        when a CLIP model is available, keyword otherwise (a listing, an explicit sort
        order, a machine without weights); an explicit mode is kept, so semantic and hybrid
        without a model still answer 503."""
        if mode is not SearchMode.AUTO:
            return RankedBy(mode.value)
        if (
            text
            and sort.field is SortField.RELEVANCE
            and self._embedder is not None
            and self._embedder.available()
        ):
            return RankedBy.HYBRID
        return RankedBy.KEYWORD

    def _keyword(
        self, workspace: str, request: SearchRequest, text: str | None, sort: Sort
    ) -> SearchPage:
        # The text as typed: a space after the last word says that word is complete (it is
        # then not also matched as a prefix; assetlens.searchtext).
        return self._index.search(
            SearchQuery(
                workspace=workspace,
                text=request.q if text else None,
                filters=request.filters,
                facets=request.facets,
                facet_mode=request.facet_mode,
                sort=sort,
                limit=request.limit,
                cursor=request.cursor,
            )
        )

    def _rank(
        self,
        workspace: str,
        mode: RankedBy,
        text: str,
        embedded: tuple[list[float], str],
        filters: Filters,
        depth: int,
    ) -> list[Hit]:
        """The semantic or hybrid ranking of `text` under `filters`, `depth` vectors deep."""
        vector, model = embedded
        vector_hits = self._index.knn(
            VectorQuery(
                workspace=workspace,
                vector=vector,
                model=model,
                filters=filters,
                k=depth,
            )
        )
        if mode is RankedBy.SEMANTIC:
            return vector_hits
        keyword = self._index.search(
            SearchQuery(
                workspace=workspace,
                text=text,
                filters=filters,
                limit=min(100, FUSION_WINDOW),
                sort=Sort.parse(None, has_text=True),
            )
        )
        keyword_hits = list(keyword.hits)
        while keyword.next_cursor and len(keyword_hits) < FUSION_WINDOW:
            keyword = self._index.search(
                SearchQuery(
                    workspace=workspace,
                    text=text,
                    filters=filters,
                    limit=100,
                    sort=Sort.parse(None, has_text=True),
                    cursor=keyword.next_cursor,
                )
            )
            keyword_hits.extend(keyword.hits)
        return reciprocal_rank_fusion([keyword_hits, vector_hits[:FUSION_WINDOW]])

    def similar(
        self, workspace: str, asset_id: str, limit: int, filters: Filters | None = None
    ) -> list[Hit]:
        """Assets that look like `asset_id` (CLIP image vectors), best first."""
        asset, _ = self._manifests.get(workspace, asset_id)
        model = self.require_model()
        doc = self._index.get(workspace, asset_id)
        if doc is None or doc.vector is None or doc.vector_model != model:
            if asset.status is AssetStatus.PROCESSING:
                raise Conflict("the asset is still being processed; try again shortly")
            raise InvalidInput(f"asset has no visual embedding ({asset.type.value})")
        started = time.perf_counter()
        hits = self._index.knn(
            VectorQuery(
                workspace=workspace,
                vector=doc.vector,
                model=model,
                k=limit,
                filters=self.expand_folders(workspace, filters or Filters()),
                exclude_ids=[asset_id],
            )
        )
        self._metrics.searched("similar", time.perf_counter() - started)
        return hits

    def by_image(
        self, workspace: str, image: Image, limit: int, filters: Filters | None = None
    ) -> list[Hit]:
        model = self.require_model()
        assert self._embedder is not None  # require_model() checked it
        started = time.perf_counter()
        vector = self._embedder.embed_images([image])[0]
        hits = self._index.knn(
            VectorQuery(
                workspace=workspace,
                vector=vector,
                model=model,
                k=limit,
                filters=self.expand_folders(workspace, filters or Filters()),
            )
        )
        self._metrics.searched("by_image", time.perf_counter() - started)
        return hits

    def require_model(self) -> str:
        """The id of the loaded CLIP model; EmbeddingUnavailable (503) saying why not."""
        if self._embedder is None:
            raise EmbeddingUnavailable("visual search is disabled (ASSETLENS_CLIP_ENABLED=false)")
        if not self._embedder.available():
            raise EmbeddingUnavailable(
                self._embedder.unavailable_reason() or "no CLIP model could be loaded"
            )
        return self._embedder.model_id

    def _embed_text(self, text: str) -> tuple[list[float], str]:
        model = self.require_model()
        assert self._embedder is not None
        return self._embedder.embed_texts([text])[0], model

    def _page(
        self,
        workspace: str,
        ranked: list[Hit],
        offset: int,
        request: SearchRequest,
        embedded: tuple[RankedBy, list[float], str],
        depth: int,
    ) -> SearchPage:
        window = ranked[offset : offset + request.limit]
        more = offset + request.limit < len(ranked)
        return SearchPage(
            total=len(ranked),
            hits=window,
            facets=self._ranked_facets(workspace, ranked, request, embedded, depth),
            next_cursor=encode_cursor(["offset", offset + request.limit]) if more else None,
        )

    def _ranked_facets(
        self,
        workspace: str,
        ranked: list[Hit],
        request: SearchRequest,
        embedded: tuple[RankedBy, list[float], str],
        depth: int,
    ) -> dict[str, list[FacetBucket]]:
        """Facet counts over a semantic/hybrid result set. Disjunctive counts need the
        results a facet's own field would not have filtered out, so the ranking is made
        again without the faceted fields, and the index counts each facet over those."""
        if not request.facets:
            return {}
        counted_over = ranked
        if request.facet_mode is FacetMode.DISJUNCTIVE:
            relaxed = request.filters
            for facet in request.facets:
                relaxed = relaxed.without(facet)
            if relaxed != request.filters:
                text = (request.q or "").strip()
                mode, vector, model = embedded
                counted_over = self._rank(workspace, mode, text, (vector, model), relaxed, depth)
        if not counted_over:
            return {}
        return self._index.search(
            SearchQuery(
                workspace=workspace,
                filters=request.filters.model_copy(
                    update={"ids": [hit.asset.id for hit in counted_over]}
                ),
                facets=request.facets,
                facet_mode=request.facet_mode,
                limit=1,
            )
        ).facets


def _is_ranked_cursor(cursor: str | None) -> bool:
    """Whether `cursor` was made by a semantic or hybrid page (a rank offset), not by the
    index (sort values); a malformed one is left to the page that reads it."""
    if not cursor:
        return False
    try:
        values = decode_cursor(cursor)
    except InvalidInput:
        return False
    return len(values) == 2 and values[0] == "offset" and isinstance(values[1], int)


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    values = decode_cursor(cursor)
    if (
        len(values) != 2
        or values[0] != "offset"
        or not isinstance(values[1], int)
        or not 0 <= values[1] <= MAX_VECTOR_RESULTS
    ):
        raise InvalidInput("malformed cursor")
    return values[1]
