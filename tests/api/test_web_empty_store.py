"""A store with the taxonomy and no papers: every page says so in one wording, kg.store.EMPTY_STORE_MESSAGE
with its commands as code (QA: the home page read "0 papers on …" with example queries, a search "Try other
words, or browse by technique", and the New page a fragment and "Pick an earlier date above", none of which
can help)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from api.app import create_app
from kg.embedded import EmbeddedStore
from tests.api.conftest import app_config
from tests.api.test_web import page
from tests.embedders import HashEmbedder
from tests.kg.test_related import bundle, unit

MESSAGE = ("This store has no papers yet: load some with <code>paperkg ingest list</code> (the awesome-list "
           "and its arXiv papers) or <code>paperkg ingest records FILE.jsonl</code>.")


@pytest.fixture
def client(empty_store: EmbeddedStore, tmp_path: Path) -> FlaskClient:
    return create_app(app_config(tmp_path, STORE=empty_store, EMBEDDER=HashEmbedder())).test_client()


def _said(html: str) -> list[str]:
    return re.findall(r'data-state="store-empty">(.*?)</p>', html, re.S)


@pytest.mark.parametrize("url", ["/", "/search?q=sae", "/search?q=sae&fragment=1",
                                 "/search?q=sae&mode=keyword", "/search?technique=sae", "/new", "/techniques",
                                 "/techniques/sae"])
def test_every_page_says_the_store_is_empty_in_one_wording(client: FlaskClient, url: str) -> None:
    html = page(client, url)
    assert _said(html) == [MESSAGE], url
    for unhelpful in ("0 papers on", "Try other words", "Pick an earlier date", "Nothing new since",
                      "Nothing has been ingested yet", "No papers use", "Remove the technique filter"):
        assert unhelpful not in html, (url, unhelpful)


def test_the_home_page_suggests_no_example_queries(client: FlaskClient) -> None:
    html = page(client, "/")
    assert 'class="examples"' not in html and "Ask a question" not in html


def test_a_store_with_papers_gets_the_usual_texts(empty_store: EmbeddedStore, tmp_path: Path) -> None:
    empty_store.upsert_papers([bundle("sae-1", unit(0), ["sae"])])
    client = create_app(app_config(tmp_path, STORE=empty_store, EMBEDDER=HashEmbedder())).test_client()
    assert "1 paper on mechanistic interpretability" in page(client, "/")  # one paper, not "1 papers"
    for url in ("/", "/search?q=zzzz&mode=keyword", "/new?since=2999-01-01", "/techniques",
                "/techniques/probing"):
        assert not _said(page(client, url)), url
    assert "Try semantic or hybrid mode" in page(client, "/search?q=zzzz&mode=keyword")
    assert "Nothing new since 2999-01-01" in page(client, "/new?since=2999-01-01")
    # No ingest run recorded (papers written straight to the store): the default window in a sentence.
    assert "No ingest run is recorded yet, so the default window is the last 7 days." in page(client, "/new")
