"""`paperkg config` shows a relative path setting with the absolute path it names (QA: it printed
`PAPERKG_DATA_DIR  data (set)`, which said nothing about where the store is), and refuses a negative
number as "must be 0 or more" (it said "must not be negative, not '-1'")."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from kg.cli import main
from kg.config import EXIT_CONFIG, PACKAGED_TAXONOMY


def test_a_relative_data_dir_is_shown_with_its_absolute_path(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PAPERKG_DATA_DIR", "data")
    monkeypatch.setenv("PAPERKG_SHARED_DATA", "~/shared")
    result = CliRunner().invoke(main, ["config"])
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if x.startswith("PAPERKG_DATA_DIR"))
    assert line.split()[1:] == ["data", "->", str(tmp_path / "data"), "(set)"]
    shared = next(x for x in result.output.splitlines() if x.startswith("PAPERKG_SHARED_DATA"))
    assert shared.split()[1:] == ["~/shared", "->", str(Path.home() / "shared"), "(set)"]
    # An absolute path is shown once.
    taxonomy = next(x for x in result.output.splitlines() if x.startswith("PAPERKG_TAXONOMY"))
    assert taxonomy.split()[1:] == [str(PACKAGED_TAXONOMY), "(default)"]


def test_json_gives_the_absolute_path_beside_the_value(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PAPERKG_DATA_DIR", "./x/../data")
    data = json.loads(CliRunner().invoke(main, ["config", "--json"]).output)
    assert data["PAPERKG_DATA_DIR"]["value"] == "./x/../data"  # as given, as before
    assert data["PAPERKG_DATA_DIR"]["resolved"] == str(tmp_path / "data")
    assert data["PAPERKG_TAXONOMY"]["resolved"] == str(PACKAGED_TAXONOMY)
    assert data["PAPERKG_STORE"]["resolved"] is None  # no path


@pytest.mark.parametrize("name", ["PAPERKG_ARXIV_DELAY", "PAPERKG_ARXIV_RETRIES"])
def test_a_negative_number_must_be_0_or_more(data_dir: Path, monkeypatch: pytest.MonkeyPatch, name: str
                                             ) -> None:
    monkeypatch.setenv(name, "-1")
    result = CliRunner().invoke(main, ["config"])
    assert result.exit_code == EXIT_CONFIG
    assert result.output.endswith(f"{name} must be 0 or more, not '-1'\n")
    assert "negative" not in result.output
