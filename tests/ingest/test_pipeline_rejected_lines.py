"""A record the load turns away (record.check(), no title) is reported with the line it was read from,
as the list parser's unreadable rows are: a list row's line, a records file's line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from ingest.awesome_list import parse_list
from ingest.pipeline import ingest_records_file, run_ingest
from ingest.records import Record
from ingest.summary import IngestSummary
from kg.cli import main
from kg.store import GraphStore
from kg.taxonomy import Taxonomy
from tests.embedders import HashEmbedder

# The over-long title is on line 6: the list parser accepts it, record.check() refuses it.
LONG_TITLE_LIST = """# List

| Paper | Techniques | TL;DR |
| --- | --- | --- |
| [Fine Paper](https://example.com/fine) | Logit lens | Fine. |
| [""" + "Long " * 250 + """](https://example.com/long) | Logit lens | A title of 1,250 characters |
| [Another Fine Paper](https://example.com/other) | Logit lens | Fine too. |
"""
LONG_LINE = 6
LONG_REASON = "'title' is 1249 characters long (the limit is 1000)"


def test_a_list_row_the_load_refuses_is_reported_with_its_line(
    store: GraphStore, taxonomy: Taxonomy, embedder: HashEmbedder, extractor: Any
) -> None:
    parsed = parse_list(LONG_TITLE_LIST, taxonomy)
    assert parsed.unreadable_rows == []  # the parser took the row: only the load refuses it
    summary = run_ingest(store, list(parsed.papers), source="list", embedder=embedder, extractor=extractor,
                         progress=False)
    assert (summary.new, summary.rejected) == (2, 1)
    (rejected,) = summary.rejected_details
    assert (rejected["line"], rejected["reason"]) == (LONG_LINE, LONG_REASON)
    assert f"  rejected: line {LONG_LINE} ('Long Long " in summary.text()


def test_a_records_file_line_the_load_refuses_is_reported_with_its_line(
    store: GraphStore, tmp_path: Path, embedder: HashEmbedder, extractor: Any
) -> None:
    """A title that is only a venue tag has no title key: "no title", named with its line of the file
    (a text over its limit is the records file's own unreadable line, reported as such)."""
    path = tmp_path / "r.jsonl"
    rows = [{"title": "A Real Paper"}, {"title": "(ICLR'24)"}, {"title": "Another Real Paper"}]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    summary = ingest_records_file(store, path, embedder=embedder, extractor=extractor, progress=False)
    assert summary.new == 2
    assert [(d["line"], d["reason"]) for d in summary.rejected_details] == [(2, "no title")]
    assert "  rejected: line 2 ('(ICLR'24)'): no title" in summary.text()


def test_a_record_of_no_line_and_an_older_detail_are_printed_without_one(
    store: GraphStore, embedder: HashEmbedder, extractor: Any
) -> None:
    """An arXiv record has no line (None in the detail, nothing printed); a detail without the key, as
    a source's own rejections (a records file's unreadable line) have, prints as before."""
    records = [Record(source="arxiv", source_id="2401.00001", title="Fine", arxiv_id="2401.00001"),
               Record(source="arxiv", source_id="2401.00002", title="Bad", arxiv_id="2401.00002",
                      venue="V" * 2_001)]
    summary = run_ingest(store, records, source="arxiv", embedder=embedder, extractor=extractor,
                         progress=False)
    (rejected,) = summary.rejected_details
    assert rejected["line"] is None
    assert "  rejected: Bad: 'venue' is 2001 characters long" in summary.text()
    older = IngestSummary(run_id="r", source="records", rejected_details=[
        {"source_id": "line 4", "title": None, "reason": "not JSON"}])
    assert "  rejected: line 4: not JSON" in older.text()


def test_the_cli_prints_the_line_of_a_list_row_the_load_refuses(
    data_dir: Path, tmp_path: Path, plumbing: HashEmbedder
) -> None:
    source = tmp_path / "list.md"
    source.write_text(LONG_TITLE_LIST, encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(main, ["ingest", "list", "--source", str(source), "--no-arxiv"],
                           catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert f"  rejected: line {LONG_LINE} ('Long Long " in result.output
    again = runner.invoke(main, ["ingest", "list", "--source", str(source), "--no-arxiv", "--json"],
                          catch_exceptions=False)
    assert again.exit_code == 0, again.output
    (rejected,) = json.loads(again.stdout)["rejected_details"]
    assert (rejected["line"], rejected["reason"]) == (LONG_LINE, LONG_REASON)
