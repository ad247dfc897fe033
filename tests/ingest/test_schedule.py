"""`paperkg schedule`: APScheduler cron runs of the weekly ingest (seconds-level cron in tests)."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

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
from tests.processes import stop_when_blocked
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
    # The run's summary is in the log once: in "run 2 finished", not again from run_weekly at INFO.
    summary = finished[0].split("finished: ", 1)[1]
    assert [r.getMessage() for r in caplog.records if summary in r.getMessage()] == finished
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

    taxonomy_store(data_dir / "paperkg.sqlite3").close()  # `paperkg schedule` needs an existing store
    # One MI paper submitted yesterday: an entirely empty week would be a failed run by design.
    paper = mi_entry("2611.00001", "Sparse Autoencoder Features in GPT-2 Language Models",
                     "We train sparse autoencoders on GPT-2 and use activation patching on the features.",
                     datetime.now(UTC) - timedelta(days=1))
    with LocalArxivServer([paper]) as server:
        monkeypatch.setenv("PAPERKG_ARXIV_URL", server.url)
        monkeypatch.setenv("PAPERKG_ARXIV_DELAY", "0")
        result = CliRunner().invoke(main, ["schedule", "--cron", "*/1 * * * * *", "--max-runs", "1"])
        assert result.exit_code == 0, result.output
        assert "stopped after 1 run (0 failed)" in result.output
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
    taxonomy_store(data_dir / "paperkg.sqlite3").close()
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
        # Once it waits for Monday, not about to: see tests/processes.py.
        rest, _ = stop_when_blocked(proc, "futex", signum=signal.SIGTERM)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, rest
    assert "stopped after 0 runs" in rest


# -- QA fixes: crontab semantics, refused settings, exit status ----------------------------------
def _fires(expr: str, after: datetime, count: int) -> list[datetime]:
    trigger = make_trigger(expr)
    out: list[datetime] = []
    previous, now = None, after
    for _ in range(count):
        when = trigger.get_next_fire_time(previous, now)
        assert when is not None
        out.append(when)
        previous, now = when, when + timedelta(seconds=1)
    return out


def test_day_of_month_and_weekday_fire_on_either_as_in_crontab() -> None:
    tuesday = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    # The 1st of the month OR a Monday (before: only 1sts that are Mondays, next in June 2026+).
    assert [d.date().isoformat() for d in _fires("0 6 1 * 1", tuesday, 4)] == [
        "2026-11-30", "2026-12-01", "2026-12-07", "2026-12-14"]
    assert all(d.hour == 6 and d.minute == 0 for d in _fires("0 6 1 * 1", tuesday, 4))
    assert [d.date().isoformat() for d in _fires("0 6 13 * fri", tuesday, 3)] == [
        "2026-11-27", "2026-12-04", "2026-12-11"]
    assert _fires("0 6 1,15 * sun", datetime(2026, 11, 30, 12, 0, tzinfo=UTC), 3) == [
        datetime(2026, 12, 1, 6, 0, tzinfo=UTC), datetime(2026, 12, 6, 6, 0, tzinfo=UTC),
        datetime(2026, 12, 13, 6, 0, tzinfo=UTC)]
    # A field starting with "*" is unrestricted for this rule (Vixie cron / cronie): both must match,
    # so odd days (1, 11, 21, 31) that are Mondays.
    assert _next("0 6 */10 * 1", tuesday) == datetime(2026, 12, 21, 6, 0, tzinfo=UTC)
    assert _next("0 6 1 * *", tuesday) == datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
    # The seconds-first form follows the same rule.
    assert _next("30 0 6 1 * 1", tuesday) == datetime(2026, 11, 30, 6, 0, 30, tzinfo=UTC)
    # A day that never comes leaves the weekday: Mondays of February (the trigger is the weekday one
    # alone, not an OR that searches years for 31 February at every fire).
    assert _fires("0 6 31 2 mon", tuesday, 2) == [datetime(2027, 2, 1, 6, 0, tzinfo=UTC),
                                                  datetime(2027, 2, 8, 6, 0, tzinfo=UTC)]
    assert type(make_trigger("0 6 31 2 mon")).__name__ == "CronTrigger"


def test_a_cron_expression_that_never_fires_is_refused(data_dir: Path) -> None:
    from kg.cli import main

    for never in ("0 6 31 2 *", "0 6 30 2 *", "0 0 0 31 4 *"):
        with pytest.raises(ScheduleError, match="never fires"):
            make_trigger(never)
    # With a weekday too it fires on that weekday (either field matches), so it is accepted.
    assert _next("0 6 31 2 1", datetime(2026, 11, 24, tzinfo=UTC)) == datetime(2027, 2, 1, 6, 0, tzinfo=UTC)
    assert _next("0 6 29 2 *", datetime(2026, 11, 24, tzinfo=UTC)) == datetime(2028, 2, 29, 6, 0, tzinfo=UTC)

    result = CliRunner().invoke(main, ["schedule", "--cron", "0 6 31 2 *"])
    assert result.exit_code == 2, result.output  # a usage error, not a scheduler waiting forever
    assert "never fires" in result.output and "--cron" in result.output
    assert "next run never" not in result.output
    assert list(data_dir.iterdir()) == []


@pytest.mark.parametrize(("names", "numbers"), [
    ("sun-sat", "0-6"), ("SUN-SAT", "0-6"), ("mon-fri", "1-5"), ("sat,sun", "6,0"), ("fri,mon-wed", "5,1-3"),
    ("sun", "0"), ("sun", "7"), ("sunday", "0"), ("sun-sat/2", "0-6/2"), ("tue-sat", "2-6"),
])
def test_named_weekdays_mean_what_the_same_numbers_mean(names: str, numbers: str) -> None:
    start = datetime(2026, 11, 22, 0, 0, tzinfo=UTC)  # a Sunday
    assert _fires(f"0 6 * * {names}", start, 14) == _fires(f"0 6 * * {numbers}", start, 14)


def test_named_weekday_ranges_run_in_crontab_order() -> None:
    tuesday = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    # Every day, as crontab reads it (before: refused by APScheduler, whose week starts on Monday).
    assert [d.day for d in _fires("0 6 * * sun-sat", tuesday, 7)] == [25, 26, 27, 28, 29, 30, 1]
    # sat-sun is 6-0 in crontab: backwards, as "6-0" is (before: accepted as Saturday + Sunday).
    for backwards in ("0 6 * * sat-sun", "0 6 * * 6-0", "0 6 * * fri-sun"):
        with pytest.raises(ScheduleError, match="runs backwards"):
            make_trigger(backwards)
    for bad in ("0 6 * * mon,,fri", "0 6 * * funday", "0 6 * * */0", "0 6 * * mo"):
        with pytest.raises(ScheduleError):
            make_trigger(bad)


def test_max_runs_below_one_is_refused() -> None:
    for bad in (0, -1):
        with pytest.raises(ValueError, match="at least 1"):
            WeeklyScheduler("*/2 * * * * *", lambda: None, max_runs=bad)


@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_cli_schedule_refuses_a_max_runs_setting_below_one(data_dir: Path, value: str) -> None:
    taxonomy_store(data_dir / "paperkg.sqlite3").close()
    env = {**os.environ, "PAPERKG_DATA_DIR": str(data_dir), "PAPERKG_SCHEDULE_MAX_RUNS": value}
    # A subprocess with a time limit: before the fix this scheduler never stopped.
    proc = subprocess.run(
        [sys.executable, "-c", "from kg.cli import main; main()", "schedule", "--cron", "*/2 * * * * *"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 78, proc.stdout + proc.stderr  # EX_CONFIG
    assert "PAPERKG_SCHEDULE_MAX_RUNS" in proc.stderr and repr(value) in proc.stderr
    assert "schedule: cron" not in proc.stdout  # refused before the scheduler started


def test_cli_schedule_exits_nonzero_when_a_run_failed(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kg.cli import main

    taxonomy_store(data_dir / "paperkg.sqlite3").close()
    paper = mi_entry("2611.00002", "Sparse Autoencoder Features in GPT-2 Language Models",
                     "We train sparse autoencoders on GPT-2 and use activation patching on the features.",
                     datetime.now(UTC) - timedelta(days=1))
    with LocalArxivServer([paper]) as server:
        server.fail_next("503")  # the only run's first request fails, with no retries left
        monkeypatch.setenv("PAPERKG_ARXIV_URL", server.url)
        monkeypatch.setenv("PAPERKG_ARXIV_DELAY", "0")
        monkeypatch.setenv("PAPERKG_ARXIV_RETRIES", "0")
        result = CliRunner().invoke(main, ["schedule", "--cron", "*/1 * * * * *", "--max-runs", "1"])
    assert result.exit_code == 1, result.output
    assert "stopped after 1 run (1 failed)" in result.output
    assert "1 of 1 scheduled runs failed" in result.output
    store = EmbeddedStore(data_dir / "paperkg.sqlite3")
    try:
        assert [r.status for r in store.runs(RUN_SOURCE)] == ["failed"]
    finally:
        store.close()


def test_cli_schedule_refuses_an_empty_cron_option(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kg.cli import main

    taxonomy_store(data_dir / "paperkg.sqlite3").close()
    # Before: "" fell back to PAPERKG_SCHEDULE (and failed on it, here, instead of on the option).
    monkeypatch.setenv("PAPERKG_SCHEDULE", "every monday")
    result = CliRunner().invoke(main, ["schedule", "--cron", ""])
    assert result.exit_code == 2, result.output
    assert "--cron" in result.output and "needs 5 fields" in result.output
    assert "every monday" not in result.output
    # A bad PAPERKG_SCHEDULE is named as such.
    result = CliRunner().invoke(main, ["schedule"])
    assert result.exit_code == 78 and "PAPERKG_SCHEDULE" in result.output and "every monday" in result.output


def test_cli_schedule_refuses_a_data_dir_without_a_store(data_dir: Path, monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    from kg.cli import main

    with socket.socket() as closed:  # a port nothing listens on: no run may reach the real arXiv
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("PAPERKG_ARXIV_URL", f"http://127.0.0.1:{port}/api/query")
    monkeypatch.setenv("PAPERKG_ARXIV_RETRIES", "0")
    result = CliRunner().invoke(main, ["schedule", "--cron", "*/1 * * * * *", "--max-runs", "1"])
    assert result.exit_code == 74, result.output  # EX_IOERR: no store
    assert f"no paperkg store in {data_dir.resolve()} (PAPERKG_DATA_DIR)" in result.output
    assert "`paperkg init`" in result.output and "`paperkg ingest list`" in result.output
    assert list(data_dir.iterdir()) == []  # no new, empty store was created


def test_a_scheduled_run_waits_for_a_manual_ingest_holding_the_lock(
    tmp_path: Path, taxonomy: Taxonomy
) -> None:
    # A scheduled run that met a manual ingest failed at once, and its week waited for the next run.
    import threading

    from ingest.store_lock import LOCK_NAME, LOCK_TTL_SECONDS, make_owner
    from ingest.weekly import WeeklySummary

    db = tmp_path / "paperkg.sqlite3"
    manual = taxonomy_store(db)
    owner = make_owner("records")  # this process: alive, so the lock cannot be taken over
    manual.acquire_lock(LOCK_NAME, owner, ttl_seconds=LOCK_TTL_SECONDS)
    paper = mi_entry("2611.54321", "Sparse Autoencoder Features in GPT-2 Language Models",
                     "We train sparse autoencoders on GPT-2 and use activation patching on the features.",
                     datetime.now(UTC) - timedelta(days=1))
    waiting = threading.Event()
    outcome: dict[str, object] = {}

    class SeesTheWait(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "waiting up to" in record.getMessage():
                waiting.set()

    watcher = SeesTheWait()
    logging.getLogger("ingest.store_lock").addHandler(watcher)
    try:
        with LocalArxivServer([paper]) as server:
            source = ArxivSource(url=server.url, delay=0.0, timeout=5.0, retries=0, backoff=0.01)
            job = weekly_job(lambda: EmbeddedStore(db), lock_wait=120, source=source, embedder=HashEmbedder(),
                             extractor=Extractor(taxonomy))

            def scheduled_run() -> None:
                try:
                    outcome["summary"] = job()
                except Exception as exc:  # surfaced by the assertions below
                    outcome["error"] = exc
                finally:
                    waiting.set()  # never leave the test waiting on a run that ended

            thread = threading.Thread(target=scheduled_run)
            thread.start()
            try:
                assert waiting.wait(60)
                assert outcome == {}  # still waiting for the lock, not failed
            finally:
                manual.release_lock(LOCK_NAME, owner)  # the manual ingest ends
                thread.join(120)
    finally:
        logging.getLogger("ingest.store_lock").removeHandler(watcher)
    assert not thread.is_alive()
    assert "error" not in outcome, outcome
    summary = outcome["summary"]
    assert isinstance(summary, WeeklySummary) and summary.new == 1
    try:
        assert [r.status for r in manual.runs(RUN_SOURCE)] == ["succeeded"]
    finally:
        manual.close()


def test_sigterm_stops_a_schedule_whose_run_waits_for_the_store_lock(data_dir: Path) -> None:
    # Before: the waiting run slept on for SCHEDULED_LOCK_WAIT_SECONDS (30 min) and the scheduler's
    # shutdown waited for it, so SIGTERM did nothing until systemd or docker sent SIGKILL.
    from ingest.store_lock import ingest_lock

    store = taxonomy_store(data_dir / "paperkg.sqlite3")
    with socket.socket() as closed:  # a port nothing listens on: the run must never reach arXiv anyway
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    env = {**os.environ, "PAPERKG_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1",
           "PAPERKG_ARXIV_URL": f"http://127.0.0.1:{port}/api/query", "PAPERKG_ARXIV_RETRIES": "0"}
    try:
        with ingest_lock(store, "records"):  # a manual ingest in this (live) test process
            proc = subprocess.Popen(
                [sys.executable, "-c", "from kg.cli import main; main()", "schedule", "--cron", "* * * * * *",
                 "--max-runs", "1"],
                cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            )
            try:
                assert proc.stdout is not None
                seen = []
                for line in proc.stdout:  # no clock: it says it waits, and only then is it stopped
                    seen.append(line)
                    if "waiting up to" in line:
                        break
                waited = "waiting up to 1800 s for the store lock: another records ingest is running"
                assert waited in seen[-1], "".join(seen)
                proc.send_signal(signal.SIGTERM)
                rest, _ = proc.communicate(timeout=60)  # a hang guard only: before the fix, 30 minutes
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        assert proc.returncode == 0, "".join(seen) + rest
        assert "run 1 abandoned while waiting for the store lock" in rest
        assert "schedule: stopped after 0 runs (0 failed)" in rest
        assert store.runs() == []  # the abandoned run recorded nothing: it never started
    finally:
        store.close()


@pytest.mark.parametrize(("count", "text"), [(0, "0 runs"), (1, "1 run"), (2, "2 runs")])
def test_runs_are_counted_in_words(count: int, text: str) -> None:
    """"stopped after 1 runs" read wrong: one run is "1 run"."""
    from ingest.schedule import runs_text

    assert runs_text(count) == text


# -- review of "CLI stops and output": a hangup, nohup, a closed stdout ------------------------------
# `paperkg schedule` firing every second, for one run.
_SCHEDULE = [sys.executable, "-c", "from kg.cli import main; main()", "schedule", "--cron", "* * * * * *",
             "--max-runs", "1"]


def test_a_hangup_mid_run_stops_the_schedule_as_sigterm_does(data_dir: Path) -> None:
    """Review: SIGHUP (the terminal closed, an SSH connection lost) killed `paperkg schedule` mid-run, the
    weekly run left `running` and the store locked. Now the run ends and is recorded, the lock released."""
    from ingest.store_lock import LOCK_NAME

    store = taxonomy_store(data_dir / "paperkg.sqlite3")
    try:
        with LocalArxivServer([], timeout_sleep=600) as server:
            server.fail_next("timeout")  # the run's first request stalls until the server stops
            env = {**os.environ, "PAPERKG_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1",
                   "PAPERKG_ARXIV_URL": server.url, "PAPERKG_ARXIV_DELAY": "0",
                   "PAPERKG_ARXIV_TIMEOUT": "600", "PAPERKG_ARXIV_RETRIES": "0"}
            proc = subprocess.Popen(_SCHEDULE, cwd=REPO, env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True)
            try:
                deadline = time.monotonic() + 120
                while not server.requests and proc.poll() is None and time.monotonic() < deadline:
                    time.sleep(0.05)
                assert server.requests and proc.poll() is None, "the scheduled run never asked arXiv"
                assert proc.stdout is not None
                seen = []
                proc.send_signal(signal.SIGHUP)
                for line in proc.stdout:  # handled, while the run still waits on arXiv
                    seen.append(line)
                    if "signal SIGHUP received, shutting down" in line:
                        break
                else:
                    pytest.fail(f"the hangup was not handled (exit status {proc.wait()}):\n" + "".join(seen))
            except BaseException:
                proc.kill()
                proc.communicate()
                raise
        # The server has stopped: the stalled request ends, and the run with it.
        rest, _ = proc.communicate(timeout=120)
        assert proc.returncode == 1, "".join(seen) + rest  # the run failed (arXiv went away)
        assert "schedule: stopped after 1 run (1 failed)" in rest
        (run,) = store.runs(RUN_SOURCE)
        assert run.status == "failed" and run.finished
        store.acquire_lock(LOCK_NAME, "next-run")  # released: nobody has to take it over
    finally:
        store.close()



def _started_waiting(data_dir: Path, argv: list[str], *, log: str = "stdout", **popen: Any
                     ) -> tuple[subprocess.Popen[str], list[str]]:
    """`argv` (a schedule firing at once) started, returned once its run logs that it waits for the store
    lock, which the caller holds (with the lines read so far; the log read from `log`, "stdout" or
    "stderr")."""
    with socket.socket() as closed:  # a port nothing listens on: the run must never reach arXiv anyway
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    env = {**os.environ, "PAPERKG_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1",
           "PAPERKG_ARXIV_URL": f"http://127.0.0.1:{port}/api/query", "PAPERKG_ARXIV_RETRIES": "0"}
    proc = subprocess.Popen(argv, cwd=REPO, env=env, text=True, **popen)
    stream = proc.stdout if log == "stdout" else proc.stderr
    assert stream is not None
    seen: list[str] = []
    for line in stream:  # no clock: it says it waits, and only then is it stopped
        seen.append(line)
        if "waiting up to 1800 s for the store lock" in line:
            return proc, seen
    proc.wait()
    pytest.fail(f"the run never waited for the lock (exit status {proc.returncode}):\n" + "".join(seen))


def test_a_hangup_under_nohup_does_not_stop_the_schedule(data_dir: Path) -> None:
    """`nohup paperkg schedule`: SIGHUP is ignored from the start, and the scheduler must not undo that."""
    from ingest.store_lock import ingest_lock

    store = taxonomy_store(data_dir / "paperkg.sqlite3")
    try:
        with ingest_lock(store, "records"):  # a manual ingest in this (live) test process
            proc, seen = _started_waiting(
                data_dir, _SCHEDULE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
            try:
                proc.send_signal(signal.SIGHUP)  # ignored: the kernel drops it
                proc.send_signal(signal.SIGTERM)
                rest, _ = proc.communicate(timeout=60)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.communicate()
        assert proc.returncode == 0, "".join(seen) + rest
        assert "scheduler: signal SIGTERM received, shutting down" in rest
        assert "SIGHUP" not in rest
    finally:
        store.close()


def test_a_schedule_with_stdout_closed_runs(data_dir: Path) -> None:
    """Review: `paperkg schedule >&-` ended at once (its banner: "error writing output: Bad file
    descriptor"), where daemon setups close stdout; the banner is informational."""
    from ingest.store_lock import ingest_lock

    store = taxonomy_store(data_dir / "paperkg.sqlite3")
    try:
        with ingest_lock(store, "records"):
            proc, seen = _started_waiting(data_dir, ["bash", "-c", 'exec "$@" >&-', "bash", *_SCHEDULE],
                                          log="stderr", stderr=subprocess.PIPE)
            try:
                proc.send_signal(signal.SIGTERM)
                _, rest = proc.communicate(timeout=60)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.communicate()
        # It ran on (its run waited for the lock) until stopped.
        assert "run 1 abandoned while waiting for the store lock" in rest
        assert "scheduler stopped after 0 runs (0 failed)" in rest and "Traceback" not in "".join(seen) + rest
        assert store.runs() == []
        assert proc.returncode == 0, rest  # the stop line to a closed stdout is dropped, no error
    finally:
        store.close()
