"""Errors (api/errors.py): the API, feeds and health checks answer JSON, never an HTML page; a damaged
store is a 503 naming the problem."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from markupsafe import escape

from api.app import close_app, create_app
from api.errors import store_error_text
from kg.store import LockHeld, NoStore, StoreDamaged, StoreError, StoreUnavailable
from tests.api.conftest import BrokenStore, app_config
from tests.embedders import HashEmbedder
from tests.kg.test_embedded_durability import STORE_FILE, damage_papers_table, seeded_store


def test_a_damaged_store_is_a_503_naming_the_problem(tmp_path: Path) -> None:
    data = tmp_path / "data"
    seeded_store(data / STORE_FILE)
    damage_papers_table(data / STORE_FILE)
    app = create_app(app_config(data))
    client = app.test_client()
    for url in ("/api/search?q=induction&mode=keyword", "/api/papers/2301.00001"):
        response = client.get(url)
        assert response.status_code == 503, url
        error = response.get_json()["error"]
        assert error["code"] == "store_damaged"
        assert "damaged" in error["message"] and "backup" in error["message"]
        assert str(data) not in error["message"]  # the file's path is for the server log only
    # A web page says the same, not "try again in a minute" (retrying cannot help).
    page = client.get("/search?q=induction&mode=keyword")
    assert page.status_code == 503
    text = page.get_data(as_text=True)
    assert "The graph store is damaged" in text and "restore it from a backup" in text
    assert "Try again in a minute" not in text and str(data) not in text
    close_app(app)


def test_no_html_error_pages_under_api(client: FlaskClient) -> None:
    for response in (client.get("/api/"), client.get("/api/papers/"), client.put("/api/papers/x"),
                     client.get("/feeds/missing.atom"), client.post("/healthz")):
        assert response.content_type.startswith("application/json"), response.get_data(as_text=True)[:200]
        assert response.get_json()["error"]["message"]


@pytest.mark.parametrize(("error", "code", "level"), [
    (NoStore("no paperkg store in /srv/typo"), "store_unavailable", logging.WARNING),
    (StoreUnavailable("connection refused"), "store_unavailable", logging.WARNING),
    (StoreDamaged("/srv/data/paperkg.sqlite3: file is not a database"), "store_damaged", logging.ERROR),
    (LockHeld("lock 'ingest' held by host:1"), "store_unavailable", logging.WARNING),
    (StoreError("the query failed"), "store_unavailable", logging.WARNING),
])
def test_a_store_error_is_worded_once_for_pages_and_json(
    error: StoreError, code: str, level: int, caplog: pytest.LogCaptureFixture
) -> None:
    """The web blueprint and the app-wide handlers say the same thing: the page is the JSON message as
    text (no Markdown backticks, first letter upper-cased, nothing else changed); the exception's own
    text (server paths) goes to the log only, a damaged store at ERROR and the others at WARNING."""
    text = store_error_text(error)
    assert text.json_code == code
    plain = text.json_message.replace("`", "")
    assert text.page_message == f"{plain[0].upper()}{plain[1:]}." and "`" not in text.page_message
    app = create_app({"STORE": BrokenStore(error), "EMBEDDER": HashEmbedder(), "TESTING": True})
    client = app.test_client()
    for url in ("/api/stats", "/api/search?q=heads&mode=keyword", "/feeds/new.atom"):
        caplog.clear()
        response = client.get(url)
        assert response.status_code == 503, url
        assert response.get_json()["error"] == {"code": code, "message": text.json_message}, url
        assert [(r.levelno, r.getMessage()) for r in caplog.records if str(error) in r.getMessage()] == [
            (level, f"store error on GET {url.split('?')[0]}: {error}")], url
    for url in ("/search?q=heads", "/techniques", "/new"):
        caplog.clear()
        response = client.get(url)
        assert response.status_code == 503, url
        shown = response.get_data(as_text=True).split("<main")[1]
        assert text.heading in shown and str(escape(text.page_message)) in shown, url
        assert "`" not in shown and str(error) not in shown, url
        assert [r.levelno for r in caplog.records if str(error) in r.getMessage()] == [level], url
    fragment = client.get("/search?q=heads&fragment=1")
    assert fragment.status_code == 503
    assert str(escape(text.page_message)) in fragment.get_data(as_text=True)


def test_a_store_error_logs_the_path_escaped(caplog: pytest.LogCaptureFixture) -> None:
    """A decoded %0A or %1B in the path forged a second log line ("FORGED2") or sent an escape sequence to
    the terminal reading the log: the path is logged percent-encoded, and cut."""
    error = StoreDamaged("/srv/data/paperkg.sqlite3: file is not a database")
    app = create_app({"STORE": BrokenStore(error), "EMBEDDER": HashEmbedder(), "TESTING": True})
    client = app.test_client()
    for url, logged in [("/api/techniques/x%0aFORGED2%1b%5B31m%E2%80%AE",
                         "/api/techniques/x%0AFORGED2%1B%5B31m%E2%80%AE"),
                        ("/techniques/x%0d%0aFORGED", "/techniques/x%0D%0AFORGED"),
                        ("/api/techniques/" + "A" * 6000, "/api/techniques/" + "A" * 184 + "…")]:
        caplog.clear()
        assert client.get(url).status_code == 503, url
        messages = [r.getMessage() for r in caplog.records if str(error) in r.getMessage()]
        assert messages == [f"store error on GET {logged}: {error}"], url
        assert not any(c in messages[0] for c in "\n\r\x1b\u202e"), repr(messages[0])


def test_an_api_404_or_405_echoes_at_most_200_characters_of_the_path(client: FlaskClient) -> None:
    """DELETE /api/papers/<6000×A> answered a 6,103-byte body: the path is cut as the web pages cut it."""
    long_id = "A" * 6000
    for response, start in [(client.delete(f"/api/papers/{long_id}"), "method DELETE not allowed on "),
                            (client.get(f"/api/nope{long_id}"), "no such resource: "),
                            (client.get(f"/api/techniques/sae/{long_id}"), "no such resource: ")]:
        message = response.get_json()["error"]["message"]
        assert message.startswith(start + ("/api/papers/" if "DELETE" in start else "/api/")), message[:300]
        shown = message[len(start):].split(";")[0]
        assert len(shown) == 201 and shown.endswith("A…"), shown
        assert len(response.get_data()) < 1000
    page = client.get(f"/nope{long_id}")
    assert page.status_code == 404
    assert f"/nope{'A' * 195}…" in page.get_data(as_text=True)


def test_the_no_store_advice_checks_the_data_dir_before_creating_a_store() -> None:
    """A mistyped PAPERKG_DATA_DIR is the likelier cause: `paperkg init` there alone would make a second,
    empty store. The page keeps the setting's name as written (str.capitalize() lowercased it)."""
    text = store_error_text(NoStore("no paperkg store in /srv/typo"))
    advice = "(the server log names the directory) or run {}paperkg init{} and an ingest there"
    assert text.json_message == ("there is no graph store here: the operator must check PAPERKG_DATA_DIR "
                                 + advice.format("`", "`"))
    assert text.page_message == ("There is no graph store here: the operator must check PAPERKG_DATA_DIR "
                                 + advice.format("", "") + ".")


