"""Files with embedded provenance, made by the tests themselves (no binary fixtures)."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import struct
import wave
import zlib
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

UNICODE_PREFIX = b"UNICODE\x00"
ASCII_PREFIX = b"ASCII\x00\x00\x00"
AI_SOURCE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"

A1111_TEXT = (
    "masterpiece, best quality, 1girl, <lora:add_detail:0.5>, <lora:film grain:1>\n"
    "city at night\n"
    "Negative prompt: lowres, bad anatomy\n"
    "worst quality\n"
    "Steps: 28, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7.5, Seed: 1234567890, "
    "Size: 832x1216, Model hash: 6ce0161689, Model: juggernautXL_v9, VAE: sdxl_vae.safetensors, "
    'Denoising strength: 0.45, Clip skip: 2, ADetailer prompt: "detailed face, smile", '
    'Lora hashes: "add_detail: 7c6bad76eb54, film grain: 1a2b3c4d5e6f", '
    "Refiner: sd_xl_refiner_1.0 [7440042bbd], Refiner switch at: 0.8, Version: v1.10.1"
)

COMFY_API: dict[str, Any] = {
    "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sdxl/base.safetensors"}},
    "2": {
        "class_type": "LoraLoader",
        "inputs": {
            "lora_name": "style_a.safetensors",
            "strength_model": 0.8,
            "strength_clip": 0.8,
            "model": ["1", 0],
            "clip": ["1", 1],
        },
    },
    "3": {
        "class_type": "LoraLoader",
        "inputs": {
            "lora_name": "detail_b.safetensors",
            "strength_model": 0.35,
            "strength_clip": 1,
            "model": ["2", 0],
            "clip": ["2", 1],
        },
    },
    "4": {"class_type": "PrimitiveString", "inputs": {"value": "a red fox in the snow"}},
    "5": {"class_type": "CLIPTextEncode", "inputs": {"text": ["4", 0], "clip": ["3", 1]}},
    "6": {
        "class_type": "CLIPTextEncode",
        "inputs": {"text": "blurry, watermark", "clip": ["3", 1]},
    },
    "7": {"class_type": "ControlNetLoader", "inputs": {"control_net_name": "canny.safetensors"}},
    "8": {"class_type": "LoadImage", "inputs": {"image": "edges.png"}},
    "9": {
        "class_type": "ControlNetApplyAdvanced",
        "inputs": {
            "positive": ["5", 0],
            "negative": ["6", 0],
            "control_net": ["7", 0],
            "image": ["8", 0],
            "strength": 0.7,
            "start_percent": 0,
            "end_percent": 1,
        },
    },
    "10": {
        "class_type": "EmptyLatentImage",
        "inputs": {"width": 1024, "height": 768, "batch_size": 1},
    },
    "11": {
        "class_type": "KSampler",
        "inputs": {
            "seed": 987654321,
            "steps": 30,
            "cfg": 6.5,
            "sampler_name": "dpmpp_2m",
            "scheduler": "karras",
            "denoise": 1,
            "model": ["3", 0],
            "positive": ["9", 0],
            "negative": ["9", 1],
            "latent_image": ["10", 0],
        },
    },
    "12": {
        "class_type": "KSampler",
        "inputs": {
            "seed": 5,
            "steps": 10,
            "cfg": 3,
            "sampler_name": "euler",
            "scheduler": "normal",
            "denoise": 0.3,
            "model": ["1", 0],
            "positive": ["5", 0],
            "negative": ["6", 0],
            "latent_image": ["13", 0],
        },
    },
    "13": {
        "class_type": "LatentUpscale",
        "inputs": {
            "samples": ["11", 0],
            "upscale_method": "nearest-exact",
            "width": 2048,
            "height": 1536,
            "crop": "disabled",
        },
    },
    "14": {"class_type": "VAELoader", "inputs": {"vae_name": "sdxl_vae.safetensors"}},
    "15": {"class_type": "VAEDecode", "inputs": {"samples": ["12", 0], "vae": ["14", 0]}},
    "16": {
        "class_type": "SaveImage",
        "inputs": {"filename_prefix": "fox_run", "images": ["15", 0]},
    },
}


def comfy_ui_workflow() -> dict[str, Any]:
    """A UI graph: checkpoint → LoRA → (muted LoRA) → KSampler, a bypassed LoRA passing the
    model through, and a muted text node that must not become the prompt."""
    nodes = [
        {
            "id": 1,
            "type": "CheckpointLoaderSimple",
            "mode": 0,
            "inputs": [],
            "widgets_values": ["flux1-dev.safetensors"],
        },
        {
            "id": 2,
            "type": "LoraLoader",
            "mode": 0,
            "inputs": [
                {"name": "model", "type": "MODEL", "link": 1},
                {"name": "clip", "type": "CLIP", "link": 2},
            ],
            "widgets_values": ["kept.safetensors", 0.6, 0.6],
        },
        {
            "id": 3,
            "type": "LoraLoader",
            "mode": 4,
            "inputs": [
                {"name": "model", "type": "MODEL", "link": 3},
                {"name": "clip", "type": "CLIP", "link": 4},
            ],
            "widgets_values": ["bypassed.safetensors", 1.0, 1.0],
        },
        {
            "id": 4,
            "type": "CLIPTextEncode",
            "mode": 0,
            "inputs": [{"name": "clip", "type": "CLIP", "link": 5}],
            "widgets_values": ["an astronaut riding a horse"],
        },
        {
            "id": 5,
            "type": "CLIPTextEncode",
            "mode": 0,
            "inputs": [{"name": "clip", "type": "CLIP", "link": 6}],
            "widgets_values": ["ugly"],
        },
        {
            "id": 6,
            "type": "EmptyLatentImage",
            "mode": 0,
            "inputs": [],
            "widgets_values": [896, 1152, 1],
        },
        {
            "id": 7,
            "type": "KSampler",
            "mode": 0,
            "inputs": [
                {"name": "model", "type": "MODEL", "link": 7},
                {"name": "positive", "type": "CONDITIONING", "link": 8},
                {"name": "negative", "type": "CONDITIONING", "link": 9},
                {"name": "latent_image", "type": "LATENT", "link": 10},
            ],
            "widgets_values": [42, "fixed", 20, 3.5, "euler", "simple", 1.0],
        },
        {
            "id": 8,
            "type": "CLIPTextEncode",
            "mode": 2,
            "inputs": [],
            "widgets_values": ["muted prompt that never ran"],
        },
    ]
    links = [
        [1, 1, 0, 2, 0, "MODEL"],
        [2, 1, 1, 2, 1, "CLIP"],
        [3, 2, 0, 3, 0, "MODEL"],
        [4, 2, 1, 3, 1, "CLIP"],
        [5, 3, 1, 4, 0, "CLIP"],
        [6, 3, 1, 5, 0, "CLIP"],
        [7, 3, 0, 7, 0, "MODEL"],
        [8, 4, 0, 7, 1, "CONDITIONING"],
        [9, 5, 0, 7, 2, "CONDITIONING"],
        [10, 6, 0, 7, 3, "LATENT"],
    ]
    return {"last_node_id": 8, "last_link_id": 10, "nodes": nodes, "links": links, "version": 0.4}


INVOKE_V3 = {
    "generation_mode": "sdxl_txt2img",
    "positive_prompt": "a lighthouse, dramatic sky",
    "negative_prompt": "text",
    "width": 1024,
    "height": 1024,
    "seed": 31337,
    "cfg_scale": 6,
    "steps": 35,
    "scheduler": "dpmpp_2m_k",
    "model": {
        "key": "abc",
        "hash": "blake3:0123456789abcdef",
        "name": "Juggernaut XL v9",
        "base": "sdxl",
        "type": "main",
    },
    "vae": {"key": "v1", "name": "sdxl-vae-fp16", "base": "sdxl"},
    "loras": [{"model": {"key": "l1", "name": "pixel-art", "base": "sdxl"}, "weight": 0.75}],
    "app_version": "4.2.9",
}
INVOKE_V3_EARLY = {
    "generation_mode": "txt2img",
    "positive_prompt": "an owl",
    "negative_prompt": "",
    "width": 512,
    "height": 512,
    "seed": 7,
    "cfg_scale": 7.5,
    "steps": 25,
    "scheduler": "euler",
    "model": {"model_name": "stable-diffusion-v1-5", "base_model": "sd-1"},
    "loras": [{"lora": {"model_name": "owl-style", "base_model": "sd-1"}, "weight": 0.5}],
    "app_version": "3.0.2",
}
INVOKE_V2 = {
    "model": "stable diffusion",
    "model_weights": "stable-diffusion-1.5",
    "app_id": "invoke-ai/InvokeAI",
    "app_version": "2.3.5",
    "image": {
        "prompt": [{"prompt": "a castle on a hill [fog, people]", "weight": 1.0}],
        "steps": 50,
        "cfg_scale": 7.5,
        "seed": 2288,
        "width": 512,
        "height": 640,
        "sampler": "k_euler_a",
        "type": "txt2img",
    },
}
INVOKE_DREAM = '"a cat wearing a hat [blurry]" -s 30 -S 42 -W 512 -H 768 -C 7.5 -A k_lms'

NOVELAI_COMMENT = {
    "prompt": "1girl, silver hair, starry sky",
    "steps": 28,
    "height": 1216,
    "width": 832,
    "scale": 5.0,
    "uncond_scale": 0.0,
    "cfg_rescale": 0.0,
    "seed": 1122334455,
    "n_samples": 1,
    "noise_schedule": "karras",
    "sampler": "k_euler_ancestral",
    "uc": "lowres, bad hands",
    "v4_prompt": {
        "caption": {
            "base_caption": "1girl, silver hair, starry sky",
            "char_captions": [{"char_caption": "girl, smiling", "centers": [{"x": 0.5, "y": 0.5}]}],
        },
        "use_coords": False,
    },
}
NOVELAI_TEXTS = {
    "Title": "AI generated image",
    "Description": "1girl, silver hair, starry sky",
    "Software": "NovelAI",
    "Source": "NovelAI Diffusion V4 4F49EC75",
    "Comment": json.dumps(NOVELAI_COMMENT),
}

FOOOCUS = {
    "adm_guidance": "(1.5, 0.8, 0.3)",
    "base_model": "juggernautXL_v8Rundiffusion.safetensors",
    "base_model_hash": "aeb7e9e689",
    "full_negative_prompt": ["unrealistic"],
    "full_prompt": ["a cozy cabin, cinematic"],
    "guidance_scale": 4,
    "loras": [["sd_xl_offset_example-lora_1.0.safetensors", 0.1, "4852686128"]],
    "metadata_scheme": "fooocus",
    "negative_prompt": "unrealistic",
    "performance": "Speed",
    "prompt": "a cozy cabin",
    "refiner_model": "None",
    "refiner_switch": 0.5,
    "resolution": "(1152, 896)",
    "sampler": "dpmpp_2m_sde_gpu",
    "scheduler": "karras",
    "seed": "8158731372419011",
    "sharpness": 2,
    "steps": 30,
    "styles": "['Fooocus V2', 'Fooocus Enhance']",
    "vae": "Default (model)",
    "version": "Fooocus v2.5.5",
}

SWARMUI = {
    "sui_image_params": {
        "prompt": "a koi pond, watercolor",
        "negativeprompt": "photo",
        "images": 1,
        "seed": 99,
        "steps": 24,
        "cfgscale": 6.5,
        "aspectratio": "Custom",
        "width": 1344,
        "height": 768,
        "sampler": "dpmpp_3m_sde",
        "scheduler": "karras",
        "model": "OfficialStableDiffusion/sd_xl_base_1.0",
        "loras": ["koi_style"],
        "loraweights": ["0.9"],
        "swarm_version": "0.9.5.1",
    },
    "sui_extra_data": {"date": "2025-01-01", "generation_time": "3.2 sec"},
    "sui_models": [
        {
            "name": "sd_xl_base_1.0.safetensors",
            "param": "model",
            "hash": "0x31e35c80fc4829d14f90153f4c74cd59c90b779f6afe05a74cd6120b893f7e5b",
        }
    ],
}

EASYDIFFUSION = {
    "prompt": "a snowy mountain village",
    "seed": "3829",
    "use_stable_diffusion_model": "sd-v1-4",
    "clip_skip": "False",
    "use_vae_model": "vae-ft-mse-840000-ema-pruned",
    "sampler_name": "euler_a",
    "width": "512",
    "height": "512",
    "num_inference_steps": "25",
    "guidance_scale": "7.5",
    "negative_prompt": "people",
    "use_lora_model": "snowy",
    "lora_alpha": "0.6",
}

DRAWTHINGS = {
    "c": "a robot tending a garden",
    "uc": "cartoon",
    "seed": 4242,
    "scale": 4.5,
    "steps": 8,
    "sampler": "DPM++ 2M Karras",
    "model": "flux_1_schnell_q5p.ckpt",
    "size": "768x1024",
    "strength": 1,
    "lora": [{"file": "garden_lora_f16.ckpt", "weight": 0.7}],
}

MIDJOURNEY_DESCRIPTION = (
    "a vintage travel poster of Mars --ar 2:1 --v 6.1 --seed 1234 "
    "Job ID: 3f2b9c1e-8d4a-4c6b-9e1f-0a1b2c3d4e5f"
)


# --- PNG ------------------------------------------------------------------------------


def png_chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk with its CRC."""
    return (
        struct.pack(">I", len(data))
        + kind
        + data
        + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def text_chunk(key: str, value: str, kind: str = "tEXt") -> bytes:
    """A tEXt (Latin-1), zTXt (compressed Latin-1) or iTXt (UTF-8, compressed if `iTXt+z`)."""
    name = key.encode("latin-1")
    if kind == "tEXt":
        return png_chunk(b"tEXt", name + b"\x00" + value.encode("latin-1"))
    if kind == "zTXt":
        return png_chunk(b"zTXt", name + b"\x00\x00" + zlib.compress(value.encode("latin-1")))
    compressed = kind == "iTXt+z"
    body = zlib.compress(value.encode("utf-8")) if compressed else value.encode("utf-8")
    flag = b"\x01\x00" if compressed else b"\x00\x00"
    return png_chunk(b"iTXt", name + b"\x00" + flag + b"\x00\x00" + body)


def base_png(image: Image.Image | None = None) -> bytes:
    """A small PNG without text chunks."""
    buffer = io.BytesIO()
    (image or Image.new("RGB", (16, 12), (10, 120, 200))).save(buffer, "PNG")
    return buffer.getvalue()


def split_png(data: bytes) -> list[bytes]:
    """The chunks of a PNG (signature excluded)."""
    chunks, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        chunks.append(data[pos : pos + 12 + length])
        pos += 12 + length
    return chunks


def write_png(
    path: Path, extra: list[bytes], *, after_idat: bool = False, image: Image.Image | None = None
) -> Path:
    """A PNG with `extra` chunks placed right after IHDR, or between the last IDAT and IEND."""
    data = base_png(image)
    chunks = split_png(data)
    chunks = chunks[:-1] + extra + chunks[-1:] if after_idat else chunks[:1] + extra + chunks[1:]
    path.write_bytes(data[:8] + b"".join(chunks))
    return path


def png_with_texts(
    path: Path, texts: dict[str, str], kind: str = "tEXt", *, after_idat: bool = False
) -> Path:
    """A PNG carrying each key/value as a text chunk; non-Latin-1 values go to iTXt."""
    extra = []
    for key, value in texts.items():
        chosen = kind
        if kind in ("tEXt", "zTXt"):
            try:
                value.encode("latin-1")
            except UnicodeEncodeError:
                chosen = "iTXt"
        extra.append(text_chunk(key, value, chosen))
    return write_png(path, extra, after_idat=after_idat)


# --- stealth --------------------------------------------------------------------------


def stealth_png(
    path: Path, payload: bytes, magic: bytes = b"stealth_pngcomp", size: tuple[int, int] = (64, 64)
) -> Path:
    """An RGBA PNG whose alpha LSBs hold magic + 32-bit bit length + payload, column-major."""
    body = gzip.compress(payload) if magic.endswith(b"comp") else payload
    bits = np.unpackbits(
        np.frombuffer(magic + struct.pack(">I", len(body) * 8) + body, dtype=np.uint8)
    )
    width, height = size
    assert bits.size <= width * height, "image too small for the payload"
    alpha = np.full(width * height, 254, dtype=np.uint8)
    alpha[: bits.size] |= bits
    rgba = np.zeros((height, width, 4), dtype=np.uint8)
    rgba[..., 0] = 200
    rgba[..., 3] = alpha.reshape(width, height).T
    Image.fromarray(rgba, "RGBA").save(path, "PNG")
    return path


# --- JPEG / WebP / GIF ----------------------------------------------------------------


def jpeg_with_exif(
    path: Path,
    user_comment: bytes | None = None,
    *,
    software: str | None = None,
    description: str | None = None,
    xmp: bytes | None = None,
    comment: bytes | None = None,
) -> Path:
    """A JPEG with EXIF UserComment (raw bytes, prefix included), Software, XMP, COM."""
    exif = Image.Exif()
    if software:
        exif[0x0131] = software
    if description:
        exif[0x010E] = description
    if user_comment is not None:
        exif.get_ifd(0x8769)[0x9286] = user_comment
    options: dict[str, Any] = {"exif": exif}
    if xmp is not None:
        options["xmp"] = xmp
    if comment is not None:
        options["comment"] = comment
    Image.new("RGB", (16, 16), (250, 200, 0)).save(path, "JPEG", **options)
    return path


def user_comment(text: str, encoding: str) -> bytes:
    """UserComment bytes: `utf-16-be`/`utf-16-le` under UNICODE, `ascii`, or `raw` UTF-8."""
    if encoding == "raw":
        return text.encode("utf-8")
    if encoding == "ascii":
        return ASCII_PREFIX + text.encode("ascii")
    return UNICODE_PREFIX + text.encode(encoding)


def animated_webp_comfy(path: Path, prompt: dict[str, Any], workflow: dict[str, Any]) -> Path:
    """ComfyUI's SaveAnimatedWEBP layout: EXIF 0x0110 `prompt:{json}`, 0x010F `workflow:…`."""
    frames = [Image.new("RGB", (16, 16), (i * 60, 0, 0)) for i in range(3)]
    exif = frames[0].getexif()
    exif[0x0110] = "prompt:" + json.dumps(prompt)
    exif[0x010F] = "workflow:" + json.dumps(workflow)
    frames[0].save(
        path,
        "WEBP",
        save_all=True,
        append_images=frames[1:],
        duration=100,
        exif=exif,
        lossless=True,
    )
    return path


def gif_with_comment(path: Path, comment: str) -> Path:
    """A GIF whose comment extension holds `comment`."""
    Image.new("P", (8, 8), 3).save(path, "GIF", comment=comment.encode("utf-8"))
    return path


def xmp_packet(fields: dict[str, str]) -> bytes:
    """An XMP packet with exif:UserComment (as rdf:Alt), dc:description and IPTC source."""
    parts = []
    if "UserComment" in fields:
        parts.append(
            '<exif:UserComment><rdf:Alt><rdf:li xml:lang="x-default">'
            f"{_xml(fields['UserComment'])}</rdf:li></rdf:Alt></exif:UserComment>"
        )
    if "description" in fields:
        parts.append(
            '<dc:description><rdf:Alt><rdf:li xml:lang="x-default">'
            f"{_xml(fields['description'])}</rdf:li></rdf:Alt></dc:description>"
        )
    attrs = ""
    if "DigitalSourceType" in fields:
        attrs = f' Iptc4xmpExt:DigitalSourceType="{_xml(fields["DigitalSourceType"])}"'
    if "CreatorTool" in fields:
        attrs += f' xmp:CreatorTool="{_xml(fields["CreatorTool"])}"'
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:exif="http://ns.adobe.com/exif/1.0/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
        f'xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"{attrs}>'
        + "".join(parts)
        + '</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
    ).encode()


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")


