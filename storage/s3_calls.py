"""Every request to the bucket goes through here: retried with exponential backoff and
jitter while the failure is transient, then raised as StoreUnavailable; every other SDK and
transport error mapped to the core's errors (s3_errors.py). Writes create the bucket first
when it is missing, or has vanished since."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from typing import TYPE_CHECKING, TypeVar
from xml.etree.ElementTree import ParseError

from minio import Minio
from minio.error import InvalidResponseError, MinioException, S3Error, ServerError
from urllib3.exceptions import HTTPError as TransportError

from assetlens.errors import AssetlensError, StoreUnavailable
from storage.s3_errors import (
    AlreadyOwned,
    Attempts,
    BucketMissing,
    Transient,
    describe_transport,
    map_s3_error,
    status_of,
)
from storage.s3_wire import signed_request, unquote

if TYPE_CHECKING:
    from urllib3 import BaseHTTPResponse

T = TypeVar("T")

MAX_DELAY = 5.0


class BucketCalls:
    def __init__(self, client: Minio, bucket: str, *, retries: int, backoff: float) -> None:
        self.client = client
        self.bucket = bucket
        self.retries = retries
        self._backoff = backoff
        self._bucket_ready = False
        self._bucket_lock = threading.Lock()
        self._random = random.Random()

    def call(
        self,
        action: str,
        key: str | None,
        fn: Callable[[], T],
        *,
        retries: int | None = None,
        attempts: Attempts | None = None,
    ) -> T:
        """Run `fn`, retrying transient failures with exponential backoff and jitter, and
        map every SDK and transport error to the core's errors."""
        limit = self.retries if retries is None else retries
        target = f" {key!r}" if key else f" (bucket {self.bucket!r})"
        reason = "unknown error"
        for attempt in range(limit + 1):
            try:
                return fn()
            except S3Error as exc:
                mapped = map_s3_error(exc, action, target, self.bucket)
                if isinstance(mapped, BucketMissing):
                    self._bucket_ready = False
                if mapped is not None:
                    raise mapped from exc
                reason = f"{exc.code} (HTTP {status_of(exc)})"
            except ServerError as exc:
                reason = f"HTTP {exc.status_code}"
            except InvalidResponseError as exc:
                reason = f"unexpected non-XML response: {str(exc)[:200]}"
            except Transient as exc:
                reason = exc.reason
            except (TransportError, OSError) as exc:
                reason = describe_transport(exc)
            except (MinioException, ParseError) as exc:
                reason = f"{type(exc).__name__}: {str(exc)[:200]}"
            if attempts is not None:
                attempts.transient_failures += 1
            if attempt < limit:
                delay = min(self._backoff * 2**attempt, MAX_DELAY)
                time.sleep(delay * self._random.uniform(0.5, 1.5))
        tries = "1 attempt" if limit == 0 else f"{limit + 1} attempts"
        raise StoreUnavailable(
            f"object store unavailable: could not {action}{target} after {tries}: {reason}"
        )

    def request(
        self,
        method: str,
        key: str,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
    ) -> BaseHTTPResponse:
        """One signed request on `key` of this bucket (`s3_wire.signed_request`), not
        retried: run it inside `call` or `write`."""
        return signed_request(
            self.client, method, self.bucket, key, body=body, headers=headers, query=query
        )

    def write(self, key: str, fn: Callable[[], T], attempts: Attempts) -> T:
        """Run a write, creating the bucket first when needed (also if it vanished)."""
        self._ensure_bucket()
        try:
            return self.call("write", key, fn, attempts=attempts)
        except BucketMissing:
            self._bucket_ready = False
            self._ensure_bucket()
            return self.call("write", key, fn, attempts=attempts)

    def holds(self, key: str, etag: str) -> bool:
        """Whether `key` now has `etag` (False when that cannot be told)."""
        try:
            obj = self.call("stat", key, lambda: self.client.stat_object(self.bucket, key))
        except AssetlensError:
            return False
        return unquote(obj.etag or "") == etag

    def _ensure_bucket(self) -> None:
        if self._bucket_ready:
            return
        with self._bucket_lock:
            if self._bucket_ready:
                return
            if not self.call(
                "look up bucket", None, lambda: self.client.bucket_exists(self.bucket)
            ):
                # AlreadyOwned: another process created it meanwhile.
                with suppress(AlreadyOwned):
                    self.call("create bucket", None, lambda: self.client.make_bucket(self.bucket))
            self._bucket_ready = True
