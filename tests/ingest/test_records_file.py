"""JSON Lines records import: the seed format, unknown keys, bad lines (nothing partially written)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ingest.pipeline import ingest_records_file
from ingest.records_file import RecordsFileError, read_records_file
from kg.store import GraphStore
from tests.embedders import HashEmbedder

from .conftest import snapshot


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


def test_bad_line_names_its_number_and_nothing_is_written(
    tmp_path: Path, store: GraphStore, embedder: HashEmbedder
) -> None:
    good = {"id": "ok-1", "title": "Fine Paper", "abstract": "Fine."}
    for bad, message in [("{not json", "line 3"), ({"title": ""}, "line 3: 'title'"),
                         ({"title": "T", "authors": "x", "year": "soon"}, "line 3: 'year'"),
                         ("[1, 2]", "line 3: expected a JSON object")]:
        path = _write(tmp_path / "bad.jsonl", [good, good | {"id": "ok-2", "title": "Other"}, bad])
        before = snapshot(store)
        with pytest.raises(RecordsFileError, match=message):
            ingest_records_file(store, path, embedder=embedder, progress=False)
        assert snapshot(store) == before
        assert store.runs() == []  # the file is rejected before a run starts


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
    ({"title": "T", "list_rows": [_ROW | {"occurrences": "abc"}]},
     "line 3: list_rows\\[0\\]: 'occurrences' must be an integer, not 'abc'"),
    ({"title": "T", "list_rows": [_ROW, _ROW | {"occurrences": 0}]},
     "line 3: list_rows\\[1\\]: 'occurrences' must be 1 or more, not 0"),
    ({"title": "T", "list_rows": [{"subsection": "Heads", "tldr": "no section"}]},
     "line 3: list_rows\\[0\\]: 'section' is missing or empty"),
    ({"title": "T", "list_rows": [_ROW | {"section": "  "}]},
     "line 3: list_rows\\[0\\]: 'section' is missing"),
    ('{"title": "Unterminated", ', "line 3: invalid JSON \\(Expecting property name enclosed in double "
                                   "quotes at column 27\\)"),
    ('{"title": ', "line 3: invalid JSON \\(Expecting value at column 11\\)"),
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
        {"label": "vibes", "column": "evaluation", "lines": [2, 3]},
        {"label": "quantum_probing", "column": "techniques", "lines": [2, 3]},
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

