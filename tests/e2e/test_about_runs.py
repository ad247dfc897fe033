"""The About page's runs table in a real browser: a failed run's message (up to 2,000 characters, with long
unbroken tokens such as paths) is shown cut, and a 320 px screen still needs no sideways scrolling."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from api.app import create_app
from kg.schema import RUN_SOURCE_WEEKLY
from tests.e2e.conftest import open_page, serving
from tests.seed_store import taxonomy_store

MESSAGE = ("ModelMissing: embedding model directory '/srv/" + "x" * 180 + "/model' does not exist "
           + "word " * 350)


@pytest.fixture(scope="module")
def failed_run_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real server over a store whose one weekly run failed with MESSAGE."""
    store = taxonomy_store(Path(tmp_path_factory.mktemp("about-runs")) / "paperkg.sqlite3")
    run = store.start_run(RUN_SOURCE_WEEKLY)
    counts: dict[str, object] = {"queries": 4, "load_run": None, "gap_from": None, "empty_queries": []}
    store.finish_run(run.id, "failed", counts, message=MESSAGE[:2000])
    try:
        with serving(create_app({"STORE": store}), "about-runs-server") as base:
            yield base
    finally:
        store.close()


def test_a_failed_runs_message_shows_and_the_page_reflows_at_320_px(browser: WebDriver,
                                                                    failed_run_server: str) -> None:
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                            {"width": 320, "height": 800, "deviceScaleFactor": 1, "mobile": False})
    try:
        open_page(browser, failed_run_server + "/about")
        cells = browser.find_elements(By.CSS_SELECTOR, "table.runs tbody td")
        assert [c.text for c in cells[3:5]] == ["failed", "queries 4"]
        message = cells[5]
        assert message.text.startswith("ModelMissing: embedding model directory")
        assert message.text.endswith("…")
        assert message.get_attribute("title") == MESSAGE[:2000]
        widths = browser.execute_script(
            "const e = document.documentElement; return [e.scrollWidth, e.clientWidth]")
        assert widths[1] <= 320 and widths[0] <= widths[1], widths
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
