"""QA (a shell-script user): `--json` ingests print one object on every failure, as `ingest weekly --json`
does; `ingest arxiv` takes ids as arguments, and fails when arXiv has none of them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from ingest.arxiv_server import LocalArxivServer
from ingest.store_lock import LOCK_NAME
from kg.cli import main
from kg.embedded import EmbeddedStore
from tests.embedders import HashEmbedder
from tests.seed_store import taxonomy_store


def _invoke(*args: str) -> Any:
    return CliRunner().invoke(main, list(args))


def _runs(data_dir: Path) -> list[Any]:
    store = EmbeddedStore(data_dir / "paperkg.sqlite3", read_only=True)
    try:
        return store.runs()
    finally:
        store.close()


def test_a_bad_records_file_prints_a_refusal_object(data_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"title": "Fine"}\n{"title": \n', encoding="utf-8")
    result = _invoke("ingest", "records", str(bad), "--json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc == {"status": "refused", "error": doc["error"], "exit_status": 1}
    assert doc["error"].startswith(f"{bad} line 2: not valid JSON (expecting value, column 11)")
    assert f"Error: {doc['error']}" in result.stderr  # stderr as without --json


def test_a_held_lock_prints_who_holds_it_for_records_list_and_arxiv(
    data_dir: Path, tmp_path: Path, shared_data: Path
) -> None:
    store = taxonomy_store(data_dir / "paperkg.sqlite3")
    store.acquire_lock(LOCK_NAME, "other-host:4242:0000beef:list-0123abcd", ttl_seconds=60)
    store.close()
    one = tmp_path / "one.jsonl"
    one.write_text('{"title": "One Paper"}\n', encoding="utf-8")
    for command in (["ingest", "records", str(one)],
                    ["ingest", "list", "--source", str(shared_data / "awesome-list-seed.md"), "--no-arxiv"],
                    ["ingest", "arxiv", "2211.00593"], ["ingest", "reextract"]):
        result = _invoke(*command, "--json")
        assert result.exit_code == 75, result.output
        doc = json.loads(result.stdout)
        assert set(doc) == {"status", "error", "holder"} and doc["status"] == "locked"
        assert "another list ingest" in doc["error"] and doc["error"] in result.stderr
        holder = doc["holder"]
        assert (holder["kind"], holder["host"], holder["pid"]) == ("list", "other-host", 4242)
        assert holder["owner"] == "other-host:4242:0000beef:list-0123abcd" and holder["expires"].endswith("Z")
    assert _runs(data_dir) == []  # refused before any run


def test_usage_errors_and_a_listless_source_print_a_refusal(data_dir: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.md"
    empty.write_text("# no tables here\n", encoding="utf-8")
    for command, status in ((["ingest", "arxiv", "notanid"], 2), (["ingest", "list", "--force"], 2),
                            (["ingest", "list", "--source", str(empty)], 1)):
        result = _invoke(*command, "--json")
        assert result.exit_code == status, result.output
        doc = json.loads(result.stdout)
        assert (doc["status"], doc["exit_status"]) == ("refused", status)
        assert doc["error"] in result.stderr
    assert not (data_dir / "paperkg.sqlite3").exists()


def test_ids_arxiv_does_not_have_fail_the_run_and_store_nothing(
    data_dir: Path, local_arxiv: LocalArxivServer, plumbing: HashEmbedder
) -> None:
    """QA: `ingest arxiv --ids 9999.99999` exited 0, "0 papers ... not found on arXiv" ("succeeded")."""
    result = _invoke("ingest", "arxiv", "9999.99999")
    assert result.exit_code == 1, result.output
    assert result.stderr.endswith(
        "Error: 9999.99999 was not found on arXiv; nothing was stored\n")
    as_json = _invoke("ingest", "arxiv", "--ids", "9999.99999,9999.99998", "--json")
    assert as_json.exit_code == 1
    doc = json.loads(as_json.stdout)
    assert (doc["status"], doc["source"], doc["new"]) == ("failed", "arxiv", 0)
    assert doc["error"] == "none of the ids was found on arXiv: 9999.99999, 9999.99998; nothing was stored"
    runs = _runs(data_dir)
    assert [(r.source, r.status) for r in runs] == [("arxiv", "failed")] * 2
    assert doc["run_id"] == runs[0].id and "nothing was stored" in (runs[0].message or "")
    stats = json.loads(_invoke("stats", "--json").stdout)
    assert stats["nodes"].get("Paper", 0) == 0


def test_ids_as_arguments_with_some_not_found_on_stderr(
    data_dir: Path, local_arxiv: LocalArxivServer, plumbing: HashEmbedder
) -> None:
    """QA: `paperkg ingest arxiv 2401.12345` said "Missing option '--ids'"."""
    result = _invoke("ingest", "arxiv", "2211.00593", "https://arxiv.org/abs/2202.05262",
                     "--ids", "2999.00001", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert (doc["status"], doc["new"], doc["not_found"]) == ("succeeded", 2, ["2999.00001"])
    assert "not found on arXiv: 2999.00001\n" in result.stderr
    text = _invoke("ingest", "arxiv", "2211.00593")
    assert text.exit_code == 0 and "1 unchanged" in text.stdout and "not found" not in text.output


def test_a_malformed_id_shows_what_an_id_looks_like(data_dir: Path) -> None:
    for args, hint in ((["notanid"], "'ID'"), (["--ids", "notanid"], "'--ids'")):
        result = _invoke("ingest", "arxiv", *args)
        assert result.exit_code == 2, result.output
        assert result.stderr.endswith(
            f"Error: Invalid value for {hint}: not an arXiv id or URL: 'notanid' (e.g. 2211.00593 or "
            "https://arxiv.org/abs/2211.00593)\n")
    none = _invoke("ingest", "arxiv")
    assert none.exit_code == 2 and "give at least one arXiv id" in none.stderr
    assert not (data_dir / "paperkg.sqlite3").exists()
