"""`AsyncAssetlensClient`: the asyncio client (same calls, same models, same retries)."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO

import httpx

from assetlens.client import calls
from assetlens.client.calls import Call, IfMatch, UploadSource
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
from assetlens.client.outbox import DeliveryPolicy
from assetlens.client.retry import NO_RETRY, Attempts, RetryPolicy
from assetlens.client.sync import AssetlensClient, client_headers


class AsyncAssetlensClient:
    """The asyncio twin of `AssetlensClient`; see there. `track()` hands the file to the
    same durable outbox, delivered by a background thread."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        outbox_dir: str | os.PathLike[str] | None = None,
        delivery: DeliveryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self._api_key = api_key
        self._timeout = timeout
        self._outbox_dir = outbox_dir
        self._delivery = delivery
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers=client_headers(api_key),
            timeout=timeout,
            transport=transport,
        )
        self._tracker: AssetlensClient | None = None

    async def __aenter__(self) -> AsyncAssetlensClient:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._tracker is not None:
            await asyncio.to_thread(self._tracker.close)
            self._tracker = None
        await self._http.aclose()

    async def upload(
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
        """See `AssetlensClient.upload`."""
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
        return calls.asset_of(await self._send(call))

    async def import_url(
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
        return calls.asset_of(await self._send(call))

    async def get(self, asset_id: str) -> Asset:
        return calls.asset_of(await self._send(calls.get_call(asset_id)))

    async def update(
        self,
        asset_id: str,
        changes: Mapping[str, Any],
        *,
        if_match: IfMatch = None,
        wait: bool = False,
    ) -> Asset:
        """See `AssetlensClient.update`."""
        call = calls.update_call(asset_id, changes, if_match=if_match, wait=wait)
        return calls.asset_of(await self._send(call))

    async def delete(self, asset_id: str, *, force: bool = False) -> Asset:
        return calls.asset_of(await self._send(calls.delete_call(asset_id, force=force)))

    async def search(
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
        return calls.page_of(await self._send(call))

    async def iter_search(
        self,
        q: str | None = None,
        *,
        mode: SearchMode | str = SearchMode.AUTO,
        filters: Filters | Mapping[str, Any] | None = None,
        sort: str | None = None,
        page_size: int = 100,
    ) -> AsyncIterator[SearchHit]:
        """Every hit of a search, following the cursors page by page."""
        cursor: str | None = None
        while True:
            page = await self.search(
                q, mode=mode, filters=filters, sort=sort, limit=page_size, cursor=cursor
            )
            for hit in page.items:
                yield hit
            if not page.next_cursor or not page.items:
                return
            cursor = page.next_cursor

    async def similar(self, asset_id: str, *, limit: int = 20) -> list[SearchHit]:
        return calls.hits_of(await self._send(calls.similar_call(asset_id, limit=limit)))

    @contextlib.asynccontextmanager
    async def stream(
        self, asset_id: str, *, download: bool = False
    ) -> AsyncIterator[AsyncIterator[bytes]]:
        """The original bytes in chunks, while the block runs."""
        response = await self._send(calls.content_call(asset_id, download=download), stream=True)
        try:
            yield response.aiter_bytes()
        finally:
            await response.aclose()

    async def content(self, asset_id: str) -> bytes:
        return (await self._send(calls.content_call(asset_id))).content

    async def download(self, asset_id: str, dest: str | os.PathLike[str] | BinaryIO) -> int:
        """See `AssetlensClient.download` (the file is opened, written and renamed in
        worker threads, chunk by chunk, so the loop is never blocked on the disk)."""
        if not isinstance(dest, str | os.PathLike):
            return await self._copy_to(asset_id, dest)
        target = Path(dest)
        temp = target.with_name(f".{target.name}.part")
        try:
            out = await asyncio.to_thread(open, temp, "wb")
            try:
                written = await self._copy_to(asset_id, out)
            finally:
                await asyncio.to_thread(out.close)
            await asyncio.to_thread(os.replace, temp, target)
        finally:
            await asyncio.to_thread(temp.unlink, missing_ok=True)
        return written

    async def _copy_to(self, asset_id: str, out: BinaryIO) -> int:
        written = 0
        async with self.stream(asset_id, download=True) as chunks:
            async for chunk in chunks:
                await asyncio.to_thread(out.write, chunk)
                written += len(chunk)
        return written

    async def track(
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
        """See `AssetlensClient.track` (the disk writes run in a worker thread)."""
        if self._tracker is None:
            self._tracker = AssetlensClient(
                self.base_url,
                self._api_key,
                timeout=self._timeout,
                outbox_dir=self._outbox_dir,
                delivery=self._delivery,
            )
        return await asyncio.to_thread(
            self._tracker.track,
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
        )

    async def _send(self, call: Call, *, stream: bool = False) -> httpx.Response:
        """See `AssetlensClient._send`."""
        policy = self.retry if call.retryable else NO_RETRY
        attempts = Attempts(policy, f"{call.method} {call.path}", call.headers)
        while True:
            attempts.next()
            try:
                async with _request(call, self._http) as request:
                    response = await self._http.send(request, stream=stream)
            except httpx.TransportError as exc:
                await asyncio.sleep(attempts.wait_after_error(exc))
                continue
            wait = attempts.wait_after(response)
            if wait is None:
                break
            await response.aclose()
            await asyncio.sleep(wait)
        if not response.is_success:
            await response.aread()
            await response.aclose()
        return calls.checked(response)


@contextlib.asynccontextmanager
async def _request(call: Call, http: httpx.AsyncClient) -> AsyncIterator[httpx.Request]:
    """`call.request(http)` without blocking the event loop on the upload's file: it is
    opened, read and closed in worker threads."""
    if call.file is None:
        with call.request(http) as request:
            yield request
        return
    opened = call.request(http)
    request = await asyncio.to_thread(opened.__enter__)
    try:
        request.stream = _ThreadedBody(request.stream)
        yield request
    except BaseException as exc:
        if not await asyncio.to_thread(opened.__exit__, type(exc), exc, exc.__traceback__):
            raise
    else:
        await asyncio.to_thread(opened.__exit__, None, None, None)


class _ThreadedBody(httpx.AsyncByteStream):
    """A request body (httpx's multipart encoder, which reads the file as it goes) whose
    every chunk is produced in a worker thread, so a large or slow file never stalls
    the other tasks of the loop."""

    def __init__(self, body: httpx.SyncByteStream | httpx.AsyncByteStream) -> None:
        if not isinstance(body, httpx.SyncByteStream):
            raise TypeError("an upload body is read synchronously by httpx")
        self._body = body

    async def __aiter__(self) -> AsyncIterator[bytes]:
        chunks = iter(self._body)
        while (chunk := await asyncio.to_thread(next, chunks, None)) is not None:
            yield chunk
