"""A records file (or an export read back) written before a taxonomy node was renamed: an old id spelt exactly
as one node's id, name or alias is read as that node's id, with a warning; ids all unknown keep the paper's
stored hand tags (taxonomy maintainer's finding: after `knockout` -> `ablation` and `init --prune`, an older
file's `knockout` was an unknown label, and the re-import's replace rule took every hand tag away)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import ingest.pipeline as pipeline
from kg.cli import main
from kg.config import PACKAGED_TAXONOMY
from kg.embedded import EmbeddedStore
from kg.taxonomy import load_taxonomy
from tests.embedders import HashEmbedder

PAPER = "renamed-1"


def _run(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def cli_tools(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's pipeline with the hash embedder and a real extractor of PAPERKG_TAXONOMY's taxonomy."""
    from ingest.extract import Extractor

    embedder = HashEmbedder()
    monkeypatch.setattr(pipeline, "_load_embedder", lambda: embedder)
    monkeypatch.setattr(pipeline, "_load_extractor", lambda taxonomy: Extractor(taxonomy))


def _renamed_taxonomy(tmp_path: Path) -> Path:
    """The shipped taxonomy with the node `knockout` renamed `ablation`, "knockout" kept among its aliases
    (it already is one)."""
    text = PACKAGED_TAXONOMY.read_text(encoding="utf-8")
    for old, new, count in (("  - id: knockout\n", "  - id: ablation\n", 1),
                            ("cma, knockout]", "cma, ablation]", 2),
                            ("cma, knockout,", "cma, ablation,", 1),
                            ("to: knockout,", "to: ablation,", 1),
                            ("{from: knockout,", "{from: ablation,", 1),
                            ('"Knockout": knockout', '"Knockout": ablation', 2),
                            ("\n  knockout: >-", "\n  ablation: >-", 1)):
        assert text.count(old) == count, old
        text = text.replace(old, new)
    path = tmp_path / "mi-renamed.yaml"
    path.write_text(text, encoding="utf-8")
    taxonomy = load_taxonomy(path)
    assert "knockout" not in taxonomy.by_id and "knockout" in taxonomy.by_id["ablation"].aliases
    return path