# --- video / audio --------------------------------------------------------------------


def mp4_with_metadata(path: Path, metadata: dict[str, str]) -> Path:
    """A tiny H.264 MP4 whose udta/meta (mdta keys) hold `metadata`."""
    import av

    with av.open(
        str(path), "w", format="mp4", options={"movflags": "use_metadata_tags"}
    ) as container:
        for key, value in metadata.items():
            container.metadata[key] = value
        stream = container.add_stream("libx264", rate=Fraction(8, 1))
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        for i in range(4):
            frame = av.VideoFrame.from_ndarray(
                np.full((32, 32, 3), i * 40, dtype=np.uint8), format="rgb24"
            )
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def wav_with_id3(
    path: Path, comment: str | None = None, txxx: dict[str, str] | None = None
) -> Path:
    """A short silent WAV with ID3 COMM / TXXX frames."""
    from mutagen.id3 import COMM, TXXX
    from mutagen.wave import WAVE

    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(8000)
        handle.writeframes(b"\x00\x00" * 800)
    audio = WAVE(str(path))  # type: ignore[no-untyped-call]
    audio.add_tags()  # type: ignore[no-untyped-call]
    assert audio.tags is not None
    if comment is not None:
        audio.tags.add(COMM(encoding=3, lang="eng", desc="", text=[comment]))
    for desc, text in (txxx or {}).items():
        audio.tags.add(TXXX(encoding=3, desc=desc, text=[text]))
    audio.save()
    return path


