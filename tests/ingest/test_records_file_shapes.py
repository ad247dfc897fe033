"""A records file in the wrong shape (a JSON array, one pretty-printed object, CSV, nothing at all) is
refused as a whole with what it is and what to do, before any run is recorded; files joined with `cat`
keep the byte order mark each began with at the start of a line, which is not part of the JSON (QA from
Windows and macOS editors: "1894 bad lines", "line 1: invalid JSON", "Unexpected UTF-8 BOM")."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from ingest.records_file import BadLines, RecordsFileError, read_records_file
from kg.cli import main
from kg.embedded import EmbeddedStore
from kg.store import GraphStore
from tests.embedders import HashEmbedder

ALPHA = {"id": "a", "title": "Alpha", "authors": ["Ada Lovelace"], "year": 2024}
BETA = {"id": "b", "title": "Beta", "authors": ["Alan Turing"], "year": 2023}
JSON_LINES = "records are JSON Lines, one JSON object per line"


@pytest.mark.parametrize(("content", "message"), [
    (json.dumps([ALPHA, BETA], indent=2), "a JSON array, not JSON Lines: " + JSON_LINES
     + "; convert it with e.g. jq -c '.[]' "),
    (json.dumps([ALPHA, BETA]), "a JSON array, not JSON Lines"),  # on one line
    ("\ufeff\n\n" + json.dumps([ALPHA], indent=2), "a JSON array, not JSON Lines"),
    (json.dumps(ALPHA, indent=2), "a JSON object spread over several lines, not JSON Lines: " + JSON_LINES
     + "; convert it with e.g. jq -c . "),
    ("id,arxiv_id,doi,title,authors\r\n2211.00593,2211.00593,,Interpretability in the Wild,Kevin Wang\r\n",
     "CSV, not JSON Lines (its first line is a CSV header: 'id,arxiv_id,doi,title,authors'): " + JSON_LINES
     + ", as `paperkg export papers --format jsonl` writes them; CSV is not read"),
    ("\ufefftitle;authors;year\nSome Paper;A B;2024\n", "CSV, not JSON Lines (its first line is a CSV "
     "header: 'title;authors;year')"),  # Excel's in many locales, with its byte order mark
    ('"Paper Title"\t"Authors"\n"Some Paper"\t"A B"\n', "CSV, not JSON Lines"),
])
def test_a_file_that_is_no_json_lines_is_refused_as_a_whole_with_what_to_do(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text(content, encoding="utf-8")
    for skip_invalid in (False, True):  # not every line of it skipped as a bad line
        with pytest.raises(RecordsFileError) as refused:
            read_records_file(path, skip_invalid=skip_invalid)
        assert str(refused.value).startswith(f"{path}: {message}")
        assert "bad line" not in str(refused.value)


@pytest.mark.parametrize("first", [
    "Created by script, version 2",  # prose with a comma: once read as a CSV header
    "title,authors",  # a header-like line, but JSON objects follow, not CSV rows
    "Exported by tool; do not edit",
])
def test_a_first_line_of_prose_before_json_lines_is_a_bad_line_not_csv(tmp_path: Path, first: str) -> None:
    """The whole file was refused as CSV, even with --skip-invalid: one odd first line, like any odd line,
    is named without it and skipped with it."""
    path = tmp_path / "r.jsonl"
    path.write_text(f"{first}\n\n{json.dumps(ALPHA)}\n{json.dumps(BETA)}\n", encoding="utf-8")
    with pytest.raises(BadLines, match=f"^{path} line 1: not valid JSON "):
        read_records_file(path)
    read = read_records_file(path, skip_invalid=True)
    assert [r.title for r in read.records] == ["Alpha", "Beta"]
    assert [s["line"] for s in read.skipped] == [1]


@pytest.mark.parametrize("content", [
    "title,authors,year\n",  # a header alone
    "title,authors,year\nA paper,\"Ada, Alan\",2024\n",  # a quoted cell holds a comma more
    "Paper Title,Authors\r\n\r\nSome Paper,A B\r\n",
])
def test_a_csv_header_before_csv_rows_still_refuses_the_file(tmp_path: Path, content: str) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(RecordsFileError, match="CSV, not JSON Lines"):
        read_records_file(path, skip_invalid=True)


def test_the_conversion_named_is_a_command_for_the_file(tmp_path: Path) -> None:
    path = tmp_path / "my papers.json"
    path.write_text(json.dumps([ALPHA], indent=2), encoding="utf-8")
    with pytest.raises(RecordsFileError, match=r"jq -c '\.\[\]' '.*/my papers\.json' > records\.jsonl$"):
        read_records_file(path)


@pytest.mark.parametrize("lines", [
    [ALPHA, [BETA]],  # an array on a later line is that line's problem
    [ALPHA, "id,title"],
])
def test_a_json_lines_file_with_one_odd_line_still_names_that_line(
    tmp_path: Path, lines: list[object]
) -> None:
    path = tmp_path / "r.jsonl"
    text = "".join((v if isinstance(v, str) else json.dumps(v)) + "\n" for v in lines)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RecordsFileError, match=f"^{path} line 2: "):
        read_records_file(path)
    assert [r.title for r in read_records_file(path, skip_invalid=True).records] == ["Alpha"]


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf", b"\n\r\n  \n", b"\xef\xbb\xbf\r\n"])
def test_an_empty_file_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(content)
    for skip_invalid in (False, True):
        with pytest.raises(RecordsFileError) as refused:
            read_records_file(path, skip_invalid=skip_invalid)
        assert str(refused.value) == (f"{path}: no records: the file is empty or holds only blank lines "
                                      f"({JSON_LINES}); nothing was written")


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf"])
def test_importing_an_empty_file_records_no_run(
    tmp_path: Path, data_dir: Path, store: GraphStore, plumbing: HashEmbedder, content: bytes
) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_bytes(content)
    result = CliRunner().invoke(main, ["ingest", "records", str(path)])
    assert result.exit_code == 1, result.output
    assert result.output == (f"Error: {path}: no records: the file is empty or holds only blank lines "
                             f"({JSON_LINES}); nothing was written\n")
    assert store.runs() == []


def test_files_joined_with_their_byte_order_marks_are_read_whole(
    tmp_path: Path, data_dir: Path, plumbing: HashEmbedder
) -> None:
    # `cat a.jsonl b.jsonl > both.jsonl` of two files a Windows editor saved, each with a BOM.
    first = "\ufeff" + json.dumps(ALPHA) + "\r\n"
    second = "\ufeff" + json.dumps(BETA) + "\r\n"
    path = tmp_path / "both.jsonl"
    path.write_bytes((first + second).encode("utf-8"))
    read = read_records_file(path)
    assert [r.title for r in read.records] == ["Alpha", "Beta"] and read.skipped == []
    result = CliRunner().invoke(main, ["ingest", "records", str(path)])
    assert result.exit_code == 0, result.output
    assert "2 new" in result.output
    stored = EmbeddedStore(data_dir / "paperkg.sqlite3", read_only=True)
    try:
        assert sorted(stored.paper_ids()) == ["a", "b"]
    finally:
        stored.close()
