"""api/params.py search_request: a query of only invisible characters is an empty query, in the API (on a
real HTTP server) and in `paperkg search`, as one of only spaces was (QA: `q=%E2%80%8B` listed 38
arbitrary papers where `q=%C2%A0` got the 400)."""

from __future__ import annotations

import http.client
import json
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from click.testing import CliRunner
from flask import Flask
from werkzeug.datastructures import MultiDict

from api.params import ParameterError, search_request
from kg.cli import main
from kg.taxonomy import Taxonomy
from tests.api.conftest import serving
from tests.seed_store import seed_db_path

INVISIBLE = ["\u200b", "\u0301", "\ufeff\u00ad", "\u200b \u0301"]


@pytest.mark.parametrize("query", INVISIBLE)
def test_search_request_reads_an_invisible_query_as_empty(taxonomy: Taxonomy, query: str) -> None:
    with pytest.raises(ParameterError) as refused:
        search_request(taxonomy, list, MultiDict([("q", query)]))
    assert refused.value.message == "parameter 'q': give a query or at least one filter"
    # With a filter it lists the filtered papers, as an empty query does.
    request = search_request(taxonomy, list, MultiDict([("q", query), ("technique", "sae")]))
    assert request.query == "" and request.filters.technique_ids == ["sae"]


def test_a_visible_query_is_kept_as_typed(taxonomy: Taxonomy) -> None:
    """Only the empty check reads the query normalised; search() normalises what it searches."""
    assert search_request(taxonomy, list, MultiDict([("q", "ＳＡＥ\u200b")])).query == "ＳＡＥ\u200b"


def _get(port: int, path: str) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


@pytest.mark.parametrize("query", INVISIBLE)
def test_the_api_answers_an_invisible_query_as_an_empty_one(app: Flask, query: str) -> None:
    with serving(app) as port:
        status, body = _get(port, f"/api/search?q={quote(query)}")
        assert status == 400, body
        assert body["error"]["message"] == "parameter 'q': give a query or at least one filter"
        status, body = _get(port, f"/api/search?q={quote(query)}&technique=sae&limit=50")
        assert status == 200, body
        assert body["query"] == "" and body["results"]
        assert all(r["why"]["mode"] == "filter" for r in body["results"])
        status, listed = _get(port, "/api/search?q=&technique=sae&limit=50")
        assert [r["id"] for r in body["results"]] == [r["id"] for r in listed["results"]]


@pytest.fixture(scope="module")
def seeded_env(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """PAPERKG_* for a copy of the seed store (embedded)."""
    folder = tmp_path_factory.mktemp("cli-invisible")
    shutil.copy(seed_db_path(shared_data), folder / "paperkg.sqlite3")
    return {"PAPERKG_DATA_DIR": str(folder), "PAPERKG_STORE": "embedded", "PAPERKG_NEO4J_URI": ""}


def test_the_cli_reads_an_invisible_query_as_an_empty_one(seeded_env: dict[str, str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PAPERKG_NEO4J_URI", raising=False)
    for key, value in seeded_env.items():
        if value:
            monkeypatch.setenv(key, value)
    refused = CliRunner().invoke(main, ["search", "\u200b"])
    assert refused.exit_code == 2, refused.output
    assert "give a query or at least one filter" in refused.output
    listed = CliRunner().invoke(main, ["search", "\u200b", "--technique", "sae"])
    assert listed.exit_code == 0, listed.output
    assert "(filtered, newest first)" in listed.output
