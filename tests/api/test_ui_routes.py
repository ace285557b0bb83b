"""The web UI's page and files: served at / on the API's origin, with strict headers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.ui_bundle import UiBundle
from assetlens.bootstrap import Container


@pytest.fixture
def web(live: tuple[str, Container]) -> Iterator[httpx.Client]:
    """An anonymous client (the UI page and its files need no key)."""
    with httpx.Client(base_url=live[0], timeout=30) as client:
        yield client


def test_page_has_strict_security_headers(web: httpx.Client) -> None:
    response = web.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    csp = response.headers["content-security-policy"]
    for directive in (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' blob: data:",
        "media-src 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
    ):
        assert directive in csp
    assert "unsafe-inline" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    assert response.headers["cache-control"] == "no-cache"
    # Nothing is loaded from another host.
    assert not re.search(r'(src|href)="(https?:)?//', response.text)


def test_page_names_versioned_files_cached_for_a_year(web: httpx.Client) -> None:
    page = web.get("/").text
    css = re.search(r'href="(/ui/app\.css\?v=[0-9a-f]{12})"', page)
    assert css is not None
    response = web.get(css.group(1))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert "immutable" in response.headers["cache-control"]
    stale = web.get("/ui/app.css?v=000000000000")
    assert stale.headers["cache-control"] == "no-cache"


def test_modules_revalidate_by_etag(web: httpx.Client) -> None:
    first = web.get("/ui/js/api.js")
    assert first.status_code == 200
    assert first.headers["content-type"].startswith("text/javascript")
    again = web.get("/ui/js/api.js", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""


def test_page_preloads_every_module_it_imports(web: httpx.Client) -> None:
    page = web.get("/").text
    preloaded = re.findall(r'<link rel="modulepreload" href="(/ui/js/[a-z_]+\.js)">', page)
    assert "{{" not in page
    assert "/ui/js/grid.js" in preloaded and "/ui/js/api.js" in preloaded
    # Exactly the modules main.js reaches: each preload is served, none is missing.
    imported = set()
    pending = ["main.js"]
    while pending:
        source = web.get(f"/ui/js/{pending.pop()}").text
        for name in re.findall(r'from "\./([a-z_]+\.js)"', source):
            if name not in imported:
                imported.add(name)
                pending.append(name)
    assert sorted(preloaded) == sorted(f"/ui/js/{name}" for name in imported)
    for url in preloaded:
        assert web.get(url).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/ui/../app.py",
        "/ui/%2e%2e/app.py",
        "/ui/missing.js",
        "/ui/.hidden.js",
        "/ui/js/",
        "/ui/..%5capp.py",
    ],
)
def test_no_file_outside_the_ui_or_unknown(web: httpx.Client, path: str) -> None:
    response = web.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


def test_api_routes_win_over_the_ui(web: httpx.Client) -> None:
    assert web.get("/v1/health").json() == {"status": "ok"}
    assert web.get("/v1/folders").status_code == 401


def test_bundle_refuses_paths_that_leave_its_root() -> None:
    bundle = UiBundle()
    assert bundle.get("index.html") is not None
    for path in ("../app.py", "/etc/passwd", "js/../../app.py", "js\\..\\x.js", "a\0.js"):
        assert bundle.get(path) is None


def test_bundle_keeps_only_files_it_serves(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<p>{{v:app.css}}</p>{{modulepreload}}")
    (tmp_path / "app.css").write_text("p{}")
    bundle = UiBundle(tmp_path)
    for n in range(200):  # made-up paths must not grow the cache
        assert bundle.get(f"nope-{n}.js") is None
    assert bundle.get("app.css") is not None
    page = bundle.index()
    assert page is not None and b"nope" not in page.body and b"{{" not in page.body
    assert bundle.index() is page  # built once
    assert len(bundle._cache) <= 2
