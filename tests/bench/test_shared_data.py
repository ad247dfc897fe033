"""bench/shared_data.py: the benches find seed_papers.jsonl (--data, else PAPERKG_SHARED_DATA, else the folder
beside the repo) whatever the current directory, and say which folder lacks it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.shared_data import REPO, shared_data_dir

BESIDE_REPO = REPO.parent / "shared" / "data"
BENCHES = ("extraction_eval.py", "related_eval.py", "relevance_eval.py", "search_eval.py")


def _env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PAPERKG_SHARED_DATA"}
    return {**env, **settings}


def _run(script: str, cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(REPO / "bench" / script), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


def test_the_default_is_the_folder_beside_the_repo_from_any_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # kg.config's default, ../shared/data, would be tmp_path.parent/shared/data
    assert shared_data_dir(None, {}) == BESIDE_REPO
    assert shared_data_dir(None, {"PAPERKG_SHARED_DATA": ""}) == BESIDE_REPO  # empty: kg.config's default
    assert shared_data_dir(None, {"PAPERKG_SHARED_DATA": "/data/seed"}) == Path("/data/seed")
    assert shared_data_dir("given", {"PAPERKG_SHARED_DATA": "/data/seed"}) == Path("given")


def test_an_explicit_setting_equal_to_the_config_default_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PAPERKG_SHARED_DATA=../shared/data set by hand means that folder from here (it was taken for unset)."""
    monkeypatch.chdir(tmp_path)
    assert shared_data_dir(None, {"PAPERKG_SHARED_DATA": "../shared/data"}) == Path("../shared/data")
    monkeypatch.setenv("PAPERKG_SHARED_DATA", "../shared/data")
    assert shared_data_dir(None) == Path("../shared/data")  # os.environ when no env is given
    monkeypatch.delenv("PAPERKG_SHARED_DATA")
    assert shared_data_dir(None) == BESIDE_REPO


@pytest.mark.parametrize("script", BENCHES)
def test_a_folder_without_the_seed_file_is_named_in_one_usage_error(script: str, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    for env, args in ((_env(PAPERKG_SHARED_DATA=str(empty)), ()), (_env(), ("--data", str(empty)))):
        result = _run(script, tmp_path, env, *args)
        assert result.returncode == 2, result.stderr
        assert result.stderr.splitlines()[-1] == (
            f"{script}: error: no seed_papers.jsonl in {empty} (set PAPERKG_SHARED_DATA or --data)")
        assert result.stdout == ""
    if script == "search_eval.py":  # its older flag name still works
        result = _run(script, tmp_path, _env(), "--shared-data", str(empty))
        assert result.returncode == 2 and f"no seed_papers.jsonl in {empty}" in result.stderr
    bad = _run(script, tmp_path, _env(PAPERKG_ARXIV_DELAY="soon"))
    assert bad.returncode == 2
    assert bad.stderr.splitlines()[-1] == (
        f"{script}: error: invalid PAPERKG_* setting: PAPERKG_ARXIV_DELAY must be a number, not 'soon'")


def test_extraction_eval_run_from_another_directory_reads_the_data_beside_the_repo(tmp_path: Path) -> None:
    if not (BESIDE_REPO / "seed_papers.jsonl").is_file():
        pytest.skip(f"no shared data beside the repo ({BESIDE_REPO})")
    result = _run("extraction_eval.py", tmp_path, _env())
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("seed papers: 38; excluded for no abstract: 1 (logit-lens)")
    assert [line.split(":")[0] for line in result.stdout.splitlines() if "precision / recall" in line] == [
        "strict", "roll-up", "named"]
