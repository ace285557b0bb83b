"""A file that crashes a decoder during the upload proof (as libwebp's CVE-2023-4863 did)
kills a proof worker, not the server: 422, nothing stored, and the server and the uploads
beside it carry on; the same for search by image's query. The proof is a stand-in that
really kills its worker with SIGSEGV on a marker (tests/support/crashing_proof.py), passed
in at the wiring point."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from assetlens.bootstrap import Container, build
from assetlens.media.proofs import UNSAFE, ProofPool
from tests.api.conftest import drop_server_data, png, server_settings
from tests.conftest import Api, make_settings
from tests.fakes import FakeEmbedder
from tests.support.crashing_proof import crash_on_marker, marked_png
from tests.support.server import running


@pytest.fixture(scope="module", params=["embedded", "servers"])
def crashing(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Api, Container]]:
    """A live server whose proof workers die on the marker, with a key for `alpha`."""
    data = Path(tmp_path_factory.mktemp("crash")) / "data"
    settings = (
        make_settings(data) if request.param == "embedded" else server_settings(request, data)
    )
    container = build(settings, embedder=FakeEmbedder(), prover=ProofPool(2, crash_on_marker))
    with running(create_app(container, run_indexer=True)) as base_url:
        api = Api(base_url, container.keys.create("alpha"))
        yield api, container
        api.http.close()
    if request.param == "servers":
        drop_server_data(request, settings, container)
    container.close()


def _count(container: Container) -> int:
    return sum(1 for _ in container.assets.manifests.iter_keys())


def test_a_crashing_file_is_422_nothing_is_stored_and_the_next_upload_succeeds(
    crashing: tuple[Api, Container], caplog: pytest.LogCaptureFixture
) -> None:
    api, container = crashing
    before = _count(container)
    with caplog.at_level(logging.WARNING, logger="assetlens.media.proofs"):
        response = api.upload("cve-2023-4863.png", marked_png())

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["detail"] == UNSAFE
    assert "cve-2023-4863" not in response.text and "/" not in body["detail"]
    assert _count(container) == before
    assert not list((container.settings.data_dir / "tmp" / "uploads").glob("*"))
    logged = [r.getMessage() for r in caplog.records if r.name == "assetlens.media.proofs"]
    assert len(logged) == 2 and not any("cve-2023-4863" in line for line in logged)

    good = api.upload("after.png", png((20, 160, 60), pattern=3))
    assert good.status_code == 201, good.text
    assert _count(container) == before + 1


def test_uploads_in_flight_beside_a_crashing_one_succeed(crashing: tuple[Api, Container]) -> None:
    api, container = crashing
    before = _count(container)
    answers: dict[str, int] = {}

    def upload(name: str, data: bytes) -> None:
        with httpx.Client(
            base_url=api.base_url, timeout=60, headers={"Authorization": f"Bearer {api.key}"}
        ) as client:
            answers[name] = client.post("/v1/assets", files={"file": (name, data)}).status_code

    uploads = [(f"good{n}.png", png((n * 30, 90, 200), pattern=n + 5)) for n in range(5)]
    uploads.insert(2, ("bad.png", marked_png((1, 1, 1))))
    threads = [threading.Thread(target=upload, args=item) for item in uploads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert answers.pop("bad.png") == 422
    assert answers == {f"good{n}.png": 201 for n in range(5)}
    assert _count(container) == before + 5


def test_a_crashing_version_is_422_and_the_asset_keeps_its_current_version(
    crashing: tuple[Api, Container],
) -> None:
    api, _ = crashing
    created = api.upload("first.png", png((200, 30, 30), pattern=9))
    assert created.status_code == 201
    base = f"/v1/assets/{created.json()['id']}/versions"

    refused = api.http.post(base, files={"file": ("next.png", marked_png((2, 2, 2)))})

    assert refused.status_code == 422 and refused.json()["detail"] == UNSAFE
    assert len(api.http.get(base).json()["items"]) == 1


def test_a_crashing_query_image_is_422_and_search_by_image_goes_on(
    crashing: tuple[Api, Container],
) -> None:
    api, _ = crashing

    refused = api.http.post(
        "/v1/search/by-image", files={"file": ("query.png", marked_png((3, 3, 3)))}
    )

    assert refused.status_code == 422 and refused.json()["detail"] == UNSAFE
    found = api.http.post(
        "/v1/search/by-image", files={"file": ("query.png", png((200, 30, 30), pattern=9))}
    )
    assert found.status_code == 200, found.text
