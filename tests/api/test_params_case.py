"""Enum values in any case (links QA: `source=arXiv`, `mode=Keyword` were 400s): the API, the CLI's shared
parsing and the web form read a choice without regard to case and give it as the choice is spelt; any other
value stays a 400 naming the parameter. Taxonomy spellings for typed technique URLs (node_spelt_exactly)."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from werkzeug.datastructures import MultiDict

from api.params import (
    ParameterError,
    choice_arg,
    choice_of,
    optional_choice_arg,
    search_request,
)
from kg.entities import TaxonomyNode
from kg.schema import Label
from kg.taxonomy import Taxonomy, node_spelt_exactly


def test_a_choice_is_read_in_any_case_and_given_as_spelt() -> None:
    choices = ("list", "arxiv-weekly")
    for given, expected in (("List", "list"), ("LIST", "list"), ("ArXiv-Weekly", "arxiv-weekly")):
        assert optional_choice_arg("source", choices, args=MultiDict([("source", given)])) == expected
        assert choice_arg("source", "list", choices, args=MultiDict([("source", given)])) == expected
    for bad in ("", "arxiv_weekly", "lists", "list\x00"):
        with pytest.raises(ParameterError) as refused:
            optional_choice_arg("source", choices, args=MultiDict([("source", bad)]))
        shown = repr(bad) if bad else "an empty value"
        assert refused.value.message == (f"parameter 'source': {shown} is not a source; use list or "
                                         "arxiv-weekly"), bad
    assert choice_of("X", ("x", "X")) == "X" and choice_of("x", ("x", "X")) == "x"
    assert choice_of("Ẋ", ("x",)) is None


def test_search_reads_mode_source_and_technique_match_in_any_case(taxonomy: Taxonomy) -> None:
    given = MultiDict([("q", "circuits"), ("mode", "Keyword"), ("source", "arXiv"), ("source", "LIST,arxiv"),
                       ("technique", "sae"), ("technique_match", "ALL"), ("explain", "Overlap")])
    request = search_request(taxonomy, list, given)
    assert (request.mode, request.explain) == ("keyword", "overlap")
    assert request.filters.sources == ["arxiv", "list"]
    assert request.filters.technique_match == "all"
    with pytest.raises(ParameterError) as refused:
        search_request(taxonomy, list, MultiDict([("q", "x"), ("source", "arXive")]))
    assert refused.value.message == "parameter 'source': 'arXive' is not a source; use list, arxiv or records"


def test_the_api_answers_a_mode_and_source_in_any_case(plumbing_client: FlaskClient) -> None:
    exact = plumbing_client.get("/api/search?q=sparse&mode=keyword&source=records")
    assert exact.status_code == 200 and exact.get_json()["results"]
    cased = plumbing_client.get("/api/search?q=sparse&mode=Keyword&source=Records")
    assert cased.status_code == 200
    assert [r["id"] for r in cased.get_json()["results"]] == [r["id"] for r in exact.get_json()["results"]]
    assert plumbing_client.get("/api/search?q=sparse&mode=Fuzzy").status_code == 400


def test_a_typed_node_spelling_names_one_node_or_none(taxonomy: Taxonomy) -> None:
    def spelt(text: str) -> str | None:
        node = node_spelt_exactly(taxonomy, text)
        return node.id if node else None

    assert spelt("Activation-Patching") == spelt("activation patching") == "activation_patching"
    assert spelt("SAE") == spelt("Sae") == "sae"
    assert spelt("activaton-patching") is None and spelt("--") is None
    # Two nodes spelt alike (a name of one, an alias of another): no guess.
    twins = Taxonomy(nodes=[TaxonomyNode(Label.TECHNIQUE, "a_b", "Shared Name"),
                            TaxonomyNode(Label.TECHNIQUE, "c", "Other", aliases=["shared-name"])])
    assert node_spelt_exactly(twins, "SHARED NAME") is None
    # An id's spelling goes before another node's name.
    first = Taxonomy(nodes=[TaxonomyNode(Label.TECHNIQUE, "x_y", "Z"), TaxonomyNode(Label.TOPIC, "q", "X Y")])
    found = node_spelt_exactly(first, "X-Y")
    assert found is not None and found.id == "x_y"
    only_topics = node_spelt_exactly(first, "X-Y", (Label.TOPIC,))
    assert only_topics is not None and only_topics.id == "q"
