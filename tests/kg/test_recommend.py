"""Recommendations (kg/recommend.py): on the seed corpus with the real model, and on a hand-built
graph where the Rocchio query and the technique profile are known exactly."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from kg.embedded import EmbeddedStore
from kg.recommend import DEFAULT_RECOMMEND_WEIGHTS, recommend
from kg.related import UnknownPaper
from tests.kg.test_related import bundle, unit
from tests.seed_store import taxonomy_store

IOI = "2211.00593"
ACDC = "2304.14997"
REUSE = "2310.08744"  # Circuit Component Reuse: close to IOI


@pytest.fixture(scope="session")
def seed(seed_store: EmbeddedStore) -> EmbeddedStore:
    """The seed corpus (real pipeline, real model)."""
    return seed_store


def test_excludes_liked_and_explains(seed: EmbeddedStore) -> None:
    hits = recommend(seed, [IOI, ACDC], limit=10)
    ids = [h.id for h in hits]
    assert len(ids) == 10 and IOI not in ids and ACDC not in ids
    titles = {p.id: p.title for p in seed.get_papers([IOI, ACDC])}
    for hit in hits:
        assert hit.reasons and hit.title and hit.paper.id == hit.id
        assert hit.reasons[0].startswith("similar to ")
        assert any(t in hit.reasons[0] for t in titles.values())
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_respects_disliked(seed: EmbeddedStore) -> None:
    plain = recommend(seed, [IOI], limit=10)
    assert REUSE in [h.id for h in plain[:3]]
    disliked = recommend(seed, [IOI], [REUSE], limit=10)
    assert REUSE not in [h.id for h in disliked]
    # Papers like the disliked one move down: the results are further from it on average.
    vectors = seed.get_embeddings([h.id for h in plain + disliked] + [REUSE])
    closeness = lambda hits: float(np.mean([vectors[h.id] @ vectors[REUSE] for h in hits[:5]]))  # noqa: E731
    assert closeness(disliked) < closeness(plain[1:] if plain[0].id == REUSE else plain)


def test_errors(seed: EmbeddedStore) -> None:
    with pytest.raises(UnknownPaper, match="nope"):
        recommend(seed, [IOI, "nope"])
    with pytest.raises(UnknownPaper, match="bad"):
        recommend(seed, [IOI], ["bad"])
    with pytest.raises(ValueError, match="liked"):
        recommend(seed, [])


@pytest.fixture
def graph(tmp_path: Path) -> Iterator[EmbeddedStore]:
    """L1, L2 liked (both SAE); X disliked; candidates at known angles."""
    store = taxonomy_store(tmp_path / "paperkg.sqlite3")
    store.upsert_papers([
        bundle("L1", unit(0), ["sae"]),
        bundle("L2", unit(1), ["sae", "probing"]),
        bundle("X", unit(2), ["logit_lens"]),
        bundle("SAE-near", unit(0, 1, 5), ["sae"]),
        bundle("PLAIN-near", unit(0, 1, 5), []),
        bundle("X-near", unit(0, 1, 2), ["logit_lens"]),
        bundle("far", unit(40), []),
    ])
    yield store
    store.close()


def test_profile_and_rocchio_by_hand(graph: EmbeddedStore) -> None:
    hits = {h.id: h for h in recommend(graph, ["L1", "L2"], ["X"], limit=10)}
    assert set(hits) == {"SAE-near", "PLAIN-near", "X-near", "far"}
    sae, plain = hits["SAE-near"], hits["PLAIN-near"]
    assert sae.parts["cosine"] == pytest.approx(plain.parts["cosine"], abs=1e-6)
    assert sae.parts["profile"] > 0 == plain.parts["profile"]
    assert sae.score > plain.score
    assert "uses Sparse Autoencoder (SAE) like 2 of your papers" in sae.reasons
    # Rocchio: q = normalise((e0 + e1)/2 - 0.5 * e2); X-near = (e0 + e1 + e2)/sqrt(3)
    q = np.array([0.5, 0.5, -0.5]) / np.linalg.norm([0.5, 0.5, -0.5])
    expected = float(q @ (np.array([1, 1, 1]) / np.sqrt(3)))
    assert hits["X-near"].parts["cosine"] == pytest.approx(expected, abs=1e-4)
    w = DEFAULT_RECOMMEND_WEIGHTS
    assert hits["X-near"].score == pytest.approx(w.embedding * expected, abs=1e-4)
    assert min(hits.values(), key=lambda h: h.score).id == "far"
