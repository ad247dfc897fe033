"""A quiet weekly window (no new submission) through the local arXiv server (a real HTTP server on
127.0.0.1): a new version of an older stored paper is still loaded; nothing at all is a failed answer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ingest.arxiv_server import LocalArxivServer
from ingest.arxiv_source import ArxivSource
from ingest.extract import Extractor
from ingest.pipeline import run_ingest
from ingest.records import Record
from ingest.weekly import RUN_SOURCE, WeeklyError, iso, run_weekly
from kg.store import GraphStore
from tests.embedders import HashEmbedder

NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
DAY = timedelta(days=1)
OLD_V1: dict[str, Any] = {
    "arxiv_id": "2608.70002", "version": 1, "title": "Path Patching of Factual Recall in Language Models",
    "abstract": "We use path patching on GPT-2 to trace factual recall.", "authors": ["Test Author"],
    "published": "2026-08-25T00:00:00Z", "updated": "2026-08-25T00:00:00Z",
    "categories": ["cs.CL", "cs.LG"], "primary_category": "cs.CL",
}
OLD_V2: dict[str, Any] = {**OLD_V1, "version": 2, "updated": "2026-11-21T00:00:00Z",
          "abstract": "We use path patching and causal scrubbing on GPT-2 and Pythia to trace factual recall "
                      "through a few MLP layers."}


def _store_v1(store: GraphStore, extractor: Extractor) -> None:
    record = Record(source="records", source_id=OLD_V1["arxiv_id"], title=OLD_V1["title"],
                    abstract=OLD_V1["abstract"], arxiv_id=OLD_V1["arxiv_id"], published="2026-08-25",
                    authors=OLD_V1["authors"], categories=OLD_V1["categories"],
                    primary_category=OLD_V1["primary_category"], version=1)
    run_ingest(store, [record], source="records", embedder=HashEmbedder(), extractor=extractor,
               progress=False)


def _weekly(store: GraphStore, served: list[dict[str, Any]], extractor: Extractor) -> Any:
    with LocalArxivServer(served) as server:
        source = ArxivSource(url=server.url, delay=0.0, timeout=5.0, retries=3, backoff=0.01)
        return run_weekly(store, source=source, embedder=HashEmbedder(), extractor=extractor, now=NOW)


def test_a_quiet_window_with_a_new_version_of_an_older_paper_loads_it(
    store: GraphStore, extractor: Extractor
) -> None:
    _store_v1(store, extractor)
    summary = _weekly(store, [OLD_V2], extractor)
    assert summary.status == "succeeded"
    assert (summary.candidates, summary.known, summary.updated) == (0, 1, 1)
    detail = store.get_paper(OLD_V1["arxiv_id"])
    assert detail is not None and detail.paper.abstract == OLD_V2["abstract"]
    assert detail.paper.arxiv_version == 2
    assert store.last_watermark(RUN_SOURCE) == iso(NOW)
    assert "0 candidates from" in summary.text() and "+ 1 new version of older papers" in summary.text()


def test_a_quiet_window_whose_walk_finds_nothing_of_ours_still_fails(
    store: GraphStore, extractor: Extractor
) -> None:
    # Only a new version of a paper neither stored nor rejected before: nothing to load, as an empty answer.
    stranger = {**OLD_V2, "arxiv_id": "2608.70003", "title": "Sparse Autoencoders on an Old Topic"}
    _store_v1(store, extractor)
    with pytest.raises(WeeklyError, match="no candidates at all"):
        _weekly(store, [stranger], extractor)
    assert store.runs(RUN_SOURCE)[0].status == "failed"
    assert store.last_watermark(RUN_SOURCE) is None
    detail = store.get_paper(OLD_V1["arxiv_id"])
    assert detail is not None and detail.paper.arxiv_version == 1


NEW_IN_WINDOW: dict[str, Any] = {
    "arxiv_id": "2611.70009", "version": 1, "title": "Sparse Autoencoders Find Induction Features in GPT-2",
    "abstract": "We train sparse autoencoders on GPT-2 small and find induction head features.",
    "authors": ["New Author"], "published": "2026-11-19T00:00:00Z", "updated": "2026-11-19T00:00:00Z",
    "categories": ["cs.LG"], "primary_category": "cs.LG",
}


def test_a_flaky_empty_submission_answer_fails_even_when_a_stored_paper_has_a_new_version(
    store: GraphStore, extractor: Extractor
) -> None:
    # The window has a new paper, but every submission query is answered "totalResults 0" (arXiv's known
    # flaky answer) while the last-updated walk answers: it sees the new paper's v1 and a stored paper's v2.
    _store_v1(store, extractor)
    with LocalArxivServer([OLD_V2, NEW_IN_WINDOW]) as server:
        server.fail_next("zero", 1000, matching="submittedDate")
        source = ArxivSource(url=server.url, delay=0.0, timeout=5.0, retries=3, backoff=0.01)
        with pytest.raises(WeeklyError, match="no candidates at all") as failed:
            run_weekly(store, source=source, embedder=HashEmbedder(), extractor=extractor, now=NOW)
        server.clear_failures()
        assert "2611.70009" in str(failed.value)
        run = store.runs(RUN_SOURCE)[0]
        assert run.status == "failed"
        assert store.last_watermark(RUN_SOURCE) is None  # the next run asks again for the whole window
        # The stored paper's new version is loaded all the same (an update, no gate needed).
        detail = store.get_paper(OLD_V1["arxiv_id"])
        assert detail is not None and detail.paper.arxiv_version == 2
        assert store.get_paper(NEW_IN_WINDOW["arxiv_id"]) is None

        # arXiv answers again: the new paper is not lost, and the loaded version is unchanged.
        source = ArxivSource(url=server.url, delay=0.0, timeout=5.0, retries=3, backoff=0.01)
        summary = run_weekly(store, source=source, embedder=HashEmbedder(), extractor=extractor, now=NOW)
    assert summary.status == "succeeded"
    assert summary.candidates == 1 and NEW_IN_WINDOW["arxiv_id"] in summary.new_ids
    assert store.get_paper(NEW_IN_WINDOW["arxiv_id"]) is not None
    assert store.last_watermark(RUN_SOURCE) == iso(NOW)
