"""The New page's technique select in a real browser (headless Chromium, the seed corpus): choosing a
technique and pressing Show lists only its papers and keeps it in the URL, the select and the feed link;
the technique page's feed link leads to that technique's feed; at 320 px nothing scrolls sideways."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import feedparser
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

from tests.e2e.test_browser import open_page, screen_width, wait


def _row_ids(driver: WebDriver) -> list[str]:
    return [r.get_attribute("data-paper-id") or "" for r in
            driver.find_elements(By.CSS_SELECTOR, "[data-paper-row]")]


def test_choosing_a_technique_on_the_new_page_lists_its_papers(browser: WebDriver, live_server: str) -> None:
    open_page(browser, live_server + "/new?since=2000-01-01")
    every = _row_ids(browser)
    Select(browser.find_element(By.ID, "new-technique")).select_by_value("sae")
    browser.find_element(By.CSS_SELECTOR, "form.since button[type=submit]").click()
    wait(browser).until(lambda d: "technique=sae" in d.current_url)
    sae = _row_ids(browser)
    # A paper whose techniques belong to several groups is a row in each: the papers are the distinct ids.
    assert sae and len(set(sae)) < len(set(every)) and set(sae) <= set(every)
    assert parse_qs(urlsplit(browser.current_url).query) == {"since": ["2000-01-01"], "technique": ["sae"]}
    assert Select(browser.find_element(By.ID, "new-technique")).first_selected_option.get_attribute(
        "value") == "sae"
    feed = browser.find_element(By.CSS_SELECTOR, "form.since a.feed").get_attribute("href") or ""
    assert parse_qs(urlsplit(feed).query) == {"since": ["2000-01-01"], "technique": ["sae"]}
    # The feed lists the papers the page lists (the since given: both are the papers since it).
    entries = feedparser.parse(browser.execute_script(
        "return fetch(arguments[0]).then(r => r.text())", feed + "&limit=100")).entries
    assert sorted(e.id.rsplit("/", 1)[-1].rsplit(":", 1)[-1] for e in entries) == sorted(set(sae))


def test_the_technique_pages_feed_link_is_its_own_feed(browser: WebDriver, live_server: str) -> None:
    open_page(browser, live_server + "/techniques/sae")
    link = browser.find_element(By.CSS_SELECTOR, "a[data-technique-feed]")
    discovered = browser.find_element(By.CSS_SELECTOR, 'link[rel="alternate"][type="application/atom+xml"]')
    assert link.get_attribute("href") == discovered.get_attribute("href")
    assert (discovered.get_attribute("title") or "").startswith("paperkg: new papers using ")
    feed = feedparser.parse(browser.execute_script(
        "return fetch(arguments[0]).then(r => r.text())", link.get_attribute("href")))
    assert feed.feed.id == "urn:paperkg:feeds:new:technique:sae" and feed.entries


def test_the_new_page_with_several_techniques_fits_a_320_px_screen(browser: WebDriver,
                                                                   live_server: str) -> None:
    with screen_width(browser, 320):
        open_page(browser, live_server + "/new?since=2000-01-01&technique=sae&technique=activation_patching")
        widths = browser.execute_script(
            "const e = document.documentElement; return [e.scrollWidth, e.clientWidth]")
        assert widths[0] <= widths[1] <= 320, widths
        chosen = Select(browser.find_element(By.ID, "new-technique")).all_selected_options
        assert {o.get_attribute("value") for o in chosen} == {"sae", "activation_patching"}
