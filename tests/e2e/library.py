"""The sample library the browser tests browse: prompts, models, tags, a few types."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from assetlens.bootstrap import Container
from tests.conftest import Api
from tests.support.media_samples import png_bytes, wav_bytes


@dataclass
class Library:
    """The live server, its container, the workspace's key, the seeded asset ids
    (filename → id) and folder ids (name → id)."""

    base_url: str
    container: Container
    key: str
    api: Api
    ids: dict[str, str]
    folders: dict[str, str] = field(default_factory=dict)


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
        metadata = {
            "model": sample.model,
            "sampler": sample.sampler,
            "seed": sample.seed,
            "steps": 30,
            "cfg_scale": 7.0,
            "provider": "local",
            "loras": [{"name": "detail-tweaker", "weight": 0.6}],
        }
        response = api.upload(
            sample.filename,
            png_bytes((256, 192), seed=sample.seed),
            tags=sample.tags,
            prompt=sample.prompt,
            metadata=json.dumps(metadata),
        )
        response.raise_for_status()
        ids[sample.filename] = response.json()["id"]
    audio = api.upload("chime.wav", wav_bytes(1.0), tags="sound")
    audio.raise_for_status()
    ids["chime.wav"] = audio.json()["id"]
    return ids


def count_model(model: str, word: str = "") -> int:
    """How many samples have `model` (and `word` in the prompt)."""
    return sum(1 for s in SAMPLES if s.model == model and word in s.prompt)


def seed_folders(api: Api, ids: dict[str, str]) -> dict[str, str]:
    """Animals (the owl) › Foxes (the three foxes), and an empty Places; name → id."""

    def create(name: str, parent: str | None = None) -> str:
        response = api.http.post("/v1/folders", json={"name": name, "parent_id": parent})
        response.raise_for_status()
        return str(response.json()["id"])

    folders = {"Animals": create("Animals")}
    folders["Foxes"] = create("Foxes", folders["Animals"])
    folders["Places"] = create("Places")
    moves = {
        "owl-night.png": "Animals",
        "fox-snow.png": "Foxes",
        "fox-forest.png": "Foxes",
        "fox-city.png": "Foxes",
    }
    for filename, folder in moves.items():
        api.http.patch(
            f"/v1/assets/{ids[filename]}", json={"folder_id": folders[folder]}
        ).raise_for_status()
    wait_for_search(api, {"folder_id": [folders["Foxes"]]}, 3)
    wait_for_search(api, {"folder_id": [folders["Animals"]]}, 1)
    return folders


def wait_for_search(api: Api, filters: dict[str, object], total: int) -> None:
    """Indexing is asynchronous: wait until a search with `filters` finds `total` assets."""
    deadline = time.monotonic() + 15
    while True:
        found = api.search(filters=filters, limit=1).json()["total"]
        if found == total:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"search {filters} found {found}, expected {total}")
        time.sleep(0.05)