def test_a_405_page_names_the_allowed_methods_as_the_api_does(client: FlaskClient) -> None:
    """QA: the HTML 405 (POST /search) had no Allow header; the API's 405s have one."""
    page = client.post("/search")
    assert page.status_code == 405 and page.mimetype == "text/html"
    assert set(page.headers["Allow"].split(", ")) >= {"GET", "HEAD"}
    assert client.delete("/api/search").headers["Allow"] == page.headers["Allow"]


@pytest.mark.parametrize(("path", "technique"), [
    ("/api/techniques/sae/papers", "/api/techniques/sae"),
    ("/api/techniques/activation_patching/papers?limit=5", "/api/techniques/activation_patching"),
    ("/api/techniques/sae/", "/api/techniques/sae"),  # the route has no trailing slash
    ("/api/techniques/no%20such/papers/all", "/api/techniques/no%20such"),  # a path to paste, as given
])
def test_a_404_under_a_technique_says_where_its_papers_are(client: FlaskClient, path: str,
                                                           technique: str) -> None:
    """QA: GET /api/techniques/sae/papers (a guess at a technique's papers) answered only "no such
    resource"; the papers are the technique's own route's `papers.results`."""
    response = client.get(path)
    assert response.status_code == 404
    asked = path.split("?", 1)[0].replace("%20", " ")  # request.path: decoded, no query string
    assert response.get_json()["error"]["message"] == (
        f"no such resource: {asked}; a technique's papers are under {technique} (papers.results)")
    if technique == "/api/techniques/sae":
        pointed = client.get(technique)
        assert pointed.status_code == 200 and pointed.get_json()["papers"]["results"]


