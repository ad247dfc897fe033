"""A small real store for the author tests: the plumbing papers, a paper with many authors (the one
searched for far down its list) and one with no authors."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import pytest
from flask.testing import FlaskClient

from api.app import create_app
from kg.entities import Paper, PaperBundle, TechniqueUse
from tests.api.conftest import app_config, plumbing_bundles
from tests.embedders import HashEmbedder
from tests.seed_store import taxonomy_store

# Chris Olah is the seventh of nine: past the four a list row names before "et al.".
MANY_AUTHORS = ["Ann One", "Ben Two", "Cat Three", "Dan Four", "Eve Five", "Fay Six", "Chris Olah",
                "Gus Eight", "Hal Nine"]
HOSTILE_NAME = 'Mallory <script>alert("x")</script> & Co'


def author_bundles(embedder: HashEmbedder) -> list[PaperBundle]:
    """The plumbing papers and three more (many authors, no authors, a hostile name with Ada Lovelace)."""
    def paper(pid: str, title: str, authors: list[str], **kw: object) -> Paper:
        vec = embedder.encode_query(title)
        return Paper(id=pid, title=title, abstract=f"{title}. Second sentence.", authors=authors,
                     sources=["records"], embedding=np.asarray(vec, dtype=np.float32),
                     embedding_model=embedder.model_name, **kw)  # type: ignore[arg-type]

    return [*plumbing_bundles(embedder),
            PaperBundle(paper("2209.10652", "Toy models of superposition", MANY_AUTHORS, year=2022,
                              published="2022-09-21", arxiv_id="2209.10652"),
                        techniques=[TechniqueUse("sae", "list")]),
            PaperBundle(paper("anon-2022", "Superposition without authors", [], year=2022),
                        techniques=[TechniqueUse("sae", "list")]),
            PaperBundle(paper("hostile-author", "Superposition by a hostile name",
                              [HOSTILE_NAME, "Ada Lovelace"], year=2023, published="2023-05-01"))]


@contextlib.contextmanager
def author_client_of(factory: pytest.TempPathFactory) -> Iterator[FlaskClient]:
    """A test client of an app (HashEmbedder) on a real embedded store holding author_bundles."""
    store = taxonomy_store(factory.mktemp("authors") / "paperkg.sqlite3")
    try:
        store.upsert_papers(author_bundles(HashEmbedder()))
        app = create_app(app_config(factory.mktemp("api-authors"), STORE=store, EMBEDDER=HashEmbedder()))
        yield app.test_client()
    finally:
        store.close()
