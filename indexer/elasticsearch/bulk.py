"""The bulk write path: indexing and removing documents with `_bulk`, revision-versioned
(`version_type=external_gte`), retrying what Elasticsearch rejects for now, and mapping each
vector size's field the first time it is written."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from elasticsearch import ApiError, Elasticsearch, TransportError

from assetlens.errors import IndexUnavailable
from assetlens.query import IndexDoc
from indexer.elasticsearch.failures import (
    IndexRejected,
    RetryPolicy,
    call,
    describe,
    retriable,
    translate,
)
from indexer.elasticsearch.mapping import (
    VECTOR_PREFIX,
    doc_id,
    document,
    vector_dims,
    vector_field,
    vector_mapping,
)

log = logging.getLogger(__name__)

# A rebuild's bulk requests may wait behind merges of a large new index; a timed-out request
# would be sent again (versioned, so harmless) and only add load, so they get longer.
BULK_LOAD_TIMEOUT_S = 120.0
_REMOVE_ROUNDS = 3
_CONFLICT = 409
Pair = tuple[dict[str, Any], dict[str, Any] | None]  # bulk action line, document line


class BulkWriter:
    """Bulk indexing and removal into a target (the alias or a physical index). Thread-safe
    (the client is; the cache of mapped vector fields is locked). `ensure` recreates the
    alias's index when a write through the alias finds it gone."""

    def __init__(
        self, client: Elasticsearch, *, retry: RetryPolicy, ensure: Callable[[], None]
    ) -> None:
        self._client = client
        self._retry = retry
        self._ensure = ensure
        self._lock = threading.Lock()
        self._vector_dims: dict[str, set[int]] = {}  # target → dims known to be mapped

    def _call(self, action: str, fn: Callable[[], Any], **kwargs: Any) -> Any:
        return call(action, fn, self._retry, **kwargs)

    def index_docs(self, target: str, docs: Sequence[IndexDoc], *, via_alias: bool) -> None:
        """Index `docs` into `target` in one bulk request (a longer timeout for a physical
        index being bulk-loaded); a revision older than the stored one is ignored."""
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
        self._bulk(
            "upsert",
            target,
            pairs,
            require_alias=via_alias,
            request_timeout=None if via_alias else BULK_LOAD_TIMEOUT_S,
        )

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

    def forget_vector_fields(self, target: str | None = None) -> None:
        """Forget which vector fields `target` (every target when None) is known to map."""
        with self._lock:
            if target is None:
                self._vector_dims.clear()
            else:
                self._vector_dims.pop(target, None)

    def remove_from(self, target: str, workspace: str, asset_ids: Sequence[str]) -> None:
        """Delete the assets from `target`, each at its stored revision (read first), so a
        newer revision written meanwhile survives; a conflict is read and deleted again."""
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
                    self.forget_vector_fields(target)
                    retry.append(pair)
                    last = kind
                elif kind == "index_not_found_exception" and require_alias:
                    self._ensure()
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
