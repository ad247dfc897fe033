"""Liveness and readiness checks (api/health.py): /healthz, /readyz and why a store is not ready."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient

from api.app import close_app, create_app
from tests.api.conftest import app_config


def test_health(client: FlaskClient) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/readyz").get_json() == {"status": "ready"}


def test_readyz_gives_the_reason_not_a_class_name(tmp_path: Path) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("a file where the data directory should be")
    app = create_app(app_config(blocker))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    message = response.get_json()["error"]["message"]
    assert message.startswith("store unreachable: no paperkg store in $PAPERKG_DATA_DIR: ")
    assert str(blocker) not in message  # the server's paths stay in its log, as on other error answers
    close_app(app)


def test_readyz_replaces_a_relative_data_dir_only_where_it_is_a_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").write_text("a file where the data directory should be")
    app = create_app(app_config(Path("data")))
    message = app.test_client().get("/readyz").get_json()["error"]["message"]
    # The word "data" in the reason stays ("demo-data/" too); the directory itself is named by its variable.
    assert message.startswith("store unreachable: no paperkg store in $PAPERKG_DATA_DIR: ")
    assert "`make demo` uses demo-data/" in message and str(tmp_path) not in message
    close_app(app)

