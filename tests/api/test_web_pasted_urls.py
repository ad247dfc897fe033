"""Pasted and hand-typed URLs land (links QA): a trailing slash, capitals, the punctuation a pasted link picks
up, a technique spelt as its name, an enum value in its label's case; a paper no longer stored gets a 404
with a search for its slug's words (and its arXiv page for an arXiv id)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
from flask.testing import FlaskClient

from kg.embedded import EmbeddedStore
from kg.entities import Paper, PaperBundle, TechniqueUse
from tests.api import test_web
from tests.api.test_web import Inspector, page, row_ids
from tests.embedders import HashEmbedder
from tests.seed_store import taxonomy_store

IOI_ID = "2211.00593"
# Records-file ids keep their case: two that differ only in it, and one with capitals alone.
TWINS = ("Lab-Paper", "lab-paper")
CAPITALS = "MyLab-Report-7"


def _bundle(embedder: HashEmbedder, paper_id: str, title: str) -> PaperBundle:
    vector = np.asarray(embedder.encode_query(title), dtype=np.float32)
    return PaperBundle(Paper(id=paper_id, title=title, abstract=f"{title}. We patch activations.",
                             authors=["Ada Lovelace"], sources=["records"], year=2024, embedding=vector,
                             embedding_model=embedder.model_name),
                       techniques=[TechniqueUse("activation_patching", "extracted")])


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Iterator[EmbeddedStore]:
    """The seed corpus through the real pipeline (HashEmbedder), plus records whose ids have capitals."""
    from ingest.pipeline import ingest_records_file

    s = taxonomy_store(tmp_path_factory.mktemp("web-pasted-urls") / "paperkg.sqlite3")
    embedder = HashEmbedder()
    summary = ingest_records_file(s, shared_data / "seed_papers.jsonl", embedder=embedder, progress=False)
    assert summary.new == 38
    s.upsert_papers([_bundle(embedder, TWINS[0], "Twin upper"), _bundle(embedder, TWINS[1], "Twin lower"),
                     _bundle(embedder, CAPITALS, "A lab report")])
    yield s
    s.close()


# test_web.py's fixtures, not a copy of them: its `app` runs over this module's `store` (above).
app = test_web.app
client = test_web.client


def redirected(client: FlaskClient, url: str, status: int = 301) -> str:
    """GET `url`, check it redirects with `status`; the Location (relative, as every redirect here)."""
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code, response.data[:300])
    location = response.headers["Location"]
    assert location.startswith("/"), location
    return location


def alert_links(html: str) -> list[str]:
    """The links of an error page's message."""
    message = re.search(r'role="alert".*?</div>', html, re.S)
    assert message is not None
    return [str(a.get("href")) for t, a in Inspector(message.group(0)).elements if t == "a"]


# -- 1. trailing slashes, capitals, pasted punctuation ---------------------------------------------------
@pytest.mark.parametrize(("given", "target"), [
    (f"/papers/{IOI_ID}/", f"/papers/{IOI_ID}"),
    ("/papers/math-framework/", "/papers/math-framework"),
    (f"/papers/{IOI_ID}/graph/", f"/papers/{IOI_ID}/graph"),
    (f"/papers/{IOI_ID}/graph.json/", f"/papers/{IOI_ID}/graph.json"),
    ("/search/?q=circuits", "/search?q=circuits"),
    ("/search/?q=circuits&mode=keyword&technique=sae", "/search?q=circuits&mode=keyword&technique=sae"),
    ("/new/", "/new"),
    ("/about/", "/about"),
    ("/techniques/", "/techniques"),
    ("/techniques/sae/", "/techniques/sae"),
    ("/start/", "/start"),
    ("/About", "/about"),
    ("/SEARCH/?q=x", "/search?q=x"),
    ("/papers/", "/papers"),
])
def test_a_trailing_slash_or_a_capitalised_page_name_redirects_to_the_page(
        client: FlaskClient, given: str, target: str) -> None:
    assert redirected(client, given) == target


def test_papers_without_an_id_goes_to_search_with_its_query(client: FlaskClient) -> None:
    assert redirected(client, "/papers", 302) == "/search"
    assert redirected(client, "/papers?q=circuits", 302) == "/search?q=circuits"
    followed = client.get("/papers/?q=circuits", follow_redirects=True)
    assert followed.status_code == 200 and followed.request.path == "/search"


def test_the_slash_redirect_stays_off_the_api_and_other_methods(client: FlaskClient) -> None:
    # The API and the feeds answer a 404 in JSON, as before; a POST is not redirected (its body is lost).
    response = client.get("/api/stats/")
    assert response.status_code == 404 and response.is_json
    assert client.get("/feeds/new.atom/").status_code == 404
    assert client.post("/about/").status_code in (404, 405)
    # A path that is no page without its slash either stays a 404 page.
    page(client, "/nowhere/", status=404)


@pytest.mark.parametrize("given", [f"{IOI_ID}.", f"{IOI_ID})", f"{IOI_ID},", f"{IOI_ID}).", f"{IOI_ID}”",
                                   f"{IOI_ID}%20", f"{IOI_ID}V3"])
def test_the_punctuation_a_pasted_link_picks_up_is_dropped(client: FlaskClient, given: str) -> None:
    assert redirected(client, f"/papers/{given}") == f"/papers/{IOI_ID}"
    assert redirected(client, f"/papers/{given}/graph") == f"/papers/{IOI_ID}/graph"
    assert redirected(client, f"/papers/{given}?related=20") == f"/papers/{IOI_ID}?related=20"


