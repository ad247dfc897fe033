"""The Atom feed of the newest papers (api/feeds.py): valid Atom, hostile text escaped, ids and links,
updated times that follow new versions, links that are valid IRIs, conditional GET."""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import feedparser
import pytest
from flask.testing import FlaskClient

from api.app import create_app
from api.feeds import build_feed, paper_atom_id
from ingest.pipeline import ingest_records_file
from ingest.summary import IngestSummary
from kg.embedded import EmbeddedStore
from kg.entities import Paper
from tests.api.conftest import HOSTILE_TITLE, app_config, serving
from tests.api.test_json_api import error_of
from tests.embedders import HashEmbedder


def test_atom_feed_is_valid_and_escaped(plumbing_client: FlaskClient, client: FlaskClient) -> None:
    response = plumbing_client.get("/feeds/new.atom")
    assert response.status_code == 200 and response.mimetype == "application/atom+xml"
    feed = feedparser.parse(response.data)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    titles = {e.title for e in feed.entries}
    # The text survives, escaped on the wire, with its TeX read as the pages show it ({braces}, $x_1$).
    assert HOSTILE_TITLE.replace("{braces}", "braces").replace("$x_1$", "x₁") in titles
    assert b"<script>" not in response.data
    entry = next(e for e in feed.entries if e.title.startswith("Patching </title>"))
    assert entry.id == "urn:paperkg:paper:hostile-1" and entry.link == "https://example.org/a?b=1&c=%3C2%3E"
    arxiv_entry = next(e for e in feed.entries if e.title.startswith("Sparse autoencoders"))
    assert arxiv_entry.id == "https://arxiv.org/abs/2401.00001"
    seed = feedparser.parse(client.get("/feeds/new.atom?limit=5").data)
    assert not seed.bozo and len(seed.entries) == 5
    assert error_of(client.get("/feeds/new.atom?since=never"), 400)



# -- a real store, ingested through the pipeline at chosen store-clock times -------------------------
V1 = {"arxiv_id": "2511.10000v1", "title": "Versioned Paper 0: Circuits in Transformers",
      "authors": ["Ada Lovelace"], "abstract": "We train sparse autoencoders on Pythia activations.",
      "published": "2025-11-10", "updated": "2025-11-10", "year": 2025, "primary_category": "cs.CL",
      "url": "https://arxiv.org/abs/2511.10000v1"}
V2 = {**V1, "arxiv_id": "2511.10000v2", "title": "Versioned Paper 0: Circuits in Transformers (revised)",
      "authors": ["Ada Lovelace", "New Coauthor"], "updated": "2025-11-20",
      "url": "https://arxiv.org/abs/2511.10000v2"}
ENTRY_ID = "https://arxiv.org/abs/2511.10000"

Ingest = Callable[[list[dict[str, Any]], str], IngestSummary]


