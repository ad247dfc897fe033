"""GET /api/sections lists the headings the section filter takes, with their distinct papers: a script
adding up the leaf sections' counts overcounts papers listed in several sections.

The seed corpus in a real SQLite store (test_web's fixtures, HashEmbedder vectors) through the Flask test
client; counts are checked against /api/search's total and the web search's section select."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from kg.embedded import EmbeddedStore
from tests.api import test_web
from tests.api.test_web import page
from tests.api.test_web_section_filter import section_options

HEADING = "findings-and-applications"
SUB_HEADING = "findings-and-applications/findings-on-circuits"

# test_web.py's fixtures, not a copy of them: the seed corpus with the HashEmbedder.
store = test_web.store
app = test_web.app
client = test_web.client


def sections(client: FlaskClient) -> list[dict[str, Any]]:
    """GET /api/sections' entries."""
    response = client.get("/api/sections")
    assert response.status_code == 200
    return list(response.get_json()["sections"])


def search_total(client: FlaskClient, section_id: str) -> int:
    """/api/search's total for a section filter alone."""
    response = client.get("/api/search", query_string={"section": section_id})
    assert response.status_code == 200, response.get_json()
    return int(response.get_json()["total"])


def test_headings_are_listed_with_the_searchs_distinct_paper_count(client: FlaskClient) -> None:
    """The seed's headings are entries with `heading: true`, their title path and the search's total."""
    entries = sections(client)
    headings = {e["id"]: e for e in entries if e.get("heading") is True}
    assert {HEADING, SUB_HEADING} <= headings.keys()
    assert headings[HEADING]["path"] == ["Findings and Applications"]
    assert headings[HEADING]["title"] == "Findings and Applications"
    assert headings[SUB_HEADING]["path"] == ["Findings and Applications", "Findings on circuits"]
    for heading_id, entry in headings.items():
        assert entry["count"] == search_total(client, heading_id), heading_id
    # The finding: papers in several subsections make the leaves' sum more than the heading's papers.
    leaves_under = [e["count"] for e in entries
                    if e.get("heading") is False and e["id"].startswith(HEADING + "/")]
    assert sum(leaves_under) > headings[HEADING]["count"]


def test_leaf_entries_are_unchanged_and_each_heading_comes_before_its_sections(
        client: FlaskClient, store: EmbeddedStore) -> None:
    """The stored sections are the entries they were (same fields, same order), marked `heading: false`;
    each heading sits before its first section."""
    entries = sections(client)
    leaves = [e for e in entries if e.get("heading") is False]
    assert [{k: v for k, v in e.items() if k != "heading"} for e in leaves] == store.list_sections()
    assert all(isinstance(e.get("heading"), bool) for e in entries)
    ids = [e["id"] for e in entries]
    for heading_id in (e["id"] for e in entries if e["heading"]):
        first_under = next(i for i, e in enumerate(entries)
                           if not e["heading"] and e["id"].startswith(heading_id + "/"))
        assert ids.index(heading_id) < first_under


def test_headings_and_counts_match_the_web_section_select(client: FlaskClient) -> None:
    """The API's headings are the web select's "… (all)" options, titled and counted alike."""
    web = {}
    for value, text in section_options(page(client, "/search"))[1:]:
        label, sep, count = text.rpartition(" (all) (")
        if sep:
            web[value] = (label, int(count.rstrip(")")))
    api = {e["id"]: (" › ".join(e["path"]), e["count"]) for e in sections(client) if e["heading"]}
    assert web == api and HEADING in api
