"""Web UI pages through the Flask test client: status, key content, filters, errors and escaping.

Plumbing tests: the seed corpus is loaded through the real pipeline with the deterministic
HashEmbedder (search quality is tested elsewhere with the real model), plus one hostile paper
whose every text field carries HTML/JS payloads.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape

from api.app import WEB_CSP, create_app
from api.web import _marked_words, highlight
from api.web_format import isolates_as_bdi
from kg.config import load_config
from kg.embedded import EmbeddedStore
from kg.entities import Finding, FindingAbout, ListRow, Paper, PaperBundle, SearchFilters, TechniqueUse
from kg.schema import Label
from kg.store import StoreDamaged, StoreUnavailable
from kg.taxonomy import load_taxonomy
from tests.api.conftest import BrokenStore
from tests.embedders import HashEmbedder
from tests.hostile import HOSTILE_ID, hostile_bundle
from tests.seed_store import taxonomy_store

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
IOI_ID = "2211.00593"  # Interpretability in the Wild (IOI circuit)


def web_hostile_bundle(embedder: HashEmbedder) -> PaperBundle:
    """The hostile paper with alert() payloads and javascript: links."""
    return hostile_bundle(embedder, SCRIPT, IMG, "javascript:alert(1)")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Iterator[EmbeddedStore]:
    """The seed corpus (HashEmbedder) plus the hostile paper, in a real SQLite file."""
    from ingest.pipeline import ingest_records_file

    path = tmp_path_factory.mktemp("web") / "paperkg.sqlite3"
    s = taxonomy_store(path)
    embedder = HashEmbedder()
    summary = ingest_records_file(s, shared_data / "seed_papers.jsonl", embedder=embedder, progress=False)
    assert summary.new == 38
    s.upsert_papers([web_hostile_bundle(embedder)])
    yield s
    s.close()


@pytest.fixture(scope="module")
def app(store: EmbeddedStore) -> Flask:
    """The app over the module's store, with the HashEmbedder for queries."""
    return create_app({"STORE": store, "EMBEDDER": HashEmbedder(), "TESTING": True})


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client."""
    return app.test_client()


def page(client: FlaskClient, url: str, status: int = 200) -> str:
    """GET a page, check its status and return the HTML."""
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code, response.data[:500])
    return response.get_data(as_text=True)


class Inspector(HTMLParser):
    """A real HTML parse of a page: every element with its attributes, and the text."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def assert_inert(html: str) -> Inspector:
    """No script without src, no event-handler or style attribute, no img, no javascript: link."""
    doc = Inspector(html)
    for tag, attrs in doc.elements:
        assert tag not in ("img", "iframe", "object", "embed"), (tag, attrs)
        if tag == "script":
            assert (attrs.get("src") or "").startswith("/static/"), attrs
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name, value)
            assert name != "style", (tag, value)
            if name in ("href", "src", "action"):
                assert not (value or "").strip().lower().startswith("javascript:"), (tag, value)
    return doc


def row_ids(html: str) -> list[str]:
    """Paper ids of the result rows of a page, in order."""
    return re.findall(r'data-paper-row data-paper-id="([^"]+)"', html)


# -- security headers and markup rules -----------------------------------------------------------

PAGES = ["/", "/search?q=circuits", f"/papers/{IOI_ID}", f"/papers/{IOI_ID}/graph", "/techniques",
         "/techniques/activation_patching", "/new", "/for-you", "/about"]


