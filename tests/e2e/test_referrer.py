"""What the server (and a reverse proxy's access log in front of it) sees of a user's search in the
headers of later requests: real headless Chromium against a real server that records each request's
Referer and Origin (privacy audit: `Referrer-Policy: same-origin` sent the search URL, query and all, as
Referer with every stylesheet, script and fetch). For you's POSTs still work without it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from kg.embedded import EmbeddedStore
from tests.e2e.conftest import chromium, open_page, serving, wait

pytestmark = [pytest.mark.browser, pytest.mark.model]

# A query no page, script or stylesheet of the app contains: any header holding it came from the URL.
QUERY = "sparse autoencoder zyxprivate"
IOI_ID = "2211.00593"  # of the seed corpus


class Recorder:
    """WSGI middleware: each request's method, path, Referer and Origin, and the status it got."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.seen: list[dict[str, str | None]] = []
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        entry: dict[str, str | None] = {
            "method": environ["REQUEST_METHOD"], "path": environ.get("PATH_INFO", ""),
            "referer": environ.get("HTTP_REFERER"), "origin": environ.get("HTTP_ORIGIN"), "status": None}
        with self._lock:
            self.seen.append(entry)

        def record_status(status: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
            entry["status"] = status.split()[0]
            return start_response(status, headers, *rest)

        return self.app(environ, record_status)

    def requests(self) -> list[dict[str, str | None]]:
        """The requests recorded so far."""
        with self._lock:
            return list(self.seen)


@pytest.fixture(scope="module")
def recorded(seed_store: EmbeddedStore, real_embedder: Any) -> Iterator[tuple[str, Recorder]]:
    """A real server over the seed corpus whose requests are recorded, and its recorder."""
    from api.app import create_app

    recorder = Recorder(create_app({"STORE": seed_store, "EMBEDDER": real_embedder}))
    with serving(recorder, "e2e-referrer-server") as base:
        yield base, recorder


@pytest.fixture
def cold_browser(tmp_path: Path) -> Iterator[WebDriver]:
    """A Chromium with an empty cache: every stylesheet and script of a page is fetched from the server."""
    driver = chromium(tmp_path / "profile")
    yield driver
    driver.quit()


def test_the_search_never_leaves_the_page_as_a_referer(cold_browser: WebDriver,
                                                       recorded: tuple[str, Recorder]) -> None:
    base, recorder = recorded
    open_page(cold_browser, f"{base}/search?q={quote_plus(QUERY)}")
    wait(cold_browser).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#results a[href^='/papers/']"))
    first = len(recorder.requests())
    # A result opened from the list: the navigation, then that page's own stylesheet, scripts and fetches.
    link = cold_browser.find_elements(By.CSS_SELECTOR, "#results a[href^='/papers/']")[0]
    target = link.get_attribute("href")
    link.click()
    wait(cold_browser).until(lambda d: d.current_url == target
                             and d.execute_script("return document.readyState") == "complete")
    seen = recorder.requests()
    assert any(r["path"].startswith("/static/") for r in seen), seen  # the page's files were fetched
    assert any(r["path"].startswith("/papers/") for r in seen[first:]), seen[first:]
    leaked = [r for r in seen if r["referer"] is not None]
    assert leaked == [], leaked


def test_for_you_posts_work_without_a_referer(cold_browser: WebDriver,
                                              recorded: tuple[str, Recorder]) -> None:
    """Starring and For you: POST /api/resolve and /api/recommend, sent with no Referer (and whatever Origin
    the browser makes of no-referrer: the app reads neither), still answer, so the page lists
    recommendations."""
    base, recorder = recorded
    open_page(cold_browser, f"{base}/papers/{IOI_ID}")
    cold_browser.find_element(By.CSS_SELECTOR, ".title-row [data-star]").click()
    wait(cold_browser).until(lambda d: d.execute_script(
        "return JSON.parse(localStorage.getItem('paperkg.stars') || '[]').map(s => s.id)") == [IOI_ID])
    open_page(cold_browser, f"{base}/for-you")
    wait(cold_browser).until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-starred-count]").text == "1")
    status = cold_browser.find_element(By.CSS_SELECTOR, "[data-rec-status]")
    wait(cold_browser).until(lambda d: "recommendation" in status.text)
    assert cold_browser.find_elements(By.CSS_SELECTOR, "[data-rec-list] [data-star]")
    posts = [r for r in recorder.requests() if r["method"] == "POST"]
    assert {r["path"] for r in posts} >= {"/api/resolve", "/api/recommend"}, posts
    assert all(r["status"] == "200" and r["referer"] is None for r in posts), posts
