"""Pages that say what things are, in real headless Chromium: a technique's "What it is" line and its
paper, the "tagged" notice of an in-place search linking the technique, related papers' reasons linking
their techniques with a legend, and the corrected URL of a filter id of the wrong kind."""

from __future__ import annotations

from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

from tests.e2e.test_browser import IOI_ID, idle, open_page, result_ids, wait

pytestmark = [pytest.mark.browser, pytest.mark.model]


def test_a_technique_page_says_what_it_is_and_links_its_source(browser: WebDriver, live_server: str,
                                                               shot: Any) -> None:
    open_page(browser, live_server + "/techniques/logit_lens")
    line = browser.find_element(By.CSS_SELECTOR, "[data-definition]")
    assert line.is_displayed()
    assert line.text.startswith('In the awesome list: The paper proposed the "logit lens" technique')
    summary = browser.find_element(By.CSS_SELECTOR, "[data-summary]")
    assert summary.is_displayed() and summary.text.startswith("What it is: Reading an intermediate layer")
    assert summary.location["y"] < line.location["y"]
    assert ("the awesome list's TL;DR of interpreting GPT: the logit lens (list section Techniques)"
            in line.text)
    # Above the papers, where a reader looks first.
    papers = browser.find_element(By.CSS_SELECTOR, "ol.papers")
    assert line.location["y"] < papers.location["y"]
    shot("technique-definition")
    line.find_element(By.CSS_SELECTOR, "[data-definition-source] a").click()
    wait(browser).until(lambda d: d.current_url == live_server + "/papers/logit-lens")


def test_the_in_place_search_notice_links_the_technique_it_names(browser: WebDriver, live_server: str
                                                                   ) -> None:
    """ "what is activation patching": the notice named Activation Patching without a way to its page."""
    open_page(browser, live_server + "/")
    box = browser.find_element(By.ID, "q")
    box.send_keys("what is activation patching")
    box.send_keys(Keys.ENTER)  # searched in place: the notice comes in the results fragment
    wait(browser).until(lambda d: "q=what+is+activation+patching" in d.current_url and result_ids(d)
                        and idle(d))
    link = browser.find_element(By.CSS_SELECTOR, '[data-state="using-first"] a')
    assert link.text == "Activation Patching"
    link.click()
    wait(browser).until(lambda d: d.current_url == live_server + "/techniques/activation_patching")
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith("Activation Patching")


def test_related_reasons_link_their_techniques_and_are_explained(browser: WebDriver, live_server: str,
                                                                  shot: Any) -> None:
    open_page(browser, live_server + f"/papers/{IOI_ID}")
    legend = browser.find_element(By.CSS_SELECTOR, '[data-state="reason-legend"]')
    assert legend.is_displayed() and "cosine: how close the two abstracts' meanings are" in legend.text
    reasons = browser.find_elements(By.CSS_SELECTOR, "ol.related ul.reasons li")
    assert reasons and not any(" ~ " in r.text for r in reasons)
    kinds = browser.find_elements(By.CSS_SELECTOR, "ol.related .reason-kind")
    assert kinds and all(k.get_attribute("title") for k in kinds)  # each phrase has its meaning as a tooltip
    # Techniques and topics link their pages; models and components (no page) their search filters;
    # shared authors their author pages.
    links = browser.find_elements(By.CSS_SELECTOR, "ol.related ul.reasons a")
    pages = [a for a in links if a.get_attribute("href").startswith(live_server + "/techniques/")]
    people = [a for a in links if a.get_attribute("href").startswith(live_server + "/authors/")]
    filters = [a for a in links if a not in pages and a not in people]
    assert pages and filters and people
    assert all(a.get_attribute("href").startswith((live_server + "/search?model=",
                                                   live_server + "/search?component=")) for a in filters)
    target = pages[0].get_attribute("href")
    shot("paper-related-reasons")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", pages[0])
    pages[0].click()
    wait(browser).until(lambda d: d.current_url == target)


def test_a_filter_id_of_the_wrong_kind_links_the_corrected_search(browser: WebDriver, live_server: str
                                                                  ) -> None:
    open_page(browser, live_server + "/search?q=toy+models&technique=superposition")
    notice = browser.find_element(By.ID, "search-error")
    assert "pick it under Topic" in notice.text
    fix = notice.find_element(By.CSS_SELECTOR, "[data-corrected-url]")
    assert fix.text == "Search with Superposition under Topic"
    fix.click()
    wait(browser).until(lambda d: "topic=superposition" in d.current_url and result_ids(d))
    assert Select(browser.find_element(By.ID, "f-topic")).first_selected_option.get_attribute("value") \
        == "superposition"
    assert not browser.find_elements(By.ID, "search-error")
