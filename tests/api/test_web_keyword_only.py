"""The web search page in hybrid mode (the default) without its semantic half: the keyword results at once,
said to be only those, while the model loads or when it cannot be loaded.

QA (a laptop, right after a start): a hybrid search waited MODEL_WAIT_SECONDS (~15 s), then showed no
results at all, only "Semantic search is not ready yet … switch the mode to keyword".
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

import ingest.embed
from api.app import create_app, get_embedder
from kg.embedded import EmbeddedStore
from tests.api.conftest import app_config
from tests.broken_imports import ERRORS, break_import
from tests.embedders import HashEmbedder

QUERY = {"q": "sparse autoencoders"}
SAE_PAPER = "2401.00001"  # "Sparse autoencoders on tiny models" of the plumbing store
NOTE = re.compile(r'<p class="notice" role="status" data-state="keyword-only">([^<]*)</p>')
ROW = re.compile(r'data-paper-row data-paper-id="([^"]+)"')


def checked_mode(html: str) -> list[str]:
    """The mode radio(s) the form has checked."""
    return re.findall(r'<input type="radio" name="mode" value="(\w+)" checked', html)


class HeldLoad:
    """The model's load (a HashEmbedder) held until release(), in a thread as the servers' warm-up runs it."""

    def __init__(self, app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
        self.started, self.released = threading.Event(), threading.Event()
        held = self

        class SlowModel(HashEmbedder):
            def __init__(self, model_path: str | None = None, threads: int | None = None) -> None:
                held.started.set()
                held.released.wait(120)  # a liveness bound only: the test releases it
                super().__init__(model_path, threads)

        monkeypatch.setattr(ingest.embed, "Embedder", SlowModel)
        monkeypatch.setattr(ingest.embed, "loaded_embedder", lambda path: None)
        self.thread = threading.Thread(target=get_embedder, args=(app,), kwargs={"patient": True},
                                       daemon=True)

    def __enter__(self) -> HeldLoad:
        self.thread.start()
        assert self.started.wait(60)
        return self

    def __exit__(self, *exc: object) -> None:
        self.released.set()
        self.thread.join(60)


@pytest.fixture
def loading_app(plumbing_store: EmbeddedStore, tmp_path: Path) -> Iterator[Flask]:
    """An app on the plumbing store that waits for a loading model far longer than any test runs: a page
    that waited for it would get the model, not the keyword results."""
    yield create_app(app_config(tmp_path, STORE=plumbing_store, MODEL_WAIT_SECONDS=600))


def test_a_hybrid_search_while_the_model_loads_shows_the_keyword_results_with_a_note(
    loading_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    client: FlaskClient = loading_app.test_client()
    with HeldLoad(loading_app, monkeypatch):
        for query in (QUERY, {**QUERY, "mode": "hybrid"}):
            response = client.get("/search", query_string=query)
            html = response.get_data(as_text=True)
            assert response.status_code == 200
            assert ROW.findall(html)[0] == SAE_PAPER
            assert NOTE.findall(html) == [
                "Keyword results only: the semantic half of hybrid search is not ready yet (the embedding "
                "model is still loading; the server has just started). Search again in a minute for hybrid "
                "results."]
            # Counted and scored as what they are, keyword results; the form stays on hybrid.
            assert "with words from" in html and "BM25" in html and "cosine" not in html
            assert checked_mode(html) == ["hybrid"]
            assert 'data-state="error"' not in html
        # The in-place update (the results block alone) says it too.
        fragment = client.get("/search", query_string={**QUERY, "fragment": "1"}).get_data(as_text=True)
        assert len(NOTE.findall(fragment)) == 1 and SAE_PAPER in ROW.findall(fragment)
        # Semantic search has no keyword half: it still says the model is loading (after its own wait).
        loading_app.config["MODEL_WAIT_SECONDS"] = 0.1
        semantic = client.get("/search", query_string={**QUERY, "mode": "semantic"}).get_data(as_text=True)
        assert "Semantic search is not ready yet" in semantic and not ROW.findall(semantic)
        assert not NOTE.findall(semantic)
    # Loaded: the same search gets both halves, and no note.
    html = client.get("/search", query_string=QUERY).get_data(as_text=True)
    assert not NOTE.findall(html) and "ranked by relevance to" in html and "cosine" in html
    assert SAE_PAPER in ROW.findall(html)


def test_a_hybrid_search_without_a_usable_model_shows_the_keyword_results_with_a_note(
    plumbing_store: EmbeddedStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest.embed, "_CACHE", {})
    break_import(monkeypatch, "torch", ERRORS["OSError"])
    client = create_app(app_config(tmp_path, STORE=plumbing_store)).test_client()
    html = client.get("/search", query_string=QUERY).get_data(as_text=True)
    assert ROW.findall(html)[0] == SAE_PAPER and checked_mode(html) == ["hybrid"]
    assert NOTE.findall(html) == ["Keyword results only: the semantic half of hybrid search is unavailable "
                                  "(the embedding model could not be loaded)."]
    assert "libtorch" not in html  # the reason stays in the server log
    # A query nothing matches by its words: no tip to try hybrid mode, which is what failed.
    empty = client.get("/search", query_string={"q": "zzyzx"}).get_data(as_text=True)
    assert 'data-state="empty"' in empty and len(NOTE.findall(empty)) == 1
    assert "Try semantic or hybrid mode" not in empty
    semantic = client.get("/search", query_string={**QUERY, "mode": "semantic"}).get_data(as_text=True)
    assert "Semantic search is unavailable" in semantic and not ROW.findall(semantic)
