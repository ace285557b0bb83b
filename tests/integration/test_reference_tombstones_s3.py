"""The reference tombstone scenarios (tests/unit/core/test_reference_tombstones.py) on the
real MinIO: a removal cut short after its tombstone, and the next request for that use."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from assetlens.bootstrap import Container
from storage.s3 import S3ObjectStore
from tests.unit.core.test_reference_tombstones import SCENARIOS, wired


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda f: f.__name__)
def test_on_minio(
    scenario: Callable[[Container, Path], None], s3_store: S3ObjectStore, tmp_path: Path
) -> None:
    for container in wired(tmp_path, s3_store):
        scenario(container, tmp_path)
