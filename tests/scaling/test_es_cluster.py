"""Past one machine: ingest into a three-node Elasticsearch cluster (one replica) with two
indexer processes while one node is killed and restarted and one indexer is killed. No asset
is lost or indexed twice, search answers throughout, and the cluster returns to green.

The cluster is scripts/es-cluster.sh's, on ports of its own (9211…, 9311…) with its own
services folder, so the shared single node of the other integration tests is untouched."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from assetlens.bootstrap import build
from assetlens.config import Settings
from assetlens.query import SearchQuery
from assetlens.services.asset_inputs import UploadForm
from assetlens.spool import spool_file
from indexer.elasticsearch import ElasticsearchIndex
from tests.integration.conftest import RunningService, admin_client, in_ci, remove_bucket
from tests.integration.test_production_mode import environment, server_settings, wait_until
from tests.support import media_samples

pytestmark = pytest.mark.integration

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "es-cluster.sh"
ASSETS = 60
WORKSPACE = "scale"


class Cluster:
    def __init__(self, services: Path) -> None:
        self.env = {
            **os.environ,
            "ASSETLENS_SERVICES_DIR": str(services),
            "ASSETLENS_ES_CLUSTER_PORT": "9211",
            "ASSETLENS_ES_CLUSTER_TRANSPORT_PORT": "9311",
            "ASSETLENS_ES_START_TIMEOUT": "300",
        }

    def run(self, *args: str) -> str:
        done = subprocess.run(
            ["bash", str(SCRIPT), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=400,
            check=False,
        )
        if done.returncode != 0:
            pytest.fail(f"es-cluster.sh {' '.join(args)}: {done.stdout}{done.stderr}")
        return done.stdout.strip()

    @property
    def urls(self) -> list[str]:
        return self.run("url").split(",")

    def health(self) -> dict[str, object]:
        for url in self.urls:
            try:
                body: dict[str, object] = httpx.get(f"{url}/_cluster/health", timeout=5).json()
                return body
            except httpx.HTTPError:
                continue
        return {}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    if os.environ.get("ASSETLENS_SKIP_CLUSTER") == "1" and not in_ci():
        pytest.skip("ASSETLENS_SKIP_CLUSTER=1: the three-node cluster test is off (not in CI)")
    started = Cluster(tmp_path_factory.mktemp("es-cluster"))
    started.run("start")
    yield started
    started.run("stop")


@pytest.fixture
def settings(cluster: Cluster, minio_service: RunningService, tmp_path: Path) -> Iterator[Settings]:
    chosen = server_settings(
        tmp_path / "data",
        dict(minio_service.env),
        ",".join(cluster.urls),
        indexer_batch_size=4,
        indexer_lease_seconds=10.0,
    )
    yield chosen
    container = build(chosen, use_embedder=False)
    if isinstance(container.index, ElasticsearchIndex):
        container.index.drop()
    container.close()
    remove_bucket(admin_client(minio_service.env), chosen.s3_bucket)


class Searcher(threading.Thread):
    """Searches the workspace four times a second, counting answers and failures."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(daemon=True)
        self._container = build(settings, use_embedder=False)
        self._done = threading.Event()
        self.answers = 0
        self.failures: list[str] = []

    def run(self) -> None:
        while not self._done.is_set():
            try:
                self._container.index.search(SearchQuery(workspace=WORKSPACE, text="item"))
                self.answers += 1
            except Exception as exc:  # every failure is a finding
                self.failures.append(f"{type(exc).__name__}: {exc}")
            self._done.wait(0.25)

    def finish(self) -> None:
        self._done.set()
        self.join(timeout=60)
        self._container.close()


def test_ingest_survives_a_node_and_an_indexer_being_killed(
    cluster: Cluster, settings: Settings, tmp_path: Path
) -> None:
    container = build(settings, use_embedder=False)
    container.index.ensure()
    wait_until(lambda: cluster.health().get("status") == "green", limit=120)
    logs = [tmp_path / f"indexer-{n}.log" for n in range(2)]
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "assetlens", "indexer"],
            env=environment(settings),
            stdout=subprocess.DEVNULL,
            stderr=log.open("w"),
        )
        for log in logs
    ]
    searcher = Searcher(settings)
    searcher.start()
    ids: set[str] = set()
    try:
        for n in range(ASSETS):
            if n == ASSETS // 4:
                cluster.run("kill", "2")
            if n == ASSETS // 2:
                workers[0].send_signal(signal.SIGKILL)
            if n == 3 * ASSETS // 4:
                cluster.run("restart", "2")
            spooled = spool_file(
                io.BytesIO(media_samples.png_bytes(seed=n)),
                tmp_path / "spool",
                f"{n}.png",
                10_000_000,
            )
            asset = container.assets.upload(WORKSPACE, spooled, UploadForm(prompt=f"item {n}"))
            ids.add(asset.id)
            spooled.discard()
            time.sleep(0.2)

        def all_indexed() -> bool:
            container.index.refresh()
            indexed = {i for ws, i, _ in container.index.revisions() if ws == WORKSPACE}
            return indexed == ids and container.queue.pending() == 0

        wait_until(all_indexed)
    finally:
        searcher.finish()
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=60)
    # Nothing lost, nothing twice: one document per asset, every manifest ready.
    count = httpx.get(f"{cluster.urls[0]}/{settings.es_index}/_count", timeout=10).json()
    assert count["count"] == len(ids) == ASSETS
    assert all(a.status == "ready" for a in container.assets.manifests.iter_all(WORKSPACE))
    page = container.index.search(SearchQuery(workspace=WORKSPACE, text="item", limit=100))
    assert {hit.asset.id for hit in page.hits} == ids
    # Search answered throughout, and the cluster is whole again.
    assert searcher.answers > 0
    assert searcher.failures == []
    wait_until(lambda: cluster.health().get("status") == "green", limit=180)
    assert cluster.health()["number_of_nodes"] == 3
    container.close()
