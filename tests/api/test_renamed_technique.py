"""A technique id the taxonomy's maintainer renamed (`knockout` is now `ablation`, the old id kept as an
alias): the web redirected the old id, but /feeds/new.atom answered a 400 (a feed reader's subscription
silently dead the day the taxonomy changed) and GET /api/techniques/<old id> a bare 404. The feed now
redirects exactly when the New page does; the API keeps its 404 with the search filter's "did you mean"."""

from __future__ import annotations

from collections.abc import Iterator

import feedparser
import numpy as np
import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.datastructures import MultiDict

from api.app import create_app
from api.params import respelt_filter
from kg.config import load_config
from kg.embedded import EmbeddedStore
from kg.entities import Paper, PaperBundle, TechniqueUse
from kg.taxonomy import load_taxonomy
from tests.api.conftest import serving
from tests.api.test_json_api import error_of
from tests.embedders import HashEmbedder

# A lab's small taxonomy after the rename: `ablation` is the node, `knockout` (its former id) an alias.
RENAMED = """\
meta:
  note: a lab's taxonomy whose maintainer renamed the technique knockout to ablation
techniques:
  - id: ablation
    label: Ablation
    aliases: [knockout, knock out, ablation]
    children:
      - id: zero_ablation
        label: Zero Ablation
        aliases: [zero ablation]
  - id: sae
    label: Sparse Autoencoder
    aliases: [SAE, sparse autoencoder]
fundamental_objects:
  - id: circuits
    label: Circuits
    aliases: [circuit]
findings:
  - id: polysemanticity
    label: Polysemanticity
    aliases: [polysemantic neurons]
evaluation:
  - id: faithfulness
    label: Faithfulness
    aliases: [faithful]
"""


@pytest.fixture(scope="module")
def renamed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """The app on a real SQLite store initialised with RENAMED (PAPERKG_TAXONOMY names the file), two
    papers: one using zero ablation (so ablation's feed holds it), one using SAEs."""
    folder = tmp_path_factory.mktemp("renamed-technique")
    file = folder / "lab.yaml"
    file.write_text(RENAMED, encoding="utf-8")
    store = EmbeddedStore(folder / "paperkg.sqlite3")
    store.init_schema()
    store.load_taxonomy(load_taxonomy(file).nodes)
    embedder = HashEmbedder()

    def bundle(pid: str, title: str, technique: str) -> PaperBundle:
        vector = np.asarray(embedder.encode_query(title), dtype=np.float32)
        paper = Paper(id=pid, title=title, abstract=f"{title}. We report it.", year=2026,
                      authors=["Ada Lovelace"], sources=["records"], embedding=vector,
                      embedding_model=embedder.model_name)
        return PaperBundle(paper, techniques=[TechniqueUse(technique, "extracted")])

    store.upsert_papers([bundle("zero-knock", "Zeroing heads out", "zero_ablation"),
                         bundle("sae-paper", "Sparse features", "sae")])
    config = load_config(env={"PAPERKG_DATA_DIR": str(folder), "PAPERKG_TAXONOMY": str(file)})
    yield create_app({"TESTING": True, "STORE": store, "EMBEDDER": embedder, "PAPERKG_CONFIG": config})
    store.close()


@pytest.fixture
def client(renamed: Flask) -> FlaskClient:
    return renamed.test_client()


# (the query, the technique values the New page and the feed redirect it to, or None: no redirect).
QUERIES = [
    ("limit=5&technique=knockout&since=2000-01-01", "limit=5&technique=ablation&since=2000-01-01"),
    ("technique=Knock-Out", "technique=ablation"),
    ("technique=knockout,sae&since=2000-01-01&technique=ablation",
     "technique=ablation&technique=sae&since=2000-01-01"),
    ("technique=SAE", "technique=sae"),
    ("technique=ablation", None),
    ("technique=ablaton", None),  # a near miss: a "did you mean", not a guess
    ("technique=no_such_technique", None),
    ("", None),
]


