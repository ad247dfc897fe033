"""The web UI served under a sub-path, as behind nginx's
`location /paperkg/ { proxy_pass http://127.0.0.1:PORT; }` to a gunicorn started with SCRIPT_NAME=/paperkg:
every link, form, script, stylesheet and URL a script reads from the page stays under /paperkg/ and answers
there; served at the root, the pages are the same without it.

A real werkzeug server over the plumbing store (HashEmbedder), behind the prefix handling gunicorn does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
import requests
from flask import Flask

from api.app import create_app
from kg.embedded import EmbeddedStore
from tests.api.conftest import app_config, serving
from tests.api.test_web import Inspector
from tests.embedders import HashEmbedder

PREFIX = "/paperkg"
PAPER = "2401.00001"  # a plumbing paper with a technique (so its page has chips, related papers, a graph)

PAGES = ["/", "/search?q=sparse+autoencoders", f"/papers/{PAPER}", "/techniques", "/techniques/sae",
         "/new?since=2000-01-01", "/for-you", "/about", f"/papers/{PAPER}/graph"]

# Attributes that hold a URL the browser loads or follows.
URL_ATTRIBUTES = ("href", "src", "action", "formaction", "poster", "cite", "data")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def under_prefix(app: WSGIApp, prefix: str) -> WSGIApp:
    """`app` as gunicorn serves it with SCRIPT_NAME=`prefix` behind a proxy that passes only the prefix's
    paths, unstripped: the prefix moves from PATH_INFO to SCRIPT_NAME; any other path is not this app's
    (the proxy sends it elsewhere): a plain 404."""
    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path != prefix and not path.startswith(prefix + "/"):
            start_response("404 Not Found", [("Content-Type", "text/html")])
            return [b"<html><body><h1>404 Not Found</h1><hr>nginx</body></html>"]
        environ["SCRIPT_NAME"] = prefix
        environ["PATH_INFO"] = path[len(prefix):]
        return app(environ, start_response)

    return wsgi


@pytest.fixture(scope="module")
def prefix_app(plumbing_store: EmbeddedStore, tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """An app over the plumbing store."""
    return create_app(app_config(tmp_path_factory.mktemp("api-prefix"), STORE=plumbing_store,
                                 EMBEDDER=HashEmbedder()))


@pytest.fixture(scope="module")
def prefixed(prefix_app: Flask) -> Iterator[str]:
    """The app's base URL under /paperkg on a real server (e.g. http://127.0.0.1:PORT/paperkg)."""
    with serving(under_prefix(prefix_app, PREFIX)) as port:  # type: ignore[arg-type]
        yield f"http://127.0.0.1:{port}{PREFIX}"


@pytest.fixture(scope="module")
def at_root(prefix_app: Flask) -> Iterator[str]:
    """The same app served at the root of a real server."""
    with serving(prefix_app) as port:
        yield f"http://127.0.0.1:{port}"


def page_urls(html: str) -> list[tuple[str, str, str]]:
    """(tag, attribute, value) of every URL in a page: URL attributes, and data-* attributes that name a URL
    (…-url, …-src) or hold a path a script fetches or fills in."""
    found = []
    for tag, attrs in Inspector(html).elements:
        for name, value in attrs.items():
            is_data_url = name.startswith("data-") and (
                name.endswith(("-url", "-src", "-base")) or (value or "").startswith("/"))
            if name in URL_ATTRIBUTES or is_data_url:
                found.append((tag, name, value or ""))
    return found


def local(url: str, base: str) -> bool:
    """Whether `url` (absolute) is on the server `base` is on."""
    return urlsplit(url).netloc == urlsplit(base).netloc


def get(url: str) -> requests.Response:
    """A GET that does not follow redirects (their Location is checked too)."""
    return requests.get(url, allow_redirects=False, timeout=60)


