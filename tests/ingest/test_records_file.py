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
