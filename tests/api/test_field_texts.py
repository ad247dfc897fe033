"""The texts a reader sees about the server's field: a taxonomy file of another field gets neutral pages, CLI
help and API description (QA adopting paperkg for structural biology met MI and language-model texts), its
own meta keys are shown escaped, and the packaged MI file's pages read as they always did."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from api.app import create_app
from api.openapi import build_document
from kg.config import load_config
from kg.embedded import EmbeddedStore
from kg.entities import Paper, PaperBundle, TechniqueUse
from kg.schema import Label
from kg.taxonomy import load_taxonomy
from tests.api.conftest import plumbing_bundles
from tests.embedders import HashEmbedder
from tests.seed_store import taxonomy_store

# A small taxonomy of another field, with an extension and no read meta key (a note only).
OTHER_FIELD = """\
meta:
  note: a QA taxonomy for the structural biology of membrane proteins
techniques:
  - id: cryo_em
    label: Cryo-EM
    aliases: [cryo-EM, cryo-electron microscopy]
    children:
      - id: single_particle
        label: Single-particle analysis
        aliases: [single-particle analysis]
  - id: crystallography
    label: X-ray crystallography
    aliases: [x-ray crystallography]
  - id: nmr
    label: NMR spectroscopy
    aliases: [NMR spectroscopy]
fundamental_objects:
  - id: protein_complex
    label: Protein complexes
    aliases: [protein complex]
findings:
  - id: allostery
    label: Allostery
    aliases: [allostery]
evaluation:
  - id: resolution
    label: Resolution
    aliases: [global resolution]
extensions_not_in_figure:
  - id: focused_classification
    label: Focused 3D classification
    kind: technique
    parent: single_particle
    aliases: [focused classification]
"""
# The same file with every read meta key, each holding markup: meta values are data, shown as text.
HOSTILE_META = OTHER_FIELD.replace("""\
meta:
  note: a QA taxonomy for the structural biology of membrane proteins
""", """\
meta:
  field: <script>alert(1)</script> biology
  survey:
    citation: Doe et al. (2023), <img src=x onerror=alert(1)>
  list:
    name: <b>doe</b>/awesome-membranes
    url: https://example.org/list?a=1&b="><script>alert(2)</script>
    seed_commit: 0123abc
  examples: ["<script>alert(3)</script>", "cryo-EM & <i>friends</i>"]
""")
# What the pages of another field must not say (the MI field, its survey and list).
MI_WORDS = ("mechanistic", "language model", "survey", "figure 1", "rai et al", "dakingrai", "e603922")
PAGES = ("/", "/techniques", "/techniques/focused_classification", "/techniques/cryo_em", "/about")


class _Text(HTMLParser):
    """The text of a page, runs of whitespace made one space (as a browser shows it)."""

    BLOCKS = frozenset({"p", "li", "ul", "ol", "div", "section", "h1", "h2", "dt", "dd", "br", "option"})

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.BLOCKS:  # a new block starts a new line, whatever the markup's spacing
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def text_of(html: str) -> str:
    """The page's text as a reader sees it."""
    return " ".join("".join(_Text(html).parts).split())


def ext_titles(html: str) -> set[str]:
    """The tooltips of the "+" marks of the extensions on /techniques, as a reader gets them."""
    return {unescape(t) for t in re.findall(r'<span class="ext" title="([^"]*)">\+</span>', html)}


def get(client: FlaskClient, url: str) -> str:
    """GET a page that must be served (200) and return its HTML."""
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)


