"""Co-occurring counts stay the AND search's total when EVALUATES edges reach a Technique: a criterion
relabelled Technique by a taxonomy reload keeps its papers' EVALUATES edges and its refinements' REFINES
links, and the technique filter counts both (embedded store, real SQLite file)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from kg.embedded import EmbeddedStore
from kg.entities import EvaluationUse, Paper, PaperBundle, SearchFilters, TechniqueUse
from kg.schema import Label
from kg.taxonomy import Taxonomy


def _bundle(pid: str, techniques: tuple[str, ...], evaluations: tuple[str, ...]) -> PaperBundle:
    """A paper using some techniques and evaluating some criteria."""
    return PaperBundle(
        paper=Paper(id=pid, title=f"Paper {pid}", abstract="", arxiv_id=pid, authors=[], year=2024,
                    published="2024-01-15", sources=["arxiv"]),
        techniques=[TechniqueUse(t, "extracted", evidence=f"uses {t}", score=0.9) for t in techniques],
        evaluations=[EvaluationUse(e, "list") for e in evaluations],
    )


def test_cooccurring_counts_a_relabelled_criterion_as_the_and_search(
    tmp_path: Path, taxonomy: Taxonomy
) -> None:
    """faithfulness, relabelled Technique, is listed with the papers evaluating it or a refinement."""
    store = EmbeddedStore(tmp_path / "paperkg.sqlite3")
    try:
        store.init_schema()
        store.load_taxonomy(taxonomy.nodes)
        store.upsert_papers([
            _bundle("r1", ("probing",), ("faithfulness",)),
            _bundle("r2", ("probing", "sae"), ("automated_explanation_score",)),
            _bundle("r3", ("probing",), ()),
            _bundle("r4", ("sae",), ("faithfulness", "minimality")),
        ])
        node = next(n for n in taxonomy.nodes if n.id == "faithfulness")
        store.load_taxonomy([dataclasses.replace(node, label=Label.TECHNIQUE, parent=None)])
        # r1 evaluates faithfulness, r2 its refinement automated_explanation_score (kept: not reloaded).
        assert store.cooccurring_techniques("probing") == [("faithfulness", 2), ("sae", 1)]
        assert store.cooccurring_techniques("sae") == [("faithfulness", 2), ("probing", 1)]
        for node_id in ("probing", "sae"):
            for other, n in store.cooccurring_techniques(node_id, limit=100):
                both = SearchFilters(technique_ids=[node_id, other], technique_match="all")
                assert n == len(store.filter_ids(both)), (node_id, other)
    finally:
        store.close()
