"""Recommendations from liked (and disliked) papers: Rocchio on embeddings plus technique profile."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from kg.entities import TaxonomyNode
from kg.explain import Labels
from kg.related import RelatedHit, UnknownPaper, idf_weights, join_names
from kg.schema import Label
from kg.store import GraphStore


@dataclass(frozen=True)
class RecommendWeights:
    """How recommendations are scored (the one place these numbers live).

    query   = normalise(mean(liked embeddings) - disliked_weight * mean(disliked embeddings))
    score   = embedding * cosine(candidate, query)
            + profile * cosine of IDF-weighted technique vectors (candidate vs liked profile,
              where the liked profile counts each technique once per liked paper)
    Candidates: the `candidates` nearest papers to the Rocchio query (exact search), minus the
    liked and disliked ones.
    """

    disliked_weight: float = 0.5
    embedding: float = 0.75
    profile: float = 0.25
    candidates: int = 200


DEFAULT_RECOMMEND_WEIGHTS = RecommendWeights()


def _normalise(v: np.ndarray) -> np.ndarray | None:
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 1e-9 else None


def recommend(
    store: GraphStore,
    liked: Sequence[str],
    disliked: Sequence[str] = (),
    *,
    limit: int = 10,
    weights: RecommendWeights = DEFAULT_RECOMMEND_WEIGHTS,
    taxonomy_nodes: Sequence[TaxonomyNode] | None = None,
) -> list[RelatedHit]:
    """Rank papers for someone who liked `liked` (and not `disliked`); raises UnknownPaper."""
    liked = list(dict.fromkeys(liked))
    disliked = [d for d in dict.fromkeys(disliked) if d not in liked]
    if not liked:
        raise ValueError("liked must name at least one paper")
    known = {p.id: p for p in store.get_papers([*liked, *disliked])}
    missing = [i for i in [*liked, *disliked] if i not in known]
    if missing:
        raise UnknownPaper(missing)
    vectors = store.get_embeddings([*liked, *disliked])
    liked_vecs = [vectors[i] for i in liked if i in vectors]
    disliked_vecs = [vectors[i] for i in disliked if i in vectors]
    excluded = set(liked) | set(disliked)
    if not liked_vecs:
        return []
    query = np.mean(liked_vecs, axis=0)
    if disliked_vecs:
        query = query - weights.disliked_weight * np.mean(disliked_vecs, axis=0)
    query = _normalise(np.asarray(query, dtype=np.float32))
    if query is None:  # liked and disliked cancel out exactly: fall back to the liked mean
        query = _normalise(np.mean(liked_vecs, axis=0).astype(np.float32))
        if query is None:
            return []

    k = weights.candidates + len(excluded) + limit
    scored = [h for h in store.vector_search(query, k) if h.id not in excluded]
    if not scored:
        return []
    cand_ids = [h.id for h in scored]
    cosines = {h.id: h.score for h in scored}
    labels = Labels(taxonomy_nodes if taxonomy_nodes is not None else store.taxonomy_nodes())
    profiles = store.paper_profiles([*liked, *cand_ids])
    idf = idf_weights(store)

    def techniques(pid: str) -> set[str]:
        return {t for t in profiles.get(pid, set()) if labels.label(t) == Label.TECHNIQUE}

    liked_counts: Counter[str] = Counter(t for pid in liked for t in techniques(pid))
    liked_profile = {t: c * idf.get(t, 0.0) for t, c in liked_counts.items()}
    liked_norm = float(np.sqrt(sum(v * v for v in liked_profile.values())))

    cand_vectors = store.get_embeddings(cand_ids)
    liked_ids_with_vec = [i for i in liked if i in vectors]
    liked_matrix = np.stack([vectors[i] for i in liked_ids_with_vec]).astype(np.float32)

    hits: list[RelatedHit] = []
    for pid in cand_ids:
        mine = techniques(pid)
        dot = sum(liked_profile.get(t, 0.0) * idf.get(t, 0.0) for t in mine)
        own_norm = float(np.sqrt(sum(idf.get(t, 0.0) ** 2 for t in mine)))
        profile_sim = dot / (liked_norm * own_norm) if liked_norm > 0 and own_norm > 0 else 0.0
        cosine = float(cosines[pid])
        score = weights.embedding * cosine + weights.profile * profile_sim
        reasons = []
        if pid in cand_vectors:
            sims = liked_matrix @ cand_vectors[pid]
            nearest = liked_ids_with_vec[int(np.argmax(sims))]
            reasons.append(f"similar to {known[nearest].title} (cosine {float(np.max(sims)):.2f})")
        shared = sorted((t for t in mine if liked_counts.get(t)), key=lambda t: (-liked_counts[t], t))
        for t in shared[:2]:
            n = liked_counts[t]
            reasons.append(f"uses {labels.name(t)} like {n} of your papers")
        if len(shared) > 2:
            reasons.append("also shares " + join_names([labels.name(t) for t in shared[2:]]))
        parts = {"cosine": round(cosine, 4), "profile": round(profile_sim, 4),
                 "shared_techniques": shared}
        hits.append(RelatedHit(pid, "", round(score, 6), None, reasons, parts))  # type: ignore[arg-type]
    hits.sort(key=lambda h: (-h.score, h.id))
    hits = hits[:limit]
    papers = {p.id: p for p in store.get_papers([h.id for h in hits])}
    out = []
    for h in hits:
        if h.id in papers:
            h.paper = papers[h.id]
            h.title = papers[h.id].title
            out.append(h)
    return out
