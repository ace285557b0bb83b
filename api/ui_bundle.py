"""The web UI's static files (api/ui/), read from the installed package.

The files ship inside the Python distribution (package data), so `pip install` users get
the UI with no build step and nothing loaded from the internet.
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

UI_DIR = Path(__file__).resolve().parent / "ui"

MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".webp": "image/webp",
    ".json": "application/json",
}

# The UI page may load only its own files and the API's media; nothing else, no framing.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' blob: data:; media-src 'self'; style-src 'self'; "
    "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


@dataclass(frozen=True)
class UiFile:
    """One static file: its bytes, media type and a strong ETag of its content."""

    body: bytes
    media_type: str
    etag: str

    @property
    def version(self) -> str:
        """A short content hash, used as `?v=` to make a URL immutable."""
        return self.etag.strip('"')[:12]


class UiBundle:
    """The UI files under one directory, read once and kept in memory (they are small)."""

    def __init__(self, root: Path = UI_DIR) -> None:
        self._root = root.resolve()
        self._cache: dict[str, UiFile] = {}
        self._index: UiFile | None = None
        self._lock = threading.Lock()

    def get(self, relative: str) -> UiFile | None:
        """The file at `relative` (a URL path below the UI root), or None when there is
        none, it has an unknown type, or the path tries to leave the root."""
        with self._lock:
            found = self._cache.get(relative)
        if found is None:
            # Misses are not cached: any client could grow the cache with made-up paths.
            found = self._load(relative)
            if found is not None:
                with self._lock:
                    self._cache[relative] = found
        return found

    def index(self) -> UiFile | None:
        """index.html with `{{v:PATH}}` placeholders replaced by content versions, so the
        page names immutable URLs of its stylesheet and entry script, and `{{modulepreload}}`
        by a `<link rel="modulepreload">` per module, so the browser fetches the whole module
        graph at once instead of discovering it import by import."""
        if self._index is None:
            self._index = self._build_index()
        return self._index

    def _build_index(self) -> UiFile | None:
        page = self.get("index.html")
        if page is None:
            return None
        text = page.body.decode("utf-8").replace("{{modulepreload}}", self._preloads())

        def version(match: re.Match[str]) -> str:
            found = self.get(match.group(1))
            return found.version if found else "0"

        body = _PLACEHOLDER.sub(version, text).encode("utf-8")
        return UiFile(body, page.media_type, _etag(body))

    def _preloads(self) -> str:
        # The URLs the modules import each other by (no version query: a preload must name
        # exactly the URL the import resolves to, or the module is fetched twice).
        modules = sorted(p.name for p in (self._root / "js").glob("*.js") if p.name != "main.js")
        return "\n  ".join(f'<link rel="modulepreload" href="/ui/js/{name}">' for name in modules)

    def _load(self, relative: str) -> UiFile | None:
        parts = PurePosixPath(relative).parts
        if not parts or any(
            p in ("..", ".") or p.startswith(".") or "\\" in p or "\0" in p for p in parts
        ):
            return None
        path = (self._root / PurePosixPath(*parts)).resolve()
        media_type = MEDIA_TYPES.get(path.suffix.lower())
        if media_type is None or not path.is_relative_to(self._root) or not path.is_file():
            return None
        body = path.read_bytes()
        return UiFile(body, media_type, _etag(body))


_PLACEHOLDER = re.compile(r"\{\{v:([A-Za-z0-9_./-]+)\}\}")


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