@pytest.fixture(scope="module")
def other_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EmbeddedStore, Path]]:
    """A real store initialised with OTHER_FIELD, four papers tagged with its techniques; and its folder."""
    folder = tmp_path_factory.mktemp("other-field")
    (folder / "other.yaml").write_text(OTHER_FIELD, encoding="utf-8")
    (folder / "hostile.yaml").write_text(HOSTILE_META, encoding="utf-8")
    store = EmbeddedStore(folder / "paperkg.sqlite3")
    store.init_schema()
    store.load_taxonomy(load_taxonomy(folder / "other.yaml").nodes)
    embedder = HashEmbedder()

    def bundle(pid: str, title: str, *techniques: str) -> PaperBundle:
        vector = np.asarray(embedder.encode_query(title), dtype=np.float32)
        # From the list: the About page credits the list (its meta) only for a store holding list papers.
        paper = Paper(id=pid, title=title, abstract=f"{title}. We report structures.", year=2025,
                      sources=["list"], embedding=vector, embedding_model=embedder.model_name)
        return PaperBundle(paper, techniques=[TechniqueUse(t, "extracted") for t in techniques])

    store.upsert_papers([
        bundle("p1", "Cryo-EM of a sugar transporter", "cryo_em"),
        bundle("p2", "Focused classification of a channel", "focused_classification"),
        bundle("p3", "Crystal structures of a pump", "crystallography"),
        bundle("p4", "Single-particle analysis of a complex", "single_particle"),
    ])
    yield store, folder
    store.close()


def client_for(store: EmbeddedStore, folder: Path, taxonomy_file: str) -> FlaskClient:
    """A test client of an app whose PAPERKG_TAXONOMY is `taxonomy_file` of `folder`."""
    config = load_config(env={"PAPERKG_DATA_DIR": str(folder),
                              "PAPERKG_TAXONOMY": str(folder / taxonomy_file)})
    return create_app({"TESTING": True, "STORE": store, "EMBEDDER": HashEmbedder(),
                       "PAPERKG_CONFIG": config}).test_client()


@pytest.fixture(scope="module")
def other_client(other_store: tuple[EmbeddedStore, Path]) -> FlaskClient:
    """A client of the other field's server: PAPERKG_TAXONOMY is OTHER_FIELD's file."""
    return client_for(*other_store, "other.yaml")


@pytest.mark.parametrize("url", PAGES)
def test_another_fields_pages_make_no_mi_claims(other_client: FlaskClient, url: str) -> None:
    """QA: home, /techniques, a technique page and /about said "mechanistic interpretability of language
    models", "the survey's Figure 1" and credited Rai et al. and the Dakingrai list to a structural-biology
    file; the search box's placeholder suggested "how do induction heads form?"."""
    page = get(other_client, url).lower()
    assert "induction heads" not in page, url
    for word in MI_WORDS:
        assert word not in page, (url, word)


def test_another_fields_pages_read_neutral(other_client: FlaskClient) -> None:
    """Without meta keys the file gets texts true of any taxonomy: counts, its bands, its extensions, its
    file name; the home page's examples are its top-level techniques with papers, most papers first."""
    home = get(other_client, "/")
    assert "4 papers, linked to 5 techniques of this taxonomy. Ask a question or try:" in text_of(home)
    examples = re.findall(r'<ul class="examples">(.*?)</ul>', home, re.S)[0]
    assert re.findall(r">([^<]+)</a>", examples) == ["papers that use Cryo-EM",
                                                     "papers that use X-ray crystallography"]
    assert 'href="/search?q=papers+that+use+Cryo-EM"' in examples  # a search of it
    techniques = get(other_client, "/techniques")
    assert ("The taxonomy's bands, top to bottom. Numbers count papers, including refinements (nested "
            "boxes); + marks the extensions the taxonomy file adds beyond its bands.") in text_of(techniques)
    assert ext_titles(techniques) == {
        "an extension the taxonomy file adds beyond its bands; refines the node it sits under"}
    extension = text_of(get(other_client, "/techniques/focused_classification"))
    assert ("An extension: the taxonomy file adds it beyond its bands as a refinement of Single-particle "
            "analysis.") in extension
    about = text_of(get(other_client, "/about"))
    assert "paperkg is a knowledge graph and search service for research papers. Last ingest" in about
    assert ("The awesome list (4 papers): the Markdown list paperkg ingest list reads (PAPERKG_LIST_SOURCE). "
            "Its sections") in about
    assert ("Taxonomy: the file other.yaml (this server's own, set by PAPERKG_TAXONOMY): its techniques, "
            "fundamental objects, findings and evaluation criteria.") in about


