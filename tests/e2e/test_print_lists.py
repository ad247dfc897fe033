"""Printed pages in real headless Chromium (print media), as a reading group prints them to PDF: list rows of
papers off arXiv keep their address, a filtered search names its filters, a paper page puts its own facts
before the related papers and prints its BibTeX from the one copy it has, screen-only links and JavaScript-
only bits stay off paper (QA: "transformer-circuits.pub ↗" alone, "filtered" alone, the Record after twenty
related papers, "Search within … →" and the keyboard legend printed or shown without JavaScript)."""

from __future__ import annotations

from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

from api.bibtex import to_bibtex
from kg.embedded import EmbeddedStore
from tests.e2e.conftest import open_page, wait
from tests.e2e.test_print import print_media

pytestmark = [pytest.mark.browser, pytest.mark.model]

IOI_ID = "2211.00593"
SOLU_URL = "https://transformer-circuits.pub/2022/solu/index.html"


def after_content(driver: WebDriver, element: Any) -> str:
    """The ::after content Chromium renders for `element` (its computed `content`, attr() filled in)."""
    return str(driver.execute_script("return getComputedStyle(arguments[0], '::after').content", element))


def top(driver: WebDriver, selector: str) -> float:
    """The top of the first element `selector` finds, in page coordinates."""
    return float(driver.execute_script(
        "return document.querySelector(arguments[0]).getBoundingClientRect().top + window.scrollY", selector))


def rendered_text(driver: WebDriver, selector: str) -> str:
    """The text of the first element `selector` finds as Chromium renders it: empty when not rendered."""
    return str(driver.execute_script(
        "var e = document.querySelector(arguments[0]);"
        "return e.checkVisibility() && e.getBoundingClientRect().height > 0 ? e.innerText.trim() : ''",
        selector))


def test_a_printed_row_of_a_paper_off_arxiv_prints_its_address(browser: WebDriver, live_server: str) -> None:
    open_page(browser, f"{live_server}/search?q=softmax+linear+units&mode=keyword")
    link = browser.find_element(By.CSS_SELECTOR, f'.paper-meta a.out[href="{SOLU_URL}"]')
    arxiv = browser.find_elements(By.CSS_SELECTOR, '.paper-meta a.out[href^="https://arxiv.org/abs/"]')
    assert link.text == "transformer-circuits.pub" and arxiv
    assert SOLU_URL not in after_content(browser, link)  # on screen: the arrow only
    with print_media(browser):
        assert SOLU_URL in after_content(browser, link)
        # An arXiv row's "arXiv:2211.00593" finds the paper already: no address repeated after it.
        assert "arxiv.org" not in after_content(browser, arxiv[0])


def test_a_printed_filtered_search_names_its_filters(browser: WebDriver, live_server: str) -> None:
    open_page(browser, f"{live_server}/search?q=heads&technique=activation_patching&year_from=2022")
    with print_media(browser):
        assert not browser.find_element(By.ID, "search-form").is_displayed()
        count = browser.find_element(By.CSS_SELECTOR, ".result-count")
        assert count.is_displayed()
        assert count.text.endswith("· hybrid · filtered: Activation Patching, from 2022"), count.text


def test_an_in_place_search_names_its_filters_as_the_full_page_does(browser: WebDriver,
                                                                     live_server: str) -> None:
    """Re-test: after a filter picked in the form (an in-place search), the count line said only
    "filtered"."""
    open_page(browser, f"{live_server}/search?q=heads&year_from=2022")
    Select(browser.find_element(By.ID, "f-technique")).select_by_value("activation_patching")
    wait(browser).until(lambda d: "technique=activation_patching" in d.current_url)
    named = ".result-count [data-filter-words]"
    words = wait(browser).until(lambda d: d.find_element(By.CSS_SELECTOR, named))
    assert words.text == "Activation Patching, from 2022"
    open_page(browser, browser.current_url)  # the full page says the same
    assert browser.find_element(By.CSS_SELECTOR, named).text == "Activation Patching, from 2022"


