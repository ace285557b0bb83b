"""/docs and /redoc work offline; the search routes have typed, stable OpenAPI entries."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.conftest import Api
from tests.support.openapi import resolve

# Every URL an HTML page loads: src/href attributes and Swagger UI's spec `url: '…'`.
_URLS = re.compile(r"""(?:src|href|spec-url)=["']([^"']+)["']|\burl:\s*'([^']+)'""")


def page_urls(html: str) -> list[str]:
    return [a or b for a, b in _URLS.findall(html)]


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_docs_load_only_same_origin_assets(api: Api, path: str) -> None:
    # No key: the documentation is public, like /openapi.json.
    with httpx.Client(base_url=api.base_url, timeout=30) as anonymous:
        page = anonymous.get(path)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        urls = page_urls(page.text)
        assert len(urls) >= 3  # the script, the favicon, the OpenAPI document
        assert "fonts.googleapis" not in page.text
        for url in urls:
            assert url.startswith("/") and not url.startswith("//"), url
            asset = anonymous.get(url)
            assert asset.status_code == 200, url
            assert len(asset.content) > 0


def test_openapi_names_search_operations_and_their_models(api: Api) -> None:
    spec: dict[str, Any] = httpx.get(f"{api.base_url}/openapi.json", timeout=30).json()
    operations = {
        op["operationId"]: op
        for item in spec["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and "operationId" in op
    }
    expected = {
        "search": "SearchPageOut",
        "assets_list": "SearchPageOut",
        "search_by_image": "HitsOut",
        "assets_similar": "HitsOut",
        "assets_duplicates": "DuplicatesOut",
    }
    for operation_id, model in expected.items():
        op = operations[operation_id]
        schema = op["responses"]["200"]["content"]["application/json"]["schema"]
        assert schema == {"$ref": f"#/components/schemas/{model}"}, operation_id
        problem = resolve(
            spec, op["responses"]["422"]["content"]["application/problem+json"]["schema"]
        )
        assert set(problem["required"]) == {"type", "title", "status", "detail"}
    asset = spec["components"]["schemas"]["AssetOut"]
    assert "workspace" not in asset["properties"]
    assert {"id", "favorite", "status", "created_at"} <= set(asset["required"])
    facet_mode = spec["components"]["schemas"]["FacetMode"]
    assert facet_mode["enum"] == ["conjunctive", "disjunctive"]
