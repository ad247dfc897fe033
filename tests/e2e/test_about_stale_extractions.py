"""The About page's line on stored papers extracted with another taxonomy (api/templates/about.html), in a
real browser: shown beside the last ingest, before the sources, and the page still reflows at 320 px."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from api.app import create_app
from ingest.extract import Extractor
from ingest.pipeline import ingest_records_file
from kg.config import load_config
from kg.taxonomy import load_taxonomy
from tests.e2e.conftest import open_page, serving
from tests.e2e.test_browser import screen_width
from tests.embedders import HashEmbedder
from tests.ingest.test_reextract import STITCHING_RECORDS, edited_taxonomy
from tests.seed_store import taxonomy_store


@pytest.fixture(scope="module")
def stale_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real server whose PAPERKG_TAXONOMY was edited (and loaded, as `paperkg init` does) after its three
    papers were ingested, with no reextract since."""
    folder = Path(tmp_path_factory.mktemp("about-stale"))
    store = taxonomy_store(folder / "paperkg.sqlite3")
    records = folder / "stitching.jsonl"
    records.write_text("".join(json.dumps(r) + "\n" for r in STITCHING_RECORDS), encoding="utf-8")
    ingest_records_file(store, records, embedder=HashEmbedder(), extractor=Extractor(load_taxonomy()),
                        progress=False)
    edited = edited_taxonomy(folder)
    store.load_taxonomy(load_taxonomy(edited).nodes)
    config = load_config(env={"PAPERKG_DATA_DIR": str(folder), "PAPERKG_TAXONOMY": str(edited)})
    try:
        with serving(create_app({"STORE": store, "PAPERKG_CONFIG": config}), "about-stale-server") as base:
            yield base
    finally:
        store.close()


def test_the_stale_papers_line_shows_by_the_last_ingest_at_320_px(browser: WebDriver,
                                                                   stale_server: str) -> None:
    with screen_width(browser, 320):
        open_page(browser, stale_server + "/about")
        line = browser.find_element(By.CSS_SELECTOR, "[data-stale-extractions]")
        assert line.is_displayed()
        assert line.text == ("3 stored papers were extracted with another taxonomy or extractor: their "
                             "extracted tags stay as they were until paperkg ingest reextract runs (after "
                             "paperkg init if the taxonomy file changed).")
        # Right after the last-ingest line, before the sources.
        assert browser.execute_script(
            "const p = document.querySelector('[data-stale-extractions]');"
            "return [p.previousElementSibling.textContent.includes('Last ingest'),"
            " p.nextElementSibling.tagName]") == [True, "H2"]
        widths = browser.execute_script(
            "const e = document.documentElement; return [e.scrollWidth, e.clientWidth]")
        assert widths[1] <= 320 and widths[0] <= widths[1], widths
