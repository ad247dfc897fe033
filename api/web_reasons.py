"""Why a paper is listed on a taxonomy node's page (the edge's source and evidence), and a related paper's
reasons rendered with links and a legend for the paper page."""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar, cast

from flask import url_for
from markupsafe import Markup

from kg.browse import TREE_GROUPS
from kg.explain import Labels
from kg.schema import Label
from kg.store import GraphStore

if TYPE_CHECKING:
    from kg.related import RelatedHit
    from kg.taxonomy import Taxonomy


def _merge(out: dict[str, dict[str, Any]], node_id: str, name: str, source: str, evidence: str | None,
           section: str | None = None) -> None:
    entry = out.setdefault(node_id, {"id": node_id, "name": name, "sources": [], "evidence": []})
    if source not in entry["sources"]:
        entry["sources"].append(source)
    if evidence and evidence not in entry["evidence"]:
        entry["evidence"].append(evidence)
    if section and section not in entry.setdefault("sections", []):
        entry["sections"].append(section)


def node_reasons(store: GraphStore, paper_ids: Sequence[str], node_id: str, labels: Labels
                 ) -> dict[str, list[dict[str, Any]]]:
    """Per paper: the edges that put it on `node_id`'s page (the node or a refinement), list first.

    Each reason is {"id", "name", "via" (the refinement's name, or None), "sources", "evidence" (quoted
    text of the paper or its list row)}, and "sections" (the list sections' heading paths, "A › B") when
    list sections put the paper there.
    Technique and evaluation pages use USES / EVALUATES edges; topic and object pages the list sections
    the paper is listed in that the topic rule matches (the rows' topic_ids, as the store reads them:
    source "list", the section in "sections", not quoted) and the findings about the node.
    """
    family = labels.descendants(node_id)
    graph_label = labels.label(node_id)
    out: dict[str, list[dict[str, Any]]] = {}
    for pid in paper_ids:
        # One read per paper (about 0.2 ms on the embedded store): a page shows at most 20.
        detail = store.get_paper(pid)
        if detail is None:
            continue
        merged: dict[str, dict[str, Any]] = {}
        if graph_label == Label.TECHNIQUE:
            for use in detail.techniques:
                if use.technique_id in family:
                    _merge(merged, use.technique_id, use.label or labels.name(use.technique_id),
                           use.source, use.evidence)
        elif graph_label == Label.EVALUATION:
            for ev in detail.evaluations:
                if ev.evaluation_id in family:
                    _merge(merged, ev.evaluation_id, ev.label or labels.name(ev.evaluation_id),
                           ev.source, ev.evidence)
        else:
            # A paper is on a topic's page through a list section as often as through a finding (QA: a
            # third of the rows had no reason): the rows' topic_ids are the stored topic rule's
            # (section_topic_key), so the page's papers and these reasons agree on both backends.
            for row in detail.list_rows:
                section = " › ".join(row.section_path) or row.section_title
                for topic_id in row.topic_ids:
                    if topic_id in family:
                        # A section, not a quotation of the paper: shown as "list in section “…”".
                        _merge(merged, topic_id, labels.name(topic_id), "list", None, section)
            for finding in detail.findings:
                for about in finding.about:
                    if about.id in family:
                        _merge(merged, about.id, about.name or labels.name(about.id), finding.source,
                               finding.text)
        reasons = sorted(merged.values(), key=lambda r: ("list" not in r["sources"], r["name"].casefold()))
        for r in reasons:
            r["sources"].sort(key=lambda s: s != "list")
            r["via"] = r["name"] if r["id"] != node_id else None
        out[pid] = reasons
    return out


# -- related papers' reasons, rendered with links and words -----------------------------------------

