"""Hostile stored records and hostile requests against every output: JSON bodies (deep nesting,
chunked uploads over the limit), non-http(s) URLs in the feed and BibTeX, security headers on every
response, bidi controls in rendered result lines, and the web form's number and list rules."""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any, NamedTuple

import feedparser
import numpy as np
import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape

from api.app import WEB_CSP, create_app
from api.bibtex import to_bibtex
from api.errors import page_text
from api.params import MAX_FILTER_VALUES
from kg.embedded import EmbeddedStore
from kg.entities import Paper, PaperBundle, TechniqueUse
from kg.schema import Label
from kg.taxonomy import load_taxonomy
from tests.api.conftest import app_config, serving
from tests.embedders import HashEmbedder
from tests.seed_store import taxonomy_store

RLO = "\u202e"
AUTHOR = f"Alice {RLO}Bob"
VENUE = f"Workshop {RLO}9102"
TITLE = f"Patching heads {RLO}reversed title"
JS_ID = "hostile-js-link"
ARXIV_ID = "2402.00002"


def bundles(embedder: HashEmbedder) -> list[PaperBundle]:
    """A paper whose URLs are javascript:/data: and whose title, author and venue carry an RLO; an arXiv
    paper with a javascript: URL; a plain paper that relates to both."""
    def paper(pid: str, title: str, **kw: object) -> Paper:
        abstract = "We apply activation patching to attention heads. Heads matter."
        return Paper(id=pid, title=title, abstract=abstract, sources=["records"],
                     embedding=np.asarray(embedder.encode_query(f"{title} {abstract}"), dtype=np.float32),
                     embedding_model=embedder.model_name, **kw)  # type: ignore[arg-type]

    patching = [TechniqueUse("activation_patching", "extracted", evidence=f"we patch {RLO}heads")]
    return [
        PaperBundle(paper(JS_ID, TITLE, authors=[AUTHOR, "Carol"], year=2024, published="2024-03-01",
                          venue=VENUE, url="JaVaScRiPt:alert(5)", pdf_url="data:text/html,<b>x</b>"),
                    techniques=patching),
        PaperBundle(paper(ARXIV_ID, "Attention head patching on arXiv", arxiv_id=ARXIV_ID, year=2024,
                          published="2024-02-02", authors=["Dan"], url=" javascript:alert(6)"),
                    techniques=patching),
        PaperBundle(paper("plain-patching", "Activation patching of attention heads", authors=["Eve"],
                          year=2023, published="2023-01-01", url="https://example.org/p?a=1"),
                    techniques=patching),
    ]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedStore]:
    """A real SQLite store with the taxonomy and the three papers."""
    s = taxonomy_store(tmp_path_factory.mktemp("hostile-out") / "paperkg.sqlite3")
    s.upsert_papers(bundles(HashEmbedder()))
    yield s
    s.close()


