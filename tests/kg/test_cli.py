"""`paperkg init` / `stats` on a fresh embedded store, and clear errors for a bad taxonomy file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from kg.cli import main


def test_init_then_stats(data_dir: Path) -> None:
    runner = CliRunner()
    empty = runner.invoke(main, ["stats", "--json"])
    assert empty.exit_code == 0, empty.output
    assert sum(json.loads(empty.output)["nodes"].values()) == 0
    result = runner.invoke(main, ["init"])
    assert result.exit_code == 0, result.output
    assert "initialised embedded store" in result.output
    stats = json.loads(runner.invoke(main, ["stats", "--json"]).output)
    assert stats["nodes"]["Technique"] > 20 and stats["nodes"]["Paper"] == 0
    assert stats["relationships"]["REFINES"] > 0
    text = runner.invoke(main, ["stats"])
    assert text.exit_code == 0
    assert "nodes:" in text.output and "Technique" in text.output and "REFINES" in text.output


def test_init_with_a_custom_taxonomy(data_dir: Path, tmp_path: Path) -> None:
    custom = tmp_path / "tiny.yaml"
    custom.write_text(
        "techniques:\n  - id: alpha\n    label: Alpha\n  - id: beta\n    label: Beta\n"
        "    children:\n      - {id: beta_one, label: Beta one}\n",
        encoding="utf-8",
    )
    runner = CliRunner()
    result = runner.invoke(main, ["init", "--taxonomy", str(custom)])
    assert result.exit_code == 0, result.output
    assert "3 nodes" in result.output
    stats = json.loads(runner.invoke(main, ["stats", "--json"]).output)
    assert stats["nodes"]["Technique"] == 3 and stats["relationships"]["REFINES"] == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read taxonomy"),
        ("techniques: [unclosed\n", "not valid YAML"),
        ("just: a mapping\n", "not a taxonomy file"),
        ("techniques:\n  - {id: a, label: A}\n  - {id: a, label: B}\n", "duplicate ids"),
    ],
)
def test_init_with_a_bad_taxonomy_fails_cleanly(
    data_dir: Path, tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "bad.yaml"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    result = CliRunner().invoke(main, ["init", "--taxonomy", str(path)])
    assert result.exit_code != 0
    assert "Error:" in result.output and message in result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)
    # Nothing was created: the taxonomy is read before the store is opened.
    assert not (data_dir / "paperkg.sqlite3").exists()
