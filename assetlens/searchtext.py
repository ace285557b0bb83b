"""What an asset's searchable text is, and how each word of a query matches it — the same
for both search backends (docs/SEARCH.md).

Neither backend can stem or split names server-side in the same way (the Elasticsearch node
has no analysis-common module; FTS5's porter tokenizer differs from Snowball), so all of it
happens here, in Python, before either backend sees the text:

- word forms: every Latin-script word of the text is indexed a second time as its English
  Snowball stem (plus the stem of the noun under a `-y` adjective: `snowy` → `snow`, of an
  irregular plural: `wolves` → `wolf`, and of a few listed derivations: `golden` → `gold`) in a
  separate `stems` text;
- names: model, generator, sampler and LoRA names (and `<lora:name:w>` tags in prompts) are
  indexed as their parts, camelCase and letter/digit runs split, adjacent parts joined
  (`juggernautXL_v9.safetensors` → `juggernautxl juggernaut xl v9 v 9 …`, `sd_xl` → `sdxl`);
- prompt syntax: attention weights (`(word:1.2)`, `<lora:x:0.8>`, `[a:b:0.5]`) are dropped so
  only the words are indexed.

A query word then matches its exact word (in any text but `stems`), or one of its stems (in
`stems`), or — the last word while the user is still typing it — any *longer* word it begins,
weighted far below an exact match (PREFIX_WEIGHT), so the word itself ranks first and the words
it may become follow. The typed word is matched and scored by its exact clause only, never by
its prefix as well (which would score an exact match twice, and make a common word's query
walk its postings twice): Elasticsearch's prefix clause is a `wildcard` `word?*`, tantivy's the
longer words of the term dictionary, FTS5's `"word" * NOT "word"` (docs/SEARCH.md). Every
engine must follow this rule alike, or the backends' answers part.
"""

from __future__ import annotations

import functools
import itertools
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass

import snowballstemmer

from assetlens.domain import Asset
from assetlens.textsplit import fold_diacritics, open_last_term, query_terms

# A word shorter than this is never matched as a prefix (it would expand to half the index).
MIN_PREFIX_CHARS = 3

# Irregular English plurals the Snowball stemmer leaves apart from their singular.
_IRREGULAR = {
    "wolves": "wolf", "leaves": "leaf", "knives": "knife", "elves": "elf", "shelves": "shelf",
    "halves": "half", "lives": "life", "wives": "wife", "thieves": "thief", "loaves": "loaf",
    "calves": "calf", "scarves": "scarf", "hooves": "hoof", "dwarves": "dwarf",
    "women": "woman", "men": "man", "children": "child", "mice": "mouse", "geese": "goose",
    "teeth": "tooth", "feet": "foot", "people": "person", "oxen": "ox", "cacti": "cactus",
    "fungi": "fungus",
}  # fmt: skip
# Adjectives whose noun is what people search for, where no rule below finds it: materials
# in -en, and -y adjectives of nouns in -e (hazy ← haze: the -y rule would give `haz`).
_DERIVED = {
    "golden": "gold", "wooden": "wood", "woolen": "wool", "woollen": "wool", "silken": "silk",
    "earthen": "earth", "hazy": "haze", "smoky": "smoke", "icy": "ice", "shiny": "shine",
    "spicy": "spice", "slimy": "slime", "wavy": "wave", "bony": "bone", "rosy": "rose",
    "stony": "stone", "scaly": "scale", "juicy": "juice", "noisy": "noise", "breezy": "breeze",
}  # fmt: skip
# Nouns ending in consonant + y that are no adjective of the word before the y (a `party` is
# no `part`, a `fairy` not `fair`): the -y rule leaves them alone.
_Y_NOUNS = frozenset(
    {
        "party",
        "fairy",
        "bunny",
        "penny",
        "kitty",
        "mummy",
        "lobby",
        "buggy",
        "hardy",
        "handy",
        "curry",
        "ferry",
        "puppy",
        "story",
        "pinky",
        "patty",
        "carry",
        "marry",
        "worry",
        "sorry",
        "query",
        "poppy",
        "teddy",
        "caddy",
        "paddy",
        "daddy",
        "granny",
        "nanny",
        "hobby",
        "tommy",
        "jenny",
        "johnny",
        "candy",
        "dandy",
        "ready",
        "every",
        "county",
        "twenty",
    }
)
_VOWELS = frozenset("aeiouy")
# A -y adjective doubles these final consonants of its noun (fog → foggy, sun → sunny).
_DOUBLED = frozenset("bdgmnprt")

