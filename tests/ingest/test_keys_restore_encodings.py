"""`paperkg keys restore` with a file a Windows editor saved (UTF-16, Windows-1252) names the file, the
line and column, and says to save it as UTF-8, as a records file's errors do (QA: it printed Python's
"'utf-8' codec can't decode byte 0xff in position 0: invalid start byte"); exports joined with `cat`,
a byte order mark at the start of each, are read whole."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from kg.cli import main
from tests.embedders import HashEmbedder

PAPERS = [{"id": "2211.00593", "arxiv_id": "2211.00593", "title": "Interpretability in the Wild",
           "authors": ["Kevin Wang"], "published": "2022-11-01"},
          {"id": "causal-scrubbing", "title": "Causal Scrubbing \u2014 a method",
           "authors": ["Lawrence Chan"], "year": 2022}]


def _run(*args: str) -> Any:
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def exported(tmp_path: Path, data_dir: Path, plumbing: HashEmbedder) -> dict[str, Path]:
    """The two papers stored, and their export as JSON Lines and CSV."""
    records = tmp_path / "records.jsonl"
    records.write_text("".join(json.dumps(p) + "\n" for p in PAPERS), encoding="utf-8")
    assert _run("ingest", "records", str(records)).exit_code == 0
    out = {}
    for fmt in ("jsonl", "csv"):
        out[fmt] = tmp_path / f"export.{fmt}"
        result = _run("export", "papers", "--format", fmt, "--output", str(out[fmt]))
        assert result.exit_code == 0, result.output
    return out


@pytest.mark.parametrize(("encoding", "message"), [
    ("utf-16", "is UTF-16 text, not UTF-8 (save the file as UTF-8)"),
    ("utf-32", "is UTF-32 text, not UTF-8 (save the file as UTF-8)"),
])
def test_a_utf16_file_is_named_with_save_it_as_utf8(
    exported: dict[str, Path], tmp_path: Path, encoding: str, message: str
) -> None:
    path = tmp_path / f"keys_{encoding}.csv"
    path.write_bytes(exported["csv"].read_text(encoding="utf-8").encode(encoding))
    result = _run("keys", "restore", str(path))
    assert result.exit_code == 1
    assert result.output == f"Error: {path} {message}\n"


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_a_utf16_file_without_a_byte_order_mark_is_named_too(
    exported: dict[str, Path], tmp_path: Path, encoding: str
) -> None:
    path = tmp_path / "keys.csv"
    path.write_bytes(exported["csv"].read_text(encoding="utf-8").encode(encoding))
    result = _run("keys", "restore", str(path))
    assert result.exit_code == 1
    column = 2 if encoding == "utf-16-le" else 1
    assert result.output == (f"Error: {path} is not UTF-8 text: a NUL character at line 1, column {column} "
                             f"(UTF-16 text without a byte order mark? save the file as UTF-8)\n")


def test_a_windows_1252_file_names_the_line_and_column_of_its_first_byte_not_utf8(
    exported: dict[str, Path], tmp_path: Path
) -> None:
    text = exported["csv"].read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    (number, line), = [(n, line) for n, line in enumerate(lines, start=1) if "\u2014" in line]
    column = line.index("\u2014") + 1
    path = tmp_path / "keys_cp1252.csv"
    path.write_bytes(text.encode("cp1252"))
    result = _run("keys", "restore", str(path))
    assert result.exit_code == 1
    assert result.output == (f"Error: {path} is not UTF-8 text: byte 0x97 at line {number}, column {column} "
                             f"(Windows-1252 text? 0x97 is '\u2014' there: save the file as UTF-8)\n")
    assert "codec" not in result.output


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_exports_joined_with_their_byte_order_marks_restore(
    exported: dict[str, Path], tmp_path: Path, fmt: str
) -> None:
    lines = exported[fmt].read_text(encoding="utf-8").splitlines(keepends=True)
    header, rows = (lines[:1], lines[1:]) if fmt == "csv" else ([], lines)
    # The rows in two files, each saved again by a Windows editor (a BOM at its start), joined with `cat`.
    joined = tmp_path / f"joined.{fmt}"
    joined.write_bytes(("\ufeff" + "".join(header + rows[:1]) + "\ufeff" + "".join(rows[1:])).encode())
    result = _run("keys", "restore", str(joined))
    assert result.exit_code == 0, result.output
    assert "citation keys: 0 restored, 0 reserved for papers not stored yet, 2 held already, 0 refused" \
        in result.output


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_an_export_saved_with_cr_line_ends_restores(
    exported: dict[str, Path], tmp_path: Path, fmt: str
) -> None:
    """QA: a CSV saved by Excel for Mac ("CSV (Macintosh)": lines end at CR) stopped with the csv module's
    "new-line character seen in unquoted field"."""
    saved = tmp_path / f"mac.{fmt}"
    saved.write_bytes(exported[fmt].read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r"))
    result = _run("keys", "restore", str(saved))
    assert result.exit_code == 0, result.output
    assert "2 held already, 0 refused" in result.output


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85"])
def test_a_jsonl_line_holding_a_unicode_line_separator_is_one_line(
    exported: dict[str, Path], tmp_path: Path, separator: str
) -> None:
    """JSON may hold U+2028, U+2029 and NEL raw in a string (an export re-saved by `jq` or an editor):
    str.splitlines cut such a line in two, "not JSON" each, and counted every line after it one more."""
    objects = [json.loads(line) for line in exported["jsonl"].read_text(encoding="utf-8").splitlines()]
    objects[0]["title"] = f"Interpretability{separator}in the Wild"
    path = tmp_path / "keys.jsonl"
    path.write_text("".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objects), encoding="utf-8")
    assert separator in path.read_text(encoding="utf-8")
    result = _run("keys", "restore", str(path))
    assert result.exit_code == 0, result.output
    assert "citation keys: 0 restored, 0 reserved for papers not stored yet, 2 held already, 0 refused" \
        in result.output
    # A bad line after it is named by the line an editor shows.
    path.write_text(json.dumps(objects[0], ensure_ascii=False) + "\n{oops\n", encoding="utf-8")
    result = _run("keys", "restore", str(path))
    assert result.exit_code == 1
    assert result.output == (f"Error: {path}: nothing restored: line 2: not valid JSON (expecting property "
                             "name enclosed in double quotes, column 2)\n")
