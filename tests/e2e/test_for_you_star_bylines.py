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
            "Nelson Elhage, Tristan Hume, Catherine Olsson, Neel Nanda et al. · 2022"
            " · Transformer Circuits Thread (Anthropic) · transformer-circuits.pub"]
        solu = browser.find_element(By.CSS_SELECTOR, f'[data-starred-list] a.out[href="{SOLU_URL}"]')
        with print_media(browser):
            assert all(m.is_displayed() for m in metas)
            assert SOLU_URL in after_content(browser, solu)
    finally:
        browser.execute_script("localStorage.clear()")
