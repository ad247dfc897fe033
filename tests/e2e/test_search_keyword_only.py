"""The search page in real headless Chromium while the server's model is still loading: a hybrid search
shows the keyword results at once with a note, on a page load and on an in-place search, and the form
stays on hybrid.

QA (a laptop, right after a start): the page waited ~15 s, then showed no results, only "Semantic search is
not ready yet … switch the mode to keyword".
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

import ingest.embed
from api.app import create_app, get_embedder
from kg.embedded import EmbeddedStore
from tests.e2e.conftest import serving
from tests.e2e.test_browser import idle, open_page, result_ids, submit_query, wait

pytestmark = [pytest.mark.browser, pytest.mark.model]

NOTE = "#results [data-state=keyword-only]"


@pytest.fixture
def loading_server(seed_store: EmbeddedStore, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The seed corpus served while the app's model load is held (until the test ends, when it fails). A
    page that waited for the model would wait 20 s, then say it is loading, without results."""
    started, released = threading.Event(), threading.Event()

    class HeldModel:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            started.set()
            released.wait(300)  # a liveness bound only: the test releases it
            raise ingest.embed.ModelMissing("the test is over")

    monkeypatch.setattr(ingest.embed, "Embedder", HeldModel)
    monkeypatch.setattr(ingest.embed, "loaded_embedder", lambda path: None)
    app = create_app({"STORE": seed_store, "MODEL_WAIT_SECONDS": 20})

    def warm_up() -> None:  # what the servers' warm-up thread runs; its load fails when the test ends
        with contextlib.suppress(ingest.embed.ModelMissing):
            get_embedder(app, patient=True)

    warm = threading.Thread(target=warm_up, daemon=True)
    warm.start()
    assert started.wait(60)
    try:
        with serving(app, "e2e-loading-server") as base:
            yield base
    finally:
        released.set()
        warm.join(60)


def test_a_hybrid_search_while_the_model_loads_shows_keyword_results_with_a_note(
    browser: WebDriver, loading_server: str
) -> None:
    open_page(browser, loading_server + "/search?q=logit+lens")
    assert "logit-lens" in result_ids(browser)
    note = browser.find_element(By.CSS_SELECTOR, NOTE)
    assert note.is_displayed() and note.text.startswith("Keyword results only: the semantic half of hybrid "
                                                        "search is not ready yet")
    assert browser.find_element(By.CSS_SELECTOR, "input[name=mode][value=hybrid]").is_selected()
    assert not browser.find_elements(By.CSS_SELECTOR, "#results [data-state=error]")
    # An in-place search (the form's script, the results block alone) shows the note with its results.
    submit_query(browser, "activation patching")
    wait(browser).until(lambda d: idle(d) and "activation patching" in d.current_url.replace("+", " "))
    assert result_ids(browser) and len(browser.find_elements(By.CSS_SELECTOR, NOTE)) == 1
    assert browser.find_element(By.CSS_SELECTOR, "input[name=mode][value=hybrid]").is_selected()
    assert "mode=" not in browser.current_url  # a reload asks for hybrid again
