"""Containers: PNG text chunks anywhere, size caps, EXIF UserComment encodings, GIF, audio."""

from __future__ import annotations

import json
import os
import time
import zlib
from pathlib import Path

import pytest

from assetlens.provenance import extract, inspect, parse_a1111
from assetlens.provenance.containers import decode_user_comment
from tests.unit.provenance import fixtures as fx

SHORT = "a lighthouse\nSteps: 12, Sampler: Euler, Seed: 8, CFG scale: 4"


@pytest.mark.parametrize("kind", ["tEXt", "zTXt", "iTXt", "iTXt+z"])
def test_every_png_text_chunk_kind(tmp_path: Path, kind: str) -> None:
    path = fx.write_png(tmp_path / "k.png", [fx.text_chunk("parameters", SHORT, kind)])
    assert extract(path, "image/png") == parse_a1111(SHORT)


def test_text_chunks_after_idat(tmp_path: Path) -> None:
    path = fx.write_png(
        tmp_path / "late.png", [fx.text_chunk("parameters", SHORT, "zTXt")], after_idat=True
    )
    data = path.read_bytes()
    assert data.index(b"zTXt") > data.index(b"IDAT")
    gen = extract(path, "image/png")
    assert gen is not None
    assert gen.prompt == "a lighthouse"
    assert gen.seed == 8


def test_chunk_over_one_mib_is_skipped_with_a_note(tmp_path: Path) -> None:
    # A ComfyUI workflow past Pillow's 1 MB decompression cap beside a normal prompt chunk.
    huge = json.dumps(
        {"nodes": [{"id": i, "widgets_values": ["x" * 64]} for i in range(20000)], "links": []}
    )
    assert len(huge) > 1024 * 1024
    path = fx.write_png(
        tmp_path / "big.png",
        [
            fx.text_chunk("workflow", huge, "zTXt"),
            fx.text_chunk("prompt", json.dumps(fx.COMFY_API), "tEXt"),
        ],
    )
    result = inspect(path, "image/png")
    assert result.generation is not None
    assert result.generation.prompt == "a red fox in the snow"
    assert any("too large" in note and "workflow" in note for note in result.notes)


def test_only_an_oversized_chunk_means_no_provenance(tmp_path: Path) -> None:
    big = "a" * (1024 * 1024 + 10)
    path = fx.write_png(tmp_path / "big.png", [fx.text_chunk("parameters", big, "tEXt")])
    result = inspect(path, "image/png")
    assert result.generation is None
    assert any("too large" in note for note in result.notes)


def test_five_mib_junk_chunk_does_not_stall(tmp_path: Path) -> None:
    junk = os.urandom(5 * 1024 * 1024)
    path = fx.write_png(
        tmp_path / "junk.png",
        [
            fx.png_chunk(b"tEXt", b"parameters\x00" + junk),
            fx.png_chunk(b"zTXt", b"prompt\x00\x00" + zlib.compress(b"{" * (5 * 1024 * 1024))),
            fx.text_chunk("Comment", SHORT),
        ],
    )
    started = time.monotonic()
    result = inspect(path, "image/png")
    elapsed = time.monotonic() - started
    assert result.generation == parse_a1111(SHORT)  # the small chunk is still read
    assert sum("skipped" in note and "too large" in note for note in result.notes) == 2
    assert elapsed < 5  # generous: the work is a seek plus one bounded inflate


def test_truncated_png_and_bad_keyword(tmp_path: Path) -> None:
    path = fx.write_png(
        tmp_path / "t.png",
        [fx.png_chunk(b"tEXt", b"no-separator"), fx.text_chunk("parameters", SHORT)],
    )
    path.write_bytes(path.read_bytes()[:-40])
    result = inspect(path, "image/png")
    assert result.generation == parse_a1111(SHORT)
    assert any("keyword" in note for note in result.notes)


@pytest.mark.parametrize("encoding", ["utf-16-be", "utf-16-le", "raw", "ascii"])
def test_jpeg_user_comment_encodings(tmp_path: Path, encoding: str) -> None:
    text = SHORT if encoding == "ascii" else "猫と桜 🌸\n" + SHORT
    path = fx.jpeg_with_exif(tmp_path / "u.jpg", fx.user_comment(text, encoding))
    gen = extract(path, "image/jpeg")
    assert gen == parse_a1111(text)


