"""assetlens.searchtext: the word forms, names, prompt syntax and query terms both index
backends are given."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assetlens.query import SearchQuery
from assetlens.searchtext import (
    MIN_PREFIX_CHARS,
    SearchTerm,
    name_words,
    prompt_networks,
    search_terms,
    search_texts,
    stems_text,
    strip_weights,
    word_stems,
)
from assetlens.textsplit import open_last_term
from indexer.embedded import EmbeddedSearchIndex
from indexer.embedded.translate import match_expression
from tests.contract.search_index_contract import WS, make_asset, make_doc


@pytest.mark.parametrize(
    ("word", "stems"),
    [
        ("foxes", ("fox",)), ("fox", ("fox",)), ("cities", ("citi",)), ("city", ("citi",)),
        ("glowing", ("glow",)), ("wolves", ("wolf",)), ("mice", ("mous",)),
        ("snowy", ("snowi", "snow")), ("foggy", ("foggi", "fog")), ("sunny", ("sunni", "sun")),
        ("grassy", ("grassi", "grass")), ("golden", ("golden", "gold")),
        ("hazy", ("hazi", "haze")), ("icy", ("ici", "ice")),
        # Left alone by the -y rule: nouns of their own, adverbs, short words, vowel + y.
        ("party", ("parti",)), ("fairy", ("fairi",)), ("early", ("earli",)),
        ("tiny", ("tini",)), ("gray", ("gray",)),
        # Only plain a-z words have stems.
        ("v2", ()), ("лиса", ()), ("café", ()), ("", ()),
    ],
)  # fmt: skip
def test_word_stems(word: str, stems: tuple[str, ...]) -> None:
    assert word_stems(word) == stems


def test_stems_text_folds_case_and_diacritics_and_skips_other_scripts() -> None:
    assert stems_text(["Snowy CAFÉS", "东京 лиса 42"]) == "snowi snow cafe"


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("sd_xl_base_1.0.safetensors",
         ["sd", "xl", "base", "1", "0", "sdxl", "xlbase", "base1", "10"]),
        ("dreamshaper_8 [879db523de]", ["dreamshaper", "8", "dreamshaper8"]),
        ("juggernautXL_v9", ["juggernautxl", "juggernaut", "xl", "v9", "v", "9",
                             "juggernautxlv9"]),
        ("flux1-dev", ["flux1", "flux", "1", "dev", "flux1dev"]),
        ("DPM++ 2M Karras", ["dpm", "2m", "2", "m", "karras", "dpm2m", "2mkarras"]),
        ("ComfyUI", ["comfyui", "comfy", "ui"]),
        ("DreamShaperXL_Turbo", ["dreamshaperxl", "dream", "shaper", "xl", "dreamshaper",
                                 "shaperxl", "turbo", "dreamshaperxlturbo"]),
        ("", []),
    ],
)  # fmt: skip
def test_name_words(name: str, words: list[str]) -> None:
    assert name_words(name) == words


def test_prompt_weights_are_dropped_and_networks_named() -> None:
    prompt = "(masterpiece:1.2), [cat:dog:0.5], (ugly:-.3) <lora:add_detail:0.8> [a|b] {c|d}"
    assert strip_weights(prompt) == (
        "(masterpiece), [cat:dog], (ugly) <lora:add_detail> [a|b] {c|d}"
    )
    assert strip_weights("ratio 16:9 at 10:30") == "ratio 16:9 at 10:30"  # no bracket after
    assert prompt_networks("<lora:add_detail:0.8>, < LyCO : epi_v2 >, <embedding:x>") == [
        "add_detail", "epi_v2",
    ]  # fmt: skip


def test_search_texts_of_an_asset() -> None:
    asset = make_asset(
        "a", name="foxes.png", prompt="(snowy:1.3) hill <lora:ghibliStyle:0.7>",
        negative_prompt="(blurry:1.2)", model="dreamshaper_8.safetensors", sampler="Euler a",
        loras=["add_detail"], tags=["Winter Fox"],
    )  # fmt: skip
    texts = search_texts(asset)
    assert texts.prompt == "(snowy) hill <lora:ghibliStyle>"
    assert texts.other == "(blurry)"
    assert texts.tags == "Winter Fox"
    assert texts.names.split() == [
        "dreamshaper", "8", "dreamshaper8", "euler", "a", "eulera", "add", "detail", "adddetail",
        "ghiblistyle", "ghibli", "style",
    ]  # fmt: skip
    assert {"fox", "snow", "hill", "blurri", "winter", "ghibli"} <= set(texts.stems.split())
    assert len(texts.fields()) == 7


def test_query_terms_carry_stems_and_the_typed_word_a_prefix() -> None:
    assert search_terms("Foxes lat") == [
        SearchTerm(text="Foxes", stems=("fox",), prefix=False),
        SearchTerm(text="lat", stems=("lat",), prefix=True),
    ]
    assert search_terms("東京") == [SearchTerm(text="東 京", stems=(), prefix=False)]
    assert [t.prefix for t in search_terms("lat ")] == [False]
    assert [t.prefix for t in search_terms("lat!")] == [False]
    assert [t.prefix for t in search_terms("x" * (MIN_PREFIX_CHARS - 1))] == [False]
    # A repeated last word is the earlier term: that one is no prefix of what is typed.
    assert [t.prefix for t in search_terms("fox lat fox")] == [False, False]
    assert search_terms(None) == search_terms("") == search_terms("***") == []


def test_open_last_term() -> None:
    assert open_last_term("red fo") == "fo"
    assert open_last_term("red fo ") is None
    assert open_last_term("東京") == "東 京"
    assert open_last_term("cafe\u0301") == "café"
    assert open_last_term("") is None


@pytest.fixture(scope="module")
def fts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedSearchIndex]:
    index = EmbeddedSearchIndex(tmp_path_factory.mktemp("fts") / "index")
    index.upsert([make_doc(make_asset("a", prompt='(latent:1.2) "quoted" <lora:x_y:0.5>',
                                      model="sd_xl_base_1.0"))])  # fmt: skip
    yield index
    index.close()


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120))
def test_any_text_is_a_valid_match_expression(fts: EmbeddedSearchIndex, text: str) -> None:
    """Stems, column filters and the prefix star are built around quoted terms only: no user
    text, typed half-way or not, makes FTS5 syntax (an error would be a 500)."""
    terms = search_terms(text)
    if terms:
        assert match_expression(terms).count('"') % 2 == 0
    page = fts.search(SearchQuery(workspace=WS, text=text))
    assert page.total in (0, 1)
