"""Health checks (api/health.py): /healthz, /readyz and why a store is not ready, the model's state they
report, and GET /api/status for monitoring (a late or failed weekly ingest, a missing model)."""

from __future__ import annotations

import logging
import socket
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from api.app import close_app, create_app
from api.errors import DAMAGED_MESSAGE, NO_STORE_MESSAGE, UNAVAILABLE_MESSAGE
from ingest.store_lock import LOCK_NAME, ingest_lock
from kg import validation
from kg.config import load_config
from kg.embedded import EmbeddedStore
from kg.schema import RUN_SOURCE_WEEKLY, RUN_SOURCE_WEEKLY_LOAD
from tests.api.conftest import app_config, serving
from tests.seed_store import taxonomy_store

NOW = datetime.now(UTC)


def test_health(client: FlaskClient) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/readyz").get_json() == {"status": "ready", "model": "ok"}


def _same_error_as_the_api(app: Flask) -> dict[str, str]:
    """/readyz's 503 error, checked to be the one /api/search and /api/stats give for the same store."""
    client = app.test_client()
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.headers["Retry-After"]
    error = ready.get_json()["error"]
    for url in ("/api/search?q=x&mode=keyword", "/api/stats"):
        assert client.get(url).get_json()["error"] == error, url
    return dict(error)


