"""Weekly papers the load refuses (no title, a text over its limit, ...) are counted, named and recorded,
not lost: QA's arXiv entry with an empty <title> vanished from a run that reported success."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from ingest.arxiv_server import LocalArxivServer
from ingest.extract import Extractor
from ingest.pipeline import run_ingest
from ingest.weekly import rejected_since
from kg.embedded import EmbeddedStore
from tests.embedders import HashEmbedder
from tests.ingest.test_weekly import (
    DAY,
    KNOWN_V1,
    KNOWN_V2,
    MI_CANDIDATES,
    NOW,
    as_record,
    mi_entry,
    seeded_db,  # noqa: F401 (a fixture: the seed corpus, built once)
    source_for,
    store,  # noqa: F401 (a fixture: a fresh copy of it for each test)
    weekly,
)

LONG_TITLE = mi_entry("2611.10009", "Sparse Autoencoders Find Induction Features in Language Models " * 20,
                      "We train sparse autoencoders on a GPT-2 language model and use activation patching to "
                      "show induction head features are causally necessary.", NOW - 3 * DAY)
UNTITLED_V2 = {**KNOWN_V2, "title": ""}


def test_papers_the_load_refuses_are_counted_named_and_recorded(store: EmbeddedStore,  # noqa: F811
                                                                extractor: Extractor, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    run_ingest(store, [as_record(KNOWN_V1)], source="records", embedder=HashEmbedder(), extractor=extractor,
               progress=False)
    with LocalArxivServer([*MI_CANDIDATES, LONG_TITLE, UNTITLED_V2]) as server:
        summary = weekly(store, source_for(server), extractor, now=NOW)

    assert summary.status == "succeeded" and LONG_TITLE["arxiv_id"] not in summary.new_ids
    refused = {e["arxiv_id"]: e["reason"] for e in summary.refused}
    assert refused == {LONG_TITLE["arxiv_id"]: "'title' is 1259 characters long (the limit is 1000)",
                       KNOWN_V2["arxiv_id"]: "no title"}
    # Everything loaded is accounted for: known + kept = new + updated + unchanged + refused.
    assert summary.known + summary.kept == summary.new + summary.updated + summary.unchanged + len(refused)
    text = summary.text()
    assert "2 refused, not stored (" in text
    assert f"{KNOWN_V2['arxiv_id']}: no title" in text and LONG_TITLE["arxiv_id"] in text
    assert json.loads(json.dumps(summary.to_dict()))["refused"] == summary.refused
    # Recorded as rejections: `ingest rejected` lists the new paper (the stored one keeps its old version).
    listed = {r.arxiv_id: r for r in rejected_since(store, None)}
    assert listed[LONG_TITLE["arxiv_id"]].reason.startswith("refused by the load: 'title' is 1259 characters")
    assert listed[LONG_TITLE["arxiv_id"]].run_id == summary.run_id
    assert {r.arxiv_id for r in store.rejections()} >= set(refused)
    known = store.get_paper(KNOWN_V2["arxiv_id"])
    assert known is not None and known.paper.title == KNOWN_V1["title"]
    # `ingest rejected` says it was refused, not "score 0.000": the gate never scored it (re-test).
    from kg.cli import main

    monkeypatch.setenv("PAPERKG_DATA_DIR", str(tmp_path))
    shown = CliRunner().invoke(main, ["ingest", "rejected"])
    assert shown.exit_code == 0, shown.output
    line = next(li for li in shown.output.splitlines() if LONG_TITLE["arxiv_id"] in li)
    assert "  refused  " in line and "score" not in line


def test_the_refused_papers_are_named_without_terminal_controls() -> None:
    """Review: the reasons (a record's text) went into the scheduler's log line unescaped."""
    from ingest.weekly import WeeklySummary

    summary = WeeklySummary(run_id="r1", window_start="2026-11-01", window_end="2026-11-08")
    summary.refused = [{"arxiv_id": "2611.0\x1b[2J1", "title": "", "reason": "'title' holds \x1b]0;x\x07"}]
    text = summary.text()
    assert "1 refused, not stored (" in text and "\x1b" not in text and "\x07" not in text
