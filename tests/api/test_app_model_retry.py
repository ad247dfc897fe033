"""The app with a broken model install (torch that cannot be imported): the documented 503s, and a failed
load tried again at most every MODEL_RETRY_SECONDS, not by every request.

QA (a low-resource laptop, torch shadowed): GET /api/search answered a bare 500 internal_error with a
traceback logged on every request, and each request paid for a new load attempt.
"""

from __future__ import annotations

import logging
import sys
import threading
from pathlib import Path

import pytest
from flask import Flask

import ingest.embed
from api.app import create_app, get_embedder
from kg.config import load_config
from kg.embedded import EmbeddedStore
from tests.api.conftest import app_config
from tests.broken_imports import ERRORS, BrokenImport, break_import

KEYWORD_HINT = ("semantic search is unavailable: the server has no usable embedding model; "
                "mode=keyword needs none")


@pytest.fixture(autouse=True)
def _no_loaded_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """No model this process already loaded (another test's) may stand in for the load under test."""
    monkeypatch.setattr(ingest.embed, "_CACHE", {})


def _app(tmp_path: Path, store: EmbeddedStore, **extra: object) -> Flask:
    return create_app(app_config(tmp_path, STORE=store, **extra))


@pytest.mark.parametrize("error", ["ImportError", "OSError"])
def test_a_torch_that_cannot_be_imported_is_a_503_model_unavailable(
    tmp_path: Path, plumbing_store: EmbeddedStore, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture, error: str
) -> None:
    break_import(monkeypatch, "torch", ERRORS[error])
    client = _app(tmp_path, plumbing_store).test_client()
    with caplog.at_level(logging.WARNING):
        for mode in ("hybrid", "semantic"):
            response = client.get("/api/search", query_string={"q": "sparse autoencoders", "mode": mode})
            assert response.status_code == 503, response.get_data(as_text=True)[:300]
            assert response.headers["Retry-After"] == "60"
            assert response.get_json()["error"] == {"code": "model_unavailable", "message": KEYWORD_HINT}
    # One WARNING line a request, naming the broken package: no traceback, no ERROR from the error handler.
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    warned = [r.getMessage() for r in caplog.records if r.name == "api.json_api"]
    assert warned and all("importing torch failed" in w for w in warned), warned
    keyword = client.get("/api/search", query_string={"q": "sparse autoencoders", "mode": "keyword"})
    assert keyword.status_code == 200 and "2401.00001" in [r["id"] for r in keyword.get_json()["results"]]
    assert client.get("/readyz").get_json() == {"status": "ready", "model": "unavailable"}
    status = client.get("/api/status")
    assert status.status_code == 503
    assert [p["code"] for p in status.get_json()["problems"]] == ["model_unavailable"]


def test_a_failed_load_is_tried_again_only_after_the_retry_interval(
    tmp_path: Path, empty_store: EmbeddedStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Meanwhile every request gets the same 503 at once; once the interval is over (here: set to 0) and
    the install is put right, the next request loads the model, without a restart."""
    saved = sys.modules.get("torch")
    finder = break_import(monkeypatch, "torch", ERRORS["OSError"])
    app = _app(tmp_path, empty_store, MODEL_RETRY_SECONDS=3600)
    client = app.test_client()
    for _ in range(3):
        response = client.get("/api/search", query_string={"q": "circuits"})
        assert response.status_code == 503 and response.get_json()["error"]["code"] == "model_unavailable"
    assert finder.tries == 1
    assert client.get("/readyz").get_json()["model"] == "unavailable"
    # The install is fixed (the real torch importable again) and the interval has passed.
    sys.meta_path.remove(finder)
    if saved is not None:
        monkeypatch.setitem(sys.modules, "torch", saved)
    app.config["MODEL_RETRY_SECONDS"] = 0
    response = client.get("/api/search", query_string={"q": "circuits"})
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert client.get("/readyz").get_json() == {"status": "ready", "model": "ok"}
    assert finder.tries == 1


def test_requests_waiting_for_a_load_that_fails_do_not_each_try_again(
    tmp_path: Path, plumbing_store: EmbeddedStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request that waited for the lock while another's load failed gets that failure, not a load of
    its own (a broken install otherwise cost each waiting request its own attempt)."""
    started, release = threading.Event(), threading.Event()

    def slow_failure() -> Exception:
        started.set()
        release.wait(60)  # a liveness bound only: the test releases it
        return OSError("libtorch_cpu.so: cannot open shared object file")

    finder = break_import(monkeypatch, "torch", slow_failure)
    app = _app(tmp_path, plumbing_store, MODEL_WAIT_SECONDS=600, MODEL_RETRY_SECONDS=3600)
    errors: list[BaseException] = []

    def load() -> None:
        try:
            get_embedder(app)
        except Exception as exc:
            errors.append(exc)

    first = threading.Thread(target=load)
    first.start()
    assert started.wait(60)
    others = [threading.Thread(target=load) for _ in range(3)]
    for thread in others:
        thread.start()
    release.set()
    for thread in [first, *others]:
        thread.join(60)
    assert finder.tries == 1
    assert len(errors) == 4 and all(isinstance(e, ingest.embed.ModelMissing) for e in errors), errors


def test_a_warm_up_that_failed_is_not_tried_again_by_each_search(
    tmp_path: Path, plumbing_store: EmbeddedStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The servers' start-up preload fails on a broken install: the searches after it answer from its
    failure until the interval is over."""
    finder: BrokenImport = break_import(monkeypatch, "torch", ERRORS["ImportError"])
    config = load_config(env={"PAPERKG_DATA_DIR": str(tmp_path)})
    app = create_app({"TESTING": True, "PAPERKG_CONFIG": config, "STORE": plumbing_store,
                      "MODEL_RETRY_SECONDS": 3600})
    with pytest.raises(ingest.embed.ModelMissing):
        get_embedder(app, patient=True)  # what the warm-up thread runs
    client = app.test_client()
    for _ in range(2):
        assert client.get("/api/search?q=probing").get_json()["error"]["code"] == "model_unavailable"
    assert finder.tries == 1
