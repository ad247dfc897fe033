"""The search page in real headless Chromium: a row lifted by the model or component list says so in its
visible text, and an empty page's tips name only the filter that emptied it."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.e2e.test_browser import open_page, result_ids, wait

pytestmark = [pytest.mark.browser, pytest.mark.model]


def row_why(browser: WebDriver, paper_id: str) -> str:
    """The shown text of a row's "why" line."""
    row = browser.find_element(By.CSS_SELECTOR, f'[data-paper-row][data-paper-id="{paper_id}"]')
    return str(row.find_element(By.CSS_SELECTOR, "[data-why]").text)


def test_rows_say_the_model_and_component_the_query_names(browser: WebDriver, live_server: str) -> None:
    """QA: /search?q=Llama #3 showed only "cosine 0.16 · no word match", though it is there because it
    studies Llama; the feed-forward query's rows lifted by the MLP component list said nothing of it."""
    open_page(browser, live_server + "/search?q=Llama")
    wait(browser).until(lambda d: "2406.12288" in result_ids(d))
    assert row_why(browser, "2406.12288").endswith(" · studies Llama")
    open_page(browser, live_server + "/search?q=how+do+feed-forward+layers+store+facts")
    wait(browser).until(lambda d: "solu" in result_ids(d))
    assert "about MLP / feed-forward layer" in row_why(browser, "solu")


def test_the_empty_tips_name_only_the_filter_that_emptied_it(browser: WebDriver, live_server: str) -> None:
    open_page(browser, live_server + "/search?technique=sae&year_from=2030&section=techniques")
    empty = wait(browser).until(lambda d: d.find_element(By.CSS_SELECTOR, '[data-state="empty"]'))
    tips = [li.text for li in empty.find_elements(By.CSS_SELECTOR, "ul > li")]
    assert tips == ["Remove the year filter or widen the range."]
    assert "No paper passes the filter years 2030-." in empty.text
