"""A paper's neighbourhood for the graph view: paper -> techniques / evaluations / topics / models / authors
-> papers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from api.web_authors import author_href
from kg.entities import RelatedCandidate
from kg.explain import Labels
from kg.schema import Label
from kg.store import GraphStore
from kg.tex import display_text

MAX_PAPERS = 25
MAX_AUTHORS = 12
# How much each kind of shared node counts when picking which neighbouring papers to draw.
SHARE_WEIGHTS = {"techniques": 2.0, "topics": 1.0, "components": 1.0, "models": 1.0, "authors": 3.0}
_KIND_OF_LABEL = {Label.TECHNIQUE: "technique", Label.TOPIC: "topic", Label.OBJECT: "topic",
                  Label.COMPONENT: "component", Label.MODEL: "model", Label.EVALUATION: "evaluation"}
_BROWSABLE = {Label.TECHNIQUE, Label.TOPIC, Label.OBJECT, Label.EVALUATION}
# Nodes with no page of their own but a search filter, as the paper page links them (/search?model=gpt2).
_FILTERED = {Label.MODEL: "model", Label.COMPONENT: "component"}


def search_filter_url(parameter: str, node_id: str) -> str | None:
    """The search page filtered by a node (`/search?model=gpt2`); None outside a request (no URL to build)."""
    from flask import has_request_context, url_for

    if not has_request_context():
        return None
    return url_for("web.search", **{parameter: node_id})  # type: ignore[arg-type]


def _weight(c: RelatedCandidate) -> float:
    parts = {"techniques": c.shared_techniques, "topics": c.shared_topics, "components": c.shared_components,
             "models": c.shared_models, "authors": c.shared_authors}
    return sum(SHARE_WEIGHTS[kind] * len(items) for kind, items in parts.items())


def neighbourhood(
    store: GraphStore, paper_id: str, labels: Labels, *, paper_url: Callable[[str], str],
    node_url: Callable[[str], str], max_papers: int = MAX_PAPERS,
    filter_url: Callable[[str, str], str | None] = search_filter_url,
) -> dict[str, Any] | None:
    """Nodes and edges around a paper (None when the paper is unknown), and how many of its authors have
    no node ("truncated"). Labels are plain text."""
    detail = store.get_paper(paper_id)
    if detail is None:
        return None
    paper = detail.paper
    center = f"p:{paper.id}"
    nodes: dict[str, dict[str, Any]] = {}
    edges: list[dict[str, str]] = []
    edge_keys: set[tuple[str, str]] = set()

    def add_node(node_id: str, label: str, kind: str, href: str | None) -> str:
        # The canvas draws labels as text, as the page shows them: TeX in a title or name read, not raw.
        nodes.setdefault(node_id, {"id": node_id, "label": display_text(label), "kind": kind, "href": href})
        return node_id

    def add_edge(source: str, target: str, kind: str) -> None:
        if (source, target) not in edge_keys and source != target:
            edge_keys.add((source, target))
            edges.append({"source": source, "target": target, "kind": kind})

    def taxonomy_node(node_id: str, fallback_label: str | None = None) -> str:
        graph_label = labels.label(node_id) or fallback_label or Label.TECHNIQUE
        href = (node_url(node_id) if graph_label in _BROWSABLE
                else filter_url(_FILTERED[graph_label], node_id) if graph_label in _FILTERED else None)
        return add_node(f"n:{node_id}", labels.name(node_id), _KIND_OF_LABEL.get(graph_label, "topic"), href)

    add_node(center, paper.title, "center", paper_url(paper.id))
    # The paper's own edges before its findings' ABOUT: an edge is drawn once (add_edge), and a model
    # the paper STUDIES that a finding is also about is "studies", not "about".
    for use in detail.techniques:
        add_edge(center, taxonomy_node(use.technique_id, Label.TECHNIQUE), "uses")
    for evaluation in detail.evaluations:
        add_edge(center, taxonomy_node(evaluation.evaluation_id, Label.EVALUATION), "evaluates")
    for model in detail.models:
        add_edge(center, taxonomy_node(model.id, Label.MODEL), "studies")
    for finding in detail.findings:
        for about in finding.about:
            if about.label in (Label.TOPIC, Label.OBJECT, Label.COMPONENT, Label.MODEL):
                add_edge(center, taxonomy_node(about.id, about.label), "about")
    author_ids: dict[str, str] = {}
    for name in paper.authors[:MAX_AUTHORS]:
        author_ids[name.casefold()] = add_node(f"a:{name.casefold()}", name, "author", author_href(name))
        add_edge(center, author_ids[name.casefold()], "authored")

    candidates = [c for c in store.related_candidates(paper.id, limit=200) if c.id != paper.id]
    candidates.sort(key=lambda c: (-_weight(c), c.id))
    chosen = candidates[:max_papers]
    titles = {p.id: p.title for p in store.get_papers([c.id for c in chosen])}
    listed = []
    for cand in chosen:
        if cand.id not in titles:
            continue
        node = add_node(f"p:{cand.id}", titles[cand.id], "paper", paper_url(cand.id))
        shared_names = []
        for group, fallback in (("shared_techniques", Label.TECHNIQUE), ("shared_topics", Label.TOPIC),
                                ("shared_components", Label.COMPONENT), ("shared_models", Label.MODEL)):
            for node_id in getattr(cand, group):
                hub = taxonomy_node(node_id, fallback)
                add_edge(center, hub, "shares")
                add_edge(node, hub, "shares")
                shared_names.append(labels.name(node_id))
        for author in cand.shared_authors:
            key = author.casefold()
            hub = author_ids.get(key) or add_node(f"a:{key}", author, "author", author_href(author))
            add_edge(center, hub, "authored")
            add_edge(node, hub, "authored")
            shared_names.append(author)
        listed.append({"id": cand.id, "label": display_text(titles[cand.id]),
                       "shared": [display_text(n) for n in shared_names]})
    # Authors past MAX_AUTHORS get no node unless a neighbour shares them: say how many are not drawn.
    left_out = len({name.casefold() for name in paper.authors} - {n["id"][2:] for n in nodes.values()
                                                                   if n["kind"] == "author"})
    return {"center": center, "paper": paper, "nodes": list(nodes.values()), "edges": edges, "papers": listed,
            "truncated": {"authors": left_out}}
