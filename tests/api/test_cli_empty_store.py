"""`paperkg search` on a store with a taxonomy but no papers says the store is empty (QA: it printed "0
candidates (hybrid); none at offset 0" and "no paper is tagged Sparse Autoencoder (SAE); showing the
nearest matches", with nothing shown)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from kg.cli import main
from kg.store import EMPTY_STORE_MESSAGE
from tests.seed_store import taxonomy_store


@pytest.fixture
def empty_dir(data_dir: Path) -> Path:
    """PAPERKG_DATA_DIR holding a real store with the taxonomy loaded and no papers."""
    taxonomy_store(data_dir / "paperkg.sqlite3").close()
    return data_dir


@pytest.mark.parametrize("args", [["sae", "--mode", "keyword"], ["--technique", "sae"],
                                  ["sparse autoencoder", "--mode", "keyword", "--year-from", "2020"]])
def test_an_empty_store_is_said_to_be_empty(empty_dir: Path, args: list[str]) -> None:
    result = CliRunner().invoke(main, ["search", *args])
    assert result.exit_code == 0, result.output + result.stderr
    assert result.stderr == EMPTY_STORE_MESSAGE + "\n"
    # Nothing else: no count of nothing, no "showing the nearest matches" with none shown.
    assert result.stdout == ""


def test_json_keeps_its_shape_and_says_it_on_stderr(empty_dir: Path) -> None:
    result = CliRunner().invoke(main, ["search", "sae", "--mode", "keyword", "--json"])
    assert result.exit_code == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["total"] == 0 and body["results"] == [] and body["query"] == "sae"
    assert body["notice"] == EMPTY_STORE_MESSAGE  # as GET /api/search answers
    assert result.stderr == EMPTY_STORE_MESSAGE + "\n"


def test_a_search_finding_nothing_in_a_store_with_papers_says_no_such_thing(env: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["search", "zzzqq xylophone", "--mode", "keyword"])
    assert result.exit_code == 0
    assert result.stdout.startswith("0 papers (keyword); none at offset 0\n")
    assert EMPTY_STORE_MESSAGE not in result.stdout + result.stderr
