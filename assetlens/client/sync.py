"""`AssetlensClient`: the blocking client, with `track()` for generation apps."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO

import httpx

from assetlens.client import calls
from assetlens.client.calls import Call, IfMatch, UploadSource
from assetlens.client.errors import ClientError, ConnectionFailed, ProblemError
from assetlens.client.models import (
    Asset,
    Facet,
    FacetMode,
    Filters,
    Generation,
    SearchHit,
    SearchMode,
    SearchPage,
)
from assetlens.client.outbox import DeliveryPolicy, Outbox, OutboxItem, Rejected, RetryLater
from assetlens.client.retry import NO_RETRY, Attempts, RetryPolicy

log = logging.getLogger(__name__)

USER_AGENT = "assetlens-client/0.1"


def client_headers(api_key: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {api_key}",
        "User-Agent": USER_AGENT,
        "Accept": "application/json",
    }


def default_outbox_dir(base_url: str, api_key: str) -> Path:
    """`$ASSETLENS_OUTBOX_DIR`, else one outbox per server and key under the user's data
    directory (`$XDG_DATA_HOME/assetlens/outbox/…`), so items go where they were meant."""
    configured = os.environ.get("ASSETLENS_OUTBOX_DIR")
    if configured:
        return Path(configured)
    data_home = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    slug = hashlib.sha256(f"{base_url.rstrip('/')}\n{api_key}".encode()).hexdigest()[:16]
    return Path(data_home) / "assetlens" / "outbox" / slug


# Answers that say the server (or this key) cannot take any upload now, not just this one:
# the outbox holds every item back for a while. A 500 or a 409 (the same item being sent
# by another process) concerns one item.
OUTAGE_STATUSES = frozenset({401, 403, 408, 429, 502, 503, 504})


def worth_retrying(problem: ProblemError) -> bool:
    """Whether a delivery refused with `problem` may succeed later: server trouble, rate
    limits, a key not (yet) valid, a concurrent request with the same Idempotency-Key
    (409 with Retry-After). Everything else is refused for good."""
    return (
        problem.status >= 500
        or problem.status in (401, 403, 408, 429)
        or (problem.status == 409 and problem.retry_after is not None)
    )


class AssetlensClient:
    """A blocking client of one Assetlens server, authenticated with one API key.

    Requests safe to repeat (reads, searches, uploads — which always carry an
    Idempotency-Key) are retried on connection errors, 429 and 5xx gateway/unavailable
    answers with exponential back-off (`retry`); errors are raised as ProblemError
    subclasses. Use it as a context manager, or call `close()`.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        outbox_dir: str | os.PathLike[str] | None = None,
        delivery: DeliveryPolicy | None = None,
        deliver_in_background: bool = True,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self._http = httpx.Client(
            base_url=self.base_url,
            headers=client_headers(api_key),
            timeout=timeout,
            transport=transport,
        )
        self._outbox_dir = (
            Path(outbox_dir)
            if outbox_dir is not None
            else default_outbox_dir(self.base_url, api_key)
        )
        self._delivery = delivery
        self._background = deliver_in_background
        self._outbox: Outbox | None = None
        self._outbox_lock = threading.Lock()
        self._closed = False

    def __enter__(self) -> AssetlensClient:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop outbox delivery (pending items stay on disk) and close the connections."""
        with self._outbox_lock:
            self._closed = True
            if self._outbox is not None:
                self._outbox.close()
                self._outbox = None
        self._http.close()

    # -- assets -----------------------------------------------------------------------------

    def upload(
        self,
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
    ) -> Asset:
        """Upload a file (a path, bytes or a binary stream, sent in chunks) with its
        provenance (`prompt`, `metadata`: model, provider, seed, cost, source_asset_id…).
        Retried safely: every attempt carries one Idempotency-Key (a new UUID unless
        given). `wait`: return once the asset is searchable. The new asset, or the
        existing one under the workspace's `link` duplicate policy."""
        call = calls.upload_call(
            file,
            filename=filename,
            name=name,
            description=description,
            tags=tags,
            folder_id=folder_id,
            prompt=prompt,
            metadata=metadata,
            type=type,
            source=source,
            idempotency_key=idempotency_key,
            wait=wait,
        )
        return calls.asset_of(self._send(call))

    def import_url(
        self,
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
    ) -> Asset:
        """Have the server fetch a public http(s) URL and store it as an upload (retried
        safely, like `upload`, under one Idempotency-Key)."""
        call = calls.import_call(
            url,
            name=name,
            description=description,
            tags=tags,
            folder_id=folder_id,
            prompt=prompt,
            metadata=metadata,
            type=type,
            idempotency_key=idempotency_key,
            wait=wait,
        )
        return calls.asset_of(self._send(call))

    def get(self, asset_id: str) -> Asset:
        return calls.asset_of(self._send(calls.get_call(asset_id)))

    def update(
        self,
        asset_id: str,
        changes: Mapping[str, Any],
        *,
        if_match: IfMatch = None,
        wait: bool = False,
    ) -> Asset:
        """PATCH the fields in `changes` (name, description, tags, folder_id, prompt,
        metadata, favorite). `if_match`: the `revision` (or ETag) the change is based on;
        PreconditionFailedError when the asset changed since."""
        call = calls.update_call(asset_id, changes, if_match=if_match, wait=wait)
        return calls.asset_of(self._send(call))

    def delete(self, asset_id: str, *, force: bool = False) -> Asset:
        """Move to the trash (ConflictError while referenced, unless `force`)."""
        return calls.asset_of(self._send(calls.delete_call(asset_id, force=force)))

    # -- search -----------------------------------------------------------------------------

    def search(
        self,
        q: str | None = None,
        *,
        mode: SearchMode | str = SearchMode.AUTO,
        filters: Filters | Mapping[str, Any] | None = None,
        facets: Sequence[Facet | str] = (),
        facet_mode: FacetMode | str = FacetMode.CONJUNCTIVE,
        sort: str | None = None,
        limit: int = 20,
        cursor: str | None = None,
    ) -> SearchPage:
        """One page of results with the requested facets and the next page's cursor."""
        call = calls.search_call(
            q,
            mode=mode,
            filters=filters,
            facets=facets,
            facet_mode=facet_mode,
            sort=sort,
            limit=limit,
            cursor=cursor,
        )
        return calls.page_of(self._send(call))

    def iter_search(
        self,
        q: str | None = None,
        *,
        mode: SearchMode | str = SearchMode.AUTO,
        filters: Filters | Mapping[str, Any] | None = None,
        sort: str | None = None,
        page_size: int = 100,
    ) -> Iterator[SearchHit]:
        """Every hit of a search, following the cursors page by page."""
        cursor: str | None = None
        while True:
            page = self.search(
                q, mode=mode, filters=filters, sort=sort, limit=page_size, cursor=cursor
            )
            yield from page.items
            if not page.next_cursor or not page.items:
                return
            cursor = page.next_cursor

    def similar(self, asset_id: str, *, limit: int = 20) -> list[SearchHit]:
        """Visually similar assets (UnavailableError when the server has no CLIP model)."""
        return calls.hits_of(self._send(calls.similar_call(asset_id, limit=limit)))

    # -- content ----------------------------------------------------------------------------

    @contextlib.contextmanager
    def stream(self, asset_id: str, *, download: bool = False) -> Iterator[Iterator[bytes]]:
        """The original bytes in chunks, while the block runs."""
        response = self._send(calls.content_call(asset_id, download=download), stream=True)
        try:
            yield response.iter_bytes()
        finally:
            response.close()

    def content(self, asset_id: str) -> bytes:
        """The original bytes, whole (use `download` or `stream` for large files)."""
        return self._send(calls.content_call(asset_id)).content

    def download(self, asset_id: str, dest: str | os.PathLike[str] | BinaryIO) -> int:
        """Write the original to `dest` (a path, written to a temp file and renamed into
        place, or a binary stream); the number of bytes written."""
        if not isinstance(dest, str | os.PathLike):
            with self.stream(asset_id, download=True) as chunks:
                return _copy(chunks, dest)
        target = Path(dest)
        temp = target.with_name(f".{target.name}.part")
        try:
            with open(temp, "wb") as out, self.stream(asset_id, download=True) as chunks:
                written = _copy(chunks, out)
            os.replace(temp, target)
        finally:
            temp.unlink(missing_ok=True)
        return written

    # -- track ------------------------------------------------------------------------------

    @property
    def outbox(self) -> Outbox:
        """The durable outbox of `track()` (opened on first use; delivering what an earlier
        process left, in the background unless `deliver_in_background` is False)."""
        with self._outbox_lock:
            if self._closed:
                # Its sends would fail on the closed connections: a new outbox here would
                # only hold a thread retrying them. The next client delivers what is kept.
                raise ClientError("the client is closed")
            if self._outbox is None:
                outbox = Outbox(self._outbox_dir, self._deliver, self._delivery)
                if self._background:
                    outbox.start()
                self._outbox = outbox
            return self._outbox

    def track(
        self,
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
    ) -> str | None:
        """Save an output for upload and return at once: the file and its fields go to the
        durable local outbox, then to the server in the background, retried until
        delivered, exactly once. Never raises: returns the outbox item id, or None when
        even the outbox failed (logged)."""
        try:
            upload = calls.upload_file(file, filename)
            fields = {
                "name": name,
                "description": description,
                "tags": calls.tag_list(tags) or None,
                "folder_id": folder_id,
                "prompt": prompt,
                "metadata": calls.metadata_json(metadata) or None,
                "type": type,
                "source": source,
            }
            kept = {key: value for key, value in fields.items() if value is not None}
            return self.outbox.add(upload.source, upload.filename, kept)
        except Exception:
            log.exception("assetlens: could not keep an output for upload")
            return None

    def _deliver(self, item: OutboxItem) -> str:
        """One delivery attempt of an outbox item (the outbox retries, not this)."""
        call = calls.upload_call(
            item.path, filename=item.filename, idempotency_key=item.idempotency_key, **item.fields
        )
        try:
            return calls.asset_of(self._send(call, retry=NO_RETRY)).id
        except ConnectionFailed as exc:
            raise RetryLater(str(exc)) from exc
        except ProblemError as exc:
            if worth_retrying(exc):
                raise RetryLater(
                    str(exc), exc.retry_after, outage=exc.status in OUTAGE_STATUSES
                ) from exc
            raise Rejected(str(exc)) from exc

    # -- sending ----------------------------------------------------------------------------

    def _send(
        self, call: Call, *, retry: RetryPolicy | None = None, stream: bool = False
    ) -> httpx.Response:
        """Send `call`, retrying per policy when it is safe to; a success, or the typed
        problem of the last answer."""
        policy = (retry or self.retry) if call.retryable else NO_RETRY
        attempts = Attempts(policy, f"{call.method} {call.path}", call.headers)
        while True:
            attempts.next()
            try:
                with call.request(self._http) as request:
                    response = self._http.send(request, stream=stream)
            except httpx.TransportError as exc:
                time.sleep(attempts.wait_after_error(exc))
                continue
            wait = attempts.wait_after(response)
            if wait is None:
                break
            response.close()
            time.sleep(wait)
        if not response.is_success:
            response.read()
            response.close()
        return calls.checked(response)


def _copy(chunks: Iterator[bytes], out: BinaryIO) -> int:
    written = 0
    for chunk in chunks:
        out.write(chunk)
        written += len(chunk)
    return written
