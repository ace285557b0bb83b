"""Rebuilding the index behind its alias: bulk-load a new physical index, replay what the old
one got meanwhile (by per-shard sequence numbers), swap the alias in one `_aliases` call, then
delete the old index."""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from itertools import islice
from typing import Any

from elasticsearch import Elasticsearch

from assetlens.errors import AssetlensError
from assetlens.query import IndexDoc
from indexer.elasticsearch.bulk import BULK_LOAD_TIMEOUT_S, BulkWriter
from indexer.elasticsearch.failures import RetryPolicy, call
from indexer.elasticsearch.mapping import SERVING_SETTINGS, VECTOR_PREFIX, index_doc
from indexer.elasticsearch.physical import PhysicalIndices

log = logging.getLogger(__name__)

_REPLICA_WAIT_S = 60.0
_SWAP_GRACE_S = 1.0  # searches resolved to the old index finish before it is deleted
_REPLAY_PAGE = 500


class Rebuilder:
    """Runs one rebuild at a time and keeps the removals made while one runs (`note_removed`),
    so they are applied to the new index too."""

    def __init__(
        self,
        client: Elasticsearch,
        alias: str,
        *,
        physical: PhysicalIndices,
        writer: BulkWriter,
        retry: RetryPolicy,
        batch_size: int,
        bulk_workers: int,
    ) -> None:
        self._client = client
        self._alias = alias
        self._physical = physical
        self._writer = writer
        self._retry = retry
        self._batch = batch_size
        self._bulk_workers = max(1, bulk_workers)
        self._lock = threading.Lock()
        self._rebuild_lock = threading.Lock()
        self._removed_in_rebuild: list[tuple[str, str]] | None = None

    def _call(self, action: str, fn: Callable[[], Any], **kwargs: Any) -> Any:
        return call(action, fn, self._retry, **kwargs)

    def note_removed(self, workspace: str, asset_ids: Sequence[str]) -> None:
        """Record removals to apply to the new index when a rebuild is running."""
        with self._lock:
            if self._removed_in_rebuild is not None:
                self._removed_in_rebuild.extend((workspace, i) for i in asset_ids)

    def rebuild(self, docs: Iterable[IndexDoc]) -> int:
        """Fill a new physical index from `docs`, replay writes the old one got meanwhile,
        swap the alias atomically, then delete the old index. Returns the number of docs."""
        with self._rebuild_lock:
            old = self._physical.listed()
            for name in old:
                self._refresh_physical(name)
            marks = {name: self._max_seq_nos(name) for name in old}
            with self._lock:
                self._removed_in_rebuild = []
            new = self._physical.create(with_alias=False, bulk_load=True)
            try:
                count = self._fill(new, docs)
                self._call(
                    "restore serving settings",
                    lambda: self._client.indices.put_settings(index=new, settings=SERVING_SETTINGS),
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
                self._best_effort("delete the unfinished index", self._physical.delete, new)
                raise
            # The switch is made; what follows only narrows windows, so a failure is logged
            # (reconcile repairs what a replay missed, `drop`/the next rebuild what is left).
            for name in old:
                # Writes resolved to the old index just before the swap.
                self._best_effort("replay after the swap", self._replay, name, new, marks[name])
            self._best_effort("apply removals", self._apply_removals, new)
            with self._lock:
                self._removed_in_rebuild = None
            self._writer.forget_vector_fields(self._alias)
            time.sleep(_SWAP_GRACE_S)
            for name in old:
                self._best_effort("delete the old index", self._physical.delete, name)
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
            log.warning(
                "elasticsearch rebuild of %s: %s has no replica yet after %d s; swapping anyway",
                self._alias,
                name,
                _REPLICA_WAIT_S,
            )

    def _refresh_physical(self, name: str) -> None:
        # The first refresh of a bulk-loaded index writes its last in-memory segment (HNSW
        # graph included): on a busy node that outlasts the client's default timeout.
        client = self._client.options(request_timeout=BULK_LOAD_TIMEOUT_S)
        self._call("refresh", functools.partial(client.indices.refresh, index=name))

    def _fill(self, target: str, docs: Iterable[IndexDoc]) -> int:
        """Bulk `docs` into `target` with up to `bulk_workers` requests in flight, so the
        node indexes one batch while the next is read (`docs` is consumed on this thread
        only) and encoded; the first failure stops the fill and is raised."""
        count = 0
        index_batch = functools.partial(self._writer.index_docs, target, via_alias=False)
        with ThreadPoolExecutor(self._bulk_workers, thread_name_prefix="es-bulk") as pool:
            running: set[Future[None]] = set()
            try:
                for batch in _batches(docs, self._batch):
                    if len(running) >= self._bulk_workers:
                        done, running = wait(running, return_when=FIRST_COMPLETED)
                        for future in done:
                            future.result()
                    running.add(pool.submit(index_batch, batch))
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
                    "size": _REPLAY_PAGE,
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
                docs = [index_doc(h["_source"]) for h in hits]
                self._writer.index_docs(new, docs, via_alias=False)
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
            self._writer.remove_from(target, workspace, ids)


def _batches(docs: Iterable[IndexDoc], size: int) -> Iterator[list[IndexDoc]]:
    """`docs` in lists of `size` (the last one shorter); itertools.batched is 3.12+."""
    it = iter(docs)
    while batch := list(islice(it, size)):
        yield batch
