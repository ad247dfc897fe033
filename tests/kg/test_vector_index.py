"""The in-memory embedding matrix: top-k against brute force, with the last query's scores reused."""

from __future__ import annotations

import numpy as np

from kg.schema import EMBEDDING_DIM
from kg.vector_index import EmbeddingMatrix


def _unit(rng: np.random.Generator, n: int) -> np.ndarray:
    m = rng.standard_normal((n, EMBEDDING_DIM)).astype(np.float32)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def _brute(ids: list[str], vectors: np.ndarray, query: np.ndarray, k: int, allowed: set[str]) -> list[str]:
    scores = [(-float(v @ query), i) for i, v in zip(ids, vectors, strict=True) if i in allowed]
    return [i for _, i in sorted(scores)[:k]]


def test_one_query_asked_twice_with_different_masks_and_after_writes() -> None:
    """Hybrid search asks the matrix twice per query (all papers, then a technique's papers): the
    second answer must equal a fresh computation, and any write must drop the reused scores."""
    rng = np.random.default_rng(7)
    vectors = _unit(rng, 300)
    ids = [f"p{i:03d}" for i in range(300)]
    matrix = EmbeddingMatrix()
    matrix.put_many([(pid, i, vectors[i].tobytes(), 2023, '["arxiv"]') for i, pid in enumerate(ids)])
    matrix.set_techniques([(pid, "sae") for pid in ids[::3]])
    query = _unit(rng, 1)[0]

    every = [h.id for h in matrix.top_k(query, 10)]
    assert every == _brute(ids, vectors, query, 10, set(ids))
    sae = [h.id for h in matrix.top_k(query, 10, matrix.mask(technique_ids=["sae"]))]
    assert sae == _brute(ids, vectors, query, 10, set(ids[::3]))
    assert [h.id for h in matrix.top_k(query, 10)] == every  # the masked call left the scores intact

    # A write replaces the best paper's vector with the query itself: it must now come first.
    best = every[1]
    matrix.put_many([(best, ids.index(best), query.tobytes(), 2023, '["arxiv"]')])
    vectors[ids.index(best)] = query
    assert [h.id for h in matrix.top_k(query, 10)] == _brute(ids, vectors, query, 10, set(ids))
    assert matrix.top_k(query, 1)[0].id == best

    # A removal must drop the scores too (rows move).
    matrix.remove(best)
    left = [i for i in ids if i != best]
    kept = vectors[[ids.index(i) for i in left]]
    assert [h.id for h in matrix.top_k(query, 10)] == _brute(left, kept, query, 10, set(left))


def test_one_vector_in_two_rows_scores_alike_and_ties_go_by_id() -> None:
    """Reproducibility QA: a paper posted twice (one vector under two ids) scored one float step apart
    by its row (the mat-vec's rounding depends on where a row sits), so which came first, and the score
    the API printed, followed the order the papers were stored in. Scores are rounded to the 6 decimals
    the API shows, and ties then go by id, whatever the rows."""
    rng = np.random.default_rng(11)
    vectors = _unit(rng, 41)
    query = _unit(rng, 1)[0]
    for first, last in (("zz-repost", "aa-repost"), ("aa-repost", "zz-repost")):
        ids = [first, *(f"p{i:03d}" for i in range(1, 40)), last]
        rows = vectors.copy()
        rows[40] = rows[0]
        matrix = EmbeddingMatrix()
        matrix.put_many([(pid, i, rows[i].tobytes(), 2023, '["arxiv"]') for i, pid in enumerate(ids)])
        hits = {h.id: h.score for h in matrix.top_k(query, 41)}
        assert hits["aa-repost"] == hits["zz-repost"]
        order = [h.id for h in matrix.top_k(query, 41)]
        assert order.index("aa-repost") == order.index("zz-repost") - 1
