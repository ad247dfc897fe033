"""API fixtures: the seed corpus in a real embedded store with the real model (loaded once per
session), and a small plumbing store with the deterministic HashEmbedder."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import BaseWSGIServer, make_server

from api.app import create_app
from kg.config import load_config
from kg.embedded import EmbeddedStore
from kg.entities import Paper, PaperBundle, TechniqueUse
from tests.embedders import HashEmbedder, OtherModel
from tests.seed_store import seed_db_path, taxonomy_store


def app_config(tmp: Path, **extra: Any) -> dict[str, Any]:
    """Flask config for a test app: an explicit paperkg Config so the environment cannot leak in."""
    return {"TESTING": True,
            "PAPERKG_CONFIG": load_config(env={"PAPERKG_DATA_DIR": str(tmp)}), **extra}


@pytest.fixture(scope="session")
def embedder(model_embedder: Any) -> Any:
    """The real all-MiniLM-L6-v2 embedder."""
    return model_embedder


@pytest.fixture(scope="session")
def app(seed_store: EmbeddedStore, embedder: Any, tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """The app on the seed store with the real embedder."""
    return create_app(app_config(tmp_path_factory.mktemp("api"), STORE=seed_store, EMBEDDER=embedder))


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client of the seed app."""
    return app.test_client()


HOSTILE_TITLE = 'Patching </title><script>alert("x")</script> & <b>bold</b> {braces} 100% $x_1$ ~ #'


def plumbing_bundles(embedder: HashEmbedder) -> list[PaperBundle]:
    """Three small papers, one with hostile text in every field the feeds and BibTeX render."""
    from ingest.embed import embedding_text, text_hash
    from ingest.extract import Extractor
    from ingest.write import extraction_hash
    from kg.taxonomy import load_taxonomy

    # Stored as an ingest stores them, with the current extraction's hash: a paper without one is
    # stale, and GET /api/status would report extraction_stale for every plumbing store.
    signature = Extractor(load_taxonomy()).signature

    def paper(pid: str, title: str, abstract: str, authors: list[str], **kw: Any) -> Paper:
        vec = embedder.encode_query(f"{title} {abstract}")
        made = Paper(id=pid, title=title, abstract=abstract, authors=authors, sources=["records"],
                     embedding=np.asarray(vec, dtype=np.float32), embedding_model=embedder.model_name, **kw)
        made.extraction_hash = extraction_hash(signature, made, [], embedding_text, text_hash)
        return made

    return [
        PaperBundle(paper(
            "hostile-1", HOSTILE_TITLE,
            "We patch activations ]]> <![CDATA[ x ]]> and \x01control characters\x7f. Second sentence.",
            ["Zoë Ångström", "O'Brien <script>"], year=2024, published="2024-02-03",
            venue="Conf & <Workshop>", url="https://example.org/a?b=1&c=<2>",
        ), techniques=[TechniqueUse("activation_patching", "extracted", evidence="we patch activations")]),
        PaperBundle(paper(
            "2401.00001", "Sparse autoencoders on tiny models", "We train sparse autoencoders. They work.",
            ["Ada Lovelace"], arxiv_id="2401.00001", year=2024, published="2024-01-02",
            primary_category="cs.LG", categories=["cs.LG", "cs.CL"],
        ), techniques=[TechniqueUse("sae", "list")]),
        PaperBundle(paper(
            "plain-slug", "Probing classifiers for syntax", "Linear probes recover syntax trees.",
            ["Grace Hopper", "Ada Lovelace"], year=2021,
        ), techniques=[TechniqueUse("probing", "extracted", evidence="linear probes")]),
    ]


def another_models_store(data: Path) -> Path:
    """A data directory whose store holds the plumbing papers embedded by another model (OtherModel), as
    one left behind when PAPERKG_EMBEDDING_MODEL changed; returns it."""
    store = taxonomy_store(data / "paperkg.sqlite3")
    store.upsert_papers(plumbing_bundles(OtherModel()))
    store.close()
    return data


@pytest.fixture(scope="module")
def plumbing_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedStore]:
    """A tiny store (taxonomy + three papers, HashEmbedder vectors) for plumbing tests."""
    store = taxonomy_store(tmp_path_factory.mktemp("plumbing") / "paperkg.sqlite3")
    store.upsert_papers(plumbing_bundles(HashEmbedder()))
    yield store
    store.close()


@pytest.fixture(scope="module")
def plumbing_client(plumbing_store: EmbeddedStore, tmp_path_factory: pytest.TempPathFactory) -> FlaskClient:
    """A test client of an app on the plumbing store (HashEmbedder)."""
    app = create_app(app_config(tmp_path_factory.mktemp("api-plumbing"), STORE=plumbing_store,
                                EMBEDDER=HashEmbedder()))
    return app.test_client()


@contextlib.contextmanager
def serving(app: Flask) -> Iterator[int]:
    """The app on a real HTTP server (werkzeug's, as `paperkg serve` runs) on a free loopback port."""
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def tex() -> None:
    """bibtex and pdflatex with natbib's plainnat.bst, which the BibTeX compile tests run: missing, they
    fail naming the packages (a skipped test would read as a pass)."""
    found = all(shutil.which(tool) for tool in ("bibtex", "pdflatex", "kpsewhich")) and subprocess.run(
        ["kpsewhich", "plainnat.bst"], capture_output=True, check=False).stdout
    if not found:
        pytest.fail("bibtex, pdflatex or natbib's plainnat.bst is missing (Debian packages "
                    "texlive-latex-base and texlive-latex-recommended; .ci/run installs them)")


class BrokenStore:
    """A store whose every call fails with `error` (an unreachable Neo4j, a damaged file)."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def __getattr__(self, name: str) -> Any:
        def fail(*args: Any, **kwargs: Any) -> Any:
            raise self.error

        return fail


@pytest.fixture
def empty_store(tmp_path: Path) -> Iterator[EmbeddedStore]:
    """An empty real store (taxonomy loaded) in a temporary SQLite file."""
    store = taxonomy_store(tmp_path / "paperkg.sqlite3")
    yield store
    store.close()


@pytest.fixture(scope="module")
def seeded_dir(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory holding a copy of the seed store (for the CLI, which opens PAPERKG_DATA_DIR)."""
    folder = tmp_path_factory.mktemp("seeded-data")
    shutil.copy(seed_db_path(shared_data), folder / "paperkg.sqlite3")
    return folder


@pytest.fixture
def env(seeded_dir: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """PAPERKG_* pointing at the seeded copy (embedded store)."""
    monkeypatch.delenv("PAPERKG_NEO4J_URI", raising=False)
    values = {"PAPERKG_DATA_DIR": str(seeded_dir), "PAPERKG_STORE": "embedded"}
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values