# The reason phrases kg.related writes (the JSON API's strings, a contract), what each one means, and
# whether its names are taxonomy nodes with a page (techniques, topics, objects) or not (models,
# components: linked to their search filter, see _FILTER_REASONS; authors, cosine: text). The paper page
# renders the same strings with links and this legend.
REASON_KINDS: tuple[tuple[str, str, bool], ...] = (
    ("shares", "techniques both papers use", True),
    ("related techniques", "a technique of that paper related in the taxonomy to one of this paper's it "
     "lacks (its parent, a refinement of it, or of the same top-level family); each counts half of a shared "
     "one", True),
    ("both study", "models both papers study", False),
    ("both about", "findings topics or fundamental objects both papers' findings are about", True),
    ("both discuss", "transformer components both papers' findings name", False),
    ("shared authors", "authors of both papers", False),
    ("shared author", "an author of both papers", False),
    ("cosine", "how close the two abstracts' meanings are (-1 to 1; near 0: unrelated)", False),
)
_MORE = re.compile(r" \(\+\d+ more\)$")
# The reason phrases naming nodes that have no page but a search filter: the filter's parameter and label.
_FILTER_REASONS: dict[str, tuple[str, str]] = {"both study": ("model", Label.MODEL),
                                               "both discuss": ("component", Label.COMPONENT)}


T = TypeVar("T")

# node_page_id calls page_ids_by_name for each name a results page shows: one walk of the taxonomy per
# taxonomy object (the app keeps its object until the store's taxonomy changes), as kg.search does.
# One cache a builder (page_ids_by_name's, filter_ids_by_name's), keyed by the taxonomy object.
_BY_TAXONOMY: dict[tuple[str, int], tuple[weakref.ref[Taxonomy], Any]] = {}


def _longest_first(names: dict[str, str]) -> Mapping[str, str]:
    """`names` read-only, longest name first: the order _split_names tries them in, sorted once."""
    return MappingProxyType(dict(sorted(names.items(), key=lambda item: len(item[0]), reverse=True)))


def _per_taxonomy(key: str, build: Callable[[Taxonomy], T]) -> T:
    """build(the app's taxonomy), computed once per taxonomy object and kept while it lives."""
    from api.app import get_taxonomy  # lazy: api.app builds the app that imports this module

    taxonomy = get_taxonomy()
    cached = _BY_TAXONOMY.get((key, id(taxonomy)))
    if cached is not None and cached[0]() is taxonomy:
        return cast(T, cached[1])
    value = build(taxonomy)
    if len(_BY_TAXONOMY) > 32:  # taxonomies are few; drop the entries of collected ones
        for stale in [k for k, (ref, _) in _BY_TAXONOMY.items() if ref() is None]:
            _BY_TAXONOMY.pop(stale, None)
    _BY_TAXONOMY[(key, id(taxonomy))] = (weakref.ref(taxonomy), value)
    return value


def _names_ids(taxonomy: Taxonomy, labels: Iterable[str]) -> dict[str, dict[str, str]]:
    """For each of `labels`, display name -> id of its nodes; a name two nodes share maps to ""."""
    by_label: dict[str, dict[str, str]] = {label: {} for label in labels}
    for node in taxonomy.nodes:
        if node.label in by_label:
            out = by_label[node.label]
            out[node.name] = "" if node.name in out else node.id
    return by_label


def page_ids_by_name() -> Mapping[str, str]:
    """Display name -> id of the taxonomy nodes that have a page, longest name first; a name two such
    nodes share maps to "" (shown, not linked: it could be either). Shared: read-only."""
    def build(taxonomy: Taxonomy) -> Mapping[str, str]:
        # One map over every label with a page: a name shared across two of them is ambiguous too.
        out: dict[str, str] = {}
        for node in taxonomy.nodes:
            if node.label in TREE_GROUPS:
                out[node.name] = "" if node.name in out else node.id
        return _longest_first(out)

    return _per_taxonomy("pages", build)


def filter_ids_by_name() -> Mapping[str, Mapping[str, str]]:
    """For each label of _FILTER_REASONS, display name -> id of its nodes, longest name first; a name two
    nodes share maps to "" (shown, not linked), as in page_ids_by_name. Shared: read-only."""
    def build(taxonomy: Taxonomy) -> Mapping[str, Mapping[str, str]]:
        labels = [label for _, label in _FILTER_REASONS.values()]
        return MappingProxyType({label: _longest_first(out)
                                 for label, out in _names_ids(taxonomy, labels).items()})

    return _per_taxonomy("filters", build)


