"""The About page and the footer name where the store's papers came from, not the default setup's sources:
a store loaded from a records file claimed the awesome list and arXiv's CC0 for private metadata (QA)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from flask.testing import FlaskClient

from api.app import create_app
from kg.entities import Paper, PaperBundle
from kg.store import StoreUnavailable
from tests.api.conftest import BrokenStore, app_config
from tests.embedders import HashEmbedder
from tests.seed_store import taxonomy_store


def _page(client: FlaskClient, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def _footer(html: str) -> str:
    return " ".join(html.split("<footer", 1)[1].split("</footer>", 1)[0].split())


def _where_from(html: str) -> str:
    return " ".join(html.split("Where the data comes from", 1)[1].split("<h2>", 1)[0].split())


def test_a_records_only_store_claims_neither_the_list_nor_arxiv(plumbing_client: FlaskClient) -> None:
    html = _page(plumbing_client, "/about")
    where = _where_from(html)
    assert "<strong>A records file</strong> (3 papers)" in where
    assert "<strong>The awesome list</strong>" not in where and "<strong>arXiv</strong>" not in where
    assert "creativecommons.org" not in where and "neither the awesome list's nor arXiv's CC0" in where
    footer = _footer(html)
    assert "metadata from records files ·" in footer and "awesome list" not in footer
    # Every page's footer says the same (it said the list and arXiv's CC0, then nothing off the About page).
    other = _footer(_page(plumbing_client, "/techniques"))
    assert "metadata from records files ·" in other and "CC0" not in other and "awesome list" not in other


def test_a_records_file_with_list_rows_credits_the_list_but_not_arxiv(client: FlaskClient) -> None:
    """The seed store is a records file (the list's rows and arXiv's metadata, as the shared data has
    them): the list is credited for its sections, the metadata is the file's."""
    html = _page(client, "/about")
    where = _where_from(html)
    assert "<strong>The awesome list</strong>:" in where
    assert "<strong>A records file</strong> (38 papers)" in where
    assert "<strong>arXiv</strong>" not in where
    assert "metadata from the awesome list and records files ·" in _footer(html)


@pytest.fixture(scope="module")
def list_arxiv_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FlaskClient]:
    """An app on a store of two papers: one from the list and arXiv, one from arXiv only."""
    embedder = HashEmbedder()
    store = taxonomy_store(tmp_path_factory.mktemp("sources") / "paperkg.sqlite3")

    def bundle(pid: str, sources: list[str]) -> PaperBundle:
        vector = np.asarray(embedder.encode_query(pid), dtype=np.float32)
        return PaperBundle(Paper(id=pid, title=f"Paper {pid}", abstract="We probe.", arxiv_id=pid,
                                 sources=sources, embedding=vector, embedding_model=embedder.model_name))

    store.upsert_papers([bundle("2401.00001", ["arxiv", "list"]), bundle("2401.00002", ["arxiv"])])
    app = create_app(app_config(tmp_path_factory.mktemp("api-sources"), STORE=store, EMBEDDER=embedder))
    yield app.test_client()
    store.close()


def test_a_list_and_arxiv_store_names_them_with_their_counts(list_arxiv_client: FlaskClient) -> None:
    html = _page(list_arxiv_client, "/about")
    where = _where_from(html)
    assert "<strong>The awesome list</strong> (1 paper):" in where
    assert "<strong>arXiv</strong> (2 papers): titles" in where and "creativecommons.org" in where
    assert "<strong>A records file</strong>" not in where
    assert "metadata from the awesome list and arXiv (CC0) ·" in _footer(html)


def test_every_pages_footer_names_the_sources_and_an_error_page_none(
    list_arxiv_client: FlaskClient, tmp_path: Path
) -> None:
    for url in ("/", "/techniques", "/new", "/for-you"):
        footer = _footer(_page(list_arxiv_client, url))
        assert "metadata from the awesome list and arXiv (CC0) ·" in footer, url
    # The store down: the error page still renders, naming no source rather than failing.
    client = create_app(app_config(tmp_path, STORE=BrokenStore(StoreUnavailable("down")))).test_client()
    response = client.get("/techniques")
    assert response.status_code == 503
    footer = _footer(response.get_data(as_text=True))
    assert "metadata from" not in footer and "about" in footer
