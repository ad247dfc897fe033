"""Fixtures shared by every test package: the shared data, the taxonomy, the real model and the seed store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kg.embedded import EmbeddedStore
from kg.taxonomy import Taxonomy, load_taxonomy


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The read-only reference data folder (PAPERKG_SHARED_DATA, else shared/data beside the repo)."""
    from bench.shared_data import shared_data_dir

    path = shared_data_dir(None)  # the benches' rule: PAPERKG_SHARED_DATA if set, else beside the repo
    if not (path / "seed_papers.jsonl").is_file():
        pytest.fail(f"shared data not found at {path}: set PAPERKG_SHARED_DATA")
    return path


@pytest.fixture(scope="session")
def taxonomy() -> Taxonomy:
    """The packaged MI taxonomy."""
    return load_taxonomy()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh PAPERKG_DATA_DIR for one test (an empty graph)."""
    path = tmp_path / "data"
    path.mkdir()
    monkeypatch.setenv("PAPERKG_DATA_DIR", str(path))
    monkeypatch.delenv("PAPERKG_NEO4J_URI", raising=False)
    monkeypatch.setenv("PAPERKG_STORE", "embedded")
    return path


@pytest.fixture(scope="session")
def model_embedder() -> Any:
    """The real all-MiniLM-L6-v2 (process-wide instance, loaded by path, offline)."""
    from tests.seed_store import real_embedder

    return real_embedder()


@pytest.fixture(scope="session")
def seed_store(shared_data: Path) -> Iterator[EmbeddedStore]:
    """The seed corpus (real pipeline, real model) in a real SQLite file, built once; read only."""
    from tests.seed_store import seed_db_path

    store = EmbeddedStore(seed_db_path(shared_data))
    yield store
    store.close()
