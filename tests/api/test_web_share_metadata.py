"""What a shared link, a bookmark, a link preview and a reference manager read from the web pages: titles
that say the search's state, the description / Open Graph / canonical tags, the Highwire Press tags Zotero's
Connector reads, the multiple select a URL's several sections or sources need, the paper's stored version
in its Record panel, and the skip link's focusable target.

A real SQLite store (the packaged taxonomy and a few papers, HashEmbedder vectors) through the Flask test
client; the HTML is read with a real HTML parser."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from kg.embedded import EmbeddedStore
from kg.entities import ListRow, Paper, PaperBundle, TechniqueUse
from tests.api import test_web
from tests.api.test_web import Inspector, assert_inert, page
from tests.embedders import HashEmbedder
from tests.seed_store import taxonomy_store

ICLR_ID = "2401.00001"
TMLR_ID = "2402.00002"
HOSTILE = "links-hostile"
WITHDRAWN_ID = "2403.00003"
ORAL_ID = "2404.00004"
WORKSHOP_ID = "2405.00005"
AUTHORLESS = "authorless-iclr"
SCRIPT = "<script>alert(1)</script>"
TEX_ABSTRACT = (r"We find that $\sim$70\% of the heads in small models are \emph{induction heads}, "
                r"which copy tokens. Further work follows.")


def bundle(embedder: HashEmbedder, paper: Paper, technique: str, section: str, tldr: str | None = None
           ) -> PaperBundle:
    """`paper` embedded, using `technique`, listed in `section` (with `tldr`)."""
    paper.embedding = embedder.encode_query(f"{paper.title} {paper.abstract}")
    paper.embedding_model = embedder.model_name
    return PaperBundle(paper=paper, techniques=[TechniqueUse(technique, "list")],
                       list_rows=[ListRow(section_id=section, section_title=section.title(),
                                          section_path=["Papers", section.title()], tldr=tldr)])


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedStore]:
    """Three papers: a conference paper from arXiv (v5, DOI), a journal one, and one with hostile text."""
    s = taxonomy_store(tmp_path_factory.mktemp("web-links") / "paperkg.sqlite3")
    embedder = HashEmbedder()
    s.upsert_papers([
        bundle(embedder, Paper(
            id=ICLR_ID, arxiv_id=ICLR_ID, arxiv_version=5, title=r"Induction Heads in \textit{Small} Models",
            abstract=TEX_ABSTRACT, authors=["Ada Lovelace", "Alan Turing"], published="2024-01-02",
            updated="2026-11-20", year=2024, venue="ICLR 2024", doi="10.1234/heads.5",
            sources=["arxiv", "list"],
        ), "sae", "circuits", tldr="heads"),
        bundle(embedder, Paper(
            id=TMLR_ID, arxiv_id=TMLR_ID, title="Probing Syntax in Transformers",
            abstract="Linear probes recover syntax trees from the residual stream of a transformer.",
            authors=["Grace Hopper"], published="2024-02-03", year=2024, venue="TMLR 2024", sources=["arxiv"],
        ), "probing", "probes"),
        bundle(embedder, Paper(
            id=HOSTILE, title=f'Heads </title>{SCRIPT} "quoted" & more',
            abstract=f"A study {SCRIPT} of heads.",
            authors=[f'Mallory "{SCRIPT}'], year=2023, venue=f"Venue {SCRIPT}", sources=["records"],
        ), "sae", "circuits", tldr=f'The paper shows that heads matter "{SCRIPT}" in every small model.'),
        bundle(embedder, Paper(
            id=WITHDRAWN_ID, arxiv_id=WITHDRAWN_ID, arxiv_version=2, title="Heads That Were Not There",
            abstract="This paper has been withdrawn by the authors due to an error in Section 4.",
            year=2024, sources=["arxiv"],
        ), "probing", "probes"),
        # Venues as the list and reference managers write them, and one the BibTeX cannot cite as a
        # conference paper (no author, no host organisation: a @misc).
        bundle(embedder, Paper(
            id=ORAL_ID, arxiv_id=ORAL_ID, title="Heads on Stage", abstract="An oral paper.",
            authors=["Ada Lovelace"], year=2024, venue="ICLR'24 (oral)", sources=["arxiv"],
        ), "activation_patching", "patching"),
        bundle(embedder, Paper(
            id=WORKSHOP_ID, arxiv_id=WORKSHOP_ID, title="Heads at a Workshop", abstract="A workshop paper.",
            authors=["Alan Turing"], year=2024, venue="ICML 2024 Workshop on Heads & Circuits",
            sources=["arxiv"],
        ), "activation_patching", "patching"),
        bundle(embedder, Paper(
            id=AUTHORLESS, title="Heads Without Authors", abstract="A list-only page.", year=2024,
            venue="ICLR 2024", sources=["list"],
        ), "activation_patching", "patching"),
    ])
    yield s
    s.close()


# test_web.py's fixtures, not a copy of them: its `app` runs over this module's `store` (above).
app = test_web.app
client = test_web.client


def title(html: str) -> str:
    """The text of the page's <title>."""
    doc = Inspector(html.split("<title>", 1)[1].split("</title>", 1)[0])
    return "".join(doc.text)


