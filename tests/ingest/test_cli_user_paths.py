"""A path argument given with a leading ~ ("~/x.jsonl", quoted, or from a script, so the shell did not
expand it) is the home directory's file, for every command, as PAPERKG_DATA_DIR and --source are (QA:
`ingest records "~/x.jsonl"` said the file did not exist, `backup "~/b.sqlite3"` wrote into "./~")."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from ingest.cli import UserPath
from kg.cli import main
from kg.config import PACKAGED_TAXONOMY
from kg.embedded import EmbeddedStore
from tests.embedders import HashEmbedder

PAPER = {"id": "2211.00593", "arxiv_id": "2211.00593", "title": "Interpretability in the Wild",
         "authors": ["Kevin Wang"], "published": "2022-11-01"}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home directory of the test's own, and a working directory elsewhere (where "./~" would go)."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return home


def _run(*args: str) -> Any:
    return CliRunner().invoke(main, list(args))


def test_records_backup_and_keys_restore_read_and_write_under_home(
    data_dir: Path, home: Path, plumbing: HashEmbedder
) -> None:
    (home / "x.jsonl").write_text(json.dumps(PAPER) + "\n", encoding="utf-8")
    ingested = _run("ingest", "records", "~/x.jsonl")
    assert ingested.exit_code == 0, ingested.output
    assert "1 new" in ingested.output

    backup = _run("backup", "~/b.sqlite3")
    assert backup.exit_code == 0, backup.output
    assert not (Path.cwd() / "~").exists()  # not a directory named "~" in the working directory
    copy = EmbeddedStore(home / "b.sqlite3", read_only=True)
    try:
        assert copy.paper_ids() == ["2211.00593"]
    finally:
        copy.close()

    exported = _run("export", "papers", "--format", "jsonl", "--output", "~/exp.jsonl")
    assert exported.exit_code == 0, exported.output
    assert (home / "exp.jsonl").is_file()
    restored = _run("keys", "restore", "~/exp.jsonl")
    assert restored.exit_code == 0, restored.output
    assert "citation keys: 0 restored, 0 reserved for papers not stored yet, 1 held already" \
        in restored.output


def test_init_reads_its_taxonomy_under_home(data_dir: Path, home: Path) -> None:
    shutil.copy(PACKAGED_TAXONOMY, home / "tax.yaml")
    result = _run("init", "--taxonomy", "~/tax.yaml")
    assert result.exit_code == 0, result.output


def test_a_missing_file_under_home_is_named_expanded(data_dir: Path, home: Path) -> None:
    result = _run("ingest", "records", "~/nope.jsonl")
    assert result.exit_code == 2  # a usage error, as any missing file
    assert str(home / "nope.jsonl") in result.output


def test_user_path_expands_only_a_leading_tilde(home: Path) -> None:
    path = UserPath(path_type=Path)
    assert path.convert("~/a b/x.jsonl", None, None) == home / "a b" / "x.jsonl"
    assert path.convert("data/~x", None, None) == Path("data/~x")
    with pytest.raises(click.BadParameter, match="does not exist"):
        UserPath(exists=True, path_type=Path).convert("~/missing", None, None)
