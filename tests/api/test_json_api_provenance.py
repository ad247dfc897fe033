"""What a search answer says about how it was made, for a methods section ("N papers, query Q, filters
F, paperkg X"): GET /api/search and `paperkg search --json` echo the filters as the server read them,
what ranked the results and the installed paperkg version; and the source filter's words say a paper's
sources are a set."""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner
from flask import Flask

from api.app import close_app, create_app
from api.openapi import build_document
from kg.cli import main
from tests.api.conftest import app_config, serving

# Every filter, each given as a client may spell it: ids repeated and comma-joined with spaces, a
# source in another case and twice.
MESSY_FILTERS = [("technique", "sae, activation_patching"), ("technique", "sae"), ("technique_match", "all"),
                 ("topic", "superposition"), ("model", "gpt2,gpt2"), ("component", "induction_head"),
                 ("source", "arXiv, LIST"), ("source", "arxiv"), ("year_from", "2019"), ("year_to", "2024"),
                 ("refinements", "false")]
READ_FILTERS = {"technique": ["sae", "activation_patching"], "technique_match": "all", "refinements": False,
                "topic": ["superposition"], "model": ["gpt2"], "component": ["induction_head"],
                "source": ["arxiv", "list"], "year_from": 2019, "year_to": 2024}
NO_FILTERS = {"technique": [], "technique_match": "any", "refinements": True, "topic": [], "model": [],
              "component": [], "section": [], "source": [], "year_from": None, "year_to": None}


@pytest.fixture(scope="module")
def seeded_app(seeded_dir: Path) -> Iterator[Flask]:
    """An app on a copy of the seed store, opened from its data directory (as `paperkg serve` does)."""
    app = create_app(app_config(seeded_dir))
    yield app
    close_app(app)


@pytest.fixture(scope="module")
def base_url(seeded_app: Flask) -> Iterator[str]:
    """The seeded app on a real HTTP server on 127.0.0.1."""
    with serving(seeded_app) as port:
        yield f"http://127.0.0.1:{port}"


def _search(base_url: str, params: list[tuple[str, str]]) -> dict[str, Any]:
    response = requests.get(f"{base_url}/api/search", params=params, timeout=60)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _section_id(base_url: str) -> str:
    sections = requests.get(f"{base_url}/api/sections", timeout=60).json()
    return str(sections["sections"][0]["id"])


def test_search_echoes_every_filter_as_the_server_read_it(base_url: str) -> None:
    section = _section_id(base_url)
    body = _search(base_url, [("q", "circuits"), ("mode", "keyword"), *MESSY_FILTERS,
                              ("section", f"{section},{section}")])
    assert body["filters"] == {**READ_FILTERS, "section": [section]}
    # Existing fields unchanged beside them.
    assert (body["query"], body["mode"], body["limit"], body["offset"]) == ("circuits", "keyword", 10, 0)


def test_search_without_filters_echoes_them_all_empty(base_url: str) -> None:
    body = _search(base_url, [("q", "circuits"), ("mode", "keyword")])
    assert body["filters"] == NO_FILTERS and body["results"]


def test_search_says_which_paperkg_version_answered(base_url: str) -> None:
    body = _search(base_url, [("q", "circuits"), ("mode", "keyword")])
    assert body["paperkg_version"] == metadata.version("paperkg")
    assert body["paperkg_version"] == requests.get(f"{base_url}/api/openapi.json", timeout=60).json()[
        "info"]["version"]


@pytest.mark.parametrize("mode", ["hybrid", "semantic", "keyword"])
def test_a_filter_listing_says_the_mode_was_not_used(base_url: str, mode: str) -> None:
    """With no query the papers passing the filters are listed newest first in every mode: `mode` still
    echoes the request, `mode_used` says what ordered the results."""
    listed = _search(base_url, [("q", " "), ("mode", mode), ("topic", "superposition")])
    assert listed["results"] and {r["why"]["mode"] for r in listed["results"]} == {"filter"}
    assert (listed["mode"], listed["mode_used"]) == (mode, "filter")


def test_a_query_says_its_mode_was_used(base_url: str) -> None:
    ranked = _search(base_url, [("q", "superposition"), ("mode", "keyword"), ("topic", "superposition")])
    assert ranked["results"] and ranked["mode_used"] == "keyword"


def test_cli_search_json_carries_the_same_provenance(base_url: str, env: dict[str, str]) -> None:
    section = _section_id(base_url)
    cli_args = ["--mode", "keyword", "--technique", "sae, activation_patching", "--technique", "sae",
                "--technique-match", "all", "--topic", "superposition", "--model", "gpt2,gpt2",
                "--component", "induction_head", "--source", "arXiv, LIST", "--source", "arxiv",
                "--year-from", "2019", "--year-to", "2024", "--section", section]
    result = CliRunner().invoke(main, ["search", "", *cli_args, "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output[result.output.index("{"):])
    # The CLI always includes refinements (it has no option for them).
    assert body["filters"] == {**READ_FILTERS, "refinements": True, "section": [section]}
    assert (body["mode"], body["mode_used"]) == ("keyword", "filter")
    assert body["paperkg_version"] == metadata.version("paperkg")
    api = _search(base_url, [("q", ""), ("mode", "keyword"), *MESSY_FILTERS[:-1], ("section", section)])
    assert {k: body[k] for k in ("filters", "mode", "mode_used", "paperkg_version")} == {
        k: api[k] for k in ("filters", "mode", "mode_used", "paperkg_version")}


def test_the_source_filter_says_a_paper_has_several_sources() -> None:
    """`source=arxiv` passes a list paper that got arXiv metadata too: the words must not read as "found
    by the weekly arXiv ingest"."""
    source = next(p for p in build_document()["paths"]["/api/search"]["get"]["parameters"]
                  if p["name"] == "source")
    assert "both list and arxiv" in source["description"], source["description"]
    help_text = " ".join(CliRunner().invoke(main, ["search", "--help"]).output.split())
    assert "both list and arxiv" in help_text, help_text
