"""Browser sessions over HTTP, on both backends: sign-in, cookie attributes, CSRF."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import httpx
import pytest

from api.app import create_app
from api.browser import COOKIE_NAME
from assetlens.access import Scope
from assetlens.bootstrap import Container
from tests.api.conftest import png
from tests.conftest import Api
from tests.support.server import running

Live = tuple[str, Container]


class Browser:
    """A cookie-keeping client that never sends an Authorization header."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=60)
        self.csrf = ""

    def sign_in(self, key: str, **headers: str) -> httpx.Response:
        response = self.http.post("/v1/session", json={"api_key": key}, headers=headers)
        if response.status_code == 200:
            self.csrf = response.json()["csrf_token"]
        return response

    @property
    def session_id(self) -> str | None:
        return self.http.cookies.get(COOKIE_NAME)

    def write(self) -> dict[str, str]:
        return {"X-CSRF-Token": self.csrf}


@pytest.fixture
def browser(live: Live) -> Iterator[Browser]:
    client = Browser(live[0])
    yield client
    client.http.close()


def set_cookie(response: httpx.Response) -> list[str]:
    """The attributes of the session's Set-Cookie header, lower-cased."""
    headers = [
        h for h in response.headers.get_list("set-cookie") if h.startswith(f"{COOKIE_NAME}=")
    ]
    assert len(headers) == 1, response.headers
    return [part.strip().lower() for part in headers[0].split(";")]


def test_sign_in_sets_a_strict_http_only_cookie(live: Live, browser: Browser) -> None:
    key = live[1].keys.create("alpha", "ui")
    response = browser.sign_in(key)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["workspace"] == "alpha"
    assert body["scopes"] == ["read", "write", "admin"]
    assert len(body["csrf_token"]) >= 40
    assert set(body) == {"workspace", "scopes", "csrf_token", "expires_at"}
    attributes = set_cookie(response)
    assert {"httponly", "samesite=strict", "path=/"} <= set(attributes)
    assert "secure" not in attributes  # plain http
    assert any(a.startswith("max-age=") and int(a.split("=")[1]) > 3600 for a in attributes)
    assert response.headers["cache-control"] == "no-store"
    # The session id lives in the cookie only: never in a body.
    assert browser.session_id and browser.session_id not in response.text
    assert key not in response.text
    again = browser.http.get("/v1/session")
    assert again.status_code == 200
    assert again.json() == body
    assert browser.session_id not in again.text


def test_a_bad_key_or_a_foreign_origin_gets_no_session(live: Live, browser: Browser) -> None:
    bad = browser.sign_in("alk_" + "x" * 43)
    assert bad.status_code == 401
    assert bad.headers["content-type"] == "application/problem+json"
    assert "set-cookie" not in bad.headers
    key = live[1].keys.create("alpha")
    foreign = browser.sign_in(key, Origin="https://evil.example")
    assert foreign.status_code == 403
    assert foreign.json()["detail"].startswith("cross-site request refused")
    assert browser.session_id is None
    same = browser.sign_in(key, Origin=live[0])
    assert same.status_code == 200
    in_url = browser.http.post("/v1/session", params={"api_key": key}, json={})
    assert in_url.status_code == 422  # the key is taken from the body only
    extra = browser.http.post("/v1/session", json={"api_key": key, "session": "x"})
    assert extra.status_code == 422


def test_without_a_session_the_session_routes_answer_401(browser: Browser, api: Api) -> None:
    assert browser.http.get("/v1/session").status_code == 401
    assert browser.http.delete("/v1/session").status_code == 401
    browser.http.cookies.set(COOKIE_NAME, "made-up")
    assert browser.http.get("/v1/session").status_code == 401
    assert browser.http.get("/v1/assets/" + "0" * 32).status_code == 401
    # A Bearer key is no browser session.
    assert api.http.get("/v1/session").status_code == 401


def test_a_session_reads_content_and_thumbnails(
    live: Live, api: Api, other: Api, browser: Browser
) -> None:
    created = api.upload("s.png", png((90, 30, 160))).json()
    theirs = other.upload("t.png", png((90, 30, 161))).json()
    browser.sign_in(live[1].keys.create("alpha", scopes=frozenset({Scope.READ})))
    content = browser.http.get(f"/v1/assets/{created['id']}/content")
    assert content.status_code == 200
    assert content.content == png((90, 30, 160))
    thumbnail = browser.http.get(f"/v1/assets/{created['id']}/thumbnail")
    assert thumbnail.status_code == 200
    assert thumbnail.headers["content-type"] == "image/webp"
    assert browser.http.get(f"/v1/assets/{theirs['id']}").status_code == 404
    assert browser.http.get(f"/v1/assets/{theirs['id']}/content").status_code == 404
    # A read-only key's session may read, not write, even with the CSRF token.
    refused = browser.http.patch(
        f"/v1/assets/{created['id']}", json={"name": "no"}, headers=browser.write()
    )
    assert refused.status_code == 403
    assert "scope" in refused.json()["detail"]


