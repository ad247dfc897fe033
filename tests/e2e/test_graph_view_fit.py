"""The graph page's canvas stays whole and legible in the frame it is drawn in: re-laid out when the window
is resized or the page printed (QA: shrinking 1280 -> 700 left 20 labels outside the frame, a print cut the
right third), few overlapping labels on a phone (QA: 38 on Softmax Linear Units at 390 px, its 29 authors a
clump), and no mouse hint or zoom buttons on paper."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from selenium.webdriver.remote.webdriver import WebDriver

from kg.embedded import EmbeddedStore
from tests.e2e.conftest import chromium, wait
from tests.e2e.test_graph_view import open_graph

BIG = ("Softmax Linear Units", "A Mathematical Framework for Transformer Circuits",
       "Interpretability in the Wild")
# Overlapping label boxes (by more than 4x4 px) allowed in the first picture, at 390 (phone) and 1024 px.
MAX_OVERLAPS = 3

# Every visible label's box on screen; pairs overlapping by more than 4x4 px; labels out of the frame.
LABELS_JS = """
const cy = window.paperkgCy, z = cy.zoom(), w = cy.width(), h = cy.height(), boxes = [];
cy.nodes().forEach(n => {
  const min = parseFloat(n.style('min-zoomed-font-size')) || 0;
  if (!n.style('label') || n.style('display') === 'none' || parseFloat(n.style('font-size')) * z < min) {
    return;
  }
  const b = n.renderedBoundingBox({includeNodes: false, includeEdges: false, includeLabels: true});
  if (b.w > 0) { boxes.push([n.id(), b.x1, b.y1, b.x2, b.y2]); }
});
const overlaps = [];
for (let i = 0; i < boxes.length; i++) { for (let j = i + 1; j < boxes.length; j++) {
  const a = boxes[i], b = boxes[j];
  const ox = Math.min(a[3], b[3]) - Math.max(a[1], b[1]), oy = Math.min(a[4], b[4]) - Math.max(a[2], b[2]);
  if (ox > 4 && oy > 4) { overlaps.push([a[0], b[0]]); }
} }
const outside = boxes.filter(b => b[1] < -1 || b[2] < -1 || b[3] > w + 1 || b[4] > h + 1).map(b => b[0]);
return {overlaps: overlaps, outside: outside, labels: boxes.length, width: w, height: h};
"""


def labels(driver: WebDriver) -> dict[str, Any]:
    return driver.execute_script(LABELS_JS)


def big_ids(store: EmbeddedStore) -> list[str]:
    by_title = {p.title: p.id for p in store.get_papers(store.paper_ids())}
    return [next(pid for title, pid in by_title.items() if title.startswith(t)) for t in BIG]


@pytest.fixture
def phone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    """A 390x844 touch screen."""
    driver = chromium(tmp_path_factory.mktemp("chromium-graph-phone"))
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True})
    driver.execute_cdp_cmd("Emulation.setTouchEmulationEnabled", {"enabled": True, "maxTouchPoints": 1})
    yield driver
    driver.quit()


@pytest.fixture
def desktop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    """A Chromium with a 1024x800 window."""
    driver = chromium(tmp_path_factory.mktemp("chromium-graph-fit"))
    driver.set_window_size(1024, 800)
    yield driver
    driver.quit()


def test_few_labels_overlap_on_a_phone_and_a_desktop(phone: WebDriver, desktop: WebDriver, live_server: str,
                                                     seed_store: EmbeddedStore) -> None:
    seen = {}
    for name, driver in (("phone", phone), ("desktop", desktop)):
        for paper_id in big_ids(seed_store):
            open_graph(driver, live_server, paper_id)
            view = labels(driver)
            seen[name, paper_id] = (len(view["overlaps"]), view["labels"], view["outside"])
    assert all(n <= MAX_OVERLAPS and not outside for n, _, outside in seen.values()), seen
    # The paper's own label is always drawn.
    unlabelled = desktop.execute_script("""return window.paperkgCy.nodes('.nolabel')
        .filter(n => n.data('kind') === 'center').length""")
    assert unlabelled == 0


def test_a_hidden_label_shows_on_hover(desktop: WebDriver, live_server: str,
                                       seed_store: EmbeddedStore) -> None:
    open_graph(desktop, live_server, big_ids(seed_store)[0])
    shown = desktop.execute_script("""const n = window.paperkgCy.nodes('.nolabel')[0];
        const before = n.style('label');
        n.emit('mouseover'); const after = n.style('label'); n.emit('mouseout');
        return [before, after, n.data('label')];""")
    assert shown[0] == "" and shown[1] == shown[2] != ""


def node_positions(driver: WebDriver) -> dict[str, list[float]]:
    return driver.execute_script("""const out = {};
        window.paperkgCy.nodes().forEach(n => { const p = n.position(); out[n.id()] = [p.x, p.y]; });
        return out;""")


def frame_width(driver: WebDriver) -> int:
    return int(driver.execute_script("return document.getElementById('cy').clientWidth"))


def settled(driver: WebDriver, old_width: int) -> bool:
    """The frame has a new width and the canvas is laid out for it: its size, every label inside it."""
    view = labels(driver)
    laid_out = driver.execute_script("""const f = document.getElementById('cy');
        return window.paperkgCy.scratch('paperkgSize') === f.clientWidth + 'x' + f.clientHeight;""")
    return bool(frame_width(driver) != old_width and laid_out and view["width"] == frame_width(driver)
                and not view["outside"])


def test_a_resized_window_lays_the_graph_out_again(desktop: WebDriver, live_server: str,
                                                    seed_store: EmbeddedStore) -> None:
    desktop.set_window_size(1280, 800)
    open_graph(desktop, live_server, big_ids(seed_store)[0])
    first, wide = node_positions(desktop), frame_width(desktop)
    assert labels(desktop)["outside"] == []
    desktop.set_window_size(700, 800)
    wait(desktop).until(lambda d: settled(d, wide))
    narrow = labels(desktop)
    assert narrow["outside"] == [] and len(narrow["overlaps"]) <= MAX_OVERLAPS, narrow
    # Back to the first size: the first picture again (the layout is a function of the frame's size).
    desktop.set_window_size(1280, 800)
    wait(desktop).until(lambda d: frame_width(d) == wide and settled(d, -1))
    wait(desktop).until(lambda d: node_positions(d) == first)


def test_print_fits_the_graph_and_hides_the_hint_and_tools(desktop: WebDriver, live_server: str,
                                                           seed_store: EmbeddedStore) -> None:
    desktop.set_window_size(1280, 800)
    open_graph(desktop, live_server, big_ids(seed_store)[0])
    wide = frame_width(desktop)
    desktop.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        # A printed page is about 720 CSS px wide (A4 less margins).
        desktop.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                {"width": 720, "height": 1000, "deviceScaleFactor": 1, "mobile": False})
        wait(desktop).until(lambda d: settled(d, wide))
        shown = desktop.execute_script("""return ['.graph-hint', '.graph-tools', '.cy-guard'].map(s =>
            getComputedStyle(document.querySelector(s)).display);""")
        assert shown == ["none", "none", "none"]
        # No canvas reaches past the frame (on paper, what is outside it is cut off).
        wider = desktop.execute_script("""const f = document.getElementById('cy').getBoundingClientRect();
            return Array.from(document.querySelectorAll('#cy canvas')).filter(c =>
                c.getBoundingClientRect().right > f.right + 1).length;""")
        assert wider == 0
    finally:
        desktop.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        desktop.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
