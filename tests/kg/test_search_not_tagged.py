"""Hybrid search says when a model or component the query names is one no paper passing the filters
studies or has a finding about (kg/search.py not_tagged), as it says of a technique; the seed corpus in
a real SQLite file and the real model."""

from __future__ import annotations

from typing import Any

import pytest

from kg.embedded import EmbeddedStore
from kg.entities import SearchFilters
from kg.search import search


@pytest.mark.parametrize(("query", "node"), [("Gemma 2", "gemma"), ("circuits in Gemma", "gemma"),
                                             ("Claude", "claude")])
def test_a_named_model_no_paper_studies_is_reported(seed_store: EmbeddedStore, model_embedder: Any,
                                                    query: str, node: str) -> None:
    assert not seed_store.filter_ids(SearchFilters(model_ids=[node]))
    page = search(seed_store, query, mode="hybrid", embedder=model_embedder, limit=10)
    assert page.results and page.not_tagged == [node] and page.using_first == []


def test_a_named_model_some_paper_studies_is_not_reported(seed_store: EmbeddedStore,
                                                          model_embedder: Any) -> None:
    studying = seed_store.filter_ids(SearchFilters(model_ids=["pythia"]))
    assert studying
    page = search(seed_store, "circuits in Pythia", mode="hybrid", embedder=model_embedder, limit=10)
    assert page.not_tagged == []
    # Filters that leave no paper studying it: the answer says so.
    years = {p.year for p in seed_store.get_papers(sorted(studying))}
    other = next(y for y in range(2015, 2030) if y not in years)
    filtered = search(seed_store, "circuits in Pythia", mode="hybrid", embedder=model_embedder, limit=10,
                      filters=SearchFilters(year_from=other, year_to=other))
    assert filtered.not_tagged == ["pythia"]
    # A model filter of the user's decides instead: no model list, no note.
    own = search(seed_store, "Gemma 2", mode="hybrid", embedder=model_embedder, limit=10,
                 filters=SearchFilters(model_ids=["pythia"]))
    assert own.not_tagged == []


def test_a_named_component_and_technique_are_reported_together(seed_store: EmbeddedStore,
                                                               model_embedder: Any) -> None:
    assert not seed_store.filter_ids(SearchFilters(component_ids=["layer_norm"]))
    page = search(seed_store, "layer norm", mode="hybrid", embedder=model_embedder, limit=10)
    assert page.not_tagged == ["layer_norm"]
    both = search(seed_store, "steering vectors in Gemma", mode="hybrid", embedder=model_embedder, limit=10)
    assert both.not_tagged == ["steering_vector", "gemma"]
    # A component some paper has a finding about is not reported.
    assert search(seed_store, "induction heads", mode="hybrid", embedder=model_embedder,
                  limit=10).not_tagged == []
