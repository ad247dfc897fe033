"""What's new for my interests (weekly-reader QA: "tell me what's new about SAEs and activation patching"):
the technique filter of the views of new papers, GET /api/new, the New page and /feeds/new.atom, with the
search filter's ids, rule (refinements included) and errors; a filtered feed of its own, which the
technique page links and auto-discovers."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import feedparser
import pytest
from flask.testing import FlaskClient

from api.app import create_app
from ingest.pipeline import ingest_records_file
from kg.embedded import EmbeddedStore
from tests.api.conftest import app_config
from tests.api.test_json_api import error_of
from tests.embedders import HashEmbedder
from tests.seed_store import taxonomy_store

SAE_NAME = "Sparse Autoencoder (SAE)"
# One paper per technique (path and activation patching refine causal mediation analysis), one with none.
ABSTRACTS = {
    "2611.00001": "We train sparse autoencoders on the residual stream and read their features.",
    "2611.00002": "We use path patching to find the circuit behind indirect object identification.",
    "2611.00003": "We use activation patching to localise factual recall in the MLP layers.",
    "2611.00004": "We report a new benchmark of reading comprehension questions for children.",
}
ALL = ["2611.00004", "2611.00003", "2611.00002", "2611.00001"]  # newest first: ingested one by one


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EmbeddedStore]:
    """A real store (taxonomy loaded) in a temporary SQLite file, the papers ingested one at a time."""
    s = taxonomy_store(tmp_path / "paperkg.sqlite3")
    for n, (arxiv_id, abstract) in enumerate(ABSTRACTS.items()):
        record = {"arxiv_id": arxiv_id + "v1", "title": f"Paper {n}", "authors": ["Ada Lovelace"],
                  "abstract": abstract, "published": "2026-11-01", "year": 2026}
        path = tmp_path / f"records-{n}.jsonl"
        path.write_text(json.dumps(record) + "\n", encoding="utf-8")
        ingest_records_file(s, path, embedder=HashEmbedder(), progress=False)
    yield s
    s.close()


@pytest.fixture
def client(store: EmbeddedStore, tmp_path: Path) -> FlaskClient:
    return create_app(app_config(tmp_path, STORE=store, EMBEDDER=HashEmbedder())).test_client()


def _api(client: FlaskClient, query: str) -> dict[str, Any]:
    response = client.get(f"/api/new?since=2000-01-01&{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json()
    return body


def _ids(body: dict[str, Any]) -> list[str]:
    return [r["id"] for r in body["results"]]


def _page(client: FlaskClient, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    return response.get_data(as_text=True)


def _page_ids(html: str) -> list[str]:
    return re.findall(r'data-paper-row data-paper-id="([^"]+)"', html)


def _alternate(html: str) -> tuple[str, str]:
    """The page's one feed auto-discovery link: (title, href)."""
    links = re.findall(r'<link rel="alternate" type="application/atom\+xml" title="([^"]*)" href="([^"]*)">',
                       html)
    assert len(links) == 1, links
    return links[0][0], links[0][1].replace("&amp;", "&")


def test_the_corpus_has_the_techniques_the_tests_filter_by(client: FlaskClient) -> None:
    """The fixture's papers use what their abstracts say (else the tests below would prove nothing)."""
    techniques = {r["id"]: {t["id"] for t in r["techniques"]} for r in _api(client, "")["results"]}
    assert _ids(_api(client, "")) == ALL
    assert "sae" in techniques["2611.00001"] and "path_patching" in techniques["2611.00002"]
    assert "activation_patching" in techniques["2611.00003"] and not techniques["2611.00004"]
    assert not {"sae", "cma", "path_patching", "activation_patching"} & (
        techniques["2611.00001"] - {"sae"} | techniques["2611.00002"] - {"path_patching"})


