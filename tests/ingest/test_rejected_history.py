"""`paperkg ingest rejected --run RUN_ID | --all`: the exclusion trail a systematic review audits (QA: the
command showed only the latest verdict per paper, so a run's own rejections had no listing, and a
rejected paper added by hand vanished from it, with nothing saying the gate had been overridden)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from ingest.arxiv_server import LocalArxivServer
from ingest.extract import Extractor
from ingest.pipeline import run_ingest
from kg.embedded import EmbeddedStore
from tests.embedders import HashEmbedder
from tests.ingest.test_weekly import (
    DAY,
    MI_CANDIDATES,
    NON_MI_CANDIDATES,
    NOW,
    seeded_db,  # noqa: F401 (a fixture: the seed corpus, built once)
    source_for,
    store,  # noqa: F401 (a fixture: a fresh copy of it for each test)
    weekly,
)
from tests.ingest.test_weekly_refused import LONG_TITLE

NON_MI_IDS = {e["arxiv_id"] for e in NON_MI_CANDIDATES}
ADDED = NON_MI_CANDIDATES[4]["arxiv_id"]  # rejected by run 1, then added by hand
REFUSED = LONG_TITLE["arxiv_id"]  # kept by the gate, refused by the load (a title over its limit)


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI reads the test's store (test_weekly's `store` fixture lives in tmp_path)."""
    monkeypatch.setenv("PAPERKG_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PAPERKG_STORE", "embedded")
    monkeypatch.delenv("PAPERKG_NEO4J_URI", raising=False)


def rejected(*args: str) -> Result:
    """`paperkg ingest rejected ARGS`."""
    from kg.cli import main

    return CliRunner().invoke(main, ["ingest", "rejected", *args])