@pytest.mark.parametrize("page", PAGES)
def test_every_url_in_a_page_stays_under_the_prefix(prefixed: str, at_root: str, page: str) -> None:
    """A root path (/api/…, /feeds/…, /static/…) would leave the prefix: the proxy sends it to another site
    (here: an HTML 404), so the link, feed, download or the For-you script's POST would fail. Served at the
    root, nothing changes: the page is the prefixed one without the prefix."""
    page_url = prefixed + page
    response = get(page_url)
    assert response.status_code == 200, (page, response.status_code)
    urls = page_urls(response.text)
    assert any(name == "href" for _, name, _ in urls)
    outside = []
    for tag, name, value in urls:
        if value.startswith("#"):
            continue
        resolved = urljoin(page_url, value)
        if not local(resolved, prefixed):
            assert urlsplit(resolved).scheme == "https", (tag, name, value)  # external: arXiv, CC0 …
            continue
        if not urlsplit(resolved).path.startswith(PREFIX + "/"):
            outside.append(f"<{tag} {name}={value!r}>")
    assert not outside, f"{page}: {outside}"

    root = get(at_root + page)
    assert root.status_code == 200
    for tag, name, value in page_urls(root.text):
        resolved = urljoin(at_root + page, value)
        if local(resolved, at_root):
            assert not urlsplit(resolved).path.startswith(PREFIX + "/"), (tag, name, value)
    # Absolute URLs (canonical, og:url) name each server's own origin and prefix.
    assert response.text.replace(prefixed, at_root).replace(f"{PREFIX}/", "/") == root.text


def json_paths(value: Any) -> Iterator[str]:
    """Every string in a JSON value that is a root-relative path."""
    if isinstance(value, dict):
        for item in value.values():
            yield from json_paths(item)
    elif isinstance(value, list):
        for item in value:
            yield from json_paths(item)
    elif isinstance(value, str) and value.startswith("/"):
        yield value


def test_every_local_link_answers_under_the_prefix(prefixed: str) -> None:
    """Each page's local links, scripts and stylesheets are found under the prefix (no 404, no 5xx, and a
    redirect stays under it): the routes the url_for-built URLs name exist there."""
    checked: dict[str, int] = {}
    for page in PAGES:
        page_url = prefixed + page
        for tag, name, value in page_urls(get(page_url).text):
            # For you's patterns, filled in by foryou.js: a paper's id, an author's key.
            value = value.replace("__ID__", PAPER).replace("__KEY__", "ada lovelace")
            resolved = urljoin(page_url, value).split("#")[0]
            if not local(resolved, prefixed) or resolved in checked:
                continue
            if name == "data-recommend-url":
                response = requests.post(resolved, json={"liked": [PAPER], "limit": 5}, timeout=60)
                assert response.headers["Content-Type"].startswith("application/json"), response.text[:200]
                assert "results" in response.json()
            elif name == "data-resolve-url":  # For you: the stars' current ids (POST)
                response = requests.post(resolved, json={"ids": [PAPER]}, timeout=60)
                assert response.json()["results"][0]["current"] == PAPER
            elif name == "data-bibtex-url":  # For you adds the stars' ids
                response = get(f"{resolved}?id={PAPER}")
                assert response.text.startswith("@")
            else:
                response = get(resolved)
            checked[resolved] = response.status_code
            assert response.status_code < 400, (page, tag, name, value, response.status_code)
            if response.is_redirect:
                location = urljoin(resolved, response.headers["Location"])
                assert urlsplit(location).path.startswith(PREFIX + "/"), (value, location)
            if name == "data-graph-src":  # graph.js opens a node's page from the URLs in graph.json
                paths = list(json_paths(response.json()))
                assert paths and all(p.startswith(PREFIX + "/") for p in paths), paths
    wanted = ("/feeds/new.atom", "/api/openapi.json", "/api/recommend", f"/api/papers/{PAPER}/bibtex",
              "/api/resolve", "/api/bibtex",
              f"/papers/{PAPER}/graph.json", "/static/foryou.js")
    for path in wanted:
        assert prefixed + path in checked, path


def test_the_openapi_document_names_the_prefix_as_its_server(prefixed: str, at_root: str) -> None:
    """Review: under a prefix the document's /api/... paths resolved against the host's root (no servers)."""
    document = get(f"{prefixed}/api/openapi.json").json()
    assert document["servers"] == [{"url": "/paperkg"}]
    assert "/api/search" in document["paths"]
    assert "servers" not in get(f"{at_root}/api/openapi.json").json()
