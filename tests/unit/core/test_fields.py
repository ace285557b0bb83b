"""The shared field rules: one limit per field, numbers that fit the backends, cursors."""

from __future__ import annotations

import base64
import json
import math
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from assetlens import fields
from assetlens.cursors import decode_cursor, encode_cursor
from assetlens.errors import InvalidInput
from assetlens.services.asset_inputs import AssetPatch, upload_form


@pytest.mark.parametrize(
    "value",
    [{"seed": 2**64}, {"a": [{"b": math.nan}]}, {"cfg_scale": math.inf}, {"seed": -(2**63) - 1}],
)
def test_metadata_refuses_numbers_no_backend_holds(value: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(fields.Metadata).validate_python(value)


def test_metadata_keeps_numbers_that_fit() -> None:
    value = {"seed": 2**64 - 1, "steps": -(2**63), "cfg_scale": 7.5, "ok": True}
    assert TypeAdapter(fields.Metadata).validate_python(value) == value


@pytest.mark.parametrize(
    ("name", "limit"),
    [
        ("name", fields.MAX_NAME_CHARS),
        ("description", fields.MAX_DESCRIPTION_CHARS),
        ("prompt", fields.MAX_PROMPT_CHARS),
        ("folder_id", fields.MAX_ID_CHARS),
    ],
)
def test_upload_and_patch_have_the_same_limit(name: str, limit: int) -> None:
    at_limit, over = "x" * limit, "x" * (limit + 1)
    AssetPatch.model_validate({name: at_limit})  # (a name is then cut to 255 bytes)
    upload_form({name: at_limit}, max_json_depth=10)
    with pytest.raises(ValidationError):
        AssetPatch.model_validate({name: over})
    with pytest.raises(InvalidInput) as caught:
        upload_form({name: over}, max_json_depth=10)
    assert caught.value.extra["errors"][0]["loc"] == ["body", name]


def test_upload_tags_are_counted_like_patch_tags() -> None:
    tags = [f"t{n}" for n in range(fields.MAX_TAGS + 1)]
    with pytest.raises(InvalidInput, match="tags"):
        upload_form({"tags": ",".join(tags)}, max_json_depth=10)
    with pytest.raises(ValidationError):
        AssetPatch.model_validate({"tags": tags})
    assert upload_form({"tags": "a,,b, "}, max_json_depth=10).tags == ["a", "b"]


def test_repeated_upload_tag_fields_are_one_tag_each() -> None:
    """Repeated `tags` fields keep their commas (like PATCH); one field is comma-split."""
    assert upload_form({"tags": ["a,b", "c", " "]}, max_json_depth=10).tags == ["a,b", "c"]
    assert upload_form({"tags": ["a,b"]}, max_json_depth=10).tags == ["a", "b"]
    assert upload_form({"tags": ["a,b", ""]}, max_json_depth=10).tags == ["a,b"]
    with pytest.raises(InvalidInput, match="tags"):
        upload_form({"tags": [f"t{n}" for n in range(fields.MAX_TAGS + 1)]}, max_json_depth=10)


def test_cursors_round_trip_and_forged_numbers_are_refused() -> None:
    values = [1_700_000_000_000_000, "name", 0.25, None]
    assert decode_cursor(encode_cursor(values)) == values
    for forged in ([2**63], [-(2**63) - 1], ["x", [1]], [{"a": 1}], [True] * 5):
        with pytest.raises(InvalidInput, match="malformed cursor"):
            decode_cursor(encode_cursor(forged))
    for raw in (b"[NaN]", b"[1e400]", b"[" + b"9" * 5000 + b"]"):
        with pytest.raises(InvalidInput, match="malformed cursor"):
            decode_cursor(base64.urlsafe_b64encode(raw).decode())
    assert json.loads(base64.urlsafe_b64decode(encode_cursor([1]) + "==")) == [1]


def test_tags_json_is_an_array_of_whole_tags() -> None:
    """`tags_json`: each element one tag, commas kept, even alone; blank ones dropped."""
    assert upload_form({"tags_json": '["a,b"]'}, max_json_depth=10).tags == ["a,b"]
    assert upload_form({"tags_json": '["a,b", " ", "C"]'}, max_json_depth=10).tags == ["a,b", "C"]
    assert upload_form({"tags_json": "[]", "name": "x.png"}, max_json_depth=10).tags == []
    assert upload_form({"tags_json": '["a"]', "tags": ["", " "]}, max_json_depth=10).tags == ["a"]
    too_many = json.dumps([f"t{n}" for n in range(fields.MAX_TAGS + 1)])
    with pytest.raises(InvalidInput, match="tags"):
        upload_form({"tags_json": too_many}, max_json_depth=10)


@pytest.mark.parametrize(("form", "message"), [
    ({"tags_json": '"a,b"'}, "JSON array of strings"),
    ({"tags_json": '["a", 1]'}, "JSON array of strings"),
    ({"tags_json": '{"a": 1}'}, "JSON array of strings"),
    ({"tags_json": "[a"}, "not valid JSON"),
    ({"tags_json": "[" * 50 + "]" * 50}, "tags_json"),
    ({"tags_json": '["\\ud800"]'}, "tags_json"),
    ({"tags_json": ['["a"]', '["b"]']}, "one form field"),
    ({"tags_json": '["a"]', "tags": "b"}, "not both"),
])  # fmt: skip
def test_tags_json_refusals(form: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        upload_form(form, max_json_depth=10)
