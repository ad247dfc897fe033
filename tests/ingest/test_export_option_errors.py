"""QA (a copy editor): click's own wording for a bad choice or number ("'xml' is not one of 'jsonl', 'csv',
'bibtex'.", "0 is not in the range x>=1.") is the project's now (the API's for numbers, as `search` and
`keys restore` say them), echoing the value."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from kg.cli import main


@pytest.mark.parametrize("args, said", [
    (["export", "papers", "--format", "xml"],
     "Invalid value for '--format': 'xml' is not a format; use jsonl, csv or bibtex"),
    (["export", "list-rows", "--since", "2024-01-01", "--limit", "0"],
     "Invalid value for '--limit': must be at least 1, not '0'"),
    (["schedule", "--max-runs", "two"], "Invalid value for '--max-runs': must be an integer, not 'two'"),
    # --wait in the words of every command's (kg.cli_values.SECONDS, `keys restore --wait`).
    (["ingest", "records", "x.jsonl", "--wait", "-1"],
     "Invalid value for '--wait': must be 0 or more, not '-1'"),
    (["ingest", "arxiv", "2211.00593", "--wait", "nan"],
     "Invalid value for '--wait': must be a finite number, not 'nan'"),
    (["ingest", "arxiv", "2211.00593", "--batch-size", "1.5"],
     "Invalid value for '--batch-size': must be an integer, not '1.5'"),
    (["dev", "arxiv-server", "--records", "x.jsonl", "--port", "70000"],
     "Invalid value for '--port': must be between 0 and 65535, not '70000'"),
    (["dev", "arxiv-server", "--records", "x.jsonl", "--stall", "soon"],
     "Invalid value for '--stall': must be a number of seconds, not 'soon'"),
])
def test_a_bad_choice_or_number_is_said_in_the_projects_words(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], said: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.jsonl").write_text('{"title": "X"}\n', encoding="utf-8")
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert result.stderr.endswith(f"Error: {said}\n"), result.stderr
    assert "is not one of" not in result.stderr and "is not in the range" not in result.stderr
    assert not (data_dir / "paperkg.sqlite3").exists()


def test_good_values_still_pass(data_dir: Path) -> None:
    help_text = CliRunner().invoke(main, ["export", "papers", "--help"]).stdout
    assert "--format [jsonl|csv|bibtex]" in help_text
    missing = CliRunner().invoke(main, ["export", "papers", "--format", "csv"])
    assert missing.exit_code == 1 and "no paperkg store" in missing.stderr  # the format was taken
