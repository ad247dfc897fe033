"""JSON Lines records import: the seed format, unknown keys, bad lines (nothing partially written)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ingest.arxiv_server import entry_from_record
from ingest.arxiv_source import _date_problem
from ingest.pipeline import ingest_records_file
from ingest.records_file import (
    RecordsFileError,
    UnreadableDate,
    parse_iso_time,
    read_records_file,
    record_from_dict,
)
from kg.store import GraphStore
from kg.taxonomy import Taxonomy
from tests.embedders import HashEmbedder

from .conftest import snapshot

# How a refused file's message ends: nothing written, and how to import the other lines.
NOTHING_WRITTEN = "(nothing was written; --skip-invalid imports the other lines and reports the bad ones)"


def test_reads_the_seed_file(shared_data: Path) -> None:
    read = read_records_file(shared_data / "seed_papers.jsonl")
    assert len(read.records) == 38 and read.skipped == []
    ioi = next(r for r in read.records if r.arxiv_id == "2211.00593")
    assert ioi.paper_id == "2211.00593" and ioi.year == 2022 and ioi.authors[0] == "Kevin Wang"
    assert {tuple(r.section_path) for r in ioi.list_rows} >= {
        ("Findings and Applications", "Findings on circuits", "Interpreting Transformer Components")}
    logit = next(r for r in read.records if r.source_id == "logit-lens")
    assert logit.paper_id == "logit-lens" and logit.abstract is None
    assert next(r for r in read.records if r.item_type == "tool").title == "CircuitsVis"


def _write(path: Path, lines: list[Any]) -> Path:
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n")
    return path


def test_unknown_keys_are_ignored(tmp_path: Path) -> None:
    path = _write(tmp_path / "r.jsonl", [
        {"id": "x-1", "title": "A Paper About Probes", "abstract": "We probe.", "flavour": "mint",
         "authors": ["A. Author"], "year": "2021", "doi": "https://doi.org/10.1234/ABC"},
        "",
    ])
    (record,) = read_records_file(path).records
    assert record.title == "A Paper About Probes" and record.year == 2021 and record.doi == "10.1234/abc"


def test_a_trailing_organisation_tag_is_no_part_of_a_records_title(shared_data: Path, tmp_path: Path) -> None:
    """Author QA: after `make demo` Causal Scrubbing's title (and BibTeX title) was "... [Redwood Research]":
    the list ingest dropped the tag, then the seed record's title, made from the list, put it back."""
    scrubbing = next(r for r in read_records_file(shared_data / "seed_papers.jsonl").records
                     if r.title.startswith("Causal Scrubbing"))
    assert not scrubbing.title.endswith("]")
    path = _write(tmp_path / "r.jsonl", [
        {"title": "Circuits Updates [July 2024]"}, {"title": "A Draft [draft]"},
        {"title": "Probing Heads  [Some Lab]"},
    ])
    assert [r.title for r in read_records_file(path).records] == [
        "Circuits Updates [July 2024]", "A Draft [draft]", "Probing Heads"]


def test_bad_line_names_its_number_and_nothing_is_written(
    tmp_path: Path, store: GraphStore, embedder: HashEmbedder
) -> None:
    good = {"id": "ok-1", "title": "Fine Paper", "abstract": "Fine."}
    for bad, message in [("{not json", "line 3"), ({"title": ""}, "line 3: 'title'"),
                         ({"title": "T", "authors": ["x"], "year": "soon"}, "line 3: 'year'"),
                         ("[1, 2]", "line 3: expected a JSON object")]:
        path = _write(tmp_path / "bad.jsonl", [good, good | {"id": "ok-2", "title": "Other"}, bad])
        before = snapshot(store)
        with pytest.raises(RecordsFileError, match=message):
            ingest_records_file(store, path, embedder=embedder, progress=False)
        assert snapshot(store) == before
        assert store.runs() == []  # the file is rejected before a run starts


@pytest.mark.parametrize("authors, given", [("Ada Lovelace, Alan Turing", "one string"),
                                              ({"name": "Ada Lovelace"}, "an object"), (42, "a number"),
                                              (True, "a boolean")])
def test_authors_that_are_not_a_list_are_a_bad_line(tmp_path: Path, authors: Any, given: str) -> None:
    # One string used to be stored as ONE author named "Ada Lovelace, Alan Turing".
    path = _write(tmp_path / "r.jsonl", [{"id": "a", "title": "Alpha", "authors": ["Ada Lovelace"]},
                                        {"id": "b", "title": "Beta", "authors": authors}])
    problem = f"'authors' must be a list of names, e.g. [\"Ada Lovelace\", \"Alan Turing\"], not {given}"
    with pytest.raises(RecordsFileError) as refused:
        read_records_file(path)
    assert str(refused.value) == f"{path} line 2: {problem} {NOTHING_WRITTEN}"
    read = read_records_file(path, skip_invalid=True)
    assert [r.explicit_id for r in read.records] == ["a"]
    assert read.skipped == [{"line": 2, "error": problem, "title": "Beta"}]


