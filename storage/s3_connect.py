"""The SDK clients an S3 store talks through, built from settings: the endpoint checked and
split into what `Minio` takes, and connection pools with bounded timeouts and no retries
of their own (the store retries itself, s3_calls.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import urllib3
from minio import Minio

if TYPE_CHECKING:
    from assetlens.config import Settings

# The health probe (`check()`) gives up quickly: a readiness answer must not hang.
PROBE_CONNECT_TIMEOUT = 2.0
PROBE_READ_TIMEOUT = 3.0


def http_client(
    *, connect_timeout: float = 5.0, read_timeout: float = 60.0, max_connections: int = 16
) -> urllib3.PoolManager:
    """A connection pool for the SDK with bounded timeouts and no retries of its own: the
    SDK's default pool waits 5 minutes and retries 5xx silently, while this adapter retries
    itself, with backoff, and then reports StoreUnavailable."""
    return urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout),
        maxsize=max_connections,
        retries=urllib3.Retry(
            total=0, connect=0, read=0, redirect=0, status=0, other=0, raise_on_status=False
        ),
        cert_reqs="CERT_REQUIRED",
    )


def clients_for(
    settings: Settings, *, connect_timeout: float | None = None, read_timeout: float | None = None
) -> tuple[Minio, Minio]:
    """(the client for every call, the probe client with short timeouts) for
    `settings.s3_*` (timeouts from `s3_connect_timeout_seconds` and
    `s3_read_timeout_seconds` unless given). Raises ValueError for an endpoint that is not
    `http(s)://host[:port]`."""
    if connect_timeout is None:
        connect_timeout = settings.s3_connect_timeout_seconds
    if read_timeout is None:
        read_timeout = settings.s3_read_timeout_seconds
    parts = urlsplit(settings.s3_endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"s3_endpoint must be http(s)://host[:port], got {parts.geturl()!r}")
    if parts.path.strip("/") or parts.query or parts.username:
        raise ValueError("s3_endpoint must not carry a path, query or credentials")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    endpoint = f"{host}:{parts.port}" if parts.port else host

    def client(pool: urllib3.PoolManager) -> Minio:
        return Minio(
            endpoint,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key.get_secret_value(),
            secure=parts.scheme == "https",
            region=settings.s3_region,
            http_client=pool,
        )

    probe = http_client(
        connect_timeout=min(connect_timeout, PROBE_CONNECT_TIMEOUT),
        read_timeout=min(read_timeout, PROBE_READ_TIMEOUT),
        max_connections=2,
    )
    main = http_client(connect_timeout=connect_timeout, read_timeout=read_timeout)
    return client(main), client(probe)