def head_tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    """The <meta> and <link> elements of the page's head, in order."""
    doc = Inspector(html.split("</head>", 1)[0])
    return [(tag, attrs) for tag, attrs in doc.elements if tag in ("meta", "link")]


def meta(html: str, key: str) -> list[str]:
    """The content of every <meta name=key> or <meta property=key>, in order."""
    return [str(attrs.get("content")) for tag, attrs in head_tags(html)
            if tag == "meta" and key in (attrs.get("name"), attrs.get("property"))]


def canonical(html: str) -> list[str]:
    """The href of every <link rel=canonical>."""
    return [str(attrs.get("href")) for tag, attrs in head_tags(html)
            if tag == "link" and attrs.get("rel") == "canonical"]


def select_of(html: str, name: str) -> tuple[dict[str, str | None], list[str]]:
    """The attributes of the form's <select name=name> and the values of its selected options."""
    doc = Inspector(html.split(f'<select name="{name}"', 1)[1].split("</select>", 1)[0].join(
        (f'<select name="{name}"', "</select>")))
    attrs = doc.elements[0][1]
    chosen = [str(a.get("value")) for tag, a in doc.elements if tag == "option" and "selected" in a]
    return attrs, chosen


# -- 2. several sections or sources in a URL ---------------------------------------------------------

def test_several_sources_in_the_url_make_a_multiple_select_that_keeps_them(client: FlaskClient) -> None:
    html = page(client, "/search?source=list&source=arxiv")
    attrs, chosen = select_of(html, "source")
    assert "multiple" in attrs  # a single select submits only one of them
    assert sorted(chosen) == ["arxiv", "list"]
    attrs, chosen = select_of(page(client, "/search?source=arxiv"), "source")
    assert "multiple" not in attrs and chosen == ["arxiv"]  # one value: the compact select


def test_several_sections_in_the_url_make_a_multiple_select_that_keeps_them(client: FlaskClient) -> None:
    html = page(client, "/search?section=circuits&section=probes")
    attrs, chosen = select_of(html, "section")
    assert "multiple" in attrs
    assert sorted(chosen) == ["circuits", "probes"]
    attrs, chosen = select_of(page(client, "/search?section=probes"), "section")
    assert "multiple" not in attrs and chosen == ["probes"]


# -- 3. titles -----------------------------------------------------------------------------------------

def test_the_search_title_says_the_query_the_filters_and_the_page(client: FlaskClient) -> None:
    assert title(page(client, "/search?technique=sae")) == "Search · Sparse Autoencoder (SAE) · paperkg"
    assert title(page(client, "/search?technique=sae&page=2")) == (
        "Search · Sparse Autoencoder (SAE) · page 2 · paperkg")
    assert title(page(client, "/search?q=heads&mode=keyword&technique=probing&technique=sae"
                              "&technique_match=all&year_from=2021&year_to=2024&source=arxiv")) == (
        "\u2068heads\u2069 — search · Probing and Sparse Autoencoder (SAE), 2021–2024, arXiv · paperkg")
    assert title(page(client, "/search?section=circuits&year_to=2023")) == (
        "Search · until 2023, Papers › Circuits · paperkg")
    assert title(page(client, "/search")) == "Search · paperkg"


def test_the_new_and_technique_titles_say_their_filter_order_and_page(client: FlaskClient) -> None:
    assert title(page(client, "/new?technique=sae&since=2020-01-01")) == (
        "New papers using Sparse Autoencoder (SAE) since 2020-01-01 · paperkg")
    assert title(page(client, "/new?since=2020-01-01&page=2")) == (
        "New papers since 2020-01-01 · page 2 · paperkg")
    assert title(page(client, "/new")) == "New papers · paperkg"
    assert title(page(client, "/techniques/sae?sort=centrality")) == (
        "Sparse Autoencoder (SAE) · most connected · paperkg")
    assert title(page(client, "/techniques/sae?page=2")) == "Sparse Autoencoder (SAE) · page 2 · paperkg"


