"""`paperkg schedule`: APScheduler cron runs of the weekly ingest (seconds-level cron in tests)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from ingest.arxiv_server import LocalArxivServer
from ingest.arxiv_source import ArxivSource
from ingest.extract import Extractor
from ingest.schedule import ScheduleError, WeeklyScheduler, make_trigger, weekly_job
from ingest.weekly import RUN_SOURCE
from kg.embedded import EmbeddedStore
from kg.taxonomy import Taxonomy
from tests.embedders import HashEmbedder
from tests.ingest.test_weekly import mi_entry
from tests.seed_store import taxonomy_store

REPO = Path(__file__).resolve().parents[2]


def _next(expr: str, after: datetime) -> datetime:
    return make_trigger(expr).get_next_fire_time(None, after)


def test_crontab_weekdays_follow_cron_not_apscheduler_numbering() -> None:
    tuesday = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    assert _next("0 6 * * 1", tuesday) == datetime(2026, 11, 30, 6, 0, tzinfo=UTC)  # Monday
    assert _next("0 6 * * 0", tuesday) == datetime(2026, 11, 29, 6, 0, tzinfo=UTC)  # Sunday
    assert _next("0 6 * * 7", tuesday) == datetime(2026, 11, 29, 6, 0, tzinfo=UTC)  # Sunday too
    assert _next("30 5 * * 1-5", tuesday) == datetime(2026, 11, 25, 5, 30, tzinfo=UTC)
    later = tuesday + timedelta(seconds=1)
    assert _next("*/5 * * * * *", later) == datetime(2026, 11, 24, 12, 0, 5, tzinfo=UTC)  # seconds first
    for bad in ("0 6 * *", "61 6 * * 1", "0 6 * * 9", "every monday"):
        with pytest.raises(ScheduleError):
            make_trigger(bad)


def test_weekday_ranges_may_end_at_seven_for_sunday() -> None:
    tuesday = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    assert _next("0 6 * * 5-7", tuesday) == datetime(2026, 11, 27, 6, 0, tzinfo=UTC)  # Friday
    assert _next("0 6 * * 6-7", tuesday) == datetime(2026, 11, 28, 6, 0, tzinfo=UTC)  # Saturday
    assert _next("0 13 * * 0-7", tuesday) == datetime(2026, 11, 24, 13, 0, tzinfo=UTC)  # every day
    assert _next("0 6 * * 0-7", tuesday) == datetime(2026, 11, 25, 6, 0, tzinfo=UTC)


def test_two_scheduled_runs_survive_a_failure_and_are_logged(
    tmp_path: Path, taxonomy: Taxonomy, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "paperkg.sqlite3"
    setup = taxonomy_store(db)
    # An earlier successful weekly run left a watermark three days ago.
    mark = (datetime.now(UTC) - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    earlier = setup.start_run(RUN_SOURCE)
    setup.finish_run(earlier.id, "succeeded", {}, watermark=mark)
    setup.close()
    yesterday = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    paper = {"arxiv_id": "2611.12345", "title": "Activation Patching Finds a Negation Circuit in GPT-2",
             "abstract": "We use activation patching and path patching on the GPT-2 language model to find "
                         "the attention heads that handle negation.",
             "authors": ["A. Tester"], "published": yesterday, "categories": ["cs.CL"]}
    caplog.set_level(logging.INFO, logger="ingest")
    with LocalArxivServer([paper]) as server:
        server.fail_next("503")  # the first run's first request fails, with no retries left
        source = ArxivSource(url=server.url, delay=0.0, timeout=5.0, retries=0, backoff=0.01)
        job = weekly_job(lambda: EmbeddedStore(db), source=source, embedder=HashEmbedder(),
                         extractor=Extractor(taxonomy))
        scheduler = WeeklyScheduler("*/2 * * * * *", job, max_runs=2)
        scheduler.start()  # blocks until the second run is done
    assert (scheduler.runs, scheduler.failures) == (2, 1)

    messages = [r.getMessage() for r in caplog.records if r.name == "ingest.schedule"]
    assert any("run 1 starting" in m for m in messages)
    assert any("run 1 failed" in m and "watermark unchanged" in m for m in messages)
    assert any("run 2 starting" in m for m in messages)
    finished = [m for m in messages if "run 2 finished" in m]
    assert finished and "1 new" in finished[0]
    assert any("stopping" in m for m in messages)

    store = EmbeddedStore(db)
    try:
        runs = store.runs(RUN_SOURCE)
        assert [r.status for r in runs] == ["succeeded", "failed", "succeeded"]
        # The failed run did not move the watermark: the retry covered the whole window again.
        reach = (datetime.fromisoformat(mark.replace("Z", "+00:00")) - timedelta(days=3)).strftime(
            "%Y-%m-%dT%H:%M:%SZ")  # windows from a watermark reach back over arXiv's announcement lag
        assert runs[0].counts["window_start"] == runs[1].counts["window_start"] == reach
        assert store.last_watermark(RUN_SOURCE) == runs[0].counts["window_end"]
        assert store.get_paper("2611.12345") is not None
    finally:
        store.close()


def test_cli_schedule_runs_and_stops_after_max_runs(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kg.cli import main

    # One MI paper submitted yesterday: an entirely empty week would be a failed run by design.
    paper = mi_entry("2611.00001", "Sparse Autoencoder Features in GPT-2 Language Models",
                     "We train sparse autoencoders on GPT-2 and use activation patching on the features.",
                     datetime.now(UTC) - timedelta(days=1))
    with LocalArxivServer([paper]) as server:
        monkeypatch.setenv("PAPERKG_ARXIV_URL", server.url)
        monkeypatch.setenv("PAPERKG_ARXIV_DELAY", "0")
        result = CliRunner().invoke(main, ["schedule", "--cron", "*/1 * * * * *", "--max-runs", "1"])
        assert result.exit_code == 0, result.output
        assert "stopped after 1 runs (0 failed)" in result.output
        assert server.requests  # the run really queried arXiv
    store = EmbeddedStore(data_dir / "paperkg.sqlite3")
    try:
        assert [r.status for r in store.runs(RUN_SOURCE)] == ["succeeded"]
    finally:
        store.close()


def test_cli_schedule_rejects_a_bad_cron(data_dir: Path) -> None:
    from kg.cli import main

    result = CliRunner().invoke(main, ["schedule", "--cron", "0 6 * *"])
    assert result.exit_code != 0 and "needs 5 fields" in result.output


def test_schedule_process_shuts_down_cleanly_on_sigterm(data_dir: Path) -> None:
    env = {**os.environ, "PAPERKG_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from kg.cli import main; main()", "schedule", "--cron", "0 6 * * 1"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        assert proc.stdout is not None
        seen = []
        for line in proc.stdout:  # log lines (stderr) come first; wait for the banner
            seen.append(line)
            if line.startswith("schedule: cron"):
                break
        assert "schedule: cron '0 6 * * 1' (UTC); next run" in seen[-1], seen
        assert "06:00:00+00:00" in seen[-1]
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, rest
    assert "stopped after 0 runs" in rest