def test_user_comment_decoder_details() -> None:
    assert decode_user_comment(b"UNICODE\x00\xfe\xff\x00h\x00i") == "hi"
    assert decode_user_comment(b"UNICODE\x00\xff\xfeh\x00i\x00") == "hi"
    assert decode_user_comment(b"\x00" * 8 + b"plain\x00\x00") == "plain"
    assert decode_user_comment(b"JIS\x00\x00\x00\x00\x00" + "猫".encode("shift_jis")) == "猫"
    assert decode_user_comment(b"\x00" * 12) is None
    assert decode_user_comment("already text") == "already text"


def test_gif_comment(tmp_path: Path) -> None:
    gen = extract(fx.gif_with_comment(tmp_path / "g.gif", SHORT), "image/gif")
    assert gen == parse_a1111(SHORT)


def test_jpeg_com_segment(tmp_path: Path) -> None:
    path = fx.jpeg_with_exif(tmp_path / "c.jpg", comment=json.dumps(fx.SWARMUI).encode())
    gen = extract(path, "image/jpeg")
    assert gen is not None
    assert gen.generator == "swarmui"
    assert gen.seed == 99


def test_exif_image_description(tmp_path: Path) -> None:
    path = fx.jpeg_with_exif(tmp_path / "d.jpg", description=fx.MIDJOURNEY_DESCRIPTION)
    gen = extract(path, "image/jpeg")
    assert gen is not None
    assert gen.job_id == "3f2b9c1e-8d4a-4c6b-9e1f-0a1b2c3d4e5f"


def test_garbage_in_every_key(tmp_path: Path) -> None:
    garbage = '\x01{["::,,<lora:::>' + "\ufffd" * 5 + '{"nodes": 5, "links": 1}'
    keys = [
        "parameters",
        "prompt",
        "workflow",
        "invokeai_metadata",
        "sd-metadata",
        "Dream",
        "Comment",
        "Description",
        "Software",
        "Source",
        "fooocus_scheme",
        "Title",
        "use_stable_diffusion_model",
        "num_inference_steps",
        "XML:com.adobe.xmp",
    ]
    texts = {key: garbage for key in keys}
    texts["Dream"] = '"unterminated'
    texts["invokeai_metadata"] = json.dumps(
        {
            "positive_prompt": ["not", "a", "string"],
            "seed": "NaN",
            "width": -5,
            "model": 7,
            "loras": [1, {"model": None}],
        }
    )
    texts["sd-metadata"] = json.dumps({"image": {"prompt": 5}})
    path = fx.png_with_texts(tmp_path / "g.png", texts, "iTXt")
    gen = extract(path, "image/png")
    # invokeai_metadata is recognised by its shape but every value is unusable.
    assert gen is not None
    assert gen.generator == "invokeai"
    assert (gen.prompt, gen.seed, gen.width, gen.model, gen.loras) == (None, None, None, None, [])
    jpeg = fx.jpeg_with_exif(
        tmp_path / "g.jpg",
        garbage.encode("utf-8"),
        software=garbage,
        description=garbage,
        xmp=b"<x:xmpmeta>" + os.urandom(200),
        comment=os.urandom(100),
    )
    assert extract(jpeg, "image/jpeg") is None


def test_file_without_provenance(tmp_path: Path) -> None:
    assert extract(fx.write_png(tmp_path / "p.png", []), "image/png") is None
    assert extract(fx.jpeg_with_exif(tmp_path / "p.jpg"), "image/jpeg") is None


def test_unreadable_or_foreign_files(tmp_path: Path) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(os.urandom(3000))
    for mime in ("image/png", "image/jpeg", "video/mp4", "audio/mpeg", "font/ttf", "text/plain"):
        assert extract(junk, mime) is None
    assert extract(tmp_path / "missing.png", "image/png") is None


def test_audio_comment_prompt_is_a_hint(tmp_path: Path) -> None:
    gen = extract(
        fx.wav_with_id3(tmp_path / "a.wav", comment="prompt: lofi beats, rain"), "audio/wav"
    )
    assert gen is not None
    assert gen.prompt == "lofi beats, rain"
    assert gen.ai_generated is None
    assert gen.generator is None


def test_audio_txxx_parameters_and_plain_comment(tmp_path: Path) -> None:
    gen = extract(fx.wav_with_id3(tmp_path / "a.wav", txxx={"parameters": SHORT}), "audio/wav")
    assert gen == parse_a1111(SHORT)
    plain = fx.wav_with_id3(tmp_path / "b.wav", comment="recorded in my kitchen")
    assert extract(plain, "audio/wav") is None
