"""The upload form's tags on the wire, on both backends: `tags_json` (what the Python
client sends: a JSON array, each element one tag), a lone `tags` field comma-split (curl),
repeated `tags` fields one tag each (older clients, with their empty second field)."""

from __future__ import annotations

import json
from itertools import count
from pathlib import Path

import httpx

from assetlens.client import AssetlensClient
from assetlens.fields import MAX_TAGS
from tests.api.conftest import png
from tests.conftest import Api

_colours = count(7)


def upload(api: Api, fields: dict[str, str | list[str]]) -> httpx.Response:
    n = next(_colours)
    return api.http.post(
        "/v1/assets",
        params={"wait": "true"},
        files={"file": (f"w{n}.png", png((n % 256, 90, 30), pattern=n % 40))},
        data=fields,
    )


def tags_of(response: httpx.Response) -> list[str]:
    assert response.status_code == 201, response.text
    return list(response.json()["tags"])


def test_each_wire_format_of_tags(api: Api) -> None:
    assert tags_of(upload(api, {"tags_json": json.dumps(["Wire,One"])})) == ["wire,one"]
    assert tags_of(upload(api, {"tags_json": '["a,b", "c"]'})) == ["a,b", "c"]
    assert tags_of(upload(api, {"tags": "a,b"})) == ["a", "b"]
    assert tags_of(upload(api, {"tags": ["a,b", ""]})) == ["a,b"]  # clients before tags_json
    assert tags_of(upload(api, {"tags": ["a,b", "c"]})) == ["a,b", "c"]


def test_bad_tags_json_is_refused_and_nothing_stored(api: Api) -> None:
    before = api.search(limit=1).json()["total"]
    for fields in (
        {"tags_json": '"a,b"'},
        {"tags_json": "[1]"},
        {"tags_json": "[x"},
        {"tags_json": '["a"]', "tags": "b"},
        {"tags_json": json.dumps([f"t{n}" for n in range(MAX_TAGS + 1)])},
    ):
        response = upload(api, fields)  # type: ignore[arg-type]
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
    assert api.search(limit=1).json()["total"] == before


def test_the_client_sends_a_hundred_tags(api: Api, tmp_path: Path) -> None:
    """One form part for all the tags: one field per tag met the parser's part limit."""
    tags = [f"many-{n:03},x" for n in range(MAX_TAGS)]
    with AssetlensClient(api.base_url, api.key, outbox_dir=tmp_path / "outbox") as client:
        asset = client.upload(png((3, 140, 77), pattern=5), filename="many.png", tags=tags)
    assert asset.tags == tags
