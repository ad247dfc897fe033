"""Re-importing a records file: it is the authority for the hand tags (and row fields) it gives a paper
whose rows came from records files; a field it leaves out keeps its stored value, a paper the list has
keeps the list's rows and tags (taxonomy maintainer's finding: edited technique_ids were ignored)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from ingest.pipeline import ingest_records_file, run_ingest
from ingest.records import ListRowRecord, Record
from kg.store import GraphStore
from tests.embedders import HashEmbedder

from .conftest import snapshot

ONE = "records-one"
TWO = "records-two"


def _write(path: Path, lines: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def _paper(paper_id: str, title: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    # The abstract names the logit lens: an extracted tag beside the hand tags, which no import touches.
    return {"id": paper_id, "title": title, "authors": ["Ada Lovelace"], "year": 2024,
            "abstract": "We apply the logit lens to a small transformer.", "list_rows": rows}


def _row(section: str = "Techniques", **fields: Any) -> dict[str, Any]:
    return {"section": section, "title_in_list": "A row", "tldr": "A TL;DR.", **fields}


def _tags(store: GraphStore, paper_id: str) -> dict[str, set[tuple[str, str]]]:
    detail = store.get_paper(paper_id)
    assert detail is not None
    return {"techniques": {(t.technique_id, t.source) for t in detail.techniques},
            "evaluations": {(e.evaluation_id, e.source) for e in detail.evaluations}}


def _import(store: GraphStore, path: Path, embedder: HashEmbedder, extractor: Any) -> Any:
    return ingest_records_file(store, path, embedder=embedder, extractor=extractor, progress=False)


def _first_file(tmp_path: Path) -> Path:
    return _write(tmp_path / "tags.jsonl", [
        _paper(ONE, "Hand tags of paper one", [
            _row(technique_ids=["sae", "probing"], evaluation_ids=["faithfulness"])]),
        _paper(TWO, "Hand tags of paper two", [_row(technique_ids=["acdc"], evaluation_ids=[])]),
    ])


def test_edited_technique_ids_replace_the_papers_hand_tags_and_count_it_updated(
    tmp_path: Path, store: GraphStore, embedder: HashEmbedder, extractor: Any
) -> None:
    """Re-importing with a retired tag said "2 unchanged" and kept every old hand tag."""
    _import(store, _first_file(tmp_path), embedder, extractor)
    assert _tags(store, ONE)["techniques"] == {("sae", "list"), ("probing", "list"),
                                               ("logit_lens", "extracted")}
    edited = _write(tmp_path / "tags.jsonl", [
        _paper(ONE, "Hand tags of paper one", [
            _row(technique_ids=["sae", "causal_scrubbing"], evaluation_ids=["completeness"])]),
        _paper(TWO, "Hand tags of paper two", [_row(technique_ids=["acdc"], evaluation_ids=[])]),
    ])
    summary = _import(store, edited, embedder, extractor)
    assert (summary.updated, summary.unchanged) == (1, 1)
    assert [p["paper_id"] for p in summary.updated_papers] == [ONE]
    assert _tags(store, ONE) == {
        "techniques": {("sae", "list"), ("causal_scrubbing", "list"), ("logit_lens", "extracted")},
        "evaluations": {("completeness", "list")}}
    assert _tags(store, TWO)["techniques"] == {("acdc", "list"), ("logit_lens", "extracted")}
    # And the same file once more changes nothing.
    before = snapshot(store)
    again = _import(store, edited, embedder, extractor)
    assert (again.updated, again.unchanged) == (0, 2) and snapshot(store) == before


def test_edited_technique_labels_replace_the_tags_they_map_to(
    tmp_path: Path, store: GraphStore, embedder: HashEmbedder, extractor: Any
) -> None:
    """`techniques` as the list's labels (no ids): the cell text is the row's tags."""
    path = _write(tmp_path / "labels.jsonl",
                  [_paper(ONE, "Labelled paper", [_row(techniques="SAE, Probing")])])
    _import(store, path, embedder, extractor)
    assert {t for t, s in _tags(store, ONE)["techniques"] if s == "list"} == {"sae", "probing"}
    _write(path, [_paper(ONE, "Labelled paper", [_row(techniques="Probing")])])
    assert _import(store, path, embedder, extractor).updated == 1
    assert {t for t, s in _tags(store, ONE)["techniques"] if s == "list"} == {"probing"}
    detail = store.get_paper(ONE)
    assert detail is not None and [r.techniques_text for r in detail.list_rows] == ["Probing"]


def test_explicit_empty_technique_ids_clear_them_and_absent_evaluations_stay(
    tmp_path: Path, store: GraphStore, embedder: HashEmbedder, extractor: Any
) -> None:
    """`"technique_ids": []` (and no `techniques`) gives the paper no hand technique tags; a row without
    `evaluation_ids`/`evaluation` keeps the evaluation tags."""
    _import(store, _first_file(tmp_path), embedder, extractor)
    cleared = _write(tmp_path / "cleared.jsonl",
                     [_paper(ONE, "Hand tags of paper one", [_row(technique_ids=[])])])
    assert _import(store, cleared, embedder, extractor).updated == 1
    assert _tags(store, ONE) == {"techniques": {("logit_lens", "extracted")},
                                 "evaluations": {("faithfulness", "list")}}


def test_a_row_without_tag_fields_or_tldr_keeps_what_the_stored_row_has(
    tmp_path: Path, store: GraphStore, embedder: HashEmbedder, extractor: Any
) -> None:
    """Absent is not empty: a later file (or an export) that leaves the tag fields and the TL;DR out, or
    sets them to null, wipes nothing; the fields it gives are applied."""
    _import(store, _first_file(tmp_path), embedder, extractor)
    before = _tags(store, ONE)
    later = _write(tmp_path / "later.jsonl", [_paper(ONE, "Hand tags of paper one", [
        {"section": "Techniques", "title_in_list": "Renamed row", "tldr": None, "technique_ids": None}])])
    summary = _import(store, later, embedder, extractor)
    assert summary.updated == 1  # the row's title
    assert _tags(store, ONE) == before
    detail = store.get_paper(ONE)
    assert detail is not None
    assert [(r.title_in_list, r.tldr) for r in detail.list_rows] == [("Renamed row", "A TL;DR.")]
    # No list rows at all: the paper's rows and tags stay too.
    no_rows = _write(tmp_path / "metadata.jsonl", [
        {k: v for k, v in _paper(ONE, "Hand tags of paper one", []).items() if k != "list_rows"}])
    _import(store, no_rows, embedder, extractor)
    assert _tags(store, ONE) == before


def test_rows_of_sections_the_file_does_not_give_stay_with_their_tags(
    tmp_path: Path, store: GraphStore, embedder: HashEmbedder, extractor: Any
) -> None:
    path = _write(tmp_path / "two.jsonl", [_paper(ONE, "Two sections", [
        _row(technique_ids=["sae"]), _row("Circuits", techniques="ACDC")])])
    _import(store, path, embedder, extractor)
    _write(path, [_paper(ONE, "Two sections", [_row(technique_ids=["probing"])])])
    assert _import(store, path, embedder, extractor).updated == 1
    detail = store.get_paper(ONE)
    assert detail is not None and [r.section_id for r in detail.list_rows] == ["techniques", "circuits"]
    # The Techniques row's tag replaced; the Circuits row's label still gives its tag.
    assert {t for t, s in _tags(store, ONE)["techniques"] if s == "list"} == {"probing", "acdc"}


def test_a_paper_the_list_has_keeps_the_lists_rows_and_tags(
    tmp_path: Path, store: GraphStore, embedder: HashEmbedder, extractor: Any
) -> None:
    """The list is the authority for its rows: a records file's rows of a listed paper are not applied."""
    listed = Record(source="list", source_id="row 3", title="A listed paper", list_rows=[ListRowRecord(
        section_path=["Techniques"], title_in_list="A listed paper", techniques="SAE", technique_ids=["sae"],
        line=3)])
    run_ingest(store, [listed], source="list", embedder=embedder, extractor=extractor, progress=False)
    (paper_id,) = store.paper_ids()
    before = snapshot(store)["papers"][paper_id]
    path = _write(tmp_path / "listed.jsonl", [{"id": paper_id, "title": "A listed paper", "list_rows": [
        _row(technique_ids=["probing"])]}])
    _import(store, path, embedder, extractor)
    after = snapshot(store)["papers"][paper_id]
    assert after["list_rows"] == before["list_rows"] and after["techniques"] == before["techniques"]


