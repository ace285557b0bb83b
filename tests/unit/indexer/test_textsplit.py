"""assetlens.textsplit: how text is cut into words for both index backends."""

from __future__ import annotations

import unicodedata

from assetlens.textsplit import MAX_QUERY_TERMS, query_terms, split_cjk


def test_split_cjk_isolates_each_ideograph_and_hiragana() -> None:
    assert split_cjk("一只猫").split() == ["一", "只", "猫"]
    assert split_cjk("桜の木").split() == ["桜", "の", "木"]
    assert split_cjk("red猫cat").split() == ["red", "猫", "cat"]


def test_split_cjk_keeps_katakana_hangul_and_latin_words() -> None:
    # Like Elasticsearch's standard tokenizer (UAX #29): these runs stay one word.
    assert split_cjk("カメラ 고양이 hello") == "カメラ 고양이 hello"
    assert split_cjk("") == ""


def test_split_cjk_covers_extension_b() -> None:
    assert split_cjk("\U00020000\U00020001").split() == ["\U00020000", "\U00020001"]


def test_query_terms_drops_all_syntax() -> None:
    assert query_terms('owner:* AND ("red" OR NEAR(fox)) -cat') == [
        "owner", "AND", "red", "OR", "NEAR", "fox", "cat",
    ]  # fmt: skip
    assert query_terms("*") == []
    assert query_terms('"""') == []
    assert query_terms(None) == []
    assert query_terms("snake_case") == ["snake", "case"]


def test_query_terms_makes_cjk_runs_phrases() -> None:
    assert query_terms("可爱的猫咪 cat") == ["可 爱 的 猫 咪", "cat"]
    assert query_terms("猫") == ["猫"]


def test_query_terms_keeps_decomposed_accents_in_the_word() -> None:
    decomposed = unicodedata.normalize("NFD", "café crème")
    assert query_terms(decomposed) == ["café", "crème"]


def test_query_terms_are_deduplicated_and_bounded() -> None:
    assert query_terms("sun sun moon sun") == ["sun", "moon"]
    many = " ".join(f"w{i}" for i in range(500))
    assert len(query_terms(many)) == MAX_QUERY_TERMS
