"""Citation-style queries (QA: following people): "et al." and initials are no query words, so "Olah et
al." does not rank abstracts citing "Olsson et al." and "N. Nanda" does not match "N-gram"; the words
keyword search looks for (kg.validation) and the ones explanations mark (kg.explain) agree. Real queries
of the field keep their words ("top-k SAE", "L1 penalty", "GPT-2"). Real SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kg.embedded import EmbeddedStore
from kg.entities import Paper, PaperBundle
from kg.explain import query_terms
from kg.search import search
from kg.validation import query_words, search_terms

_PAPERS = (
    ("olsson", "In-context learning and induction heads", ["Catherine Olsson"],
     "As Olsson et al. showed, heads copy n-gram statistics; N-digit addition is learnt later."),
    ("olah", "Zoom In: an introduction to circuits", ["Chris Olah", "Neel Nanda"],
     "Features are connected by weights, forming circuits."),
    ("topk", "Scaling top-k sparse autoencoders", ["Leo Gao"],
     "We train SAEs with an L1 penalty on GPT-2 activations."),
)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EmbeddedStore]:
    """A real store file holding _PAPERS."""
    s = EmbeddedStore(tmp_path / "paperkg.sqlite3")
    s.init_schema()
    s.upsert_papers([PaperBundle(paper=Paper(id=pid, title=title, authors=authors, abstract=abstract,
                                             year=2023, sources=["list"]))
                     for pid, title, authors, abstract in _PAPERS])
    yield s
    s.close()


def _ids(store: EmbeddedStore, query: str) -> list[str]:
    return [h.id for h in search(store, query, mode="keyword", limit=10).results]


@pytest.mark.parametrize("query", ["Olah et al.", "Olah et al", "Olah, et. al.", "N. Nanda", "Nanda N",
                                   "N Nanda et al."])
def test_a_citation_finds_the_author_not_every_paper_citing_someone(store: EmbeddedStore, query: str) -> None:
    """Before: "et"/"al" matched the abstract citing "Olsson et al.", and "N" its "n-gram", so that paper
    was a hit (ranked first for "Olah et al.": its abstract has "et" and "al" too)."""
    assert _ids(store, query) == ["olah"]


@pytest.mark.parametrize(("query", "expected"), [
    ("top-k SAE", ["topk"]), ("L1 penalty", ["topk"]), ("GPT-2", ["topk"]), ("n-gram", ["olsson"]),
])
def test_queries_of_the_field_keep_their_words(store: EmbeddedStore, query: str, expected: list[str]) -> None:
    """A letter joined by a hyphen ("top-k", "n-gram") is no initial, nor are "L1" and a digit
    ("GPT-2")."""
    assert _ids(store, query) == expected


def test_query_words_leave_out_citation_words_and_initials_unless_nothing_else_is_left() -> None:
    """The rule keyword search (both backends: search_terms) and the explanations share."""
    from kg.validation import is_initial

    assert query_words("Olah et al.") == ["Olah"]
    assert query_words("N. Nanda") == ["Nanda"]
    assert [t.casefold() for t in search_terms("Nanda N")] == ["nanda", "nandas"]
    assert query_words("top-k SAE") == ["top", "k", "SAE"]  # a letter joined by a hyphen is a term's
    assert "topk" in search_terms("top-k SAE")
    assert query_words("k-sparse probing") == ["k", "sparse", "probing"]
    assert query_words("N. Nanda n-gram") == ["N", "Nanda", "gram"]  # "n" is also a term's here
    assert query_words("GPT-2 L1") == ["GPT", "2", "L1"]
    assert query_words("k") == ["k"]  # nothing else: looked for as asked
    assert query_words("et al") == ["et", "al"]
    assert is_initial("N") and is_initial("é") and not is_initial("2") and not is_initial("L1")
    assert not is_initial("語")  # a CJK character is a word, not an initial


def test_explanations_mark_the_words_keyword_search_looked_for() -> None:
    """kg.explain's query terms (the matched words shown, the best sentence) leave them out too."""
    assert query_terms("Olah et al.") == {"olah"}
    assert query_terms("N. Nanda") == {"nanda"}
    assert query_terms("x") == {"x"}
    assert query_terms("top-k SAE") == {"top", "k", "sae"}
    assert query_terms("As Olsson et al. showed") == {"olsson", "showed"}
