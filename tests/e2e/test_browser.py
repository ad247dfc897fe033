"""The web UI in real headless Chromium over the real seed corpus and the real embedding model."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import Select

from kg.embedded import EmbeddedStore
from kg.entities import SearchFilters
from kg.store import StoreUnavailable
from tests.e2e.conftest import (
    SCREENSHOTS,
    SwitchableStore,
    chromium,
    off_host,
    open_page,
    requested_urls,
    wait,
)
from tests.hostile import HOSTILE_ID

pytestmark = [pytest.mark.browser, pytest.mark.model]

IOI_ID = "2211.00593"
IOI_TITLE = "Interpretability in the Wild: a Circuit for Indirect Object Identification in GPT-2 small"

def result_ids(driver: WebDriver) -> list[str]:
    """Paper ids of the result rows shown."""
    rows = driver.find_elements(By.CSS_SELECTOR, "#results [data-paper-row]")
    return [li.get_attribute("data-paper-id") for li in rows]


def assert_no_alert(driver: WebDriver) -> None:
    """No dialog is open."""
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert.text  # noqa: B018 - the property access is the check


def test_search_form_finds_the_expected_paper(browser: WebDriver, live_server: str, shot: Any) -> None:
    open_page(browser, live_server + "/")
    box = browser.find_element(By.ID, "q")
    box.send_keys("how does GPT-2 figure out the indirect object of a sentence?")
    box.send_keys(Keys.ENTER)
    wait(browser).until(lambda d: IOI_ID in result_ids(d))
    assert "q=how+does+GPT-2" in browser.current_url  # shareable URL, updated in place
    assert result_ids(browser).index(IOI_ID) < 3
    row = browser.find_element(By.CSS_SELECTOR, f'[data-paper-id="{IOI_ID}"]')
    assert row.find_element(By.CSS_SELECTOR, ".paper-title").text == IOI_TITLE
    assert row.find_elements(By.CSS_SELECTOR, ".snippet mark"), "the best sentence is highlighted"
    shot("search-results")


def test_technique_filter(browser: WebDriver, live_server: str, seed_store: EmbeddedStore, shot: Any) -> None:
    open_page(browser, live_server + "/search?q=circuits+in+language+models")
    wait(browser).until(lambda d: len(result_ids(d)) == 10)
    unfiltered = result_ids(browser)
    Select(browser.find_element(By.ID, "f-technique")).select_by_value("activation_patching")
    wait(browser).until(lambda d: "technique=activation_patching" in d.current_url)
    wait(browser).until(lambda d: result_ids(d) and result_ids(d) != unfiltered)
    allowed = seed_store.filter_ids(SearchFilters(technique_ids=["activation_patching"]))
    shown = result_ids(browser)
    assert shown and set(shown) <= allowed
    assert browser.find_elements(By.CSS_SELECTOR, "#results .chip-on")
    shot("search-technique-filter")


def test_paper_page_and_related_link(browser: WebDriver, live_server: str, shot: Any) -> None:
    open_page(browser, f"{live_server}/papers/{IOI_ID}")
    assert browser.find_element(By.CSS_SELECTOR, "[data-paper-title]").text == IOI_TITLE
    assert browser.find_elements(By.CSS_SELECTOR, ".uses .badge-list")
    shot("paper")
    first = browser.find_element(By.CSS_SELECTOR, "ol.related [data-paper-row]")
    target_id = first.get_attribute("data-paper-id")
    target_title = first.find_element(By.CSS_SELECTOR, ".paper-title").text
    assert first.find_elements(By.CSS_SELECTOR, ".reasons li")
    first.find_element(By.CSS_SELECTOR, ".paper-title").click()
    wait(browser).until(lambda d: d.current_url.endswith(f"/papers/{target_id}"))
    assert browser.find_element(By.CSS_SELECTOR, "[data-paper-title]").text == target_title
    shot("paper-related")


def test_graph_view_renders_and_navigates(browser: WebDriver, live_server: str, shot: Any) -> None:
    open_page(browser, f"{live_server}/papers/{IOI_ID}/graph")
    count = wait(browser).until(
        lambda d: d.execute_script("return window.paperkgCy ? window.paperkgCy.nodes().length : 0")
    )
    assert count > 1
    kinds = browser.execute_script("return window.paperkgCy.nodes().map(n => n.data('kind'))")
    assert {"center", "paper", "technique", "author"} <= set(kinds)
    shot("graph")
    # Click a neighbouring paper node on the canvas: the browser goes to that paper's page.
    target = browser.execute_script(
        "const cy = window.paperkgCy; const n = cy.nodes('[kind = \"paper\"]')[0];"
        "cy.zoom(1.5); cy.center(n); const p = n.renderedPosition();"
        "return {id: n.id(), x: p.x, y: p.y};"
    )
    canvas = browser.find_element(By.ID, "cy")
    size = canvas.size
    ActionChains(browser).move_to_element_with_offset(
        canvas, int(target["x"] - size["width"] / 2), int(target["y"] - size["height"] / 2)
    ).click().perform()
    paper_id = target["id"].removeprefix("p:")
    wait(browser).until(lambda d: d.current_url.endswith(f"/papers/{paper_id}"))


def test_stars_and_recommendations(browser: WebDriver, live_server: str, shot: Any) -> None:
    open_page(browser, live_server + "/")
    browser.execute_script("window.localStorage.clear()")
    open_page(browser, live_server + "/search?q=sparse+autoencoders+dictionary+learning+features")
    wait(browser).until(lambda d: len(result_ids(d)) >= 2)
    starred = result_ids(browser)[:2]
    for pid in starred:
        button = browser.find_element(By.CSS_SELECTOR, f'#results [data-star="{pid}"]')
        button.click()
        wait(browser).until(lambda d, b=button: b.get_attribute("aria-pressed") == "true")
    assert browser.find_element(By.CSS_SELECTOR, "[data-star-count]").text == "★2"
    open_page(browser, live_server + "/for-you")
    wait(browser).until(lambda d: d.find_elements(By.CSS_SELECTOR, "[data-rec-list] [data-paper-row]"))
    listed = [a.text for a in browser.find_elements(By.CSS_SELECTOR, "[data-starred-list] li > a")]
    assert len(listed) == 2
    recs = browser.find_elements(By.CSS_SELECTOR, "[data-rec-list] [data-paper-row]")
    rec_ids = [r.find_element(By.CSS_SELECTOR, "[data-star]").get_attribute("data-star") for r in recs]
    assert rec_ids and not set(rec_ids) & set(starred)
    assert recs[0].find_elements(By.CSS_SELECTOR, ".reasons li")
    assert "similar to" in recs[0].text
    shot("for-you")
    # The star survives a reload (localStorage) and unstarring updates the page.
    browser.find_element(By.CSS_SELECTOR, "[data-starred-list] [data-star]").click()
    wait(browser).until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-starred-count]").text == "1")


def test_for_you_skips_stars_of_papers_no_longer_in_the_graph(browser: WebDriver, live_server: str) -> None:
    open_page(browser, live_server + "/")
    browser.execute_script(
        "window.localStorage.setItem('paperkg.stars', JSON.stringify(["
        "{id: 'gone-paper-1234', title: 'A removed paper'}, {id: arguments[0], title: 'IOI'}]))", IOI_ID
    )
    open_page(browser, live_server + "/for-you")
    wait(browser).until(lambda d: d.find_elements(By.CSS_SELECTOR, "[data-rec-list] [data-paper-row]"))
    assert "recommendation" in browser.find_element(By.CSS_SELECTOR, "[data-rec-status]").text
    assert len(browser.find_elements(By.CSS_SELECTOR, "[data-starred-list] li")) == 2
    browser.execute_script("window.localStorage.clear()")


def test_keyboard_slash_focuses_search_and_j_moves(browser: WebDriver, live_server: str) -> None:
    open_page(browser, f"{live_server}/papers/{IOI_ID}")
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys("/")
    assert browser.switch_to.active_element.get_attribute("name") == "q"
    browser.switch_to.active_element.send_keys(Keys.ESCAPE)
    body.send_keys("j")
    current = browser.find_elements(By.CSS_SELECTOR, "[data-paper-row].kb-current")
    assert len(current) == 1
    assert browser.switch_to.active_element.get_attribute("data-row-link") is not None


def test_in_place_search_highlights_the_bad_field_and_clears_it(browser: WebDriver, live_server: str,
                                                                shot: Any) -> None:
    open_page(browser, live_server + "/search?q=induction+heads")
    wait(browser).until(lambda d: result_ids(d))
    year_from, year_to = browser.find_element(By.ID, "f-year-from"), browser.find_element(By.ID, "f-year-to")
    year_from.send_keys("2024")
    year_to.send_keys("2020")
    year_to.send_keys(Keys.ENTER)  # the form is submitted in place: only #results is replaced
    wait(browser).until(lambda d: d.find_elements(By.CSS_SELECTOR, '#results [data-state="error"]'))
    assert "highlighted field" in browser.find_element(By.ID, "results").text
    marked = [e.get_attribute("id") for e in browser.find_elements(By.CSS_SELECTOR, '[aria-invalid="true"]')]
    assert marked == ["f-year-from", "f-year-to"]
    assert year_from.get_attribute("aria-describedby") == "search-error"
    shot("search-bad-year-range")
    year_to.clear()
    year_to.send_keys("2025")
    year_to.send_keys(Keys.ENTER)
    wait(browser).until(lambda d: result_ids(d))
    assert browser.find_elements(By.CSS_SELECTOR, '[aria-invalid="true"]') == []


def test_star_buttons_are_named_after_their_paper(browser: WebDriver, live_server: str) -> None:
    open_page(browser, f"{live_server}/papers/{IOI_ID}")
    star = browser.find_element(By.CSS_SELECTOR, ".title-row [data-star]")
    wait(browser).until(lambda d: star.is_displayed())
    # The glyph alone is read as "white star"; the name says which paper, aria-pressed the state.
    assert star.accessible_name == f"Star: {IOI_TITLE}"


def test_search_works_without_javascript(no_js_browser: WebDriver, live_server: str) -> None:
    no_js_browser.get(live_server + "/")
    box = no_js_browser.find_element(By.ID, "q")
    box.send_keys("locating and editing factual associations")
    Select(no_js_browser.find_element(By.ID, "f-technique")).select_by_value("cma")
    box.submit()
    wait(no_js_browser).until(lambda d: "/search?" in d.current_url)
    assert "technique=cma" in no_js_browser.current_url  # a plain GET form: a shareable URL
    assert result_ids(no_js_browser)[0] == "2202.05262"
    # Without JS the star buttons stay hidden (stars need localStorage).
    assert not any(b.is_displayed() for b in no_js_browser.find_elements(By.CSS_SELECTOR, "[data-star]"))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    no_js_browser.save_screenshot(str(SCREENSHOTS / "search-no-js.png"))


HOSTILE_PAGES = [
    f"/papers/{HOSTILE_ID}", f"/papers/{HOSTILE_ID}/graph",
    "/search?q=activation+patching+attention+heads+GPT-2",
    "/search?q=%3Cscript%3Ewindow.__xss%3D9%3C%2Fscript%3E", "/techniques/activation_patching", "/new",
]


@pytest.mark.parametrize("path", HOSTILE_PAGES)
def test_hostile_paper_is_inert(browser: WebDriver, live_server: str, path: str, shot: Any) -> None:
    open_page(browser, live_server + path)
    if path.endswith("/graph"):
        wait(browser).until(lambda d: d.execute_script("return window.paperkgCy ? 1 : 0"))
    assert_no_alert(browser)
    assert browser.execute_script("return typeof window.__xss") == "undefined"
    assert browser.execute_script("return document.querySelectorAll('img').length") == 0
    inline = browser.execute_script("return [...document.scripts].filter(s => !s.src).length")
    assert inline == 0
    if path.startswith("/papers/") and not path.endswith("/graph"):
        # The payload is visible as text, exactly as written.
        assert "<script>window.__xss = 1; alert(1)</script>" in browser.find_element(By.TAG_NAME, "h1").text
        shot("xss-paper")


def test_no_request_leaves_localhost(browser: WebDriver, live_server: str, shot: Any) -> None:
    requested_urls(browser)  # drop what earlier tests logged (requests and console messages)
    browser.get_log("browser")
    pages = ["/", "/search?q=induction+heads", f"/papers/{IOI_ID}", f"/papers/{IOI_ID}/graph", "/techniques",
             "/techniques/cma", "/new", "/for-you", "/about"]
    for path in pages:
        open_page(browser, live_server + path)
        if path.endswith("/graph"):
            wait(browser).until(lambda d: d.execute_script("return window.paperkgCy ? 1 : 0"))
        shot("page" + path.replace("/", "_").replace("?", "_").replace("=", "-").replace("+", "-"))
    urls = requested_urls(browser)
    assert any(u.endswith("/static/vendor/cytoscape.min.js") for u in urls)
    assert any("/graph.json" in u for u in urls) and any(u.endswith("/static/paperkg.css") for u in urls)
    assert off_host(urls, live_server) == []
    severe = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert severe == [], severe  # no CSP violations, no failed loads


# -- accessibility: focus, history, announcements, keyboard ----------------------------------------

def idle(driver: WebDriver) -> bool:
    """No in-place search is waiting or in flight."""
    return bool(driver.execute_script(
        "return !document.body.classList.contains('loading') && !document.getElementById('results')"
        ".hasAttribute('aria-busy')"))


def test_pager_and_example_links_move_focus_to_the_result_count(browser: WebDriver, live_server: str) -> None:
    open_page(browser, live_server + "/search?q=circuits+in+language+models")
    wait(browser).until(lambda d: len(result_ids(d)) == 10)
    first_page = result_ids(browser)
    next_link = browser.find_element(By.CSS_SELECTOR, ".pager a[rel=next]")
    browser.execute_script("arguments[0].scrollIntoView()", next_link)
    next_link.send_keys(Keys.ENTER)  # a keyboard user on the pager
    wait(browser).until(lambda d: "page=2" in d.current_url and result_ids(d) != first_page)
    wait(browser).until(lambda d: "result-count" in (d.switch_to.active_element.get_attribute("class") or ""))
    assert browser.switch_to.active_element.tag_name == "h2"
    # The results are scrolled back into view (below the sticky header), not left at the old pager.
    top = browser.execute_script("return document.getElementById('results').getBoundingClientRect().top")
    assert 0 <= top < browser.execute_script("return window.innerHeight")
    # The status line, not the whole results block, tells a screen reader what changed.
    count = browser.find_element(By.CSS_SELECTOR, ".result-count").text
    assert browser.find_element(By.CSS_SELECTOR, "[data-search-status]").get_attribute("textContent") == count
    assert idle(browser)

    open_page(browser, live_server + "/")
    example = browser.find_element(By.CSS_SELECTOR, ".examples a")
    example.click()
    wait(browser).until(lambda d: result_ids(d))
    wait(browser).until(lambda d: "result-count" in (d.switch_to.active_element.get_attribute("class") or ""))


def test_arrow_keys_on_a_filter_add_one_history_entry(fresh_tab: WebDriver, live_server: str) -> None:
    """Arrowing through a select is one step for Back, however many options it passes and loads: the search
    before it stays in history (it used to be replaced, and Back left a shared link's search)."""
    browser = fresh_tab
    start = live_server + "/search?q=circuits+in+language+models"
    open_page(browser, start)
    wait(browser).until(lambda d: len(result_ids(d)) == 10)
    first = result_ids(browser)
    before = browser.execute_script("return history.length")
    select = browser.find_element(By.ID, "f-technique")
    select.send_keys(Keys.ARROW_DOWN, Keys.ARROW_DOWN)
    chosen = select.get_attribute("value")
    assert chosen, "the arrow keys moved the selection"
    wait(browser).until(lambda d: f"technique={chosen}" in d.current_url and idle(d))
    assert browser.execute_script("return history.length") == before + 1
    # On through the same select after its results came: that entry is replaced, no new one.
    select.send_keys(Keys.ARROW_DOWN)
    later = select.get_attribute("value")
    assert later and later != chosen
    wait(browser).until(lambda d: f"technique={later}" in d.current_url and idle(d))
    assert browser.execute_script("return history.length") == before + 1
    assert browser.switch_to.active_element == select  # focus stays where the user is
    browser.back()
    wait(browser).until(lambda d: d.current_url == start and result_ids(d) == first)
    technique = Select(browser.find_element(By.ID, "f-technique"))
    assert technique.first_selected_option.get_attribute("value") == ""


def test_a_burst_of_filter_changes_fetches_once(browser: WebDriver, live_server: str) -> None:
    open_page(browser, live_server + "/search?q=circuits+in+language+models")
    wait(browser).until(lambda d: len(result_ids(d)) == 10)
    # Three changes in one task (as fast as arrow keys can come): only the settled choice is fetched.
    browser.execute_script(
        "window.__fetches = []; const real = window.fetch;"
        "window.fetch = function (url) {"
        "  window.__fetches.push(String(url)); return real.apply(this, arguments); };"
        "const sel = document.getElementById('f-technique');"
        "for (let i = 1; i <= 3; i++) { sel.selectedIndex = i; sel.dispatchEvent(new Event('change')); }")
    chosen = browser.find_element(By.ID, "f-technique").get_attribute("value")
    wait(browser).until(lambda d: f"technique={chosen}" in d.current_url and idle(d))
    fetches = browser.execute_script("return window.__fetches")
    assert len(fetches) == 1 and f"technique={chosen}" in fetches[0]


def test_a_year_applies_when_its_field_is_left(browser: WebDriver, live_server: str,
                                               seed_store: EmbeddedStore) -> None:
    open_page(browser, live_server + "/search?q=induction+heads")
    wait(browser).until(lambda d: result_ids(d))
    browser.find_element(By.ID, "f-year-from").send_keys("2023", Keys.TAB)  # no Enter: leaving applies it
    wait(browser).until(lambda d: "year_from=2023" in d.current_url and idle(d))
    ids = result_ids(browser)
    assert ids and all((p.year or 0) >= 2023 for p in seed_store.get_papers(ids))


def test_an_in_place_error_is_announced_once(browser: WebDriver, live_server: str) -> None:
    open_page(browser, live_server + "/search?q=induction+heads")
    wait(browser).until(lambda d: result_ids(d))
    browser.find_element(By.ID, "f-year-from").send_keys("2024")
    year_to = browser.find_element(By.ID, "f-year-to")
    year_to.send_keys("2020", Keys.ENTER)
    wait(browser).until(lambda d: d.find_elements(By.CSS_SELECTOR, '#results [data-state="error"]'))
    wait(browser).until(idle)
    status = browser.find_element(By.CSS_SELECTOR, "[data-search-status]").get_attribute("textContent")
    assert "highlighted field" in status
    # Read by the status line: the inserted notice is no second alert, and #results is no live region.
    assert browser.find_elements(By.CSS_SELECTOR, '#results [role="alert"]') == []
    assert browser.find_element(By.ID, "results").get_attribute("aria-live") is None


def test_sort_select_does_not_navigate_on_arrow_keys(browser: WebDriver, live_server: str) -> None:
    open_page(browser, live_server + "/techniques/cma")
    browser.execute_script("HTMLFormElement.prototype.submit = function () { window.__submitted = true; };")
    select = browser.find_element(By.CSS_SELECTOR, "select[name=sort]")
    select.send_keys(Keys.ARROW_DOWN)
    assert select.get_attribute("value") == "centrality"
    assert browser.execute_script("return window.__submitted === true") is False
    button = browser.find_element(By.CSS_SELECTOR, "form.sort button[type=submit]")
    assert button.is_displayed()
    button.send_keys(Keys.ENTER)
    wait(browser).until(lambda d: d.current_url.endswith("?sort=centrality"))


STARRED_ROWS = "[data-starred-list] li"


def set_stars(driver: WebDriver, live_server: str, stars: list[dict[str, str]]) -> None:
    """Open For you with exactly these stars in localStorage."""
    open_page(driver, live_server + "/about")
    driver.execute_script("window.localStorage.setItem('paperkg.stars', JSON.stringify(arguments[0]))", stars)
    open_page(driver, live_server + "/for-you")
    wait(driver).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, STARRED_ROWS)) == len(stars))


