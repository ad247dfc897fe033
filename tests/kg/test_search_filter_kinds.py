"""kg.search.FILTER_KINDS, the one table of the search filters an empty answer's facet counts, dropped
counts and web tips read: every filter of SearchFilters has its entry (a new one cannot be forgotten),
and each entry sets, clears and isolates its own fields only."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, fields

import pytest

from kg.embedded import EmbeddedStore
from kg.entities import SearchFilters
from kg.search import FILTER_KINDS, FilterKind, filter_dropped_counts, filter_facet_counts, set_filter_kinds

# Not a filter: it shapes how the technique, topic and component filters take their ids.
SHAPES_SEVERAL = {"include_refinements"}

# Every filter set (technique_match too, which only shapes the technique filter).
FULL = SearchFilters(technique_ids=["sae", "probing"], technique_match="all", topic_ids=["features"],
                     model_ids=["pythia"], component_ids=["mha"], section_ids=["techniques"],
                     year_from=2020, year_to=2025, sources=["arxiv"], include_refinements=False)


def test_every_filter_of_search_filters_has_one_entry() -> None:
    """A field added to SearchFilters without an entry fails here, not silently in the tips."""
    owned = Counter(f for kind in FILTER_KINDS.values() for f in (*kind.fields, *kind.modifiers))
    assert {f.name for f in fields(SearchFilters)} - SHAPES_SEVERAL == set(owned)
    assert all(n == 1 for n in owned.values()), owned
    assert all(name == kind.kind for name, kind in FILTER_KINDS.items())


def test_the_full_filters_set_every_kind() -> None:
    """FULL above must keep up with SearchFilters for the tests below to cover each field."""
    blank = asdict(SearchFilters())
    assert {k for k, v in asdict(FULL).items() if v != blank[k]} == {f.name for f in fields(SearchFilters)}
    assert set_filter_kinds(FULL) == list(FILTER_KINDS.values())


@pytest.mark.parametrize("kind", FILTER_KINDS.values(), ids=list(FILTER_KINDS))
def test_a_kind_clears_and_isolates_only_its_own_fields(kind: FilterKind) -> None:
    own = {*kind.fields, *kind.modifiers}
    full, blank, cleared = asdict(FULL), asdict(SearchFilters()), asdict(kind.cleared(FULL))
    assert cleared == {k: blank[k] if k in own else v for k, v in full.items()}
    assert set_filter_kinds(kind.cleared(FULL)) == [k for k in FILTER_KINDS.values() if k is not kind]
    alone = kind.alone(FULL)
    assert set_filter_kinds(alone) == [kind] and not alone.is_empty()
    # Refinements are kept only by the filters whose ids take them.
    assert alone.include_refinements is (FULL.include_refinements if kind.refines else True)
    assert asdict(alone) == {k: full[k] if k in own or (kind.refines and k in SHAPES_SEVERAL) else v
                             for k, v in blank.items()}


def test_is_empty_is_no_kind_set() -> None:
    assert SearchFilters(technique_match="all", include_refinements=False).is_empty()
    assert set_filter_kinds(SearchFilters(technique_match="all", include_refinements=False)) == []
    rest = FULL
    for kind in FILTER_KINDS.values():
        assert not rest.is_empty()
        rest = kind.cleared(rest)
    assert rest.is_empty() and rest == SearchFilters(include_refinements=False)


def test_facet_names_start_with_their_kind(seed_store: EmbeddedStore) -> None:
    """The web page's tips read a count by its kind: the facet name says the kind first."""
    counts = filter_facet_counts(seed_store, FULL)
    assert [name.split(" ", 1)[0] for name, _ in counts] == list(FILTER_KINDS)
    assert [name for name, _ in counts] == [
        "technique sae and probing", "topic features", "model pythia", "component mha", "section techniques",
        "years 2020-2025", "source arxiv"]
    assert list(filter_dropped_counts(seed_store, FULL)) == list(FILTER_KINDS)


def test_the_technique_match_alone_is_no_filter(seed_store: EmbeddedStore) -> None:
    """technique_match without a technique sets nothing: no count, no tip for a technique filter."""
    filters = SearchFilters(technique_match="all", model_ids=["pythia"], year_from=2030)
    assert list(filter_dropped_counts(seed_store, filters)) == ["model", "years"]
    assert [n.split(" ", 1)[0] for n, _ in filter_facet_counts(seed_store, filters)] == ["model", "years"]
