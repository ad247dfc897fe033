"""`paperkg export papers --format jsonl` read back by `paperkg ingest records` (a lab sharing its store
with another lab): the list's and records files' hand tags and the rows' label text arrive whole in an
empty store, and the same export read back into a store that holds its papers changes nothing
(reproducibility auditor's finding: into an empty store every list tag was lost, silently)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ingest.arxiv_server import LocalArxivServer
from ingest.records_file import BadLines, read_records_file
from kg.cli import main
from kg.embedded import EmbeddedStore
from kg.taxonomy import Taxonomy
from tests.embedders import HashEmbedder

from .conftest import snapshot

# Papers of records files only, whose hand tags are not what their rows' text maps to: ids given alone
# (acdc beside the text "SAE"), an evaluation on a row with no evaluation text, a technique id given as an
# evaluation (its evidence is that column's text), a row whose own text maps to its tags (probing,
# completeness), and an extracted tag from the abstract (the logit lens) beside them.
HAND = {"id": "hand-tagged", "title": "A paper tagged by hand", "authors": ["Ada Lovelace"], "year": 2024,
        "abstract": "We apply the logit lens to a small transformer.",
        "list_rows": [
            {"section": "Techniques", "title_in_list": "Hand row", "techniques": "SAE",
             "technique_ids": ["acdc"], "evaluation_ids": ["faithfulness"], "tldr": "One."},
            {"section": "Findings and Applications", "subsection": "Findings on circuits",
             "techniques": "Probing", "evaluation": "Completeness", "tldr": "Two."},
            {"section": "Circuits", "title_in_list": "Third row", "evaluation": "Our ablations",
             "evaluation_ids": ["activation_patching"]}]}
# A paper whose only hand technique tag is an id the taxonomy does not have (one it retired): no tag, and
# its row keeps the text "SAE", which must not become one.
RETIRED = {"id": "retired-tag", "title": "A paper tagged with a retired id", "year": 2023,
           "list_rows": [{"section": "Techniques", "techniques": "SAE",
                          "technique_ids": ["retired_technique"], "evaluation": "Faithfulness"}]}


def _cli(data: Path, *args: str) -> Any:
    result = CliRunner().invoke(main, list(args), env={"PAPERKG_DATA_DIR": str(data)},
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def _write(path: Path, lines: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def _papers(data: Path) -> dict[str, dict[str, Any]]:
    """Per paper of the store in `data`: its technique and evaluation tags (id, source, evidence), its
    rows (section id, title and path, text cells, TL;DR, title and URL in the list) and citation key."""
    store = EmbeddedStore(data / "paperkg.sqlite3")
    try:
        out = {}
        for paper_id in store.paper_ids():
            detail = store.get_paper(paper_id)
            assert detail is not None
            out[paper_id] = {
                "techniques": sorted((t.technique_id, t.source, t.evidence) for t in detail.techniques),
                "evaluations": sorted((e.evaluation_id, e.source, e.evidence) for e in detail.evaluations),
                "rows": sorted((r.section_id, r.section_title, tuple(r.section_path), r.techniques_text,
                                r.evaluation_text, r.tldr, r.title_in_list, r.url_in_list, r.line)
                               for r in detail.list_rows),
                "citation_key": detail.paper.citation_key,
            }
        return out
    finally:
        store.close()


def _snapshot(data: Path) -> dict[str, Any]:
    store = EmbeddedStore(data / "paperkg.sqlite3")
    try:
        return snapshot(store)
    finally:
        store.close()


@pytest.fixture
def exported(tmp_path: Path, shared_data: Path, local_arxiv: LocalArxivServer, plumbing: HashEmbedder
             ) -> tuple[Path, Path]:
    """Store A (the seed list through the local arXiv, the seed records, two papers tagged by hand) and
    its JSON Lines export."""
    store_a = tmp_path / "a"
    _cli(store_a, "ingest", "list", "--source", str(shared_data / "awesome-list-seed.md"))
    _cli(store_a, "ingest", "records", str(shared_data / "seed_papers.jsonl"))
    _cli(store_a, "ingest", "records", str(_write(tmp_path / "hand.jsonl", [HAND, RETIRED])))
    export = tmp_path / "a.jsonl"
    _cli(store_a, "export", "papers", "--format", "jsonl", "--output", str(export))
    return store_a, export


def test_an_export_gives_an_empty_store_every_hand_tag_and_row_text(
    tmp_path: Path, exported: tuple[Path, Path]
) -> None:
    """Ids, keys, tags with their sources and evidence, rows with their text: all as in store A."""
    store_a, export = exported
    store_x = tmp_path / "x"
    _cli(store_x, "ingest", "records", str(export))
    before, after = _papers(store_a), _papers(store_x)
    assert sorted(after) == sorted(before)
    # The finding's counts (the list's 16 technique and 10 evaluation tags), with the hand-tagged papers'.
    assert sum(s == "list" for p in before.values() for _t, s, _e in p["techniques"]) == 16 + 3
    assert sum(s == "list" for p in before.values() for _t, s, _e in p["evaluations"]) == 10 + 2 + 1
    assert {paper_id: (before[paper_id], after[paper_id])
            for paper_id in before if before[paper_id] != after[paper_id]} == {}
    hand = after["hand-tagged"]
    assert {("acdc", "list", "SAE"), ("probing", "list", "Probing"),
            ("activation_patching", "list", "Our ablations")} <= set(hand["techniques"])
    assert ("logit_lens", "extracted") in {(t, s) for t, s, _e in hand["techniques"]}
    assert set(hand["evaluations"]) == {("faithfulness", "list", None),
                                        ("completeness", "list", "Completeness")}
    retired = after["retired-tag"]
    assert [t for t, s, _e in retired["techniques"] if s == "list"] == []
    assert [(r[0], r[3]) for r in retired["rows"]] == [("techniques", "SAE")]
    # And read back into that store, the export changes nothing: its papers are records files' papers
    # now, whose rows and hand tags a records file updates (the text with the ids, never the text alone).
    kept = _snapshot(store_x)
    counts = json.loads(_cli(store_x, "ingest", "records", str(export), "--json").stdout)
    assert (counts["new"], counts["updated"]) == (0, 0)
    assert _snapshot(store_x) == kept


def test_the_export_read_back_into_its_own_store_changes_nothing(exported: tuple[Path, Path]) -> None:
    store_a, export = exported
    before = _snapshot(store_a)
    counts = json.loads(_cli(store_a, "ingest", "records", str(export), "--json").stdout)
    assert (counts["new"], counts["updated"]) == (0, 0)
    assert _snapshot(store_a) == before


def _exported_line(**fields: Any) -> dict[str, Any]:
    row = {"section_id": "techniques", "section_title": "Techniques", "section_path": ["Techniques"],
           "tldr": None, "techniques_text": "SAE", "evaluation_text": None, "title_in_list": "A row",
           "url_in_list": None, "line": 7, "topic_ids": []}
    return {"id": "p1", "title": "A paper", "sources": ["list"], "list_rows": [row],
            "techniques": [{"id": "acdc", "label": "ACDC", "source": "list", "evidence": "SAE",
                            "score": None},
                           {"id": "sae", "label": "SAE", "source": "extracted", "evidence": "an SAE",
                            "score": 0.9}],
            "evaluations": [], **fields}


def test_an_exported_line_reads_its_hand_tags_onto_its_rows(tmp_path: Path, taxonomy: Taxonomy) -> None:
    """Only the list tags, never the text's mapping (SAE) nor the extracted tags; a tag whose evidence no
    row's cell has goes on the first row."""
    line = _exported_line(evaluations=[{"id": "faithfulness", "source": "list", "evidence": "an old cell"}])
    (record,) = read_records_file(_write(tmp_path / "e.jsonl", [line]), taxonomy=taxonomy).records
    (row,) = record.list_rows
    assert (row.section_id, row.techniques, row.evaluation, row.line) == ("techniques", "SAE", None, 7)
    assert (row.technique_ids, row.evaluation_ids) == (["acdc"], ["faithfulness"])


