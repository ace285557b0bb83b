"""The requests of the API, built once for the sync and the async client: each method of
a client turns its arguments into a `Call`, sends it (with the retry policy when the call
is safe to repeat) and parses the answer with the functions here."""

from __future__ import annotations

import io
import json
import os
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote

import httpx
from pydantic import TypeAdapter

from assetlens.client.errors import problem_from
from assetlens.client.models import (
    Asset,
    Facet,
    FacetMode,
    Filters,
    Generation,
    HitsOut,
    SearchHit,
    SearchMode,
    SearchPage,
)

UploadSource = str | os.PathLike[str] | bytes | BinaryIO
IfMatch = str | int | None
_JSON_OBJECT = TypeAdapter(dict[str, Any])


@dataclass(frozen=True, slots=True)
class UploadFile:
    """The file of an upload, opened afresh (or rewound) for each attempt, so that a
    retry sends the whole file again. A stream that cannot seek is sent once."""

    source: UploadSource
    filename: str
    start: int = 0

    @property
    def repeatable(self) -> bool:
        if isinstance(self.source, bytes | str | os.PathLike):
            return True
        return self.source.seekable()

    @contextmanager
    def opened(self) -> Iterator[BinaryIO]:
        if isinstance(self.source, bytes):
            yield io.BytesIO(self.source)
        elif isinstance(self.source, str | os.PathLike):
            with open(self.source, "rb") as stream:
                yield stream
        else:
            if self.source.seekable():
                self.source.seek(self.start)
            yield self.source


def upload_file(source: UploadSource, filename: str | None) -> UploadFile:
    """`source` as an upload's file. The server checks the type by the file name's
    extension as well as the bytes, so bytes and streams need a `filename`."""
    if isinstance(source, str | os.PathLike):
        return UploadFile(source, filename or Path(source).name)
    if filename is None:
        filename = getattr(source, "name", None) if not isinstance(source, bytes) else None
        if not isinstance(filename, str) or not filename:
            raise ValueError("a filename (with its extension) is required for bytes or a stream")
        filename = Path(filename).name
    start = 0 if isinstance(source, bytes) or not source.seekable() else source.tell()
    return UploadFile(source, filename, start)


def tag_list(tags: Sequence[str] | None) -> list[str]:
    """Tags as a list (one string is one tag, not its characters)."""
    if tags is None:
        return []
    return [tags] if isinstance(tags, str) else list(tags)


def metadata_json(metadata: Mapping[str, Any] | Generation | None) -> dict[str, Any]:
    """Generation fields as JSON values (datetimes, enums and models converted)."""
    if metadata is None:
        return {}
    if isinstance(metadata, Generation):
        return metadata.model_dump(mode="json", exclude_defaults=True)
    converted: dict[str, Any] = _JSON_OBJECT.dump_python(dict(metadata), mode="json")
    return converted


@dataclass(frozen=True, slots=True)
class Call:
    """One API request: what to send, and whether sending it twice is harmless."""

    method: str
    path: str
    params: Mapping[str, str] = field(default_factory=dict)
    json: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    form: Mapping[str, str | list[str]] | None = None
    file: UploadFile | None = None
    retryable: bool = False

    @contextmanager
    def request(self, http: httpx.Client | httpx.AsyncClient) -> Iterator[httpx.Request]:
        """The request for one attempt (the upload's file open while it is sent)."""
        if self.file is None:
            yield http.build_request(
                self.method, self.path, params=self.params, json=self.json, headers=self.headers
            )
            return
        with self.file.opened() as stream:
            yield http.build_request(
                self.method,
                self.path,
                params=self.params,
                headers=self.headers,
                data=self.form,
                files={"file": (self.file.filename, stream)},
            )


def _id(value: str) -> str:
    """A path segment that stays one segment, whatever the caller passes."""
    return quote(value, safe="")


def _flag(value: bool) -> str:
    return "true" if value else "false"


def upload_call(
    file: UploadSource,
    *,
    filename: str | None = None,
    name: str | None = None,
    description: str | None = None,
    tags: Sequence[str] | None = None,
    folder_id: str | None = None,
    prompt: str | None = None,
    metadata: Mapping[str, Any] | Generation | None = None,
    type: str | None = None,
    source: str | None = None,
    idempotency_key: str | None = None,
    wait: bool = False,
) -> Call:
    """POST /v1/assets (multipart). Always carries an Idempotency-Key (a new UUID unless
    given), so it is retried safely whenever its file can be sent again."""
    upload = upload_file(file, filename)
    form: dict[str, str | list[str]] = {}
    for key, value in (
        ("name", name),
        ("description", description),
        ("folder_id", folder_id),
        ("prompt", prompt),
        ("type", type),
        ("source", source),
    ):
        if value is not None:
            form[key] = value
    if tags:
        # One JSON array, each element one tag: a comma stays inside its tag, a single tag
        # included, and any number of tags takes one form part.
        form["tags_json"] = json.dumps(tag_list(tags), ensure_ascii=False)
    if metadata:
        form["metadata"] = json.dumps(metadata_json(metadata), ensure_ascii=False)
    key = idempotency_key or str(uuid.uuid4())
    return Call(
        "POST",
        "/v1/assets",
        params={"wait": _flag(wait)},
        form=form,
        file=upload,
        headers={"Idempotency-Key": key},
        retryable=upload.repeatable,
    )


