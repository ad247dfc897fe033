"""kg/search.py on the seed corpus with the real model: a hybrid query naming an author puts the author's
papers first, and the keyword half of hybrid also looks for the long form an acronym is read as (QA: a
user searching for half-remembered papers by who wrote them or by the acronym everyone uses)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from kg.embedded import EmbeddedStore
from kg.entities import SearchFilters
from kg.search import AUTHOR_SAMPLE, SearchPage, _name_words, names_author, search, spelled_out_keywords
from kg.validation import initials


def _hybrid(store: EmbeddedStore, embedder: Any, query: str, filters: SearchFilters | None = None
            ) -> SearchPage:
    return search(store, query, mode="hybrid", embedder=embedder, limit=10, filters=filters,
                  sentence_mode="overlap")


@pytest.mark.parametrize(("query", "paper"), [
    # Samuel Marks: keyword #1, hybrid #5 behind four papers that share only "Sam" (Sam McCandlish's).
    ("Sam Marks", "2403.19647"),
    ("Samuel Marks", "2403.19647"),
    ("S. Marks", "2403.19647"),
    # Kevin Meng: hybrid #2 behind Kevin Wang's IOI paper.
    ("Kevin Meng", "2202.05262"),
    ("kevin meng", "2202.05262"),
    # János Kramár, typed without accents.
    ("Janos Kramar", "2307.09458"),
    ("Eric Michaud", "2403.19647"),
])
def test_a_named_author_s_paper_comes_first(seed_store: EmbeddedStore, model_embedder: Any,
                                            query: str, paper: str) -> None:
    page = _hybrid(seed_store, model_embedder, query)
    assert page.results[0].id == paper, [h.id for h in page.results[:5]]
    assert page.results[0].why["ranks"].get("author") == 1
    # Only the author's papers are on the author list.
    on_list = [h for h in page.results if "author" in h.why["ranks"]]
    assert [h.id for h in on_list] == [paper]


def test_every_paper_of_the_named_author_is_lifted_in_fused_order(
        seed_store: EmbeddedStore, model_embedder: Any) -> None:
    page = _hybrid(seed_store, model_embedder, "Kevin Wang")
    # Kevin Wang (IOI) and Kevin Ro Wang (first name and surname): both above every other paper.
    assert {h.id for h in page.results[:2]} == {"2211.00593", "2203.14680"}
    assert [h.why["ranks"].get("author") for h in page.results[:2]] == [1, 2]
    assert all("author" not in h.why["ranks"] for h in page.results[2:])
    # Xiaozhi Wang shares only the surname.
    assert "author" not in next(h for h in page.results if h.id == "2211.07349").why["ranks"]


@pytest.mark.parametrize("query", ["Sam", "Kevin", "Marks", "Nanda", "the marks of circuits"])
def test_a_first_name_or_surname_alone_names_nobody(seed_store: EmbeddedStore, model_embedder: Any,
                                                    query: str) -> None:
    page = _hybrid(seed_store, model_embedder, query)
    assert page.results
    assert all("author" not in h.why["ranks"] for h in page.results)


def test_the_author_list_keeps_the_filters(seed_store: EmbeddedStore, model_embedder: Any) -> None:
    """The list is made of keyword hits, which pass the filters: ROME (2022) stays out of 2024 papers."""
    recent = SearchFilters(year_from=2024)
    page = _hybrid(seed_store, model_embedder, "Kevin Meng", recent)
    assert page.results and all(h.paper.year >= 2024 for h in page.results)
    assert all("author" not in h.why["ranks"] for h in page.results)
    marks = _hybrid(seed_store, model_embedder, "Sam Marks", recent)
    assert marks.results[0].id == "2403.19647" and marks.results[0].why["ranks"]["author"] == 1


class _CountingStore(EmbeddedStore):
    """The real embedded store, counting the paper rows search reads."""

    read: list[str]

    def get_papers(self, paper_ids: Any) -> Any:
        self.read.extend(paper_ids)
        return super().get_papers(paper_ids)


@pytest.fixture
def counting(seed_store: EmbeddedStore) -> Iterator[_CountingStore]:
    counted = _CountingStore(seed_store.path)
    counted.read = []
    yield counted
    counted.close()


def test_author_lists_are_read_from_the_keyword_ranking_s_top_only(
        counting: _CountingStore, model_embedder: Any) -> None:
    """Search reads no row beyond the page and the withdrawal candidates but the author lists of the keyword
    ranking's first AUTHOR_SAMPLE, each once (the page reuses them)."""
    query = "neel nanda grokking"
    top = {h.id for h in counting.keyword_search(query, AUTHOR_SAMPLE)}
    mentioning = {h.id for h in counting.keyword_search("withdrawn withdraw withdrew", 1000)}
    page = search(counting, query, mode="hybrid", embedder=model_embedder, limit=5)
    assert page.results[0].why["ranks"].get("author") == 1
    assert set(counting.read) <= {h.id for h in page.results} | mentioning | top
    assert top <= set(counting.read)
    assert len(counting.read) == len(set(counting.read))


