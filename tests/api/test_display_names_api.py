"""SECURITY.md row 6 over HTTP: the exact display name a hostile or unusual name becomes —
NFC, without control, bidi, zero-width, tag or other invisible characters, only its last
path part, cut to 255 UTF-8 bytes on a character boundary — whether it comes as the file's
name in the multipart header (raw bytes, as a hand-made client sends them), as the `name`
field, or in a PATCH; and the names nothing printable is left of are 422 with nothing
stored."""

from __future__ import annotations

import unicodedata

import httpx
import pytest

from assetlens.bootstrap import Container
from tests.api.conftest import png
from tests.conftest import Api

DECOMPOSED = "Cafe\u0301 cre\u0300me.png"  # e + COMBINING ACUTE, e + COMBINING GRAVE
# (sent, the exact name stored and returned)
NAMES: list[tuple[str, str]] = [
    (DECOMPOSED, "Caf\u00e9 cr\u00e8me.png"),
    ("\u212b-ring.png", "\u00c5-ring.png"),  # ANGSTROM SIGN: NFC makes it Å
    ("../../etc/passwd.png", "passwd.png"),
    ("..\\..\\windows\\win.png", "win.png"),
    ("/abs/path/x.png", "x.png"),
    ("C:\\Users\\me\\pic.png", "pic.png"),
    ("\uff0e\uff0e/\uff0e\uff0e/dots.png", "dots.png"),
    ("a\x00b\x07c\x1bd\x7fe\x9ff.png", "abcdef.png"),
    ("tab\there\r\n.png", "tabhere.png"),
    ("evil\u202egnp.png", "evilgnp.png"),
    ("\u2066iso\u2069\u200elrm\u200f\u061c.png", "isolrm.png"),
    ("zero\u200bwidth\u200c\u200d\u2060\ufeff\u00ad.png", "zerowidth.png"),
    # A removed character between a letter and its mark: composed once it is gone.
    ("e\u200d\u0301t\u00e9.png", "\u00e9t\u00e9.png"),
    ("line\u2028sep\u2029.png", "linesep.png"),
    ("tag\U000e0041\U000e0042s.png", "tags.png"),  # tag characters: hidden text
    ("inv\u2061isi\u180eble\ufff9.png", "invisible.png"),
    ("  spaced out.png  ", "spaced out.png"),
    ("x" * 400 + ".png", "x" * 255),
    ("\u00e9" * 200 + ".png", "\u00e9" * 127),  # 2-byte characters: cut at 254 bytes
    ("e\u0301" * 200, "\u00e9" * 127),  # composed first, then cut
    ("\u6f22" * 100 + ".png", "\u6f22" * 85),  # 3-byte characters: 255 bytes exactly
]
# As a file name in the part header, a name must keep the extension that picks its type.
FILE_NAMES = [(sent, expected) for sent, expected in NAMES if sent.rstrip().endswith(".png")]
# Names with nothing printable left once path parts and invisible characters go.
EMPTY = ["../", "..\\..", "\u202e\u200b", "\uff0e\uff0e", " . ", "dir/"]


def raw_upload(api: Api, filename: str, data: bytes) -> httpx.Response:
    """An upload whose Content-Disposition carries `filename` as raw UTF-8 bytes (control
    characters included, unescaped), as a hand-written client may send it."""
    boundary = b"nameboundary7"
    quoted = filename.encode("utf-8", "surrogatepass").replace(b'"', b"%22")
    quoted = quoted.replace(b"\r", b"").replace(b"\n", b"")  # framing, tested elsewhere
    body = (
        b"--" + boundary + b'\r\nContent-Disposition: form-data; name="file"; '
        b'filename="'
        + quoted
        + b'"\r\nContent-Type: application/octet-stream\r\n\r\n'
        + data
        + b"\r\n--"
        + boundary
        + b"--\r\n"
    )
    return api.http.post(
        "/v1/assets",
        params={"wait": "false"},
        content=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary.decode()}"},
    )


def count_assets(container: Container) -> int:
    return sum(1 for _ in container.assets.manifests.iter_keys())


@pytest.mark.parametrize(("sent", "expected"), NAMES, ids=range(len(NAMES)))
def test_the_name_field_becomes_exactly_this_display_name(
    api: Api, sent: str, expected: str
) -> None:
    response = api.upload("a.png", png((2, 4, 6), pattern=len(sent) % 60), wait=False, name=sent)
    assert response.status_code == 201, response.text
    asset = response.json()
    assert asset["name"] == expected
    assert unicodedata.is_normalized("NFC", asset["name"])
    assert len(asset["name"].encode()) <= 255
    assert api.http.get(f"/v1/assets/{asset['id']}").json()["name"] == expected


@pytest.mark.parametrize(("sent", "expected"), FILE_NAMES, ids=range(len(FILE_NAMES)))
def test_the_file_name_in_the_part_header_becomes_exactly_this_display_name(
    api: Api, sent: str, expected: str
) -> None:
    response = raw_upload(api, sent, png((6, 4, 2), pattern=len(sent) % 60))
    assert response.status_code == 201, response.text
    assert response.json()["name"] == expected


@pytest.mark.parametrize(("sent", "expected"), NAMES, ids=range(len(NAMES)))
def test_a_patched_name_becomes_exactly_this_display_name(
    api: Api, sent: str, expected: str
) -> None:
    asset = api.upload("p.png", png((9, 9, 1), pattern=len(sent) % 60), wait=False).json()
    response = api.http.patch(f"/v1/assets/{asset['id']}", json={"name": sent})
    assert response.status_code == 200, response.text
    assert response.json()["name"] == expected
    assert api.http.get(f"/v1/assets/{asset['id']}").json()["name"] == expected


@pytest.mark.parametrize("sent", EMPTY)
def test_a_name_with_nothing_printable_left_is_422_and_changes_nothing(
    api: Api, live: tuple[str, Container], sent: str
) -> None:
    _, container = live
    before = count_assets(container)
    response = api.upload("a.png", png((1, 9, 9)), wait=False, name=sent)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert count_assets(container) == before
    asset = api.upload("kept.png", png((1, 9, 8)), wait=False).json()
    patched = api.http.patch(f"/v1/assets/{asset['id']}", json={"name": sent})
    assert patched.status_code == 422, patched.text
    assert api.http.get(f"/v1/assets/{asset['id']}").json()["name"] == "kept.png"