def test_a_field_without_papers_gets_no_examples(tmp_path: Path) -> None:
    """No meta examples and no technique with papers: no list of examples; with no papers at all the home
    page says how to load some (kg.store.EMPTY_STORE_MESSAGE) instead of asking a question."""
    (tmp_path / "other.yaml").write_text(OTHER_FIELD, encoding="utf-8")
    store = EmbeddedStore(tmp_path / "paperkg.sqlite3")
    try:
        store.init_schema()
        store.load_taxonomy(load_taxonomy(tmp_path / "other.yaml").nodes)
        home = get(client_for(store, tmp_path, "other.yaml"), "/")
    finally:
        store.close()
    assert "This store has no papers yet: load some with paperkg ingest list" in text_of(home)
    assert "Ask a question" not in text_of(home)
    assert 'class="examples"' not in home


def test_a_files_own_meta_is_shown_escaped(other_store: tuple[EmbeddedStore, Path]) -> None:
    """The file's field, survey, list and examples are shown (a survey without figure or arXiv id, a list not
    following it), every one as text: meta values are data."""
    client = client_for(*other_store, "hostile.yaml")
    pages = {url: get(client, url) for url in PAGES}
    for url, html in pages.items():
        assert "<script>alert" not in html and "<img src=x" not in html and "<b>doe" not in html, url
        assert not re.search(r"<[a-z]+[^>]* on[a-z]+=", html), url
    home = text_of(pages["/"])
    assert ("4 papers on <script>alert(1)</script> biology, linked to 5 techniques of the taxonomy of the "
            "survey Doe et al. (2023), <img src=x onerror=alert(1)>. Ask a question or try: "
            "<script>alert(3)</script> cryo-EM & <i>friends</i>") in home
    assert ("The taxonomy of the survey Doe et al. (2023), <img src=x onerror=alert(1)>, top to bottom."
            in text_of(pages["/techniques"]))
    assert ext_titles(pages["/techniques"]) == {
        "not in the survey's taxonomy; refines the node it sits under"}
    assert ("Not in the taxonomy of the survey Doe et al. (2023), <img src=x onerror=alert(1)>: paperkg adds "
            "it as a refinement of Single-particle analysis."
            in text_of(pages["/techniques/focused_classification"]))
    about_html = pages["/about"]
    about = text_of(about_html)
    assert "search service for research papers, set up for <script>alert(1)</script> biology." in about
    assert ("The awesome list (4 papers): <b>doe</b>/awesome-membranes, seeded from commit 0123abc. Its "
            "sections" in about)
    assert ('<a href="https://example.org/list?a=1&amp;b=&#34;&gt;&lt;script&gt;alert(2)&lt;/script&gt;" '
            'rel="noopener noreferrer">&lt;b&gt;doe&lt;/b&gt;/awesome-membranes</a>') in about_html
    assert ("Taxonomy: The taxonomy of the survey Doe et al. (2023), <img src=x onerror=alert(1)> "
            "(techniques, fundamental objects, findings, evaluation), with a few marked extensions; file: "
            "hostile.yaml (this server's own, set by PAPERKG_TAXONOMY).") in about
    assert "arxiv.org/abs" not in about_html  # no arXiv id given: no link made up


def test_a_filter_id_of_another_kind_is_named_with_the_right_article(other_client: FlaskClient) -> None:
    """QA: "'resolution' is not a topic id (it is a evaluation: ...)"; an object read "it is a object"."""
    detail = other_client.get("/api/search?q=x&topic=resolution").get_json()["error"]["message"]
    assert detail.endswith("'resolution' is not a topic id (it is an evaluation: use the technique filter)")
    detail = other_client.get("/api/search?q=x&technique=protein_complex").get_json()["error"]["message"]
    assert detail.endswith("'protein_complex' is not a technique id (it is an object: use the topic filter)")
    detail = other_client.get("/api/search?q=x&technique=allostery").get_json()["error"]["message"]
    assert detail.endswith("(it is a topic: use the topic filter)")


