"""Following an author in real headless Chromium: a name on a paper's page opens the author's page,
which lists that paper and links the coauthors."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from tests.e2e.test_browser import open_page

pytestmark = [pytest.mark.browser, pytest.mark.model]

MONO_ID = "towards-monosemanticity"  # 25 authors in the seed corpus, the last one Christopher Olah


def test_clicking_an_author_on_a_paper_page_opens_their_page(browser: WebDriver, live_server: str) -> None:
    open_page(browser, f"{live_server}/papers/{MONO_ID}")
    link = browser.find_element(By.XPATH, "//*[@data-authors]//a[bdi='Christopher Olah']")
    link.click()
    WebDriverWait(browser, 30).until(ec.url_contains("/authors/"))
    assert browser.current_url == f"{live_server}/authors/christopher%20olah"
    assert browser.find_element(By.CSS_SELECTOR, "h1[data-author-name] bdi").text == "Christopher Olah"
    rows = browser.find_elements(By.CSS_SELECTOR, "[data-author-papers] [data-paper-row]")
    assert MONO_ID in [r.get_attribute("data-paper-id") for r in rows]
    coauthors = browser.find_elements(By.CSS_SELECTOR, "[data-coauthors] a")
    assert coauthors and all("/authors/" in (a.get_attribute("href") or "") for a in coauthors)
    feed = browser.find_element(By.CSS_SELECTOR, "[data-author-feed]")
    assert feed.get_attribute("href") == f"{live_server}/feeds/new.atom?author=christopher+olah"


def test_a_search_for_an_author_far_down_a_list_shows_them(browser: WebDriver, live_server: str) -> None:
    open_page(browser, f"{live_server}/search?q=olah+monosemanticity&mode=keyword")
    row = browser.find_element(By.CSS_SELECTOR, f'[data-paper-id="{MONO_ID}"] .byline')
    assert "… Christopher Olah et al. (25)" in row.text


def test_for_you_links_the_authors_of_recommendations(browser: WebDriver, live_server: str) -> None:
    open_page(browser, live_server + "/")
    browser.execute_script("window.localStorage.setItem('paperkg.stars', JSON.stringify("
                           "[{id: arguments[0], title: 'Towards Monosemanticity'}]))", MONO_ID)
    open_page(browser, live_server + "/for-you")
    WebDriverWait(browser, 60).until(lambda d: d.find_elements(By.CSS_SELECTOR, "[data-rec-list] a.author"))
    names = browser.find_elements(By.CSS_SELECTOR, "[data-rec-list] a.author")
    # Each name links its author's page by key, as the server-rendered rows do (api.web_authors.author_href).
    for link in names:
        key = " ".join(link.text.split()).lower()
        assert link.get_attribute("href") == f"{live_server}/authors/{key.replace(' ', '%20')}", link.text
    name = names[0].text
    names[0].click()
    WebDriverWait(browser, 30).until(ec.url_contains("/authors/"))
    assert browser.find_element(By.CSS_SELECTOR, "h1[data-author-name] bdi").text == name
    browser.execute_script("window.localStorage.clear()")
