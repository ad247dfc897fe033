"""The search form's topic filter in real headless Chromium: labelled, reachable and usable by keyboard,
applied in place, kept by the pager and the clear-filters link, and reached from a topic's page."""

from __future__ import annotations

from typing import Any

import pytest
from selenium.webdriver import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver

from kg.embedded import EmbeddedStore
from kg.entities import SearchFilters
from tests.e2e.test_browser import idle, open_page, result_ids, wait

pytestmark = [pytest.mark.browser, pytest.mark.model]


def test_the_topic_select_is_labelled_and_filters_in_place_by_keyboard(
    fresh_tab: WebDriver, live_server: str, seed_store: EmbeddedStore, shot: Any
) -> None:
    browser = fresh_tab  # a history of its own: the shared tab's stops counting at 50
    open_page(browser, live_server + "/search?q=attention")
    wait(browser).until(lambda d: len(result_ids(d)) == 10)
    unfiltered = result_ids(browser)
    topic = browser.find_element(By.ID, "f-topic")
    assert topic.accessible_name.startswith("Topic")  # its <label>, as the technique select has
    assert not browser.find_element(By.CSS_SELECTOR, "[data-clear-filters]").is_displayed()
    # Tab from the technique select reaches it; the arrow keys pick a topic without a pointer.
    browser.execute_script("document.getElementById('f-technique').focus()")
    ActionChains(browser).send_keys(Keys.TAB).perform()
    assert browser.switch_to.active_element == topic
    before = browser.execute_script("return history.length")
    ActionChains(browser).send_keys(Keys.ARROW_DOWN, Keys.ARROW_DOWN).perform()
    chosen = topic.get_attribute("value")
    assert chosen, "the arrow keys moved the selection"
    wait(browser).until(lambda d: f"topic={chosen}" in d.current_url and idle(d))
    allowed = seed_store.filter_ids(SearchFilters(topic_ids=[chosen]))
    shown = result_ids(browser)
    assert shown and set(shown) <= allowed and shown != unfiltered
    assert browser.switch_to.active_element == topic  # focus stays where the user is
    # One entry for the change, however many options the arrows passed: Back undoes it.
    assert browser.execute_script("return history.length") == before + 1
    status = browser.find_element(By.CSS_SELECTOR, "[data-search-status]").get_attribute("textContent")
    assert status.startswith(f"{len(allowed)} paper") and "filtered" in status  # announced, counted
    clear = browser.find_element(By.CSS_SELECTOR, "[data-clear-filters]")
    assert clear.is_displayed() and clear.get_attribute("href") == live_server + "/search?q=attention"
    shot("search-topic-filter")
    # "any" again: the clear-filters link hides, as for the other filters.
    ActionChains(browser).send_keys(Keys.HOME).perform()
    wait(browser).until(lambda d: "topic=" not in d.current_url and idle(d))
    assert not clear.is_displayed()


def test_an_unknown_topic_marks_the_topic_select(browser: WebDriver, live_server: str) -> None:
    open_page(browser, live_server + "/search?q=heads&topic=no_such_topic")
    notice = browser.find_element(By.ID, "search-error")
    assert "Unknown topic" in notice.text
    topic = browser.find_element(By.ID, "f-topic")
    assert topic.get_attribute("aria-invalid") == "true"
    assert topic.get_attribute("aria-describedby") == "search-error"


def test_the_pager_keeps_the_topic_in_place(browser: WebDriver, live_server: str,
                                            seed_store: EmbeddedStore) -> None:
    allowed = seed_store.filter_ids(SearchFilters(topic_ids=["lm_components"]))
    assert len(allowed) > 10
    open_page(browser, live_server + "/search?topic=lm_components")
    wait(browser).until(lambda d: len(result_ids(d)) == 10)
    first = result_ids(browser)
    browser.find_element(By.CSS_SELECTOR, '.pager a[rel="next"]').click()
    wait(browser).until(lambda d: "page=2" in d.current_url and idle(d))
    assert "topic=lm_components" in browser.current_url
    second = result_ids(browser)
    assert second and set(first) | set(second) == allowed and not set(first) & set(second)


def test_a_topic_page_searches_within_its_topic(browser: WebDriver, live_server: str,
                                                seed_store: EmbeddedStore) -> None:
    open_page(browser, live_server + "/techniques/superposition")
    browser.find_element(By.PARTIAL_LINK_TEXT, "Search within").click()
    wait(browser).until(lambda d: "/search?topic=superposition" in d.current_url)
    wait(browser).until(lambda d: result_ids(d))
    assert set(result_ids(browser)) == seed_store.filter_ids(SearchFilters(topic_ids=["superposition"]))
    assert browser.find_element(By.CSS_SELECTOR, '#f-topic option[value="superposition"]').is_selected()
