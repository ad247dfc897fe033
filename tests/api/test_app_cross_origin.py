"""Another site's use of the API and feed (QA: a lab's own website fetching paperkg data): CORS for the
origins PAPERKG_CORS_ORIGINS lists, framing of the pages by PAPERKG_FRAME_ANCESTORS, ETags and 304s on
the JSON answers, and the data CSP on the API's automatic OPTIONS answer. Real app, real SQLite store
(the plumbing papers), Flask's test client and a real HTTP server."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from api.app import DATA_CSP, WEB_CSP, create_app
from kg.config import load_config
from kg.embedded import EmbeddedStore
from tests.api.conftest import serving
from tests.embedders import HashEmbedder

LAB = "https://lab.example.org"
OTHER = "https://evil.example"
# GETs another site reads (the QA tester's list), each answered 200 by the plumbing store.
READ_URLS = ["/api/search?q=sparse&mode=keyword", "/api/techniques/sae", "/api/new", "/feeds/new.atom"]
JSON_GETS = ["/api/search?q=sparse&mode=keyword", "/api/techniques/sae", "/api/new?since=2000-01-01",
             "/api/papers/2401.00001", "/api/stats", "/api/topics"]


def client_for(store: EmbeddedStore, tmp: Path, **env: str) -> FlaskClient:
    """A test client of an app on `store` whose PAPERKG_* settings are `env` (nothing from os.environ)."""
    config = load_config(env={"PAPERKG_DATA_DIR": str(tmp), **env})
    app = create_app({"TESTING": True, "PAPERKG_CONFIG": config, "STORE": store, "EMBEDDER": HashEmbedder()})
    return app.test_client()


@pytest.fixture(scope="module")
def lab_client(plumbing_store: EmbeddedStore, tmp_path_factory: pytest.TempPathFactory) -> FlaskClient:
    """CORS for the lab's site and a local one."""
    return client_for(plumbing_store, tmp_path_factory.mktemp("cors"),
                      PAPERKG_CORS_ORIGINS=f"{LAB}, http://127.0.0.1:8080")


@pytest.fixture(scope="module")
def default_client(plumbing_store: EmbeddedStore, tmp_path_factory: pytest.TempPathFactory) -> FlaskClient:
    """No CORS or framing setting: the defaults."""
    return client_for(plumbing_store, tmp_path_factory.mktemp("no-cors"))


def preflight(origin: str, method: str, headers: str = "content-type") -> dict[str, str]:
    """The headers of a browser's preflight for a `method` request from `origin` sending `headers`."""
    return {"Origin": origin, "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": headers}


def cors_headers(headers: Any) -> dict[str, str]:
    """The Access-Control-* headers of a response."""
    return {name: value for name, value in headers.items() if name.lower().startswith("access-control-")}


# -- CORS -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("url", READ_URLS)
def test_a_listed_origin_may_read_the_api_and_feed(lab_client: FlaskClient, url: str) -> None:
    response = lab_client.get(url, headers={"Origin": LAB})
    assert response.status_code == 200, url
    assert response.headers["Access-Control-Allow-Origin"] == LAB
    assert "Origin" in response.vary  # a cache must not hand this answer to another origin
    assert "ETag" in response.headers["Access-Control-Expose-Headers"]
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_each_listed_origin_gets_its_own_name_back(lab_client: FlaskClient) -> None:
    response = lab_client.get("/api/stats", headers={"Origin": "http://127.0.0.1:8080"})
    assert response.headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:8080"


@pytest.mark.parametrize("origin", [OTHER, "null", "https://lab.example.org.evil.example", "http://lab.example.org",
                                    "https://lab.example.org:8443", f"{LAB}, {OTHER}", None])
def test_another_origin_gets_no_cors_header(lab_client: FlaskClient, origin: str | None) -> None:
    headers = {} if origin is None else {"Origin": origin}
    for url in READ_URLS:
        response = lab_client.get(url, headers=headers)
        assert response.status_code == 200 and cors_headers(response.headers) == {}, (url, origin)
        assert "Origin" in response.vary, url  # the answer still depends on who asks


def test_the_pages_and_health_checks_get_no_cors_header(lab_client: FlaskClient) -> None:
    for url in ("/", "/search?q=sparse", "/techniques/sae", "/healthz", "/static/paperkg.js"):
        response = lab_client.get(url, headers={"Origin": LAB})
        assert cors_headers(response.headers) == {}, url


