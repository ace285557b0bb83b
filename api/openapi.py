"""The OpenAPI document as clients see it: the problem+json error responses routes declare,
the binary and multipart shapes FastAPI cannot infer, and the post-processing step that makes
every documented 422 the problem the API really sends (api/problems.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

from assetlens.media import STORED_MIMES

PROBLEM_MEDIA_TYPE = "application/problem+json"
_REF = "#/components/schemas/{model}"


class Problem(BaseModel):
    """An RFC 9457 problem: every error answer of the API. Some carry more members (a 409's
    `references`, `references_count`, `assets_in_use`…)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="a URI naming the kind of problem")
    title: str
    status: int
    detail: str


class ValidationIssue(BaseModel):
    """One refused input: where (`loc`, e.g. ["body", "tags", "0"]) and why."""

    loc: list[str]
    msg: str


class ValidationProblem(Problem):
    """The 422 problem: the input was refused before anything changed. `errors` names each
    refused field when the request did not match its schema (absent for other refusals,
    e.g. a file the upload cannot read)."""

    errors: list[ValidationIssue] = Field(default_factory=list, max_length=20)


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": _REF.format(model=model.__name__)}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries documenting `statuses` as application/problem+json (422 as a
    `ValidationProblem`, the others as a `Problem`). (Keyed `int | str` because FastAPI's
    `responses` parameter is a dict of that key type, and dicts are invariant.)"""
    return {status: _problem_response(status) for status in statuses}


def _problem_response(status: int) -> dict[str, Any]:
    model = ValidationProblem if status == 422 else Problem
    response: dict[str, Any] = {
        "description": _DESCRIPTIONS.get(status, "Error"),
        "content": {PROBLEM_MEDIA_TYPE: {"schema": _ref(model)}},
    }
    if status in _PROBLEM_HEADERS:
        name, description = _PROBLEM_HEADERS[status]
        response["headers"] = {name: _header(description)}
    return response


def _header(description: str) -> dict[str, Any]:
    return {"description": description, "schema": {"type": "string"}}


_PROBLEM_HEADERS = {
    401: ("WWW-Authenticate", "Bearer"),
    429: ("Retry-After", "seconds to wait before trying again"),
    416: ("Content-Range", "bytes */SIZE"),
    503: ("Retry-After", "seconds to wait before trying again"),
}


_DESCRIPTIONS = {
    400: "Malformed request",
    401: "Missing or unknown API key (WWW-Authenticate: Bearer)",
    403: "The key lacks the scope, or a browser write failed the CSRF checks",
    404: "Not found (or another workspace's)",
    408: "The request body stopped arriving (shorter than its Content-Length)",
    409: "Conflict",
    412: "The resource changed (If-Match)",
    413: "Too large",
    415: "Unsupported media type",
    416: "Range not satisfiable (Content-Range: bytes */size)",
    422: "Invalid input: nothing was changed",
    429: "Too many requests (Retry-After)",
    503: "A backend is unavailable (Retry-After)",
}

# An operation anyone may call: OpenAPI's way to say "no security requirement".
PUBLIC: dict[str, Any] = {"security": []}

_BINARY_SCHEMA = {"type": "string", "format": "binary"}


def binary_responses(
    media_type: str, description: str, *, ranges: bool
) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries of a route that answers bytes of `media_type` (200), with its
    conditional (304, If-None-Match) and, with `ranges`, partial (206, Range) answers."""
    return _bytes_responses({media_type: {"schema": _BINARY_SCHEMA}}, description, ranges=ranges)


def file_responses(description: str, *, ranges: bool) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries of a route that serves a stored file: its bytes go out with the
    file's own media type, so every type a file can be stored with is listed, after
    `application/octet-stream` (the entry generated clients read the bytes from). JSON
    files carry no schema: the body is the file's own value (or, in a 206, part of it)."""
    content: dict[str, dict[str, Any]] = {"application/octet-stream": {"schema": _BINARY_SCHEMA}}
    for mime in sorted(STORED_MIMES):
        content[mime] = {} if mime == "application/json" else {"schema": _BINARY_SCHEMA}
    return _bytes_responses(content, description, ranges=ranges)