def test_a_slug_in_capitals_finds_the_paper_in_lower_case(client: FlaskClient) -> None:
    assert redirected(client, "/papers/Math-Framework") == "/papers/math-framework"
    assert redirected(client, "/papers/MATH-FRAMEWORK.") == "/papers/math-framework"
    # A records-file id with capitals is found as given: the ids ingest makes (arXiv ids, slugs) are lower
    # case, so capitals are read as lower case only, never matched against every stored id's case.
    assert "A lab report" in page(client, f"/papers/{CAPITALS}")
    assert "Paper not found" in page(client, "/papers/mylab-report-7", status=404)
    # Each twin by its own spelling; another spelling of both is the lower-case one's.
    for twin in TWINS:
        assert "Twin" in page(client, f"/papers/{twin}")
    assert redirected(client, "/papers/LAB-PAPER") == "/papers/lab-paper"


def test_a_missing_paper_is_looked_up_without_reading_every_id(
        client: FlaskClient, store: EmbeddedStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """Review: each 404 of an id with letters read every paper id for a match but for case (a random link
    cost a scan of the store); now a few look-ups by id."""
    def every_id() -> list[str]:
        raise AssertionError("every paper id was read for one link")

    monkeypatch.setattr(store, "paper_ids", every_id)
    for given in ("no-such-Slug", "No-Such-Slug).", "2399.99999v2"):
        page(client, f"/papers/{given}", status=404)
        assert client.get(f"/papers/{given}/graph.json").status_code == 404
    assert redirected(client, "/papers/Math-Framework") == "/papers/math-framework"


# -- 2. techniques spelt as typed ------------------------------------------------------------------------
@pytest.mark.parametrize(("given", "target"), [
    ("activation-patching", "activation_patching"),
    ("Activation-Patching", "activation_patching"),
    ("activation%20patching", "activation_patching"),
    ("SAE", "sae"),
    ("Sae", "sae"),
    ("Logit%20Lens", "logit_lens"),
])
def test_a_technique_spelt_as_typed_redirects_to_its_page(
        client: FlaskClient, given: str, target: str) -> None:
    assert redirected(client, f"/techniques/{given}") == f"/techniques/{target}"
    sorted_url = f"/techniques/{target}?sort=centrality"
    assert redirected(client, f"/techniques/{given}?sort=centrality") == sorted_url


def test_an_unknown_technique_is_a_404_with_the_filters_did_you_mean(client: FlaskClient) -> None:
    html = page(client, "/techniques/activaton-patching", status=404)
    assert "/techniques/activation_patching" in alert_links(html)
    assert "did you mean" in unescape(html)
    nothing = page(client, "/techniques/no-such-thing", status=404)
    assert "did you mean" not in nothing and "Browse the taxonomy" in nothing


def test_the_new_page_takes_a_technique_spelt_as_typed(client: FlaskClient) -> None:
    location = redirected(client, "/new?technique=SAE&since=2020-01-01")
    parts = urlsplit(location)
    assert parts.path == "/new" and parse_qs(parts.query) == {"technique": ["sae"], "since": ["2020-01-01"]}
    # The other arguments as given, in their order; url_for's own options are only arguments here.
    assert redirected(client, "/new?since=2020-01-01&technique=probing,Activation-Patching&_anchor=x"
                              "&technique=SAE") == (
        "/new?since=2020-01-01&technique=probing&technique=activation_patching&technique=sae&_anchor=x")
    assert client.get(location).status_code == 200
    # An id that nearly spells one is still the 400 with its "did you mean".
    assert "did you mean" in page(client, "/new?technique=activaton_patching", status=400)


# -- 3. enum values in any case ---------------------------------------------------------------------------
def test_enum_values_are_read_in_any_case(client: FlaskClient) -> None:
    exact = row_ids(page(client, "/search?q=circuits&source=records&mode=keyword"))
    assert exact
    assert row_ids(page(client, "/search?q=circuits&source=Records&mode=Keyword")) == exact
    html = page(client, "/search?q=circuits&source=arXiv&mode=KEYWORD&technique=sae&technique=probing"
                        "&technique_match=All")
    # The form carries the values as spelt: the checked radio.
    checked = [a.get("value") for t, a in Inspector(html).elements
               if t == "input" and a.get("name") == "mode" and "checked" in a]
    assert checked == ["keyword"]
    assert "Unknown" not in html
    # An unknown value stays a clear 400.
    assert "Unknown source" in page(client, "/search?q=circuits&source=arxivv", status=400)
    assert "Unknown mode" in page(client, "/search?q=circuits&mode=Fuzzy", status=400)


# -- 4. a paper no longer stored -------------------------------------------------------------------------
def test_a_missing_papers_page_searches_for_its_slugs_words(client: FlaskClient) -> None:
    html = page(client, "/papers/a-circuit-for-python-docstrings", status=404)
    assert "/search?q=a+circuit+for+python+docstrings" in alert_links(html)


def test_a_missing_arxiv_papers_page_links_its_arxiv_page(client: FlaskClient) -> None:
    links = alert_links(page(client, "/papers/2399.99999v2", status=404))
    assert "https://arxiv.org/abs/2399.99999" in links and "/search" in links


def test_a_missing_papers_text_is_escaped(client: FlaskClient) -> None:
    html = page(client, "/papers/%3Cscript%3Ealert(1)%3C%2Fscript%3E-x", status=404)
    assert "<script>alert" not in html
    assert alert_links(html)[0] == "/search?q=script+alert+1+script+x"
