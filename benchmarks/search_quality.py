"""Keyword search quality over a labelled query set, for any SearchIndex backend.

    python -m benchmarks.search_quality                  # embedded index: the table
    python -m benchmarks.search_quality --es-url URL     # and Elasticsearch beside it
    python -m benchmarks.search_quality --label          # (re)write the expected assets
    python -m benchmarks.search_quality --es-url URL --write   # new baseline (docs/results)

The corpus is benchmarks.search_corpus (deterministic); the queries and their labels are
tests/search_quality/queries.json. Per query: recall@10 (relevant assets in the first ten,
over min(10, relevant)), the reciprocal rank of the first relevant hit (0 past ten), and —
since a keyword search returns every match — recall and precision over all its matches. A
negative query (nothing relevant) is clean when it matches nothing. The baseline is
docs/results/search_quality.json; tests/integration/test_search_quality.py fails when a
backend scores below it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import platform
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assetlens.ports import SearchIndex
from assetlens.query import MAX_LIMIT, SearchQuery
from benchmarks.search_corpus import SEED, SIZE, WORKSPACE, LabelledDoc, corpus

ROOT = Path(__file__).resolve().parents[1]
QUERIES = ROOT / "tests" / "search_quality" / "queries.json"
BASELINE = ROOT / "docs" / "results" / "search_quality.json"
K = 10
METRICS = ("recall_at_10", "mrr", "recall", "precision", "negatives_clean")


@dataclass(frozen=True, slots=True)
class LabelledQuery:
    """A query as typed, what kind of matching it exercises, and its relevant assets."""

    query: str
    kind: str
    where: tuple[str, ...]
    expected: frozenset[str]

    @property
    def negative(self) -> bool:
        return not self.where


def load_queries(path: Path = QUERIES) -> list[LabelledQuery]:
    raw = json.loads(path.read_text(encoding="utf-8"))
    return [
        LabelledQuery(query=q["query"], kind=q["kind"], where=tuple(q["where"]),
                      expected=frozenset(q["expected"]))
        for q in raw["queries"]
    ]  # fmt: skip


def relevant(where: Sequence[str], docs: Sequence[LabelledDoc]) -> list[str]:
    """The ids of the assets having every fact of `where` (each fact `a|b` means either);
    none for a negative query."""
    if not where:
        return []
    wanted = [set(fact.split("|")) for fact in where]
    return sorted(d.doc.asset.id for d in docs if all(d.facts & alts for alts in wanted))


def label(path: Path = QUERIES) -> None:
    """Write each query's expected assets, computed from its `where` over the corpus."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    docs = corpus()
    for q in raw["queries"]:
        q["expected"] = relevant(q["where"], docs)
        if q["where"] and not q["expected"]:
            raise SystemExit(f"no asset is relevant to {q['query']!r}: change its `where`")
    path.write_text(_dump_queries(raw), encoding="utf-8")


def _dump_queries(raw: dict[str, Any]) -> str:
    """The queries file: one query a line, so a relabel reads as a per-query diff."""
    rows = ",\n  ".join(json.dumps(q, ensure_ascii=False) for q in raw["queries"])
    return (
        f'{{\n "about": {json.dumps(raw["about"], ensure_ascii=False)},\n'
        f' "queries": [\n  {rows}\n ]\n}}\n'
    )


def fill(index: SearchIndex, docs: Sequence[LabelledDoc], batch: int = 200) -> None:
    for start in range(0, len(docs), batch):
        index.upsert([d.doc for d in docs[start : start + batch]])
    index.refresh()


def matched(index: SearchIndex, text: str) -> list[str]:
    """Every asset the text matches, best first (all pages)."""
    ids: list[str] = []
    cursor: str | None = None
    while True:
        page = index.search(SearchQuery(workspace=WORKSPACE, text=text, limit=MAX_LIMIT,
                                        cursor=cursor))  # fmt: skip
        ids.extend(hit.asset.id for hit in page.hits)
        cursor = page.next_cursor
        if cursor is None:
            return ids


@dataclass(frozen=True, slots=True)
class QueryResult:
    query: LabelledQuery
    ranked: list[str]

    @property
    def recall(self) -> float:
        found = len(self.query.expected & set(self.ranked[:K]))
        return found / min(K, len(self.query.expected))

    @property
    def recall_all(self) -> float:
        return len(self.query.expected & set(self.ranked)) / len(self.query.expected)

    @property
    def precision(self) -> float:
        if not self.ranked:
            return 0.0
        return len(self.query.expected & set(self.ranked)) / len(self.ranked)

    @property
    def reciprocal_rank(self) -> float:
        for rank, asset_id in enumerate(self.ranked[:K], start=1):
            if asset_id in self.query.expected:
                return 1.0 / rank
        return 0.0


@dataclass(slots=True)
class Scores:
    """Means over the positive queries (recall@10, MRR, recall and precision of all matches)
    and the share of clean negatives."""

    recall: list[float] = field(default_factory=list)
    rr: list[float] = field(default_factory=list)
    recall_all: list[float] = field(default_factory=list)
    precision: list[float] = field(default_factory=list)
    clean: list[bool] = field(default_factory=list)

    def add(self, result: QueryResult) -> None:
        if result.query.negative:
            self.clean.append(not result.ranked)
        else:
            self.recall.append(result.recall)
            self.rr.append(result.reciprocal_rank)
            self.recall_all.append(result.recall_all)
            self.precision.append(result.precision)

    def summary(self) -> dict[str, float | int]:
        def mean(values: Sequence[float]) -> float:
            return sum(values) / len(values) if values else 1.0

        return {
            "queries": len(self.recall) + len(self.clean),
            "recall_at_10": mean(self.recall),
            "mrr": mean(self.rr),
            "recall": mean(self.recall_all),
            "precision": mean(self.precision),
            "negatives_clean": mean([float(c) for c in self.clean]),
        }


