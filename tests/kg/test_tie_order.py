"""Exact ties go by paper id in every listing and ranking, so a store built from the same records in
another order lists them alike: insertion order (the SQLite pk, the vector matrix's rows) never shows."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import numpy as np
import pytest

from api.app import create_app
from kg.embedded import EmbeddedStore
from kg.entities import Paper, PaperBundle, SearchFilters, TechniqueUse
from kg.schema import EMBEDDING_DIM
from kg.search import search
from tests.api.conftest import app_config, serving
from tests.embedders import HashEmbedder
from tests.seed_store import taxonomy_store

# Four papers alike in everything a listing or a ranking reads (date, text, author, vector), ids not
# in the order the records come in.
TIED = ["beta", "delta", "alpha", "gamma"]
# Enough other papers that a word only the tied four have takes keyword search's JOIN plan (fewer
# matches than 1/20 of the papers), and one word all of these have takes the SET plan; they tie too.
FILLERS = [f"filler-{i:03d}" for i in range(100)]
ATOM = "{http://www.w3.org/2005/Atom}"
# Equal scores rank by id, ascending (both backends).
TIED_IDS = sorted(TIED)


def _unit(axis: int) -> np.ndarray:
    """A basis vector: its dot products are exact, so equal vectors score exactly alike."""
    vec = np.zeros(EMBEDDING_DIM, dtype=np.float32)
    vec[axis] = 1.0
    return vec


def _records() -> list[PaperBundle]:
    """The tied papers and the fillers, in the records' own order."""
    tied = [PaperBundle(
        paper=Paper(id=pid, title="Probing sparse features", abstract="We probe sparse features.",
                    authors=["Ada Lovelace"], year=2023, published="2023-05-01", sources=["records"],
                    venue="BlackboxNLP 2023", embedding=_unit(0), embedding_model="test-vectors"),
        techniques=[TechniqueUse("probing", "extracted", evidence="we probe")],
    ) for pid in TIED]
    fillers = [PaperBundle(
        paper=Paper(id=pid, title="Circuits in small transformers", abstract="Circuits, studied again.",
                    authors=["Grace Hopper"], year=2020, published="2020-02-02", sources=["records"],
                    embedding=_unit(1), embedding_model="test-vectors"),
        techniques=[TechniqueUse("sae", "extracted", evidence="sae")],
    ) for pid in FILLERS]
    return [*tied[:2], *fillers, *tied[2:]]


def _build(path: Path, records: list[PaperBundle], *, one_write: bool) -> EmbeddedStore:
    """A real store file holding the records written in their order (one write: one first_seen)."""
    store = taxonomy_store(path)
    if one_write:
        store.upsert_papers(records)
    else:
        for record in records:
            store.upsert_papers([record])
    return store


