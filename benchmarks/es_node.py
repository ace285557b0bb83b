"""What bench_search reads from and does to an Elasticsearch node besides the SearchIndex
port: document count, heap and disk (`_nodes/stats`, `_stats`), and a force-merge.

Its own client with a long request timeout: a force-merge of a large index takes minutes.
"""

from __future__ import annotations

import time
from typing import Any

from elasticsearch import Elasticsearch, NotFoundError

_MIB = 1024 * 1024


class EsNode:
    """The node (or cluster) behind one alias."""

    def __init__(self, url: str, alias: str) -> None:
        self._client = Elasticsearch(url, request_timeout=3600)
        self._alias = alias

    def close(self) -> None:
        self._client.close()

    def count(self) -> int:
        """Documents searchable through the alias; 0 when it does not exist."""
        try:
            return int(self._client.count(index=self._alias).body["count"])
        except NotFoundError:
            return 0

    def footprint(self) -> dict[str, Any]:
        """Heap (used now, and the maximum) of every node, and the index's primary store:
        bytes on disk, documents, segments."""
        nodes = self._client.nodes.stats(metric="jvm").body["nodes"]
        heap = [
            {
                "node": node.get("name", node_id),
                "heap_used_mib": round(node["jvm"]["mem"]["heap_used_in_bytes"] / _MIB),
                "heap_max_mib": round(node["jvm"]["mem"]["heap_max_in_bytes"] / _MIB),
            }
            for node_id, node in nodes.items()
        ]
        stats = self._client.indices.stats(index=self._alias, metric="store,docs,segments")
        primaries = stats.body["_all"]["primaries"]
        return {
            "heap": heap,
            "store_mib": round(primaries["store"]["size_in_bytes"] / _MIB, 1),
            "docs": int(primaries["docs"]["count"]),
            "segments": int(primaries["segments"]["count"]),
        }

    def force_merge(self) -> float:
        """Merge the index down to one segment per shard; returns the seconds it took."""
        started = time.perf_counter()
        self._client.indices.forcemerge(index=self._alias, max_num_segments=1)
        self._client.indices.refresh(index=self._alias)
        return round(time.perf_counter() - started, 1)
