"""Download one file from a client-given http(s) URL into the spool, SSRF-safe.

Every TCP connection goes through `GuardedBackend`: it resolves the host once, refuses the
whole answer when any address is not permitted (so DNS answering public and private, or
rebinding between check and use, gains nothing), and connects to the checked address
itself. TLS still verifies the certificate against the URL's host name (SNI too): only the
address lookup is pinned. Redirects are followed here, at most `MAX_REDIRECTS`, each one
checked like the first URL. One deadline bounds the whole fetch, the byte cap holds while
streaming whatever Content-Length says, and no proxy settings from the environment apply.
"""

from __future__ import annotations

import email.message
import ssl
import time
import typing
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote

import httpcore
import httpx

from assetlens import media
from assetlens.errors import PayloadTooLarge
from assetlens.spool import Spooled, Spooler
from assetlens.urlfetch.errors import RefusedTarget, UpstreamError, UpstreamTimeout
from assetlens.urlfetch.guard import AddressPolicy, Resolver, system_resolver

MAX_REDIRECTS = 5
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_MAX_NAME = 200
_EXTENSION_BY_MIME = {mime: ext for ext, mime in reversed(list(media.MIME_BY_EXTENSION.items()))}
USER_AGENT = "Assetlens-URL-import/1"


class Deadline:
    """One point in time the whole fetch must finish by."""

    def __init__(self, seconds: float) -> None:
        self._end = time.monotonic() + seconds

    def remaining(self) -> float:
        left = self._end - time.monotonic()
        if left <= 0:
            raise UpstreamTimeout("the download did not finish in time")
        return left


