"""The typed prefix of the tantivy keyword index matched by the longer words it expands to: the
same hits and scores as the regular expression query, which stays for prefixes of too many
words; the typed word itself is scored by its exact clause only."""

from __future__ import annotations

from pathlib import Path

import pytest
import tantivy

from assetlens.searchtext import PREFIX_WEIGHT
from indexer.embedded.keyword_query import MAX_PREFIX_WORDS, prefix_expander, text_query
from indexer.embedded.keyword_schema import SCHEMA, register_analysis


def _searcher(tmp_path: Path, prompts: list[str]) -> tantivy.Searcher:
    index = tantivy.Index(SCHEMA, path=str(tmp_path))
    register_analysis(index)
    writer = index.writer(15_000_000, 1)
    for prompt in prompts:
        writer.add_document(tantivy.Document(text_prompt=prompt, text_name=prompt.split()[0]))
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    return index.searcher()


def test_expansion_lists_the_words_or_gives_up_past_the_bound(tmp_path: Path) -> None:
    words = [f"con{i:04d}" for i in range(MAX_PREFIX_WORDS + 1)]
    searcher = _searcher(tmp_path, [f"{word} cat" for word in words])
    expand = prefix_expander(searcher)
    assert expand("text_prompt", "con") is None
    assert sorted(expand("text_prompt", "con000") or []) == words[:10]
    assert expand("text_prompt", "zzz") == []


def test_expanded_prefix_finds_and_scores_like_the_regex(tmp_path: Path) -> None:
    prompts = ["castle on a hill", "castles and cats", "a cast of thousands", "cat castle cat",
               "dog", "casting call", "the castle castle castle"]  # fmt: skip
    searcher = _searcher(tmp_path, prompts)
    for text in ("cas", "cast", "castle", "cat cas", "zzz"):
        plain, expanded = text_query(text), text_query(text, prefix_expander(searcher))
        assert plain is not None and expanded is not None
        want = searcher.search(plain, 20).hits
        got = searcher.search(expanded, 20).hits
        assert len(want) == {"cas": 6, "cast": 6, "castle": 4, "cat cas": 1, "zzz": 0}[text]
        assert [address for _, address in got] == [address for _, address in want], text
        assert [round(score, 5) for score, _ in got] == [round(score, 5) for score, _ in want]


def test_the_typed_word_itself_is_scored_once(tmp_path: Path) -> None:
    searcher = _searcher(tmp_path, ["castle on a hill", "castles and cats", "dog"])
    # The prefix's constant where a longer word begins with the typed one (the field's weight
    # 4 × PREFIX_WEIGHT, in the name and the prompt), on top of the finished word's score;
    # never for the word itself.
    both = 2 * 4.0 * PREFIX_WEIGHT
    longer: dict[str, dict[int, float]] = {"castle": {1: both}, "castl": {0: both, 1: both},
                                           "hill": {}}  # fmt: skip
    for text, extra in longer.items():
        for expand in (None, prefix_expander(searcher)):
            typed, done = text_query(text, expand), text_query(text + " ")
            assert typed is not None and done is not None
            got = {address.doc: score for score, address in searcher.search(typed, 9).hits}
            want = {address.doc: score for score, address in searcher.search(done, 9).hits}
            assert got.keys() == want.keys() | extra.keys(), text
            for doc, score in got.items():
                assert score == pytest.approx(want.get(doc, 0.0) + extra.get(doc, 0.0), abs=1e-6)