def _split_names(text: str, names: Mapping[str, str], separators: tuple[str, ...]) -> list[str] | None:
    """`text` cut into the node names kg.related joined with `separators`, trying `names` in their order
    (page_ids_by_name's: longest first, as a name may hold ", " itself); None when a part is no known
    name."""
    parts: list[str] = []
    pos = 0
    while pos < len(text):
        for name in names:
            end = pos + len(name)
            if text.startswith(name, pos) and (end == len(text) or text.startswith(separators, end)):
                parts.append(name)
                pos = end
                sep = next((s for s in separators if text.startswith(s, pos)), "")
                pos += len(sep)
                break
        else:
            return None
    return parts


# A node of a "related techniques" pair: its id ("" or None when not known for sure) and display name.
_Node = tuple[str | None, str]


def _node_link(node: _Node) -> Markup:
    """The node's name, escaped, linked to its page when its id is known."""
    node_id, name = node
    if not node_id:
        return Markup("<bdi>{}</bdi>").format(name)
    return Markup('<a href="{}"><bdi>{}</bdi></a>').format(url_for("web.technique", node_id=node_id), name)


def _link(name: str, names: Mapping[str, str]) -> Markup:
    """The name, escaped, linked to its node's page when it has one."""
    return _node_link((names.get(name), name))


def _filter_link(name: str, parameter: str, names: Mapping[str, str]) -> Markup:
    """The name, escaped, linked to the search filtered by its node (`/search?model=gpt2`) when known."""
    node_id = names.get(name)
    if not node_id:
        return Markup("<bdi>{}</bdi>").format(name)
    href = url_for("web.search", **{parameter: node_id})  # type: ignore[arg-type]
    return Markup('<a href="{}"><bdi>{}</bdi></a>').format(href, name)


def _author_link(name: str) -> Markup:
    """The author name, escaped, linked to the author's page (api.web_authors.author_href) when it has one."""
    from api.web_authors import author_href

    href = author_href(name)
    if href is None:
        return Markup("<bdi>{}</bdi>").format(name)
    return Markup('<a class="author" href="{}"><bdi>{}</bdi></a>').format(href, name)


def _author_parts(phrase: str, rest: str, authors: Sequence[str]) -> list[str] | None:
    """The author names of a "shared author(s)" reason: one name whole; several cut at ", " by the related
    paper's own names (a name may hold ", " itself), None when a part is none of them."""
    if phrase == "shared author":
        return [rest] if rest else None
    known = _longest_first({name: name for name in authors if name})
    return _split_names(rest, known, (", ",)) if known else None


# How kg.related.kin_relation's answers read: theirs is ... this paper's technique.
_KIN_WORDS = {"parent": "the parent of", "ancestor": "an ancestor of", "refinement": "a refinement of",
              "family": "of the same family as"}


def _kin_html(pairs: Sequence[tuple[_Node, _Node]], labels: Labels | None) -> Markup:
    """The (theirs, mine) pairs of a "related techniques" reason in words, each of theirs once: "Knockout
    (theirs), the parent of this paper's Mean Ablation, Causal Scrubbing"; every pair named. Without
    `labels` (the taxonomy) or a node's id every pair reads "of the same family as"."""
    from kg.related import kin_relation

    grouped: dict[_Node, dict[str, list[_Node]]] = {}
    for theirs, mine in pairs:
        relation = (kin_relation(labels, theirs[0], mine[0]) if labels is not None and theirs[0] and mine[0]
                    else "family")
        grouped.setdefault(theirs, {}).setdefault(relation, []).append(mine)
    said = []
    for theirs, by_relation in grouped.items():
        how = Markup(" and ").join(
            Markup("{} this paper's {}").format(_KIN_WORDS[relation],
                                                Markup(", ").join(_node_link(m) for m in mines))
            for relation, mines in by_relation.items())
        said.append(Markup("{} (theirs), {}").format(_node_link(theirs), how))
    return Markup("; ").join(said)


