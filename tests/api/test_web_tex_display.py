"""Web pages show a paper's stored text as a reader reads it: TeX as arXiv sends it ("\\textit{x}",
"$\\sim$70%", "G\\"odel") converted once (api.web_format.display), then escaped as any text; and a
paper's own page names every author.

A real SQLite store: the seed corpus through the real ingest pipeline (HashEmbedder), a records file
with a TeX title, authors and abstract, and the hostile paper (tests/hostile.py) whose payloads are
spelt in TeX, so that only the conversion turns them into "<script>"."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote_plus

import pytest
from flask.testing import FlaskClient

from api.app import create_app
from kg.embedded import EmbeddedStore
from tests.api.test_web import Inspector, assert_inert, page, row_ids
from tests.embedders import HashEmbedder
from tests.hostile import HOSTILE_ID, hostile_bundle
from tests.seed_store import taxonomy_store

TEX_ID = "tex-title-paper"
TEX_TITLE = r"Sparse Dictionaries with $\ell_1$ Penalties: \textit{Monosemantic} Features in {GPT}-2"
TEX_TITLE_SHOWN = "Sparse Dictionaries with ℓ₁ Penalties: Monosemantic Features in GPT-2"
TEX_ABSTRACT = (r"We find that $\ell_1$-penalised sparse autoencoders with $2^{14}$ latents recover "
                r"``monosemantic'' features in GPT-2 small~\cite{x}. Activation patching on "
                r"\emph{attention heads} confirms the features are causal.")
# The hostile paper's payloads, spelt in TeX: the conversion makes them HTML, which must stay text.
TEX_SCRIPT = r"\textless{}script\textgreater{}alert(1)\textless{}/script\textgreater{}"
TEX_IMG = r"\textless{}img src=x onerror=alert(1)\textgreater{}"
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
MONO_ID = "towards-monosemanticity"  # 25 authors in the seed corpus
TEX_SIGNS = ("\\textit", "\\emph", "\\cite", "$\\sim$", "$\\ell", "``", "''", "{GPT}", '\\"o')


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Iterator[EmbeddedStore]:
    """The seed corpus, the TeX paper (both through the ingest pipeline) and the TeX-spelt hostile paper."""
    from ingest.pipeline import ingest_records_file

    tmp = tmp_path_factory.mktemp("tex-display")
    s = taxonomy_store(tmp / "paperkg.sqlite3")
    embedder = HashEmbedder()
    ingest_records_file(s, shared_data / "seed_papers.jsonl", embedder=embedder, progress=False)
    records = tmp / "tex.jsonl"
    records.write_text(json.dumps({
        "id": TEX_ID, "title": TEX_TITLE, "authors": ["Kurt G\\\"odel", "Zoë Ångström"], "year": 2024,
        "published": "2024-03-01", "abstract": TEX_ABSTRACT, "url": "https://example.org/tex"}) + "\n",
        encoding="utf-8")
    summary = ingest_records_file(s, records, embedder=embedder, progress=False)
    assert summary.new == 1
    s.upsert_papers([hostile_bundle(embedder, TEX_SCRIPT, TEX_IMG, "javascript:alert(1)")])
    yield s
    s.close()


@pytest.fixture(scope="module")
def client(store: EmbeddedStore) -> FlaskClient:
    """A test client of the app on the module's store."""
    return create_app({"STORE": store, "EMBEDDER": HashEmbedder(), "TESTING": True}).test_client()


def without_bibtex(html: str) -> str:
    """The page less its <pre> blocks: the BibTeX (on screen and in the print copy) and the New page's
    awesome-list rows are text to copy into TeX and markdown files, TeX on purpose."""
    return re.sub(r"<pre\b[^>]*>.*?</pre>", "", html, flags=re.S)


def visible_text(html: str) -> str:
    """The text a reader sees (entities decoded), BibTeX left out."""
    return "".join(Inspector(without_bibtex(html)).text)


