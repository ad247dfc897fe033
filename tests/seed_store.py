"""The seed corpus loaded once per test process into a real embedded store with the real model.

Shared by tests/kg (search, related, recommend) and tests/api: the first caller pays for the
model load and the ingest (~15 s); later callers get the same file. Tests only read it. The file lives
under pytest's base temp (tests/conftest.py hands over tmp_path_factory), so a killed run leaves it
where pytest's own rotation removes it.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

_LOCK = threading.Lock()
_BUILT: dict[str, Path] = {}
_FACTORY: list[pytest.TempPathFactory] = []  # the running session's, set by use_temp_factory


def use_temp_factory(factory: pytest.TempPathFactory) -> None:
    """Build seed stores under the base temp of `factory` from now on (tests/conftest.py, per session)."""
    with _LOCK:
        if _FACTORY and _FACTORY[0] is factory:
            return
        # A new session (pytest run inside this process): its files live under its own base temp.
        _FACTORY[:] = [factory]
        _BUILT.clear()


def real_embedder() -> Any:
    """The real all-MiniLM-L6-v2 embedder (process-wide instance, loaded by path, offline)."""
    from ingest.embed import get_embedder

    return get_embedder()


def taxonomy_store(path: Path) -> Any:
    """A real EmbeddedStore at `path` with its schema and the packaged taxonomy loaded."""
    from kg.embedded import EmbeddedStore
    from kg.taxonomy import load_taxonomy

    store = EmbeddedStore(path)
    store.init_schema()
    store.load_taxonomy(load_taxonomy().nodes)
    return store


def seed_db_path(shared_data: Path) -> Path:
    """Path of an SQLite store holding the taxonomy and seed_papers.jsonl (built on first call)."""
    from ingest.pipeline import ingest_records_file

    key = str(Path(shared_data).resolve())
    with _LOCK:
        if key in _BUILT:
            return _BUILT[key]
        if not _FACTORY:
            raise RuntimeError("seed_db_path needs pytest's tmp_path_factory: tests/conftest.py's session "
                               "fixture passes it to use_temp_factory")
        path = _FACTORY[0].mktemp("paperkg-seed") / "paperkg.sqlite3"
        store = taxonomy_store(path)
        try:
            summary = ingest_records_file(
                store, Path(shared_data) / "seed_papers.jsonl", embedder=real_embedder(), progress=False
            )
            if summary.new < 30:
                raise RuntimeError(f"seed ingest loaded too few papers: {summary}")
        finally:
            store.close()
        _BUILT[key] = path
        return path
