"""How ElasticsearchIndex answers a keyword query: which requests, sent how.

A text's estimated share of the documents (indexer.elasticsearch.complement) picks the path:

- **rare** (at most SPLIT_FRACTION): one request, the page with its exact total and facets
  (`search_body`);
- **middling** (its terms together, taken as independent, more than SPLIT_FRACTION): the
  page alone and the counts of its hits (a size-0 request) sent together in one `_msearch`,
  which the node runs concurrently: finding the top hits by score and counting every hit are
  each a pass over the matches, and each gets a core instead of one doing both;
- **common** (more than COMPLEMENT_FRACTION): the page, the scope's counts and the counts
  without the text in one `_msearch`; the counts are the difference (assetlens.facetcounts).

The answers are the same on every path. A size-0 request is kept by the shard request cache
until the next refresh, so a recurring text's counts are answered from it.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

from elasticsearch import ApiError, Elasticsearch, TransportError
from elasticsearch.exceptions import HTTP_EXCEPTIONS

from assetlens.facetcounts import subtract, use_complement
from assetlens.query import SearchPage, SearchQuery
from assetlens.searchtext import STEM_FIELD, search_terms
from indexer.elasticsearch.complement import (
    best_rarest,
    counts_body,
    estimate_doc,
    hits_counts_body,
    page_body,
    read_counts,
    read_frequencies,
    with_counts,
)
from indexer.elasticsearch.failures import RetryPolicy, call, check_shards, describe
from indexer.elasticsearch.mapping import analysable
from indexer.elasticsearch.responses import search_page
from indexer.elasticsearch.translate import MonthsMissing, search_body

log = logging.getLogger(__name__)

# A text estimated to match more than this share of the documents has its page and its counts
# requested apart, concurrently. Below it, one request costs less than two.
SPLIT_FRACTION = 0.02
# How long an estimate (and a scope found to have too many facet values, or documents found
# without the month keyword) is reused: term statistics move slowly and only choose the path,
# never the answer.
MEMO_SECONDS = 60.0
MEMO_ENTRIES = 1024
_LEGACY_MONTHS = "legacy months"


class RequestPlan(Enum):
    """Which requests answer a keyword query (the module's docstring)."""

    SINGLE = "single"
    SPLIT = "split"
    COMPLEMENT = "complement"


@dataclass(frozen=True, slots=True)
class Estimate:
    """What a text's term statistics say: each field's document frequency of each word, the
    documents in the shard, and the text's terms (each its analysed words and its stems)."""

    freqs: dict[str, dict[str, int]]
    documents: int
    terms: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]

    def common(self) -> bool:
        """Whether the complement pays (assetlens.facetcounts: the best field's rarest word)."""
        return use_complement(best_rarest(self.freqs), self.documents)

    def all_terms(self) -> float:
        """The documents the text is expected to match, its terms taken as independent (the
        best field's product of their shares; a term's share is its rarest word's, or in
        `stems` its commonest stem's): several words match fewer documents together than the
        rarest one alone, and few hits are one request's work."""
        if self.documents <= 0:
            return 0.0
        best = 0.0
        for field, words in self.freqs.items():
            share = 1.0
            for term_words, stems in self.terms:
                if field == STEM_FIELD:
                    found = max((words.get(stem, 0) for stem in stems), default=0)
                else:
                    found = min((words.get(word, 0) for word in term_words), default=0)
                share *= found / self.documents
            best = max(best, share * self.documents)
        return best


def estimate_terms(text: str | None) -> tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]:
    """The terms of `text` as `Estimate` takes them: analysed words (lower-case) and stems."""
    return tuple((tuple(analysable(term.text).lower().split()), term.stems)
                 for term in search_terms(text))  # fmt: skip


def choose_path(estimate: Estimate) -> RequestPlan:
    """The requests for a text of this estimate."""
    if estimate.common():
        return RequestPlan.COMPLEMENT
    if estimate.all_terms() > SPLIT_FRACTION * estimate.documents:
        return RequestPlan.SPLIT
    return RequestPlan.SINGLE