def test_the_cli_says_updated(data_dir: Path, tmp_path: Path, plumbing: HashEmbedder) -> None:
    from kg.cli import main

    first = _first_file(tmp_path)
    assert CliRunner().invoke(main, ["ingest", "records", str(first)]).exit_code == 0
    _write(first, [
        _paper(ONE, "Hand tags of paper one", [_row(technique_ids=["sae"], evaluation_ids=["faithfulness"])]),
        _paper(TWO, "Hand tags of paper two", [_row(technique_ids=["acdc"], evaluation_ids=[])]),
    ])
    result = CliRunner().invoke(main, ["ingest", "records", str(first), "--json"])
    assert result.exit_code == 0, result.output
    counts = json.loads(result.output)
    assert (counts["updated"], counts["unchanged"]) == (1, 1)


def test_an_export_read_back_keeps_the_stored_tags_and_rows(
    tmp_path: Path, store: GraphStore, embedder: HashEmbedder, extractor: Any
) -> None:
    """`export papers --format jsonl` rows have `techniques_text`, no `techniques` or ids: read back as a
    records file they give no tag field, so the stored hand tags and row texts stay."""
    from ingest.export_papers import export_lines

    path = _write(tmp_path / "tags.jsonl", [_paper(ONE, "Hand tags of paper one", [
        _row(techniques="SAE", technique_ids=["sae", "probing"], evaluation_ids=["faithfulness"])])])
    _import(store, path, embedder, extractor)
    before = snapshot(store)
    exported = tmp_path / "export.jsonl"
    exported.write_text("".join(export_lines(store, fmt="jsonl")), encoding="utf-8")
    assert "techniques" not in json.loads(exported.read_text(encoding="utf-8"))["list_rows"][0]
    summary = _import(store, exported, embedder, extractor)
    assert (summary.updated, summary.unchanged) == (0, 1) and snapshot(store) == before