def evaluate(index: SearchIndex, queries: Sequence[LabelledQuery]) -> list[QueryResult]:
    return [QueryResult(q, matched(index, q.query)) for q in queries]


def summarise(results: Sequence[QueryResult]) -> dict[str, dict[str, float | int]]:
    """Scores over all queries (`all`) and per kind."""
    by_kind: dict[str, Scores] = {"all": Scores()}
    for result in results:
        by_kind["all"].add(result)
        by_kind.setdefault(result.query.kind, Scores()).add(result)
    return {kind: scores.summary() for kind, scores in by_kind.items()}


def floor4(value: float) -> float:
    """Rounded down to 4 decimals, so a baseline never exceeds the run that wrote it."""
    return math.floor(value * 10_000 + 1e-9) / 10_000


_COLUMNS = (("recall_at_10", "R@10"), ("mrr", "MRR"), ("recall", "recall"),
            ("precision", "prec."), ("negatives_clean", "neg.ok"))  # fmt: skip


def table(summaries: dict[str, dict[str, dict[str, float | int]]]) -> str:
    """A Markdown table: one row per query kind, each backend's scores side by side."""
    backends = list(summaries)
    kinds = list(next(iter(summaries.values())))
    head = ["kind", "n"] + [f"{b} {label}" for b in backends for _, label in _COLUMNS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for kind in kinds:
        row = [kind, str(summaries[backends[0]][kind]["queries"])]
        for b in backends:
            row += [f"{float(summaries[b][kind][metric]):.3f}" for metric, _ in _COLUMNS]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


@contextlib.contextmanager
def embedded_index(docs: Sequence[LabelledDoc]) -> Iterator[SearchIndex]:
    """A filled embedded index in a temporary directory."""
    from indexer.embedded import EmbeddedSearchIndex

    with tempfile.TemporaryDirectory() as tmp:
        index = EmbeddedSearchIndex(Path(tmp) / "index")
        try:
            index.ensure()
            fill(index, docs)
            yield index
        finally:
            index.close()


@contextlib.contextmanager
def elasticsearch_index(url: str, docs: Sequence[LabelledDoc]) -> Iterator[SearchIndex]:
    """A filled Elasticsearch index on a fresh name, deleted afterwards."""
    from elasticsearch import Elasticsearch

    from indexer.elasticsearch import ElasticsearchIndex

    index = ElasticsearchIndex(Elasticsearch(url, request_timeout=60),
                               f"quality-{uuid.uuid4().hex[:12]}")  # fmt: skip
    try:
        index.ensure()
        fill(index, docs)
        yield index
    finally:
        index.drop()
        index.close()


def run(es_url: str | None) -> dict[str, list[QueryResult]]:
    """The results of every labelled query on the embedded index (and Elasticsearch)."""
    docs, queries = corpus(), load_queries()
    results: dict[str, list[QueryResult]] = {}
    with embedded_index(docs) as index:
        results["embedded"] = evaluate(index, queries)
    if es_url:
        with elasticsearch_index(es_url, docs) as index:
            results["elasticsearch"] = evaluate(index, queries)
    return results


def baseline(summaries: dict[str, dict[str, dict[str, float | int]]]) -> dict[str, Any]:
    """The baseline file's content: the overall scores per backend (rounded down), the
    per-kind table, and where they were measured."""
    return {
        "corpus": {"generator": "benchmarks.search_corpus", "seed": SEED, "assets": SIZE},
        "queries": str(QUERIES.relative_to(ROOT)),
        "measured": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {platform.system()}, Python {platform.python_version()}",
        "minimum": {
            backend: {m: floor4(float(kinds["all"][m])) for m in METRICS}
            for backend, kinds in summaries.items()
        },
        "by_kind": summaries,
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--es-url", help="also measure this Elasticsearch node")
    parser.add_argument("--label", action="store_true", help="rewrite the expected assets")
    parser.add_argument("--write", action="store_true", help=f"write {BASELINE.name}")
    parser.add_argument("--misses", action="store_true", help="list the queries below 1.0")
    args = parser.parse_args(argv)
    if args.label:
        label()
        print(f"labelled {QUERIES.relative_to(ROOT)}")
        return
    results = run(args.es_url)
    summaries = {backend: summarise(r) for backend, r in results.items()}
    print(table(summaries))
    if args.misses:
        for backend, rs in results.items():
            for r in rs:
                if (r.query.negative and r.ranked) or (
                    not r.query.negative and (r.recall_all < 1.0 or r.precision < 1.0)
                ):
                    print(
                        f"{backend}: {r.query.query!r} matched {len(r.ranked)}, "
                        f"{len(r.query.expected & set(r.ranked))} of "
                        f"{len(r.query.expected)} relevant"
                    )
    if args.write:
        BASELINE.write_text(json.dumps(baseline(summaries), indent=1) + "\n", encoding="utf-8")
        print(f"wrote {BASELINE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
