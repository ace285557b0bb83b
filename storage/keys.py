"""Object key rules shared by every ObjectStore adapter.

Keys are made by the core, never taken from users, but they still become filesystem paths
(local store) or URL paths (S3), so they are checked here: a key that passes can never
escape the store's root or mean two different things on two backends.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from assetlens.errors import InvalidInput

MAX_KEY_LENGTH = 512
# Filesystems cap one path component at 255 bytes (NAME_MAX); checking it here turns what
# would be an ENAMETOOLONG deep in a write into an InvalidInput on every backend alike.
MAX_SEGMENT_LENGTH = 255

_SEGMENT_CHARS = re.compile(r"[A-Za-z0-9._-]+")
_PREFIX_CHARS = re.compile(r"[A-Za-z0-9._/-]*")


def _check_segment(segment: str, whole: str, what: str) -> None:
    if segment in ("", ".", ".."):
        raise InvalidInput(f"{what} {whole!r} has an empty, '.' or '..' segment")
    if len(segment) > MAX_SEGMENT_LENGTH:
        raise InvalidInput(f"{what} {whole!r} has a segment over {MAX_SEGMENT_LENGTH} characters")


def validate_key(key: str) -> str:
    """Return `key` unchanged if it is a valid object key, else raise InvalidInput.

    Valid: `/`-separated segments of ASCII letters, digits, `.`, `_` and `-`; no empty,
    `.` or `..` segment; no leading or trailing `/`; at most 512 characters.
    """
    if not isinstance(key, str) or not key:
        raise InvalidInput("object key must be a non-empty string")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidInput(f"object key is longer than {MAX_KEY_LENGTH} characters")
    for segment in key.split("/"):
        if segment and _SEGMENT_CHARS.fullmatch(segment) is None:
            raise InvalidInput(f"object key {key!r} has characters outside [A-Za-z0-9._-/]")
        _check_segment(segment, key, "object key")
    return key


def validate_batch_keys(keys: Iterable[str]) -> list[str]:
    """The keys of a `put_many` batch, each valid and none twice, else InvalidInput."""
    checked = [validate_key(key) for key in keys]
    if len(set(checked)) != len(checked):
        raise InvalidInput("a batch of objects names the same key twice")
    return checked


def validate_prefix(prefix: str) -> str:
    """Return `prefix` unchanged if it can start a valid key, else raise InvalidInput.

    A prefix may be empty (every key) and may end in the middle of a segment (`queue/17`
    matches `queue/1700…`) or right after a `/`; its complete segments follow key rules.
    """
    if not isinstance(prefix, str):
        raise InvalidInput("key prefix must be a string")
    if len(prefix) > MAX_KEY_LENGTH:
        raise InvalidInput(f"key prefix is longer than {MAX_KEY_LENGTH} characters")
    if _PREFIX_CHARS.fullmatch(prefix) is None:
        raise InvalidInput(f"key prefix {prefix!r} has characters outside [A-Za-z0-9._-/]")
    if not prefix:
        return prefix
    *complete, partial = prefix.split("/")
    for segment in complete:
        _check_segment(segment, prefix, "key prefix")
    if len(partial) > MAX_SEGMENT_LENGTH:
        raise InvalidInput(
            f"key prefix {prefix!r} has a segment over {MAX_SEGMENT_LENGTH} characters"
        )
    return prefix
