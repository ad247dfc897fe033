""""BibTeX of these N" on the search results, a technique page and the New page (plain links to GET
/api/bibtex with exactly the papers the page shows), and /api/bibtex's `name` parameter: the download's
file name, folded so no raw text reaches the Content-Disposition header. A real SQLite store of 105 papers
(more than a page of each view)."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient

from api import web
from api.app import create_app
from api.params import MAX_LIKED
from kg.embedded import EmbeddedStore
from kg.entities import Paper, PaperBundle, TechniqueUse
from tests.api.conftest import app_config
from tests.embedders import HashEmbedder
from tests.seed_store import taxonomy_store

N_PAPERS = 105  # past the New page's 100, the technique page's 20 and the search page's 10
TWO_GROUPS = {f"p-{i:03d}" for i in range(0, N_PAPERS, 7)}  # also activation patching: two New groups


@pytest.fixture(scope="module")
def many_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedStore]:
    """105 probing papers, every seventh also using activation patching (a root group of its own)."""
    store = taxonomy_store(tmp_path_factory.mktemp("bibtex-lists") / "paperkg.sqlite3")
    emb = HashEmbedder()
    bundles = []
    for i in range(N_PAPERS):
        pid, title = f"p-{i:03d}", f"Probing study {i:03d}"
        techniques = [TechniqueUse("probing", "list")]
        if pid in TWO_GROUPS:
            techniques.append(TechniqueUse("activation_patching", "list"))
        bundles.append(PaperBundle(paper=Paper(id=pid, title=title, abstract="We probe a small model.",
                                               authors=["Ada Lovelace"], year=2023,
                                               embedding=emb.encode([title])[0]),
                                   techniques=techniques))
    store.upsert_papers(bundles)
    yield store
    store.close()


@pytest.fixture(scope="module")
def many_client(many_store: EmbeddedStore, tmp_path_factory: pytest.TempPathFactory) -> FlaskClient:
    """A test client of an app on that store."""
    return create_app(app_config(tmp_path_factory.mktemp("bibtex-lists-app"), STORE=many_store,
                                 EMBEDDER=HashEmbedder())).test_client()


LINK = re.compile(r'<a href="([^"]+)" download data-bibtex-list>BibTeX of these (\d+)</a>')


def shown_ids(page: str) -> list[str]:
    """The ids of the paper rows of a page, each once, in order."""
    return list(dict.fromkeys(html.unescape(i) for i in re.findall(r'data-paper-id="([^"]+)"', page)))


def the_link(page: str) -> tuple[str, list[str], str, int]:
    """The page's one "BibTeX of these N" link: (its URL, its ids, its name, N)."""
    links = LINK.findall(page)
    assert len(links) == 1, links
    url, count = html.unescape(links[0][0]), int(links[0][1])
    parts = urlsplit(url)
    assert parts.path == "/api/bibtex"
    query = parse_qs(parts.query)
    assert set(query) == {"id", "name"}, query
    return url, query["id"], query["name"][0], count


def bibtex_titles(client: FlaskClient, url: str) -> tuple[str, list[str]]:
    """(the file name of the download at url, the titles of its entries)."""
    answer = client.get(url)
    assert answer.status_code == 200 and answer.mimetype == "text/x-bibtex"
    text = answer.get_data(as_text=True)
    disposition = answer.headers["Content-Disposition"]
    match = re.fullmatch(r'inline; filename="([a-z0-9.-]+\.bib)"', disposition)
    assert match, disposition
    return match.group(1), re.findall(r"title = \{+Probing study (\d{3})", text)


def check_page(client: FlaskClient, path: str, name: str, rows: int) -> list[str]:
    """The page at path has a link to the BibTeX of exactly its `rows` papers, saved as `name`.bib, and
    the download holds their entries; the ids."""
    answer = client.get(path)
    assert answer.status_code == 200, path
    page = answer.get_data(as_text=True)
    ids = shown_ids(page)
    assert len(ids) == rows, (path, len(ids))
    url, linked, given_name, count = the_link(page)
    assert linked == ids and count == rows and given_name == name
    saved_as, titles = bibtex_titles(client, url)
    assert saved_as == f"{name}.bib"
    assert sorted(titles) == sorted(i.removeprefix("p-") for i in ids)
    return ids


def test_search_results_link_the_bibtex_of_the_rows_shown(many_client: FlaskClient) -> None:
    first = check_page(many_client, "/search?q=probing&mode=keyword", "search", web.PAGE_SIZE)
    second = check_page(many_client, "/search?q=probing&mode=keyword&page=2", "search", web.PAGE_SIZE)
    assert not set(first) & set(second)


def test_the_link_is_in_the_fragment_an_in_place_search_swaps_in(many_client: FlaskClient) -> None:
    """paperkg.js replaces #results with the fragment's: the link must be inside it to follow the results."""
    fragment = many_client.get("/search?q=probing&mode=keyword&page=3&fragment=1").get_data(as_text=True)
    assert fragment.lstrip().startswith('<div id="results">')
    _, linked, _, count = the_link(fragment)
    assert linked == shown_ids(fragment) and count == web.PAGE_SIZE


def test_no_link_without_results(many_client: FlaskClient) -> None:
    for path in ("/search?q=zzzzqqq&mode=keyword", "/search", "/search?q=probing&mode=keyword&page=99"):
        assert "data-bibtex-list" not in many_client.get(path).get_data(as_text=True), path


