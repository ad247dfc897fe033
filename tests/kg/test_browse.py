"""Technique browse (kg/browse.py): the count tree nested by parent within a graph label, and a node's
detail (papers, refinements, parent, co-occurring techniques, papers per year) on a real store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kg.browse import UnknownNode, count_tree, technique_detail, technique_tree, topics
from kg.embedded import EmbeddedStore
from kg.entities import TaxonomyNode, TechniqueCount
from kg.schema import Label
from tests.kg.test_related import bundle, unit
from tests.seed_store import taxonomy_store


def test_count_tree_nests_refinements_and_groups_by_graph_label() -> None:
    nodes = [
        TaxonomyNode(Label.TECHNIQUE, "patching", "Patching", kind="figure"),
        TaxonomyNode(Label.TECHNIQUE, "path", "Path patching", parent="patching"),
        TaxonomyNode(Label.TOPIC, "features", "Features"),
        TaxonomyNode(Label.OBJECT, "neurons", "Neurons", parent="features"),  # another label: not nested
        TaxonomyNode(Label.EVALUATION, "faithfulness", "Faithfulness"),
        TaxonomyNode(Label.MODEL, "gpt2", "GPT-2"),
    ]
    counts = [  # in another order than the taxonomy's: the tree follows the taxonomy
        TechniqueCount("gpt2", Label.MODEL, None, None, 4, 4),
        TechniqueCount("path", Label.TECHNIQUE, "patching", None, 2, 2),
        TechniqueCount("orphan", Label.TECHNIQUE, None, None, 1, 1),  # not in the taxonomy: last
        TechniqueCount("neurons", Label.OBJECT, "features", None, 1, 1),
        TechniqueCount("patching", Label.TECHNIQUE, None, "figure", 1, 3),
        TechniqueCount("features", Label.TOPIC, None, None, 0, 0),
        TechniqueCount("faithfulness", Label.EVALUATION, None, None, 5, 5),
    ]
    tree = count_tree(counts, nodes)
    assert list(tree) == ["techniques", "evaluations", "topics", "objects", "models"]
    assert [t["id"] for t in tree["techniques"]] == ["patching", "orphan"]
    patching = tree["techniques"][0]
    assert {k: v for k, v in patching.items() if k != "children"} == {
        "id": "patching", "label": "Patching", "node_label": Label.TECHNIQUE, "kind": "figure",
        "own_count": 1, "total_count": 3}
    children = [(c["id"], c["label"], c["total_count"]) for c in patching["children"]]
    assert children == [("path", "Path patching", 2)]
    assert tree["techniques"][1]["node_label"] is None
    assert [t["id"] for t in tree["topics"]] == ["features"] and tree["topics"][0]["children"] == []
    assert [t["id"] for t in tree["objects"]] == ["neurons"]
    assert [(t["id"], t["label"]) for t in tree["models"]] == [("gpt2", "GPT-2")]
    assert count_tree([], nodes) == {"techniques": [], "evaluations": [], "topics": [], "objects": []}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EmbeddedStore]:
    """Papers on CMA's refinements (one per year, 2021-2023), one of them also probing; a probing-only one."""
    s = taxonomy_store(tmp_path / "paperkg.sqlite3")
    bundles = [
        bundle("ap-2021", unit(0), ["activation_patching"], topics=["superposition"]),
        bundle("pp-2022", unit(1), ["path_patching", "probing"]),
        bundle("ap-pp-2023", unit(2), ["activation_patching", "path_patching", "probing"]),
        bundle("probing-2023", unit(3), ["probing"]),
    ]
    for b in bundles:
        b.paper.year = int(b.paper.id[-4:])
        b.paper.published = f"{b.paper.year}-06-01"
    s.upsert_papers(bundles)
    yield s
    s.close()


def test_the_tree_counts_a_paper_once_under_a_node_whose_refinements_it_uses(store: EmbeddedStore) -> None:
    tree = technique_tree(store)
    cma = next(t for t in tree["techniques"] if t["id"] == "cma")
    assert (cma["own_count"], cma["total_count"]) == (0, 3)
    children = {c["id"]: (c["own_count"], c["total_count"]) for c in cma["children"]}
    assert children["activation_patching"] == (2, 2) and children["path_patching"] == (2, 2)
    probing = next(t for t in tree["techniques"] if t["id"] == "probing")
    assert (probing["own_count"], probing["total_count"]) == (3, 3)
    assert topics(store) == tree["topics"]
    superposition = next(t for t in topics(store) if t["id"] == "superposition")
    assert superposition["total_count"] == 1


