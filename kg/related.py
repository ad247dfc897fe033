"""Related papers for one paper: embedding cosine blended with shared techniques, topics,
components, models and authors, every result with the reasons it was picked."""

from __future__ import annotations

import contextlib
import math
import time
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kg.entities import Paper, TaxonomyNode
from kg.explain import Labels
from kg.schema import Label
from kg.store import GraphStore


class UnknownPaper(LookupError):
    """A paper id that is not in the store."""

    def __init__(self, paper_ids: Sequence[str]) -> None:
        self.paper_ids = list(paper_ids)
        # "id" for one, "ids" for several: "id(s)" read as a form, not a sentence (copy-edit QA).
        noun = "id" if len(self.paper_ids) == 1 else "ids"
        super().__init__(f"unknown paper {noun}: {', '.join(self.paper_ids)}")


@dataclass(frozen=True)
class RelatedWeights:
    """The weights of the related-paper score (the one place they are set).

    score = cosine * embedding cosine (clipped at 0)
          + techniques * IDF-weighted technique overlap: (sum of idf(shared) + family_credit * sum
            of idf(the paper's techniques the candidate lacks but has a relative of: kin_pairs)) / max(sum
            of idf(the paper's own techniques), the largest idf), idf(t) = log(1 + N / df(t)), so sharing a
            rare technique ("causal scrubbing") counts more than a common one ("visualization"),
            also for a paper whose only technique is the common one; a relative is another
            technique of the same taxonomy family (ACDC and path patching, both CMA)
          + topics / components / models * share of the paper's topics / components / models
            the candidate has too
          + authors * min(1, shared authors / 2)
    The parts are each in [0, 1], so the score is in [0, sum of weights]. The embedding carries
    most of the weight because every paper has one; graph evidence reorders near-ties and
    lifts papers the text alone misses.
    """

    cosine: float = 0.55
    techniques: float = 0.25
    topics: float = 0.06
    components: float = 0.05
    models: float = 0.04
    authors: float = 0.05
    # How much a relative technique (same family, not the same one) counts of a shared one.
    family_credit: float = 0.5
    # Candidates fetched from the vector index in addition to the graph neighbours.
    vector_candidates: int = 50
    graph_candidates: int = 200


DEFAULT_WEIGHTS = RelatedWeights()


@dataclass
class RelatedHit:
    """A related (or recommended) paper with its score, the readable reasons and the score parts."""

    id: str
    title: str
    score: float
    paper: Paper
    reasons: list[str] = field(default_factory=list)
    parts: dict[str, Any] = field(default_factory=dict)
    # What each reason adds to the score, in the reasons' order (related papers; empty otherwise).
    contributions: list[float] = field(default_factory=list)
    # The parts.weighted key of each reason ("cosine", "shared_techniques" ...), in the reasons' order
    # ("neighbourhood" for the one reason of a hit that shares nothing).
    kinds: list[str] = field(default_factory=list)


# IDF changes only when papers are ingested; a few seconds of staleness does not matter and
# saves two aggregate queries per request.
IDF_CACHE_SECONDS = 30.0
_idf_cache: weakref.WeakKeyDictionary[GraphStore, tuple[float, dict[str, float]]] = (
    weakref.WeakKeyDictionary()
)


def idf_weights(store: GraphStore) -> dict[str, float]:
    """idf(t) = log(1 + N / df(t)) for every technique with at least one paper (cached briefly)."""
    now = time.monotonic()
    cached = _idf_cache.get(store)
    if cached is not None and now - cached[0] < IDF_CACHE_SECONDS:
        return cached[1]
    df = store.technique_document_frequency()
    n = max(1, store.stats().get("nodes", {}).get(Label.PAPER, 0), max(df.values(), default=1))
    weights = {t: math.log(1.0 + n / c) for t, c in df.items() if c > 0}
    # A store that cannot be weakly referenced is simply not cached.
    with contextlib.suppress(TypeError):
        _idf_cache[store] = (now, weights)
    return weights


