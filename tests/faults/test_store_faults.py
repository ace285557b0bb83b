"""MinIO failing under an upload, in production mode: the connection reset after part of
the file was sent (a server or network dying mid-upload), or every connection refused."""

from __future__ import annotations

import hashlib
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
    assert sorted(a.id for a in production.direct.assets.manifests.iter_all(WS)) == \
        sorted(accepted)
    figures("minio-mid-upload", file_bytes=len(data), modes="reset_after+reset", status=503,
            new_keys_after_failure=0)
