"""kg/search.py on the seed corpus with the real model: one query written in other ways (extra or
other whitespace, invisible characters, full-width letters of a CJK input method, British spellings,
hyphenated or joined words) finds what the plain query finds (QA, non-English and typo persona)."""

from __future__ import annotations

from typing import Any

import pytest

from kg.embedded import EmbeddedStore
from kg.entities import SearchFilters
from kg.search import SearchPage, search


def _hybrid(store: EmbeddedStore, embedder: Any, query: str, limit: int = 10) -> SearchPage:
    return search(store, query, mode="hybrid", embedder=embedder, limit=limit, sentence_mode="overlap")


def _keyword_ids(store: EmbeddedStore, query: str) -> set[str]:
    return {h.id for h in search(store, query, mode="keyword", limit=100).results}


@pytest.mark.parametrize("query", [
    "activation  patching", "activation\tpatching", "activation\u00a0patching", "activation\u202fpatching",
    "acti\u00advation patching", " activation \u200bpatching\n",
])
def test_other_whitespace_or_an_invisible_character_keeps_a_technique_named(
        seed_store: EmbeddedStore, model_embedder: Any, query: str) -> None:
    """Two spaces, a tab, a no-break or narrow no-break space, or a soft hyphen inside a word turned off
    the technique a query names: no papers-using-it-first, no matched technique (one space worked)."""
    plain = _hybrid(seed_store, model_embedder, "activation patching")
    assert plain.using_first == ["activation_patching"]
    page = _hybrid(seed_store, model_embedder, query)
    assert page.using_first == ["activation_patching"]
    assert [h.id for h in page.results] == [h.id for h in plain.results]
    assert [h.why["matched_techniques"] for h in page.results] == [h.why["matched_techniques"]
                                                                   for h in plain.results]
    assert any(h.why["matched_techniques"] == ["activation_patching"] for h in page.results)


def test_two_spaces_keep_a_component_named(seed_store: EmbeddedStore, model_embedder: Any) -> None:
    """ "induction  heads" lost the component list and every hit's matched component."""
    plain = _hybrid(seed_store, model_embedder, "induction heads")
    page = _hybrid(seed_store, model_embedder, "induction  heads")
    assert any("component" in h.why["ranks"] for h in page.results)
    assert [(h.id, h.why["matched_components"]) for h in page.results] == [
        (h.id, h.why["matched_components"]) for h in plain.results]


@pytest.mark.parametrize(("full_width", "ascii_query"), [
    ("ＳＡＥ", "SAE"),
    ("ｓｐａｒｓｅ\u3000ａｕｔｏｅｎｃｏｄｅｒ", "sparse autoencoder"),
    ("ＧＰＴ－２", "GPT-2"),
    ("ＩＯＩ circuit", "IOI circuit"),
])
def test_full_width_letters_are_read_as_the_letters_they_stand_for(
        seed_store: EmbeddedStore, model_embedder: Any, full_width: str, ascii_query: str) -> None:
    """A CJK input method types Latin letters full-width: they found nothing by keyword, embedded as
    [UNK] noise, and no acronym, technique or model was read."""
    page = _hybrid(seed_store, model_embedder, full_width)
    plain = _hybrid(seed_store, model_embedder, ascii_query)
    assert [h.id for h in page.results] == [h.id for h in plain.results]
    assert (page.acronyms, page.using_first) == (plain.acronyms, plain.using_first)
    assert [h.why["matched_models"] for h in page.results] == [h.why["matched_models"] for h in plain.results]
    assert _keyword_ids(seed_store, full_width) == _keyword_ids(seed_store, ascii_query)


def test_what_full_width_queries_read_is_what_the_ascii_ones_read(
        seed_store: EmbeddedStore, model_embedder: Any) -> None:
    """The readings the full-width queries above now share (so that the test above compares something)."""
    assert _hybrid(seed_store, model_embedder, "ＳＡＥ").acronyms == {"SAE": "sparse autoencoder"}
    spelt = "ｓｐａｒｓｅ\u3000ａｕｔｏｅｎｃｏｄｅｒ"
    assert _hybrid(seed_store, model_embedder, spelt).using_first == ["sae"]
    assert _keyword_ids(seed_store, spelt)
    gpt2 = _hybrid(seed_store, model_embedder, "ＧＰＴ－２")
    assert any(h.why["matched_models"] == ["gpt2"] for h in gpt2.results)
    assert "IOI" in _hybrid(seed_store, model_embedder, "ＩＯＩ circuit").acronyms