@pytest.mark.parametrize("url", PAGES)
def test_every_page_has_csp_and_no_inline_script(client: FlaskClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"] == WEB_CSP
    assert "script-src 'self'" in WEB_CSP and "unsafe-inline" not in WEB_CSP
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    html = response.get_data(as_text=True)
    doc = assert_inert(html)
    assert any(tag == "script" for tag, _ in doc.elements), "every page loads paperkg.js"
    assert 'href="/feeds/new.atom"' in html


# -- search --------------------------------------------------------------------------------------

def test_home_shows_form_filters_and_intro(client: FlaskClient) -> None:
    html = page(client, "/")
    assert 'action="/search" method="get"' in html
    for mode in ("hybrid", "semantic", "keyword"):
        assert f'name="mode" value="{mode}"' in html
    assert 'value="hybrid" checked' in html
    # Technique picker from the taxonomy tree, with counts; refinements indented under parents.
    nested = r'<option value="activation_patching">(?:&nbsp;)+Activation Patching \(\d+\)</option>'
    assert re.search(nested, html)
    assert re.search(r'<option value="cma">Causal Mediation Analysis \(CMA\) \(\d+ incl. refinements\)', html)
    assert '<option value="findings-and-applications/findings-on-features">' in html
    assert '<option value="arxiv">arXiv</option>' in html
    assert 'data-state="intro"' in html and "39 papers" in html


def test_keyword_search_finds_paper_and_highlights_sentence(client: FlaskClient) -> None:
    html = page(client, "/search?q=indirect+object+identification&mode=keyword")
    ids = row_ids(html)
    assert ids[0] == IOI_ID
    assert "Interpretability in the Wild" in html
    assert re.search(r"<mark>indirect</mark> <mark>object</mark> <mark>identification</mark>", html, re.I)
    assert f'href="https://arxiv.org/abs/{IOI_ID}"' in html
    assert f'href="/papers/{IOI_ID}"' in html
    assert 'value="keyword" checked' in html
    assert 'class="chip' in html


def test_hybrid_and_semantic_modes_return_results(client: FlaskClient) -> None:
    for mode in ("hybrid", "semantic"):
        html = page(client, f"/search?q=induction+heads+in-context+learning&mode={mode}")
        assert len(row_ids(html)) == 10
        assert f"· {mode}" in html


def test_technique_filter_keeps_only_papers_using_it(client: FlaskClient, store: EmbeddedStore) -> None:
    html = page(client, "/search?q=circuits+in+language+models&technique=activation_patching")
    ids = row_ids(html)
    allowed = store.filter_ids(SearchFilters(technique_ids=["activation_patching"]))
    assert ids and set(ids) <= allowed
    assert len(allowed) < 39
    assert '<option value="activation_patching" selected>' in html
    assert "clear filters" in html
    # The filter with an empty query lists every paper that passes it.
    assert set(row_ids(page(client, "/search?technique=activation_patching"))) == allowed


def test_year_and_section_filters(client: FlaskClient, store: EmbeddedStore) -> None:
    ids = row_ids(page(client, "/search?q=neurons&mode=keyword&year_from=2023&year_to=2023"))
    assert ids
    assert {p.year for p in store.get_papers(ids)} == {2023}
    section = "findings-and-applications/findings-on-features"
    ids = row_ids(page(client, f"/search?q=neurons&mode=keyword&section={section}"))
    assert ids and set(ids) <= store.filter_ids(SearchFilters(section_ids=[section]))
    # A heading above sections is a valid filter too: it matches every section under it.
    heading = "findings-and-applications"
    ids = row_ids(page(client, f"/search?section={heading}"))
    assert ids and set(ids) <= store.filter_ids(SearchFilters(section_ids=[heading]))


def test_pagination_and_fragment(client: FlaskClient) -> None:
    first = row_ids(page(client, "/search?q=language+models&mode=semantic"))
    html = page(client, "/search?q=language+models&mode=semantic&page=2")
    second = row_ids(html)
    assert len(first) == 10 and second and not set(first) & set(second)
    assert 'rel="prev"' in html and 'start="11"' in html
    fragment = page(client, "/search?q=language+models&mode=semantic&fragment=1")
    assert fragment.lstrip().startswith('<div id="results"')
    assert "<header" not in fragment and row_ids(fragment) == first


def test_empty_results_say_what_to_do(client: FlaskClient) -> None:
    html = page(client, "/search?q=zqxjv+wqpfk&mode=keyword")
    assert 'data-state="empty"' in html and "No results" in html
    assert "Try semantic or hybrid mode" in html
    html = page(client, "/search?q=zqxjv&mode=keyword&year_from=1990&year_to=1991")
    assert "Remove the year filter" in html


@pytest.mark.parametrize(("query", "message"), [
    ("q=" + "a" * 1001, "the limit is 1000"),
    ("q=" + quote("\u4e2d" * 667), "takes 2001 bytes as UTF-8; the limit is 2000"),
    ("q=heads&year_from=abc", "must be a whole number"),
    ("q=heads&year_from=2024&year_to=2020", "is empty"),
    ("q=heads&technique=no_such_technique", "Unknown technique"),
    ("q=heads&section=no-such-section", "Unknown list section"),
    ("section=findings-and", "Unknown list section"),
    ("q=heads&mode=fuzzy", "Unknown mode"),
    ("q=heads&source=nowhere", "Unknown source"),
    ("q=heads&topic=no_such_topic", "Unknown topic"),
    ("topic=no_such_topic", "Unknown topic"),  # a filter alone is a search too
])
def test_bad_input_gets_clear_400(client: FlaskClient, query: str, message: str) -> None:
    html = page(client, f"/search?{query}", status=400)
    assert 'data-state="error"' in html and message in html
    assert "<form" in html  # the form is still there to fix the input


@pytest.mark.parametrize(("query", "invalid", "names", "hint"), [
    ("q=" + "a" * 1001, ["q"], ["q"], "highlighted field"),
    ("q=heads&year_from=abc", ["f-year-from"], ["year_from"], "highlighted field"),
    ("q=heads&year_from=2024&year_to=2020", ["f-year-from", "f-year-to"], ["year_from", "year_to"],
     "highlighted field"),
    ("q=heads&technique=no_such_technique", ["f-technique"], ["technique"], "highlighted field"),
    ("q=heads&section=no-such-section", ["f-section"], ["section"], "highlighted field"),
    ("q=heads&source=nowhere", ["f-source"], ["source"], "highlighted field"),
    ("q=heads&topic=no_such_topic", ["f-topic"], ["topic"], "highlighted field"),
    ("q=heads&page=0", [], ["page"], "from the first page"),  # not a form field: nothing to highlight
])
def test_bad_input_highlights_the_field_at_fault(client: FlaskClient, query: str, invalid: list[str],
                                                 names: list[str], hint: str) -> None:
    html = page(client, f"/search?{query}", status=400)
    doc = Inspector(html)
    marked = [a.get("id") for _, a in doc.elements if a.get("aria-invalid") == "true"]
    assert marked == invalid  # the hint must point at something actually highlighted
    assert all(a.get("aria-describedby") == "search-error" for _, a in doc.elements if a.get("aria-invalid"))
    assert 'id="search-error"' in html and hint in html
    # The in-place (JavaScript) search gets only the fragment: it names the fields for the script.
    fragment = page(client, f"/search?{query}&fragment=1", status=400)
    fields = re.search(r'data-error-fields="([^"]*)"', fragment)
    assert fields is not None and fields.group(1).split() == names


def test_unknown_mode_marks_the_mode_radios(client: FlaskClient) -> None:
    doc = Inspector(page(client, "/search?q=heads&mode=fuzzy", status=400))
    radios = [a for t, a in doc.elements if t == "input" and a.get("name") == "mode"]
    assert len(radios) == 3 and all(a.get("aria-invalid") == "true" for a in radios)


def test_hybrid_hits_say_whether_the_words_matched(client: FlaskClient) -> None:
    html = page(client, "/search?q=zqxjv+wqpfk")  # gibberish: semantic ranking still fills the page
    assert len(row_ids(html)) == 10
    assert 'data-state="no-word-match"' in html and "may be unrelated" in html
    assert html.count(">no word match</span>") == 10
    assert "ranked by relevance to “<bdi>zqxjv wqpfk</bdi>”" in html
    html = page(client, "/search?q=indirect+object+identification")
    assert 'data-state="no-word-match"' not in html
    first = html.split("data-paper-row")[1]
    assert row_ids(html)[0] == IOI_ID and "word match #1<" in first and re.search(r"cosine -?\d\.\d\d", first)
    html = page(client, "/search?q=indirect+object+identification&mode=keyword")
    assert re.search(r"BM25 \d+\.\d", html.split("data-paper-row")[1])
    assert "with words from “<bdi>indirect object identification</bdi>”" in html
    # A filter alone ranks nothing: newest first, no scores.
    html = page(client, "/search?technique=activation_patching")
    assert "· newest first" in html and "data-why" not in html and "· hybrid" not in html


@pytest.mark.parametrize("q", ["SAE", "SAEs", "AtP", "CMA", "autointerp"])
def test_a_query_read_as_a_technique_is_not_called_unmatched(client: FlaskClient, q: str) -> None:
    """ "None of these papers contains the words you typed" stood above the papers tagged with the
    technique the acronym or alias names (no paper spells "SAE", so keyword search ranks none)."""
    html = page(client, f"/search?q={q}")
    assert 'data-state="using-first"' in html and 'data-state="no-word-match"' not in html


def test_a_hit_holding_an_acronyms_long_form_matches_the_words(tmp_path: Path) -> None:
    """A query read as an acronym ("CMA": "causal mediation analysis") matches the papers that spell
    it out, though no paper is tagged with it; an acronym whose long form no hit holds still warns."""
    embedder = HashEmbedder()

    def bundle(pid: str, title: str, abstract: str) -> PaperBundle:
        vector = embedder.encode_query(f"{title} {abstract}")
        return PaperBundle(Paper(id=pid, title=title, abstract=abstract, authors=["A. Author"],
                                 sources=["records"], year=2024, embedding=vector,
                                 embedding_model=embedder.model_name))

    s = taxonomy_store(tmp_path / "paperkg.sqlite3")
    try:
        s.upsert_papers([bundle("spelt-out", "Heads under the microscope",
                                "We run a causal mediation analysis on attention heads."),
                         bundle("other", "Syntax in toy models", "Small transformers recover syntax trees.")])
        client = create_app({"STORE": s, "EMBEDDER": embedder, "TESTING": True}).test_client()
        html = page(client, "/search?q=CMA")
        assert 'data-state="acronyms">Read CMA as “causal mediation analysis”' in html
        assert 'data-state="using-first"' not in html  # no paper is tagged with it
        assert set(row_ids(html)) == {"spelt-out", "other"} and 'data-state="no-word-match"' not in html
        # The sentence chosen for the long form shows it marked, as typed words are; a word of it alone
        # is not (review: "sae" marked "sparse" in "sparse feature circuits").
        assert "<mark>causal</mark> <mark>mediation</mark> <mark>analysis</mark>" in html
        assert _marked_words("CMA", {"CMA": "causal mediation analysis"}, "An analysis of heads.") == "CMA"
        assert _marked_words("CMA", {"CMA": "causal mediation analysis"}, "A causal mediation analysis.") == (
            "CMA causal mediation analysis")
        html = page(client, "/search?q=ICL")  # read as "in-context learning", which neither paper says
        assert 'data-state="acronyms">Read ICL as' in html and 'data-state="no-word-match"' in html
    finally:
        s.close()


class DownStore:
    """A store whose every call fails as an unreachable Neo4j would."""

    def __getattr__(self, name: str) -> Any:
        def fail(*args: Any, **kwargs: Any) -> Any:
            raise StoreUnavailable("connection refused")

        return fail


def test_store_down_gives_a_readable_503() -> None:
    client = create_app({"STORE": DownStore(), "EMBEDDER": HashEmbedder(), "TESTING": True}).test_client()
    for url in ("/", "/search?q=heads", f"/papers/{IOI_ID}", "/techniques", "/new", "/about"):
        response = client.get(url)
        assert response.status_code == 503, url
        html = response.get_data(as_text=True)
        assert "The graph store is unavailable" in html and "try again in a minute" in html
        assert response.headers["Content-Security-Policy"] == WEB_CSP


def test_missing_model_falls_back_to_a_clear_message(store: EmbeddedStore, tmp_path: Path) -> None:
    config = replace(load_config(), embedding_model=str(tmp_path / "no-model-here"))
    client = create_app({"STORE": store, "PAPERKG_CONFIG": config, "TESTING": True}).test_client()
    html = page(client, "/search?q=induction+heads&mode=semantic")  # semantic needs the model
    assert "Semantic search is unavailable" in html and "Switch the mode to keyword" in html
    assert "no-model-here" not in html and "ModelMissing" not in html  # the server's paths stay in its log
    hybrid = page(client, "/search?q=indirect+object")  # hybrid shows its keyword half, saying so
    assert 'data-state="keyword-only"' in hybrid and IOI_ID in row_ids(hybrid)
    assert "no-model-here" not in hybrid
    assert IOI_ID in row_ids(page(client, "/search?q=indirect+object&mode=keyword"))


class BrokenEmbedder(HashEmbedder):
    """An embedder that fails on every query."""

    def encode_query(self, text: str) -> Any:
        raise RuntimeError("model crashed")


def test_embedder_failure_mid_query_is_explained(store: EmbeddedStore) -> None:
    client = create_app({"STORE": store, "EMBEDDER": BrokenEmbedder(), "TESTING": True}).test_client()
    html = page(client, "/search?q=induction+heads&mode=semantic")
    assert "The search failed unexpectedly (RuntimeError)" in html and "Try keyword mode" in html


# -- paper page ------------------------------------------------------------------------------------

def test_paper_page(client: FlaskClient, store: EmbeddedStore) -> None:
    html = page(client, f"/papers/{IOI_ID}")
    detail = store.get_paper(IOI_ID)
    assert detail is not None
    assert "<h1>" in html and "Interpretability in the Wild" in html
    assert "Kevin Wang" in html and "ICLR 2023" in html
    assert "indirect object identification (IOI)" in html  # abstract
    assert "badge-list" in html and "badge-extracted" in html
    assert 'class="evidence"' in html
    assert "TL;DR" in html and "mean-ablation for activation and path patching" in html
    assert "Faithfulness" in html  # an evaluation
    related = re.search(r'<ol class="papers related">(.*?)</ol>', html, re.S)
    assert related and len(row_ids(related.group(1))) >= 3
    assert 'class="reasons"' in related.group(1)
    assert f'href="/api/papers/{IOI_ID}/bibtex"' in html and "@" in html.split('id="bibtex"')[1][:40]
    assert f'data-star="{IOI_ID}"' in html
    assert f'href="/papers/{IOI_ID}/graph"' in html
    # Every technique shown once even when both the list and extraction claim it.
    names = re.findall(r'<ul class="uses">(.*?)</ul>', html, re.S)[1]
    assert names.count("><bdi>Faithfulness</bdi></a>") == 1


def test_component_and_model_tags_link_to_their_filters(client: FlaskClient, store: EmbeddedStore) -> None:
    """QA: a finding's component tag (Induction head) linked to the text search /search?q=Induction+head,
    ranked by words (Successor Heads above the paper tagged), and a model (GPT-2) to /search?q=GPT-2 (every
    paper ranked) though the model filter gives the papers studying it. Each links to its filter now."""
    detail = store.get_paper("math-framework")
    assert detail is not None
    tagged = {a.id for f in detail.findings for a in f.about if a.label == Label.COMPONENT}
    assert "induction_head" in tagged
    html = page(client, "/papers/math-framework")
    tags = {str(a.get("href")) for t, a in Inspector(html).elements
            if t == "a" and "tag-component" in str(a.get("class"))}
    assert tags == {f"/search?component={c}" for c in tagged}
    listed = row_ids(page(client, "/search?component=induction_head"))
    assert "math-framework" in listed
    assert set(listed) == store.filter_ids(SearchFilters(component_ids=["induction_head"]))
    ioi = store.get_paper(IOI_ID)
    assert ioi is not None and "gpt2" in {m.id for m in ioi.models}
    html = page(client, f"/papers/{IOI_ID}")
    studied = re.search(r"<h2>Models studied</h2>(.*?)</ul>", html, re.S)
    assert studied and '<a href="/search?model=gpt2">GPT-2</a>' in studied.group(1)
    assert "/search?q=GPT-2" not in html and "/search?q=Induction" not in html
    about_models = {a.id for f in ioi.findings for a in f.about if a.label == Label.MODEL}
    model_tags = {str(a.get("href")) for t, a in Inspector(html).elements
                  if t == "a" and "tag-model" in str(a.get("class"))}
    assert model_tags == {f"/search?model={m}" for m in about_models}
    gpt2 = store.filter_ids(SearchFilters(model_ids=["gpt2"]))
    assert set(row_ids(page(client, "/search?model=gpt2"))) == gpt2


def test_unknown_paper_is_a_404_page(client: FlaskClient) -> None:
    html = page(client, "/papers/0000.00000", status=404)
    assert "Paper not found" in html and "0000.00000" in html and "<form" in html
    page(client, "/papers/0000.00000/graph", status=404)
    assert client.get("/papers/0000.00000/graph.json").status_code == 404


@pytest.mark.parametrize("given", [f"{IOI_ID}v3", f"{IOI_ID}V1", f"https://arxiv.org/abs/{IOI_ID}v3",
                                   f"arxiv.org/pdf/{IOI_ID}v2.pdf"])
def test_versioned_arxiv_ids_redirect_to_the_paper(client: FlaskClient, given: str) -> None:
    # Ingest stores papers under the arXiv id without its version: a link with one (or an arXiv
    # URL) is sent to the paper's own URL, permanently.
    for suffix in ("", "/graph", "/graph.json"):
        response = client.get(f"/papers/{given}{suffix}")
        assert response.status_code == 301, (given, suffix)
        assert response.headers["Location"] == f"/papers/{IOI_ID}{suffix}"
    followed = client.get(f"/papers/{given}", follow_redirects=True)
    assert followed.status_code == 200 and "Interpretability in the Wild" in followed.get_data(as_text=True)
    # A version of an id that is not stored stays a 404, with the id as given.
    assert "0000.00000v2" in page(client, "/papers/0000.00000v2", status=404)


def test_unknown_url_gets_the_styled_error_page(client: FlaskClient) -> None:
    response = client.get("/no/such/<page>")
    html = response.get_data(as_text=True)
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert "Not Found" in html and "browse techniques" in html and "<page>" not in html
    assert client.get("/api/no/such/page").is_json and client.get("/api").is_json
    # Only /api itself and paths under /api/ are the API: a page merely starting "/api" is not.
    for url in ("/apiary", "/healthzone", "/readyzz"):
        response = client.get(url)
        assert response.status_code == 404 and response.mimetype == "text/html", url


# -- techniques ------------------------------------------------------------------------------------

def test_taxonomy_page_has_the_figure_bands_with_counts(client: FlaskClient) -> None:
    html = page(client, "/techniques")
    bands = re.findall(r'<h2 id="band-[a-z]+">([^<]+)</h2>', html)
    assert bands == ["Techniques", "Fundamental objects", "Findings", "Evaluation"]
    pattern = r'data-node="activation_patching">Activation Patching</a>\s*<span class="count"[^>]*>[1-9]'
    assert re.search(pattern, html)
    assert 'data-node="faithfulness"' in html and 'data-node="superposition"' in html
    assert 'class="ext"' in html  # an extension outside the figure is marked


def test_technique_page_papers_refinements_cooccurring_chart(
    client: FlaskClient, store: EmbeddedStore
) -> None:
    html = page(client, "/techniques/cma")
    _, total = store.papers_by_technique("cma", limit=1)
    assert f"{total} papers" in html
    assert 'href="/techniques/activation_patching"' in html  # a refinement
    assert "Used together with" in html
    assert re.search(r'<a class="count" href="/search\?technique=cma&amp;technique=\w+&amp;'
                     r'technique_match=all" data-cooccurring-search title="the \d+ papers? with both [^"]*"'
                     r' aria-label="\d+ papers? with both CMA and [^"]+">\d+</a>', html)
    per_year = store.papers_per_year("cma")
    svg = re.search(r"<svg class=\"chart\".*?</svg>", html, re.S)
    assert svg
    span = max(per_year) - min(per_year) + 1
    assert svg.group(0).count("<rect ") == span
    for year, n in per_year.items():
        assert f"<title>{year}: {n} paper" in svg.group(0)
    ids = row_ids(html)
    assert len(ids) == min(total, 20)
    central = row_ids(page(client, "/techniques/cma?sort=centrality"))
    assert sorted(central) == sorted(ids)
    assert 'option value="centrality" selected' in page(client, "/techniques/cma?sort=centrality")


def test_a_tool_in_a_list_of_papers_is_marked_a_tool(client: FlaskClient, store: EmbeddedStore) -> None:
    """Researcher QA: CircuitsVis (the list's tools table) showed as one more paper in technique pages,
    search results and related lists; only its own page said it is a tool."""
    tool = store.get_paper("circuitsvis")
    assert tool is not None and tool.paper.item_type == "tool"
    for url in ("/techniques/visualization", "/search?q=visualization+tool&mode=keyword"):
        html = page(client, url)
        # Up to a row's first </li>: its head (title and badge) comes before any list inside it.
        rows = dict(re.findall(r'<li class="paper" data-paper-row data-paper-id="([^"]*)">(.*?)</li>',
                               html, re.S))
        assert '<span class="badge"' in rows.pop("circuitsvis") and rows, url
        assert not any(">tool</span>" in row for row in rows.values()), url


def test_technique_page_marks_its_own_technique_not_a_search_match(client: FlaskClient) -> None:
    html = page(client, "/techniques/knockout")
    assert 'Knockout<span class="visually-hidden"> (this page&#39;s technique)</span>' in html
    assert "matches your search" not in html  # there is no search on this page


def test_technique_page_newest_first_and_unknown(client: FlaskClient, store: EmbeddedStore) -> None:
    ids = row_ids(page(client, "/techniques/knockout"))
    assert len(ids) >= 3
    dates = [p.published for p in store.get_papers(ids) if p.published]
    assert len(dates) >= 2 and dates == sorted(dates, reverse=True)
    assert "Unknown technique" in page(client, "/techniques/not_a_node", status=404)


def test_technique_page_says_why_each_paper_is_listed(client: FlaskClient, store: EmbeddedStore) -> None:
    html = page(client, "/techniques/cma")
    rows = {pid: chunk for pid, chunk in re.findall(
        r'data-paper-row data-paper-id="([^"]+)"(.*?)</li>\s*(?=<li class="paper"|</ol>)', html, re.S)}
    family = {"cma", "activation_patching", "path_patching", "attribution_patching", "attribution_graph",
              "acdc", "eap"}
    assert rows
    for pid, chunk in rows.items():
        uses = [u for u in store.get_paper(pid).techniques if u.technique_id in family]
        assert uses and 'class="because"' in chunk, pid
        for use in uses:
            badge = "badge-list" if use.source == "list" else "badge-extracted"
            assert badge in chunk, (pid, use)
            if use.technique_id != "cma":  # reached through a refinement: say which one
                assert f'via <a href="/techniques/{use.technique_id}">' in chunk, (pid, use)
            if use.evidence and len(use.evidence) < 200:
                assert str(escape(use.evidence)) in chunk, (pid, use)


def test_technique_page_past_the_last_page(client: FlaskClient, store: EmbeddedStore) -> None:
    _, total = store.papers_by_technique("sae", limit=1)
    assert total > 0
    html = page(client, "/techniques/sae?page=9")
    assert "No papers use" not in html  # the heading says it has papers: the page must agree
    assert 'data-state="past-end"' in html and "past the last page" in html
    assert 'href="?">go to page 1</a>' in html


def test_topic_and_evaluation_pages_list_their_papers(client: FlaskClient, store: EmbeddedStore) -> None:
    html = page(client, "/techniques/faithfulness")
    ids = row_ids(html)
    assert IOI_ID in ids  # the IOI paper evaluates faithfulness
    for pid in ids:
        detail = store.get_paper(pid)
        criteria = {e.evaluation_id for e in detail.evaluations} if detail else set()
        assert criteria & {"faithfulness", "automated_explanation_score"}  # or its refinement
    assert "<svg class=\"chart\"" in html and "Techniques these papers use" in html
    _, total = store.papers_by_technique("faithfulness", limit=1)
    assert f"{total} papers" in html  # every evaluating paper counts, not a scanned sample
    html = page(client, "/techniques/lm_components")
    ids = row_ids(html)
    assert HOSTILE_ID in ids  # its finding is about LM components
    topic_ids = store.filter_ids(SearchFilters(topic_ids=["lm_components"]))
    assert set(ids) <= topic_ids
    assert f"{len(topic_ids)} paper" in html
    central = row_ids(page(client, "/techniques/lm_components?sort=centrality"))
    assert sorted(central) == sorted(ids)


# -- graph -----------------------------------------------------------------------------------------

def test_graph_page_and_json(client: FlaskClient) -> None:
    html = page(client, f"/papers/{IOI_ID}/graph")
    assert "/static/vendor/cytoscape.min.js" in html and "/static/graph.js" in html
    assert f'data-graph-src="/papers/{IOI_ID}/graph.json"' in html
    response = client.get(f"/papers/{IOI_ID}/graph.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    data: dict[str, Any] = response.get_json()
    kinds = {n["kind"] for n in data["nodes"]}
    assert {"center", "technique", "author", "paper"} <= kinds
    ids = {n["id"] for n in data["nodes"]}
    assert data["center"] == f"p:{IOI_ID}" and data["center"] in ids
    assert all(e["source"] in ids and e["target"] in ids for e in data["edges"])
    papers = [n for n in data["nodes"] if n["kind"] == "paper"]
    assert papers and all(n["href"].startswith("/papers/") for n in papers)
    # Every neighbouring paper is linked to something the centre paper has.
    linked = {e["source"] for e in data["edges"]} | {e["target"] for e in data["edges"]}
    assert all(n["id"] in linked for n in papers)


# -- new, for you, about ---------------------------------------------------------------------------

def test_new_page_groups_recent_papers(client: FlaskClient) -> None:
    html = page(client, "/new")
    assert '<link rel="alternate" type="application/atom+xml"' in html
    assert "39 papers added" in html
    groups = re.findall(r'<section class="new-group">\s*<h2>(?:<a [^>]+>)?([^<]+)', html)
    assert "Causal Mediation Analysis (CMA)" in groups or "Knockout" in groups
    assert len(set(row_ids(html))) == 39
    assert "Suggested list rows" in html and 'id="suggested-rows"' in html


def test_new_page_since(client: FlaskClient) -> None:
    html = page(client, "/new?since=2999-01-01")
    assert "Nothing new since 2999-01-01" in html and not row_ids(html)
    html = page(client, "/new?since=yesterday", status=400)
    assert "is not a date" in html


def test_new_page_pages_through_more_papers_than_fit(tmp_path: Path) -> None:
    """105 new papers, 100 a page: the count is of all of them, the page says which it shows, and the
    pager (keeping the date) leads to the other 5; it used to cut the list at 200 without a word."""
    from api.web import NEW_PAGE_SIZE

    s = taxonomy_store(tmp_path / "paperkg.sqlite3")
    try:
        s.upsert_papers([PaperBundle(Paper(id=f"new-{i:03d}", title=f"New paper {i}"))
                         for i in range(NEW_PAGE_SIZE + 5)])
        client = create_app({"STORE": s, "EMBEDDER": HashEmbedder(), "TESTING": True}).test_client()
        first = page(client, "/new?since=2000-01-01")
        assert "105 papers added since 2000-01-01" in first
        assert "Showing 1–100 of 105" in first and "page 1 of 2" in first
        assert 'rel="next" href="?since=2000-01-01&amp;page=2"' in first
        second = page(client, "/new?since=2000-01-01&page=2")
        assert "105 papers added" in second and "Showing 101–105 of 105" in second
        assert 'rel="prev" href="?since=2000-01-01"' in second and 'rel="next"' not in second
        ids = row_ids(first) + row_ids(second)
        assert len(row_ids(first)) == 100 and sorted(ids) == sorted(s.paper_ids())
        past = page(client, "/new?since=2000-01-01&page=3")
        assert "Page 3 is past the last page (2)" in past and not row_ids(past)
        assert "Nothing new" not in past
        bad = page(client, "/new?since=2000-01-01&page=x", status=400)
        assert "The page number must be a whole number" in bad and row_ids(bad) == row_ids(first)
        small = page(client, "/new?since=2999-01-01")
        assert "Showing" not in small and 'class="pager"' not in small
    finally:
        s.close()


def test_new_page_suggests_no_row_for_a_withdrawn_paper(tmp_path: Path) -> None:
    """The suggested rows leave out a paper whose abstract is arXiv's withdrawal notice, and say so
    (the paper itself is still listed as new); before, its notice was a suggested TL;DR."""
    s = taxonomy_store(tmp_path / "paperkg.sqlite3")
    try:
        notice = "This paper has been withdrawn by the authors due to an error."
        s.upsert_papers([
            PaperBundle(Paper(id="2611.66601", arxiv_id="2611.66601", title="Patching a Refusal Circuit",
                              abstract=notice),
                        techniques=[TechniqueUse("activation_patching", "extracted")]),
            PaperBundle(Paper(id="2611.66602", arxiv_id="2611.66602", title="Probes Find Syntax",
                              abstract="We show that linear probes recover syntax."),
                        techniques=[TechniqueUse("probing", "extracted")]),
        ])
        html = page(create_app({"STORE": s, "EMBEDDER": HashEmbedder(), "TESTING": True}).test_client(),
                    "/new?since=2000-01-01")
    finally:
        s.close()
    assert sorted(row_ids(html)) == ["2611.66601", "2611.66602"]
    rows = html[html.index('id="suggested-rows-md"'):]
    assert "Probes Find Syntax" in rows and "Patching a Refusal Circuit" not in rows and notice not in rows
    assert "Left out 1 withdrawn paper" in html
    assert 'href="/papers/2611.66601" data-withdrawn-id="2611.66601"' in html


def test_new_page_says_when_its_suggested_rows_leave_out_older_papers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Five new papers and rows built from the newest 3: the page counts the 2 it did not look at and
    names the command that does (before, the rows stopped at the newest 1,000 without a word)."""
    s = taxonomy_store(tmp_path / "paperkg.sqlite3")
    try:
        for i in range(5):  # one write each, so paper 4 is the newest
            s.upsert_papers([PaperBundle(
                Paper(id=f"2611.7000{i}", arxiv_id=f"2611.7000{i}", title=f"Probes Find Syntax {i}",
                      abstract="We show that linear probes recover syntax."),
                techniques=[TechniqueUse("probing", "extracted")])])
        client = create_app({"STORE": s, "EMBEDDER": HashEmbedder(), "TESTING": True}).test_client()
        monkeypatch.setattr("api.web.SUGGESTED_ROWS_LIMIT", 3)
        cut = page(client, "/new?since=2000-01-01")
        monkeypatch.setattr("api.web.SUGGESTED_ROWS_LIMIT", 4)
        one_left = page(client, "/new?since=2000-01-01")
        monkeypatch.setattr("api.web.SUGGESTED_ROWS_LIMIT", 5)
        whole = page(client, "/new?since=2000-01-01")
    finally:
        s.close()

    def suggested(html: str) -> list[bool]:
        rows = html[html.index('id="suggested-rows-md"'):html.index("</pre>")]
        return [f"Probes Find Syntax {i}" in rows for i in range(5)]

    assert len(row_ids(cut)) == 5  # the papers themselves are all listed
    assert ("Only the 3 newest of the 5 papers added since 2000-01-01 were looked at for rows; "
            "the 2 older ones were not.") in cut
    assert "<code>paperkg export list-rows --since 2000-01-01 --limit 5</code>" in cut
    assert "one per new paper among the 3 newest added since 2000-01-01" in cut
    assert suggested(cut) == [False, False, True, True, True]
    assert "Only the 4 newest of the 5 papers" in one_left and "the older one was not." in one_left
    assert 'data-state="rows-cut"' not in whole and "newest of the" not in whole
    assert suggested(whole) == [True] * 5


def test_new_page_rows_follow_an_edited_taxonomy_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The maintainer edits the PAPERKG_TAXONOMY file (a new technique with its list label, another list
    label for probing), runs `paperkg init` and an ingest: the running server's next New page builds its
    rows from the edited file, the rows `paperkg export list-rows` prints (they came from the file as the
    server first read it, until a restart), and the About page names that file."""
    import html as html_lib

    import yaml
    from click.testing import CliRunner

    from ingest.export_rows import list_rows_markdown
    from kg.cli import main
    from kg.config import PACKAGED_TAXONOMY

    file = tmp_path / "mi.yaml"
    file.write_text(PACKAGED_TAXONOMY.read_text(encoding="utf-8"), encoding="utf-8")
    for name, value in (("PAPERKG_DATA_DIR", str(tmp_path)), ("PAPERKG_TAXONOMY", str(file)),
                        ("PAPERKG_STORE", "embedded")):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("PAPERKG_NEO4J_URI", raising=False)
    assert CliRunner().invoke(main, ["init"]).exit_code == 0
    s = EmbeddedStore(tmp_path / "paperkg.sqlite3")

    def suggested() -> str:
        html = page(client, "/new?since=2000-01-01")
        pre = html.split('id="suggested-rows-md"', 1)[1].split(">", 1)[1].split("</pre>")[0]
        return html_lib.unescape(pre).strip()

    try:
        s.upsert_papers([PaperBundle(Paper(id="2611.80001", arxiv_id="2611.80001", title="Probes Find Syntax",
                                           abstract="We show that linear probes recover syntax."),
                                     techniques=[TechniqueUse("probing", "extracted")])])
        client = create_app({"STORE": s, "EMBEDDER": HashEmbedder(), "TESTING": True,
                             "PAPERKG_CONFIG": load_config()}).test_client()
        assert "| [Probes Find Syntax](https://arxiv.org/pdf/2611.80001) | Probing |" in suggested()
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
        data["techniques"].append({"id": "qa_stitching", "label": "Model stitching",
                                   "aliases": ["model stitching"]})
        labels = data["list_label_map"]["techniques"]
        del labels["Probing"]
        labels.update({"Probe Study": "probing", "Model Stitching": "qa_stitching"})
        file.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
        assert CliRunner().invoke(main, ["init"]).exit_code == 0
        s.upsert_papers([PaperBundle(Paper(id="2611.80002", arxiv_id="2611.80002", title="Stitching Models",
                                           abstract="We stitch two models with a stitching layer."),
                                     techniques=[TechniqueUse("qa_stitching", "extracted")])])
        rows = suggested()
        assert "| [Probes Find Syntax](https://arxiv.org/pdf/2611.80001) | Probe Study |" in rows
        assert "| [Stitching Models](https://arxiv.org/pdf/2611.80002) | Model Stitching |" in rows
        assert rows == list_rows_markdown(s, "2000-01-01", load_taxonomy(file)).strip()
        about = page(client, "/about")
    finally:
        s.close()
    assert "file: <code>mi.yaml</code>" in about and "set by <code>PAPERKG_TAXONOMY</code>" in about
    assert "packaged" not in about and str(tmp_path) not in about  # the server's directories stay private


@pytest.mark.parametrize(("text", "reason"), [
    ("techniques:\n  - id: probing\n\tlabel: Probing\n",
     "taxonomy tax.yaml is not valid YAML at line 3, column 1: found character '\\t' that cannot start any "
     "token"),
    (None, "taxonomy file tax.yaml does not exist (give a YAML file such as kg/taxonomies/mi.yaml, the "
           "packaged MI taxonomy)"),
    ("techniques:\n  - id: probing\n    label: Probing\n    '<script>alert(1)</script>': x\n",
     "tax.yaml: 'probing' (line 2) has the unknown key '<script>alert(1)</script>' at line 4: the keys here "
     "are aliases, ambiguous_aliases, children, id, label, parent and the notes "),
])
def test_new_page_names_an_unreadable_taxonomy_file_and_why(
    store: EmbeddedStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str | None, reason: str
) -> None:
    """QA: "Suggested list rows could not be built (ValueError)." said neither which file nor why. The
    loader's reason is shown, escaped, with the file named as the About page names it (no directory)."""
    file = tmp_path / "tax.yaml"
    if text is not None:
        file.write_text(text, encoding="utf-8")
    monkeypatch.setenv("PAPERKG_TAXONOMY", str(file))
    client = create_app({"STORE": store, "EMBEDDER": HashEmbedder(), "TESTING": True,
                         "PAPERKG_CONFIG": load_config()}).test_client()
    html = page(client, "/new?since=2000-01-01")
    said = ("Suggested list rows could not be built: the taxonomy file tax.yaml (PAPERKG_TAXONOMY) could not "
            f"be read: {reason}")
    assert f'<p class="muted small">{escape(said)}' in html
    assert "<script>alert" not in html and str(tmp_path) not in html and "ValueError" not in html


def test_for_you_page(client: FlaskClient) -> None:
    html = page(client, "/for-you")
    assert 'data-recommend-url="/api/recommend"' in html and "/static/foryou.js" in html
    assert "<noscript>" in html


def test_about_page(client: FlaskClient, store: EmbeddedStore) -> None:
    html = page(client, "/about")
    assert "Dakingrai/awesome-mechanistic-interpretability-lm-papers" in html
    # The seed store is a records file: its metadata is the file's, not arXiv's (test_web_about_sources).
    assert "e603922" in html and "<strong>A records file</strong> (" in html
    # The packaged file by its place in the project: a server's own file is often named mi.yaml too.
    assert "file: <code>kg/taxonomies/mi.yaml</code> (the packaged one)" in html
    run = store.runs(limit=1)[0]
    assert run.finished and run.finished[:10] in html and "succeeded" in html


# -- escaping ----------------------------------------------------------------------------------------

HOSTILE_PAGES = [
    "/", "/search?q=activation+patching+attention+heads", "/search?q=patching&mode=keyword",
    f"/search?q={SCRIPT}", "/search?technique=activation_patching&q=%3Cimg+src%3Dx+onerror%3Dalert(1)%3E",
    f"/papers/{HOSTILE_ID}", f"/papers/{HOSTILE_ID}/graph", "/techniques", "/techniques/activation_patching",
    "/techniques/cma", "/new", "/about", "/for-you",
]


@pytest.mark.parametrize("url", HOSTILE_PAGES)
def test_hostile_text_is_escaped_everywhere(client: FlaskClient, url: str) -> None:
    html = page(client, url)
    assert "<script>alert" not in html and "<img src=x" not in html
    assert_inert(html)


def test_hostile_paper_is_shown_escaped(client: FlaskClient) -> None:
    html = page(client, f"/papers/{HOSTILE_ID}")
    text = "".join(assert_inert(html).text)
    assert SCRIPT in text and IMG in text  # shown to the reader as text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert 'href="#"' in html  # the javascript: URLs became inert
    results = page(client, "/search?q=activation+patching+attention+heads&mode=keyword")
    assert HOSTILE_ID in row_ids(results)
    assert "&lt;script&gt;" in results
    assert HOSTILE_ID in row_ids(page(client, "/techniques/activation_patching"))
    assert HOSTILE_ID in row_ids(page(client, "/new"))


def test_graph_json_keeps_labels_as_text(client: FlaskClient) -> None:
    data = client.get(f"/papers/{HOSTILE_ID}/graph.json").get_json()
    center = next(n for n in data["nodes"] if n["kind"] == "center")
    assert SCRIPT in center["label"]  # plain text: cytoscape draws it on a canvas, never as HTML
    assert client.get(f"/papers/{HOSTILE_ID}/graph.json").headers["X-Content-Type-Options"] == "nosniff"


# -- helpers -------------------------------------------------------------------------------------------

def test_highlight_escapes_before_marking() -> None:
    out = highlight("<b>Induction heads</b> & friends", "induction head")
    assert str(out) == "&lt;b&gt;<mark>Induction</mark> <mark>heads</mark>&lt;/b&gt; &amp; friends"
    assert str(highlight("<script>x</script>", "")) == "&lt;script&gt;x&lt;/script&gt;"
    assert str(highlight("interpretability matters", "interpret")) == "<mark>interpretability</mark> matters"


def test_taxonomy_loaded_while_serving_reaches_the_app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `paperkg init` with a taxonomy that adds a node, run while the server is up: the node's page
    # works at once, and the API accepts it as a filter once the taxonomy cache has expired.
    s = EmbeddedStore(tmp_path / "paperkg.sqlite3")
    try:
        nodes = load_taxonomy().nodes
        s.load_taxonomy(nodes)
        s.upsert_papers([web_hostile_bundle(HashEmbedder())])
        app = create_app({"STORE": s, "EMBEDDER": HashEmbedder(), "TESTING": True,
                          "PAPERKG_CONFIG": load_config(env={"PAPERKG_DATA_DIR": str(tmp_path)})})
        client = app.test_client()
        assert client.get("/api/search?technique=brand_new_probe").status_code == 400
        added = replace(next(n for n in nodes if n.id == "activation_patching"),
                        id="brand_new_probe", name="Brand new probe", parent="activation_patching",
                        aliases=[], ambiguous_aliases=[], kind="extension")
        s.load_taxonomy([*nodes, added])
        html = page(client, "/techniques/brand_new_probe")
        assert "Brand new probe" in html and "Activation Patching" in html  # its parent's crumb
        monkeypatch.setattr("api.app.TAXONOMY_CACHE_SECONDS", 0.0)
        assert client.get("/api/search?technique=brand_new_probe").status_code == 200
    finally:
        s.close()


def test_technique_page_names_only_unambiguous_aliases(client: FlaskClient) -> None:
    """Ambiguous aliases are extraction cues, and one is the parent's own name: not "also called"."""
    html = client.get("/techniques/activation_patching").get_data(as_text=True)
    also = next(line for line in html.splitlines() if "Also called:" in line)
    assert "causal tracing" in also and "interchange intervention" in also
    assert "causal mediation analysis" not in also and "denoising" not in also


def test_an_extension_page_names_its_parent_only_when_it_has_one(client: FlaskClient) -> None:
    """paperkg's own nodes say what they refine; one without a parent does not claim it refines one."""
    tuned = page(client, "/techniques/tuned_lens")
    survey = ('Not in Figure 1 of the survey <a href="https://arxiv.org/abs/2407.02646" '
              'rel="noopener noreferrer">Rai et al. (2024), “A Practical Review of Mechanistic '
              "Interpretability for Transformer-Based Language Models”</a>: paperkg adds it")
    assert survey + " as a refinement of Logit Lens." in tuned
    gradients = page(client, "/techniques/gradient_attribution")
    assert survey + "." in gradients and "refinement of" not in gradients


def test_search_form_filters_by_an_evaluation_criterion(client: FlaskClient, store: EmbeddedStore) -> None:
    """The technique select offers evaluation criteria as the API does; their pages link to it."""
    form = page(client, "/search")
    assert '<optgroup label="Evaluation criteria">' in form and 'value="faithfulness"' in form
    ids = row_ids(page(client, "/search?technique=faithfulness"))
    assert IOI_ID in ids
    for pid in ids:
        detail = store.get_paper(pid)
        criteria = {e.evaluation_id for e in detail.evaluations} if detail else set()
        assert criteria & {"faithfulness", "automated_explanation_score"}  # or its refinement
    assert 'href="/search?technique=faithfulness"' in page(client, "/techniques/faithfulness")


def test_a_criterion_the_query_names_is_shown_on_the_papers_evaluating_it(
        client: FlaskClient, store: EmbeddedStore) -> None:
    """ "faithfulness of circuits": each listed paper evaluating faithfulness shows it as a lit chip."""
    html = page(client, "/search?q=evaluating+the+faithfulness+of+circuits")
    evaluating = store.filter_ids(SearchFilters(technique_ids=["faithfulness"]))
    rows = dict(zip(row_ids(html), html.split("data-paper-row")[1:], strict=True))
    lit = {pid for pid, row in rows.items()
           if re.search(r'class="chip[^"]*chip-on"\s+href="/techniques/faithfulness"', row)}
    assert lit and lit == set(rows) & evaluating


def test_a_title_finding_is_marked_on_the_paper_page(client: FlaskClient) -> None:
    """ "Toy Models of Superposition" is about superposition by its title: the finding says so."""
    html = page(client, "/papers/2209.10652")
    assert re.search(r'<span class="badge badge-title"[^>]*>from the title</span> <span class="finding-text">'
                     r'<bdi>Toy Models of Superposition</bdi></span>', html)


def test_the_results_say_how_an_acronym_was_read(client: FlaskClient) -> None:
    html = page(client, "/search?q=IOI+circuit&mode=semantic")
    assert 'data-state="acronyms">Read IOI as “indirect object identification”' in html
    keyword = page(client, "/search?q=IOI+circuit&mode=keyword")
    assert 'data-state="acronyms"' not in keyword


def test_a_former_id_leads_to_the_paper_that_replaced_it(tmp_path: Path) -> None:
    """A list paper first stored under a title slug, later under its arXiv id: links to the slug
    keep working (the web page redirects permanently, the JSON API answers with the canonical id)."""
    from kg.entities import Paper

    store = taxonomy_store(tmp_path / "paperkg.sqlite3")
    embedder = HashEmbedder()
    title = "A circuit for indirect object identification"
    vector = embedder.encode([title])[0]
    store.upsert_papers([PaperBundle(paper=Paper(id="a-circuit-for-ioi", title=title, embedding=vector))])
    moved = PaperBundle(paper=Paper(id="2211.00593", title=title, arxiv_id="2211.00593", embedding=vector),
                        replaces=["a-circuit-for-ioi"])
    store.upsert_papers([moved])
    client = create_app({"STORE": store, "EMBEDDER": embedder, "TESTING": True}).test_client()
    for suffix in ("", "/graph", "/graph.json"):
        response = client.get(f"/papers/a-circuit-for-ioi{suffix}")
        assert response.status_code == 301 and response.headers["Location"] == f"/papers/2211.00593{suffix}"
    for suffix in ("", "/related"):
        api = client.get(f"/api/papers/a-circuit-for-ioi{suffix}")
        assert api.status_code == 200 and api.get_json()["id"] == "2211.00593", suffix
    assert client.get("/api/papers/a-circuit-for-ioi/bibtex").status_code == 200
    assert client.get("/api/papers/never-stored").status_code == 404
    store.close()



# -- accessibility: headings, names, live regions, text alternatives -------------------------------

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Node:
    """One element of a parsed page: tag, attributes, children and parent."""

    def __init__(self, tag: str, attrs: dict[str, str | None], parent: Node | None) -> None:
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[Node | str] = []

    def text(self) -> str:
        """All the text inside, whitespace collapsed."""
        parts = [c if isinstance(c, str) else c.text() for c in self.children]
        return " ".join("".join(parts).split())

    def find_all(self, test: Any) -> list[Node]:
        """Every element below this one (depth first) for which test(node) is true."""
        found = []
        for child in self.children:
            if isinstance(child, Node):
                found += [child] if test(child) else []
                found += child.find_all(test)
        return found

    def ancestors(self) -> list[Node]:
        """The elements this one sits in, nearest first."""
        out, node = [], self.parent
        while node is not None:
            out.append(node)
            node = node.parent
        return out


class Tree(HTMLParser):
    """A page parsed into Nodes (enough nesting for 'is this button inside the h1')."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {}, None)
        self.at = self.root
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, dict(attrs), self.at)
        self.at.children.append(node)
        if tag not in VOID:
            self.at = node

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.at.children.append(Node(tag, dict(attrs), self.at))

    def handle_endtag(self, tag: str) -> None:
        node: Node | None = self.at
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.at = node.parent

    def handle_data(self, data: str) -> None:
        self.at.children.append(data)


def elements(html: str, tag: str | None = None, **attrs: str | None) -> list[Node]:
    """The elements of a page with this tag (any when None) whose attributes include `attrs`
    (a value of None: the attribute is present with any value; `class_` matches one class)."""
    def test(n: Node) -> bool:
        if tag and n.tag != tag:
            return False
        for name, want in attrs.items():
            if name == "class_":
                if want not in (n.attrs.get("class") or "").split():
                    return False
            elif name.replace("_", "-") not in n.attrs or (
                    want is not None and n.attrs[name.replace("_", "-")] != want):
                return False
        return True
    return Tree(html).root.find_all(test)


@pytest.mark.parametrize("url", ["/", "/search?q=circuits", "/search?q=zzzqqq+xxyyzz&mode=keyword"])
def test_search_page_has_an_h1_and_a_status_line_instead_of_a_live_results_block(
    client: FlaskClient, url: str
) -> None:
    html = page(client, url)
    h1s = elements(html, "h1")
    assert [h.text() for h in h1s] == ["Search papers"]
    assert "visually-hidden" in (h1s[0].attrs.get("class") or "")
    results = elements(html, "div", id="results")
    assert len(results) == 1 and "aria-live" not in results[0].attrs
    status = elements(html, role="status")
    assert len(status) == 1 and "data-search-status" in status[0].attrs
    assert results[0] not in status[0].ancestors()


def test_result_count_is_a_focusable_h2(client: FlaskClient) -> None:
    for url in ("/search?q=circuits", "/search?q=circuits&fragment=1"):
        html = page(client, url)
        counts = elements(html, class_="result-count")
        assert len(counts) == 1
        assert counts[0].tag == "h2" and counts[0].attrs.get("data-state") == "results"
        assert counts[0].attrs.get("tabindex") == "-1"
        assert counts[0].text().startswith(tuple("0123456789")) and "circuits" in counts[0].text()
    fragment = page(client, "/search?q=circuits&fragment=1")
    assert all("aria-live" not in r.attrs for r in elements(fragment, id="results"))


def test_a_result_without_arxiv_links_by_host(client: FlaskClient) -> None:
    html = page(client, "/search?q=logit+lens&mode=keyword")
    row = [r for r in elements(html, "li", data_paper_id="logit-lens")]
    assert row, "the logit lens post is found"
    out = [a for a in row[0].find_all(lambda n: n.tag == "a" and "out" in (n.attrs.get("class") or ""))]
    assert [a.text() for a in out] == ["www.lesswrong.com"]


def test_technique_sort_button_is_always_shown(client: FlaskClient) -> None:
    html = page(client, "/techniques/cma")
    buttons = [b for b in elements(html, "button", type="submit") if b.text() == "Sort"]
    assert len(buttons) == 1
    assert not any(a.tag == "noscript" for a in buttons[0].ancestors())


def test_chart_describes_the_counts_per_year(client: FlaskClient, store: EmbeddedStore) -> None:
    html = page(client, "/techniques/cma")
    svg = elements(html, "svg", class_="chart")[0]
    assert svg.attrs.get("aria-describedby") == "chart-desc"
    desc = svg.find_all(lambda n: n.tag == "desc")
    assert len(desc) == 1 and desc[0].attrs.get("id") == "chart-desc"
    per_year = store.papers_per_year("cma")
    expected = ", ".join(f"{year}: {n}" for year, n in sorted(per_year.items()) if n)
    assert desc[0].text() == expected


def test_headings_hold_no_buttons(client: FlaskClient) -> None:
    paper_html = page(client, f"/papers/{IOI_ID}")
    h1 = elements(paper_html, "h1")
    assert len(h1) == 1 and h1[0].text() == "Interpretability in the Wild: a Circuit for Indirect Object " \
        "Identification in GPT-2 small"
    assert elements(paper_html, "button", data_star=IOI_ID), "the star is still on the page"
    for_you = page(client, "/for-you")
    assert elements(for_you, "button", data_clear_stars=None)
    for html in (paper_html, for_you):
        for heading in elements(html, None):
            if heading.tag in ("h1", "h2", "h3"):
                assert not heading.find_all(lambda n: n.tag == "button"), heading.text()


def test_about_runs_table_scrolls_on_its_own(client: FlaskClient) -> None:
    html = page(client, "/about")
    table = elements(html, "table", class_="runs")
    assert len(table) == 1
    wrapper = table[0].parent
    assert wrapper is not None and "table-scroll" in (wrapper.attrs.get("class") or "").split()
    # A scrolling box is reachable by keyboard and named (by the "Ingest runs" heading).
    assert wrapper.attrs.get("tabindex") == "0" and wrapper.attrs.get("aria-labelledby") == "runs"
    css = page(client, "/static/paperkg.css")
    assert re.search(r"\.table-scroll\s*\{[^}]*overflow-x:\s*auto", css)


def test_graph_page_lists_every_node_kind_as_text(client: FlaskClient) -> None:
    html = page(client, f"/papers/{IOI_ID}/graph")
    data: dict[str, Any] = client.get(f"/papers/{IOI_ID}/graph.json").get_json()
    details = elements(html, "details", class_="graph-list")
    assert len(details) == 1 and "open" in details[0].attrs
    listed = details[0].text()
    for node in data["nodes"]:
        if node["kind"] != "center":
            assert node["label"] in listed, node
    headings = [h.text() for h in details[0].find_all(lambda n: n.tag == "h2")]
    assert "Authors" in headings and "Techniques" in headings
    assert ("Evaluations" in headings) == any(n["kind"] == "evaluation" for n in data["nodes"])
    cy = elements(html, id="cy")[0]
    assert cy.attrs.get("role") == "img" and cy.attrs.get("aria-label") and "tabindex" not in cy.attrs
    # Without JavaScript the empty canvas and the zoom instructions stay hidden (shown only under html.js).
    wrapper = [a for a in cy.ancestors() if "js-only" in (a.attrs.get("class") or "").split()]
    assert wrapper and wrapper[0].find_all(lambda n: "legend" in (n.attrs.get("class") or "").split())
    css = page(client, "/static/paperkg.css")
    assert re.search(r"(^|\n)\.js-only\s*\{\s*display:\s*none", css)
    assert re.search(r"\.js \.js-only\s*\{\s*display:\s*block", css)
    script = page(client, "/static/paperkg.js")
    assert 'document.documentElement.classList.add("js")' in script


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    """The WCAG contrast ratio of two #rrggbb colours."""
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def css_rule(css: str, selector: str, prop: str) -> str:
    """The value of `prop` in the first rule whose selector list is exactly `selector`."""
    match = re.search(r"(?:^|\n|\})\s*" + re.escape(selector) + r"\s*\{([^}]*)\}", css)
    assert match, selector
    value = re.search(r"(?:^|;|\s)" + re.escape(prop) + r":\s*([^;]+)", match.group(1))
    assert value, (selector, prop)
    return value.group(1).strip()


def test_colours_meet_wcag_contrast(client: FlaskClient) -> None:
    css = page(client, "/static/paperkg.css")
    variables = dict(re.findall(r"(--[\w-]+):\s*(#[0-9a-fA-F]{6})", css))

    def colour(value: str) -> str:
        value = value.split()[-1] if value.startswith("1px") else value
        found = re.fullmatch(r"var\((--[\w-]+)\)", value)
        return variables[found.group(1)] if found else value

    white, header = "#ffffff", variables["--bg2"]
    assert contrast(colour(css_rule(css, ".star", "color")), white) >= 4.5  # a text glyph
    star_on = colour(css_rule(css, '.star[aria-pressed="true"], .starred-list .star', "color"))
    assert contrast(star_on, white) >= 4.5 and contrast(variables["--star"], header) >= 4.5
    # Form control borders are the only cue of where a field is (non-text contrast, 3:1).
    field = colour(css_rule(css, "button", "border"))
    assert contrast(field, white) >= 3
    fields = 'input[type="search"], input[type="number"], input[type="date"], select'
    assert contrast(colour(css_rule(css, fields, "border")), white) >= 3
    edge = re.search(r'selector: "edge", style: \{[^}]*"line-color": "(#[0-9a-f]{6})"[^}]*"opacity": 1 \}',
                     page(client, "/static/graph.js"))
    assert edge and contrast(edge.group(1), "#fcfdfe") >= 3
    # Node colours tell the kinds apart on the canvas: each at least 3:1 against it.
    nodes = re.search(r"var COLORS = \{([^}]*)\}", page(client, "/static/graph.js"))
    assert nodes, "graph.js COLORS"
    for kind, value in re.findall(r'(\w+): "(#[0-9a-fA-F]{6})"', nodes.group(1)):
        assert contrast(value, "#fcfdfe") >= 3, kind
    # The sticky header must not cover what a skip link or an in-page jump scrolls to.
    assert css_rule(css, "html", "scroll-padding-top") == "3.5rem"


def test_why_a_result_matched_is_said_in_words(client: FlaskClient) -> None:
    """The chips' highlight is not the only cue: the score line names the technique or criterion
    the query asked for, and a highlighted chip says so to screen readers."""
    html = page(client, "/search?q=logit+lens")
    assert re.search(r'<span class="why-named">uses <bdi>Logit Lens</bdi></span>', html)
    assert re.search(r'chip-on"[^>]*>Logit Lens<span class="visually-hidden"> \(matches your search\)</span>',
                     html)
    criteria = page(client, "/search?q=evaluating+the+faithfulness+of+circuits")
    assert '<span class="why-named">evaluates <bdi>Faithfulness</bdi></span>' in criteria
    plain = page(client, "/search?q=superposition")
    assert "why-named" not in plain and "matches your search" not in plain
    # A component the query names: the rows its list lifted say what they are about; no chip is marked
    # (chips are techniques).
    neurons = page(client, "/search?q=neurons")
    assert '<span class="why-named">about <bdi>Neurons</bdi></span>' in neurons
    assert "matches your search" not in neurons


@pytest.mark.parametrize(("mode", "expected", "absent"), [
    ("hybrid", ["cosine: how close", "word match #: rank among"], ["BM25:"]),
    ("semantic", ["cosine: how close"], ["word match #", "BM25:"]),
    ("keyword", ["BM25: how strongly"], ["cosine:"]),
])
def test_the_score_words_are_explained_in_text(
    client: FlaskClient, mode: str, expected: list[str], absent: list[str]
) -> None:
    """Tooltips cannot be opened by keyboard or touch: the page says what its scores mean."""
    html = page(client, f"/search?q=induction+heads&mode={mode}")
    legend = re.search(r'<p class="muted" data-state="score-legend">(.*?)</p>', html, re.S)
    assert legend, mode
    assert all(e in legend.group(1) for e in expected) and not any(a in legend.group(1) for a in absent)
    assert 'data-state="score-legend"' not in page(client, "/search?technique=probing")  # no query, no scores


def test_the_tagged_first_line_needs_a_tagged_paper(client: FlaskClient, store: EmbeddedStore) -> None:
    """ "Papers tagged Steering vectors come first" was shown though no paper is tagged so."""
    assert not store.filter_ids(SearchFilters(technique_ids=["steering_vector"]))
    html = page(client, "/search?q=steering+vectors")
    assert 'data-state="results"' in html and 'data-state="using-first"' not in html
    assert ('data-state="not-tagged">No paper is tagged <a href="/techniques/steering_vector">Steering '
            "vectors / activation addition</a>; these are the nearest matches") in html
    named = page(client, "/search?q=logit+lens")
    assert ('data-state="using-first">Papers tagged <a href="/techniques/logit_lens">Logit Lens</a> '
            "come first") in named


def test_the_cosine_range_is_said_as_it_is(client: FlaskClient) -> None:
    """Cosines below 0 are shown (an unrelated abstract): the legend and tooltip say -1 to 1."""
    html = page(client, "/search?q=induction+heads")
    legend = re.search(r'<p class="muted" data-state="score-legend">(.*?)</p>', html, re.S)
    assert legend and "(-1 to 1; near 0: unrelated)" in legend.group(1)
    assert "(0 to 1)" not in html
    assert "embedding to the query (-1 to 1; near 0: unrelated)\">cosine " in html


# -- web QA pass: errors in place, kept filters, bidi isolation, pages past the end, ids ---------------

@pytest.mark.parametrize(("error", "heading"), [
    (StoreUnavailable("connection refused"), "The graph store is unavailable."),
    (StoreDamaged("file is not a database"), "The graph store is damaged."),
])
def test_store_error_on_the_in_place_search_is_a_results_fragment(error: Exception, heading: str) -> None:
    """The in-place search swaps in #results only: a whole error page there left the old results shown."""
    app = create_app({"STORE": BrokenStore(error), "EMBEDDER": HashEmbedder(), "TESTING": True})
    client = app.test_client()
    for url in ("/search?q=heads&fragment=1", "/?q=heads&fragment=1"):
        fragment = page(client, url, status=503)
        assert fragment.lstrip().startswith('<div id="results"') and "<header" not in fragment, url
        assert 'data-state="error"' in fragment and heading in fragment
    # A full page load still gets the whole error page.
    full = page(client, "/search?q=heads", status=503)
    assert "<header" in full and heading.rstrip(".") in full


def selected_options(html: str) -> dict[str, list[str]]:
    """The chosen value(s) of each <select> of the page's search form."""
    chosen: dict[str, list[str]] = {}
    current = None
    for tag, attrs in Inspector(html).elements:
        if tag == "select":
            current = attrs.get("name")
            chosen.setdefault(str(current), [])
        elif tag == "option" and current and "selected" in attrs:
            chosen[current].append(str(attrs.get("value")))
    return chosen


def test_a_bad_field_leaves_the_other_filters_chosen(client: FlaskClient) -> None:
    url = "/search?q=lens&technique=probing&source=list&year_from=2025&year_to=2020"
    html = page(client, url, status=400)
    assert selected_options(html) == {"technique": ["probing"], "technique_match": [], "topic": [],
                                      "model": [], "component": [], "section": [], "source": ["list"]}
    doc = Inspector(html)
    marked = [a.get("name") for _, a in doc.elements if a.get("aria-invalid") == "true"]
    assert marked == ["year_from", "year_to"]
    assert 'value="2025"' in html and 'value="2020"' in html and 'value="lens"' in html
    # A bad query (too long) keeps the filters as well, and so does a bad source.
    html = page(client, "/search?q=" + "a" * 1001 + "&technique=probing", status=400)
    assert selected_options(html)["technique"] == ["probing"]
    html = page(client, "/search?q=lens&technique=probing&source=nowhere&year_from=2020", status=400)
    assert selected_options(html) == {"technique": ["probing"], "technique_match": [], "topic": [],
                                      "model": [], "component": [], "section": [], "source": []}
    marked = [a.get("name") for _, a in Inspector(html).elements if a.get("aria-invalid") == "true"]
    assert marked == ["source"]


def test_two_bad_fields_are_both_named_and_marked(client: FlaskClient) -> None:
    html = page(client, "/search?q=lens&mode=fuzzy&source=nowhere", status=400)
    assert "Unknown mode" in html and "Unknown source" in html
    marked = {a.get("name") for _, a in Inspector(html).elements if a.get("aria-invalid") == "true"}
    assert marked == {"mode", "source"}


RLO = "\u202e"


def test_a_right_to_left_override_in_the_query_is_isolated(client: FlaskClient) -> None:
    """U+202E in the query must not reverse the page's text after the echoed query."""
    html = page(client, f"/search?q={quote(RLO)}activation+patching&mode=keyword")
    assert f"<title>\u2068{RLO}activation patching\u2069 — search · paperkg</title>" in html
    assert f"with words from “<bdi>{RLO}activation patching</bdi>”" in html
    html = page(client, f"/search?q={quote(RLO)}zqxjv&mode=keyword")
    assert f"No results for “<bdi>{RLO}zqxjv</bdi>”" in html
    # Echoed wrong values sit between FSI and PDI in the messages, which the page shows as <bdi>.
    for url, text in ((f"/search?q=x&mode={quote(RLO)}fuzzy", "Unknown mode"),
                      (f"/search?q=x&year_from={quote(RLO)}20", "whole number"),
                      (f"/search?q=x&technique={quote(RLO)}nope", "Unknown technique"),
                      (f"/search?q=x&topic={quote(RLO)}nope", "Unknown topic"),
                      (f"/search?q=x&source={quote(RLO)}nope", "Unknown source"),
                      (f"/new?since={quote(RLO)}2024", "is not a date")):
        html = page(client, url, status=400)
        assert text in html and re.search(f"“<bdi>{RLO}[^<]*</bdi>”", html), url
    assert f"<bdi>{RLO}nope</bdi>" in page(client, f"/papers/{RLO}nope", status=404)
    assert f"<bdi>{RLO}nope</bdi>" in page(client, f"/techniques/{RLO}nope", status=404)


def test_the_clear_filters_link_is_always_there_for_the_script(client: FlaskClient) -> None:
    """paperkg.js shows or hides it after an in-place search: it must exist without filters too."""
    links = [a for t, a in Inspector(page(client, "/search?q=heads")).elements if "data-clear-filters" in a]
    assert len(links) == 1 and "hidden" in links[0] and links[0]["href"] == "/search?q=heads"
    links = [a for t, a in Inspector(page(client, "/search?q=heads&mode=keyword&technique=probing")).elements
             if "data-clear-filters" in a]
    assert len(links) == 1 and "hidden" not in links[0]
    assert links[0]["href"] == "/search?q=heads&mode=keyword"


def test_a_search_page_past_the_end_says_so(client: FlaskClient, store: EmbeddedStore) -> None:
    count = len(store.filter_ids(SearchFilters(technique_ids=["probing"])))
    assert 0 < count <= 20
    html = page(client, "/search?technique=probing&page=3")
    assert 'data-state="past-end"' in html and "No results" not in html and "Remove the" not in html
    assert (f"Page 3 is past the last page ({math.ceil(count / 10)}) of the {count} "
            f"paper{'' if count == 1 else 's'}") in html
    assert '<a href="?technique=probing">go to page 1</a>' in html
    first = page(client, "/search?q=circuits")
    total = int(re.search(r'data-state="results" tabindex="-1">(\d+) paper', first).group(1))  # type: ignore[union-attr]
    html = page(client, "/search?q=circuits&page=50")
    assert f"is past the last page ({math.ceil(total / 10)}) of the {total} papers found for" in html
    assert '<a href="?q=circuits">go to page 1</a>' in html and "No results" not in html
    # A search that finds nothing at all still says "No results", with its tips.
    html = page(client, "/search?q=zqxjv+wqpfk&mode=keyword&page=2")
    assert "No results" in html and 'data-state="past-end"' not in html


@pytest.mark.parametrize("given", [IOI_ID, f"{IOI_ID}v3", f"https://arxiv.org/abs/{IOI_ID}v3",
                                   f"arXiv:{IOI_ID}", f"  {IOI_ID}  ", f"https://arxiv.org/pdf/{IOI_ID}",
                                   f"https://arxiv.org/abs/{IOI_ID}?context=cs", f"https://arxiv.org/abs/{IOI_ID}v3#S1",
                                   f"https://browse.arxiv.org/abs/{IOI_ID}"])
def test_searching_an_arxiv_id_goes_to_the_paper(client: FlaskClient, given: str) -> None:
    for extra in ("", "&fragment=1", "&mode=keyword"):
        response = client.get("/search", query_string=f"q={quote_plus(given)}{extra}")
        assert response.status_code == 302, (given, extra)
        assert response.headers["Location"] == f"/papers/{IOI_ID}"
    # The JSON API still searches.
    api = client.get("/api/search", query_string={"q": given})
    assert api.status_code == 200 and "results" in api.get_json()


@pytest.mark.parametrize("query", ["0000.00000", "logit-lens", f"circuits {IOI_ID}",
                                   f"see https://arxiv.org/abs/{IOI_ID}", f"see:arxiv.org/abs/{IOI_ID}",
                                   f"https://example.com/?u=arxiv.org/pdf/{IOI_ID}"])
def test_other_queries_are_searched_not_redirected(client: FlaskClient, store: EmbeddedStore,
                                                   query: str) -> None:
    assert store.get_paper("logit-lens") is not None  # a slug id is searched as words, not opened
    response = client.get("/search", query_string={"q": query})
    assert response.status_code == 200 and 'id="results"' in response.get_data(as_text=True)


@pytest.mark.parametrize("url", ["/search?q=x&year_from=%00", "/search?q=x&year_to=1%002",
                                 "/search?q=x&mode=%00", "/search?q=x&page=%00", "/new?since=%00",
                                 "/search?q=a%00b", "/search?q=a%00b&fragment=1"])
def test_a_nul_in_a_value_is_named_not_echoed(client: FlaskClient, url: str) -> None:
    html = page(client, url, status=400)
    assert "contains a NUL character" in html
    assert "\x00" not in html


def test_an_evaluation_column_alone_starts_without_a_separator(tmp_path: Path) -> None:
    s = taxonomy_store(tmp_path / "paperkg.sqlite3")
    try:
        row = ListRow(section_id="evals", section_title="Evals", section_path=["Evals"],
                      evaluation_text="faithfulness")
        s.upsert_papers([PaperBundle(Paper(id="eval-only", title="Eval only"), list_rows=[row])])
        client = create_app({"STORE": s, "EMBEDDER": HashEmbedder(), "TESTING": True}).test_client()
        html = page(client, "/papers/eval-only")
        line = re.search(r'<p class="muted small">\s*(.*?)</p>', html, re.S)
        assert line is not None and line.group(1).startswith("Evaluation column: <bdi>faithfulness</bdi>")
    finally:
        s.close()


# -- paging past what the pager reaches -----------------------------------------------------------

CAPPED_PAPERS = 7  # with MAX_PAGE 2 and 2 a page, the pager reaches 4 of them


@pytest.fixture
def capped_client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FlaskClient]:
    """Seven probing papers, new since 2000, in a real store; every paginated page shows 2 a page and at
    most 2 pages (the module's constants, read per request), so the totals exceed what the pager reaches
    as 10,000 papers on a technique page do at the real sizes."""
    s = taxonomy_store(tmp_path / "paperkg.sqlite3")
    s.upsert_papers([PaperBundle(Paper(id=f"2501.{i:05d}", arxiv_id=f"2501.{i:05d}", title=f"Probe study {i}",
                                       abstract="We train linear probes on a language model.",
                                       published=f"2025-01-{i + 1:02d}", year=2025),
                                 techniques=[TechniqueUse("probing", "extracted")],
                                 # A finding each, so a topic's page has as many papers as the technique's.
                                 findings=[Finding(id=f"2501.{i:05d}#f", text="Probes find superposition.",
                                                   about=[FindingAbout(Label.TOPIC, "superposition")])])
                     for i in range(CAPPED_PAPERS)])
    for name in ("MAX_PAGE", "PAGE_SIZE", "TECHNIQUE_PAGE_SIZE", "NEW_PAGE_SIZE"):
        monkeypatch.setattr(f"api.web.{name}", 2)
    try:
        yield create_app({"STORE": s, "EMBEDDER": HashEmbedder(), "TESTING": True}).test_client()
    finally:
        s.close()


def follow_pager(client: FlaskClient, url: str) -> list[list[str]]:
    """The row ids of every page the pager leads to from `url`, following "next" until there is none;
    each linked page must open (200) as the page it is linked as, with papers no earlier page showed."""
    path, pages, seen = url.split("?")[0], [], set()
    for number in range(1, 10):
        html = page(client, url)
        ids = row_ids(html)
        assert ids and not seen & set(ids), (url, ids)
        assert re.search(rf"page {number} of \d+<", html), url
        pages.append(ids)
        seen |= set(ids)
        found = re.search(r'rel="next" href="\?([^"]*)"', html)
        if found is None:
            assert number == 1 or f"page {number} of {number}<" in html, url  # the last page says so
            return pages
        url = f"{path}?{found.group(1).replace('&amp;', '&')}"
    raise AssertionError(f"the pager of {path} never ends")


@pytest.mark.parametrize(("url", "note"), [
    ("/techniques/probing", "Only the first 4 of these 7 papers can be paged to"),
    ("/search?technique=probing", "Only the first 4 of these 7 papers can be paged to (newest first)"),
    ("/search?q=probes&mode=keyword", "Only the first 4 of these 7 papers can be paged to: narrow the"),
    ("/new?since=2000-01-01", "Only the newest 4 of these 7 papers can be paged to"),
])
def test_a_total_past_what_the_pager_reaches_is_said_and_every_linked_page_opens(
    capped_client: FlaskClient, monkeypatch: pytest.MonkeyPatch, url: str, note: str
) -> None:
    """The count is of all 7 papers but 2 pages of 2 show 4: the page says so next to the count (it used
    to say "7 papers" and end at "page 2 of 2" without a word), and each page the pager links opens."""
    first = page(capped_client, url)
    assert note in first and first.count('data-state="capped"') == 1
    pages = follow_pager(capped_client, url)
    assert len(pages) == 2
    shown = [pid for ids in pages for pid in ids]
    assert len(shown) == 4 == len(set(shown))
    # With pages enough for all 7 (4 of 2), the note is gone and the pager reaches every paper.
    monkeypatch.setattr("api.web.MAX_PAGE", 4)
    whole = page(capped_client, url)
    assert 'data-state="capped"' not in whole and "can be paged to" not in whole
    assert len({pid for ids in follow_pager(capped_client, url) for pid in ids}) == CAPPED_PAPERS


@pytest.mark.parametrize("url", ["/techniques/probing", "/search?technique=probing",
                                 "/search?q=probes&mode=keyword", "/new?since=2000-01-01"])
def test_a_total_the_pager_reaches_exactly_is_not_said_to_be_capped(
    capped_client: FlaskClient, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    """7 papers, 1 a page and 7 pages: the last page shows the last paper, so no note says some cannot
    be paged to."""
    for name in ("PAGE_SIZE", "TECHNIQUE_PAGE_SIZE", "NEW_PAGE_SIZE"):
        monkeypatch.setattr(f"api.web.{name}", 1)
    monkeypatch.setattr("api.web.MAX_PAGE", CAPPED_PAPERS)
    first = page(capped_client, url)
    assert 'data-state="capped"' not in first and "can be paged to" not in first
    pages = follow_pager(capped_client, url)
    assert len(pages) == CAPPED_PAPERS and len({pid for ids in pages for pid in ids}) == CAPPED_PAPERS


def test_a_technique_page_past_the_pager_is_a_400_not_page_1(capped_client: FlaskClient) -> None:
    """Page 3 when the pager stops at 2 (and a malformed page) is a 400 naming the rule, as on the search
    page; the technique page used to answer 200 with page 1's papers under "page 1 of 4"."""
    first = row_ids(page(capped_client, "/techniques/probing"))
    for given, message in (("3", "The page number must be between 1 and 2"),
                           ("abc", "The page number must be a whole number"),
                           ("0", "The page number must be between 1 and 2")):
        search = page(capped_client, f"/search?technique=probing&page={given}", status=400)
        assert message in search
        html = page(capped_client, f"/techniques/probing?page={given}", status=400)
        assert message in html and 'data-state="error"' in html
        assert not set(row_ids(html)) & set(first) and 'class="pager"' not in html
        assert '<a href="?">Go to page 1</a>' in html and '<a href="?page=2">the last page (2)</a>' in html
        assert "Papers per year" in html  # the rest of the technique page is still there
    # A sort is kept in the links back.
    html = page(capped_client, "/techniques/probing?sort=centrality&page=abc", status=400)
    assert '<a href="?sort=centrality">Go to page 1</a>' in html


# -- topic filter ----------------------------------------------------------------------------------

def topic_select(html: str) -> list[tuple[str, dict[str, str | None]]]:
    """The elements of the search form's topic <select>, from the <label> around it to its end."""
    elements = Inspector(html).elements
    start = next(i for i, (t, a) in enumerate(elements) if t == "select" and a.get("name") == "topic")
    end = next(i for i, (t, _) in enumerate(elements[start + 1:], start + 1)
               if t in ("select", "label", "input"))
    return elements[start:end]


def test_the_form_offers_the_topics_the_topic_filter_takes(client: FlaskClient, store: EmbeddedStore) -> None:
    """Findings topics and fundamental objects (the API's topic filter takes both), with the counts the
    filter finds, in a labelled select beside the technique select."""
    html = page(client, "/search")
    select = topic_select(html)
    assert select[0][1].get("id") == "f-topic"
    assert re.search(r'<label class="f">Topic\s*<select name="topic" id="f-topic"', html)
    groups = [a.get("label") for t, a in select if t == "optgroup"]
    assert groups == ["Findings topics", "Fundamental objects"]
    values = [a.get("value") for t, a in select if t == "option"]
    assert values[0] == "" and {"superposition", "lm_components", "features", "circuits"} <= set(values)
    assert "activation_patching" not in values and "faithfulness" not in values  # the technique select's
    for topic in ("superposition", "features"):
        count = len(store.filter_ids(SearchFilters(topic_ids=[topic])))
        assert re.search(rf'<option value="{topic}">[^<]*\({count}\)</option>', html), topic
    # The technique select comes first and the topic select next, in the tab order as on the page.
    names = list(dict.fromkeys(a.get("name") for t, a in Inspector(html).elements if t == "select"))
    assert names[:3] == ["technique", "technique_match", "topic"]


def test_the_topic_filter_keeps_only_papers_about_the_topic(client: FlaskClient,
                                                            store: EmbeddedStore) -> None:
    """`?topic=` used to be ignored: the page showed every paper ("46 papers") where the API found 4."""
    allowed = store.filter_ids(SearchFilters(topic_ids=["superposition"]))
    assert 0 < len(allowed) < 10
    html = page(client, "/search?q=attention&topic=superposition")
    ids = row_ids(html)
    assert ids and set(ids) <= allowed
    api_total = client.get("/api/search?q=attention&topic=superposition").get_json()["total"]
    assert re.search(rf'data-state="results" tabindex="-1">{api_total} papers? ranked', html)
    assert selected_options(html)["topic"] == ["superposition"]
    assert "· filtered" in html
    # A topic alone lists every paper about it, an object too, and the in-place fragment filters alike.
    assert set(row_ids(page(client, "/search?topic=superposition"))) == allowed
    assert set(row_ids(page(client, "/search?topic=features"))) == store.filter_ids(
        SearchFilters(topic_ids=["features"]))
    fragment = page(client, "/search?q=attention&topic=superposition&fragment=1")
    assert row_ids(fragment) == ids
    # With a technique too, a paper must pass both.
    both = store.filter_ids(SearchFilters(technique_ids=["sae"], topic_ids=["superposition"]))
    assert set(row_ids(page(client, "/search?technique=sae&topic=superposition"))) == both


@pytest.mark.parametrize("topic", ["superposition", "features", "lm_components,superposition", "nope",
                                   "Superposition", "cma", "faithfulness", "gpt2", "induction_head", "%00"])
def test_the_web_form_takes_the_topics_the_api_takes(client: FlaskClient, topic: str) -> None:
    """One rule for both: a topic the API refuses is a 400 on the page, one it takes is searched."""
    api = client.get(f"/api/search?q=heads&topic={topic}").status_code
    web = client.get(f"/search?q=heads&topic={topic}").status_code
    assert web == api and api in (200, 400)
    assert (api == 400) == (topic not in ("superposition", "features", "lm_components,superposition"))


@pytest.mark.parametrize(("query", "field", "words"), [
    ("topic=no_such_topic", "topic", "Unknown topic “\u2068no_such_topic\u2069”: pick one from the list."),
    ("topic=Superposition", "topic",
     "Unknown topic “\u2068Superposition\u2069”: did you mean “superposition”?"),
    ("topic=cma", "topic", "“\u2068cma\u2069” is a technique, not a topic: pick it under Technique."),
    ("topic=faithfulness", "topic",
     "“\u2068faithfulness\u2069” is an evaluation criterion, not a topic: pick it under Technique."),
    ("technique=superposition", "technique",
     "“\u2068superposition\u2069” is a findings topic, not a technique: pick it under Topic."),
    ("technique=features", "technique",
     "“\u2068features\u2069” is a fundamental object, not a technique: pick it under Topic."),
    ("topic=gpt2", "topic", "“\u2068gpt2\u2069” is a model, not a topic: pick it under Model."),
    ("model=sae", "model", "“\u2068sae\u2069” is a technique, not a model: pick it under Technique."),
    ("model=Pythia", "model", "Unknown model “\u2068Pythia\u2069”: did you mean “pythia”?"),
    # What the id nearly spells, or the node of another kind whose name it is (the API's hints).
    ("technique=logit_len", "technique",
     "Unknown technique “\u2068logit_len\u2069”: did you mean “logit_lens”?"),
    ("technique=polysemantic", "technique",
     "“\u2068polysemantic\u2069” names the findings topic “polysemanticity”, not a technique: "
     "pick it under Topic."),
    ("technique=superpositon", "technique",
     "Unknown technique “\u2068superpositon\u2069”: did you mean the findings topic “superposition”? "
     "Pick it under Topic."),
    ("topic=GPT-2", "topic",
     "“\u2068GPT-2\u2069” names the model “gpt2”, not a topic: pick it under Model."),
])
def test_an_id_the_filter_does_not_take_says_which_filter_does(
    client: FlaskClient, query: str, field: str, words: str
) -> None:
    """The API's check (api.params.check_filter_ids), worded for the form."""
    html = page(client, f"/search?q=heads&{query}", status=400)
    assert str(isolates_as_bdi(words)) in html  # the page's <bdi> for the message's isolates
    marked = [a.get("name") for _, a in Inspector(html).elements if a.get("aria-invalid") == "true"]
    assert marked == [field]


def test_the_model_filter_keeps_only_papers_studying_the_model(client: FlaskClient,
                                                                store: EmbeddedStore) -> None:
    """The store's model filter (papers studying a model or reporting a finding about it) in the form:
    a select after the topic one listing the models some paper studies, with the filter's counts."""
    html = page(client, "/search")
    names = list(dict.fromkeys(a.get("name") for t, a in Inspector(html).elements if t == "select"))
    assert names[:4] == ["technique", "technique_match", "topic", "model"]
    pythia = store.filter_ids(SearchFilters(model_ids=["pythia"]))
    gpt2 = store.filter_ids(SearchFilters(model_ids=["gpt2"]))
    assert pythia and len(gpt2) > len(pythia)
    assert re.search(rf'<option value="gpt2">GPT-2 \({len(gpt2)}\)</option>', html)
    assert re.search(rf'<option value="pythia">Pythia \({len(pythia)}\)</option>', html)
    assert '<option value="mistral">' not in html  # no seed paper studies it
    assert set(row_ids(page(client, "/search?model=gpt2"))) == gpt2
    filtered = page(client, "/search?q=heads&model=gpt2")
    assert row_ids(filtered) and set(row_ids(filtered)) <= gpt2
    assert selected_options(filtered)["model"] == ["gpt2"]
    assert "· filtered" in filtered
    assert set(row_ids(page(client, "/search?model=gpt2&topic=lm_components"))) == store.filter_ids(
        SearchFilters(model_ids=["gpt2"], topic_ids=["lm_components"]))
    links = [a for t, a in Inspector(filtered).elements if "data-clear-filters" in a]
    assert len(links) == 1 and "hidden" not in links[0] and links[0]["href"] == "/search?q=heads"
    empty = page(client, "/search?q=zqxjv&mode=keyword&model=pythia")
    assert 'data-state="empty"' in empty and "Remove the model filter" in empty


@pytest.mark.parametrize("model", ["pythia", "gpt2,llama", "GPT-2", "nope", "sae", "superposition", "%00"])
def test_the_web_form_takes_the_models_the_api_takes(client: FlaskClient, model: str) -> None:
    api = client.get(f"/api/search?q=heads&model={model}").status_code
    web = client.get(f"/search?q=heads&model={model}").status_code
    assert web == api and api in (200, 400)
    assert (api == 400) == (model not in ("pythia", "gpt2,llama"))


def test_the_component_filter_keeps_only_papers_with_findings_about_the_component(
    client: FlaskClient, store: EmbeddedStore
) -> None:
    """QA: no page or filter listed the papers about a component (induction heads). The form gets a
    Component select after the Model one: the components some finding is about, sub-components indented
    under their parent, with the filter's counts (a parent's counts its sub-components' papers)."""
    html = page(client, "/search")
    names = list(dict.fromkeys(a.get("name") for t, a in Inspector(html).elements if t == "select"))
    assert names[:5] == ["technique", "technique_match", "topic", "model", "component"]
    heads = store.filter_ids(SearchFilters(component_ids=["induction_head"]))
    attention = store.filter_ids(SearchFilters(component_ids=["mha"]))
    assert heads and heads < attention
    assert re.search(rf'<option value="mha">Multi-head attention \({len(attention)}\)</option>', html)
    indented = "&nbsp;&nbsp;&nbsp;&nbsp;Induction head"
    assert re.search(rf'<option value="induction_head">{indented} \({len(heads)}\)</option>', html)
    assert set(row_ids(page(client, "/search?component=induction_head"))) == heads
    filtered = page(client, "/search?q=heads&component=mha")
    assert row_ids(filtered) and set(row_ids(filtered)) <= attention
    assert selected_options(filtered)["component"] == ["mha"]
    empty = page(client, "/search?q=zqxjv&mode=keyword&component=induction_head")
    assert 'data-state="empty"' in empty and "Remove the component filter" in empty


@pytest.mark.parametrize(("query", "words"), [
    # QA: "it is a component, which no filter takes; search for it by name".
    ("topic=induction_head",
     "“\u2068induction_head\u2069” is a component, not a topic: pick it under Component."),
    ("component=gpt2", "“\u2068gpt2\u2069” is a model, not a component: pick it under Model."),
    ("component=induction_heads",
     "Unknown component “\u2068induction_heads\u2069”: did you mean “induction_head”?"),
])
def test_a_component_id_given_to_another_filter_is_moved_to_the_component_select(
    client: FlaskClient, query: str, words: str
) -> None:
    html = page(client, f"/search?q=heads&{query}", status=400)
    assert str(isolates_as_bdi(words)) in html  # the page's <bdi> for the message's isolates
    fixed = [a["href"] for _, a in Inspector(html).elements if "data-corrected-url" in a]
    assert len(fixed) == 1
    assert page(client, str(fixed[0]))  # the corrected search is a 200


@pytest.mark.parametrize("component", ["induction_head", "mha,ff", "Induction head", "nope", "gpt2", "%00"])
def test_the_web_form_takes_the_components_the_api_takes(client: FlaskClient, component: str) -> None:
    api = client.get(f"/api/search?q=heads&component={component}").status_code
    web = client.get(f"/search?q=heads&component={component}").status_code
    assert web == api and api in (200, 400)
    assert (api == 400) == (component not in ("induction_head", "mha,ff"))


def test_a_bad_field_leaves_the_topic_chosen(client: FlaskClient) -> None:
    html = page(client, "/search?q=lens&topic=superposition&source=nowhere", status=400)
    assert selected_options(html)["topic"] == ["superposition"]
    html = page(client, "/search?q=lens&model=gpt2&source=nowhere", status=400)
    assert selected_options(html)["model"] == ["gpt2"]
    html = page(client, "/search?q=lens&topic=nope&technique=probing", status=400)
    assert selected_options(html) == {"technique": ["probing"], "technique_match": [], "topic": [],
                                      "model": [], "component": [], "section": [], "source": []}
    html = page(client, "/search?q=lens&component=ff&source=nowhere", status=400)
    assert selected_options(html)["component"] == ["ff"]


def test_the_pager_and_the_fragment_keep_the_topic(client: FlaskClient, store: EmbeddedStore) -> None:
    allowed = store.filter_ids(SearchFilters(topic_ids=["lm_components"]))
    assert 10 < len(allowed) <= 20
    for url in ("/search?topic=lm_components", "/search?topic=lm_components&fragment=1"):
        html = page(client, url)
        assert '<a rel="next" href="?topic=lm_components&amp;page=2">' in html, url
    first, second = row_ids(page(client, "/search?topic=lm_components")), row_ids(
        page(client, "/search?topic=lm_components&page=2"))
    assert set(first) | set(second) == allowed and not set(first) & set(second)
    past = page(client, "/search?q=model&topic=lm_components&page=9")
    assert '<a href="?q=model&amp;topic=lm_components">go to page 1</a>' in past


def test_clear_filters_clears_the_topic_and_the_tips_name_it(client: FlaskClient) -> None:
    links = [a for t, a in Inspector(page(client, "/search?q=heads&topic=superposition")).elements
             if "data-clear-filters" in a]
    assert len(links) == 1 and "hidden" not in links[0] and links[0]["href"] == "/search?q=heads"
    html = page(client, "/search?q=zqxjv&mode=keyword&topic=superposition")
    assert 'data-state="empty"' in html and "Remove the topic filter" in html


@pytest.mark.parametrize(("node", "link"), [
    ("superposition", 'href="/search?topic=superposition"'), ("features", 'href="/search?topic=features"'),
    ("activation_patching", 'href="/search?technique=activation_patching"'),
    ("faithfulness", 'href="/search?technique=faithfulness"'),
])
def test_every_node_page_links_a_search_within_it(client: FlaskClient, node: str, link: str) -> None:
    """Topic and object pages had no "Search within…": a topic with more papers than the pager reaches
    had no way to the rest."""
    html = page(client, f"/techniques/{node}")
    assert f"<a {link}>Search within" in html
    assert page(client, link.split('"')[1]).count('data-paper-row') > 0


def test_a_capped_topic_page_links_a_search_within_the_topic(capped_client: FlaskClient) -> None:
    html = page(capped_client, "/techniques/superposition")
    note = re.search(r'<p class="notice" data-state="capped">(.*?)</p>', html, re.S)
    assert note is not None and 'href="/search?topic=superposition">search within' in note.group(1)
    assert "Only the first 4 of these 7 papers" in note.group(1)


def test_several_topics_in_the_url_stay_chosen_in_the_form(client: FlaskClient) -> None:
    """A shared URL with two topics (the API takes both) showed one in the select, and the next submit
    dropped the other (review): the select is then a multiple one with both chosen."""
    doc = Inspector(page(client, "/search?topic=superposition&topic=lm_behavior"))
    selects = [a for t, a in doc.elements if t == "select" and a.get("name") == "topic"]
    assert len(selects) == 1 and "multiple" in selects[0]
    chosen = [a["value"] for t, a in doc.elements if t == "option" and "selected" in a]
    assert {"superposition", "lm_behavior"} <= set(chosen)
    one = Inspector(page(client, "/search?topic=superposition"))
    assert not any("multiple" in a for t, a in one.elements if t == "select")


def test_nested_options_are_indented_with_spaces_browsers_keep(client: FlaskClient) -> None:
    """Plain leading spaces are stripped from an option's text, so grandchildren looked like children. The
    indent is all there is before the name: a glyph ("↳") was spoken with every refinement's name."""
    html = page(client, "/search")
    nested = re.findall(r"<option value=\"[a-z0-9_]+\"[^>]*>((?:&nbsp;)+)[^&]", html)
    assert nested and not re.search(r"<option[^>]*>[^<]*↳", html)
    assert {len(indent) // len("&nbsp;") for indent in nested} >= {4, 8}  # two levels, four spaces each


def test_an_in_place_search_with_every_field_cleared_shows_the_intro(client: FlaskClient) -> None:
    """Deselecting the last topic of a multiple select (or clearing the query) asks for the fragment with
    nothing to search: it needs the intro's counts and examples, and answered 500 (review)."""
    fragment = page(client, "/search?fragment=1")
    full = page(client, "/search")
    assert "papers" in fragment and "Ask a question" in fragment
    intro = re.findall(r'<ul class="examples">(.*?)</ul>', full, re.S)
    assert intro and intro == re.findall(r'<ul class="examples">(.*?)</ul>', fragment, re.S)


# -- withdrawn papers: marked wherever papers are listed, with a notice on their own page -------------
class WithdrawnMarks(HTMLParser):
    """A real HTML parse of a page: the paper rows in order, the Withdrawn badges' text by the row they
    are in (None: outside every row), and the text of the withdrawal notice."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[str] = []
        self.badges: dict[str | None, list[str]] = {}
        self.notice: list[str] = []
        self._row: str | None = None
        self._li_depth = 0
        self._in_badge = self._in_notice = False
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "li":
            if "data-paper-row" in a:
                self._row, self._li_depth = a["data-paper-id"], 0
                self.rows.append(str(a["data-paper-id"]))
            self._li_depth += 1
        if tag == "span" and "badge-withdrawn" in (a.get("class") or "").split():
            assert "data-withdrawn" in a and a.get("title"), a  # the reason, for a pointer too
            self._in_badge = True
            self.badges.setdefault(self._row, []).append("")
        if tag == "p" and a.get("data-state") == "withdrawn-notice":
            self._in_notice = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "li" and self._row is not None:
            self._li_depth -= 1
            if self._li_depth == 0:
                self._row = None
        if tag == "span":
            self._in_badge = False
        if tag == "p":
            self._in_notice = False

    def handle_data(self, data: str) -> None:
        if self._in_badge:
            self.badges[self._row][-1] += data
        if self._in_notice:
            self.notice.append(data)


def test_a_withdrawn_paper_is_marked_wherever_it_is_listed(tmp_path: Path) -> None:
    """Year-of-runs QA: a withdrawn paper (its abstract is arXiv's withdrawal notice) looked like any other
    paper in search results, the New page, technique pages and related lists, and its own page showed
    only the notice as its abstract. Each row of it now has a "Withdrawn" badge (text, with its reason
    as a title), its page a notice by the title; the paper that is not withdrawn has neither."""
    from tests.api.test_json_api import KEPT_ID, WITHDRAWAL_NOTICE, WITHDRAWN_ID, withdrawn_store

    store = withdrawn_store(tmp_path / "paperkg.sqlite3")
    try:
        client = create_app({"STORE": store, "EMBEDDER": HashEmbedder(), "TESTING": True}).test_client()
        for url in ("/search?q=activation+patching+refusal+circuit&mode=keyword",
                    "/search?q=activation+patching+refusal+circuit",
                    "/search?technique=activation_patching", "/search?q=refusal&fragment=1",
                    "/new?since=2000-01-01", "/techniques/activation_patching"):
            marks = WithdrawnMarks(page(client, url))
            assert sorted(marks.rows) == [WITHDRAWN_ID, KEPT_ID], url
            assert marks.badges == {WITHDRAWN_ID: ["Withdrawn"]}, url
            assert not marks.notice, url
        kept = WithdrawnMarks(page(client, f"/papers/{KEPT_ID}"))
        assert kept.rows == [WITHDRAWN_ID] and kept.badges == {WITHDRAWN_ID: ["Withdrawn"]}  # related
        assert not kept.notice
        html = page(client, f"/papers/{WITHDRAWN_ID}")
        own = WithdrawnMarks(html)
        assert own.rows == [KEPT_ID] and own.badges == {None: ["Withdrawn"]}  # in the notice only
        notice = " ".join("".join(own.notice).split())
        assert notice == ("Withdrawn arXiv lists this paper as withdrawn: the abstract below is the "
                          "withdrawal notice; earlier versions remain on arXiv (the version before it: "
                          f"arXiv:{WITHDRAWN_ID}v1).")
        assert f'href="https://arxiv.org/abs/{WITHDRAWN_ID}v1"' in html
        # By the title: after the heading, before the abstract (the notice itself).
        notice_at = html.index('data-state="withdrawn-notice"')
        assert html.index("<h1>") < notice_at < html.index(WITHDRAWAL_NOTICE)
    finally:
        store.close()


def test_the_year_chart_says_which_papers_it_leaves_out(client: FlaskClient, tmp_path: Path) -> None:
    """Analyst QA: /techniques/sae said "127 papers" over a chart whose description summed to 126 (a
    records paper without a year), and nothing said so. A line under the chart now counts the papers
    without a year, and the papers of years before the chart's 40 (which it leaves out too)."""
    from tests.api.test_json_api import records_store

    store = records_store(tmp_path / "paperkg.sqlite3")  # one of its 4 SAE papers has no year
    try:
        sae = create_app({"STORE": store, "EMBEDDER": HashEmbedder(), "TESTING": True}).test_client()

        def shown(html: str) -> tuple[str, str, dict[str, str]]:
            heading = elements(html, "p", data_count=None)[0].text()  # the count line under the h1
            desc = elements(html, "desc", id="chart-desc")[0].text()
            return heading, desc, {str(n.attrs["data-chart-left-out"]): n.text()
                                   for n in elements(html, "p", data_chart_left_out=None)}

        heading, desc, notes = shown(page(sae, "/techniques/sae"))
        assert heading == "4 papers" and desc == "1999: 1, 2023: 1, 2024: 1"
        assert notes == {"undated": "1 paper without a year is not shown."}
        store.upsert_papers([
            PaperBundle(Paper(id=f"sae-{i}", title=f"Sparse autoencoders {i}", year=year,
                              sources=["records"]), techniques=[TechniqueUse("sae", "list")])
            for i, year in enumerate((None, None, 1950, 1980))])
        heading, desc, notes = shown(page(sae, "/techniques/sae"))
        # 1985-2024 is drawn: 1950 and 1980 are before it.
        assert heading == "8 papers" and desc == "1999: 1, 2023: 1, 2024: 1"
        assert notes == {"earlier": "2 papers from before 1985 are not shown.",
                         "undated": "3 papers without a year are not shown."}
    finally:
        store.close()
    html = page(client, "/techniques/cma")  # every paper of the seed corpus has a year
    assert elements(html, "svg", class_="chart") and not elements(html, data_chart_left_out=None)
    assert "without a year" not in html


def _match_store(path: Path) -> EmbeddedStore:
    """13 papers using SAEs and probing (one by a refinement of SAEs, a transcoder), 5 using SAEs alone and
    one using activation patching alone: more papers using both than one page shows."""
    embedder = HashEmbedder()
    store = taxonomy_store(path)

    def bundle(pid: str, techniques: tuple[str, ...], day: int) -> PaperBundle:
        title = f"Features of language models {pid}"
        return PaperBundle(Paper(id=pid, title=title, abstract="We study features.", year=2024,
                                 published=f"2024-01-{day:02d}", sources=["records"],
                                 embedding=embedder.encode_query(title), embedding_model=embedder.model_name),
                           techniques=[TechniqueUse(t, "list") for t in techniques])

    store.upsert_papers(
        [bundle(f"both-{i:02d}", ("transcoder" if i == 0 else "sae", "probing"), i + 1) for i in range(13)]
        + [bundle(f"sae-{i}", ("sae",), 20 + i) for i in range(5)]
        + [bundle("patching", ("activation_patching",), 28)])
    return store


def test_the_technique_match_control_round_trips(tmp_path: Path) -> None:
    """Several techniques chosen: a "Papers using any/all of these techniques" select in the form (no script
    needed: it is a field of the GET form), kept in the pager's links, the in-place search's fragment and the
    page it leads to; "any" is the empty value, left out of links like the other selects' "any"."""
    store = _match_store(tmp_path / "paperkg.sqlite3")
    try:
        client = create_app({"STORE": store, "EMBEDDER": HashEmbedder(), "TESTING": True}).test_client()
        both = {f"both-{i:02d}" for i in range(13)}
        asked = "technique=sae&technique=probing"

        def total(html: str) -> int:
            found = re.search(r'data-state="results" tabindex="-1">(\d+) paper', html)
            assert found is not None
            return int(found.group(1))

        for search in ("", "&q=features+of+language+models", "&q=features&mode=keyword"):
            html = page(client, f"/search?{asked}&technique_match=all{search}")
            start = html.index('<form class="search"')
            form = html[start:html.index("</form>", start)]
            assert ('<select name="technique_match" id="f-technique-match">' in form
                    and '<option value="">any of these techniques</option>' in form), search
            assert selected_options(html)["technique_match"] == ["all"]
            assert total(html) == 13 and set(row_ids(html)) < both, search
            pager = [a for t, a in Inspector(html).elements if t == "a" and a.get("rel") == "next"]
            assert len(pager) == 1 and "technique_match=all" in str(pager[0]["href"]), search
            second = page(client, f"/search{pager[0]['href']}")
            assert set(row_ids(html)) | set(row_ids(second)) == both, search
            assert selected_options(second)["technique_match"] == ["all"]
            # The in-place search: the fragment's pager keeps it too.
            fragment = page(client, f"/search?{asked}&technique_match=all{search}&fragment=1")
            assert re.search(r'rel="next" href="\?[^"]*technique_match=all', fragment), search
        # Any (the default, or the form's empty value): the union, and no technique_match in links.
        for given in ("", "&technique_match=", "&technique_match=any"):
            html = page(client, f"/search?{asked}{given}")
            assert total(html) == 18 and selected_options(html)["technique_match"] == [], given
            assert "technique_match" not in html[html.index('id="results"'):], given
        # One technique: the control would change nothing; it is hidden and not sent (disabled) until
        # paperkg.js sees a second technique picked.
        html = page(client, "/search?technique=sae")
        assert re.search(r'<label class="f" data-technique-match hidden>Papers using\s*'
                         r'<select name="technique_match" id="f-technique-match" disabled>', html)
        assert "technique_match" not in html[html.index('id="results"'):]
        # No paper uses both: the tips say what to try.
        html = page(client, "/search?technique=probing&technique=activation_patching&technique_match=all")
        assert "No results" in html and "Ask for papers using any of the techniques, not all of them." in html
        # A value of neither kind: a 400 naming it, the control marked, the other filters kept.
        for bad, said in (("every", "Unknown technique match “<bdi>every</bdi>”"),
                          ("%00", "contains a NUL character")):
            html = page(client, f"/search?technique=sae&technique_match={bad}", status=400)
            assert said in html and "\x00" not in html
            marked = [a.get("id") for _, a in Inspector(html).elements if a.get("aria-invalid") == "true"]
            assert marked == ["f-technique-match"] and selected_options(html)["technique"] == ["sae"]
            fragment = page(client, f"/search?technique=sae&technique_match={bad}&fragment=1", status=400)
            assert 'data-error-fields="technique_match"' in fragment
    finally:
        store.close()


def test_a_paper_page_names_its_former_ids_for_the_stars(tmp_path: Path) -> None:
    """A star saved under a slug the paper had is its star: the page names its former ids, so paperkg.js
    maps them in the browser, without sending the reading list to the server on every paper view."""
    store = taxonomy_store(tmp_path / "paperkg.sqlite3")
    try:
        embedder = HashEmbedder()

        def bundle(pid: str, **kw: Any) -> PaperBundle:
            title = "A Mathematical Framework for Transformer Circuits"
            return PaperBundle(Paper(id=pid, title=title, embedding=embedder.encode_query(title), **kw))

        store.upsert_papers([bundle("math-framework")])
        moved = bundle("2112.99999", arxiv_id="2112.99999")
        moved.replaces = ["math-framework"]
        store.upsert_papers([moved])
        client = create_app({"TESTING": True, "STORE": store, "EMBEDDER": embedder,
                             "PAPERKG_CONFIG": load_config(env={"PAPERKG_DATA_DIR": str(tmp_path)})}
                            ).test_client()
        html = page(client, "/papers/2112.99999")
        assert """<div class="title-row" data-former-ids='["math-framework"]'>""" in html
        assert "/api/resolve" not in html
    finally:
        store.close()


def test_a_query_of_invisible_characters_is_the_page_for_no_query(client: FlaskClient) -> None:
    """Non-English QA: "?q=<zero-width space>" ran a search over nothing visible (the API says 400)."""
    for q in ("%E2%80%8B", "%CC%81", "%C2%AD"):
        html = page(client, f"/search?q={q}")
        assert 'data-state="intro"' in html and "No results" not in html


def test_full_width_and_spaced_queries_are_marked_as_search_read_them(client: FlaskClient) -> None:
    """Non-English QA: "ＩＯＩ" (as a Japanese input method types it) and "indirect  object" (two
    spaces) were searched as read, but the snippet marked nothing."""
    html = page(client, "/search?q=%EF%BD%89%EF%BD%8E%EF%BD%84%EF%BD%89%EF%BD%92%EF%BD%85%EF%BD%83%EF%BD%94"
                        "+object%C2%A0%C2%A0identification&mode=keyword")
    assert row_ids(html)[0] == IOI_ID
    assert re.search(r"<mark>indirect</mark> <mark>object</mark> <mark>identification</mark>", html, re.I)


def test_about_shows_a_runs_listed_counts_as_text(tmp_path: Path) -> None:
    """A weekly run's empty_queries and a run's possible_duplicates read "1, 3", not Python's "[1, 3]"."""
    s = taxonomy_store(tmp_path / "paperkg.sqlite3")
    try:
        run = s.start_run("arxiv-weekly")
        s.finish_run(run.id, "succeeded", {"new": 2, "empty_queries": [1, 3],
                                           "possible_duplicates": ["2611.10005", "2611.10006"]})
        html = page(create_app({"STORE": s, "EMBEDDER": HashEmbedder(), "TESTING": True}).test_client(),
                    "/about")
    finally:
        s.close()
    assert "new 2, empty_queries 1, 3, possible_duplicates 2611.10005, 2611.10006" in html
    assert "[" not in html.split('class="runs"')[1].split("</table>")[0]


def test_a_chosen_model_or_component_no_paper_has_stays_chosen_with_0(client: FlaskClient) -> None:
    """Novelty-reviewer QA: /search?component=rs (no finding is about the residual stream) showed the
    select at "any", so resubmitting the form dropped the filter; models alike."""
    html = page(client, "/search?q=steering&model=mistral&component=rs")
    assert selected_options(html)["model"] == ["mistral"] and selected_options(html)["component"] == ["rs"]
    assert re.search(r'<option value="mistral" selected>Mistral \(0\)</option>', html)
    assert re.search(r'<option value="rs" selected>Residual stream \(0\)</option>', html)
    # Not chosen, a node no paper has is no option (the cached options are left as they were).
    assert 'value="mistral"' not in page(client, "/search?q=steering")


def test_new_page_lists_a_paper_under_each_of_its_techniques_groups(client: FlaskClient,
                                                                   store: EmbeddedStore) -> None:
    """Weekly-reader QA: a new paper using activation patching and an SAE was only in the SAE group (where
    most of its techniques were), so a reader of the Causal Mediation Analysis group never saw it."""
    from api.web import _root_technique
    from kg.explain import Labels

    html = page(client, "/new")
    sections = html.split('<section class="new-group">')[1:]
    where: dict[str, set[str]] = {}
    for section in sections:
        name = re.match(r"\s*<h2>(?:<a [^>]+>)?([^<]+)", section).group(1).strip()  # type: ignore[union-attr]
        for pid in row_ids(section):
            where.setdefault(pid, set()).add(name)
    labels = Labels(store.taxonomy_nodes())
    profiles = store.paper_profiles(list(where))
    spanning = 0
    for pid, groups in where.items():
        roots = {labels.name(_root_technique(t, labels))
                 for t in labels.of_label(profiles.get(pid, set()), Label.TECHNIQUE)}
        assert groups == (roots or {"No technique identified yet"}), pid
        spanning += len(roots) > 1
    assert spanning  # the seed store has papers whose techniques have different top-level techniques
    assert "39 papers added" in html  # counted once each, and the page says why rows repeat
    assert f"A paper whose techniques belong to several groups is listed in each ({spanning} here)." in html


def test_an_empty_filtered_page_says_which_filter_emptied_it(client: FlaskClient) -> None:
    """Novelty-reviewer QA: the page gave fixed tips ("Remove the model filter ...") without saying which
    filter left nothing, or how near each came alone."""
    together = page(client, "/search?technique=attribution_patching&model=pythia&component=induction_head")
    assert re.search(r'data-state="filter-counts">Each filter alone passes papers \(technique Attribution '
                     r"Patching: 1 paper; model Pythia: \d+ papers?; component Induction head: \d+ papers\), "
                     r"but no paper passes them all\.", together)
    nothing = page(client, "/search?model=mistral&component=induction_head")
    assert 'data-state="filter-counts">No paper passes the filter model Mistral.' in nothing
    words = page(client, "/search?q=zqxjvw&mode=keyword&model=gpt2")
    assert re.search(r'data-state="filter-counts">\d+ papers pass the filters, but none has the words', words)
    assert 'data-state="filter-counts"' not in page(client, "/search?q=zqxjvw&mode=keyword")


def test_a_filtered_search_row_says_why_the_filter_let_it_in(client: FlaskClient) -> None:
    """Novelty-reviewer QA: /search?technique=attribution_patching showed Sparse Feature Circuits with an
    unmarked "Attribution graphs" chip and nothing saying it came in through that refinement, from where,
    or on what evidence (the technique page says all three)."""
    html = page(client, "/search?technique=attribution_patching")
    sfc = html.split('data-paper-id="2403.19647"')[1].split("</li>\n")[0]
    assert 'aria-label="Why this paper is listed here"' in sfc
    assert 'via <a href="/techniques/attribution_graph">Attribution graphs / circuit tracing</a>' in sfc
    assert "badge-extracted" in sfc and '<q class="evidence-inline"' in sfc
    assert re.search(r'chip-on"\s+href="/techniques/attribution_graph"', html)
    topic = page(client, "/search?topic=superposition&q=features")
    assert 'aria-label="Why this paper is listed here"' in topic
    assert 'aria-label="Why this paper is listed here"' not in page(client, "/search?q=superposition")


def test_an_unknown_technique_page_names_the_kinds_the_api_names(client: FlaskClient) -> None:
    """Re-tester QA: the page said "No technique, evaluation or topic has the id", leaving out the objects
    it serves too, which the API's 404 names."""
    html = page(client, "/techniques/nope", status=404)
    assert "<h1>Unknown technique</h1>" in html
    assert "No technique, evaluation, topic or object has the id “<bdi>nope</bdi>”" in html
    api = client.get("/api/techniques/nope").get_json()["error"]["message"]
    assert "no technique, evaluation, topic or object has the id 'nope'" in api