STARS = [{"id": IOI_ID, "title": "IOI circuit"}, {"id": "2202.05262", "title": "ROME"},
         {"id": "logit-lens", "title": "logit lens"}]


def test_for_you_clear_all_asks_first(browser: WebDriver, live_server: str) -> None:
    set_stars(browser, live_server, STARS)
    clear = browser.find_element(By.CSS_SELECTOR, "[data-clear-stars]")
    clear.click()
    wait(browser).until(expected_conditions.alert_is_present())
    assert "3 starred papers" in browser.switch_to.alert.text
    browser.switch_to.alert.dismiss()
    assert len(browser.find_elements(By.CSS_SELECTOR, "[data-starred-list] li")) == 3
    assert len(browser.execute_script("return JSON.parse(localStorage.getItem('paperkg.stars'))")) == 3
    clear.click()
    wait(browser).until(expected_conditions.alert_is_present())
    browser.switch_to.alert.accept()
    wait(browser).until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-starred-count]").text == "0")
    # The clear button is gone: focus lands on the section heading, not on <body>.
    assert browser.switch_to.active_element.get_attribute("id") == "starred-heading"
    browser.execute_script("window.localStorage.clear()")


def test_for_you_unstar_buttons_are_named_and_keep_focus(browser: WebDriver, live_server: str) -> None:
    set_stars(browser, live_server, STARS)
    buttons = browser.find_elements(By.CSS_SELECTOR, "[data-starred-list] button")
    names = [b.accessible_name for b in buttons]
    assert names == ["Unstar: IOI circuit", "Unstar: ROME", "Unstar: logit lens"]
    buttons[1].send_keys(Keys.ENTER)
    wait(browser).until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-starred-count]").text == "2")
    # The next paper's button takes the focus of the one that went away.
    assert browser.switch_to.active_element.accessible_name == "Unstar: logit lens"
    # A star event from elsewhere (another tab) repaints stars but leaves these names alone.
    browser.execute_script("document.dispatchEvent(new CustomEvent('paperkg:stars'))")
    names = [b.accessible_name for b in browser.find_elements(By.CSS_SELECTOR, "[data-starred-list] button")]
    assert names == ["Unstar: IOI circuit", "Unstar: logit lens"]
    browser.execute_script("window.localStorage.clear()")