def test_cli_skip_invalid_skips_a_line_whose_authors_is_a_string(
    tmp_path: Path, store: GraphStore, embedder: HashEmbedder, extractor: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ingest.pipeline as pipeline
    from kg.cli import main

    monkeypatch.setattr(pipeline, "_load_embedder", lambda: embedder)
    monkeypatch.setattr(pipeline, "_load_extractor", lambda taxonomy=None: extractor)
    path = _write(tmp_path / "r.jsonl", [
        {"id": "a", "title": "Alpha", "authors": ["Ada Lovelace", "Alan Turing"]},
        {"id": "b", "title": "Beta", "authors": "Ada Lovelace, Alan Turing"}])
    refused = CliRunner().invoke(main, ["ingest", "records", str(path)])
    assert refused.exit_code == 1
    assert "line 2: 'authors' must be a list of names" in refused.output
    assert store.paper_ids() == []
    skipped = CliRunner().invoke(main, ["ingest", "records", str(path), "--skip-invalid", "--json"])
    assert skipped.exit_code == 0, skipped.output
    assert sorted(store.paper_ids()) == ["a"]
    detail = store.get_paper("a")
    assert detail is not None and detail.paper.authors == ["Ada Lovelace", "Alan Turing"]


def test_skip_invalid_reports_and_goes_on(
    tmp_path: Path, store: GraphStore, embedder: HashEmbedder, extractor: Any
) -> None:
    lines = [{"id": "a", "title": "Alpha"}, "{oops", {"id": "b", "title": "Beta"}]
    path = _write(tmp_path / "r.jsonl", lines)
    summary = ingest_records_file(store, path, embedder=embedder, extractor=extractor, progress=False,
                                  skip_invalid=True)
    assert (summary.new, summary.rejected) == (2, 1)
    assert summary.rejected_details[0]["source_id"] == "line 2"
    assert sorted(store.paper_ids()) == ["a", "b"]


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RecordsFileError, match="cannot read records file"):
        read_records_file(tmp_path / "nope.jsonl")


# -- values checked per field --------------------------------------------------------------------
_ROW = {"section": "Circuits", "subsection": "Heads", "technique_ids": ["activation_patching"]}