def _two_rows(tmp_path: Path, techniques_text: str) -> Path:
    return _write(tmp_path / "rows.jsonl", [_paper(ONE, "Hand tags of paper one", [
        _row("Techniques", techniques="see paper", technique_ids=["sae"], evaluation="eval text",
             evaluation_ids=["faithfulness"]),
        _row("Evaluation", techniques=techniques_text, technique_ids=["probing"], evaluation="more text",
             evaluation_ids=["completeness"])])])


def test_a_row_the_file_does_not_give_keeps_its_hand_tags(
    tmp_path: Path, store: GraphStore, embedder: HashEmbedder, extractor: Any
) -> None:
    """Reviewer's finding: a file giving one row's technique_ids dropped the hand tags of the paper's
    other stored row (its text maps to none), though the row itself stayed."""
    _import(store, _two_rows(tmp_path, "other text"), embedder, extractor)
    second = _write(tmp_path / "one_row.jsonl", [_paper(ONE, "Hand tags of paper one", [
        _row("Techniques", techniques="see paper", technique_ids=["acdc"], evaluation_ids=[])])])
    assert _import(store, second, embedder, extractor).updated == 1
    detail = store.get_paper(ONE)
    assert detail is not None
    assert [(r.section_id, r.techniques_text) for r in detail.list_rows] == [
        ("techniques", "see paper"), ("evaluation", "other text")]
    # The given row's old tags (evidence: its old cells) are replaced; the kept row's stay.
    assert _tags(store, ONE) == {
        "techniques": {("acdc", "list"), ("probing", "list"), ("logit_lens", "extracted")},
        "evaluations": {("completeness", "list")}}
    # Its tags keep the kept row's cell as their evidence, so an export puts them back on that row.
    assert {(t.technique_id, t.evidence) for t in detail.techniques if t.source == "list"} == {
        ("acdc", "see paper"), ("probing", "other text")}
    before = snapshot(store)
    assert _import(store, second, embedder, extractor).unchanged == 1 and snapshot(store) == before


def test_a_kept_row_with_the_given_rows_old_text_keeps_the_tags_of_that_text(
    tmp_path: Path, store: GraphStore, embedder: HashEmbedder, extractor: Any
) -> None:
    """The store keeps tags per paper with their cell as evidence: a tag of the given row's old text is
    replaced, unless a kept row has that text too (it may be that row's: kept rather than lost)."""
    _import(store, _two_rows(tmp_path, "see paper"), embedder, extractor)
    second = _write(tmp_path / "one_row.jsonl", [_paper(ONE, "Hand tags of paper one", [
        _row("Techniques", techniques="new text", technique_ids=["acdc"], evaluation="new text",
             evaluation_ids=["completeness"])])])
    _import(store, second, embedder, extractor)
    # sae: the old "see paper" of both rows, kept; faithfulness: the given row's old cell only, replaced.
    assert _tags(store, ONE) == {
        "techniques": {("acdc", "list"), ("sae", "list"), ("probing", "list"), ("logit_lens", "extracted")},
        "evaluations": {("completeness", "list")}}


def test_rows_given_as_ids_alone_keep_the_tags_of_the_rows_the_file_does_not_give(
    tmp_path: Path, store: GraphStore, embedder: HashEmbedder, extractor: Any
) -> None:
    """Ids without text have no cell as evidence: an ids-only kept row keeps every ids-only tag, so the
    given row's old one stays too (the store cannot tell whose it was; kept rather than lost)."""
    _import(store, _write(tmp_path / "ids.jsonl", [_paper(ONE, "Ids only", [
        _row("Techniques", technique_ids=["sae"]), _row("Evaluation", technique_ids=["probing"]),
        _row("Circuits", techniques="ACDC")])]), embedder, extractor)
    second = _write(tmp_path / "one.jsonl", [_paper(ONE, "Ids only", [
        _row("Techniques", technique_ids=["causal_scrubbing"])])])
    assert _import(store, second, embedder, extractor).updated == 1
    assert {t for t, s in _tags(store, ONE)["techniques"] if s == "list"} == {
        "causal_scrubbing", "probing", "sae", "acdc"}