def import_call(
    url: str,
    *,
    name: str | None = None,
    description: str | None = None,
    tags: Sequence[str] | None = None,
    folder_id: str | None = None,
    prompt: str | None = None,
    metadata: Mapping[str, Any] | Generation | None = None,
    type: str | None = None,
    idempotency_key: str | None = None,
    wait: bool = False,
) -> Call:
    """POST /v1/assets/from-url, with an Idempotency-Key (so retried like an upload)."""
    body: dict[str, Any] = {"url": url, "tags": tag_list(tags), "metadata": metadata_json(metadata)}
    for key, value in (
        ("name", name),
        ("description", description),
        ("folder_id", folder_id),
        ("prompt", prompt),
        ("type", type),
    ):
        if value is not None:
            body[key] = value
    return Call(
        "POST",
        "/v1/assets/from-url",
        params={"wait": _flag(wait)},
        json=body,
        headers={"Idempotency-Key": idempotency_key or str(uuid.uuid4())},
        retryable=True,
    )


def get_call(asset_id: str) -> Call:
    return Call("GET", f"/v1/assets/{_id(asset_id)}", retryable=True)


def etag_for(if_match: IfMatch) -> str | None:
    """An If-Match value from an asset's `revision` or an ETag as the server sent it."""
    if if_match is None or isinstance(if_match, str):
        return if_match
    return f'"r{if_match}"'


def update_call(
    asset_id: str, changes: Mapping[str, Any], *, if_match: IfMatch = None, wait: bool = False
) -> Call:
    """PATCH /v1/assets/{id}. Not retried after a lost answer: the change may have been
    made, and with If-Match a repeat would fail as a conflict."""
    etag = etag_for(if_match)
    return Call(
        "PATCH",
        f"/v1/assets/{_id(asset_id)}",
        params={"wait": _flag(wait)},
        json=_JSON_OBJECT.dump_python(dict(changes), mode="json"),
        headers={"If-Match": etag} if etag else {},
    )


def delete_call(asset_id: str, *, force: bool = False) -> Call:
    """DELETE /v1/assets/{id}: to the trash (repeating it changes nothing more)."""
    return Call(
        "DELETE", f"/v1/assets/{_id(asset_id)}", params={"force": _flag(force)}, retryable=True
    )


def search_call(
    q: str | None = None,
    *,
    mode: SearchMode | str = SearchMode.AUTO,
    filters: Filters | Mapping[str, Any] | None = None,
    facets: Sequence[Facet | str] = (),
    facet_mode: FacetMode | str = FacetMode.CONJUNCTIVE,
    sort: str | None = None,
    limit: int = 20,
    cursor: str | None = None,
) -> Call:
    """POST /v1/search: a read, retried like one."""
    if isinstance(filters, Filters):
        filter_body = filters.model_dump(mode="json", exclude_defaults=True)
    else:
        filter_body = _JSON_OBJECT.dump_python(dict(filters or {}), mode="json")
    body: dict[str, Any] = {
        "q": q,
        "mode": str(mode),
        "filters": filter_body,
        "facets": [str(facet) for facet in facets],
        "facet_mode": str(facet_mode),
        "limit": limit,
    }
    if sort is not None:
        body["sort"] = sort
    if cursor is not None:
        body["cursor"] = cursor
    return Call("POST", "/v1/search", json=body, retryable=True)


def similar_call(asset_id: str, *, limit: int = 20) -> Call:
    return Call(
        "GET", f"/v1/assets/{_id(asset_id)}/similar", params={"limit": str(limit)}, retryable=True
    )


def content_call(asset_id: str, *, download: bool = False) -> Call:
    return Call(
        "GET",
        f"/v1/assets/{_id(asset_id)}/content",
        params={"download": _flag(download)},
        retryable=True,
    )


# -- answers --------------------------------------------------------------------------------


def checked(response: httpx.Response) -> httpx.Response:
    """`response` if it is a success; its typed ProblemError otherwise (body read)."""
    if response.is_success:
        return response
    raise problem_from(response)


def asset_of(response: httpx.Response) -> Asset:
    return Asset.model_validate_json(checked(response).content)


def page_of(response: httpx.Response) -> SearchPage:
    return SearchPage.model_validate_json(checked(response).content)


def hits_of(response: httpx.Response) -> list[SearchHit]:
    return HitsOut.model_validate_json(checked(response).content).items