def reason_html(reason: str, names: Mapping[str, str] | None = None,
                filter_names: Mapping[str, Mapping[str, str]] | None = None,
                authors: Sequence[str] = (), labels: Labels | None = None,
                pairs: Sequence[Sequence[str]] | None = None) -> Markup:
    """One of kg.related's reason strings as escaped HTML: the phrase with its meaning as a tooltip, the
    technique and topic names linked to their pages, the model and component names to their search
    filters, the shared authors to their pages, "A ~ B" said in words. A string in no known shape is shown
    as it is (escaped). `names` as page_ids_by_name gives them (its default), `filter_names` as
    filter_ids_by_name, longest first; `authors`: the related paper's, which the shared ones are of;
    `labels`: the taxonomy, to say a related technique is the parent or a refinement of this paper's;
    `pairs`: the hit's parts.related_pairs ([theirs, mine] ids), which a "related techniques" reason is
    rendered from (every pair, linked by id) rather than from its string."""
    for phrase, meaning, linked in REASON_KINDS:
        if not reason.startswith(phrase + " "):
            continue
        rest = reason[len(phrase) + 1:]
        more_match = _MORE.search(rest)
        more = more_match.group(0) if more_match else ""
        rest = rest[: len(rest) - len(more)]
        head = Markup('<span class="reason-kind" title="{}">{}</span> ').format(meaning, phrase)
        if phrase == "related techniques" and pairs and labels is not None:
            return head + _kin_html([((t, labels.name(t)), (m, labels.name(m))) for t, m in pairs], labels)
        if not linked:
            if phrase.startswith("shared author"):
                people = _author_parts(phrase, rest, authors)
                if people is not None:
                    return head + Markup(", ").join(_author_link(p) for p in people) + more
            if phrase in _FILTER_REASONS:
                parameter, label = _FILTER_REASONS[phrase]
                known = (filter_names if filter_names is not None else filter_ids_by_name())[label]
                found = _split_names(rest, known, (", ",))
                if found is not None:
                    return head + Markup(", ").join(_filter_link(p, parameter, known) for p in found) + more
            return head + Markup("<bdi>{}</bdi>{}").format(rest, more)
        names = names if names is not None else page_ids_by_name()
        if phrase == "related techniques":
            parts = _split_names(rest, names, (" ~ ", ", "))
            if parts is None or len(parts) % 2:
                break
            nodes = [(names.get(name) or None, name) for name in parts]
            return head + _kin_html(list(zip(nodes[::2], nodes[1::2], strict=True)), labels) + more
        parts = _split_names(rest, names, (", ",))
        if parts is None:
            break
        return head + Markup(", ").join(_link(p, names) for p in parts) + more
    return Markup("{}").format(reason)


def reason_legend() -> list[tuple[str, str]]:
    """The paper page's legend of the reason phrases: (phrase, meaning), "shared author" once, as plural."""
    return [(phrase, meaning) for phrase, meaning, _ in REASON_KINDS if phrase != "shared author"]


def with_reason_links(card: dict[str, Any]) -> dict[str, Any]:
    """A copy of a paper row's card whose reasons are reason_html's (the paper page's related papers)."""
    if not card.get("reasons"):
        return card
    names, filter_names = page_ids_by_name(), filter_ids_by_name()
    labels = _per_taxonomy("labels", lambda taxonomy: Labels(taxonomy.nodes))
    authors = [a for a in card.get("authors") or () if isinstance(a, str)]
    pairs = card.get("related_pairs")
    return {**card, "reasons": [reason_html(r, names, filter_names, authors, labels, pairs)
                                for r in card["reasons"]]}


def related_row_extras(hit: RelatedHit) -> dict[str, Any]:
    """What the paper page adds to a related paper's card: what each reason adds to the score and the
    cosine's share, each with two decimals adding up to the score shown (kg.related.shown_parts), and the
    related technique pairs (ids) its "related techniques" reason is rendered from."""
    from kg.related import shown_parts

    shown = shown_parts(hit.contributions, hit.score, 2)
    weighted = hit.parts.get("weighted") or {}
    from_cosine = (shown[hit.kinds.index("cosine")] if "cosine" in hit.kinds and len(shown) == len(hit.kinds)
                   else weighted.get("cosine"))
    return {"reason_scores": shown,
            "related_why": {"score": hit.score, "cosine": hit.parts.get("cosine"),
                            "from_cosine": from_cosine},
            "related_pairs": [(str(t), str(m)) for t, m in hit.parts.get("related_pairs") or ()]}
