"""The search form's technique selects with the keyboard and a screen reader, in real headless Chromium
(screen-reader / keyboard-only QA): arrowing through "Add a technique" left empty "and technique" selects
behind and relabelled the focused one; the controls a choice brings were not announced; an empty store's "No
results" came without its reason; refinements were read with an arrow glyph."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver

from kg.store import EMPTY_STORE_MESSAGE
from tests.e2e.conftest import open_page, serving, wait
from tests.e2e.test_browser import idle, status_line
from tests.seed_store import taxonomy_store

pytestmark = [pytest.mark.browser, pytest.mark.model]

# Each technique select of the form, in page order: its label's own words, its value, whether it is shown.
SELECTS = """return Array.from(document.querySelectorAll('#search-form select[name=technique]')).map(s =>
  [s.closest('label').firstChild.textContent.trim(), s.value, !s.closest('label').hidden])"""


def techniques(driver: WebDriver) -> list[str]:
    """The techniques in the current URL."""
    return parse_qs(urlsplit(driver.current_url).query).get("technique", [])


def selects(driver: WebDriver) -> list[list[Any]]:
    """The technique selects: [label, value, shown] each, in page order."""
    return list(driver.execute_script(SELECTS))


def field_order(driver: WebDriver) -> list[str]:
    """The ids of the shown technique and technique_match selects, in page order."""
    return list(driver.execute_script(
        "return Array.from(document.querySelectorAll('#search-form select[name=technique],"
        " #search-form select[name=technique_match]'))"
        ".filter(s => !s.closest('label').hidden).map(s => s.id)"))


def test_arrowing_through_add_a_technique_leaves_one_empty_select(fresh_tab: WebDriver,
                                                                   live_server: str) -> None:
    tab = fresh_tab
    open_page(tab, live_server + "/search?technique=cma")
    add = tab.find_element(By.ID, "f-technique-2")
    add.send_keys(Keys.ARROW_DOWN)  # a closed select: the arrow picks the next option, and fires change
    picked = add.get_attribute("value")
    assert picked
    wait(tab).until(lambda d: techniques(d) == ["cma", picked] and idle(d))
    # A new empty select to add a third follows; the focused one is not relabelled under the user.
    assert selects(tab) == [["Technique", "cma", True], ["Add a technique", picked, True],
                            ["Add a technique", "", True]]
    assert tab.switch_to.active_element == add
    # What the choice brought is said after the results' count (the status line).
    assert status_line(tab).endswith(" · Add a technique and Papers using are now available")
    # "Papers using" comes right after the chosen techniques, before the empty one.
    assert field_order(tab) == ["f-technique", "f-technique-2", "f-technique-match", "f-technique-3"]
    # On to the next option once that search is shown: nothing new appears, and nothing is said to.
    add.send_keys(Keys.ARROW_DOWN)
    later = add.get_attribute("value")
    wait(tab).until(lambda d: techniques(d) == ["cma", later] and idle(d))
    assert "now available" not in status_line(tab)
    assert selects(tab) == [["Technique", "cma", True], ["Add a technique", later, True],
                            ["Add a technique", "", True]]
    # On and back to "none" in one run of keys: the empty select added goes, none other is left behind.
    add.send_keys(Keys.ARROW_DOWN, Keys.ARROW_DOWN, Keys.ARROW_DOWN,
                  Keys.ARROW_UP, Keys.ARROW_UP, Keys.ARROW_UP, Keys.ARROW_UP, Keys.ARROW_UP)
    assert add.get_attribute("value") == ""
    wait(tab).until(lambda d: techniques(d) == ["cma"] and idle(d))
    assert selects(tab) == [["Technique", "cma", True], ["Add a technique", "", True]]
    assert tab.switch_to.active_element == add
    # One technique: nothing to combine.
    assert not tab.find_element(By.ID, "f-technique-match").is_displayed()
    # Leaving it changes nothing more.
    add.send_keys(Keys.TAB)
    wait(tab).until(lambda d: d.switch_to.active_element != add)
    assert selects(tab) == [["Technique", "cma", True], ["Add a technique", "", True]]


def test_an_and_technique_set_back_to_none_becomes_the_one_add_select(fresh_tab: WebDriver,
                                                                      live_server: str) -> None:
    tab = fresh_tab
    open_page(tab, live_server + "/search?technique=cma&technique=knockout&technique=faithfulness")
    second = tab.find_element(By.ID, "f-technique-2")
    assert second.get_attribute("value") == "knockout"
    second.send_keys(Keys.HOME)  # back to its first option, "none"
    assert second.get_attribute("value") == ""
    wait(tab).until(lambda d: techniques(d) == ["cma", "faithfulness"] and idle(d))
    # The empty select at the end went: one empty select, the one the user is on, unchanged while on it.
    assert selects(tab) == [["Technique", "cma", True], ["and technique", "", True],
                            ["and technique", "faithfulness", True]]
    assert tab.switch_to.active_element == second
    # Left (Tab goes on to the next select, where the focus stays), it is the one "Add a technique", after
    # the chosen techniques and "Papers using".
    second.send_keys(Keys.TAB)
    third = tab.find_element(By.ID, "f-technique-3")
    wait(tab).until(lambda d: selects(d)[1][0] == "and technique" and selects(d)[1][1] == "faithfulness")
    assert selects(tab) == [["Technique", "cma", True], ["and technique", "faithfulness", True],
                            ["Add a technique", "", True]]
    assert field_order(tab) == ["f-technique", "f-technique-3", "f-technique-match", "f-technique-2"]
    assert tab.switch_to.active_element == third


def test_a_first_technique_announces_the_add_select(fresh_tab: WebDriver, live_server: str) -> None:
    tab = fresh_tab
    open_page(tab, live_server + "/search?q=circuits")
    first = tab.find_element(By.ID, "f-technique")
    first.send_keys(Keys.ARROW_DOWN)
    picked = first.get_attribute("value")
    wait(tab).until(lambda d: techniques(d) == [picked] and idle(d))
    said = status_line(tab)
    count = " ".join(tab.find_element(By.CSS_SELECTOR, ".result-count").get_attribute("textContent").split())
    assert said.endswith(" · Add a technique is now available")
    assert said.startswith(count.split(" · ")[0] + " · ")
    assert selects(tab)[1] == ["Add a technique", "", True]
    # Tab reaches it: it is shown before the focus leaves the select picked from.
    first.send_keys(Keys.TAB)
    assert tab.switch_to.active_element.get_attribute("id") == "f-technique-2"


def ax_nodes(driver: WebDriver) -> list[tuple[str, str]]:
    """The page's accessibility tree as Chromium gives it to screen readers: (role, name) of each node."""
    nodes = driver.execute_cdp_cmd("Accessibility.getFullAXTree", {})["nodes"]
    return [(n.get("role", {}).get("value", ""), n.get("name", {}).get("value", ""))
            for n in nodes if not n.get("ignored")]


