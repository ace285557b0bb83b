"""Fetching a file from a URL a client gave, without letting it reach anything private
(SSRF): only public addresses, checked after resolution and connected to as checked."""

from assetlens.urlfetch.errors import RefusedTarget, UpstreamError, UpstreamTimeout
from assetlens.urlfetch.fetcher import MAX_REDIRECTS, UrlFetcher
from assetlens.urlfetch.guard import AddressPolicy, Resolver, is_public, system_resolver

__all__ = [
    "MAX_REDIRECTS",
    "AddressPolicy",
    "RefusedTarget",
    "Resolver",
    "UpstreamError",
    "UpstreamTimeout",
    "UrlFetcher",
    "is_public",
    "system_resolver",
]
