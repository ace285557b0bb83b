"""OpenAPI helpers shared by the routers."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from pydantic import BaseModel


class Problem(BaseModel):
    """An RFC 9457 problem detail, as every error is answered."""

    type: str
    title: str
    status: int
    detail: str


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries documenting `statuses` as application/problem+json Problems.

    Keyed `int | str` because FastAPI's `responses` parameter is (dicts are invariant, so
    `dict[int, …]` would not type-check where it is passed)."""
    return {
        status: {
            "description": HTTPStatus(status).phrase,
            "model": Problem,
            "content": {"application/problem+json": {
                "schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }
