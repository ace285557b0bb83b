"""Property-based fuzzing of the whole API from its OpenAPI document (schemathesis).

Every operation is driven in-process (ASGI) on both backends, with a real key of the test's
workspace, through the examples, coverage (including negative cases), fuzzing and stateful
phases. Each response must be no 5xx other than a documented 503 and must conform to the
document: status code, content type and body schema. docs/RELIABILITY.md ("Fuzzing") says
what runs in CI and how to run longer:

    ASSETLENS_FUZZ_EXAMPLES=200 ASSETLENS_FUZZ_MIN_REQUESTS=0 \\
        pytest tests/api/test_fuzz_api.py -p no:cacheprovider
"""

from __future__ import annotations

import os
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from ipaddress import ip_address
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import events, from_schema

from api.app import create_app
from assetlens.bootstrap import Container, build
from assetlens.services.url_import import UrlImportService
from assetlens.urlfetch import AddressPolicy, UrlFetcher
from assetlens.urlfetch.guard import Address
from tests.api.conftest import drop_server_data, server_settings
from tests.conftest import make_settings
from tests.fakes import FakeEmbedder

# Generated cases per operation and phase; the coverage phase adds its own boundary and
# negative cases on top. Tuned so one CI run sends well over MIN_REQUESTS per backend.
EXAMPLES = int(os.environ.get("ASSETLENS_FUZZ_EXAMPLES", "125"))
MIN_REQUESTS = int(os.environ.get("ASSETLENS_FUZZ_MIN_REQUESTS", "10000"))
SEED = int(os.environ.get("ASSETLENS_FUZZ_SEED", "20261202"))

# Revoking keys at random would revoke the key the run authenticates with: every later
# request would be a (correct) 401 and test nothing. tests/api/test_keys_api.py covers it.
EXCLUDED_OPERATIONS = ("keys_revoke",)

# Operations that each add a stored document every listing reads back one by one (keys):
# a few cases test them as well as hundreds, which would make every later listing slow.
FEW_EXAMPLES = {"keys_create": 10}

CHECKS = ("response_schema_conformance", "status_code_conformance", "content_type_conformance")


@schemathesis.check
def no_undocumented_server_error(ctx: Any, response: Any, case: Any) -> bool | None:
    """No 5xx at all, except a 503 (a backend is down) on an operation that documents it."""
    status = response.status_code
    if status < 500:
        return None
    documented = str(status) in case.operation.definition.raw.get("responses", {})
    if status == 503 and documented:
        return None
    raise AssertionError(
        f"server error {status} on {case.method} {case.path}: {response.content[:300]!r}"
    )


def _no_public_addresses(host: str, port: int, timeout: float) -> list[Address]:
    # Offline: every host "resolves" to loopback, which the URL import refuses (422) before
    # connecting. A real resolver would make the run depend on the network.
    return [ip_address("127.0.0.1")]


@dataclass
class FuzzTarget:
    app: FastAPI
    container: Container
    key: str


@dataclass
class FuzzReport:
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    milliseconds: Counter[str] = field(default_factory=Counter)
    by_phase: Counter[str] = field(default_factory=Counter)


@pytest.fixture(scope="module", params=["embedded", "servers"])
def target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FuzzTarget]:
    """The app on one backend, its indexer running, and a key of a fresh workspace."""
    data = Path(tmp_path_factory.mktemp("fuzz")) / "data"
    # `?wait=true` still polls the index, but a case never waits long for it.
    overrides: dict[str, Any] = {"max_video_bytes": 3_000_000, "wait_timeout_seconds": 0.05}
    if request.param == "embedded":
        settings = make_settings(data, **overrides)
    else:
        settings = server_settings(request, data).model_copy(update=overrides)
    container = build(settings, embedder=FakeEmbedder())
    fetcher = UrlFetcher(
        AddressPolicy(settings.url_import_allow_private),
        timeout=settings.url_import_timeout_seconds,
        spool_dir=settings.data_dir / "tmp" / "uploads",
        resolver=_no_public_addresses,
    )
    container.url_import = UrlImportService(settings, container.assets, fetcher)
    # schemathesis runs the app's lifespan; the worker is ours to start and stop.
    app = create_app(container, run_indexer=False)
    container.start_indexer_thread()
    key = container.keys.create(f"fuzz-{uuid.uuid4().hex[:8]}")
    yield FuzzTarget(app, container, key)
    container.stop_indexer_thread()
    if request.param == "servers":
        drop_server_data(request, settings, container)
    container.close()


def fuzz_config(key: str) -> SchemathesisConfig:
    operations: list[dict[str, Any]] = [
        {"include-operation-id": operation_id, "generation": {"max-examples": min(EXAMPLES, count)}}
        for operation_id, count in FEW_EXAMPLES.items()
    ]
    return SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "headers": {"Authorization": f"Bearer {key}"},
            "generation": {"max-examples": EXAMPLES, "mode": "all", "database": "none"},
            "phases": {
                "examples": {"enabled": True},
                "coverage": {"enabled": True},
                "fuzzing": {"enabled": True},
                "stateful": {"enabled": True},
            },
            "checks": {
                "enabled": False,
                "no_undocumented_server_error": {"enabled": True},
                **{check: {"enabled": True} for check in CHECKS},
            },
            "operations": operations,
        }
    )


def run_fuzzer(target: FuzzTarget) -> FuzzReport:
    schema = schemathesis.openapi.from_asgi(
        "/openapi.json",
        target.app,
        config=fuzz_config(target.key),
    ).exclude(operation_id=list(EXCLUDED_OPERATIONS))
    report = FuzzReport()
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            _record(report, event)
        elif isinstance(event, events.NonFatalError | events.FatalError):
            report.errors.append(str(getattr(event, "info", event))[:500])
    return report


def _record(report: FuzzReport, event: events.ScenarioFinished) -> None:
    recorder = event.recorder
    report.milliseconds[f"{event.phase.value} {recorder.label}"] += int(event.elapsed_time * 1000)
    for interaction in recorder.interactions.values():
        report.requests += 1
        report.by_phase[event.phase.value] += 1
        if interaction.response is not None:
            report.statuses[interaction.response.status_code] += 1
    for case_id, checks in recorder.checks.items():
        for check in checks:
            if check.failure_info is None:
                continue
            sent = recorder.interactions.get(case_id)
            where = f"{sent.request.method} {sent.request.uri[:120]}" if sent else case_id
            if sent and sent.response is not None:
                where += (
                    f" → {sent.response.status_code} "
                    f"{sent.response.headers.get('content-type', ['-'])[0]} "
                    f"{(sent.response.content or b'')[:120]!r}"
                )
            report.failures.append(
                f"{recorder.label} [{check.name}] {where}: {check.failure_info.failure.title}"
            )


@pytest.mark.timeout(1800)  # minutes on a loaded machine; see docs/RELIABILITY.md for CI
def test_no_request_is_a_server_error_and_every_answer_is_documented(target: FuzzTarget) -> None:
    report = run_fuzzer(target)
    summary = (
        f"{report.requests} requests {dict(report.by_phase)}, "
        f"statuses {dict(sorted(report.statuses.items()))}"
    )
    print(summary)  # the count the run actually made, for the CI log (pytest -s / -rA)
    print("slowest (ms):", report.milliseconds.most_common(8))
    assert not report.errors, report.errors[:5]
    assert not report.failures, "\n".join(sorted(set(report.failures))[:40])
    assert report.requests >= MIN_REQUESTS, summary
    # The run reached the handlers, not just the auth and validation layers.
    assert report.statuses[200] + report.statuses[201] > 100, summary
