"""Hostile records files: URLs that cannot be parsed once cleaned, an over-long author, file names holding
terminal escape sequences (what a message echoes reaches the user's terminal)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import ingest.pipeline as pipeline
from ingest.pipeline import ingest_records_file
from ingest.records_file import RecordsFileError, read_json_objects, read_records_file
from kg.store import GraphStore
from tests.embedders import HashEmbedder

# CSI "red", OSC "set the window title" ended by BEL, and a right-to-left override.
ESCAPES = "\x1b[31mRED\x1b]0;pwn\x07"
TERMINAL_CONTROLS = ("\x1b", "\x07", "\x9b", "\u202e")


def _write(path: Path, lines: list[Any]) -> Path:
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n")
    return path


@pytest.mark.parametrize(("bad", "message"), [
    # The ESC is removed by the cleaning every record gets, which left the bracketed host "x[evil]".
    ({"title": "T", "url": "https://x\u001b[evil]/p"},
     re.escape("line 2: 'url' is not a valid URL ('evil' does not appear to be an IPv4 or IPv6 address): "
               "'https://x[evil]/p'")),
    ({"title": "T", "pdf_url": "ftp://x" + ESCAPES}, "line 2: 'pdf_url' is not a valid URL"),
    ({"title": "T", "url": "https://x[evil]/"}, "line 2: 'url' is not a valid URL"),
    ({"title": "T", "urls": ["https://example.org/a", "http://[x"]},
     "line 2: 'urls_in_list' is not a valid URL"),
    ({"title": "T", "list_rows": [{"section": "Circuits", "url_in_list": "https://x[evil]/"}]},
     "line 2: list_rows\\[0\\]: 'url_in_list' is not a valid URL"),
    ({"title": "T", "authors": ["A" * 2000]},
     "line 2: author 1 of 'authors' is 2000 characters long \\(the limit is 300\\)"),
])
def test_a_url_that_cannot_be_parsed_once_cleaned_and_a_long_author_are_line_errors(
    tmp_path: Path, bad: dict[str, Any], message: str
) -> None:
    path = _write(tmp_path / "r.jsonl", [{"id": "ok", "title": "Fine Paper"}, bad])
    with pytest.raises(RecordsFileError, match=message):
        read_records_file(path)
    read = read_records_file(path, skip_invalid=True)
    assert [r.paper_id for r in read.records] == ["ok"]
    assert [s["line"] for s in read.skipped] == [2]


def test_a_bracketed_host_is_skipped_by_skip_invalid_not_the_whole_ingest_failing(
    tmp_path: Path, store: GraphStore, embedder: HashEmbedder, extractor: Any
) -> None:
    """A list row's link "https://x[evil]/" made matching rows by their links raise: the whole run failed
    ("records ingest failed: 'evil' does not appear to be an IPv4 or IPv6 address") and --skip-invalid
    could not skip it."""
    path = _write(tmp_path / "r.jsonl", [
        {"id": "ok", "title": "Fine Paper"},
        {"id": "bad", "title": "Hostile Paper", "url": "https://x[evil]/",
         "list_rows": [{"section": "Circuits", "url_in_list": "https://x[evil]/"}]}])
    summary = ingest_records_file(store, path, embedder=embedder, extractor=extractor, progress=False,
                                  skip_invalid=True)
    assert (summary.new, summary.rejected) == (1, 1)
    assert summary.rejected_details[0]["source_id"] == "line 2"
    assert "'url' is not a valid URL" in summary.rejected_details[0]["reason"]
    assert store.paper_ids() == ["ok"]


def test_a_record_of_any_source_with_such_a_link_is_rejected_alone(
    store: GraphStore, embedder: HashEmbedder, extractor: Any
) -> None:
    """Record.check refuses it (a list row's link from the awesome-list, a Python caller's record)."""
    from ingest.pipeline import run_ingest
    from ingest.records import ListRowRecord, Record

    good = Record(source="records", source_id="ok", title="Fine Paper", explicit_id="ok")
    bad = Record(source="list", source_id="bad", title="Hostile Paper", explicit_id="bad", list_rows=[
        ListRowRecord(section_path=["Circuits"], title_in_list="Hostile Paper",
                      url_in_list="https://x[evil]/")])
    summary = run_ingest(store, [good, bad], source="records", embedder=embedder, extractor=extractor,
                         progress=False)
    assert (summary.new, summary.rejected) == (1, 1)
    assert "'list_rows[0].url_in_list' is not a valid URL" in summary.rejected_details[0]["reason"]
    assert store.paper_ids() == ["ok"]


def _hostile_name(tmp_path: Path) -> Path:
    return tmp_path / f"ev{ESCAPES}\u202eil.jsonl"


@pytest.mark.parametrize("content", [
    "not json\n",  # "<path> line 1: not valid JSON ..."
    "",  # "<path>: no records ..."
    '[{"title": "T"}]\n',  # "<path>: a JSON array, not JSON Lines ... jq -c '.[]' <path> > records.jsonl"
    '{"title": "T"}\nnot json\n{"title": ""}\n',  # "<path>: 2 bad lines ..."
    "\ufeff\ufeff\x00\x00",  # "<path> is not UTF-8 text ..." (or another encoding problem)
])
def test_a_file_name_is_echoed_without_its_terminal_controls(tmp_path: Path, content: str) -> None:
    path = _hostile_name(tmp_path)
    raw = b"\xff\xfe\x00\x00" if content.startswith("\ufeff\ufeff") else content.encode("utf-8")
    path.write_bytes(raw)
    with pytest.raises(RecordsFileError) as raised:
        read_records_file(path)
    message = str(raised.value)
    assert "evREDil.jsonl" in message, message
    assert not any(c in message for c in TERMINAL_CONTROLS), repr(message)


def test_a_missing_file_and_the_local_arxiv_servers_reader_name_it_safely(tmp_path: Path) -> None:
    path = _hostile_name(tmp_path)
    with pytest.raises(RecordsFileError) as missing:
        read_records_file(path)
    path.write_text('{"title": "T"}\n42\n')
    with pytest.raises(RecordsFileError) as not_object:
        read_json_objects(path)
    for raised in (missing, not_object):
        message = str(raised.value)
        assert "evREDil.jsonl" in message and not any(c in message for c in TERMINAL_CONTROLS), repr(message)


def test_the_cli_error_names_the_file_without_its_terminal_controls(
    tmp_path: Path, store: GraphStore, embedder: HashEmbedder, extractor: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`paperkg ingest records '/tmp/ev<ESC>[31mRED<ESC>]0;pwn<BEL>il.jsonl'` printed the raw sequences
    (click strips CSI only when stdout is no terminal: the message text itself is checked)."""
    from kg.cli import main

    monkeypatch.setattr(pipeline, "_load_embedder", lambda: embedder)
    monkeypatch.setattr(pipeline, "_load_extractor", lambda taxonomy=None: extractor)
    path = _hostile_name(tmp_path)
    path.write_text("not json\n")
    result = CliRunner().invoke(main, ["ingest", "records", str(path)], color=True)
    assert result.exit_code == 1
    assert "evREDil.jsonl line 1: not valid JSON" in result.output, result.output
    assert not any(c in result.output for c in TERMINAL_CONTROLS), repr(result.output)