@pytest.fixture
def ingest(empty_store: EmbeddedStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Ingest:
    """Ingest records (a records file through the pipeline) with the store's clock at `at`."""
    def run(records: list[dict[str, Any]], at: str) -> IngestSummary:
        monkeypatch.setattr("kg.validation.now", lambda: at)
        path = tmp_path / "records.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
        return ingest_records_file(empty_store, path, embedder=HashEmbedder(), progress=False)

    return run


def _entry(client: FlaskClient, entry_id: str) -> tuple[Any, Any]:
    feed = feedparser.parse(client.get("/feeds/new.atom").data)
    assert not feed.bozo, feed.get("bozo_exception")
    return feed, next(e for e in feed.entries if e.id == entry_id)


def test_a_new_arxiv_version_moves_the_entry_and_the_feed_updated(
        empty_store: EmbeddedStore, ingest: Ingest, tmp_path: Path) -> None:
    client = create_app(app_config(tmp_path, STORE=empty_store, EMBEDDER=HashEmbedder())).test_client()
    assert ingest([V1], "2025-11-12T09:30:00.000000+00:00").new == 1
    feed, entry = _entry(client, ENTRY_ID)
    assert entry.updated == feed.feed.updated == "2025-11-12T09:30:00Z"
    # v2 appeared on arXiv on 2025-11-20 (after v1 was stored) and was ingested the day after.
    assert ingest([V2], "2025-11-21T08:00:00.000000+00:00").updated == 1
    feed, entry = _entry(client, ENTRY_ID)
    assert entry.title == V2["title"] and [a.name for a in entry.authors] == V2["authors"]
    assert entry.updated == feed.feed.updated == "2025-11-20T00:00:00Z"  # was the first-seen time
    assert entry.published == "2025-11-10T00:00:00Z"
    before = client.get("/feeds/new.atom").data
    # The same v2 again, later: unchanged. last_seen moves, the entry (and the whole feed) does not.
    assert ingest([V2], "2025-11-30T12:00:00.000000+00:00").unchanged == 1
    detail = empty_store.get_paper("2511.10000")
    assert detail is not None and detail.paper.last_seen is not None
    assert detail.paper.last_seen.startswith("2025-11-30")
    assert client.get("/feeds/new.atom").data == before


def test_the_entry_updated_is_first_seen_when_the_version_date_is_older() -> None:
    # A paper first stored after its newest version's date: the store saw it later than arXiv dated it.
    paper = Paper(id="p", title="T", published="2024-01-02", updated="2024-01-05",
                  first_seen="2024-03-01T10:00:00.123456+00:00")
    body = build_feed([paper], self_url="http://localhost/feeds/new.atom", site_url="http://localhost/")
    assert body.count(b"<updated>2024-03-01T10:00:00Z</updated>") == 2  # the feed's and the entry's
    no_seen = Paper(id="q", title="T", published="2024-01-02", updated="2024-01-05")
    body = build_feed([no_seen], self_url="http://localhost/feeds/new.atom", site_url="http://localhost/")
    assert b"<updated>2024-01-05T00:00:00Z</updated>" in body


# -- links are valid IRIs (kg.safe_output.iri_safe) -------------------------------------------------
def test_feed_links_are_valid_iris(plumbing_client: FlaskClient) -> None:
    paper = Paper(id="odd", title="Odd URL", url="https://example.com/a b{c}\\d%20e#frag")
    body = build_feed([paper], self_url="http://localhost/feeds/new.atom?x={a}|b",
                      site_url="http://localhost/")
    assert b'href="https://example.com/a%20b%7Bc%7D%5Cd%20e#frag"' in body
    assert b'href="http://localhost/feeds/new.atom?x=%7Ba%7D%7Cb"' in body
    feed = feedparser.parse(body)
    assert not feed.bozo and feed.entries[0].link == "https://example.com/a%20b%7Bc%7D%5Cd%20e#frag"
    # The self link is the request's URL: a query string with braces and a bar is encoded too.
    served = plumbing_client.get("/feeds/new.atom", query_string="limit=5&x={a}|b")
    assert b'rel="self" href="http://localhost/feeds/new.atom?limit=5&amp;x=%7Ba%7D%7Cb"' in served.data


# -- conditional GET ---------------------------------------------------------------------------------
def _get(port: int, path: str = "/feeds/new.atom", method: str = "GET",
         **headers: str) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, headers={k.replace("_", "-"): v for k, v in headers.items()})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def test_the_feed_answers_a_conditional_get_with_304_until_an_ingest_changes_it(
        empty_store: EmbeddedStore, ingest: Ingest, tmp_path: Path) -> None:
    ingest([V1], "2025-11-12T09:30:00.000000+00:00")
    app = create_app(app_config(tmp_path, STORE=empty_store, EMBEDDER=HashEmbedder()))
    with serving(app) as port:
        status, headers, body = _get(port)
        assert status == 200 and ENTRY_ID.encode() in body
        etag = headers["ETag"]
        assert etag.startswith('"') and etag.endswith('"')  # strong: no W/
        # No Last-Modified: the feed's dates do not show every change (a removed paper).
        assert "Last-Modified" not in headers
        assert headers["Cache-Control"] == "max-age=300"
        # The reader's copy is current: 304, no body, the validators again.
        for method in ("GET", "HEAD"):
            status, again, body = _get(port, method=method, If_None_Match=etag)
            assert (status, body, again["ETag"]) == (304, b"", etag), method
        assert _get(port, If_Modified_Since="Wed, 12 Nov 2025 09:30:00 GMT")[0] == 200
        assert _get(port, If_None_Match='"something-else"')[0] == 200
        # Another query is another document, with its own ETag.
        assert _get(port, "/feeds/new.atom?limit=1")[1]["ETag"] != etag

        ingest([{**V1, "arxiv_id": "2511.10001v1", "title": "Another paper",
                 "url": "https://arxiv.org/abs/2511.10001v1"}], "2025-11-13T10:00:00.000000+00:00")
        status, fresh, body = _get(port, If_None_Match=etag)
        assert status == 200 and b"https://arxiv.org/abs/2511.10001" in body and fresh["ETag"] != etag
        assert _get(port, If_None_Match=fresh["ETag"])[0] == 304



# -- withdrawn papers ----------------------------------------------------------------------------------
def test_a_withdrawn_papers_entry_says_so_in_its_title_and_a_category(
        empty_store: EmbeddedStore, ingest: Ingest, tmp_path: Path) -> None:
    """Year-of-runs QA: a paper whose new version is arXiv's withdrawal notice came in the feed as one
    more new paper (its summary the notice). Its title now starts "[Withdrawn] " (what every reader
    shows) and it has a "withdrawn" category; a paper that is not withdrawn has neither."""
    from tests.api.test_json_api import WITHDRAWAL_NOTICE

    other = {**V1, "arxiv_id": "2511.10001v1", "title": "Another paper", "categories": ["cs.LG"],
             "url": "https://arxiv.org/abs/2511.10001v1"}
    assert ingest([V1, other], "2025-11-12T09:30:00.000000+00:00").new == 2
    assert ingest([{**V2, "abstract": WITHDRAWAL_NOTICE}], "2025-11-21T08:00:00.000000+00:00").updated == 1
    client = create_app(app_config(tmp_path, STORE=empty_store, EMBEDDER=HashEmbedder())).test_client()
    feed, entry = _entry(client, ENTRY_ID)
    assert feed.version == "atom10"
    assert entry.title == "[Withdrawn] " + V2["title"] and entry.summary == WITHDRAWAL_NOTICE
    assert [(t.term, t.label) for t in entry.tags if t.scheme == "urn:paperkg:status"] == [
        ("withdrawn", "Withdrawn")]
    kept = next(e for e in feed.entries if e.id == "https://arxiv.org/abs/2511.10001")
    assert kept.title == "Another paper" and [t.term for t in kept.tags if not t.scheme] == ["cs.LG"]
    assert "withdrawn" not in {t.term for t in kept.tags}


