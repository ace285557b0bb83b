"""Deterministic synthetic assets, vectors and queries for search benchmarks.

Prompts are drawn from a word list with a Zipf-like skew (a few words are common, most are
rare, as in real prompts); vectors are noisy copies of cluster centres, so nearest neighbours
are meaningful and ANN recall can be measured.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

from assetlens.domain import Asset, AssetStatus, AssetType, Generation, LoRA, Source
from assetlens.query import IndexDoc

WORKSPACE = "bench"
VECTOR_MODEL = "bench-clip"
_SUBJECTS = [
    "cat",
    "dog",
    "fox",
    "owl",
    "horse",
    "dragon",
    "robot",
    "knight",
    "wizard",
    "castle",
    "city",
    "forest",
    "mountain",
    "river",
    "ocean",
    "lighthouse",
    "garden",
    "temple",
    "bridge",
    "village",
    "desert",
    "island",
    "volcano",
    "waterfall",
    "street",
    "market",
    "portrait",
    "landscape",
    "spaceship",
    "samurai",
    "astronaut",
    "princess",
    "warrior",
    "tiger",
    "wolf",
    "eagle",
    "whale",
    "butterfly",
    "flower",
    "tree",
    "cabin",
    "tower",
    "train",
    "car",
    "motorcycle",
    "ship",
    "harbor",
    "cathedral",
    "library",
    "cafe",
]
_STYLES = [
    "watercolor",
    "oil",
    "painting",
    "digital",
    "art",
    "photorealistic",
    "cinematic",
    "anime",
    "sketch",
    "pixel",
    "art",
    "isometric",
    "low",
    "poly",
    "vaporwave",
    "cyberpunk",
    "steampunk",
    "baroque",
    "minimalist",
    "surreal",
    "impressionist",
    "ukiyo-e",
    "art",
    "nouveau",
    "noir",
    "pastel",
    "neon",
    "gothic",
    "fantasy",
    "retro",
    "vintage",
    "futuristic",
]
_MODIFIERS = [
    "highly",
    "detailed",
    "intricate",
    "sharp",
    "focus",
    "volumetric",
    "lighting",
    "golden",
    "hour",
    "soft",
    "light",
    "dramatic",
    "moody",
    "vibrant",
    "colorful",
    "muted",
    "foggy",
    "misty",
    "rainy",
    "snowy",
    "sunny",
    "night",
    "sunset",
    "sunrise",
    "dusk",
    "dawn",
    "8k",
    "4k",
    "masterpiece",
    "trending",
    "award",
    "winning",
    "bokeh",
    "depth",
    "of",
    "field",
    "wide",
    "angle",
    "close-up",
    "symmetrical",
    "ethereal",
    "glowing",
    "reflective",
    "ornate",
    "weathered",
    "ancient",
    "modern",
    "tiny",
    "giant",
]
_NEGATIVE = "blurry lowres watermark text deformed extra fingers bad anatomy jpeg artifacts"
TAGS = [f"tag-{name}" for name in (*_SUBJECTS[:30], *_STYLES[:20])]
MODELS = ["sdxl-base", "flux-dev", "sd15", "midjourney-v6", "dalle-3", "playground-v2"]
PROVIDERS = ["local", "replicate", "openai", "midjourney", "stability"]
SAMPLERS = ["euler", "euler_a", "dpmpp_2m", "ddim", "heun"]
GENERATORS = ["comfyui", "a1111", "invokeai", None]
LORAS = [f"lora-{i}" for i in range(20)]
TYPES = [AssetType.IMAGE] * 7 + [AssetType.VIDEO, AssetType.AUDIO, AssetType.LOGO]
# In rank order for the Zipf draw: quality modifiers are in nearly every prompt, subjects
# and styles much rarer, as in real prompt collections.
VOCABULARY = [*_MODIFIERS, *_STYLES, *_SUBJECTS]
_T0 = datetime(2023, 1, 1, tzinfo=UTC)
_BLOCK = 1000


@dataclass(frozen=True, slots=True)
class Corpus:
    """The parameters of a synthetic library; everything is derived from them."""

    n: int
    dim: int = 512
    clusters: int = 200
    noise: float = 0.6
    seed: int = 7

    def centres(self) -> npt.NDArray[np.float32]:
        rng = np.random.default_rng(self.seed)
        centres = rng.standard_normal((self.clusters, self.dim)).astype(np.float32)
        normed: npt.NDArray[np.float32] = centres / np.linalg.norm(centres, axis=1, keepdims=True)
        return normed

    def vectors(self, start: int, stop: int) -> npt.NDArray[np.float32]:
        """The L2-normalised vectors of assets start..stop, the same however they are cut
        (each block of _BLOCK assets has its own random stream)."""
        centres = self.centres()
        parts = []
        for block in range(start // _BLOCK, (stop - 1) // _BLOCK + 1):
            rng = np.random.default_rng((self.seed, block))
            which = rng.integers(0, self.clusters, _BLOCK)
            noise = rng.standard_normal((_BLOCK, self.dim)).astype(np.float32)
            noise *= self.noise / np.sqrt(self.dim)
            lo = max(start, block * _BLOCK) - block * _BLOCK
            hi = min(stop, (block + 1) * _BLOCK) - block * _BLOCK
            parts.append(centres[which[lo:hi]] + noise[lo:hi])
        vectors = np.concatenate(parts)
        normed: npt.NDArray[np.float32] = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        return normed

    def all_vectors(self) -> npt.NDArray[np.float32]:
        return self.vectors(0, self.n)

    def docs(self, chunk: int = 1000) -> Iterator[list[IndexDoc]]:
        """The corpus as batches of IndexDocs, never all in memory at once."""
        for start in range(0, self.n, chunk):
            stop = min(start + chunk, self.n)
            vectors = self.vectors(start, stop)
            yield [_doc(self.seed, i, vectors[i - start]) for i in range(start, stop)]


def asset_id(i: int) -> str:
    return f"{i:032x}"


def _words(rng: np.random.Generator, count: int) -> list[str]:
    # Zipf-like: low ranks far more likely, as in real prompt vocabularies.
    ranks = np.minimum(rng.zipf(1.3, count) - 1, len(VOCABULARY) - 1)
    return [VOCABULARY[int(r)] for r in ranks]


def _doc(seed: int, i: int, vector: npt.NDArray[np.float32]) -> IndexDoc:
    rng = np.random.default_rng((seed, i))
    subject = _SUBJECTS[int(rng.integers(len(_SUBJECTS)))]
    style = _STYLES[int(rng.integers(len(_STYLES)))]
    prompt = " ".join([f"a {style} of a {subject},", *_words(rng, int(rng.integers(6, 22)))])
    generated = rng.random() < 0.8
    created = _T0 + timedelta(minutes=int(rng.integers(0, 2 * 365 * 24 * 60)))
    tags = sorted({TAGS[int(t)] for t in rng.integers(0, len(TAGS), int(rng.integers(0, 5)))})
    asset = Asset(
        id=asset_id(i),
        workspace=WORKSPACE,
        name=f"{subject}-{style}-{i}.png",
        description=" ".join(_words(rng, int(rng.integers(0, 8)))),
        type=TYPES[int(rng.integers(len(TYPES)))],
        mime="image/png",
        extension="png",
        size_bytes=int(np.exp(rng.uniform(np.log(2_000), np.log(150_000_000)))),
        sha256=f"{i:064x}",
        status=AssetStatus.READY,
        tags=tags,
        folder_id=f"folder-{int(rng.integers(0, 50))}",
        source=Source.GENERATION if generated else Source.UPLOAD,
        generation=Generation(
            prompt=prompt if generated else None,
            negative_prompt=_NEGATIVE if generated and rng.random() < 0.5 else None,
            model=MODELS[int(rng.integers(len(MODELS)))] if generated else None,
            provider=PROVIDERS[int(rng.integers(len(PROVIDERS)))] if generated else None,
            sampler=SAMPLERS[int(rng.integers(len(SAMPLERS)))] if generated else None,
            generator=GENERATORS[int(rng.integers(len(GENERATORS)))] if generated else None,
            loras=[LoRA(name=LORAS[int(rng.integers(len(LORAS)))], weight=0.7)]
            if generated and rng.random() < 0.3
            else [],
            seed=int(rng.integers(0, 2**31)),
            ai_generated=generated,
        ),
        created_at=created,
        updated_at=created,
    )
    return IndexDoc(asset=asset, vector=vector.tolist(), vector_model=VECTOR_MODEL)


def keyword_queries(count: int, seed: int = 11) -> list[str]:
    """What people type: a subject, a style, both, or (one in five) a common modifier that
    matches most of the library — the worst case for ranking and facets."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        subject = _SUBJECTS[int(rng.integers(len(_SUBJECTS)))]
        style = _STYLES[int(rng.integers(len(_STYLES)))]
        pick = rng.random()
        if pick < 0.2:
            out.append(" ".join(_words(rng, 1)))
        elif pick < 0.5:
            out.append(subject)
        elif pick < 0.7:
            out.append(style)
        else:
            out.append(f"{style} {subject}")
    return out


def query_vectors(corpus: Corpus, count: int, seed: int = 13) -> npt.NDArray[np.float32]:
    """Query vectors near the corpus's clusters (but not copies of indexed vectors)."""
    rng = np.random.default_rng(seed)
    centres = corpus.centres()
    noise = rng.standard_normal((count, corpus.dim)).astype(np.float32)
    noise *= corpus.noise / np.sqrt(corpus.dim)
    vectors = centres[rng.integers(0, corpus.clusters, count)] + noise
    normed: npt.NDArray[np.float32] = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    return normed
