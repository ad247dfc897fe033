"""Errors (api/errors.py): the API, feeds and health checks answer JSON, never an HTML page; a damaged
store is a 503 naming the problem."""

from __future__ import annotations

from pathlib import Path

from flask.testing import FlaskClient

from api.app import close_app, create_app
from tests.api.conftest import app_config
from tests.kg.test_embedded_durability import STORE_FILE, damage_papers_table, seeded_store


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


def test_no_html_error_pages_under_api(client: FlaskClient) -> None:
    for response in (client.get("/api/"), client.get("/api/papers/"), client.put("/api/papers/x"),
                     client.get("/feeds/missing.atom"), client.post("/healthz")):
        assert response.content_type.startswith("application/json"), response.get_data(as_text=True)[:200]
        assert response.get_json()["error"]["message"]
