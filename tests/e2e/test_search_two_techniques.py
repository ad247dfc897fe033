"""Choosing two techniques in the search form, in real headless Chromium (QA: the technique select took a
second technique only when the URL already had two, so no click path led to an AND search). "Add a
technique" appears once one is picked, the any/each control once two are; without JavaScript, after each
submit."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

from kg.embedded import EmbeddedStore
from kg.entities import SearchFilters
from tests.e2e.test_browser import idle, open_page, result_ids, wait

pytestmark = [pytest.mark.browser, pytest.mark.model]


def query(driver: WebDriver) -> dict[str, list[str]]:
    """The current URL's query string."""
    return parse_qs(urlsplit(driver.current_url).query)


def shown(driver: WebDriver, field_id: str) -> bool:
    """Whether the field is on screen and would be sent with the form."""
    field = driver.find_elements(By.ID, field_id)
    return bool(field) and field[0].is_displayed() and field[0].is_enabled()


def test_two_techniques_are_chosen_by_clicks_and_searched_together(
        fresh_tab: WebDriver, live_server: str, seed_store: EmbeddedStore) -> None:
    tab = fresh_tab
    open_page(tab, live_server + "/search?q=circuits")
    wait(tab).until(lambda d: result_ids(d))
    assert not shown(tab, "f-technique-2") and not shown(tab, "f-technique-match")
    Select(tab.find_element(By.ID, "f-technique")).select_by_value("knockout")
    wait(tab).until(lambda d: query(d).get("technique") == ["knockout"] and idle(d))
    # One technique: a second can be added; "any or each" would change nothing yet.
    assert shown(tab, "f-technique-2") and not shown(tab, "f-technique-match")
    tab.find_element(By.ID, "f-technique-2").click()  # a pointer opens it, as a reader would
    Select(tab.find_element(By.ID, "f-technique-2")).select_by_value("faithfulness")
    two = ["knockout", "faithfulness"]
    wait(tab).until(lambda d: query(d).get("technique") == two and idle(d))
    assert shown(tab, "f-technique-match") and shown(tab, "f-technique-3")  # and a third, if wanted
    assert "technique_match" not in query(tab)  # "any", the default, stays out of the URL
    Select(tab.find_element(By.ID, "f-technique-match")).select_by_value("all")
    wait(tab).until(lambda d: query(d).get("technique_match") == ["all"] and idle(d))
    both = seed_store.filter_ids(SearchFilters(technique_ids=["knockout", "faithfulness"],
                                               technique_match="all"))
    assert both and set(result_ids(tab)) <= both
    # The in-place title names them as the options do, without their counts ("(8 incl. refinements)").
    assert "Knockout and Faithfulness ·" in tab.title
    # The page the URL leads to (a reload, a shared link) shows the same choices.
    tab.refresh()
    wait(tab).until(lambda d: result_ids(d))
    chosen = [Select(tab.find_element(By.ID, f"f-technique{s}")).first_selected_option.get_attribute("value")
              for s in ("", "-2")]
    assert chosen == ["knockout", "faithfulness"]
    assert shown(tab, "f-technique-3") and shown(tab, "f-technique-match")


def test_two_techniques_are_chosen_without_javascript(no_js_browser: WebDriver, live_server: str,
                                                      seed_store: EmbeddedStore) -> None:
    tab = no_js_browser
    tab.get(live_server + "/")
    assert not shown(tab, "f-technique-2")
    Select(tab.find_element(By.ID, "f-technique")).select_by_value("cma")
    tab.find_element(By.ID, "q").submit()
    wait(tab).until(lambda d: query(d).get("technique") == ["cma"])
    assert shown(tab, "f-technique-2") and not shown(tab, "f-technique-match")
    Select(tab.find_element(By.ID, "f-technique-2")).select_by_value("knockout")
    tab.find_element(By.ID, "q").submit()
    wait(tab).until(lambda d: query(d).get("technique") == ["cma", "knockout"])
    assert shown(tab, "f-technique-match")
    Select(tab.find_element(By.ID, "f-technique-match")).select_by_value("all")
    tab.find_element(By.ID, "q").submit()
    wait(tab).until(lambda d: query(d).get("technique_match") == ["all"])
    both = seed_store.filter_ids(SearchFilters(technique_ids=["cma", "knockout"], technique_match="all"))
    assert both and set(result_ids(tab)) == both
