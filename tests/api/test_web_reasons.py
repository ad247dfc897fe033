"""Why a paper is listed on a taxonomy node's page (api/web_reasons.py): the edges that put it there,
their source (list first) and evidence, and the refinement it came through."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from api.web_reasons import node_reasons
from kg.embedded import EmbeddedStore
from kg.entities import EvaluationUse, Finding, FindingAbout, TechniqueUse
from kg.explain import Labels
from kg.schema import Label
from tests.kg.test_related import bundle, unit
from tests.seed_store import taxonomy_store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EmbeddedStore]:
    """p1: CMA extracted and activation patching from the list; p2: evaluations and findings; p3: nothing."""
    s = taxonomy_store(tmp_path / "paperkg.sqlite3")
    p1 = bundle("p1", unit(0), [])
    p1.techniques = [TechniqueUse("cma", "extracted", evidence="We mediate the effect."),
                     TechniqueUse("activation_patching", "list", evidence="List TL;DR: patches heads"),
                     TechniqueUse("probing", "list")]
    p2 = bundle("p2", unit(1), [])
    p2.evaluations = [EvaluationUse("faithfulness", "list", evidence="Faithful circuits."),
                      EvaluationUse("automated_explanation_score", "extracted")]
    p2.findings = [
        Finding("p2-a", "Features are stored in superposition.", source="extracted",
                about=[FindingAbout(Label.TOPIC, "superposition")]),
        Finding("p2-b", "Superposition explains polysemantic neurons.", source="list",
                about=[FindingAbout(Label.TOPIC, "superposition"),
                       FindingAbout(Label.TOPIC, "polysemanticity")]),
    ]
    s.upsert_papers([p1, p2, bundle("p3", unit(2), ["probing"])])
    yield s
    s.close()


@pytest.fixture
def labels(store: EmbeddedStore) -> Labels:
    return Labels(store.taxonomy_nodes())


def test_a_technique_page_gives_the_node_and_its_refinements_list_first(
    store: EmbeddedStore, labels: Labels
) -> None:
    reasons = node_reasons(store, ["p1", "p3", "unknown"], "cma", labels)
    assert set(reasons) == {"p1", "p3"}  # an unknown id is skipped, a paper without a reason gets []
    assert reasons["p3"] == []
    assert reasons["p1"] == [
        {"id": "activation_patching", "name": "Activation Patching", "sources": ["list"],
         "evidence": ["List TL;DR: patches heads"], "via": "Activation Patching"},
        {"id": "cma", "name": "Causal Mediation Analysis (CMA)", "sources": ["extracted"],
         "evidence": ["We mediate the effect."], "via": None},
    ]
    # On the refinement's own page it is the node itself, so no "via".
    assert [r["via"] for r in node_reasons(store, ["p1"], "activation_patching", labels)["p1"]] == [None]


def test_an_evaluation_page_uses_the_evaluates_edges(store: EmbeddedStore, labels: Labels) -> None:
    reasons = node_reasons(store, ["p1", "p2"], "intrinsic_evaluation", labels)
    assert reasons["p1"] == []
    assert [(r["id"], r["sources"], r["evidence"], r["via"]) for r in reasons["p2"]] == [
        ("faithfulness", ["list"], ["Faithful circuits."], "Faithfulness"),
        ("automated_explanation_score", ["extracted"], [], "Automated Explanation Score"),
    ]


def test_a_topic_page_merges_the_findings_about_it(store: EmbeddedStore, labels: Labels) -> None:
    (reason,) = node_reasons(store, ["p2"], "superposition", labels)["p2"]
    assert reason["id"] == "superposition" and reason["name"] == "Superposition" and reason["via"] is None
    assert reason["sources"] == ["list", "extracted"]  # both findings' sources, once each, list first
    assert sorted(reason["evidence"]) == ["Features are stored in superposition.",
                                          "Superposition explains polysemantic neurons."]
