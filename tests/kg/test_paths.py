"""kg.paths.UserPath, the path type of every command's path argument: the kg package's own, so kg's
commands need not import it from the ingest package's command module (layering)."""

from __future__ import annotations

import ast
from pathlib import Path

import click
import pytest

import ingest.cli
import ingest.weekly_cli
from kg.paths import UserPath

ROOT = Path(__file__).resolve().parents[2]


def test_a_leading_tilde_is_the_home_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "x.jsonl").write_text("{}\n", encoding="utf-8")
    assert UserPath(exists=True, path_type=Path).convert("~/x.jsonl", None, None) == tmp_path / "x.jsonl"
    with pytest.raises(click.BadParameter, match="does not exist"):
        UserPath(exists=True, path_type=Path).convert("~/missing", None, None)


def test_the_ingest_commands_use_the_same_class() -> None:
    assert ingest.cli.UserPath is UserPath and ingest.weekly_cli.UserPath is UserPath


@pytest.mark.parametrize("module", ["kg/cli.py", "ingest/weekly_cli.py"])
def test_userpath_is_imported_from_kg_paths(module: str) -> None:
    tree = ast.parse((ROOT / module).read_text(encoding="utf-8"))
    sources = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
               and any(alias.name == "UserPath" for alias in node.names)}
    assert sources == {"kg.paths"}, (module, sources)
