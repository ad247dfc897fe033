"""Query-word helpers of kg/validation.py shared by both backends' keyword search."""

from __future__ import annotations

import pytest

from kg.validation import MAX_VARIED_WORDS, STOPWORDS, other_number, search_terms


@pytest.mark.parametrize(("word", "other"), [
    ("circuits", "circuit"), ("circuit", "circuits"), ("heads", "head"), ("patches", "patch"),
    ("patch", "patches"), ("theories", "theory"), ("theory", "theories"), ("lenses", "lens"),
    ("SAE", "SAEs"), ("SAEs", "SAE"), ("LLMs", "LLM"), ("boxes", "box"),
    # No safe other number: singular nouns in -s, -ss, -us, -is; gerunds; short or non-words.
    ("lens", None), ("bias", None), ("class", None), ("corpus", None), ("analysis", None),
    ("probing", None), ("of", None), ("GPT-2", None), ("2023", None),
])
def test_other_number(word: str, other: str | None) -> None:
    assert other_number(word) == other


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
