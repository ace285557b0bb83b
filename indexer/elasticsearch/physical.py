"""The physical indices behind an alias: their names (`<alias>-<UTC timestamp>-<4 hex>`),
listing, creation and deletion."""

from __future__ import annotations

import contextlib
import re
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from elasticsearch import ApiError, Elasticsearch, NotFoundError

from indexer.elasticsearch.failures import IndexRejected, RetryPolicy, call, error_type, translate
from indexer.elasticsearch.mapping import index_settings, mappings


class PhysicalIndices:
    """Creates, lists and deletes the physical indices of one alias."""

    def __init__(
        self, client: Elasticsearch, alias: str, *, retry: RetryPolicy, shards: int
    ) -> None:
        self._client = client
        self._alias = alias
        self._retry = retry
        self._shards = shards

    def _call(self, action: str, fn: Callable[[], Any], **kwargs: Any) -> Any:
        return call(action, fn, self._retry, **kwargs)

    def listed(self) -> list[str]:
        """The physical indices the alias points to (normally one), sorted."""

        def run() -> list[str]:
            try:
                response = self._client.indices.get_alias(name=self._alias)
            except NotFoundError:
                return []
            return sorted(response.body)

        result: list[str] = self._call("resolve alias", run)
        return result

    def _new_name(self) -> str:
        now = datetime.now(UTC)
        stamp = now.strftime("%Y%m%d%H%M%S") + f"{now.microsecond // 1000:03d}"
        return f"{self._alias}-{stamp}-{secrets.token_hex(2)}"

    def owns(self, name: str) -> bool:
        """Whether `name` is one of this alias's physical index names."""
        return re.fullmatch(rf"{re.escape(self._alias)}-\d{{17}}-[0-9a-f]{{4}}", name) is not None

    def create(self, *, with_alias: bool, bulk_load: bool = False) -> str:
        """Create a new physical index (strict mapping; bulk-load settings when asked),
        pointing the alias at it when `with_alias`; returns its name."""
        name = self._new_name()
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

    def delete(self, name: str) -> None:
        """Delete the physical index `name` (gone already is fine)."""

        def run() -> None:
            with contextlib.suppress(NotFoundError):
                self._client.indices.delete(index=name)

        self._call("delete index", run)