def test_graph_page_without_javascript_shows_the_list_not_an_empty_box(
    no_js_browser: WebDriver, live_server: str
) -> None:
    no_js_browser.get(f"{live_server}/papers/{IOI_ID}/graph")
    assert not no_js_browser.find_element(By.ID, "cy").is_displayed()
    assert not no_js_browser.find_element(By.CSS_SELECTOR, ".legend").is_displayed()
    listing = no_js_browser.find_element(By.CSS_SELECTOR, "details.graph-list")
    assert listing.is_displayed() and listing.get_attribute("open") is not None
    assert "Authors" in listing.text


def test_graph_canvas_shows_with_javascript(browser: WebDriver, live_server: str) -> None:
    open_page(browser, f"{live_server}/papers/{IOI_ID}/graph")
    canvas = browser.find_element(By.ID, "cy")
    assert canvas.is_displayed() and canvas.size["height"] > 100
    assert canvas.get_attribute("role") == "img" and canvas.get_attribute("tabindex") is None


TARGET_SIZE_JS = (Path(__file__).parent / "target_size.js").read_text(encoding="utf-8")


@pytest.mark.parametrize("width", [1280, 375])
def test_every_target_meets_the_minimum_size_or_spacing(browser: WebDriver, live_server: str,
                                                        width: int) -> None:
    browser.set_window_size(width, 900)
    try:
        for path in ["/", "/search?q=induction+heads", f"/papers/{IOI_ID}", "/techniques", "/techniques/sae",
                     "/new", "/for-you", "/about"]:
            open_page(browser, live_server + path)
            report = browser.execute_script(TARGET_SIZE_JS)
            assert report["checked"] > 5, path
            assert report["failures"] == [], (path, width, report["failures"])
        # The check itself can fail: two stars pressed together are crowded targets.
        open_page(browser, f"{live_server}/search?q=induction+heads")
        wait(browser).until(lambda d: len(result_ids(d)) >= 2)
        browser.execute_script(
            "const stars = document.querySelectorAll('button.star');"
            "stars[0].after(stars[1]); stars[1].style.margin = '0'; stars[0].style.margin = '0';")
        assert browser.execute_script(TARGET_SIZE_JS)["failures"]
    finally:
        browser.set_window_size(1280, 900)


