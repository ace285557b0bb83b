"""Operations through HTTP on both backends: /metrics, request ids and the access log, the
per-key rate limit, per-workspace upload slots, and a client hanging up mid-upload."""

from __future__ import annotations

import logging
import re
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from assetlens.bootstrap import Container
from assetlens.signing import SigningSecret
from tests.api.conftest import live_with, png
from tests.conftest import Api
from tests.fakes import FakeEmbedder

Live = tuple[str, Container]
BURST = 20
LIMITS = {"rate_limit_per_second": 0.5, "rate_limit_burst": BURST, "max_concurrent_uploads": 1}


@pytest.fixture(scope="module", params=["embedded", "servers"])
def ops(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """A live server with a rate limit and one upload slot per workspace."""
    with live_with(request, tmp_path_factory, FakeEmbedder(), **LIMITS) as live:
        yield live


def client(live: Live, workspace: str | None = None) -> Api:
    """A client with a key of its own (so a fresh rate-limit bucket)."""
    base_url, container = live
    return Api(base_url, container.keys.create(workspace or f"ops-{uuid.uuid4().hex[:8]}"))


def scrape(base_url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = httpx.get(f"{base_url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def until(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(0.02)


def test_metrics_count_requests_by_route_template_and_the_work_done(ops: Live) -> None:
    base_url, container = ops
    api = client(ops)
    data = png((200, 30, 30), pattern=3)
    created = api.upload("metrics.png", data)
    assert created.status_code == 201
    asset_id = created.json()["id"]
    assert api.http.get(f"/v1/assets/{asset_id}").status_code == 200
    assert api.http.get(f"/v1/assets/{'0' * 32}").status_code == 404
    assert api.search(q="metrics", mode="keyword").status_code == 200
    assert api.search(q="red", mode="semantic").status_code == 200
    assert api.http.get("/no/such/page/at/all").status_code == 404

    found = scrape(base_url)
    backend = container.settings.index_backend.value

    def get(name: str, **labels: str) -> float:
        return found.get((name, frozenset(labels.items())), 0.0)

    assert (
        get("assetlens_http_requests_total", route="/v1/assets", method="POST", status="201") >= 1
    )
    assert (
        get(
            "assetlens_http_requests_total",
            route="/v1/assets/{asset_id}",
            method="GET",
            status="200",
        )
        >= 1
    )
    assert (
        get(
            "assetlens_http_requests_total",
            route="/v1/assets/{asset_id}",
            method="GET",
            status="404",
        )
        >= 1
    )
    assert get("assetlens_http_requests_total", route="unmatched", method="GET", status="404") >= 1
    assert (
        get("assetlens_http_request_duration_seconds_count", route="/v1/search", method="POST") >= 2
    )
    assert get("assetlens_upload_bytes_total") >= len(data)
    assert get("assetlens_indexed_total", result="ok") >= 1
    assert get("assetlens_search_seconds_count", mode="keyword", backend=backend) >= 1
    assert get("assetlens_search_seconds_count", mode="semantic", backend=backend) >= 1
    assert get("assetlens_embedder_batch_seconds_count", kind="text") >= 1
    assert ("assetlens_index_queue_depth", frozenset()) in found
    assert ("assetlens_index_queue_oldest_age_seconds", frozenset()) in found
    # Bounded cardinality: raw paths and ids never become labels.
    labels = {value for _, pairs in found for _, value in pairs}
    assert asset_id not in labels
    assert not any("/no/such" in value for value in labels)


def test_every_response_carries_a_request_id_and_a_sane_one_is_echoed(ops: Live) -> None:
    api = client(ops)
    generated = api.http.get("/v1/health").headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    assert api.http.get("/v1/health").headers["X-Request-ID"] != generated

    mine = {"X-Request-ID": "edge-7f3a:retry_2"}
    for response in (
        api.http.get("/v1/health", headers=mine),
        api.http.get(f"/v1/assets/{'0' * 32}", headers=mine),  # 404 problem
        api.http.post("/v1/search", json={"limit": "many"}, headers=mine),  # 422 problem
        httpx.get(f"{api.base_url}/v1/assets", headers=mine),  # 401 problem, no key
    ):
        assert response.headers["X-Request-ID"] == "edge-7f3a:retry_2", response.status_code

    for insane in ("x" * 129, "has space", "tab\there"):
        echoed = api.http.get("/v1/health", headers={"X-Request-ID": insane})
        assert re.fullmatch(r"[0-9a-f]{32}", echoed.headers["X-Request-ID"])


def test_the_access_log_names_route_status_request_and_key_id_never_the_key(
    ops: Live, caplog: pytest.LogCaptureFixture
) -> None:
    _, container = ops
    api = client(ops)
    key_id = container.keys.identify(api.key).key_id
    with caplog.at_level(logging.INFO, logger="assetlens.access"):
        response = api.http.get(f"/v1/assets/{'0' * 32}", headers={"X-Request-ID": "acc-1"})
        assert response.status_code == 404
        until(
            lambda: any(getattr(r, "request_id", None) == "acc-1" for r in caplog.records),
            "the access line is logged",
        )
    line = next(r for r in caplog.records if getattr(r, "request_id", None) == "acc-1")
    assert line.name == "assetlens.access"
    assert line.levelno == logging.INFO
    fields = vars(line)
    assert (fields["method"], fields["route"], fields["status"]) == (
        "GET",
        "/v1/assets/{asset_id}",
        404,
    )
    assert fields["key_id"] == key_id
    assert fields["duration_ms"] >= 0
    assert api.key not in caplog.text
    assert all(api.key not in str(value) for r in caplog.records for value in vars(r).values())


def test_a_key_past_its_rate_limit_gets_429_with_retry_after(ops: Live) -> None:
    api, bystander = client(ops), client(ops)
    statuses = []
    refused = None
    for _ in range(BURST + 10):
        response = api.http.get("/v1/assets")
        statuses.append(response.status_code)
        if response.status_code == 429:
            refused = response
            break
    assert refused is not None, statuses
    assert statuses[:BURST] == [200] * BURST
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["status"] == 429
    assert refused.json()["type"].endswith("/toomanyrequests")
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.headers["X-Request-ID"]
    # Another key has a bucket of its own; unauthenticated health checks are not limited.
    assert bystander.http.get("/v1/assets").status_code == 200
    assert api.http.get("/v1/health").status_code == 200


def partial_upload(base_url: str, key: str) -> socket.socket:
    """Start an upload and send half of its body; the server holds it until we hang up."""
    url = urlsplit(base_url)
    body = (
        b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="half.png"\r\n'
        b"Content-Type: image/png\r\n\r\n" + png((1, 2, 3))[:200]
    )
    head = (
        f"POST /v1/assets HTTP/1.1\r\nHost: {url.netloc}\r\n"
        f"Authorization: Bearer {key}\r\n"
        "Content-Type: multipart/form-data; boundary=XyZ\r\n"
        f"Content-Length: {len(body) * 4}\r\n\r\n"
    ).encode()
    sock = socket.create_connection((url.hostname or "127.0.0.1", url.port or 80), timeout=10)
    sock.sendall(head + body)
    return sock


def test_uploads_past_the_workspace_slots_get_429_and_a_hang_up_is_logged_at_info(
    ops: Live, caplog: pytest.LogCaptureFixture
) -> None:
    base_url, container = ops
    workspace = f"slots-{uuid.uuid4().hex[:8]}"
    api, elsewhere = client(ops, workspace), client(ops)
    spool = container.settings.data_dir / "tmp" / "uploads"
    with caplog.at_level(logging.INFO):
        sock = partial_upload(base_url, api.key)
        try:
            until(lambda: container.upload_slots.in_use(workspace) == 1, "the upload holds a slot")
            refused = api.upload("second.png", png((9, 9, 9)))
            assert refused.status_code == 429
            assert refused.headers["Retry-After"] == "1"
            assert "uploads" in refused.json()["detail"]
            # Another workspace's uploads have slots of their own.
            assert elsewhere.upload("other.png", png((8, 8, 8))).status_code == 201
        finally:
            sock.close()
        until(lambda: container.upload_slots.in_use(workspace) == 0, "the slot is released")
        until(lambda: "client disconnected" in caplog.text, "the hang-up is logged")
    hang_ups = [r for r in caplog.records if "client disconnected" in r.getMessage()]
    assert [r.levelno for r in hang_ups] == [logging.INFO]
    assert hang_ups[0].exc_info is None
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert not any(spool.glob("*")), "the half-received upload's spool file is removed"
    assert api.upload("third.png", png((7, 7, 7))).status_code == 201


def test_a_browser_session_spends_the_bucket_of_the_key_it_signed_in_with(ops: Live) -> None:
    api = client(ops)
    with httpx.Client(base_url=api.base_url, timeout=60) as browser:
        signed_in = browser.post("/v1/session", json={"api_key": api.key})
        assert signed_in.status_code == 200  # signing in is not counted
        statuses = [api.http.get("/v1/assets").status_code for _ in range(BURST // 2)]
        statuses += [browser.get("/v1/assets").status_code for _ in range(BURST)]
    assert statuses[:BURST] == [200] * BURST
    assert 429 in statuses[BURST:]


def test_no_secret_reaches_the_log(ops: Live, caplog: pytest.LogCaptureFixture) -> None:
    """Keys, session cookies, signed-link tokens, the signing secret and the store's
    credentials never appear in any log record, whatever the request did."""
    _, container = ops
    api = client(ops)
    with caplog.at_level(logging.DEBUG):
        created = api.upload("secret.png", png((10, 200, 90)))
        assert created.status_code == 201, created.text
        signed = api.http.post(
            f"/v1/assets/{created.json()['id']}/signed-url", json={"expires_in": 60}
        )
        assert signed.status_code == 200, signed.text
        url = signed.json()["url"]
        assert httpx.get(url).status_code == 200
        assert httpx.get(url[:-2] + ("AA" if not url.endswith("AA") else "BB")).status_code == 403
        session = httpx.post(f"{api.base_url}/v1/session", json={"api_key": api.key})
        assert session.status_code == 200, session.text
        assert (
            httpx.get(
                f"{api.base_url}/v1/assets", headers={"Authorization": "Bearer alk_not-a-real-key"}
            ).status_code
            == 401
        )
    secrets = [
        api.key,
        url.rsplit("/", 1)[1],
        "alk_not-a-real-key",
        SigningSecret(container.store).get().hex(),
        *session.cookies.values(),
    ]
    if container.settings.store_backend == "s3":
        secrets.append(container.settings.s3_secret_key.get_secret_value())
    # The test's own HTTP client logs the URLs it fetches; only the server's lines count.
    server = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    logged = "".join(f"{r.getMessage()} {vars(r)}" for r in server)
    assert [
        (s[:12], [r.name for r in server if s in f"{r.getMessage()} {vars(r)}"])
        for s in secrets
        if s and s in logged
    ] == []