def element_text(html: str, pattern: str) -> str:
    """The decoded text inside the first match of `pattern` (a regex with one group)."""
    found = re.search(pattern, html, re.S)
    assert found, pattern
    return "".join(Inspector(found.group(1)).text)


# -- every author on the paper's own page ------------------------------------------------------------

def test_a_papers_page_names_every_author_and_lists_still_cut_them(
        client: FlaskClient, store: EmbeddedStore) -> None:
    detail = store.get_paper(MONO_ID)
    assert detail is not None and len(detail.paper.authors) == 25
    html = without_bibtex(page(client, f"/papers/{MONO_ID}"))
    header = element_text(html, r'<header class="paper-header">(.*?)</header>')
    for name in detail.paper.authors:
        assert name in header, name
    shown = element_text(html, r'<p class="paper-meta paper-authors" data-authors>(.*?)</p>')
    assert shown.endswith(", Christopher Olah")  # the last author, outside the BibTeX
    assert "et al." not in header
    assert "2023" in header and "Transformer Circuits Thread" in header  # the facts line stays
    # Each name in its own <bdi>, as in the rows (a right-to-left name must not reorder the others).
    authors = re.search(r"data-authors>(.*?)</p>", html, re.S)
    assert authors and len(re.findall(r"<bdi>", authors.group(1))) == 25
    # A list of papers still shows four and the count.
    rows = page(client, "/search?mode=keyword&q=" + quote_plus("Towards Monosemanticity dictionary learning"))
    assert MONO_ID in row_ids(rows)
    row = re.search(rf'data-paper-id="{MONO_ID}">(.*?)</li>', rows, re.S)
    assert row and "et al. (25)" in row.group(1) and "Christopher Olah" not in row.group(1)


# -- TeX shown as text ---------------------------------------------------------------------------------

def test_the_seed_corpus_tex_reads_as_text_on_paper_pages(client: FlaskClient) -> None:
    grokking = visible_text(page(client, "/papers/2301.05217"))
    assert "find continuous progress measures that underlie" in grokking
    assert "phenomenon of “grokking” exhibited" in grokking
    heads = page(client, "/papers/2212.09095")
    findings = element_text(heads, r'<ul class="findings">(.*?)</ul>')
    assert "∼70% of attention heads and ∼20% of feed forward networks can be removed" in findings
    assert "∼70% of attention heads" in element_text(heads, r'<p class="abstract">(.*?)</p>')
    for html in (grokking, visible_text(heads)):
        for sign in TEX_SIGNS:
            assert sign not in html, sign


def test_a_tex_title_author_abstract_and_evidence_read_as_text(client: FlaskClient) -> None:
    html = page(client, f"/papers/{TEX_ID}")
    shown = visible_text(html)
    for sign in TEX_SIGNS:
        assert sign not in shown, sign
    assert element_text(html, r"<h1>(.*?)</h1>") == TEX_TITLE_SHOWN
    assert element_text(html, r"<title>(.*?)</title>").startswith(f"\u2068{TEX_TITLE_SHOWN}\u2069")
    doc = Inspector(html)
    star = next(attrs for tag, attrs in doc.elements if tag == "button" and attrs.get("data-star") == TEX_ID)
    assert star["data-title"] == TEX_TITLE_SHOWN and star["aria-label"] == f"Star: {TEX_TITLE_SHOWN}"
    assert element_text(html, r"data-authors>(.*?)</p>") == "Kurt Gödel, Zoë Ångström"
    assert element_text(html, r'<p class="abstract">(.*?)</p>').startswith(
        "We find that ℓ₁-penalised sparse autoencoders with 2¹⁴ latents recover “monosemantic” features "
        "in GPT-2 small. Activation patching on attention heads confirms")
    # Evidence quotes (text and tooltip) and findings are the abstract's sentences as shown.
    quotes = [attrs["title"] or "" for tag, attrs in doc.elements if tag == "q"]
    assert quotes and all("\\" not in q and "$" not in q for q in quotes), quotes
    assert any("attention heads" in q for q in quotes), quotes
    findings = element_text(html, r'<ul class="findings">(.*?)</ul>')
    assert "ℓ₁-penalised" in findings and "\\" not in findings
    # The BibTeX keeps reading the TeX itself (kg.tex.plain_text, unchanged): its title is braced TeX.
    assert "Monosemantic" in element_text(html, r'<pre id="bibtex">(.*?)</pre>')


