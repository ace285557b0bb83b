"""The one contract every `UploadProver` passes, unchanged: the verdicts of
`media.inspect_upload`, whichever process they are reached in.

Subclass `UploadProverContract` in a `Test…` class and provide a `prover` fixture (started
or not; the fixture closes it). Pinned here: an inspection equal to the in-process one; a
refusal of the same class, status and detail (AssetlensError subclasses come back whole);
search by image's query image equal to the in-process one, proven first, never an SVG;
an OSError for a file that is gone; `start` and `close` callable any number of times, and
a prover used after `close` proving again.
"""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import pytest
from PIL import Image

from assetlens.errors import AssetlensError, InvalidInput, UnsupportedMediaType
from assetlens.media import inspect_upload
from assetlens.media.proofs import query_image
from assetlens.ports import UploadProver

PIXELS = 64_000_000


def _png(colour: tuple[int, int, int] = (30, 90, 150), size: tuple[int, int] = (48, 32)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 40, 10)).save(buffer, format="JPEG")
    return buffer.getvalue()


class UploadProverContract:
    @pytest.fixture
    def folder(self, tmp_path: Path) -> Path:
        path = tmp_path / uuid.uuid4().hex[:8]
        path.mkdir()
        return path

    def _write(self, folder: Path, name: str, data: bytes) -> Path:
        path = folder / name
        path.write_bytes(data)
        return path

    @pytest.mark.parametrize(
        ("name", "data"),
        [
            ("a.png", _png()),
            ("b.jpg", _jpeg()),
            ("c.txt", b"plain words\n"),
            ("d.svg", b'<svg xmlns="http://www.w3.org/2000/svg" width="4" height="3"/>'),
        ],
    )
    def test_an_accepted_file_gets_the_in_process_inspection(
        self, prover: UploadProver, folder: Path, name: str, data: bytes
    ) -> None:
        path = self._write(folder, name, data)
        assert prover.prove(path, name, max_image_pixels=PIXELS) == inspect_upload(
            path, name, max_image_pixels=PIXELS
        )

    @pytest.mark.parametrize(
        ("name", "data", "refusal"),
        [
            ("cut.png", _png()[:-30], InvalidInput),
            ("named.jpg", _png(), InvalidInput),
            ("page.png", b"<!doctype html><html></html>", UnsupportedMediaType),
            ("tool.exe", b"MZ" + b"\0" * 64, UnsupportedMediaType),
            ("empty.png", b"", UnsupportedMediaType),
        ],
    )
    def test_a_refused_file_gets_the_in_process_refusal(
        self,
        prover: UploadProver,
        folder: Path,
        name: str,
        data: bytes,
        refusal: type[AssetlensError],
    ) -> None:
        path = self._write(folder, name, data)
        with pytest.raises(refusal) as here:
            inspect_upload(path, name, max_image_pixels=PIXELS)
        with pytest.raises(refusal) as there:
            prover.prove(path, name, max_image_pixels=PIXELS)
        assert (type(there.value), there.value.status, there.value.detail) == (
            type(here.value),
            here.value.status,
            here.value.detail,
        )

    def test_the_pixel_limit_is_the_callers(self, prover: UploadProver, folder: Path) -> None:
        path = self._write(folder, "wide.png", _png(size=(200, 100)))
        assert prover.prove(path, path.name, max_image_pixels=20_000).width == 200
        with pytest.raises(InvalidInput):
            prover.prove(path, path.name, max_image_pixels=19_999)

    def test_a_file_that_is_gone_is_an_os_error(self, prover: UploadProver, folder: Path) -> None:
        with pytest.raises(OSError):
            prover.prove(folder / "gone.png", "gone.png", max_image_pixels=PIXELS)

    def test_a_query_image_is_the_in_process_one(self, prover: UploadProver, folder: Path) -> None:
        path = self._write(folder, "query.png", _png(size=(600, 400)))
        got = prover.query_image(path, path.name, max_image_pixels=PIXELS)
        expected = query_image(path, path.name, max_image_pixels=PIXELS)
        assert (got.mode, got.size) == ("RGB", (336, 224))
        assert got.tobytes() == expected.tobytes()

    def test_a_query_image_is_proven_first_and_never_svg(
        self, prover: UploadProver, folder: Path
    ) -> None:
        cut = self._write(folder, "cut.png", _png()[:-30])
        with pytest.raises(InvalidInput):
            prover.query_image(cut, cut.name, max_image_pixels=PIXELS)
        svg = self._write(folder, "logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg"/>')
        with pytest.raises(UnsupportedMediaType):
            prover.query_image(svg, svg.name, max_image_pixels=PIXELS)

    def test_start_and_close_repeat_and_a_closed_prover_proves_again(
        self, prover: UploadProver, folder: Path
    ) -> None:
        path = self._write(folder, "again.png", _png((1, 2, 3)))
        prover.start()
        prover.start()
        prover.close()
        prover.close()
        assert prover.prove(path, path.name, max_image_pixels=PIXELS).mime == "image/png"
