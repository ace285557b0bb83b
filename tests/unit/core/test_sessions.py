"""ApiKeys and Sessions on the fake store: expiry, revocation, legacy keys, purging."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from assetlens import layout
from assetlens.access import Scope
from assetlens.apikeys import ApiKeys, key_hash
from assetlens.errors import NotFound, Unauthorized
from assetlens.sessions import Sessions
from tests.fakes import FakeObjectStore


@pytest.fixture
def store() -> FakeObjectStore:
    return FakeObjectStore()


def test_a_key_is_stored_hashed_and_listed_per_workspace(store: FakeObjectStore) -> None:
    keys = ApiKeys(store)
    new = keys.issue("alpha", "ci", frozenset({Scope.WRITE}))
    keys.issue("beta")
    stored = b"".join(store.get_bytes(k).data for k in store.list_keys("system/"))
    assert new.key.encode() not in stored
    assert [info.id for info in keys.list("alpha")] == [new.info.id]
    assert keys.list("alpha")[0].scopes == frozenset({Scope.WRITE})
    with pytest.raises(NotFound):
        keys.revoke("beta", new.info.id)
    assert keys.identify(new.key).workspace == "alpha"


def test_a_key_made_before_listing_existed_is_listed_on_first_use(store: FakeObjectStore) -> None:
    key = "alk_" + "L" * 43
    legacy = {
        "workspace": "alpha",
        "name": "old",
        "created_at": "2026-01-01T00:00:00+00:00",
        "hint": key[:8],
    }
    store.put_bytes(layout.api_key_key(key_hash(key)), json.dumps(legacy).encode())
    keys = ApiKeys(store)
    assert keys.list("alpha") == []
    caller = keys.identify(key)
    assert caller.scopes == frozenset({Scope.ADMIN})  # pre-scope keys could do everything
    listed = keys.list("alpha")
    assert [info.id for info in listed] == [caller.key_id] == [key_hash(key)[:16]]
    keys.revoke("alpha", caller.key_id)
    with pytest.raises(Unauthorized, match="revoked"):
        keys.identify(key)


def test_sessions_expire_and_end_with_their_key(store: FakeObjectStore) -> None:
    keys = ApiKeys(store)
    new = keys.issue("alpha", scopes=frozenset({Scope.READ}))
    sessions = Sessions(store, keys, ttl=timedelta(hours=1))
    signed = sessions.sign_in(new.key)
    session = sessions.resolve(signed.session_id)
    assert session.caller.via_session and session.caller.workspace == "alpha"
    assert session.expires_at - session.created_at == timedelta(hours=1)
    assert signed.session_id.encode() not in b"".join(
        store.get_bytes(k).data for k in store.list_keys(layout.SESSION_PREFIX)
    )
    keys.revoke("alpha", new.info.id)
    with pytest.raises(Unauthorized, match="revoked"):
        sessions.resolve(signed.session_id)
    assert list(store.list_keys(layout.SESSION_PREFIX)) == []  # dropped with its key
    expired = Sessions(store, keys, ttl=timedelta(seconds=-1))
    stale = expired.sign_in(keys.create("alpha"))
    with pytest.raises(Unauthorized, match="expired"):
        expired.resolve(stale.session_id)
    for bad in ("", "x" * 43 + "!", "../../etc/passwd", "A" * 5000):
        with pytest.raises(Unauthorized):
            sessions.resolve(bad)


def test_purge_removes_only_expired_sessions(store: FakeObjectStore) -> None:
    keys = ApiKeys(store)
    key = keys.create("alpha")
    Sessions(store, keys, ttl=timedelta(seconds=-1)).sign_in(key)
    live = Sessions(store, keys, ttl=timedelta(hours=1))
    kept = live.sign_in(key)
    assert live.purge_expired() == 1
    assert live.resolve(kept.session_id).caller.workspace == "alpha"
    assert len(list(store.list_keys(layout.SESSION_PREFIX))) == 1
