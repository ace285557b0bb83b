"""The sample library the browser tests browse: prompts, models, tags, a few types."""

from __future__ import annotations

import json
from dataclasses import dataclass

from assetlens.bootstrap import Container
from tests.conftest import Api
from tests.support.media_samples import png_bytes, wav_bytes


@dataclass
class Library:
    """The live server, its container, the workspace's key and the seeded asset ids."""

    base_url: str
    container: Container
    key: str
    api: Api
    ids: dict[str, str]


@dataclass(frozen=True)
class Sample:
    filename: str
    prompt: str
    model: str
    sampler: str
    tags: str
    seed: int


SAMPLES = [
    Sample("fox-snow.png", "a red fox in the snow at dawn", "sdxl", "euler_a", "animal,winter", 1),
    Sample("fox-forest.png", "a red fox sleeping in a forest", "flux-dev", "dpmpp_2m", "animal", 2),
    Sample("fox-city.png", "a fox crossing a neon street", "sd15", "euler_a", "animal,city", 3),
    Sample("owl-night.png", "an owl on a branch at night", "sdxl", "dpmpp_2m", "animal,night", 4),
    Sample("castle.png", "a castle on a cliff above the sea", "flux-dev", "euler", "landscape", 5),
    Sample("robot.png", "a tiny robot watering plants", "sdxl", "euler", "robot", 6),
    Sample("lake.png", "a calm mountain lake at dawn", "sd15", "dpmpp_2m", "landscape", 7),
]


def seed_library(api: Api) -> dict[str, str]:
    """Upload the samples (waiting for indexing); returns filename → asset id."""
    ids: dict[str, str] = {}
    for sample in SAMPLES:
        metadata = {"model": sample.model, "sampler": sample.sampler, "seed": sample.seed,
                    "steps": 30, "cfg_scale": 7.0, "provider": "local",
                    "loras": [{"name": "detail-tweaker", "weight": 0.6}]}
        response = api.upload(sample.filename, png_bytes((256, 192), seed=sample.seed),
                              tags=sample.tags, prompt=sample.prompt,
                              metadata=json.dumps(metadata))
        response.raise_for_status()
        ids[sample.filename] = response.json()["id"]
    audio = api.upload("chime.wav", wav_bytes(1.0), tags="sound")
    audio.raise_for_status()
    ids["chime.wav"] = audio.json()["id"]
    return ids


def count_model(model: str, word: str = "") -> int:
    """How many samples have `model` (and `word` in the prompt)."""
    return sum(1 for s in SAMPLES if s.model == model and word in s.prompt)
