"""GET /api/authors/{key} (api/json_api.py author) and its OpenAPI entry."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from tests.api.author_store import author_client_of


@pytest.fixture(scope="module")
def author_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FlaskClient]:
    """A client of the app on the author test store (tests/api/author_store.py)."""
    with author_client_of(tmp_path_factory) as client:
        yield client


def test_author_answers_names_papers_newest_first_and_coauthors(author_client: FlaskClient) -> None:
    r = author_client.get("/api/authors/ada%20lovelace")
    assert r.status_code == 200
    body = r.get_json()
    assert list(body) == ["key", "names", "total", "limit", "offset", "papers", "coauthors"]
    assert body["key"] == "ada lovelace" and body["names"] == ["Ada Lovelace"]
    assert body["total"] == 3 and body["limit"] == 20 and body["offset"] == 0
    assert [p["id"] for p in body["papers"]] == ["2401.00001", "hostile-author", "plain-slug"]
    # The summary fields of the other lists (GET /api/techniques/{id}'s papers).
    technique = author_client.get("/api/techniques/sae").get_json()["papers"]["results"][0]
    assert set(body["papers"][0]) == set(technique) - {"because"}  # why it is on the node's list
    assert {c["key"]: c["papers"] for c in body["coauthors"]} == {
        "grace hopper": 1, 'mallory <script>alert("x")</script> & co': 1}
    assert set(body["coauthors"][0]) == {"key", "name", "papers"}


def test_author_pages_with_limit_and_offset(author_client: FlaskClient) -> None:
    body = author_client.get("/api/authors/ada%20lovelace?limit=1&offset=2").get_json()
    assert [p["id"] for p in body["papers"]] == ["plain-slug"] and body["total"] == 3


def test_author_refuses_bad_paging_and_unknown_parameters(author_client: FlaskClient) -> None:
    for query in ("limit=0", "limit=x", "offset=-1", "since=2024-01-01"):
        r = author_client.get(f"/api/authors/ada%20lovelace?{query}")
        assert r.status_code == 400, query
        assert r.get_json()["error"]["code"] == "bad_parameter"


def test_unknown_author_is_a_404_and_a_name_as_written_is_its_key(author_client: FlaskClient) -> None:
    r = author_client.get("/api/authors/nobody")
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"
    assert author_client.get("/api/authors/Ada%20%20Lovelace").get_json()["key"] == "ada lovelace"


def test_openapi_documents_the_author_operation_and_the_feed_filter(author_client: FlaskClient) -> None:
    doc = author_client.get("/api/openapi.json").get_json()
    op = doc["paths"]["/api/authors/{key}"]["get"]
    assert op["operationId"] == "get_author"
    assert {p["name"] for p in op["parameters"]} == {"key", "limit", "offset", "If-None-Match"}
    assert op["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/AuthorPage"}
    assert set(doc["components"]["schemas"]["AuthorPage"]["properties"]) == {
        "key", "names", "total", "limit", "offset", "papers", "coauthors"}
    feed = doc["paths"]["/feeds/new.atom"]["get"]
    assert "author" in {p["name"] for p in feed["parameters"]}


def _new(client: FlaskClient, query: str) -> dict:
    r = client.get(f"/api/new?since=1970-01-01&{query}")
    assert r.status_code == 200, r.get_data(as_text=True)
    return r.get_json()


def test_new_papers_by_author_as_the_feed_lists_them_a_page_at_a_time(author_client: FlaskClient) -> None:
    body = _new(author_client, "author=Ada%20Lovelace")
    assert body["author"] == "ada lovelace" and body["total"] == 3
    # Newest stored first, as the author's feed (tests/api/test_feeds_authors.py).
    assert [p["id"] for p in body["results"]] == ["plain-slug", "hostile-author", "2401.00001"]
    assert set(body["results"][0]) == set(_new(author_client, "")["results"][0])
    second = _new(author_client, "author=ada+lovelace&limit=1&offset=1")
    assert [p["id"] for p in second["results"]] == ["hostile-author"] and second["total"] == 3
    assert _new(author_client, "")["author"] is None


def test_new_papers_refuses_an_unknown_author_and_author_with_technique(author_client: FlaskClient) -> None:
    for query in ("author=nobody", "author=ada+lovelace&technique=sae", "author="):
        r = author_client.get(f"/api/new?{query}")
        assert r.status_code == 400, query
        assert r.get_json()["error"]["code"] == "bad_parameter"


def test_openapi_documents_the_author_filter_of_new_papers(author_client: FlaskClient) -> None:
    doc = author_client.get("/api/openapi.json").get_json()
    assert "author" in {p["name"] for p in doc["paths"]["/api/new"]["get"]["parameters"]}
    assert "author" in doc["components"]["schemas"]["NewPapersPage"]["properties"]
