"""The component filter in real headless Chromium: a paper page's component and model tags lead to their
filters (QA: they led to text searches ranked by words), and the search form's Component select."""

from __future__ import annotations

from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

from kg.embedded import EmbeddedStore
from kg.entities import SearchFilters
from tests.e2e.test_browser import IOI_ID, open_page, result_ids, wait

pytestmark = [pytest.mark.browser, pytest.mark.model]


def test_a_component_tag_lists_the_papers_with_findings_about_it(
    browser: WebDriver, live_server: str, seed_store: EmbeddedStore, shot: Any
) -> None:
    open_page(browser, live_server + "/papers/math-framework")
    tag = next(a for a in browser.find_elements(By.CSS_SELECTOR, "ul.findings a.tag-component")
               if a.text == "Induction head")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", tag)
    tag.click()
    wait(browser).until(lambda d: d.current_url == live_server + "/search?component=induction_head")
    wait(browser).until(lambda d: result_ids(d))
    # Every paper with a finding about induction heads, and no other (Successor Heads was #3 of the words).
    assert set(result_ids(browser)) == seed_store.filter_ids(SearchFilters(component_ids=["induction_head"]))
    assert "math-framework" in result_ids(browser)
    select = Select(browser.find_element(By.ID, "f-component"))
    assert [o.get_attribute("value") for o in select.all_selected_options] == ["induction_head"]
    assert browser.find_element(By.ID, "f-component").accessible_name.startswith("Component")
    assert browser.find_element(By.CSS_SELECTOR, "[data-clear-filters]").is_displayed()
    shot("search-component-filter")


def test_a_model_studied_lists_the_papers_of_the_model_filter(
    browser: WebDriver, live_server: str, seed_store: EmbeddedStore
) -> None:
    open_page(browser, live_server + f"/papers/{IOI_ID}")
    link = browser.find_element(By.LINK_TEXT, "GPT-2")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", link)
    link.click()
    wait(browser).until(lambda d: d.current_url == live_server + "/search?model=gpt2")
    wait(browser).until(lambda d: result_ids(d))
    assert set(result_ids(browser)) == seed_store.filter_ids(SearchFilters(model_ids=["gpt2"]))
