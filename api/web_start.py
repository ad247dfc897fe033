"""The start page's content: the taxonomy file's beginner's roadmap (the survey's Figure 2) as ordered
steps, each arrow's techniques with the papers to read first, and the survey as the first read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kg.explain import Labels
from kg.store import GraphStore
from kg.taxonomy import Roadmap, RoadmapEdge, RoadmapNode, Survey, Taxonomy

# Papers shown under a technique of an arrow: the most connected few, a first read, not a reading list
# (the technique's page has them all).
PAPERS_PER_TECHNIQUE = 3


@dataclass
class StartTechnique:
    """A technique named on an arrow, with its page (when the store has the node) and first papers."""

    id: str
    name: str
    linked: bool  # the store has the node, so /techniques/<id> answers
    papers: list[dict[str, Any]] = field(default_factory=list)  # {id, title, year}, most connected first
    total: int = 0  # papers using it (refinements included)
    summary: str | None = None  # what it is: the taxonomy file's summary


@dataclass
class StartArrow:
    """One way on from a step: to which step, on which answer, by which techniques."""

    target: RoadmapNode
    anchor: str  # the target step's element id on the page
    back: bool  # the target comes earlier in the flow (a loop: "No: generate another hypothesis")
    condition: str | None
    techniques: list[StartTechnique]
    other_names: tuple[str, ...]  # names on the arrow that are no technique ("Human Explainer")


@dataclass
class StartStep:
    """A box of a flow with its example and the arrows leaving it."""

    node: RoadmapNode
    anchor: str
    arrows: list[StartArrow]


@dataclass
class StartFlow:
    """One flow of the roadmap: its start box, the ways in, and the steps after it in reading order."""

    start: RoadmapNode
    anchor: str
    ways_in: list[StartArrow]
    steps: list[StartStep]


def step_anchor(flow_id: str, node_id: str) -> str:
    """The element id of a step: per flow, since flows share boxes (both end in Evaluation)."""
    return f"step-{flow_id}-{node_id}"


def start_flows(store: GraphStore, roadmap: Roadmap, taxonomy: Taxonomy, labels: Labels) -> list[StartFlow]:
    """The roadmap's flows as the page shows them: `taxonomy` is the file the roadmap comes from (names
    of its techniques), `labels` the store's nodes (a technique the store lacks is shown unlinked)."""
    techniques: dict[str, StartTechnique] = {}

    def technique(node_id: str) -> StartTechnique:
        """The technique with its most connected papers, read once however many arrows name it."""
        found = techniques.get(node_id)
        if found is None:
            node = taxonomy.by_id.get(node_id)
            linked = node_id in labels.nodes
            found = techniques[node_id] = StartTechnique(
                id=node_id, name=node.name if node else labels.name(node_id), linked=linked,
                summary=taxonomy.summaries.get(node_id))
            if linked:
                papers, found.total = store.papers_by_technique(
                    node_id, include_refinements=True, sort="centrality", limit=PAPERS_PER_TECHNIQUE)
                found.papers = [{"id": p.id, "title": p.title, "year": p.year} for p in papers]
        return found

    def arrows(flow_id: str, node_id: str, order: dict[str, int]) -> list[StartArrow]:
        """The arrows leaving a box, in the file's order."""
        out = []
        for edge in roadmap.outgoing(node_id):
            out.append(_arrow(flow_id, edge, roadmap, order, [technique(t) for t in edge.via]))
        return out

    flows = []
    for start, steps in roadmap.flows():
        order = {n.id: i for i, n in enumerate(steps)}
        flows.append(StartFlow(
            start=start, anchor=f"flow-{start.id}", ways_in=arrows(start.id, start.id, order),
            steps=[StartStep(node=n, anchor=step_anchor(start.id, n.id), arrows=arrows(start.id, n.id, order))
                   for n in steps if n.id != start.id],
        ))
    return flows


def _arrow(flow_id: str, edge: RoadmapEdge, roadmap: Roadmap, order: dict[str, int],
           techniques: list[StartTechnique]) -> StartArrow:
    """One arrow as the page shows it."""
    return StartArrow(
        target=roadmap.nodes[edge.target], anchor=step_anchor(flow_id, edge.target),
        back=order.get(edge.target, 0) <= order.get(edge.source, 0), condition=edge.condition,
        techniques=techniques, other_names=edge.via_text,
    )


def survey_read(store: GraphStore, survey: Survey | None) -> dict[str, Any] | None:
    """The first recommended read: the survey the roadmap comes from (the taxonomy file's meta survey),
    linked to arXiv, and to its page here when the store has it; None without a survey."""
    if survey is None:
        return None
    stored = store.get_papers([survey.arxiv_id]) if survey.arxiv_id else []
    return {"citation": survey.citation, "arxiv_id": survey.arxiv_id,
            "paper_id": stored[0].id if stored else None}
