"""A technique page as a screen reader gets it from real headless Chromium's accessibility tree
(screen-reader QA): the heading read its paper count with the name, the co-occurring count links were named
"2", "1" and the refinements' counts were bare numbers."""

from __future__ import annotations

import re
from typing import Any

import pytest
from selenium.webdriver.remote.webdriver import WebDriver

from tests.e2e.conftest import open_page

pytestmark = [pytest.mark.browser, pytest.mark.model]


def ax_tree(driver: WebDriver) -> dict[str, dict[str, Any]]:
    """The page's accessibility tree, as Chromium gives it to screen readers, by node id."""
    nodes = driver.execute_cdp_cmd("Accessibility.getFullAXTree", {})["nodes"]
    return {n["nodeId"]: n for n in nodes}


def role(node: dict[str, Any]) -> str:
    """A node's role."""
    return str(node.get("role", {}).get("value", ""))


def name(node: dict[str, Any]) -> str:
    """A node's accessible name."""
    return str(node.get("name", {}).get("value", ""))


def read_text(tree: dict[str, dict[str, Any]], node: dict[str, Any]) -> str:
    """The text a reader hears inside a node: its StaticText descendants, in order."""
    if role(node) == "StaticText":
        return name(node)
    return " ".join(read_text(tree, tree[c]) for c in node.get("childIds", []) if c in tree)


def test_the_heading_is_the_name_and_the_counts_say_what_they_count(fresh_tab: WebDriver,
                                                                     live_server: str) -> None:
    tab = fresh_tab
    open_page(tab, live_server + "/techniques/cma")
    tree = ax_tree(tab)
    headings = [n for n in tree.values() if role(n) == "heading" and not n.get("ignored")
                and any(p["name"] == "level" and p["value"]["value"] == 1 for p in n.get("properties", []))]
    assert [name(h) for h in headings] == ["Causal Mediation Analysis (CMA)"]
    # The count is on the page still, right after the heading.
    count = tab.execute_script("return document.querySelector('h1').nextElementSibling.textContent")
    said = " ".join(count.split())
    assert re.fullmatch(r"\d+ papers \(\d+ tagged CMA itself, \d+ via its refinements\)", said), said

    # Each co-occurring count link: named for the papers it opens, starting with the number it shows.
    shown = tab.execute_script(
        "return Array.from(document.querySelectorAll('a[data-cooccurring-search]')).map(a => a.textContent)")
    named = [name(n) for n in tree.values() if role(n) == "link" and name(n)[:1].isdigit()]
    assert named and len(named) == len(shown)
    for number, link_name in zip(shown, named, strict=True):
        assert re.fullmatch(rf"{number} papers? with both CMA and \S.*", link_name), link_name

    # A refinement with its count: "Activation Patching 4 papers", not "Activation Patching 4".
    refinements = tab.execute_script(
        "const h = Array.from(document.querySelectorAll('h2')).find(h => h.textContent === 'Refinements');"
        "return Array.from(h.parentElement.querySelectorAll('li a')).map(a => a.textContent);")
    items = [" ".join(read_text(tree, n).split()) for n in tree.values() if role(n) == "listitem"]
    read = [item for item in items if any(item.startswith(label + " ") for label in refinements)]
    assert refinements and len(read) == len(refinements)
    assert all(re.fullmatch(r".+ (1 paper|\d+ papers)", item) for item in read), read
