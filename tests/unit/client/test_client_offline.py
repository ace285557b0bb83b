"""The client against httpx's mock transport: retries, typed problems, request shapes,
and `track()` never raising."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from assetlens.client import (
    AssetlensClient,
    ClientError,
    ConflictError,
    ConnectionFailed,
    NotFoundError,
    ProblemError,
    RetryPolicy,
    UnavailableError,
    ValidationError,
)
from assetlens.client.calls import search_call, update_call, upload_call
from assetlens.client.retry import RetryPolicy as Policy

QUICK = RetryPolicy(attempts=4, base=0.001, cap=0.002)
ASSET = {
    "id": "a" * 32,
    "name": "a.png",
    "type": "image",
    "mime": "image/png",
    "extension": "png",
    "size_bytes": 3,
    "sha256": "b" * 64,
    "status": "processing",
    "tags": [],
    "created_at": "2026-12-01T00:00:00Z",
    "updated_at": "2026-12-01T00:00:00Z",
}


class Recorder:
    """A scripted server: answers from `script` in turn (an int status, a problem, or an
    exception to raise), then 201 with ASSET; records the requests."""

    def __init__(self, *script: int | Exception) -> None:
        self.script = list(script)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        if self.script:
            step = self.script.pop(0)
            if isinstance(step, Exception):
                raise step
            return httpx.Response(
                step,
                headers={"Retry-After": "0"},
                json={
                    "type": "https://assetlens.dev/problems/x",
                    "title": "Nope",
                    "status": step,
                    "detail": f"failed with {step}",
                    "errors": [{"loc": ["body", "name"]}],
                    "references_count": 2,
                },
            )
        return httpx.Response(201, json=ASSET)


def _client(recorder: Recorder, tmp_path: Path) -> AssetlensClient:
    return AssetlensClient(
        "http://assetlens.test",
        "key",
        retry=QUICK,
        outbox_dir=tmp_path / "outbox",
        transport=httpx.MockTransport(recorder),
    )


def test_uploads_are_retried_with_one_idempotency_key(tmp_path: Path) -> None:
    recorder = Recorder(503, httpx.ConnectError("refused"), 502)
    with _client(recorder, tmp_path) as client:
        asset = client.upload(
            io.BytesIO(b"abc"),
            filename="a.png",
            tags=["x", "y"],
            prompt="a fox",
            metadata={"model": "sdxl", "seed": 7},
        )
    assert asset.id == "a" * 32
    assert len(recorder.requests) == 4
    keys = {r.headers["Idempotency-Key"] for r in recorder.requests}
    assert len(keys) == 1
    body = recorder.requests[-1].content
    assert b'name="tags_json"\r\n\r\n["x", "y"]\r\n' in body and b'name="tags"' not in body
    assert b"abc" in body
    assert b'"seed": 7' in body
    assert recorder.requests[-1].headers["Authorization"] == "Bearer key"


def test_an_upload_still_running_on_the_server_is_waited_for(tmp_path: Path) -> None:
    recorder = Recorder(409)  # with Retry-After: the same key is still in progress
    with _client(recorder, tmp_path) as client:
        assert client.upload(b"abc", filename="a.png").id == "a" * 32
    assert len(recorder.requests) == 2
    other = Recorder(409)
    with _client(other, tmp_path) as client, pytest.raises(ConflictError):
        client.delete("a" * 32)  # no key: a 409 is an answer, not a "not now"
    assert len(other.requests) == 1


def test_retries_give_up_with_the_last_problem(tmp_path: Path) -> None:
    recorder = Recorder(503, 503, 503, 503)
    with _client(recorder, tmp_path) as client, pytest.raises(UnavailableError) as raised:
        client.get("a" * 32)
    assert len(recorder.requests) == QUICK.attempts
    assert raised.value.status == 503
    assert raised.value.retry_after == 0


def test_connection_errors_give_up_as_connection_failed(tmp_path: Path) -> None:
    recorder = Recorder(*[httpx.ConnectError("refused")] * 4)
    with _client(recorder, tmp_path) as client, pytest.raises(ConnectionFailed):
        client.search("fox")
    assert len(recorder.requests) == 4


def test_a_patch_is_not_repeated(tmp_path: Path) -> None:
    recorder = Recorder(503)
    with _client(recorder, tmp_path) as client, pytest.raises(UnavailableError):
        client.update("a" * 32, {"tags": ["x"]}, if_match=3)
    assert len(recorder.requests) == 1
    assert recorder.requests[0].headers["If-Match"] == '"r3"'


@pytest.mark.parametrize(
    ("status", "kind"),
    [(404, NotFoundError), (409, ConflictError), (422, ValidationError), (418, ProblemError)],
)
def test_problems_are_typed(tmp_path: Path, status: int, kind: type[ProblemError]) -> None:
    with _client(Recorder(status), tmp_path) as client, pytest.raises(kind) as raised:
        client.delete("a" * 32)
    problem = raised.value
    assert (problem.status, problem.title, problem.detail) == (
        status,
        "Nope",
        f"failed with {status}",
    )
    assert problem.type == "https://assetlens.dev/problems/x"
    assert problem.errors == [{"loc": ["body", "name"]}]
    assert problem.extra == {"references_count": 2}


def test_ids_stay_one_path_segment(tmp_path: Path) -> None:
    recorder = Recorder()
    with _client(recorder, tmp_path) as client:
        client.get("../keys")
    assert recorder.requests[0].url.raw_path == b"/v1/assets/..%2Fkeys"


def test_request_shapes() -> None:
    stream = io.BufferedReader(io.BytesIO(b"x"))  # seekable
    assert upload_call(stream, filename="a.png").retryable

    class Pipe(io.BytesIO):
        def seekable(self) -> bool:
            return False

    assert not upload_call(Pipe(), filename="a.png").retryable
    assert upload_call(b"x", filename="a.png", idempotency_key="k").headers == {
        "Idempotency-Key": "k"
    }
    with pytest.raises(ValueError, match="filename"):
        upload_call(b"x")
    one_tag = upload_call(
        b"x",
        filename="a.png",
        tags="winter",
        metadata={"created": datetime(2026, 1, 2, tzinfo=UTC)},
    )
    # The tags go as one JSON array (`tags_json`), each element one tag: a lone tag with a
    # comma is not split (the server splits a lone `tags` field on commas, for curl).
    assert one_tag.form == {
        "tags_json": '["winter"]',
        "metadata": '{"created": "2026-01-02T00:00:00Z"}',
    }
    assert upload_call(b"x", filename="a.png", tags="a,b").form == {"tags_json": '["a,b"]'}
    assert upload_call(b"x", filename="a.png", tags=["a,b", "é"]).form == {
        "tags_json": '["a,b", "é"]'
    }
    assert upload_call(b"x", filename="a.png", tags=[]).form == {}
    call = search_call("fox", filters={"type": ["image"]}, facets=["type"], cursor="c")
    assert call.json["filters"] == {"type": ["image"]}
    assert (call.json["cursor"], call.json["facets"]) == ("c", ["type"])
    assert update_call("a", {"name": "b"}, if_match='"r9"').headers == {"If-Match": '"r9"'}
    assert json.loads(json.dumps(update_call("a", {"tags": ("x",)}).json)) == {"tags": ["x"]}


def test_delays_grow_and_honour_retry_after() -> None:
    policy = Policy(attempts=5, base=1.0, cap=8.0)
    assert 0.5 <= policy.delay(1) <= 1.0
    assert 4.0 <= policy.delay(4) <= 8.0
    assert policy.delay(10) <= 8.0
    assert policy.delay(1, retry_after=5.0) == 5.0
    assert policy.gives_up(5) and not policy.gives_up(4)


def test_track_never_raises(tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the outbox should be")
    with AssetlensClient(
        "http://assetlens.test",
        "key",
        outbox_dir=blocked,
        transport=httpx.MockTransport(Recorder()),
    ) as client:
        assert client.track(b"data", filename="a.png") is None
    with _client(Recorder(), tmp_path) as client:
        assert client.track(tmp_path / "missing.png") is None
        assert client.track(b"data") is None  # no filename: logged, not raised


def test_the_client_imports_without_the_server_stack() -> None:
    probe = (
        "import sys, assetlens.client; "
        "print(sorted(m for m in ('fastapi', 'starlette', 'torch', 'PIL', 'numpy', "
        "'elasticsearch', 'minio', 'uvicorn') if m in sys.modules))"
    )
    root = Path(__file__).resolve().parents[3]
    ran = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(root)},
        check=True,
        timeout=60,
    )
    assert ran.stdout.strip() == "[]"


@pytest.mark.parametrize(("status", "held_back"), [(500, False), (503, True)])
def test_only_an_outage_holds_the_other_tracked_items_back(
    tmp_path: Path, status: int, held_back: bool
) -> None:
    """A 500 on one item is that item's failure (say its file makes the server fail): the
    others go on. A 503 (or no connection) is the server's: nobody else is tried."""
    recorder = Recorder(status)
    with AssetlensClient(
        "http://assetlens.test",
        "key",
        outbox_dir=tmp_path / "outbox",
        deliver_in_background=False,
        transport=httpx.MockTransport(recorder),
    ) as client:
        client.track(b"one", filename="1.png")
        client.track(b"two", filename="2.png")
        delivered = client.outbox.deliver_pending()
    assert (delivered, len(recorder.requests)) == ((0, 1) if held_back else (1, 2))


def test_a_closed_client_keeps_no_outbox_open(tmp_path: Path) -> None:
    client = _client(Recorder(), tmp_path)
    client.close()
    with pytest.raises(ClientError, match="closed"):
        _ = client.outbox
    assert client.track(b"data", filename="a.png") is None  # logged, not raised
    assert not (tmp_path / "outbox").exists()  # nothing opened behind the closed client
