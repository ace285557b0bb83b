"""Reading an object as a stream of chunks that survives a dropped connection."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from urllib3.exceptions import HTTPError as TransportError

from assetlens.errors import InvalidInput, ObjectNotFound, PreconditionFailed, StoreUnavailable
from storage.s3_errors import describe_transport

if TYPE_CHECKING:
    from urllib3 import BaseHTTPResponse


class RangeStream(Iterator[bytes]):
    """Yields a ranged GET's body in chunks. After a dropped connection it resumes from the
    next byte with `If-Match` on the ETag, so a resumed read never mixes two versions.
    Releases the connection when exhausted, closed or dropped."""

    def __init__(
        self,
        reopen: Callable[[str, dict[str, str]], BaseHTTPResponse],
        retries: int,
        key: str,
        response: BaseHTTPResponse,
        position: int,
        end: int | None,
        chunk_size: int,
    ) -> None:
        self._reopen = reopen
        self._retries = retries
        self._key = key
        self._response: BaseHTTPResponse | None = response
        self._position = position
        self._end = end
        self._chunk = chunk_size
        self._etag = response.headers.get("ETag", "")
        self._resumes = 0

    def __iter__(self) -> RangeStream:
        return self

    def __next__(self) -> bytes:
        while self._response is not None:
            try:
                data = self._response.read(self._chunk, decode_content=False)
            except (TransportError, OSError) as exc:
                self._resume(exc)
                continue
            if data:
                self._position += len(data)
                return bytes(data)
            self._finish()
        raise StopIteration

    def _resume(self, exc: BaseException) -> None:
        self._finish()
        self._resumes += 1
        if self._resumes > self._retries or not self._etag:
            raise StoreUnavailable(
                f"object store connection dropped while reading {self._key!r}: "
                f"{describe_transport(exc)}"
            ) from exc
        end = "" if self._end is None else str(self._end)
        headers = {"Range": f"bytes={self._position}-{end}", "If-Match": self._etag}
        try:
            self._response = self._reopen(self._key, headers)
        except (ObjectNotFound, PreconditionFailed, InvalidInput) as err:
            raise StoreUnavailable(
                f"object {self._key!r} changed or vanished while it was being read"
            ) from err

    def _finish(self) -> None:
        # Close before releasing: a connection with unread body must not go back to the pool.
        if self._response is not None:
            response, self._response = self._response, None
            response.close()
            response.release_conn()

    def close(self) -> None:
        """Stop early and release the connection; further iteration yields nothing."""
        self._finish()

    def __del__(self) -> None:
        self._finish()
