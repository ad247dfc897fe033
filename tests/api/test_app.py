"""The app factory: the embedding model warmed in the background for servers, and not otherwise."""

from __future__ import annotations

import importlib
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from api.app import create_app, get_embedder
from kg.config import load_config
from kg.embedded import EmbeddedStore
from tests.api.conftest import app_config

WARM_THREAD = "paperkg-warm-worker"


def _wait_for_warm_thread(timeout: float = 180.0) -> None:
    """Join the warm-up thread (the model load takes a few seconds, longer on a busy machine)."""
    for thread in threading.enumerate():
        if thread.name == WARM_THREAD:
            thread.join(timeout)


def test_servers_load_the_model_before_the_first_query(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`api.wsgi:app` (what gunicorn runs) starts loading the real model as it is created, so no
    request pays for it."""
    monkeypatch.delenv("PAPERKG_EMBEDDING_MODEL", raising=False)
    sys.modules.pop("api.wsgi", None)
    wsgi = importlib.import_module("api.wsgi")
    assert wsgi.app.config["WARM_EMBEDDER"] is True
    _wait_for_warm_thread()
    warmed = wsgi.app.extensions.get("paperkg_embedder")
    assert warmed is not None, "the model was not loaded in the background"
    assert get_embedder(wsgi.app) is warmed  # requests share it; nothing loads again
    vector = warmed.encode_query("induction heads")
    assert vector.shape == (384,) and abs(float(np.linalg.norm(vector)) - 1.0) < 1e-4
    sys.modules.pop("api.wsgi", None)


def test_gunicorn_logs_at_paperkg_log_level(tmp_path: Path) -> None:
    """gunicorn sets up only its own loggers: before, the API's log lines (PAPERKG_LOG_LEVEL) vanished."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = dict(os.environ, PAPERKG_DATA_DIR=str(tmp_path), PAPERKG_STORE="embedded", PAPERKG_LOG_LEVEL="INFO")
    env.pop("PAPERKG_NEO4J_URI", None)
    env.pop("PAPERKG_EMBEDDING_MODEL", None)
    gunicorn = Path(sys.executable).with_name("gunicorn")
    proc = subprocess.Popen([str(gunicorn), "-w", "1", "-b", f"127.0.0.1:{port}", "api.wsgi:app"],
                            cwd=Path(__file__).resolve().parents[2], env=env, stderr=subprocess.PIPE,
                            text=True)
    seen: list[str] = []
    loaded = threading.Event()

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:  # the warm-up logs at INFO once the model is loaded
            seen.append(line)
            if "INFO api.app: embedding model loaded" in line:
                loaded.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        # A generous bound on loading the model, so that a missing line fails instead of hanging.
        assert loaded.wait(180), "no INFO line from the API:\n" + "".join(seen)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        reader.join(timeout=10)


def test_the_plain_factory_loads_nothing_until_asked(tmp_path: Path) -> None:
    app = create_app(app_config(tmp_path))
    assert WARM_THREAD not in {t.name for t in threading.enumerate()}
    time.sleep(0.2)  # a thread, had one started, would be loading by now
    assert "paperkg_embedder" not in app.extensions


def test_a_failed_warm_up_is_reported_by_the_first_search(
    tmp_path: Path, seed_store: EmbeddedStore, caplog: pytest.LogCaptureFixture
) -> None:
    """A missing model does not break start-up: the warm-up logs it, a semantic search tries again
    and gets a 503, and keyword search works."""
    config = load_config(env={"PAPERKG_DATA_DIR": str(tmp_path),
                              "PAPERKG_EMBEDDING_MODEL": str(tmp_path / "no-model")})
    with caplog.at_level("WARNING", logger="api.app"):
        app = create_app({"TESTING": True, "PAPERKG_CONFIG": config, "STORE": seed_store,
                          "WARM_EMBEDDER": True})
        _wait_for_warm_thread()
    assert any("could not preload the embedding model" in r.getMessage() for r in caplog.records)
    client = app.test_client()
    caplog.clear()
    with caplog.at_level("WARNING"):
        semantic = client.get("/api/search", query_string={"q": "induction heads", "mode": "semantic"})
    assert semantic.status_code == 503
    assert "no usable embedding model; mode=keyword needs none" in semantic.get_json()["error"]["message"]
    # The request tried the load again (the server log names the path; the client is not told it).
    assert any("no-model" in r.getMessage() and r.name == "api.json_api" for r in caplog.records)
    keyword = client.get("/api/search", query_string={"q": "induction heads", "mode": "keyword"})
    assert keyword.status_code == 200 and keyword.get_json()["results"]


def test_a_process_that_loaded_the_model_shares_it_with_the_app(
    tmp_path: Path, seed_store: EmbeddedStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """`make demo` ingests, then serves in the same process: the app reuses the ingest's weights
    (no second load) but encodes on one torch thread, and the ingest's embedder keeps its own."""
    monkeypatch.delenv("PAPERKG_EMBEDDING_MODEL", raising=False)
    from ingest.embed import get_embedder as process_embedder
    from ingest.embed import loaded_embedder

    ingest = process_embedder()
    assert loaded_embedder() is ingest
    app = create_app({"TESTING": True, "PAPERKG_CONFIG": load_config(env={"PAPERKG_DATA_DIR": str(tmp_path)}),
                      "STORE": seed_store})
    served = get_embedder(app)
    assert served is not ingest and served._model is ingest._model and served._lock is ingest._lock
    assert served.threads == 1 and ingest.threads is None
    query = "logit lens"
    np.testing.assert_allclose(served.encode_query(query), ingest.encode_query(query), atol=1e-6)


def test_a_query_model_other_than_the_stores_is_refused_not_ranked_at_random(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Papers embedded by one model, queries by another (PAPERKG_EMBEDDING_MODEL changed after the
    ingest): the cosines would be meaningless, so semantic search says why and keyword search works."""
    from click.testing import CliRunner

    from kg.cli import main
    from tests.api.conftest import plumbing_bundles
    from tests.embedders import HashEmbedder
    from tests.seed_store import taxonomy_store

    class OtherModel(HashEmbedder):
        model_name = "another-model"

    data = tmp_path / "data"
    store = taxonomy_store(data / "paperkg.sqlite3")
    store.upsert_papers(plumbing_bundles(OtherModel()))
    store.close()
    app = create_app(app_config(data, EMBEDDER=HashEmbedder()))
    client = app.test_client()
    semantic = client.get("/api/search", query_string={"q": "patching", "mode": "semantic"})
    assert semantic.status_code == 503
    assert semantic.get_json()["error"]["code"] == "model_mismatch"
    assert client.get("/api/search", query_string={"q": "patching", "mode": "keyword"}).status_code == 200
    page = client.get("/search", query_string={"q": "patching", "mode": "hybrid"}).get_data(as_text=True)
    assert "not the one the papers were embedded with" in page
    # The same embedder for the store's own model is accepted.
    same = create_app(app_config(tmp_path / "again", STORE=EmbeddedStore(data / "paperkg.sqlite3"),
                                 EMBEDDER=OtherModel()))
    assert same.test_client().get("/api/search", query_string={"q": "patching"}).status_code == 200
    # The CLI loads the configured (packaged) model, which is not the store's either.
    monkeypatch.setenv("PAPERKG_DATA_DIR", str(data))
    cli = CliRunner().invoke(main, ["search", "patching", "--mode", "semantic"])
    assert cli.exit_code == 1 and "the store holds embeddings of 'another-model'" in cli.output


def test_the_app_never_creates_a_store_and_picks_one_up_once_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A mistyped PAPERKG_DATA_DIR (gunicorn's api.wsgi:app, `paperkg serve`): every request answers 503
    saying there is no store, and nothing is created there (an empty store made by a request passed
    the reading commands' "no store" check); once `paperkg init` makes one, the running app serves it."""
    from click.testing import CliRunner

    from api.app import close_app
    from kg.cli import main

    data = tmp_path / "typo"
    app = create_app({"TESTING": True, "PAPERKG_CONFIG": load_config(env={"PAPERKG_DATA_DIR": str(data)})})
    client = app.test_client()
    ready = client.get("/readyz")
    assert ready.status_code == 503
    message = ready.get_json()["error"]["message"]
    assert message.startswith("store unreachable: no paperkg store in ") and "paperkg init" in message
    for url in ("/api/stats", "/api/techniques", "/feeds/new.atom"):
        response = client.get(url)
        assert response.status_code == 503, url
        assert response.get_json()["error"]["code"] == "store_unavailable"
    page = client.get("/")
    assert page.status_code == 503 and "The graph store is unavailable" in page.get_data(as_text=True)
    shown = page.get_data(as_text=True).split("<main")[1]
    assert "There is no graph store here: the operator must check PAPERKG_DATA_DIR" in shown
    assert "or run paperkg init and an ingest there." in shown
    assert "`" not in shown  # text, not Markdown
    assert "paperkg init" in client.get("/api/stats").get_json()["error"]["message"]
    assert not data.exists()
    # Tables without a taxonomy (what such a request used to leave) are no store either.
    EmbeddedStore(data / "paperkg.sqlite3").close()
    ready = client.get("/readyz")
    assert ready.status_code == 503 and "never initialised" in ready.get_json()["error"]["message"]
    monkeypatch.setenv("PAPERKG_DATA_DIR", str(data))
    monkeypatch.setenv("PAPERKG_STORE", "embedded")
    monkeypatch.delenv("PAPERKG_NEO4J_URI", raising=False)
    assert CliRunner().invoke(main, ["init"]).exit_code == 0
    try:
        assert client.get("/readyz").get_json() == {"status": "ready"}
        assert client.get("/api/stats").get_json()["nodes"]["Technique"] > 20
    finally:
        close_app(app)


def test_servers_warm_the_store_before_the_first_request(
    tmp_path: Path, shared_data: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The warm-up also reads the store's vectors and related-papers index (seconds at 100k papers), so
    the first semantic search or related request reads neither."""
    import shutil

    from tests.seed_store import seed_db_path

    shutil.copy(seed_db_path(shared_data), tmp_path / "paperkg.sqlite3")
    store = EmbeddedStore(tmp_path / "paperkg.sqlite3")
    config = load_config(env={"PAPERKG_DATA_DIR": str(tmp_path)})
    with caplog.at_level("INFO", logger="api.app"):
        app = create_app({"TESTING": True, "PAPERKG_CONFIG": config, "STORE": store, "WARM_EMBEDDER": True})
        _wait_for_warm_thread()
    assert any(r.getMessage() == "store vectors and related-papers index loaded" for r in caplog.records)
    statements: list[str] = []
    store._conn().set_trace_callback(statements.append)  # the request thread's connection (test client)
    client = app.test_client()
    semantic = client.get("/api/search", query_string={"q": "induction heads", "mode": "semantic"})
    assert semantic.status_code == 200
    assert client.get("/api/papers/2211.00593/related").status_code == 200
    assert not [s for s in statements if "embedding, year" in s or "json_group_array" in s]
    store.close()