@pytest.mark.parametrize("bad, message", [
    ({"title": "T", "item_type": "article"}, "line 3: 'item_type' must be 'paper' or 'tool', not 'article'"),
    ({"title": "T", "year": 1850}, "line 3: 'year' 1850 is outside the years 1900..2100"),
    ({"title": "T", "year": "21000"}, "line 3: 'year' 21000 is outside the years 1900..2100"),
    ({"title": "T", "year": 2021.5}, "line 3: 'year' must be an integer, not 2021.5"),
    ({"title": "T", "published": "1066-10-14"}, "line 3: 'published' 1066-10-14 is outside the years"),
    ({"title": "T", "published": "last tuesday"}, "line 3: 'published' must be an ISO date or datetime"),
    ({"title": "T", "published": "2022-13-01"}, "line 3: 'published' must be an ISO date"),
    ({"title": "T", "published": "20221101"}, "line 3: 'published' must be an ISO date"),
    ({"title": "T", "updated": "2022/11/01"}, "line 3: 'updated' must be an ISO date"),
    # Clock QA: revised before it was first published, one of the dates is wrong (it was stored as given).
    ({"title": "T", "published": "2024-03-05", "updated": "2024-03-04T23:59:59Z"},
     "line 3: 'updated' 2024-03-04 is earlier than 'published' 2024-03-05"),
    # In UTC: 2024-03-05T01:00:00+05:00 is 2024-03-04 20:00 UTC, a day before 2024-03-05T03:00:00Z's.
    ({"title": "T", "published": "2024-03-05T03:00:00Z", "updated": "2024-03-05T01:00:00+05:00"},
     "line 3: 'updated' 2024-03-04 is earlier than 'published' 2024-03-05"),
    # The year in UTC is the one checked (and stored): 2100-12-31 in New York is 2101 in UTC.
    ({"title": "T", "published": "2100-12-31T23:30:00-05:00"},
     "line 3: 'published' 2101-01-01 is outside the years 1900..2100"),
    ({"title": "T", "published": "9999-12-31T23:30:00-05:00"},
     "line 3: 'published' 9999-12-31T23:30:00-05:00 is outside the years 1900..2100"),
    ({"title": "T", "list_rows": [_ROW | {"occurrences": "abc"}]},
     "line 3: list_rows\\[0\\]: 'occurrences' must be an integer, not 'abc'"),
    ({"title": "T", "list_rows": [_ROW, _ROW | {"occurrences": 0}]},
     "line 3: list_rows\\[1\\]: 'occurrences' must be 1 or more, not 0"),
    ({"title": "T", "list_rows": [{"subsection": "Heads", "tldr": "no section"}]},
     "line 3: list_rows\\[0\\]: 'section' is missing or empty"),
    ({"title": "T", "list_rows": [_ROW | {"section": "  "}]},
     "line 3: list_rows\\[0\\]: 'section' is missing"),
    ('{"title": "Unterminated", ', "line 3: not valid JSON \\(expecting property name enclosed in double "
                                   "quotes, column 27\\)"),
    ('{"title": ', "line 3: not valid JSON \\(expecting value, column 11\\)"),
    # json's own message ends in "at" (QA: "Invalid control character at at column 13").
    ('{"title": "a\fb"}', "line 3: not valid JSON \\(invalid control character, column 13\\)"),
    # Parser limits, reported like any other bad JSON (not a RecursionError/ValueError traceback).
    ('{"title": "T", "x": ' + "[" * 100_000 + "]" * 100_000 + "}",
     "line 3: not valid JSON \\(nested too deeply\\)"),
    ('{"title": "T", "n": ' + "9" * 4_301 + "}",
     "line 3: not valid JSON \\(exceeds the limit \\(4300 digits\\) for integer string conversion"),
    # Length limits (kg.validation), checked on each field.
    ({"title": "T" * 1_001}, "line 3: 'title' is 1001 characters long \\(the limit is 1000\\)"),
    ({"title": "T", "abstract": "a" * 20_001},
     "line 3: 'abstract' is 20001 characters long \\(the limit is 20000\\)"),
    ({"title": "T", "authors": ["A"] * 10_001},
     "line 3: 'authors' has 10001 entries \\(the limit is 10000\\)"),
    ({"title": "T", "authors": ["A. Author", "B" * 301]},
     "line 3: author 2 of 'authors' is 301 characters long \\(the limit is 300\\)"),
    ({"title": "T", "venue": "V" * 2_001}, "line 3: 'venue' is 2001 characters long"),
    ({"title": "T", "list_rows": [_ROW | {"tldr": "t" * 2_001}]},
     "line 3: list_rows\\[0\\]: 'tldr' is 2001 characters long"),
    # Lone surrogates: JSON can write them, UTF-8 cannot store them.
    ('{"title": "Bad \\udc80 title"}',
     "line 3: 'title' is not valid Unicode text \\(lone surrogate '\\\\udc80'"),
    ('{"title": "T", "authors": ["\\ud800"]}', "line 3: 'authors' is not valid Unicode text"),
    # Ids become URLs: URL-safe characters only, no path tricks, no control characters.
    ({"title": "T", "id": "../../api/stats"}, "line 3: 'id' must be letters, digits and"),
    ({"title": "T", "id": "//evil.com"}, "line 3: 'id' must be letters, digits and"),
    ({"title": "T", "id": "a/../b"}, "line 3: 'id' must be letters, digits and"),
    ({"title": "T", "id": "paper\r\nSet-Cookie: x"}, "line 3: 'id' must be letters, digits and"),
    ({"title": "T", "id": "a" * 201}, "line 3: 'id' is 201 characters long \\(the limit is 200\\)"),
    ({"title": "T", "arxiv_id": "javascript:alert(14)"},
     "line 3: 'arxiv_id' must be an arXiv id such as 2211.00593, 2211.00593v2 or hep-th/9901001, "
     "not 'javascript:alert\\(14\\)'"),
    ({"title": "T", "arxiv_id": "2211.00593/../../x"}, "line 3: 'arxiv_id' must be an arXiv id"),
    ({"title": "T", "arxiv_id": "https://arxiv.org/list/cs.LG/recent"},  # an arxiv.org URL without an id
     "line 3: 'arxiv_id' must be an arXiv id"),
    # A DOI that is not one used to be dropped silently.
    ({"title": "T", "doi": "not a doi at all"},
     "line 3: 'doi' must be a DOI such as 10.1234/abc or a https://doi.org/ URL, not 'not a doi at all'"),
    # Types are named as JSON names them (not Python's NoneType, int, bool, list, dict).
    ("null", "line 3: expected a JSON object, got null"),
    ("true", "line 3: expected a JSON object, got a boolean"),
    ("42", "line 3: expected a JSON object, got a number"),
    ('"a string"', "line 3: expected a JSON object, got a string"),
    ("[1, 2]", "line 3: expected a JSON object, got an array"),
    ({"title": {"en": "T"}}, "line 3: 'title' must be a string, not an object"),
    ({"title": "T", "venue": False}, "line 3: 'venue' must be a string, not a boolean"),
    ({"title": "T", "year": True}, "line 3: 'year' must be an integer, not true"),
    ({"title": "T", "categories": 5}, "line 3: 'categories' must be a list of strings, not a number"),
    ({"title": "T", "authors": ["A. Author", None]},
     "line 3: 'authors' must be a list of strings, not one holding null \\(entry 2\\)"),
    ({"title": "T", "list_rows": {"section": "Circuits"}},
     "line 3: 'list_rows' must be an array, not an object"),
    ({"title": "T", "list_rows": [["Circuits"]]}, "line 3: list_rows\\[0\\] must be an object, not an array"),
])
def test_bad_values_name_the_line_and_field_and_nothing_is_written(
    tmp_path: Path, store: GraphStore, embedder: HashEmbedder, bad: Any, message: str
) -> None:
    good = {"id": "ok-1", "title": "Fine Paper", "abstract": "Fine."}
    path = _write(tmp_path / "bad.jsonl", [good, good | {"id": "ok-2", "title": "Other"}, bad])
    before = snapshot(store)
    with pytest.raises(RecordsFileError, match=message + ".*nothing was written"):
        ingest_records_file(store, path, embedder=embedder, progress=False)
    assert snapshot(store) == before and store.runs() == []
    read = read_records_file(path, skip_invalid=True)  # --skip-invalid: skipped, reported, the rest read
    assert [r.source_id for r in read.records] == ["ok-1", "ok-2"]
    assert [s["line"] for s in read.skipped] == [3]


