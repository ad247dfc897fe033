"""A weekly run whose store lock another ingest took over while it fetched from arXiv writes nothing.

Integrity QA: a holder paused past the lock's 15-minute lifetime (SIGSTOP, `docker pause`) lost the lock
to the next ingest and, once resumed, went on writing beside it. The pause is simulated by expiring the
lock row (the keeper thread, with the 15-minute lifetime, does not run meanwhile), the takeover by a real
acquire_lock of another owner.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from ingest.arxiv_server import LocalArxivServer
from ingest.arxiv_source import ArxivSource
from ingest.extract import Extractor
from ingest.pipeline import ingest_records_file
from ingest.store_lock import LOCK_NAME
from ingest.weekly import RUN_SOURCE, WeeklyError, run_weekly
from kg.store import LockHeld
from tests.embedders import HashEmbedder
from tests.seed_store import taxonomy_store

from .test_weekly import MI_CANDIDATES, NON_MI_CANDIDATES, NOW

TAKER = "other-host:4242:0000beef:list-0123abcd"  # another machine's list ingest


class _TakenOverWhileFetching(ArxivSource):
    """An ArxivSource during whose first page the lock expires and another ingest takes it over."""

    def __init__(self, store: Any, **kw: Any) -> None:
        super().__init__(**kw)
        self.store, self.taken = store, False

    def fetch_page(self, search: Any, start: int, size: int, **kw: Any) -> Any:
        """Take the lock over (once), then fetch."""
        if not self.taken:
            self.taken = True
            with sqlite3.connect(self.store.path) as conn:
                conn.execute("UPDATE locks SET expires = 0 WHERE name = ?", (LOCK_NAME,))
            self.store.acquire_lock(LOCK_NAME, TAKER, ttl_seconds=900)
        return super().fetch_page(search, start, size, **kw)


def test_a_weekly_run_whose_lock_was_taken_over_while_fetching_writes_nothing(
    tmp_path: Path, shared_data: Path, extractor: Extractor
) -> None:
    store = taxonomy_store(tmp_path / "paperkg.sqlite3")  # the seed corpus the gate compares with
    ingest_records_file(store, shared_data / "seed_papers.jsonl", embedder=HashEmbedder(),
                        extractor=extractor, progress=False)
    papers = sorted(store.paper_ids())
    try:
        with LocalArxivServer([*MI_CANDIDATES, *NON_MI_CANDIDATES]) as server:
            source = _TakenOverWhileFetching(store, url=server.url, delay=0.0, timeout=5.0, retries=1,
                                             backoff=0.01)
            with pytest.raises(WeeklyError) as failed:
                run_weekly(store, source=source, embedder=HashEmbedder(), extractor=extractor, now=NOW)
        assert source.taken
        assert "IngestLockLost: the store lock was taken over by another list ingest" in str(failed.value)
        # Its candidates were fetched and gated, yet neither a paper nor a rejection was written.
        assert sorted(store.paper_ids()) == papers and store.rejections() == []
        [run] = store.runs(RUN_SOURCE)
        assert run.status == "failed" and run.watermark is None and store.last_watermark(RUN_SOURCE) is None
        with pytest.raises(LockHeld) as held:  # the new holder keeps its lock
            store.acquire_lock(LOCK_NAME, "someone-checking", ttl_seconds=60)
        assert held.value.owner == TAKER
    finally:
        store.close()
