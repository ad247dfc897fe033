"""The search page's suggestions in real headless Chromium (the real seed corpus and model): a "did you
mean" link that runs the corrected query with the same mode and filters, and the hint for a query in
another script."""

from __future__ import annotations

from urllib.parse import parse_qs, quote, urlsplit

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver

from tests.e2e.conftest import open_page, wait

pytestmark = [pytest.mark.browser, pytest.mark.model]


def notice(driver: WebDriver, state: str) -> str | None:
    """The text of the results block's notice of that data-state, None when there is none."""
    found = driver.find_elements(By.CSS_SELECTOR, f'#results [data-state="{state}"]')
    return found[0].text if found else None


def checked_mode(driver: WebDriver) -> str | None:
    """The mode radio button checked."""
    return driver.find_element(By.CSS_SELECTOR, "input[name=mode]:checked").get_attribute("value")


def test_did_you_mean_runs_the_corrected_query_with_the_same_mode(browser: WebDriver,
                                                                   live_server: str) -> None:
    open_page(browser, live_server + "/?mode=keyword")
    assert checked_mode(browser) == "keyword"
    box = browser.find_element(By.ID, "q")
    box.clear()
    box.send_keys("grokkking")
    box.send_keys(Keys.ENTER)  # the in-place search: the notice comes in the results fragment
    wait(browser).until(lambda d: notice(d, "did-you-mean") == "Did you mean grokking?")
    assert notice(browser, "empty") is not None  # no paper has the misspelt word: the results are its own
    browser.find_element(By.CSS_SELECTOR, "#results [data-did-you-mean]").click()
    wait(browser).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#results [data-paper-row]"))
    assert parse_qs(urlsplit(browser.current_url).query) == {"q": ["grokking"], "mode": ["keyword"]}
    assert browser.find_element(By.ID, "q").get_attribute("value") == "grokking"
    assert checked_mode(browser) == "keyword"
    assert notice(browser, "did-you-mean") is None


def test_a_query_in_another_script_is_told_the_model_reads_english(browser: WebDriver,
                                                                    live_server: str) -> None:
    open_page(browser, live_server + "/search?q=" + quote("稀疏自编码器") + "&mode=semantic")
    text = notice(browser, "non-latin-query")
    assert text is not None and text.startswith("The search model reads English: try the English term")
    assert notice(browser, "no-word-match") is None
