"""Streaming multipart/form-data: the file part goes straight to a spool file.

Starlette's own form parser buffers a whole part before a handler can refuse it, so
limits could only be checked after the disk filled. Here every limit holds while bytes
arrive: part count, field size, and the per-type file size (known from the extension as
soon as the part's headers are read).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from assetlens.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType
from assetlens.spool import Spooled, Spooler

MAX_PARTS = 32
FEED_BYTES = 1 << 20


@dataclass
class Form:
    """A parsed body: the spooled file, and the text fields (`fields` keeps a repeated
    field's last value, `values` every value in order)."""

    file: Spooled | None = None
    fields: dict[str, str] = field(default_factory=dict)
    values: dict[str, list[str]] = field(default_factory=dict)

    def discard(self) -> None:
        if self.file is not None:
            self.file.discard()


@dataclass
class _Part:
    name: str = ""
    filename: str | None = None
    data: bytearray = field(default_factory=bytearray)
    spooler: Spooler | None = None


async def read_form(
    request: Request,
    *,
    spool_dir: Path,
    file_field: str,
    file_limit: Callable[[str], int],
    max_field_bytes: int,
) -> Form:
    """Parse the request body; the caller owns (and must discard) the spooled file."""
    content_type = request.headers.get("content-type", "")
    kind, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise UnsupportedMediaType("expected multipart/form-data with a boundary")

    form = Form()
    state = _State(form, spool_dir, file_field, file_limit, max_field_bytes)
    parser = MultipartParser(boundary, state.callbacks())  # type: ignore[arg-type]
    pending = bytearray()
    try:
        async for chunk in request.stream():
            pending += chunk
            if len(pending) >= FEED_BYTES:
                await _feed(parser, state, bytes(pending))
                pending.clear()
        await _feed(parser, state, bytes(pending))
        try:
            parser.finalize()
        except MultipartParseError as exc:
            raise InvalidInput(f"malformed multipart body: {exc}") from exc
        state.raise_pending()
        if not state.finished:
            raise InvalidInput("truncated multipart body")
    except BaseException:
        state.abort()
        form.discard()
        raise
    return form


async def _feed(parser: MultipartParser, state: _State, data: bytes) -> None:
    # Parsing, hashing and disk writes run in a worker thread: a large upload must not
    # stall the event loop that serves everyone else.
    if data:
        try:
            await run_in_threadpool(parser.write, data)
        except MultipartParseError as exc:
            raise InvalidInput(f"malformed multipart body: {exc}") from exc
    state.raise_pending()


class _State:
    """Parser callbacks. Errors are stored and re-raised outside the C-style callbacks."""

    def __init__(
        self,
        form: Form,
        spool_dir: Path,
        file_field: str,
        file_limit: Callable[[str], int],
        max_field_bytes: int,
    ) -> None:
        self.form = form
        self.spool_dir = spool_dir
        self.file_field = file_field
        self.file_limit = file_limit
        self.max_field_bytes = max_field_bytes
        self.parts = 0
        self.part = _Part()
        self.header_field = bytearray()
        self.header_value = bytearray()
        self.headers: dict[str, bytes] = {}
        self.error: Exception | None = None
        self.finished = False

    def callbacks(self) -> dict[str, Callable[..., None]]:
        return {
            "on_part_begin": self.on_part_begin,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
            "on_end": self.on_end,
        }

    def raise_pending(self) -> None:
        if self.error is not None:
            error, self.error = self.error, None
            raise error

    def fail(self, error: Exception) -> None:
        if self.error is None:
            self.error = error

    def abort(self) -> None:
        if self.part.spooler is not None:
            self.part.spooler.abort()
            self.part.spooler = None

    def on_part_begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            self.fail(InvalidInput(f"at most {MAX_PARTS} form parts are accepted"))
        self.part = _Part()
        self.headers = {}

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        self.headers[self.header_field.decode("latin-1").lower()] = bytes(self.header_value)
        self.header_field.clear()
        self.header_value.clear()

    def on_headers_finished(self) -> None:
        if self.error:
            return
        disposition = self.headers.get("content-disposition", b"")
        _, params = parse_options_header(disposition)
        self.part.name = params.get(b"name", b"").decode("utf-8", "replace")
        raw_filename = params.get(b"filename")
        if raw_filename is None:
            return
        if self.part.name != self.file_field or self.form.file is not None:
            self.fail(InvalidInput(f"only one file, in the field `{self.file_field}`"))
            return
        filename = raw_filename.decode("utf-8", "replace")
        self.part.filename = filename
        try:
            limit = self.file_limit(filename)
        except Exception as exc:  # reported to the client once the parser returns
            self.fail(exc)
            return
        self.part.spooler = Spooler(self.spool_dir, filename, limit)

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.error:
            return
        if self.part.spooler is not None:
            try:
                self.part.spooler.write(data[start:end])
            except PayloadTooLarge as exc:
                self.part.spooler = None  # write() already removed the file
                self.fail(exc)
            return
        self.part.data += data[start:end]
        if len(self.part.data) > self.max_field_bytes:
            self.fail(
                PayloadTooLarge(
                    f"form field `{self.part.name}` exceeds {self.max_field_bytes} bytes"
                )
            )

    def on_part_end(self) -> None:
        if self.error:
            return
        if self.part.spooler is not None:
            self.form.file = self.part.spooler.finish()
            self.part.spooler = None
        elif self.part.filename is None and self.part.name:
            try:
                text = self.part.data.decode("utf-8")
            except UnicodeDecodeError:
                self.fail(InvalidInput(f"form field `{self.part.name}` is not UTF-8"))
                return
            self.form.fields[self.part.name] = text
            self.form.values.setdefault(self.part.name, []).append(text)

    def on_end(self) -> None:
        self.finished = True