# -- web QA pass: in-place errors, bidi title, clear-filters link, gone stars, ids, overflow, touch ---------

def submit_query(driver: WebDriver, query: str) -> None:
    """Type a query into the search form and submit it (in place when scripts run)."""
    box = driver.find_element(By.ID, "q")
    box.clear()
    box.send_keys(query, Keys.ENTER)


def status_line(driver: WebDriver) -> str:
    """What the search page's status line last announced."""
    return driver.find_element(By.CSS_SELECTOR, "[data-search-status]").get_attribute("textContent") or ""


@pytest.mark.parametrize(("failure", "query", "said"), [
    # The store going down: the server answers the fragment with its own notice (503).
    (StoreUnavailable("connection refused"), "superposition", "The graph store is unavailable."),
    # An unexpected failure: a whole 500 page without a results block, put in place by the script.
    (RuntimeError("boom"), "2211.99999", "The search failed (HTTP 500: Something went wrong)."),
])
def test_an_in_place_search_shows_a_server_error_instead_of_the_old_results(
    browser: WebDriver, flaky_server: tuple[str, SwitchableStore], failure: Exception, query: str, said: str
) -> None:
    base, store = flaky_server
    open_page(browser, base + "/search?q=induction+heads")
    wait(browser).until(lambda d: result_ids(d))
    store.failure = failure
    try:
        submit_query(browser, query)
        wait(browser).until(lambda d: d.find_elements(By.CSS_SELECTOR, '#results [data-state="error"]'))
        wait(browser).until(idle)
        assert result_ids(browser) == []  # the old results are gone
        assert said in browser.find_element(By.ID, "results").text
        assert said in status_line(browser)
        assert browser.current_url.startswith(base + "/search?q=")  # still the search page, form kept
    finally:
        store.failure = None


