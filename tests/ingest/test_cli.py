"""`paperkg ingest ...` and `paperkg dev arxiv-server`: output, errors, nothing partial, kill-safety."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner

import ingest.pipeline as pipeline
from ingest.arxiv_server import LocalArxivServer
from ingest.pipeline import ingest_records_file
from ingest.store_lock import LOCK_NAME
from kg.cli import main
from kg.embedded import EmbeddedStore
from kg.taxonomy import Taxonomy
from tests.embedders import HashEmbedder
from tests.processes import open_fifo_writer, read_until, stop_when_blocked

from .conftest import REPO_ROOT, open_ready_store, snapshot


def _run(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_dry_run_json(data_dir: Path, shared_data: Path) -> None:
    seed = str(shared_data / "awesome-list-seed.md")
    result = _run("ingest", "list", "--source", seed, "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert set(doc) == {"rows", "papers", "unknown_labels", "unreadable_rows", "row_warnings"}
    # The seed list's exact duplicate row (Finding Neurons in a Haystack) is kept once, and said so.
    assert [w["lines"] for w in doc["row_warnings"] if w["kind"] == "duplicate_row"] == [[59, 60]]
    assert len(doc["rows"]) == 58 and len(doc["papers"]) == 38
    assert {"section", "subsection", "technique_ids", "evaluation_ids", "tldr", "line"} <= set(doc["rows"][0])
    assert not (data_dir / "paperkg.sqlite3").exists()  # nothing written


ONE_ROW_LIST = """# A list

