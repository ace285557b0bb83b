"""OpenAPI helpers shared by the routers: the problem+json error responses."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class Problem(BaseModel):
    """An RFC 9457 problem: every error answer of the API."""

    type: str
    title: str
    status: int
    detail: str


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries documenting `statuses` as application/problem+json. (Keyed
    `int | str` because FastAPI's `responses` parameter is a dict of that key type, and
    dicts are invariant: `dict[int, …]` would not type-check at the call sites.)"""
    schema = Problem.model_json_schema()
    return {
        status: {
            "description": _DESCRIPTIONS.get(status, "Error"),
            "content": {"application/problem+json": {"schema": schema}},
        }
        for status in statuses
    }


_DESCRIPTIONS = {
    400: "Malformed request",
    401: "Missing or unknown API key",
    403: "The key lacks the scope",
    404: "Not found (or another workspace's)",
    409: "Conflict",
    412: "The resource changed (If-Match)",
    413: "Too large",
    415: "Unsupported media type",
    422: "Invalid input",
    503: "A backend is unavailable (Retry-After)",
}
