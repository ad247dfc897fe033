"""A shared search link in real headless Chromium: Back and Forward step through the filter changes made
on it, the form keeps every value the link gives, the title says the search's state after an in-place
search as after a page load, and the skip link puts the focus in the content."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from selenium.webdriver import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

from tests.e2e.test_browser import idle, open_page, result_ids, wait

pytestmark = [pytest.mark.browser, pytest.mark.model]


def query(driver: WebDriver) -> dict[str, list[str]]:
    """The current URL's query string."""
    return parse_qs(urlsplit(driver.current_url).query)


def chosen(driver: WebDriver, field_id: str) -> list[str]:
    """The values selected in a select of the search form."""
    return [o.get_attribute("value") or "" for o in Select(driver.find_element(By.ID, field_id))
            .all_selected_options]


def test_back_steps_through_the_filters_changed_on_a_shared_link(fresh_tab: WebDriver, live_server: str
                                                                  ) -> None:
    """QA: after opening a shared /search?q=circuits and changing Technique and a year, Back left paperkg."""
    tab = fresh_tab
    open_page(tab, live_server + "/about")
    shared = live_server + "/search?q=circuits"
    open_page(tab, shared)
    wait(tab).until(lambda d: result_ids(d))
    unfiltered = result_ids(tab)
    length = tab.execute_script("return history.length")
    Select(tab.find_element(By.ID, "f-technique")).select_by_value("activation_patching")
    wait(tab).until(lambda d: query(d).get("technique") == ["activation_patching"] and idle(d))
    by_technique = result_ids(tab)
    tab.find_element(By.ID, "f-year-from").send_keys("2023", Keys.TAB)  # leaving the field applies it
    wait(tab).until(lambda d: query(d).get("year_from") == ["2023"] and idle(d))
    assert tab.execute_script("return history.length") == length + 2  # one entry per change
    tab.back()
    wait(tab).until(lambda d: query(d) == {"q": ["circuits"], "technique": ["activation_patching"]}
                    and result_ids(d) == by_technique)
    assert tab.find_element(By.ID, "f-year-from").get_attribute("value") == ""
    assert chosen(tab, "f-technique") == ["activation_patching"]
    tab.back()
    wait(tab).until(lambda d: d.current_url == shared and result_ids(d) == unfiltered)
    assert chosen(tab, "f-technique") == [""]
    tab.forward()
    wait(tab).until(lambda d: query(d).get("technique") == ["activation_patching"] and result_ids(d))
    tab.back()
    wait(tab).until(lambda d: d.current_url == shared and result_ids(d))
    tab.back()
    wait(tab).until(lambda d: d.current_url == live_server + "/about")


def test_a_change_undone_before_it_loads_adds_no_entry(fresh_tab: WebDriver, live_server: str) -> None:
    tab = fresh_tab
    open_page(tab, live_server + "/search?q=circuits")
    wait(tab).until(lambda d: result_ids(d))
    length = tab.execute_script("return history.length")
    tab.execute_script("window.__loads = 0; const real = window.fetch; window.fetch = function () {"
                       " window.__loads += 1; return real.apply(this, arguments); };")
    select = tab.find_element(By.ID, "f-technique")
    select.send_keys(Keys.ARROW_DOWN, Keys.ARROW_UP)  # there and back, faster than the change settles
    wait(tab).until(lambda d: d.execute_script("return window.__loads") == 1 and idle(d))
    assert tab.current_url == live_server + "/search?q=circuits"
    assert tab.execute_script("return history.length") == length


def test_several_values_of_a_shared_link_survive_a_resubmit(browser: WebDriver, live_server: str) -> None:
    """QA: /search?q=circuits&source=list&source=arxiv used both, showed one and kept one when resubmitted."""
    open_page(browser, live_server + "/search?q=circuits&source=list&source=arxiv")
    wait(browser).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#results [data-state]"))
    assert sorted(chosen(browser, "f-source")) == ["arxiv", "list"]
    box = browser.find_element(By.ID, "q")
    box.clear()
    box.send_keys("induction heads", Keys.ENTER)
    wait(browser).until(lambda d: query(d).get("q") == ["induction heads"] and idle(d))
    assert sorted(query(browser)["source"]) == ["arxiv", "list"]


