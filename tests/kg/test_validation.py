"""Query-word helpers of kg/validation.py shared by both backends' keyword search."""

from __future__ import annotations

import pytest

from kg.validation import MAX_VARIED_WORDS, STOPWORDS, number_variants, search_terms


@pytest.mark.parametrize(("word", "variants"), [
    ("circuits", ["circuit"]), ("circuit", ["circuits"]), ("heads", ["head"]), ("theories", ["theory"]),
    ("theory", ["theories"]), ("patch", ["patches"]), ("SAE", ["SAEs"]), ("SAEs", ["SAE"]),
    ("LMs", ["LM"]), ("LM", ["LMs"]), ("LLMs", ["LLM"]),
    # -ses/-ches/-xes: the spelling cannot tell which is meant, so both (one matches nothing).
    ("phases", ["phase", "phas"]), ("patches", ["patche", "patch"]), ("lenses", ["lense", "lens"]),
    ("uses", ["use"]),  # not "us"
    # No safe other number: singular nouns in -s, -ss, -us, -is; gerunds; short or non-words.
    ("lens", []), ("bias", []), ("class", []), ("corpus", []), ("analysis", []), ("probing", []),
    ("of", []), ("GPT-2", []), ("2023", []),
])
def test_number_variants(word: str, variants: list[str]) -> None:
    assert number_variants(word) == variants


def test_short_queries_get_variants_long_ones_do_not() -> None:
    assert search_terms("induction circuits") == ["induction", "inductions", "circuits", "circuit"]
    long_query = "sparse autoencoders find interpretable features"
    assert len(long_query.split()) > MAX_VARIED_WORDS
    assert search_terms(long_query) == ["sparse", "autoencoders", "find", "interpretable", "features"]
    # Stop words are dropped, and a stop-word-only query is kept as typed, without variants.
    assert search_terms("the circuits of") == ["circuits", "circuit"]
    assert search_terms("the", stopwords=STOPWORDS) == ["the"]
    # One term per spelling: the variant of one word may be another word of the query.
    assert search_terms("circuit circuits") == ["circuit", "circuits"]