def test_an_error_answer_is_readable_by_a_listed_origin(lab_client: FlaskClient) -> None:
    # The page's script can then show the API's message, not a bare network error.
    response = lab_client.get("/api/papers/no-such-paper", headers={"Origin": LAB})
    assert response.status_code == 404 and response.headers["Access-Control-Allow-Origin"] == LAB
    assert response.get_json()["error"]["code"] == "not_found"


def test_a_preflight_of_a_json_post_is_answered(lab_client: FlaskClient) -> None:
    response = lab_client.options("/api/recommend", headers=preflight(LAB, "POST"))
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == LAB
    assert response.headers["Access-Control-Allow-Methods"] == "POST"
    assert "content-type" in response.headers["Access-Control-Allow-Headers"].lower()
    assert int(response.headers["Access-Control-Max-Age"]) > 0
    assert "Access-Control-Allow-Credentials" not in response.headers
    assert response.headers["Content-Security-Policy"] == DATA_CSP
    post = lab_client.post("/api/recommend", json={"liked": ["2401.00001"]}, headers={"Origin": LAB})
    assert post.status_code == 200 and post.headers["Access-Control-Allow-Origin"] == LAB


def test_a_preflight_names_the_methods_of_its_route(lab_client: FlaskClient) -> None:
    response = lab_client.options("/api/techniques/sae", headers=preflight(LAB, "GET", "if-none-match"))
    assert response.status_code == 200
    assert set(response.headers["Access-Control-Allow-Methods"].split(", ")) == {"GET", "HEAD"}
    assert "if-none-match" in response.headers["Access-Control-Allow-Headers"].lower()


def test_a_preflight_from_another_origin_gets_no_cors_header(lab_client: FlaskClient) -> None:
    response = lab_client.options("/api/recommend", headers=preflight(OTHER, "POST"))
    assert cors_headers(response.headers) == {}


def test_a_preflight_of_no_route_allows_nothing(lab_client: FlaskClient) -> None:
    response = lab_client.options("/api/no/such/route", headers={
        "Origin": LAB, "Access-Control-Request-Method": "GET"})
    assert response.status_code == 404 and "Access-Control-Allow-Methods" not in response.headers


def test_no_setting_sends_no_cors_header(default_client: FlaskClient) -> None:
    for url in READ_URLS:
        response = default_client.get(url, headers={"Origin": LAB})
        assert response.status_code == 200 and cors_headers(response.headers) == {}, url
    asked = default_client.options("/api/recommend", headers=preflight(LAB, "POST"))
    assert cors_headers(asked.headers) == {}


def test_any_origin_when_the_setting_is_a_star(plumbing_store: EmbeddedStore, tmp_path: Path) -> None:
    client = client_for(plumbing_store, tmp_path, PAPERKG_CORS_ORIGINS="*")
    for origin in (LAB, OTHER):
        response = client.get("/api/stats", headers={"Origin": origin})
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert "Origin" not in response.vary  # the same answer for everyone: caches may share it
        assert "Access-Control-Allow-Credentials" not in response.headers
    assert cors_headers(client.get("/about", headers={"Origin": LAB}).headers) == {}


# -- the API's automatic OPTIONS answer is data, not a page ------------------------------------------
@pytest.mark.parametrize("url", ["/api/search", "/api/recommend", "/feeds/new.atom", "/healthz"])
def test_an_options_answer_of_the_api_gets_the_data_csp(default_client: FlaskClient, url: str) -> None:
    response = default_client.options(url)
    assert response.status_code == 200 and response.mimetype == "text/html"  # Flask's automatic answer
    assert response.headers["Content-Security-Policy"] == DATA_CSP
    assert response.headers["X-Frame-Options"] == "DENY"


def test_an_options_answer_of_a_page_keeps_the_web_csp(default_client: FlaskClient) -> None:
    assert default_client.options("/search").headers["Content-Security-Policy"] == WEB_CSP


# -- framing -------------------------------------------------------------------------------------------
def test_pages_are_framed_by_nobody_by_default(default_client: FlaskClient) -> None:
    response = default_client.get("/about")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Content-Security-Policy"] == WEB_CSP and "frame-ancestors 'none'" in WEB_CSP


