"""A search naming a topic says so as one naming a technique does: `using_first` / `not_tagged` and a `topic`
rank in the JSON API, and the page's notice linking the topic's page (kg/search.py _topics_named).

The seed corpus in a real SQLite store (test_web's fixtures, HashEmbedder vectors) through the Flask test
client."""

from __future__ import annotations

from flask.testing import FlaskClient

from kg.embedded import EmbeddedStore
from kg.entities import SearchFilters
from tests.api import test_web
from tests.api.test_web import page

# test_web.py's fixtures, not a copy of them: the seed corpus with the HashEmbedder.
store = test_web.store
app = test_web.app
client = test_web.client


def test_the_api_puts_a_named_topics_papers_first(client: FlaskClient, store: EmbeddedStore) -> None:
    tagged = store.filter_ids(SearchFilters(topic_ids=["ai_safety"]))
    assert tagged
    body = client.get("/api/search", query_string={"q": "AI safety", "limit": 20}).get_json()
    assert body["using_first"] == ["ai_safety"] and body["not_tagged"] == []
    first = body["results"][:len(tagged)]
    assert {r["id"] for r in first} == tagged and all(r["why"]["ranks"]["topic"] for r in first)
    alias = client.get("/api/search", query_string={"q": "deception", "limit": 20}).get_json()
    assert alias["using_first"] == [] and alias["not_tagged"] == []
    assert {r["id"] for r in alias["results"] if r["why"]["ranks"].get("topic")} == tagged
    untagged = client.get("/api/search", query_string={"q": "steering"}).get_json()
    assert untagged["not_tagged"] == ["lm_generation_steering"] and untagged["using_first"] == []


def test_the_page_links_the_named_topic(client: FlaskClient) -> None:
    html = page(client, "/search?q=AI+safety")
    assert ('data-state="using-first">Papers tagged <a href="/techniques/ai_safety">AI Safety</a> '
            "come first") in html
    # An alias is a cue word, not the topic's name: its list is only fused, nothing is said to come first.
    assert 'data-state="using-first"' not in page(client, "/search?q=jailbreaks")
    html = page(client, "/search?q=steering")
    assert ('data-state="not-tagged">No paper is tagged <a href="/techniques/lm_generation_steering">'
            "LM Generation Steering</a>; these are the nearest matches") in html
