"""Withdrawn papers in search (kg/search.py): marked, not hidden, and ranked a little lower, so a
withdrawn paper no longer outranks its live re-submission. The seed corpus with the real model, in a real
SQLite file, plus the two versions of one paper loaded through the real pipeline."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest

from ingest.pipeline import run_ingest
from ingest.records import Record
from kg.embedded import EmbeddedStore
from kg.search import WITHDRAWN_PENALTY, _withdrawn_moved_down, search
from kg.withdrawn import is_withdrawn
from tests.kg.counting_store import CountingStore, counting_store

TITLE = "Sparse Feature Circuits for Factual Recall in GPT-2"
ABSTRACT = ("We study how GPT-2 small recalls facts about cities. Using sparse autoencoders trained on the "
            "residual stream, we decompose factual recall into monosemantic features. We find that late "
            "attention heads copy the country token from a single feature. Our results show that the circuit "
            "is sparse.")
NOTICE = "This paper has been withdrawn by the authors due to an error in the main result."
WITHDRAWN, LIVE = "2611.90001", "2611.90002"


def _record(arxiv_id: str, abstract: str, published: str) -> Record:
    return Record(source="arxiv", source_id=arxiv_id, title=TITLE, abstract=abstract, arxiv_id=arxiv_id,
                  authors=["Bob Tester", "Alice Qa"], published=published, year=2026,
                  categories=["cs.LG", "cs.CL"], primary_category="cs.LG", version=1)


@pytest.fixture(scope="module")
def store(seed_store: EmbeddedStore, model_embedder: Any, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[EmbeddedStore]:
    """A copy of the seed store with a withdrawn paper (the withdrawal notice, then its abstract) and
    its live re-submission under the same title."""
    path = tmp_path_factory.mktemp("withdrawn") / "paperkg.sqlite3"
    source, target = sqlite3.connect(seed_store.path), sqlite3.connect(path)
    source.backup(target)
    source.close()
    target.close()
    copy = EmbeddedStore(path)
    from ingest.extract import Extractor
    from kg.taxonomy import load_taxonomy

    run_ingest(copy, [_record(WITHDRAWN, f"{NOTICE} {ABSTRACT}", "2026-11-20"),
                      _record(LIVE, ABSTRACT, "2026-11-27")],
               source="arxiv", embedder=model_embedder, extractor=Extractor(load_taxonomy()), progress=False)
    yield copy
    copy.close()


def _ids(store: EmbeddedStore, embedder: Any, query: str, mode: str, **kw: Any) -> list[str]:
    page = search(store, query, mode=mode, embedder=embedder, **kw)
    return [h.id for h in page.results]


@pytest.mark.parametrize("mode", ["hybrid", "keyword", "semantic"])
def test_a_withdrawn_paper_ranks_after_its_live_resubmission(store: EmbeddedStore, model_embedder: Any,
                                                             mode: str) -> None:
    detail = store.get_paper(WITHDRAWN)
    assert detail is not None and is_withdrawn(detail.paper.abstract)
    page = search(store, TITLE, mode=mode, embedder=model_embedder, limit=10)
    hits = {h.id: h for h in page.results}
    ids = [h.id for h in page.results]
    # The retrievers score the withdrawn paper at least as high (its text is the live one's and more)...
    assert hits[WITHDRAWN].score >= hits[LIVE].score * (1 - WITHDRAWN_PENALTY)
    # ... but it comes after it, still on the page (marked, not hidden), with its own score shown.
    assert ids.index(LIVE) < ids.index(WITHDRAWN)
    assert ids.index(WITHDRAWN) <= ids.index(LIVE) + 3


def test_pages_agree_with_a_withdrawn_paper_moved_down(store: EmbeddedStore, model_embedder: Any) -> None:
    whole = _ids(store, model_embedder, TITLE, "hybrid", limit=10)
    pages = [i for start in range(0, 10, 3)
             for i in _ids(store, model_embedder, TITLE, "hybrid", limit=3, offset=start)]
    assert pages[:10] == whole


def _ranking(*scores: tuple[str, float]) -> list[tuple[str, float, dict[str, int]]]:
    return [(pid, score, {}) for pid, score in scores]


def test_only_a_close_score_is_passed() -> None:
    fused = _ranking(("w", 1.0), ("a", 0.97), ("b", 0.5), ("c", 0.4))
    assert [i for i, _, _ in _withdrawn_moved_down(fused, {"w"}, None)] == ["a", "w", "b", "c"]
    # The mode's own scores (keyword, semantic) decide when given.
    own = {"w": 0.9, "a": 0.8, "b": 0.7, "c": 0.6}
    assert [i for i, _, _ in _withdrawn_moved_down(fused, {"w"}, own)] == ["w", "a", "b", "c"]
    # Several withdrawn papers keep their order; the others never move.
    assert [i for i, _, _ in _withdrawn_moved_down(fused, {"w", "a"}, None)] == ["w", "a", "b", "c"]
    near = _ranking(("w", 1.0), ("a", 0.99), ("b", 0.98), ("c", 0.4))
    assert [i for i, _, _ in _withdrawn_moved_down(near, {"w", "b"}, None)] == ["a", "w", "b", "c"]
    assert _withdrawn_moved_down(fused, set(), None) is fused


@pytest.fixture
def counting(store: EmbeddedStore) -> Iterator[CountingStore]:
    yield from counting_store(store.path)


@pytest.mark.parametrize(("query", "offset"), [
    (TITLE, 0), ("sparse autoencoders", 20), ("activation patching", 0), ("papers that use probing", 0)])
def test_search_reads_the_page_and_only_the_candidates_mentioning_a_withdrawal(
    counting: CountingStore, model_embedder: Any, query: str, offset: int
) -> None:
    # Every paper's row was read to find the withdrawn ones (70 for a first page of 20, every fused
    # candidate of every tier for a technique-only query); the keyword index tells which can be one.
    mentioning = {h.id for h in counting.keyword_search("withdrawn withdraw withdrew", 1000)}
    assert WITHDRAWN in mentioning and LIVE not in mentioning
    page = search(counting, query, mode="hybrid", embedder=model_embedder, limit=20, offset=offset)
    shown = {h.id for h in page.results}
    assert shown
    assert set(counting.read) <= shown | mentioning
    assert len(counting.read) == len(set(counting.read))  # each row read once, reused for the page


def test_a_cut_withdrawal_look_up_reads_every_candidate_within_reach(
    store: EmbeddedStore, model_embedder: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import kg.search

    before = _ids(store, model_embedder, TITLE, "hybrid", limit=10)
    # A store with more papers mentioning a withdrawal than the look-up returns: none may be missed.
    monkeypatch.setattr(kg.search, "WITHDRAWAL_LOOKUP", 1)
    assert _ids(store, model_embedder, TITLE, "hybrid", limit=10) == before
    assert before.index(LIVE) < before.index(WITHDRAWN)
