"""SECURITY.md rows for media: decompression bombs and hostile SVG."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import resvg_py
from PIL import Image

from assetlens.domain import AssetType
from assetlens.errors import InvalidInput
from assetlens.media import analyse, inspect_upload, is_active_content
from assetlens.media.svg import parse_svg, rendered_elements, sanitise
from tests.support import media_samples as samples
from tests.unit.media.conftest import MAX_PIXELS, Inspect, WriteFile, rgb_at

# --------------------------------------------------------------------------- bombs


def test_png_header_declaring_100k_by_100k_is_rejected(inspect: Inspect) -> None:
    bomb = samples.png_header_bomb(100_000, 100_000)
    assert len(bomb) < 200
    with pytest.raises(InvalidInput, match="image too large"):
        inspect("bomb.png", bomb)


def test_pixel_flood_under_pillows_limit_but_over_ours(inspect: Inspect) -> None:
    flood = samples.png_pixel_flood(9000, 9000)
    assert MAX_PIXELS < 9000 * 9000 < (Image.MAX_IMAGE_PIXELS or 0)
    assert len(flood) < 100_000
    with pytest.raises(InvalidInput, match="9000×9000 pixels exceeds limit"):
        inspect("flood.png", flood)


def test_our_limit_is_the_one_applied(write_file: WriteFile) -> None:
    path = write_file("small.png", samples.png_bytes((320, 240)))
    assert inspect_upload(path, "small.png", max_image_pixels=320 * 240).width == 320
    with pytest.raises(InvalidInput, match="320×240"):
        inspect_upload(path, "small.png", max_image_pixels=320 * 240 - 1)


def test_header_bomb_in_a_gif_is_rejected(inspect: Inspect) -> None:
    # Logical screen and image descriptor both declare 65535×65535.
    gif = (
        b"GIF89a\xff\xff\xff\xff\x00\x00\x00"
        b",\x00\x00\x00\x00\xff\xff\xff\xff\x00\x02\x02\x44\x01\x00;"
    )
    with pytest.raises(InvalidInput, match="too large"):
        inspect("bomb.gif", gif)


def test_video_frame_size_is_limited(write_file: WriteFile) -> None:
    path = write_file("clip.mp4", samples.mp4_bytes())
    with pytest.raises(InvalidInput, match="video too large: 64×48"):
        inspect_upload(path, "clip.mp4", max_image_pixels=64 * 48 - 1)


# --------------------------------------------------------------------------- hostile SVG


def test_billion_laughs_is_rejected(inspect: Inspect) -> None:
    with pytest.raises(InvalidInput, match="unsafe SVG"):
        inspect("laughs.svg", samples.svg_billion_laughs())


def test_external_entity_is_rejected(inspect: Inspect) -> None:
    with pytest.raises(InvalidInput, match="unsafe SVG"):
        inspect("xxe.svg", samples.svg_external_entity())


def test_html_named_svg_is_refused(inspect: Inspect) -> None:
    with pytest.raises(Exception) as err:
        inspect("page.svg", b"<html><body><script>alert(1)</script></body></html>")
    assert getattr(err.value, "status", None) in (415, 422)


def test_xml_that_is_not_svg_is_refused(inspect: Inspect) -> None:
    with pytest.raises(Exception) as err:
        inspect("doc.svg", b'<?xml version="1.0"?><note><to>x</to></note>')
    assert getattr(err.value, "status", None) in (415, 422)


class _Canary:
    """A local HTTP server that records every request it receives."""

    def __init__(self) -> None:
        hits: list[str] = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hits.append(self.path)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return

        self.hits = hits
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )


@pytest.fixture
def canary() -> Iterator[_Canary]:
    c = _Canary()
    c.thread.start()
    try:
        yield c
    finally:
        c.server.shutdown()
        c.server.server_close()


def test_canary_server_answers(canary: _Canary) -> None:
    import urllib.request

    with urllib.request.urlopen(f"{canary.url}/ping", timeout=5) as response:
        assert response.status == 200
    assert canary.hits == ["/ping"]


def test_script_bearing_svg_is_accepted_as_active_and_drawn_safely(
    write_file: WriteFile, canary: _Canary
) -> None:
    data = samples.svg_hostile_bytes(canary.url)
    path = write_file("hostile.svg", data)
    found = inspect_upload(path, "hostile.svg", max_image_pixels=MAX_PIXELS)
    assert found.type is AssetType.LOGO
    assert found.mime == "image/svg+xml"
    assert is_active_content(found.mime)

    result = analyse(path, found.type, found.mime)
    assert canary.hits == []
    medium = Image.open(io.BytesIO(result.previews["medium"]))
    assert medium.format == "WEBP"
    # The blue square is drawn; nothing fetched or embedded covers it.
    r, g, b = rgb_at(medium, (medium.width - 5, medium.height - 5))
    assert b > 200 and r < 40 and g < 40


def test_sanitise_removes_every_active_part(canary: _Canary) -> None:
    root = sanitise(parse_svg(samples.svg_hostile_bytes(canary.url)))
    from xml.etree.ElementTree import tostring

    markup = tostring(root, encoding="unicode")
    for needle in (
        "script",
        "onload",
        "onclick",
        "foreignObject",
        "iframe",
        "javascript:",
        canary.url,
        "file://",
        "@import",
    ):
        assert needle not in markup
    assert "rect" in markup


def test_local_files_named_by_href_are_not_drawn(write_file: WriteFile, tmp_path: Path) -> None:
    red = tmp_path / "secret.png"
    Image.new("RGB", (50, 50), (255, 0, 0)).save(red)
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        f'width="100" height="100"><rect width="100" height="100" fill="white"/>'
        f'<image href="{red}" width="100" height="100"/>'
        f'<image xlink:href="{red}" width="100" height="100"/>'
        f'<filter id="f"><feImage href="{red}"/></filter>'
        f'<rect width="100" height="100" filter="url(#f)" opacity="0.5"/></svg>'
    )
    # Precondition: resvg on its own does read the local file, so the sanitiser matters.
    raw = Image.open(io.BytesIO(bytes(resvg_py.svg_to_bytes(svg_string=svg))))
    assert rgb_at(raw, (50, 50)) == (255, 0, 0)

    path = write_file("local.svg", svg.encode())
    result = analyse(path, AssetType.LOGO, "image/svg+xml")
    preview = Image.open(io.BytesIO(result.previews["medium"])).convert("RGB")
    r, g, b = rgb_at(preview, (preview.width // 2, preview.height // 2))
    assert not (r > 200 and g < 80 and b < 80)


def test_use_expansion_bomb_gets_a_placeholder(write_file: WriteFile) -> None:
    levels = ['<g id="l0"><rect width="1" height="1"/></g>']
    for i in range(1, 10):
        uses = "".join(f'<use href="#l{i - 1}"/>' for _ in range(10))
        levels.append(f'<g id="l{i}">{uses}</g>')
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"><defs>'
        + "".join(levels)
        + '</defs><use href="#l9"/></svg>'
    ).encode()
    assert rendered_elements(parse_svg(svg)) > 50_000
    path = write_file("uses.svg", svg)
    assert inspect_upload(path, "uses.svg", max_image_pixels=MAX_PIXELS).type is AssetType.LOGO
    result = analyse(path, AssetType.LOGO, "image/svg+xml")
    assert set(result.previews) == {"small", "medium"}
    assert result.phash is None
    assert result.embed_image is None


def test_use_reference_cycle_is_not_drawn() -> None:
    svg = (
        b'<svg xmlns="http://www.w3.org/2000/svg"><g id="a"><use href="#b"/></g>'
        b'<g id="b"><use href="#a"/></g></svg>'
    )
    assert rendered_elements(parse_svg(svg)) > 50_000
