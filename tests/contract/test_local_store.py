"""The ObjectStore contract against the local filesystem adapter."""

from __future__ import annotations

from pathlib import Path

import pytest

from assetlens.errors import InvalidInput
from assetlens.ports import NewObject
from storage.local import BATCH_FILES, LocalObjectStore
from tests.contract.object_store_contract import ObjectStoreContract


class TestLocalObjectStore(ObjectStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> LocalObjectStore:
        return LocalObjectStore(tmp_path / "store")


def test_a_batch_longer_than_the_files_held_open_at_once_is_written_whole(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "store")
    count = 2 * BATCH_FILES + 3
    objects = [
        NewObject(f"derived/{n % 5}/{n:04d}.webp", n.to_bytes(2, "big")) for n in range(count)
    ]
    infos = store.put_many(objects)
    assert [info.key for info in infos] == [obj.key for obj in objects]
    assert all(store.get_bytes(obj.key).data == obj.data for obj in objects)
    # Nothing staged is left behind in tmp/: every file was renamed onto its key.
    assert list((tmp_path / "store" / "tmp").iterdir()) == []


def test_a_batch_that_collides_with_a_key_path_fails_cleanly(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "store")
    store.put_bytes("a/b", b"below a")
    with pytest.raises(InvalidInput):
        store.put_many([NewObject("c", b"fine"), NewObject("a", b"where a directory is")])
    assert store.get_bytes("a/b").data == b"below a"
    assert list((tmp_path / "store" / "tmp").iterdir()) == []
