"""Row by row: a whole-list ingest keeps and reports every stored list row the list no longer has, also
the rows of papers it still has in other sections, and --prune (or its refusal) counts them all."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from ingest.arxiv_server import LocalArxivServer
from ingest.arxiv_source import ArxivSource
from ingest.awesome_list import parse_list
from ingest.pipeline import run_ingest
from ingest.summary import IngestSummary
from kg.store import GraphStore
from kg.taxonomy import Taxonomy
from tests.embedders import HashEmbedder

from .conftest import open_ready_store, snapshot


def _whole_list(store: GraphStore, text: str, taxonomy: Taxonomy, embedder: Any, extractor: Any,
                server: LocalArxivServer | None = None, prune: bool = False,
                force_prune: bool = False) -> IngestSummary:
    """A list ingest of the whole list `text`, as `paperkg ingest list` runs it (with `server`: its arXiv
    look-ups against that local arXiv API, else as with --no-arxiv)."""
    records = list(parse_list(text, taxonomy).papers)
    if server is not None:
        found, _report = ArxivSource(url=server.url, delay=0.01, timeout=2, retries=1).resolve(records)
        records += found
    return run_ingest(store, records, source="list", embedder=embedder, extractor=extractor, progress=False,
                      whole_list=True, prune=prune, force_prune=force_prune)


def _rows(store: GraphStore) -> list[tuple[str, str, int | None]]:
    """The stored list rows as (paper id, section id, line)."""
    return sorted((str(r["paper_id"]), str(r["section_id"]),
                   r["line"] if isinstance(r["line"], int) else None) for r in store.list_rows_from("list"))


def _list_techniques(store: GraphStore, paper_id: str) -> set[str]:
    detail = store.get_paper(paper_id)
    assert detail is not None
    return {t.technique_id for t in detail.techniques if t.source == "list"}


def test_a_truncated_list_loses_no_row_and_its_prune_is_refused(
    store: GraphStore, seed_list: str, taxonomy: Taxonomy, local_arxiv: LocalArxivServer,
    embedder: HashEmbedder, extractor: Any,
) -> None:
    """Operator QA: the seed list cut after its Techniques table (a partial download) removed the 8 rows
    its papers have in later sections, unreported, and the refused --prune said nothing was removed.
    Now those rows are stale like the rest (48 of the 57), kept, and counted in the refusal."""
    _whole_list(store, seed_list, taxonomy, embedder, extractor, local_arxiv)
    before = _rows(store)
    assert len(before) == 57
    cut = "".join(seed_list.splitlines(keepends=True)[:64])

    refused = _whole_list(store, cut, taxonomy, embedder, extractor, local_arxiv, prune=True)
    assert _rows(store) == before  # no row lost
    assert refused.prune_refused is not None
    assert "the list no longer has 48 of the 57 list rows stored" in refused.prune_refused
    assert "nothing was removed (4 papers with no other source" in refused.prune_refused
    assert (refused.list_rows_pruned, refused.papers_pruned) == (0, 0)
    assert store.runs(limit=1)[0].counts["stale_list_rows"] == 48
    assert "48 list rows are no longer in the list (not removed: --prune was refused):" in refused.text()
    # 8 of them are rows of papers the cut list still has, in the sections after the cut.
    still = [r for r in refused.stale_list_rows if r["paper_id"] in {p for p, _s, _l in before
                                                                      if _s == "techniques"}]
    assert len(still) == 8 and all(r["section_id"] != "techniques" and r["line"] > 64 for r in still)
    assert {r["paper_id"] for r in still}.isdisjoint(p["paper_id"] for p in refused.list_only_papers)
    # Every stored row is either one the cut list has or a reported one, never both.
    current = {(p, s) for p, s, _line in before if s == "techniques"}
    stale = {(r["paper_id"], r["section_id"]) for r in refused.stale_list_rows}
    assert len(stale) == 48 and stale.isdisjoint(current)
    assert stale | current == {(p, s) for p, s, _line in before}

    # Without --prune: the same rows reported, none removed.
    reported = _whole_list(store, cut, taxonomy, embedder, extractor, local_arxiv)
    assert reported.stale_list_rows == refused.stale_list_rows and _rows(store) == before
    # --prune --force removes exactly the reported rows; the papers the cut list has keep their rows there.
    forced = _whole_list(store, cut, taxonomy, embedder, extractor, local_arxiv, prune=True, force_prune=True)
    assert (forced.list_rows_pruned, forced.papers_pruned) == (48, 4)
    assert {(p, s) for p, s, _line in _rows(store)} == current


TWO_TABLES = ("# A list\n\n"
              "## Circuits\n| Paper | Techniques | TL;DR |\n| --- | --- | --- |\n"
              "| [Paper number one](https://example.org/one) | Probing | row one |\n"
              "{circuits}"
              "## Probes\n| Paper | Techniques | TL;DR |\n| --- | --- | --- |\n"
              "| [Paper number three](https://example.org/three) | Probing | row three |\n"
              "| [Paper number four](https://example.org/four) | Probing | row four |\n"
              "{probes}")
TWO_IN_CIRCUITS = "| [Paper number two](https://example.org/two) | Logit lens | row two |\n"
TWO_IN_PROBES = "| [Paper number two](https://example.org/two) | Activation Patching | row two, moved |\n"
TWO = "paper-number-two"


def _without_keys(snap: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """A snapshot's papers without their citation keys, and the keys by paper id."""
    papers = copy.deepcopy(snap["papers"])
    keys = {pid: data["paper"].pop("citation_key") for pid, data in papers.items()}
    return papers, keys

