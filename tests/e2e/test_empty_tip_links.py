"""An empty search page in real headless Chromium: filters that each pass papers but not together get
a tip only for the one whose removal gives results, saying how many, and following it shows them."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.e2e.test_browser import open_page, result_ids, wait

pytestmark = [pytest.mark.browser]


def test_the_tip_link_opens_the_search_without_that_filter(browser: WebDriver, live_server: str) -> None:
    """QA: the tips named all three filters; removing the technique or the topic still gives nothing."""
    open_page(browser, live_server + "/search?technique=sae&topic=features&model=pythia")
    empty = wait(browser).until(lambda d: d.find_element(By.CSS_SELECTOR, '[data-state="empty"]'))
    links = empty.find_elements(By.CSS_SELECTOR, "ul > li > a[data-tip]")
    assert [a.text for a in links] == [
        "Remove the model filter (2 papers): a paper counts for a model only where its abstract names it."]
    links[0].click()
    wait(browser).until(lambda d: len(result_ids(d)) == 2)
    assert "model=" not in browser.current_url and "topic=features" in browser.current_url