@pytest.fixture(scope="module")
def app(store: EmbeddedStore, tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """The app over the module's store (HashEmbedder)."""
    config = app_config(tmp_path_factory.mktemp("hostile-app"), STORE=store, EMBEDDER=HashEmbedder())
    return create_app(config)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client."""
    return app.test_client()


@pytest.fixture(scope="module")
def live_server(app: Flask) -> Iterator[str]:
    """The app on a real HTTP server on a free loopback port."""
    with serving(app) as port:
        yield f"127.0.0.1:{port}"


# -- JSON bodies -----------------------------------------------------------------------------------
@pytest.mark.parametrize("depth", [1000, 30_000])
def test_deeply_nested_json_is_malformed_json_not_a_500(client: FlaskClient, depth: int) -> None:
    body = '{"liked":' + "[" * depth + "]" * depth + "}"
    response = client.post("/api/recommend", data=body, content_type="application/json")
    assert response.status_code == 400, response.data[:300]
    assert response.get_json()["error"]["code"] == "malformed_json"


def _post_chunked(server: str, body: bytes) -> tuple[int, dict[str, object]]:
    """POST body to /api/recommend with Transfer-Encoding: chunked (no Content-Length)."""
    conn = http.client.HTTPConnection(server, timeout=30)
    try:
        chunks = (body[i:i + 8192] for i in range(0, len(body), 8192))
        conn.request("POST", "/api/recommend", body=chunks, encode_chunked=True,
                     headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"})
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def _padded(size: int) -> bytes:
    """A valid recommend body of exactly `size` bytes (whitespace padding)."""
    core = json.dumps({"liked": [ARXIV_ID], "limit": 2}).encode()
    return core[:-1] + b" " * (size - len(core)) + b"}"


def test_a_chunked_body_over_the_limit_is_a_413(app: Flask, live_server: str) -> None:
    limit = app.config["MAX_CONTENT_LENGTH"]
    status, answer = _post_chunked(live_server, json.dumps({"liked": ["x" * 100_000]}).encode())
    assert status == 413 and answer["error"]["code"] == "payload_too_large", answer
    assert str(limit) in answer["error"]["message"]
    status, answer = _post_chunked(live_server, _padded(limit + 1))
    assert status == 413, answer
    # At the limit exactly, and well under it, a chunked body is read whole and answered.
    for size in (limit, 200):
        status, answer = _post_chunked(live_server, _padded(size))
        assert status == 200, (size, answer)
        assert answer["liked"] == [ARXIV_ID] and answer["results"], answer


class RawResponse(NamedTuple):
    """An HTTP response read off the socket: status, headers (names lower-cased) and body."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.body)


def raw_request(port: int, request_line: bytes, host: bytes = b"127.0.0.1", body: bytes = b"") -> RawResponse:
    """Send `request_line` exactly as given (raw bytes outside ASCII included, which http.client refuses
    to send) with a Host header, to the server on 127.0.0.1:port, and read its whole answer."""
    head = request_line + b"\r\nHost: " + host + b"\r\nConnection: close\r\n"
    if body:
        head += b"Content-Type: application/json\r\nContent-Length: " + str(len(body)).encode() + b"\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(head + b"\r\n" + body)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    header_block, _, payload = answer.partition(b"\r\n\r\n")
    status_line, *lines = header_block.decode("latin-1").split("\r\n")
    fields = (line.partition(":") for line in lines)
    headers = {name.strip().lower(): value.strip() for name, _, value in fields}
    return RawResponse(int(status_line.split()[1]), headers, payload)


def _port(live_server: str) -> int:
    return int(live_server.rsplit(":", 1)[1])


# What a client sends that is not percent-encoded UTF-8 text, and where the app finds the problem. A
# percent-escape that is not UTF-8 was searched as its literal text ("na%EFve"), with a 200; a raw
# byte outside ASCII was read by Werkzeug's dev server as latin-1 and searched as mojibake ("naÃ¯ve").
# gunicorn 27 refuses a raw byte itself (its own HTML 400), so the raw cases run on the dev server,
# as `paperkg serve` does; the escapes reach the app on both (tests/api/test_gunicorn_conf.py).
NOT_UTF8 = [
    (b"q=na%EFve&mode=keyword", "the value of 'q' percent-decodes to bytes that are not UTF-8 (at %EF)"),
    (b"q=%ED%B0%80", "the value of 'q' percent-decodes to bytes that are not UTF-8 (at %ED)"),  # a surrogate
    (b"mode=keyword&q=circuit+%C3", "the value of 'q' percent-decodes to bytes that are not UTF-8 (at %C3)"),
    (b"q=x&%FF=1", "a parameter name percent-decodes to bytes that are not UTF-8 (at %FF)"),
    (b"q=na\xc3\xafve&mode=keyword", "a byte outside ASCII at offset 4 is not percent-encoded"),  # raw UTF-8
    (b"q=circuit%20\xff\xfe&mode=keyword", "a byte outside ASCII at offset 12 is not percent-encoded"),
]


@pytest.mark.parametrize(("query", "problem"), NOT_UTF8)
@pytest.mark.parametrize("path", ["/api/search", "/search", "/api/new", "/new"])
def test_a_query_string_that_is_not_percent_encoded_utf8_is_a_400(
    live_server: str, path: str, query: bytes, problem: str
) -> None:
    """A 400 that says what is wrong and what to do: JSON under /api, the error page on the web UI."""
    response = raw_request(_port(live_server), b"GET " + path.encode() + b"?" + query + b" HTTP/1.1")
    message = ("the query string is not percent-encoded UTF-8 text: "
               f"{problem}; percent-encode non-ASCII text as UTF-8 (naïve is na%C3%AFve)")
    assert response.status == 400, response.body[:300]
    if path.startswith("/api/"):
        assert response.json()["error"] == {"code": "bad_request", "message": message}
    else:
        assert response.headers["content-type"].startswith("text/html")
        assert str(escape(page_text(message))) in response.body.decode("utf-8")  # "The query string ... ."


def test_percent_encoded_utf8_text_is_searched_as_that_text(live_server: str) -> None:
    """The rule refuses only what is not UTF-8: naïve percent-encoded as UTF-8 is searched as naïve."""
    line = b"GET /api/search?q=na%C3%AFve+%E4%B8%80&mode=keyword HTTP/1.1"
    response = raw_request(_port(live_server), line)
    assert response.status == 200 and response.json()["query"] == "naïve 一"


# -- QA: a doubled slash got Werkzeug's 308 with an absolute Location from a forged Host header ---------
@pytest.mark.parametrize(("method", "path", "json_error"), [
    ("GET", "/api//stats", True), ("GET", "/feeds//new.atom", True), ("POST", "/api//recommend", True),
    ("GET", "/techniques//activation_patching", False), ("GET", "/papers//plain-patching", False),
])
def test_a_doubled_slash_is_a_404_never_a_redirect_to_the_host_header(
    live_server: str, method: str, path: str, json_error: bool
) -> None:
    """README: redirects are relative, and a forged Host must not put another site into an answer."""
    body = json.dumps({"liked": [ARXIV_ID]}).encode() if method == "POST" else b""
    response = raw_request(_port(live_server), f"{method} {path} HTTP/1.1".encode(), host=b"evil.example",
                           body=body)
    assert response.status == 404, (response.status, response.headers)
    assert "location" not in response.headers and b"evil.example" not in response.body
    if json_error:
        assert response.json()["error"] == {"code": "not_found", "message": f"no such resource: {path}"}
    else:
        assert response.headers["content-type"].startswith("text/html")
    # The single-slash path is served as before.
    single = raw_request(_port(live_server), f"{method} {path.replace('//', '/')} HTTP/1.1".encode(),
                         host=b"evil.example", body=body)
    assert single.status == 200, single.body[:300]


# -- URLs in the feed and BibTeX ---------------------------------------------------------------------
def test_feed_links_are_http_or_the_papers_own_page(client: FlaskClient) -> None:
    response = client.get("/feeds/new.atom")
    assert response.status_code == 200
    assert b"javascript" not in response.data.lower() and b"data:" not in response.data
    feed = feedparser.parse(response.data)
    assert not feed.bozo, feed.get("bozo_exception")
    links = {e.id: e.link for e in feed.entries}
    assert links[f"urn:paperkg:paper:{JS_ID}"] == f"http://localhost/papers/{JS_ID}"
    assert links[f"https://arxiv.org/abs/{ARXIV_ID}"] == f"https://arxiv.org/abs/{ARXIV_ID}"
    assert links["urn:paperkg:paper:plain-patching"] == "https://example.org/p?a=1"


def test_bibtex_leaves_out_non_http_urls(client: FlaskClient) -> None:
    text = client.get(f"/api/papers/{JS_ID}/bibtex").get_data(as_text=True)
    assert "javascript" not in text.lower() and "url =" not in text
    arxiv = client.get(f"/api/papers/{ARXIV_ID}/bibtex").get_data(as_text=True)
    assert f"  url = {{https://arxiv.org/abs/{ARXIV_ID}}}" in arxiv and "javascript" not in arxiv.lower()
    for url in ("data:text/html,<script>", "vbscript:x", "//evil.example/x", "http:/no-host",
                "java\nscript:x", "https://example.org/a\nb"):
        assert "url =" not in to_bibtex(Paper(id="p", title="T", url=url)), url
    kept = to_bibtex(Paper(id="p", title="T", url=" https://example.org/x "))
    assert "  url = {https://example.org/x}" in kept


def test_bibtex_drops_bidi_controls(client: FlaskClient) -> None:
    text = client.get(f"/api/papers/{JS_ID}/bibtex").get_data(as_text=True)
    assert "author = {Alice Bob and Carol}" in text and "title = {{Patching heads reversed title}}" in text
    assert not any(c in text for c in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


# -- security headers on every response --------------------------------------------------------------
STRICT = ["/api/stats", "/api/openapi.json", "/api/no/such/route", "/feeds/new.atom", "/healthz",
          f"/api/papers/{JS_ID}/bibtex", f"/papers/{JS_ID}/graph.json", "/static/paperkg.css",
          "/static/paperkg.js"]
PAGES = ["/", "/no/such/page", f"/papers/{JS_ID}", "/search?year_from=abc"]


@pytest.mark.parametrize("url", STRICT + PAGES)
def test_every_response_has_the_security_headers(client: FlaskClient, url: str) -> None:
    response = client.get(url)
    assert response.headers["X-Content-Type-Options"] == "nosniff", url
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "no-referrer"  # the URL holds the user's query
    csp = response.headers["Content-Security-Policy"]
    if url in PAGES:
        assert response.mimetype == "text/html" and csp == WEB_CSP
    else:
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "'self'" not in csp


def test_bibtex_is_never_sniffed_as_html(client: FlaskClient) -> None:
    response = client.get(f"/api/papers/{JS_ID}/bibtex")
    assert response.mimetype == "text/x-bibtex" and response.headers["X-Content-Type-Options"] == "nosniff"


# -- bidi controls in rendered lines --------------------------------------------------------------
class BidiCheck(HTMLParser):
    """Where text holding a bidi control sits: inside a <bdi> (its full text recorded), or not."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.bdi_texts: list[str] = []
        self._open_bdi: list[list[str]] = []
        self.exposed: list[tuple[list[str], str]] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("br", "input", "meta", "link", "img", "hr"):
            return
        self.stack.append(tag)
        if tag == "bdi":
            self._open_bdi.append([])

    def handle_endtag(self, tag: str) -> None:
        if tag in self.stack:
            while self.stack and self.stack.pop() != tag:
                pass
        if tag == "bdi" and self._open_bdi:
            self.bdi_texts.append("".join(self._open_bdi.pop()))

    def handle_data(self, data: str) -> None:
        for parts in self._open_bdi:
            parts.append(data)
        if RLO in data and not self._open_bdi and "title" not in self.stack:
            self.exposed.append((list(self.stack), data))


@pytest.mark.parametrize("url", [
    "/search?q=patching+heads&mode=keyword", f"/papers/{JS_ID}", "/papers/plain-patching",
    "/techniques/activation_patching", "/new?since=2000-01-01", f"/papers/{JS_ID}/graph",
])
def test_stored_text_is_isolated_in_bdi(client: FlaskClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    check = BidiCheck(html)
    assert RLO in html, "the page shows the hostile paper"
    assert check.exposed == [], check.exposed
    # Each isolate holds one stored string (or its shortened form), never the line's other data.
    stored = (AUTHOR, VENUE, TITLE, f"we patch {RLO}heads")
    for text in check.bdi_texts:
        if RLO in text:
            assert any(s.startswith(text.strip().rstrip("…").strip()) for s in stored), repr(text)
    title = html.split("<title>")[1].split("</title>")[0]
    if RLO in title:  # <title> holds text only: first strong isolate ... pop directional isolate
        assert f"\u2068{TITLE}\u2069" in title, repr(title)


# -- the web form's numbers and lists ----------------------------------------------------------------
@pytest.mark.parametrize("year", ["２０２０", "2_020", "٢٠٢٠", "2020.0"])
def test_the_form_takes_years_in_ascii_digits_only(client: FlaskClient, year: str) -> None:
    response = client.get("/search", query_string={"q": "heads", "year_from": year})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "digits 0–9" in html and 'aria-invalid="true"' in html
    api = client.get("/api/search", query_string={"q": "heads", "year_from": year, "mode": "keyword"})
    assert api.status_code == 400  # the API and the form agree
    assert client.get("/search", query_string={"q": "heads", "year_from": " 2020 "}).status_code == 200


def test_the_form_refuses_too_many_filter_values_as_the_api_does(client: FlaskClient) -> None:
    taxonomy = load_taxonomy()
    ids = [n.id for n in taxonomy.nodes if n.label in (Label.TECHNIQUE, Label.EVALUATION)]
    # More than the old silent cut of 20, within the limit: every value is kept.
    kept = ids[:25]
    assert len(kept) == 25
    response = client.get("/search", query_string=[("technique", t) for t in kept])
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert all(f'<option value="{t}" selected>' in html for t in kept)
    too_many = (ids * MAX_FILTER_VALUES)[:MAX_FILTER_VALUES + 1]  # repeats count, as in the API
    response = client.get("/search", query_string=[("technique", t) for t in too_many])
    assert response.status_code == 400
    assert f"at most {MAX_FILTER_VALUES}" in response.get_data(as_text=True)
    api = client.get("/api/search", query_string=[("technique", t) for t in too_many])
    assert api.status_code == 400 and f"at most {MAX_FILTER_VALUES}" in api.get_json()["error"]["message"]
    response = client.get("/search", query_string=[("source", "list")] * (MAX_FILTER_VALUES + 1))
    assert response.status_code == 400
    assert f"Source filter: at most {MAX_FILTER_VALUES} values allowed" in response.get_data(as_text=True)



# -- the New page's `since`: the API's rule ---------------------------------------------------------
@pytest.mark.parametrize("since", ["2024-01-31xyz", "2024-01-31T12:00", "20240131", "2024-W05-3",
                                   "0001-01-01T00:00:00+00:01", "9999-12-31T23:59:59-01:00"])
def test_the_new_page_takes_since_values_as_the_api_does(client: FlaskClient, since: str) -> None:
    """The page read the first 10 characters ("2024-01-31xyz" was taken as 2024-01-31); the API refuses
    what the page refuses, and a moment outside the datetime range is a 400 page, not a 500."""
    response = client.get("/new", query_string={"since": since})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "is not a date paperkg can read" in html and "from 0001-01-01 to 9999-12-31 in UTC" in html
    assert "Showing the default week instead." in html
    assert client.get("/api/new", query_string={"since": since}).status_code == 400


def test_the_new_page_takes_an_rfc3339_timestamp_as_the_api_does(client: FlaskClient) -> None:
    response = client.get("/new", query_string={"since": "2000-01-01T12:00:00+02:00"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "New since 2000-01-01T12:00:00+02:00" in html and 'value="2000-01-01"' in html
    assert RLO in html  # the papers stored since then are shown
    # A form field is trimmed, as the year fields are; a blank one is the default week.
    assert client.get("/new", query_string={"since": " 2000-01-01 "}).status_code == 200
    blank = client.get("/new", query_string={"since": "  "})
    assert blank.status_code == 200 and "in the last 7 days" in blank.get_data(as_text=True)


@pytest.mark.parametrize(("published", "expected"), [
    ("0001-01-01T00:00:00+00:01", "1970-01-01T00:00:00Z"),  # before year 1 in UTC: OverflowError before
    ("9999-12-31T23:59:59-01:00", "1970-01-01T00:00:00Z"),
    ("0999-05-01", "0999-05-01T00:00:00Z"),  # "999-05-01T00:00:00Z" before: not RFC 3339
    ("2024-02-03T12:00:00+02:00", "2024-02-03T10:00:00Z"),
])
def test_feed_timestamps_of_stored_dates_at_the_ends_of_the_range(published: str, expected: str) -> None:
    from api.feeds import build_feed

    paper = Paper(id="edge", title="Edge", published=published, first_seen="2024-05-01T00:00:00.000000+00:00")
    body = build_feed([paper], self_url="http://localhost/feeds/new.atom", site_url="http://localhost/")
    assert f"<published>{expected}</published>".encode() in body
    assert not feedparser.parse(body).bozo