def test_a_printed_paper_page_has_its_own_facts_before_the_related_papers(
    browser: WebDriver, live_server: str, seed_store: EmbeddedStore
) -> None:
    open_page(browser, f"{live_server}/papers/{IOI_ID}")
    # On screen: two columns, the facts beside the abstract.
    side_x, main_x = (browser.find_element(By.CSS_SELECTOR, s).rect["x"]
                      for s in (".paper-side", ".paper-main"))
    assert side_x > main_x
    assert top(browser, ".paper-side") < top(browser, "#related")
    with print_media(browser):
        # One column: abstract, list rows, findings, then techniques … record, then the related papers.
        findings = top(browser, ".findings")
        assert top(browser, ".abstract") < findings < top(browser, ".paper-side") < top(browser, "#related")
        record = browser.find_element(By.CSS_SELECTOR, ".paper-side .facts")
        assert record.is_displayed() and top(browser, ".paper-side .facts") < top(browser, "#related")
        # The BibTeX prints from the page's one copy, its closed <details>: the whole entry under its name.
        detail = seed_store.get_paper(IOI_ID)
        assert detail is not None
        # (selenium's is_displayed calls any content of a closed <details> hidden: the rendering says.)
        assert rendered_text(browser, "details.bibtex pre").split("\n") == \
            to_bibtex(detail.paper).strip().split("\n")
        assert browser.find_element(By.CSS_SELECTOR, "details.bibtex summary").text == "BibTeX"
    # Back on screen: closed, as before.
    assert rendered_text(browser, "details.bibtex pre") == ""
    assert len(browser.find_elements(By.CSS_SELECTOR, "pre")) == 1


def test_an_awesome_list_entry_prints_whole(browser: WebDriver, live_server: str) -> None:
    open_page(browser, f"{live_server}/papers/{IOI_ID}")
    rows = browser.find_elements(By.CSS_SELECTOR, ".list-rows > li")
    assert rows
    with print_media(browser):
        breaks = {browser.execute_script("return getComputedStyle(arguments[0]).breakInside", row)
                  for row in rows}
        assert breaks == {"avoid"}


def test_screen_only_links_of_technique_and_author_pages_do_not_print(browser: WebDriver, live_server: str
                                                                     ) -> None:
    for url, texts in ((f"{live_server}/techniques/activation_patching",
                        ("Search within Activation Patching →", "New papers using Activation Patching →",
                         "Atom feed of new papers using Activation Patching")),
                       (f"{live_server}/authors/neel%20nanda",
                        ("Search for “Neel Nanda” →", "Atom feed of new papers by Neel Nanda"))):
        open_page(browser, url)
        links = [browser.find_element(By.PARTIAL_LINK_TEXT, text.split(" →")[0]) for text in texts]
        assert [a.text for a in links] == list(texts)
        assert all(a.is_displayed() for a in links)
        with print_media(browser):
            assert not any(a.is_displayed() for a in links), url
            assert browser.find_element(By.CSS_SELECTOR, "[data-paper-row]").is_displayed()


def test_for_you_prints_its_lists_without_their_tools(browser: WebDriver, live_server: str) -> None:
    open_page(browser, f"{live_server}/for-you")
    browser.execute_script("localStorage.setItem('paperkg.stars', JSON.stringify(arguments[0]))",
                           [{"id": IOI_ID, "title": "Interpretability in the Wild"},
                            {"id": "solu", "title": "SoLU"}])
    try:
        open_page(browser, f"{live_server}/for-you")
        rows = wait(browser).until(
            lambda d: d.find_elements(By.CSS_SELECTOR, "[data-rec-list] [data-paper-row]"))
        tools = [browser.find_element(By.CSS_SELECTOR, s) for s in ("[data-stars-bibtex]", "details.share")]
        assert all(t.is_displayed() for t in tools)
        # A recommendation links the paper's page elsewhere, as the server's rows do; printed, its address.
        outs = browser.find_elements(By.CSS_SELECTOR, "[data-rec-list] .paper-meta a.out")
        assert len(outs) == len(rows)
        off_arxiv = [a for a in outs if not a.get_attribute("href").startswith("https://arxiv.org/abs/")]
        assert all(a.text.startswith("arXiv:") for a in outs if a not in off_arxiv)
        with print_media(browser):
            assert not any(t.is_displayed() for t in tools)
            assert browser.find_element(By.CSS_SELECTOR, "[data-starred-list]").is_displayed()
            for a in off_arxiv:
                assert a.get_attribute("href") in after_content(browser, a)
    finally:
        browser.execute_script("localStorage.clear()")


def test_the_keyboard_legend_shows_only_with_javascript(browser: WebDriver, no_js_browser: WebDriver,
                                                       live_server: str) -> None:
    open_page(no_js_browser, f"{live_server}/search")
    keys = no_js_browser.find_element(By.CSS_SELECTOR, ".foot .keys")
    assert not keys.is_displayed()
    assert no_js_browser.find_element(By.CSS_SELECTOR, ".foot").is_displayed()
    open_page(browser, f"{live_server}/search")
    assert browser.find_element(By.CSS_SELECTOR, ".foot .keys").is_displayed()
