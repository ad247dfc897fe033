"""The paper page's related papers show their score in real headless Chromium (QA: a reader could not see
why #1 with no shared technique beats #3 that shares a lot): the score and the cosine's share of it on each
row, and what each reason adds, strongest first, as visible text adding up to the score shown."""

from __future__ import annotations

import re
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.e2e.test_browser import IOI_ID, open_page

pytestmark = [pytest.mark.browser, pytest.mark.model]


@pytest.mark.parametrize("path", [f"/papers/{IOI_ID}", "/papers/2309.08600?related=20"])
def test_related_rows_show_their_score_and_what_each_reason_adds(browser: WebDriver, live_server: str,
                                                                shot: Any, path: str) -> None:
    open_page(browser, live_server + path)
    rows = browser.find_elements(By.CSS_SELECTOR, "ol.related [data-paper-row]")
    assert rows
    scores = []
    for row in rows:
        score = row.find_element(By.CSS_SELECTOR, "[data-related-score]")
        assert score.is_displayed()
        found = re.fullmatch(r"score (\d\.\d\d), (\d\.\d\d) of it from the cosine", score.text)
        assert found, score.text
        scores.append(float(found.group(1)))
        assert float(found.group(2)) <= float(found.group(1))
        marks = row.find_elements(By.CSS_SELECTOR, "ul.reasons .reason-added")
        added = [round(float(a.text.lstrip("+")) * 100) for a in marks]
        assert len(added) == len(row.find_elements(By.CSS_SELECTOR, "ul.reasons li"))
        assert added == sorted(added, reverse=True)
        # What the reasons add, as shown, adds up to the score as shown (re-test: each rounded alone, a
        # sixth of the rows were 0.01 off).
        assert sum(added) == round(float(found.group(1)) * 100), (score.text, added)
        assert all(a.is_displayed() for a in row.find_elements(By.CSS_SELECTOR, ".reason-added"))
    assert scores == sorted(scores, reverse=True)
    shot("paper-related-scores" + ("" if path.endswith(IOI_ID) else "-more"))