@pytest.mark.parametrize(("fields", "error"), [
    ({"evaluations": [{"id": "faithfulness", "source": "guessed"}]},
     "line 1: 'evaluations' entry 1: 'source' must be 'list' or 'extracted', not 'guessed'"),
    ({"evaluations": ["faithfulness"]},
     "line 1: 'evaluations' entry 1 must be a tag object"),
    ({"list_rows": []},
     "line 1: 'techniques'/'evaluations' hold tags of source 'list' but there are no 'list_rows'"),
    ({"list_rows": [{"section_path": ["Techniques"], "techniques_text": "SAE",
                     "technique_ids": ["probing"]}]},
     "line 1: list_rows[0]: 'technique_ids' is a records file's key"),
])
def test_an_exported_line_it_cannot_read_whole_is_a_bad_line(
    tmp_path: Path, taxonomy: Taxonomy, fields: dict[str, Any], error: str
) -> None:
    """Not a guess, and not tags lost unseen."""
    with pytest.raises(BadLines) as raised:
        read_records_file(_write(tmp_path / "e.jsonl", [_exported_line(**fields)]), taxonomy=taxonomy)
    assert error in str(raised.value)


def test_a_records_line_is_read_as_before(tmp_path: Path, taxonomy: Taxonomy) -> None:
    """A records file's line (top-level `techniques` absent, or strings, which were always ignored) maps
    its rows' `techniques` text; an export's `techniques_text` on it stays ignored, as any unknown key."""
    lines = [{"title": "Plain", "list_rows": [{"section": "Techniques", "techniques": "SAE"}]},
             {"title": "Strings", "techniques": ["acdc"],
              "list_rows": [{"section": "Techniques", "techniques": "Probing", "techniques_text": "SAE"}]}]
    plain, strings = read_records_file(_write(tmp_path / "r.jsonl", lines), taxonomy=taxonomy).records
    assert [(r.techniques, r.technique_ids) for r in plain.list_rows] == [("SAE", ["sae"])]
    assert [(r.techniques, r.technique_ids) for r in strings.list_rows] == [("Probing", ["probing"])]
