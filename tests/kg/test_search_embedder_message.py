"""Semantic and hybrid search without an embedder say how to get one (QA: a notebook user was told only
"semantic search needs an embedder")."""

from __future__ import annotations

from pathlib import Path

import pytest

from kg.search import search
from tests.seed_store import taxonomy_store


@pytest.mark.parametrize("mode", ["semantic", "hybrid"])
def test_search_without_an_embedder_names_get_embedder_and_keyword_mode(mode: str, tmp_path: Path) -> None:
    store = taxonomy_store(tmp_path / "s.sqlite3")
    try:
        with pytest.raises(ValueError) as caught:
            search(store, "induction heads", mode=mode)
        message = str(caught.value)
        assert message.startswith(f"{mode} search needs an embedder")
        assert "from ingest.embed import get_embedder" in message and "mode='keyword'" in message
        assert search(store, "induction heads", mode="keyword").results == []
    finally:
        store.close()
