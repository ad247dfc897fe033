"""The OpenAPI document on a taxonomy node's counts and papers (api/openapi.py): own_count and total_count
say what they count, a node's papers carry `because`, and `notice` is declared where it is sent."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from api.openapi import build_document
from kg.embedded import EmbeddedStore
from kg.entities import SearchFilters
from tests.api.test_openapi import _problems


def test_own_and_total_counts_say_what_they_count(app: Flask, client: FlaskClient,
                                                  seed_store: EmbeddedStore) -> None:
    """Researcher: own_count and total_count had no description in TreeNode or TechniqueDetail. total_count
    counts the papers tagged with the node or any refinement, each once; own_count the node's own. Checked
    against the store for cma, which activation patching and others refine."""
    with app.test_request_context():
        schemas = build_document()["components"]["schemas"]
    detail = schemas["TechniqueDetail"]["properties"]
    for where, properties in (("TreeNode", schemas["TreeNode"]["properties"]), ("TechniqueDetail", detail),
                              ("refinements", detail["refinements"]["items"]["properties"])):
        assert "refinements, each counted once" in properties["total_count"]["description"], where
        assert "the node itself" in properties["own_count"]["description"], where
    cma = client.get("/api/techniques/cma").get_json()
    both = seed_store.filter_ids(SearchFilters(technique_ids=["cma"]))
    own = seed_store.filter_ids(SearchFilters(technique_ids=["cma"], include_refinements=False))
    assert (cma["total_count"], cma["own_count"]) == (len(both), len(own))
    assert cma["own_count"] < cma["total_count"]


def test_a_nodes_papers_are_documented_with_why_each_is_listed(app: Flask, client: FlaskClient) -> None:
    """`because` on each of /api/techniques/{id}'s papers and `notice` on it and /api/search: declared,
    required, and the answers match the declaration exactly (no field left undocumented)."""
    with app.test_request_context():
        doc = build_document()
    schemas = doc["components"]["schemas"]
    results = schemas["TechniqueDetail"]["properties"]["papers"]["properties"]["results"]
    assert results["items"] == {"$ref": "#/components/schemas/NodePaper"}
    assert "because" in schemas["NodePaper"]["required"]
    assert set(schemas["NodeReason"]["required"]) == {"id", "label", "refinement", "sources", "evidence",
                                                      "sections"}
    for name in ("TechniqueDetail", "SearchPage"):
        assert "notice" in schemas[name]["required"], name
        assert schemas[name]["properties"]["notice"]["nullable"] is True, name
    ok = doc["paths"]["/api/techniques/{technique_id}"]["get"]["responses"]["200"]
    schema = ok["content"]["application/json"]["schema"]
    seen: set[str] = set()
    for node in ("cma", "superposition", "faithfulness"):
        body = client.get(f"/api/techniques/{node}?limit=100").get_json()
        assert _problems(doc, body, schema, node, seen) == [], node
    assert {"NodePaper", "NodeReason"} <= seen
