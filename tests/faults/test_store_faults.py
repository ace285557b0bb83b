"""MinIO failing under an upload, in production mode: the connection reset after part of
the file was sent (a server or network dying mid-upload), or every connection refused."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path

import pytest

from assetlens import layout
from tests.faults.conftest import Production
from tests.faults.harness import WS, client, figures, noise_png, stack, upload
from tests.support.faultproxy import Mode

pytestmark = [pytest.mark.integration, pytest.mark.faults]


def test_store_failing_mid_upload_is_503_and_leaves_nothing_half_written(
    production: Production, tmp_path: Path
) -> None:
    key = production.direct.keys.create(WS)
    store = production.direct.store
    data = noise_png(1)
    accepted = []
    with stack(production.settings, tmp_path / "logs") as procs:
        server = procs.serve()
        with client(server.url, key) as http:
            kept = upload(http, 0, noise_png(0, side=64), "before the outage")
            assert kept.status_code == 201, kept.text
            accepted.append(kept.json()["id"])
            # Each connection cut after 256 KiB (mid-file), then every connection refused.
            for n, mode in enumerate([Mode.RESET_AFTER, Mode.RESET], start=1):
                before = set(store.list_keys(""))
                resets = production.s3.stats.resets
                production.s3.set(mode, after=256 * 1024)
                response = upload(http, n, data, "cut off")
                assert response.status_code == 503, response.text
                assert response.headers["content-type"] == "application/problem+json"
                assert response.headers["retry-after"]
                assert production.s3.stats.resets > resets
                # Nothing new in the bucket: no blob, manifest, queue item or marker.
                assert set(store.list_keys("")) == before, mode
                production.s3.set(Mode.PASS)
                assert http.get(f"/v1/assets/{accepted[0]}").status_code == 200

            retry = upload(http, 9, data, "after the outage")
            assert retry.status_code == 201, retry.text
            accepted.append(retry.json()["id"])
    sha = hashlib.sha256(data).hexdigest()
    assert store.get_bytes(layout.blob_key(sha)).data == data
    assert sorted(a.id for a in production.direct.assets.manifests.iter_all(WS)) == sorted(accepted)
    figures(
        "minio-mid-upload",
        file_bytes=len(data),
        modes="reset_after+reset",
        status=503,
        new_keys_after_failure=0,
    )


def test_a_slow_store_slows_an_upload_but_it_completes_whole_and_the_api_keeps_answering(
    production: Production, tmp_path: Path
) -> None:
    """Every chunk to and from MinIO held 40 ± 10 ms (a slow, not a down, store): the upload
    takes longer but ends 201 with every byte, while liveness, search and reads of other
    assets keep answering meanwhile; no spool file is left. A store slower than the
    adapter's timeouts (5 s connect, 60 s per read) is an outage: 503, as above."""
    key = production.direct.keys.create(WS)
    store = production.direct.store
    data = noise_png(2)
    with stack(production.settings, tmp_path / "logs") as procs:
        server = procs.serve()
        with client(server.url, key) as http, client(server.url, key) as side:
            kept = upload(http, 0, noise_png(0, side=64), "before the slowdown")
            assert kept.status_code == 201, kept.text
            production.s3.set(Mode.LATENCY, ms=40, jitter=10)
            with ThreadPoolExecutor(1) as pool:
                slow = pool.submit(upload, http, 1, data, "through a slow store")
                answered: list[str] = []
                while not wait([slow], timeout=0.1).done:
                    checks = {
                        "health": side.get("/v1/health"),
                        "search": side.post("/v1/search", json={"q": "slowdown"}),
                        "read": side.get(f"/v1/assets/{kept.json()['id']}"),
                    }
                    if not slow.done():  # answered while the upload was still in flight
                        answered += [
                            name for name, response in checks.items() if response.status_code == 200
                        ]
                response = slow.result()
            production.s3.set(Mode.PASS)
        assert response.status_code == 201, response.text
        assert {"health", "search", "read"} <= set(answered), answered
    asset = response.json()
    sha = hashlib.sha256(data).hexdigest()
    assert asset["sha256"] == sha and asset["size_bytes"] == len(data)
    assert store.get_bytes(layout.blob_key(sha)).data == data
    assert store.exists(layout.manifest_key(WS, asset["id"]))
    assert not list((production.settings.data_dir / "tmp" / "uploads").glob("*"))
    figures(
        "minio-slow-upload",
        file_bytes=len(data),
        latency_ms="40±10",
        status=201,
        answered_meanwhile=len(answered),
    )


def test_a_store_slower_than_its_timeout_is_a_503_and_leaves_no_manifest(
    production: Production, tmp_path: Path
) -> None:
    """Every chunk from MinIO held 1.5 s against a read timeout of 0.5 s
    (`s3_read_timeout_seconds`): after its bounded retries the upload is a 503 problem with
    Retry-After while liveness keeps answering; no manifest is written (a blob the store
    took before an answer was lost is whole, under its hash, for gc); once the store is
    fast again the same file makes exactly one asset."""
    key = production.direct.keys.create(WS)
    store = production.direct.store
    data = noise_png(3, side=256)
    settings = production.settings.model_copy(update={"s3_read_timeout_seconds": 0.5})
    with stack(settings, tmp_path / "logs") as procs:
        server = procs.serve()
        with client(server.url, key) as http, client(server.url, key) as side:
            production.s3.set(Mode.LATENCY, ms=1500)
            with ThreadPoolExecutor(1) as pool:
                slow = pool.submit(upload, http, 1, data, "slower than the timeout")
                live: list[int] = []
                while not wait([slow], timeout=0.1).done:
                    health = side.get("/v1/health")
                    if not slow.done():
                        live.append(health.status_code)
                response = slow.result()
            production.s3.set(Mode.PASS)
            assert response.status_code == 503, response.text
            assert response.headers["content-type"] == "application/problem+json"
            assert response.headers["retry-after"]
            assert live and set(live) == {200}, live
            assert list(production.direct.assets.manifests.iter_all(WS)) == []
            for blob in store.list_keys("blobs/"):
                assert (
                    hashlib.sha256(store.get_bytes(blob).data).hexdigest()
                    == blob.rsplit("/", 1)[-1]
                )
            retry = upload(http, 2, data, "after the slowdown")
            assert retry.status_code == 201, retry.text
    assets = list(production.direct.assets.manifests.iter_all(WS))
    assert [a.id for a in assets] == [retry.json()["id"]]
    figures(
        "minio-slower-than-timeout",
        file_bytes=len(data),
        latency_ms=1500,
        read_timeout_s=0.5,
        status=503,
        health_answers_meanwhile=len(live),
    )