# -- 4. link previews and reference managers ------------------------------------------------------------

def test_search_pages_have_a_description_and_a_canonical_url_without_tracking(client: FlaskClient) -> None:
    html = page(client, "/search?technique=sae&year_from=&utm_source=slack&fragment=&page=1")
    assert canonical(html) == ["http://localhost/search?technique=sae"]
    assert meta(html, "og:url") == canonical(html)
    assert meta(html, "og:type") == ["website"]
    assert meta(html, "og:title") == ["Search · Sparse Autoencoder (SAE)"]
    assert meta(html, "description") == meta(html, "og:description") == [
        "2 papers, newest first (filtered: Sparse Autoencoder (SAE))."]
    html = page(client, "/search?q=heads&mode=keyword&page=2&gclid=x")
    assert canonical(html) == ["http://localhost/search?q=heads&mode=keyword&page=2"]
    assert canonical(page(client, "/?utm_campaign=x")) == ["http://localhost/"]
    assert canonical(page(client, "/techniques/sae?sort=date&page=2&ref=x")) == [
        "http://localhost/techniques/sae?page=2"]
    assert canonical(page(client, "/new?technique=sae&utm_medium=email")) == [
        "http://localhost/new?technique=sae"]
    assert canonical(page(client, "/about?utm_source=x")) == ["http://localhost/about"]
    assert canonical(page(client, "/papers/nope", 404)) == []  # an error is no page to point at


def test_a_paper_page_has_highwire_press_tags_for_zotero(client: FlaskClient) -> None:
    html = page(client, f"/papers/{ICLR_ID}?related=20&utm_source=x")
    assert canonical(html) == [f"http://localhost/papers/{ICLR_ID}"]
    assert meta(html, "og:type") == ["article"]
    assert meta(html, "citation_title") == meta(html, "og:title") == ["Induction Heads in Small Models"]
    assert meta(html, "citation_author") == ["Ada Lovelace", "Alan Turing"]
    assert meta(html, "citation_publication_date") == meta(html, "citation_date") == ["2024/01/02"]
    assert meta(html, "citation_arxiv_id") == [ICLR_ID]
    assert meta(html, "citation_doi") == ["10.1234/heads.5"]
    assert meta(html, "citation_pdf_url") == [f"https://arxiv.org/pdf/{ICLR_ID}v5"]
    # The venue as the BibTeX names it: its booktitle, not the stored short form.
    assert meta(html, "citation_conference_title") == [
        "International Conference on Learning Representations (ICLR 2024)"]
    assert meta(html, "citation_journal_title") == []
    # The TL;DR is one word: the abstract's first sentence, its TeX read as the page shows it.
    assert meta(html, "description") == meta(html, "og:description") == [
        "We find that ∼70% of the heads in small models are induction heads, which copy tokens."]
    html = page(client, f"/papers/{TMLR_ID}")
    assert meta(html, "citation_journal_title") == ["Transactions on Machine Learning Research"]
    assert meta(html, "citation_conference_title") == meta(html, "citation_doi") == []


@pytest.mark.parametrize(("paper_id", "conference", "entry"), [
    (ORAL_ID, "International Conference on Learning Representations (ICLR 2024)", "@inproceedings{"),
    (WORKSHOP_ID, "ICML 2024 Workshop on Heads & Circuits", "@inproceedings{"),
    (AUTHORLESS, None, "@misc{"),
])
def test_the_highwire_venue_is_the_one_the_bibtex_cites(
        client: FlaskClient, paper_id: str, conference: str | None, entry: str) -> None:
    """Review: the tags took the kind from the BibTeX's first characters and the venue as stored ("ICLR'24
    (oral)"), where the BibTeX cites the conference by its name; plain text, where the BibTeX escapes."""
    html = page(client, f"/papers/{paper_id}")
    assert meta(html, "citation_conference_title") == ([conference] if conference else [])
    assert meta(html, "citation_journal_title") == []
    bibtex = client.get(f"/api/papers/{paper_id}/bibtex").get_data(as_text=True)
    assert bibtex.startswith(entry), bibtex
    if conference:  # the same name, "&" as BibTeX writes it
        booktitle = conference.replace("&", "\\&")
        assert f"booktitle = {{{booktitle}}}" in bibtex, bibtex


