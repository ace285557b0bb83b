"""The in-memory fake honours the same contract as the real stores."""

from __future__ import annotations

import pytest

from tests.contract.object_store_contract import ObjectStoreContract
from tests.fakes import FakeObjectStore


class TestFakeObjectStore(ObjectStoreContract):
    @pytest.fixture
    def store(self) -> FakeObjectStore:
        return FakeObjectStore()