@pytest.mark.parametrize(("query", "respelt"), QUERIES)
def test_the_feed_redirects_exactly_when_the_new_page_does(
        client: FlaskClient, query: str, respelt: str | None) -> None:
    """The same 301 (status and query string, the other parameters kept in their order) from the feed as
    from the New page; no redirect where the page has none."""
    page = client.get(f"/new?{query}")
    feed = client.get(f"/feeds/new.atom?{query}")
    if respelt is None:
        assert page.status_code != 301 and feed.status_code != 301
        assert "Location" not in feed.headers
        return
    assert (page.status_code, page.headers["Location"]) == (301, f"/new?{respelt}")
    assert (feed.status_code, feed.headers["Location"]) == (301, f"/feeds/new.atom?{respelt}")


def test_an_unknown_or_misspelt_technique_stays_a_400_with_did_you_mean(client: FlaskClient) -> None:
    """Only an exact spelling of one node is redirected: a misspelling is the filter's 400 as before."""
    misspelt = error_of(client.get("/feeds/new.atom?technique=ablaton"), 400)
    assert misspelt["message"] == ("parameter 'technique': unknown technique id 'ablaton' (did you mean "
                                   "'ablation'? see /api/techniques)")
    unknown = error_of(client.get("/feeds/new.atom?technique=no_such_technique"), 400)
    assert "did you mean" not in unknown["message"] and "'no_such_technique'" in unknown["message"]


def test_a_feed_reader_subscribed_to_the_old_id_follows_to_the_renamed_feed(renamed: Flask) -> None:
    """Over real HTTP, as a feed reader fetches: feedparser follows the 301 (and says so, with the new URL
    a reader keeps) to the renamed technique's feed, with the paper using its refinement."""
    with serving(renamed) as port:
        feed = feedparser.parse(f"http://127.0.0.1:{port}/feeds/new.atom?technique=knockout")
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.status == 301
    assert feed.href == f"http://127.0.0.1:{port}/feeds/new.atom?technique=ablation"
    assert feed.feed.id == "urn:paperkg:feeds:new:technique:ablation"
    assert feed.feed.title == "paperkg: new papers using Ablation"
    assert [e.id for e in feed.entries] == ["urn:paperkg:paper:zero-knock"]


def test_the_api_answers_the_old_id_with_a_404_saying_did_you_mean(client: FlaskClient) -> None:
    """GET /api/techniques/<former id>: still a 404 (the API names ids exactly and redirects nowhere),
    with the "did you mean" the search filter gives for the same id."""
    old = client.get("/api/techniques/knockout")
    assert "Location" not in old.headers
    error = error_of(old, 404)
    assert error == {"code": "not_found", "message": "no technique, evaluation, topic or object has the id "
                                                     "'knockout' (did you mean "
                                                     "'ablation'? see /api/techniques)"}
    search = error_of(client.get("/api/search?technique=knockout"), 400)
    assert "did you mean 'ablation'?" in search["message"]
    # A near misspelling of a topic: the node this operation would answer for.
    topic = error_of(client.get("/api/techniques/polysemantic"), 404)
    assert "did you mean 'polysemanticity'?" in topic["message"]
    unknown = error_of(client.get("/api/techniques/no_such_technique"), 404)
    assert unknown["message"] == ("no technique, evaluation, topic or object has the id 'no_such_technique' "
                                 "(see /api/techniques)")
    assert client.get("/api/techniques/ablation").get_json()["total_count"] == 1


def test_respelt_filter_is_the_one_rule_of_the_page_and_the_feed(renamed: Flask) -> None:
    """api.params.respelt_filter (moved from the web view, shared with the feed): the values as their
    nodes' ids, duplicates dropped; None when every value is an id or no exact spelling of one node."""
    with renamed.app_context():
        from api.app import get_taxonomy

        taxonomy = get_taxonomy()
    given = MultiDict([("technique", "knockout,sae"), ("technique", "ablation")])
    assert respelt_filter(taxonomy, "technique", given) == ["ablation", "sae"]
    assert respelt_filter(taxonomy, "technique", MultiDict([("technique", "ablation,sae")])) is None
    assert respelt_filter(taxonomy, "technique", MultiDict([("technique", "ablaton")])) is None
    assert respelt_filter(taxonomy, "technique", MultiDict()) is None
