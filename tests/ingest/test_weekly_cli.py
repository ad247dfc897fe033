"""`paperkg export list-rows` (ingest/weekly_cli.py) with a broken PAPERKG_TAXONOMY: one `Error:` line."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.seed_store import taxonomy_store

_TAB = "techniques:\n  - id: probing\n\tlabel: Probing\n"
_NO_PARENT = ("techniques:\n  - id: probing\n    label: Probing\nextensions_not_in_figure:\n"
              "  - id: qa_lens\n    label: QA Lens\n    parent: nowhere\n")


@pytest.mark.parametrize(("text", "expected"), [
    (_TAB, "taxonomy {path} is not valid YAML at line 3, column 1: found character '\\t' that cannot "
           "start any token"),
    (None, "cannot read taxonomy {path}: [Errno 2] No such file or directory: '{path}'"),
    (_NO_PARENT, "{path}: 'qa_lens' has parent 'nowhere', which is not a node"),
])
def test_list_rows_refuses_a_broken_taxonomy_in_one_line(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str | None, expected: str
) -> None:
    """QA: a ValueError traceback (tab indent, missing file, a parent that is no node)."""
    from kg.cli import main

    taxonomy_store(data_dir / "paperkg.sqlite3").close()  # a real store: only the taxonomy is wrong
    path = tmp_path / "tax.yaml"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    monkeypatch.setenv("PAPERKG_TAXONOMY", str(path))
    result = CliRunner().invoke(main, ["export", "list-rows", "--since", "2000-01-01"])
    assert isinstance(result.exception, SystemExit), result.exception  # a ValueError before
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == "Error: " + expected.format(path=path) + "\n"
