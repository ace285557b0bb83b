"""The ObjectStore contract against the local filesystem adapter."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage.local import LocalObjectStore
from tests.contract.object_store_contract import ObjectStoreContract


class TestLocalObjectStore(ObjectStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> LocalObjectStore:
        return LocalObjectStore(tmp_path / "store")
