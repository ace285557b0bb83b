"""ElasticsearchIndex: the SearchIndex port on an Elasticsearch 9 cluster.

Reads and writes go through the alias `<index>`; the data lives in physical indices named
`<index>-<UTC timestamp>-<4 hex>` (indexer.elasticsearch.physical). `rebuild` fills a new
physical index, replays what was written to the old one meanwhile, and swaps the alias in one
`_aliases` call (indexer.elasticsearch.rebuild).

Revisions are Elasticsearch external versions (`version_type=external_gte`): an upsert older
than the stored revision is a 409 conflict, which is expected and ignored, so at-least-once
indexing converges whatever the order of arrival (indexer.elasticsearch.bulk).
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from elasticsearch import ApiError, Elasticsearch, NotFoundError, TransportError

from assetlens.errors import IndexUnavailable
from assetlens.query import Hit, IndexDoc, SearchPage, SearchQuery, VectorQuery
from assetlens.stats import IndexStats
from indexer.elasticsearch.bulk import BulkWriter
from indexer.elasticsearch.failures import (
    RetryPolicy,
    call,
    check_shards,
    describe,
    error_type,
)
from indexer.elasticsearch.keyword import KeywordSearch
from indexer.elasticsearch.mapping import (
    ADDED_FIELDS,
    MAPPING_VERSION,
    VECTOR_PREFIX,
    doc_id,
    index_doc,
)
from indexer.elasticsearch.physical import PhysicalIndices
from indexer.elasticsearch.rebuild import Rebuilder
from indexer.elasticsearch.responses import knn_hits
from indexer.elasticsearch.stats import library_stats
from indexer.elasticsearch.translate import RESCORE_OVERSAMPLE, knn_body

if TYPE_CHECKING:
    from assetlens.config import Settings

log = logging.getLogger(__name__)

_BATCH = 500
# Bulk requests a rebuild keeps in flight: one being indexed while the next is built and sent
# (measured in docs/ELASTICSEARCH.md, "Bulk loading"; more only queue on a 2-core node).
_BULK_WORKERS = 2
_PIT_KEEP_ALIVE = "2m"


class ElasticsearchIndex:
    """A SearchIndex on Elasticsearch. `client` is used lazily: nothing is sent before the
    first operation. Thread-safe (the client is; the local caches are locked)."""

    def __init__(
        self,
        client: Elasticsearch,
        index: str,
        *,
        num_candidates: int = 200,
        rescore_oversample: float | None = RESCORE_OVERSAMPLE,
        shards: int = 1,
        batch_size: int = _BATCH,
        bulk_workers: int = _BULK_WORKERS,
        retry: RetryPolicy | None = None,
        check_timeout_s: float = 3.0,
    ) -> None:
        if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]{0,200}", index):
            raise ValueError(f"invalid Elasticsearch index name {index!r}")
        self._client = client
        self._alias = index
        self._num_candidates = num_candidates
        self._oversample = rescore_oversample
        self._batch = batch_size
        self._retry = retry or RetryPolicy()
        self._check_timeout_s = check_timeout_s
        self._alias_seen = False  # set once the alias is known to exist
        self._keyword = KeywordSearch(client, index, self._retry)
        self._physical = PhysicalIndices(client, index, retry=self._retry, shards=shards)
        self._writer = BulkWriter(client, retry=self._retry, ensure=self.ensure)
        self._rebuilder = Rebuilder(
            client,
            index,
            physical=self._physical,
            writer=self._writer,
            retry=self._retry,
            batch_size=batch_size,
            bulk_workers=bulk_workers,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> ElasticsearchIndex:
        """An index on the nodes of `settings.es_url` / `es_index` (api key from
        `es_api_key`). Retries are ours (bounded, with backoff), so the client's own are off;
        with several nodes, the client sets a failed node aside and the retry goes to
        another."""
        api_key = settings.es_api_key.get_secret_value() if settings.es_api_key else None
        client = Elasticsearch(
            settings.es_nodes,
            api_key=api_key,
            request_timeout=10.0,
            max_retries=0,
            retry_on_timeout=False,
        )
        return cls(client, settings.es_index, num_candidates=settings.es_num_candidates)

    @property
    def alias(self) -> str:
        return self._alias

    # -- plumbing -------------------------------------------------------------------------

    def _call(self, action: str, fn: Callable[[], Any], **kwargs: Any) -> Any:
        return call(action, fn, self._retry, **kwargs)

    def _search(self, action: str, body: dict[str, Any], **params: Any) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            response = self._client.search(index=self._alias, body=body, **params)
            return check_shards(response.body)

        result: dict[str, Any] = self._call(action, run)
        return result

    def _search_pit(self, body: dict[str, Any]) -> dict[str, Any]:
        return check_shards(self._client.search(body=body).body)

    def physical_indices(self) -> list[str]:
        """The physical indices the alias points to (normally one), sorted."""
        return self._physical.listed()

    def owns(self, name: str) -> bool:
        """Whether `name` is one of this index's physical index names."""
        return self._physical.owns(name)

    # -- SearchIndex: lifecycle -----------------------------------------------------------

    def ensure(self) -> None:
        """Create the first physical index with the alias when the alias is missing; bring
        the mapping of an existing one up to date."""
        existing = self.physical_indices()
        if existing:
            self._upgrade_mappings(existing)
            self._alias_seen = True
            return
        mine = self._physical.create(with_alias=True)
        self._alias_seen = True
        # Two processes may both have created one: the smallest name wins, the other goes.
        current = self.physical_indices()
        if len(current) > 1 and mine != current[0]:
            self._call(
                "resolve ensure race",
                lambda: self._client.indices.update_aliases(
                    actions=[{"remove_index": {"index": mine}}]
                ),
                passthrough=(404,),
            )

    def _upgrade_mappings(self, names: list[str]) -> None:
        """Add the fields newer mapping versions define to indices made by older ones
        (additive, so it is safe with writers running; documents written before read as
        the fields' defaults until `assetlens reindex`)."""
        response = self._call("read mapping", lambda: self._client.indices.get_mapping(index=names))
        for name in names:
            meta = response.body.get(name, {}).get("mappings", {}).get("_meta", {})
            if int(meta.get("version", 1)) >= MAPPING_VERSION:
                continue
            log.warning(
                "elasticsearch: upgrading the mapping of %s to version %d; run "
                "`assetlens reindex` to fill the new fields of older documents",
                name,
                MAPPING_VERSION,
            )
            self._call(
                "upgrade mapping",
                functools.partial(
                    self._client.indices.put_mapping,
                    index=name,
                    properties=ADDED_FIELDS,
                    meta={"version": MAPPING_VERSION},
                ),
            )

    def check(self) -> None:
        """Raise IndexUnavailable unless the cluster answers (quickly) and is not red."""
        try:
            response = self._client.options(request_timeout=self._check_timeout_s).cluster.health(
                timeout=f"{max(1, int(self._check_timeout_s) - 1)}s"
            )
        except (ApiError, TransportError) as exc:
            raise IndexUnavailable(f"elasticsearch: health check failed: {describe(exc)}") from exc
        status = response.body.get("status")
        if status not in ("green", "yellow"):
            raise IndexUnavailable(f"elasticsearch: cluster status is {status}")

    def refresh(self) -> None:
        """Make every write so far visible to search."""
        self._call("refresh", lambda: self._client.indices.refresh(index=self._alias))

    def read_ahead(self) -> None:
        """Nothing to do: the nodes hold their caches across client processes."""

    def close(self) -> None:
        """Close the client's connections."""
        self._client.close()

    def drop(self) -> None:
        """Delete every physical index of this name (exact names; for tests and teardown)."""

        def run() -> list[str]:
            try:
                response = self._client.indices.get(
                    index=f"{self._alias}-*", expand_wildcards="all"
                )
            except NotFoundError:
                return []
            return list(response.body)

        names: list[str] = self._call("list indices", run)
        for name in names:
            if self.owns(name):
                self._physical.delete(name)
        self._writer.forget_vector_fields()

    # -- SearchIndex: writes --------------------------------------------------------------

    def upsert(self, docs: Sequence[IndexDoc]) -> None:
        """Index docs through the alias; a revision older than the stored one is ignored.
        The first write of a process creates the index when it is missing."""
        if docs and not self._alias_seen:
            self.ensure()
        for start in range(0, len(docs), self._batch):
            self._writer.index_docs(self._alias, docs[start : start + self._batch], via_alias=True)

    def remove(self, workspace: str, asset_ids: Sequence[str]) -> None:
        """Delete the assets from the index. Each delete carries the stored revision as its
        external version, so re-adding that same revision later is accepted again."""
        ids = list(dict.fromkeys(asset_ids))
        if not ids:
            return
        self._rebuilder.note_removed(workspace, ids)
        for start in range(0, len(ids), self._batch):
            self._writer.remove_from(self._alias, workspace, ids[start : start + self._batch])

    # -- SearchIndex: reads ---------------------------------------------------------------

    def get(self, workspace: str, asset_id: str) -> IndexDoc | None:
        """The indexed doc (asset and vector) or None."""

        def run() -> dict[str, Any] | None:
            try:
                response = self._client.get(
                    index=self._alias,
                    id=doc_id(workspace, asset_id),
                    source_includes=["asset", "vector_model", f"{VECTOR_PREFIX}*"],
                    source_exclude_vectors=False,
                )
            except NotFoundError as exc:
                if error_type(exc) == "index_not_found_exception":
                    raise
                return None
            source: dict[str, Any] = response.body["_source"]
            return source

        source: dict[str, Any] | None = self._call("get", run)
        if source is None:
            return None
        return index_doc(source)

    def revisions(self) -> Iterator[tuple[str, str, int]]:
        """(workspace, id, revision) of every document, read under one point in time."""
        response = self._call(
            "open point in time",
            lambda: self._client.open_point_in_time(index=self._alias, keep_alive=_PIT_KEEP_ALIVE),
        )
        pit: str = response.body["id"]
        try:
            after: list[Any] | None = None
            while True:
                body: dict[str, Any] = {
                    "pit": {"id": pit, "keep_alive": _PIT_KEEP_ALIVE},
                    "size": 1000,
                    "sort": [{"_shard_doc": "asc"}],
                    "_source": ["workspace", "id", "revision"],
                    "track_total_hits": False,
                }
                if after is not None:
                    body["search_after"] = after

                result: dict[str, Any] = self._call(
                    "revisions", functools.partial(self._search_pit, body)
                )
                pit = result.get("pit_id", pit)
                hits = result["hits"]["hits"]
                if not hits:
                    return
                for hit in hits:
                    src = hit["_source"]
                    yield src["workspace"], src["id"], int(src["revision"])
                after = hits[-1]["sort"]
        finally:
            try:
                self._client.close_point_in_time(id=pit)
            except (ApiError, TransportError) as exc:
                log.info("elasticsearch: closing a point in time failed: %s", describe(exc))

    def search(self, query: SearchQuery) -> SearchPage:
        """Full text + filters + facets, sorted, one page with a search_after cursor. A text
        that matches many documents has its page and counts requested concurrently, and one
        that matches most of them has its counts taken from the complement
        (indexer.elasticsearch.keyword)."""
        return self._keyword.search(query)

    def knn(self, query: VectorQuery) -> list[Hit]:
        """Approximate nearest neighbours (HNSW, int8) by dot product, best first."""
        if not query.vector:
            return []
        body = knn_body(query, self._num_candidates, self._oversample)
        return knn_hits(self._search("knn", body))

    def stats(self, workspace: str) -> IndexStats:
        """Sums, groups and distinct blobs by aggregations (see indexer.elasticsearch.stats)."""
        return library_stats(workspace, functools.partial(self._search, "stats"))

    # -- SearchIndex: rebuild -------------------------------------------------------------

    def rebuild(self, docs: Iterable[IndexDoc]) -> int:
        """Fill a new physical index from `docs`, replay writes the old one got meanwhile,
        swap the alias atomically, then delete the old index. Returns the number of docs
        (see indexer.elasticsearch.rebuild)."""
        return self._rebuilder.rebuild(docs)
