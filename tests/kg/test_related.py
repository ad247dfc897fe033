"""Related papers (kg/related.py): the IOI paper on the seed corpus (real model), and the blend's
parts on a small hand-built graph (explicit vectors, so every expectation is computed by hand)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from kg.embedded import EmbeddedStore
from kg.entities import Finding, FindingAbout, Paper, PaperBundle, TechniqueUse
from kg.related import DEFAULT_WEIGHTS, RelatedWeights, UnknownPaper, related
from kg.schema import Label
from tests.seed_store import taxonomy_store

IOI = "2211.00593"


@pytest.fixture(scope="session")
def seed(seed_store: EmbeddedStore) -> EmbeddedStore:
    """The seed corpus (real pipeline, real model)."""
    return seed_store


def technique_ids(store: EmbeddedStore, paper_id: str) -> set[str]:
    """The technique ids a paper uses, from its stored profile."""
    labels = {n.id: n.label for n in store.taxonomy_nodes()}
    return {t for t in store.paper_profiles([paper_id])[paper_id] if labels.get(t) == Label.TECHNIQUE}


def test_ioi_related_share_its_techniques_and_explain(seed: EmbeddedStore) -> None:
    hits = related(seed, IOI, limit=10)
    assert len(hits) == 10 and IOI not in [h.id for h in hits]
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    mine = technique_ids(seed, IOI)
    assert mine, "the IOI paper has techniques in the graph"
    sharing = [h for h in hits if technique_ids(seed, h.id) & mine]
    assert sharing, "some related papers share the IOI paper's techniques"
    names = {n.id: n.name for n in seed.taxonomy_nodes()}
    for hit in hits:
        assert hit.reasons and all(isinstance(r, str) and r for r in hit.reasons)
        shared = technique_ids(seed, hit.id) & mine
        assert set(hit.parts["shared_techniques"]) == shared
        if shared:
            reason = next(r for r in hit.reasons if r.startswith("shares "))
            assert all(names[t] in reason for t in list(hit.parts["shared_techniques"])[:4])
        assert any(r.startswith("cosine ") for r in hit.reasons)
    # Circuit Component Reuse re-examines the IOI circuit: it belongs in the list.
    assert "2310.08744" in [h.id for h in hits]


def test_unknown_paper(seed: EmbeddedStore) -> None:
    with pytest.raises(UnknownPaper, match="nope"):
        related(seed, "nope")


def test_weights_are_one_frozen_documented_place() -> None:
    assert dataclasses.is_dataclass(RelatedWeights) and RelatedWeights.__doc__
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT_WEIGHTS.cosine = 1.0  # type: ignore[misc]


def unit(*axes: int) -> np.ndarray:
    """A unit vector along the sum of the given axes."""
    v = np.zeros(384, dtype=np.float32)
    v[list(axes)] = 1.0
    return v / np.linalg.norm(v)


def bundle(pid: str, vector: np.ndarray, techniques: list[str], authors: list[str] | None = None,
           models: list[str] | None = None, topics: list[str] | None = None) -> PaperBundle:
    """A paper with explicit embedding and edges."""
    paper = Paper(id=pid, title=f"Paper {pid}", abstract=f"Abstract of {pid}.", authors=authors or [],
                  year=2023, sources=["records"], embedding=vector, embedding_model="test")
    findings = [Finding(id=f"{pid}-f", text="We find things.",
                        about=[FindingAbout(Label.TOPIC, t) for t in topics])] if topics else []
    return PaperBundle(paper=paper, techniques=[TechniqueUse(t, "list") for t in techniques],
                       models=models or [], findings=findings)


@pytest.fixture
def graph(tmp_path: Path) -> Iterator[EmbeddedStore]:
    """A: causal scrubbing + visualization. B shares the rare one, C the common one, same cosine."""
    store = taxonomy_store(tmp_path / "paperkg.sqlite3")
    store.upsert_papers([
        bundle("A", unit(0), ["causal_scrubbing", "visualization"], authors=["Neel Nanda", "Ada"],
               models=["gpt2"], topics=["superposition"]),
        bundle("B", unit(0, 1), ["causal_scrubbing"]),
        bundle("C", unit(0, 2), ["visualization"]),
        *[bundle(f"D{i}", unit(10 + i), ["visualization"]) for i in range(6)],
        bundle("E", unit(30), [], authors=["Neel Nanda"]),
        bundle("F", unit(31), [], models=["gpt2"], topics=["superposition"]),
    ])
    yield store
    store.close()


def test_rare_shared_technique_counts_more(graph: EmbeddedStore) -> None:
    hits = {h.id: h for h in related(graph, "A", limit=20)}
    b, c = hits["B"], hits["C"]
    assert b.parts["cosine"] == pytest.approx(c.parts["cosine"], abs=1e-6)
    assert b.parts["techniques"] > c.parts["techniques"] > 0
    assert b.score > c.score
    assert "shares Causal Scrubbing" in b.reasons
    assert "shares Visualization" in c.reasons
    assert "cosine 0.71" in b.reasons
    # idf: 2 of the 11 papers use causal scrubbing, 8 use visualization
    idf_cs, idf_vis = np.log(1 + 11 / 2), np.log(1 + 11 / 8)
    assert b.parts["techniques"] == pytest.approx(idf_cs / (idf_cs + idf_vis), abs=1e-3)


def test_a_paper_whose_only_technique_is_common_gets_little_from_sharing_it(graph: EmbeddedStore) -> None:
    """Researcher QA: the part was normalised by the paper's own idf total, so for a paper with one
    technique any paper sharing it got the full part, "visualization" as much as "causal scrubbing"."""
    idf_cs, idf_vis = np.log(1 + 11 / 2), np.log(1 + 11 / 8)
    of_c = {h.id: h for h in related(graph, "C", limit=20)}  # C uses visualization only
    assert of_c["D0"].parts["techniques"] == pytest.approx(idf_vis / idf_cs, abs=1e-3)
    assert "shares Visualization" in of_c["D0"].reasons
    of_b = {h.id: h for h in related(graph, "B", limit=20)}  # B uses causal scrubbing only: the rarest
    assert of_b["A"].parts["techniques"] == pytest.approx(1.0, abs=1e-6)


def test_shared_authors_models_topics_are_reasons(graph: EmbeddedStore) -> None:
    hits = {h.id: h for h in related(graph, "A", limit=20)}
    assert "shared author Neel Nanda" in hits["E"].reasons
    assert "both study GPT-2" in hits["F"].reasons
    assert "both about Superposition" in hits["F"].reasons
    w = DEFAULT_WEIGHTS
    f = hits["F"]
    assert f.score == pytest.approx(w.models * 1.0 + w.topics * 1.0, abs=1e-4)  # cosine 0, nothing else


def test_a_related_technique_of_the_same_family_counts_half(tmp_path: Path) -> None:
    """ACDC and path patching are both CMA: a candidate using ACDC beats one using probing at the
    same cosine, scores half of an exact match, and says which of the paper's techniques it is
    related to."""
    store = taxonomy_store(tmp_path / "paperkg.sqlite3")
    try:
        store.upsert_papers([
            bundle("A", unit(0), ["path_patching"]),
            bundle("exact", unit(0, 1), ["path_patching"]),
            bundle("kin", unit(0, 2), ["acdc"]),
            bundle("other", unit(0, 3), ["probing"]),
            *[bundle(f"D{i}", unit(10 + i), ["probing", "acdc"]) for i in range(4)],
        ])
        hits = {h.id: h for h in related(store, "A", limit=10)}
        assert hits["exact"].parts["techniques"] == 1.0
        assert hits["kin"].parts["techniques"] == DEFAULT_WEIGHTS.family_credit
        assert hits["other"].parts["techniques"] == 0.0
        assert hits["exact"].score > hits["kin"].score > hits["other"].score
        assert hits["kin"].parts["related_techniques"] == ["acdc"]
        assert "related techniques ACDC ~ Path Patching" in hits["kin"].reasons
        assert not any(r.startswith("related techniques") for r in hits["other"].reasons)
    finally:
        store.close()


def test_score_parts_by_hand(tmp_path: Path) -> None:
    """Each part on its own (mutation audit: R1, R2, R3): a candidate pointing away from the paper gets
    0 from the cosine, never less; the topic share is of the paper's own topics (a candidate with more
    topics loses nothing); one shared author is half the author part, two are all of it."""
    store = taxonomy_store(tmp_path / "paperkg.sqlite3")
    try:
        store.upsert_papers([
            bundle("A", unit(0), [], authors=["Neel Nanda", "Ada Lovelace"], topics=["superposition"]),
            bundle("opposite", -unit(0), [], authors=["Neel Nanda"]),
            bundle("wider", unit(40), [], topics=["superposition", "polysemanticity", "learning_dynamics"]),
            bundle("both", unit(41), [], authors=["Ada Lovelace", "Neel Nanda"]),
        ])
        hits = {h.id: h for h in related(store, "A", limit=10)}
        w = DEFAULT_WEIGHTS
        opposite = hits["opposite"]
        assert opposite.parts["cosine"] == pytest.approx(-1.0)
        assert opposite.parts["authors"] == 0.5
        assert opposite.score == pytest.approx(w.authors * 0.5, abs=1e-6)
        wider = hits["wider"]
        assert (wider.parts["topics"], wider.parts["shared_topics"]) == (1.0, ["superposition"])
        assert wider.score == pytest.approx(w.topics * 1.0, abs=1e-6)
        both = hits["both"]
        assert both.parts["authors"] == 1.0
        assert "shared authors Ada Lovelace, Neel Nanda" in both.reasons
        assert both.score == pytest.approx(w.authors * 1.0, abs=1e-6)
        assert all(h.score >= 0 for h in hits.values())
    finally:
        store.close()