def head_links(driver: WebDriver) -> dict[str, str]:
    """The canonical URL and the Open Graph url and title the page's head says now."""
    return dict(driver.execute_script(
        "const m = (k) => (document.querySelector(`meta[property='${k}']`) || {}).content;"
        "return {canonical: document.querySelector('link[rel=canonical]').href, 'og:url': m('og:url'),"
        " 'og:title': m('og:title')};"))


def test_the_title_after_an_in_place_search_is_the_one_a_page_load_gives(browser: WebDriver, live_server: str
                                                                          ) -> None:
    open_page(browser, live_server + "/search?q=circuits+in+language+models")
    wait(browser).until(lambda d: len(result_ids(d)) == 10)
    Select(browser.find_element(By.ID, "f-technique")).select_by_value("activation_patching")
    wait(browser).until(lambda d: "technique=activation_patching" in d.current_url and idle(d))
    browser.find_element(By.ID, "f-year-to").send_keys("2024", Keys.TAB)
    wait(browser).until(lambda d: "year_to=2024" in d.current_url and idle(d))
    in_place = browser.title
    assert in_place == ("\u2068circuits in language models\u2069 — search · Activation Patching, until 2024"
                        " · paperkg")
    # The link-preview tags follow too: a reference manager saving the page now reads this search's.
    head = head_links(browser)
    assert head["canonical"] == (live_server + "/search?q=circuits+in+language+models"
                                 "&technique=activation_patching&year_to=2024")
    browser.refresh()
    wait(browser).until(lambda d: d.execute_script("return document.readyState") == "complete")
    assert browser.title == in_place
    after = head_links(browser)
    assert (after["canonical"], after["og:url"], after["og:title"]) == (
        head["canonical"], head["og:url"], head["og:title"])
    # The pager's page 2 says so; a fresh load of page 2 says the same.
    open_page(browser, live_server + "/search?q=circuits+in+language+models")
    wait(browser).until(lambda d: len(result_ids(d)) == 10)
    first = result_ids(browser)
    browser.find_element(By.CSS_SELECTOR, ".pager a[rel=next]").click()
    wait(browser).until(lambda d: "page=2" in d.current_url and result_ids(d) != first and idle(d))
    assert browser.title == "\u2068circuits in language models\u2069 — search · page 2 · paperkg"
    browser.refresh()
    wait(browser).until(lambda d: d.execute_script("return document.readyState") == "complete")
    assert browser.title == "\u2068circuits in language models\u2069 — search · page 2 · paperkg"


def test_the_canonical_url_after_an_in_place_search_is_the_one_a_page_load_gives(
        browser: WebDriver, live_server: str) -> None:
    """Review: the script copied the address into the canonical link, which the server writes by its own
    rule (only the search's arguments, the query trimmed, no empty or default value, no page 1)."""
    open_page(browser, live_server + "/search?q=circuits&utm_source=mail")
    wait(browser).until(lambda d: result_ids(d))
    box = browser.find_element(By.ID, "q")
    box.clear()
    box.send_keys("  induction heads  ", Keys.ENTER)
    wait(browser).until(lambda d: query(d).get("q") == ["  induction heads  "] and idle(d))
    in_place = head_links(browser)
    assert in_place["canonical"] == in_place["og:url"] == live_server + "/search?q=induction+heads"
    browser.refresh()
    wait(browser).until(lambda d: d.execute_script("return document.readyState") == "complete")
    assert head_links(browser) == in_place


def test_the_skip_link_moves_the_focus_into_the_content(browser: WebDriver, live_server: str) -> None:
    """QA: Enter on "Skip to content" left the focus on <body>, so Tab went on from the top of the page."""
    open_page(browser, live_server + "/search?q=circuits")
    wait(browser).until(lambda d: result_ids(d))
    browser.execute_script("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)")
    ActionChains(browser).send_keys(Keys.TAB).perform()
    skip = browser.switch_to.active_element
    assert skip.get_attribute("class") == "skip"
    skip.send_keys(Keys.ENTER)
    wait(browser).until(lambda d: d.switch_to.active_element.tag_name == "main")
    ActionChains(browser).send_keys(Keys.TAB).perform()
    # The next stop is the first control of the content (the search box), not the header's links.
    assert browser.switch_to.active_element.get_attribute("id") == "q"
