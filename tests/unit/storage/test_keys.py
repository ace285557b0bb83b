"""Key rules: whatever passes validation stays inside the store's directory."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from assetlens.errors import InvalidInput
from storage.keys import validate_key, validate_prefix

# Characters that matter for paths, plus a few that never may appear in a key.
_ALPHABET = st.sampled_from(list("ab0._-/\\:~ \x00é\u2024"))


@given(st.text(_ALPHABET, max_size=40))
def test_valid_keys_stay_under_the_root(candidate: str) -> None:
    root = Path("/srv/store/objects")
    try:
        key = validate_key(candidate)
    except InvalidInput:
        return
    resolved = Path(*(root.parts + tuple(key.split("/"))))
    assert Path("/srv/store/objects") in resolved.parents
    assert ".." not in resolved.parts
    assert key.isascii()
    assert not key.startswith("/")
    assert not key.endswith("/")


@given(st.text(_ALPHABET, max_size=40))
def test_every_key_is_a_valid_prefix_of_itself(candidate: str) -> None:
    try:
        key = validate_key(candidate)
    except InvalidInput:
        return
    for end in range(len(key) + 1):
        assert validate_prefix(key[:end]) == key[:end]
