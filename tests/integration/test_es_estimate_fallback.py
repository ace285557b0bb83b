"""A text search on a REAL Elasticsearch node whose `_termvectors` estimate fails.

Every text search first asks `_termvectors` how common the text is, to decide whether its
total and facets are counted by the complement (indexer.elasticsearch.complement). That call
is only a shortcut: when it fails, the search must fall back to the single request and give
the same answer, and say so in the log. The failing client is passed in (a subclass of the
real client, so every other call goes to the node); the normal path's answer, counted by the
complement, is the reference.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ObjectApiResponse
from elasticsearch import Elasticsearch

from assetlens.filters import Facet, FacetMode, Filters
from assetlens.query import SearchPage, SearchQuery
from indexer.elasticsearch import ElasticsearchIndex
from indexer.elasticsearch.failures import RetryPolicy
from tests.contract.common_word_contract import FACETS, LIBRARY, WORD
from tests.contract.search_index_contract import WS, make_doc, paginate, put
from tests.integration.es_fixtures import es_service, es_url

pytestmark = pytest.mark.integration
__all__ = ["es_service", "es_url"]  # fixtures used by this module

_LOGGERS = "indexer.elasticsearch"  # whichever module of the adapter sends the estimate


class CountingClient(Elasticsearch):
    """The real client, counting the estimates the index asks for and the search bodies it
    sends (alone or several in one `_msearch`)."""

    reason = ""  # what the index logs of a failed estimate

    def __init__(self, url: str) -> None:
        super().__init__(url, request_timeout=30.0, max_retries=0, retry_on_timeout=False)
        self.estimates = 0
        self.bodies = 0

    def termvectors(self, **kwargs: Any) -> ObjectApiResponse[Any]:
        self.estimates += 1
        return super().termvectors(**kwargs)

    def search(self, **kwargs: Any) -> ObjectApiResponse[Any]:
        self.bodies += 1
        return super().search(**kwargs)

    def msearch(self, **kwargs: Any) -> ObjectApiResponse[Any]:
        self.bodies += len(kwargs["searches"]) // 2  # a header and a body each
        return super().msearch(**kwargs)


class LostEstimateClient(CountingClient):
    """Its `_termvectors` requests never reach the node, as with a dropped connection."""

    reason = "ConnectionError"

    def termvectors(self, **kwargs: Any) -> ObjectApiResponse[Any]:
        self.estimates += 1
        raise TransportConnectionError("connection dropped by the test")


class RefusedEstimateClient(CountingClient):
    """Its `_termvectors` requests go to an index that does not exist: the node answers 404."""

    reason = "HTTP 404 index_not_found_exception"

    def termvectors(self, **kwargs: Any) -> ObjectApiResponse[Any]:
        return super().termvectors(**{**kwargs, "index": f"missing-{uuid.uuid4().hex[:12]}"})


def _index(client: Elasticsearch, name: str) -> ElasticsearchIndex:
    return ElasticsearchIndex(client, name, retry=RetryPolicy(attempts=2, initial_backoff_s=0.1))


@pytest.fixture(scope="module")
def library(es_url: str) -> Iterator[str]:
    """An index holding the common-word library (`ember` in most documents); its name."""
    name = f"it-{uuid.uuid4().hex[:16]}"
    index = _index(CountingClient(es_url), name)
    index.ensure()
    put(index, *(make_doc(a) for a in LIBRARY))
    yield name
    try:
        index.drop()
    finally:
        index.close()


QUERIES = {
    "plain": SearchQuery(workspace=WS, text=WORD, limit=10, facets=FACETS),
    "filtered, disjunctive": SearchQuery(
        workspace=WS, text=WORD, limit=2, facets=FACETS, facet_mode=FacetMode.DISJUNCTIVE,
        filters=Filters(tags=["shared"], folder_id=["folder-1", "folder-2"]),
    ),
    "facet prefix": SearchQuery(workspace=WS, text=WORD, limit=5, facets=[Facet.TAGS],
                                facet_prefix={Facet.TAGS: "t"}),
}  # fmt: skip


def _answer(pages: Iterator[SearchPage]) -> list[tuple[int, dict[str, Any], list[str]]]:
    """Each page's total, facets and hit ids in order."""
    return [
        (page.total, {k: [(b.value, b.count) for b in v] for k, v in page.facets.items()},
         [hit.asset.id for hit in page.hits])
        for page in pages
    ]  # fmt: skip


@pytest.mark.parametrize("failing", [LostEstimateClient, RefusedEstimateClient])
@pytest.mark.parametrize("name", list(QUERIES))
def test_a_failed_estimate_falls_back_to_the_same_answer(
    es_url: str, library: str, failing: type[CountingClient], name: str,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    query = QUERIES[name]
    normal_client, failing_client = CountingClient(es_url), failing(es_url)
    normal, degraded = _index(normal_client, library), _index(failing_client, library)
    try:
        expected = _answer(paginate(normal, query))
        with caplog.at_level(logging.INFO, logger=_LOGGERS):
            got = _answer(paginate(degraded, query))
    finally:
        normal.close()
        degraded.close()

    pages = len(expected)
    assert pages > 1, "the query spans several pages (the cursor is followed too)"
    assert got == expected
    # The reference did take the complement (each page: the page, the scope's counts and
    # the counts without the text; its estimate may be remembered between pages); the
    # degraded index asked for the estimate each page, then sent the single request.
    assert normal_client.estimates >= 1
    assert normal_client.bodies == 3 * pages
    assert failing_client.estimates == pages
    assert failing_client.bodies == pages
    fallbacks = [r for r in caplog.records
                 if r.name.startswith(_LOGGERS) and r.getMessage().startswith(
                     "elasticsearch: no estimate for a text")]  # fmt: skip
    assert len(fallbacks) == pages
    assert all(r.levelno == logging.INFO for r in fallbacks)
    assert all(failing.reason in r.getMessage() for r in fallbacks)