def test_valid_values_are_read(tmp_path: Path) -> None:
    path = _write(tmp_path / "r.jsonl", [
        {"title": "Dated", "published": "2022-11-01T17:59:01Z", "updated": "2023-01-02",
         "item_type": "tool", "list_rows": [_ROW | {"occurrences": "2"}]},
        {"title": "Year from the date", "published": "2021-04-18"},
        {"title": "Edges", "year": 1900, "list_rows": [{"section_path": ["Tools", "Viz"]}]},
    ])
    dated, from_date, edges = read_records_file(path).records
    assert (dated.published, dated.updated, dated.year, dated.item_type) == ("2022-11-01", "2023-01-02", 2022,
                                                                             "tool")
    assert dated.list_rows[0].section_path == ["Circuits", "Heads"] and dated.list_rows[0].occurrences == 2
    assert from_date.year == 2021
    assert edges.year == 1900 and edges.list_rows[0].section_id == "tools/viz"


def test_a_time_with_an_offset_is_stored_as_its_utc_date(tmp_path: Path) -> None:
    """Clock QA: 2024-12-31T23:30:00-05:00 was stored as 2024-12-31 (year 2024), the local date, while the
    arXiv ingest stores the UTC date (2025-01-01) of the same moment: one paper, two dates."""
    path = _write(tmp_path / "r.jsonl", [
        {"title": "New York", "published": "2024-12-31T23:30:00-05:00", "updated": "2025-01-01T00:10:00Z"},
        {"title": "Kolkata", "published": "2025-01-01T03:00:00+05:30",
         "updated": "2025-01-01T05:29:00+05:30"},
        {"title": "No offset", "published": "2024-12-31T23:30:00", "updated": "2024-12-31"},
        {"title": "Same day", "published": "2024-06-01T18:00:00Z", "updated": "2024-06-01T09:00:00Z"},
    ])
    new_york, kolkata, naive, same_day = read_records_file(path).records
    assert (new_york.published, new_york.updated, new_york.year) == ("2025-01-01", "2025-01-01", 2025)
    assert (kolkata.published, kolkata.updated, kolkata.year) == ("2024-12-31", "2024-12-31", 2024)
    assert (naive.published, naive.updated, naive.year) == ("2024-12-31", "2024-12-31", 2024)  # as given
    assert (same_day.published, same_day.updated) == ("2024-06-01", "2024-06-01")  # stored dates compared


