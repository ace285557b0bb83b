"""The OpenAPI document itself: what a client generator needs from every operation (stable
ids, typed bodies, the problem shapes really sent, binary and multipart declared, auth)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from api.app import create_app
from assetlens.media import STORED_MIMES

Operation = tuple[str, str, dict[str, Any]]

PUBLIC = {"health", "ready", "signed_get", "session_create"}
# The browser session's own routes: the cookie is the credential, not a key.
SESSION_ONLY = {"session_get", "session_delete"}
BINARY = {
    "assets_content",
    "assets_thumbnail",
    "versions_content",
    "signed_get",
    "collections_content",
    "collections_thumbnail",
}
# Routes serving a stored file: its bytes with the file's own media type.
FILES = {"assets_content", "versions_content", "signed_get", "collections_content"}
MULTIPART = {
    "assets_upload": {"file", "name", "tags", "metadata", "folder_id"},
    "versions_create": {"file", "change_description"},
    "search_by_image": {"file", "filters"},
}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return create_app().openapi()


def operations(document: dict[str, Any]) -> list[Operation]:
    return [
        (method.upper(), path, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
    ]


def by_id(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {op["operationId"]: op for _, _, op in operations(document)}


def test_every_operation_has_a_stable_unique_snake_case_id(document: dict[str, Any]) -> None:
    ids = [op.get("operationId", "") for _, _, op in operations(document)]
    generated = [i for i in ids if not re.fullmatch(r"[a-z]+(_[a-z]+)*", i) or "_v1_" in i]
    assert generated == []
    assert len(ids) == len(set(ids))
    assert {
        "assets_upload",
        "assets_get",
        "assets_update",
        "assets_delete",
        "assets_restore",
        "assets_content",
        "assets_thumbnail",
        "search",
        "health",
        "ready",
    } <= set(ids)


def test_every_operation_has_a_summary(document: dict[str, Any]) -> None:
    assert [op["operationId"] for _, _, op in operations(document) if not op.get("summary")] == []


def test_every_error_is_a_documented_problem(document: dict[str, Any]) -> None:
    """Every 4xx/5xx answer is problem+json: a `ValidationProblem` for 422, a `Problem`
    otherwise (ready's 503 is its own report). FastAPI's default 422 is gone."""
    wrong = []
    for method, path, op in operations(document):
        for status, response in op["responses"].items():
            if int(status) < 400 or (op["operationId"], status) == ("ready", "503"):
                continue
            model = "ValidationProblem" if status == "422" else "Problem"
            if response.get("content") != {
                "application/problem+json": {"schema": {"$ref": f"#/components/schemas/{model}"}}
            }:
                wrong.append((method, path, status))
    assert wrong == []
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert schemas["ValidationProblem"]["properties"]["errors"]["items"] == {
        "$ref": "#/components/schemas/ValidationIssue"
    }
    assert set(schemas["Problem"]["required"]) == {"type", "title", "status", "detail"}


def test_every_operation_with_a_credential_documents_the_store_outage(
    document: dict[str, Any],
) -> None:
    """The key (or session) is checked against the store on every request, so any
    operation that needs one answers 503 while the store is down: keys and session
    routes included (tests/api/test_operations_faults_api.py shows it)."""
    assert [
        op["operationId"]
        for _, _, op in operations(document)
        if op["operationId"] not in PUBLIC and "503" not in op["responses"]
    ] == []


def test_no_operation_documents_a_400_nothing_sends(document: dict[str, Any]) -> None:
    """No route answers 400 (a malformed request is a 422 problem), so none documents one:
    a generated client would otherwise model an answer that never comes."""
    assert [
        op["operationId"] for _, _, op in operations(document) if "400" in op["responses"]
    ] == []


def test_every_success_has_a_typed_body(document: dict[str, Any]) -> None:
    """A 200/201 answers a named model, or declared bytes; never an untyped `{}`."""
    untyped = []
    for method, path, op in operations(document):
        for status in ("200", "201"):
            content = op["responses"].get(status, {}).get("content")
            if content is None:
                continue
            for media_type, body in content.items():
                schema = body.get("schema", {})
                if op["operationId"] in FILES and media_type == "application/json":
                    typed = body == {}  # a stored JSON file: its own value, no schema
                else:
                    typed = (
                        "$ref" in schema
                        if media_type == "application/json"
                        else schema == {"type": "string", "format": "binary"}
                    )
                if not typed:
                    untyped.append((method, path, status, media_type))
    assert untyped == []


def test_binary_responses_are_declared_as_bytes(document: dict[str, Any]) -> None:
    operations_ = by_id(document)
    for name in BINARY:
        responses = operations_[name]["responses"]
        assert "304" in responses, name
        if name in FILES:
            # The file's own media type, whichever it was stored with; octet-stream first,
            # where generated clients read the bytes from.
            for status in ("200", "206"):
                media_types = list(responses[status]["content"])
                assert media_types[0] == "application/octet-stream", name
                assert set(media_types[1:]) == STORED_MIMES, name
        else:
            (media_type,) = responses["200"]["content"]
            assert media_type != "application/json", name
    assert set(operations_["assets_thumbnail"]["responses"]["200"]["content"]) == {"image/webp"}
    for ranged in ("assets_content", "versions_content", "collections_content", "signed_get"):
        assert {"206", "416"} <= set(operations_[ranged]["responses"]), ranged


def test_multipart_bodies_declare_the_file_and_fields(document: dict[str, Any]) -> None:
    operations_ = by_id(document)
    for name, fields in MULTIPART.items():
        schema = operations_[name]["requestBody"]["content"]["multipart/form-data"]["schema"]
        assert fields <= set(schema["properties"]), name
        assert schema["properties"]["file"]["format"] == "binary"
        assert schema["required"] == ["file"]
    upload = operations_["assets_upload"]["requestBody"]["content"]["multipart/form-data"]
    # Repeated `tags` fields, one tag each: generators then send a list as repeated fields.
    assert upload["schema"]["properties"]["tags"]["type"] == "array"
    assert upload["schema"]["properties"]["tags"]["items"] == {"type": "string"}


def test_protected_operations_require_bearer_and_document_401(document: dict[str, Any]) -> None:
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    public, unprotected = set(), []
    for method, path, op in operations(document):
        scheme = "session" if op["operationId"] in SESSION_ONLY else "HTTPBearer"
        if op.get("security") == []:
            public.add(op["operationId"])
        elif {scheme: []} not in op.get("security", ()) or "401" not in op["responses"]:
            unprotected.append((method, path))
    assert public == PUBLIC
    assert unprotected == []


def test_operations_with_inputs_document_422_and_bodies_413(document: dict[str, Any]) -> None:
    missing = [
        (method, path)
        for method, path, op in operations(document)
        if (op.get("parameters") or op.get("requestBody")) and "422" not in op["responses"]
    ]
    assert missing == []
    unlimited = [
        (method, path)
        for method, path, op in operations(document)
        if op.get("requestBody") and "413" not in op["responses"]
    ]
    assert unlimited == []
