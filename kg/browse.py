"""Technique browse: the taxonomy tree with paper counts, technique detail pages, topics, models and
components."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from kg.entities import ListRow, Paper, PaperDetail, SearchFilters, TaxonomyNode, TechniqueCount
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
    # The evaluation criteria of the node's papers, each counted as the AND search of the two, as
    # `cooccurring` counts techniques.
    cooccurring_evaluations: list[dict[str, Any]] = field(default_factory=list)
    papers_per_year: dict[int, int] = field(default_factory=dict)
    # The papers of papers_total that papers_per_year leaves out (no year), so the two add up.
    papers_without_year: int = 0
    # The papers of the refinements, each once (its refinements' own refinements included): less than the
    # refinements' counts added up when a paper is tagged with two of them. Counted only when two or more
    # refinements have papers (else it is that one's count, or 0).
    refinements_papers: int = 0


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
    refinements: list[dict[str, Any]] = [
        {"id": n.id, "label": n.name, "own_count": counts[n.id].own_count if n.id in counts else 0,
         "total_count": counts[n.id].total_count if n.id in counts else 0}
        for n in nodes if n.parent == technique_id and n.label == node.label
    ]
    with_papers = [r["id"] for r in refinements if r["total_count"]]
    refinements_papers = (store.filter_page(_node_filter(node, with_papers), limit=0)[1]
                          if len(with_papers) > 1 else sum(r["total_count"] for r in refinements))
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
            for t, n in cooccurring_techniques(store, technique_id, labels, cooccurring_limit)
        ],
        cooccurring_evaluations=[
            {"id": e, "label": labels.name(e), "count": n}
            for e, n in cooccurring_evaluations(store, node, labels, counts, cooccurring_limit)
        ],
        papers_per_year=per_year, papers_without_year=without_year, refinements_papers=refinements_papers,
    )


def _node_filter(node: TaxonomyNode, ids: list[str]) -> SearchFilters:
    """The search filter taking `ids`, nodes of `node`'s label: the technique filter for techniques and
    criteria, the topic filter for topics and fundamental objects (either's refinements included)."""
    if node.label in (Label.TECHNIQUE, Label.EVALUATION):
        return SearchFilters(technique_ids=ids)
    return SearchFilters(topic_ids=ids)


# How many more co-occurring techniques than shown are asked of the store: an ancestor listed with the
# same count as its refinement is dropped (without_repeated_ancestors), and the list is filled from
# further down. A chain of refinements is at most a few deep in the taxonomy, so this many is enough.
COOCCURRING_OVERFETCH = 3


def without_repeated_ancestors(
    entries: Sequence[tuple[str, int]], labels: Labels
) -> list[tuple[str, int]]:
    """The entries (node id, AND-search count) without each ancestor whose count equals that of one of its
    listed refinements: the ancestor's papers include the refinement's, so an equal count is the same
    papers, listed again under another name (transcoder: "attribution_graph 2, attribution_patching 2,
    cma 2"). The order is kept."""
    counts = dict(entries)
    repeated = {a for node_id, n in entries for a in labels.ancestors(node_id) if counts.get(a) == n}
    return [(node_id, n) for node_id, n in entries if node_id not in repeated]


def cooccurring_techniques(store: GraphStore, node_id: str, labels: Labels, limit: int = 10
                           ) -> list[tuple[str, int]]:
    """The store's co-occurring techniques of a node (GraphStore.cooccurring_techniques: each count the AND
    search of the two), an ancestor repeating a listed refinement's papers left out, `limit` at most."""
    fetched = store.cooccurring_techniques(node_id, max(0, limit) * COOCCURRING_OVERFETCH)
    return without_repeated_ancestors(fetched, labels)[:max(0, limit)]


def cooccurring_evaluations(store: GraphStore, node: TaxonomyNode, labels: Labels,
                            counts: dict[str, TechniqueCount], limit: int = 10) -> list[tuple[str, int]]:
    """The evaluation criteria used by the papers touching a node, most papers first (then by id): each
    count is the search the page links to, the node and the criterion (either's refinements counted) with
    the technique filter's "all" (the topic filter and the criterion for a topic or object). The node's
    family and its ancestors are left out, as GraphStore.cooccurring_techniques leaves them out; so is an
    ancestor repeating a listed refinement's papers. One count per criterion with papers (a taxonomy has
    a handful: the survey's has six)."""
    mine = labels.descendants(node.id) | set(labels.ancestors(node.id))
    found: list[tuple[str, int]] = []
    for c in counts.values():
        if labels.label(c.id) != Label.EVALUATION or c.id in mine or not c.total_count:
            continue
        both = (SearchFilters(technique_ids=[node.id, c.id], technique_match="all")
                if node.label in (Label.TECHNIQUE, Label.EVALUATION)
                else SearchFilters(topic_ids=[node.id], technique_ids=[c.id]))
        n = store.filter_page(both, limit=0)[1]
        if n:
            found.append((c.id, n))
    found.sort(key=lambda e: (-e[1], e[0]))
    return without_repeated_ancestors(found, labels)[:max(0, limit)]


def topics(store: GraphStore) -> list[dict[str, Any]]:
    """The Topic tree (findings categories) with paper counts."""
    return technique_tree(store).get("topics", [])


# -- models and components: what the model and component filters take ----------------------------

def _filter_entry(node: TaxonomyNode, count: int, **extra: Any) -> dict[str, Any]:
    return {"id": node.id, "label": node.name, "aliases": list(node.aliases), **extra, "count": count}


def models(store: GraphStore, nodes: Iterable[TaxonomyNode] | None = None) -> list[dict[str, Any]]:
    """Every model of the taxonomy (`nodes`, default the store's), in its order, with its distinct papers:
    the search's total for the model filter alone (0 for a model no paper has yet; the filter takes it)."""
    return [_filter_entry(n, store.filter_page(SearchFilters(model_ids=[n.id]), limit=0)[1])
            for n in (store.taxonomy_nodes() if nodes is None else nodes) if n.label == Label.MODEL]


def components(store: GraphStore, nodes: Iterable[TaxonomyNode] | None = None) -> list[dict[str, Any]]:
    """Every component of the taxonomy (`nodes`, default the store's) with its parent component (None at
    the top) and its distinct papers, sub-components' included: the search's total for the component
    filter alone. Each parent comes right before its sub-components, else the taxonomy's order."""
    taxonomy = store.taxonomy_nodes() if nodes is None else nodes
    nodes = [n for n in taxonomy if n.label == Label.COMPONENT]
    ids = {n.id for n in nodes}
    # Only a component is a parent here, as in the web's component select: a file may name another
    # label's node as one.
    parent = {n.id: n.parent if n.parent in ids and n.parent != n.id else None for n in nodes}
    children: dict[str | None, list[TaxonomyNode]] = {}
    for n in nodes:
        children.setdefault(parent[n.id], []).append(n)
    ordered: dict[str, TaxonomyNode] = {}

    def walk(above: str | None) -> None:
        for n in children.get(above, []):
            if n.id not in ordered:  # a parent loop of a hand-edited file must not recurse forever
                ordered[n.id] = n
                walk(n.id)

    walk(None)
    for n in nodes:  # those in a parent loop: no top component leads to them
        ordered.setdefault(n.id, n)
    return [_filter_entry(n, store.filter_page(SearchFilters(component_ids=[n.id]), limit=0)[1],
                          parent=parent[n.id])
            for n in ordered.values()]


# -- what a node is: its other names and a definition from the awesome list ----------------------

# At most this many list papers are read for a node's definition (one get_paper each, ~0.2 ms): the
# awesome list has a few hundred rows in all, so this only bounds a store that lists far more.
MAX_DEFINITION_CANDIDATES = 300
# A TL;DR that says the paper brings the thing in: "proposed", "introduces", "defined", "coined",
# "the hypothesis of". Rows that only use or study a technique ("used activation patching", "provides
# advice for training SAEs") describe a paper, not the technique.
_INTRODUCES = re.compile(r"\b(?:propos|introduc|defin|coin|hypothes)\w*", re.IGNORECASE)
# How many words after the introducing word the node's name may come: "proposed ablation-based
# techniques for the faithfulness" (5th), not "proposes to use mean-ablation for activation and path
# patching" (path patching is 7th and 8th: the row is about mean ablation).
INTRODUCED_WITHIN = 6
# Word-form endings folded away when comparing names ("knocked out" is "knockout", "faithful" is
# "faithfulness"), longest first.
_ENDINGS = ("ness", "ing", "ful", "ed", "es", "s")


@dataclass(frozen=True)
class Definition:
    """What a taxonomy node is, in the awesome list's words: one row's TL;DR and where it comes from."""

    text: str
    paper_id: str
    paper_title: str
    section_path: list[str]


def _word_stem(word: str) -> str:
    """The word without the first of _ENDINGS it ends in and is long enough to lose ("knocked" -> "knock")."""
    for ending in _ENDINGS:
        # A plain plural "s" of a short acronym too ("SAEs"); the other endings only of longer words.
        if len(word) > max(3, len(ending) + 3) - (ending == "s") and word.endswith(ending):
            return word[: -len(ending)]
    return word


def _is_cue_phrase(alias: str) -> bool:
    """A phrase extraction matches that is no name: a verb phrase ("setting activations to zero",
    "projecting into the vocabulary space", "automatically explain neurons"), a measurement ("loss
    recovered") or a description ("algorithm implemented by the model")."""
    words = alias.casefold().split()
    return len(words) > 1 and (words[0].endswith(("ing", "ly")) or words[-1].endswith("ed")
                               or "the" in words)


def _name_key(text: str) -> str:
    """A name folded to compare word forms: case, spaces, hyphens and each word's ending ignored."""
    return "".join(_word_stem(w) for w in re.findall(r"[^\W_]+", text.casefold()))


def _bare_name(name: str) -> str:
    """The node's name without a trailing parenthesised acronym ("Sparse Autoencoder (SAE)")."""
    return re.sub(r"\s*\([^)]*\)\s*$", "", name).strip() or name


def short_name(name: str) -> str:
    """A node's name said briefly, as a count names it ("2 tagged CMA itself"): the acronym of "Causal
    Mediation Analysis (CMA)", else the whole name."""
    if name.endswith(")") and " (" in name:
        acronym = name[name.rindex(" (") + 2:-1].strip()
        if acronym:
            return acronym
    return name


def other_names(node: TaxonomyNode, most: int = 12) -> list[str]:
    """The node's aliases that are other names for it: not its own name again, not a word form of its
    name or of a name already given ("faithful", "knocked out", "probes"), no cue phrase (_is_cue_phrase)
    and none of its ambiguous aliases (extraction cues counted only beside another term, or a parent's
    name)."""
    ambiguous = {a.casefold() for a in node.ambiguous_aliases}
    seen = {_name_key(node.name), _name_key(_bare_name(node.name))}
    out: list[str] = []
    for alias in node.aliases:
        key = _name_key(alias)
        if alias.casefold() in ambiguous or not key or key in seen or _is_cue_phrase(alias):
            continue
        # A word form of the name or of a shown alias ("faithful" of "faithfulness"): the longer folded
        # form starts with the shorter whole one.
        if any(key.startswith(s) or s.startswith(key) for s in seen if min(len(key), len(s)) >= 5):
            continue
        seen.add(key)
        out.append(alias)
        if len(out) == most:
            break
    return out


def _name_pattern(node: TaxonomyNode) -> re.Pattern[str] | None:
    """Whole-word matches of the node's name and its unambiguous aliases (acronyms in capitals only)."""
    ambiguous = {a.casefold() for a in node.ambiguous_aliases}
    phrases = {node.name, _bare_name(node.name), *(a for a in node.aliases if a.casefold() not in ambiguous)}
    acronym = re.search(r"\(([^)]+)\)\s*$", node.name)
    if acronym:
        phrases.add(acronym.group(1))
    parts = []
    for phrase in sorted(p.strip() for p in phrases if p.strip()):
        words = [re.escape(w) for w in re.split(r"[\s-]+", phrase) if w]
        body = r"[\s-]+".join(words)
        if phrase.isupper():  # "SAE", "CMA": never the lower-case word
            parts.append(body)
        else:
            parts.append(f"(?i:{body}s?)")
    if not parts:
        return None
    return re.compile(r"(?<![\w-])(?:" + "|".join(parts) + r")(?![\w-])")


def _names(pattern: re.Pattern[str], text: str | None) -> bool:
    """Whether the text (if any) names the node whose name pattern this is."""
    return bool(text) and pattern.search(text or "") is not None


def _list_tagged(detail: PaperDetail, node: TaxonomyNode) -> bool:
    """Whether the list's Techniques or Evaluation column tags the paper with the node."""
    uses: Iterable[Any] = (*((u.technique_id, u.source) for u in detail.techniques),
                           *((e.evaluation_id, e.source) for e in detail.evaluations))
    return any(node_id == node.id and source == "list" for node_id, source in uses)


def node_definition(store: GraphStore, node: TaxonomyNode) -> Definition | None:
    """The awesome-list TL;DR that says what the node is, or None. A row qualifies when
    (1) its paper is tied to the node: the list's Techniques/Evaluation column tags the paper with it, or
        the paper's title names it (its name or an unambiguous alias, whole words); and
    (2) its TL;DR introduces the node: a word saying the paper brings something in ("proposed",
        "introduced", "defined", "coined", "the hypothesis of") with the node named within the
        INTRODUCED_WITHIN words after it ("proposed the “logit lens” technique"), or such a word in a
        row whose own Techniques/Evaluation cell names the node.
    Rows that only use or study it ("used activation patching to ...") describe a paper, not the thing.
    Of those, a row whose paper title names the node comes first (the paper about the thing), then one
    whose TL;DR introduces it by name, then the oldest paper, then the list's order. Refinements' rows do
    not count: an Activation Patching row does not define Causal Mediation Analysis."""
    pattern = _name_pattern(node)
    if pattern is None:
        return None
    sections = [str(s["id"]) for s in store.list_sections()]
    if not sections:
        return None
    listed = store.filter_ids(SearchFilters(section_ids=sections))
    on_node = (SearchFilters(topic_ids=[node.id], include_refinements=False)
               if node.label in (Label.TOPIC, Label.OBJECT)
               else SearchFilters(technique_ids=[node.id], include_refinements=False))
    candidates = sorted(listed & store.filter_ids(on_node))[:MAX_DEFINITION_CANDIDATES]
    best: tuple[tuple[Any, ...], Definition] | None = None
    for pid in candidates:
        detail = store.get_paper(pid)
        if detail is None:
            continue
        title_names = _names(pattern, detail.paper.title)
        if not (title_names or _list_tagged(detail, node)):
            continue
        for row in detail.list_rows:
            if not row.tldr or not _INTRODUCES.search(row.tldr):
                continue
            by_name = _introduces(pattern, row.tldr)
            if not (by_name or _row_cell_names(pattern, row)):
                continue
            key = (not title_names, not by_name, detail.paper.year or 10_000, row.line or 1 << 30, pid)
            if best is None or key < best[0]:
                best = (key, Definition(" ".join(row.tldr.split()), pid, detail.paper.title,
                                        list(row.section_path) or [row.section_title]))
    return best[1] if best else None


def _introduces(pattern: re.Pattern[str], tldr: str) -> bool:
    """Whether an introducing word of the TL;DR is followed closely by the node's name."""
    for cue in _INTRODUCES.finditer(tldr):
        window = " ".join(tldr[cue.end():].split()[:INTRODUCED_WITHIN])
        if pattern.search(window):
            return True
    return False


def _row_cell_names(pattern: re.Pattern[str], row: ListRow) -> bool:
    """Whether the row's own Techniques or Evaluation cell names the node."""
    return _names(pattern, row.techniques_text) or _names(pattern, row.evaluation_text)
