"""The field rules every way into Assetlens shares.

Upload forms, PATCH bodies, bulk requests, URL imports and search filters take their fields
through these types, so no route accepts what another refuses for the same field, and every
number fits the backends (SQLite INTEGER and Elasticsearch `long` are signed 64-bit; a
generation seed may use the unsigned 64-bit range many generators draw from).
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import AfterValidator, Field

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
UINT64_MAX = 2**64 - 1

MAX_NAME_CHARS = 1024
MAX_DESCRIPTION_CHARS = 10_000
MAX_PROMPT_CHARS = 20_000
MAX_TAGS = 100
# A tag as sent; its normalised key is at most normalize.MAX_TAG_CHARS (zero-width and
# combining characters the normaliser removes may make the raw text longer).
MAX_TAG_INPUT_CHARS = 256
MAX_ID_CHARS = 64
MAX_TYPE_CHARS = 32

Name = Annotated[str, Field(max_length=MAX_NAME_CHARS)]
Description = Annotated[str, Field(max_length=MAX_DESCRIPTION_CHARS)]
Prompt = Annotated[str, Field(max_length=MAX_PROMPT_CHARS)]
TagText = Annotated[str, Field(max_length=MAX_TAG_INPUT_CHARS)]
TagList = Annotated[list[TagText], Field(max_length=MAX_TAGS)]
# An asset, folder or collection id as a client names it.
ObjectId = Annotated[str, Field(min_length=1, max_length=MAX_ID_CHARS)]
# A folder to file into; empty means none (the root).
FolderRef = Annotated[str, Field(max_length=MAX_ID_CHARS)]
TypeName = Annotated[str, Field(max_length=MAX_TYPE_CHARS)]
Int64 = Annotated[int, Field(ge=INT64_MIN, le=INT64_MAX)]
ByteCount = Annotated[int, Field(ge=0, le=INT64_MAX)]
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]


def _fits_backends(value: dict[str, Any]) -> dict[str, Any]:
    found = out_of_range(value)
    if found:
        path, message = found
        raise ValueError(f"{'.'.join(path)}: {message}")
    return value


def out_of_range(value: Any) -> tuple[list[str], str] | None:
    """Where in a JSON value a number no backend can hold sits (an integer outside
    [-2**63, 2**64-1], NaN or ±Infinity) and what is wrong with it; None when every
    number fits."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        fits = INT64_MIN <= value <= UINT64_MAX
        return None if fits else ([], "integer outside the 64-bit range")
    if isinstance(value, float):
        return None if math.isfinite(value) else ([], "not a finite number")
    items: Any = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for key, item in items:
        found = out_of_range(item)
        if found:
            return [str(key), *found[0]], found[1]
    return None


# Client-given generation metadata (a JSON object; Generation validates its fields).
Metadata = Annotated[dict[str, Any], AfterValidator(_fits_backends)]