def test_unknown_label_ids_are_reported_with_their_line_not_dropped(
    tmp_path: Path, store: GraphStore, embedder: HashEmbedder, extractor: Any
) -> None:
    row = {"section": "Circuits", "techniques": "Activation Patching, Quantum Probing",
           "technique_ids": ["activation_patching", "quantum_probing"], "evaluation_ids": ["vibes"]}
    path = _write(tmp_path / "r.jsonl", [
        {"id": "a", "title": "Alpha"},
        {"id": "b", "title": "Beta", "list_rows": [row]},
        {"id": "c", "title": "Gamma", "list_rows": [row | {"line": 40}]},
    ])
    summary = ingest_records_file(store, path, embedder=embedder, extractor=extractor, progress=False)
    assert summary.unknown_labels == [
        {"label": "vibes", "column": "evaluation", "lines": [2, 3], "suggestion": None},
        {"label": "quantum_probing", "column": "techniques", "lines": [2, 3], "suggestion": None},
    ]
    assert summary.counts()["unknown_labels"] == 2 and store.runs()[0].counts["unknown_labels"] == 2
    assert "techniques: 'quantum_probing' (line 2, 3)" in summary.text()
    beta = store.get_paper("b")
    assert beta is not None
    assert "activation_patching" in {t.technique_id for t in beta.techniques}  # known ids still become edges
    (stored_row,) = beta.list_rows
    assert stored_row.techniques_text == "Activation Patching, Quantum Probing" and stored_row.line is None
    gamma = store.get_paper("c")
    assert gamma is not None and gamma.list_rows[0].line == 40  # the list line given is the one stored



def test_an_over_long_abstract_is_skipped_with_skip_invalid_and_the_rest_written(
    tmp_path: Path, store: GraphStore, embedder: HashEmbedder, extractor: Any
) -> None:
    # 1.1 M characters: spaCy's own limit is 1,000,000, past which the whole import used to fail.
    path = _write(tmp_path / "r.jsonl", [{"id": "a", "title": "Alpha"},
                                         {"id": "huge", "title": "Huge", "abstract": "word " * 220_000},
                                         '{"id": "sur", "title": "Lone \\udc80"}',
                                         {"id": "b", "title": "Beta"}])
    with pytest.raises(RecordsFileError, match="line 2: 'abstract' is 1099999 characters long"):
        ingest_records_file(store, path, embedder=embedder, extractor=extractor, progress=False)
    assert store.paper_ids() == [] and store.runs() == []
    summary = ingest_records_file(store, path, embedder=embedder, extractor=extractor, progress=False,
                                  skip_invalid=True)
    assert (summary.status, summary.new, summary.rejected) == ("succeeded", 2, 2)
    assert [d["source_id"] for d in summary.rejected_details] == ["line 2", "line 3"]
    assert "'title' is not valid Unicode text" in summary.rejected_details[1]["reason"]
    assert sorted(store.paper_ids()) == ["a", "b"]


def test_valid_ids_are_kept(tmp_path: Path, shared_data: Path) -> None:
    path = _write(tmp_path / "r.jsonl", [
        {"title": "Old style", "id": "hep-th/9901001"},
        {"title": "Old style with a subject class", "arxiv_id": "math.GT/0309136v2"},
        {"title": "Prefixed and versioned", "arxiv_id": "arXiv:2211.00593v3"},
        {"title": "An arXiv URL stands for its id", "arxiv_id": "https://arxiv.org/abs/2305.01610v2"},
        {"title": "Four-digit number", "arxiv_id": "0704.0001", "id": "ignored-for-arxiv"},
        {"title": "Explicit", "id": "my_corpus:paper-1.2"},
    ])
    assert [r.paper_id for r in read_records_file(path).records] == [
        "hep-th/9901001", "math.gt/0309136", "2211.00593", "2305.01610", "0704.0001", "my_corpus:paper-1.2"]
    seed = read_records_file(shared_data / "seed_papers.jsonl")  # every id of the shared data passes
    assert len(seed.records) == 38 and seed.skipped == []


def test_control_characters_are_removed_from_stored_text(
    tmp_path: Path, store: GraphStore, embedder: HashEmbedder, extractor: Any
) -> None:
    path = _write(tmp_path / "r.jsonl", [{
        "id": "ctl", "title": "Nul\u0000 and\u001b[2J escape\u0085 title",
        "abstract": "Line one\r\nline two\ttabbed \u202eesrever\u202c and \u05e9\u05dc\u05d5\u05dd\u200f.",
        "authors": ["\u202eAlice Smith", "Bob\u2066 Jones\u2069", "\u009b31mCarol"],
        "venue": "ICLR\u0007",
        "list_rows": [_ROW | {"tldr": "TL\u0000;DR\u001b", "techniques": "Probing\u2067"}],
    }])
    ingest_records_file(store, path, embedder=embedder, extractor=extractor, progress=False)
    detail = store.get_paper("ctl")
    assert detail is not None
    paper = detail.paper
    assert paper.title == "Nul and[2J escape title"
    # Tab and newline stay, CR LF becomes a newline; Hebrew letters and the RLM mark stay.
    assert paper.abstract == "Line one\nline two\ttabbed esrever and \u05e9\u05dc\u05d5\u05dd\u200f."
    assert paper.authors == ["Alice Smith", "Bob Jones", "31mCarol"]
    assert paper.venue == "ICLR"
    (row,) = detail.list_rows
    assert (row.tldr, row.techniques_text) == ("TL;DR", "Probing")


