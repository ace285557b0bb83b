"""What a URL import answers when the target is refused or misbehaves."""

from __future__ import annotations

from assetlens.errors import AssetlensError, InvalidInput


class RefusedTarget(InvalidInput):
    """The URL may not be fetched: not http(s), or a host that is not public (422)."""

    title = "URL refused"


class UpstreamError(AssetlensError):
    """The remote server failed: an error status, a broken connection, too many
    redirects (502)."""

    status = 502
    title = "Bad gateway"


class UpstreamTimeout(AssetlensError):
    """The fetch did not finish within its total deadline (504)."""

    status = 504
    title = "Gateway timeout"
