"""`paperkg export papers`: every paper as the API's JSON objects (JSON Lines) or flat CSV rows, from a real
SQLite store written by the real pipeline, checked against the API's own answers on the same store."""

from __future__ import annotations

import csv
import io
import json
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner, Result
from flask.testing import FlaskClient

import ingest.export_papers as export_papers
from api.app import create_app
from api.bibtex import citation_key
from ingest.awesome_list import parse_list
from ingest.export_papers import (
    CSV_COLUMNS,
    ExportStats,
    OutputExists,
    csv_cells,
    export_ids,
    export_lines,
    resolve_ids,
    spreadsheet_safe,
    spreadsheet_value,
    unique_key,
    write_atomically,
)
from ingest.extract import Extractor
from ingest.pipeline import run_ingest
from ingest.records import Record
from kg.cli import shown_arg
from kg.config import load_config
from kg.embedded import EmbeddedStore
from kg.entities import Paper, PaperBundle, TechniqueUse
from kg.store import StoreError
from kg.taxonomy import Taxonomy
from tests.api.test_bibtex import parse_bib
from tests.embedders import HashEmbedder
from tests.seed_store import taxonomy_store

DATA = Path(__file__).parent / "data" / "relevance_set.jsonl"

LISTED = """## Paper Collection
### Findings and Applications
#### Applications of MI
|  Paper  |      Techniques    |      Evaluation    |      TL;DR    |
| :----- | :--------------: | :--------------: | :--------------: |
| [Refusal Heads in Chat Models](https://arxiv.org/pdf/2611.99001) | Activation Patching | N/A | Listed. |
"""

# Written by the pipeline: no control character, so Record keeps it as it is (newline, quotes, a formula).
PIPELINE_HOSTILE = "=cmd|' /C calc'!A0\nSecond \"line\", with a comma; and a semicolon"
# Written straight to the store (as an older version or another tool could): what Record would clean.
RAW_HOSTILE = ("=HYPERLINK(\"http://evil.example\",\"click\")\r\n\u202eevil\u202c \"q\"\x1b[2J, "
               "@SUM(1+1) -2+3 \u2066isolated\u2069 'apostrophe")


def _records() -> list[Record]:
    rows = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]
    out = [Record(source="arxiv", source_id=f"2611.{80000 + i}", title=row["title"], abstract=row["abstract"],
                  arxiv_id=f"2611.{80000 + i}", published="2026-11-20", categories=["cs.CL"],
                  authors=["Ada Lovelace", "Grace Hopper"])
           for i, row in enumerate(r for r in rows if r["label"] == 1)][:8]
    out.append(Record(source="records", source_id="hostile-pipeline", explicit_id="hostile-pipeline",
                      title=PIPELINE_HOSTILE, authors=["-Minus Author", "@At Author", "+Plus", "'Quote"],
                      abstract="We apply activation patching to attention heads in GPT-2 and find a circuit.",
                      venue="=1+1"))
    return out


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory,
             taxonomy: Taxonomy) -> Iterator[tuple[EmbeddedStore, str]]:
    """A store (in its own data directory) with one paper before `since` and the rest after it: arXiv
    papers, a listed paper with a list row, a pipeline paper with a hostile title and a raw one."""
    store = taxonomy_store(tmp_path_factory.mktemp("export-papers") / "paperkg.sqlite3")
    extractor = Extractor(taxonomy)
    embedder = HashEmbedder()
    old = Record(source="arxiv", source_id="2601.00001", title="An Older Paper on Logit Lens Decoding",
                 abstract="We apply the logit lens to GPT-2.", arxiv_id="2601.00001")
    run_ingest(store, [old], source="arxiv", embedder=embedder, extractor=extractor, progress=False)
    time.sleep(0.01)
    since = datetime.now(UTC).isoformat()
    listed = parse_list(LISTED, taxonomy).papers
    run_ingest(store, [*_records(), *listed], source="arxiv", embedder=embedder, extractor=extractor,
               progress=False)
    vector = np.asarray(embedder.encode_query(RAW_HOSTILE), dtype=np.float32)
    store.upsert_papers([PaperBundle(
        Paper(id="raw-hostile", title=RAW_HOSTILE, abstract="We probe.", authors=["=Evil; Author", "Bob"],
              sources=["records"], embedding=vector, embedding_model=embedder.model_name),
        techniques=[TechniqueUse("probing", "extracted")], aliases=["raw-hostile-record"])])
    yield store, since
    store.close()