# -- arXiv versions ------------------------------------------------------------------------------
def test_the_arxiv_version_of_an_id_is_kept(tmp_path: Path) -> None:
    # It used to be stripped and thrown away, so records of two versions could not be told apart.
    path = _write(tmp_path / "r.jsonl", [
        {"title": "Bare", "arxiv_id": "2401.01234v2"},
        {"title": "Prefixed", "arxiv_id": "arXiv:2211.00593V3"},
        {"title": "Abs URL", "arxiv_id": "https://arxiv.org/abs/2305.01610v12"},
        {"title": "Pdf URL", "arxiv_id": "https://arxiv.org/pdf/2305.01611v4.pdf"},
        {"title": "Old style", "arxiv_id": "math.GT/0309136v2"},
        {"title": "No version", "arxiv_id": "2401.01235"},
        {"title": "Unversioned URL", "arxiv_id": "https://arxiv.org/abs/2401.01236"},
    ])
    assert [(r.arxiv_id, r.version) for r in read_records_file(path).records] == [
        ("2401.01234", 2), ("2211.00593", 3), ("2305.01610", 12), ("2305.01611", 4),
        ("math.gt/0309136", 2), ("2401.01235", None), ("2401.01236", None)]


_V1 = {"arxiv_id": "2401.01234v1", "title": "Old Title", "updated": "2024-01-03"}
def test_a_withdrawal_stated_in_the_comment_is_the_abstracts_notice(tmp_path: Path) -> None:
    """arXiv states a withdrawal in the comment: a records file made from arXiv metadata marks the paper
    withdrawn as an arXiv ingest does; a comment that only mentions a withdrawal changes nothing."""
    from kg.withdrawn import is_withdrawn

    path = _write(tmp_path / "r.jsonl", [
        {"id": "w-1", "title": "Gone", "abstract": "We probe heads.",
         "comment": "This paper has been withdrawn by the authors due to an error in Lemma 2"},
        {"id": "w-2", "title": "Kept", "abstract": "We probe heads.",
         "comment": "v2: withdrawn figure 3 replaced"},
        {"id": "w-3", "title": "Plain", "abstract": "We probe heads.", "comment": "12 pages, 5 figures"},
    ])
    gone, kept, plain = read_records_file(path).records
    assert gone.abstract == ("This paper has been withdrawn by the authors due to an error in Lemma 2. "
                             "We probe heads.")
    assert is_withdrawn(gone.abstract)
    assert kept.abstract == plain.abstract == "We probe heads."


_V2 = {"arxiv_id": "2401.01234v2", "title": "New Title", "updated": "2024-02-10"}


def _imported(store: GraphStore, path: Path, lines: list[dict[str, Any]], embedder: HashEmbedder,
              extractor: Any) -> tuple[str, str | None, int | None]:
    """Import `lines` as one records file; (title, updated, arxiv_version) of the stored 2401.01234."""
    ingest_records_file(store, _write(path, lines), embedder=embedder, extractor=extractor, progress=False)
    detail = store.get_paper("2401.01234")
    assert detail is not None
    return detail.paper.title, detail.paper.updated, detail.paper.arxiv_version


def test_an_older_version_never_overwrites_a_newer_one_across_imports(
    tmp_path: Path, store: GraphStore, embedder: HashEmbedder, extractor: Any
) -> None:
    path = tmp_path / "r.jsonl"
    assert _imported(store, path, [_V2], embedder, extractor) == ("New Title", "2024-02-10", 2)
    assert _imported(store, path, [_V1], embedder, extractor) == ("New Title", "2024-02-10", 2)
    v3 = _V2 | {"arxiv_id": "2401.01234v3", "title": "Newest Title"}
    assert _imported(store, path, [v3], embedder, extractor)[::2] == ("Newest Title", 3)


@pytest.mark.parametrize("order", ["v1 first", "v2 first"])
def test_an_older_version_never_overwrites_a_newer_one_within_a_file(
    tmp_path: Path, store: GraphStore, embedder: HashEmbedder, extractor: Any, order: str
) -> None:
    lines = [_V1, _V2] if order == "v1 first" else [_V2, _V1]
    stored = _imported(store, tmp_path / "r.jsonl", lines, embedder, extractor)
    assert stored == ("New Title", "2024-02-10", 2)