def _write(path: Path, lines: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def _records(tmp_path: Path, technique_ids: list[str]) -> Path:
    return _write(tmp_path / "old.jsonl", [{
        "id": PAPER, "title": "Knocking Out Heads", "year": 2024,
        "abstract": "We study a small transformer's heads.",
        "list_rows": [{"section": "Circuits", "title_in_list": "Knocking Out Heads",
                       "technique_ids": technique_ids, "evaluation_ids": ["faithfulness"]}]}])


def _hand_tags(data_dir: Path) -> set[str]:
    """The paper's technique and evaluation ids of source list, read from the store file."""
    store = EmbeddedStore(data_dir / "paperkg.sqlite3", read_only=True)
    try:
        detail = store.get_paper(PAPER)
        assert detail is not None
        return ({t.technique_id for t in detail.techniques if t.source == "list"}
                | {e.evaluation_id for e in detail.evaluations if e.source == "list"})
    finally:
        store.close()


def _tagged_then_renamed(tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The paper imported with `knockout` and `path_patching`, then the rename and `init --prune`; the
    old file."""
    assert _run("init").exit_code == 0
    old = _records(tmp_path, ["knockout", "path_patching"])
    first = _run("ingest", "records", str(old))
    assert first.exit_code == 0, first.output
    assert _hand_tags(data_dir) == {"knockout", "path_patching", "faithfulness"}
    monkeypatch.setenv("PAPERKG_TAXONOMY", str(_renamed_taxonomy(tmp_path)))
    pruned = _run("init", "--prune")
    assert pruned.exit_code == 0, pruned.output
    assert _hand_tags(data_dir) == {"ablation", "path_patching", "faithfulness"}
    return old


def test_an_old_id_kept_as_an_alias_is_read_as_the_renamed_node_with_a_warning(
    tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch, cli_tools: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The older file's `knockout` was an unknown label ("did you mean"), and the paper lost its tag."""
    old = _tagged_then_renamed(tmp_path, data_dir, monkeypatch)
    with caplog.at_level(logging.WARNING, logger="ingest.records_file"):
        again = _run("ingest", "records", str(old), "--json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["unknown_labels"] == []
    assert _hand_tags(data_dir) == {"ablation", "path_patching", "faithfulness"}
    # Said, not silent: the file still names the old id.
    [warning] = [r.getMessage() for r in caplog.records if r.name == "ingest.records_file"]
    assert warning.startswith("technique id 'knockout' (line 1) read as 'ablation'")


def test_an_export_written_before_the_rename_keeps_its_tags_when_read_back(
    tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch, cli_tools: None,
) -> None:
    """`export papers --format jsonl` gives the hand tags by id: the old ids were lost as unknown."""
    assert _run("init").exit_code == 0
    first = _run("ingest", "records", str(_records(tmp_path, ["knockout", "path_patching"])))
    assert first.exit_code == 0, first.output
    exported = _run("export", "papers", "--format", "jsonl")
    assert exported.exit_code == 0, exported.output
    assert '"knockout"' in exported.stdout
    export_file = tmp_path / "export.jsonl"
    export_file.write_text(exported.stdout, encoding="utf-8")
    monkeypatch.setenv("PAPERKG_TAXONOMY", str(_renamed_taxonomy(tmp_path)))
    assert _run("init", "--prune").exit_code == 0
    again = _run("ingest", "records", str(export_file), "--json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["unknown_labels"] == []
    assert _hand_tags(data_dir) == {"ablation", "path_patching", "faithfulness"}


def test_ids_all_unknown_keep_the_stored_hand_tags_and_are_reported(
    tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch, cli_tools: None,
) -> None:
    """A row whose technique ids are all unknown cleared the paper's technique hand tags (the replace
    rule); the evaluation ids it gives still replace that column's."""
    _tagged_then_renamed(tmp_path, data_dir, monkeypatch)
    lines = _write(tmp_path / "unknown.jsonl", [{
        "id": PAPER, "title": "Knocking Out Heads", "year": 2024,
        "abstract": "We study a small transformer's heads.",
        "list_rows": [{"section": "Circuits", "title_in_list": "Knocking Out Heads",
                       "technique_ids": ["head_lesioning", "path_pathcing"],
                       "evaluation_ids": ["completeness"]}]}])
    again = _run("ingest", "records", str(lines), "--json")
    assert again.exit_code == 0, again.output
    unknown = json.loads(again.stdout)["unknown_labels"]
    assert {(u["column"], u["label"]) for u in unknown} == {("techniques", "head_lesioning"),
                                                            ("techniques", "path_pathcing")}
    assert _hand_tags(data_dir) == {"ablation", "path_patching", "completeness"}
    # One known id among them: the column is given, and replaces the tags as before.
    known = _write(tmp_path / "known.jsonl", [{
        "id": PAPER, "title": "Knocking Out Heads", "year": 2024,
        "abstract": "We study a small transformer's heads.",
        "list_rows": [{"section": "Circuits", "title_in_list": "Knocking Out Heads",
                       "technique_ids": ["head_lesioning", "probing"]}]}])
    assert _run("ingest", "records", str(known)).exit_code == 0
    assert _hand_tags(data_dir) == {"probing", "completeness"}


def test_an_id_spelt_as_a_node_but_for_case_and_spaces_is_read_as_it_a_near_miss_is_not(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    """The rule of the web pages' redirects (kg.taxonomy.node_spelt_exactly): case, spaces, hyphens and
    underscores aside; a misspelling stays an unknown id (with its "did you mean"), and a topic's id is no
    tag, so no column reads it."""
    from ingest.records_file import read_records_file

    path = _write(tmp_path / "spelt.jsonl", [{"title": "T", "list_rows": [{
        "section": "Circuits", "technique_ids": ["Activation-Patching", "activation_patchin"],
        "evaluation_ids": ["Faithfulness"]}]}])
    with caplog.at_level(logging.WARNING, logger="ingest.records_file"):
        read = read_records_file(path, taxonomy=load_taxonomy(PACKAGED_TAXONOMY))
    [row] = read.records[0].list_rows
    assert row.technique_ids == ["activation_patching", "activation_patchin"]
    assert row.evaluation_ids == ["faithfulness"]
    assert read.renamed == [
        {"column": "techniques", "id": "Activation-Patching", "node_id": "activation_patching", "lines": [1]},
        {"column": "evaluation", "id": "Faithfulness", "node_id": "faithfulness", "lines": [1]}]
    assert len([r for r in caplog.records if r.name == "ingest.records_file"]) == 2
