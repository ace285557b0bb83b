"""Browser-session plumbing: the session cookie, the request's own origin and the
cross-site request checks made on cookie-authenticated writes."""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from fastapi import Request, Response
from fastapi.security import APIKeyCookie

from assetlens.config import Settings
from assetlens.errors import Forbidden
from assetlens.sessions import Session, SignIn

COOKIE_NAME = "assetlens_session"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_CROSS_SITE = "cross-site request refused"

# Declares the cookie scheme in OpenAPI; get_caller answers the 401 itself.
session_cookie = APIKeyCookie(
    name=COOKIE_NAME,
    auto_error=False,
    scheme_name="session",
    description="a browser session from `POST /v1/session`; writes also need the "
    f"`{CSRF_HEADER}` header",
)


def _forwarded(request: Request, settings: Settings, header: str) -> str | None:
    if not settings.trust_forwarded_headers:
        return None
    # A chain of proxies appends: the first value is the client-facing one.
    first = request.headers.get(header, "").split(",")[0].strip()
    return first or None


def is_https(request: Request, settings: Settings) -> bool:
    """Whether the browser reached us over https (through a trusted proxy's word if set)."""
    proto = _forwarded(request, settings, "x-forwarded-proto")
    return (proto or request.url.scheme).lower() == "https"


def _origin(scheme: str, netloc: str) -> str | None:
    try:
        parts = urlsplit(f"{scheme}://{netloc}")
        port = parts.port or _DEFAULT_PORTS.get(scheme)
    except ValueError:
        return None
    if not parts.hostname or parts.path or parts.username is not None:
        return None
    return f"{scheme}://{parts.hostname.lower()}:{port}"


def own_origin(request: Request, settings: Settings) -> str | None:
    """This server's origin as the browser sees it (scheme://host:port, port explicit)."""
    scheme = "https" if is_https(request, settings) else "http"
    host = _forwarded(request, settings, "x-forwarded-host") or request.headers.get("host", "")
    return _origin(scheme, host)


def check_same_origin(request: Request, settings: Settings) -> None:
    """Refuse (403) a request whose `Origin` header names another origin."""
    origin = request.headers.get("origin")
    if origin is None:
        return  # not a cross-origin browser request (same-origin GET, curl, …)
    parts = urlsplit(origin.strip().lower())
    claimed = _origin(parts.scheme, parts.netloc) if parts.scheme in _DEFAULT_PORTS else None
    mine = own_origin(request, settings)
    if claimed is None or mine is None or claimed != mine:
        raise Forbidden(_CROSS_SITE)


def check_csrf(request: Request, session: Session, settings: Settings) -> None:
    """A cookie-authenticated write must echo the session's CSRF token and come from
    this origin; 403 otherwise."""
    if request.method not in UNSAFE_METHODS:
        return
    token = request.headers.get(CSRF_HEADER, "")
    if not hmac.compare_digest(token.encode(), session.csrf_token.encode()):
        raise Forbidden(f"{_CROSS_SITE}: send the `{CSRF_HEADER}` header from sign-in")
    check_same_origin(request, settings)


def set_session_cookie(response: Response, signed: SignIn, *, secure: bool) -> None:
    lifetime = signed.session.expires_at - signed.session.created_at
    response.set_cookie(
        COOKIE_NAME,
        signed.session_id,
        max_age=int(lifetime.total_seconds()),
        path="/",
        httponly=True,
        samesite="strict",
        secure=secure,
    )


def clear_session_cookie(response: Response, *, secure: bool) -> None:
    response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="strict", secure=secure)