# --- C2PA -----------------------------------------------------------------------------


def c2pa_signed_png(
    path: Path, *, claim_generator: str = "ChatGPT", source_type: str = AI_SOURCE
) -> Path:
    """A PNG signed offline with a throwaway ES256 CA + signer certificate."""
    import c2pa
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, utils
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    def name(common: str) -> x509.Name:
        return x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, common),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Assetlens Test"),
            ]
        )

    def usage(sign: bool) -> x509.KeyUsage:
        return x509.KeyUsage(
            digital_signature=sign,
            content_commitment=False,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=not sign,
            crl_sign=not sign,
            encipher_only=False,
            decipher_only=False,
        )

    now = dt.datetime.now(dt.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("Test Root"))
        .issuer_name(name("Test Root"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=9))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(usage(False), critical=True)
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    leaf = (
        x509.CertificateBuilder()
        .subject_name(name("Test Signer"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=9))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage(True), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    chain = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (leaf, ca)).decode()

    def sign(data: bytes) -> bytes:
        r, s = utils.decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    manifest = {
        "claim_generator_info": [{"name": claim_generator, "version": "1.0"}],
        "title": path.name,
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {
                    "actions": [
                        {
                            "action": "c2pa.created",
                            "digitalSourceType": source_type,
                            "softwareAgent": {"name": claim_generator},
                        },
                    ]
                },
            }
        ],
    }
    signer = c2pa.Signer.from_callback(sign, c2pa.C2paSigningAlg.ES256, chain, None)
    source, out = io.BytesIO(base_png()), io.BytesIO()
    with c2pa.Builder(manifest) as builder:
        builder.sign(signer, "image/png", source, out)
    path.write_bytes(out.getvalue())
    return path