def test_cookie_writes_need_the_csrf_token_and_this_origin(
    live: Live, api: Api, browser: Browser
) -> None:
    created = api.upload("c.png", png((5, 150, 90))).json()
    path = f"/v1/assets/{created['id']}"
    browser.sign_in(live[1].keys.create("alpha"))
    cases = [
        {},  # no token
        {"X-CSRF-Token": "wrong"},
        {"X-CSRF-Token": browser.csrf[:-1]},
        {**browser.write(), "Origin": "https://evil.example"},
        {**browser.write(), "Origin": "null"},
        {**browser.write(), "Origin": live[0].replace("127.0.0.1", "localhost")},
    ]
    for headers in cases:
        response = browser.http.patch(path, json={"name": "hijacked"}, headers=headers)
        assert response.status_code == 403, headers
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["detail"].startswith("cross-site request refused")
    assert api.http.get(path).json()["name"] == "c.png"
    ok = browser.http.patch(
        path, json={"name": "renamed"}, headers={**browser.write(), "Origin": live[0]}
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["name"] == "renamed"
    assert (
        browser.http.patch(path, json={"name": "again"}, headers=browser.write()).status_code == 200
    )  # no Origin header: same-origin or not a browser


def test_sign_out_ends_the_session_and_clears_the_cookie(live: Live, browser: Browser) -> None:
    browser.sign_in(live[1].keys.create("alpha"))
    old = browser.session_id
    assert old is not None
    without_token = browser.http.delete("/v1/session")
    assert without_token.status_code == 403
    response = browser.http.delete("/v1/session", headers=browser.write())
    assert response.status_code == 204
    attributes = set_cookie(response)
    assert "max-age=0" in attributes and "httponly" in attributes
    assert browser.session_id is None
    replayed = httpx.get(f"{live[0]}/v1/session", cookies={COOKIE_NAME: old})
    assert replayed.status_code == 401


def test_every_sign_in_gets_a_fresh_session_id(live: Live, browser: Browser) -> None:
    key = live[1].keys.create("alpha")
    browser.sign_in(key)
    first = browser.session_id
    browser.sign_in(key)
    second = browser.session_id
    assert first and second and first != second
    # The session the browser still held is ended by the new sign-in (no fixation).
    assert httpx.get(f"{live[0]}/v1/session", cookies={COOKIE_NAME: first}).status_code == 401
    assert browser.http.get("/v1/session").status_code == 200


def test_revoking_the_key_ends_its_sessions(live: Live, browser: Browser) -> None:
    new = live[1].keys.issue("alpha", "doomed")
    browser.sign_in(new.key)
    assert browser.http.get("/v1/session").status_code == 200
    live[1].keys.revoke("alpha", new.info.id)
    response = browser.http.get("/v1/session")
    assert response.status_code == 401
    assert response.json()["detail"] == "API key revoked"
    assert browser.http.get("/v1/session").status_code == 401


def test_secure_cookie_behind_a_trusted_https_proxy(live: Live) -> None:
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "assets.example.com"}
    key = live[1].keys.create("alpha")
    untrusted = httpx.post(f"{live[0]}/v1/session", json={"api_key": key}, headers=forwarded)
    assert "secure" not in set_cookie(untrusted)
    settings = live[1].settings.model_copy(update={"trust_forwarded_headers": True})
    proxied = dataclasses.replace(live[1], settings=settings)
    with running(create_app(proxied, run_indexer=False)) as base_url:
        trusted = httpx.post(
            f"{base_url}/v1/session",
            json={"api_key": key},
            headers={**forwarded, "Origin": "https://assets.example.com"},
        )
        assert trusted.status_code == 200, trusted.text
        assert "secure" in set_cookie(trusted)
        foreign = httpx.post(
            f"{base_url}/v1/session",
            json={"api_key": key},
            headers={**forwarded, "Origin": base_url},
        )
        assert foreign.status_code == 403  # the browser's origin is the proxy's
