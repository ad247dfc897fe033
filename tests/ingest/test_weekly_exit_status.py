"""`paperkg ingest weekly` as cron or systemd runs it: a distinct exit status for each kind of failure (69
arXiv, 74 the store, 75 the lock, 78 the configuration), the retry hint on an arXiv failure's `Error:` line
only, `--json` on a refusal, one WARNING for a misspelt PAPERKG_* name. Real processes against a real local
arXiv API (ingest.arxiv_server) and real SQLite files."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ingest.arxiv_server import LocalArxivServer
from ingest.store_lock import ingest_lock
from ingest.weekly import RUN_SOURCE
from kg.embedded import EmbeddedStore
from tests.seed_store import taxonomy_store

from .conftest import REPO_ROOT

SINCE = "2019-01-01"  # the seed papers are in this window: arXiv answers with candidates


def _closed_port() -> int:
    """A port nothing listens on (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _weekly(data_dir: Path, arxiv_url: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`paperkg ingest weekly ARGS` in a process of its own, as cron runs it (one retry, no delays)."""
    full = {**os.environ, "PAPERKG_DATA_DIR": str(data_dir), "PAPERKG_STORE": "embedded",
            "PAPERKG_ARXIV_URL": arxiv_url, "PAPERKG_ARXIV_DELAY": "0", "PAPERKG_ARXIV_RETRIES": "1",
            "PAPERKG_ARXIV_TIMEOUT": "20", **env}
    full.pop("PAPERKG_NEO4J_URI", None)
    return subprocess.run([sys.executable, "-m", "kg.cli", "ingest", "weekly", *args], cwd=REPO_ROOT,
                          env=full, capture_output=True, text=True, timeout=300, check=False)


def _error_line(proc: subprocess.CompletedProcess[str]) -> str:
    """The last line of stderr: the command's one `Error:` line."""
    return proc.stderr.rstrip("\n").rsplit("\n", 1)[-1]


def _runs(data_dir: Path) -> list[Any]:
    store = EmbeddedStore(data_dir / "paperkg.sqlite3")
    try:
        return list(store.runs(RUN_SOURCE))
    finally:
        store.close()


@pytest.mark.parametrize("kind", ["503", "malformed", "empty"])
def test_arxiv_failing_after_its_retries_exits_69_naming_the_server_with_the_retry_hint(
    data_dir: Path, seed_records: list[dict[str, Any]], kind: str
) -> None:
    """QA: every failure exited 1; run directly the line lacked the scheduler's "(next run retries the
    window)"; the error did not say which server failed."""
    taxonomy_store(data_dir / "paperkg.sqlite3").close()
    with LocalArxivServer(seed_records) as server:
        server.fail_next(kind, 10)  # more than the two attempts
        url = server.url
        proc = _weekly(data_dir, url, "--since", SINCE)
    assert proc.returncode == 69, proc.stderr
    line = _error_line(proc)
    assert line.startswith(f"Error: weekly ingest failed, watermark unchanged: ArxivError: arXiv API at "
                           f"{url} failed after 2 attempts: "), line
    assert line.endswith("(query 1/4, page 1 (start=0)) (next run retries the window)"), line
    assert proc.stdout == ""
    runs = _runs(data_dir)  # the failed run is recorded, no watermark set
    assert [r.status for r in runs] == ["failed"] and runs[0].watermark is None


def test_a_wrong_endpoint_answering_404_names_its_url_and_exits_69(
    data_dir: Path, seed_records: list[dict[str, Any]]
) -> None:
    """QA: "arXiv API answered HTTP 404" named no URL: the operator could not see which was wrong."""
    taxonomy_store(data_dir / "paperkg.sqlite3").close()
    with LocalArxivServer(seed_records) as server:
        wrong = server.url.replace("/api/query", "/api/wrong")
        proc = _weekly(data_dir, wrong, "--since", SINCE)
    assert proc.returncode == 69, proc.stderr
    line = _error_line(proc)
    assert f"ArxivError: arXiv API at {wrong} answered HTTP 404 (query 1/4, page 1 (start=0))" in line


def test_an_unreachable_server_shows_its_endpoint_not_the_query(data_dir: Path) -> None:
    """QA: the connection error said `with url: <url>`, hiding which server was asked; the query (over a
    thousand characters) stays hidden."""
    taxonomy_store(data_dir / "paperkg.sqlite3").close()
    url = f"http://127.0.0.1:{_closed_port()}/api/query"
    proc = _weekly(data_dir, url, "--since", SINCE)
    assert proc.returncode == 69, proc.stderr
    line = _error_line(proc)
    assert f"arXiv API at {url} failed after 2 attempts: connection failed" in line
    assert "with url: /api/query?<query>" in line
    assert "search_query" not in proc.stderr and len(line) < 800


def test_a_window_with_no_candidates_at_all_exits_69(data_dir: Path) -> None:
    """arXiv answering a 7-day window with nothing is taken for a failed answer: arXiv's class, not 1."""
    taxonomy_store(data_dir / "paperkg.sqlite3").close()
    with LocalArxivServer([]) as server:
        proc = _weekly(data_dir, server.url, "--json")
    assert proc.returncode == 69, proc.stderr
    assert "no candidates at all" in _error_line(proc)
    assert _error_line(proc).count("next run") == 1  # its own text says it already
    assert json.loads(proc.stdout)["status"] == "failed"  # --json still prints the failed run


@pytest.mark.parametrize("store_file", ["missing", "empty", "garbage"])
def test_a_store_it_cannot_use_exits_74(data_dir: Path, store_file: str) -> None:
    """QA: a missing, empty or damaged store exited 1 like everything else."""
    path = data_dir / "paperkg.sqlite3"
    if store_file == "empty":
        path.touch()
    elif store_file == "garbage":
        path.write_bytes(b"this is no SQLite database, only text " * 200)
    proc = _weekly(data_dir, f"http://127.0.0.1:{_closed_port()}/api/query", "--since", SINCE)
    assert proc.returncode == 74, proc.stderr
    assert _error_line(proc).startswith("Error: ") and "Traceback" not in proc.stderr


@pytest.mark.parametrize(("env", "named"), [
    ({"PAPERKG_ARXIV_DELAY": "soon"}, "PAPERKG_ARXIV_DELAY must be a number, not 'soon'"),
    ({"PAPERKG_ARXIV_URL": "htp:/bad"}, "PAPERKG_ARXIV_URL must be an http:// or https:// URL"),
    ({"PAPERKG_ARXIV_URL": "export.arxiv.org/api/query"}, "not 'export.arxiv.org/api/query'"),
])
def test_a_bad_setting_exits_78_naming_it(data_dir: Path, env: dict[str, str], named: str) -> None:
    """QA: a bad PAPERKG_* value exited 1; a URL without a scheme was taken and failed at the first request
    with "No connection adapters were found for '<url>'", naming no variable."""
    taxonomy_store(data_dir / "paperkg.sqlite3").close()
    url = env.pop("PAPERKG_ARXIV_URL", f"http://127.0.0.1:{_closed_port()}/api/query")
    proc = _weekly(data_dir, url, "--since", SINCE, **env)
    assert proc.returncode == 78, proc.stderr
    assert named in _error_line(proc) and "adapters" not in proc.stderr
    assert _runs(data_dir) == []  # refused before any run was recorded


def test_a_missing_embedding_model_exits_78(
    data_dir: Path, tmp_path: Path, seed_records: list[dict[str, Any]]
) -> None:
    """QA: PAPERKG_EMBEDDING_MODEL naming no model exited 1 after asking arXiv; then its line said "(next
    run retries the window)", which no retry makes true until the setting is fixed."""
    taxonomy_store(data_dir / "paperkg.sqlite3").close()
    with LocalArxivServer(seed_records) as server:
        proc = _weekly(data_dir, server.url, "--since", SINCE,
                       PAPERKG_EMBEDDING_MODEL=str(tmp_path / "no-such-model"))
    assert proc.returncode == 78, proc.stderr
    line = _error_line(proc)
    assert "ModelMissing: embedding model directory" in line
    assert "next run" not in line
    assert [r.status for r in _runs(data_dir)] == ["failed"]


def test_a_store_of_another_embedding_model_exits_78_saying_what_to_do(
    data_dir: Path, tmp_path: Path, seed_records: list[dict[str, Any]]
) -> None:
    """QA: the ModelMismatch of a store embedded with another model (a ValueError) exited 1, as an
    unexpected failure, though it is the configuration: PAPERKG_EMBEDDING_MODEL or the data directory."""
    from ingest.extract import Extractor
    from ingest.pipeline import ingest_records_file
    from kg.taxonomy import load_taxonomy
    from tests.embedders import HashEmbedder

    records = tmp_path / "records.jsonl"
    records.write_text(json.dumps({"id": "own-1", "title": "Activation patching in toy models"}) + "\n")
    store = taxonomy_store(data_dir / "paperkg.sqlite3")
    try:  # the store's papers embedded by another model than the packaged one the run loads
        ingest_records_file(store, records, embedder=HashEmbedder(), extractor=Extractor(load_taxonomy()),
                            progress=False)
        assert store.embedding_models() == {HashEmbedder.model_name: 1}
    finally:
        store.close()
    with LocalArxivServer(seed_records) as server:
        proc = _weekly(data_dir, server.url, "--since", SINCE)
    assert proc.returncode == 78, proc.stderr
    line = _error_line(proc)
    assert line.startswith("Error: weekly ingest failed, watermark unchanged: ModelMismatch: the store holds "
                           f"embeddings of {HashEmbedder.model_name!r} (1 papers)"), line
    assert "set PAPERKG_EMBEDDING_MODEL to it" in line and "fresh PAPERKG_DATA_DIR" in line
    assert "next run" not in line
    assert [r.status for r in _runs(data_dir)] == ["failed"]


def test_json_refused_for_the_lock_prints_who_holds_it_and_exits_75(data_dir: Path) -> None:
    """QA: `--json` printed nothing on stdout when refused, so `| jq` read an empty document."""
    store = taxonomy_store(data_dir / "paperkg.sqlite3")
    try:
        with ingest_lock(store, "records"):
            proc = _weekly(data_dir, f"http://127.0.0.1:{_closed_port()}/api/query", "--json")
    finally:
        store.close()
    assert proc.returncode == 75, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["status"] == "locked"
    assert doc["error"].startswith("another records ingest is running: pid ") and doc["error"] in proc.stderr
    holder = doc["holder"]
    assert (holder["kind"], holder["pid"], holder["host"], holder["state"]) == (
        "records", os.getpid(), socket.gethostname(), "alive")
    assert holder["expires"].endswith("Z")
    assert holder["owner"].startswith(f"{socket.gethostname()}:{os.getpid()}:")


def test_a_misspelt_setting_is_one_warning_with_a_suggestion(data_dir: Path) -> None:
    """QA: PAPERKG_ARIXV_URL was silently ignored, the run asking the default server instead."""
    proc = _weekly(data_dir, f"http://127.0.0.1:{_closed_port()}/api/query", "--since", SINCE,
                   PAPERKG_ARIXV_URL="http://127.0.0.1:9/api/query", PAPERKG_ARXIV_RETRY="3")
    assert proc.returncode == 74, proc.stderr  # no store: the warning came first all the same
    warnings = [line for line in proc.stderr.splitlines() if " WARNING " in line]
    assert len(warnings) == 1, proc.stderr
    assert warnings[0].endswith(
        "PAPERKG_ARIXV_URL is not a paperkg setting and is ignored (did you mean PAPERKG_ARXIV_URL?); "
        "PAPERKG_ARXIV_RETRY is not a paperkg setting and is ignored (did you mean PAPERKG_ARXIV_RETRIES?)")
    assert "127.0.0.1:9" not in proc.stderr  # values are not shown (a misspelt password variable)


def _refusal(proc: subprocess.CompletedProcess[str], exit_status: int) -> dict[str, Any]:
    """The `--json` object of a run refused before it started: stdout one JSON object naming the exit
    status and stderr's one `Error:` line, which stays as it was."""
    assert proc.returncode == exit_status, proc.stderr
    line = _error_line(proc)
    assert line.startswith("Error: ") and "Traceback" not in proc.stderr, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc == {"status": "refused", "error": line.removeprefix("Error: "), "exit_status": exit_status}
    return doc


@pytest.mark.parametrize("store_file", ["missing", "empty", "garbage"])
def test_json_refused_for_a_store_it_cannot_use_prints_one_object_and_exits_74(
    data_dir: Path, store_file: str
) -> None:
    """QA: `ingest weekly --json | jq .status` read an empty document when the store was missing or
    damaged: stdout held nothing, only the exit status and stderr said why."""
    path = data_dir / "paperkg.sqlite3"
    if store_file == "empty":
        path.touch()
    elif store_file == "garbage":
        path.write_bytes(b"this is no SQLite database, only text " * 200)
    proc = _weekly(data_dir, f"http://127.0.0.1:{_closed_port()}/api/query", "--since", SINCE, "--json")
    doc = _refusal(proc, 74)
    if store_file == "missing":
        assert "does not create a store" in doc["error"]
    assert path.exists() == (store_file != "missing")  # nothing created where there was no store


def test_a_bad_setting_is_refused_on_stderr_before_any_command(data_dir: Path) -> None:
    """A bad PAPERKG_* value is refused by the root group before any command is read, `ingest weekly
    --json` included (as the README says): stderr names it, stdout stays empty, exit 78."""
    taxonomy_store(data_dir / "paperkg.sqlite3").close()
    env = {**os.environ, "PAPERKG_DATA_DIR": str(data_dir), "PAPERKG_STORE": "embedded",
           "PAPERKG_ARXIV_DELAY": "soon"}
    env.pop("PAPERKG_NEO4J_URI", None)
    for args in (["stats", "--json"], ["ingest", "rejected", "--json"], ["ingest", "weekly"],
                 ["ingest", "weekly", "--json"]):
        proc = subprocess.run([sys.executable, "-m", "kg.cli", *args], cwd=REPO_ROOT, env=env,
                              capture_output=True, text=True, timeout=300, check=False)
        assert proc.returncode == 78, (args, proc.stderr)
        assert proc.stdout == "", args
        assert "PAPERKG_ARXIV_DELAY must be a number" in _error_line(proc)


def test_json_refused_for_a_bad_since_prints_one_object_and_exits_2(data_dir: Path) -> None:
    """A --since a script computed wrongly is refused as a usage error (exit 2) before the store is opened:
    with --json stdout says so too; click's usage text stays on stderr."""
    taxonomy_store(data_dir / "paperkg.sqlite3").close()
    proc = _weekly(data_dir, f"http://127.0.0.1:{_closed_port()}/api/query", "--json", "--since", "last week")
    doc = _refusal(proc, 2)
    assert doc["error"].startswith("Invalid value for '--since': ")
    assert "Usage: " in proc.stderr
    assert _runs(data_dir) == []


def test_json_refused_for_a_window_it_cannot_plan_prints_one_object_and_exits_1(data_dir: Path) -> None:
    """A --since after the clock is refused when the window is planned, with the lock taken but before a
    run is recorded: `--json` printed nothing on stdout there either."""
    taxonomy_store(data_dir / "paperkg.sqlite3").close()
    url = f"http://127.0.0.1:{_closed_port()}/api/query"
    proc = _weekly(data_dir, url, "--json", "--since", "2999-01-01")
    doc = _refusal(proc, 1)
    assert doc["error"].startswith("empty window: start 2999-01-01T00:00:00Z is not before end ")
    assert _runs(data_dir) == []
