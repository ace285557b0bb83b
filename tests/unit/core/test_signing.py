"""Signed-link tokens and the signing secret, with fakes passed in."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from pydantic import ValidationError

from assetlens import layout
from assetlens.bootstrap import build
from assetlens.domain import Asset, AssetType
from assetlens.errors import StoreUnavailable
from assetlens.signing import (
    Disposition,
    LinkClaims,
    Rendition,
    SigningSecret,
    sign,
    verify,
)
from tests.conftest import make_settings
from tests.fakes import FakeObjectStore

SECRET = b"k" * 32
CLAIMS = LinkClaims(
    "alpha", "0" * 31 + "1", 3, Rendition.CONTENT, Disposition.ATTACHMENT, 1_900_000_000
)
B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def test_a_token_verifies_to_its_claims() -> None:
    assert verify(SECRET, sign(SECRET, CLAIMS)) == CLAIMS


def test_every_changed_character_breaks_the_token() -> None:
    token = sign(SECRET, CLAIMS)
    for position, char in enumerate(token):
        for replacement in ("A", "B", "_", "."):
            if replacement != char:
                changed = token[:position] + replacement + token[position + 1 :]
                assert verify(SECRET, changed) is None, (position, replacement)


def test_only_the_canonical_base64_spelling_verifies() -> None:
    # The last character of a 32-byte MAC carries 2 unused bits: spellings that differ
    # only there decode to the same bytes, and must still be refused.
    token = sign(SECRET, CLAIMS)
    last = B64URL.index(token[-1])
    aliases = [B64URL[(last & ~3) | low] for low in range(4) if (last & ~3) | low != last]
    assert aliases
    for alias in aliases:
        assert verify(SECRET, token[:-1] + alias) is None


def test_truncated_extended_and_foreign_tokens_are_refused() -> None:
    token = sign(SECRET, CLAIMS)
    for bad in (
        token[:-1],
        token + "A",
        token + "=",
        token.replace(".", ""),
        "",
        ".",
        "a.b.c",
        "x" * 10_000,
        sign(b"other" * 8, CLAIMS),
    ):
        assert verify(SECRET, bad) is None


def test_claims_the_server_never_makes_do_not_decode() -> None:
    for payload in (
        b"2|alpha|" + b"0" * 32 + b"|1|content|inline|1",  # unknown format
        b"1|Alpha!|" + b"0" * 32 + b"|1|content|inline|1",
        b"1|alpha|xyz|1|content|inline|1",
        b"1|alpha|" + b"0" * 32 + b"|-1|content|inline|1",
        b"1|alpha|" + b"0" * 32 + b"|1|large|inline|1",
        b"1|alpha|" + b"0" * 32 + b"|1|content|inline",
        b"1|alpha|" + b"0" * 32 + b"|1|content|inline|\xff",
    ):
        assert LinkClaims.decode(payload) is None


def test_a_generated_secret_is_persisted_once_and_shared() -> None:
    store = FakeObjectStore()
    first = SigningSecret(store).get()
    assert len(first) == 32
    assert SigningSecret(store).get() == first  # a second process reads the same one
    assert store.get_bytes(layout.signing_secret_key()).data == first.hex().encode()


def test_processes_starting_together_agree_on_one_secret() -> None:
    store = FakeObjectStore()
    barrier = threading.Barrier(8)
    found: list[bytes] = []

    def start() -> None:
        source = SigningSecret(store)
        barrier.wait()
        found.append(source.get())

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(found) == 8 and len(set(found)) == 1


def test_a_configured_secret_wins_and_nothing_is_written() -> None:
    store = FakeObjectStore()
    assert SigningSecret(store, SECRET).get() == SECRET
    assert not store.exists(layout.signing_secret_key())


def test_a_damaged_stored_secret_is_never_used() -> None:
    store = FakeObjectStore()
    store.put_bytes(layout.signing_secret_key(), b"not hex")
    with pytest.raises(StoreUnavailable):
        SigningSecret(store).get()


def test_the_configured_secret_is_what_the_container_signs_with(tmp_path: Path) -> None:
    store = FakeObjectStore()
    configured = "s" * 40
    wired = build(
        make_settings(tmp_path / "data", signing_secret=configured), store=store, use_embedder=False
    )
    try:
        asset = Asset(
            workspace="ws",
            name="a.png",
            type=AssetType.IMAGE,
            mime="image/png",
            extension="png",
            size_bytes=1,
            sha256="cd" * 32,
        )
        wired.assets.manifests.create(asset)
        token = wired.links.sign("ws", asset.id, expires_in=60).token
        claims = verify(configured.encode(), token)
        assert claims is not None and claims.asset_id == asset.id
        assert not store.exists(layout.signing_secret_key())
    finally:
        wired.close()


def test_a_short_configured_secret_is_refused_at_startup(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="signing_secret"):
        make_settings(tmp_path, signing_secret="too short")