@pytest.fixture
def data_dir_of(exported: tuple[EmbeddedStore, str], monkeypatch: pytest.MonkeyPatch) -> Path:
    """PAPERKG_DATA_DIR set to the exported store's directory (the path the CLI opens)."""
    path = exported[0].path.parent
    monkeypatch.setenv("PAPERKG_DATA_DIR", str(path))
    monkeypatch.setenv("PAPERKG_STORE", "embedded")
    monkeypatch.delenv("PAPERKG_NEO4J_URI", raising=False)
    return path


def _client(store: EmbeddedStore, tmp: Path) -> FlaskClient:
    config = {"TESTING": True, "PAPERKG_CONFIG": load_config(env={"PAPERKG_DATA_DIR": str(tmp)}),
              "STORE": store}
    return create_app(config).test_client()


def _export(*args: str) -> Result:
    from kg.cli import main

    return CliRunner().invoke(main, ["export", "papers", *args])


def _jsonl(result: Result) -> list[dict[str, Any]]:
    assert result.exit_code == 0, (result.output, result.exception)
    return [json.loads(line) for line in result.stdout.splitlines()]


def _text(result: Result) -> str:
    """stdout as written (click's Result.stdout turns CR LF into LF, inside quoted cells too)."""
    assert result.exit_code == 0, (result.output, result.exception)
    return result.stdout_bytes.decode("utf-8")


