"""Browser-test fixtures: the real seed corpus embedded with the real model, served by a real
werkzeug server on 127.0.0.1, driven by headless Debian Chromium through selenium."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait
from werkzeug.serving import make_server

from kg.embedded import EmbeddedStore
from kg.entities import Paper, PaperBundle, TechniqueUse
from tests.hostile import hostile_bundle
from tests.seed_store import taxonomy_store

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

# Payloads that would set a window flag (and open a dialog) if they ever ran.
SCRIPT = "<script>window.__xss = 1; alert(1)</script>"
IMG = '<img src=x onerror="window.__xss = 2; alert(2)">'


@pytest.fixture(scope="session")
def real_embedder() -> Any:
    """The real all-MiniLM-L6-v2, loaded by path, one torch thread (as in web workers)."""
    from ingest.embed import Embedder

    return Embedder(threads=1)


@pytest.fixture(scope="session")
def seed_store(tmp_path_factory: pytest.TempPathFactory, shared_data: Path, real_embedder: Any
               ) -> Iterator[EmbeddedStore]:
    """The seed corpus through the real pipeline (extraction + real embeddings) plus the hostile paper."""
    from ingest.pipeline import ingest_records_file

    store = taxonomy_store(tmp_path_factory.mktemp("e2e") / "paperkg.sqlite3")
    summary = ingest_records_file(store, shared_data / "seed_papers.jsonl", embedder=real_embedder,
                                  progress=False)
    assert summary.new == 38
    store.upsert_papers([hostile_bundle(real_embedder, SCRIPT, IMG, "javascript:window.__xss=3")])
    yield store
    store.close()


@pytest.fixture(scope="session")
def live_server(seed_store: EmbeddedStore, real_embedder: Any) -> Iterator[str]:
    """The app served by a real werkzeug server on 127.0.0.1 (a free port) in a thread."""
    from api.app import create_app

    vendored = REPO / "api" / "static" / "vendor" / "cytoscape.min.js"
    if not vendored.is_file():
        pytest.fail(f"{vendored} is missing: run `make node` (it copies cytoscape from node_modules)")
    with serving(create_app({"STORE": seed_store, "EMBEDDER": real_embedder}), "e2e-server") as base:
        yield base


@contextmanager
def serving(app: Any, name: str, request_handler: Any = None) -> Iterator[str]:
    """Serve `app` with a real werkzeug server on 127.0.0.1 (a free port) in a thread, with werkzeug's
    request handler or `request_handler`; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=request_handler)
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def rows_server(tmp_path_factory: pytest.TempPathFactory, real_embedder: Any) -> Iterator[str]:
    """A real server over a store of twelve new papers the list does not have: /new suggests a row for
    each (the seed corpus has none to suggest), enough rows for the box holding them to scroll."""
    from api.app import create_app

    store = taxonomy_store(tmp_path_factory.mktemp("e2e-rows") / "paperkg.sqlite3")
    store.upsert_papers([
        PaperBundle(Paper(id=f"2611.710{i:02d}", arxiv_id=f"2611.710{i:02d}",
                          title=f"Linear Probes Recover Syntax in Layer {i} of a Small Transformer",
                          abstract="We show that linear probes recover syntactic depth from the residual."),
                    techniques=[TechniqueUse("probing", "extracted")])
        for i in range(12)
    ])
    try:
        with serving(create_app({"STORE": store, "EMBEDDER": real_embedder}), "e2e-rows-server") as base:
            yield base
    finally:
        store.close()


def browser_env(home: Path) -> dict[str, str]:
    """This process's environment with HOME and the XDG base directories moved under `home`."""
    env = dict(os.environ, HOME=str(home))
    for name, sub in (("XDG_CONFIG_HOME", ".config"), ("XDG_CACHE_HOME", ".cache"),
                      ("XDG_DATA_HOME", ".local/share"), ("XDG_STATE_HOME", ".local/state")):
        (home / sub).mkdir(parents=True, exist_ok=True)
        env[name] = str(home / sub)
    return env


