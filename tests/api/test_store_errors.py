"""The API on a store that cannot serve: /readyz says why, a damaged file is a 503 naming the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.app import close_app, create_app
from tests.api.conftest import app_config
from tests.kg.test_embedded_durability import STORE_FILE, damage_papers_table, seeded_store


def test_readyz_gives_the_reason_not_a_class_name(tmp_path: Path) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("a file where the data directory should be")
    app = create_app(app_config(blocker))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    message = response.get_json()["error"]["message"]
    assert message.startswith("store unreachable: cannot create data directory $PAPERKG_DATA_DIR")
    assert str(blocker) not in message  # the server's paths stay in its log, as on other error answers
    close_app(app)


def test_readyz_replaces_a_relative_data_dir_only_where_it_is_a_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").write_text("a file where the data directory should be")
    app = create_app(app_config(Path("data")))
    message = app.test_client().get("/readyz").get_json()["error"]["message"]
    # The word "data" in the reason stays; the directory itself is named by its variable.
    assert message.startswith("store unreachable: cannot create data directory $PAPERKG_DATA_DIR")
    assert "data directory" in message and str(tmp_path) not in message
    close_app(app)


def test_a_damaged_store_is_a_503_naming_the_problem(tmp_path: Path) -> None:
    data = tmp_path / "data"
    seeded_store(data / STORE_FILE)
    damage_papers_table(data / STORE_FILE)
    app = create_app(app_config(data))
    client = app.test_client()
    for url in ("/api/search?q=induction&mode=keyword", "/api/papers/2301.00001"):
        response = client.get(url)
        assert response.status_code == 503, url
        error = response.get_json()["error"]
        assert error["code"] == "store_damaged"
        assert "damaged" in error["message"] and "backup" in error["message"]
        assert str(data) not in error["message"]  # the file's path is for the server log only
    # A web page says the same, not "try again in a minute" (retrying cannot help).
    page = client.get("/search?q=induction&mode=keyword")
    assert page.status_code == 503
    text = page.get_data(as_text=True)
    assert "The graph store is damaged" in text and "restore it from a backup" in text
    assert "Try again in a minute" not in text and str(data) not in text
    close_app(app)
