"""Fuzzing: random and mutated input into every parser and into `extract`.

No exception may escape and each call stays within the hypothesis deadline.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assetlens.domain import Generation
from assetlens.provenance import (
    extract,
    from_json,
    from_text,
    from_texts,
    parse_a1111,
    parse_api_graph,
    parse_comfyui,
    parse_drawthings,
    parse_dream,
    parse_easydiffusion,
    parse_fooocus,
    parse_invokeai_v2,
    parse_invokeai_v3,
    parse_midjourney,
    parse_novelai,
    parse_swarmui,
)
from assetlens.provenance.comfyui_ui import ui_to_api
from assetlens.provenance.containers import decode_user_comment, parse_xmp
from tests.unit.provenance import fixtures as fx

# No example database: test runs must not leave a .hypothesis folder in the checkout.
_HEALTH = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
FUZZ = settings(max_examples=200, deadline=2000, database=None, suppress_health_check=_HEALTH)
FILE_FUZZ = settings(max_examples=80, deadline=2000, database=None, suppress_health_check=_HEALTH)

TEXT_PARSERS: list[Callable[[str], Any]] = [
    parse_a1111,
    parse_dream,
    parse_drawthings,
    parse_fooocus,
    parse_invokeai_v2,
    parse_invokeai_v3,
    parse_midjourney,
    parse_swarmui,
    from_text,
    lambda t: parse_comfyui(t, t),
]
SEEDS = [
    fx.A1111_TEXT,
    json.dumps(fx.COMFY_API),
    json.dumps(fx.comfy_ui_workflow()),
    json.dumps(fx.INVOKE_V3),
    json.dumps(fx.INVOKE_V2),
    fx.INVOKE_DREAM,
    fx.NOVELAI_TEXTS["Comment"],
    json.dumps(fx.FOOOCUS),
    json.dumps(fx.SWARMUI),
    json.dumps(fx.DRAWTHINGS),
    fx.MIDJOURNEY_DESCRIPTION,
]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.dictionaries(
            st.sampled_from(
                [
                    "prompt",
                    "inputs",
                    "class_type",
                    "nodes",
                    "links",
                    "model",
                    "loras",
                    "seed",
                    "image",
                    "c",
                    "uc",
                    "Comment",
                    "sui_image_params",
                    "text",
                    "widgets_values",
                    "mode",
                    "id",
                    "positive",
                    "lora_name",
                ]
            )
            | st.text(max_size=8),
            inner,
            max_size=6,
        )
    ),
    max_leaves=30,
)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """A known layout with a slice cut, duplicated or replaced by random text."""
    seed = draw(st.sampled_from(SEEDS))
    start = draw(st.integers(0, len(seed)))
    end = draw(st.integers(start, min(len(seed), start + 64)))
    insert = draw(st.text(max_size=32))
    return seed[:start] + insert + seed[end:]


@FUZZ
@given(text=st.text(max_size=2000) | mutated())
def test_text_parsers_never_raise(text: str) -> None:
    for parser in TEXT_PARSERS:
        try:
            parser(text)
        except Exception as exc:  # pragma: no cover - the failure message is the point
            raise AssertionError(f"{parser} raised {exc!r} on {text[:200]!r}") from exc


@FUZZ
@given(data=json_values)
def test_json_parsers_never_raise(data: Any) -> None:
    from_json(data)
    if isinstance(data, dict):
        from_texts({str(k): str(v) for k, v in data.items()})
        parse_easydiffusion(data)
        parse_novelai(data)
        parse_api_graph({str(k): v for k, v in data.items() if isinstance(v, dict)})
        if isinstance(data.get("nodes"), list):
            ui_to_api(data)


@FUZZ
@given(raw=st.binary(max_size=600))
def test_byte_decoders_never_raise(raw: bytes) -> None:
    decode_user_comment(raw)
    decode_user_comment(b"UNICODE\x00" + raw)
    parse_xmp(b"<x:xmpmeta>" + raw + b"</x:xmpmeta>")


MIMES = ["image/png", "image/jpeg", "image/webp", "image/gif", "video/mp4", "audio/mpeg"]


def _fixture_files(folder: Path) -> list[bytes]:
    paths = [
        fx.png_with_texts(folder / "a.png", {"parameters": fx.A1111_TEXT}),
        fx.png_with_texts(
            folder / "c.png", {"prompt": json.dumps(fx.COMFY_API)}, "zTXt", after_idat=True
        ),
        fx.stealth_png(folder / "s.png", json.dumps(fx.NOVELAI_TEXTS).encode()),
        fx.jpeg_with_exif(folder / "j.jpg", fx.user_comment(fx.A1111_TEXT, "utf-16-be")),
        fx.animated_webp_comfy(folder / "w.webp", fx.COMFY_API, {}),
        fx.gif_with_comment(folder / "g.gif", fx.A1111_TEXT),
    ]
    return [p.read_bytes() for p in paths]


_FILES = _fixture_files(Path(tempfile.mkdtemp(prefix="provenance-fuzz-")))


@FILE_FUZZ
@given(
    index=st.integers(0, len(_FILES) - 1),
    edits=st.lists(st.tuples(st.integers(0, 10**6), st.binary(min_size=1, max_size=8)), max_size=6),
    cut=st.none() | st.integers(0, 10**6),
    mime=st.sampled_from(MIMES),
)
def test_extract_on_mutated_files(
    tmp_path: Path, index: int, edits: list[tuple[int, bytes]], cut: int | None, mime: str
) -> None:
    data = bytearray(_FILES[index])
    for offset, patch in edits:
        position = offset % len(data)
        data[position : position + len(patch)] = patch
    if cut is not None:
        del data[cut % len(data) :]
    path = tmp_path / "mutated.bin"
    path.write_bytes(bytes(data))
    result = extract(path, mime)
    assert result is None or isinstance(result, Generation)


@FILE_FUZZ
@given(raw=st.binary(max_size=4096), mime=st.sampled_from(MIMES))
def test_extract_on_random_bytes(tmp_path: Path, raw: bytes, mime: str) -> None:
    path = tmp_path / "random.bin"
    path.write_bytes(fx.base_png()[:8] + raw if mime == "image/png" else raw)
    result = extract(path, mime)
    assert result is None or isinstance(result, Generation)
