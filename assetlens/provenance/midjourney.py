"""Midjourney web downloads: `Description` = `<prompt> --ar 2:1 --v 6 Job ID: <uuid>`."""

from __future__ import annotations

import re

from assetlens.domain import Generation
from assetlens.provenance.coerce import cap_raw, finish, to_int, to_text

_JOB = re.compile(
    r"Job ID:\s*([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"
)
_PARAMS = re.compile(r"(?:^|\s)--[a-z]")
_VERSION = re.compile(r"--(v|version|niji)\s+([\w.]{1,8})")
_SEED = re.compile(r"--seed\s+(\d{1,12})")


def is_midjourney(description: str) -> bool:
    """True for a Midjourney description (a Job ID, or `--` parameters with a version)."""
    return bool(_JOB.search(description)) or bool(_VERSION.search(description))


def parse_midjourney(description: str) -> Generation:
    """Prompt without parameters, the parameters as text, the Job ID as job_id."""
    job = _JOB.search(description)
    body = _JOB.sub("", description).strip()
    params_at = _PARAMS.search(body)
    prompt = body[: params_at.start()] if params_at else body
    params = body[params_at.start() :].strip() if params_at else ""
    version = _VERSION.search(params)
    seed = _SEED.search(params)
    gen = Generation(
        generator="midjourney",
        provider="midjourney",
        prompt=to_text(prompt),
        job_id=job.group(1).lower() if job else None,
        seed=to_int(seed.group(1)) if seed else None,
        model=(
            f"niji {version.group(2)}"
            if version.group(1) == "niji"
            else f"Midjourney v{version.group(2)}"
        )
        if version
        else None,
        raw=cap_raw(description),
    )
    if params:
        gen.texts.append(params)
    return finish(gen)