@pytest.fixture(params=[True, False], ids=["one-write", "one-write-each"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[EmbeddedStore, EmbeddedStore]]:
    """Two stores from the same records, in file order and reversed."""
    records = _records()
    forward = _build(tmp_path / "forward.sqlite3", records, one_write=request.param)
    backward = _build(tmp_path / "backward.sqlite3", records[::-1], one_write=request.param)
    yield forward, backward
    forward.close()
    backward.close()


Stores = tuple[EmbeddedStore, EmbeddedStore]
Listing = Callable[[EmbeddedStore], list[str]]


def _same(stores: Stores, listing: Callable[..., list[str]], *args: Any) -> list[str]:
    """The listing of both stores (`listing(store, *args)`), asserted equal."""
    first, second = (listing(s, *args) for s in stores)
    assert first == second
    return first


def _newest_first(ids: list[str]) -> list[str]:
    """The tied papers newest first: equal dates by id, descending (filter_page's order)."""
    return sorted(ids, reverse=True)


def test_technique_page_ties_go_by_id(stores: Stores) -> None:
    """The technique page, by date and by centrality, every page of it too: equal dates by id."""
    for sort in ("date", "centrality"):
        listed = _same(stores, lambda s, o: [p.id for p in s.papers_by_technique("probing", sort=o)[0]], sort)
        assert listed == _newest_first(TIED)
        for store in stores:  # paging over the tie shows each paper once
            pages = [p.id for offset in range(4)
                     for p in store.papers_by_technique("probing", sort=sort, limit=1, offset=offset)[0]]
            assert pages == listed
    # A common node (over 1/20 of the papers) walks the sort index: the same rule there.
    fillers = _same(stores, lambda s: [p.id for p in s.papers_by_technique("sae", limit=100)[0]])
    assert fillers == _newest_first(FILLERS)
    paged = _same(stores, lambda s: [p.id for offset in range(0, 100, 7)
                                     for p in s.papers_by_technique("sae", limit=7, offset=offset)[0]])
    assert paged == fillers


def test_filter_only_search_ties_go_by_id_with_one_filter_or_two(
    stores: Stores,
) -> None:
    """An empty query lists the filtered papers: one technique filter (the technique page's query) and
    more filters (filter_page) order ties alike."""
    def listed(filters: SearchFilters, limit: int = 10, offset: int = 0) -> Listing:
        return lambda s: [h.paper.id for h in search(s, "", filters=filters, limit=limit,
                                                     offset=offset).results]

    technique = SearchFilters(technique_ids=["probing"])  # the technique page's query
    two = SearchFilters(technique_ids=["probing"], year_from=1900)  # filter_page
    assert _same(stores, listed(technique)) == _same(stores, listed(two)) == _newest_first(TIED)
    for filters in (technique, two):  # paging over the tie shows each paper once
        paged = _same(stores, lambda s, f: [i for o in range(4) for i in listed(f, 1, o)(s)], filters)
        assert paged == _newest_first(TIED)


def _keyword(store: EmbeddedStore, query: str, k: int, filters: SearchFilters | None = None) -> list[str]:
    """The ids keyword search ranks."""
    return [h.id for h in store.keyword_search(query, k, filters)]


def _semantic(store: EmbeddedStore, axis: int, k: int, filters: SearchFilters | None = None) -> list[str]:
    """The ids semantic search ranks for a basis vector."""
    return [h.id for h in store.vector_search(_unit(axis), k, filters)]


def test_equal_keyword_scores_go_by_id(stores: Stores) -> None:
    """Equal BM25 scores go by id (ascending, as Neo4j's), at every k, with and without filters, in
    each of the store's plans: a cut through the tie keeps the first ids, not the first inserted."""
    for k in range(1, 5):
        assert _same(stores, _keyword, "probing", k) == TIED_IDS[:k]
        # Four matches among 104 papers: the JOIN plan.
        assert _same(stores, _keyword, "probing", k, SearchFilters(year_from=1900)) == TIED_IDS[:k]
        # A word only their venue has: the plan summing text and venue scores.
        assert _same(stores, _keyword, "blackboxnlp", k) == TIED_IDS[:k]
        assert _same(stores, _keyword, "blackboxnlp", k, SearchFilters(year_from=1900)) == TIED_IDS[:k]
    for k in (1, 5, 30, 99, 100, 101):
        # A word in every filler: the unfiltered top-k inside FTS5, and the SET plan under filters.
        assert _same(stores, _keyword, "circuits", k) == FILLERS[:k]
        assert _same(stores, _keyword, "circuits", k, SearchFilters(technique_ids=["sae"])) == FILLERS[:k]
    hits = stores[0].keyword_search("circuits", 100)
    assert len({h.score for h in hits}) == 1


def test_keyword_search_mode_ties_go_by_id(stores: Stores) -> None:
    """Keyword mode's pages, paged through the tie, show the same papers in the same order."""
    def page(offset: int) -> Listing:
        return lambda s: [h.paper.id for h in search(s, "circuits", mode="keyword", limit=10,
                                                     offset=offset).results]

    assert [i for o in range(0, 40, 10) for i in _same(stores, page(o))] == FILLERS[:40]


def test_new_papers_ties_go_by_id(stores: Stores) -> None:
    """The new papers (/api/new, the feeds) and an author's feed: equal first_seen by id, newest first;
    one write stores its papers with one first_seen, so both stores list them alike."""
    since = "2000-01-01"
    for store in stores:
        listed = [p.id for p in store.new_papers(since, 200)]
        stamp = {p.id: p.first_seen or "" for p in store.get_papers(listed)}
        assert listed == sorted(stamp, key=lambda i: (stamp[i], i), reverse=True)
        paged = [p.id for o in range(0, 104, 5) for p in store.new_papers_page(since, limit=5, offset=o)[0]]
        assert paged == listed
        using = [p.id for p in store.new_papers(since, 10, technique_ids=["probing"])]
        assert using == [i for i in listed if i in TIED]
        page = store.author_papers("ada lovelace", order="first_seen")
        assert page is not None and [p.id for p in page.papers] == using
    if len({p.first_seen for p in stores[0].get_papers(TIED + FILLERS)}) == 1:
        everything = _newest_first(TIED + FILLERS)
        assert _same(stores, lambda s: [p.id for p in s.new_papers(since, 200)]) == everything

    # The author page's date order: equal dates by id in either store.
    def by_date(store: EmbeddedStore) -> list[str]:
        page = store.author_papers("ada lovelace")
        assert page is not None
        return [p.id for p in page.papers]

    assert _same(stores, by_date) == _newest_first(TIED)


def test_equal_cosines_go_by_id(stores: Stores) -> None:
    """Semantic search: equal cosines by id (ascending, as Neo4j's), a cut through the tie included."""
    for k in range(1, 5):
        assert _same(stores, _semantic, 0, k) == TIED_IDS[:k]
        assert _same(stores, _semantic, 0, k, SearchFilters(year_from=1900)) == TIED_IDS[:k]
    assert _same(stores, _semantic, 1, 7) == FILLERS[:7]


def _get(port: int, path: str) -> bytes:
    """The body of the server's answer."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as response:
        body: bytes = response.read()
    return body


def test_api_lists_ties_alike_whatever_the_order_records_came_in(
    stores: Stores, tmp_path: Path,
) -> None:
    """Over HTTP: the technique page, filter-only search (one filter, two), /api/new and the Atom feed."""
    answers = []
    for i, store in enumerate(stores):
        app = create_app(app_config(tmp_path / f"api-{i}", STORE=store, EMBEDDER=HashEmbedder()))
        with serving(app) as port:
            def ids(path: str, *keys: str, port: int = port) -> list[str]:
                answer = json.loads(_get(port, path))
                for key in keys:
                    answer = answer[key]
                return [r["id"] for r in answer]

            feed = ElementTree.fromstring(_get(port, "/feeds/new.atom?since=2000-01-01"))
            answers.append((
                ids("/api/techniques/probing", "papers", "results"),
                ids("/api/search?q=&technique=probing", "results"),
                ids("/api/search?q=&technique=probing&year_from=1900", "results"),
                ids("/api/new?since=2000-01-01&limit=100", "results"),
                [e.findtext(f"{ATOM}id") for e in feed.iter(f"{ATOM}entry")],
            ))
    technique, one, two, new, feed_ids = answers[0]
    assert technique == one == two == _newest_first(TIED)
    assert [a[:3] for a in answers[1:]] == [answers[0][:3]]
    assert len(new) == 100 and len(feed_ids) > 4 and all(feed_ids)
    if len({p.first_seen for p in stores[0].get_papers(TIED + FILLERS)}) == 1:  # one write: one first_seen
        assert new == _newest_first(TIED + FILLERS)[:100]
        assert answers[1][3:] == answers[0][3:]