def test_a_paper_that_moved_section_keeps_its_old_row_until_prune(
    store: GraphStore, taxonomy: Taxonomy, embedder: HashEmbedder, extractor: Any, tmp_path: Path,
) -> None:
    """A paper the list moved to another section lost its old row, unreported. Now the old row is stale:
    reported and kept (with the label its cell gave) until --prune, which leaves the paper as a fresh
    ingest of the list would. The rows whose line the move shifted are the same rows, not stale."""
    _whole_list(store, TWO_TABLES.format(circuits=TWO_IN_CIRCUITS, probes=""), taxonomy, embedder, extractor)
    before_rows = _rows(store)
    old_line = next(line for p, _s, line in before_rows if p == TWO)
    moved = TWO_TABLES.format(circuits="", probes=TWO_IN_PROBES)

    kept = _whole_list(store, moved, taxonomy, embedder, extractor)
    assert kept.stale_list_rows == [{"paper_id": TWO, "title": "Paper number two", "section": "Circuits",
                                     "section_id": "circuits", "line": old_line}]
    assert (kept.list_only_papers, kept.list_rows_pruned, kept.prune_refused) == ([], 0, None)
    assert ("  1 list row is no longer in the list (run again with --prune to remove them):\n"
            f"    Paper number two [{TWO}], Circuits, was line {old_line}") in kept.text()
    assert "no other source" not in kept.text()  # the paper stays: the list still has it
    detail = store.get_paper(TWO)
    assert detail is not None and [r.section_id for r in detail.list_rows] == ["probes", "circuits"]
    assert _list_techniques(store, TWO) == {"activation_patching", "logit_lens"}
    # Paper three and four moved up a line: their rows are the list's, with the new lines.
    others = ("paper-number-four", "paper-number-three")  # _rows' order
    lines = [line for p, _s, line in _rows(store) if p in others]
    numbered = list(enumerate(moved.splitlines(), start=1))
    assert lines == [next(n for n, text in numbered if f"number {name}]" in text)
                     for name in ("four", "three")]
    assert lines == [line - 1 for p, _s, line in before_rows if p in others and line is not None]
    assert store.stats()["relationships"]["LISTED_IN"] == 5
    # Again: the same report, and the kept row changes nothing.
    before = snapshot(store)
    assert _whole_list(store, moved, taxonomy, embedder, extractor).stale_list_rows == kept.stale_list_rows
    assert snapshot(store) == before

    pruned = _whole_list(store, moved, taxonomy, embedder, extractor, prune=True)
    assert pruned.stale_list_rows == kept.stale_list_rows
    assert (pruned.list_rows_pruned, pruned.papers_pruned) == (1, 0)
    assert pruned.prune_refused is None
    assert "1 list row no longer in the list was removed (--prune; the papers stay):" in pruned.text()
    detail = store.get_paper(TWO)
    assert detail is not None and detail.paper.sources == ["list"]
    assert [r.section_id for r in detail.list_rows] == ["probes"]
    assert _list_techniques(store, TWO) == {"activation_patching"}
    # As if the moved list had been ingested into an empty store.
    fresh = open_ready_store(tmp_path / "fresh.sqlite3", taxonomy)
    try:
        _whole_list(fresh, moved, taxonomy, HashEmbedder(), extractor)
        # Citation keys aside: a store issues them in the order it first stored the papers, and a moved
        # paper keeps its own (the fresh store met the papers in the moved list's order).
        kept_keys, fresh_keys = _without_keys(snapshot(store)), _without_keys(snapshot(fresh))
        assert kept_keys[0] == fresh_keys[0]
        assert sorted(kept_keys[1].values()) == sorted(fresh_keys[1].values())
    finally:
        fresh.close()
    assert _whole_list(store, moved, taxonomy, embedder, extractor, prune=True).stale_list_rows == []


def test_a_row_gone_from_one_of_two_sections_is_reported_and_pruned_alone(
    store: GraphStore, taxonomy: Taxonomy, embedder: HashEmbedder, extractor: Any,
) -> None:
    """A paper listed in two sections whose row in one is deleted: that row is stale (the list alone
    brought the paper, yet it is not among the papers --prune removes: the list still has it)."""
    both = TWO_TABLES.format(circuits=TWO_IN_CIRCUITS, probes=TWO_IN_PROBES)
    _whole_list(store, both, taxonomy, embedder, extractor)
    assert [s for p, s, _line in _rows(store) if p == TWO] == ["circuits", "probes"]
    one = TWO_TABLES.format(circuits=TWO_IN_CIRCUITS, probes="")

    reported = _whole_list(store, one, taxonomy, embedder, extractor)
    assert [(r["paper_id"], r["section_id"]) for r in reported.stale_list_rows] == [(TWO, "probes")]
    assert reported.list_only_papers == [] and len(_rows(store)) == 5

    pruned = _whole_list(store, one, taxonomy, embedder, extractor, prune=True)
    assert (pruned.list_rows_pruned, pruned.papers_pruned, pruned.list_only_papers) == (1, 0, [])
    assert [s for p, s, _line in _rows(store) if p == TWO] == ["circuits"]
    assert _list_techniques(store, TWO) == {"logit_lens"}
