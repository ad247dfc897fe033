"""ingest/write.py: writing a batch of merged papers draws no progress bar of its own (the run's bar is
drawn over its papers)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import ingest.progress as progress_module
from ingest.pipeline import ingest_records_file
from kg.store import GraphStore
from tests.embedders import HashEmbedder

from .test_progress import _records


class _RecordingEmbedder(HashEmbedder):
    """The hash embedder, noting whether it was asked to draw its own progress bar."""

    def __init__(self) -> None:
        super().__init__()
        self.bars: list[bool] = []

    def encode(self, texts: Sequence[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        """Encode as the hash embedder does, noting `progress`."""
        self.bars.append(progress)
        return super().encode(texts, batch_size=batch_size, progress=progress)


def test_the_embedder_draws_no_bar_under_the_pipelines(
    tmp_path: Path, store: GraphStore, extractor: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """sentence-transformers' own "Batches" bar redrew (ESC[A) under the ingest's bar at every batch."""
    monkeypatch.setattr(progress_module, "is_terminal", lambda stream: True)  # as on a terminal
    embedder = _RecordingEmbedder()
    ingest_records_file(store, _records(tmp_path / "r.jsonl", 3), embedder=embedder, extractor=extractor)
    assert embedder.bars == [False]