def test_tex_titles_read_as_text_in_rows_and_other_pages(client: FlaskClient) -> None:
    pages = [
        page(client, "/search?mode=keyword&q=" + quote_plus("sparse dictionaries penalties monosemantic")),
        page(client, f"/papers/{TEX_ID}/graph"),
        page(client, "/new?since=2000-01-01"),
        page(client, "/techniques/activation_patching"),
    ]
    assert TEX_ID in row_ids(pages[0]) and TEX_ID in row_ids(pages[2])
    for html in pages:
        text = visible_text(html)
        assert "$\\ell_1$" not in text and "\\textit" not in text and 'G\\"odel' not in text
    row = re.search(rf'data-paper-id="{TEX_ID}">(.*?)</li>', pages[0], re.S)
    assert row
    assert element_text(row.group(1), r'data-row-link>(.*?)</a>') == TEX_TITLE_SHOWN
    assert "Kurt Gödel" in element_text(row.group(1), r'<span class="authors">(.*?)</span>')
    assert f"Neighbourhood of “{TEX_TITLE_SHOWN}”" in visible_text(pages[1])


def test_search_marks_land_on_the_shown_words(client: FlaskClient) -> None:
    # The snippet is converted before its words are marked: a mark on the stored text would wrap
    # "``grokking''" and "\textit{progress measures}", TeX and all.
    for query, marked in (
        ("continuous progress measures underlie discontinuous changes",
         "find <mark>continuous</mark> <mark>progress</mark> measures that <mark>underlie</mark>"),
        ("phenomenon of grokking exhibited by small transformers",
         "<mark>phenomenon</mark> of “<mark>grokking</mark>” <mark>exhibited</mark>"),
    ):
        html = page(client, "/search?q=" + quote_plus(query) + "&mode=keyword")
        row = re.search(r'data-paper-id="2301.05217">(.*?)</li>', html, re.S)
        assert row, query
        snippet = re.search(r'<p class="snippet">(.*?)</p>', row.group(1), re.S)
        assert snippet and marked in snippet.group(1), (query, snippet and snippet.group(1))
        assert "\\textit" not in snippet.group(1) and "``" not in snippet.group(1)
    # Without a query the snippet is the shown abstract, cut after converting (no brace left behind).
    rows = page(client, "/techniques/activation_patching")
    assert TEX_ID in row_ids(rows)
    row = re.search(rf'data-paper-id="{TEX_ID}">(.*?)</li>', rows, re.S)
    assert row and "ℓ₁-penalised" in element_text(row.group(1), r'<p class="snippet">(.*?)</p>')


def test_tex_that_spells_html_is_shown_as_text(client: FlaskClient) -> None:
    html = page(client, f"/papers/{HOSTILE_ID}")
    text = "".join(assert_inert(html).text)
    assert SCRIPT in text and IMG in text  # converted, and shown as the text it is
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<script>alert" not in html and "<img src=x" not in html
    assert f"Mallory {SCRIPT}" in element_text(html, r"data-authors>(.*?)</p>")
    for url in ("/search?q=activation+patching+attention+heads&mode=keyword",
                "/techniques/activation_patching", f"/papers/{HOSTILE_ID}/graph", "/new?since=2000-01-01"):
        other = page(client, url)
        assert "<script>alert" not in other and "<img src=x" not in other, url
        assert_inert(other)
    results = page(client, "/search?q=activation+patching+attention+heads&mode=keyword")
    assert HOSTILE_ID in row_ids(results) and "&lt;script&gt;alert(1)" in results


def test_the_json_api_keeps_the_stored_text(client: FlaskClient) -> None:
    data = client.get(f"/api/papers/{TEX_ID}").get_json()
    assert data["title"] == TEX_TITLE  # the web page converts; the API returns what is stored
