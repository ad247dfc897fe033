"""Author pages (/authors/<key>), author links on paper pages, rows and the graph, and the search row's
byline naming the author a query asks for (api/web.py author, api/web_authors.py, _macros.html)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from flask.testing import FlaskClient

from tests.api.author_store import HOSTILE_NAME, author_client_of


@pytest.fixture(scope="module")
def author_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FlaskClient]:
    """A client of the app on the author test store (tests/api/author_store.py)."""
    with author_client_of(tmp_path_factory) as client:
        yield client


def _text(html: str) -> str:
    """The page's text without tags, whitespace collapsed."""
    return " ".join(re.sub(r"<[^>]+>", "", html).split())


def test_author_page_lists_their_papers_newest_first_with_coauthors_and_feed(
        author_client: FlaskClient) -> None:
    r = author_client.get("/authors/ada%20lovelace")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "<title>Ada Lovelace · paperkg</title>" in html
    assert "data-author-total>3 papers" in html
    assert re.findall(r'data-paper-id="([^"]+)"', html) == ["2401.00001", "hostile-author", "plain-slug"]
    coauthors = re.search(r"<ul class=\"plain\" data-coauthors>(.*?)</ul>", html, re.S)
    assert coauthors is not None
    assert 'href="/authors/grace%20hopper"' in coauthors.group(1)
    assert 'href="/feeds/new.atom?author=ada+lovelace"' in html
    assert 'rel="canonical" href="http://localhost/authors/ada%20lovelace"' in html


def test_author_page_escapes_a_hostile_name(author_client: FlaskClient) -> None:
    key = quote('mallory <script>alert("x")</script> & co', safe="")
    r = author_client.get(f"/authors/{key}")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "<script>alert" not in html
    assert "Mallory &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co" in html
    assert HOSTILE_NAME in _text(html).replace("&lt;", "<").replace("&gt;", ">").replace(
        "&#34;", '"').replace("&amp;", "&")


def test_unknown_author_is_a_404_page_and_a_name_as_written_redirects(author_client: FlaskClient) -> None:
    r = author_client.get("/authors/nobody%20here")
    assert r.status_code == 404
    assert "Unknown author" in r.get_data(as_text=True)
    moved = author_client.get("/authors/Ada%20Lovelace")
    assert moved.status_code == 301
    assert moved.headers["Location"] == "/authors/ada%20lovelace"


def test_author_page_bad_page_number_is_a_400(author_client: FlaskClient) -> None:
    assert author_client.get("/authors/ada%20lovelace?page=x").status_code == 400


def test_paper_page_links_every_author(author_client: FlaskClient) -> None:
    html = author_client.get("/papers/2209.10652").get_data(as_text=True)
    authors = re.search(r'data-authors>(.*?)</p>', html, re.S)
    assert authors is not None
    links = re.findall(r'<a class="author" href="([^"]+)"><bdi>([^<]+)</bdi></a>', authors.group(1))
    assert [name for _, name in links] == ["Ann One", "Ben Two", "Cat Three", "Dan Four", "Eve Five",
                                          "Fay Six", "Chris Olah", "Gus Eight", "Hal Nine"]
    assert links[6][0] == "/authors/chris%20olah"


def test_row_bylines_link_authors(author_client: FlaskClient) -> None:
    html = author_client.get("/techniques/sae").get_data(as_text=True)
    assert '<a class="author" href="/authors/ada%20lovelace"><bdi>Ada Lovelace</bdi></a>' in html


def test_search_byline_shows_the_author_the_query_names(author_client: FlaskClient) -> None:
    html = author_client.get("/search?q=chris+olah&mode=keyword").get_data(as_text=True)
    row = re.search(r'data-paper-id="2209.10652".*?</li>', html, re.S)
    assert row is not None
    byline = _text(re.search(r'<span class="byline">(.*?)</span>\s*(?:·|<)', row.group(0), re.S).group(1))
    assert byline.startswith("Ann One, Ben Two, Cat Three, Dan Four … Chris Olah et al. (9)")
    assert 'data-author-match' in row.group(0)
    assert 'href="/authors/chris%20olah"' in row.group(0)


def test_search_byline_without_a_named_author_stops_at_four(author_client: FlaskClient) -> None:
    html = author_client.get("/search?q=superposition&mode=keyword").get_data(as_text=True)
    row = re.search(r'data-paper-id="2209.10652".*?</li>', html, re.S)
    assert row is not None
    assert "data-author-match" not in row.group(0)
    assert "Dan Four</bdi></a> et al. (9)" in row.group(0)


def test_a_row_without_authors_has_no_dangling_separator(author_client: FlaskClient) -> None:
    html = author_client.get("/search?q=superposition+without+authors&mode=keyword").get_data(as_text=True)
    row = re.search(r'data-paper-id="anon-2022".*?</li>', html, re.S)
    assert row is not None
    meta = re.search(r'<div class="paper-meta">(.*?)</div>', row.group(0), re.S)
    assert meta is not None
    assert _text(meta.group(1)).startswith("2022")


def test_graph_author_nodes_link_their_pages(author_client: FlaskClient) -> None:
    data = author_client.get("/papers/plain-slug/graph.json").get_json()
    authors = {n["label"]: n["href"] for n in data["nodes"] if n["kind"] == "author"}
    assert authors["Ada Lovelace"] == "/authors/ada%20lovelace"
    assert authors["Grace Hopper"] == "/authors/grace%20hopper"


def test_byline_joins_only_the_parts_present(author_client: FlaskClient) -> None:
    app = author_client.application
    template = app.jinja_env.from_string('{% from "_macros.html" import byline %}{{ byline(p) }}')

    def shown(**p: object) -> str:
        with app.test_request_context():
            return _text(template.render(p=p))

    assert shown(authors=[], year=2022, venue=None) == "2022"
    assert shown(authors=[], year=None, venue="NeurIPS") == "NeurIPS"
    assert shown(authors=["Ann One"], year=None, venue="NeurIPS") == "Ann One · NeurIPS"
    assert shown(authors=["Ann One"], year=2022, venue="NeurIPS") == "Ann One · 2022 · NeurIPS"
    assert shown(authors=["Ann One"], year=None, venue=None) == "Ann One"


def test_query_authors_names_the_ones_past_the_first_four() -> None:
    from api.web_authors import query_authors
    from tests.api.author_store import MANY_AUTHORS

    assert query_authors(MANY_AUTHORS, "olah") == [6]
    assert query_authors(MANY_AUTHORS, "Chris OLAH circuits") == [6]
    assert query_authors(MANY_AUTHORS, "ann one") == []  # already among the first four
    assert query_authors(MANY_AUTHORS, "superposition") == []
    assert query_authors(MANY_AUTHORS[:5], "eve") == []  # five names: all shown anyway
    names = [*MANY_AUTHORS[:6], "Chris Smith", "Anders Søgaard", "Chris Olah"]
    assert query_authors(names, "chris olah") == [8]  # the one sharing most words
    assert query_authors(names, "sogaard") == [7]


def test_a_name_without_a_letter_or_digit_is_not_linked() -> None:
    """QA: an author named ".." linked /authors/.., which browsers resolve to the home page."""
    from api.web_authors import author_href

    assert author_href("..") is None and author_href(".") is None and author_href(" - ") is None
    assert author_href("A. N. Other") == "/authors/a.%20n.%20other"
