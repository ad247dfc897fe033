"""kg/search.py on the seed corpus with the real model: a hybrid query naming an author puts the author's
papers first, and the keyword half of hybrid also looks for the long form an acronym is read as (QA: a
user searching for half-remembered papers by who wrote them or by the acronym everyone uses)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from kg.embedded import EmbeddedStore
from kg.entities import SearchFilters
from kg.search import AUTHOR_SAMPLE, SearchPage, _name_words, names_author, search, spelled_out_keywords
from kg.validation import PHRASE_SEPARATOR, initials, search_terms
from tests.kg.counting_store import CountingStore, counting_store


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


@pytest.fixture
def counting(seed_store: EmbeddedStore) -> Iterator[CountingStore]:
    yield from counting_store(seed_store.path)


def test_author_lists_are_read_from_the_keyword_ranking_s_top_only(
        counting: CountingStore, model_embedder: Any) -> None:
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


@pytest.mark.parametrize(("query", "name"), [
    ("Christopher Olah", "Chris Olah"), ("chris olah", "Christopher Olah"),
    ("Will Saunders", "William Saunders"), ("Mike Smith", "Michael Smith"), ("Kate Jones", "Katherine Jones"),
    ("papers by neel nanda", "Neel Nanda"), ("kaiming he resnets", "Kaiming He"),
])
def test_names_author_reads_a_short_form_of_a_first_name(query: str, name: str) -> None:
    assert _names(query, name)


@pytest.mark.parametrize(("query", "name"), [
    # A word beginning with a first name is not that name (each was an author list's rank 1).
    ("christmas olah", "Chris Olah"), ("benchmark lee", "Ben Lee"), ("annotation long context", "Ann Long"),
    ("deep mind", "Deepak Mind"), ("jacobian andreas", "Jacob Andreas"), ("more geva", "Mor Geva"),
    # Nor is a stop or request word a surname or a first name.
    ("attention is all you need", "Atte Is"), ("attention is all you need", "Is All"),
    ("papers using probes", "Sam Using"), ("sam using probes", "Samuel Using"),
])
def test_names_author_takes_no_word_that_begins_with_a_first_name_nor_a_stop_word(query: str, name: str
                                                                                   ) -> None:
    assert not _names(query, name)


def test_a_word_beginning_with_a_first_name_lifts_no_paper(seed_store: EmbeddedStore, model_embedder: Any
                                                           ) -> None:
    """"christmas olah" made every paper of Chris Olah's among the keyword top 20 an author list's, first of
    all; "Christopher Olah" names him, and them."""
    wrong = _hybrid(seed_store, model_embedder, "christmas olah")
    assert wrong.results
    assert all("author" not in h.why["ranks"] for h in wrong.results)
    named = _hybrid(seed_store, model_embedder, "Christopher Olah")
    by_him = [h for h in named.results if "author" in h.why["ranks"]]
    assert by_him and named.results[0].why["ranks"]["author"] == 1
    assert all(any(n in ("Chris Olah", "Christopher Olah") for n in h.paper.authors) for h in by_him)


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
    """Each long form one phrase after the query (kg.validation.with_phrases); no acronym: the query."""
    assert spelled_out_keywords("IOI circuit", {"IOI": "indirect object identification"}).split(
        PHRASE_SEPARATOR) == ["IOI circuit", "indirect object identification", "indirect object",
                              "object identification"]
    # No pair with a stop word; a long form of two words is its one pair.
    assert spelled_out_keywords("CoT", {"CoT": "chain of thought"}).split(PHRASE_SEPARATOR) == [
        "CoT", "chain of thought"]
    assert search_terms(spelled_out_keywords("sparse SAE features", {"SAE": "sparse autoencoder"})) == [
        "sparse", "sparses", "SAE", "SAEs", "features", "feature", "sparse autoencoder",
        "sparse autoencoders"]
    assert spelled_out_keywords("logit lens", {}) == "logit lens"


def _papers_saying(store: EmbeddedStore, pattern: str) -> set[str]:
    """The ids of the stored papers whose title or abstract matches `pattern` (case ignored)."""
    found = re.compile(pattern, re.IGNORECASE)
    return {p.id for p in store.get_papers(store.paper_ids())
            if found.search(f"{p.title} {p.abstract or ''}")}


@pytest.mark.parametrize(("query", "other_form", "long_form_word"), [
    # No seed paper has "autoencoder" or "sparse" without "sparse autoencoder", "SAE" or "feature".
    ("SAE features", r"\b(SAEs|feature)\b", None),
    ("IOI circuits", r"\bcircuit\b", r"\bindirect\b"),
])
def test_the_long_form_leaves_the_query_words_their_other_forms(
        seed_store: EmbeddedStore, model_embedder: Any, query: str, other_form: str,
        long_form_word: str | None) -> None:
    """The long form's words OR-ed in made a 2-word query one of 4, past MAX_VARIED_WORDS: "SAE features"
    no longer found "SAEs" nor "feature", "IOI circuits" no longer "circuit"; and every abstract with
    "object" was a hit of "IOI". The long form is looked for as phrases, and the query's words keep their
    other forms."""
    page = _hybrid(seed_store, model_embedder, query)
    assert page.acronyms
    keywords = spelled_out_keywords(query, page.acronyms)
    hits = {h.id for h in seed_store.keyword_search(keywords, 200)}
    saying = _papers_saying(seed_store, other_form)
    assert saying and saying <= hits
    # A paper with a word of the long form but none of its phrases nor a query word is no hit.
    phrases = keywords.split(PHRASE_SEPARATOR)[1:]
    assert set(page.acronyms.values()) <= set(phrases)
    alternatives = "|".join([*(rf"\b{re.escape(p)}s?\b" for p in phrases), other_form,
                             *(rf"\b{w}s?\b" for w in query.split())])
    if long_form_word is not None:
        only_a_word = _papers_saying(seed_store, long_form_word) - _papers_saying(seed_store, alternatives)
        assert only_a_word and not only_a_word & hits
    words = search_terms(query)
    terms = search_terms(keywords)
    assert terms[:len(words)] == words and set(phrases) <= set(terms[len(words):])
