"""Shared OpenAPI pieces: how routes document their problem+json error answers."""

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
    """`responses=` entries documenting each status as an `application/problem+json` Problem.

    Keys are typed `int | str` because that is what FastAPI's `responses=` takes (a dict
    is invariant in its key type)."""
    schema = Problem.model_json_schema()
    return {
        status: {
            "description": HTTPStatus(status).phrase,
            "content": {"application/problem+json": {"schema": schema}},
        }
        for status in statuses
    }
