"""The UploadProver contract in this process and in the proof's worker processes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from assetlens.media.proofs import InProcessProver, ProofPool
from assetlens.ports import UploadProver
from tests.contract.upload_prover_contract import UploadProverContract


class TestInProcessProver(UploadProverContract):
    @pytest.fixture
    def prover(self) -> Iterator[UploadProver]:
        here = InProcessProver()
        yield here
        here.close()


@pytest.fixture(scope="module")
def pool() -> Iterator[ProofPool]:
    """One pool for the module: its workers start once."""
    workers = ProofPool(2)
    yield workers
    workers.close()


class TestProofPool(UploadProverContract):
    @pytest.fixture
    def prover(self, pool: ProofPool) -> UploadProver:
        return pool