def join_names(names: Sequence[str], most: int = 4) -> str:
    """'a, b, c' with '+N more' when longer than `most` (a single name left over is shown instead)."""
    # "(+1 more)" takes as much room as the name it hides.
    shown = list(names if len(names) <= most + 1 else names[:most])
    extra = len(names) - len(shown)
    return ", ".join(shown) + (f" (+{extra} more)" if extra > 0 else "")


def shown_parts(values: Sequence[float], total: float, places: int = 2) -> list[float]:
    """`values` rounded to `places` decimals, each less than one last-place unit from its value, so that
    they add up to `total` as shown with `places` decimals (largest remainder): exactly when the values
    add up to the total within rounding, as a related hit's contributions do its score."""
    # Each value rounded alone (0.124 + 0.124 + 0.124 shown as 0.12 three times beside a score of
    # 0.37) left 62 of 312 related rows (QA) not adding up to the score beside them.
    scale = 10 ** places
    target = round(float(f"{total:.{places}f}") * scale)
    # Rounded first so binary noise (0.29 * 100 = 28.999...) does not read as a remainder.
    units = [round(max(0.0, v) * scale, 6) for v in values]
    shown = [math.floor(u) for u in units]
    # Largest remainders first; among equal ones the earlier (stronger) value, so the order holds.
    by_remainder = sorted(range(len(units)), key=lambda i: (-(units[i] - shown[i]), i))
    missing = target - sum(shown)
    for i in by_remainder[:max(0, missing)]:
        shown[i] += 1
    for i in reversed(by_remainder):  # over the total (values above it): take from the smallest remainders
        if missing >= 0:
            break
        if shown[i] > 0:
            shown[i] -= 1
            missing += 1
    return [u / scale for u in shown]


def kin_relation(labels: Labels, theirs: str, mine: str) -> str:
    """How a related technique of the candidate stands to this paper's one in the taxonomy: "parent"
    (theirs is its parent), "ancestor" (further up), "refinement" (theirs refines it) or "family"."""
    up = labels.ancestors(mine)
    if theirs in up:
        return "parent" if up[0] == theirs else "ancestor"
    return "refinement" if mine in labels.ancestors(theirs) else "family"


def kin_pairs(labels: Labels, mine: set[str], theirs: set[str], idf: dict[str, float]
              ) -> list[tuple[str, str]]:
    """(theirs, mine) for each technique of this paper the candidate lacks but has a relative of (same
    taxonomy family), rarest of this paper's first: the pairs the family credit is given for, one each.

    A relative may be a technique both papers use (activation patching, shared, is a relative of this
    paper's path patching): the credit measures how much of this paper's techniques the candidate
    covers, exactly or by a relative (bench/related_eval.py: MAP 0.522 this way against 0.522 counting
    only relatives it does not share, and 0.703 against 0.685 on the blind list-tech gold). Of several
    relatives the nearest in the tree (parent, refinement) is named, then one not already shared,
    then the rarest.
    """
    by_family: dict[str, list[str]] = {}
    for t in theirs:
        by_family.setdefault(labels.family(t), []).append(t)
    pairs: list[tuple[str, str]] = []
    for m in sorted(mine - theirs, key=lambda t: (-idf.get(t, 0.0), t)):
        relatives = by_family.get(labels.family(m))
        if relatives:
            best = min(relatives, key=lambda r: (kin_relation(labels, r, m) == "family", r in mine,
                                                 -idf.get(r, 0.0), r))
            pairs.append((best, m))
    return pairs


