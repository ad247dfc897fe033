"""Another site using paperkg (QA: a lab's own website on another origin), in real headless Chromium: a page
of an origin PAPERKG_CORS_ORIGINS lists reads the API with fetch() (a JSON POST's preflight included) and
its ETag, a page of another origin cannot; PAPERKG_FRAME_ANCESTORS lets the listed origin alone frame the
pages. Three real servers on 127.0.0.1 (paperkg and two sites, each its own origin by its port)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from html import escape
from typing import Any, NamedTuple
from urllib.parse import parse_qs, quote

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from kg.config import load_config
from tests.api.conftest import plumbing_bundles
from tests.e2e.conftest import open_page, serving, wait
from tests.embedders import HashEmbedder
from tests.seed_store import taxonomy_store

pytestmark = [pytest.mark.browser]

# Runs in the page of another site: the answer of fetch(url, init) as JSON-able facts, or the error.
FETCH = """
const [url, init, done] = arguments;
fetch(url, init)
  .then(r => r.json().then(body => done({ok: true, status: r.status, etag: r.headers.get('ETag'),
                                         body: body})))
  .catch(e => done({ok: false, error: String(e)}));
"""


def lab_site(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Another site: a plain page, or at /frame?src=URL a page framing URL."""
    src = parse_qs(environ.get("QUERY_STRING", "")).get("src", [""])[0]
    body = f'<iframe id="framed" src="{escape(src)}" width="800" height="600"></iframe>' if src else "lab"
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
    return [f"<!doctype html><title>lab site</title>{body}".encode()]


class Sites(NamedTuple):
    """The base URLs of the three servers."""

    paperkg: str
    allowed: str  # listed in PAPERKG_CORS_ORIGINS and PAPERKG_FRAME_ANCESTORS
    other: str


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sites]:
    """paperkg over the plumbing papers allowing the first site, and two sites."""
    from api.app import create_app

    folder = tmp_path_factory.mktemp("e2e-cors")
    store = taxonomy_store(folder / "paperkg.sqlite3")
    store.upsert_papers(plumbing_bundles(HashEmbedder()))
    with ExitStack() as stack:
        allowed = stack.enter_context(serving(lab_site, "e2e-lab-site"))
        other = stack.enter_context(serving(lab_site, "e2e-other-site"))
        config = load_config(env={"PAPERKG_DATA_DIR": str(folder), "PAPERKG_CORS_ORIGINS": allowed,
                                  "PAPERKG_FRAME_ANCESTORS": allowed})
        app = create_app({"PAPERKG_CONFIG": config, "STORE": store, "EMBEDDER": HashEmbedder()})
        paperkg = stack.enter_context(serving(app, "e2e-cors-paperkg"))
        yield Sites(paperkg, allowed, other)
    store.close()


def fetch_from(driver: WebDriver, site: str, url: str, init: dict[str, Any] | None = None) -> dict[str, Any]:
    """fetch(url, init) run by a page of `site`."""
    open_page(driver, site)
    return driver.execute_async_script(FETCH, url, init or {})


def test_a_listed_site_reads_the_api_and_another_cannot(fresh_tab: WebDriver, sites: Sites) -> None:
    url = f"{sites.paperkg}/api/search?q=sparse&mode=keyword"
    got = fetch_from(fresh_tab, sites.allowed, url)
    assert got["ok"] and got["status"] == 200, got
    assert any(hit["id"] == "2401.00001" for hit in got["body"]["results"]), got
    assert got["etag"] and got["etag"].startswith('"')  # exposed: a script may revalidate with it
    # A JSON POST is preflighted (OPTIONS): the answer must allow the method and the Content-Type.
    post = {"method": "POST", "headers": {"Content-Type": "application/json"},
            "body": '{"liked": ["2401.00001"]}'}
    recommended = fetch_from(fresh_tab, sites.allowed, f"{sites.paperkg}/api/recommend", post)
    assert recommended["ok"] and recommended["status"] == 200, recommended
    # The same requests from a site the setting does not list: the browser withholds the answers.
    refused = fetch_from(fresh_tab, sites.other, url)
    assert not refused["ok"] and "Failed to fetch" in refused["error"], refused
    refused = fetch_from(fresh_tab, sites.other, f"{sites.paperkg}/api/recommend", post)
    assert not refused["ok"] and "Failed to fetch" in refused["error"], refused


def framed_location(driver: WebDriver, site: str, url: str) -> str:
    """Where the frame of `url` in a page of `site` ended up (chrome-error:// when it was refused)."""
    open_page(driver, f"{site}/frame?src={quote(url, safe='')}")
    frame = driver.find_element(By.ID, "framed")
    try:
        driver.switch_to.frame(frame)
        wait(driver).until(lambda d: d.execute_script("return document.readyState") == "complete")
        return str(driver.execute_script("return location.href"))
    finally:
        driver.switch_to.default_content()


def test_only_a_listed_site_frames_the_pages(fresh_tab: WebDriver, sites: Sites) -> None:
    page = f"{sites.paperkg}/about"
    assert framed_location(fresh_tab, sites.allowed, page) == page
    assert framed_location(fresh_tab, sites.other, page).startswith("chrome-error://")
    # Data is framed nowhere, whatever the setting.
    assert framed_location(fresh_tab, sites.allowed, f"{sites.paperkg}/api/stats").startswith("chrome-error://")
