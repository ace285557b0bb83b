"""The Python client against a live server (both backends): CRUD, search, content, the
async twin, a lost answer retried into one asset, and track() through an outage and a
process restart."""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from assetlens.client import (
    AssetlensClient,
    AsyncAssetlensClient,
    DeliveryPolicy,
    ItemState,
    NotFoundError,
    PreconditionFailedError,
    RetryPolicy,
    ValidationError,
)
from tests.api.conftest import png
from tests.conftest import Api
from tests.support.proxy import FlakyProxy
from tests.support.server import free_port

FAST = DeliveryPolicy(base=0.05, cap=0.2)
QUICK = RetryPolicy(attempts=5, base=0.05, cap=0.2)
ROOT = Path(__file__).resolve().parents[2]


def _client(api: Api, tmp_path: Path, **options: Any) -> AssetlensClient:
    return AssetlensClient(
        api.base_url, api.key, outbox_dir=tmp_path / "outbox", retry=QUICK, delivery=FAST, **options
    )


def _exact_copies(api: Api, asset_id: str) -> list[str]:
    response = api.http.get(f"/v1/assets/{asset_id}/duplicates")
    assert response.status_code == 200, response.text
    return [asset["id"] for asset in response.json()["exact"]]


def test_upload_get_update_and_content(api: Api, other: Api, tmp_path: Path) -> None:
    data = png((200, 10, 10), pattern=21)
    path = tmp_path / "fox.png"
    path.write_bytes(data)
    with _client(api, tmp_path) as client, _client(other, tmp_path / "o") as stranger:
        asset = client.upload(
            path,
            name="Fox",
            tags=["Animals", "red"],
            prompt="a red fox",
            metadata={"model": "sdxl", "provider": "comfyui", "seed": 42},
            wait=True,
        )
        assert (asset.name, asset.type, asset.size_bytes) == ("Fox", "image", len(data))
        assert (asset.generation.prompt, asset.generation.model, asset.generation.seed) == (
            "a red fox",
            "sdxl",
            42,
        )
        assert client.get(asset.id).sha256 == asset.sha256
        changed = client.update(asset.id, {"tags": ["fox"]}, if_match=asset.revision)
        assert changed.tags == ["fox"] and changed.revision == asset.revision + 1
        with pytest.raises(PreconditionFailedError):
            client.update(asset.id, {"name": "stale"}, if_match=asset.revision)
        with pytest.raises(NotFoundError):
            stranger.get(asset.id)
        assert client.content(asset.id) == data
        assert client.download(asset.id, tmp_path / "copy.png") == len(data)
        assert (tmp_path / "copy.png").read_bytes() == data
        with client.stream(asset.id) as chunks:
            assert b"".join(chunks) == data


def test_a_tag_with_a_comma_is_one_tag_in_upload_and_track(api: Api, tmp_path: Path) -> None:
    with _client(api, tmp_path) as client:
        one = client.upload(
            png((40, 10, 200), pattern=41), filename="one.png", tags=["a,b"], wait=True
        )
        assert one.tags == ["a,b"]
        two = client.upload(
            png((40, 10, 201), pattern=42), filename="two.png", tags=["a,b", "c"], wait=True
        )
        assert two.tags == ["a,b", "c"]
        assert client.update(two.id, {"tags": ["a,b", "c"]}).tags == two.tags
        item_id = client.track(png((40, 10, 202), pattern=43), filename="three.png", tags=["x,y"])
        assert item_id is not None and client.outbox.flush(timeout=60)
        delivered = client.outbox.status(item_id)
        assert delivered is not None and delivered.asset_id
        assert client.get(delivered.asset_id).tags == ["x,y"]


def test_a_refused_upload_raises_a_typed_problem(api: Api, tmp_path: Path) -> None:
    with _client(api, tmp_path) as client, pytest.raises(ValidationError) as raised:
        client.upload(b"this is not a PNG", filename="a.png")
    assert raised.value.status in (415, 422)
    assert raised.value.detail


def test_search_facets_and_cursor_iteration(api: Api, tmp_path: Path) -> None:
    with _client(api, tmp_path) as client:
        made = {
            client.upload(
                png((30, 200, 30), pattern=30 + n),
                filename=f"g{n}.png",
                tags=["client-iter"],
                wait=True,
            ).id
            for n in range(5)
        }
        page = client.search(filters={"tags": ["client-iter"]}, facets=["type"], limit=2)
        assert page.total == 5 and len(page.items) == 2 and page.next_cursor
        assert [(b.value, b.count) for b in page.facets["type"]] == [("image", 5)]
        seen = [
            hit.asset.id
            for hit in client.iter_search(filters={"tags": ["client-iter"]}, page_size=2)
        ]
        assert sorted(seen) == sorted(made)
        similar = client.similar(seen[0], limit=10)
        assert seen[0] not in {hit.asset.id for hit in similar}


