"""A store used from Python (a notebook): as a context manager that closes it, and get_papers refusing one
id given as a string (QA: `with open_store(cfg, read_only=True) as s:` failed; get_papers("2211.00593")
took the id as a list of one-letter ids and returned [])."""

from __future__ import annotations

from pathlib import Path

import pytest

from kg.config import load_config
from kg.embedded import EmbeddedStore
from kg.neo4j_store import Neo4jStore
from kg.store import StoreError, open_store

ONE_STRING = r"^get_papers takes a list of paper ids, not one string: get_papers\(\['2211\.00593'\]\)$"


def test_an_embedded_store_is_a_context_manager_that_closes_it(seed_store: EmbeddedStore) -> None:
    config = load_config({"PAPERKG_STORE": "embedded"}, data_dir=seed_store.path.parent)
    with open_store(config, read_only=True) as store:
        assert isinstance(store, EmbeddedStore)
        assert [p.id for p in store.get_papers(["2211.00593"])] == ["2211.00593"]
    with pytest.raises(StoreError, match="is closed"):
        store.get_papers(["2211.00593"])


def test_the_store_is_closed_when_the_block_raises(tmp_path: Path) -> None:
    with pytest.raises(KeyError, match="raised in the block"), EmbeddedStore(tmp_path / "s.sqlite3") as store:
        store.init_schema()
        raise KeyError("raised in the block")
    with pytest.raises(StoreError, match="is closed"):
        store.paper_ids()


def test_a_neo4j_store_is_a_context_manager_that_closes_it() -> None:
    # Nothing connects before a query: the block and the close need no server.
    with Neo4jStore("bolt://127.0.0.1:9", "neo4j", "secret") as store:
        assert isinstance(store, Neo4jStore)
    with pytest.raises(StoreError, match=r"^Neo4j store .* is closed$"):
        store.get_papers(["2211.00593"])


def test_get_papers_refuses_one_id_given_as_a_string(seed_store: EmbeddedStore) -> None:
    with pytest.raises(TypeError, match=ONE_STRING):
        seed_store.get_papers("2211.00593")
    assert [p.id for p in seed_store.get_papers(["2211.00593"])] == ["2211.00593"]


def test_neo4j_get_papers_refuses_one_id_given_as_a_string() -> None:
    # Refused before any query: a server that does not answer is never reached.
    unanswered = Neo4jStore("bolt://127.0.0.1:9", "neo4j", "secret", connection_timeout=0.5, retry_time=0.0)
    with unanswered as store, pytest.raises(TypeError, match=ONE_STRING):
        store.get_papers("2211.00593")