def _split_profile(labels: Labels, ids: Iterable[str]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {"techniques": set(), "topics": set(), "components": set(), "models": set()}
    kinds = {Label.TECHNIQUE: "techniques", Label.TOPIC: "topics", Label.OBJECT: "topics",
             Label.COMPONENT: "components", Label.MODEL: "models"}
    for node_id in ids:
        kind = kinds.get(labels.label(node_id) or "")
        if kind:
            out[kind].add(node_id)
    return out


def _share(mine: set[str], theirs: set[str]) -> float:
    return len(mine & theirs) / len(mine) if mine else 0.0


def related(
    store: GraphStore,
    paper_id: str,
    *,
    limit: int = 10,
    weights: RelatedWeights = DEFAULT_WEIGHTS,
    taxonomy_nodes: Sequence[TaxonomyNode] | None = None,
) -> list[RelatedHit]:
    """Papers related to `paper_id`, best first, each with reasons (raises UnknownPaper)."""
    base = store.get_papers([paper_id])
    if not base:
        raise UnknownPaper([paper_id])
    paper = base[0]
    labels = Labels(taxonomy_nodes if taxonomy_nodes is not None else store.taxonomy_nodes())
    embedding = store.get_embeddings([paper_id]).get(paper_id)

    candidate_ids: list[str] = [c.id for c in store.related_candidates(paper_id, weights.graph_candidates)]
    if embedding is not None:
        k = max(weights.vector_candidates, limit * 3) + 1
        candidate_ids += [h.id for h in store.vector_search(embedding, k)]
    candidate_ids = [c for c in dict.fromkeys(candidate_ids) if c != paper_id]
    if not candidate_ids:
        return []

    papers = {p.id: p for p in store.get_papers(candidate_ids)}
    vectors = store.get_embeddings(list(papers))
    profiles = store.paper_profiles([paper_id, *papers])
    idf = idf_weights(store)
    mine = _split_profile(labels, profiles.get(paper_id, set()))
    my_authors = {a.casefold(): a for a in paper.authors}
    # At least the rarest technique's idf: a paper whose only technique is a common one (16 of the 24
    # tagged seed papers have one) would otherwise get a full technique part from any paper sharing
    # it, a tool sharing "visualization" outranking a 0.6 cosine (related_eval MAP 0.517 either way).
    my_idf_total = max(sum(idf.get(t, 0.0) for t in mine["techniques"]), max(idf.values(), default=0.0))

    # Every candidate is scored; only the `limit` kept get their reasons and parts written (the strings,
    # the rounding and the join cost more than the score, on hundreds of candidates a request).
    scored: list[_Scored] = []
    for cid, cand in papers.items():
        theirs = _split_profile(labels, profiles.get(cid, set()))
        cosine = float(np.dot(embedding, vectors[cid])) if embedding is not None and cid in vectors else 0.0
        shared_t = sorted(mine["techniques"] & theirs["techniques"], key=lambda t: (-idf.get(t, 0.0), t))
        pairs = kin_pairs(labels, mine["techniques"], theirs["techniques"], idf)
        # Each technique part over this paper's idf total, so the two add up to the technique part.
        norm = my_idf_total if mine["techniques"] and my_idf_total > 0 else 0.0
        shared_part = sum(idf.get(t, 0.0) for t in shared_t) / norm if norm else 0.0
        kin_part = weights.family_credit * sum(idf.get(m, 0.0) for _, m in pairs) / norm if norm else 0.0
        shared_authors = [my_authors[a.casefold()] for a in cand.authors if a.casefold() in my_authors]
        scores = {
            "cosine": round(cosine, 4),
            "techniques": round(shared_part + kin_part, 4),
            "topics": round(_share(mine["topics"], theirs["topics"]), 4),
            "components": round(_share(mine["components"], theirs["components"]), 4),
            "models": round(_share(mine["models"], theirs["models"]), 4),
            "authors": round(min(1.0, len(shared_authors) / 2), 4),
        }
        # What each reason adds to the score (its weight times its part): the reasons are listed
        # strongest first, and the API and the web page show them, so the score can be rebuilt.
        weighted = {
            "cosine": weights.cosine * max(0.0, cosine),
            "shared_techniques": weights.techniques * shared_part,
            "related_techniques": weights.techniques * kin_part,
            "models": weights.models * scores["models"],
            "topics": weights.topics * scores["topics"],
            "components": weights.components * scores["components"],
            "authors": weights.authors * scores["authors"],
        }
        scored.append(_Scored(cid, round(sum(weighted.values()), 6), theirs, cosine, shared_t, pairs,
                              shared_authors, scores, weighted))
    scored.sort(key=lambda c: (-c.score, c.id))
    has_vector = embedding is not None
    return [_explained(c, papers[c.id], mine, labels, has_vector and c.id in vectors)
            for c in scored[:limit]]


@dataclass
class _Scored:
    """A related candidate's score and what it was made of (related() explains only those it keeps)."""

    id: str
    score: float
    theirs: dict[str, set[str]]
    cosine: float
    shared_t: list[str]
    pairs: list[tuple[str, str]]
    shared_authors: list[str]
    scores: dict[str, float]
    weighted: dict[str, float]


def _explained(c: _Scored, cand: Paper, mine: dict[str, set[str]], labels: Labels, has_cosine: bool
               ) -> RelatedHit:
    """The RelatedHit of a scored candidate: its reasons, strongest first, with what each adds, and parts."""
    theirs, weighted, pairs = c.theirs, c.weighted, c.pairs
    shared_topics = sorted(mine["topics"] & theirs["topics"])
    shared_components = sorted(mine["components"] & theirs["components"])
    shared_models = sorted(mine["models"] & theirs["models"])
    said: list[tuple[str, str]] = []  # (weighted key, reason), in the tie order
    if c.shared_t:
        said.append(("shared_techniques", "shares " + join_names([labels.name(t) for t in c.shared_t])))
    if pairs:
        # "ACDC ~ Path Patching": theirs, then the technique of this paper it is credited for;
        # one pair per credited technique, every one named (no "+N more": at most one a technique
        # of this paper, and a hidden pair was a half credit the reason did not explain).
        said.append(("related_techniques", "related techniques " + ", ".join(
            f"{labels.name(t)} ~ {labels.name(m)}" for t, m in pairs)))
    if shared_models:
        said.append(("models", "both study " + join_names([labels.name(m) for m in shared_models])))
    if shared_topics:
        said.append(("topics", "both about " + join_names([labels.name(t) for t in shared_topics])))
    if shared_components:
        said.append(("components",
                     "both discuss " + join_names([labels.name(x) for x in shared_components])))
    if c.shared_authors:
        word = "author" if len(c.shared_authors) == 1 else "authors"
        said.append(("authors", f"shared {word} {join_names(c.shared_authors, 3)}"))
    if has_cosine:
        said.append(("cosine", f"cosine {c.cosine:.2f}"))
    # Strongest first; a stable sort keeps the order above for ties. A reason that adds nothing (a
    # zero weight, a technique the briefly cached idf does not know yet) is not one; the cosine
    # stays, at or below 0 too: how far apart the abstracts are explains a low score.
    said = [kr for kr in said if kr[0] == "cosine" or round(weighted[kr[0]], 6) > 0]
    said.sort(key=lambda kr: -round(weighted[kr[0]], 6))
    reasons = [r for _, r in said]
    kinds = [k for k, _ in said]
    contributions = [round(weighted[k], 4) for k in kinds]
    # The score parts first, then the shared names that explain them, then what each adds.
    parts: dict[str, Any] = {
        **c.scores, "shared_techniques": c.shared_t,
        "related_techniques": list(dict.fromkeys(t for t, _ in pairs)),
        "related_pairs": [[t, m] for t, m in pairs],
        "shared_topics": shared_topics, "shared_components": shared_components,
        "shared_models": shared_models, "shared_authors": c.shared_authors,
        "weighted": {k: round(v, 4) for k, v in weighted.items()},
    }
    if not reasons:
        reasons, contributions, kinds = ["in the same graph neighbourhood"], [0.0], ["neighbourhood"]
    return RelatedHit(c.id, cand.title, c.score, cand, reasons, parts, contributions, kinds)
