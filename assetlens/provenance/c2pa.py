"""C2PA manifests via c2pa-python, offline: no remote manifest and no OCSP fetch.

No trust anchors are configured, so a good signature reads as "Valid", never "Trusted".
"""

from __future__ import annotations

import json
import mmap
from pathlib import Path
from typing import Any

from assetlens.domain import C2PAInfo

MAX_MANIFEST_SCAN_BYTES = 256 * 1024 * 1024
AI_SOURCE_TYPES = ("trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia")
_OFFLINE = {
    "verify": {"remote_manifest_fetch": False, "ocsp_fetch": False},
}
# claim generator → (generator, provider) for the tools that only speak C2PA.
_KNOWN = (
    ("chatgpt", "openai"),
    ("openai", "openai"),
    ("dall", "openai"),
    ("sora", "openai"),
    ("firefly", "adobe"),
    ("adobe", "adobe"),
    ("photoshop", "adobe"),
    ("bing", "microsoft"),
    ("microsoft", "microsoft"),
    ("designer", "microsoft"),
    ("google", "google"),
    ("imagen", "google"),
    ("gemini", "google"),
    ("midjourney", "midjourney"),
    ("stability", "stability"),
)


def might_have_c2pa(path: Path) -> bool:
    """A cheap scan for the JUMBF `c2pa` label before starting the native reader."""
    with path.open("rb") as handle:
        size = path.stat().st_size
        if size == 0 or size > MAX_MANIFEST_SCAN_BYTES:
            return False
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as view:
            return view.find(b"c2pa") >= 0


def read_c2pa(path: Path, mime: str) -> C2PAInfo | None:
    """The active manifest's claim generator, actions, digital source type, validation
    state, signer and ingredients; None when the file has no manifest."""
    import c2pa

    if not might_have_c2pa(path):
        return None
    context = c2pa.Context.from_dict(_OFFLINE)
    with path.open("rb") as stream:
        reader = c2pa.Reader.try_create(mime, stream, context=context)
        if reader is None:
            return None
        with reader:
            report = json.loads(reader.json())
            state = reader.get_validation_state()
    return manifest_info(report, state)


def manifest_info(report: dict[str, Any], state: str | None) -> C2PAInfo | None:
    """Normalised C2PA fields from a reader's JSON report."""
    manifests = report.get("manifests")
    active = manifests.get(report.get("active_manifest")) if isinstance(manifests, dict) else None
    if not isinstance(active, dict):
        return None
    info = C2PAInfo(
        claim_generator=_claim_generator(active),
        validation_state="Valid" if state == "Trusted" else state,
    )
    for assertion in active.get("assertions") or []:
        if not isinstance(assertion, dict):
            continue
        if str(assertion.get("label", "")).startswith("c2pa.actions"):
            data = assertion.get("data")
            for action in (data.get("actions") if isinstance(data, dict) else None) or []:
                if not isinstance(action, dict):
                    continue
                if isinstance(action.get("action"), str):
                    info.actions.append(action["action"])
                source = action.get("digitalSourceType")
                if isinstance(source, str) and info.digital_source_type is None:
                    info.digital_source_type = source
    signature = active.get("signature_info")
    if isinstance(signature, dict):
        info.issuer = _str(signature.get("issuer"))
        info.signed_at = _str(signature.get("time"))
    for ingredient in active.get("ingredients") or []:
        if isinstance(ingredient, dict):
            label = _str(ingredient.get("title")) or _str(ingredient.get("instance_id"))
            if label:
                info.ingredients.append(label)
    return info


def _claim_generator(active: dict[str, Any]) -> str | None:
    generator = _str(active.get("claim_generator"))
    if generator:
        return generator
    infos = active.get("claim_generator_info")
    if isinstance(infos, list) and infos and isinstance(infos[0], dict):
        name, version = _str(infos[0].get("name")), _str(infos[0].get("version"))
        if name:
            return f"{name} {version}" if version else name
    return None


def _str(value: Any) -> str | None:
    return value[:512] if isinstance(value, str) and value else None


def is_ai_source(info: C2PAInfo) -> bool:
    """True when the digital source type says trained algorithmic (AI) media."""
    source = info.digital_source_type or ""
    return source.rsplit("/", 1)[-1] in AI_SOURCE_TYPES


def known_generator(info: C2PAInfo) -> str | None:
    """The generator/provider name for a claim generator we recognise."""
    text = (info.claim_generator or "").lower()
    for needle, name in _KNOWN:
        if needle in text:
            return name
    return None