def _names(query: str, name: str) -> bool:
    return names_author(_name_words(query, initials(query)), name)


@pytest.mark.parametrize(("query", "name"), [
    ("Kevin Meng", "Kevin Meng"), ("papers by kevin meng on editing", "Kevin Meng"),
    ("Eric J Michaud", "Eric J. Michaud"), ("Eric Michaud", "Eric J. Michaud"),
    ("Sam Marks", "Samuel Marks"), ("Samuel McCandlish", "Sam McCandlish"), ("S. Marks", "Samuel Marks"),
    ("S Marks", "Samuel Marks"), ("Janos Kramar", "János Kramár"), ("JÁNOS KRAMÁR", "János Kramár"),
    ("Adria Garriga-Alonso", "Adrià Garriga-Alonso"), ("Kevin Wang", "Kevin Ro Wang"),
])
def test_names_author_reads_a_name_written_these_ways(query: str, name: str) -> None:
    assert _names(query, name)


@pytest.mark.parametrize(("query", "name"), [
    ("Sam", "Sam McCandlish"), ("Marks", "Samuel Marks"), ("Kevin Wang", "Kevin Meng"),
    ("Kevin Meng", "Kevin Wang"), ("Marks Samuel", "Samuel Marks"), ("nostalgebraist", "nostalgebraist"),
    ("the marks", "Theodore Marks"), ("Al Marks", "Alice Marks"), ("s marks", "Samuel Marks"),
    ("Sam Marks", "S. Marks"),
])
def test_names_author_needs_a_first_name_and_a_surname_of_the_name(query: str, name: str) -> None:
    assert not _names(query, name)


def test_the_keyword_half_of_hybrid_looks_for_the_long_form(seed_store: EmbeddedStore,
                                                            model_embedder: Any) -> None:
    """The page said "Read IOI as 'indirect object identification'", yet keyword search looked for "IOI"
    alone and ranked Merullo et al. (whose abstract cites "(IOI)") above the IOI paper."""
    for query in ("IOI", "IOI circuit"):
        page = _hybrid(seed_store, model_embedder, query)
        assert page.acronyms == {"IOI": "indirect object identification"}
        assert page.results[0].id == "2211.00593", [h.id for h in page.results[:3]]
        assert page.results[0].why["ranks"]["keyword"] == 1
    # No abstract writes "SAE": keyword search found nothing, now the papers spelling it out.
    sae = _hybrid(seed_store, model_embedder, "SAE")
    assert sae.results[0].id == "2309.08600" and sae.results[0].why["ranks"]["keyword"] == 1


def test_keyword_mode_looks_for_the_words_as_typed(seed_store: EmbeddedStore) -> None:
    """Keyword mode is the exact-words mode: "ROME" OR "Rank-One Model Editing" made every paper with
    "model" a hit (1 result became 27), so it gets no long forms."""
    rome = search(seed_store, "ROME", mode="keyword", limit=50)
    assert [h.id for h in rome.results] == ["2202.05262"] and rome.acronyms == {}
    assert search(seed_store, "SAE", mode="keyword", limit=50).results == []


def test_spelled_out_keywords() -> None:
    assert spelled_out_keywords("IOI circuit", {"IOI": "indirect object identification"}) == (
        "IOI circuit indirect object identification")
    # Words the query has are not repeated; no acronym: the query as it was.
    assert spelled_out_keywords("sparse SAE features", {"SAE": "sparse autoencoder"}) == (
        "sparse SAE features autoencoder")
    assert spelled_out_keywords("logit lens", {}) == "logit lens"
