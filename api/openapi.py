"""OpenAPI helpers shared by the routes."""

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


def problem_responses(*statuses: int) -> dict[int, dict[str, Any]]:
    """`responses=` entries documenting `statuses` as application/problem+json.

    Routes pass `responses=dict(problem_responses(…).items())`: FastAPI types the parameter
    `dict[int | str, …]`, and a `dict[int, …]` is not one (dict keys are invariant)."""
    schema = Problem.model_json_schema()
    return {
        status: {
            "description": HTTPStatus(status).phrase,
            "content": {"application/problem+json": {"schema": schema}},
        }
        for status in statuses
    }
