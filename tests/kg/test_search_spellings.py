"""Keyword search finds a word however papers spell it (kg/validation.py number_variants, split_forms;
kg/search.py alias_spelling): a noun in -ing and its plural, a joined word and its hyphenated spelling,
on the seed corpus in a real SQLite file."""

from __future__ import annotations

import re
from typing import Any

import pytest

from kg.embedded import EmbeddedStore
from kg.search import search


def _papers_saying(store: EmbeddedStore, pattern: str) -> set[str]:
    """The ids of the stored papers whose title or abstract matches `pattern` (case ignored)."""
    found = re.compile(pattern, re.IGNORECASE)
    return {p.id for p in store.get_papers(store.paper_ids())
            if found.search(f"{p.title} {p.abstract or ''}")}


def _keyword_hits(store: EmbeddedStore, query: str) -> set[str]:
    return {h.id for h in search(store, query, mode="keyword", limit=100).results}


@pytest.mark.parametrize(("query", "pattern"), [
    ("docstring", r"\bdocstrings?\b"),  # a seed title: "A circuit for Python docstrings ..."
    ("finding", r"\bfindings?\b"),
])
def test_a_noun_in_ing_finds_its_plural(seed_store: EmbeddedStore, query: str, pattern: str) -> None:
    saying = _papers_saying(seed_store, pattern)
    assert saying
    assert saying <= _keyword_hits(seed_store, query)
    assert _keyword_hits(seed_store, query) == _keyword_hits(seed_store, query + "s")


@pytest.mark.parametrize(("query", "pattern"), [
    # Letters then digits: "GPT2" is GPT-2.
    ("GPT2", r"\bGPT[- ]?2\b"),
    # A common prefix: "pretrained" is pre-trained, "ngram" n-gram.
    ("pretrained", r"\bpre[- ]?trained\b"),
    ("ngram", r"\bn[- ]?grams?\b"),
])
def test_a_joined_word_finds_its_hyphenated_spelling(seed_store: EmbeddedStore, query: str,
                                                     pattern: str) -> None:
    saying = _papers_saying(seed_store, pattern)
    hyphenated = _papers_saying(seed_store, pattern.replace("[- ]?", "[- ]"))
    assert hyphenated, "the seed corpus writes it hyphenated"
    # As a phrase: every paper writing it either way, and no paper that only has one of the halves.
    assert _keyword_hits(seed_store, query) == saying


def test_a_joined_taxonomy_alias_finds_its_hyphenated_spelling_and_names_its_node(
        seed_store: EmbeddedStore, model_embedder: Any) -> None:
    """ "feedforward" is the alias "feed-forward" (of the MLP / feed-forward component) joined: keyword
    search finds the papers writing "feed-forward", and hybrid search reads the component's name."""
    saying = _papers_saying(seed_store, r"\bfeed-forward\b")
    assert saying and not _papers_saying(seed_store, r"\bfeedforward\b")
    assert saying <= _keyword_hits(seed_store, "feedforward")
    page = search(seed_store, "feedforward", mode="hybrid", embedder=model_embedder, limit=10)
    assert any("component" in h.why["ranks"] for h in page.results)
    assert any("ff" in h.why["matched_components"] for h in page.results)