# -- entry ids are permanent; titles, summaries and authors are text, not TeX ---------------------------
def test_an_arxiv_papers_entry_id_stays_when_a_records_file_names_it(
        empty_store: EmbeddedStore, ingest: Ingest, tmp_path: Path) -> None:
    """Review: taking the URN of a former id for the entry id (to keep a list paper's entry when it got its
    arXiv id) flipped the entry of a paper always stored under its arXiv id as soon as a records file gave
    it an `id` of its own (an alias), so every feed reader showed it again as new."""
    assert ingest([V1], "2025-11-12T09:30:00.000000+00:00").new == 1
    client = create_app(app_config(tmp_path, STORE=empty_store, EMBEDDER=HashEmbedder())).test_client()
    _feed, before = _entry(client, ENTRY_ID)
    ingest([{**V1, "id": "my-lab-id-17"}], "2025-11-20T06:01:00.000000+00:00")
    assert empty_store.former_ids(V1["arxiv_id"].split("v")[0]) == ["my-lab-id-17"]
    assert [e.id for e in feedparser.parse(client.get("/feeds/new.atom").data).entries] == [before.id]


def test_paper_atom_id_rules() -> None:
    arxiv = Paper(id="2401.00001", arxiv_id="2401.00001", title="T")
    assert paper_atom_id(arxiv) == "https://arxiv.org/abs/2401.00001"
    assert paper_atom_id(Paper(id="x/y z", title="T")) == "urn:paperkg:paper:x%2Fy%20z"


def test_entries_read_tex_as_text(empty_store: EmbeddedStore, ingest: Ingest, tmp_path: Path) -> None:
    """Weekly-reader QA: titles and summaries kept arXiv's raw TeX ("Top-$k$ vs. $\\ell_1$ Sparse
    Autoencoders"), which feed readers show as typed; they are the text it stands for, as on the pages."""
    tex = {**V1, "arxiv_id": "2511.30002v1", "url": "https://arxiv.org/abs/2511.30002v1",
           "title": "Top-$k$ vs. $\\ell_1$ Sparse Autoencoders: <i>Dead</i> Latents & Scaling",
           "authors": ["Kurt G\\\"odel"],
           "abstract": "We compare \\emph{TopK} and $\\ell_1$-penalised sparse autoencoders~(SAEs)."}
    ingest([tex], "2025-11-12T09:30:00.000000+00:00")
    client = create_app(app_config(tmp_path, STORE=empty_store, EMBEDDER=HashEmbedder())).test_client()
    _feed, entry = _entry(client, "https://arxiv.org/abs/2511.30002")
    assert entry.title == "Top-k vs. ℓ₁ Sparse Autoencoders: <i>Dead</i> Latents & Scaling"
    assert entry.summary == "We compare TopK and ℓ₁-penalised sparse autoencoders (SAEs)."
    assert [a.name for a in entry.authors] == ["Kurt Gödel"]


def test_entries_carry_their_techniques_as_categories(
        empty_store: EmbeddedStore, ingest: Ingest, tmp_path: Path) -> None:
    """A reader (or a filter of its own) can sort entries by technique: each technique of the paper is a
    category, its taxonomy id the term and its name the label; the arXiv categories stay as they were."""
    ingest([{**V1, "categories": ["cs.CL", "cs.LG"],
             "abstract": "We train sparse autoencoders and use activation patching on Pythia."}],
           "2025-11-12T09:30:00.000000+00:00")
    client = create_app(app_config(tmp_path, STORE=empty_store, EMBEDDER=HashEmbedder())).test_client()
    _feed, entry = _entry(client, ENTRY_ID)
    assert [t.term for t in entry.tags if not t.scheme] == ["cs.CL", "cs.LG"]
    techniques = {(t.term, t.label) for t in entry.tags if t.scheme == "urn:paperkg:technique"}
    names = {n.id: n.name for n in empty_store.taxonomy_nodes()}
    assert {"sae", "activation_patching"} <= {term for term, _ in techniques}
    assert techniques == {(term, names[term]) for term, _ in techniques}
    assert techniques == {(t["id"], t["label"]) for t in client.get("/api/new?since=2000-01-01").get_json()[
        "results"][0]["techniques"]}
