"""The in-place search on a slow or lost connection, in real headless Chromium with the DevTools network
emulation (QA mobile pass: a second search cleared the first's loading state while still in flight; a filter
changed while a search loaded deleted the search before it from Back; a search made offline swapped the page
for the browser's error page)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

from tests.e2e.test_browser import idle, open_page, result_ids, status_line, submit_query, wait

pytestmark = [pytest.mark.browser, pytest.mark.model]

# Each request waits this long for its answer: long enough that a step taken right after a submit happens
# while the submit is in flight (the tests check that it did, rather than trusting the delay).
SLOW_MS = 1500

# Records every fetch of the page and how it settled ("ok", "AbortError", "TypeError", ...), in order.
WATCH_FETCHES = (
    "window.__fetches = []; const real = window.fetch;"
    "window.fetch = function (url) {"
    "  const entry = {url: String(url), settled: null}; window.__fetches.push(entry);"
    "  const p = real.apply(this, arguments);"
    "  p.then(() => { entry.settled = 'ok'; }, (e) => { entry.settled = e.name; });"
    "  return p; };")


@contextmanager
def network(driver: WebDriver, *, latency: int = 0, offline: bool = False) -> Iterator[None]:
    """Emulate a link with `latency` ms per request (or none at all); the normal network again on exit."""
    driver.execute_cdp_cmd("Network.enable", {})
    set_network(driver, latency=latency, offline=offline)
    try:
        yield
    finally:
        set_network(driver)


def set_network(driver: WebDriver, *, latency: int = 0, offline: bool = False) -> None:
    """Change the emulated link (unthrottled bandwidth: -1)."""
    driver.execute_cdp_cmd("Network.emulateNetworkConditions", {
        "offline": offline, "latency": latency, "downloadThroughput": -1, "uploadThroughput": -1})


def fetches(driver: WebDriver) -> list[dict[str, str | None]]:
    """The fetches recorded since WATCH_FETCHES ran: url and how each settled (None: still in flight)."""
    return list(driver.execute_script("return window.__fetches"))


def loading_state(driver: WebDriver) -> dict[str, object]:
    """Whether the page shows a search as loading: body.loading and #results aria-busy."""
    return dict(driver.execute_script(
        "return {loading: document.body.classList.contains('loading'),"
        " busy: document.getElementById('results').getAttribute('aria-busy')}"))


def count_line(driver: WebDriver) -> str:
    """The result count line of the results shown (it names the query they rank by)."""
    return str(driver.execute_script(
        "const c = document.querySelector('#results .result-count');"
        "return c ? c.textContent.replace(/\\s+/g, ' ').trim() : ''"))


def test_a_second_search_keeps_the_loading_state_until_it_answers(fresh_tab: WebDriver, live_server: str
                                                                   ) -> None:
    tab = fresh_tab  # conftest: a tab of its own, so that history.length counts this test's entries
    open_page(tab, live_server + "/search?q=induction+heads")
    wait(tab).until(lambda d: result_ids(d))
    tab.execute_script(WATCH_FETCHES)
    with network(tab, latency=SLOW_MS):
        submit_query(tab, "logit lens")
        submit_query(tab, "sparse autoencoders")
        # The first search was aborted (so its clean-up has run) while the second is still in flight.
        calls = fetches(tab)
        assert [c["settled"] for c in calls] == ["AbortError", None], calls
        assert "q=sparse+autoencoders" in str(calls[1]["url"])
        assert loading_state(tab) == {"loading": True, "busy": "true"}
        wait(tab).until(lambda d: fetches(d)[1]["settled"] == "ok" and idle(d))
    assert "“sparse autoencoders”" in count_line(tab)
    assert loading_state(tab) == {"loading": False, "busy": None}
    assert "q=sparse+autoencoders" in tab.current_url


def test_a_filter_changed_while_a_search_loads_keeps_the_search_before_it_in_history(
    fresh_tab: WebDriver, live_server: str
) -> None:
    tab = fresh_tab
    open_page(tab, live_server + "/about")
    open_page(tab, live_server + "/search?q=induction+heads")
    wait(tab).until(lambda d: result_ids(d))
    first = result_ids(tab)
    length = tab.execute_script("return history.length")
    tab.execute_script(WATCH_FETCHES)
    with network(tab, latency=SLOW_MS):
        submit_query(tab, "sparse autoencoders")
        Select(tab.find_element(By.ID, "f-technique")).select_by_value("sae")
        wait(tab).until(lambda d: "technique=sae" in d.current_url and idle(d))
    # The filter's load started while the submit was in flight (it aborted it): the case under test.
    assert [c["settled"] for c in fetches(tab)] == ["AbortError", "ok"]
    assert "q=sparse+autoencoders" in tab.current_url
    assert tab.execute_script("return history.length") == length + 1  # the submit's entry, kept
    tab.back()
    wait(tab).until(lambda d: d.current_url == live_server + "/search?q=induction+heads"
                    and result_ids(d) == first)
    assert "“induction heads”" in count_line(tab)


def test_a_search_made_offline_keeps_the_page_and_says_so(fresh_tab: WebDriver, live_server: str) -> None:
    tab = fresh_tab
    start = live_server + "/search?q=induction+heads"
    open_page(tab, start)
    wait(tab).until(lambda d: result_ids(d))
    shown = result_ids(tab)
    length = tab.execute_script("return history.length")
    tab.execute_script("window.__kept = true")  # a page load would drop it
    tab.execute_script(WATCH_FETCHES)
    with network(tab, offline=True):
        submit_query(tab, "sparse autoencoders")
        wait(tab).until(lambda d: d.find_elements(By.CSS_SELECTOR, '#results [data-state="unreachable"]')
                        and idle(d))
        assert tab.execute_script("return window.__kept === true"), "the page was thrown away"
        notice = tab.find_element(By.CSS_SELECTOR, '#results [data-state="unreachable"]').text
        assert "No connection" in notice and "still those of the previous search" in notice
        assert "No connection" in status_line(tab)
        # Nothing answered the new query: the URL, history, title and results stay those of the old one.
        assert tab.current_url == start
        assert tab.execute_script("return history.length") == length
        assert tab.title.startswith("\u2068induction heads\u2069")
        assert result_ids(tab) == shown
        # Trying again offline says it once, not once per try.
        submit_query(tab, "sparse autoencoders")
        wait(tab).until(lambda d: len(fetches(d)) == 2 and fetches_done(d) and idle(d))
        assert len(tab.find_elements(By.CSS_SELECTOR, '#results [data-state="unreachable"]')) == 1
    # Back online, the same form searches in place.
    submit_query(tab, "sparse autoencoders")
    wait(tab).until(lambda d: "q=sparse+autoencoders" in d.current_url and idle(d))
    assert "“sparse autoencoders”" in count_line(tab)
    assert tab.find_elements(By.CSS_SELECTOR, '#results [data-state="unreachable"]') == []
    assert tab.execute_script("return window.__kept === true")
    assert tab.execute_script("return history.length") == length + 1
    tab.back()  # the failed tries left no entry between the two searches
    wait(tab).until(lambda d: d.current_url == start and result_ids(d) == shown)


def fetches_done(driver: WebDriver) -> bool:
    """Every recorded fetch has settled."""
    return all(c["settled"] is not None for c in fetches(driver))