def test_listed_frame_ancestors_may_frame_the_pages(plumbing_store: EmbeddedStore, tmp_path: Path) -> None:
    client = client_for(plumbing_store, tmp_path,
                        PAPERKG_FRAME_ANCESTORS=f"{LAB},http://127.0.0.1:8080")
    for url in ("/", "/about", "/techniques/sae", "/no/such/page"):
        response = client.get(url)
        assert response.mimetype == "text/html", url
        csp = response.headers["Content-Security-Policy"]
        listed = f"frame-ancestors {LAB} http://127.0.0.1:8080"
        assert csp.endswith(listed), (url, csp)
        assert csp.replace(listed, "frame-ancestors 'none'") == WEB_CSP  # the rest of the policy as ever
        # It can name one origin only, and DENY would win in browsers that read it first.
        assert "X-Frame-Options" not in response.headers, url
    for url in ("/api/stats", "/feeds/new.atom", "/static/paperkg.css"):
        response = client.get(url)  # data is framed nowhere, whatever the setting
        assert response.headers["Content-Security-Policy"] == DATA_CSP, url
        assert response.headers["X-Frame-Options"] == "DENY", url


# -- ETag and 304 on the JSON answers ------------------------------------------------------------------
@pytest.mark.parametrize("url", JSON_GETS)
def test_a_json_get_has_a_strong_etag_and_answers_304(default_client: FlaskClient, url: str) -> None:
    first = default_client.get(url)
    etag = first.headers["ETag"]
    assert first.status_code == 200 and first.is_json
    assert etag.startswith('"') and not etag.startswith("W/")  # strong
    # Kept by the browser only (a query in the URL is the user's own, not a shared proxy's to keep), and
    # asked about before each reuse.
    assert first.headers["Cache-Control"] == "private, no-cache"
    again = default_client.get(url)
    assert again.headers["ETag"] == etag and again.get_data() == first.get_data()  # deterministic
    cached = default_client.get(url, headers={"If-None-Match": etag})
    assert cached.status_code == 304 and cached.get_data() == b""
    assert cached.headers["ETag"] == etag
    head = default_client.head(url, headers={"If-None-Match": etag})
    assert head.status_code == 304
    stale = default_client.get(url, headers={"If-None-Match": '"something-else"'})
    assert stale.status_code == 200 and stale.get_data() == first.get_data()


def test_etags_differ_with_the_answer(default_client: FlaskClient) -> None:
    one = default_client.get("/api/techniques/sae").headers["ETag"]
    other = default_client.get("/api/techniques/probing").headers["ETag"]
    assert one != other


def test_errors_posts_bibtex_and_status_get_no_etag(default_client: FlaskClient) -> None:
    for response in (default_client.get("/api/papers/no-such-paper"),
                     default_client.get("/api/search?year_from=abc"),
                     default_client.post("/api/recommend", json={"liked": ["2401.00001"]}),
                     default_client.get("/api/papers/2401.00001/bibtex")):
        assert "ETag" not in response.headers, response.request.path
        assert "Cache-Control" not in response.headers, response.request.path
    status = default_client.get("/api/status")
    assert status.headers["Cache-Control"] == "no-store" and "ETag" not in status.headers


def test_the_feed_keeps_its_own_single_etag(lab_client: FlaskClient) -> None:
    response = lab_client.get("/feeds/new.atom", headers={"Origin": LAB})
    assert len(response.headers.getlist("ETag")) == 1
    assert response.headers.getlist("Cache-Control") == ["max-age=300"]
    etag = response.headers["ETag"]
    cached = lab_client.get("/feeds/new.atom", headers={"Origin": LAB, "If-None-Match": etag})
    assert cached.status_code == 304 and cached.headers["Access-Control-Allow-Origin"] == LAB


def test_a_304_is_readable_by_a_listed_origin(lab_client: FlaskClient) -> None:
    etag = lab_client.get("/api/stats", headers={"Origin": LAB}).headers["ETag"]
    cached = lab_client.get("/api/stats", headers={"Origin": LAB, "If-None-Match": etag})
    assert cached.status_code == 304 and cached.headers["Access-Control-Allow-Origin"] == LAB
    assert "Origin" in cached.vary and cached.headers["Cache-Control"] == "private, no-cache"