def test_technique_page_links_the_bibtex_of_its_page(many_client: FlaskClient) -> None:
    check_page(many_client, "/techniques/probing", "technique-probing", web.TECHNIQUE_PAGE_SIZE)
    check_page(many_client, "/techniques/probing?page=6", "technique-probing", N_PAPERS - 5 * 20)
    # The node id's "_" is folded to "-" by the API: the link gives the id, the file name is the fold.
    page = many_client.get("/techniques/activation_patching").get_data(as_text=True)
    url, linked, name, count = the_link(page)
    assert name == "technique-activation_patching" and count == len(TWO_GROUPS) == len(linked)
    assert bibtex_titles(many_client, url)[0] == "technique-activation-patching.bib"


def test_new_page_links_the_bibtex_of_its_papers_each_once(many_client: FlaskClient) -> None:
    page = many_client.get("/new").get_data(as_text=True)
    # A paper in two groups is two rows but one paper (and one entry).
    assert len(re.findall(r"data-paper-id=", page)) > web.NEW_PAGE_SIZE
    first = check_page(many_client, "/new", "new", web.NEW_PAGE_SIZE)
    second = check_page(many_client, "/new?page=2", "new", N_PAPERS - web.NEW_PAGE_SIZE)
    assert not set(first) & set(second) and len(set(first) | set(second)) == N_PAPERS


def test_paper_pages_related_link_is_named_after_the_paper(many_client: FlaskClient) -> None:
    page = many_client.get("/papers/p-007").get_data(as_text=True)
    match = re.search(r'<a href="([^"]+)" download data-related-bibtex>BibTeX of these (\d+)</a>', page)
    assert match
    query = parse_qs(urlsplit(html.unescape(match.group(1))).query)
    assert query["name"] == ["related-p-007"] and len(query["id"]) == int(match.group(2)) > 0
    assert bibtex_titles(many_client, html.unescape(match.group(1)))[0] == "related-p-007.bib"


def test_a_link_past_the_request_line_limit_is_left_out(many_client: FlaskClient) -> None:
    """100 slug ids of 70 characters make a URL past gunicorn's 8190-byte request line: a 414 for the
    user, so the page offers no link (the API's POST takes such a list)."""
    app = many_client.application
    with app.test_request_context("/"):
        short = web._bibtex_url([f"p{i}" for i in range(100)], "new")
        slugs = [f"{'a-long-slug-of-a-list-only-paper-' * 2}{i:04d}" for i in range(100)]
        long = web._bibtex_url(slugs, "new")
    assert short is not None and len(short.encode()) <= web.MAX_BIBTEX_LINK_BYTES
    assert long is None


def test_every_list_a_page_links_fits_the_api() -> None:
    assert max(web.PAGE_SIZE, web.TECHNIQUE_PAGE_SIZE, web.NEW_PAGE_SIZE, web.RELATED_MORE) <= MAX_LIKED


@pytest.mark.parametrize(("name", "saved"), [
    ("related-2211.00593", "related-2211.00593.bib"),
    ("Technique-SAE", "technique-sae.bib"),
    ("search.bib", "search.bib"),  # not search.bib.bib
    ('x"\r\nSet-Cookie: a=1', "x-set-cookie-a-1.bib"),  # no header injection, no quote
    ("x\nContent-Type: text/html", "x-content-type-text-html.bib"),
    ("../../etc/passwd", "etc-passwd.bib"),  # no path
    ("C:\\Windows\\win.ini", "c-windows-win.ini.bib"),
    (".hidden", "hidden.bib"),  # no dot file
    ("Zoë Ångström 日本", "zoe-angstrom.bib"),  # accents folded, other scripts dropped
    ("ﬁle\u202eexe.bib", "file-exe.bib"),  # a ligature folded, a right-to-left override dropped
    ("=?utf-8?q?x?=", "utf-8-q-x.bib"),  # no encoded word
    ("a" * 500, "a" * 80 + ".bib"),
    ("日本語", "papers.bib"),  # nothing left: the default
    ("\x00", "papers.bib"),
    ("", "papers.bib"),
])
def test_the_name_parameter_is_folded_into_a_safe_file_name(many_client: FlaskClient, name: str,
                                                              saved: str) -> None:
    get = many_client.get("/api/bibtex", query_string=[("id", "p-001"), ("name", name)])
    post = many_client.post("/api/bibtex", query_string={"name": name}, json={"ids": ["p-001"]})
    for answer in (get, post):
        assert answer.status_code == 200, answer.get_data(as_text=True)
        assert answer.headers["Content-Disposition"] == f'inline; filename="{saved}"'
        assert "Set-Cookie" not in answer.headers and answer.mimetype == "text/x-bibtex"
        assert re.findall(r"title = \{+Probing study (\d{3})", answer.get_data(as_text=True)) == ["001"]


def test_without_a_name_the_file_is_papers_bib(many_client: FlaskClient) -> None:
    answer = many_client.get("/api/bibtex", query_string=[("id", "p-001")])
    assert answer.headers["Content-Disposition"] == 'inline; filename="papers.bib"'


def test_a_repeated_name_is_a_400_naming_it(many_client: FlaskClient) -> None:
    answer = many_client.get("/api/bibtex", query_string=[("id", "p-001"), ("name", "a"), ("name", "b")])
    assert answer.status_code == 400 and answer.get_json()["error"]["parameter"] == "name"


def test_the_name_parameter_is_documented(many_client: FlaskClient) -> None:
    paths = many_client.get("/api/openapi.json").get_json()["paths"]["/api/bibtex"]
    for method in ("get", "post"):
        (name,) = [p for p in paths[method]["parameters"] if p["name"] == "name"]
        assert name["in"] == "query" and not name["required"]
        assert "papers.bib" in name["description"] and "80" in name["description"]