def _csv_rows(text: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    assert tuple(reader.fieldnames or ()) == CSV_COLUMNS
    return list(reader)


def test_jsonl_lines_are_the_api_objects_oldest_first(
    exported: tuple[EmbeddedStore, str], data_dir_of: Path, tmp_path: Path
) -> None:
    store, _since = exported
    result = _export()
    objects = _jsonl(result)
    assert result.stderr == ""  # no progress bar off a terminal, nothing else to say
    assert sorted(o["id"] for o in objects) == sorted(store.paper_ids())
    oldest_first = sorted(objects, key=lambda o: (o["first_seen"], o["id"]))
    assert [o["id"] for o in objects] == [o["id"] for o in oldest_first]
    client = _client(store, tmp_path)
    for obj in objects:
        answer = client.get(f"/api/papers/{obj['id']}")
        assert answer.status_code == 200
        assert obj == answer.get_json()
    # ASCII, as the API writes JSON: a stored bidi override or escape is \\uXXXX, one paper a line.
    assert result.stdout.isascii() and len(result.stdout.splitlines()) == len(objects)
    assert any(o["list_rows"] for o in objects) and any(o["findings"] for o in objects)
    # An id a merged record had leads to the paper: an older export's rows can be joined to this one's.
    moved = {o["id"]: o["former_ids"] for o in objects if o["former_ids"]}
    assert moved == {"raw-hostile": ["raw-hostile-record"]}
    assert _export().stdout == result.stdout  # the same store, the same bytes


def test_jsonl_equals_the_api_on_the_seed_store(seed_store: EmbeddedStore, monkeypatch: pytest.MonkeyPatch,
                                                tmp_path: Path) -> None:
    """The seed corpus (real model, real extraction): every line is the API's answer for its paper."""
    monkeypatch.setenv("PAPERKG_DATA_DIR", str(seed_store.path.parent))
    objects = _jsonl(_export())
    assert len(objects) == len(seed_store.paper_ids()) >= 30
    client = _client(seed_store, tmp_path)
    assert all(client.get(f"/api/papers/{o['id']}").get_json() == o for o in objects)


def test_csv_parses_back_to_the_same_papers(exported: tuple[EmbeddedStore, str], data_dir_of: Path) -> None:
    objects = _jsonl(_export())
    result = _export("--format", "csv")
    assert result.exit_code == 0 and result.stderr == ""
    assert result.stdout_bytes.startswith(b"id,arxiv_id,doi,title,authors,")
    assert b"\r\n" in result.stdout_bytes  # RFC 4180 line ends
    rows = _csv_rows(_text(result))
    assert [r["id"] for r in rows] == [o["id"] for o in objects]
    by_id = {o["id"]: o for o in objects}
    for row in rows:
        obj = by_id[spreadsheet_value(row["id"])]
        values = {k: spreadsheet_value(v) for k, v in row.items()}
        assert values["title"] == obj["title"]
        assert values["techniques"].split("; ") == [t["id"] for t in obj["techniques"]] or (
            values["techniques"] == "" and not obj["techniques"])
        assert values["evaluations"] == "; ".join(e["id"] for e in obj["evaluations"])
        assert values["withdrawn"] == ("true" if obj["withdrawn"] else "false")
        assert values["year"] == ("" if obj["year"] is None else str(obj["year"]))
        assert values["first_seen"] == obj["first_seen"] and values["url"] == (obj["url"] or "")
        assert [values[c] for c in CSV_COLUMNS] == csv_cells(obj)
        assert values["abstract"] == (obj["abstract"] or "")
        assert values["tldr"].splitlines() == list(dict.fromkeys(
            r["tldr"] for r in obj["list_rows"] if r["tldr"]))
    listed = next(r for r in rows if r["list_sections"])
    assert "applications-of-mi" in listed["list_sections"] and listed["topics"]
    # The abstract and the list's TL;DR, for a reading list in a spreadsheet (researcher QA).
    assert listed["tldr"] and sum(bool(r["abstract"]) for r in rows) >= 5
    assert sum(bool(r["techniques"]) for r in rows) >= 5
    # QA: a spreadsheet user joins an older export's slug rows by former_ids too, not only JSONL's.
    moved = {r["id"]: r["former_ids"] for r in rows if r["former_ids"]}
    assert moved == {"raw-hostile": "raw-hostile-record"}


def test_hostile_text_round_trips_and_no_cell_is_a_formula(
    exported: tuple[EmbeddedStore, str], data_dir_of: Path
) -> None:
    """Newlines, CR LF, quotes, commas, a DDE payload, bidi overrides and an escape sequence in a title."""
    store, _since = exported
    stored = {pid: store.get_paper(pid) for pid in ("hostile-pipeline", "raw-hostile")}
    assert stored["hostile-pipeline"].paper.title == PIPELINE_HOSTILE  # the pipeline kept it as written
    assert stored["raw-hostile"].paper.title == RAW_HOSTILE
    rows = {spreadsheet_value(r["id"]): r for r in _csv_rows(_text(_export("--format", "csv")))}
    assert len(rows) == len(store.paper_ids())  # a newline in a title ended no row
    for pid, detail in stored.items():
        assert detail is not None
        row = rows[pid]
        assert row["title"] == "'" + detail.paper.title  # starts with "=": text in a spreadsheet
        assert spreadsheet_value(row["title"]) == detail.paper.title
    assert rows["hostile-pipeline"]["venue"] == "'=1+1"
    assert spreadsheet_value(rows["hostile-pipeline"]["authors"]).split("; ") == [
        "-Minus Author", "@At Author", "+Plus", "'Quote"]
    assert rows["hostile-pipeline"]["authors"].startswith("'-Minus")
    for row in rows.values():
        for cell in row.values():
            assert not cell or cell[0] not in "=+-@\t\r\n\x00", cell
    lines = {o["id"]: o for o in _jsonl(_export())}
    assert lines["raw-hostile"]["title"] == RAW_HOSTILE
    assert lines["hostile-pipeline"]["title"] == PIPELINE_HOSTILE


@pytest.mark.parametrize(("cell", "written"), [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@SUM(A1)", "'@SUM(A1)"),
    (" =1+1", "' =1+1"), ("\u200b=1", "'\u200b=1"), ("\u202e=1", "'\u202e=1"), ("\uff1d1+1", "'\uff1d1+1"),
    ("\tx", "'\tx"), ("\rx", "'\rx"), ("\nx", "'\nx"), ("'quoted'", "''quoted'"),
    ("Plain title", "Plain title"), ("", ""), ("a=b", "a=b"), ("2024-01-31", "2024-01-31"),
])
def test_spreadsheet_safe_escapes_formulas_and_is_undone_exactly(cell: str, written: str) -> None:
    assert spreadsheet_safe(cell) == written
    assert spreadsheet_value(spreadsheet_safe(cell)) == cell


def test_since_selects_the_papers_api_new_lists(exported: tuple[EmbeddedStore, str], data_dir_of: Path,
                                                tmp_path: Path) -> None:
    store, since = exported
    ids = [o["id"] for o in _jsonl(_export("--since", since))]
    assert "2601.00001" not in ids and len(ids) == len(store.paper_ids()) - 1
    new = _client(store, tmp_path).get("/api/new", query_string={"since": since, "limit": 100}).get_json()
    assert sorted(ids) == sorted(r["id"] for r in new["results"]) and new["total"] == len(ids)
    rows = _csv_rows(_text(_export("--since", since, "--format", "csv")))
    assert [spreadsheet_value(r["id"]) for r in rows] == ids
    assert [o["id"] for o in _jsonl(_export("--since", "2000-01-01"))] == export_ids(store)
    later = _export("--since", "9999-12-31")
    assert later.exit_code == 0 and later.stdout == ""
    assert later.stderr == "no papers first seen since 9999-12-31\n"
    bad = _export("--since", "yesterday")
    assert bad.exit_code == 2 and "not an ISO date or timestamp: 'yesterday'" in bad.stderr


def test_the_export_streams_paper_by_paper(exported: tuple[EmbeddedStore, str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Details are read as they are written (one paper per chunk here), ids and first_seen by pages."""
    store, _since = exported
    calls: list[tuple[str, int]] = []
    real_get_paper, real_get_papers = store.get_paper, store.get_papers
    monkeypatch.setattr(store, "get_paper", lambda pid: calls.append(("paper", 1)) or real_get_paper(pid))
    monkeypatch.setattr(store, "get_papers",
                        lambda ids: calls.append(("papers", len(ids))) or real_get_papers(ids))
    monkeypatch.setattr(export_papers, "CHUNK_CHARS", 1)
    paged = export_ids(store, page_size=3)
    assert max(n for kind, n in calls if kind == "papers") == 3
    assert paged == export_ids(store)
    calls.clear()
    chunks = export_lines(store, fmt="jsonl")
    first = next(chunks)
    assert first.count("\n") == 1 and [k for k, _n in calls].count("paper") == 1
    rest = list(chunks)
    assert len(rest) == len(store.paper_ids()) - 1 and [k for k, _n in calls].count("paper") == len(rest) + 1


def test_a_paper_removed_while_the_export_runs_is_left_out_and_counted(
    tmp_path: Path, taxonomy: Taxonomy, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = taxonomy_store(tmp_path / "paperkg.sqlite3")
    try:
        for i in range(3):
            store.upsert_papers([PaperBundle(Paper(id=f"p{i}", title=f"Probing paper {i}"))])
        monkeypatch.setattr(export_papers, "CHUNK_CHARS", 1)
        stats = ExportStats()
        chunks = export_lines(store, stats=stats)
        written = [json.loads(next(chunks))["id"]]
        assert store.delete_paper("p2")  # an ingest merging it meanwhile
        written += [json.loads(c)["id"] for c in chunks]
    finally:
        store.close()
    assert written == ["p0", "p1"]
    assert (stats.chosen, stats.written, stats.gone) == (3, 2, ["p2"])


def test_output_is_written_atomically_and_kept_unless_forced(
    exported: tuple[EmbeddedStore, str], data_dir_of: Path, tmp_path: Path
) -> None:
    target = tmp_path / "papers.csv"
    made = _export("--format", "csv", "--output", str(target))
    assert made.exit_code == 0, made.output
    assert made.stdout == f"exported {len(exported[0].paper_ids())} papers to {target}\n"
    assert made.stderr == ""
    assert target.read_bytes() == _export("--format", "csv").stdout_bytes
    assert os.listdir(tmp_path) == ["papers.csv"]  # no temporary file left
    assert oct(target.stat().st_mode & 0o777) == oct(0o666 & ~_umask())  # a new file's mode, not 0600

    target.write_text("mine", encoding="utf-8")
    refused = _export("--output", str(target))
    assert refused.exit_code == 2 and f"{target} exists (--force replaces it)" in refused.stderr
    assert target.read_text(encoding="utf-8") == "mine"
    forced = _export("--output", str(target), "--force")
    assert forced.exit_code == 0 and target.read_bytes() == _export().stdout_bytes
    assert sorted(os.listdir(tmp_path)) == ["papers.csv"]

    assert _export("--force").exit_code == 2  # --force without --output
    link = tmp_path / "link.jsonl"
    link.symlink_to(target)
    assert "is not a regular file" in _export("--output", str(link), "--force").stderr
    store_file = data_dir_of / "paperkg.sqlite3"
    hit = _export("--output", str(store_file), "--force")
    assert hit.exit_code == 2 and "FILE is the store itself" in hit.stderr
    missing = tmp_path / "no" / "such" / "dir.jsonl"
    failed = _export("--output", str(missing))
    assert failed.exit_code == 1
    assert failed.stderr == f"Error: cannot write {shown_arg(str(missing))}: No such file or directory\n"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_a_failed_export_leaves_the_existing_file_and_no_temporary_file(
    exported: tuple[EmbeddedStore, str], data_dir_of: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "papers.jsonl"
    target.write_text("last month's export\n", encoding="utf-8")
    real = EmbeddedStore.get_paper
    seen: list[str] = []

    def failing(self: EmbeddedStore, paper_id: str) -> Any:
        seen.append(paper_id)
        if len(seen) == 3:
            raise StoreError("the store's file is damaged (test)")
        return real(self, paper_id)

    monkeypatch.setattr(EmbeddedStore, "get_paper", failing)
    monkeypatch.setattr(export_papers, "CHUNK_CHARS", 1)  # two papers are on disk when it fails
    result = _export("--output", str(target), "--force")
    assert result.exit_code == 1 and result.stderr == "Error: the store's file is damaged (test)\n"
    assert target.read_text(encoding="utf-8") == "last month's export\n"
    assert os.listdir(tmp_path) == ["papers.jsonl"]


def test_a_file_created_meanwhile_is_not_replaced(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"

    def chunks() -> Iterator[str]:
        yield "one\n"
        target.write_text("someone else's", encoding="utf-8")
        yield "two\n"

    with pytest.raises(OutputExists):
        write_atomically(target, chunks())
    assert target.read_text(encoding="utf-8") == "someone else's" and os.listdir(tmp_path) == ["out.jsonl"]
    write_atomically(target, chunks(), replace=True)
    assert target.read_text(encoding="utf-8") == "one\ntwo\n"


def test_no_store_is_one_line_and_status_1_as_for_other_reading_commands(data_dir: Path) -> None:
    from kg.cli import main

    result = _export("--output", str(data_dir / "out.jsonl"))
    stats = CliRunner().invoke(main, ["stats"])
    assert result.exit_code == stats.exit_code == 1
    assert result.stderr == stats.stderr and result.stderr.count("\n") == 1
    assert result.stderr.startswith("Error: no paperkg store in ")
    assert result.stdout == "" and os.listdir(data_dir) == []  # nothing created, no store, no file


def test_an_empty_store_exports_nothing_or_a_header(data_dir: Path) -> None:
    taxonomy_store(data_dir / "paperkg.sqlite3").close()
    empty = _export()
    assert empty.exit_code == 0 and empty.stdout == "" and empty.stderr == "the store holds no papers\n"
    header = _export("--format", "csv")
    assert header.stdout_bytes == (",".join(CSV_COLUMNS) + "\r\n").encode()


# -- BibTeX and --id -------------------------------------------------------------------------------
def _bib_keys(text: str) -> list[str]:
    return [key for _kind, key, _fields in parse_bib(text)]


def test_bibtex_has_the_api_entry_of_every_paper_oldest_first(
    exported: tuple[EmbeddedStore, str], data_dir_of: Path, tmp_path: Path
) -> None:
    store, _since = exported
    result = _export("--format", "bibtex")
    text = _text(result)
    assert result.stderr == ""
    entries = parse_bib(text)  # one brace-balanced entry a paper, hostile titles and all
    ids = [o["id"] for o in _jsonl(_export())]
    assert len(entries) == len(ids) == len(store.paper_ids())
    client = _client(store, tmp_path)
    for paper_id, entry_text in zip(ids, text.split("\n\n"), strict=True):
        api = client.get(f"/api/papers/{paper_id}/bibtex").get_data(as_text=True)
        assert entry_text.strip() == api.strip()  # the same entry, in the same (oldest first) order
    assert len(set(_bib_keys(text))) == len(ids)
    target = tmp_path / "syllabus.bib"
    made = _export("--format", "bibtex", "--output", str(target))
    assert made.exit_code == 0 and made.stdout == f"exported {len(ids)} papers to {target}\n"
    assert target.read_bytes() == result.stdout_bytes
    since = _text(_export("--format", "bibtex", "--since", _since))
    assert len(parse_bib(since)) == len(ids) - 1 and "2601.00001" not in since


def test_bibtex_keys_are_unique_in_one_file(data_dir: Path) -> None:
    """Keys repeated across papers (the same first author, year and title word) get a, b, ... in the
    export, oldest first; a suffixed key that is another paper's own key is skipped."""
    store = taxonomy_store(data_dir / "paperkg.sqlite3")
    try:
        papers = [Paper(id="p0", title="Probing heads", authors=["Kevin Wang"], year=2024),
                  Paper(id="p1", title="Probinga is a word here", authors=["Kai Wang"], year=2024),
                  Paper(id="p2", title="Probing layers", authors=["Kevin Wang"], year=2024),
                  Paper(id="p3", title="Probing neurons", authors=["Kevin Wang"], year=2024),
                  Paper(id="p4", title="Unrelated", authors=["Ada Lovelace"], year=1843)]
        for paper in papers:  # one at a time: first_seen in this order
            store.upsert_papers([PaperBundle(paper)])
    finally:
        store.close()
    assert [citation_key(p) for p in papers] == ["wang2024probing", "wang2024probinga", "wang2024probing",
                                                 "wang2024probing", "lovelace1843unrelated"]
    text = _text(_export("--format", "bibtex"))
    assert _bib_keys(text) == ["wang2024probing", "wang2024probinga", "wang2024probingb", "wang2024probingc",
                               "lovelace1843unrelated"]
    # A paper whose own key is a suffixed one taken already gets a suffix of its own; after z, aa.
    used: set[str] = set()
    assert [unique_key(k, used) for k in ["x", "x", "xa", "x"]] == ["x", "xa", "xaa", "xb"]
    used = set()
    keys = [unique_key("k", used) for _ in range(29)]
    assert keys[:3] == ["k", "ka", "kb"] and keys[26:] == ["kz", "kaa", "kab"] and len(set(keys)) == 29


def test_id_limits_every_format_to_those_papers_oldest_first(
    exported: tuple[EmbeddedStore, str], data_dir_of: Path
) -> None:
    store, since = exported
    every = [o["id"] for o in _jsonl(_export())]
    wanted = [every[5], every[0], every[2]]
    # Given in any order, twice, or as an arXiv id with a version or an abs URL: each once, oldest first.
    args = ["--id", wanted[0], "--id", wanted[1], "--id", f"https://arxiv.org/abs/{wanted[2]}v2",
            "--id", wanted[0]]
    assert every[0] == "2601.00001" and every[2].startswith("2611.")
    chosen = [every[0], every[2], every[5]]
    assert [o["id"] for o in _jsonl(_export(*args))] == chosen
    rows = _csv_rows(_text(_export("--format", "csv", *args)))
    assert [spreadsheet_value(r["id"]) for r in rows] == chosen
    entries = parse_bib(_text(_export("--format", "bibtex", *args)))
    assert [f.get("eprint") for _k, _key, f in entries] == [store.get_papers([i])[0].arxiv_id for i in chosen]
    # With --since as well: those of them first seen since.
    assert [o["id"] for o in _jsonl(_export(*args, "--since", since))] == chosen[1:]
    none = _export("--id", every[0], "--since", since)
    assert none.exit_code == 0 and none.stdout == ""
    assert none.stderr == f"none of the --id papers was first seen since {since}\n"


def test_unknown_ids_are_named_and_nothing_is_written(
    exported: tuple[EmbeddedStore, str], data_dir_of: Path, tmp_path: Path
) -> None:
    known = exported[0].paper_ids()[0]
    target = tmp_path / "syllabus.bib"
    for fmt in ("jsonl", "csv", "bibtex"):
        result = _export("--format", fmt, "--id", known, "--id", "9999.99999", "--id", "no-such-slug",
                         "--output", str(target))
        assert result.exit_code == 2 and result.stdout == ""
        wanted = "--id names no stored paper: '9999.99999', 'no-such-slug'; nothing was exported"
        assert wanted in result.stderr
        assert known not in result.stderr
        assert os.listdir(tmp_path) == []  # no file, no temporary file
    target.write_text("last term's list\n", encoding="utf-8")
    forced = _export("--format", "bibtex", "--id", "9999.99999", "--output", str(target), "--force")
    assert forced.exit_code == 2 and target.read_text(encoding="utf-8") == "last term's list\n"
    to_stdout = _export("--format", "bibtex", "--id", "nope")
    assert to_stdout.exit_code == 2 and to_stdout.stdout == "" and "paper: 'nope';" in to_stdout.stderr
    assert os.listdir(tmp_path) == ["syllabus.bib"]
    # Not UTF-8 (a lone surrogate from argv), a terminal control, empty: named, shown harmlessly.
    odd = _export("--id", "\udcff", "--id", f"{known}\x1b[2J", "--id", "", "--id", known)
    assert odd.exit_code == 2 and odd.stdout == "" and "\x1b" not in odd.stderr
    assert f"paper: '\\udcff', '{known}\\x1b[2J', ''; nothing" in odd.stderr


def test_resolve_ids_finds_papers_as_the_api_does(exported: tuple[EmbeddedStore, str]) -> None:
    store, _since = exported
    arxiv = next(i for i in store.paper_ids() if i.startswith("2611."))
    found, unknown = resolve_ids(store, [f"{arxiv}v3", arxiv, "", "nope", "hostile-pipeline"])
    assert found == [arxiv, "hostile-pipeline"] and unknown == ["", "nope"]


def test_an_empty_store_exports_an_empty_bibtex_file(data_dir: Path) -> None:
    taxonomy_store(data_dir / "paperkg.sqlite3").close()
    empty = _export("--format", "bibtex")
    assert empty.exit_code == 0 and empty.stdout == "" and empty.stderr == "the store holds no papers\n"