# Attention weights and prompt-editing steps: `:1.2` (or `:-0.5`, `:.8`) just before the
# closing bracket of `(word:1.2)`, `<lora:name:0.8>` or `[from:to:0.5]`.
_WEIGHT = re.compile(r":\s*[-+]?(?:\d+(?:\.\d*)?|\.\d+)\s*(?=[)\]>])")
# Extra networks named in A1111-style prompts: `<lora:name>` (weights already dropped).
_NETWORK = re.compile(r"<\s*(?:lora|lyco|locon|hypernet)\s*:\s*([^:<>]+?)\s*(?::[^<>]*)?>", re.I)
# File suffixes of model and LoRA files, which say nothing about the model.
_MODEL_SUFFIX = re.compile(r"\.(?:safetensors|ckpt|pt|pth|bin|gguf|onnx|sft)$", re.I)
# The `[hash]` A1111 appends to a checkpoint's name.
_MODEL_HASH = re.compile(r"\s*\[[0-9a-fA-F]{6,64}\]\s*$")
# Separator runs inside a name: anything but letters and digits (`_` included).
_NAME_SEPARATOR = re.compile(r"[\W_]+")
# The pieces of an ASCII name part: capitalised or lower-case letter runs, upper-case runs
# (acronyms: `XL`, `SDXL`), digit runs. `juggernautXL` → juggernaut, XL.
_NAME_PIECE = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
_ASCII_WORD = re.compile(r"[a-z]+")
_LATIN_WORD = re.compile(r"[^\W\d_]+")

_local = threading.local()


def _stemmer() -> snowballstemmer.stemmer:
    """This thread's English Snowball stemmer (a stemmer object keeps state while working)."""
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        stemmer = _local.stemmer = snowballstemmer.stemmer("english")
    return stemmer


@functools.lru_cache(maxsize=65536)
def word_stems(word: str) -> tuple[str, ...]:
    """The stems a lower-case word is indexed and searched by: its Snowball stem, and the
    stem of its noun for an irregular plural, a material -en or a consonant + -y adjective
    (`foggy` → `fog`, `snowy` → `snow`). Empty for anything that is not a plain a–z word."""
    if not _ASCII_WORD.fullmatch(word):
        return ()
    stem: str = _stemmer().stemWord(_IRREGULAR.get(word, word))
    stems = [stem]
    base = _DERIVED.get(word) or _y_adjective_noun(word)
    if base:
        stems.append(_stemmer().stemWord(base))
    return tuple(dict.fromkeys(stems))


def _y_adjective_noun(word: str) -> str | None:
    """The noun under a consonant + -y adjective (`misty` → `mist`, `sunny` → `sun`), or None.
    Adverbs in -ly, short words and the nouns of _Y_NOUNS are left alone."""
    if len(word) < 5 or not word.endswith("y") or word.endswith("ly") or word in _Y_NOUNS:
        return None
    root = word[:-1]
    if root[-1] in _VOWELS:
        return None
    if root[-1] == root[-2] and root[-1] in _DOUBLED:
        root = root[:-1]
    return root


def strip_weights(text: str) -> str:
    """Prompt text without attention weights (`(castle:1.3)` → `(castle)`)."""
    return _WEIGHT.sub("", text)


def name_words(name: str) -> list[str]:
    """The lower-case words a model/LoRA/sampler/generator name is found by: its parts, the
    pieces of each (camelCase and letter/digit runs), and each two adjacent pieces or parts
    joined (`sd_xl_base_1.0.safetensors` → sd, xl, base, 1, 0, sdxl, xlbase, base1, 10;
    `DreamShaperXL` → dreamshaperxl, dream, shaper, xl, dreamshaper, shaperxl)."""
    bare = _MODEL_SUFFIX.sub("", _MODEL_HASH.sub("", name).strip())
    parts = [p for p in _NAME_SEPARATOR.split(bare) if p]
    words: dict[str, None] = {}
    for part in parts:
        words.setdefault(part.lower(), None)
        pieces = _NAME_PIECE.findall(part) if part.isascii() else []
        for piece in pieces:
            words.setdefault(piece.lower(), None)
        for left, right in itertools.pairwise(pieces):
            words.setdefault((left + right).lower(), None)
    for left, right in itertools.pairwise(parts):
        words.setdefault((left + right).lower(), None)
    return list(words)


