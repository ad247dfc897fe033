"""QA re-test of the CLI rework: with --json an option value click refuses prints the refused object too;
a missing PAPERKG_TAXONOMY file is a bad setting (78) on every command that reads it; `ingest arxiv`
says its counts in the singular for one id and names `not_found` when it fails; `ingest list --dry-run`
refuses --wait as reextract does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import arxiv
import pytest
from click.testing import CliRunner

from ingest.arxiv_server import LocalArxivServer
from ingest.arxiv_source import describe
from kg.cli import main
from tests.embedders import HashEmbedder
from tests.seed_store import taxonomy_store


def _invoke(*args: str) -> Any:
    return CliRunner().invoke(main, list(args))


@pytest.mark.parametrize("args, error", [
    (["records", "--json", "--batch-size", "0", "ONE"], "Invalid value for '--batch-size': must be at least "
                                                         "1, not '0'"),
    (["list", "--json", "--batch-size", "0"], "Invalid value for '--batch-size': must be at least 1, "
                                               "not '0'"),
    (["list", "--json", "--wait", "-1"], "Invalid value for '--wait': must be 0 or more, not '-1'"),
    (["list", "--wait", "nan", "--json"], "Invalid value for '--wait': must be a finite number, not 'nan'"),
    (["weekly", "--json", "--wait", "-1"], "Invalid value for '--wait': must be 0 or more, not '-1'"),
    (["reextract", "--batch-size", "abc", "--json"], "Invalid value for '--batch-size': must be an integer, "
                                                      "not 'abc'"),
    (["arxiv", "2211.00593", "--json", "--wait", "x"], "Invalid value for '--wait': must be a number of "
                                                        "seconds, not 'x'"),
    # Every command line click refuses: an unknown option, a missing FILE (the README says so).
    (["records", "--json", "--bogus"], "No such option: --bogus"),
    (["records", "--json"], "Missing argument 'FILE.jsonl'."),
    (["records", "--json", "NOPE"], "Invalid value for 'FILE.jsonl': File 'NOPE' does not exist."),
])
def test_a_value_click_refuses_prints_the_refused_object(
    data_dir: Path, tmp_path: Path, args: list[str], error: str
) -> None:
    one = tmp_path / "one.jsonl"
    one.write_text('{"title": "One Paper"}\n', encoding="utf-8")
    given = [str(one) if a == "ONE" else str(tmp_path / "nope.jsonl") if a == "NOPE" else a for a in args]
    result = _invoke("ingest", *given)
    assert result.exit_code == 2, result.output
    doc = json.loads(result.stdout)
    expected = error.replace("'NOPE'", f"'{tmp_path / 'nope.jsonl'}'")
    if "--bogus" in args:  # click's wording of an unknown option differs between versions
        assert doc["error"].startswith("No such option") and "--bogus" in doc["error"]
    else:
        assert doc["error"] == expected
    assert doc == {"status": "refused", "error": doc["error"], "exit_status": 2}
    assert f"Error: {doc['error']}" in result.stderr  # stderr as without --json
    without = _invoke("ingest", *[a for a in given if a != "--json"])
    assert (without.exit_code, without.stdout) == (2, "")
    assert not (data_dir / "paperkg.sqlite3").exists()


def test_json_as_another_options_value_is_not_the_flag(data_dir: Path) -> None:
    result = _invoke("ingest", "list", "--source", "--json")
    assert result.exit_code == 2 and result.stdout == ""
    assert "the list file --json does not exist" in result.stderr


def test_a_missing_paperkg_taxonomy_is_a_bad_setting_on_every_command(
    data_dir: Path, tmp_path: Path, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """QA: exit 1 for reextract, records and init but 78 for weekly; the message never named the setting."""
    taxonomy_store(data_dir / "paperkg.sqlite3").close()
    one = tmp_path / "one.jsonl"
    # A list row's label text, which the taxonomy maps: read while the file is (an error of the file, 1).
    one.write_text('{"title": "One Paper", "list_rows": [{"section": "Techniques", "techniques": "Logit '
                   'lens"}]}\n', encoding="utf-8")
    missing = tmp_path / "nope" / "tax.yaml"
    monkeypatch.setenv("PAPERKG_TAXONOMY", str(missing))
    said = (f"PAPERKG_TAXONOMY names {missing}, which does not exist (give a YAML file such as "
            "kg/taxonomies/mi.yaml, the packaged MI taxonomy)")
    for command in (["ingest", "records", str(one)], ["ingest", "reextract"],
                    ["ingest", "reextract", "--dry-run"],
                    ["ingest", "list", "--source", str(shared_data / "awesome-list-seed.md"), "--no-arxiv"],
                    ["ingest", "weekly"], ["init"], ["export", "list-rows", "--since", "2020-01-01"]):
        result = _invoke(*command)
        assert result.exit_code == 78, (command, result.output)
        assert result.stderr.endswith(f"Error: {said}\n"), command
    # --json: the refused object, as for any ingest refused before its run (README, --json on failure).
    for command in (["ingest", "records", str(one)], ["ingest", "reextract"], ["ingest", "weekly"]):
        result = _invoke(*command, "--json")
        assert json.loads(result.stdout) == {"status": "refused", "error": said, "exit_status": 78}, command
    # `init --taxonomy FILE` naming a missing file stays a usage error.
    named = _invoke("init", "--taxonomy", str(missing))
    assert named.exit_code == 2 and f"taxonomy file {missing} does not exist" in named.stderr


def test_one_id_arxiv_does_not_have_is_said_in_the_singular_with_not_found_in_json(
    data_dir: Path, local_arxiv: LocalArxivServer, plumbing: HashEmbedder
) -> None:
    result = _invoke("ingest", "arxiv", "9999.99999")
    assert result.exit_code == 1, result.output
    assert result.stderr.endswith("Error: 9999.99999 was not found on arXiv; nothing was stored\n")
    doc = json.loads(_invoke("ingest", "arxiv", "9999.99999", "9999.99998", "--json").stdout)
    assert (doc["status"], doc["not_found"], doc["unusable_date"]) == ("failed", ["9999.99998", "9999.99999"],
                                                                      [])


def test_an_arxiv_failure_is_said_once_in_the_singular(
    data_dir: Path, local_arxiv: LocalArxivServer, plumbing: HashEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """QA: "Error: arXiv: arXiv API at … failed after 1 attempts: … (1 ids from 2211.00593, …)"."""
    monkeypatch.setenv("PAPERKG_ARXIV_RETRIES", "0")
    local_arxiv.fail_next("503", 1)
    result = _invoke("ingest", "arxiv", "2211.00593", "--json")
    assert result.exit_code == 1, result.output
    error = json.loads(result.stdout)["error"]
    assert error.startswith("arXiv API at ") and " failed after 1 attempt: " in error
    assert error.endswith("(id 2211.00593, page 1 (start=0)) (no paper was written)")
    assert "not_found" not in json.loads(result.stdout)  # arXiv never answered: nothing is known missing
    assert describe(arxiv.Search(id_list=["2211.00593", "2202.05262"])) == "2 ids from 2211.00593"


def test_list_dry_run_refuses_wait_as_reextract_does(data_dir: Path, shared_data: Path) -> None:
    said = "--wait waits for the store lock, which --dry-run does not take: give one of them"
    for command in (["list", "--dry-run", "--source", str(shared_data / "awesome-list-seed.md")],
                    ["reextract", "--dry-run"]):
        result = _invoke("ingest", *command, "--wait", "5")
        assert result.exit_code == 2, result.output
        assert result.stderr.endswith(f"Error: {said}\n")
