"""ingest/prune.py through whole-list runs: the stored list rows a list no longer has, the papers only
they brought, when --prune refuses or holds back (a row that cannot be read), and the prune itself,
which stops when the ingest lock was taken over."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ingest.awesome_list import parse_list
from ingest.pipeline import ingest_records_file, run_ingest
from ingest.summary import IngestSummary
from kg.store import GraphStore
from kg.taxonomy import Taxonomy
from tests.embedders import HashEmbedder

from .conftest import snapshot
from .test_pipeline import TAKER, _lock_holder, _take_over
from .test_pipeline_list_edits import CS_ID, CS_ROW, DOC_ROW, LENS_ROW, SAE_ROW, SFC_ROW, _ingest, _list

# -- list rows the list no longer has (whole-list runs, prune) --------------------------------

WRONG_ROW = ("|  [A Wrong Paper About Probing Induction Heads](https://example.org/wrong-paper)  |  "
             "Probing  |  The paper probes induction heads with activation patching.  |\n")
RECORDS_PAPER_ROW = ("|  [Steering Llama With Contrastive Activation Addition](https://example.org/caa)  |  "
                     "Logit lens  |  The paper steers a model.  |\n")
RECORDS_PAPER = {"id": "caa", "title": "Steering Llama With Contrastive Activation Addition",
                 "abstract": "We steer language models by adding contrastive activation vectors.",
                 "year": 2023}


def _with_rows(seed_list: str, rows: str) -> str:
    """The seed list with `rows` added at the end of its Techniques table."""
    anchor = next(line for line in seed_list.splitlines(keepends=True) if "Causal Scrubbing" in line)
    return seed_list.replace(anchor, anchor + rows)


def _whole_list(store: GraphStore, text: str, taxonomy: Taxonomy, embedder: Any, extractor: Any,
                **options: bool) -> IngestSummary:
    """A list ingest of the whole list `text` (as `paperkg ingest list --no-arxiv` runs it)."""
    records = list(parse_list(text, taxonomy).papers)
    return run_ingest(store, records, source="list", embedder=embedder, extractor=extractor, progress=False,
                      whole_list=True, **options)


def _records(store: GraphStore, path: Path, records: list[dict[str, Any]], extractor: Any) -> None:
    import json

    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    ingest_records_file(store, path, embedder=HashEmbedder(), extractor=extractor, progress=False)


def test_a_whole_list_reports_the_rows_it_no_longer_has_and_prune_removes_them_alone(
    store: GraphStore, seed_list: str, taxonomy: Taxonomy, embedder: HashEmbedder, extractor: Any,
    tmp_path: Path,
) -> None:
    """Operator QA: rows of a wrong list copy stayed for good, since a list ingest only replaced the
    rows of the papers it had. Now they are reported; prune removes them, keeps the paper a records
    file brought, removes the one the list alone brought (it was left with no source at all) and
    changes nothing else."""
    _records(store, tmp_path / "records.jsonl", [RECORDS_PAPER], extractor)
    first = _whole_list(store, seed_list, taxonomy, embedder, extractor)
    assert first.stale_list_rows == [] and first.counts()["stale_list_rows"] == 0
    edited = _with_rows(seed_list, WRONG_ROW + RECORDS_PAPER_ROW)
    assert _whole_list(store, edited, taxonomy, embedder, extractor).stale_list_rows == []
    wrong = "a-wrong-paper-about-probing-induction-heads"
    assert "list" in store.get_papers(["caa"])[0].sources and store.get_paper(wrong).list_rows  # type: ignore[union-attr]
    line = next(n for n, text in enumerate(edited.splitlines(), start=1) if "A Wrong Paper" in text)

    reported = _whole_list(store, seed_list, taxonomy, embedder, extractor)
    assert reported.stale_list_rows == [
        {"paper_id": "a-wrong-paper-about-probing-induction-heads",
         "title": "A Wrong Paper About Probing Induction Heads", "section": "Techniques",
         "section_id": "techniques", "line": line},
        {"paper_id": "caa", "title": "Steering Llama With Contrastive Activation Addition",
         "section": "Techniques", "section_id": "techniques", "line": line + 1},
    ]
    assert (reported.list_rows_pruned, reported.prune_refused) == (0, None)
    # The wrong paper's only source is the list (no arXiv record, no records file): --prune removes it.
    assert reported.list_only_papers == [
        {"paper_id": wrong, "title": "A Wrong Paper About Probing Induction Heads"}]
    assert reported.to_dict()["list_only_papers"] == reported.list_only_papers
    assert (reported.counts()["list_only_papers"], reported.papers_pruned) == (1, 0)
    assert store.runs(limit=1)[0].counts["stale_list_rows"] == 2
    assert "2 list rows are no longer in the list (run again with --prune to remove them):" in reported.text()
    assert ("  1 paper of those rows has no other source (--prune removes it too):\n"
            f"    A Wrong Paper About Probing Induction Heads [{wrong}]") in reported.text()
    before = snapshot(store)
    assert before["stats"]["relationships"]["LISTED_IN"] == 59  # reported, not removed
    techniques = {(t.technique_id, t.source) for t in store.get_paper(wrong).techniques}  # type: ignore[union-attr]
    # The list's Probing, and activation patching extracted from the row's TL;DR.
    assert {("probing", "list"), ("activation_patching", "extracted")} <= techniques

    pruned = _whole_list(store, seed_list, taxonomy, embedder, extractor, prune=True)
    assert pruned.list_rows_pruned == 2 and pruned.stale_list_rows == reported.stale_list_rows
    assert (pruned.list_only_papers, pruned.papers_pruned) == (reported.list_only_papers, 1)
    assert {k: store.runs(limit=1)[0].counts[k] for k in ("list_rows_pruned", "papers_pruned")} == {
        "list_rows_pruned": 2, "papers_pruned": 1}
    assert ("2 list rows no longer in the list were removed (--prune; the papers with another source "
            "stay):") in pruned.text()
    assert ("  1 paper of those rows had no other source and was removed with its rows (--prune):\n"
            f"    A Wrong Paper About Probing Induction Heads [{wrong}]") in pruned.text()
    after = snapshot(store)
    assert sorted(after["papers"]) == sorted(set(before["papers"]) - {wrong})  # the rest stay
    assert store.get_paper(wrong) is None and wrong not in store.get_embeddings([wrong])
    assert wrong not in [hit.id for hit in store.keyword_search("wrong paper probing induction heads", 10)]
    changed = {wrong, "caa"}
    assert {k: v for k, v in after["papers"].items() if k not in changed} == {
        k: v for k, v in before["papers"].items() if k not in changed}
    assert after["stats"]["relationships"]["LISTED_IN"] == 57
    # The removed paper's edges go with it: every edge left is one of a paper left.
    edges_left = {rel: sum(len(p[key]) for p in after["papers"].values()) for rel, key in (
        ("USES", "techniques"), ("EVALUATES", "evaluations"), ("REPORTS", "findings"))}
    assert {rel: after["stats"]["relationships"][rel] for rel in edges_left} == edges_left
    # One paper fewer; the findings are what extraction finds without the TL;DRs.
    changed_nodes = {"Paper": before["stats"]["nodes"]["Paper"] - 1,
                     "Finding": after["stats"]["nodes"]["Finding"]}
    assert after["stats"]["nodes"] == before["stats"]["nodes"] | changed_nodes
    paper = store.get_paper("caa")
    assert paper is not None and paper.list_rows == []
    assert paper.paper.sources == ["records"]  # no longer on the list (the source filter agrees)
    assert [t for t in paper.techniques if t.source == "list"] == []
    # Nothing its TL;DR gave is left: extraction and embedding follow the paper's text without it.
    assert not any("TL;DR" in (t.evidence or "") for t in paper.techniques)
    assert after["papers"]["caa"]["paper"]["abstract"] == RECORDS_PAPER["abstract"]
    assert after["papers"]["caa"]["embedding"] == before["papers"]["caa"]["embedding"]  # it has an abstract

    again = _whole_list(store, seed_list, taxonomy, embedder, extractor, prune=True)
    assert (again.stale_list_rows, again.list_rows_pruned) == ([], 0)
    assert snapshot(store) == after
    # The edited list brings them back, as for any paper the list adds.
    _whole_list(store, edited, taxonomy, embedder, extractor)
    assert snapshot(store)["papers"][wrong] == before["papers"][wrong]


def test_a_records_files_list_rows_are_never_pruned_by_a_list_ingest(
    store: GraphStore, seed_list: str, taxonomy: Taxonomy, embedder: HashEmbedder, extractor: Any,
    tmp_path: Path,
) -> None:
    """Rows a records file brought are not the list's: neither reported nor pruned, also when they
    fill a paper a prune emptied (its source "list" went with its rows)."""
    with_rows = {**RECORDS_PAPER, "list_rows": [{"section": "Findings and Applications",
                                                  "subsection": "Applications of MI", "tldr": "Steering.",
                                                  "technique_ids": ["steering"]}]}
    _records(store, tmp_path / "records.jsonl", [with_rows], extractor)
    kept = store.get_paper("caa")
    assert kept is not None and len(kept.list_rows) == 1
    summary = _whole_list(store, seed_list, taxonomy, embedder, extractor, prune=True, force_prune=True)
    assert (summary.stale_list_rows, summary.list_rows_pruned) == ([], 0)
    assert store.get_paper("caa").list_rows == kept.list_rows  # type: ignore[union-attr]
    # The list takes the paper's rows over (as before), then drops it: its rows are the list's, and go.
    _whole_list(store, _with_rows(seed_list, RECORDS_PAPER_ROW), taxonomy, embedder, extractor)
    assert store.get_paper("caa").list_rows[0].section_id == "techniques"  # type: ignore[union-attr]
    assert _whole_list(store, seed_list, taxonomy, embedder, extractor, prune=True).list_rows_pruned == 1
    # The records file fills the emptied paper's rows again; the list leaves them alone from now on.
    _records(store, tmp_path / "records.jsonl", [with_rows], extractor)
    refilled = store.get_paper("caa")
    assert refilled is not None and [r.section_id for r in refilled.list_rows] == [
        r.section_id for r in kept.list_rows] and refilled.paper.sources == ["records"]
    summary = _whole_list(store, seed_list, taxonomy, embedder, extractor, prune=True, force_prune=True)
    assert (summary.stale_list_rows, summary.list_rows_pruned) == ([], 0)
    assert store.get_paper("caa").list_rows == refilled.list_rows  # type: ignore[union-attr]


FOUR_PAPERS = "# A list\n\n## Circuits\n| Paper | Techniques | TL;DR |\n| --- | --- | --- |\n" + "".join(
    f"| [Paper number {n}](https://example.org/{n}) | Probing | row {n} |\n"
    for n in ("one", "two", "three", "four"))


def _keep_rows(text: str, *kept: str) -> str:
    """The list without the rows of the papers not named."""
    return "".join(line for line in text.splitlines(keepends=True)
                   if "Paper number" not in line or any(f"number {k}]" in line for k in kept))


def test_prune_is_refused_when_more_than_half_of_the_lists_rows_would_go(
    store: GraphStore, taxonomy: Taxonomy, embedder: HashEmbedder, extractor: Any
) -> None:
    """A list that no longer has most of the stored rows looks truncated or wrong: --prune reports
    them and removes nothing, unless forced; up to half go without --force. The papers the list alone
    brought (all four here) go with their rows, and are kept when the prune is refused."""
    _whole_list(store, FOUR_PAPERS, taxonomy, embedder, extractor)
    refused = _whole_list(store, _keep_rows(FOUR_PAPERS, "one"), taxonomy, embedder, extractor, prune=True)
    assert len(refused.stale_list_rows) == 3 and refused.list_rows_pruned == 0
    assert [p["paper_id"] for p in refused.list_only_papers] == [
        "paper-number-four", "paper-number-three", "paper-number-two"]
    assert refused.papers_pruned == 0
    assert refused.prune_refused is not None
    assert "no longer has 3 of the 4 list rows stored" in refused.prune_refused
    assert ("nothing was removed (3 papers with no other source would have gone with them;"
            in refused.prune_refused)
    assert "--prune --force" in refused.prune_refused
    assert "(not removed: --prune was refused)" in refused.text()
    assert "3 papers of those rows have no other source (not removed: --prune was refused):" in refused.text()
    assert len(store.list_rows_from("list")) == 4 and store.runs(limit=1)[0].status == "succeeded"
    assert len(store.paper_ids()) == 4
    # Exactly half: pruned, and the two papers it leaves with no source go.
    half = _whole_list(store, _keep_rows(FOUR_PAPERS, "one", "two"), taxonomy, embedder, extractor,
                       prune=True)
    assert (half.prune_refused, half.list_rows_pruned, half.papers_pruned) == (None, 2, 2)
    assert sorted(r["paper_id"] for r in store.list_rows_from("list")) == [
        "paper-number-one", "paper-number-two"]
    assert sorted(store.paper_ids()) == ["paper-number-one", "paper-number-two"]
    forced = _whole_list(store, _keep_rows(FOUR_PAPERS), taxonomy, embedder, extractor, prune=True,
                         force_prune=True)
    assert (forced.prune_refused, forced.list_rows_pruned, forced.papers_pruned) == (None, 2, 2)
    assert store.list_rows_from("list") == [] and store.paper_ids() == []


def _other_rows(n: int, field: str) -> str:
    """`n` list rows of papers FOUR_PAPERS does not have, titled after `field`."""
    return "".join(f"| [A {field} paper {i}](https://example.org/{field}/{i}) | Probing | {field} {i} |\n"
                   for i in range(n))


def test_prune_counts_the_rows_stored_before_the_run_not_the_rows_it_wrote(
    store: GraphStore, taxonomy: Taxonomy, embedder: HashEmbedder, extractor: Any
) -> None:
    """QA: counted after the run, a wrong list's own rows made its stale rows look like a few of many,
    so a list at least as long as the stored one pruned every stored row (4 of 4 + 6). Now: of the rows
    stored before the run, with the rows the run adds left out either way."""
    _whole_list(store, FOUR_PAPERS, taxonomy, embedder, extractor)
    wrong = _whole_list(store, _keep_rows(FOUR_PAPERS) + _other_rows(6, "chemistry"), taxonomy, embedder,
                        extractor, prune=True)
    assert wrong.prune_refused is not None
    assert "no longer has 4 of the 4 list rows stored" in wrong.prune_refused
    assert (wrong.list_rows_pruned, wrong.papers_pruned) == (0, 0)
    assert len(store.list_rows_from("list")) == 4 + 6 and len(store.paper_ids()) == 10
    # 10 rows stored now; a list with 2 of them and 20 new rows drops 8 of the 10: refused.
    most = _whole_list(store, _keep_rows(FOUR_PAPERS, "one", "two") + _other_rows(20, "biology"), taxonomy,
                       embedder, extractor, prune=True)
    assert most.prune_refused is not None
    assert "no longer has 8 of the 10 list rows stored" in most.prune_refused
    # 30 stored now; a list that keeps 24 of them and adds 40 is pruned of the other 6.
    grown = _whole_list(store, _keep_rows(FOUR_PAPERS, "one", "two", "three", "four")
                        + _other_rows(20, "biology") + _other_rows(40, "physics"), taxonomy, embedder,
                        extractor, prune=True)
    assert grown.prune_refused is None and (grown.list_rows_pruned, grown.papers_pruned) == (6, 6)
    assert len(store.list_rows_from("list")) == 4 + 20 + 40 and len(store.paper_ids()) == 64


def test_prune_removes_a_paper_only_the_list_brought_and_keeps_one_arxiv_brought_too(
    store: GraphStore, taxonomy: Taxonomy, embedder: HashEmbedder, extractor: Any
) -> None:
    """A list paper with no arXiv record (a LessWrong post) was left with no source at all by --prune;
    it is removed now, rows in every section and all. A paper arXiv brought too only loses the list."""
    from ingest.records import Record

    kept_rows = "".join(f"| [Paper number {n}](https://example.org/{n}) | kept |\n"
                        for n in ("two", "three", "four"))
    listed = ("# A list\n\n## Circuits\n| Paper | Techniques | TL;DR |\n| --- | --- | --- |\n"
              "| [Paper number one](https://arxiv.org/abs/2401.00001) | Probing | row one |\n"
              "| [A LessWrong post](https://www.lesswrong.com/posts/x) | Probing | the post |\n"
              "## Probes\n| Paper | TL;DR |\n| --- | --- |\n"
              "| [A LessWrong post](https://www.lesswrong.com/posts/x) | again |\n" + kept_rows)
    arxiv = Record(source="arxiv", source_id="2401.00001", arxiv_id="2401.00001", title="Paper number one",
                   abstract="We probe a small transformer for induction heads.")
    run_ingest(store, [arxiv], source="arxiv", embedder=embedder, extractor=extractor, progress=False)
    _whole_list(store, listed, taxonomy, embedder, extractor)
    post = "a-lesswrong-post"
    assert store.get_papers(["2401.00001"])[0].sources == ["arxiv", "list"]
    assert store.get_papers([post])[0].sources == ["list"] and len(store.get_paper(post).list_rows) == 2  # type: ignore[union-attr]

    # Half of the six rows stored go: the list dropped the arXiv paper and the post.
    summary = _whole_list(store, "# A list\n\n## Probes\n| Paper | TL;DR |\n| --- | --- |\n" + kept_rows,
                          taxonomy, embedder, extractor, prune=True)
    assert [r["paper_id"] for r in summary.stale_list_rows] == ["2401.00001", post, post]
    assert summary.list_only_papers == [{"paper_id": post, "title": "A LessWrong post"}]
    assert (summary.list_rows_pruned, summary.papers_pruned, summary.prune_refused) == (3, 1, None)
    assert store.get_paper(post) is None and post not in store.get_embeddings([post])
    kept = store.get_paper("2401.00001")
    assert kept is not None and kept.paper.sources == ["arxiv"] and kept.list_rows == []
    assert sorted(store.paper_ids()) == ["2401.00001", "paper-number-four", "paper-number-three",
                                         "paper-number-two"]


def test_a_list_ingest_that_is_not_a_whole_list_reports_nothing(
    store: GraphStore, taxonomy: Taxonomy, embedder: HashEmbedder, extractor: Any
) -> None:
    """Only a whole list says which rows are gone: a list ingest of some of its papers keeps the rest."""
    _whole_list(store, FOUR_PAPERS, taxonomy, embedder, extractor)
    records = list(parse_list(_keep_rows(FOUR_PAPERS, "one"), taxonomy).papers)
    summary = run_ingest(store, records, source="list", embedder=embedder, extractor=extractor,
                         progress=False)
    assert summary.stale_list_rows == [] and "stale_list_rows" not in summary.counts()
    assert "stale_list_rows" not in summary.to_dict() and len(store.list_rows_from("list")) == 4


def test_a_prune_stops_when_the_lock_was_taken_over_after_the_lists_papers_were_written(
    store: GraphStore, taxonomy: Taxonomy, embedder: HashEmbedder, extractor: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ingest.store_lock import IngestLockLost

    _whole_list(store, FOUR_PAPERS, taxonomy, embedder, extractor)
    list_rows_from = store.list_rows_from

    def taken_over_meanwhile(source: str) -> Any:  # read after the list's papers, before the prune
        _take_over(store)
        return list_rows_from(source)

    monkeypatch.setattr(store, "list_rows_from", taken_over_meanwhile)
    with pytest.raises(IngestLockLost):
        _whole_list(store, _keep_rows(FOUR_PAPERS, "one", "two"), taxonomy, embedder, extractor, prune=True)
    monkeypatch.undo()
    assert len(store.paper_ids()) == 4 and len(store.list_rows_from("list")) == 4  # nothing pruned
    assert [r.status for r in store.runs("list")] == ["failed", "succeeded"]
    assert _lock_holder(store) == TAKER


# -- a list row that cannot be read (list QA, a maintainer's edits) ---------------------------------
def test_prune_holds_back_while_a_row_cannot_be_read(
    store: GraphStore, taxonomy: Taxonomy, embedder: HashEmbedder, extractor: Any,
) -> None:
    """List QA: with --prune, a link missing its ")" made the row unreadable and the paper, which only
    the list brought, was deleted in the same run with all its data. Now --prune removes nothing while
    a row cannot be read, and says which line to fix."""
    _ingest(store, _list(LENS_ROW, DOC_ROW, CS_ROW, SFC_ROW, SAE_ROW), taxonomy, embedder, extractor)
    doc_id = "a-circuit-for-python-docstrings-in-a-4-layer-attention-only-transformer"
    broken = DOC_ROW.replace("docstrings) |", "docstrings |")
    held = _ingest(store, _list(LENS_ROW, broken, SFC_ROW, SAE_ROW), taxonomy, embedder, extractor,
                   prune=True)
    assert held.prune_held_back == [8]
    assert held.prune_refused == (
        "--prune held back: 2 stale list rows, and 2 papers with no other source kept because line 8 could "
        "not be read; fix it and run --prune again (or --prune --force to remove them anyway)")
    assert (held.list_rows_pruned, held.papers_pruned) == (0, 0)
    assert {doc_id, CS_ID} <= set(store.paper_ids())
    assert "2 list rows are no longer in the list (not removed: --prune was held back):" in held.text()
    assert held.to_dict()["prune_held_back"] == [8]
    # Fixed: the prune goes ahead, for the row really taken off the list only.
    pruned = _ingest(store, _list(LENS_ROW, DOC_ROW, SFC_ROW, SAE_ROW), taxonomy, embedder, extractor,
                     prune=True)
    assert (pruned.prune_refused, pruned.papers_pruned) == (None, 1)
    assert doc_id in store.paper_ids() and CS_ID not in store.paper_ids()


def test_a_refused_prune_still_names_the_lines_that_could_not_be_read(
    store: GraphStore, taxonomy: Taxonomy, embedder: HashEmbedder, extractor: Any,
) -> None:
    """Review: with more than half of the rows stale and a row unreadable, only the refusal was shown
    and prune_held_back stayed []: the line to fix, the more useful of the two, was hidden. Both now."""
    _ingest(store, _list(CS_ROW, LENS_ROW, DOC_ROW), taxonomy, embedder, extractor)
    broken = DOC_ROW.replace("docstrings) |", "docstrings |")
    held = _ingest(store, _list(LENS_ROW, broken), taxonomy, embedder, extractor, prune=True)
    assert len(held.stale_list_rows) == 2 and (held.list_rows_pruned, held.papers_pruned) == (0, 0)
    assert held.prune_held_back == [8] and held.to_dict()["prune_held_back"] == [8]
    assert held.prune_refused is not None
    assert held.prune_refused.startswith("--prune refused: the list no longer has 2 of the 3 list rows")
    assert held.prune_refused.endswith(
        "; also, line 8 could not be read: fix it first, as --prune is held back while a row cannot be read")