def prompt_networks(text: str) -> list[str]:
    """The names of the LoRAs/hypernetworks an A1111-style prompt loads (`<lora:name:0.8>`)."""
    return [m.group(1) for m in _NETWORK.finditer(text)]


def stems_text(texts: Iterable[str]) -> str:
    """The `stems` text of some texts: the stems of their Latin-script words, in order."""
    stems: list[str] = []
    for text in texts:
        for word in _LATIN_WORD.findall(fold_diacritics(text).lower()):
            stems.extend(word_stems(word))
    return " ".join(stems)


@dataclass(frozen=True, slots=True)
class SearchTexts:
    """The texts an asset is indexed by, each searched with its own weight (the backends'
    field boosts / bm25 column weights)."""

    name: str
    prompt: str
    tags: str
    description: str
    other: str
    names: str
    stems: str

    def fields(self) -> tuple[str, ...]:
        """The texts in FIELD_WEIGHTS order."""
        return (self.name, self.prompt, self.tags, self.description, self.other, self.names,
                self.stems)  # fmt: skip


# Every indexed text and the weight of a match in it (bm25 column weights / field boosts): a
# word in the name or the prompt says more about an asset than one in its description.
# `stems` weighs least, so an exact match ranks above a match by word form only.
FIELD_WEIGHTS: dict[str, float] = {
    "name": 4.0, "prompt": 4.0, "tags": 2.0, "description": 1.5, "other": 1.0, "names": 2.0,
    "stems": 0.5,
}  # fmt: skip
STEM_FIELD = "stems"
EXACT_FIELDS = tuple(f for f in FIELD_WEIGHTS if f != STEM_FIELD)
# A longer word that the word being typed begins scores this share of its field's weight, as a
# constant: enough to order such matches by field, too little to rank one above an exact match
# (bm25 gives a word in 90 % of a million assets still about 0.03 of its field's weight, and all
# six fields' shares together come to 0.0145). A word in nearly every asset is the exception.
PREFIX_WEIGHT = 0.001


def search_texts(asset: Asset) -> SearchTexts:
    """The searchable texts of an asset (prompt syntax reduced to its words)."""
    gen = asset.generation
    prompt = strip_weights(gen.prompt or "")
    other = "\n".join(strip_weights(t) for t in asset.searchable_texts())
    # Every checkpoint of a multi-pass workflow (`models` starts with the primary `model`).
    models: list[str | None] = [*gen.models] if gen.models else [gen.model]
    named = [*models, gen.generator, gen.sampler, *(lora.name for lora in gen.loras),
             *prompt_networks(prompt), *prompt_networks(other)]  # fmt: skip
    names = " ".join(w for n in named if n for w in name_words(n))
    tags = " ".join(asset.tags)
    return SearchTexts(
        name=asset.name,
        prompt=prompt,
        tags=tags,
        description=asset.description,
        other=other,
        names=names,
        stems=stems_text((asset.name, prompt, tags, asset.description, other, names)),
    )


@dataclass(frozen=True, slots=True)
class SearchTerm:
    """One word of a query, as the backends match it: `text` exactly (a word, or a run of
    ideographs as a space-separated phrase), or any of `stems` in the stems text, or — when
    `prefix` — as the beginning of a longer word."""

    text: str
    stems: tuple[str, ...]
    prefix: bool


def search_terms(text: str | None) -> list[SearchTerm]:
    """The terms of a user's search text, all of which a match must contain. The last word is
    also a prefix when the text ends in it (the user may still be typing it: no space or
    punctuation after it) and it is at least MIN_PREFIX_CHARS long."""
    if not text:
        return []
    terms = query_terms(text)
    typing = open_last_term(text)
    result: list[SearchTerm] = []
    for i, term in enumerate(terms):
        folded = fold_diacritics(term).lower()
        is_phrase = " " in term
        prefix = (i == len(terms) - 1 and term == typing and not is_phrase
                  and len(folded) >= MIN_PREFIX_CHARS)  # fmt: skip
        result.append(
            SearchTerm(text=term, stems=() if is_phrase else word_stems(folded), prefix=prefix)
        )
    return result