def test_refinement_options_are_named_without_an_arrow(fresh_tab: WebDriver, live_server: str) -> None:
    tab = fresh_tab
    open_page(tab, live_server + "/search")
    options = [name for role, name in ax_nodes(tab) if role in ("option", "MenuListOption")]
    assert any("Activation Patching (" in name for name in options)
    assert not [name for name in options if "↳" in name]
    # Still indented under its parent on screen: no-break spaces, which are not spoken.
    text = tab.execute_script(
        "return document.querySelector('#f-technique option[value=activation_patching]').textContent")
    assert text.startswith("\xa0" * 4) and text.lstrip("\xa0").startswith("Activation Patching (")


@pytest.fixture(scope="module")
def empty_server(tmp_path_factory: pytest.TempPathFactory, real_embedder: Any) -> Iterator[str]:
    """A real server over a store with the taxonomy and no papers."""
    from api.app import create_app

    store = taxonomy_store(Path(tmp_path_factory.mktemp("a11y-empty")) / "paperkg.sqlite3")
    try:
        with serving(create_app({"STORE": store, "EMBEDDER": real_embedder}), "e2e-empty-server") as base:
            yield base
    finally:
        store.close()


def test_no_results_on_an_empty_store_are_announced_with_the_reason(fresh_tab: WebDriver,
                                                                    empty_server: str) -> None:
    tab = fresh_tab
    open_page(tab, empty_server + "/search")
    box = tab.find_element(By.ID, "q")
    box.send_keys("circuits", Keys.ENTER)
    wait(tab).until(lambda d: d.find_elements(By.CSS_SELECTOR, '#results [data-state="empty"]') and idle(d))
    said = status_line(tab)
    # The notice's sentence, as the page writes it (api.web.empty_store_message): capitalised, no backticks.
    reason = EMPTY_STORE_MESSAGE[:1].upper() + EMPTY_STORE_MESSAGE[1:].replace("`", "") + "."
    assert said == "No results for “circuits”. " + reason
