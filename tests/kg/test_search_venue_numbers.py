"""Citation-style queries with a year and with letters that are terms (QA after the venue index): a year
is looked for in venues only beside a venue's name ("EMNLP 2021"; "Elhage 2021" ranked Geva's "EMNLP
2021" paper first), a lone letter is dropped only when it reads as a name's initial ("Q and K
composition" keeps Q and K), the venue word limit counts the papers there are (as Neo4j does), and a
Neo4j query that looks in no venue spends its clause budget on the three text properties. Real SQLite
file; Neo4j statements recorded, not sent."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kg import cypher
from kg.embedded import EmbeddedStore
from kg.entities import Paper, PaperBundle
from kg.explain import _norm, query_terms
from kg.search import search
from kg.validation import initials, query_words, search_terms
from tests.kg.test_neo4j_venue_index import keyword_store

_PAPERS = (
    # (id, title, authors, abstract, venue)
    ("elhage", "A Mathematical Framework for Transformer Circuits", ["Nelson Elhage", "Chris Olah"],
     "Attention heads compose: Q-composition and K-composition of heads.", "Transformer Circuits Thread"),
    ("geva", "Transformer Feed-Forward Layers Are Key-Value Memories", ["Mor Geva"],
     "Feed-forward layers act as key-value memories.", "EMNLP 2021"),
    ("toy", "Toy Models of Superposition", ["Nelson Elhage"],
     "Composition of features in superposition.", "ICLR 2022"),
)


def _bundle(pid: str, title: str, authors: list[str], abstract: str, venue: str | None) -> PaperBundle:
    return PaperBundle(paper=Paper(id=pid, title=title, authors=authors, abstract=abstract, year=2021,
                                   venue=venue, sources=["list"]))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EmbeddedStore]:
    """A real store file holding _PAPERS."""
    s = EmbeddedStore(tmp_path / "paperkg.sqlite3")
    s.init_schema()
    s.upsert_papers([_bundle(*p) for p in _PAPERS])
    yield s
    s.close()


def _ids(store: EmbeddedStore, query: str) -> list[str]:
    return [h.id for h in search(store, query, mode="keyword", limit=10).results]


@pytest.mark.parametrize("query", ["Elhage 2021", "Elhage et al. 2021", "Elhage et al., 2021"])
def test_a_year_is_not_looked_for_in_venues(store: EmbeddedStore, query: str) -> None:
    """Before: "2021" matched Geva's venue "EMNLP 2021", so that paper was a hit (ranked first on the seed
    corpus, above Elhage's own)."""
    assert sorted(_ids(store, query)) == ["elhage", "toy"]


def test_a_year_beside_a_venues_name_is_looked_for_in_venues(tmp_path: Path) -> None:
    """"EMNLP 2021" is a venue with its year: the year is looked for in venues there, so the 2021 EMNLP
    paper ranks above the 2022 ones (a year never looked for in venues put it last)."""
    s = EmbeddedStore(tmp_path / "paperkg.sqlite3")
    s.init_schema()
    try:
        s.upsert_papers([_bundle(*p) for p in _PAPERS] + [
            _bundle(f"e{i}", f"Paper {i}", ["A. Author"], "We study a model.", "EMNLP 2022")
            for i in range(3)])
        assert _ids(s, "EMNLP 2021")[0] == "geva"
        assert sorted(_ids(s, "EMNLP")) == ["e0", "e1", "e2", "geva"]
    finally:
        s.close()


def test_neo4j_looks_for_a_year_in_venues_only_beside_a_venues_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """As the embedded store: "Elhage 2021" looks in no venue (no venue says "Elhage"), "EMNLP 2021" in
    venues for both words."""
    venues = {"emnlp", "2021"}  # the words venues have; the papers' text has none of the query's
    neo4j, sent = keyword_store(monkeypatch, lambda text, word, _limit: int(
        text.startswith("search_venue:") and word in venues))
    neo4j.keyword_search("Elhage 2021", 5)
    assert "search_title:(Elhage OR Elhages OR 2021)^5" in sent[-1]
    assert "search_venue" not in sent[-1]
    neo4j.keyword_search("EMNLP 2021", 5)
    assert sent[-1].endswith(" OR search_venue:(EMNLP OR EMNLPs OR 2021)")
    neo4j.keyword_search("Anthropic", 5)  # a word no venue has is looked for there as before (no effect)
    assert sent[-1].endswith(" OR search_venue:(Anthropic OR Anthropics)")


