"""Keyword search finds a paper by its venue and by the organisation its URL's host names (QA: following
labs and venues: "Anthropic", "Redwood Research"), weighed low, in a real SQLite file; a store an older
paperkg wrote (no venue in its full-text index) is brought up to date when opened for writing. Also the
seed corpus, where the QA tester found every such query empty."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from kg.embedded import EmbeddedStore
from kg.entities import Paper, PaperBundle, SearchFilters
from kg.search import search
from kg.validation import search_fold_rule

_PAPERS = (
    # (id, title, venue, url)
    ("tc", "Towards Monosemanticity", None, "https://transformer-circuits.pub/2023/monosemantic-features/"),
    ("cs", "Causal Scrubbing: a method for rigorously testing interpretability hypotheses",
     "LessWrong / AI Alignment Forum (Redwood Research)", "https://www.lesswrong.com/posts/x/causal-scrubbing"),
    ("oa", "Language models can explain neurons in language models", "OpenAI (web publication)",
     "https://openaipublic.blob.core.windows.net/neuron-explainer/paper/index.html"),
    ("series", "Toy Models", "Transformer Circuits Thread (Anthropic)", "https://transformer-circuits.pub/toy"),
    ("titled", "Circuits in transformers", "ICLR 2024", "https://openreview.net/forum?id=1"),
)


def _bundle(pid: str, title: str, venue: str | None, url: str | None) -> PaperBundle:
    return PaperBundle(paper=Paper(id=pid, title=title, abstract="We study a model.", authors=["A. Author"],
                                   year=2023, venue=venue, url=url, sources=["list"]))


@pytest.fixture
def path(tmp_path: Path) -> Path:
    """A real store file holding _PAPERS."""
    file = tmp_path / "paperkg.sqlite3"
    store = EmbeddedStore(file)
    store.init_schema()
    store.upsert_papers([_bundle(*p) for p in _PAPERS])
    store.close()
    return file


def _ids(store: EmbeddedStore, query: str) -> list[str]:
    return [h.id for h in store.keyword_search(query, 10)]


def test_keyword_search_finds_a_paper_by_its_venue_or_its_hosts_organisation(path: Path) -> None:
    """"Anthropic" finds the transformer-circuits.pub page that records no venue (kg.publishers), and the
    venues' names find theirs; a word that papers' text has finds only those."""
    store = EmbeddedStore(path)
    try:
        assert set(_ids(store, "Anthropic")) == {"tc", "series"}
        assert _ids(store, "Redwood Research") == ["cs"]
        assert _ids(store, "LessWrong") == ["cs"]
        assert _ids(store, "OpenAI") == ["oa"]
        assert _ids(store, "ICLR") == ["titled"]
        # A word papers' text has is not looked for in venues (validation.venue_word_limit): "circuits"
        # does not make every paper of the "Transformer Circuits Thread" a hit.
        assert _ids(store, "circuits") == ["titled"]
        assert _ids(store, "Transformer Circuits Thread") == ["titled", "series"]  # "Thread": no text has it
        # Nor are a long query's words (validation.venue_query).
        assert _ids(store, "Anthropic sparse dictionary learning features") == []
        # Filtered search reads the same index.
        page = search(store, "Redwood", mode="keyword", limit=10, filters=SearchFilters(year_from=2020))
        assert [h.id for h in page.results] == ["cs"]
    finally:
        store.close()


def test_a_changed_venue_is_searchable_after_the_upsert(path: Path) -> None:
    """The venue a later record gives is what the index holds (the row is written again)."""
    store = EmbeddedStore(path)
    try:
        store.upsert_papers([_bundle("titled", "Circuits in transformers", "NeurIPS 2024", None)])
        assert _ids(store, "NeurIPS") == ["titled"]
        assert _ids(store, "ICLR") == []
    finally:
        store.close()


def _index_as_an_older_paperkg(path: Path) -> None:
    """The file as a paperkg from before the venue was indexed left it: no venues' index, its fold."""
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE venues_fts")
        conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('search_fold_rule', 'an older rule')")
    conn.close()


def test_an_older_stores_index_gets_the_venue_when_opened_for_writing(path: Path) -> None:
    """A store without the venues' index still answers keyword search read-only (no venue matches; the
    text ranks as before), and opening it for writing makes the index, with every paper's venue, once."""
    _index_as_an_older_paperkg(path)
    reader = EmbeddedStore(path, read_only=True)
    try:
        assert _ids(reader, "Causal Scrubbing") == ["cs"]
        assert _ids(reader, "Redwood") == []
    finally:
        reader.close()
    store = EmbeddedStore(path)
    try:
        assert _ids(store, "Redwood Research") == ["cs"]
        assert set(_ids(store, "Anthropic")) == {"tc", "series"}
        assert _ids(store, "Causal Scrubbing") == ["cs"]
    finally:
        store.close()
    with sqlite3.connect(path) as conn:
        for table in ("papers_fts", "venues_fts"):  # raises if out of sync
            conn.execute(f"INSERT INTO {table}({table}) VALUES ('integrity-check')")
        assert conn.execute("SELECT count(*) FROM venues_fts").fetchone()[0] == len(_PAPERS)
        assert conn.execute("SELECT count(*) FROM papers_fts").fetchone()[0] == len(_PAPERS)
        assert conn.execute("SELECT value FROM meta WHERE key = 'search_fold_rule'").fetchone()[0] == (
            search_fold_rule())
    conn.close()
    EmbeddedStore(path).close()  # current now: opened again, nothing to do
    store = EmbeddedStore(path, read_only=True)
    try:
        assert _ids(store, "OpenAI") == ["oa"]
    finally:
        store.close()


def test_an_index_without_the_venue_text_is_rewritten_by_the_rule_fingerprint(path: Path) -> None:
    """Venues' rows missing under an older rule (its fingerprint differs) are written on open."""
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM venues_fts")
        conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('search_fold_rule', 'an older rule')")
    conn.close()
    store = EmbeddedStore(path)
    try:
        assert _ids(store, "LessWrong") == ["cs"]
    finally:
        store.close()


def test_a_deleted_paper_leaves_the_venues_index(path: Path) -> None:
    store = EmbeddedStore(path)
    try:
        store.delete_paper("cs")
        assert _ids(store, "Redwood") == []
    finally:
        store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM venues_fts").fetchone()[0] == len(_PAPERS) - 1
    conn.close()


@pytest.mark.parametrize(("query", "expected"), [
    ("Anthropic", {"towards-monosemanticity", "solu", "2209.10652", "2209.11895", "math-framework"}),
    ("OpenAI", {"lm-explain-neurons"}),
    ("LessWrong", {"logit-lens", "causal-scrubbing", "docstring"}),
])
def test_the_seed_corpus_finds_a_lab_or_venue_by_name(seed_store: EmbeddedStore, query: str,
                                                      expected: set[str]) -> None:
    """The QA tester's queries, which found nothing (total 0) on the seed corpus."""
    page = search(seed_store, query, mode="keyword", limit=20)
    assert {h.id for h in page.results} == expected
    assert page.total == len(expected)


def test_the_seed_corpus_finds_causal_scrubbing_by_its_lab(seed_store: EmbeddedStore) -> None:
    """"Redwood Research": "research" is in many abstracts, the venue names the lab: it ranks first."""
    page = search(seed_store, "Redwood Research", mode="keyword", limit=10)
    assert page.results[0].id == "causal-scrubbing"
