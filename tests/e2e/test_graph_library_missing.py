"""The graph page of an installation without the vendored cytoscape (a package built from a fresh clone
without `make dist`), in real headless Chromium: it says what is missing and how to get it."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from kg.embedded import EmbeddedStore
from tests.e2e.conftest import REPO, serving
from tests.e2e.test_browser import IOI_ID, open_page, wait

pytestmark = [pytest.mark.browser, pytest.mark.model]

MESSAGE = ("The graph library (cytoscape) is missing from this installation: in a checkout run `make node`; "
           "a package must be built with `make dist`.")


def test_graph_page_without_the_vendored_library_says_how_to_get_it(
    browser: WebDriver, seed_store: EmbeddedStore, real_embedder: Any, tmp_path: Path
) -> None:
    from api.app import create_app

    static = tmp_path / "static"
    shutil.copytree(REPO / "api" / "static", static, ignore=shutil.ignore_patterns("vendor"))
    app = create_app({"STORE": seed_store, "EMBEDDER": real_embedder})
    app.static_folder = str(static)  # the app's own files, less api/static/vendor/
    with serving(app, "e2e-no-vendor-server") as base:
        open_page(browser, f"{base}/papers/{IOI_ID}/graph")
        notices = wait(browser).until(lambda d: d.find_elements(By.CSS_SELECTOR, "p.notice-error"))
        assert [n.text for n in notices] == [MESSAGE]
        # Set as text: the backticks are shown, no element is made of them.
        assert notices[0].get_attribute("innerHTML") == MESSAGE
        assert not browser.find_elements(By.ID, "cy")
        # The neighbourhood is still there as a list.
        assert browser.find_elements(By.CSS_SELECTOR, "details.graph-list a[href^='/papers/']")
