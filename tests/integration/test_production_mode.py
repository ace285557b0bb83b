"""Production mode against the real servers: separate indexer processes sharing the queue,
and outages of Elasticsearch and MinIO seen through the API."""

from __future__ import annotations

import collections
import io
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from assetlens import layout
from assetlens.bootstrap import build
from assetlens.config import Settings
from assetlens.ports import ObjectInfo
from assetlens.services.asset_inputs import UploadForm
from assetlens.spool import spool_file
from indexer.elasticsearch import ElasticsearchIndex
from storage.s3 import S3ObjectStore
from tests.conftest import Api, make_settings
from tests.integration.conftest import RunningService, admin_client, read_env_file, remove_bucket
from tests.integration.test_es_outage import PrivateNode, private_node  # noqa: F401
from tests.integration.test_s3_outage import PrivateMinio, private_minio  # noqa: F401
from tests.support import media_samples
from tests.support.server import running

pytestmark = pytest.mark.integration
CONVERGE_LIMIT = 180.0


def server_settings(data: Path, minio: dict[str, str], es_url: str, **extra: object) -> Settings:
    suffix = uuid.uuid4().hex[:12]
    return make_settings(
        data,
        store_backend="s3",
        index_backend="elasticsearch",
        s3_endpoint=minio["ASSETLENS_S3_ENDPOINT"],
        s3_access_key=minio["ASSETLENS_S3_ACCESS_KEY"],
        s3_secret_key=minio["ASSETLENS_S3_SECRET_KEY"],
        s3_bucket=f"pm-{suffix}",
        es_url=es_url,
        es_index=f"pm-{suffix}",
        **extra,
    )


