"""The Neo4j backend indexes the venue as the embedded store does (kg.cypher, kg.neo4j_store): a
search_venue property in the full-text index, weighed as the abstract, its text the venue and the
organisation the URL's host names, looked in with a short query's rarer words; an older paperkg's index
(three properties) is made again once by init_schema, and its papers' search text re-written.
Statements are recorded, not sent (no server here; the contract tests run against one when NEO4J_URI
is set)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kg import cypher
from kg.entities import Paper, PaperBundle
from kg.neo4j_store import INDEX_NAMES, Neo4jStore, _search_text
from kg.store import StoreError
from tests.kg.test_neo4j_store import _index_row, _RecordingTx, _Result

_OLDER = ["search_title", "search_abstract", "search_authors"]  # an older paperkg's index


def test_the_search_text_holds_the_venue_and_the_hosts_organisation() -> None:
    """Cut into the embedded store's words; the organisation added only when the venue does not say it."""
    assert _search_text("T", None, None, None, "https://transformer-circuits.pub/2023/x")["search_venue"] == (
        "Anthropic")
    assert _search_text("T", None, None, "Transformer Circuits Thread (Anthropic)",
                        "https://transformer-circuits.pub/x")["search_venue"] == (
        "Transformer Circuits Thread Anthropic")
    assert _search_text("T", None, None, "LessWrong / AI Alignment Forum (Redwood Research)",
                        "https://www.lesswrong.com/posts/x")["search_venue"] == (
        "LessWrong AI Alignment Forum Redwood Research")
    assert _search_text("T", None, None)["search_venue"] == ""


def test_the_full_text_query_looks_in_the_venue_with_the_abstracts_weight() -> None:
    """The venue is the fourth property, boosted 1 (the embedded store's bm25() venue weight)."""
    assert cypher.FULLTEXT_PROPERTIES[-1] == "search_venue"
    assert "p.search_venue]" in cypher.CREATE_FULLTEXT_INDEX
    assert cypher.fulltext_query("Anthropic", max_terms=1).endswith(  # type: ignore[union-attr]
        " OR search_venue:(Anthropic OR Anthropics)")


def test_an_upsert_writes_the_venues_search_text(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, dict[str, Any]]] = []
    store = Neo4jStore("bolt://127.0.0.1:1", "neo4j", "pw", "neo4j")
    monkeypatch.setattr(store, "_execute", lambda write, work: work(_RecordingTx(calls, {})))
    monkeypatch.setattr(store, "_get_driver", lambda verify=False: None)
    paper = Paper(id="cs", title="Causal Scrubbing", venue="LessWrong (Redwood)", url="https://lesswrong.com/x")
    store.upsert_papers([PaperBundle(paper=paper)])
    props = next(p for q, p in calls if q == cypher.MERGE_PAPERS)["rows"][0]["props"]
    assert props["search_venue"] == "LessWrong Redwood"


def _older_index_store(
    monkeypatch: pytest.MonkeyPatch, outgrown_shows: int,
) -> tuple[Neo4jStore, list[tuple[str, dict[str, Any]]]]:
    """A store whose server reports the full-text index over an older paperkg's properties the first
    `outgrown_shows` times SHOW INDEXES is read, then as init_schema makes it; the statements it runs."""
    store = Neo4jStore("bolt://127.0.0.1:1", "neo4j", "pw", "neo4j", index_timeout=30.0)
    calls: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(store, "_execute", lambda write, work: work(_RecordingTx(calls, {})))
    shows: list[int] = []

    def read(statement: str, **params: Any) -> list[dict[str, Any]]:
        if statement == cypher.SERVER_VERSION:
            return [{"name": "Neo4j Kernel", "versions": ["5.26.0"], "edition": "community"}]
        if statement != cypher.SHOW_INDEX_STATES:
            return _RecordingTx(calls, {}).run(statement, params).data()
        shows.append(1)
        older = len(shows) <= outgrown_shows
        return [_index_row(n, properties=_OLDER) if older and n == cypher.IndexName.FULLTEXT
                else _index_row(n) for n in INDEX_NAMES]

    monkeypatch.setattr(store, "_read", read)
    return store, calls


def test_init_schema_makes_an_older_full_text_index_again_with_the_venue(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: the index definition check refused the three-property index (drop it by hand). Now it is
    dropped and created again, once, then every paper's search text is re-written (the rule changed)."""
    store, calls = _older_index_store(monkeypatch, outgrown_shows=1)
    store.init_schema()
    sent = [q for q, _ in calls]
    assert sent.count(cypher.DROP_FULLTEXT_INDEX) == 1
    drop = sent.index(cypher.DROP_FULLTEXT_INDEX)
    assert cypher.CREATE_FULLTEXT_INDEX in sent[drop:]
    assert cypher.PAPER_SEARCH_TEXT_AFTER in sent[drop:]


def test_an_index_still_outgrown_after_it_was_made_again_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """No endless loop: made again once, an index still over the older properties is named as before."""
    store, calls = _older_index_store(monkeypatch, outgrown_shows=10**6)
    with pytest.raises(StoreError, match="paper_text: properties"):
        store.init_schema()
    assert [q for q, _ in calls].count(cypher.DROP_FULLTEXT_INDEX) == 1


def keyword_store(monkeypatch: pytest.MonkeyPatch,
                  matches: Callable[[str, str, int], int]) -> tuple[Neo4jStore, list[str]]:
    """A store of 100 papers (venue_word_limit: 6) where matches(full-text query, its first word in lower
    case, limit) says how many papers a word-count query matches; the full-text queries keyword search
    sends."""
    store = Neo4jStore("bolt://127.0.0.1:1", "neo4j", "pw", "neo4j")
    sent: list[str] = []

    class Tx:
        def run(self, query: str, parameters: dict[str, Any] | None = None) -> _Result:
            params = parameters or {}
            if query == cypher.PAPER_COUNT:
                return _Result([{"n": 100}])
            if query == cypher.KEYWORD_TEXT_MATCHES:
                text = params["query"]
                word = text.split("(", 1)[1].split(")", 1)[0].lower()
                return _Result([{"n": matches(text, word, params["limit"])}])
            assert query == cypher.KEYWORD_SEARCH
            sent.append(params["query"])
            return _Result([])

    monkeypatch.setattr(store, "_execute", lambda write, work: work(Tx()))
    return store, sent


def test_keyword_search_looks_in_venues_for_a_short_querys_rarer_words(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """As the embedded store: a word many papers' text has ("circuits": 6 of 100) is not looked for in
    venues, a rarer one ("Anthropic") is; a long query looks in no venue."""
    in_text = {"circuits": 6, "circuit": 6, "anthropic": 5}
    store, sent = keyword_store(monkeypatch, lambda _text, word, limit: min(in_text.get(word, 0), limit))
    store.keyword_search("Anthropic circuits", 5)
    assert sent[-1].endswith(" OR search_venue:(Anthropic OR Anthropics)")
    assert "search_title:(Anthropic OR Anthropics OR circuits OR circuit)^5" in sent[-1]
    store.keyword_search("circuits", 5)
    assert "search_venue" not in sent[-1]
    store.keyword_search("Anthropic sparse dictionary learning features", 5)
    assert "search_venue" not in sent[-1]
    assert cypher.fulltext_query("Anthropic", venue_forms=[]) == (
        "search_title:(Anthropic OR Anthropics)^5 OR search_abstract:(Anthropic OR Anthropics) "
        "OR search_authors:(Anthropic OR Anthropics)^2")
