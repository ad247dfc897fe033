"""ingest/weekly_cli.py's commands: `paperkg export list-rows` with a broken PAPERKG_TAXONOMY (one
`Error:` line); `paperkg ingest weekly` stopped by Ctrl-C or while it waits for the store lock."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ingest.arxiv_server import LocalArxivServer
from ingest.store_lock import LOCK_NAME, ingest_lock
from kg.embedded import EmbeddedStore
from tests.ingest.test_cli import STOP_AFTER_SUCCESS
from tests.processes import read_until, stop_when_blocked
from tests.seed_store import taxonomy_store

from .conftest import REPO_ROOT

_TAB = "techniques:\n  - id: probing\n\tlabel: Probing\n"
_NO_PARENT = ("techniques:\n  - id: probing\n    label: Probing\nextensions_not_in_figure:\n"
              "  - id: qa_lens\n    label: QA Lens\n    parent: nowhere\n")


@pytest.mark.parametrize(("text", "expected"), [
    (_TAB, "taxonomy {path} is not valid YAML at line 3, column 1: found character '\\t' that cannot "
           "start any token"),
    (None, "PAPERKG_TAXONOMY names {path}, which does not exist (give a YAML file such as "
           "kg/taxonomies/mi.yaml, the packaged MI taxonomy)"),
    (_NO_PARENT, "{path}: 'qa_lens' has parent 'nowhere', which is not a node"),
])
def test_list_rows_refuses_a_broken_taxonomy_in_one_line(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str | None, expected: str
) -> None:
    """QA: a ValueError traceback (tab indent, missing file, a parent that is no node)."""
    from kg.cli import main

    taxonomy_store(data_dir / "paperkg.sqlite3").close()  # a real store: only the taxonomy is wrong
    path = tmp_path / "tax.yaml"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    monkeypatch.setenv("PAPERKG_TAXONOMY", str(path))
    result = CliRunner().invoke(main, ["export", "list-rows", "--since", "2000-01-01"])
    assert isinstance(result.exception, SystemExit), result.exception  # a ValueError before
    assert result.exit_code == (78 if text is None else 1)  # a missing file: a bad setting (README)
    assert result.stdout == ""
    assert result.stderr == "Error: " + expected.format(path=path) + "\n"


def _weekly(data_dir: Path, arxiv_url: str, *args: str) -> subprocess.Popen[str]:
    """`paperkg ingest weekly ARGS` in its own process group (a terminal's Ctrl-C goes to the group)."""
    env = dict(os.environ, PAPERKG_DATA_DIR=str(data_dir), PAPERKG_STORE="embedded",
               PAPERKG_ARXIV_URL=arxiv_url, PAPERKG_ARXIV_DELAY="0", PAPERKG_ARXIV_TIMEOUT="120")
    env.pop("PAPERKG_NEO4J_URI", None)
    return subprocess.Popen([sys.executable, "-m", "kg.cli", "ingest", "weekly", *args], cwd=REPO_ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def test_ctrl_c_mid_run_is_recorded_by_name_and_exits_130(
    data_dir: Path, seed_records: list[dict[str, Any]]
) -> None:
    """QA: the run was recorded with the message "KeyboardInterrupt: " (an empty reason) and the command
    ended in click's "Aborted!" with exit status 1."""
    taxonomy_store(data_dir / "paperkg.sqlite3").close()
    with LocalArxivServer(seed_records, timeout_sleep=60) as server:
        server.fail_next("timeout")  # the first request stalls: the run is mid-way when it is stopped
        proc = _weekly(data_dir, server.url)
        try:
            deadline = time.monotonic() + 120
            while not server.requests and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
            assert server.requests and proc.poll() is None, "the weekly run never asked arXiv"
            # Ctrl-C once it waits for the stalled answer: see tests/processes.py.
            _out, err = stop_when_blocked(proc, "poll", group=True)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert proc.returncode == 130, err
    assert err.splitlines()[-1] == ("interrupted: the run is recorded as failed; run the command again to "
                                    "finish its work")
    assert "Traceback" not in err and "Aborted" not in err
    store = EmbeddedStore(data_dir / "paperkg.sqlite3")
    try:
        (run,) = store.runs()
        assert (run.source, run.status, run.message) == ("arxiv-weekly", "failed", "KeyboardInterrupt")
        store.acquire_lock(LOCK_NAME, "next-run")  # released on the way out
    finally:
        store.close()


def test_sigterm_while_waiting_for_the_lock_says_no_run_was_recorded(data_dir: Path) -> None:
    """QA: SIGTERM during --wait said "the run is recorded as failed; run the command again", though the
    run starts only once the lock is held (the README says so for --json)."""
    holder = taxonomy_store(data_dir / "paperkg.sqlite3")
    try:
        with ingest_lock(holder, "records"):
            proc = _weekly(data_dir, "http://127.0.0.1:9/never-asked", "--wait", "600")
            try:
                assert proc.stderr is not None
                read_until(proc.stderr, "waiting up to 600 s for the store lock", "the weekly run")
                os.killpg(proc.pid, signal.SIGTERM)
                out, rest = proc.communicate(timeout=60)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.communicate()
        assert proc.returncode == 143, rest
        assert rest.splitlines()[-1] == "stopped by SIGTERM before the run started: no run was recorded"
        assert "Traceback" not in rest and "recorded as failed" not in rest and out == ""
        assert holder.runs() == []
    finally:
        holder.close()


@pytest.mark.parametrize(("stop", "status", "said"), [
    (signal.SIGTERM, 143, "stopped by SIGTERM"),
    (signal.SIGINT, 130, "interrupted"),
])
def test_a_stop_after_the_run_succeeded_does_not_say_it_never_started(
    data_dir: Path, seed_records: list[dict[str, Any]], stop: signal.Signals, status: int, said: str
) -> None:
    """Review: a stop once the weekly run was recorded as succeeded, while its lock was released, said
    "before the run started: no run was recorded". The process was stopped (its status says so), but
    the line must not lie."""
    from datetime import UTC, datetime, timedelta

    taxonomy_store(data_dir / "paperkg.sqlite3").close()
    # Half a day: no candidate among the (older) seed papers, and too short a window to be suspicious.
    since = (datetime.now(UTC) - timedelta(hours=12)).strftime("%Y-%m-%dT%H:%M:%SZ")
    with LocalArxivServer(seed_records) as server:
        env = dict(os.environ, PAPERKG_DATA_DIR=str(data_dir), PAPERKG_STORE="embedded",
                   PAPERKG_ARXIV_URL=server.url, PAPERKG_ARXIV_DELAY="0")
        env.pop("PAPERKG_NEO4J_URI", None)
        done = subprocess.run([sys.executable, "-c", STOP_AFTER_SUCCESS, stop.name, "ingest", "weekly",
                               "--since", since], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                              timeout=300, check=False)
    assert done.returncode == status, done.stderr
    assert done.stderr.splitlines()[-1] == f"{said} after the run finished (it succeeded)"
    assert "no run was recorded" not in done.stderr and "Traceback" not in done.stderr
    store = EmbeddedStore(data_dir / "paperkg.sqlite3")
    try:
        (run,) = store.runs()
        assert (run.source, run.status) == ("arxiv-weekly", "succeeded")
        store.acquire_lock(LOCK_NAME, "next-run")  # released before the stop
        store.release_lock(LOCK_NAME, "next-run")
    finally:
        store.close()
    # With --json the succeeded run's summary is printed, as after any finished run (it printed nothing).
    with LocalArxivServer(seed_records) as server:
        env["PAPERKG_ARXIV_URL"] = server.url
        done = subprocess.run([sys.executable, "-c", STOP_AFTER_SUCCESS, stop.name, "ingest", "weekly",
                               "--since", since, "--json"], cwd=REPO_ROOT, env=env, capture_output=True,
                              text=True, timeout=300, check=False)
    assert done.returncode == status, done.stderr
    doc = json.loads(done.stdout)
    assert doc["status"] == "succeeded" and "error" not in doc
