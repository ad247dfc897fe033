"""GraphStore.common_words on every backend (Neo4j only when NEO4J_URI is set), and the Neo4j store's
statements without a server: a word more than half of the papers have is common
(kg.store.common_word_limit)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kg import cypher
from kg.entities import Paper, PaperBundle
from kg.neo4j_store import Neo4jStore
from kg.store import GraphStore, common_word_limit
from tests.kg.test_neo4j_store import _Result
from tests.kg.test_store_contract import BACKENDS, _open


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GraphStore]:
    """A fresh store of the parametrised backend with its schema."""
    s = _open(request.param, tmp_path)
    s.init_schema()
    yield s
    s.close()


def _paper(pid: str, title: str, abstract: str, authors: tuple[str, ...] = ("A. Author",)) -> PaperBundle:
    return PaperBundle(paper=Paper(id=pid, title=title, abstract=abstract, authors=list(authors),
                                   sources=["records"], year=2024))


def test_a_word_in_more_than_half_of_the_papers_is_common(store: GraphStore) -> None:
    """"models" is in 3 of 4 papers (one says "model": the same word), "circuits" in 2 (half: not
    more), "honesty" in 1, its title only; a name counts in the authors too."""
    store.upsert_papers([
        _paper("a", "Circuits in language models", "We study a model of honesty.", ("Jane Model",)),
        _paper("b", "Probing models", "Models lie."),
        _paper("c", "A circuit for truth", "A single model suffices."),
        _paper("d", "Honesty directions", "Directions in activation space."),
    ])
    assert store.common_words(["models", "circuits", "honesty", "zqxj"]) == {"models"}
    assert store.common_words(["Model"]) == {"Model"}  # as typed, in the other number
    assert store.common_words(["circuit", "direction"]) == set()
    assert store.common_words([]) == set()
    assert store.delete_paper("d")
    assert store.common_words(["circuits", "models"]) == {"circuits", "models"}  # 2 of 3 now


def test_an_empty_store_has_no_common_word(store: GraphStore) -> None:
    assert store.common_words(["models"]) == set()


def test_the_limit_is_more_than_half() -> None:
    assert [common_word_limit(n) for n in (0, 1, 2, 3, 4, 38, 100_000)] == [1, 1, 2, 2, 3, 20, 50_001]


def test_neo4j_counts_each_word_in_the_text_only_up_to_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """One count per word, stopped at the limit (51 of 100 papers), over title, abstract and authors
    (no venue clause), the word's other number included, as the embedded store counts."""
    store = Neo4jStore("bolt://127.0.0.1:1", "neo4j", "pw", "neo4j")
    counts = {"models": 51, "circuits": 50}
    sent: list[dict[str, Any]] = []

    class Tx:
        def run(self, query: str, parameters: dict[str, Any] | None = None) -> _Result:
            params = parameters or {}
            if query == cypher.PAPER_COUNT:
                return _Result([{"n": 100}])
            assert query == cypher.KEYWORD_TEXT_MATCHES
            sent.append(params)
            word = params["query"].split("(", 1)[1].split(" ", 1)[0].lower()
            return _Result([{"n": min(counts.get(word, 0), params["limit"])}])

    monkeypatch.setattr(store, "_execute", lambda write, work: work(Tx()))
    assert store.common_words(["models", "circuits", "honesty"]) == {"models"}
    assert [p["limit"] for p in sent] == [51, 51, 51]
    assert all("search_venue" not in p["query"] for p in sent)
    assert "search_title:(models OR model)" in sent[0]["query"]
