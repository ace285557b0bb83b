"""The duplicate policy over HTTP: the setting (read to see, admin to change) and its
effect at upload — allow, link (200 + X-Duplicate-Of), reject (409 naming the original),
exact and near; on both backends. Each test has a workspace of its own."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable, Iterator

import pytest
from PIL import Image

from assetlens.access import Scope
from assetlens.bootstrap import Container
from tests.api.conftest import png
from tests.conftest import Api

Live = tuple[str, Container]


@pytest.fixture
def fresh(live: Live) -> Iterator[Api]:
    """An admin client of a new, empty workspace."""
    client = Api(live[0], live[1].keys.create(f"dup-{uuid.uuid4().hex[:10]}"))
    yield client
    client.http.close()


def set_policy(api: Api, policy: str, **near: object) -> None:
    response = api.http.put(
        "/v1/settings/duplicates", json={"policy": policy, "near": {"enabled": False, **near}}
    )
    assert response.status_code == 200, response.text


@pytest.fixture
def count(fresh: Api, live: Live) -> Callable[[], int]:
    """How many manifests the fresh workspace has in the store (the source of truth)."""
    container = live[1]
    workspace = container.keys.identify(fresh.key).workspace
    return lambda: len(list(container.assets.manifests.iter_keys(workspace)))


def test_the_default_policy_is_allow_and_admin_may_change_it(fresh: Api, live: Live) -> None:
    shown = fresh.http.get("/v1/settings/duplicates")
    assert shown.status_code == 200
    assert shown.json() == {
        "policy": "allow",
        "near": {"enabled": False, "phash_distance": 4, "clip_score": 0.95},
    }
    set_policy(fresh, "reject", phash_distance=6)
    assert fresh.http.get("/v1/settings/duplicates").json()["policy"] == "reject"
    workspace = live[1].keys.identify(fresh.key).workspace
    writer = live[1].keys.create(workspace, "writer", frozenset({Scope.WRITE}))
    refused = fresh.http.put(
        "/v1/settings/duplicates",
        json={"policy": "allow"},
        headers={"Authorization": f"Bearer {writer}"},
    )
    assert refused.status_code == 403
    assert fresh.http.get("/v1/settings/duplicates").json()["near"]["phash_distance"] == 6


def test_bad_policies_are_422_and_change_nothing(fresh: Api) -> None:
    set_policy(fresh, "link")
    for body in (
        {"policy": "merge"},
        {"policy": "link", "near": {"phash_distance": 65}},
        {"policy": "link", "near": {"clip_score": 2}},
        {"policy": "link", "x": 1},
        {"policy": "link", "near": {"clip_score": "NaN"}},
    ):
        response = fresh.http.put("/v1/settings/duplicates", json=body)
        assert response.status_code == 422, (body, response.text)
    assert fresh.http.get("/v1/settings/duplicates").json()["policy"] == "link"


def test_policies_are_per_workspace(fresh: Api, other: Api) -> None:
    set_policy(fresh, "reject")
    assert other.http.get("/v1/settings/duplicates").json()["policy"] == "allow"


def test_allow_stores_a_second_copy(fresh: Api) -> None:
    data = png((5, 6, 7), pattern=2)
    first = fresh.upload("a.png", data).json()
    second = fresh.upload("b.png", data)
    assert second.status_code == 201
    assert second.json()["duplicate_of"] == first["id"]


def test_link_answers_200_with_the_existing_asset_and_stores_nothing(
    fresh: Api, count: Callable[[], int]
) -> None:
    set_policy(fresh, "link")
    data = png((50, 60, 70), pattern=3)
    first = fresh.upload("a.png", data)
    assert first.status_code == 201
    linked = fresh.upload("again.png", data, name="Another name")
    assert linked.status_code == 200, linked.text
    assert linked.headers["x-duplicate-of"] == first.json()["id"]
    assert linked.json()["id"] == first.json()["id"]
    assert linked.json()["name"] == first.json()["name"]
    assert count() == 1
    different = fresh.upload("c.png", png((200, 10, 10)))
    assert different.status_code == 201 and "x-duplicate-of" not in different.headers


def test_reject_answers_409_naming_the_original(fresh: Api, count: Callable[[], int]) -> None:
    set_policy(fresh, "reject")
    data = png((80, 60, 70), pattern=4)
    first = fresh.upload("a.png", data).json()
    refused = fresh.upload("again.png", data)
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["duplicate_of"] == first["id"]
    assert refused.json()["exact"] is True
    assert count() == 1


def test_a_trashed_original_does_not_count(fresh: Api) -> None:
    set_policy(fresh, "reject")
    data = png((81, 61, 71), pattern=4)
    first = fresh.upload("a.png", data).json()
    assert fresh.http.delete(f"/v1/assets/{first['id']}").status_code == 200
    assert fresh.upload("again.png", data).status_code == 201


def test_bad_input_is_refused_before_the_policy_applies(fresh: Api) -> None:
    set_policy(fresh, "link")
    data = png((82, 62, 72), pattern=4)
    fresh.upload("a.png", data)
    bad = fresh.upload("again.png", data, folder_id="nope")
    assert bad.status_code == 422


def picture(size: int, flip: bool = False) -> bytes:
    """A diagonal gradient with a bright square: a structure pHash sees at any size."""
    image = Image.new("RGB", (size, size))
    for x in range(size):
        for y in range(size):
            image.putpixel((x, y), ((x + y) * 255 // (2 * size), 90, 160))
    square = (size // 8, size // 8, size // 2, size // 2)
    image.paste((250, 250, 250), square)
    if flip:
        image = image.transpose(Image.Transpose.ROTATE_180)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_near_duplicates_by_perceptual_hash_when_enabled(fresh: Api) -> None:
    original = fresh.upload("a.png", picture(96)).json()
    set_policy(fresh, "reject")
    # The same picture at another size: other bytes, (nearly) the same perceptual hash.
    resized = fresh.upload("b.png", picture(128))
    assert resized.status_code == 201  # near check off
    set_policy(fresh, "reject", enabled=True, phash_distance=4)
    refused = fresh.upload("c.png", picture(160))
    assert refused.status_code == 409, refused.text
    assert refused.json()["exact"] is False
    # The nearest wins; both copies are live assets of this workspace.
    assert refused.json()["duplicate_of"] in (original["id"], resized.json()["id"])
    assert fresh.upload("d.png", picture(160, flip=True)).status_code == 201
