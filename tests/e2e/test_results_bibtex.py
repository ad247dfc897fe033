"""The search results' "BibTeX of these N" in real headless Chromium: after an in-place (fetch) search the
link is the new results' (it sits in the block the script swaps), and clicking it saves search.bib with
the entries of the rows shown."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from tests.e2e.conftest import WAIT, open_page, saved_files
from tests.e2e.test_browser import idle, result_ids, submit_query

pytestmark = [pytest.mark.browser, pytest.mark.model]


def linked_ids(driver: WebDriver) -> tuple[list[str], str]:
    """The ids the results' BibTeX link names, and its text."""
    link = driver.find_element(By.CSS_SELECTOR, "#results [data-bibtex-list]")
    return parse_qs(urlsplit(link.get_attribute("href") or "").query)["id"], link.text


def test_the_bibtex_link_follows_an_in_place_search(downloads: tuple[WebDriver, Path],
                                                    live_server: str) -> None:
    driver, folder = downloads
    open_page(driver, live_server + "/search?q=circuits+in+language+models")
    WebDriverWait(driver, WAIT).until(lambda d: len(result_ids(d)) > 0)
    first = result_ids(driver)
    assert linked_ids(driver) == (first, f"BibTeX of these {len(first)}")
    submit_query(driver, "sparse autoencoders features")
    WebDriverWait(driver, WAIT).until(lambda d: idle(d) and result_ids(d) and result_ids(d) != first)
    assert "fragment" not in driver.current_url
    shown = result_ids(driver)
    assert linked_ids(driver) == (shown, f"BibTeX of these {len(shown)}")
    driver.find_element(By.CSS_SELECTOR, "#results [data-bibtex-list]").click()
    WebDriverWait(driver, WAIT).until(lambda _d: saved_files(folder))
    assert saved_files(folder) == ["search.bib"]
    text = (folder / "search.bib").read_text(encoding="utf-8")
    assert len(re.findall(r"^@\w+\{", text, flags=re.MULTILINE)) == len(set(shown))
    assert all(i in text for i in shown if re.fullmatch(r"\d{4}\.\d{4,5}", i))  # their eprint fields
