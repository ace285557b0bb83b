"""Outages of a REAL Elasticsearch node: stopped, killed and hung (SIGSTOP).

Each test starts its own node through scripts/es-node.sh on free ports with its own
services dir (and ASSETLENS_ES_KEEP_DATA=1, so a restart is a real restart over the same
data); the shared node other tests use keeps running. Every wait is bounded: an operation
still running after its limit fails the test instead of hanging it. With CI=true a node
that cannot start fails the test; elsewhere the test is skipped with the reason.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from assetlens.errors import IndexUnavailable
from assetlens.filters import Filters
from assetlens.query import SearchQuery, VectorQuery
from indexer.elasticsearch import ElasticsearchIndex
from indexer.elasticsearch.failures import RetryPolicy
from tests.contract.search_index_contract import MODEL, WS, aid, make_asset, make_doc, unit
from tests.integration.conftest import read_env_file
from tests.integration.es_fixtures import ES_NODE, es_client
from tests.integration.private_server import PrivateServer
from tests.support.processes import bounded
from tests.support.server import free_port

pytestmark = pytest.mark.integration

START_TIMEOUT = 300.0


class PrivateNode(PrivateServer):
    """An Elasticsearch node of our own, driven through scripts/es-node.sh."""

    name = "Elasticsearch node"
    script = ES_NODE
    pid_file = "es.pid"
    start_timeout = START_TIMEOUT

    def settings(self) -> dict[str, str]:
        return {
            "ASSETLENS_ES_PORT": str(free_port()),
            "ASSETLENS_ES_TRANSPORT_PORT": str(free_port()),
            "ASSETLENS_ES_KEEP_DATA": "1",
            "ASSETLENS_ES_JAVA_OPTS": "-Xms256m -Xmx512m",
        }

    @property
    def url(self) -> str:
        return read_env_file(self.services / "es.env")["ASSETLENS_ES_URL"]

    def index(self, name: str, *, timeout: float = 5.0, attempts: int = 3) -> ElasticsearchIndex:
        return ElasticsearchIndex(
            es_client(self.url, timeout=timeout),
            name,
            retry=RetryPolicy(attempts=attempts, initial_backoff_s=0.1),
            check_timeout_s=2.0,
        )


@pytest.fixture
def private_node(tmp_path: Path) -> Iterator[PrivateNode]:
    node = PrivateNode(tmp_path / "services")
    node.start()
    try:
        yield node
    finally:
        node.stop()


def _operations(index: ElasticsearchIndex) -> dict[str, Callable[[], object]]:
    new = make_doc(make_asset("new", prompt="written during the outage"), unit(0, 1))
    return {
        "ensure": index.ensure,
        "upsert": lambda: index.upsert([new]),
        "remove": lambda: index.remove(WS, [aid("kept")]),
        "get": lambda: index.get(WS, aid("kept")),
        "revisions": lambda: list(index.revisions()),
        "search": lambda: index.search(SearchQuery(workspace=WS, text="lighthouse")),
        "knn": lambda: index.knn(VectorQuery(workspace=WS, vector=unit(1), model=MODEL)),
        "knn filtered": lambda: index.knn(
            VectorQuery(workspace=WS, vector=unit(1), model=MODEL, filters=Filters(tags=["a"]))
        ),
        "rebuild": lambda: index.rebuild([new]),
        "refresh": index.refresh,
        "check": index.check,
    }


def _fill(index: ElasticsearchIndex) -> None:
    index.ensure()
    index.upsert([make_doc(make_asset("kept", prompt="a lighthouse", tags=["a"]), unit(1))])
    index.refresh()


def _assert_data_is_back(index: ElasticsearchIndex) -> None:
    index.check()
    page = index.search(SearchQuery(workspace=WS, text="lighthouse"))
    assert [h.asset.id for h in page.hits] == [aid("kept")]
    hits = index.knn(VectorQuery(workspace=WS, vector=unit(1), model=MODEL, k=1))
    assert [h.asset.id for h in hits] == [aid("kept")]
    got = index.get(WS, aid("kept"))
    assert got is not None and got.vector == pytest.approx(unit(1), abs=1e-6)
    index.upsert([make_doc(make_asset("after", prompt="lighthouse again"))])
    index.refresh()
    assert index.search(SearchQuery(workspace=WS, text="lighthouse")).total == 2


@pytest.mark.parametrize("how", ["stop", "kill"])
def test_a_node_that_is_down_fails_fast_and_comes_back_with_its_data(
    private_node: PrivateNode, how: str
) -> None:
    index = private_node.index("outage")
    # The default policy (4 attempts, backoff from 0.2 s) and the client's default timeout.
    defaults = ElasticsearchIndex(es_client(private_node.url), "outage")
    try:
        _fill(index)
        assert defaults.get(WS, aid("kept")) is not None  # pooled connections exist now
        if how == "kill":
            private_node.kill()
        else:
            private_node.stop()

        for name, operation in _operations(index).items():
            started = time.monotonic()
            error = bounded(operation)
            assert isinstance(error, IndexUnavailable), f"{name}: {error!r}"
            assert error.status == 503
            assert time.monotonic() - started < 10, name
        for operation in (lambda: defaults.get(WS, aid("kept")), defaults.check):
            assert isinstance(bounded(operation), IndexUnavailable)

        private_node.start()
        _assert_data_is_back(index)
        assert defaults.get(WS, aid("kept")) is not None
    finally:
        index.close()
        defaults.close()


def test_a_hung_node_is_bounded_by_the_timeouts(private_node: PrivateNode) -> None:
    # Filled with generous timeouts: a busy machine may take over a second to create it.
    setup = private_node.index("hung")
    _fill(setup)
    setup.close()
    index = private_node.index("hung", timeout=1.0, attempts=2)
    try:
        private_node.pause()
        try:
            for name, operation in _operations(index).items():
                error = bounded(operation)
                assert isinstance(error, IndexUnavailable), f"{name}: {error!r}"
        finally:
            private_node.resume()
        assert bounded(lambda: _assert_data_is_back(index)) is None
    finally:
        index.close()
