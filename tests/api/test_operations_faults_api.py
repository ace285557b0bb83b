"""What operations must hold when things go wrong, and the switches of /metrics and
tracing. The faults come from fakes raising the way real adapters do (with a server path
in the message), so these run on the embedded backend only: the backend is not what is
tested."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from starlette.testclient import TestClient

from api.app import create_app
from assetlens.access import Scope
from assetlens.bootstrap import Container, build
from assetlens.config import Settings
from assetlens.errors import IndexUnavailable, StoreUnavailable
from assetlens.logs import RequestIdFilter
from assetlens.query import SearchPage, SearchQuery
from indexer.embedded import EmbeddedSearchIndex
from tests.api.conftest import png
from tests.conftest import Api, make_settings
from tests.fakes import FakeEmbedder, FakeObjectStore
from tests.support.server import running

SERVER_PATH = "/srv/assetlens/data/store"


class LeakyStore(FakeObjectStore):
    """Fails like the local store on a full disk, or with an unexpected error, both naming
    a server path."""

    def __init__(self) -> None:
        super().__init__()
        self.full = False
        self.broken = False
        self.keys_down = False

    def _guard(self, key: str) -> None:
        if self.keys_down and key.startswith("system/"):
            raise StoreUnavailable(f"local store: read failed: '{SERVER_PATH}/{key}'")
        if self.full and key.startswith("blobs/"):
            raise StoreUnavailable(
                f"local store: write failed: [Errno 28] No space left on "
                f"device: '{SERVER_PATH}/{key}'"
            )
        if self.broken and key.startswith("manifests/"):
            raise RuntimeError(f"{SERVER_PATH}/{key}: I/O error")
        super()._guard(key)


class LeakyIndex(EmbeddedSearchIndex):
    """An embedded index whose search fails like a corrupt database file."""

    def search(self, query: SearchQuery) -> SearchPage:
        raise IndexUnavailable(
            "embedded index: search failed: unable to open database file "
            "/srv/assetlens/data/index/index.sqlite3"
        )


@pytest.fixture
def leaky(tmp_path: Path) -> Iterator[tuple[Api, LeakyStore, Container]]:
    settings = make_settings(tmp_path / "data")
    store = LeakyStore()
    container = build(
        settings,
        store=store,
        index=LeakyIndex(settings.data_dir / "index"),
        embedder=FakeEmbedder(),
    )
    with running(create_app(container, run_indexer=False)) as base_url:
        api = Api(base_url, container.keys.create("ws-leaky"))
        yield api, store, container
        api.http.close()
    container.close()


class ServerLog(logging.Handler):
    """Keeps the records logged while installed on the root logger, each with the request
    id of the context that logged it (as the server's own handler sees them)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []
        self.addFilter(RequestIdFilter())

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def __enter__(self) -> ServerLog:
        logging.getLogger().addHandler(self)
        return self

    def __exit__(self, *_: object) -> None:
        logging.getLogger().removeHandler(self)


def assert_nothing_internal(response: httpx.Response) -> None:
    assert response.headers["content-type"].startswith("application/problem+json")
    text = response.text
    for leak in ("/srv", "Errno", "Traceback", "sqlite3", "RuntimeError", 'File "'):
        assert leak not in text, (leak, text)


def test_store_and_index_faults_answer_without_server_paths_and_log_them_in_full(
    leaky: tuple[Api, LeakyStore, Container], caplog: pytest.LogCaptureFixture
) -> None:
    api, store, _ = leaky
    created = api.upload("kept.png", png((1, 2, 3)), wait=False)
    assert created.status_code == 201
    log = ServerLog()
    with caplog.at_level(logging.INFO), log:
        store.full = True
        full = api.http.post(
            "/v1/assets",
            files={"file": ("a.png", png((3, 2, 1)))},
            headers={"X-Request-ID": "disk-full-1"},
        )
        store.full = False
        down = api.http.post(
            "/v1/search", json={"q": "anything"}, headers={"X-Request-ID": "index-down-1"}
        )
        store.broken = True
        broken = api.http.get(
            f"/v1/assets/{created.json()['id']}", headers={"X-Request-ID": "broken-1"}
        )
        store.broken = False

    assert full.status_code == 503
    assert full.json()["detail"] == "the object store is unavailable; retry later"
    assert full.headers["Retry-After"]
    assert down.status_code == 503
    assert down.json()["detail"] == "the search index is unavailable; retry later"
    assert broken.status_code == 500
    assert broken.headers["X-Request-ID"] == "broken-1"
    for response in (full, down, broken):
        assert_nothing_internal(response)

    # The operator still gets the whole story, tied to the request by its id.
    def told(rid: str, text: str) -> list[logging.LogRecord]:
        return [
            r
            for r in log.records
            if getattr(r, "request_id", None) == rid and text in r.getMessage() + str(r.exc_info)
        ]

    assert told("disk-full-1", "No space left on device")
    assert told("index-down-1", "index.sqlite3")
    unexpected = told("broken-1", "I/O error")
    assert unexpected and unexpected[0].levelno == logging.ERROR and unexpected[0].exc_info


def test_a_store_outage_during_the_credential_check_is_a_documented_503(
    leaky: tuple[Api, LeakyStore, Container],
) -> None:
    """Keys and sessions live in the store: while it is down, every route that checks a
    credential answers 503 with Retry-After, as its OpenAPI entry says."""
    api, store, _ = leaky
    document = create_app().openapi()
    calls = {
        "keys_list": ("GET", "/v1/keys", None),
        "keys_create": ("POST", "/v1/keys", {"scopes": ["read"]}),
        "keys_revoke": ("DELETE", "/v1/keys/0123456789abcdef", None),
        "folders_list": ("GET", "/v1/folders", None),
    }
    operations = {
        op["operationId"]: op for item in document["paths"].values() for op in item.values()
    }
    store.keys_down = True
    try:
        for operation_id, (method, path, body) in calls.items():
            answer = api.http.request(method, path, json=body)
            assert answer.status_code == 503, (operation_id, answer.text)
            assert answer.headers["Retry-After"], operation_id
            assert_nothing_internal(answer)
            assert "503" in operations[operation_id]["responses"], operation_id
    finally:
        store.keys_down = False
    assert api.http.get("/v1/keys").status_code == 200


def test_paths_in_any_problem_detail_are_scrubbed() -> None:
    from api.problems import public_detail

    assert public_detail("cannot read /home/al/data/store/x.json") == "cannot read <path>"
    assert public_detail(r"cannot read C:\assetlens\data\x.json") == "cannot read <path>"
    assert public_detail("no weights in ~/.cache/clip/model.pt") == "no weights in <path>"
    kept = (
        "sign in with POST /v1/session",
        "see https://example.com/a/b",
        "expected multipart/form-data",
        "a/b/c is relative",
    )
    for text in kept:
        assert public_detail(text) == text


@pytest.mark.parametrize("access", ["loopback", "admin", "public"])
def test_metrics_access_settings(tmp_path: Path, access: str) -> None:
    settings = make_settings(tmp_path / "data", metrics_access=access)
    container = build(settings, embedder=FakeEmbedder())
    admin = container.keys.create("ws-m")
    reader = container.keys.issue("ws-m", "", frozenset({Scope.READ})).key
    app = create_app(container, run_indexer=False)
    with (
        TestClient(app, client=("203.0.113.9", 40000)) as remote,
        TestClient(app, client=("127.0.0.1", 40001)) as local,
    ):
        anonymous_remote = remote.get("/metrics").status_code
        anonymous_local = local.get("/metrics").status_code
        as_reader = remote.get("/metrics", headers={"Authorization": f"Bearer {reader}"})
        as_admin = remote.get("/metrics", headers={"Authorization": f"Bearer {admin}"})
    container.close()
    expected = {
        "loopback": (403, 200, 403, 403),
        "admin": (401, 401, 403, 200),
        "public": (200, 200, 200, 200),
    }[access]
    assert (
        anonymous_remote,
        anonymous_local,
        as_reader.status_code,
        as_admin.status_code,
    ) == expected
    if as_admin.status_code == 200:
        assert "assetlens_http_requests_total" in as_admin.text


def test_each_request_is_a_server_span_named_by_its_route(tmp_path: Path) -> None:
    spans = InMemorySpanExporter()
    container = build(
        make_settings(tmp_path / "data"), embedder=FakeEmbedder(), span_exporter=spans
    )
    key = container.keys.create("ws-t")
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    with TestClient(create_app(container, run_indexer=False)) as http:
        missing = http.get(
            f"/v1/assets/{'0' * 32}",
            headers={"Authorization": f"Bearer {key}", "traceparent": parent},
        )
        http.get("/v1/health")
    container.close()
    assert missing.status_code == 404
    by_name = {span.name: span for span in spans.get_finished_spans()}
    span = by_name["GET /v1/assets/{asset_id}"]
    attributes: dict[str, Any] = dict(span.attributes or {})
    assert attributes["http.route"] == "/v1/assets/{asset_id}"
    assert attributes["http.response.status_code"] == 404
    assert format(span.context.trace_id, "032x") == "0af7651916cd43dd8448eb211c80319c"
    assert "GET /v1/health" in by_name


class Collector(BaseHTTPRequestHandler):
    """A stand-in OTLP/HTTP collector: keeps what it is sent."""

    received: ClassVar[list[tuple[str, str, bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.received.append((self.path, self.headers.get("Content-Type", ""), body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_a_configured_otlp_endpoint_receives_the_spans(tmp_path: Path) -> None:
    collector = ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    Collector.received = []
    thread = threading.Thread(target=collector.serve_forever, daemon=True)
    thread.start()
    try:
        endpoint = f"http://127.0.0.1:{collector.server_address[1]}"
        settings: Settings = make_settings(tmp_path / "data", otel_endpoint=endpoint)
        container = build(settings, embedder=FakeEmbedder())
        with TestClient(create_app(container, run_indexer=False)) as http:
            assert http.get("/v1/health").status_code == 200
        container.close()  # flushes the batch
    finally:
        collector.shutdown()
        collector.server_close()
    assert Collector.received, "no export reached the collector"
    path, content_type, body = Collector.received[0]
    assert path == "/v1/traces"
    assert content_type == "application/x-protobuf"
    export = ExportTraceServiceRequest.FromString(body)
    names = [
        span.name
        for resource in export.resource_spans
        for scope in resource.scope_spans
        for span in scope.spans
    ]
    assert "GET /v1/health" in names


def test_readiness_names_the_backend_that_is_down_but_not_its_error(
    leaky: tuple[Api, LeakyStore, Container], caplog: pytest.LogCaptureFixture
) -> None:
    api, store, _ = leaky
    store.down = True
    with caplog.at_level(logging.WARNING):
        ready = httpx.get(f"{api.base_url}/v1/ready")
    store.down = False
    assert ready.status_code == 503
    assert ready.json()["checks"]["store"] == "unavailable"
    assert "fake store is down" not in ready.text
    assert "fake store is down" in caplog.text


def test_metrics_access_says_what_loopback_means_behind_a_proxy() -> None:
    """A reverse proxy on the same host makes every client a loopback one: the setting's
    own description (shown by tooling and the settings docs) says so and what to use."""
    description = Settings.model_fields["metrics_access"].description or ""
    assert "reverse proxy" in description and "`admin`" in description
