"""The OpenAPI document (api/openapi.py) against the running app: every route documented and nothing
else, the search rule, `since` and the 405s exactly as declared."""

from __future__ import annotations

import json
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from api.openapi import build_document
from tests.api.test_json_api import error_of


def test_openapi_documents_the_unknown_section_400() -> None:
    search = build_document()["paths"]["/api/search"]["get"]
    section = next(p for p in search["parameters"] if p["name"] == "section")
    assert "400" in search["responses"] and "unknown id is a 400" in section["description"]


@pytest.mark.parametrize("url", ["/api/new", "/feeds/new.atom"])
def test_since_takes_exactly_what_the_document_declares(client: FlaskClient, url: str) -> None:
    # OpenAPI: `since` is a date or an RFC 3339 date-time (seconds and offset required).
    schema = next(p for p in build_document()["paths"][url]["get"]["parameters"] if p["name"] == "since")
    assert schema["schema"] == {"anyOf": [{"type": "string", "format": "date"},
                                          {"type": "string", "format": "date-time"}]}
    for since in ("2024-01-31", "2024-01-31T12:00:00Z", "2024-01-31t12:00:00.5z",
                  "2024-01-31T12:00:00+02:00"):
        assert client.get(url, query_string={"since": since}).status_code == 200, since
    for since in ("", " ", "2024-01-31T12:00:00", "2024-01-31T12:00Z", "2024-02-30", "20240131",
                  " 2024-01-31", "2024-01-31 12:00:00Z", "yesterday"):
        err = error_of(client.get(url, query_string={"since": since}), 400)
        assert err["message"].startswith(
            "parameter 'since': must be a date like 2024-01-31 or an RFC 3339 timestamp"), since
    assert "not an empty value" in error_of(client.get(f"{url}?since="), 400)["message"]


def test_openapi_states_the_search_rule_and_its_400(client: FlaskClient) -> None:
    op = build_document()["paths"]["/api/search"]["get"]
    assert "a query" in op["description"] and "at least one filter" in op["description"]
    assert "neither a query nor a filter" in op["responses"]["400"]["description"]
    err = error_of(client.get("/api/search"), 400)  # schema-valid, and the documented 400
    assert err["message"] == "parameter 'q': give a query or at least one filter"
    assert client.get("/api/search?topic=superposition").status_code == 200  # a filter alone is enough


def test_405_is_documented_as_it_happens(app: Flask, client: FlaskClient) -> None:
    # No operation can declare a 405 (it answers methods a path has no operation for): the
    # document's description says so, and every documented path answers other methods that way.
    doc = build_document()
    assert "405 with an Allow header" in doc["info"]["description"]
    assert "E405" not in doc["components"]["responses"]
    for path, ops in doc["paths"].items():
        assert "405" not in {code for op in ops.values() for code in op["responses"]}
        url = re.sub(r"{\w+}", "2211.00593", path)
        response = client.delete(url)
        assert response.status_code == 405, path
        assert {m.lower() for m in response.headers["Allow"].split(", ")} >= set(ops), path


def _flask_to_openapi(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def test_openapi_documents_every_route_and_nothing_else(app: Flask, client: FlaskClient) -> None:
    doc = client.get("/api/openapi.json").get_json()
    assert doc == json.loads(json.dumps(build_document()))
    assert doc["openapi"].startswith("3.")
    routed: set[tuple[str, str]] = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(("/api", "/feeds")) or rule.rule in ("/healthz", "/readyz"):
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                routed.add((_flask_to_openapi(rule.rule), method.lower()))
    documented = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    assert routed == documented
    # Every path parameter of the template is declared on its operation.
    for path, ops in doc["paths"].items():
        for op in ops.values():
            declared = {p["name"] for p in op["parameters"] if p["in"] == "path"}
            assert declared == set(re.findall(r"{(\w+)}", path)), path


def test_paged_operations_say_total_counts_more_than_offset_reaches() -> None:
    """total may count more papers than offset (at most MAX_OFFSET) and limit can reach: each paged
    operation says so and how to reach the rest."""
    from api.params import MAX_OFFSET

    paths = build_document()["paths"]
    for path in ("/api/search", "/api/new", "/api/techniques/{technique_id}"):
        op = paths[path]["get"]
        assert f"offset is at most {MAX_OFFSET}, so paging reaches only the first {MAX_OFFSET} + limit" \
            in op["description"], path
        assert "to reach the others" in op["description"], path
        offset = next(p for p in op["parameters"] if p["name"] == "offset")
        assert "even when `total` counts more" in offset["description"], path
