"""A list-section heading in a search link (`section=findings-and-applications`), in real headless
Chromium: the section select shows it chosen, and changing another filter keeps it, in place (JavaScript)
and by a plain form submit (none); the title names it."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

from kg.embedded import EmbeddedStore
from kg.entities import SearchFilters
from tests.e2e.test_browser import idle, open_page, result_ids, wait

pytestmark = [pytest.mark.browser, pytest.mark.model]

HEADING = "findings-and-applications"
LINK = f"/search?technique=activation_patching&section={HEADING}"
WANTED = SearchFilters(technique_ids=["activation_patching"], section_ids=[HEADING], year_from=2023)


def query(driver: WebDriver) -> dict[str, list[str]]:
    """The current URL's query string."""
    return parse_qs(urlsplit(driver.current_url).query)


def chosen_sections(driver: WebDriver) -> list[str]:
    """The values selected in the section select."""
    return [o.get_attribute("value") or "" for o in Select(driver.find_element(By.ID, "f-section"))
            .all_selected_options]


def test_a_year_typed_in_place_keeps_the_heading(fresh_tab: WebDriver, live_server: str,
                                                  seed_store: EmbeddedStore) -> None:
    """QA: changing "From" to 2023 on this link went to ?technique=activation_patching&year_from=2023."""
    tab = fresh_tab
    open_page(tab, live_server + LINK)
    wait(tab).until(lambda d: result_ids(d))
    assert chosen_sections(tab) == [HEADING]
    assert "Findings and Applications (all)" in tab.title
    tab.find_element(By.ID, "f-year-from").send_keys("2023", Keys.TAB)  # leaving the field applies it
    wait(tab).until(lambda d: query(d).get("year_from") == ["2023"] and idle(d))
    assert query(tab).get("section") == [HEADING]
    allowed = seed_store.filter_ids(WANTED)
    assert allowed and set(result_ids(tab)) == allowed
    assert tab.title == "Search · Activation Patching, from 2023, Findings and Applications (all) · paperkg"


def test_a_year_submitted_without_javascript_keeps_the_heading(no_js_browser: WebDriver, live_server: str,
                                                                seed_store: EmbeddedStore) -> None:
    open_page(no_js_browser, live_server + LINK)
    assert chosen_sections(no_js_browser) == [HEADING]
    year = no_js_browser.find_element(By.ID, "f-year-from")
    year.send_keys("2023")
    year.submit()
    wait(no_js_browser).until(lambda d: query(d).get("year_from") == ["2023"])
    assert query(no_js_browser).get("section") == [HEADING]
    allowed = seed_store.filter_ids(WANTED)
    assert allowed and set(result_ids(no_js_browser)) == allowed
    assert chosen_sections(no_js_browser) == [HEADING]