def test_a_paper_pages_metadata_is_escaped_text(client: FlaskClient) -> None:
    html = page(client, f"/papers/{HOSTILE}")
    assert_inert(html)
    assert SCRIPT not in html.split("</head>", 1)[0]
    assert meta(html, "citation_title") == [f'Heads </title>{SCRIPT} "quoted" & more']
    assert meta(html, "citation_author") == [f'Mallory "{SCRIPT}']
    assert meta(html, "description") == [
        f'The paper shows that heads matter "{SCRIPT}" in every small model.']
    # No arXiv id: no arXiv tags; a venue of no known kind is claimed as neither.
    for key in ("citation_arxiv_id", "citation_pdf_url", "citation_journal_title",
                "citation_conference_title"):
        assert meta(html, key) == [], key
    assert meta(html, "citation_date") == ["2023"]


def test_a_withdrawn_papers_preview_says_it_is_withdrawn(client: FlaskClient) -> None:
    html = page(client, f"/papers/{WITHDRAWN_ID}")
    assert meta(html, "description") == [
        "arXiv lists this paper as withdrawn; earlier versions remain on arXiv."]
    assert meta(html, "citation_arxiv_id") == [WITHDRAWN_ID]
    assert meta(html, "citation_pdf_url") == []  # the withdrawn version's PDF is the notice alone


# -- 5. the Record panel ----------------------------------------------------------------------------------

def test_the_record_panel_says_the_stored_version_and_when_it_was_refreshed(
    client: FlaskClient, store: EmbeddedStore
) -> None:
    stored = store.get_paper(ICLR_ID)
    assert stored is not None and stored.paper.last_seen
    html = page(client, f"/papers/{ICLR_ID}")
    panel = html.split("data-record-version>", 1)[1].split("</dd>", 1)[0]
    text = "".join(Inspector(panel).text)
    assert text == f"v5 · arXiv updated 2026-11-20 · refreshed {stored.paper.last_seen[:10]}"
    assert f'href="https://arxiv.org/abs/{ICLR_ID}v5"' in panel


# -- 6. the skip link ---------------------------------------------------------------------------------------

def test_the_skip_links_target_can_take_the_focus(client: FlaskClient) -> None:
    for url in ("/", f"/papers/{ICLR_ID}", "/about"):
        doc = Inspector(page(client, url))
        skip = [a for tag, a in doc.elements if tag == "a" and a.get("class") == "skip"]
        assert skip and skip[0].get("href") == "#main"
        main = [a for tag, a in doc.elements if tag == "main"]
        assert main == [{"id": "main", "tabindex": "-1"}], url



# Bidi embeddings and overrides (U+202A-U+202E) and isolates (U+2066-U+2069).
BIDI_CONTROLS = [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))]


@pytest.mark.parametrize(("method", "url", "status", "said"), [
    # A query's right-to-left override: the closing quote and full stop came out reversed in a preview.
    ("GET", "/search?q=%E2%80%AEheads&mode=keyword", 200, "heads”"),
    ("GET", "/search?q=%E2%80%ABheads%E2%80%AC%E2%81%A6x%E2%81%A9&mode=keyword", 200, "headsx”"),
    # The isolates the error pages' messages hold around a path: invisible characters in a preview.
    ("GET", "/nothing", 404, "/nothing."),
    ("DELETE", "/search", 405, "/search"),
    ("GET", "/techniques/%E2%80%AEnope", 404, "nope”"),
])
def test_descriptions_hold_no_bidi_controls_or_isolates(
    client: FlaskClient, method: str, url: str, status: int, said: str
) -> None:
    response = client.open(url, method=method)
    assert response.status_code == status
    html = response.get_data(as_text=True)
    descriptions = meta(html, "description") + meta(html, "og:description")
    assert len(descriptions) == 2 and descriptions[0] == descriptions[1]
    assert said in descriptions[0]
    assert not any(c in descriptions[0] for c in BIDI_CONTROLS), ascii(descriptions[0])
    # So is the preview's title, while the page's <title> keeps its isolates.
    assert not any(c in "".join(meta(html, "og:title")) for c in BIDI_CONTROLS), ascii(meta(html, "og:title"))
    # The page's own text keeps them: the title its isolates, the body its <bdi> elements.
    assert "\u2068" in title(html) or "<bdi>" in html