@pytest.mark.parametrize("path", ["/api/topics/superposition/papers", "/api/technique/sae/papers",
                                  "/api/sections/x/papers", "/api/nope"])
def test_other_404s_under_the_api_only_name_the_path(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.get_json()["error"]["message"] == f"no such resource: {path}"


def test_a_404_page_is_paperkgs_own(client: FlaskClient) -> None:
    """Copy edit: /nonexistent showed Werkzeug's "The requested URL was not found on the server. If you
    entered the URL manually please check your spelling and try again." Now the path (escaped, isolated)
    and the page's links to the search and the taxonomy."""
    response = client.get("/nonexistent<b>")
    assert response.status_code == 404
    main = response.get_data(as_text=True).split("<main", 1)[1]
    assert "requested URL" not in main and "check your spelling" not in main
    assert "<p>No page at <bdi>/nonexistent&lt;b&gt;</bdi>.</p>" in main
    assert '<a href="/search">Search papers</a>' in main
    assert '<a href="/techniques">browse techniques</a>' in main


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("post", "/search", "GET"), ("delete", "/techniques", "GET"), ("put", "/about", "GET"),
])
def test_a_405_page_says_which_method_to_use(client: FlaskClient, method: str, path: str,
                                             allowed: str) -> None:
    """Copy edit: POST /search showed Werkzeug's "The method is not allowed for the requested URL."."""
    response = getattr(client, method)(path)
    assert response.status_code == 405
    main = response.get_data(as_text=True).split("<main", 1)[1]
    assert "requested URL" not in main
    assert (f"<p>The page at <bdi>{path}</bdi> does not answer {method.upper()} requests; use "
            f"{allowed}.</p>") in main


@pytest.mark.parametrize(("method", "path", "use"), [
    ("delete", "/api/search", "GET"), ("get", "/api/recommend", "POST"), ("get", "/api/resolve", "POST"),
    ("delete", "/api/bibtex", "GET or POST"), ("post", "/api/techniques/sae", "GET"),
])
def test_an_api_405_says_which_method_to_use(client: FlaskClient, method: str, path: str, use: str) -> None:
    """Copy edit: "method DELETE not allowed on /api/search" named no method that is; now "; use GET", from
    the route's Allow header (HEAD and OPTIONS, answered on every such path, left out)."""
    response = getattr(client, method)(path)
    assert response.status_code == 405 and "Allow" in response.headers
    assert response.get_json()["error"] == {
        "code": "method_not_allowed", "message": f"method {method.upper()} not allowed on {path}; use {use}"}


def test_an_unexpected_error_logs_the_path_escaped(caplog: pytest.LogCaptureFixture) -> None:
    """The 500 handler's log line names the path as the store-error one does: percent-encoded and cut, so
    a %0A in the URL forges no second log line and a %1B sends no escape sequence."""
    app = create_app({"STORE": BrokenStore(RuntimeError("boom")), "EMBEDDER": HashEmbedder()})
    client = app.test_client()
    for url, logged in [("/api/techniques/x%0aFORGED%1b%5B31m", "/api/techniques/x%0AFORGED%1B%5B31m"),
                        ("/techniques/" + "B" * 6000, "/techniques/" + "B" * 188 + "…")]:
        caplog.clear()
        assert client.get(url).status_code == 500, url
        messages = [r.getMessage() for r in caplog.records if r.getMessage().startswith("unhandled error")]
        assert messages == [f"unhandled error on GET {logged}"], url