@pytest.mark.parametrize(("query", "words"), [
    ("Q and K composition", ["Q", "K", "composition"]),
    ("Q K V", ["Q", "K", "V"]),
    ("the Q K circuit", ["Q", "K", "circuit"]),
    ("top k", ["top", "k"]),
    ("N. Nanda", ["Nanda"]),
    ("Nanda, N.", ["Nanda"]),
    ("Nanda N", ["Nanda"]),
    ("N Nanda", ["Nanda"]),
    ("S. Marks", ["Marks"]),
    ("Olah C et al.", ["Olah"]),
    ("O'Neill", ["Neill"]),
    ("Nanda's SAE", ["Nanda", "SAE"]),
])
def test_a_lone_letter_is_dropped_only_as_a_names_initial(query: str, words: list[str]) -> None:
    """Before: every lone letter was dropped, so "Q and K composition" searched "composition" alone.
    Keyword search (search_terms, both backends) and explanations (query_terms) use the one rule."""
    assert query_words(query) == words
    assert {w.casefold() for w in words} <= {t.casefold() for t in search_terms(query)}
    assert query_terms(query) == {_norm(w) for w in words}
    assert not ({w.casefold() for w in words} & initials(query))


def test_letters_that_are_terms_rank_the_paper_using_them(store: EmbeddedStore) -> None:
    """"Q and K composition" finds the paper on Q- and K-composition first, then the one on composition."""
    assert _ids(store, "Q and K composition") == ["elhage", "toy"]


def test_the_venue_word_limit_counts_the_papers_there_are(tmp_path: Path) -> None:
    """Before: the limit came from max(pk), which deletions leave high: of 40 papers 21 deleted, a word
    in 2 papers' text was still looked for in venues (limit 3 of 40), where Neo4j (19 papers: limit 1)
    did not."""
    s = EmbeddedStore(tmp_path / "paperkg.sqlite3")
    s.init_schema()
    try:
        bundles = [_bundle(f"p{i:02d}", f"Paper {i}", ["A. Author"], "We study a model.", None)
                   for i in range(40)]
        bundles[0] = _bundle("p00", "Paper 0", ["A. Author"], "Work done at Anthropic.", None)
        bundles[1] = _bundle("p01", "Paper 1", ["A. Author"], "Anthropic trained it.", None)
        bundles[39] = _bundle("p39", "Paper 39", ["A. Author"], "We study a model.", "Anthropic")
        s.upsert_papers(bundles)
        assert "p39" in _ids(s, "Anthropic")  # 2 of 40 papers' text: looked for in venues
        for i in range(2, 23):
            assert s.delete_paper(f"p{i:02d}")
        assert sorted(_ids(s, "Anthropic")) == ["p00", "p01"]  # 2 of 19: not
    finally:
        s.close()


def test_a_neo4j_query_looking_in_no_venue_spends_its_budget_on_the_text() -> None:
    """Before: the clause budget was divided by four properties even when the venue was not searched, so
    a long word was cut to 250 characters where three properties leave room for 333."""
    word = "語" * 400
    budget = (cypher.LUCENE_MAX_CLAUSES - cypher._CLAUSE_MARGIN) // 3
    assert cypher.fulltext_forms(word, fields=3) == ["語" * budget]
    without_venue = cypher.fulltext_query(word, venue_forms=[])
    assert without_venue is not None and "search_venue" not in without_venue
    assert "語" * budget in without_venue
    with_venue = cypher.fulltext_query(word, venue_forms=["x"])
    assert with_venue is not None and "語" * (budget - 1) not in with_venue  # four properties: 250
