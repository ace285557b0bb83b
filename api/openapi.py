"""OpenAPI helpers shared by the routers."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from api.problems import PROBLEM


class Problem(BaseModel):
    """An RFC 9457 problem detail, as every error is answered."""

    type: str
    title: str
    status: int
    detail: str


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries documenting `statuses` as application/problem+json."""
    schema = Problem.model_json_schema()
    return {status: {"description": _describe(status), "model": Problem,
                     "content": {PROBLEM: {"schema": schema}}}
            for status in statuses}


def _describe(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