def test_api_new_keeps_the_papers_using_a_technique_or_a_refinement(client: FlaskClient) -> None:
    """GET /api/new?technique=: only the papers using one of the ids or a refinement of one (cma takes path
    and activation patching), repeatable or comma-separated as on /api/search; `total` counts those, the
    filter is echoed, and the filtered techniques (refinements included) are matched."""
    sae = _api(client, "technique=sae")
    assert (_ids(sae), sae["total"], sae["technique"]) == (["2611.00001"], 1, ["sae"])
    assert [t["matched"] for t in sae["results"][0]["techniques"] if t["id"] == "sae"] == [True]
    assert all(not t["matched"] for t in sae["results"][0]["techniques"] if t["id"] != "sae")
    cma = _api(client, "technique=cma")
    assert (_ids(cma), cma["total"]) == (["2611.00003", "2611.00002"], 2)
    matched = {t["id"] for r in cma["results"] for t in r["techniques"] if t["matched"]}
    assert matched == {"activation_patching", "path_patching"}
    both = ["2611.00003", "2611.00002", "2611.00001"]
    assert _ids(_api(client, "technique=sae,activation_patching,path_patching")) == both
    assert _ids(_api(client, "technique=sae&technique=cma")) == both
    assert _api(client, "technique=cma&limit=1&offset=1")["results"][0]["id"] == "2611.00002"
    assert _api(client, "technique=knockout")["total"] == 0
    every = _api(client, "")
    assert every["technique"] == [] and every["total"] == 4
    assert not any(t["matched"] for r in every["results"] for t in r["techniques"])


@pytest.mark.parametrize("path", ["/api/new", "/feeds/new.atom"])
def test_a_technique_the_filter_does_not_take_is_a_400_with_the_search_filters_words(
        client: FlaskClient, path: str) -> None:
    """The search filter's validation and "did you mean": a misspelt id, a topic's id. An alias (SAEs) is
    the API's 400 too, while the feed redirects it as the New page does (test_renamed_technique.py)."""
    alias = client.get(f"{path}?technique=SAEs")
    if path == "/feeds/new.atom":
        assert (alias.status_code, alias.headers["Location"]) == (301, "/feeds/new.atom?technique=sae")
    else:
        assert "unknown technique id 'SAEs' (did you mean 'sae'? see /api/techniques)" in error_of(
            alias, 400)["message"]
    error = error_of(client.get(f"{path}?technique=SAEz"), 400)
    assert (error["code"], error["parameter"]) == ("bad_parameter", "technique")
    assert "unknown technique id 'SAEz' (did you mean 'sae'? see /api/techniques)" in error["message"]
    misspelt = error_of(client.get(f"{path}?technique=activaton_patching"), 400)
    assert "did you mean 'activation_patching'?" in misspelt["message"]
    assert "use the topic filter" in error_of(client.get(f"{path}?technique=superposition"), 400)["message"]
    assert client.get(f"{path}?technique=sae").status_code == 200


def test_api_new_names_a_misspelt_technique_parameter(client: FlaskClient) -> None:
    """The operation declares `technique`: a misspelling is a 400 pointing to it, not ignored."""
    error = error_of(client.get("/api/new?tecnique=sae"), 400)
    assert error["parameter"] == "tecnique" and "did you mean 'technique'?" in error["message"]


def test_the_filtered_feed_is_a_feed_of_its_own(client: FlaskClient) -> None:
    """Its own id and title (a reader subscribed to it and to every paper keeps them apart), its entries
    those the API lists, its alternate link the New page so filtered; the plain feed is unchanged."""
    feed = feedparser.parse(client.get("/feeds/new.atom?technique=sae").data)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.feed.id == "urn:paperkg:feeds:new:technique:sae"
    assert feed.feed.title == f"paperkg: new papers using {SAE_NAME}"
    assert [e.id for e in feed.entries] == ["https://arxiv.org/abs/2611.00001"]
    alternate = urlsplit(feed.feed.link)
    assert (alternate.path, parse_qs(alternate.query)) == ("/new", {"technique": ["sae"]})
    several = feedparser.parse(client.get("/feeds/new.atom?technique=sae&technique=cma").data)
    reordered = feedparser.parse(client.get("/feeds/new.atom?technique=cma,sae").data)
    assert several.feed.id == reordered.feed.id == "urn:paperkg:feeds:new:technique:cma,sae"
    assert several.feed.title == (f"paperkg: new papers using {SAE_NAME} or "
                                  "Causal Mediation Analysis (CMA)")
    assert len(several.entries) == 3
    plain = feedparser.parse(client.get("/feeds/new.atom").data)
    assert (plain.feed.id, plain.feed.title, len(plain.entries)) == (
        "urn:paperkg:feeds:new", "paperkg: new papers", 4)


