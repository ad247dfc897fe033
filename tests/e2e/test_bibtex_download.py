"""The paper page's BibTeX downloads, saved by real headless Chromium: the file gets the name the server
sends (Content-Disposition), and the links' `download` attributes name no other file, so what a reader
sees suggested and what is saved agree."""

from __future__ import annotations

import re
import urllib.request
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from tests.e2e.conftest import WAIT, open_page, saved_files

IOI_ID = "2211.00593"


def _served(url: str) -> tuple[str, str]:
    """(the file name the server's Content-Disposition gives the response at `url`, its text)."""
    with urllib.request.urlopen(url, timeout=30) as response:
        disposition = response.headers["Content-Disposition"]
        text = response.read().decode("utf-8")
    match = re.fullmatch(r'inline; filename="([^"/\\]+\.bib)"', disposition)
    assert match, disposition
    return match.group(1), text


@pytest.mark.parametrize("selector", ["[data-bibtex-download]", "[data-related-bibtex]"])
def test_a_bibtex_download_is_saved_under_the_name_the_server_sends(
    downloads: tuple[WebDriver, Path], live_server: str, selector: str
) -> None:
    driver, folder = downloads
    open_page(driver, f"{live_server}/papers/{IOI_ID}")
    link = driver.find_element(By.CSS_SELECTOR, selector)
    served, served_text = _served(link.get_attribute("href") or "")
    # The attribute names no file of its own (the server's name is the one saved); a value would be a
    # second, different name for the same file.
    assert link.get_attribute("download") in ("", served)
    link.click()
    WebDriverWait(driver, WAIT).until(lambda _d: saved_files(folder))
    assert saved_files(folder) == [served]
    assert (folder / served).read_text(encoding="utf-8") == served_text and served_text.startswith("@")
