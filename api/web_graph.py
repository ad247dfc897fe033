"""A paper's neighbourhood for the graph view: paper -> techniques / evaluations / topics / models / authors
-> papers, ranked by the related-paper score (kg/related.py), plus its closest relatives sharing nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from api.web_authors import author_href
from kg.entities import RelatedCandidate
from kg.explain import Labels
from kg.schema import Label
from kg.store import GraphStore
from kg.tex import display_text

if TYPE_CHECKING:
    from kg.related import RelatedHit

MAX_PAPERS = 25
MAX_AUTHORS = 12
# The paper page's related list (api/web.py RELATED_LIMIT): of its papers, those sharing no node drawn here
# get a "similar" edge, at most MAX_SIMILAR, so the closest relatives are in the picture.
RELATED_TOP = 10
MAX_SIMILAR = 5
# Below this abstract cosine a related paper sharing nothing is not called "similar" (QA: an off-topic
# record got five "similar" edges at cosine 0.04-0.15). On the seed corpus every pair of papers the
# awesome list files in the same (sub)section is at 0.27 or more (180 pairs, 5th percentile 0.36).
SIMILAR_MIN_COSINE = 0.25
# How much each kind of shared node counts: only to order papers the related ranking did not score.
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
    """Nodes and edges around a paper (None when the paper is unknown): its own nodes, the papers sharing
    one (the most related first, at most `max_papers`), up to MAX_SIMILAR of its related top papers that
    share none, at cosine SIMILAR_MIN_COSINE or more ("similar" edges with the related list's reason), and
    how many authors and sharing papers have no node ("truncated"). Labels are plain text."""
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

    def add_edge(source: str, target: str, kind: str, **extra: str) -> None:
        if (source, target) not in edge_keys and source != target:
            edge_keys.add((source, target))
            edges.append({"source": source, "target": target, "kind": kind, **extra})

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
    # The related-paper score orders them (QA: ties broken by id cut slug ids first, and a paper sharing
    # only a common topic was drawn over one of the paper's related top 10), as /api/papers/<id>/related.
    hits = _ranked_hits(store, paper.id, labels, {c.id for c in candidates}, max_papers)
    rank = {h.id: i for i, h in enumerate(hits)}
    candidates.sort(key=lambda c: (rank.get(c.id, len(rank)), -_weight(c), c.id))
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
    # The related list's top papers that share nothing (a sharing paper cut by the cap is not "similar"),
    # and only with an abstract near this one's: a stranger the vector search filled the list with is not.
    sharing = {c.id for c in candidates}
    similar: list[dict[str, str]] = []
    for hit in hits[:RELATED_TOP]:
        if len(similar) >= MAX_SIMILAR:
            break
        if f"p:{hit.id}" in nodes or hit.id in sharing or hit.parts.get("cosine", 0.0) < SIMILAR_MIN_COSINE:
            continue
        reason = similar_reason(hit.reasons)
        node = add_node(f"p:{hit.id}", hit.title, "paper", paper_url(hit.id))
        add_edge(center, node, "similar", reason=reason)
        similar.append({"id": hit.id, "label": display_text(hit.title), "reason": reason})
    # Authors past MAX_AUTHORS get no node unless a neighbour shares them: say how many are not drawn.
    left_out = len({name.casefold() for name in paper.authors} - {n["id"][2:] for n in nodes.values()
                                                                   if n["kind"] == "author"})
    # How each of the paper's own nodes hangs off it (uses, evaluates, studies, about), for the text list.
    relations = {e["target"]: e["kind"] for e in edges if e["source"] == center}
    return {"center": center, "paper": paper, "nodes": list(nodes.values()), "edges": edges, "papers": listed,
            "similar": similar, "similar_min_cosine": SIMILAR_MIN_COSINE, "relations": relations,
            "sharing": len(candidates),
            "opens": what_a_click_opens({n["kind"] for n in nodes.values()}),
            "truncated": {"authors": left_out, "papers": len(candidates) - len(listed)}}


# What a click on a node opens, by kind, as the text list links them (the page's hint names only kinds drawn).
_OPENS = ((("paper", "technique", "evaluation", "topic"), "to open its page"),
          (("model", "component"), "to search for its papers"), (("author",), "to open their page"))


def what_a_click_opens(kinds: set[str]) -> str:
    """"a paper or technique to open its page; a model to search for its papers" for the kinds drawn."""
    clauses = []
    for group, effect in _OPENS:
        present = [kind for kind in group if kind in kinds]
        if present:
            names = ", ".join(present[:-1]) + (" or " if len(present) > 1 else "") + present[-1]
            clauses.append(f"{'an' if names[0] in 'aeiou' else 'a'} {names} {effect}")
    return "; ".join(clauses)


def similar_reason(reasons: list[str]) -> str:
    """The related list's reasons as an edge's words: "cosine 0.67" reads "similar abstract, cosine 0.67"."""
    return "; ".join(f"similar abstract, {r}" if r.startswith("cosine ") else r for r in reasons)


def _ranked_hits(store: GraphStore, paper_id: str, labels: Labels, sharing: set[str], wanted: int
                 ) -> list[RelatedHit]:
    """The paper's related papers, best first, as the paper page and /api/papers/<id>/related rank them,
    long enough to hold its top `wanted` sharing papers (or all of them) and its related top RELATED_TOP."""
    from kg.related import related  # numpy and the scoring: only when a graph is drawn

    # related() scores every sharing paper (its graph candidates are these) and returns a prefix of its
    # ranking: the sharing papers in a prefix are the best of them. Papers sharing nothing take places
    # too (QA: asking for as many as there are sharing papers left the last ones unranked), so the
    # prefix is doubled until it holds enough of them or the whole ranking.
    need = min(wanted, len(sharing))
    limit = max(RELATED_TOP, 2 * len(sharing))
    while True:
        hits = related(store, paper_id, limit=limit, taxonomy_nodes=list(labels.nodes.values()))
        if len(hits) < limit or sum(h.id in sharing for h in hits) >= need:
            return hits
        limit *= 2