def test_the_new_page_filters_by_technique_and_keeps_it(
        client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """A select on the form; the pager, the feed link and the auto-discovery link keep the techniques."""
    html = _page(client, "/new?since=2000-01-01&technique=cma")
    assert _page_ids(html) == ["2611.00003", "2611.00002"]
    assert '<option value="cma" selected>' in html and '<select name="technique"' in html
    # A refinement is indented, as on the search form, with no glyph a screen reader speaks ("↳").
    assert '<option value="activation_patching">&nbsp;&nbsp;&nbsp;&nbsp;Activation Patching</option>' in html
    assert "↳" not in html
    assert "2 papers using <span data-using>Causal Mediation Analysis (CMA)</span>" in html
    feed = re.search(r'class="feed" href="([^"]+)"', html)
    assert feed is not None
    feed_url = feed.group(1).replace("&amp;", "&")
    assert parse_qs(urlsplit(feed_url).query) == {"since": ["2000-01-01"], "technique": ["cma"]}
    assert _alternate(html) == ("paperkg: new papers using Causal Mediation Analysis (CMA)", feed_url)
    monkeypatch.setattr("api.web.NEW_PAGE_SIZE", 1)
    paged = _page(client, "/new?since=2000-01-01&technique=sae&technique=path_patching")
    assert _page_ids(paged) == ["2611.00002"]
    assert 'multiple size="6"' in paged  # both kept selected
    link = re.search(r'rel="next" href="\?([^"]+)"', paged)
    assert link is not None
    assert parse_qs(link.group(1).replace("&amp;", "&")) == {
        "since": ["2000-01-01"], "technique": ["sae", "path_patching"], "page": ["2"]}
    assert _page_ids(_page(client, "/new?" + link.group(1).replace("&amp;", "&"))) == ["2611.00001"]


def test_the_new_page_says_what_is_wrong_with_a_technique(client: FlaskClient) -> None:
    """A 400 in the form's words, with the search form's "did you mean", and every paper shown."""
    html = _page(client, "/new?since=2000-01-01&technique=SAEz", status=400)
    # The typed value isolated (<bdi>, not invisible marks), as the search form shows it.
    assert ("Unknown technique “<bdi>SAEz</bdi>”: did you mean “sae”? Showing the papers of every technique "
            "instead.") in html
    assert len(_page_ids(html)) == 4
    assert _alternate(_page(client, "/new"))[1] == "/feeds/new.atom"


def test_the_technique_page_links_and_auto_discovers_its_own_feed(client: FlaskClient) -> None:
    """A reader subscribing from a technique's page follows that technique (refinements included), not
    every paper: the head's alternate link and a visible link; a topic's page keeps the site's feed."""
    html = _page(client, "/techniques/sae")
    assert _alternate(html) == (f"paperkg: new papers using {SAE_NAME}", "/feeds/new.atom?technique=sae")
    assert re.search(r'<a class="feed" href="/feeds/new.atom\?technique=sae" type="application/atom\+xml" '
                     rf"data-technique-feed>Atom feed of new papers using {re.escape(SAE_NAME)}</a>", html)
    assert '<a href="/new?technique=sae">New papers using' in html
    assert _alternate(_page(client, "/techniques/superposition")) == (
        "paperkg: new papers", "/feeds/new.atom")
    assert "data-technique-feed" not in _page(client, "/techniques/superposition")
    assert _alternate(_page(client, "/about")) == ("paperkg: new papers", "/feeds/new.atom")


def test_the_openapi_document_declares_the_technique_filter(client: FlaskClient) -> None:
    document = client.get("/api/openapi.json").get_json()
    for path in ("/api/new", "/feeds/new.atom"):
        params = {p["name"]: p for p in document["paths"][path]["get"]["parameters"]}
        assert params["technique"]["schema"]["type"] == "array" and params["technique"]["explode"] is True
    assert "technique" in document["components"]["schemas"]["NewPapersPage"]["properties"]
