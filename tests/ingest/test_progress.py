"""ingest/progress.py: an ingest's progress, plain lines when stderr is no terminal and a rate and ETA that
leave out the unchanged papers a resumed run skips (QA at 8,000 records)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

import ingest.progress as progress_module
from ingest.pipeline import ingest_records_file
from ingest.progress import Progress
from kg.store import GraphStore
from tests.embedders import HashEmbedder


class _Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_plain_lines_come_at_most_every_interval_with_done_total_rate_and_eta() -> None:
    stream, clock = io.StringIO(), _Clock()
    progress = Progress(1000, "ingest records", True, stream=stream, clock=clock, every=30)
    clock.now += 10
    progress.update(100)
    assert stream.getvalue() == ""  # under 30 s since the start: nothing yet
    clock.now += 20
    progress.update(100)
    clock.now += 10
    progress.update(100)  # 10 s after the last line
    clock.now += 20
    progress.update(100)
    progress.close()
    assert stream.getvalue().splitlines() == [
        "ingest records: 200/1000 papers, 6.7 papers/s, ETA 2m00s",
        "ingest records: 400/1000 papers, 6.7 papers/s, ETA 1m30s",
    ]


def test_the_rate_leaves_out_the_unchanged_papers_a_resumed_run_skips() -> None:
    """Skipped unchanged papers took a moment each and made the rate, and so the ETA, ~40% off."""
    stream, clock = io.StringIO(), _Clock()
    progress = Progress(3000, "ingest records", True, stream=stream, clock=clock, every=0)
    clock.now += 2
    progress.update(1000, 1000)  # already written by the interrupted run
    clock.now += 100
    progress.update(500)
    assert stream.getvalue().splitlines()[-1] == (
        "ingest records: 1500/3000 papers (1000 unchanged), 5.0 papers/s, ETA 5m00s")


def test_no_plain_lines_without_progress() -> None:
    stream, clock = io.StringIO(), _Clock()
    progress = Progress(10, "ingest records", False, stream=stream, clock=clock, every=0)
    clock.now += 50
    progress.update(5)
    assert stream.getvalue() == ""


def _records(path: Path, n: int) -> Path:
    """A records file of `n` papers, each with a title and an abstract."""
    lines = [json.dumps({"title": f"Probing paper number {i}", "abstract": f"About {i}."}) for i in range(n)]
    path.write_text("".join(line + "\n" for line in lines))
    return path


def test_an_import_piped_to_a_log_prints_plain_progress_lines(
    tmp_path: Path, store: GraphStore, extractor: Any, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch
) -> None:
    """Piped to a log, cron or docker logs, a 7-minute import printed nothing until its summary."""
    monkeypatch.setattr(progress_module, "PLAIN_PROGRESS_EVERY", 0.0)  # a line per batch: no waiting
    path = _records(tmp_path / "r.jsonl", 5)
    ingest_records_file(store, path, embedder=HashEmbedder(), extractor=extractor, batch_size=2)
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("ingest records:")]
    assert [line.split(",")[0] for line in lines] == [
        "ingest records: 2/5 papers", "ingest records: 4/5 papers", "ingest records: 5/5 papers"]
    assert all(" papers/s, ETA " in line for line in lines)
    again = ingest_records_file(store, path, embedder=HashEmbedder(), extractor=extractor, batch_size=2)
    assert again.unchanged == 5
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("ingest records:")]
    assert lines[-1] == "ingest records: 5/5 papers (5 unchanged), ETA unknown"
