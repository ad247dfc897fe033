"""The search parameters each kg.search.FILTER_KINDS entry names (what an empty page's tip link drops)
are the ones that set that filter: dropping them from a search clears that filter and no other."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict

from api.params import search_filters
from kg.search import FILTER_KINDS, FilterKind
from kg.taxonomy import Taxonomy

# A value for every filter parameter; a new filter's parameter needs one here.
ARGS = {"technique": ["sae", "probing"], "technique_match": ["all"], "topic": ["features"],
        "model": ["pythia"], "component": ["mha"], "section": ["techniques"], "year_from": ["2020"],
        "year_to": ["2025"], "source": ["arxiv"]}


def test_the_kinds_name_every_filter_parameter(taxonomy: Taxonomy) -> None:
    """The filter parameters ARGS lists are all some kind's (ARGS is checked whole below)."""
    assert {p for kind in FILTER_KINDS.values() for p in kind.params} == set(ARGS)
    # Every parameter dropped, no filter is left.
    assert search_filters(taxonomy, lambda: ["techniques"], MultiDict({"refinements": ["false"]})).is_empty()


@pytest.mark.parametrize("kind", FILTER_KINDS.values(), ids=list(FILTER_KINDS))
def test_dropping_a_kinds_parameters_clears_it_alone(taxonomy: Taxonomy, kind: FilterKind) -> None:
    full = search_filters(taxonomy, lambda: ["techniques"], MultiDict(ARGS))
    without = search_filters(taxonomy, lambda: ["techniques"],
                             MultiDict({k: v for k, v in ARGS.items() if k not in kind.params}))
    assert without == kind.cleared(full)
    alone = search_filters(taxonomy, lambda: ["techniques"],
                           MultiDict({k: v for k, v in ARGS.items() if k in kind.params}))
    assert alone == kind.alone(full)
