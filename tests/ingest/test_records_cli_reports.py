"""QA (a shell-script user, a copy editor) on `ingest records`: a file with no valid line, the titles of
rejected lines, the embedded count, a year its published date disagrees with."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from ingest.records_file import read_records_file
from kg.cli import main
from tests.embedders import HashEmbedder

BAD_LINES = ['{"title": "Unterminated", \n', '{"title": "bad year", "year": 1800}\n', '{"authors": ["A"]}\n']


def _invoke(*args: str) -> Any:
    return CliRunner().invoke(main, list(args))


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(lines), encoding="utf-8")
    return path


def test_skip_invalid_with_no_valid_line_exits_1_and_writes_nothing(data_dir: Path, tmp_path: Path) -> None:
    """QA: it printed "0 papers from 0 records -> …, 3 rejected; 0 embedded (rest cached)" and exited 0."""
    bad = _write(tmp_path / "bad.jsonl", BAD_LINES)
    result = _invoke("ingest", "records", str(bad), "--skip-invalid")
    assert result.exit_code == 1, result.output
    assert result.stderr == (
        f"Error: no line of {bad} was valid; nothing was written:\n"
        "  line 1: not valid JSON (expecting property name enclosed in double quotes, column 27)\n"
        "  line 2: 'year' 1800 is outside the years 1900..2100\n"
        "  line 3: 'title' is missing or empty\n")
    as_json = _invoke("ingest", "records", str(bad), "--skip-invalid", "--json")
    assert as_json.exit_code == 1
    doc = json.loads(as_json.stdout)
    assert (doc["status"], doc["exit_status"]) == ("refused", 1)
    assert doc["error"].startswith(f"no line of {bad} was valid; nothing was written:\n  line 1: ")
    assert not (data_dir / "paperkg.sqlite3").exists()  # no store made, no run recorded


def test_a_rejected_line_that_parsed_keeps_its_title(data_dir: Path, tmp_path: Path,
                                                       plumbing: HashEmbedder) -> None:
    """QA: rejected_details gave "title": null for `{"title": "bad year", "year": 1800}`."""
    path = _write(tmp_path / "some.jsonl", ['{"title": "A Good Paper", "year": 2023}\n', *BAD_LINES])
    result = _invoke("ingest", "records", str(path), "--skip-invalid", "--json")
    assert result.exit_code == 0, result.output
    details = json.loads(result.stdout)["rejected_details"]
    assert [(d["line"], d["title"]) for d in details] == [(2, None), (3, "bad year"), (4, None)]
    text = _invoke("ingest", "records", str(path), "--skip-invalid")
    assert "  rejected: line 3 ('bad year'): 'year' 1800 is outside the years 1900..2100\n" in text.stdout
    assert "  rejected: line 2: not valid JSON (expecting property name" in text.stdout
    assert "  rejected: line 4: 'title' is missing or empty\n" in text.stdout


def test_the_embedded_count_says_plainly_how_many_already_had_one(
    data_dir: Path, tmp_path: Path, plumbing: HashEmbedder
) -> None:
    """QA: "0 embedded (rest cached)" was jargon, and said even when nothing was cached."""
    path = _write(tmp_path / "two.jsonl", ['{"title": "First Paper"}\n', '{"title": "Second Paper"}\n'])
    first = _invoke("ingest", "records", str(path))
    assert first.exit_code == 0, first.output
    assert "; 2 embedded; run " in first.stdout and "cached" not in first.stdout
    again = _invoke("ingest", "records", str(path))
    assert "; 0 embedded, 2 already had an embedding; run " in again.stdout


YEAR_AND_DATE = {"title": "Midnight Paper", "year": 2024, "published": "2024-01-01T00:30:00+02:00"}


def test_a_year_its_published_date_disagrees_with_is_warned_about(tmp_path: Path) -> None:
    """QA: stored as year 2024, published 2023-12-31 (its UTC date), with no warning (BibTeX then drops
    the month)."""
    path = _write(tmp_path / "y.jsonl", [json.dumps(YEAR_AND_DATE) + "\n", '{"title": "Plain", "year": 2023, '
                                         '"published": "2023-05-01"}\n', '{"title": "Off", "year": 2020, '
                                         '"published": "2021-03-04"}\n'])
    read = read_records_file(path)
    assert [(r.year, r.published) for r in read.records] == [
        (2024, "2023-12-31"), (2023, "2023-05-01"), (2020, "2021-03-04")]
    assert read.warnings == [
        {"line": 1, "title": "Midnight Paper",
         "message": "'year' 2024 disagrees with 'published' '2024-01-01T00:30:00+02:00' (stored as its UTC "
                    "date, 2023-12-31): the year 2024 is kept"},
        {"line": 3, "title": "Off",
         "message": "'year' 2020 disagrees with 'published' '2021-03-04': the year 2020 is kept"}]


def test_the_summary_and_json_carry_the_year_warnings(data_dir: Path, tmp_path: Path,
                                                        plumbing: HashEmbedder) -> None:
    path = _write(tmp_path / "y.jsonl", [json.dumps(YEAR_AND_DATE) + "\n"])
    result = _invoke("ingest", "records", str(path))
    assert result.exit_code == 0, result.output
    assert ("  warning: line 1 ('Midnight Paper'): 'year' 2024 disagrees with 'published' "
            "'2024-01-01T00:30:00+02:00' (stored as its UTC date, 2023-12-31): the year 2024 is kept\n"
            ) in result.stdout
    doc = json.loads(_invoke("ingest", "records", str(path), "--json").stdout)
    assert [(w["line"], w["title"]) for w in doc["warnings"]] == [(1, "Midnight Paper")]