# -- the packaged MI file: the texts every page has always had ---------------------------------------------

@pytest.fixture(scope="module")
def mi_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FlaskClient]:
    """A client of an app on the packaged taxonomy (PAPERKG_TAXONOMY unset) with three papers."""
    folder = tmp_path_factory.mktemp("mi-field")
    store = taxonomy_store(folder / "paperkg.sqlite3")
    bundles = plumbing_bundles(HashEmbedder())
    for b in bundles:  # papers of the list and arXiv, as `make demo` loads them, which the About page credits
        b.paper.sources = ["list", "arxiv"]
    store.upsert_papers(bundles)
    yield create_app({"TESTING": True, "STORE": store, "EMBEDDER": HashEmbedder(),
                      "PAPERKG_CONFIG": load_config(env={"PAPERKG_DATA_DIR": str(folder)})}).test_client()
    store.close()


def test_the_packaged_files_pages_read_as_before(mi_client: FlaskClient) -> None:
    """The MI texts now come from the packaged file's meta: word for word what the pages said before."""
    techniques = len(load_taxonomy().of_label(Label.TECHNIQUE))
    home_html = get(mi_client, "/")
    survey = ("Rai et al. (2024), “A Practical Review of Mechanistic Interpretability for Transformer-Based "
              "Language Models”")
    # The survey is named, and linked, where a page first mentions it.
    survey_link = '<a href="https://arxiv.org/abs/2407.02646" rel="noopener noreferrer"'
    assert (f"3 papers on mechanistic interpretability of language models, linked to {techniques} "
            f"techniques of the taxonomy of the survey {survey}. Ask a question or try: New to the field? "
            "Start here: the survey's beginner's roadmap, step by step, with the papers to read first. "
            "how do induction heads form? sparse "
            "autoencoders for interpretable features activation patching to find circuits editing factual "
            "knowledge in GPT superposition and polysemantic neurons Hybrid mode") in text_of(home_html)
    assert 'href="/search?q=how+do+induction+heads+form?"' in home_html
    assert survey_link in home_html.split('class="intro"')[1]
    page = get(mi_client, "/techniques")
    assert (f"Figure 1 of the survey {survey}, top to bottom. Numbers count papers, including refinements "
            "(nested boxes); + marks nodes paperkg adds beyond the figure.") in text_of(page)
    assert survey_link in page
    assert ext_titles(page) == {"not in the survey's Figure 1; refines the node it sits under"}
    assert (f"Not in Figure 1 of the survey {survey}: paperkg adds it as a refinement of Logit Lens."
            in text_of(get(mi_client, "/techniques/tuned_lens")))
    about_html = get(mi_client, "/about")
    about = text_of(about_html)
    assert ("paperkg is a knowledge graph and search service for research papers, set up for the mechanistic "
            "interpretability (MI) of language models.") in about
    assert ("The awesome list (3 papers): Dakingrai/awesome-mechanistic-interpretability-lm-papers, seeded "
            "from commit e603922 (2024-07-10). Its sections, TL;DRs and Techniques / Evaluation columns "
            "become list sections and “list” edges.") in about
    assert ("Taxonomy: Figure 1 of the list and of the survey Rai et al. (2024), “A Practical Review of "
            "Mechanistic Interpretability for Transformer-Based Language Models” (techniques, fundamental "
            "objects, findings, evaluation), with a few marked extensions; file: kg/taxonomies/mi.yaml (the "
            "packaged one).") in about
    assert ('<a href="https://github.com/Dakingrai/awesome-mechanistic-interpretability-lm-papers" '
            'rel="noopener noreferrer">Dakingrai/awesome-mechanistic-interpretability-lm-papers</a>'
            in about_html)
    assert ('<a href="https://arxiv.org/abs/2407.02646" rel="noopener noreferrer">Rai et al. (2024)'
            in about_html)


