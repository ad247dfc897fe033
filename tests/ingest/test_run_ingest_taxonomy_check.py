"""run_ingest on a store with no taxonomy (a new data dir used from Python, without `paperkg init`): refused
up front, saying how to load one, with no run recorded and nothing loaded (QA: it failed late, after the
extraction and embedding work, with "unknown Technique id 'sae'" for the whole batch)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ingest import pipeline
from ingest.pipeline import run_ingest
from ingest.records import Record
from kg.config import load_config
from kg.embedded import EmbeddedStore
from kg.taxonomy import Taxonomy, load_taxonomy


def _record() -> Record:
    return Record(source="records", source_id="good-1", explicit_id="good-1", authors=["Jane Doe"],
                  title="Sparse autoencoders find interpretable features")


def test_a_store_without_taxonomy_is_refused_before_any_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             embedder: Any, extractor: Any) -> None:
    def no_tools(*args: object, **kwargs: object) -> None:
        raise AssertionError("the extractor and embedder were loaded for a store that holds no taxonomy")

    monkeypatch.setattr(pipeline, "load_tools", no_tools)
    with EmbeddedStore(tmp_path / "new" / "paperkg.sqlite3") as store:
        with pytest.raises(ValueError) as caught:
            run_ingest(store, [_record()], source="records", embedder=embedder, extractor=extractor,
                       progress=False)
        words = str(caught.value)
        assert words.startswith("the store holds no taxonomy (a new store?); nothing was ingested.")
        assert "store.load_taxonomy(load_taxonomy(config.taxonomy).nodes)" in words
        assert "`paperkg init`" in words
        assert store.runs() == []  # refused before a run was recorded
        assert store.paper_ids() == []


def test_the_load_the_error_names_lets_the_ingest_run(tmp_path: Path, embedder: Any, extractor: Any,
                                                      taxonomy: Taxonomy) -> None:
    config = load_config({"PAPERKG_STORE": "embedded"}, data_dir=tmp_path / "new")
    with EmbeddedStore(config.embedded_store_file) as store:
        # The calls the error names, as the README's "Use from Python" section makes them.
        store.init_schema()
        store.load_taxonomy(load_taxonomy(config.taxonomy).nodes)
        summary = run_ingest(store, [_record()], source="records", embedder=embedder, extractor=extractor,
                             progress=False)
        assert summary.new == 1 and summary.rejected_details == []
        assert [p.id for p in store.get_papers(["good-1"])] == ["good-1"]
