"""Technique browse: the taxonomy tree with paper counts, technique detail pages, topics."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from kg.entities import Paper, TaxonomyNode, TechniqueCount
from kg.explain import Labels
from kg.schema import Label
from kg.store import GraphStore

SORTS = ("date", "centrality")

# The tree groups nodes by graph label under these keys.
TREE_GROUPS = {
    Label.TECHNIQUE: "techniques",
    Label.EVALUATION: "evaluations",
    Label.TOPIC: "topics",
    Label.OBJECT: "objects",
}


class UnknownNode(LookupError):
    """A taxonomy id that is not in the store."""


@dataclass
class TechniqueDetail:
    """One technique (or any taxonomy node with papers) and what the browser shows about it."""

    id: str
    label: str
    kind: str | None
    node_label: str
    parent: dict[str, str] | None
    refinements: list[dict[str, Any]]
    own_count: int
    total_count: int
    papers: list[Paper]
    papers_total: int
    sort: str
    limit: int
    offset: int
    cooccurring: list[dict[str, Any]] = field(default_factory=list)
    papers_per_year: dict[int, int] = field(default_factory=dict)
    # The papers of papers_total that papers_per_year leaves out (no year), so the two add up.
    papers_without_year: int = 0


def _node_dict(c: TechniqueCount, node: TaxonomyNode | None) -> dict[str, Any]:
    # The display name comes from the taxonomy node (TechniqueCount.label may be the graph label).
    return {"id": c.id, "label": node.name if node else c.label, "node_label": node.label if node else None,
            "kind": c.kind, "own_count": c.own_count, "total_count": c.total_count, "children": []}


def count_tree(
    counts: Sequence[TechniqueCount], nodes: Sequence[TaxonomyNode]
) -> dict[str, list[dict[str, Any]]]:
    """Nest counts by parent, grouped by graph label: {"techniques": [...], "topics": [...], ...}."""
    by_id = {n.id: n for n in nodes}
    graph_label = {n.id: n.label for n in nodes}
    order = {n.id: i for i, n in enumerate(nodes)}
    items = {c.id: _node_dict(c, by_id.get(c.id)) for c in counts}
    tree: dict[str, list[dict[str, Any]]] = {group: [] for group in TREE_GROUPS.values()}
    for c in sorted(counts, key=lambda c: (order.get(c.id, len(order)), c.id)):
        label = graph_label.get(c.id, Label.TECHNIQUE)
        if c.parent and (parent := items.get(c.parent)) is not None and graph_label.get(c.parent) == label:
            parent["children"].append(items[c.id])
        else:
            tree.setdefault(TREE_GROUPS.get(label, label.lower() + "s"), []).append(items[c.id])
    return tree


def technique_tree(store: GraphStore) -> dict[str, list[dict[str, Any]]]:
    """The taxonomy tree with own and total (refinements included) paper counts."""
    return count_tree(store.technique_counts(), store.taxonomy_nodes())


def technique_detail(
    store: GraphStore, technique_id: str, *, sort: str = "date", limit: int = 20, offset: int = 0,
    cooccurring_limit: int = 10,
) -> TechniqueDetail:
    """A taxonomy node's papers (paginated, newest first or most central), refinements,
    co-occurring techniques and papers per year (and how many have no year); works for techniques,
    evaluations, topics and objects alike. Raises UnknownNode."""
    if sort not in SORTS:
        raise ValueError(f"sort must be one of {', '.join(SORTS)}, not {sort!r}")
    nodes = store.taxonomy_nodes()
    labels = Labels(nodes)
    node = labels.nodes.get(technique_id)
    if node is None or node.label not in TREE_GROUPS:
        raise UnknownNode(f"unknown technique id: {technique_id}")
    counts = {c.id: c for c in store.technique_counts()}
    own = counts.get(technique_id)
    papers, total = store.papers_by_technique(
        technique_id, include_refinements=True, sort=sort, limit=limit, offset=offset
    )
    refinements = [
        {"id": n.id, "label": n.name, "own_count": counts[n.id].own_count if n.id in counts else 0,
         "total_count": counts[n.id].total_count if n.id in counts else 0}
        for n in nodes if n.parent == technique_id and n.label == node.label
    ]
    parent_node = labels.nodes.get(node.parent) if node.parent else None
    per_year = dict(sorted(store.papers_per_year(technique_id).items()))
    # papers_by_technique (with refinements) and papers_per_year count the same papers, the node's and
    # its refinements', each once; per year only the dated ones. The two are separate reads, so an
    # ingest between them could make the difference negative for a moment: never below 0.
    without_year = max(0, total - sum(per_year.values()))
    return TechniqueDetail(
        id=node.id, label=node.name, kind=node.kind, node_label=node.label,
        parent={"id": parent_node.id, "label": parent_node.name} if parent_node else None,
        refinements=refinements,
        own_count=own.own_count if own else 0, total_count=own.total_count if own else 0,
        papers=papers, papers_total=total, sort=sort, limit=limit, offset=offset,
        cooccurring=[
            {"id": t, "label": labels.name(t), "count": n}
            for t, n in store.cooccurring_techniques(technique_id, cooccurring_limit)
        ],
        papers_per_year=per_year, papers_without_year=without_year,
    )


def topics(store: GraphStore) -> list[dict[str, Any]]:
    """The Topic tree (findings categories) with paper counts."""
    return technique_tree(store).get("topics", [])
