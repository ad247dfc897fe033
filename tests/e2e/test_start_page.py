"""The start page in real headless Chromium: reached from the site navigation, read as ordered steps by
the accessibility tree, its step links moving within the page, its technique links to their pages, and
no sideways scrolling on a phone-wide screen."""

from __future__ import annotations

from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from kg.embedded import EmbeddedStore
from tests.e2e.test_browser import open_page, screen_width, wait

pytestmark = [pytest.mark.browser, pytest.mark.model]


def test_a_beginner_reaches_the_roadmap_from_the_nav_and_follows_it(
    browser: WebDriver, live_server: str, seed_store: EmbeddedStore, shot: Any
) -> None:
    open_page(browser, live_server + "/")
    link = browser.find_element(By.CSS_SELECTOR, "nav.top-nav a[href='/start']")
    assert link.accessible_name == "Start here"
    link.click()
    wait(browser).until(lambda d: d.current_url == live_server + "/start"
                        and d.execute_script("return document.readyState") == "complete")
    assert browser.find_element(By.CSS_SELECTOR, "nav.top-nav a[aria-current=page]").text == "Start here"
    # The survey comes first, linked to arXiv.
    survey = browser.find_element(By.CSS_SELECTOR, "[data-first-read] a")
    assert survey.get_attribute("href") == "https://arxiv.org/abs/2407.02646"
    assert "A Practical Review of Mechanistic Interpretability" in survey.text
    # Two flows, each an ordered list whose items the accessibility tree reads as list items in order.
    flows = browser.find_elements(By.CSS_SELECTOR, "section[data-flow]")
    assert [f.find_element(By.TAG_NAME, "h2").text for f in flows] == ["Feature Study", "Circuit Study"]
    circuit = flows[1]
    steps = circuit.find_elements(By.CSS_SELECTOR, "ol.roadmap-steps > li")
    assert [s.find_element(By.TAG_NAME, "h3").text for s in steps] == [
        "Interpret an LM Behavior", "(1) Localization", "(2) Explain Circuit Components",
        "Interpret an LM Component", "(2.1) Generate Hypothesis", "(2.2) Validation", "Evaluation"]
    assert all(s.aria_role == "listitem" for s in steps)
    assert circuit.find_element(By.CSS_SELECTOR, "ol.roadmap-steps").aria_role == "list"
    shot("start-page")
    # The loop back is a link within the page: it brings the step it names into view.
    back = circuit.find_element(By.PARTIAL_LINK_TEXT, "(2.1) Generate Hypothesis")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", back)
    back.click()
    wait(browser).until(lambda d: d.current_url.endswith("#step-circuit_study-generate_hypothesis"))
    target = browser.find_element(By.ID, "step-circuit_study-generate_hypothesis")
    wait(browser).until(lambda d: d.execute_script(
        "const r = arguments[0].getBoundingClientRect(); return r.top >= 0 && r.top < innerHeight", target))
    # A technique of an arrow opens its page; the papers listed under it are its most connected.
    papers, _total = seed_store.papers_by_technique("sae", sort="centrality", limit=3)
    listed = browser.find_elements(By.CSS_SELECTOR, "[data-reads=sae] a[href^='/papers/']")
    assert [a.get_attribute("href") for a in listed] == [f"{live_server}/papers/{p.id}" for p in papers]
    sae = browser.find_element(By.CSS_SELECTOR, "a[data-technique=sae]")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", sae)
    sae.click()
    wait(browser).until(lambda d: d.current_url == live_server + "/techniques/sae")
    assert "Sparse Autoencoder (SAE)" in browser.find_element(By.TAG_NAME, "h1").text


def test_the_start_page_does_not_scroll_sideways_at_320_px(browser: WebDriver, live_server: str) -> None:
    """WCAG 1.4.10 Reflow, as the other pages (test_browser.REFLOW_PAGES)."""
    with screen_width(browser, 320):
        open_page(browser, live_server + "/start")
        widths = browser.execute_script(
            "const e = document.documentElement; return [e.scrollWidth, e.clientWidth]")
        assert widths[1] <= 320 and widths[0] <= widths[1], widths
