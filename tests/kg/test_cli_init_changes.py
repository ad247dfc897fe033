"""`paperkg init` says what it changed, as `init --dry-run` says what it would (QA: the dry run said
"change 1 node: attribution_graph: aliases", the real run only "initialised embedded store; … 75 nodes")."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from kg.cli import main

STITCHING = ("  - id: model_stitching\n    label: Model stitching\n    parent: null\n    kind: technique\n"
             "    aliases: [model stitching]\n")


def _edited(tmp_path: Path) -> Path:
    """The packaged taxonomy with one more alias of attribution_graph and one new technique."""
    from kg.config import PACKAGED_TAXONOMY

    text = PACKAGED_TAXONOMY.read_text(encoding="utf-8")
    edited = text.replace("sparse feature circuits, feature circuits]",
                          "sparse feature circuits, feature circuits, circuit tracer]", 1)
    edited = edited.replace("\nextensions_not_in_figure:\n", "\nextensions_not_in_figure:\n" + STITCHING, 1)
    assert edited.count("circuit tracer") == 1 and "model_stitching" in edited
    path = tmp_path / "mi-edited.yaml"
    path.write_text(edited, encoding="utf-8")
    return path


def test_init_reports_the_nodes_it_added_and_changed_as_the_dry_run_does(data_dir: Path,
                                                                         tmp_path: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(main, ["init"])
    # A new store: every node is loaded, which the head line counts; no node listed.
    assert first.exit_code == 0 and first.stdout.count("\n") == 1, first.output
    edited = str(_edited(tmp_path))
    dry = runner.invoke(main, ["init", "--dry-run", "--taxonomy", edited])
    assert ("would:\n  add 1 node: model_stitching\n  change 1 node:\n    attribution_graph: aliases\n"
            in dry.stdout), dry.output
    done = runner.invoke(main, ["init", "--taxonomy", edited])
    assert done.exit_code == 0, done.output
    lines = done.stdout.splitlines()
    assert lines[0].startswith("initialised embedded store; taxonomy ")
    assert lines[1:] == ["added 1 node: model_stitching", "changed 1 node:", "  attribution_graph: aliases"]
    # Nothing changed: nothing said but the head line.
    again = runner.invoke(main, ["init", "--taxonomy", edited])
    assert again.exit_code == 0 and again.stdout.count("\n") == 1, again.output