@pytest.mark.parametrize("url", ["/api/stats", "/api/search?q=sparse&mode=keyword"])
def test_a_304_to_another_origin_is_not_readable_and_varies(lab_client: FlaskClient, url: str) -> None:
    """A cache keyed on Origin must not hand this 304 (no CORS header) to a listed origin, nor the
    listed origin's answer to this one."""
    etag = lab_client.get(url, headers={"Origin": OTHER}).headers["ETag"]
    cached = lab_client.get(url, headers={"Origin": OTHER, "If-None-Match": etag})
    assert cached.status_code == 304 and cached.get_data() == b""
    assert cors_headers(cached.headers) == {}
    assert "Origin" in cached.vary


@pytest.mark.parametrize("url", ["/api/search?q=sparse&mode=keyword", "/api/papers/2401.00001/related",
                                 "/api/stats"])
def test_no_shared_cache_may_keep_a_json_answer(default_client: FlaskClient, url: str) -> None:
    """The query in a search's URL is the user's own (Referrer-Policy: no-referrer): a proxy's cache
    must not keep the answer, which "no-cache" alone allows."""
    response = default_client.get(url)
    assert response.status_code == 200, url
    directives = [d.strip() for d in response.headers["Cache-Control"].split(",")]
    assert "private" in directives and "no-cache" in directives and "public" not in directives


# -- over real HTTP --------------------------------------------------------------------------------------
def test_cors_and_304_over_a_real_server(plumbing_store: EmbeddedStore, tmp_path: Path) -> None:
    config = load_config(env={"PAPERKG_DATA_DIR": str(tmp_path), "PAPERKG_CORS_ORIGINS": LAB})
    app = create_app({"PAPERKG_CONFIG": config, "STORE": plumbing_store, "EMBEDDER": HashEmbedder()})
    with serving(app) as port:
        url = f"http://127.0.0.1:{port}/api/techniques/sae"
        with urllib.request.urlopen(urllib.request.Request(url, headers={"Origin": LAB})) as answer:
            assert answer.headers["Access-Control-Allow-Origin"] == LAB
            etag = answer.headers["ETag"]
            assert json.loads(answer.read())["id"] == "sae"
        with pytest.raises(urllib.error.HTTPError) as not_modified:
            urllib.request.urlopen(urllib.request.Request(url, headers={"If-None-Match": etag}))
        assert not_modified.value.code == 304
        asked = urllib.request.Request(url.replace("techniques/sae", "recommend"), method="OPTIONS",
                                       headers=preflight(LAB, "POST"))
        with urllib.request.urlopen(asked) as answer:
            assert answer.headers["Access-Control-Allow-Methods"] == "POST"
            assert answer.headers["Content-Security-Policy"] == DATA_CSP


def test_a_conditional_answer_has_one_date_over_a_real_server(
    plumbing_store: EmbeddedStore, tmp_path: Path
) -> None:
    """QA: make_conditional's Date and the development server's own made two Date headers on every JSON
    GET and on the feed."""
    config = load_config(env={"PAPERKG_DATA_DIR": str(tmp_path)})
    app = create_app({"PAPERKG_CONFIG": config, "STORE": plumbing_store, "EMBEDDER": HashEmbedder()})
    with serving(app) as port:
        for path in ("/api/stats", "/feeds/new.atom", "/about"):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}") as answer:
                assert len(answer.headers.get_all("Date") or []) == 1, path


def test_listed_frame_ancestors_reach_a_page_over_a_real_server(
    plumbing_store: EmbeddedStore, tmp_path: Path
) -> None:
    """The setting goes into a header the server encodes as latin-1: every origin it takes must get
    through (a non-ASCII host once closed the connection with no answer, for every page)."""
    config = load_config(env={"PAPERKG_DATA_DIR": str(tmp_path),
                              "PAPERKG_FRAME_ANCESTORS": "HTTPS://Lab.Example.ORG:443,http://127.0.0.1:8080,"
                                                         "https://xn--bcher-kva.example"})
    app = create_app({"PAPERKG_CONFIG": config, "STORE": plumbing_store, "EMBEDDER": HashEmbedder()})
    with serving(app) as port, urllib.request.urlopen(f"http://127.0.0.1:{port}/about") as answer:
        assert answer.status == 200 and b"</html>" in answer.read()
        csp = answer.headers["Content-Security-Policy"]
    assert csp.endswith("frame-ancestors https://lab.example.org http://127.0.0.1:8080 "
                        "https://xn--bcher-kva.example"), csp
