"""The seed corpus loaded once per test process into a real embedded store with the real model.

Shared by tests/kg (search, related, recommend) and tests/api: the first caller pays for the
model load and the ingest (~15 s); later callers get the same file. Tests only read it.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

_LOCK = threading.Lock()
_BUILT: dict[str, Path] = {}


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
        folder = Path(tempfile.mkdtemp(prefix="paperkg-seed-"))
        atexit.register(shutil.rmtree, folder, True)
        path = folder / "paperkg.sqlite3"
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
