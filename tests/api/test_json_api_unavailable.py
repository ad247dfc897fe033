"""A store that cannot be reached (Neo4j URI on a closed port): /readyz and the API answer 503 JSON,
/healthz stays 200, and nothing leaks a stack trace."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from api.app import create_app
from kg.config import load_config


def closed_port() -> int:
    """A loopback port nothing listens on (bound once to get a free number, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def down_client(tmp_path: Path) -> FlaskClient:
    """An app configured for Neo4j at bolt://127.0.0.1:<closed port>."""
    config = load_config(env={"PAPERKG_NEO4J_URI": f"bolt://127.0.0.1:{closed_port()}",
                              "PAPERKG_NEO4J_PASSWORD": "unused", "PAPERKG_DATA_DIR": str(tmp_path)})
    assert config.backend == "neo4j"
    return create_app({"TESTING": True, "PAPERKG_CONFIG": config}).test_client()


def test_unreachable_store_gives_503_json(down_client: FlaskClient) -> None:
    assert down_client.get("/healthz").status_code == 200
    for url in ("/readyz", "/api/stats", "/api/papers/2211.00593", "/api/search?q=probing&mode=keyword",
                "/api/techniques", "/feeds/new.atom"):
        response = down_client.get(url)
        assert response.status_code == 503, (url, response.get_data(as_text=True)[:300])
        assert response.content_type.startswith("application/json")
        error = response.get_json()["error"]
        assert error["code"] == "store_unavailable" and "Traceback" not in error["message"]
    response = down_client.post("/api/recommend", json={"liked": ["2211.00593"]})
    assert response.status_code == 503 and response.get_json()["error"]["code"] == "store_unavailable"


def test_every_503_says_when_to_try_again(down_client: FlaskClient) -> None:
    """Retry-After (seconds) on each 503, as the OpenAPI document declares: a client or a proxy backs off
    instead of retrying at once."""
    from api.errors import RETRY_AFTER_SECONDS

    for response in (down_client.get("/readyz"), down_client.get("/api/stats"),
                     down_client.get("/api/search?q=probing&mode=keyword"),
                     down_client.get("/feeds/new.atom"),
                     down_client.post("/api/recommend", json={"liked": ["2211.00593"]})):
        assert response.status_code == 503
        assert response.headers["Retry-After"] == str(RETRY_AFTER_SECONDS) == "60"
    assert "Retry-After" not in down_client.get("/healthz").headers
