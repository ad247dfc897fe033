"""A paper's own page in real headless Chromium: every author shown and wrapping within a phone-wide
screen, and an abstract's TeX ("\\textit{x}", "``x''", "$\\sim$70%") drawn as the text it stands for."""

from __future__ import annotations

from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from kg.embedded import EmbeddedStore
from tests.e2e.test_browser import open_page, screen_width

pytestmark = [pytest.mark.browser, pytest.mark.model]

MONO_ID = "towards-monosemanticity"  # 25 authors in the seed corpus, the last one Christopher Olah

# Each author's box on screen, and how wide the page and its viewport are.
AUTHOR_BOXES = """
const line = document.querySelector('.paper-header [data-authors]');
const names = line ? [...line.querySelectorAll('bdi')] : [];
return {names: names.map(b => b.textContent),
        shown: names.map(b => { const r = b.getBoundingClientRect(); return [r.left, r.right, r.width]; }),
        line: line ? line.innerText : '',
        scroll: document.documentElement.scrollWidth, viewport: window.innerWidth};
"""


@pytest.mark.parametrize("width", [360, 1280])
def test_every_author_is_on_the_page_and_the_line_wraps(
        browser: WebDriver, live_server: str, seed_store: EmbeddedStore, width: int, shot: Any) -> None:
    detail = seed_store.get_paper(MONO_ID)
    assert detail is not None and len(detail.paper.authors) == 25
    with screen_width(browser, width):
        open_page(browser, f"{live_server}/papers/{MONO_ID}")
        found = browser.execute_script(AUTHOR_BOXES)
        shot(f"paper-authors-{width}")
    assert found["names"] == detail.paper.authors
    assert found["line"].endswith(", Christopher Olah") and "et al." not in found["line"]
    for name, (left, right, shown_width) in zip(found["names"], found["shown"], strict=True):
        assert shown_width > 0 and left >= 0 and right <= found["viewport"] + 0.5, (name, left, right)
    assert found["scroll"] <= found["viewport"]  # wrapped, not widening the page


def test_an_abstracts_tex_is_drawn_as_text(browser: WebDriver, live_server: str) -> None:
    open_page(browser, f"{live_server}/papers/2301.05217")
    abstract = browser.find_element(By.CSS_SELECTOR, "p.abstract").text
    assert "find continuous progress measures that" in abstract and "“grokking”" in abstract
    assert "\\textit" not in abstract and "``" not in abstract
    open_page(browser, f"{live_server}/papers/2212.09095")
    findings = browser.find_element(By.CSS_SELECTOR, "ul.findings").text
    assert "∼70% of attention heads" in findings and "$\\sim$" not in findings
