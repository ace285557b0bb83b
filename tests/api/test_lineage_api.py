"""Lineage over HTTP: ancestors and derivatives from source_asset_id, set at upload or by
PATCH; depth limits, cycles, other workspaces; on both backends."""

from __future__ import annotations

import io
import json
import uuid

from PIL import Image
from PIL.PngImagePlugin import PngInfo

from tests.api.conftest import png
from tests.conftest import Api


def upload(api: Api, shade: int, source: str | None = None) -> str:
    metadata = json.dumps({"source_asset_id": source} if source else {})
    response = api.upload(
        f"lin{shade}.png", png((90, shade, 30), pattern=shade % 5), metadata=metadata
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def ids(entries: list[dict[str, object]]) -> list[tuple[object, object, object]]:
    return [(e["asset"]["id"], e["depth"], e["via"]) for e in entries]  # type: ignore[index]


def test_a_chain_shows_ancestors_and_derivatives_to_the_depth_asked(api: Api) -> None:
    a = upload(api, 1)
    b = upload(api, 2, source=a)
    c = upload(api, 3, source=b)
    d = upload(api, 4, source=c)
    middle = api.http.get(f"/v1/assets/{b}/lineage").json()
    assert middle["asset_id"] == b and middle["depth"] == 3
    assert ids(middle["ancestors"]) == [(a, 1, b)]
    assert ids(middle["derivatives"]) == [(c, 1, b), (d, 2, c)]
    assert middle["ancestors"][0]["relation"] == "source"
    shallow = api.http.get(f"/v1/assets/{d}/lineage", params={"depth": 2}).json()
    assert ids(shallow["ancestors"]) == [(c, 1, d), (b, 2, c)]
    assert shallow["derivatives"] == []


def test_patch_moves_the_source_and_a_cycle_is_walked_once(api: Api) -> None:
    a = upload(api, 10)
    b = upload(api, 11, source=a)
    other = upload(api, 12)
    moved = api.http.patch(f"/v1/assets/{b}", json={"metadata": {"source_asset_id": other}})
    assert moved.status_code == 200, moved.text
    assert moved.json()["lineage"] == [other]
    assert api.http.get(f"/v1/assets/{a}/lineage").json()["derivatives"] == []
    assert ids(api.http.get(f"/v1/assets/{other}/lineage").json()["derivatives"]) == [(b, 1, other)]
    # other ← b and b ← other: a cycle, which the walk stops at.
    cycle = api.http.patch(f"/v1/assets/{other}", json={"metadata": {"source_asset_id": b}})
    assert cycle.status_code == 200, cycle.text
    both = api.http.get(f"/v1/assets/{b}/lineage", params={"depth": 10}).json()
    assert ids(both["ancestors"]) == [(other, 1, b)]
    assert ids(both["derivatives"]) == [(other, 1, b)]
    cleared = api.http.patch(f"/v1/assets/{other}", json={"metadata": {"source_asset_id": None}})
    assert cleared.status_code == 200 and cleared.json()["lineage"] == []
    assert api.http.get(f"/v1/assets/{b}/lineage").json()["derivatives"] == []


def test_a_source_in_another_workspace_or_missing_or_itself_is_refused(
    api: Api, other: Api
) -> None:
    theirs = upload(other, 20)
    mine = upload(api, 21)
    for source in (theirs, "f" * 32, mine):
        patched = api.http.patch(
            f"/v1/assets/{mine}", json={"metadata": {"source_asset_id": source}}
        )
        assert patched.status_code == 422, patched.text
    refused = api.upload(
        "lin-x.png", png((1, 2, 3)), metadata=json.dumps({"source_asset_id": theirs})
    )
    assert refused.status_code == 422
    assert api.http.get(f"/v1/assets/{mine}").json()["lineage"] == []
    assert other.http.get(f"/v1/assets/{theirs}/lineage").json()["derivatives"] == []


def test_another_workspaces_id_on_the_lineage_route_is_404(api: Api, other: Api) -> None:
    mine = upload(api, 30)
    assert other.http.get(f"/v1/assets/{mine}/lineage").status_code == 404
    assert api.http.get(f"/v1/assets/{'0' * 32}/lineage").status_code == 404
    for depth in ("0", "11", "x", "99999999999999999999999"):
        assert (
            api.http.get(f"/v1/assets/{mine}/lineage", params={"depth": depth}).status_code == 422
        )


def test_a_trashed_ancestor_is_left_out(api: Api) -> None:
    a = upload(api, 40)
    b = upload(api, 41, source=a)
    assert api.http.delete(f"/v1/assets/{a}").status_code == 200
    assert api.http.get(f"/v1/assets/{b}/lineage").json()["ancestors"] == []


def comfy_png(input_name: str, shade: int) -> bytes:
    """A PNG whose ComfyUI prompt graph loads `input_name` (img2img)."""
    graph = {
        "1": {"class_type": "LoadImage", "inputs": {"image": input_name}},
        "2": {
            "class_type": "KSampler",
            "inputs": {"seed": 5, "steps": 20, "cfg": 7, "denoise": 0.6},
        },
    }
    info = PngInfo()
    info.add_text("prompt", json.dumps(graph))
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (shade, 20, 200)).save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def test_a_workflow_input_named_in_the_file_becomes_a_parent(api: Api, other: Api) -> None:
    name = f"base-{uuid.uuid4().hex[:8]}.png"
    base = api.upload(name, png((3, 3, 250), pattern=2)).json()["id"]
    other.upload(name, png((4, 4, 250), pattern=2))  # the same name elsewhere: never matched
    child = api.upload("img2img.png", comfy_png(name, 60))
    assert child.status_code == 201, child.text
    assert child.json()["generation"]["input_images"] == [name]
    assert child.json()["lineage"] == [base]
    found = api.http.get(f"/v1/assets/{base}/lineage").json()["derivatives"]
    assert [(d["asset"]["id"], d["relation"]) for d in found] == [(child.json()["id"], "input")]
    unknown = api.upload("img2img-2.png", comfy_png("never-uploaded.png", 61)).json()
    assert unknown["lineage"] == []
