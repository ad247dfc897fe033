"""Records built in Python (a notebook): one string where a list is expected is refused by name, not
split into letters, and run_ingest names Record when given something else."""

from __future__ import annotations

from typing import Any

import pytest

from ingest.pipeline import run_ingest
from ingest.records import ListRowRecord, Record
from kg.store import GraphStore

# The records file's words for 'authors' (ingest.records_file._authors).
AUTHORS_WORDS = "'authors' must be a list of names, e.g. [\"Ada Lovelace\", \"Alan Turing\"], not one string"


@pytest.mark.parametrize(("name", "words"), [
    ("authors", AUTHORS_WORDS),
    ("categories",
     "'categories' must be a list of arXiv categories, e.g. [\"cs.LG\", \"cs.CL\"], not one string"),
    ("urls", "'urls' must be a list of URLs, e.g. [\"https://github.com/org/repo\"], not one string"),
])
def test_one_string_for_a_list_field_is_refused_by_name(name: str, words: str) -> None:
    one_string: dict[str, Any] = {name: "Jane Doe"}
    record = Record(source="records", source_id="p-1", title="Toy models of superposition", **one_string)
    assert getattr(record, name) == "Jane Doe"  # not ['J', 'a', 'n', 'e', ...]
    with pytest.raises(ValueError) as caught:
        record.check()
    assert str(caught.value) == words


def test_a_list_row_with_one_string_for_its_headings_is_refused() -> None:
    row = ListRowRecord(section_path="Circuits", title_in_list="Toy models")  # type: ignore[arg-type]
    record = Record(source="list", source_id="p-1", title="Toy models of superposition", list_rows=[row])
    with pytest.raises(ValueError, match=r"^'section_path' must be a list of headings, .* not one string$"):
        record.check()


def test_lists_are_still_cleaned_and_kept() -> None:
    record = Record(source="records", source_id="p-1", title="T", authors=["Jane\x00 Doe", "Li Wei"],
                    categories=("cs.LG",), urls=[])  # type: ignore[arg-type]
    assert record.authors == ["Jane Doe", "Li Wei"] and record.categories == ["cs.LG"]
    record.check()


def test_run_ingest_rejects_the_bad_record_and_keeps_the_rest(store: GraphStore, embedder: Any,
                                                               extractor: Any) -> None:
    good = Record(source="records", source_id="good", title="Sparse autoencoders find features",
                  authors=["Jane Doe"], explicit_id="good")
    bad = Record(source="records", source_id="bad", title="Induction heads in small transformers",
                 authors="Jane Doe", explicit_id="bad")  # type: ignore[arg-type]
    summary = run_ingest(store, [bad, good], source="records", embedder=embedder, extractor=extractor,
                         progress=False)
    assert summary.new == 1
    assert [(r["source_id"], r["reason"]) for r in summary.rejected_details] == [
        ("bad", AUTHORS_WORDS)]
    (stored,) = store.get_papers(["good"])
    assert stored.authors == ["Jane Doe"]
    assert store.get_papers(["bad"]) == []


@pytest.mark.parametrize(("records", "words"), [
    ([{"title": "Toy models", "authors": ["Jane Doe"]}],
     r"^records\[0\] is a dict, not an ingest\.records\.Record: build one with Record\("),
    (Record(source="records", source_id="p", title="Toy models"), r"not one Record: pass \[record\]"),
    ({"title": "Toy models"}, r"^records must be a list of ingest\.records\.Record objects, not dict$"),
])
def test_run_ingest_given_no_records_names_record(store: GraphStore, embedder: Any, extractor: Any,
                                                   records: Any, words: str) -> None:
    with pytest.raises(TypeError, match=words):
        run_ingest(store, records, source="records", embedder=embedder, extractor=extractor, progress=False)
    assert store.runs() == []  # refused before a run was recorded


@pytest.mark.parametrize(("given", "words"), [
    ({"authors": ["Jane Doe", 3]}, "'authors' must be a list of strings, not one holding int 3 (entry 2)"),
    ({"categories": ["cs.LG", None]},
     "'categories' must be a list of strings, not one holding None (entry 2)"),
    ({"urls": [None]}, "'urls' must be a list of strings, not one holding None (entry 1)"),
    ({"list_rows": [ListRowRecord(section_path=["Circuits"], title_in_list="T",
                                  technique_ids=["sae", ["acdc"]])]},  # type: ignore[list-item]
     "'technique_ids' must be a list of strings, not one holding list ['acdc'] (entry 2)"),
    ({"list_rows": [ListRowRecord(section_path=["Circuits", 7], title_in_list="T")]},  # type: ignore[list-item]
     "'section_path' must be a list of strings, not one holding int 7 (entry 2)"),
])
def test_a_list_holding_no_string_is_refused_with_its_entry(given: dict[str, Any], words: str) -> None:
    record = Record(source="records", source_id="k-2", title="Toy models of superposition", **given)
    with pytest.raises(ValueError) as caught:
        record.check()
    assert str(caught.value) == words


@pytest.mark.parametrize("bad_field", [{"authors": ["Jane Doe", 3]}, {"categories": ["cs.LG", None]},
                                       {"urls": [None]}])
def test_run_ingest_rejects_a_list_holding_no_string_and_keeps_the_rest(
        store: GraphStore, embedder: Any, extractor: Any, bad_field: dict[str, Any]) -> None:
    # QA: the store's own check raised for the whole batch (the good record lost); urls=[None] was stored.
    good = Record(source="records", source_id="k-1", title="Sparse autoencoders find features",
                  authors=["Jane Doe"], explicit_id="k-1")
    bad = Record(source="records", source_id="k-2", title="Induction heads in small transformers",
                 explicit_id="k-2", **bad_field)
    summary = run_ingest(store, [good, bad], source="records", embedder=embedder, extractor=extractor,
                         progress=False)
    assert summary.new == 1
    (detail,) = summary.rejected_details
    assert detail["source_id"] == "k-2" and "must be a list of strings, not one holding" in detail["reason"]
    assert [p.id for p in store.get_papers(["k-1", "k-2"])] == ["k-1"]