def environment(settings: Settings) -> dict[str, str]:
    """The settings as the ASSETLENS_* variables a separate process reads."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSETLENS_")}
    for name, value in settings.model_dump(mode="json").items():
        if value is not None:
            env[f"ASSETLENS_{name.upper()}"] = str(value)
    env["ASSETLENS_S3_SECRET_KEY"] = settings.s3_secret_key.get_secret_value()
    return env


@pytest.fixture
def shared(
    minio_service: RunningService, es_service: RunningService, tmp_path: Path
) -> Iterator[Settings]:
    settings = server_settings(
        tmp_path / "data",
        dict(minio_service.env),
        es_service.env["ASSETLENS_ES_URL"],
        indexer_batch_size=4,
    )
    yield settings
    container = build(settings, use_embedder=False)
    if isinstance(container.index, ElasticsearchIndex):
        container.index.drop()
    container.close()
    remove_bucket(admin_client(minio_service.env), settings.s3_bucket)


def wait_until(condition: Callable[[], bool], limit: float = CONVERGE_LIMIT) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not converged within {limit} s")
        time.sleep(0.5)


def test_several_indexer_processes_share_the_queue_without_loss_or_overlap(
    shared: Settings, tmp_path: Path
) -> None:
    container = build(shared, use_embedder=False)
    container.index.ensure()
    logs = [tmp_path / f"indexer-{n}.log" for n in range(3)]
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "assetlens", "indexer"],
            env=environment(shared),
            stdout=subprocess.DEVNULL,
            stderr=log.open("w"),
        )
        for log in logs
    ]
    try:
        # All three are polling before any work exists, so the work is really contended.
        wait_until(lambda: all("indexer started" in log.read_text() for log in logs), limit=120)
        ids = set()
        for n in range(24):
            spooled = spool_file(
                io.BytesIO(media_samples.png_bytes(seed=n)),
                tmp_path / "spool",
                f"{n}.png",
                10_000_000,
            )
            ids.add(container.assets.upload("prod", spooled, UploadForm(prompt=f"item {n}")).id)
            spooled.discard()

        def all_ready() -> bool:
            container.index.refresh()
            revisions = {i: r for ws, i, r in container.index.revisions() if ws == "prod"}
            return set(revisions) == ids and container.queue.pending() == 0

        wait_until(all_ready)
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=60)
    processed: collections.Counter[str] = collections.Counter()
    busy_workers = 0
    for log in logs:
        found = re.findall(r"indexed prod/([0-9a-f]{32}) revision 2", log.read_text())
        processed.update(found)
        busy_workers += bool(found)
    assert set(processed) == ids
    assert max(processed.values()) == 1  # no item was processed twice
    assert busy_workers >= 2  # the work really was shared
    assert all(a.status == "ready" for a in container.assets.manifests.iter_all("prod"))
    container.close()


class AckWindowStore(S3ObjectStore):
    """The S3 store with `in_ack_window()` run once right after the `stat` of a queue item
    (the ETag check of the queue's ack on MinIO, whose DELETE ignores If-Match): a write
    landing there, between the check and the DELETE, as a concurrent request could."""

    in_ack_window: Callable[[], object] | None = None

    def stat(self, key: str) -> ObjectInfo:
        info = super().stat(key)
        hook = self.in_ack_window
        if hook is not None and key.startswith(layout.QUEUE_PREFIX):
            self.in_ack_window = None
            hook()
        return info


def test_a_rollback_landing_inside_an_ack_on_minio_is_still_indexed(
    shared: Settings, tmp_path: Path
) -> None:
    """The CI flake of the versions API test [servers]: the rollback's queue item, written
    between the ack's ETag check and its DELETE, was deleted by MinIO, and the rollback's
    `?wait=true` answered with the asset still `processing`."""
    store = AckWindowStore.from_settings(shared)
    assert isinstance(store, AckWindowStore)  # from_settings builds the subclass
    container = build(shared, store=store, use_embedder=False)
    container.index.ensure()
    try:
        spool = tmp_path / "spool"
        first = spool_file(io.BytesIO(media_samples.png_bytes(seed=1)), spool, "1.png", 10**7)
        asset = container.assets.upload("prod", first, UploadForm())
        container.indexer.drain()
        second = spool_file(io.BytesIO(media_samples.png_bytes(seed=2)), spool, "2.png", 10**7)
        container.versions.upload("prod", asset.id, second)
        rolled: list[int] = []
        store.in_ack_window = lambda: rolled.append(
            container.versions.rollback("prod", asset.id, 1)[0].version
        )
        container.indexer.drain()
        assert rolled == [3]
        current, searchable = container.assets.visibility.indexed("prod", asset.id)
        assert (current.version, current.status.value, searchable) == (3, "ready", True)
        assert container.queue.pending() == 0
    finally:
        container.close()


def test_uploads_are_accepted_while_elasticsearch_is_down_and_the_index_converges(
    minio_service: RunningService,
    private_node: PrivateNode,  # noqa: F811
    tmp_path: Path,
) -> None:
    settings = server_settings(
        tmp_path / "data", dict(minio_service.env), private_node.url, wait_timeout_seconds=2.0
    )
    container = build(settings, use_embedder=False)
    container.index.ensure()
    try:
        with running(create_app(container, run_indexer=True)) as base_url:
            api = Api(base_url, container.keys.create("prod"))
            private_node.stop()
            accepted = [
                api.upload(
                    f"{n}.png",
                    media_samples.png_bytes(seed=40 + n),
                    wait=n == 0,
                    prompt=f"outage lantern {n}",
                )
                for n in range(3)
            ]
            assert [r.status_code for r in accepted] == [201, 201, 201]
            down = api.search(q="lantern")
            assert down.status_code == 503
            assert down.headers["retry-after"]
            assert api.http.get("/v1/ready").status_code == 503
            private_node.start()

            def converged() -> bool:
                response = api.search(q="lantern")
                return response.status_code == 200 and response.json()["total"] == 3

            wait_until(converged)
            api.http.close()
    finally:
        container.close()
        remove_bucket(admin_client(minio_service.env), settings.s3_bucket)


def test_minio_killed_mid_upload_is_503_and_leaves_nothing_half_written(
    private_minio: PrivateMinio,  # noqa: F811
    tmp_path: Path,
) -> None:
    minio = read_env_file(private_minio.services / "minio.env")
    settings = make_settings(
        tmp_path / "data",
        store_backend="s3",
        s3_endpoint=minio["ASSETLENS_S3_ENDPOINT"],
        s3_access_key=minio["ASSETLENS_S3_ACCESS_KEY"],
        s3_secret_key=minio["ASSETLENS_S3_SECRET_KEY"],
        s3_bucket="midupload",
    )
    container = build(settings, use_embedder=False)
    container.index.ensure()
    video = media_samples.mp4_bytes(with_audio=False, seconds=1.0)
    padding = 8 * 1024 * 1024
    body_file = video + padding.to_bytes(4, "big") + b"free" + b"\x00" * (padding - 8)
    boundary = "midupload"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.mp4"\r\n\r\n'
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    def body() -> Iterator[bytes]:
        yield head
        half = len(body_file) // 2
        yield body_file[:half]
        private_minio.kill()  # the store dies while the client is still sending
        yield body_file[half:]
        yield tail

    try:
        with running(create_app(container, run_indexer=False)) as base_url:
            key = container.keys.create("prod")  # written before the outage
            headers = {
                "Authorization": f"Bearer {key}",
                "Content-Type": f"multipart/form-data; boundary={boundary}",
            }
            response = httpx.post(
                base_url + "/v1/assets", content=body(), headers=headers, timeout=120
            )
            assert response.status_code == 503, response.text
            assert response.headers["retry-after"]
            assert response.headers["content-type"] == "application/problem+json"
            private_minio.start()
            store = container.store
            assert list(store.list_keys("manifests/")) == []
            assert list(store.list_keys("blobs/")) == []
            retry = httpx.post(
                base_url + "/v1/assets",
                content=head + body_file + tail,
                headers=headers,
                timeout=120,
            )
            assert retry.status_code == 201, retry.text
            assert len(list(store.list_keys("manifests/"))) == 1
            assert len(list(store.list_keys("blobs/"))) == 1
    finally:
        container.close()