def test_detail_of_a_node_with_refinements(store: EmbeddedStore) -> None:
    detail = technique_detail(store, "cma", limit=2)
    assert (detail.label, detail.node_label, detail.parent) == (
        "Causal Mediation Analysis (CMA)", Label.TECHNIQUE, None)
    assert (detail.own_count, detail.total_count, detail.papers_total) == (0, 3, 3)
    assert [p.id for p in detail.papers] == ["ap-pp-2023", "pp-2022"]  # newest first, one page
    refinements = {r["id"]: (r["label"], r["own_count"]) for r in detail.refinements}
    assert refinements["activation_patching"] == ("Activation Patching", 2)
    assert refinements["acdc"][1] == 0  # a refinement no paper uses is listed with no papers
    assert detail.papers_per_year == {2021: 1, 2022: 1, 2023: 1}
    assert list(detail.papers_per_year) == sorted(detail.papers_per_year)
    assert [p.id for p in technique_detail(store, "cma", limit=2, offset=2).papers] == ["ap-2021"]


def test_detail_of_a_refinement_names_its_parent_and_cooccurring_techniques(store: EmbeddedStore) -> None:
    detail = technique_detail(store, "path_patching")
    assert detail.parent == {"id": "cma", "label": "Causal Mediation Analysis (CMA)"}
    assert detail.refinements == []
    assert {c["id"]: (c["label"], c["count"]) for c in detail.cooccurring}["probing"] == ("Probing", 2)
    assert {p.id for p in detail.papers} == {"pp-2022", "ap-pp-2023"}
    topic = technique_detail(store, "superposition")
    assert topic.node_label == Label.TOPIC and [p.id for p in topic.papers] == ["ap-2021"]


def test_unknown_nodes_and_sorts_are_refused(store: EmbeddedStore) -> None:
    with pytest.raises(UnknownNode, match="not_a_node"):
        technique_detail(store, "not_a_node")
    with pytest.raises(UnknownNode, match="gpt2"):  # a model is a node, but has no browse page
        technique_detail(store, "gpt2")
    with pytest.raises(ValueError, match="sort must be one of date, centrality, not 'random'"):
        technique_detail(store, "cma", sort="random")
    assert {p.id for p in technique_detail(store, "probing", sort="centrality").papers} == {
        "pp-2022", "ap-pp-2023", "probing-2023"}


def test_the_tree_and_details_follow_writes_of_another_store(store: EmbeddedStore) -> None:
    def cma_counts() -> tuple[int, int]:
        cma = next(t for t in technique_tree(store)["techniques"] if t["id"] == "cma")
        return cma["own_count"], cma["total_count"]

    assert cma_counts() == (0, 3) and technique_detail(store, "superposition").total_count == 1
    other = EmbeddedStore(store.path)  # another process's store on the same file (an ingest)
    other.upsert_papers([bundle("eap-2024", unit(4), ["eap"], topics=["superposition"])])
    assert cma_counts() == (0, 4)
    detail = technique_detail(store, "cma")
    assert (detail.total_count, detail.papers_total) == (4, 4)
    assert {r["id"]: r["own_count"] for r in detail.refinements}["eap"] == 1
    assert next(t for t in topics(store) if t["id"] == "superposition")["total_count"] == 2
    other.delete_paper("ap-2021")
    assert cma_counts() == (0, 3) and technique_detail(store, "superposition").total_count == 1
    other.close()


def test_detail_counts_the_papers_without_a_year(store: EmbeddedStore) -> None:
    """Analyst QA: papers_per_year leaves out papers without a year, so it summed to one less than the
    node's papers, silently. papers_without_year counts them, each once, refinements included as in
    papers_total, so the two add up to it."""
    assert [technique_detail(store, t).papers_without_year for t in ("cma", "probing")] == [0, 0]
    undated = [bundle("pp-undated", unit(5), ["path_patching"]),  # reaches cma through a refinement
               bundle("cma-pp-undated", unit(6), ["cma", "path_patching"])]  # the node and a refinement
    for b in undated:
        b.paper.year = None
    store.upsert_papers(undated)
    detail = technique_detail(store, "cma", limit=1)
    assert detail.papers_per_year == {2021: 1, 2022: 1, 2023: 1}
    assert (detail.papers_total, detail.total_count, detail.papers_without_year) == (5, 5, 2)
    assert sum(detail.papers_per_year.values()) + detail.papers_without_year == detail.papers_total
    assert technique_detail(store, "path_patching").papers_without_year == 2
    assert technique_detail(store, "activation_patching").papers_without_year == 0
    assert technique_detail(store, "probing").papers_without_year == 0