@pytest.mark.parametrize("query", ["\u200b", "\u0301", "\ufeff \u00ad"])
def test_a_query_of_invisible_characters_only_is_an_empty_query(
        seed_store: EmbeddedStore, model_embedder: Any, query: str) -> None:
    """A zero-width space or a lone combining accent ran a search of 38 arbitrary hits; like a query of
    spaces it asks for nothing, and with a filter lists the filtered papers."""
    for mode in ("hybrid", "semantic", "keyword"):
        page = search(seed_store, query, mode=mode, embedder=model_embedder, limit=10)
        assert (page.results, page.total) == ([], 0), mode
    filters = SearchFilters(technique_ids=["sae"])
    page = search(seed_store, query, mode="hybrid", embedder=model_embedder, filters=filters, limit=50)
    assert page.results and all(h.why["mode"] == "filter" for h in page.results)
    assert {h.id for h in page.results} == seed_store.filter_ids(filters)


@pytest.mark.parametrize(("british", "american"), [
    ("behaviour", "behavior"), ("generalisation", "generalization"), ("visualisation", "visualization"),
])
def test_british_and_american_spellings_find_the_same_papers_by_keyword(
        seed_store: EmbeddedStore, british: str, american: str) -> None:
    """ "behaviour" found 2 papers where "behavior" found 11 ("generalisation" none, "generalization" 2):
    each spelling now also looks for the other, at query time (no store is re-indexed)."""
    found = _keyword_ids(seed_store, british)
    assert found == _keyword_ids(seed_store, american)
    assert len(found) >= 2


def test_a_hyphenated_word_finds_the_papers_writing_it_as_one_word(
        seed_store: EmbeddedStore, model_embedder: Any) -> None:
    """ "auto-encoder" put a paper on auto-regressive models first and the sparse autoencoder paper
    third: the index cuts it into "auto" and "encoder", which never match "autoencoder"."""
    sae_paper = "2309.08600"  # "Sparse Autoencoders Find Highly Interpretable Features ..."
    assert sae_paper in _keyword_ids(seed_store, "autoencoder")
    assert sae_paper in _keyword_ids(seed_store, "auto-encoder")
    assert _hybrid(seed_store, model_embedder, "auto-encoder").results[0].id == sae_paper


@pytest.mark.parametrize(("typed", "named", "technique"), [
    ("sparse auto-encoder", "sparse autoencoder", "sae"),
    ("logitlens", "logit lens", "logit_lens"),
    ("activationpatching", "activation patching", "activation_patching"),
    ("activation-patching", "activation patching", "activation_patching"),
])
def test_a_technique_name_joined_hyphenated_or_apart_is_read_as_the_name(
        seed_store: EmbeddedStore, model_embedder: Any, typed: str, named: str, technique: str) -> None:
    """ "sparse auto-encoder" read no technique where "sparse autoencoder" did, and "logitlens" and
    "activationpatching" found nothing by keyword."""
    page = _hybrid(seed_store, model_embedder, typed)
    assert page.using_first == [technique] == _hybrid(seed_store, model_embedder, named).using_first
    assert _keyword_ids(seed_store, named) <= _keyword_ids(seed_store, typed)
    assert _keyword_ids(seed_store, typed)


@pytest.mark.parametrize(("mixed", "spaced"), [
    ("使用activation patching的论文", "使用 activation patching 的论文"),
    ("关于logit lens的论文", "关于 logit lens 的论文"),
    ("ＳＡＥの論文", "SAE の論文"),
])
def test_a_latin_word_written_against_cjk_characters_is_a_word_of_its_own(
        seed_store: EmbeddedStore, model_embedder: Any, mixed: str, spaced: str) -> None:
    """Chinese and Japanese put no space around a Latin word: "patching的论文" was one word to keyword
    search (no hit) and to the name and acronym rules."""
    assert _keyword_ids(seed_store, mixed) == _keyword_ids(seed_store, spaced)
    page, plain = _hybrid(seed_store, model_embedder, mixed), _hybrid(seed_store, model_embedder, spaced)
    assert [h.id for h in page.results] == [h.id for h in plain.results]
    assert page.acronyms == plain.acronyms


def test_what_a_latin_word_against_cjk_characters_reads(
        seed_store: EmbeddedStore, model_embedder: Any) -> None:
    """The readings the test above compares: the keyword hits, the named technique's list, the acronym."""
    # The first two keyword hits of "activation patching" alone.
    assert {"2304.14997", "2307.09458"} <= _keyword_ids(seed_store, "使用activation patching的论文")
    page = _hybrid(seed_store, model_embedder, "使用activation patching的论文")
    assert any("technique" in h.why["ranks"] for h in page.results)
    assert _keyword_ids(seed_store, "关于logit lens的论文")
    assert _hybrid(seed_store, model_embedder, "ＳＡＥの論文").acronyms == {"SAE": "sparse autoencoder"}