def test_an_in_place_search_isolates_the_query_in_the_title(browser: WebDriver, live_server: str) -> None:
    """A right-to-left override in the query must not reverse " — search · paperkg" in the title."""
    open_page(browser, live_server + "/search?q=induction+heads")
    wait(browser).until(lambda d: result_ids(d))
    submit_query(browser, "\u202eactivation patching")
    wait(browser).until(lambda d: "activation" in d.title and idle(d))
    assert browser.title == "\u2068\u202eactivation patching\u2069 — search · paperkg"


def test_the_clear_filters_link_follows_an_in_place_search(browser: WebDriver, live_server: str) -> None:
    open_page(browser, live_server + "/search?q=induction+heads")
    wait(browser).until(lambda d: result_ids(d))
    clear = browser.find_element(By.CSS_SELECTOR, "[data-clear-filters]")
    assert not clear.is_displayed()
    Select(browser.find_element(By.ID, "f-technique")).select_by_value("activation_patching")
    wait(browser).until(lambda d: "technique=activation_patching" in d.current_url and idle(d))
    assert clear.is_displayed()
    assert clear.get_attribute("href") == live_server + "/search?q=induction+heads"
    Select(browser.find_element(By.ID, "f-technique")).select_by_value("")
    wait(browser).until(lambda d: "technique=" not in d.current_url and idle(d))
    assert not clear.is_displayed()


def test_for_you_says_when_every_starred_paper_is_gone(browser: WebDriver, live_server: str) -> None:
    set_stars(browser, live_server, [{"id": "gone-paper-1234", "title": "A removed paper"},
                                     {"id": "gone-paper-5678", "title": "Another removed paper"}])
    status = browser.find_element(By.CSS_SELECTOR, "[data-rec-status]")
    wait(browser).until(lambda d: "graph" in status.text)
    assert "None of your 2 starred papers is in the graph any more" in status.text
    assert "Star a paper" not in status.text
    gone = browser.find_elements(By.CSS_SELECTOR, "[data-starred-list] li[data-gone]")
    assert len(gone) == 2 and all("no longer in the graph" in li.text for li in gone)
    # One gone among papers still there: recommendations, and the gone one is marked and named.
    set_stars(browser, live_server, [{"id": "gone-paper-1234", "title": "A removed paper"},
                                     {"id": IOI_ID, "title": "IOI"}])
    wait(browser).until(lambda d: d.find_elements(By.CSS_SELECTOR, "[data-rec-list] [data-paper-row]"))
    wait(browser).until(lambda d: "1 starred paper is no longer in the graph" in
                        d.find_element(By.CSS_SELECTOR, "[data-rec-status]").text)
    marked = browser.find_elements(By.CSS_SELECTOR, "[data-starred-list] li[data-gone]")
    assert [li.find_element(By.TAG_NAME, "a").text for li in marked] == ["A removed paper"]
    browser.execute_script("window.localStorage.clear()")


@pytest.mark.parametrize("query", [f"arXiv:{IOI_ID}", f"https://arxiv.org/abs/{IOI_ID}v3"])
def test_searching_an_arxiv_id_opens_the_paper(browser: WebDriver, live_server: str, query: str) -> None:
    open_page(browser, live_server + "/search?q=induction+heads")
    wait(browser).until(lambda d: result_ids(d))
    submit_query(browser, query)
    wait(browser).until(lambda d: d.current_url == f"{live_server}/papers/{IOI_ID}")
    assert browser.find_element(By.CSS_SELECTOR, "[data-paper-title]").text == IOI_TITLE


LONG_TOKEN = "https://example.org/" + "a" * 260


@pytest.mark.parametrize(("width", "mode"), [(375, "keyword"), (375, "hybrid"), (1280, "hybrid")])
def test_a_long_unbroken_query_does_not_widen_the_page(browser: WebDriver, live_server: str,
                                                       width: int, mode: str) -> None:
    browser.set_window_size(width, 900)
    try:
        open_page(browser, f"{live_server}/search?q={LONG_TOKEN}&mode={mode}")
        # keyword: "No results for …"; hybrid: the result count heading echoes the query.
        wait(browser).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#results [data-state]"))
        overflow = browser.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, (width, mode, overflow)
    finally:
        browser.set_window_size(1280, 900)


