"""A records file's duplicates (merged records counted and listed, the tie between two titles of one paper),
its bad lines (all named at once) and the file's name on the run (QA at 8,000 records)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ingest.normalize import dedupe_records
from ingest.pipeline import ingest_records_file
from ingest.records_file import BadLines, RecordsFileError, read_records_file
from kg.store import GraphStore
from tests.embedders import HashEmbedder

from .conftest import snapshot


def _write(path: Path, lines: list[Any]) -> Path:
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n")
    return path


def _paper(n: int, **extra: Any) -> dict[str, Any]:
    return {"title": f"Scalable Policy Gradients for Robotics (study {n})", "abstract": f"We study {n}.",
            "authors": ["Ada Lovelace"], **extra}


# -- bad lines: every one named at once --------------------------------------------------------------

def test_every_bad_line_is_named_at_once_and_nothing_is_written(
    tmp_path: Path, store: GraphStore, embedder: HashEmbedder, extractor: Any
) -> None:
    """The import stopped at the first bad line: 32 bad lines took 32 runs to find."""
    path = _write(tmp_path / "corpus.jsonl", [
        _paper(1), _paper(2, abstract="x" * 20001), "{not json", _paper(4), _paper(5, year=3024)])
    before = snapshot(store)
    with pytest.raises(BadLines) as refused:
        ingest_records_file(store, path, embedder=embedder, extractor=extractor, progress=False)
    assert [b["line"] for b in refused.value.bad_lines] == [2, 3, 5]
    assert str(refused.value) == (
        f"{path}: 3 bad lines (nothing was written; --skip-invalid imports the other lines and reports the "
        "bad ones):\n"
        "  line 2: 'abstract' is 20001 characters long (the limit is 20000)\n"
        "  line 3: not valid JSON (expecting property name enclosed in double quotes, column 2)\n"
        "  line 5: 'year' 3024 is outside the years 1900..2100")
    assert snapshot(store) == before and store.runs() == []
    read = read_records_file(path, skip_invalid=True)
    assert [r.title for r in read.records] == [_paper(1)["title"], _paper(4)["title"]]


def test_a_file_with_many_bad_lines_names_the_first_twenty_and_counts_the_rest(tmp_path: Path) -> None:
    path = _write(tmp_path / "r.jsonl", [_paper(0)] + [_paper(n, year="soon") for n in range(1, 26)])
    with pytest.raises(RecordsFileError) as refused:
        read_records_file(path)
    message = str(refused.value)
    assert message.startswith(f"{path}: 25 bad lines (nothing was written; --skip-invalid ")
    assert "\n  line 21: 'year' must be an integer, not 'soon'" in message
    assert "line 22:" not in message and message.endswith("\n  ... and 5 more bad lines")


def test_the_cli_names_every_bad_line(data_dir: Path, tmp_path: Path, plumbing: HashEmbedder) -> None:
    from kg.cli import main

    path = _write(tmp_path / "r.jsonl", [_paper(1), _paper(2, year="soon"), _paper(3, authors="A, B")])
    result = CliRunner().invoke(main, ["ingest", "records", str(path)])
    assert result.exit_code == 1, result.output
    assert result.output.startswith(f"Error: {path}: 2 bad lines (nothing was written; --skip-invalid")
    assert "\n  line 2: 'year' must be" in result.output and "\n  line 3: 'authors' must be" in result.output


# -- merged records: counted, listed, in the run's counts ------------------------------------------

def _duplicates() -> list[Any]:
    """Six records of three papers: a newer arXiv version, a DOI copy with another title, a shouted
    title copy."""
    return [
        _paper(1, arxiv_id="2301.00001v1"),
        _paper(2, doi="10.5555/qa.2"),
        _paper(3),
        _paper(1, arxiv_id="2301.00001v2", abstract="Revised."),
        _paper(2, doi="https://doi.org/10.5555/qa.2",
               title="Scalable Policy Gradients for Robotics (study 2) (extended version)"),
        _paper(3, title="SCALABLE  POLICY GRADIENTS FOR ROBOTICS [STUDY 3]."),
    ]


def test_merged_records_are_counted_listed_and_recorded_on_the_run(
    tmp_path: Path, store: GraphStore, embedder: HashEmbedder, extractor: Any
) -> None:
    """The merges showed only as records minus papers: no count, no key in --json or the run's counts, no
    word about a DOI merge under another title."""
    path = _write(tmp_path / "corpus.jsonl", _duplicates())
    summary = ingest_records_file(store, path, embedder=embedder, extractor=extractor, progress=False)
    assert (summary.records, summary.papers, summary.merged) == (6, 3, 3)
    assert summary.merged_by == {"arxiv_id": 1, "doi": 1, "title": 1}
    doi_paper = next(p for p in store.paper_ids() if p.startswith("scalable-policy-gradients-for-robotics-stu"
                                                                  "dy-2"))
    title_paper = "scalable-policy-gradients-for-robotics-study-3"
    out = summary.to_dict()
    assert out["merged"] == 3 and out["merged_details"] == [
        {"line": 4, "source_id": "2301.00001", "title": _paper(1)["title"], "into": "2301.00001",
         "into_title": _paper(1)["title"], "by": "arxiv_id", "retitled": False},
        {"line": 5, "source_id": "Scalable Policy Gradients for Robotics (study 2) (extended version)",
         "title": "Scalable Policy Gradients for Robotics (study 2) (extended version)", "into": doi_paper,
         "into_title": _paper(2)["title"], "by": "doi", "retitled": True},
        {"line": 6, "source_id": "SCALABLE  POLICY GRADIENTS FOR ROBOTICS [STUDY 3].",
         "title": "SCALABLE POLICY GRADIENTS FOR ROBOTICS [STUDY 3].", "into": title_paper,
         "into_title": _paper(3)["title"], "by": "title", "retitled": False},
    ]
    text = summary.text()
    assert text.startswith("records: 3 papers from 6 records (3 merged) -> 3 new, ")
    assert "\n  merged: 1 by arXiv id, 1 by DOI, 1 by title (" in text
    assert ("\n  1 record merged by DOI under another title (check the DOI of each; the paper keeps one "
            "title):\n    line 5: 'Scalable Policy Gradients for Robotics (study 2) (extended version)' into "
            f"'Scalable Policy Gradients for Robotics (study 2)' [{doi_paper}]") in text
    (run,) = store.runs()
    assert run.counts["merged"] == 3 and run.counts["file"] == "corpus.jsonl"
    assert str(tmp_path) not in json.dumps(run.counts)  # the name only: runs are on the About page


def test_a_record_joined_through_the_stored_paper_is_counted_by_its_key(
    tmp_path: Path, store: GraphStore, embedder: HashEmbedder, extractor: Any
) -> None:
    """Two records of one run that share no key but both match one stored paper are written as one."""
    first = _write(tmp_path / "a.jsonl", [_paper(7, arxiv_id="2302.00007", doi="10.5555/qa.7")])
    ingest_records_file(store, first, embedder=embedder, extractor=extractor, progress=False)
    second = _write(tmp_path / "b.jsonl", [_paper(7, arxiv_id="2302.00007"),
                                           _paper(8, doi="10.5555/qa.7")])
    summary = ingest_records_file(store, second, embedder=embedder, extractor=extractor, progress=False)
    assert (summary.papers, summary.merged, summary.merged_by) == (1, 1, {"doi": 1})
    assert summary.merged_details[0]["line"] == 2 and summary.merged_details[0]["into"] == "2302.00007"
    assert store.runs()[0].counts["file"] == "b.jsonl"


def test_the_cli_json_and_text_show_the_merges(data_dir: Path, tmp_path: Path, plumbing: HashEmbedder
                                               ) -> None:
    from kg.cli import main

    path = _write(tmp_path / "corpus.jsonl", _duplicates())
    result = CliRunner().invoke(main, ["ingest", "records", str(path), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["merged"] == 3 and out["file"] == "corpus.jsonl" and len(out["merged_details"]) == 3
    again = CliRunner().invoke(main, ["ingest", "records", str(path)])
    assert "3 papers from 6 records (3 merged) -> 0 new, 0 updated, 3 unchanged" in again.output


# -- which title wins a tie ----------------------------------------------------------------------------

@pytest.mark.parametrize("shouted_first", [True, False])
def test_a_shouted_title_never_wins_a_tie_whatever_the_file_order(
    tmp_path: Path, store: GraphStore, embedder: HashEmbedder, extractor: Any, shouted_first: bool
) -> None:
    """Same source, no version: file order decided, so half the duplicates kept "IMPROVING ... [STUDY 3].";
    the id is the same either way (the title key ignores case and punctuation)."""
    plain, shouted = _paper(3), _paper(3, title="SCALABLE  POLICY GRADIENTS FOR ROBOTICS [STUDY 3].")
    records = [shouted, plain] if shouted_first else [plain, shouted]
    path = _write(tmp_path / "r.jsonl", records)
    ingest_records_file(store, path, embedder=embedder, extractor=extractor, progress=False)
    (paper_id,) = store.paper_ids()
    assert paper_id == "scalable-policy-gradients-for-robotics-study-3"
    detail = store.get_paper(paper_id)
    assert detail is not None and detail.paper.title == plain["title"]


def test_a_title_ending_in_a_period_loses_a_tie_but_not_to_a_shouted_one(tmp_path: Path) -> None:
    path = _write(tmp_path / "r.jsonl", [
        {"title": "Toy Models of Superposition.", "doi": "10.1234/a"},
        {"title": "Toy models of superposition", "doi": "10.1234/a"},
        {"title": "GROKKING AT THE EDGE", "doi": "10.1234/b"},
        {"title": "Grokking at the edge.", "doi": "10.1234/b"},
        {"title": "BERT Rediscovers", "doi": "10.1234/c"}, {"title": "BERT rediscovers", "doi": "10.1234/c"},
    ])
    titles = [r.title for r in dedupe_records(read_records_file(path).records)]
    # Both careless: the first one read (the rule stays deterministic); "BERT" is no shouted title.
    assert titles == ["Toy models of superposition", "GROKKING AT THE EDGE", "BERT Rediscovers"]