# -- encodings -----------------------------------------------------------------------------------
def test_a_line_that_is_not_utf8_is_a_bad_line_named_with_its_column(
    tmp_path: Path, store: GraphStore, embedder: HashEmbedder, extractor: Any
) -> None:
    # The whole file used to be refused with no line and a byte offset into the file, and
    # --skip-invalid could not skip the line.
    path = tmp_path / "r.jsonl"
    path.write_bytes(b'{"id": "a", "title": "Alpha"}\n'
                     + '{"id": "b", "title": "Caf\u00e9 \u00e9t\u00e9 neurons"}\n'.encode("latin-1")
                     + '{"id": "c", "title": "Gamma \u00e9t\u00e9", "abstract": "\u00e9"}\n'.encode())
    problem = ("not UTF-8 text: byte 0xe9 at column 26 (Windows-1252 or Latin-1 text? 0xe9 is '\u00e9' "
               "there: save the file as UTF-8)")
    with pytest.raises(RecordsFileError) as refused:
        read_records_file(path)
    assert str(refused.value) == f"{path} line 2: {problem} {NOTHING_WRITTEN}"
    summary = ingest_records_file(store, path, embedder=embedder, extractor=extractor, progress=False,
                                  skip_invalid=True)
    assert (summary.new, summary.rejected_details) == (
        2, [{"line": 2, "source_id": "line 2", "title": None, "reason": problem}])
    detail = store.get_paper("c")
    assert detail is not None and detail.paper.title == "Gamma \u00e9t\u00e9"


