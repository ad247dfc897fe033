"""Fixtures of the ingest tests: seed records, a local arXiv API, a fresh embedded store, the CLI's pipeline
with test tools (plumbing), snapshots."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import ingest.pipeline as pipeline
from ingest.arxiv_server import LocalArxivServer
from kg.store import GraphStore
from kg.taxonomy import Taxonomy
from tests.embedders import HashEmbedder
from tests.seed_store import taxonomy_store


@pytest.fixture(scope="session")
def seed_records(shared_data: Path) -> list[dict[str, Any]]:
    """The shared seed_papers.jsonl as dicts."""
    with (shared_data / "seed_papers.jsonl").open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


@pytest.fixture(scope="session")
def seed_list(shared_data: Path) -> str:
    """The shared awesome-list-seed.md text."""
    return (shared_data / "awesome-list-seed.md").read_text(encoding="utf-8")


@pytest.fixture
def local_arxiv(seed_records: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
                ) -> Iterator[LocalArxivServer]:
    """A local arXiv API serving the seed papers; PAPERKG_ARXIV_* point at it with small delays."""
    with LocalArxivServer(seed_records, timeout_sleep=2.0) as server:
        monkeypatch.setenv("PAPERKG_ARXIV_URL", server.url)
        monkeypatch.setenv("PAPERKG_ARXIV_DELAY", "0.02")
        monkeypatch.setenv("PAPERKG_ARXIV_TIMEOUT", "0.5")
        monkeypatch.setenv("PAPERKG_ARXIV_RETRIES", "2")
        yield server


def open_ready_store(path: Path, taxonomy: Taxonomy) -> GraphStore:
    """An embedded store at path with schema and taxonomy loaded."""
    store = taxonomy_store(path)
    return store


@pytest.fixture
def store(data_dir: Path, taxonomy: Taxonomy) -> Iterator[GraphStore]:
    """A fresh embedded store in the test's PAPERKG_DATA_DIR (the path the CLI opens too)."""
    opened = open_ready_store(data_dir / "paperkg.sqlite3", taxonomy)
    yield opened
    opened.close()


@pytest.fixture
def embedder() -> HashEmbedder:
    """Deterministic embedder for plumbing tests."""
    return HashEmbedder()


@pytest.fixture(scope="session")
def extractor(taxonomy: Taxonomy) -> Any:
    """W4's extractor, built once."""
    from ingest.extract import Extractor

    return Extractor(taxonomy)


@pytest.fixture
def plumbing(monkeypatch: pytest.MonkeyPatch, extractor: Any) -> HashEmbedder:
    """The CLI's pipeline with the hash embedder and the session's extractor."""
    embedder = HashEmbedder()
    monkeypatch.setattr(pipeline, "_load_embedder", lambda: embedder)
    monkeypatch.setattr(pipeline, "_load_extractor", lambda taxonomy=None: extractor)
    return embedder


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return [round(float(x), 6) for x in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def snapshot(store: GraphStore) -> dict[str, Any]:
    """Every paper with its properties and edges (timestamps left out), plus node/edge counts."""
    papers = {}
    for pid in sorted(store.paper_ids()):
        detail = store.get_paper(pid)
        assert detail is not None
        data = _plain(asdict(detail))
        data["paper"].pop("first_seen", None)
        data["paper"].pop("last_seen", None)
        embedding = store.get_embeddings([pid]).get(pid)
        data["embedding"] = _plain(embedding) if embedding is not None else None
        for key in ("techniques", "evaluations", "findings", "models", "list_rows"):
            data[key] = sorted(data[key], key=lambda x: json.dumps(x, sort_keys=True, default=str))
        papers[pid] = data
    stats = store.stats()
    stats["nodes"].pop("IngestRun", None)
    return {"papers": papers, "stats": stats}


REPO_ROOT = Path(__file__).resolve().parents[2]
