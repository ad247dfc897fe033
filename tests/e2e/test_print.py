"""The print style sheet in real headless Chromium: a printed page is its content, without the header,
forms and controls, and a paper page prints its BibTeX (QA: the nav, search box, star glyphs and
"copy BibTeX" / "graph view" printed, and the BibTeX <details> printed closed; it now prints its body)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from api.bibtex import to_bibtex
from kg.embedded import EmbeddedStore
from tests.e2e.conftest import WAIT, open_page

pytestmark = [pytest.mark.browser, pytest.mark.model]

IOI_ID = "2211.00593"

@contextmanager
def print_media(driver: WebDriver) -> Iterator[None]:
    """The page styled for print (CSS media "print"), as Chromium's print preview and PDF render it."""
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        yield
    finally:  # the browser is shared by the session's tests
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})


def shown(driver: WebDriver, selector: str) -> list[bool]:
    """Whether each element `selector` finds is rendered (is_displayed), in document order."""
    return [e.is_displayed() for e in driver.find_elements(By.CSS_SELECTOR, selector)]


def rendered(driver: WebDriver, selector: str) -> bool:
    """Whether Chromium renders the first element `selector` finds (checkVisibility, with a height)."""
    return bool(driver.execute_script("var e = document.querySelector(arguments[0]);"
                                      "return e.checkVisibility() && e.getBoundingClientRect().height > 0",
                                      selector))


# What a printed page must leave out: the header (brand, search box, main navigation), every form and
# button (the star glyphs are buttons), the pager, and the paper page's links to on-screen tools.
CONTROLS = ("header.top", "nav.top-nav", "form", "button", ".star", "nav.pager", "footer.foot")


def test_a_printed_paper_page_is_its_content_and_its_bibtex(
    browser: WebDriver, live_server: str, seed_store: EmbeddedStore
) -> None:
    open_page(browser, f"{live_server}/papers/{IOI_ID}")
    # On screen: the controls are there (the stars and copy button once the script ran), the BibTeX
    # sits in its closed <details>, the page's one copy of it (a text browser shows every element).
    WebDriverWait(browser, WAIT).until(lambda d: any(shown(d, ".title-row .star")))
    assert shown(browser, "header.top") == [True] and any(shown(browser, "button"))
    assert shown(browser, "details.bibtex") == [True] and not rendered(browser, "details.bibtex pre")
    assert len(browser.find_elements(By.CSS_SELECTOR, "pre")) == 1
    graph_link = browser.find_element(By.LINK_TEXT, "graph view")
    download = browser.find_element(By.CSS_SELECTOR, "[data-bibtex-download]")
    assert graph_link.is_displayed() and download.is_displayed()
    detail = seed_store.get_paper(IOI_ID)
    assert detail is not None
    bibtex = to_bibtex(detail.paper)
    with print_media(browser):
        for selector in CONTROLS:
            assert not any(shown(browser, selector)), selector
        assert not graph_link.is_displayed() and not download.is_displayed()
        # The closed <details> prints its body (selenium's is_displayed calls it hidden: the rendering
        # says), the whole entry, line for line (innerText: the rendered text, wrapped lines joined).
        assert rendered(browser, "details.bibtex pre")
        text = browser.execute_script("return document.querySelector('details.bibtex pre').innerText")
        assert text.strip().split("\n") == bibtex.strip().split("\n")
        assert browser.find_element(By.CSS_SELECTOR, "h1").is_displayed()
        assert browser.find_element(By.CSS_SELECTOR, ".abstract").is_displayed()
    # Back on screen, as before.
    assert shown(browser, "header.top") == [True] and not rendered(browser, "details.bibtex pre")


def test_a_printed_search_page_is_its_results_without_the_form(browser: WebDriver, live_server: str) -> None:
    open_page(browser, f"{live_server}/search?q=attention+heads")
    rows = browser.find_elements(By.CSS_SELECTOR, "#results [data-paper-row]")
    assert len(rows) == 10
    assert shown(browser, "#search-form") == [True] and shown(browser, "nav.pager") == [True]
    with print_media(browser):
        for selector in (*CONTROLS, "#search-form", "#f-technique", "input", "select"):
            assert not any(shown(browser, selector)), selector
        assert all(r.is_displayed() for r in rows)
        assert browser.find_element(By.CSS_SELECTOR, ".result-count").is_displayed()
    assert shown(browser, "#search-form") == [True]
