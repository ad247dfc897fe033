"""QA re-test of `ingest records`: a rejected line's title is quoted as a warning's is, and a file whose
every line is bad is not told that --skip-invalid imports "the other lines" (there are none)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from click.testing import CliRunner

from kg.cli import main
from tests.embedders import HashEmbedder


def _invoke(*args: str) -> Any:
    return CliRunner().invoke(main, list(args))


def test_a_rejected_line_quotes_its_title_as_a_warning_does(data_dir: Path, tmp_path: Path,
                                                           plumbing: HashEmbedder) -> None:
    path = tmp_path / "some.jsonl"
    path.write_text('{"title": "QA Mismatch Paper", "year": 2020, "published": "2023-05-01"}\n'
                    '{"title": "B", "year": 1800}\n', encoding="utf-8")
    result = _invoke("ingest", "records", str(path), "--skip-invalid")
    assert result.exit_code == 0, result.output
    assert "  warning: line 1 ('QA Mismatch Paper'): " in result.stdout
    assert "  rejected: line 2 ('B'): 'year' 1800 is outside the years 1900..2100\n" in result.stdout


def test_a_file_of_bad_lines_only_is_not_told_to_skip_them(data_dir: Path, tmp_path: Path) -> None:
    one = tmp_path / "one.jsonl"
    one.write_text('{"title": "B", "year": 1800}\n', encoding="utf-8")
    result = _invoke("ingest", "records", str(one))
    assert result.exit_code == 1, result.output
    assert result.stderr == (f"Error: {one} line 1: 'year' 1800 is outside the years 1900..2100 (nothing "
                             "was written)\n")
    two = tmp_path / "two.jsonl"
    two.write_text('{"title": "B", "year": 1800}\n{"authors": ["A"]}\n', encoding="utf-8")
    both = _invoke("ingest", "records", str(two))
    assert both.exit_code == 1 and "--skip-invalid" not in both.stderr
    assert both.stderr.startswith(f"Error: {two}: 2 bad lines, no valid one (nothing was written):\n")
    # With a valid line too, --skip-invalid is the way to import it.
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text('{"title": "Fine Paper"}\n{"title": "B", "year": 1800}\n', encoding="utf-8")
    said = _invoke("ingest", "records", str(mixed))
    assert said.exit_code == 1
    assert "--skip-invalid imports the other lines and reports the bad ones" in said.stderr
