"""`paperkg ingest list` after a maintainer's edits (list QA): --prune holds back while a row cannot be
read, and the summary names the new and updated papers."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from kg.cli import main
from kg.embedded import EmbeddedStore
from tests.embedders import HashEmbedder

from .test_pipeline_list_edits import CS_ROW, DOC_ROW, LENS_ROW, SAE_ROW, SFC_ROW, _list

DOC_ID = "a-circuit-for-python-docstrings-in-a-4-layer-attention-only-transformer"


def _ids(data_dir: Path) -> list[str]:
    store = EmbeddedStore(data_dir / "paperkg.sqlite3")
    try:
        return sorted(store.paper_ids())
    finally:
        store.close()


def test_ingest_list_prune_holds_back_while_a_row_cannot_be_read(
    data_dir: Path, tmp_path: Path, plumbing: HashEmbedder,
) -> None:
    """List QA: `--prune` with a link missing its ")" at line 93 deleted that row's paper, with all its
    data, in the same run. Now nothing is removed, the output says which line to fix, and the command
    exits 1 as for a refused prune; --json says it under prune_refused and prune_held_back."""
    listed = tmp_path / "README.md"
    listed.write_text(_list(LENS_ROW, DOC_ROW, CS_ROW, SFC_ROW, SAE_ROW), encoding="utf-8")
    first = CliRunner().invoke(main, ["ingest", "list", "--source", str(listed), "--no-arxiv"])
    assert first.exit_code == 0, first.output
    assert "5 new, 0 updated" in first.output
    assert ("  new:\n    Interpreting GPT: the logit lens [interpreting-gpt-the-logit-lens], line 7\n"
            in first.output)
    assert DOC_ID in _ids(data_dir)

    listed.write_text(_list(LENS_ROW, DOC_ROW.replace("docstrings) |", "docstrings |"), SFC_ROW, SAE_ROW),
                      encoding="utf-8")
    held = CliRunner().invoke(main, ["ingest", "list", "--source", str(listed), "--no-arxiv", "--prune"])
    assert held.exit_code == 1
    assert "unreadable row, line 8:" in held.output
    assert ("--prune held back: 2 stale list rows, and 2 papers with no other source kept because line 8 "
            "could not be read; fix it and run --prune again") in held.output
    assert DOC_ID in _ids(data_dir)
    doc = json.loads(CliRunner().invoke(main, ["ingest", "list", "--source", str(listed), "--no-arxiv",
                                               "--prune", "--json"]).stdout)
    assert doc["prune_held_back"] == [8] and doc["prune_refused"].startswith("--prune held back")
    assert (doc["list_rows_pruned"], doc["papers_pruned"], doc["new_papers"], doc["updated_papers"]) == (
        0, 0, [], [])
