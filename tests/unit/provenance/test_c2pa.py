"""C2PA manifests signed offline by the test suite with a throwaway certificate chain."""

from __future__ import annotations

import json
from pathlib import Path

from assetlens.provenance import extract
from assetlens.provenance.c2pa import manifest_info
from tests.unit.provenance import fixtures as fx


def test_signed_openai_like_png(tmp_path: Path) -> None:
    path = fx.c2pa_signed_png(tmp_path / "c.png")
    gen = extract(path, "image/png")
    assert gen is not None
    assert (gen.generator, gen.provider, gen.ai_generated) == ("openai", "openai", True)
    assert gen.c2pa is not None
    assert gen.c2pa.claim_generator == "ChatGPT 1.0"
    assert gen.c2pa.actions == ["c2pa.created"]
    assert gen.c2pa.digital_source_type == fx.AI_SOURCE
    # No trust anchors ship with Assetlens: a good signature is Valid, never Trusted.
    assert gen.c2pa.validation_state == "Valid"
    assert gen.c2pa.issuer == "Assetlens Test"


def test_signed_non_ai_capture(tmp_path: Path) -> None:
    path = fx.c2pa_signed_png(
        tmp_path / "cam.png",
        claim_generator="Camera App",
        source_type="http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture",
    )
    gen = extract(path, "image/png")
    assert gen is not None
    assert gen.c2pa is not None
    assert gen.generator is None
    assert gen.ai_generated is None
    assert gen.c2pa.digital_source_type is not None
    assert gen.c2pa.digital_source_type.endswith("digitalCapture")


def test_tampered_pixels_are_invalid(tmp_path: Path) -> None:
    path = fx.c2pa_signed_png(tmp_path / "t.png")
    chunks = fx.split_png(path.read_bytes())
    idat = next(i for i, c in enumerate(chunks) if c[4:8] == b"IDAT")
    body = bytearray(chunks[idat][8:-4])
    body[-1] ^= 0xFF
    chunks[idat] = fx.png_chunk(b"IDAT", bytes(body))
    path.write_bytes(fx.base_png()[:8] + b"".join(chunks))
    gen = extract(path, "image/png")
    assert gen is not None
    assert gen.c2pa is not None
    assert gen.c2pa.validation_state == "Invalid"


def test_manifest_report_mapping() -> None:
    report = json.loads(
        json.dumps(
            {
                "active_manifest": "m1",
                "manifests": {
                    "m1": {
                        "claim_generator": "Adobe_Firefly c2pa-rs/0.30",
                        "assertions": [
                            {
                                "label": "c2pa.actions",
                                "data": {
                                    "actions": [
                                        {"action": "c2pa.opened"},
                                        {
                                            "action": "c2pa.edited",
                                            "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/"
                                            "compositeWithTrainedAlgorithmicMedia",
                                        },
                                    ]
                                },
                            },
                            {"label": "junk", "data": 5},
                        ],
                        "signature_info": {
                            "issuer": "Adobe Inc.",
                            "time": "2024-05-01T10:00:00+00:00",
                        },
                        "ingredients": [{"title": "parent.jpg"}, {"instance_id": "xmp:iid:1"}, 7],
                    }
                },
            }
        )
    )
    info = manifest_info(report, "Trusted")
    assert info is not None
    assert info.claim_generator == "Adobe_Firefly c2pa-rs/0.30"
    assert info.actions == ["c2pa.opened", "c2pa.edited"]
    assert info.digital_source_type is not None
    assert info.digital_source_type.endswith("compositeWithTrainedAlgorithmicMedia")
    assert info.validation_state == "Valid"
    assert (info.issuer, info.signed_at) == ("Adobe Inc.", "2024-05-01T10:00:00+00:00")
    assert info.ingredients == ["parent.jpg", "xmp:iid:1"]
    assert manifest_info({"manifests": []}, None) is None


def test_c2pa_marker_without_manifest(tmp_path: Path) -> None:
    path = fx.png_with_texts(tmp_path / "m.png", {"Comment": "c2pa mentioned in passing"})
    assert extract(path, "image/png") is None