## Circuits
| Paper | Techniques | TL;DR |
| --- | --- | --- |
| [Only Paper](https://example.org/only) | Quantum Probing | one |
"""


def test_dry_run_text_counts_are_pluralised(data_dir: Path, shared_data: Path, tmp_path: Path) -> None:
    seed = str(shared_data / "awesome-list-seed.md")
    result = _run("ingest", "list", "--source", seed, "--dry-run")
    assert result.exit_code == 0, result.output
    assert f"{seed}: 58 rows -> 37 papers + 1 tool (dry run: nothing written)" in result.output
    one = tmp_path / "one.md"
    one.write_text(ONE_ROW_LIST, encoding="utf-8")
    result = _run("ingest", "list", "--source", str(one), "--dry-run")
    assert result.exit_code == 0, result.output
    assert f"{one}: 1 row -> 1 paper + 0 tools (dry run: nothing written)" in result.output
    assert "label 'Quantum Probing' (line 6)" in result.output
    two = tmp_path / "two.md"
    two.write_text(ONE_ROW_LIST + "| [Other Paper](https://example.org/other) | Quantum Probing | two |\n",
                   encoding="utf-8")
    result = _run("ingest", "list", "--source", str(two), "--dry-run")
    assert f"{two}: 2 rows -> 2 papers + 0 tools" in result.output
    assert "label 'Quantum Probing' (lines 6, 7)" in result.output
    assert not (data_dir / "paperkg.sqlite3").exists()


def test_a_misspelled_label_is_reported_with_the_label_it_likely_means(
    data_dir: Path, tmp_path: Path, plumbing: HashEmbedder
) -> None:
    typo = tmp_path / "typo.md"
    typo.write_text(ONE_ROW_LIST.replace("Quantum Probing", "Activaton patching, Quantum Probing"),
                    encoding="utf-8")
    result = _run("ingest", "list", "--source", str(typo), "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    suggestions = {u["label"]: u["suggestion"] for u in json.loads(result.output)["unknown_labels"]}
    assert suggestions == {"Activaton patching": "Activation Patching", "Quantum Probing": None}
    # A real ingest's summary says it too, and the row keeps the label as written.
    result = _run("ingest", "list", "--source", str(typo), "--no-arxiv")
    assert result.exit_code == 0, result.output
    assert "'Activaton patching' (line 6); did you mean 'Activation Patching'?" in result.output
    assert "'Quantum Probing' (line 6)\n" in result.output


def test_missing_list_is_a_one_line_usage_error(data_dir: Path, tmp_path: Path) -> None:
    """A --source FILE that does not exist is a usage error (2), as a missing `ingest records FILE` is (QA:
    it was an error, 1, against the README's rule); so is a directory. Nothing is created."""
    result = CliRunner().invoke(main, ["ingest", "list", "--source", "/nope/README.md", "--dry-run"])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        "Error: Invalid value for '--source': the list file /nope/README.md does not exist")
    result = CliRunner().invoke(main, ["ingest", "list", "--source", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        f"Error: Invalid value for '--source': {tmp_path} is a directory, not a list file")
    assert not (data_dir / "paperkg.sqlite3").exists()


def test_ingest_list_through_local_arxiv(data_dir: Path, shared_data: Path, local_arxiv: LocalArxivServer,
                                         plumbing: HashEmbedder) -> None:
    result = _run("ingest", "list", "--source", str(shared_data / "awesome-list-seed.md"))
    assert result.exit_code == 0, result.output
    assert "38 papers from 68 records (30 merged) -> 38 new" in result.output
    assert "\n  merged: 30 by arXiv id (" in result.output  # the arXiv records of list papers
    assert "17 by id, 13 by title, 7 without an arXiv match" in result.output
    stats = json.loads(_run("stats", "--json").output)
    assert stats["nodes"]["Paper"] == 38 and stats["relationships"]["LISTED_IN"] == 57


def test_ingest_list_prints_wrong_and_unknown_arxiv_ids_with_their_lines(
    data_dir: Path, tmp_path: Path, local_arxiv: LocalArxivServer, plumbing: HashEmbedder
) -> None:
    wrong = tmp_path / "wrong-ids.md"
    wrong.write_text(
        "# A list\n\n## Circuits\n| Paper | Techniques | TL;DR |\n| --- | --- | --- |\n"
        "| [Only Paper About Something Else](https://arxiv.org/abs/2211.00593) | | one |\n"
        "| [A Paper arXiv Never Had](https://arxiv.org/abs/2399.99999) | | two |\n", encoding="utf-8")
    result = _run("ingest", "list", "--source", str(wrong))
    assert result.exit_code == 0, result.output
    assert "without an arXiv match, 1 id not found on arXiv, 1 title mismatch" in result.output
    assert "arXiv id not found, line 7: 2399.99999" in result.output
    assert "title mismatch, line 6: the list says 'Only Paper About Something Else'" in result.output


def test_malformed_arxiv_writes_nothing(data_dir: Path, shared_data: Path, taxonomy: Taxonomy,
                                        local_arxiv: LocalArxivServer, plumbing: HashEmbedder) -> None:
    store = open_ready_store(data_dir / "paperkg.sqlite3", taxonomy)
    before = snapshot(store)
    local_arxiv.fail_next("malformed", 10)
    seed = str(shared_data / "awesome-list-seed.md")
    result = CliRunner().invoke(main, ["ingest", "list", "--source", seed])
    assert result.exit_code == 1
    assert "malformed XML" in result.output and "(no paper was written)" in result.output
    assert snapshot(store) == before
    # The look-ups are part of the run: it is recorded, as failed with arXiv's error.
    (run,) = store.runs()
    assert (run.source, run.status) == ("list", "failed") and "malformed XML" in (run.message or "")
    store.close()


def test_ingest_arxiv_ids(data_dir: Path, local_arxiv: LocalArxivServer, plumbing: HashEmbedder) -> None:
    result = _run("ingest", "arxiv", "--ids", "2211.00593v2,https://arxiv.org/pdf/2202.05262",
                  "--ids", "2999.00001", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)  # the new-store note goes to stderr: stdout stays one JSON document
    assert doc["new"] == 2 and doc["not_found"] == ["2999.00001"]
    assert result.stderr == (f"note: created a new store in {data_dir.resolve()} (PAPERKG_DATA_DIR)\n"
                             "not found on arXiv: 2999.00001\n")
    bad = CliRunner().invoke(main, ["ingest", "arxiv", "--ids", "not-an-id"])
    assert bad.exit_code == 2
    assert "Error: Invalid value for '--ids': not an arXiv id or URL: 'not-an-id' (e.g. " in bad.output


def test_ingest_arxiv_reports_an_entry_with_an_unusable_date_as_skipped_not_missing(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, plumbing: HashEmbedder
) -> None:
    """Review: arXiv answered 2302.00003 with a date no parser reads; the ingest warned "entry skipped",
    then said `not found on arXiv: 2302.00003`, which was false."""
    dated = [{"arxiv_id": aid, "title": f"Paper {aid}", "published": published, "categories": ["cs.LG"]}
             for aid, published in [("2302.00001", "2023-02-20T10:00:00Z"), ("2302.00003", "garbage")]]
    with LocalArxivServer(dated) as server:
        monkeypatch.setenv("PAPERKG_ARXIV_URL", server.url)
        monkeypatch.setenv("PAPERKG_ARXIV_DELAY", "0")
        ids = ["ingest", "arxiv", "--ids", "2302.00001,2302.00003,2302.00004"]
        result = _run(*ids)
        doc = json.loads(_run(*ids, "--json").stdout)
    assert result.exit_code == 0, result.output
    # On stderr: the papers found were stored (exit 0), these were not.
    assert "not found on arXiv: 2302.00004\n" in result.stderr
    assert "skipped (unusable arXiv date): 2302.00003\n" in result.stderr
    assert (doc["not_found"], doc["unusable_date"], doc["unchanged"]) == (["2302.00004"], ["2302.00003"], 1)


def test_ingest_records_and_bad_file(data_dir: Path, shared_data: Path, tmp_path: Path,
                                     plumbing: HashEmbedder) -> None:
    result = _run("ingest", "records", str(shared_data / "seed_papers.jsonl"))
    assert result.exit_code == 0, result.output
    assert "38 new" in result.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"title": "Fine"}\n{"title": \n')
    before = _run("stats", "--json").output
    result = CliRunner().invoke(main, ["ingest", "records", str(bad)])
    assert result.exit_code == 1
    assert "line 2: not valid JSON" in result.output and "nothing was written" in result.output
    assert _run("stats", "--json").output == before


def test_an_ingest_says_when_it_created_a_new_store(
    tmp_path: Path, shared_data: Path, plumbing: HashEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A mistyped PAPERKG_DATA_DIR used to fill a new store elsewhere with nothing said about it.
    monkeypatch.delenv("PAPERKG_NEO4J_URI", raising=False)
    monkeypatch.setenv("PAPERKG_STORE", "embedded")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PAPERKG_DATA_DIR", "typo-data")  # relative, as typed: the note shows it absolute
    records = str(shared_data / "seed_papers.jsonl")
    note = f"note: created a new store in {tmp_path.resolve() / 'typo-data'} (PAPERKG_DATA_DIR)"
    first = _run("ingest", "records", records)
    assert first.exit_code == 0, first.output
    assert note in first.stderr.splitlines() and "38 new" in first.stdout
    again = _run("ingest", "records", records)
    assert again.exit_code == 0, again.output
    assert "note:" not in again.output  # an existing store: nothing added
    seed_list = str(shared_data / "awesome-list-seed.md")
    monkeypatch.setenv("PAPERKG_DATA_DIR", str(tmp_path / "other"))
    listed = _run("ingest", "list", "--source", seed_list, "--no-arxiv")
    assert listed.exit_code == 0, listed.output
    assert f"note: created a new store in {tmp_path / 'other'} (PAPERKG_DATA_DIR)" in listed.stderr


@pytest.mark.parametrize("size", ["0", "-5"])
def test_batch_size_below_1_is_a_usage_error(data_dir: Path, shared_data: Path, tmp_path: Path,
                                             plumbing: HashEmbedder, size: str) -> None:
    one = tmp_path / "one.jsonl"
    one.write_text('{"title": "One Paper"}\n')
    for command in (["ingest", "records", str(one)],
                    ["ingest", "list", "--source", str(shared_data / "awesome-list-seed.md"), "--no-arxiv"],
                    ["ingest", "arxiv", "--ids", "2211.00593"]):
        result = CliRunner().invoke(main, [*command, "--batch-size", size])
        assert result.exit_code == 2, result.output
        assert f"Error: Invalid value for '--batch-size': must be at least 1, not '{size}'\n" in result.output
    assert not (data_dir / "paperkg.sqlite3").exists()  # no store opened, so no run recorded


@pytest.mark.parametrize("ids", ["", " , ,"])
def test_ingest_arxiv_without_ids_is_a_usage_error(data_dir: Path, plumbing: HashEmbedder, ids: str) -> None:
    result = CliRunner().invoke(main, ["ingest", "arxiv", "--ids", ids])
    assert result.exit_code == 2, result.output
    assert "Error: give at least one arXiv id" in result.output
    assert not (data_dir / "paperkg.sqlite3").exists()  # no store opened, so no run recorded


@pytest.mark.parametrize("ids", ["notanid", "2211.00593,notanid", "x" * 5000])
def test_ingest_arxiv_with_a_malformed_id_is_a_usage_error(data_dir: Path, ids: str) -> None:
    """Like an empty --ids (exit 2, a usage line): it exited 1 without one, and echoed a long value whole."""
    result = CliRunner().invoke(main, ["ingest", "arxiv", "--ids", ids])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("Usage: main ingest arxiv [OPTIONS] [ID]...\n")
    bad = ids.split(",")[-1]
    shown = bad if len(bad) <= 80 else bad[:80] + "…"
    assert result.output.endswith(f"Error: Invalid value for '--ids': not an arXiv id or URL: '{shown}' "
                                  "(e.g. 2211.00593 or https://arxiv.org/abs/2211.00593)\n")
    assert not (data_dir / "paperkg.sqlite3").exists()  # no store opened, so no run recorded


@pytest.mark.parametrize("name", ["missing.jsonl", "folder"])
def test_ingest_records_of_a_missing_file_or_a_directory_is_a_usage_error(
    data_dir: Path, tmp_path: Path, name: str
) -> None:
    """Both exit 2 with click's usage line (a missing file exited 1, a directory 2), naming the argument
    FILE.jsonl as the README does (it was PATH)."""
    (tmp_path / "folder").mkdir()
    path = tmp_path / name
    result = CliRunner().invoke(main, ["ingest", "records", str(path)])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("Usage: main ingest records [OPTIONS] FILE.jsonl\n")
    what = "does not exist" if name == "missing.jsonl" else "is a directory"
    assert f"Error: Invalid value for 'FILE.jsonl': File '{path}' {what}." in result.output
    assert not (data_dir / "paperkg.sqlite3").exists()


def _wrong_list_files(tmp_path: Path, shared_data: Path) -> dict[str, Path]:
    """A gzip of a records file, the records file itself, an empty file and markdown without tables."""
    import gzip

    records = (shared_data / "seed_papers.jsonl").read_bytes()
    files = {"gzip": (tmp_path / "corpus.jsonl.gz", gzip.compress(records)),
             "jsonl": (tmp_path / "corpus.jsonl", records),
             "empty": (tmp_path / "empty.md", b""),
             "prose": (tmp_path / "prose.md", b"# A list\n\n## Circuits\nNo table here.\n")}
    for path, data in files.values():
        path.write_bytes(data)
    return {kind: path for kind, (path, _) in files.items()}


@pytest.mark.parametrize("kind", ["gzip", "jsonl", "empty", "prose"])
def test_ingest_list_refuses_a_file_with_no_list_rows_and_prunes_nothing(
    data_dir: Path, shared_data: Path, tmp_path: Path, plumbing: HashEmbedder, kind: str
) -> None:
    """A wrong --source read as "0 rows", exited 0 and reported every stored list row as gone from the
    list (a gzip decoded with errors="replace"); with --prune --force it would have removed them all."""
    listed = _run("ingest", "list", "--source", str(shared_data / "awesome-list-seed.md"), "--no-arxiv")
    assert listed.exit_code == 0, listed.output
    before = _run("stats", "--json").output
    wrong = _wrong_list_files(tmp_path, shared_data)[kind]
    runs = (["--dry-run"], ["--dry-run", "--json"], ["--no-arxiv"], ["--no-arxiv", "--prune", "--force"])
    for extra in runs:
        result = CliRunner().invoke(main, ["ingest", "list", "--source", str(wrong), *extra])
        assert result.exit_code == 1, (extra, result.output)
        if kind == "gzip":
            assert result.stderr == (f"Error: the list file {wrong} is gzip-compressed, not UTF-8 text "
                                     "(decompress it first: gunzip)\n")
        else:
            assert result.stderr.startswith(f"Error: no list rows in {wrong}: is it the awesome list? "), (
                result.stderr)
            assert result.stderr.endswith(" (nothing was written)\n") and result.stderr.count("\n") == 1
        # With --json the one refusal object, its error the Error: line's; else nothing on stdout.
        refused = json.loads(result.stdout) if "--json" in extra else None
        assert result.stdout == "" if refused is None else refused["error"] == result.stderr[7:-1]
        assert "no longer in the list" not in result.output
    assert _run("stats", "--json").output == before  # nothing pruned, nothing added


def test_a_list_whose_every_row_is_unreadable_is_refused_naming_the_first(
    data_dir: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.md"
    broken.write_text("# A list\n\n## S\n| Paper | TL;DR |\n| --- | --- |\n| [Broken](https://x | one |\n"
                      "| | |\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["ingest", "list", "--source", str(broken), "--dry-run"])
    assert result.exit_code == 1, result.output
    assert "; 2 rows could not be read, the first at line 6: " in result.output
    assert result.output.endswith(" (nothing was written)\n")


def test_an_unknown_records_id_gets_an_id_for_its_hint(data_dir: Path, tmp_path: Path,
                                                      plumbing: HashEmbedder) -> None:
    """A records file's technique_ids hint named a list label, even the very value refused (QA)."""
    rows = tmp_path / "rows.jsonl"
    rows.write_text(json.dumps({"title": "Rowed", "list_rows": [{"section": "Circuits", "technique_ids": [
        "Activation Patching", "activation_patchin", "logit_len", "made_up_id"]}]}) + "\n", encoding="utf-8")
    result = _run("ingest", "records", str(rows))
    assert result.exit_code == 0, result.output
    # "Activation Patching" spells the node's name exactly (case and spaces aside): read as its id, with a
    # warning (test_records_renamed_ids.py); the near misses get a hint.
    assert ("  unknown labels (3), kept on their rows:\n"
            "    techniques: 'activation_patchin' (line 1); did you mean 'activation_patching'?\n"
            "    techniques: 'logit_len' (line 1); did you mean 'logit_lens'?\n"
            "    techniques: 'made_up_id' (line 1)\n") in result.output + "\n"


def test_records_command_reports_bad_values_and_unknown_ids(data_dir: Path, tmp_path: Path,
                                                            plumbing: HashEmbedder) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"title": "Fine"}\n{"title": "Odd", "item_type": "article"}\n')
    result = CliRunner().invoke(main, ["ingest", "records", str(bad)])
    assert result.exit_code == 1
    assert result.output.strip() == (f"Error: {bad} line 2: 'item_type' must be 'paper' or 'tool', "
                                     "not 'article' (nothing was written; --skip-invalid imports the "
                                     "other lines and reports the bad ones)")
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"title": "Fine"}\n{"title": "Rowed", "list_rows": [{"section": "Circuits", '
                    '"technique_ids": ["activation_patching", "made_up_id"]}]}\n')
    result = _run("ingest", "records", str(rows))
    assert result.exit_code == 0, result.output
    assert "unknown labels (1), kept on their rows:\n    techniques: 'made_up_id' (line 2)" in result.output


def test_dev_arxiv_server_command(shared_data: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "kg.cli", "dev", "arxiv-server", "--records",
         str(shared_data / "seed_papers.jsonl"), "--port", "0"],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert "local arXiv API with 30 papers at http://127.0.0.1:" in first
        url = first.rsplit(" at ", 1)[1].strip()
        response = requests.get(url, params={"id_list": "2211.00593"}, timeout=5)
        assert response.status_code == 200 and b"Interpretability in the Wild" in response.content
    finally:
        stop_when_blocked(proc, "nanosleep")  # Ctrl-C once it sleeps: see tests/processes.py


def test_dev_arxiv_server_fails_on_demand(shared_data: Path) -> None:
    """QA: the command could not be told to fail, though the docs said the local arXiv can."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "kg.cli", "dev", "arxiv-server", "--records",
         str(shared_data / "seed_papers.jsonl"), "--fail", "503:2", "--fail", 'zero@ti:"induction heads"',
         "--fail", "empty@start=5", "--fail", "timeout", "--stall", "5"],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().rsplit(" at ", 1)[1].strip()
        proc.stdout.readline()  # the PAPERKG_ARXIV_URL hint
        announced = proc.stdout.readline()
        assert announced.startswith("failing on demand: 503 x2, zero x1 (requests containing")

        def get(timeout: float = 5, **params: Any) -> requests.Response:
            return requests.get(url, params=params, timeout=timeout)

        assert [get(id_list="2211.00593").status_code for _ in range(2)] == [503, 503]
        # The next unconditional failure: a stall longer than the client waits.
        with pytest.raises(requests.Timeout):
            get(timeout=0.5, id_list="2211.00593")
        ok = get(id_list="2211.00593")
        assert ok.status_code == 200 and b"Interpretability in the Wild" in ok.content
        # Failures for one query and for one page wait for their request.
        assert b"<opensearch:totalResults>0<" in get(search_query='ti:"induction heads"').content
        assert b"<opensearch:totalResults>2<" in get(search_query='ti:"induction heads"').content
        page = get(search_query="cat:cs.LG", start=5, max_results=5).content
        assert b"<entry>" not in page and b"<opensearch:totalResults>0<" not in page
        assert b"<entry>" in get(search_query="cat:cs.LG", start=5, max_results=5).content
    finally:
        stop_when_blocked(proc, "nanosleep")  # Ctrl-C once it sleeps: see tests/processes.py


@pytest.mark.parametrize(("value", "error"), [
    ("teapot", "unknown failure 'teapot'"), ("503:0", "at least 1"), ("503:x", "at least 1"),
    ("empty@", "nothing after '@'"),
])
def test_dev_arxiv_server_refuses_a_bad_failure(shared_data: Path, value: str, error: str) -> None:
    records = str(shared_data / "seed_papers.jsonl")
    result = CliRunner().invoke(main, ["dev", "arxiv-server", "--records", records, "--fail", value])
    assert result.exit_code == 2 and error in result.output
    assert "local arXiv API" not in result.output  # refused before serving


def test_list_problems_are_printed_without_terminal_controls(data_dir: Path, tmp_path: Path) -> None:
    hostile = tmp_path / "hostile.md"
    row = "| [Evil \x1b]0;pwned\x07Title\x1b[2J](https://x | Quantum \x1b[8mProbing | t |\n"
    hostile.write_text(ONE_ROW_LIST + row, encoding="utf-8")
    result = _run("ingest", "list", "--source", str(hostile), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "unreadable row, line 7" in result.output and "Evil Title" in result.output
    assert "\x1b" not in result.output and "\x07" not in result.output


# -- kill -9 mid-run ---------------------------------------------------------------------------
_SLOW_CLI = """
import sys, time
import ingest.pipeline as pipeline
from ingest.pipeline import ingest_records_file
from tests.embedders import HashEmbedder

class Slow(HashEmbedder):
    def encode(self, texts, batch_size=64, progress=False):
        time.sleep(0.03 * len(texts))  # slow enough to be killed mid-run
        return super().encode(texts, batch_size, progress)

pipeline._load_embedder = lambda: Slow()
from kg.cli import main
main(sys.argv[1:])
"""


def _records_file(path: Path, n: int) -> Path:
    words = ["probe", "circuit", "heads", "sparse", "autoencoder", "patching", "logit", "lens", "ablation"]
    with path.open("w") as handle:
        for i in range(n):
            text = " ".join(words[(i * 7 + k) % len(words)] for k in range(30))
            handle.write(json.dumps({"id": f"gen-{i:04d}", "title": f"Generated paper {i} on {words[i % 9]}",
                                     "abstract": f"We study {text}. Paper number {i}.",
                                     "authors": [f"Author {i % 17}", f"Author {(i + 5) % 23}"],
                                     "year": 2020 + i % 5}) + "\n")
    return path


def _cli(data: Path, *args: str, **popen: Any) -> subprocess.Popen[str]:
    env = dict(os.environ, PAPERKG_DATA_DIR=str(data), PAPERKG_STORE="embedded")
    env.pop("PAPERKG_NEO4J_URI", None)
    return subprocess.Popen([sys.executable, "-c", _SLOW_CLI, *args], cwd=REPO_ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


def _wait_for_papers(db: Path, proc: subprocess.Popen[str], at_least: int) -> None:
    """Until the store behind `db` holds `at_least` papers (the ingest is mid-run), or fail."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if db.exists():
            probe = EmbeddedStore(db)
            try:
                count = len(probe.paper_ids())
            except Exception:  # the schema may still be being created
                count = 0
            finally:
                probe.close()
            if count >= at_least:
                return
        time.sleep(0.05)
    pytest.fail("the ingest finished (or never got going) before it could be stopped")


def test_sigterm_mid_run_records_the_run_as_failed_and_frees_the_lock(tmp_path: Path) -> None:
    # Before: exit 143 with no word, the run left `running` and the lock held until the next ingest took
    # them over (a week later for a weekly job stopped by systemctl or docker).
    records = _records_file(tmp_path / "gen.jsonl", 120)
    data = tmp_path / "data"
    proc = _cli(data, "ingest", "records", str(records), "--batch-size", "20")
    _wait_for_papers(data / "paperkg.sqlite3", proc, 40)
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 143
    assert "stopped by SIGTERM: the run is recorded as failed" in err and "Traceback" not in err
    store = EmbeddedStore(data / "paperkg.sqlite3")
    try:
        (run,) = store.runs()
        assert run.status == "failed" and run.finished and "stopped by SIGTERM" in (run.message or "")
        store.acquire_lock(LOCK_NAME, "next-ingest")  # free at once: nobody has to take it over
    finally:
        store.close()


@pytest.mark.parametrize(("stop", "status", "said", "recorded"), [
    # QA: Ctrl-C gave click's bare "Aborted!" and exit status 1.
    (signal.SIGINT, 130, "interrupted: ", "KeyboardInterrupt"),
    # QA: a closed terminal (SIGHUP) killed the ingest as kill -9 does: run `running`, lock held.
    (signal.SIGHUP, 129, "stopped by SIGHUP: ", "stopped by SIGHUP"),
])
def test_ctrl_c_or_a_hangup_mid_run_records_the_run_as_failed_in_one_line(
    tmp_path: Path, stop: signal.Signals, status: int, said: str, recorded: str
) -> None:
    """As the terminal sends them: to the whole foreground process group."""
    records = _records_file(tmp_path / "gen.jsonl", 120)
    data = tmp_path / "data"
    proc = _cli(data, "ingest", "records", str(records), "--batch-size", "20", start_new_session=True)
    _wait_for_papers(data / "paperkg.sqlite3", proc, 40)
    os.killpg(proc.pid, stop)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == status, err
    assert err.splitlines()[-1] == (f"{said}the run is recorded as failed; run the command again to finish "
                                    "its work")
    assert "Traceback" not in err and "Aborted" not in err
    store = EmbeddedStore(data / "paperkg.sqlite3")
    try:
        (run,) = store.runs()
        assert (run.status, run.message) == ("failed", recorded) and run.finished
        store.acquire_lock(LOCK_NAME, "next-ingest")  # free at once: nobody has to take it over
    finally:
        store.close()


def test_a_hangup_under_nohup_is_ignored(tmp_path: Path) -> None:
    """`nohup paperkg ingest …`: SIGHUP is ignored from the start, and the ingest must not undo that."""
    records = _records_file(tmp_path / "gen.jsonl", 60)
    data = tmp_path / "data"
    proc = _cli(data, "ingest", "records", str(records), "--batch-size", "20", start_new_session=True,
                preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
    _wait_for_papers(data / "paperkg.sqlite3", proc, 20)
    os.killpg(proc.pid, signal.SIGHUP)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "60 new" in out


@pytest.mark.parametrize(("stop", "status", "said"), [
    (signal.SIGTERM, 143, "stopped by SIGTERM"),
    (signal.SIGINT, 130, "interrupted"),
])
def test_a_stop_while_waiting_for_the_lock_says_no_run_was_recorded(
    data_dir: Path, tmp_path: Path, taxonomy: Taxonomy, stop: signal.Signals, status: int, said: str
) -> None:
    """QA: SIGTERM during --wait said "the run is recorded as failed; run the command again", though
    no run had started (nothing is recorded before the lock is held)."""
    from ingest.store_lock import ingest_lock

    records = _records_file(tmp_path / "gen.jsonl", 3)
    holder = open_ready_store(data_dir / "paperkg.sqlite3", taxonomy)
    try:
        with ingest_lock(holder, "records"):
            proc = _cli(data_dir, "ingest", "records", str(records), "--wait", "600", start_new_session=True)
            try:
                assert proc.stderr is not None
                read_until(proc.stderr, "waiting up to 600 s for the store lock", "the ingest")
                os.killpg(proc.pid, stop)
                _out, rest = proc.communicate(timeout=60)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.communicate()
        assert proc.returncode == status, rest
        assert rest.splitlines()[-1] == f"{said} before the run started: no run was recorded"
        assert "Traceback" not in rest and "recorded as failed" not in rest
        assert holder.runs() == []
    finally:
        holder.close()


@pytest.mark.parametrize(("args", "kind"), [
    (["ingest", "list", "--source", "SEED"], "list"),
    (["ingest", "arxiv", "--ids", "2211.00593"], "arXiv"),
])
def test_sigterm_during_the_arxiv_lookups_records_the_run_as_failed(
    data_dir: Path, shared_data: Path, tmp_path: Path, seed_records: list[dict[str, Any]], args: list[str],
    kind: str,
) -> None:
    """QA: SIGTERM while `ingest list` / `ingest arxiv` waited on arXiv said "the run is recorded as
    failed", but the run only started after the look-ups, so none was. Meanwhile the ingest holds the
    store lock: another ingest is refused instead of writing."""
    args = [str(shared_data / "awesome-list-seed.md") if a == "SEED" else a for a in args]
    records = _records_file(tmp_path / "gen.jsonl", 3)
    with LocalArxivServer(seed_records, timeout_sleep=600) as server:
        server.fail_next("timeout")  # the first request stalls until the server stops
        env = dict(os.environ, PAPERKG_ARXIV_URL=server.url, PAPERKG_ARXIV_DELAY="0",
                   PAPERKG_ARXIV_TIMEOUT="600", PAPERKG_ARXIV_RETRIES="0")
        proc = subprocess.Popen([sys.executable, "-m", "kg.cli", *args], cwd=REPO_ROOT, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 120
            while not server.requests and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
            assert server.requests, "the ingest never asked arXiv"
            second = CliRunner().invoke(main, ["ingest", "records", str(records)])
            assert second.exit_code == 75 and f"another {kind} ingest is running" in second.output
            # Once it waits for the stalled answer: see tests/processes.py.
            _out, err = stop_when_blocked(proc, "poll", signum=signal.SIGTERM)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert proc.returncode == 143, err
    assert "stopped by SIGTERM: the run is recorded as failed" in err and "Traceback" not in err
    store = EmbeddedStore(data_dir / "paperkg.sqlite3")
    try:
        (run,) = store.runs()
        assert (run.source, run.status) == (args[1], "failed") and run.finished
        assert "stopped by SIGTERM" in (run.message or "")
        assert store.paper_ids() == []
        store.acquire_lock(LOCK_NAME, "next-ingest")  # released on the way out
    finally:
        store.close()


def test_kill_9_mid_run_then_rerun_equals_a_clean_run(
    tmp_path: Path, taxonomy: Taxonomy, extractor: Any
) -> None:
    records = _records_file(tmp_path / "gen.jsonl", 120)
    killed_dir, clean_dir = tmp_path / "killed", tmp_path / "clean"
    proc = _cli(killed_dir, "ingest", "records", str(records), "--batch-size", "20")
    db = killed_dir / "paperkg.sqlite3"
    _wait_for_papers(db, proc, 40)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL

    store = EmbeddedStore(db)
    partial = len(store.paper_ids())
    assert 40 <= partial < 120
    (killed_run,) = store.runs()
    assert killed_run.status == "running" and killed_run.finished is None
    store.close()

    rerun = _cli(killed_dir, "ingest", "records", str(records), "--batch-size", "20")
    out, err = rerun.communicate(timeout=180)
    assert rerun.returncode == 0, err
    assert f"{120 - partial} new" in out and f"{partial} unchanged" in out

    # A clean single run of the same file (in-process: same embedder family, same extractor).
    clean_dir.mkdir()
    clean_store = open_ready_store(clean_dir / "paperkg.sqlite3", taxonomy)
    ingest_records_file(clean_store, records, embedder=HashEmbedder(), extractor=extractor, progress=False,
                        batch_size=20)

    killed_store = EmbeddedStore(db)
    try:
        assert snapshot(killed_store) == snapshot(clean_store)
        assert len(killed_store.paper_ids()) == 120
        runs = {r.status: r for r in killed_store.runs()}
        assert sorted(runs) == ["failed", "succeeded"]
        # The rerun, holding the store lock, recorded the killed run as ended (it stays on record).
        assert runs["failed"].id == killed_run.id
        assert "its process ended (killed or crashed)" in (runs["failed"].message or "")
    finally:
        killed_store.close()
        clean_store.close()


# -- list rows the list no longer has (--prune) ------------------------------------------------

WRONG_ROW = ("|  [A Wrong Paper About Probing Induction Heads](https://example.org/wrong-paper)  |  "
             "Probing  |  The paper probes induction heads with activation patching.  |\n")
WRONG_ID = "a-wrong-paper-about-probing-induction-heads"


def _seed_plus(shared_data: Path, tmp_path: Path, rows: str, name: str = "edited.md") -> tuple[Path, int]:
    """A copy of the seed list with `rows` after its Techniques table's last row, and that row's line."""
    seed = (shared_data / "awesome-list-seed.md").read_text(encoding="utf-8")
    anchor = next(line for line in seed.splitlines(keepends=True) if "Causal Scrubbing" in line)
    edited = tmp_path / name
    edited.write_text(seed.replace(anchor, anchor + rows), encoding="utf-8")
    line = next(n for n, text in enumerate(edited.read_text(encoding="utf-8").splitlines(), start=1)
                if text == rows.splitlines()[0])
    return edited, line


def test_rows_a_list_no_longer_has_are_reported_then_pruned(
    data_dir: Path, shared_data: Path, tmp_path: Path, plumbing: HashEmbedder
) -> None:
    """Operator QA: after a wrong list copy, the right list left the copy's rows stored for good.
    Now the right list reports them; with --prune they go, and the paper with them, since the list was
    its only source (it was kept with no source at all); nothing else changes."""
    seed = str(shared_data / "awesome-list-seed.md")
    edited, line = _seed_plus(shared_data, tmp_path, WRONG_ROW)
    assert _run("ingest", "list", "--source", str(edited), "--no-arxiv").exit_code == 0
    result = _run("ingest", "list", "--source", seed, "--no-arxiv")
    assert result.exit_code == 0, result.output
    assert ("  1 list row is no longer in the list (run again with --prune to remove them):\n"
            f"    A Wrong Paper About Probing Induction Heads [{WRONG_ID}], Techniques, was line {line}\n"
            "  1 paper of those rows has no other source (--prune removes it too):\n"
            f"    A Wrong Paper About Probing Induction Heads [{WRONG_ID}]\n") in result.output
    doc = json.loads(_run("ingest", "list", "--source", seed, "--no-arxiv", "--json").stdout)
    assert doc["stale_list_rows"] == [{
        "paper_id": WRONG_ID, "title": "A Wrong Paper About Probing Induction Heads", "section": "Techniques",
        "section_id": "techniques", "line": line}]
    assert doc["list_only_papers"] == [
        {"paper_id": WRONG_ID, "title": "A Wrong Paper About Probing Induction Heads"}]
    assert (doc["list_rows_pruned"], doc["papers_pruned"], doc["prune_refused"]) == (0, 0, None)
    store = EmbeddedStore(data_dir / "paperkg.sqlite3")
    before = snapshot(store)
    store.close()
    assert before["stats"]["relationships"]["LISTED_IN"] == 58

    result = _run("ingest", "list", "--source", seed, "--no-arxiv", "--prune", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["list_rows_pruned"] == 1 and [r["paper_id"] for r in doc["stale_list_rows"]] == [WRONG_ID]
    assert doc["papers_pruned"] == 1 and [p["paper_id"] for p in doc["list_only_papers"]] == [WRONG_ID]
    store = EmbeddedStore(data_dir / "paperkg.sqlite3")
    after = snapshot(store)
    counts = store.runs(limit=1)[0].counts
    assert (counts["list_rows_pruned"], counts["list_only_papers"], counts["papers_pruned"]) == (1, 1, 1)
    store.close()
    assert sorted(after["papers"]) == sorted(set(before["papers"]) - {WRONG_ID})  # the rest are kept
    assert after["papers"] == {k: v for k, v in before["papers"].items() if k != WRONG_ID}
    # The paper went with its row, its three technique edges and its finding; nothing else did.
    changed = {k: (before["stats"][kind][k], n) for kind in ("nodes", "relationships")
               for k, n in after["stats"][kind].items() if before["stats"][kind][k] != n}
    gone = {"Paper": 1, "Finding": 1, "LISTED_IN": 1, "USES": 3, "REPORTS": 1, "ABOUT": 2}
    assert changed == {k: (n, n - gone[k]) for k, (n, _) in changed.items()} and set(changed) == set(gone)
    assert changed["Paper"] == (39, 38) and changed["LISTED_IN"] == (58, 57)
    # Pruned once: the next run finds nothing to report.
    result = _run("ingest", "list", "--source", seed, "--no-arxiv", "--prune")
    assert result.exit_code == 0 and "no longer in the list" not in result.output


def test_a_list_with_unreadable_rows_reports_and_prunes_only_with_force(
    data_dir: Path, shared_data: Path, tmp_path: Path, plumbing: HashEmbedder
) -> None:
    """A row that no longer parses is not in the list: its paper's row is reported with the unreadable
    row. --prune holds back while the list has one (list QA: a link missing its ")" made --prune delete
    that row's paper, with all its data, in the same run): nothing is removed, the output says which
    line to fix, and the command exits 1; --prune --force removes the rows (the paper, which only the
    list brought, goes with its row)."""
    edited, _ = _seed_plus(shared_data, tmp_path, WRONG_ROW)
    broken, broken_line = _seed_plus(shared_data, tmp_path, "|   |  Probing  |  no paper cell  |\n",
                                     "broken.md")
    assert _run("ingest", "list", "--source", str(edited), "--no-arxiv").exit_code == 0
    held = _run("ingest", "list", "--source", str(broken), "--no-arxiv", "--prune")
    assert held.exit_code == 1, held.output
    assert f"unreadable row, line {broken_line}: no paper title or link in the Paper column" in held.output
    assert "1 list row is no longer in the list (not removed: --prune was held back):" in held.output
    assert (f"--prune held back: 1 stale list row, and 1 paper with no other source kept because line "
            f"{broken_line} could not be read; fix it and run --prune again") in held.output
    stats = json.loads(_run("stats", "--json").output)
    assert stats["nodes"]["Paper"] == 39 and stats["relationships"]["LISTED_IN"] == 58
    result = _run("ingest", "list", "--source", str(broken), "--no-arxiv", "--prune", "--force")
    assert result.exit_code == 0, result.output
    assert ("1 list row no longer in the list was removed (--prune; the papers with another source "
            "stay):") in result.output
    assert ("1 paper of those rows had no other source and was removed with its rows (--prune):"
            in result.output)
    stats = json.loads(_run("stats", "--json").output)
    assert stats["nodes"]["Paper"] == 38 and stats["relationships"]["LISTED_IN"] == 57


def test_prune_refuses_a_list_that_lost_most_rows_unless_forced(
    data_dir: Path, shared_data: Path, tmp_path: Path, plumbing: HashEmbedder
) -> None:
    """A truncated or wrong list would empty most of the list's papers: --prune reports them, removes
    nothing, exits 1 with the reason (the rest of the ingest is done); --prune --force removes them,
    and the papers only the list brought (without arXiv, every seed paper) with them."""
    seed = str(shared_data / "awesome-list-seed.md")
    one = tmp_path / "one.md"
    one.write_text(ONE_ROW_LIST, encoding="utf-8")
    assert _run("ingest", "list", "--source", seed, "--no-arxiv").exit_code == 0
    result = CliRunner().invoke(main, ["ingest", "list", "--source", str(one), "--no-arxiv", "--prune"])
    assert result.exit_code == 1, result.output
    assert "57 list rows are no longer in the list (not removed: --prune was refused):" in result.stdout
    assert "... and 37 more (--json lists them all)" in result.stdout
    # Of the 57 rows stored before this run: the one-row list's own row is not among them.
    assert ("Error: --prune refused: the list no longer has 57 of the 57 list rows stored, more than half, "
            "as a truncated or wrong list would; nothing was removed (38 papers with no other source would "
            "have gone with them;") in result.stderr
    assert "38 papers of those rows have no other source (not removed: --prune was refused):" in result.stdout
    stats = json.loads(_run("stats", "--json").output)
    # The seed's 57 rows are all kept, and the one-row list's row was added.
    assert stats["nodes"]["Paper"] == 39 and stats["relationships"]["LISTED_IN"] == 58
    result = _run("ingest", "list", "--source", str(one), "--no-arxiv", "--prune", "--force", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert (doc["list_rows_pruned"], doc["papers_pruned"], len(doc["list_only_papers"])) == (57, 38, 38)
    stats = json.loads(_run("stats", "--json").output)
    assert stats["nodes"]["Paper"] == 1 and stats["relationships"]["LISTED_IN"] == 1


def _other_list(path: Path, n: int) -> Path:
    """A list in the list's table format with `n` rows of titles the seed list does not have."""
    rows = "".join(f"| [Another Field Paper Number {i} on Protein Folding](https://example.org/p{i}) "
                   f"| Probing | Paper {i} folds proteins. |\n" for i in range(n))
    path.write_text("# Another list\n\n## Circuits\n| Paper | Techniques | TL;DR |\n| --- | --- | --- |\n"
                    + rows, encoding="utf-8")
    return path


def test_prune_refuses_a_wrong_list_as_long_as_the_stored_one(
    data_dir: Path, shared_data: Path, tmp_path: Path, plumbing: HashEmbedder
) -> None:
    """QA: another list of 60 rows made all 57 stored rows stale, yet --prune removed them (and would
    have deleted every paper only the list brought): the rule counted the 60 rows this run had just
    written among the rows stored (57 of 117). Now it counts the rows stored before the run."""
    seed = str(shared_data / "awesome-list-seed.md")
    assert _run("ingest", "list", "--source", seed, "--no-arxiv").exit_code == 0
    store = EmbeddedStore(data_dir / "paperkg.sqlite3")
    before = snapshot(store)["papers"]
    store.close()
    other = _other_list(tmp_path / "other.md", 60)
    result = CliRunner().invoke(main, ["ingest", "list", "--source", str(other), "--no-arxiv", "--prune"])
    assert result.exit_code == 1, result.output
    assert ("Error: --prune refused: the list no longer has 57 of the 57 list rows stored, more than half, "
            "as a truncated or wrong list would; nothing was removed (38 papers with no other source would "
            "have gone with them;") in result.stderr
    assert "57 list rows are no longer in the list (not removed: --prune was refused):" in result.stdout
    store = EmbeddedStore(data_dir / "paperkg.sqlite3")
    try:
        after = snapshot(store)
        counts = store.runs(limit=1)[0].counts
    finally:
        store.close()
    # Every seed paper is there as it was, with its rows, edges and `list` source; the 60 were added.
    assert {pid: after["papers"][pid] for pid in before} == before
    assert len(after["papers"]) == 38 + 60 and after["stats"]["relationships"]["LISTED_IN"] == 57 + 60
    assert (counts["stale_list_rows"], counts["list_rows_pruned"], counts["papers_pruned"]) == (57, 0, 0)


def test_prune_still_prunes_a_list_that_grew_and_dropped_a_few_rows(
    data_dir: Path, shared_data: Path, tmp_path: Path, plumbing: HashEmbedder
) -> None:
    """Counting the rows stored before the run: a list that gained 30 rows and lost 3 (3 of the 57
    stored) is pruned of those 3, as it was when the new rows counted too."""
    seed = str(shared_data / "awesome-list-seed.md")
    added = "".join(f"| [A Newly Listed Paper Number {i} on Probing Heads](https://example.org/n{i}) "
                    f"| Probing | New paper {i}. |\n" for i in range(30))
    edited, _line = _seed_plus(shared_data, tmp_path, added)
    dropped = ("Analyzing Transformers in Embedding Space", "Copy suppression",
               "Universal neurons in gpt2 language models")
    edited.write_text("".join(line for line in edited.read_text(encoding="utf-8").splitlines(keepends=True)
                              if not any(f"[{title}" in line for title in dropped)), encoding="utf-8")
    # A first ingest with --prune: nothing was stored, nothing is stale, nothing refused.
    first = _run("ingest", "list", "--source", seed, "--no-arxiv", "--prune")
    assert first.exit_code == 0 and "no longer in the list" not in first.output
    result = _run("ingest", "list", "--source", str(edited), "--no-arxiv", "--prune", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["prune_refused"] is None
    assert sorted(row["title"].split(":")[0] for row in doc["stale_list_rows"]) == sorted(dropped)
    assert (doc["list_rows_pruned"], doc["papers_pruned"]) == (3, 3)
    stats = json.loads(_run("stats", "--json").output)
    assert stats["nodes"]["Paper"] == 38 - 3 + 30 and stats["relationships"]["LISTED_IN"] == 57 - 3 + 30


@pytest.mark.parametrize(("args", "message"), [
    (["--force"], "--force only goes with --prune"),
    (["--prune", "--dry-run"], "--prune removes rows, --dry-run writes nothing"),
])
def test_prune_option_misuse_is_a_usage_error(data_dir: Path, shared_data: Path, args: list[str],
                                              message: str) -> None:
    seed = str(shared_data / "awesome-list-seed.md")
    result = CliRunner().invoke(main, ["ingest", "list", "--source", seed, "--no-arxiv", *args])
    assert result.exit_code == 2 and message in result.output
    assert not (data_dir / "paperkg.sqlite3").exists()


def test_a_misspelt_name_given_as_a_records_id_gets_an_id_for_its_hint(data_dir: Path, tmp_path: Path,
                                                                      plumbing: HashEmbedder) -> None:
    """Needs ingest/summary.py's _suggestion: a records file's ids are answered with nearest_id ("Activaton
    patching" and "probin" as ids got the names 'Activation Patching' and 'Probing')."""
    rows = tmp_path / "rows.jsonl"
    rows.write_text(json.dumps({"title": "Rowed", "list_rows": [{
        "section": "Circuits", "technique_ids": ["Activaton patching", "probin"]}]}) + "\n", encoding="utf-8")
    result = _run("ingest", "records", str(rows), "--json")
    assert result.exit_code == 0, result.output
    hints = {u["label"]: u["suggestion"] for u in json.loads(result.stdout)["unknown_labels"]}
    assert hints == {"Activaton patching": "activation_patching", "probin": "probing"}


# -- ingest reextract -----------------------------------------------------------------------------
@pytest.fixture
def real_extraction(monkeypatch: pytest.MonkeyPatch) -> HashEmbedder:
    """The CLI's pipeline with the hash embedder and a real extractor of the taxonomy it is given
    (PAPERKG_TAXONOMY's), so a taxonomy edit reaches extraction as in production."""
    from ingest.extract import Extractor

    embedder = HashEmbedder()
    monkeypatch.setattr(pipeline, "_load_embedder", lambda: embedder)
    monkeypatch.setattr(pipeline, "_load_extractor", lambda taxonomy: Extractor(taxonomy))
    return embedder


def _stitching_records(tmp_path: Path) -> Path:
    from .test_reextract import STITCHING_RECORDS

    path = tmp_path / "stitching.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in STITCHING_RECORDS), encoding="utf-8")
    return path


def _stitching_uses(data_dir: Path) -> list[str]:
    """The papers with a USES edge to model_stitching, read from the store file."""
    store = EmbeddedStore(data_dir / "paperkg.sqlite3", read_only=True)
    try:
        details = [store.get_paper(pid) for pid in store.paper_ids()]
        return sorted(d.paper.id for d in details
                      if d is not None and any(t.technique_id == "model_stitching" for t in d.techniques))
    finally:
        store.close()


def test_reextract_tags_the_stored_papers_after_a_taxonomy_edit_and_init(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, real_extraction: HashEmbedder
) -> None:
    """QA (taxonomy maintainer): a new technique in the YAML and `paperkg init` left every stored paper
    with its old tags, and no command re-extracted them."""
    from .test_reextract import edited_taxonomy

    assert _run("ingest", "records", str(_stitching_records(tmp_path))).exit_code == 0
    calls = real_extraction.calls
    monkeypatch.setenv("PAPERKG_TAXONOMY", str(edited_taxonomy(tmp_path)))
    init = _run("init")
    assert init.exit_code == 0, init.output
    assert init.stderr == ("note: the 3 stored papers were extracted with another taxonomy or extractor: run "
                           "`paperkg ingest reextract`\n")
    assert _stitching_uses(data_dir) == []

    dry = _run("ingest", "reextract", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert dry.stdout == ("reextract (dry run: nothing written): 3 papers -> 3 to update, 0 unchanged; "
                          "2 with other tags\n  tags added:\n    model_stitching: 2 papers\n"
                          "      stitch-1, stitch-2\n")
    assert _stitching_uses(data_dir) == []

    done = _run("ingest", "reextract")
    assert done.exit_code == 0, done.output
    first, *rest = done.stdout.splitlines()
    assert first.startswith("reextract: 3 papers -> 3 updated, 0 unchanged; 2 with other tags; 0 embedded, "
                            "3 already had an embedding; run reextract-")
    assert rest == ["  tags added:", "    model_stitching: 2 papers", "      stitch-1, stitch-2"]
    assert _stitching_uses(data_dir) == ["stitch-1", "stitch-2"]
    assert real_extraction.calls == calls  # nothing was embedded again

    again = _run("ingest", "reextract", "--json")
    assert again.exit_code == 0, again.output
    doc = json.loads(again.stdout)
    assert {k: doc[k] for k in ("source", "status", "dry_run", "papers", "updated", "unchanged", "retagged",
                                "embedded", "tags_added", "tags_removed")} == {
        "source": "reextract", "status": "succeeded", "dry_run": False, "papers": 3, "updated": 0,
        "unchanged": 3, "retagged": 0, "embedded": 0, "tags_added": {}, "tags_removed": {}}
    store = EmbeddedStore(data_dir / "paperkg.sqlite3", read_only=True)
    try:
        assert [(r.source, r.status) for r in store.runs()[:2]] == [("reextract", "succeeded")] * 2
    finally:
        store.close()


def test_reextract_refuses_what_it_cannot_do_in_one_line(
    data_dir: Path, tmp_path: Path, real_extraction: HashEmbedder
) -> None:
    for args in (["ingest", "reextract"], ["ingest", "reextract", "--dry-run"]):
        missing = CliRunner().invoke(main, args)
        assert missing.exit_code == 1 and "Traceback" not in missing.output
        assert f"no paperkg store in {data_dir.resolve()} (PAPERKG_DATA_DIR)" in missing.output
    assert not (data_dir / "paperkg.sqlite3").exists()  # nothing to re-extract: no new store made
    both = CliRunner().invoke(main, ["ingest", "reextract", "--dry-run", "--wait", "5"])
    assert both.exit_code == 2
    assert "--wait waits for the store lock, which --dry-run does not take" in both.output

    assert _run("ingest", "records", str(_stitching_records(tmp_path))).exit_code == 0
    store = EmbeddedStore(data_dir / "paperkg.sqlite3")
    store.acquire_lock(LOCK_NAME, "other-host:4242:0000beef:list-0123abcd", ttl_seconds=60)
    store.close()
    locked = CliRunner().invoke(main, ["ingest", "reextract"])
    assert locked.exit_code == 75 and "another list ingest holds the lock" in locked.output


_SLOW_REEXTRACT = """
import sys, time
import ingest.pipeline as pipeline
from ingest.extract import Extractor
from tests.embedders import HashEmbedder

class Slow:
    def __init__(self, inner):
        self.inner, self.taxonomy, self.signature = inner, inner.taxonomy, inner.signature

    def extract_many(self, items, batch_size=256):
        items = list(items)
        time.sleep(0.05 * len(items))  # slow enough to be killed mid-run
        return self.inner.extract_many(items, batch_size=batch_size)

pipeline._load_extractor = lambda taxonomy: Slow(Extractor(taxonomy))
pipeline._load_embedder = lambda: HashEmbedder()
from kg.cli import main
main(sys.argv[1:])
"""


def _stitching_file(path: Path, n: int) -> Path:
    """`n` records, every third naming model stitching."""
    with path.open("w", encoding="utf-8") as handle:
        for i in range(n):
            method = "model stitching" if i % 3 == 0 else "activation patching"
            abstract = f"We study GPT-2 small with {method}. Paper number {i}."
            handle.write(json.dumps({"id": f"gen-{i:04d}", "title": f"Generated paper {i}",
                                     "abstract": abstract}) + "\n")
    return path


def _edited_store(path: Path, records: Path, taxonomy: Taxonomy, extractor: Any, edited: Path) -> Any:
    """A store at `path` holding `records` ingested with `extractor`, then given the edited taxonomy's
    nodes (as `paperkg init` does)."""
    from kg.taxonomy import load_taxonomy

    path.parent.mkdir(parents=True, exist_ok=True)
    store = open_ready_store(path, taxonomy)
    ingest_records_file(store, records, embedder=HashEmbedder(), extractor=extractor, progress=False)
    store.load_taxonomy(load_taxonomy(edited).nodes)
    return store


def test_kill_9_mid_reextract_then_rerun_equals_a_clean_reextract(
    tmp_path: Path, taxonomy: Taxonomy, extractor: Any
) -> None:
    from ingest.extract import Extractor
    from ingest.reextract import run_reextract
    from kg.taxonomy import load_taxonomy

    from .test_reextract import edited_taxonomy

    records, edited = _stitching_file(tmp_path / "gen.jsonl", 120), edited_taxonomy(tmp_path)
    killed_dir, clean_dir = tmp_path / "killed", tmp_path / "clean"
    db = killed_dir / "paperkg.sqlite3"
    store = _edited_store(db, records, taxonomy, extractor, edited)
    old_hashes = {p.extraction_hash for p in store.get_papers(store.paper_ids())}
    store.close()

    def rewritten() -> int:
        probe = EmbeddedStore(db, read_only=True)
        try:
            return sum(p.extraction_hash not in old_hashes for p in probe.get_papers(probe.paper_ids()))
        finally:
            probe.close()

    env = dict(os.environ, PAPERKG_DATA_DIR=str(killed_dir), PAPERKG_STORE="embedded",
               PAPERKG_TAXONOMY=str(edited))
    env.pop("PAPERKG_NEO4J_URI", None)
    argv = [sys.executable, "-c", _SLOW_REEXTRACT, "ingest", "reextract", "--batch-size", "20"]
    proc = subprocess.Popen(argv, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline and rewritten() < 40:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    partial = rewritten()
    assert 40 <= partial < 120 and partial % 20 == 0  # whole batches, each one write

    rerun = subprocess.run(argv, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.stdout.startswith(f"reextract: 120 papers -> {120 - partial} updated, {partial} unchanged; ")

    clean = _edited_store(clean_dir / "paperkg.sqlite3", records, taxonomy, extractor, edited)
    new_taxonomy = load_taxonomy(edited)
    run_reextract(clean, embedder=HashEmbedder(), extractor=Extractor(new_taxonomy), taxonomy=new_taxonomy,
                  progress=False, batch_size=20)
    killed = EmbeddedStore(db)
    try:
        assert snapshot(killed) == snapshot(clean)
        assert len(_stitching_uses(killed_dir)) == 40
        runs = [r for r in killed.runs() if r.source == "reextract"]
        assert [r.status for r in runs] == ["succeeded", "failed"]
        assert "its process ended (killed or crashed)" in (runs[1].message or "")
    finally:
        killed.close()
        clean.close()


# -- ids only the store holds (a node taken out of the file) --------------------------------------

def _without_causal_scrubbing(tmp_path: Path) -> Path:
    """A copy of the shipped taxonomy with causal_scrubbing taken out (its node, edge, list label and
    summary)."""
    from kg.config import PACKAGED_TAXONOMY

    text = PACKAGED_TAXONOMY.read_text(encoding="utf-8")
    node = ("      - id: causal_scrubbing\n        label: Causal Scrubbing\n"
            "        aliases: [causal scrubbing, behavior-preserving resampling ablations,\n"
            "                  scrubbed loss]\n")
    label = '    "Causal Scrubbing": causal_scrubbing\n'
    summary = re.search(r"\n  causal_scrubbing: >-\n(?:    .*\n)+", text)
    assert summary is not None
    assert text.count(node) == text.count(label) == text.count(", causal_scrubbing]") == 1
    path = tmp_path / "mi-no-scrubbing.yaml"
    path.write_text(text.replace(node, "").replace(label, "").replace(", causal_scrubbing]", "]")
                    .replace(summary.group(0), "\n"), encoding="utf-8")
    return path


def _technique_edges(data_dir: Path) -> set[tuple[str, str, str]]:
    """(paper id, technique id, source) of every stored USES edge, read from the store file."""
    store = EmbeddedStore(data_dir / "paperkg.sqlite3", read_only=True)
    try:
        details = [store.get_paper(pid) for pid in store.paper_ids()]
        return {(d.paper.id, t.technique_id, t.source) for d in details if d is not None
                for t in d.techniques}
    finally:
        store.close()


def test_an_id_only_the_store_holds_is_an_unknown_label_not_a_list_tag(
    data_dir: Path, shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    real_extraction: HashEmbedder,
) -> None:
    """QA (taxonomy maintainer): after causal_scrubbing was taken out of the file (init, reextract), a records
    row naming it still wrote a list edge to it with no unknown-label report, and `ingest list` suggested
    it ("did you mean 'causal_scrubbing'?"): ingest checked ids against the store's nodes, which keep the
    removed one (init without --prune removes no node), not against PAPERKG_TAXONOMY."""
    assert _run("init").exit_code == 0
    monkeypatch.setenv("PAPERKG_TAXONOMY", str(_without_causal_scrubbing(tmp_path)))
    init = _run("init")
    assert init.exit_code == 0 and "(causal_scrubbing): it stays in the store" in init.stderr
    rows = tmp_path / "rows.jsonl"
    rows.write_text(json.dumps({"id": "scrub-1", "title": "A Circuit, Tested", "list_rows": [
        {"section": "Circuits", "technique_ids": ["causal_scrubbing", "probing"]}]}) + "\n", encoding="utf-8")
    records = _run("ingest", "records", str(rows), "--json")
    assert records.exit_code == 0, records.output
    [unknown] = json.loads(records.stdout)["unknown_labels"]
    assert (unknown["column"], unknown["label"]) == ("techniques", "causal_scrubbing")
    assert unknown["suggestion"] != "causal_scrubbing"
    assert {(t, source) for pid, t, source in _technique_edges(data_dir) if pid == "scrub-1"} == {
        ("probing", "list")}

    seed = str(shared_data / "awesome-list-seed.md")
    listed = _run("ingest", "list", "--source", seed, "--no-arxiv", "--json")
    assert listed.exit_code == 0, listed.output
    hints = {u["label"]: u["suggestion"] for u in json.loads(listed.stdout)["unknown_labels"]}
    assert "Causal Scrubbing" in hints and hints["Causal Scrubbing"] != "causal_scrubbing"
    text = _run("ingest", "list", "--source", seed, "--no-arxiv")
    assert text.exit_code == 0 and "'causal_scrubbing'" not in text.stdout
    assert not [edge for edge in _technique_edges(data_dir) if edge[1] == "causal_scrubbing"]


def test_dev_arxiv_server_sends_retry_after(shared_data: Path) -> None:
    """Design QA: Retry-After could not be tried end to end; --retry-after goes with 503 and 429 failures."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "kg.cli", "dev", "arxiv-server", "--records",
         str(shared_data / "seed_papers.jsonl"), "--fail", "429", "--fail", "503", "--retry-after", "30"],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().rsplit(" at ", 1)[1].strip()
        proc.stdout.readline()  # the PAPERKG_ARXIV_URL hint
        announced = proc.stdout.readline().strip()
        assert announced == "failing on demand: 429 x1, 503 x1; 503 and 429 send Retry-After: 30"
        answers = [requests.get(url, params={"id_list": "2211.00593"}, timeout=5) for _ in range(3)]
        assert [(a.status_code, a.headers.get("Retry-After")) for a in answers] == [
            (429, "30"), (503, "30"), (200, None)]
    finally:
        stop_when_blocked(proc, "nanosleep")  # Ctrl-C once it sleeps: see tests/processes.py


@pytest.mark.parametrize("value", ["", "30\nX-Injected: 1"])
def test_dev_arxiv_server_refuses_a_bad_retry_after(shared_data: Path, value: str) -> None:
    records = str(shared_data / "seed_papers.jsonl")
    result = CliRunner().invoke(main, ["dev", "arxiv-server", "--records", records, "--retry-after", value])
    assert result.exit_code == 2 and "Retry-After value must be non-empty printable ASCII" in result.output
    assert "local arXiv API" not in result.output  # refused before serving


# -- a standard stream closed (review of "CLI stops and output") -----------------------------------
def _closing(redirect: str, *argv: str) -> list[str]:
    """`argv` started with a standard stream redirected by a shell: closed by `2>&-` or `>&-` (Python then
    has sys.stderr or sys.stdout None), or `>/dev/full`."""
    return ["bash", "-c", f'exec "$@" {redirect}', "bash", *argv]


def test_ctrl_c_with_stderr_closed_exits_130(tmp_path: Path) -> None:
    """Review: with stderr closed (`2>&-`) Ctrl-C ended in an AttributeError and exit status 1: the stop
    line asked whether stderr was a terminal, and sys.stderr is None."""
    fifo = tmp_path / "records.jsonl"
    os.mkfifo(fifo)
    env = dict(os.environ, PAPERKG_DATA_DIR=str(tmp_path / "data"), PAPERKG_STORE="embedded")
    env.pop("PAPERKG_NEO4J_URI", None)
    proc = subprocess.Popen(_closing("2>&-", sys.executable, "-m", "kg.cli", "ingest", "records", str(fifo)),
                            cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        writer = open_fifo_writer(fifo, proc)
        try:
            out, _ = stop_when_blocked(proc, "pipe_read", "pipe_wait", group=True)  # see tests/processes.py
        finally:
            os.close(writer)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert (proc.returncode, out) == (130, "")


def test_an_ingest_with_stderr_closed_runs(tmp_path: Path, shared_data: Path) -> None:
    """Review: with stderr closed (`2>&-`) every ingest failed ("'NoneType' object has no attribute
    'isatty'", recorded as its run's error): whether to draw a progress bar asked sys.stderr."""
    records = tmp_path / "records.jsonl"
    lines = (shared_data / "seed_papers.jsonl").read_text(encoding="utf-8").splitlines()[:2]
    records.write_text("\n".join(lines) + "\n", encoding="utf-8")
    env = dict(os.environ, PAPERKG_DATA_DIR=str(tmp_path / "data"), PAPERKG_STORE="embedded")
    env.pop("PAPERKG_NEO4J_URI", None)
    done = subprocess.run(_closing("2>&-", sys.executable, "-m", "kg.cli", "ingest", "records", str(records)),
                          cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, text=True, timeout=600)
    assert done.returncode == 0, done.stdout
    store = EmbeddedStore(tmp_path / "data" / "paperkg.sqlite3", read_only=True)
    try:
        assert [(r.status, r.counts["new"]) for r in store.runs()] == [("succeeded", 2)]
    finally:
        store.close()


# `python -c STOP_AFTER_SUCCESS SIGNAL paperkg-args...`: the command, stopped by SIGNAL right after it
# released the store lock, its run recorded as succeeded (also used by test_weekly_cli).
STOP_AFTER_SUCCESS = """
import signal, sys
import ingest.pipeline as pipeline
from kg.embedded import EmbeddedStore
from tests.embedders import HashEmbedder

release = EmbeddedStore.release_lock

def release_then_stop(self, name, owner):
    release(self, name, owner)
    # The run is recorded as succeeded, the lock released; the command's with-block is still unwinding.
    signal.raise_signal(getattr(signal, sys.argv[1]))

EmbeddedStore.release_lock = release_then_stop
pipeline._load_embedder = lambda: HashEmbedder()
from kg.cli import main
main(sys.argv[2:])
"""


@pytest.mark.parametrize(("stop", "status", "said"), [
    (signal.SIGTERM, 143, "stopped by SIGTERM"),
    (signal.SIGINT, 130, "interrupted"),
])
def test_a_stop_after_the_run_succeeded_does_not_say_it_failed(
    tmp_path: Path, stop: signal.Signals, status: int, said: str
) -> None:
    """Review: a stop once the run was recorded as succeeded, while the lock was released or the store
    closed, said "the run is recorded as failed; run the command again". The process was stopped (its
    status says so), but the line must not lie."""
    records = _records_file(tmp_path / "gen.jsonl", 3)
    data = tmp_path / "data"
    env = dict(os.environ, PAPERKG_DATA_DIR=str(data), PAPERKG_STORE="embedded")
    env.pop("PAPERKG_NEO4J_URI", None)
    done = subprocess.run([sys.executable, "-c", STOP_AFTER_SUCCESS, stop.name, "ingest", "records",
                           str(records)], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == status, done.stderr
    assert done.stderr.splitlines()[-1] == f"{said} after the run finished (it succeeded)"
    assert "recorded as failed" not in done.stderr and "Traceback" not in done.stderr
    store = EmbeddedStore(data / "paperkg.sqlite3")
    try:
        (run,) = store.runs()
        assert (run.status, run.counts["new"]) == ("succeeded", 3)
        store.acquire_lock(LOCK_NAME, "next-ingest")  # released before the stop
    finally:
        store.close()


@pytest.mark.parametrize("unwritable", [">&-", ">/dev/full"])
def test_dev_arxiv_server_with_stdout_unwritable_serves(shared_data: Path, unwritable: str) -> None:
    """Review: `paperkg dev arxiv-server >&-` ended at once in "error writing output: Bad file descriptor"
    (its banner): a server must not refuse to start over an informational line (daemon setups close
    stdout). Nor end in "Exception ignored" when what it could not write is flushed at exit."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    argv = [sys.executable, "-m", "kg.cli", "dev", "arxiv-server", "--records",
            str(shared_data / "seed_papers.jsonl"), "--port", str(port)]
    proc = subprocess.Popen(_closing(unwritable, *argv), cwd=REPO_ROOT, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        response = None
        while response is None and proc.poll() is None and time.monotonic() < deadline:
            try:
                response = requests.get(f"http://127.0.0.1:{port}/api/query",
                                        params={"id_list": "2211.00593"}, timeout=5)
            except requests.ConnectionError:
                time.sleep(0.05)
        assert response is not None, f"the server never answered (exit status {proc.poll()})"
        assert response.status_code == 200 and b"Interpretability in the Wild" in response.content
    finally:
        _, err = stop_when_blocked(proc, "nanosleep", timeout=30)  # Ctrl-C: its own way to stop
    # Served all the same; the dropped banner is said once on stderr, no traceback.
    assert proc.returncode == 0, err
    assert err.splitlines()[-1].endswith("stdout cannot be written (" + (
        "Bad file descriptor" if unwritable == ">&-" else "No space left on device")
        + "): its informational lines are dropped"), err
    assert "Traceback" not in err