def test_readyz_says_what_the_api_says_of_a_missing_store(tmp_path: Path,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    """Copy edit: /readyz said "store unreachable: no paperkg store in $PAPERKG_DATA_DIR: set it ... (`make
    demo` uses demo-data/)" where /api/search said "there is no graph store here: ..." for the same data
    directory. One wording (api.errors.store_error_text); the path and the full reason go to the log."""
    blocker = tmp_path / "data"
    blocker.write_text("a file where the data directory should be")
    app = create_app(app_config(blocker))
    with caplog.at_level(logging.WARNING, logger="api.health"):
        error = _same_error_as_the_api(app)
    close_app(app)
    assert error == {"code": "store_unavailable", "message": NO_STORE_MESSAGE}
    assert str(blocker) not in error["message"]  # the server's paths stay in its log
    logged = [r.getMessage() for r in caplog.records if r.name == "api.health"]
    assert logged and logged[0].startswith("readiness: no paperkg store in ") and str(blocker) in logged[0]


def test_readyz_says_what_the_api_says_of_a_damaged_store(tmp_path: Path,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    """Copy edit: /readyz passed SQLite's text on, "(database disk image is malformed) ... sqlite3
    $PAPERKG_DATA_DIR/paperkg.sqlite3 \"PRAGMA integrity_check\"": now the API's store_damaged message."""
    from tests.kg.test_embedded_durability import STORE_FILE, seeded_store

    data = tmp_path / "data"
    seeded_store(data / STORE_FILE)
    damaged = bytearray((data / STORE_FILE).read_bytes())
    damaged[100:4096] = b"\xab" * (4096 - 100)  # the header's page: the ping's first read fails
    (data / STORE_FILE).write_bytes(bytes(damaged))
    app = create_app(app_config(data))
    with caplog.at_level(logging.ERROR, logger="api.health"):
        error = _same_error_as_the_api(app)
    close_app(app)
    assert error == {"code": "store_damaged", "message": DAMAGED_MESSAGE}
    assert "malformed" not in error["message"] and "PRAGMA" not in error["message"]
    assert any("malformed" in r.getMessage() and r.levelno == logging.ERROR for r in caplog.records)


def _neo4j_app(uri: str, data_dir: Path) -> Flask:
    """An app configured (as a server reads its environment) for the Neo4j server at `uri`."""
    config = load_config(env={"PAPERKG_NEO4J_URI": uri, "PAPERKG_NEO4J_PASSWORD": "unused",
                              "PAPERKG_DATA_DIR": str(data_dir)})
    assert config.backend == "neo4j"
    return create_app({"TESTING": True, "PAPERKG_CONFIG": config})


@pytest.mark.parametrize("uri", ["bolt://paperkg-db.internal.invalid:7687", "neo4j://paperkg-db.internal.invalid",
                                 "bolt+s://PaperKG-DB.internal.invalid:7473",
                                 "neo4j://neo4j:hunter2@paperkg-db.internal.invalid:7687"])
def test_readyz_names_no_internal_neo4j_host(uri: str, tmp_path: Path,
                                             caplog: pytest.LogCaptureFixture) -> None:
    """Privacy audit: an anonymous probe read "cannot reach Neo4j at bolt://db.internal.example:7687: Failed
    to DNS resolve address db.internal.example:7687: ...". The real driver's failure (a .invalid name never
    resolves); the server log keeps the host, never the password."""
    app = _neo4j_app(uri, tmp_path)
    with caplog.at_level(logging.WARNING, logger="api.health"):
        error = _same_error_as_the_api(app)
    close_app(app)
    message = error["message"]
    assert error == {"code": "store_unavailable", "message": UNAVAILABLE_MESSAGE}
    assert "internal" not in message.lower() and "7687" not in message and "7473" not in message, message
    assert "hunter2" not in message
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "internal.invalid" in logged.lower() and "hunter2" not in logged


def test_readyz_names_no_neo4j_address_it_could_not_connect_to(tmp_path: Path) -> None:
    """A refused connection to an address given as an IP: the real driver's message, no address in it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = _neo4j_app(f"bolt://127.0.0.1:{port}", tmp_path)
    message = _same_error_as_the_api(app)["message"]
    close_app(app)
    assert message == UNAVAILABLE_MESSAGE
    assert "127.0.0.1" not in message and str(port) not in message


# The driver's messages for a connection that timed out (a firewall dropping packets), of each shape it
# builds (neo4j/_sync/io/_bolt/_bolt_socket.py, neo4j/_async_compat/network/_bolt_socket.py): no "(reason
# ...)" to cut them down to, so the resolved addresses came through too.
TIMED_OUT = ("Couldn't connect to {host}:7687 (resolved to ('10.20.30.40:7687',)):\n"
             "Timed out trying to establish connection to ResolvedIPv4Address(('10.20.30.40', 7687))")
TIMED_OUT_V6 = ("Couldn't connect to {host}:7687 (resolved to ('[fd00::5]:7687',)):\n"
                "Timed out trying to establish connection to ResolvedIPv6Address(('fd00::5', 7687, 0, 0))")


@pytest.mark.parametrize("shape", [TIMED_OUT, TIMED_OUT_V6])
def test_a_public_reason_names_no_address_the_neo4j_host_resolved_to(shape: str, tmp_path: Path) -> None:
    from neo4j.exceptions import ServiceUnavailable

    from api.health import _public_reason
    from kg.neo4j_store import Neo4jStore
    from kg.store import StoreUnavailable

    uri = "neo4j+s://neo4j:hunter2@db.internal.example"
    store = Neo4jStore(uri, "neo4j", "unused")
    with pytest.raises(StoreUnavailable) as info, store._errors():  # the driver's error, as a store turns it
        raise ServiceUnavailable(shape.format(host="db.internal.example"))
    store.close()
    app = _neo4j_app(uri, tmp_path)
    with app.app_context():
        reason = _public_reason(str(info.value))
    close_app(app)
    assert reason == ("cannot reach Neo4j at $PAPERKG_NEO4J_URI: Couldn't connect to $PAPERKG_NEO4J_URI: "
                      "Timed out trying to establish connection to $PAPERKG_NEO4J_URI")


def test_the_neo4j_host_is_replaced_only_where_it_is_the_host(tmp_path: Path) -> None:
    """Another server's name that begins or ends with it, another port, and a lone one-word name ("neo4j",
    docker-compose's, is also the product's name) stay."""
    from api.health import _public_reason

    app = _neo4j_app("bolt://db.internal.example:7687", tmp_path)
    with app.app_context():
        assert _public_reason("replica-db.internal.example:7687 and db.internal.example.org:7687, "
                              "db.internal.example:76870") == (
            "replica-db.internal.example:7687 and db.internal.example.org:7687, $PAPERKG_NEO4J_URI:76870")
        assert _public_reason("routing: [db.internal.example:7687, db.internal.example]") == (
            "routing: [$PAPERKG_NEO4J_URI, $PAPERKG_NEO4J_URI]")
    close_app(app)
    app = _neo4j_app("neo4j://neo4j:7687", tmp_path)
    with app.app_context():
        assert _public_reason("cannot reach Neo4j at neo4j://neo4j:7687: Failed to DNS resolve address "
                              "neo4j:7687: no neo4j here") == (
            "cannot reach Neo4j at $PAPERKG_NEO4J_URI: Failed to DNS resolve address $PAPERKG_NEO4J_URI: "
            "no neo4j here")
    close_app(app)


def test_the_embedded_store_leaves_neo4j_words_alone(tmp_path: Path) -> None:
    """On the embedded backend the reason changes only where it names the data directory."""
    from api.health import _public_reason

    app = create_app(app_config(tmp_path / "data"))
    reason = (f"no paperkg store in {tmp_path / 'data'}: not bolt://db.internal.example:7687 nor "
              "db.internal.example:7687 (resolved to ('10.0.0.5:7687',))")
    with app.app_context():
        assert _public_reason(reason) == ("no paperkg store in $PAPERKG_DATA_DIR: not bolt://db.internal."
                                          "example:7687 nor db.internal.example:7687 (resolved to "
                                          "('10.0.0.5:7687',))")
    close_app(app)


def test_health_answers_are_never_stored_by_a_cache(client: FlaskClient, tmp_path: Path) -> None:
    """QA: no Cache-Control let a shared proxy with a default lifetime serve monitoring a stale "ok"."""
    for path in ("/healthz", "/readyz", "/api/status", "/api/status?max_age_days=0"):  # the 400 too
        assert client.get(path).headers.get("Cache-Control") == "no-store", path
    # The API's other answers: revalidated (ETag), never no-store.
    assert client.get("/api/stats").headers.get("Cache-Control") == "private, no-cache"
    app = create_app(app_config(tmp_path / "typo"))  # the 503s too
    for path in ("/readyz", "/api/status"):
        response = app.test_client().get(path)
        assert response.status_code == 503 and response.headers.get("Cache-Control") == "no-store", path
    close_app(app)


# -- GET /api/status and the model's state ---------------------------------------------------------------
@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    """A data directory holding a real, initialised embedded store (no papers, no runs)."""
    taxonomy_store(tmp_path / "paperkg.sqlite3").close()
    yield tmp_path


def _app(data_dir: Path, *, warm: bool = False, **env: str) -> Flask:
    """A server's app over the data directory: it opens the store itself, no model given to it; `warm`:
    with the servers' start-up preload of the model."""
    config = load_config(env={"PAPERKG_DATA_DIR": str(data_dir), "PAPERKG_STORE": "embedded", **env})
    return create_app({"TESTING": True, "PAPERKG_CONFIG": config, "WARM_EMBEDDER": warm})


def _record(data_dir: Path, monkeypatch: pytest.MonkeyPatch, status: str, days_ago: float,
            message: str | None = None, source: str = RUN_SOURCE_WEEKLY) -> None:
    """A run recorded in the store file as an ingest `days_ago` would have recorded it (its clock moved
    back: the store stamps runs itself)."""
    stamp = (NOW - timedelta(days=days_ago)).isoformat(timespec="microseconds")
    store = EmbeddedStore(data_dir / "paperkg.sqlite3")
    try:
        with monkeypatch.context() as m:
            m.setattr(validation, "now", lambda: stamp)
            run = store.start_run(source)
            if status != "running":
                store.finish_run(run.id, status, {"new": 1, "load_run": None}, message=message,
                                 watermark=stamp if status == "succeeded" else None)
    finally:
        store.close()


def _status(app: Flask, query: str = "") -> tuple[int, dict[str, Any]]:
    response = app.test_client().get(f"/api/status{query}")
    if response.status_code == 503:
        assert response.headers["Retry-After"] == "60"
    return response.status_code, response.get_json()


def _codes(body: dict[str, Any]) -> list[str]:
    return [p["code"] for p in body["problems"]]


def test_status_is_ok_after_a_recent_weekly_success(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _record(data_dir, monkeypatch, "failed", 9, "WeeklyError: an older failure, since retried")
    _record(data_dir, monkeypatch, "succeeded", 2)
    _record(data_dir, monkeypatch, "succeeded", 2, source=RUN_SOURCE_WEEKLY_LOAD)  # not a weekly run
    app = _app(data_dir)
    status, body = _status(app)
    assert status == 200
    assert body["status"] == "ok" and body["problems"] == [] and body["model"] == "not_loaded"
    weekly = body["weekly"]
    assert weekly["last_status"] == "succeeded" and weekly["last_message"] is None
    assert 47.9 <= weekly["age_hours"] <= 48.1 and weekly["max_age_days"] == 8
    assert datetime.fromisoformat(weekly["last_success"]) == datetime.fromisoformat(weekly["last_finished"])
    assert weekly["running_since"] is None
    close_app(app)


def test_a_weekly_success_25_days_ago_is_a_503_stale(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """QA: /readyz answered 200 "ready" when the last weekly success was 25 days ago."""
    _record(data_dir, monkeypatch, "succeeded", 25)
    app = _app(data_dir)
    status, body = _status(app)
    assert status == 503 and body["status"] == "failing" and _codes(body) == ["weekly_stale"]
    assert "for 25.0 days" in body["problems"][0]["message"]
    assert 599.9 <= body["weekly"]["age_hours"] <= 600.1
    # The threshold is the monitor's to choose.
    status, body = _status(app, "?max_age_days=30")
    assert status == 200 and body["weekly"]["max_age_days"] == 30
    # The load balancer's probe does not care: a late ingest is no reason to take the instance out.
    assert app.test_client().get("/readyz").status_code == 200
    close_app(app)


def test_a_failed_weekly_run_is_a_503_with_its_message(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """QA: /readyz answered 200 right after a failed weekly run."""
    _record(data_dir, monkeypatch, "succeeded", 3)
    message = "WeeklyError: arXiv returned no candidates at all " + "x" * 1000
    _record(data_dir, monkeypatch, "failed", 0.1, message)
    app = _app(data_dir)
    status, body = _status(app)
    assert status == 503 and _codes(body) == ["weekly_failed"]
    weekly = body["weekly"]
    assert weekly["last_status"] == "failed" and weekly["last_message"] == message
    assert 71.9 <= weekly["age_hours"] <= 72.1  # the success before it still counts for freshness
    problem = body["problems"][0]["message"]
    assert "failed: WeeklyError: arXiv returned no candidates at all" in problem and len(problem) < 400
    # A retry under way does not clear the alert: the newest finished run is still the failed one.
    store = EmbeddedStore(data_dir / "paperkg.sqlite3")
    with ingest_lock(store, "weekly"):
        _record(data_dir, monkeypatch, "running", 0)
        status, body = _status(app)
    store.close()
    assert status == 503 and _codes(body) == ["weekly_failed"] and body["weekly"]["running_since"]
    assert body["weekly"]["interrupted_since"] is None
    close_app(app)


# A weekly ingest as far as the store sees it: it takes the ingest lock, records its run as running and
# works (here: waits) until killed.
_WEEKLY_RUN = """
import sys
from ingest.store_lock import LOCK_NAME, make_owner
from kg.embedded import EmbeddedStore
from kg.schema import RUN_SOURCE_WEEKLY

store = EmbeddedStore(sys.argv[1])
store.acquire_lock(LOCK_NAME, make_owner("weekly"), ttl_seconds=900)
print(store.start_run(RUN_SOURCE_WEEKLY).started, flush=True)
sys.stdin.read()
"""


def test_a_weekly_run_killed_while_running_is_a_503_interrupted(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """QA: a weekly run killed with kill -9 showed as "running_since" and a 200 until the next ingest."""
    _record(data_dir, monkeypatch, "succeeded", 1)
    app = _app(data_dir)
    run = subprocess.Popen([sys.executable, "-c", _WEEKLY_RUN, str(data_dir / "paperkg.sqlite3")],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert run.stdout is not None
    started = run.stdout.readline().strip()
    status, body = _status(app)
    assert status == 200 and body["weekly"]["running_since"] == started
    assert body["weekly"]["interrupted_since"] is None
    run.kill()
    run.wait()
    status, body = _status(app)
    assert status == 503 and _codes(body) == ["weekly_interrupted"]
    assert body["weekly"]["running_since"] is None and body["weekly"]["interrupted_since"] == started
    assert f"started {started} is recorded as running" in body["problems"][0]["message"]
    close_app(app)


def test_another_hosts_weekly_run_counts_as_running_until_its_lock_expires(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A holder this host cannot check (another container's pid space) is alive while its lock is fresh."""
    store = EmbeddedStore(data_dir / "paperkg.sqlite3")
    store.acquire_lock(LOCK_NAME, "other-host:4242:0000beef:weekly-0123abcd", ttl_seconds=900)
    _record(data_dir, monkeypatch, "running", 0)
    app = _app(data_dir)
    status, body = _status(app)
    assert status == 200 and body["weekly"]["running_since"]
    with sqlite3.connect(store.path) as conn:  # no refresh for longer than the lifetime: it is gone
        conn.execute("UPDATE locks SET expires = 0 WHERE name = ?", (LOCK_NAME,))
    status, body = _status(app)
    assert status == 503 and _codes(body) == ["weekly_interrupted"]
    store.close()
    close_app(app)


def test_the_last_success_is_found_behind_many_failures(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from api.health import RECENT_WEEKLY_RUNS

    _record(data_dir, monkeypatch, "succeeded", 30)
    for i in range(RECENT_WEEKLY_RUNS + 5):
        _record(data_dir, monkeypatch, "failed", 20 - i * 0.1, f"failure {i}")
    app = _app(data_dir)
    status, body = _status(app)
    assert status == 503 and _codes(body) == ["weekly_failed", "weekly_stale"]
    assert 719.9 <= body["weekly"]["age_hours"] <= 720.1
    # The same look-up on the runs API: the newest success, however many failures followed it.
    client = app.test_client()
    runs = client.get(f"/api/runs?source={RUN_SOURCE_WEEKLY}&status=succeeded&limit=1").get_json()["runs"]
    assert [r["status"] for r in runs] == ["succeeded"]
    assert runs[0]["finished"] == body["weekly"]["last_success"]
    failed = client.get("/api/runs?status=failed&limit=3").get_json()["runs"]
    assert [r["message"] for r in failed] == [f"failure {i}" for i in (24, 23, 22)]
    assert client.get("/api/runs?status=running").get_json() == {"runs": []}
    refused = client.get("/api/runs?status=ok")
    assert refused.status_code == 400 and refused.get_json()["error"]["parameter"] == "status"
    close_app(app)


def test_a_store_without_weekly_runs_is_fine_unless_asked(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store loaded from the list or a records file alone (the demo, a private one) has no weekly run."""
    _record(data_dir, monkeypatch, "succeeded", 40, source="records")
    app = _app(data_dir)
    status, body = _status(app)
    assert status == 200 and body["weekly"]["last_success"] is None and body["weekly"]["last_status"] is None
    status, body = _status(app, "?require_weekly=true")
    assert status == 503 and _codes(body) == ["weekly_missing"]
    for bad in ("?max_age_days=0", "?max_age_days=x", "?require_weekly=maybe", "?max_days=3"):
        response = app.test_client().get(f"/api/status{bad}")
        assert response.status_code == 400, bad
    close_app(app)


def test_a_missing_model_is_a_problem_but_leaves_readyz_ready(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """QA: /readyz answered 200 "ready" with no embedding model (hybrid search, the default, a 503): it
    stays 200 (the pages, keyword search and the API work) but says so, and /api/status is a 503."""
    _record(data_dir, monkeypatch, "succeeded", 1)
    before = set(threading.enumerate())
    app = _app(data_dir, warm=True, PAPERKG_EMBEDDING_MODEL=str(data_dir / "no-such-model"))
    for thread in set(threading.enumerate()) - before:  # the preload has finished (and failed)
        if thread.name == "paperkg-warm-worker":
            thread.join(timeout=120)
            assert not thread.is_alive()
    client = app.test_client()
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json() == {"status": "ready", "model": "unavailable"}
    status, body = _status(app)
    assert status == 503 and _codes(body) == ["model_unavailable"] and body["model"] == "unavailable"
    assert str(data_dir) not in str(body)  # the model's path stays in the server log
    assert client.get("/api/search?q=circuits").get_json()["error"]["code"] == "model_unavailable"
    assert client.get("/api/search?q=circuits&mode=keyword").status_code == 200
    close_app(app)


def test_a_model_loaded_on_first_use_or_loading_is_no_problem(data_dir: Path, model_embedder: Any) -> None:
    app = _app(data_dir)
    client = app.test_client()
    assert client.get("/readyz").get_json()["model"] == "not_loaded"  # the probe never loads it
    lock = app.extensions["paperkg_locks"]["paperkg_embedder"]
    with lock:  # what a load under way holds
        assert client.get("/readyz").get_json()["model"] == "loading"
        assert _status(app)[1]["model"] == "loading" and _status(app)[0] == 200
    # The real packaged model, loaded by a semantic search (shared with the process's loaded copy).
    assert client.get("/api/search?q=circuits&mode=semantic").status_code == 200
    assert client.get("/readyz").get_json() == {"status": "ready", "model": "ok"}
    close_app(app)


def test_status_says_the_store_is_unavailable_in_its_own_shape(tmp_path: Path) -> None:
    app = create_app(app_config(tmp_path / "typo"))
    status, body = _status(app)
    assert status == 503 and _codes(body) == ["store_unavailable"] and body["weekly"] is None
    assert str(tmp_path) not in body["problems"][0]["message"]
    close_app(app)


def test_status_on_a_real_server(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What a monitor (curl, Uptime Kuma) sees over HTTP."""
    _record(data_dir, monkeypatch, "failed", 0.5, "WeeklyError: arXiv answered 503 three times")
    app = _app(data_dir)
    with serving(app) as port:
        response = requests.get(f"http://127.0.0.1:{port}/api/status", timeout=30)
        ready = requests.get(f"http://127.0.0.1:{port}/readyz", timeout=30)
    assert response.status_code == 503 and response.headers["Content-Type"] == "application/json"
    assert response.json()["problems"][0]["code"] == "weekly_failed"
    assert ready.status_code == 200
    close_app(app)


def test_a_model_other_than_the_stores_is_a_503_model_mismatch(tmp_path: Path) -> None:
    """QA: PAPERKG_EMBEDDING_MODEL changed under a store left /api/status at 200 while every semantic and
    hybrid search answered 503 model_mismatch."""
    from tests.api.conftest import another_models_store
    from tests.embedders import HashEmbedder, OtherModel

    data = another_models_store(tmp_path / "data")
    app = create_app(app_config(data, EMBEDDER=HashEmbedder()))
    status, body = _status(app)
    assert status == 503 and _codes(body) == ["model_mismatch"] and body["model"] == "ok"
    assert "another-model" not in body["problems"][0]["message"]  # names stay in the log
    close_app(app)
    # The store's own model is fine.
    same = create_app(app_config(tmp_path / "again", STORE=EmbeddedStore(data / "paperkg.sqlite3"),
                                 EMBEDDER=OtherModel()))
    status, body = _status(same)
    assert status == 200 and body["problems"] == []
    close_app(same)


def test_a_weekly_run_ending_between_the_status_reads_is_not_called_interrupted(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review: the runs and the lock are two reads; a run that succeeded and let the lock go between them
    was reported weekly_interrupted. It is read again, as it ended."""
    import api.health

    _record(data_dir, monkeypatch, "running", 0)
    store = EmbeddedStore(data_dir / "paperkg.sqlite3")
    run = store.runs(RUN_SOURCE_WEEKLY, 1)[0]

    def ends_then_reads(*_: Any) -> bool:
        store.finish_run(run.id, "succeeded", {"new": 1, "load_run": None}, watermark=NOW.isoformat())
        return False  # the lock, read after the run let it go

    monkeypatch.setattr(api.health, "_ingest_alive", ends_then_reads)
    app = _app(data_dir)
    status, body = _status(app)
    assert status == 200 and body["problems"] == []
    assert body["weekly"]["last_status"] == "succeeded" and body["weekly"]["interrupted_since"] is None
    store.close()
    close_app(app)