def chromium(profile: Path, *, javascript: bool = True, storage: bool = True) -> webdriver.Chrome:
    """Start headless Debian Chromium with the DevTools performance log on (to see every request)."""
    if not Path(CHROMIUM).exists() or not Path(CHROMEDRIVER).exists():
        pytest.fail("chromium / chromedriver not installed: apt-get install chromium chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    # No crash dumps. Crashpad still creates its empty database in ~/.config/chromium, whatever
    # --user-data-dir says: the driver's own home below keeps that out of the user's.
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1280,900", "--disable-crash-reporter",
                 "--disable-breakpad", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    prefs: dict[str, int] = {}
    if not javascript:
        prefs["profile.managed_default_content_settings.javascript"] = 2
    if not storage:
        # Cookies blocked for every site: touching localStorage throws a SecurityError, as in browsers
        # whose users block site data.
        prefs["profile.default_content_setting_values.cookies"] = 2
    if prefs:
        options.add_experimental_option("prefs", prefs)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    # An explicit driver path means selenium never tries a Selenium Manager download. The driver, and the
    # browser it starts, get a home of their own: Chromium writes ~/.config/chromium/Crash Reports and
    # GLib ~/.cache/dconf despite --user-data-dir, and a test run must leave the user's home alone.
    service = Service(CHROMEDRIVER, env=browser_env(profile.with_name(f"{profile.name}-home")))
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(60)
    return driver


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    """The browser most tests share."""
    driver = chromium(tmp_path_factory.mktemp("chromium-profile"))
    yield driver
    driver.quit()


@pytest.fixture
def fresh_tab(browser: webdriver.Chrome) -> Iterator[webdriver.Chrome]:
    """The shared browser in a new tab, closed after the test: a history of its own, so that history.length
    counts this test's entries (it stops growing at 50, which the shared tab reaches)."""
    first = browser.current_window_handle
    browser.switch_to.new_window("tab")
    try:
        yield browser
    finally:
        browser.close()
        browser.switch_to.window(first)


@pytest.fixture
def downloads(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[webdriver.Chrome, Path]]:
    """A Chromium of its own that saves downloads into a fresh directory, and that directory."""
    folder = tmp_path_factory.mktemp("downloads")
    driver = chromium(tmp_path_factory.mktemp("chromium-downloads") / "profile")
    try:
        driver.execute_cdp_cmd("Browser.setDownloadBehavior",
                               {"behavior": "allow", "downloadPath": str(folder)})
        yield driver, folder
    finally:
        driver.quit()


def saved_files(folder: Path) -> list[str]:
    """The finished downloads in folder (none while one is still being written)."""
    names = sorted(p.name for p in folder.iterdir())
    return [] if any(n.endswith(".crdownload") for n in names) else names


@pytest.fixture
def no_js_browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    """A second browser with JavaScript disabled (the search form must still work)."""
    driver = chromium(tmp_path_factory.mktemp("chromium-nojs"), javascript=False)
    yield driver
    driver.quit()


@pytest.fixture
def no_storage_browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    """A browser that blocks site data, so every localStorage access throws."""
    driver = chromium(tmp_path_factory.mktemp("chromium-nostorage"), storage=False)
    yield driver
    driver.quit()


@pytest.fixture
def shot(browser: webdriver.Chrome) -> Any:
    """Save a screenshot of the current page as test-artifacts/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def save(name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        browser.save_screenshot(str(path))
        return path

    return save


def requested_urls(driver: webdriver.Chrome) -> list[str]:
    """URLs the page asked for since the last call (drains the DevTools performance log)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def off_host(urls: list[str], base: str) -> list[str]:
    """The URLs that would leave the local server (data:/blob:/about: stay in the browser)."""
    host = urlsplit(base).netloc
    return [u for u in urls if urlsplit(u).scheme not in ("data", "blob", "about")
            and urlsplit(u).netloc != host]


class SwitchableStore:
    """The seed store, whose every call raises `failure` while it is set (a store going down while
    pages are open); attributes are looked up on each call, so switching takes effect at once."""

    def __init__(self, store: EmbeddedStore) -> None:
        self._store = store
        self.failure: Exception | None = None

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._store, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            if self.failure is not None:
                raise self.failure
            return attr(*args, **kwargs)

        return call


@pytest.fixture(scope="session")
def flaky_server(seed_store: EmbeddedStore, real_embedder: Any) -> Iterator[tuple[str, SwitchableStore]]:
    """A second real server over the seed store that a test can make fail (set `.failure`, then reset it)."""
    from api.app import create_app

    store = SwitchableStore(seed_store)
    with serving(create_app({"STORE": store, "EMBEDDER": real_embedder}), "e2e-flaky-server") as base:
        yield base, store


# How long an explicit wait in a browser test waits for its condition at most.
WAIT = 30


def wait(driver: WebDriver, seconds: float = WAIT) -> WebDriverWait:
    """An explicit wait (conditions, never fixed sleeps)."""
    return WebDriverWait(driver, seconds)


def open_page(driver: WebDriver, url: str) -> None:
    """Load a page and wait until its DOM is ready and its deferred scripts ran."""
    driver.get(url)
    wait(driver).until(lambda d: d.execute_script("return document.readyState") == "complete")