def _bytes_responses(
    content: dict[str, dict[str, Any]], description: str, *, ranges: bool
) -> dict[int | str, dict[str, Any]]:
    etag = {"ETag": _header("the version of these bytes, for If-None-Match and If-Range")}
    responses: dict[int | str, dict[str, Any]] = {
        200: {"description": description, "headers": etag, "content": content},
        304: {"description": "Not modified (If-None-Match matched the ETag)", "headers": etag},
    }
    if ranges:
        responses[206] = {
            "description": "The requested byte range (Range, If-Range)",
            "headers": {**etag, "Content-Range": _header("bytes FIRST-LAST/SIZE")},
            "content": content,
        }
    return responses


def conditional_request(*, ranges: bool) -> dict[str, Any]:
    """`openapi_extra=` declaring the request headers a bytes route honours (it reads them
    itself, so FastAPI sees no parameters): If-None-Match and, with `ranges`, Range and
    If-Range."""
    parameters = [
        _header_parameter(
            "If-None-Match", "an ETag of an earlier answer: 304 when the bytes are still those"
        )
    ]
    if ranges:
        parameters += [
            _header_parameter(
                "Range",
                "one byte range, e.g. bytes=0-1023 or bytes=-500 (several ranges: the whole file)",
            ),
            _header_parameter(
                "If-Range",
                "an ETag: the range only while the bytes are still those, else the whole file",
            ),
        ]
    return {"parameters": parameters}


def _header_parameter(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "header",
        "required": False,
        "description": description,
        "schema": {"type": "string"},
    }


def multipart_body(
    *, required: tuple[str, ...] = ("file",), **fields: dict[str, Any]
) -> dict[str, Any]:
    """`openapi_extra=` declaring a multipart/form-data body: `file` (binary) and the text
    `fields` (name → JSON schema). For routes that read the stream themselves
    (api/multipart.py), so FastAPI sees no body parameter to document."""
    properties: dict[str, Any] = {"file": {**_BINARY_SCHEMA, "description": "the file"}}
    properties.update(fields)
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": list(required),
                        "properties": properties,
                    }
                }
            },
        }
    }


def install(app: FastAPI) -> None:
    """Serve `app`'s OpenAPI document post-processed by `refine` (built once, on first use)."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:  # FastAPI's own cache, filled by generate()
            refine(generate())
        return generate()

    app.openapi = openapi  # type: ignore[method-assign]


def refine(document: dict[str, Any]) -> None:
    """Replace FastAPI's default 422 (`HTTPValidationError`, a shape the API never sends)
    with the `ValidationProblem` it does send, document the 413 the body limit answers on
    every operation that takes a body (api/limits.py, before any route runs), the 408 of a
    body that stops arriving, and on every operation that needs a credential the 429 of
    the per-key rate limit (assetlens/throttle.py) and the 503 of a store outage (keys and
    sessions are read from the store on every request); and add the problem schemas to the
    components. In place."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    _, defs = models_json_schema(
        [(Problem, "validation"), (ValidationProblem, "validation")], ref_template=_REF
    )
    schemas.update(defs.get("$defs", {}))
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.get("responses", {})
            if "422" in responses:
                responses["422"] = _problem_response(422)
            if "requestBody" in operation:
                responses.setdefault("408", _problem_response(408))
                responses.setdefault("413", _problem_response(413))
            if operation.get("security"):
                responses.setdefault("429", _problem_response(429))
                # The credential is checked against the store on every request.
                responses.setdefault("503", _problem_response(503))
    for default in ("HTTPValidationError", "ValidationError"):
        schemas.pop(default, None)