class GuardedBackend(httpcore.NetworkBackend):
    """Connects only to resolved addresses the policy permits, and only to those."""

    def __init__(
        self,
        policy: AddressPolicy,
        resolver: Resolver,
        deadline: Deadline,
        inner: httpcore.NetworkBackend | None = None,
    ) -> None:
        self._policy = policy
        self._resolver = resolver
        self._deadline = deadline
        self._inner = inner or httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = self._resolver(host.strip("[]"), port, self._deadline.remaining())
        if not addresses:
            raise UpstreamError("the URL's host does not resolve")
        if not all(self._policy.permits(address) for address in addresses):
            raise RefusedTarget(
                "the URL's host is not a public address "
                "(loopback, private, link-local and similar are refused)"
            )
        failure: Exception | None = None
        for address in addresses:
            budget = self._deadline.remaining()
            try:
                return self._inner.connect_tcp(
                    str(address),
                    port,
                    timeout=min(timeout or budget, budget),
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        raise UpstreamError("could not connect to the URL's host") from failure

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def check_url(url: str) -> httpx.URL:
    """The URL parsed and normalised (IDNA host, percent-encoded path), if it may be
    fetched at all: http or https, a host, no credentials."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise RefusedTarget("not a valid URL") from exc
    if parsed.scheme not in ("http", "https"):
        raise RefusedTarget("only http and https URLs can be imported")
    if not parsed.host:
        raise RefusedTarget("the URL has no host")
    if parsed.userinfo:
        raise RefusedTarget("URLs with credentials are not accepted")
    return parsed


class UrlFetcher:
    """Fetches URLs into spooled files under `spool_dir`."""

    def __init__(
        self,
        policy: AddressPolicy,
        *,
        timeout: float,
        spool_dir: Path,
        resolver: Resolver = system_resolver,
        ssl_context: ssl.SSLContext | None = None,
        network: httpcore.NetworkBackend | None = None,
    ) -> None:
        self._policy = policy
        self._timeout = timeout
        self._spool_dir = spool_dir
        self._resolver = resolver
        self._ssl = ssl_context or ssl.create_default_context()
        self._network = network

    def fetch(self, url: str, limit_for: Callable[[str], int]) -> Spooled:
        """The file at `url`, spooled. `limit_for(filename)` gives the byte cap for the
        file name found (from Content-Disposition or the URL path, with an extension
        from Content-Type when it has none) or raises to refuse the file before any of
        its body is read."""
        deadline = Deadline(self._timeout)
        target = check_url(url)
        backend = GuardedBackend(self._policy, self._resolver, deadline, self._network)
        # No keep-alive: every hop opens (and so checks) its own connection.
        with httpcore.ConnectionPool(
            ssl_context=self._ssl, network_backend=backend, max_keepalive_connections=0, retries=0
        ) as pool:
            for _ in range(MAX_REDIRECTS + 1):
                spooled, location = self._get(pool, target, deadline, limit_for)
                if spooled is not None:
                    return spooled
                target = check_url(str(target.join(location)))
        raise UpstreamError(f"more than {MAX_REDIRECTS} redirects")

    def _get(
        self,
        pool: httpcore.ConnectionPool,
        target: httpx.URL,
        deadline: Deadline,
        limit_for: Callable[[str], int],
    ) -> tuple[Spooled | None, str]:
        """One request: the spooled body, or (None, Location) for a redirect."""
        budget = deadline.remaining()
        url = httpcore.URL(
            scheme=target.raw_scheme, host=target.raw_host, port=target.port, target=target.raw_path
        )
        headers = [
            (b"Host", target.netloc),
            (b"User-Agent", USER_AGENT.encode()),
            (b"Accept", b"*/*"),
            (b"Accept-Encoding", b"identity"),
        ]
        # Each read may take at most what is left of the deadline, so a stalled server
        # cannot hold the fetch past it; a slow drip is caught between reads.
        timeouts = {"connect": budget, "read": budget, "write": budget, "pool": budget}
        try:
            with pool.stream(
                "GET", url, headers=headers, extensions={"timeout": timeouts}
            ) as response:
                return self._receive(response, target, deadline, limit_for)
        except httpcore.TimeoutException as exc:
            raise UpstreamTimeout("the download did not finish in time") from exc
        except (httpcore.NetworkError, httpcore.ProtocolError) as exc:
            raise UpstreamError("the connection to the URL's host failed") from exc

    def _receive(
        self,
        response: httpcore.Response,
        target: httpx.URL,
        deadline: Deadline,
        limit_for: Callable[[str], int],
    ) -> tuple[Spooled | None, str]:
        headers = httpx.Headers(response.headers)
        if response.status in _REDIRECTS:
            location = headers.get("location")
            if not location:
                raise UpstreamError(f"the server answered {response.status} without Location")
            return None, location
        if not 200 <= response.status < 300:
            raise UpstreamError(f"the server answered {response.status}")
        filename = file_name(headers, target)
        limit = limit_for(filename)
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise PayloadTooLarge(f"the file exceeds the limit of {limit} bytes")
        spooler = Spooler(self._spool_dir, filename, limit)
        try:
            for chunk in typing.cast(typing.Iterable[bytes], response.stream):
                spooler.write(chunk)  # raises PayloadTooLarge past the cap
                deadline.remaining()
        except BaseException:
            spooler.abort()
            raise
        return spooler.finish(), ""


def file_name(headers: httpx.Headers, url: httpx.URL) -> str:
    """A file name for the download: Content-Disposition's, else the URL path's last
    segment; reduced to a plain base name, with an extension from Content-Type when it has
    no allowed one. Only a suggestion: the stored display name is normalised again."""
    name = ""
    disposition = headers.get("content-disposition")
    if disposition:
        message = email.message.Message()
        message["content-disposition"] = disposition
        name = message.get_filename() or ""
    if not name:
        name = unquote(url.path.rsplit("/", 1)[-1])
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable()).strip().strip(".")
    if len(name) > _MAX_NAME:  # shorten the stem, keeping the extension
        stem, dot, extension = name.rpartition(".")
        name = f"{stem[: _MAX_NAME - 17]}.{extension[:16]}" if dot else name[:_MAX_NAME]
    if media.classify_extension(name) is None:
        mime = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        suggested = _EXTENSION_BY_MIME.get(mime)
        if suggested:
            name = f"{name or 'download'}.{suggested}"
    return name or "download"