# -- static texts: CLI help, the weekly ingest's messages, the API description ---------------------------

def test_the_cli_and_api_descriptions_are_field_neutral(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """QA: `paperkg --help` said "for mechanistic interpretability papers", `ingest weekly` "new MI papers"
    and "the stored MI corpus", the OpenAPI description "mechanistic-interpretability papers"."""
    from kg.cli import main

    monkeypatch.delenv("PAPERKG_NEO4J_URI", raising=False)
    for name, value in (("PAPERKG_DATA_DIR", str(tmp_path)), ("PAPERKG_STORE", "embedded")):
        monkeypatch.setenv(name, value)
    runner = CliRunner()
    top = " ".join(runner.invoke(main, ["--help"], terminal_width=200).output.split())
    assert ("paperkg: a knowledge graph and search service for research papers (mechanistic interpretability "
            "with the shipped taxonomy; another field brings its own file: PAPERKG_TAXONOMY).") in top
    weekly = " ".join(runner.invoke(main, ["ingest", "weekly", "--help"], terminal_width=200).output.split())
    assert "Ingest new papers from arXiv since the last successful weekly run (relevance-gated)." in weekly
    refused = runner.invoke(main, ["ingest", "weekly"])  # no store in PAPERKG_DATA_DIR
    said = " ".join(refused.output.split())
    assert refused.exit_code == 74  # EX_IOERR: no store
    assert "The weekly ingest judges candidates against the stored corpus," in said
    for text in (top, weekly, said):
        assert "MI " not in text and "mechanistic interpretability papers" not in text
    description = build_document()["info"]["description"]
    assert description.startswith("Search, related papers, recommendations and technique browse over a "
                                  "knowledge graph of research papers (mechanistic interpretability with the "
                                  "shipped taxonomy). Errors are ")


def test_a_store_of_another_field_served_with_the_packaged_file_gets_neutral_texts(
    other_store: tuple[EmbeddedStore, Path], caplog: pytest.LogCaptureFixture
) -> None:
    """A store initialised with another field's file, served without PAPERKG_TAXONOMY naming it: the
    packaged file's meta claimed MI and credited its survey and list for it (review). Neutral texts, and
    one WARNING saying what to set, however many pages are viewed."""
    store, folder = other_store
    config = load_config(env={"PAPERKG_DATA_DIR": str(folder)})  # PAPERKG_TAXONOMY: the packaged file
    client = create_app({"TESTING": True, "STORE": store, "EMBEDDER": HashEmbedder(),
                         "PAPERKG_CONFIG": config}).test_client()
    with caplog.at_level("WARNING", logger="api.taxonomy_file"):
        for url in PAGES:
            page = get(client, url).lower()
            for word in MI_WORDS:
                assert word not in page, (url, word)
    warned = [r.getMessage() for r in caplog.records if "taxonomy ids that" in r.getMessage()]
    assert len(warned) == 1 and "set PAPERKG_TAXONOMY to the file the store was initialised with" in warned[0]


def test_a_taxonomy_file_that_cannot_be_read_is_parsed_once_per_change(
    other_store: tuple[EmbeddedStore, Path], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Every page reads the file's meta: a broken file was parsed again, with a WARNING, on every view."""
    store, folder = other_store
    broken = folder / "broken.yaml"
    broken.write_text(OTHER_FIELD + "meta: [not, a, mapping]\n", encoding="utf-8")
    client = client_for(store, folder, "broken.yaml")
    import api.taxonomy_file

    loads: list[Path] = []
    real = api.taxonomy_file.load_taxonomy
    monkeypatch.setattr(api.taxonomy_file, "load_taxonomy", lambda path: loads.append(path) or real(path))
    with caplog.at_level("WARNING", logger="api.taxonomy_file"):
        for _ in range(3):
            for url in ("/", "/about"):
                get(client, url)
    assert loads == [broken]
    assert sum("taxonomy meta unavailable" in r.getMessage() for r in caplog.records) == 1
