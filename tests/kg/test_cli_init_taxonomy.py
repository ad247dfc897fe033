"""`paperkg init --taxonomy FILE` with a FILE that is not there, is a directory or cannot be read: a usage
error (exit status 2, as `ingest records FILE`) saying so in words, the path once (QA: "cannot read
taxonomy /nope.yaml: [Errno 2] No such file or directory: '/nope.yaml'", exit 1)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from kg.cli import main

HINT = "(give a YAML file such as kg/taxonomies/mi.yaml, the packaged MI taxonomy)"


@pytest.mark.parametrize(("kind", "problem"), [
    ("missing", "does not exist"),
    ("directory", "is a directory"),
    # A path through a regular file: the OS's reason, in words (as root, no permission test can fail).
    ("through a file", "cannot be read (not a directory)"),
])
def test_a_missing_or_unreadable_taxonomy_file_is_a_usage_error(
    data_dir: Path, tmp_path: Path, kind: str, problem: str
) -> None:
    (tmp_path / "file.txt").write_text("x", encoding="utf-8")
    path = {"missing": tmp_path / "nope.yaml", "directory": tmp_path,
            "through a file": tmp_path / "file.txt" / "mi.yaml"}[kind]
    result = CliRunner().invoke(main, ["init", "--taxonomy", str(path)])
    assert result.exit_code == 2, result.output
    assert result.output.endswith(f"\nError: taxonomy file {path} {problem} {HINT}\n"), result.output
    assert result.output.count(str(path)) == 1 and "Errno" not in result.output
    assert "Usage: main init" in result.output
    assert not (data_dir / "paperkg.sqlite3").exists()  # nothing created


def test_the_dry_run_refuses_it_the_same_way(data_dir: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["init", "--dry-run", "--taxonomy", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2 and "does not exist" in result.output


def test_a_missing_configured_taxonomy_says_it_in_the_same_words(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PAPERKG_TAXONOMY naming no file: a bad setting, named (78, as on every command; QA: 1, and the
    message never said the path came from PAPERKG_TAXONOMY)."""
    monkeypatch.setenv("PAPERKG_TAXONOMY", str(tmp_path / "gone.yaml"))
    result = CliRunner().invoke(main, ["init"])
    assert result.exit_code == 78, result.output
    gone = tmp_path / "gone.yaml"
    assert result.output == f"Error: PAPERKG_TAXONOMY names {gone}, which does not exist {HINT}\n"
