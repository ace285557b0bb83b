"""Fuzzing inspect_upload (and analyse on whatever it accepts): any bytes under any allowed
extension end in an Inspection or a 415/422, never another exception."""

from __future__ import annotations

import tempfile
from functools import cache
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assetlens.errors import AssetlensError
from assetlens.media import ALLOWED_EXTENSIONS, Analysis, Inspection, analyse, inspect_upload
from tests.support import media_samples as samples
from tests.unit.media.conftest import MAX_PIXELS

EXTENSIONS = sorted(ALLOWED_EXTENSIONS)
FUZZ = settings(
    max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


@cache
def _valid_samples() -> tuple[bytes, ...]:
    return tuple(samples.all_samples().values())


def _inspect_or_error(path: Path, name: str) -> Inspection | AssetlensError:
    try:
        return inspect_upload(path, name, max_image_pixels=MAX_PIXELS)
    except AssetlensError as exc:
        return exc


def _check(data: bytes, extension: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        name = f"fuzz.{extension}"
        path = Path(folder) / name
        path.write_bytes(data)
        found = _inspect_or_error(path, name)
        if isinstance(found, AssetlensError):
            assert found.status in (415, 422)
            return
        assert found.extension == extension
        assert isinstance(analyse(path, found.type, found.mime), Analysis)


@FUZZ
@given(data=st.binary(max_size=4096), extension=st.sampled_from(EXTENSIONS))
def test_random_bytes(data: bytes, extension: str) -> None:
    _check(data, extension)


@FUZZ
@given(
    index=st.integers(min_value=0),
    tail=st.binary(max_size=2048),
    keep=st.integers(min_value=1, max_value=64),
    extension=st.sampled_from(EXTENSIONS),
)
def test_real_signature_random_tail(index: int, tail: bytes, keep: int, extension: str) -> None:
    # A genuine header gets past sniffing so the decoders see the garbage.
    valid = _valid_samples()
    _check(valid[index % len(valid)][:keep] + tail, extension)


@FUZZ
@given(
    index=st.integers(min_value=0),
    cut=st.floats(min_value=0.0, max_value=1.0),
    flips=st.lists(st.tuples(st.floats(0.0, 1.0), st.integers(0, 255)), max_size=12),
)
def test_mutated_valid_files(index: int, cut: float, flips: list[tuple[float, int]]) -> None:
    names = list(samples.SAMPLES)
    name = names[index % len(names)]
    data = bytearray(_valid_samples()[index % len(names)])
    for where, value in flips:
        data[min(len(data) - 1, int(where * len(data)))] = value
    end = max(1, int(len(data) * cut)) if cut < 1.0 else len(data)
    _check(bytes(data[:end]), name.rsplit(".", 1)[1])
