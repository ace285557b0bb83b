"""A deterministic library of prompted assets whose content is known, for measuring keyword
search quality (benchmarks/search_quality.py, tests/integration/test_search_quality.py).

Each asset is drawn from a seeded generator and carries `facts` — what it shows and how it was
made, as `kind:value` strings (`subject:fox`, `weather:snow`, `model:sdxl`, `lora:add_detail`)
— independent of the surface form its prompt uses (`foxes`, `(snowy:1.2)`, `<lora:…>`). A
labelled query names the facts a relevant asset has; the expected assets are those that have
them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from assetlens.domain import Asset, AssetStatus, AssetType, Generation, LoRA, Source
from assetlens.query import IndexDoc

WORKSPACE = "quality"
SEED = 2026
SIZE = 600
_T0 = datetime(2026, 1, 1, tzinfo=UTC)

# lemma → (singular, plural)
SUBJECTS: dict[str, tuple[str, str]] = {
    "fox": ("fox", "foxes"), "wolf": ("wolf", "wolves"), "city": ("city", "cities"),
    "butterfly": ("butterfly", "butterflies"), "mouse": ("mouse", "mice"),
    "child": ("child", "children"), "leaf": ("autumn leaf", "autumn leaves"),
    "church": ("church", "churches"), "knife": ("knife", "knives"),
    "galaxy": ("galaxy", "galaxies"), "woman": ("woman", "women"),
    "horse": ("horse", "horses"), "dragon": ("dragon", "dragons"),
    "castle": ("castle", "castles"), "lantern": ("lantern", "lanterns"),
    "robot": ("robot", "robots"), "ship": ("ship", "ships"), "owl": ("owl", "owls"),
    "samurai": ("samurai", "samurai"), "lighthouse": ("lighthouse", "lighthouses"),
}  # fmt: skip
# lemma → the forms a prompt says it in (noun, -y adjective, -ing; some no stemmer relates:
# `snowfall`, `frozen` — an honest miss in the figures)
WEATHER: dict[str, tuple[str, ...]] = {
    "snow": ("snow", "snowy", "snowing", "snowfall"), "rain": ("rain", "rainy", "raining"),
    "ice": ("ice", "icy", "frozen"), "haze": ("haze", "hazy"), "smoke": ("smoke", "smoky"),
    "fog": ("fog", "foggy"), "storm": ("storm", "stormy", "storms"), "sun": ("sun", "sunny"),
    "mist": ("mist", "misty"), "wind": ("wind", "windy"), "cloud": ("clouds", "cloudy"),
}  # fmt: skip
ACTIONS: dict[str, tuple[str, ...]] = {
    "glow": ("glowing", "glows", "glow"), "run": ("running", "runs"),
    "fly": ("flying", "flies"), "sleep": ("sleeping", "sleeps"),
    "dance": ("dancing", "dances"), "swim": ("swimming", "swims"),
    "hunt": ("hunting", "hunts"), "read": ("reading", "reads"),
}  # fmt: skip
COLORS: dict[str, str] = {
    "red": "red", "blue": "blue", "gold": "golden", "silver": "silver", "white": "white",
    "green": "green",
}  # fmt: skip
STYLES: dict[str, str] = {
    "latent": "latent diffusion render", "lattice": "lattice pattern",
    "watercolor": "watercolor painting", "cyberpunk": "cyberpunk neon",
    "steampunk": "steampunk brass", "photorealistic": "photorealistic, 8k",
    "isometric": "isometric diorama", "ukiyoe": "ukiyo-e woodblock print",
    "oil": "oil painting", "cinematic": "cinematic lighting",
}  # fmt: skip
# family → checkpoint file names of it
MODELS: dict[str, tuple[str, ...]] = {
    "sdxl": ("sd_xl_base_1.0.safetensors", "sdXL_v10VAEFix.safetensors"),
    "dreamshaper": ("dreamshaper_8.safetensors", "DreamShaperXL_Turbo_v2.safetensors"),
    "juggernaut": ("juggernautXL_v9Rundiffusionphoto2.safetensors",),
    "flux-dev": ("flux1-dev.safetensors", "flux1-dev-fp8"),
    "flux-schnell": ("flux1-schnell.safetensors",),
    "realistic-vision": ("realisticVisionV60B1_v51VAE.safetensors",),
    "sd15": ("v1-5-pruned-emaonly.ckpt",),
    "pony": ("ponyDiffusionV6XL_v6StartWithThisOne.safetensors",),
    "epicrealism": ("epicrealism_naturalSinRC1VAE.safetensors",),
}  # fmt: skip
SAMPLERS: dict[str, str] = {
    "dpm-karras": "DPM++ 2M Karras", "euler-a": "Euler a", "euler-ancestral": "euler_ancestral",
    "dpmpp-sde": "dpmpp_2m_sde", "ddim": "DDIM", "unipc": "UniPC",
}  # fmt: skip
GENERATORS: dict[str, str] = {
    "comfyui": "ComfyUI", "a1111": "AUTOMATIC1111", "invokeai": "InvokeAI",
    "fooocus": "Fooocus", "drawthings": "DrawThings",
}  # fmt: skip
LORAS = ("add_detail", "epiNoiseoffset_v2", "more_details", "ghibli_style_offset",
         "pixel-art-xl", "LCM_LoRA_SDXL", "detailTweaker")  # fmt: skip
TAGS = ("landscape", "portrait", "wallpaper", "concept art", "favorites", "wip", "print",
        "client work")  # fmt: skip
# Prompts in Japanese / Chinese: (text, its cjk facts)
CJK_PROMPTS = (
    ("雪の中の狐、夜明け", ("cjk:狐", "cjk:雪")), ("桜の木の下で眠る猫", ("cjk:猫", "cjk:桜")),
    ("東京の夜景、雨", ("cjk:東京", "cjk:雨")), ("山の上の古い城", ("cjk:城",)),
    ("一只在雪地里奔跑的狐狸", ("cjk:狐", "cjk:雪")), ("夜晚的东京街头", ("cjk:东京",)),
)  # fmt: skip
# Phrases that look like words of other queries but are not (negatives: "fairy", "bunny").
DISTRACTORS = ("fair skin", "hair in a bun", "part of a series", "kit bag")
_A1111 = {"a1111", "fooocus"}


@dataclass(frozen=True, slots=True)
class LabelledDoc:
    """An index document and the facts that make it relevant to labelled queries."""

    doc: IndexDoc
    facts: frozenset[str]


def asset_id(i: int) -> str:
    return f"q{i:04d}"


def corpus(size: int = SIZE, seed: int = SEED) -> list[LabelledDoc]:
    """`size` prompted assets, the same for the same seed."""
    return [_labelled(random.Random(f"{seed}:{i}"), i) for i in range(size)]


def _labelled(rng: random.Random, i: int) -> LabelledDoc:
    facts: set[str] = set()
    family = rng.choice(sorted(MODELS))
    sampler = rng.choice(sorted(SAMPLERS))
    generator = rng.choice(sorted(GENERATORS))
    loras = rng.sample(LORAS, rng.choice((0, 0, 1, 1, 2)))
    facts |= {f"model:{family}", f"sampler:{sampler}", f"generator:{generator}"}
    facts |= {f"lora:{name.lower()}" for name in loras}
    a1111 = generator in _A1111
    if rng.random() < 0.08:
        prompt, cjk = rng.choice(CJK_PROMPTS)
        facts |= set(cjk)
    else:
        prompt = _prompt(rng, facts, a1111, loras)
    created = _T0 + timedelta(minutes=i * 37)
    if generator == "comfyui":  # the file names each tool gives its images
        name = f"ComfyUI_{i:05d}_.png"
    else:
        name = f"{i:05d}-{rng.randrange(10**9)}.png"
    asset = Asset(
        id=asset_id(i),
        workspace=WORKSPACE,
        name=name,
        type=AssetType.IMAGE,
        mime="image/png",
        extension="png",
        size_bytes=100_000 + i,
        sha256=f"{i:064x}",
        status=AssetStatus.READY,
        tags=sorted(set(rng.sample(TAGS, rng.choice((0, 1, 2))))),
        source=Source.GENERATION,
        generation=Generation(
            prompt=prompt,
            negative_prompt=_negative(rng, facts) if a1111 else None,
            model=rng.choice(MODELS[family]),
            sampler=SAMPLERS[sampler],
            generator=GENERATORS[generator],
            loras=[LoRA(name=name, weight=0.7) for name in loras],
            seed=rng.randrange(2**31),
            steps=rng.choice((20, 25, 30)),
            ai_generated=True,
        ),
        created_at=created,
        updated_at=created,
    )
    return LabelledDoc(doc=IndexDoc(asset=asset), facts=frozenset(facts))


def _negative(rng: random.Random, facts: set[str]) -> str:
    """An A1111 negative prompt; one in three also names a subject the asset does not show
    (`extra horses`): a match of that word is no relevant hit, and should rank below the
    assets whose prompt says it (field weights)."""
    text = "(blurry:1.3), lowres, bad anatomy"
    shown = {f.split(":", 1)[1] for f in facts if f.startswith("subject:")}
    if rng.random() < 0.35:
        text += f", extra {SUBJECTS[rng.choice(sorted(set(SUBJECTS) - shown))][1]}"
    return text


def _weighted(rng: random.Random, text: str, a1111: bool) -> str:
    """`text`, in an A1111 prompt sometimes with an attention weight."""
    if a1111 and rng.random() < 0.4:
        return f"({text}:{rng.choice(('1.1', '1.2', '1.3', '0.8'))})"
    return text


def _prompt(rng: random.Random, facts: set[str], a1111: bool, loras: list[str]) -> str:
    subject = rng.choice(sorted(SUBJECTS))
    facts.add(f"subject:{subject}")
    singular, plural = SUBJECTS[subject]
    count = rng.random()
    noun = f"a {singular}" if count < 0.5 else f"{rng.choice(('two', 'three', 'many'))} {plural}"
    parts: list[str] = []
    if rng.random() < 0.5:
        color = rng.choice(sorted(COLORS))
        facts.add(f"color:{color}")
        if a1111 and rng.random() < 0.3:  # prompt alternation: both colours are in the prompt
            other = rng.choice(sorted(set(COLORS) - {color}))
            facts.add(f"color:{other}")
            noun = f"[{COLORS[color]}|{COLORS[other]}] {noun.split(' ', 1)[1]}"
        else:
            noun = f"{noun.split(' ', 1)[0]} {COLORS[color]} {noun.split(' ', 1)[1]}"
    if rng.random() < 0.6:
        action = rng.choice(sorted(ACTIONS))
        facts.add(f"action:{action}")
        noun = f"{noun} {rng.choice(ACTIONS[action])}"
    parts.append(_weighted(rng, noun, a1111))
    if rng.random() < 0.6:
        weather = rng.choice(sorted(WEATHER))
        facts.add(f"weather:{weather}")
        form = rng.choice(WEATHER[weather])
        parts.append(
            _weighted(
                rng,
                f"{form} {rng.choice(('day', 'night', 'evening'))}"
                if form.endswith(("y", "en"))
                else f"in the {form}",
                a1111,
            )
        )
    style = rng.choice(sorted(STYLES))
    facts.add(f"style:{style}")
    parts.append(_weighted(rng, STYLES[style], a1111))
    if rng.random() < 0.15:
        parts.append(rng.choice(DISTRACTORS))
    if a1111:
        parts.insert(0, "(masterpiece:1.2), best quality")
        facts.add("quality:masterpiece")
        parts.extend(f"<lora:{name}:{rng.choice(('0.6', '0.8', '1'))}>" for name in loras)
    return ", ".join(parts)
