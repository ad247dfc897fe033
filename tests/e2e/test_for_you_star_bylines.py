"""For you's starred list shows each paper's byline (authors, year, venue, its page elsewhere), on screen and
printed (QA: a printed starred list was titles only). Needs POST /api/resolve to answer authors, year, venue,
url and arxiv_id beside id/current/title (api/json_api.py resolve_papers); foryou.js renders them."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.e2e.conftest import open_page, wait
from tests.e2e.test_print import print_media
from tests.e2e.test_print_lists import SOLU_URL, after_content

pytestmark = [pytest.mark.browser, pytest.mark.model]


def test_a_printed_starred_list_has_authors_years_and_links(browser: WebDriver, live_server: str) -> None:
    open_page(browser, f"{live_server}/for-you")
    browser.execute_script("localStorage.setItem('paperkg.stars', JSON.stringify(arguments[0]))",
                           [{"id": "2211.00593", "title": "IOI"}, {"id": "solu", "title": "SoLU"}])
    try:
        open_page(browser, f"{live_server}/for-you")
        metas = wait(browser).until(
            lambda d: d.find_elements(By.CSS_SELECTOR, "[data-starred-list] .paper-meta"))
        assert [m.text for m in metas] == [
            "Kevin Wang, Alexandre Variengien, Arthur Conmy, Buck Shlegeris, Jacob Steinhardt · 2022"
            " · ICLR 2023 · arXiv:2211.00593",
            "Nelson Elhage, Tristan Hume, Catherine Olsson, Neel Nanda et al. (33) · 2022"
            " · Transformer Circuits Thread (Anthropic) · transformer-circuits.pub"]
        solu = browser.find_element(By.CSS_SELECTOR, f'[data-starred-list] a.out[href="{SOLU_URL}"]')
        with print_media(browser):
            assert all(m.is_displayed() for m in metas)
            assert SOLU_URL in after_content(browser, solu)
    finally:
        browser.execute_script("localStorage.clear()")


def test_on_a_phone_a_starred_title_wraps_beside_its_star_above_its_byline(browser: WebDriver,
                                                                          live_server: str) -> None:
    """Re-test: at 390 px a long starred title wrapped under its star, left of its indented byline."""
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                            {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": False})
    open_page(browser, f"{live_server}/for-you")
    browser.execute_script("localStorage.setItem('paperkg.stars', JSON.stringify(arguments[0]))",
                           [{"id": "2211.00593", "title": "IOI"}])
    try:
        open_page(browser, f"{live_server}/for-you")
        byline = "[data-starred-list] .paper-meta"
        meta = wait(browser).until(lambda d: d.find_element(By.CSS_SELECTOR, byline))
        star = browser.find_element(By.CSS_SELECTOR, "[data-starred-list] li > .star")
        title = browser.find_element(By.CSS_SELECTOR, "[data-starred-list] li > a")
        assert title.size["height"] > 1.5 * star.size["height"]  # the title wraps at this width
        assert title.location["x"] >= star.location["x"] + star.size["width"]  # beside the star
        assert meta.location["x"] == title.location["x"]  # the byline under the title
    finally:
        browser.execute_script("localStorage.clear()")
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
