"""ElasticsearchIndex: the SearchIndex port on an Elasticsearch 9 cluster.

Reads and writes go through the alias `<index>`; the data lives in physical indices named
`<index>-<UTC timestamp>-<4 hex>`. `rebuild` fills a new physical index, replays what was
written to the old one meanwhile, and swaps the alias in one `_aliases` call.

Revisions are Elasticsearch external versions (`version_type=external_gte`): an upsert older
than the stored revision is a 409 conflict, which is expected and ignored, so at-least-once
indexing converges whatever the order of arrival.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import UTC, datetime
from itertools import islice
from typing import TYPE_CHECKING, Any

from elasticsearch import ApiError, Elasticsearch, NotFoundError, TransportError

from assetlens.domain import Asset
from assetlens.errors import AssetlensError, IndexUnavailable
from assetlens.query import Hit, IndexDoc, SearchPage, SearchQuery, VectorQuery
from assetlens.stats import IndexStats
from indexer.elasticsearch.failures import (
    IndexRejected,
    RetryPolicy,
    call,
    check_shards,
    describe,
    error_type,
    retriable,
    translate,
)
from indexer.elasticsearch.mapping import (
    ADDED_FIELDS,
    MAPPING_VERSION,
    SERVING_SETTINGS,
    VECTOR_PREFIX,
    doc_id,
    document,
    index_settings,
    mappings,
    vector_dims,
    vector_field,
    vector_mapping,
    vector_of,
)
from indexer.elasticsearch.stats import library_stats
from indexer.elasticsearch.translate import (
    RESCORE_OVERSAMPLE,
    knn_body,
    knn_hits,
    search_body,
    search_page,
)

if TYPE_CHECKING:
    from assetlens.config import Settings

log = logging.getLogger(__name__)

_BATCH = 500
# Bulk requests a rebuild keeps in flight: one being indexed while the next is built and sent
# (measured in docs/ELASTICSEARCH.md, "Bulk loading"; more only queue on a 2-core node).
_BULK_WORKERS = 2
# A rebuild's bulk requests may wait behind merges of a large new index; a timed-out request
# would be sent again (versioned, so harmless) and only add load, so they get longer.
_BULK_LOAD_TIMEOUT_S = 120.0
_REPLICA_WAIT_S = 60.0
_PIT_KEEP_ALIVE = "2m"
_SWAP_GRACE_S = 1.0  # searches resolved to the old index finish before it is deleted
_REMOVE_ROUNDS = 3
_CONFLICT = 409
Pair = tuple[dict[str, Any], dict[str, Any] | None]  # bulk action line, document line


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
        self._shards = shards
        self._batch = batch_size
        self._bulk_workers = max(1, bulk_workers)
        self._retry = retry or RetryPolicy()
        self._check_timeout_s = check_timeout_s
        self._lock = threading.Lock()
        self._rebuild_lock = threading.Lock()
        self._vector_dims: dict[str, set[int]] = {}  # target → dims known to be mapped
        self._removed_in_rebuild: list[tuple[str, str]] | None = None
        self._alias_seen = False  # set once the alias is known to exist

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

        def run() -> list[str]:
            try:
                response = self._client.indices.get_alias(name=self._alias)
            except NotFoundError:
                return []
            return sorted(response.body)

        result: list[str] = self._call("resolve alias", run)
        return result

    def _new_physical_name(self) -> str:
        now = datetime.now(UTC)
        stamp = now.strftime("%Y%m%d%H%M%S") + f"{now.microsecond // 1000:03d}"
        return f"{self._alias}-{stamp}-{secrets.token_hex(2)}"

    def owns(self, name: str) -> bool:
        """Whether `name` is one of this index's physical index names."""
        return re.fullmatch(rf"{re.escape(self._alias)}-\d{{17}}-[0-9a-f]{{4}}", name) is not None

    def _create_physical(self, *, with_alias: bool, bulk_load: bool = False) -> str:
        name = self._new_physical_name()
        aliases: dict[str, Any] | None = {self._alias: {}} if with_alias else None
        try:
            self._call(
                "create index",
                lambda: self._client.indices.create(
                    index=name,
                    settings=index_settings(shards=self._shards, bulk_load=bulk_load),
                    mappings=mappings(),
                    aliases=aliases,
                ),
                passthrough=(400,),
            )
        except ApiError as exc:
            if error_type(exc) == "resource_already_exists_exception":
                # The name is random and ours alone: an attempt that timed out had created it.
                return name
            if error_type(exc) == "invalid_alias_name_exception":
                raise IndexRejected(
                    f"elasticsearch: cannot create alias {self._alias!r}: a concrete index of "
                    "that name exists; delete it or choose another ASSETLENS_ES_INDEX"
                ) from exc
            raise translate(exc, "create index") from exc
        return name

    def _delete_physical(self, name: str) -> None:
        def run() -> None:
            with contextlib.suppress(NotFoundError):
                self._client.indices.delete(index=name)

        self._call("delete index", run)

    # -- SearchIndex: lifecycle -----------------------------------------------------------

    def ensure(self) -> None:
        """Create the first physical index with the alias when the alias is missing; bring
        the mapping of an existing one up to date."""
        existing = self.physical_indices()
        if existing:
            self._upgrade_mappings(existing)
            self._alias_seen = True
            return
        mine = self._create_physical(with_alias=True)
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
            log.warning("elasticsearch: upgrading the mapping of %s to version %d; run "
                        "`assetlens reindex` to fill the new fields of older documents",
                        name, MAPPING_VERSION)
            self._call("upgrade mapping", functools.partial(
                self._client.indices.put_mapping, index=name, properties=ADDED_FIELDS,
                meta={"version": MAPPING_VERSION},
            ))

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
                self._delete_physical(name)
        with self._lock:
            self._vector_dims.clear()

    # -- SearchIndex: writes --------------------------------------------------------------

    def upsert(self, docs: Sequence[IndexDoc]) -> None:
        """Index docs through the alias; a revision older than the stored one is ignored.
        The first write of a process creates the index when it is missing."""
        if docs and not self._alias_seen:
            self.ensure()
        for start in range(0, len(docs), self._batch):
            self._index_docs(self._alias, docs[start : start + self._batch], via_alias=True)

    def _index_docs(self, target: str, docs: Sequence[IndexDoc], *, via_alias: bool) -> None:
        if not docs:
            return
        self._ensure_vector_fields(
            target, {len(d.vector) for d in docs if d.vector and d.vector_model}
        )
        pairs: list[Pair] = [
            (
                {
                    "index": {
                        "_index": target,
                        "_id": doc_id(d.asset.workspace, d.asset.id),
                        "version": d.asset.revision,
                        "version_type": "external_gte",
                    }
                },
                document(d),
            )
            for d in docs
        ]
        self._bulk("upsert", target, pairs, require_alias=via_alias,
                   request_timeout=None if via_alias else _BULK_LOAD_TIMEOUT_S)

    def _ensure_vector_fields(self, target: str, dims: set[int]) -> None:
        with self._lock:
            missing = dims - self._vector_dims.get(target, set())
        if not missing:
            return
        properties = {vector_field(d): vector_mapping(d) for d in sorted(missing)}
        self._call(
            "put vector mapping",
            lambda: self._client.indices.put_mapping(index=target, properties=properties),
        )
        with self._lock:
            self._vector_dims.setdefault(target, set()).update(missing)

    def _forget_vector_fields(self, target: str) -> None:
        with self._lock:
            self._vector_dims.pop(target, None)

    def remove(self, workspace: str, asset_ids: Sequence[str]) -> None:
        """Delete the assets from the index. Each delete carries the stored revision as its
        external version, so re-adding that same revision later is accepted again."""
        ids = list(dict.fromkeys(asset_ids))
        if not ids:
            return
        with self._lock:
            if self._removed_in_rebuild is not None:
                self._removed_in_rebuild.extend((workspace, i) for i in ids)
        for start in range(0, len(ids), self._batch):
            self._remove_from(self._alias, workspace, ids[start : start + self._batch])

    def _remove_from(self, target: str, workspace: str, asset_ids: Sequence[str]) -> None:
        pending = [doc_id(workspace, i) for i in asset_ids]
        for _ in range(_REMOVE_ROUNDS):
            versions = self._versions(target, pending)
            if not versions:
                return
            pairs: list[Pair] = [
                (
                    {
                        "delete": {
                            "_index": target,
                            "_id": _id,
                            "version": version,
                            "version_type": "external_gte",
                        }
                    },
                    None,
                )
                for _id, version in versions.items()
            ]
            # A conflict means a newer revision arrived since the read: read and delete again.
            pending = [pair[0]["delete"]["_id"] for pair in self._bulk("remove", target, pairs)]
            if not pending:
                return
        raise IndexUnavailable("elasticsearch: remove kept racing with concurrent upserts")

    def _versions(self, target: str, ids: Sequence[str]) -> dict[str, int]:
        """The stored version (revision) of each of `ids` that exists in `target`."""
        response = self._call(
            "read versions", lambda: self._client.mget(index=target, ids=list(ids), source=False)
        )
        return {d["_id"]: int(d["_version"]) for d in response.body["docs"] if d.get("found")}

    def _bulk(
        self,
        action: str,
        target: str,
        pairs: list[Pair],
        *,
        require_alias: bool = False,
        request_timeout: float | None = None,
    ) -> list[Pair]:
        """Send bulk operations, retrying the rejected-for-now ones (429/5xx) with backoff.
        Returns the operations that hit a version conflict; raises IndexRejected for items
        Elasticsearch refuses and IndexUnavailable when retries run out."""
        pending = pairs
        conflicts: list[Pair] = []
        last = ""
        for attempt in range(self._retry.attempts):
            if attempt:
                time.sleep(self._retry.delay(attempt))
            try:
                client = self._client
                if request_timeout is not None:
                    client = client.options(request_timeout=request_timeout)
                response = client.bulk(
                    operations=[line for pair in pending for line in pair if line is not None],
                    require_alias=require_alias or None,
                )
            except (ApiError, TransportError) as exc:
                if not retriable(exc):
                    raise translate(exc, action) from exc
                last = describe(exc)
                log.warning("elasticsearch %s: attempt %d failed: %s", action, attempt + 1, last)
                continue
            retry: list[Pair] = []
            rejected: list[str] = []
            for pair, item in zip(pending, response.body["items"], strict=True):
                ((op, result),) = item.items()
                status = int(result.get("status", 500))
                error = result.get("error") or {}
                kind = error.get("type", "") if isinstance(error, dict) else str(error)
                if status < 300 or (status == 404 and op == "delete"):
                    continue
                if status == _CONFLICT:
                    conflicts.append(pair)
                elif status == 429 or status >= 500:
                    retry.append(pair)
                    last = f"HTTP {status} {kind}"
                elif kind == "strict_dynamic_mapping_exception" and VECTOR_PREFIX in str(error):
                    # Another process swapped the alias to an index without this vector
                    # field yet: map it and send the document again.
                    self._forget_vector_fields(target)
                    retry.append(pair)
                    last = kind
                elif kind == "index_not_found_exception" and require_alias:
                    self.ensure()
                    retry.append(pair)
                    last = kind
                else:
                    reason = error.get("reason", "") if isinstance(error, dict) else ""
                    rejected.append(f"{result.get('_id')}: HTTP {status} {kind}: {reason}")
            if rejected:
                raise IndexRejected(
                    f"elasticsearch: {action}: {len(rejected)} rejected, e.g. {rejected[0][:400]}"
                )
            if not retry:
                return conflicts
            self._remap_vectors(target, retry)
            pending = retry
        raise IndexUnavailable(
            f"elasticsearch: {action} failed after {self._retry.attempts} attempts: {last}"
        )

    def _remap_vectors(self, target: str, pairs: list[Pair]) -> None:
        dims = {
            d
            for _, source in pairs
            if source is not None
            for key in source
            if (d := vector_dims(key)) is not None
        }
        if dims:
            self._ensure_vector_fields(target, dims)

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
        return _indexdoc(source)

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
        """Full text + filters + facets, sorted, one page with a search_after cursor."""
        body = search_body(query)
        return search_page(query, self._search("search", body))

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
        swap the alias atomically, then delete the old index. Returns the number of docs."""
        with self._rebuild_lock:
            old = self.physical_indices()
            for name in old:
                self._refresh_physical(name)
            marks = {name: self._max_seq_nos(name) for name in old}
            with self._lock:
                self._removed_in_rebuild = []
            new = self._create_physical(with_alias=False, bulk_load=True)
            try:
                count = self._fill(new, docs)
                self._call(
                    "restore serving settings",
                    lambda: self._client.indices.put_settings(
                        index=new, settings=SERVING_SETTINGS
                    ),
                )
                self._await_replicas(new)
                for name in old:
                    marks[name] = self._replay(name, new, marks[name])
                self._apply_removals(new)
                self._refresh_physical(new)
                actions: list[dict[str, Any]] = [
                    {"remove": {"index": name, "alias": self._alias}} for name in old
                ]
                actions.append({"add": {"index": new, "alias": self._alias}})
                self._call(
                    "swap alias", lambda: self._client.indices.update_aliases(actions=actions)
                )
            except BaseException:
                with self._lock:
                    self._removed_in_rebuild = None
                self._best_effort("delete the unfinished index", self._delete_physical, new)
                raise
            # The switch is made; what follows only narrows windows, so a failure is logged
            # (reconcile repairs what a replay missed, `drop`/the next rebuild what is left).
            for name in old:
                # Writes resolved to the old index just before the swap.
                self._best_effort("replay after the swap", self._replay, name, new, marks[name])
            self._best_effort("apply removals", self._apply_removals, new)
            with self._lock:
                self._removed_in_rebuild = None
                self._vector_dims.pop(self._alias, None)
            time.sleep(_SWAP_GRACE_S)
            for name in old:
                self._best_effort("delete the old index", self._delete_physical, name)
            return count

    def _best_effort(self, what: str, fn: Callable[..., object], *args: Any) -> None:
        try:
            fn(*args)
        except AssetlensError as exc:
            log.warning("elasticsearch rebuild of %s: could not %s: %s", self._alias, what, exc)

    def _await_replicas(self, name: str) -> None:
        """Give the replica a bulk load went without (on a cluster of several nodes) a
        bounded time to be copied before the index serves; a slow copy is logged, not an
        error (the primary serves meanwhile, as after a node restart)."""
        response = self._call(
            "wait for replicas",
            # A health wait that runs out answers 408 with `timed_out`: that is our answer.
            lambda: self._client.options(
                request_timeout=_REPLICA_WAIT_S + 10, ignore_status=408
            ).cluster.health(
                index=name, wait_for_status="green", timeout=f"{int(_REPLICA_WAIT_S)}s"
            ),
        )
        if response.body.get("timed_out"):
            log.warning("elasticsearch rebuild of %s: %s has no replica yet after %d s; "
                        "swapping anyway", self._alias, name, _REPLICA_WAIT_S)

    def _refresh_physical(self, name: str) -> None:
        # The first refresh of a bulk-loaded index writes its last in-memory segment (HNSW
        # graph included): on a busy node that outlasts the client's default timeout.
        client = self._client.options(request_timeout=_BULK_LOAD_TIMEOUT_S)
        self._call("refresh", functools.partial(client.indices.refresh, index=name))

    def _fill(self, target: str, docs: Iterable[IndexDoc]) -> int:
        """Bulk `docs` into `target` with up to `bulk_workers` requests in flight, so the
        node indexes one batch while the next is read (`docs` is consumed on this thread
        only) and encoded; the first failure stops the fill and is raised."""
        count = 0
        with ThreadPoolExecutor(self._bulk_workers, thread_name_prefix="es-bulk") as pool:
            running: set[Future[None]] = set()
            try:
                for batch in _batches(docs, self._batch):
                    if len(running) >= self._bulk_workers:
                        done, running = wait(running, return_when=FIRST_COMPLETED)
                        for future in done:
                            future.result()
                    running.add(pool.submit(self._index_docs, target, batch, via_alias=False))
                    count += len(batch)
                for future in running:
                    future.result()
            finally:
                for future in running:
                    future.cancel()
        return count

    def _max_seq_nos(self, name: str) -> list[int]:
        """The highest `_seq_no` in each shard of `name` (-1 for an empty shard)."""
        marks = []
        for shard in range(self._shard_count(name)):
            response = self._call(
                "read sequence numbers",
                functools.partial(
                    self._client.search,
                    index=name,
                    preference=f"_shards:{shard}",
                    body={"size": 1, "sort": [{"_seq_no": "desc"}], "_source": False,
                          "seq_no_primary_term": True, "track_total_hits": False},
                ),
            )  # fmt: skip
            hits = response.body["hits"]["hits"]
            marks.append(int(hits[0]["_seq_no"]) if hits else -1)
        return marks

    def _shard_count(self, name: str) -> int:
        response = self._call(
            "read settings",
            lambda: self._client.indices.get_settings(index=name, name="index.number_of_shards"),
        )
        return int(response.body[name]["settings"]["index"]["number_of_shards"])

    def _replay(self, old: str, new: str, since: list[int]) -> list[int]:
        """Copy into `new` every doc written to `old` after the per-shard sequence numbers
        `since` (revision versioning keeps the newer of each asset); returns the new marks."""
        self._refresh_physical(old)
        marks = list(since)
        for shard, mark in enumerate(since):
            after: list[Any] | None = None
            while True:
                body: dict[str, Any] = {
                    "size": _BATCH,
                    "query": {"range": {"_seq_no": {"gt": mark}}},
                    "sort": [{"_seq_no": "asc"}],
                    "seq_no_primary_term": True,
                    "_source": ["asset", "vector_model", f"{VECTOR_PREFIX}*"],
                }
                if after is not None:
                    body["search_after"] = after
                response = self._call(
                    "replay",
                    functools.partial(
                        self._client.search, index=old, preference=f"_shards:{shard}",
                        body=body, source_exclude_vectors=False,
                    ),
                )  # fmt: skip
                hits = response.body["hits"]["hits"]
                if not hits:
                    break
                self._index_docs(new, [_indexdoc(h["_source"]) for h in hits], via_alias=False)
                marks[shard] = max(marks[shard], int(hits[-1]["_seq_no"]))
                after = hits[-1]["sort"]
        return marks

    def _apply_removals(self, target: str) -> None:
        with self._lock:
            removed = list(self._removed_in_rebuild or [])
        by_workspace: dict[str, list[str]] = {}
        for workspace, asset_id in removed:
            by_workspace.setdefault(workspace, []).append(asset_id)
        for workspace, ids in by_workspace.items():
            self._remove_from(target, workspace, ids)


def _batches(docs: Iterable[IndexDoc], size: int) -> Iterator[list[IndexDoc]]:
    """`docs` in lists of `size` (the last one shorter); itertools.batched is 3.12+."""
    it = iter(docs)
    while batch := list(islice(it, size)):
        yield batch


def _indexdoc(source: dict[str, Any]) -> IndexDoc:
    vector = vector_of(source)
    model = source.get("vector_model")
    return IndexDoc(
        asset=Asset.model_validate(source["asset"]),
        vector=vector if model else None,
        vector_model=model if vector is not None else None,
    )