def test_a_swipe_over_the_graph_scrolls_the_page_on_a_touch_screen(
    live_server: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    driver = chromium(tmp_path_factory.mktemp("chromium-touch"))
    try:
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": 375, "height": 800, "deviceScaleFactor": 1, "mobile": True})
        driver.execute_cdp_cmd("Emulation.setTouchEmulationEnabled", {"enabled": True, "maxTouchPoints": 1})
        open_page(driver, f"{live_server}/papers/{IOI_ID}/graph")
        wait(driver).until(lambda d: d.execute_script("return window.paperkgCy ? 1 : 0"))
        guard = driver.find_element(By.CSS_SELECTOR, "[data-cy-guard]")
        assert guard.is_displayed()
        box = driver.execute_script("const b = document.getElementById('cy').getBoundingClientRect();"
                                    "return [b.left, b.top, b.right, b.bottom];")
        x, y = (box[0] + box[2]) / 2, min(box[3] - 10, 700)
        pan = driver.execute_script("return JSON.stringify(window.paperkgCy.pan())")

        def touch(kind: str, *points: dict[str, float]) -> None:
            driver.execute_cdp_cmd("Input.dispatchTouchEvent", {"type": kind, "touchPoints": list(points)})

        def swipe(y0: float, y1: float) -> None:
            touch("touchStart", {"x": x, "y": y0})
            for i in range(1, 11):
                touch("touchMove", {"x": x, "y": y0 + (y1 - y0) * i / 10})
            touch("touchEnd")

        swipe(y, y - 300)
        wait(driver).until(lambda d: d.execute_script("return window.scrollY") > 50)
        assert driver.execute_script("return JSON.stringify(window.paperkgCy.pan())") == pan
        # A tap on the cover hands the canvas to the graph: it pans and zooms by touch from then on.
        driver.execute_script("window.scrollTo(0, 0)")
        guard.click()
        assert not guard.is_displayed()
    finally:
        driver.quit()


# -- accessibility audit (WCAG 2.1 AA): skip link, reflow, links in text, key shortcuts, legend ------------

def active_in(driver: WebDriver, selector: str) -> bool:
    """The focused element is, or is inside, an element matching `selector`."""
    return bool(driver.execute_script(
        "return document.activeElement.closest(arguments[0]) !== null", selector))


def test_the_skip_link_moves_focus_without_reloading_the_search_page(browser: WebDriver,
                                                                     live_server: str) -> None:
    open_page(browser, live_server + "/search?q=induction+heads")
    wait(browser).until(lambda d: result_ids(d))
    # A reload would drop this window property.
    browser.execute_script("window.__kept = true; document.activeElement.blur()")
    ActionChains(browser).send_keys(Keys.TAB).perform()
    assert browser.switch_to.active_element.text == "Skip to content"
    ActionChains(browser).send_keys(Keys.ENTER).perform()
    wait(browser).until(lambda d: d.current_url.endswith("#main"))
    assert browser.execute_script("return window.__kept === true"), "following #main reloaded the page"
    ActionChains(browser).send_keys(Keys.TAB).perform()
    assert active_in(browser, "main"), browser.switch_to.active_element.get_attribute("outerHTML")


def test_back_and_forward_show_the_results_of_their_search(browser: WebDriver, live_server: str) -> None:
    open_page(browser, live_server + "/search?q=induction+heads")
    wait(browser).until(lambda d: result_ids(d))
    first = result_ids(browser)
    submit_query(browser, "sparse autoencoders dictionary learning")
    wait(browser).until(lambda d: "q=sparse" in d.current_url and idle(d) and result_ids(d) != first)
    second = result_ids(browser)
    # An in-page anchor adds an entry with the same search: going back to it keeps the page as it is.
    browser.execute_script("window.__kept = true; document.querySelector('.skip').click()")
    wait(browser).until(lambda d: d.current_url.endswith("#main"))
    browser.back()
    wait(browser).until(lambda d: not d.current_url.endswith("#main"))
    assert browser.execute_script("return window.__kept === true")
    assert result_ids(browser) == second
    # Back to the first search: its results, not the ones on the page.
    browser.back()
    wait(browser).until(lambda d: "q=induction" in d.current_url and result_ids(d) == first)
    assert browser.find_element(By.ID, "q").get_attribute("value") == "induction heads"
    browser.forward()
    wait(browser).until(lambda d: "q=sparse" in d.current_url and result_ids(d) == second)


@contextmanager
def screen_width(driver: WebDriver, width: int) -> Iterator[None]:
    """Emulate a screen `width` CSS px wide (a headless window cannot be made narrower than 500 px)."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": 800, "deviceScaleFactor": 1, "mobile": False})
    try:
        yield
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


REFLOW_PAGES = [
    "/", "/search?q=circuits&technique=activation_patching&year_from=2020&year_to=2024&source=list",
    "/search?q=circuits&page=99", f"/papers/{IOI_ID}", f"/papers/{IOI_ID}/graph", "/techniques",
    "/techniques/activation_patching", "/for-you", "/new", "/about", "/no-such-page",
]


def test_no_page_scrolls_sideways_at_320_px(browser: WebDriver, live_server: str) -> None:
    """WCAG 1.4.10 Reflow: 320 CSS px (a 1280 px window at 400 % zoom) needs no horizontal scrolling."""
    set_stars(browser, live_server, [{"id": IOI_ID, "title": "IOI"}])
    try:
        with screen_width(browser, 320):
            for path in REFLOW_PAGES:
                open_page(browser, live_server + path)
                if path.endswith("/graph"):
                    wait(browser).until(lambda d: d.execute_script("return window.paperkgCy ? 1 : 0"))
                if path == "/for-you":
                    wait(browser).until(
                        lambda d: d.find_elements(By.CSS_SELECTOR, "[data-rec-list] [data-paper-row]"))
                widths = browser.execute_script(
                    "const e = document.documentElement; return [e.scrollWidth, e.clientWidth]")
                assert widths[1] <= 320 and widths[0] <= widths[1], (path, widths)
    finally:
        browser.execute_script("window.localStorage.clear()")


def test_shift_tab_at_320_px_leaves_the_focused_result_below_the_header(browser: WebDriver,
                                                                       live_server: str) -> None:
    with screen_width(browser, 320):
        open_page(browser, live_server + "/search?q=induction+heads")
        wait(browser).until(lambda d: len(result_ids(d)) >= 6)
        row = next(r for r in browser.find_elements(By.CSS_SELECTOR, "#results [data-paper-row]")[3:]
                   if r.find_elements(By.CSS_SELECTOR, ".paper-meta a"))
        title = row.find_element(By.CSS_SELECTOR, "[data-row-link]")
        # Focus the row's arXiv link, scrolled so that the title above it starts 10 px above the header's
        # lower edge: covered by a sticky header, yet on screen (so focusing it does not scroll).
        browser.execute_script(
            "const [title, link] = arguments; link.focus({preventScroll: true});"
            "const header = document.querySelector('header.top').offsetHeight;"
            "window.scrollBy(0, title.getBoundingClientRect().top - (header - 10));",
            title, row.find_element(By.CSS_SELECTOR, ".paper-meta a"))
        ActionChains(browser).key_down(Keys.SHIFT).send_keys(Keys.TAB).key_up(Keys.SHIFT).perform()
        assert browser.switch_to.active_element == title
        box = browser.execute_script(
            "const t = arguments[0].getBoundingClientRect();"
            "const h = document.querySelector('header.top').getBoundingClientRect();"
            "return {top: t.top, bottom: t.bottom, header: h.bottom, height: window.innerHeight};", title)
        assert max(0, box["header"]) <= box["top"] and box["bottom"] <= box["height"], box


UNDERLINED_LINKS = [
    ("/", ".foot a"), ("/", ".intro .muted a"), ("/about", ".prose p a"), ("/about", ".prose li a"),
    ("/search?q=circuits&page=99", "[data-state=past-end] a"), ("/no-such-page", ".notice a"),
]


def test_links_in_running_text_are_underlined(browser: WebDriver, live_server: str) -> None:
    """WCAG 1.4.1: a link inside text is not told apart by its colour alone."""
    decoration = "return getComputedStyle(arguments[0]).textDecorationLine"
    for path, selector in UNDERLINED_LINKS:
        open_page(browser, live_server + path)
        links = browser.find_elements(By.CSS_SELECTOR, selector)
        assert links, (path, selector)
        for link in links:
            assert "underline" in browser.execute_script(decoration, link), (path, link.text)
    # Navigation, result titles and chips stand apart by their place: they keep the plain look.
    open_page(browser, live_server + "/search?q=induction+heads")
    wait(browser).until(lambda d: result_ids(d))
    for selector in (".top-nav a", "#results .paper-title", "#results .chip"):
        link = browser.find_element(By.CSS_SELECTOR, selector)
        assert browser.execute_script(decoration, link) == "none", selector


def stars_kept(driver: WebDriver) -> list[str]:
    """Ids of the papers starred in this browser."""
    return list(driver.execute_script(
        "return JSON.parse(localStorage.getItem('paperkg.stars') || '[]').map(s => s.id)"))


def test_s_stars_only_the_result_that_has_the_focus(browser: WebDriver, live_server: str) -> None:
    open_page(browser, live_server + "/search?q=induction+heads")
    wait(browser).until(lambda d: len(result_ids(d)) >= 2)
    browser.execute_script("localStorage.removeItem('paperkg.stars')")
    try:
        ActionChains(browser).send_keys("j").perform()  # the first row becomes the current one
        assert active_in(browser, "[data-paper-row]")
        browser.execute_script("document.activeElement.blur()")
        ActionChains(browser).send_keys("s").perform()  # a stray "s" with the focus on the page
        assert stars_kept(browser) == []
        second = result_ids(browser)[1]
        browser.find_element(By.CSS_SELECTOR, f'[data-paper-id="{second}"] [data-row-link]').send_keys("s")
        wait(browser).until(lambda d: stars_kept(d) == [second])
    finally:
        browser.execute_script("localStorage.removeItem('paperkg.stars')")


def test_single_key_shortcuts_can_be_turned_off(browser: WebDriver, live_server: str) -> None:
    """WCAG 2.1.4: the About page's checkbox turns the single-key shortcuts off (and on again)."""
    open_page(browser, live_server + "/about")
    box = browser.find_element(By.CSS_SELECTOR, "[data-shortcuts-toggle]")
    try:
        assert box.is_displayed() and box.is_selected()
        box.click()
        assert browser.find_element(By.CSS_SELECTOR, "[data-keys-off]").is_displayed()
        assert not browser.find_element(By.CSS_SELECTOR, "[data-keys-on]").is_displayed()
        open_page(browser, live_server + "/search?q=induction+heads")
        wait(browser).until(lambda d: result_ids(d))
        ActionChains(browser).send_keys("j").perform()
        assert browser.find_elements(By.CSS_SELECTOR, ".kb-current") == []
        assert not active_in(browser, "[data-paper-row]")
        ActionChains(browser).send_keys("/").perform()
        assert browser.switch_to.active_element.get_attribute("name") != "q"
        # The choice stays in this browser; ticking the box again brings the keys back.
        open_page(browser, live_server + "/about")
        box = browser.find_element(By.CSS_SELECTOR, "[data-shortcuts-toggle]")
        assert not box.is_selected()
        box.click()
        open_page(browser, live_server + "/search?q=induction+heads")
        wait(browser).until(lambda d: result_ids(d))
        ActionChains(browser).send_keys("j").perform()
        assert len(browser.find_elements(By.CSS_SELECTOR, ".kb-current")) == 1
    finally:
        browser.execute_script("localStorage.removeItem('paperkg.shortcuts')")


def test_the_graph_legend_is_a_named_group(browser: WebDriver, live_server: str) -> None:
    """A paragraph may not be named (aria-label on a <p> is prohibited); a group may."""
    open_page(browser, f"{live_server}/papers/{IOI_ID}/graph")
    legend = browser.find_element(By.CSS_SELECTOR, ".legend")
    assert legend.tag_name == "div" and legend.aria_role == "group"
    assert legend.accessible_name == "Legend"


# -- browser QA pass 8: s on a recommendation keeps the place, shortcuts off without storage, /new rows box --

def test_s_on_a_focused_recommendation_hands_focus_to_its_unstar_button(browser: WebDriver,
                                                                        live_server: str) -> None:
    """`j` puts the focus on a recommendation's title link; `s` stars it and the list is rebuilt without it:
    the focus follows the paper to its new "Unstar" button instead of falling back to <body>."""
    set_stars(browser, live_server, [{"id": IOI_ID, "title": "IOI"}])
    try:
        wait(browser).until(lambda d: d.find_elements(By.CSS_SELECTOR, "[data-rec-list] [data-paper-row]"))
        browser.execute_script("document.activeElement.blur()")
        ActionChains(browser).send_keys("j").perform()
        assert active_in(browser, "[data-rec-list] [data-row-link]")
        star = browser.find_element(By.CSS_SELECTOR, "[data-rec-list] [data-paper-row] [data-star]")
        pid, title = star.get_attribute("data-star"), star.get_attribute("data-title")
        ActionChains(browser).send_keys("s").perform()
        # The recommendations came back without the starred paper: the list was rebuilt.
        wait(browser).until(lambda d: stars_kept(d) == [IOI_ID, pid] and not d.find_elements(
            By.CSS_SELECTOR, f'[data-rec-list] [data-star="{pid}"]') and d.find_elements(
            By.CSS_SELECTOR, "[data-rec-list] [data-paper-row]"))
        assert browser.switch_to.active_element.accessible_name == f"Unstar: {title}"
    finally:
        browser.execute_script("window.localStorage.clear()")


def test_shortcuts_turned_off_stay_off_when_storage_is_blocked(no_storage_browser: WebDriver,
                                                              live_server: str) -> None:
    """With site data blocked, the About checkbox cannot store "off": the page must still honour it."""
    driver = no_storage_browser
    open_page(driver, live_server + "/about")
    assert "SecurityError" in driver.execute_script(
        "try { localStorage.getItem('x'); return 'readable'; } catch (e) { return e.name; }")
    box = driver.find_element(By.CSS_SELECTOR, "[data-shortcuts-toggle]")
    assert box.is_displayed() and box.is_selected()
    box.click()
    assert not box.is_selected()
    assert driver.find_element(By.CSS_SELECTOR, "[data-keys-off]").is_displayed()
    driver.execute_script("document.activeElement.blur()")
    ActionChains(driver).send_keys("/").perform()
    assert driver.find_element(By.CSS_SELECTOR, "[data-search-box]")  # there is a box "/" would focus
    assert driver.execute_script("return document.activeElement === document.body")
    # Ticking it again brings the keys back on this page.
    box.click()
    assert driver.find_element(By.CSS_SELECTOR, "[data-keys-on]").is_displayed()
    driver.execute_script("document.activeElement.blur()")
    ActionChains(driver).send_keys("/").perform()
    assert driver.execute_script("return document.activeElement.matches('[data-search-box]')")


def test_the_suggested_rows_box_on_new_is_reachable_by_keyboard(browser: WebDriver, rows_server: str) -> None:
    """axe scrollable-region-focusable: the scrolling <pre> is in the tab order, named, shows its focus."""
    open_page(browser, rows_server + "/new?since=2000-01-01")
    rows = browser.find_element(By.ID, "suggested-rows-md")
    assert browser.execute_script("return arguments[0].scrollHeight > arguments[0].clientHeight", rows)
    assert rows.get_attribute("tabindex") == "0"
    assert rows.aria_role == "region" and rows.accessible_name == "Suggested list rows"
    # Tab from the copy button just before it lands on the box.
    browser.execute_script("arguments[0].focus()",
                           browser.find_element(By.CSS_SELECTOR, '[data-copy-target="suggested-rows-md"]'))
    ActionChains(browser).send_keys(Keys.TAB).perform()
    assert browser.switch_to.active_element == rows
    outline = browser.execute_script(
        "const s = getComputedStyle(arguments[0]); return [s.outlineStyle, parseFloat(s.outlineWidth)]", rows)
    assert outline[0] != "none" and outline[1] > 0, outline


def test_for_you_marks_a_withdrawn_recommendation(browser: WebDriver, real_embedder: Any,
                                                   tmp_path: Path) -> None:
    """The For-you list is built in the browser from /api/recommend: a withdrawn recommendation carries the
    "Withdrawn" badge the server-rendered rows carry."""
    from api.app import create_app
    from tests.api.test_json_api import KEPT_ID, WITHDRAWN_ID, withdrawn_store
    from tests.e2e.conftest import serving

    store = withdrawn_store(tmp_path / "paperkg.sqlite3")
    try:
        with serving(create_app({"STORE": store, "EMBEDDER": real_embedder}), "e2e-withdrawn") as base:
            open_page(browser, base + "/")
            browser.execute_script("window.localStorage.setItem('paperkg.stars', JSON.stringify("
                                   "[{id: arguments[0], title: 'kept'}]))", KEPT_ID)
            open_page(browser, base + "/for-you")
            rows = "[data-rec-list] [data-paper-row]"
            wait(browser).until(lambda d: d.find_elements(By.CSS_SELECTOR, rows))
            row = browser.find_element(By.CSS_SELECTOR, rows)
            assert row.find_element(By.CSS_SELECTOR, "[data-star]").get_attribute("data-star") == WITHDRAWN_ID
            badge = row.find_element(By.CSS_SELECTOR, "[data-withdrawn]")
            assert badge.get_attribute("textContent") == "Withdrawn"
            starred = browser.find_element(By.CSS_SELECTOR, "[data-starred-list]")
            assert not starred.find_elements(By.CSS_SELECTOR, "[data-withdrawn]")
            browser.execute_script("window.localStorage.clear()")
    finally:
        store.close()


# -- reverse-proxy QA: For you under a sub-path (/paperkg/), and a proxy's HTML error page ------------------

def nginx_page(status: str) -> Any:
    """A WSGI app answering every request with nginx's error page for `status` (e.g. "502 Bad Gateway")."""
    body = (f"<html>\r\n<head><title>{status}</title></head>\r\n<body>\r\n<center><h1>{status}</h1></center>"
            "\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n").encode()

    def answer(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response(status, [("Content-Type", "text/html"), ("Content-Length", str(len(body)))])
        return [body]

    return answer


@pytest.fixture(scope="module")
def proxied(seed_store: EmbeddedStore, real_embedder: Any) -> Iterator[str]:
    """A real server laid out as a reverse proxy serves paperkg under a sub-path: the app at /paperkg
    (SCRIPT_NAME, as gunicorn sets it from its environment), again at /down where /down/api/recommend is
    nginx's HTML 502 (as when the app behind it is gone), and every other path not paperkg's: nginx's 404."""
    from werkzeug.middleware.dispatcher import DispatcherMiddleware

    from api.app import create_app
    from tests.e2e.conftest import serving

    app = create_app({"STORE": seed_store, "EMBEDDER": real_embedder})
    bad_gateway = nginx_page("502 Bad Gateway")

    def down(environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO") == "/api/recommend":
            return bad_gateway(environ, start_response)
        return app(environ, start_response)

    site = DispatcherMiddleware(nginx_page("404 Not Found"), {"/paperkg": app, "/down": down})
    with serving(site, "e2e-proxied") as base:
        yield base


def rec_status_settled(driver: WebDriver) -> str:
    """The For-you status line once the recommend request has been answered (empty while it is pending)."""
    text: str = driver.find_element(By.CSS_SELECTOR, "[data-rec-status]").text
    return "" if text.startswith("Finding papers") else text


def test_for_you_under_a_sub_path_gets_recommendations(browser: WebDriver, proxied: str) -> None:
    """The page's recommend URL keeps the prefix: For you POSTs to /paperkg/api/recommend, not /api/recommend
    (the proxy's 404 page, which the script read as JSON: "Unexpected token '<'")."""
    base = proxied + "/paperkg"
    requested_urls(browser)  # drain the log: only this page's requests below
    set_stars(browser, base, STARS[:2])
    status = wait(browser).until(rec_status_settled)
    assert status.endswith("from your stars."), status
    assert browser.find_elements(By.CSS_SELECTOR, "[data-rec-list] [data-paper-row]")
    link = browser.find_element(By.CSS_SELECTOR, "[data-rec-list] [data-paper-row] a[data-row-link]")
    assert link.get_attribute("href").startswith(base + "/papers/")
    asked = requested_urls(browser)
    assert base + "/api/recommend" in asked
    assert not [u for u in asked if u.startswith(proxied + "/") and not u.startswith(base + "/")], asked
    browser.execute_script("window.localStorage.clear()")


def test_for_you_says_a_proxy_error_page_as_its_status_and_the_api_error_as_its_message(
    browser: WebDriver, proxied: str, flaky_server: tuple[str, SwitchableStore]
) -> None:
    """An HTML error page (a proxy's 502) is said as its status, not as a JSON parse error; a JSON error
    from the API is still said in the API's words."""
    import requests

    set_stars(browser, proxied + "/down", STARS[:2])
    status = wait(browser).until(rec_status_settled)
    assert status == "Could not get recommendations: HTTP 502 (Bad Gateway)", status
    assert not browser.find_elements(By.CSS_SELECTOR, "[data-rec-list] [data-paper-row]")
    browser.execute_script("window.localStorage.clear()")

    base, store = flaky_server
    set_stars(browser, base, STARS[:2])
    wait(browser).until(lambda d: d.find_elements(By.CSS_SELECTOR, "[data-rec-list] [data-paper-row]"))
    store.failure = StoreUnavailable("connection refused")
    try:
        answer = requests.post(base + "/api/recommend", json={"liked": [IOI_ID]}, timeout=60)
        assert answer.status_code == 503
        said = answer.json()["error"]["message"]
        open_page(browser, base + "/for-you")
        status = wait(browser).until(rec_status_settled)
        assert status == f"Could not get recommendations: {said}", status
    finally:
        store.failure = None
        browser.execute_script("window.localStorage.clear()")