def listed(*args: str) -> list[dict[str, Any]]:
    """`paperkg ingest rejected ARGS --json`, parsed."""
    result = rejected(*args, "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert isinstance(rows, list)
    return rows


def two_runs(store: EmbeddedStore, extractor: Extractor) -> tuple[str, str, str]:  # noqa: F811
    """Run 1 rejects the non-MI candidates (and the load refuses one); one of them is then added with
    `ingest arxiv --ids`; run 2 judges the same window again. (run 1's id, run 2's, the added paper's id)."""
    served = [*MI_CANDIDATES, *NON_MI_CANDIDATES, LONG_TITLE]
    with LocalArxivServer(served) as server:
        first = weekly(store, source_for(server), extractor, now=NOW)
        records = source_for(server).fetch_by_ids([ADDED])  # what `paperkg ingest arxiv --ids` does
    loaded = run_ingest(store, records, source="arxiv", embedder=HashEmbedder(), extractor=extractor,
                        progress=False)
    [added_as] = [pid for pid, status in loaded.statuses.items() if status == "new"]
    with LocalArxivServer(served) as server:
        second = weekly(store, source_for(server), extractor, since=NOW - 7 * DAY, now=NOW + 1 * DAY)
    # What the runs' own counts say: the listing of each run must account for them.
    assert (first.rejected, [e["arxiv_id"] for e in first.refused]) == (len(NON_MI_IDS), [REFUSED])
    assert (second.rejected, [e["arxiv_id"] for e in second.refused]) == (len(NON_MI_IDS) - 1, [REFUSED])
    return first.run_id, second.run_id, added_as


def test_run_lists_every_verdict_of_that_run_and_marks_papers_stored_since(
    store: EmbeddedStore, extractor: Extractor, cli_env: None  # noqa: F811
) -> None:
    first, second, added_as = two_runs(store, extractor)

    rows = listed("--run", first)
    assert sorted(r["arxiv_id"] for r in rows) == sorted(NON_MI_IDS | {REFUSED})
    assert {r["run_id"] for r in rows} == {first}
    assert {r["arxiv_id"]: r["stored_as"] for r in rows if r["stored_as"] is not None} == {ADDED: added_as}
    refused = next(r for r in rows if r["arxiv_id"] == REFUSED)
    assert refused["reason"].startswith("refused by the load: ") and refused["score"] == 0.0
    assert all(r["reason"] and r["seen_at"] and isinstance(r["score"], float) for r in rows)

    text = rejected("--run", first)
    assert text.exit_code == 0, text.output
    lines = text.output.splitlines()
    assert lines[0].startswith(f"run {first} (succeeded, started ")
    assert lines[0].endswith(": 7 verdicts (6 rejected by the gate, 1 refused by the load; 1 stored since)")
    at = next(i for i, line in enumerate(lines) if f"  {ADDED}  score " in line)
    assert lines[at + 2] == f"    now stored as {added_as}"
    assert len(lines) == 1 + 2 * 7 + 1  # heading, each verdict and its reason, the one stored mark

    # Run 2 judged the added paper no more (it is known now): its own verdicts only.
    rows = listed("--run", second)
    assert sorted(r["arxiv_id"] for r in rows) == sorted(NON_MI_IDS - {ADDED} | {REFUSED})
    assert {r["run_id"] for r in rows} == {second} and {r["stored_as"] for r in rows} == {None}
    heading = rejected("--run", second).output.splitlines()[0]
    assert heading.endswith(": 6 verdicts (5 rejected by the gate, 1 refused by the load; 0 stored since)")


def test_all_lists_every_verdict_kept_and_marks_papers_stored_since(
    store: EmbeddedStore, extractor: Extractor, cli_env: None  # noqa: F811
) -> None:
    first, second, added_as = two_runs(store, extractor)

    rows = listed("--all")
    verdicts = sorted((r["arxiv_id"], r["run_id"]) for r in rows)
    assert verdicts == sorted({(a, first) for a in NON_MI_IDS | {REFUSED}}
                              | {(a, second) for a in NON_MI_IDS - {ADDED} | {REFUSED}})
    assert [r["seen_at"] for r in rows] == sorted((r["seen_at"] for r in rows), reverse=True)  # newest first
    assert {(r["arxiv_id"], r["stored_as"]) for r in rows if r["stored_as"]} == {(ADDED, added_as)}

    text = rejected("--all")
    assert text.exit_code == 0, text.output
    lines = text.output.splitlines()
    assert len(lines) == 3 * len(rows)  # each verdict, its reason, its run (and stored mark)
    at = next(i for i, line in enumerate(lines) if f"  {ADDED}  score " in line)
    assert lines[at + 2] == f"    run {first}; now stored as {added_as}"
    assert sum(line == f"    run {second}" for line in lines) == len(NON_MI_IDS)

    # --since narrows the history as it narrows the default listing.
    assert listed("--all", "--since", "2999-01-01") == []
    assert rejected("--all", "--since", "2999-01-01").output == "no rejected candidates since 2999-01-01\n"


def test_the_default_listing_is_unchanged_but_for_a_null_stored_as(
    store: EmbeddedStore, extractor: Extractor, cli_env: None  # noqa: F811
) -> None:
    """Existing scripts keep working: the latest verdict per paper not stored, no run or stored lines."""
    _, second, _ = two_runs(store, extractor)
    rows = listed()
    assert sorted(r["arxiv_id"] for r in rows) == sorted(NON_MI_IDS - {ADDED} | {REFUSED})
    assert all(set(r) == {"arxiv_id", "title", "reason", "score", "run_id", "seen_at", "stored_as"}
               for r in rows)
    assert {r["run_id"] for r in rows} == {second} and {r["stored_as"] for r in rows} == {None}
    text = rejected()
    assert text.exit_code == 0, text.output
    # Byte for byte the listing before --run and --all: each verdict and its reason, nothing more.
    scores = {r["arxiv_id"]: "refused" if r["arxiv_id"] == REFUSED else f"score {r['score']:.3f}"
              for r in rows}
    expected = "".join(f"{r['seen_at']}  {r['arxiv_id']}  {scores[r['arxiv_id']]}  {r['title']}\n"
                       f"    {r['reason']}\n" for r in rows)
    assert text.output == expected


def test_run_names_where_run_ids_are_when_the_id_is_no_weekly_run(
    store: EmbeddedStore, extractor: Extractor, cli_env: None  # noqa: F811
) -> None:
    with LocalArxivServer(MI_CANDIDATES) as server:
        quiet = weekly(store, source_for(server), extractor, now=NOW)  # rejected nothing
    assert quiet.rejected == 0 and quiet.load_run

    # A weekly run that rejected nothing: an empty listing, not an error.
    assert listed("--run", quiet.run_id) == []
    text = rejected("--run", quiet.run_id)
    assert text.exit_code == 0, text.output
    assert text.output.startswith(f"run {quiet.run_id} (succeeded, started ")
    assert text.output.endswith(": no verdicts\n")

    unknown = rejected("--run", "no-such-run")
    assert unknown.exit_code == 2
    assert "no weekly run has the id 'no-such-run'" in unknown.output
    assert "paperkg ingest rejected --all" in unknown.output
    assert "/api/runs?source=arxiv-weekly" in unknown.output
    assert rejected("--run", "no-such-run", "--json").exit_code == 2

    # The load run the summary links: the weekly run that judged its papers is named.
    load = rejected("--run", quiet.load_run)
    assert load.exit_code == 2
    assert f"`paperkg ingest rejected --run {quiet.run_id}`" in load.output

    listing = store.start_run("list")  # an `ingest list` run: the gate judges no list paper
    other = rejected("--run", listing.id)
    assert other.exit_code == 2 and "is a run of source 'list', which judges no candidates" in other.output

    both = rejected("--run", quiet.run_id, "--all")
    assert both.exit_code == 2 and "give one of them" in both.output
    since = rejected("--run", quiet.run_id, "--since", "2026-01-01")
    assert since.exit_code == 2 and "--since does not apply" in since.output


def test_run_lists_verdicts_under_an_id_no_run_record_has(
    store: EmbeddedStore, cli_env: None  # noqa: F811
) -> None:
    """Rejections an older version or another writer recorded without a run record stay listable."""
    from kg.entities import Rejection

    store.record_rejections([Rejection("2611.99998", "Probing \x1b[2JDyes", "not about language models", 0.25,
                                       run_id="orphan-run")])
    rows = listed("--run", "orphan-run")
    assert [(r["arxiv_id"], r["stored_as"]) for r in rows] == [("2611.99998", None)]
    text = rejected("--run", "orphan-run")
    assert text.exit_code == 0, text.output
    assert text.output.splitlines()[0] == (
        "run orphan-run (no run record): 1 verdict (1 rejected by the gate, 0 refused by the load; "
        "0 stored since)")
    assert "\x1b" not in text.output


def test_a_rejected_paper_stored_since_under_its_title_is_marked_stored(
        store: EmbeddedStore, extractor: Extractor, cli_env: None) -> None:  # noqa: F811
    """Systematic-review QA: a rejected candidate a records file then stored under its title (no arXiv
    id) was still listed as rejected and not stored, while the weekly run itself knows it by its title."""
    from ingest.records import Record

    with LocalArxivServer([*MI_CANDIDATES, *NON_MI_CANDIDATES]) as server:
        first = weekly(store, source_for(server), extractor, now=NOW)
    entry = NON_MI_CANDIDATES[0]
    loaded = run_ingest(store, [Record(source="records", source_id="by-its-title", title=entry["title"],
                                       abstract=entry["abstract"], sources=["records"],
                                       explicit_id="by-its-title")],
                        source="records", embedder=HashEmbedder(), extractor=extractor, progress=False)
    assert loaded.statuses == {"by-its-title": "new"}
    assert entry["arxiv_id"] not in {r["arxiv_id"] for r in listed()}
    marked = {r["arxiv_id"]: r["stored_as"] for r in listed("--run", first.run_id)}
    assert marked[entry["arxiv_id"]] == "by-its-title"
    assert sum(aid is not None for aid in marked.values()) == 1
