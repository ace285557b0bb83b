"""A poison asset through the API, on both backends: an image that makes the embedder
raise ends `failed` with its error in GET /v1/assets/{id} and in search, while the assets
uploaded with it index normally."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.api.conftest import live_with, png
from tests.conftest import Api
from tests.fakes import PoisonEmbedder

POISON = (200, 30, 160)
# Two quick attempts: the test waits for the outcome, never for a back-off of production size.
FAST_RETRIES = {
    "indexer_max_attempts": 2,
    "indexer_retry_base_seconds": 0.05,
    "indexer_retry_max_seconds": 0.1,
}


@pytest.fixture(scope="module", params=["embedded", "servers"])
def poisoned(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Api]:
    """A live server whose embedder chokes on one colour, with fast retries."""
    with live_with(request, tmp_path_factory, PoisonEmbedder(POISON), **FAST_RETRIES) as (
        base_url,
        container,
    ):
        client = Api(base_url, container.keys.create("alpha"))
        yield client
        client.http.close()


def test_a_poison_image_ends_failed_with_its_error_and_the_others_index(poisoned: Api) -> None:
    tag = uuid.uuid4().hex[:8]
    good = poisoned.upload("calm.png", png((20, 180, 60)), tags=tag)
    bad = poisoned.upload("poison.png", png(POISON), tags=tag)
    assert good.status_code == 201 and bad.status_code == 201, bad.text
    assert good.json()["status"] == "ready" and good.json()["error"] is None

    # ?wait=true answered once the give-up was indexed: the asset shows its failure.
    shown = poisoned.http.get(f"/v1/assets/{bad.json()['id']}").json()
    assert shown["status"] == "failed"
    assert shown["error"] == "embedding failed (RuntimeError); see the indexer log"
    assert bad.json()["status"] == "failed"

    found = poisoned.search(q="", filters={"tags": [tag]}).json()
    statuses = {hit["asset"]["name"]: hit["asset"]["status"] for hit in found["items"]}
    assert statuses == {"calm.png": "ready", "poison.png": "failed"}
    failed = poisoned.search(q="", filters={"tags": [tag], "status": ["failed"]}).json()
    assert [hit["asset"]["name"] for hit in failed["items"]] == ["poison.png"]
    similar = poisoned.http.get(f"/v1/assets/{good.json()['id']}/similar")
    assert similar.status_code == 200  # the good one has its vector
