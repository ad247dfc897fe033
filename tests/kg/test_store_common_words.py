"""GraphStore.common_words' limit and its cache, on every backend (Neo4j only when NEO4J_URI is set).
What a common word is, on each backend: tests/kg/test_store_contract.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kg import store as store_module
from kg.entities import Paper, PaperBundle
from kg.store import GraphStore, common_word_limit
from tests.kg.test_store_contract import BACKENDS, _open


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GraphStore]:
    """A fresh store of the parametrised backend with its schema and four papers: "models" in three of
    them (common), "circuits" in two (half: not common), "honesty" in one."""
    s = _open(request.param, tmp_path)
    s.init_schema()
    s.upsert_papers([
        _paper("a", "Circuits in language models", "We study a model of honesty."),
        _paper("b", "Probing models", "Models lie."),
        _paper("c", "A circuit for truth", "A single model suffices."),
        _paper("d", "Directions", "Directions in activation space."),
    ])
    yield s
    s.close()


@pytest.fixture
def counted(store: GraphStore, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The words the store counts (GraphStore._text_matches), in order: the real count, recorded."""
    words: list[str] = []
    count = store._text_matches

    def recorded(word: str, limit: int) -> int:
        words.append(word)
        return count(word, limit)

    monkeypatch.setattr(store, "_text_matches", recorded)
    return words


def _paper(pid: str, title: str, abstract: str) -> PaperBundle:
    return PaperBundle(paper=Paper(id=pid, title=title, abstract=abstract, authors=["A. Author"],
                                   sources=["records"], year=2024))


def test_the_limit_is_more_than_half() -> None:
    assert [common_word_limit(n) for n in (0, 1, 2, 3, 4, 38, 100_000)] == [1, 1, 2, 2, 3, 20, 50_001]


def test_each_word_is_counted_once_until_papers_come_or_go(store: GraphStore, counted: list[str]) -> None:
    """Every hybrid search page asks (api.web: the no-word-match notice), and a common word's count
    walks half the papers' matches: a word already answered is not counted again while the number of
    papers stays the same; a paper added or deleted counts at once."""
    assert store.common_words(["models", "circuits", "honesty"]) == {"models"}
    assert store.common_words(["honesty", "models", "models", ""]) == {"models"}
    assert store.common_words(["circuits", "zqxj"]) == set()
    assert counted == ["models", "circuits", "honesty", "zqxj"]
    store.upsert_papers([_paper("e", "Circuits", "More circuits.")])  # 3 of 5 now
    assert store.common_words(["circuits", "models"]) == {"circuits", "models"}
    assert counted[4:] == ["circuits", "models"]
    assert store.delete_paper("e")
    assert store.common_words(["circuits"]) == set()
    assert counted[6:] == ["circuits"]


def test_answers_expire_and_the_cache_is_bounded(
        store: GraphStore, counted: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A word is counted again after COMMON_WORDS_TTL (an edit keeps the number of papers), and a store
    keeps at most COMMON_WORDS_CACHE_SIZE words, the oldest answered going first."""
    monkeypatch.setattr(store_module, "COMMON_WORDS_CACHE_SIZE", 2)
    assert store.common_words(["models", "circuits", "honesty"]) == {"models"}
    assert store.common_words(["circuits", "honesty"]) == set()
    assert counted == ["models", "circuits", "honesty"]
    assert store.common_words(["models"]) == {"models"}  # the oldest was dropped
    assert counted[3:] == ["models"]
    monkeypatch.setattr(store_module, "COMMON_WORDS_TTL", 0.0)
    assert store.common_words(["models"]) == {"models"}
    assert counted[4:] == ["models"]


def test_a_repeated_question_reads_no_match_again(tmp_path: Path) -> None:
    """The embedded store's statements, traced: the second time the same words are asked, only the
    papers are counted (one count(*)), no full-text match is walked."""
    from kg.embedded import EmbeddedStore

    store = EmbeddedStore(tmp_path / "paperkg.sqlite3")
    store.init_schema()
    store.upsert_papers([_paper("a", "Probing models", "Models lie."), _paper("b", "Truth", "A model.")])
    assert store.common_words(["models", "truth"]) == {"models"}
    statements: list[str] = []
    store._conn().set_trace_callback(statements.append)
    assert store.common_words(["truth", "models"]) == {"models"}
    store._conn().set_trace_callback(None)
    assert [s for s in statements if "MATCH" in s] == []
    assert [s for s in statements if "count(*)" in s] == ["SELECT count(*) FROM papers"]
    store.close()
