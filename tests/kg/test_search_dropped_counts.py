"""kg.search.filter_dropped_counts: for each filter set, the papers passing the others (what removing it
alone would give), counted as the search counts them."""

from __future__ import annotations

from dataclasses import replace

from kg.embedded import EmbeddedStore
from kg.entities import SearchFilters
from kg.search import filter_dropped_counts


def test_each_set_filter_is_dropped_alone(seed_store: EmbeddedStore) -> None:
    filters = SearchFilters(technique_ids=["sae", "probing"], technique_match="all", topic_ids=["features"],
                            model_ids=["pythia"], component_ids=["mha"], section_ids=["techniques"],
                            year_from=2020, year_to=2025, sources=["arxiv"])
    expected = {
        "technique": replace(filters, technique_ids=[], technique_match="any"),
        "topic": replace(filters, topic_ids=[]), "model": replace(filters, model_ids=[]),
        "component": replace(filters, component_ids=[]), "section": replace(filters, section_ids=[]),
        "years": replace(filters, year_from=None, year_to=None), "source": replace(filters, sources=[]),
    }
    assert filter_dropped_counts(seed_store, filters) == {
        kind: len(seed_store.filter_ids(rest)) for kind, rest in expected.items()}


def test_only_the_filters_set_are_counted(seed_store: EmbeddedStore) -> None:
    counts = filter_dropped_counts(seed_store, SearchFilters(technique_ids=["sae"], model_ids=["pythia"]))
    assert counts == {"technique": len(seed_store.filter_ids(SearchFilters(model_ids=["pythia"]))),
                      "model": len(seed_store.filter_ids(SearchFilters(technique_ids=["sae"])))}
    assert counts["technique"] > 0 and counts["model"] > 0
    # The only filter removed: every paper.
    assert filter_dropped_counts(seed_store, SearchFilters(year_from=2030)) == {
        "years": seed_store.filter_page(SearchFilters(), limit=0)[1]}
