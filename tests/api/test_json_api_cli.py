"""The api package's CLI twins (`paperkg search`, `paperkg related`) and an app built from the
environment alone (the store opened lazily from PAPERKG_DATA_DIR, closed by close_app)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from api.app import close_app, create_app
from kg.cli import main
from kg.store import StoreError
from tests.seed_store import seed_db_path


@pytest.fixture(scope="module")
def seeded_dir(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory holding a copy of the seed store."""
    folder = tmp_path_factory.mktemp("cli-data")
    shutil.copy(seed_db_path(shared_data), folder / "paperkg.sqlite3")
    return folder


@pytest.fixture
def env(seeded_dir: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """PAPERKG_* pointing at the seeded copy (embedded store)."""
    monkeypatch.delenv("PAPERKG_NEO4J_URI", raising=False)
    values = {"PAPERKG_DATA_DIR": str(seeded_dir), "PAPERKG_STORE": "embedded"}
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


def test_search_json_matches_the_api_format(env: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["search", "indirect object identification", "--json", "--limit", "3"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output[result.output.index("{"):])
    assert body["results"][0]["id"] == "2211.00593" and len(body["results"]) == 3
    assert {"id", "title", "score", "techniques", "why"} <= set(body["results"][0])


def test_search_text_with_technique_filter(env: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["search", "lens", "--mode", "keyword", "--technique", "logit_lens"])
    assert result.exit_code == 0, result.output
    assert "Tuned Lens" in result.output and "techniques: Logit Lens" in result.output
    bad = CliRunner().invoke(main, ["search", "x", "--technique", "nope"])
    assert bad.exit_code != 0 and "unknown taxonomy id(s): nope" in bad.output


def test_related_cli(env: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["related", "2211.00593", "--limit", "4"])
    assert result.exit_code == 0, result.output
    assert result.output.count("cosine") == 4
    as_json = json.loads(CliRunner().invoke(main, ["related", "2211.00593", "--json"]).output)
    assert len(as_json["results"]) == 10 and all(r["reasons"] for r in as_json["results"])
    missing = CliRunner().invoke(main, ["related", "nope"])
    assert missing.exit_code != 0 and "unknown paper id(s): nope" in missing.output


def test_app_from_environment_opens_and_closes_its_store(env: dict[str, str]) -> None:
    app = create_app({"TESTING": True})
    client = app.test_client()
    assert client.get("/readyz").get_json() == {"status": "ready"}
    stats = client.get("/api/stats").get_json()
    assert stats["nodes"]["Paper"] >= 30
    store = app.extensions["paperkg_store"]
    close_app(app)
    assert "paperkg_store" not in app.extensions
    with pytest.raises(StoreError, match="closed"):
        store.ping()