def test_the_async_client(api: Api, other: Api, tmp_path: Path) -> None:
    data = png((10, 10, 200), pattern=40)

    async def scenario() -> None:
        async with AsyncAssetlensClient(
            api.base_url, api.key, retry=QUICK, outbox_dir=tmp_path / "outbox"
        ) as client:
            asset = await client.upload(
                io.BytesIO(data), filename="blue.png", tags=["client-async"], wait=True
            )
            assert (await client.get(asset.id)).id == asset.id
            found = [
                hit.asset.id
                async for hit in client.iter_search(filters={"tags": ["client-async"]}, page_size=1)
            ]
            assert found == [asset.id]
            assert await client.download(asset.id, tmp_path / "blue.png") == len(data)
            changed = await client.update(asset.id, {"name": "Blue"}, if_match=asset.revision)
            assert changed.name == "Blue"
        async with AsyncAssetlensClient(other.base_url, other.key, retry=QUICK) as stranger:
            with pytest.raises(NotFoundError):
                await stranger.content(asset.id)

    asyncio.run(scenario())
    assert (tmp_path / "blue.png").read_bytes() == data


def test_a_lost_answer_is_retried_into_one_asset(api: Api, tmp_path: Path) -> None:
    proxy = FlakyProxy(api.base_url)
    proxy.up()
    proxy.lose_answers(1)
    try:
        with AssetlensClient(
            proxy.url, api.key, retry=QUICK, outbox_dir=tmp_path / "outbox"
        ) as client:
            asset = client.upload(png((90, 90, 9), pattern=50), filename="lost.png")
    finally:
        proxy.down()
    assert proxy.lost == 1 and proxy.connections >= 2
    assert api.http.get(f"/v1/assets/{asset.id}").status_code == 200
    assert _exact_copies(api, asset.id) == []


def test_track_survives_an_outage(api: Api, tmp_path: Path) -> None:
    proxy = FlakyProxy(api.base_url)  # down: nothing listens on its port yet
    data = png((7, 140, 140), pattern=60)
    try:
        with AssetlensClient(
            proxy.url, api.key, outbox_dir=tmp_path / "outbox", delivery=FAST
        ) as client:
            item_id = client.track(
                data,
                filename="teal.png",
                tags=["tracked"],
                prompt="a teal square",
                metadata={"provider": "test"},
            )
            assert item_id is not None
            assert client.outbox.flush(timeout=1.0) is False  # the server is down
            waiting = client.outbox.status(item_id)
            assert waiting is not None and waiting.state is ItemState.PENDING
            assert waiting.attempts >= 1 and waiting.last_error
            proxy.up()
            assert client.outbox.flush(timeout=60)
            done = client.outbox.status(item_id)
    finally:
        proxy.down()
    assert done is not None and done.state is ItemState.DELIVERED and done.asset_id
    asset = api.http.get(f"/v1/assets/{done.asset_id}").json()
    assert (asset["tags"], asset["generation"]["prompt"], asset["source"]) == (
        ["tracked"],
        "a teal square",
        "generation",
    )
    assert _exact_copies(api, done.asset_id) == []


TRACKER = textwrap.dedent("""
    import json, os, sys
    from assetlens.client import AssetlensClient

    url, key, outbox, *paths = sys.argv[1:]
    client = AssetlensClient(url, key, outbox_dir=outbox, deliver_in_background=False)
    ids = [client.track(path, tags=["restart"]) for path in paths]
    print(json.dumps(ids), flush=True)
    os._exit(0)  # as if killed: nothing is closed or flushed
""")


def test_items_left_by_a_stopped_process_are_delivered_by_the_next(
    api: Api, tmp_path: Path
) -> None:
    paths = []
    for n in range(2):
        path = tmp_path / f"r{n}.png"
        path.write_bytes(png((150, 150, 20 + n), pattern=7))
        paths.append(str(path))
    nowhere = f"http://127.0.0.1:{free_port()}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    ran = subprocess.run(
        [sys.executable, "-c", TRACKER, nowhere, api.key, str(tmp_path / "outbox"), *paths],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    ids = json.loads(ran.stdout.strip().splitlines()[-1])
    assert len(ids) == 2 and None not in ids
    with _client(api, tmp_path) as client:
        assert client.outbox.flush(timeout=60)
        statuses = [client.outbox.status(item_id) for item_id in ids]
    asset_ids = {
        status.asset_id
        for status in statuses
        if status is not None and status.state is ItemState.DELIVERED
    }
    assert len(asset_ids) == 2
    for asset_id in asset_ids:
        assert asset_id is not None
        assert api.http.get(f"/v1/assets/{asset_id}").json()["tags"] == ["restart"]
        assert _exact_copies(api, asset_id) == []
