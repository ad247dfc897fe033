"""`paperkg keys restore FILE` refuses a file that holds no citation key (QA: a records file, or
`{"id":"2211.00593"}`, restored "0" and exited 0, while an empty file was refused), and names a line
that is no JSON as `ingest records` does."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from kg.cli import main
from tests.seed_store import seed_db_path

NO_KEY = ("nothing restored: no line has a `citation_key`: give a file `paperkg export papers --format "
          "jsonl` or `--format csv` wrote (a records file, or an export of a store that issued no keys, "
          "holds none)")


@pytest.fixture
def seeded(data_dir: Path, shared_data: Path) -> Path:
    """PAPERKG_DATA_DIR holding a copy of the seed store."""
    shutil.copy(seed_db_path(shared_data), data_dir / "paperkg.sqlite3")
    return data_dir


@pytest.mark.parametrize("text", [
    '{"id": "2211.00593"}\n',
    '{"id": "2211.00593", "citation_key": ""}\n{"title": "x", "citation_key": null}\n',
    "id,title,citation_key\n2211.00593,x,\n",  # an export's columns, no key in them
])
def test_a_file_without_keys_is_refused(seeded: Path, tmp_path: Path, text: str) -> None:
    path = tmp_path / "keys.jsonl"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["keys", "restore", str(path)])
    assert result.exit_code == 1, result.output
    assert result.output == f"Error: {path}: {NO_KEY}\n"


def test_a_records_file_is_refused(seeded: Path, shared_data: Path) -> None:
    path = shared_data / "seed_papers.jsonl"
    result = CliRunner().invoke(main, ["keys", "restore", str(path)])
    assert result.exit_code == 1 and result.output == f"Error: {path}: {NO_KEY}\n"


@pytest.mark.parametrize(("line", "said"), [
    ("{oops", "not valid JSON (expecting property name enclosed in double quotes, column 2)"),
    ("nope", "not valid JSON (expecting value, column 1)"),
    ("[" * 100_000, "not valid JSON (nested too deeply)"),
])
def test_a_line_that_is_no_json_is_named_as_ingest_records_names_it(
    seeded: Path, tmp_path: Path, line: str, said: str
) -> None:
    path = tmp_path / "keys.jsonl"
    good = json.dumps({"id": "2211.00593", "citation_key": "wang2022interpretability"})
    path.write_text(f"{good}\n{line}\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["keys", "restore", str(path)])
    assert result.exit_code == 1, result.output
    assert result.output == f"Error: {path}: nothing restored: line 2: {said}\n"


def test_a_file_with_keys_is_still_restored(seeded: Path, tmp_path: Path) -> None:
    export = CliRunner().invoke(main, ["export", "papers", "--format", "jsonl"])
    assert export.exit_code == 0
    path = tmp_path / "keys.jsonl"
    path.write_text(export.stdout, encoding="utf-8")
    result = CliRunner().invoke(main, ["keys", "restore", str(path)])
    assert result.exit_code == 0, result.output
    assert "citation keys: 0 restored" in result.output and " held already" in result.output