class Memo:
    """Recent values by key, each for `seconds`, at most `entries` (the oldest go first).
    Thread-safe."""

    def __init__(self, seconds: float = MEMO_SECONDS, entries: int = MEMO_ENTRIES,
                 clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        self._seconds = seconds
        self._entries = entries
        self._clock = clock
        self._values: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> Any | None:
        with self._lock:
            found = self._values.get(key)
            if found is None:
                return None
            if self._clock() - found[0] > self._seconds:
                del self._values[key]
                return None
            return found[1]

    def put(self, key: str, value: Any) -> None:
        with self._lock:
            self._values.pop(key, None)
            self._values[key] = (self._clock(), value)
            while len(self._values) > self._entries:
                del self._values[next(iter(self._values))]


def _key(body: dict[str, Any]) -> str:
    return json.dumps(body, sort_keys=True, separators=(",", ":"))


class KeywordSearch:
    """Answers keyword queries on one alias (the SearchIndex `search` of ElasticsearchIndex)."""

    def __init__(self, client: Elasticsearch, alias: str, retry: RetryPolicy,
                 memo: Memo | None = None) -> None:  # fmt: skip
        self._client = client
        self._alias = alias
        self._retry = retry
        self._memo = memo or Memo()

    def search(self, query: SearchQuery) -> SearchPage:
        legacy = bool(self._memo.get(_LEGACY_MONTHS))
        try:
            return self._answer(query, legacy)
        except MonthsMissing:  # only the keyword's terms have the missing bucket
            # Documents written before mapping version 6 are among the hits (until reindexed):
            # their months are counted by the date histogram, for a while before trying again.
            self._memo.put(_LEGACY_MONTHS, True)
            return self._answer(query, True)

    def _answer(self, query: SearchQuery, legacy: bool) -> SearchPage:
        path = self._path(query)
        if path is RequestPlan.COMPLEMENT:
            page = self._complement(query, legacy)
            if page is not None:
                return page
            path = RequestPlan.SPLIT
        if path is RequestPlan.SPLIT:
            page_response, counts_response = self._msearch("search", [
                ({}, page_body(query)), ({}, hits_counts_body(query, legacy_months=legacy)),
            ])  # fmt: skip
            return search_page(query, with_counts(page_response, counts_response))
        return search_page(query, self._search(search_body(query, legacy_months=legacy)))

    def _path(self, query: SearchQuery) -> RequestPlan:
        """The path for the query's text (SINGLE without text or without an estimate)."""
        doc = estimate_doc(query.text)
        if doc is None:
            return RequestPlan.SINGLE
        key = "estimate " + _key(doc)
        estimate: Estimate | None = self._memo.get(key)
        if estimate is None:
            try:
                vectors = self._client.termvectors(
                    index=self._alias, doc=doc, term_statistics=True, field_statistics=True,
                    positions=False, offsets=False, payloads=False,
                )  # fmt: skip
            except (ApiError, TransportError) as exc:
                # Only a shortcut: the direct search reports a real failure.
                log.info("elasticsearch: no estimate for a text: %s", describe(exc))
                return RequestPlan.SINGLE
            estimate = Estimate(*read_frequencies(vectors.body, doc), estimate_terms(query.text))
            self._memo.put(key, estimate)
        return choose_path(estimate)

    def _complement(self, query: SearchQuery, legacy: bool) -> SearchPage | None:
        """The page, its total and facets counted by the complement; None when the scope is
        known to have more values of a facet than are asked for (remembered for a while)."""
        scope_body = counts_body(query, without_text=False, legacy_months=legacy)
        overflow_key = "overflow " + _key(scope_body)
        if self._memo.get(overflow_key):
            return None
        # The scope's body is the same each time: the shard request cache answers it (and the
        # complement's, once a text recurs) until the next refresh.
        page_response, scope_response, without_response = self._msearch("search", [
            ({}, page_body(query)),
            ({"request_cache": True}, scope_body),
            ({"request_cache": True},
             counts_body(query, without_text=True, legacy_months=legacy)),
        ])  # fmt: skip
        scope = read_counts(query, scope_response)
        without = read_counts(query, without_response)
        if scope is None or without is None:
            self._memo.put(overflow_key, True)
        counts = None if scope is None or without is None else subtract(scope, without)
        if counts is None:
            # Too many values to subtract, or a refresh landed between the counting requests:
            # count the page's hits directly.
            counts_response = self._search(hits_counts_body(query, legacy_months=legacy))
            return search_page(query, with_counts(page_response, counts_response))
        return search_page(query, page_response, counts)

    def _search(self, body: dict[str, Any]) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            return check_shards(self._client.search(index=self._alias, body=body).body)

        return call("search", run, self._retry)

    def _msearch(
        self, action: str, searches: list[tuple[dict[str, Any], dict[str, Any]]]
    ) -> list[dict[str, Any]]:
        """The responses to `searches` (header, body) sent in one `_msearch`; a search that
        failed raises as its own request would have (and the whole is retried)."""

        def run() -> list[dict[str, Any]]:
            lines = [line for search in searches for line in search]
            response = self._client.msearch(index=self._alias, searches=lines)
            answers: list[dict[str, Any]] = response.body["responses"]
            for answer in answers:
                if "error" in answer:
                    status = int(answer.get("status", 500))
                    error = HTTP_EXCEPTIONS.get(status, ApiError)
                    raise error(message=str(answer["error"].get("type", "error")),
                                meta=replace(response.meta, status=status),
                                body={"error": answer["error"], "status": status})  # fmt: skip
            return [check_shards(answer) for answer in answers]

        return call(action, run, self._retry)
