"""`paperkg schedule`'s log says how each run went: no APScheduler `executed successfully` after a failed
run (the job catches the failure, so APScheduler saw a normal return)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ingest.arxiv_server import LocalArxivServer
from ingest.arxiv_source import ArxivSource
from ingest.extract import Extractor
from ingest.schedule import WeeklyScheduler, weekly_job
from ingest.weekly import WeeklyError
from kg.embedded import EmbeddedStore
from kg.store import StoreUnavailable
from kg.taxonomy import Taxonomy
from tests.embedders import HashEmbedder
from tests.ingest.test_weekly import mi_entry
from tests.seed_store import taxonomy_store


def test_a_failed_scheduled_run_is_not_logged_as_executed_successfully(
    tmp_path: Path, taxonomy: Taxonomy, caplog: pytest.LogCaptureFixture
) -> None:
    """QA: every failed run was followed by APScheduler's INFO `Job "weekly arXiv ingest …" executed
    successfully`, which a log monitor took for a good week."""
    db = tmp_path / "paperkg.sqlite3"
    taxonomy_store(db).close()
    paper = mi_entry("2611.00003", "Sparse Autoencoder Features in GPT-2 Language Models",
                     "We train sparse autoencoders on GPT-2 and use activation patching on the features.",
                     datetime.now(UTC) - timedelta(days=1))
    caplog.set_level(logging.INFO)  # APScheduler's loggers as well as ours
    with LocalArxivServer([paper]) as server:
        server.fail_next("503")  # run 1 fails (no retries); run 2 succeeds
        source = ArxivSource(url=server.url, delay=0.0, timeout=5.0, retries=0, backoff=0.01)
        job = weekly_job(lambda: EmbeddedStore(db), source=source, embedder=HashEmbedder(),
                         extractor=Extractor(taxonomy))
        scheduler = WeeklyScheduler("*/1 * * * * *", job, max_runs=2)
        scheduler.start()
    assert (scheduler.runs, scheduler.failures) == (2, 1)
    lines = [(r.name, r.levelno, r.getMessage()) for r in caplog.records]
    assert not [line for line in lines if "executed successfully" in line[2]], lines
    assert not [r for r in caplog.records if r.exc_info], "no traceback for a failed run"
    outcome = [(level, message.split(":", 1)[0]) for name, level, message in lines
               if name == "ingest.schedule" and ("finished:" in message or "failed:" in message)]
    assert outcome == [(logging.ERROR, "scheduled weekly ingest"), (logging.INFO, "scheduled weekly ingest")]
    failed = [m for _n, _l, m in lines if "run 1 failed: weekly ingest failed" in m]
    assert failed and failed[0].endswith("(next run retries the window)")  # arXiv's failure: a retry helps
    assert [m for _n, _l, m in lines if "run 2 finished: " in m]
    # APScheduler's other lines stay (the job starting, the scheduler shutting down).
    assert any(n == "apscheduler.executors.default" and "Running job" in m for n, _l, m in lines)


def test_a_failed_run_a_retry_cannot_mend_gets_no_retry_hint(caplog: pytest.LogCaptureFixture) -> None:
    """Review: every failed run said "(next run retries the window)", also a store that cannot be opened,
    which fails every run until someone mends it (as `ingest weekly` says it, for arXiv's failures only)."""
    def job() -> None:
        try:
            raise StoreUnavailable("no paperkg store in $PAPERKG_DATA_DIR")
        except StoreUnavailable as exc:
            raise WeeklyError("weekly ingest failed, watermark unchanged: no store") from exc

    caplog.set_level(logging.INFO)
    scheduler = WeeklyScheduler("*/1 * * * * *", job, max_runs=1)
    scheduler.start()
    failed = [r.getMessage() for r in caplog.records if "run 1 failed:" in r.getMessage()]
    assert failed == ["scheduled weekly ingest: run 1 failed: weekly ingest failed, watermark unchanged: "
                      "no store"]
