"""An ingest's progress: plain lines when stderr is no terminal, a rate and ETA that leave out the unchanged
papers a resumed run skips, and no nested bar of the embedder's own (QA at 8,000 records)."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import ingest.write as write
from ingest.pipeline import ingest_records_file
from ingest.write import Progress
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


class _RecordingEmbedder(HashEmbedder):
    """The hash embedder, noting whether it was asked to draw its own progress bar."""

    def __init__(self) -> None:
        super().__init__()
        self.bars: list[bool] = []

    def encode(self, texts: Sequence[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        """Encode as the hash embedder does, noting `progress`."""
        self.bars.append(progress)
        return super().encode(texts, batch_size=batch_size, progress=progress)


def _records(path: Path, n: int) -> Path:
    lines = [json.dumps({"title": f"Probing paper number {i}", "abstract": f"About {i}."}) for i in range(n)]
    path.write_text("".join(line + "\n" for line in lines))
    return path


def test_an_import_piped_to_a_log_prints_plain_progress_lines(
    tmp_path: Path, store: GraphStore, extractor: Any, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch
) -> None:
    """Piped to a log, cron or docker logs, a 7-minute import printed nothing until its summary."""
    monkeypatch.setattr(write, "PLAIN_PROGRESS_EVERY", 0.0)  # a line per batch: no waiting in a test
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


def test_the_embedder_draws_no_bar_under_the_pipelines(
    tmp_path: Path, store: GraphStore, extractor: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """sentence-transformers' own "Batches" bar redrew (ESC[A) under the ingest's bar at every batch."""
    monkeypatch.setattr(write, "is_terminal", lambda stream: True)  # as on a terminal
    embedder = _RecordingEmbedder()
    ingest_records_file(store, _records(tmp_path / "r.jsonl", 3), embedder=embedder, extractor=extractor)
    assert embedder.bars == [False]
