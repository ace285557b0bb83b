"""References over HTTP: record, list, forget; the delete guard and ?force; on both
backends."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.api.conftest import png
from tests.conftest import Api

COVER = {"resource_type": "story", "resource_id": "story-42", "usage_type": "cover"}


def new_asset(api: Api, shade: int) -> str:
    response = api.upload(f"ref{shade}.png", png((shade, 90, 120), pattern=shade % 7))
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_a_reference_is_recorded_listed_and_shown_on_the_asset(api: Api) -> None:
    asset_id = new_asset(api, 11)
    created = api.http.post(
        f"/v1/assets/{asset_id}/references", json={**COVER, "resource_type": " Story "}
    )
    assert created.status_code == 201, created.text
    ref = created.json()
    assert (ref["resource_type"], ref["resource_id"], ref["usage_type"]) == (
        "story",
        "story-42",
        "cover",
    )
    assert ref["asset_id"] == asset_id and len(ref["id"]) == 32
    listed = api.http.get(f"/v1/assets/{asset_id}/references").json()
    assert listed["total"] == 1 and [r["id"] for r in listed["items"]] == [ref["id"]]
    assert api.http.get(f"/v1/assets/{asset_id}").json()["references_count"] == 1
    one = api.http.get(f"/v1/assets/{asset_id}/references/{ref['id']}")
    assert one.status_code == 200 and one.json()["resource_id"] == "story-42"


def test_the_same_use_twice_is_a_conflict_naming_the_first(api: Api) -> None:
    asset_id = new_asset(api, 12)
    first = api.http.post(f"/v1/assets/{asset_id}/references", json=COVER).json()
    again = api.http.post(f"/v1/assets/{asset_id}/references", json=COVER)
    assert again.status_code == 409
    assert again.json()["reference_id"] == first["id"]
    assert api.http.get(f"/v1/assets/{asset_id}").json()["references_count"] == 1


def test_an_asset_in_use_is_not_deleted_unless_forced(api: Api) -> None:
    asset_id = new_asset(api, 13)
    ref = api.http.post(f"/v1/assets/{asset_id}/references", json=COVER).json()
    refused = api.http.delete(f"/v1/assets/{asset_id}")
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    assert problem["references_count"] == 1
    assert [r["id"] for r in problem["references"]] == [ref["id"]]
    assert api.http.get(f"/v1/assets/{asset_id}").json()["status"] == "ready"
    forced = api.http.delete(f"/v1/assets/{asset_id}", params={"force": "true"})
    assert forced.status_code == 200, forced.text
    assert forced.json()["status"] == "deleted"
    assert forced.json()["references_count"] == 0
    assert api.http.get(f"/v1/assets/{asset_id}/references").json()["items"] == []


def test_removing_the_last_reference_allows_the_delete(api: Api) -> None:
    asset_id = new_asset(api, 14)
    ref = api.http.post(f"/v1/assets/{asset_id}/references", json=COVER).json()
    removed = api.http.delete(f"/v1/assets/{asset_id}/references/{ref['id']}")
    assert removed.status_code == 204
    again = api.http.delete(f"/v1/assets/{asset_id}/references/{ref['id']}")
    assert again.status_code == 404
    assert api.http.get(f"/v1/assets/{asset_id}").json()["references_count"] == 0
    assert api.http.delete(f"/v1/assets/{asset_id}").status_code == 200


def test_a_reference_to_a_trashed_asset_is_refused(api: Api) -> None:
    asset_id = new_asset(api, 15)
    assert api.http.delete(f"/v1/assets/{asset_id}").status_code == 200
    refused = api.http.post(f"/v1/assets/{asset_id}/references", json=COVER)
    assert refused.status_code == 409
    assert "trash" in refused.json()["detail"]
    assert api.http.get(f"/v1/assets/{asset_id}/references").json()["total"] == 0


def test_bad_reference_bodies_are_422_and_change_nothing(api: Api) -> None:
    asset_id = new_asset(api, 16)
    bad = [
        {**COVER, "resource_type": ""},
        {**COVER, "resource_type": "9lives"},
        {**COVER, "usage_type": "x" * 65},
        {**COVER, "resource_id": "a" * 257},
        {**COVER, "resource_id": "bad\u202eid"},
        {**COVER, "resource_id": "   "},
        {**COVER, "extra": 1},
        {"resource_type": "story", "resource_id": "1"},
    ]
    for body in bad:
        response = api.http.post(f"/v1/assets/{asset_id}/references", json=body)
        assert response.status_code == 422, (body, response.text)
    assert api.http.get(f"/v1/assets/{asset_id}").json()["references_count"] == 0


def test_another_workspaces_asset_is_404_on_every_reference_route(api: Api, other: Api) -> None:
    asset_id = new_asset(api, 17)
    ref = api.http.post(f"/v1/assets/{asset_id}/references", json=COVER).json()
    base = f"/v1/assets/{asset_id}/references"
    assert other.http.post(base, json=COVER).status_code == 404
    assert other.http.get(base).status_code == 404
    assert other.http.get(f"{base}/{ref['id']}").status_code == 404
    assert other.http.delete(f"{base}/{ref['id']}").status_code == 404
    assert other.http.delete(f"/v1/assets/{asset_id}", params={"force": "true"}).status_code == 404
    assert api.http.get(base).json()["total"] == 1
    missing = "0" * 32
    assert api.http.get(f"/v1/assets/{missing}/references").status_code == 404
    assert api.http.get(f"{base}/not-an-id").status_code == 404


def test_delete_racing_new_references_leaves_none_dangling(api: Api) -> None:
    """Whoever wins, the end state is consistent: a trashed asset has no references, and a
    live one has exactly the references its count says."""
    for round_, force in enumerate((False, True, True, True)):
        asset_id = new_asset(api, 40 + round_)

        def add(i: int, asset_id: str = asset_id) -> int:
            body = {**COVER, "resource_id": f"page-{i}"}
            return api.http.post(f"/v1/assets/{asset_id}/references", json=body).status_code

        def delete(asset_id: str = asset_id, force: bool = force) -> int:
            return api.http.delete(
                f"/v1/assets/{asset_id}", params={"force": str(force).lower()}
            ).status_code

        with ThreadPoolExecutor(max_workers=4) as pool:
            adds = [pool.submit(add, i) for i in range(6)]
            deletion = pool.submit(delete)
            codes = [f.result() for f in adds]
            deleted = deletion.result()
        assert set(codes) <= {201, 409} and deleted in ((200,) if force else (200, 409))
        asset = api.http.get(f"/v1/assets/{asset_id}").json()
        refs = api.http.get(f"/v1/assets/{asset_id}/references").json()["items"]
        if asset["status"] == "deleted":
            assert refs == [] and asset["references_count"] == 0
        else:
            assert len(refs) == asset["references_count"] == codes.count(201)