def test_the_column_of_a_bad_byte_counts_characters(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes('{"title": "\u00e9\u00e9"}'.encode() + b"\xff\n")  # 15 characters, 17 bytes, then 0xff
    with pytest.raises(RecordsFileError, match=r"line 1: not UTF-8 text: byte 0xff at column 16 "):
        read_records_file(path)


def test_lines_end_at_lf_crlf_and_cr_as_before(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(b'{"title": "A"}\r\n{"title": "B"}\r{"title": "C"}\n\n{oops\r\n{"title": "D"}')
    read = read_records_file(path, skip_invalid=True)
    assert [r.title for r in read.records] == ["A", "B", "C", "D"]
    assert [s["line"] for s in read.skipped] == [5]


def test_a_leading_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    # It used to make line 1 invalid JSON ("Unexpected UTF-8 BOM").
    path = tmp_path / "r.jsonl"
    path.write_bytes("\ufeff".encode() + b'{"id": "a", "title": "Alpha"}\r\n{"id": "b", "title": "Beta"}\r\n')
    read = read_records_file(path)
    assert [(r.explicit_id, r.title) for r in read.records] == [("a", "Alpha"), ("b", "Beta")]
    assert read.skipped == []


@pytest.mark.parametrize(("encoded", "message"), [
    (lambda text: gzip.compress(text.encode()), "is gzip-compressed, not UTF-8 text (decompress it first: "
     "gunzip)"),
    (lambda text: text.encode("utf-16"), "is UTF-16 text, not UTF-8 (save the file as UTF-8)"),  # with a BOM
    (lambda text: text.encode("utf-32"), "is UTF-32 text, not UTF-8 (save the file as UTF-8)"),
    # Without a byte order mark: its NULs say what it is (it was every line a bad line, "invalid JSON").
    (lambda text: text.encode("utf-16-be"), "is not UTF-8 text: a NUL character at line 1, column 1 (UTF-16 "
     "text without a byte order mark? save the file as UTF-8)"),
])
def test_a_compressed_or_utf16_file_is_refused_as_a_whole(
    tmp_path: Path, encoded: Callable[[str], bytes], message: str
) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(encoded('{"title": "Alpha"}\n' * 50))
    for skip_invalid in (False, True):  # not hundreds of garbled "lines" skipped one by one
        with pytest.raises(RecordsFileError) as refused:
            read_records_file(path, skip_invalid=skip_invalid)
        assert str(refused.value) == f"{path} {message}"


# -- label text without ids ----------------------------------------------------------------------
def test_label_text_without_ids_is_mapped_like_the_lists(
    tmp_path: Path, store: GraphStore, embedder: HashEmbedder, extractor: Any
) -> None:
    # A row's techniques/evaluation text used to create no edge when it had no *_ids, silently.
    row = {"section": "Circuits", "techniques": "Activation patching, Quantum Probing",
           "evaluation": "Faithfulness"}
    path = _write(tmp_path / "r.jsonl", [
        {"id": "a", "title": "Alpha"},
        {"id": "b", "title": "Beta", "list_rows": [row]},
        {"id": "c", "title": "Gamma", "list_rows": [row | {"technique_ids": None, "evaluation_ids": []}]},
        {"id": "d", "title": "Delta", "list_rows": [row | {"technique_ids": ["logit_lens"]}]},
    ])
    summary = ingest_records_file(store, path, embedder=embedder, extractor=extractor, progress=False)
    assert summary.unknown_labels == [
        {"label": "Quantum Probing", "column": "techniques", "lines": [2, 3], "suggestion": None}]
    assert "techniques: 'Quantum Probing' (line 2, 3)" in summary.text()
    for paper_id in ("b", "c"):
        detail = store.get_paper(paper_id)
        assert detail is not None
        assert [(t.technique_id, t.source) for t in detail.techniques if t.source == "list"] == [
            ("activation_patching", "list")]
        assert [(e.evaluation_id, e.source) for e in detail.evaluations if e.source == "list"] == [
            ("faithfulness", "list")]
        (stored_row,) = detail.list_rows
        assert stored_row.techniques_text == "Activation patching, Quantum Probing"
    delta = store.get_paper("d")  # ids given: they are the row's techniques, the text is not mapped
    assert delta is not None
    assert [t.technique_id for t in delta.techniques if t.source == "list"] == ["logit_lens"]
    assert [e.evaluation_id for e in delta.evaluations if e.source == "list"] == ["faithfulness"]


def test_label_text_is_mapped_with_the_taxonomy_given(tmp_path: Path, taxonomy: Taxonomy) -> None:
    path = _write(tmp_path / "r.jsonl", [{"title": "T", "list_rows": [
        {"section": "Circuits", "techniques": "Activation patching; Logit lens", "evaluation": "N/A"}]}])
    (row,) = read_records_file(path, taxonomy=taxonomy).records[0].list_rows
    assert (row.technique_ids, row.unknown_techniques, row.evaluation_ids, row.unknown_evaluations) == (
        ["activation_patching", "logit_lens"], [], [], [])


def test_an_unreadable_taxonomy_stops_the_import_only_when_labels_need_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAPERKG_TAXONOMY", str(tmp_path / "missing.yaml"))
    plain = _write(tmp_path / "plain.jsonl", [{"title": "T", "list_rows": [_ROW]}])
    assert len(read_records_file(plain).records) == 1  # ids given: the taxonomy is not read
    text = _write(tmp_path / "text.jsonl", [{"title": "T", "list_rows": [
        {"section": "Circuits", "techniques": "Activation patching"}]}])
    for skip_invalid in (False, True):  # about the whole file: not a bad line to skip
        with pytest.raises(RecordsFileError,
                           match=r"cannot map the list rows' labels: taxonomy file .* does not exist"):
            read_records_file(text, skip_invalid=skip_invalid)


# Style review: the feed-date rule (a Z is +00:00, an offset converted to UTC, none taken as UTC, years
# 1900..2100) was written three times: the records file, the arXiv source and the local arXiv server.
@pytest.mark.parametrize(("text", "utc"), [
    ("2024-12-31T23:30:00-05:00", datetime(2025, 1, 1, 4, 30, tzinfo=UTC)),
    ("2024-12-31T23:30:00Z", datetime(2024, 12, 31, 23, 30, tzinfo=UTC)),
    ("2024-12-31T23:30:00", datetime(2024, 12, 31, 23, 30, tzinfo=UTC)),
    (" 2024-12-31 ", datetime(2024, 12, 31, tzinfo=UTC)),
])
def test_one_date_rule_for_records_files_the_arxiv_source_and_the_local_server(text: str, utc: datetime
                                                                                 ) -> None:
    assert parse_iso_time(text, "published") == utc
    assert record_from_dict({"title": "T", "published": text}).published == utc.date().isoformat()
    assert _date_problem(text, "published") is None
    served = entry_from_record({"arxiv_id": "2611.00001", "title": "T", "published": text})
    assert served is not None and served["published"] == utc.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize(("text", "refused", "message"), [
    ("garbage", UnreadableDate, "Invalid isoformat string: 'garbage'"),
    ("2023-02-29", UnreadableDate, "day is out of range for month"),
    ("2150-02-23T00:00:00Z", ValueError, "'published' 2150-02-23 is outside the years 1900..2100"),
    ("9999-12-31T23:00:00-05:00", ValueError,
     "'published' 9999-12-31T23:00:00-05:00 is outside the years 1900..2100"),
])
def test_the_date_rule_refuses_alike_everywhere(text: str, refused: type[ValueError], message: str) -> None:
    with pytest.raises(refused) as caught:
        parse_iso_time(text, "published")
    assert str(caught.value) == message
    problem = _date_problem(text, "published")
    assert problem is not None and message in problem
    with pytest.raises(ValueError, match="'published'"):
        record_from_dict({"title": "T", "published": text})
    # The local server applies no year rule (a year 2150 is served, for tests), and serves what no
    # parser reads as given (a broken feed).
    served = entry_from_record({"arxiv_id": "2611.00001", "title": "T", "published": text})
    assert served is not None
    assert served["published"] == ("2150-02-23T00:00:00Z" if text.startswith("2150") else text)
