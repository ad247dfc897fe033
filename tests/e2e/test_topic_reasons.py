"""A topic page's "because" line for a paper its list section put there reads as the list's section in real
headless Chromium, not as a quotation of the paper (re-test: "list listed in the list's section '…'" in
quotation marks)."""

from __future__ import annotations

import re

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.e2e.conftest import open_page

pytestmark = [pytest.mark.browser, pytest.mark.model]


def test_a_list_section_reason_is_said_not_quoted(browser: WebDriver, live_server: str) -> None:
    open_page(browser, live_server + "/techniques/lm_behavior")
    items = browser.find_elements(By.CSS_SELECTOR, "ul.because li")
    listed = [li for li in items if li.find_elements(By.CSS_SELECTOR, "[data-list-section]")]
    assert listed, [li.text for li in items]
    for li in listed:
        section = li.find_element(By.CSS_SELECTOR, "[data-list-section]")
        assert section.is_displayed()
        assert re.fullmatch(r"in sections? “[^“”]+”(, “[^“”]+”)*", section.text), section.text
        # The badge is in capitals by CSS.
        assert "list " + section.text in li.text.replace("LIST ", "list "), li.text
        assert "listed in the list" not in li.text
        for quote in li.find_elements(By.CSS_SELECTOR, "q"):
            assert "section" not in quote.text, quote.text
