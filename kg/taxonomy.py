"""Load a taxonomy YAML file (the figure's bands, extensions, components, models, list labels, the
meta keys the web pages read: field, survey, list, examples, and the optional beginner's roadmap)."""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from kg.entities import TaxonomyNode
from kg.schema import Label
from kg.text_files import NotUtf8Error, utf8_text

log = logging.getLogger(__name__)

# What a node id may look like: it is a path segment of the web pages (/techniques/<id>) and a word
# of the search keys, so lower-case letters, digits and "_" only (every id of the shipped file).
_ID_SHAPE = re.compile(r"[a-z0-9][a-z0-9_]*")
# More aliases than this on one node is a warning, not an error: the shipped file's longest list
# has 24, and each technique alias is a term of the weekly arXiv queries (about 34 terms fill one
# 1000-character query), so 100 aliases on one technique add about 3 queries to today's 4 a window.
MAX_ALIASES_PER_NODE = 100
# A value spelt like a taxonomy id (lower-case words joined by "_"), not like a label of the list.
_ID_LIKE = re.compile(r"[a-z0-9]+(?:_[a-z0-9]+)+")

# The keys each place of the file takes. An unknown key is refused: PyYAML keeps any key, so a typo
# (`alias:`, `ambigous_aliases:`, a top-level `confirming_term:`) loaded and silently changed tagging.
# edges are the transcription's notes (arrows of the figure), never read; meta holds notes too (source,
# colours), and the few keys of _META_KEYS the pages and the About page read (see TaxonomyMeta).
_TOP_KEYS = frozenset({"techniques", "fundamental_objects", "findings", "evaluation",
                       "extensions_not_in_figure", "paperkg_extensions", "components", "models",
                       "extra_aliases", "list_label_map", "confirming_terms", "weekly", "meta", "edges",
                       "roadmap", "summaries"})
_NODE_KEYS = frozenset({"id", "label", "aliases", "ambiguous_aliases", "parent"})
# Extensions beyond the bands: the transcription's, then the project's own (same keys, same rules).
_EXTENSION_SECTIONS = ("extensions_not_in_figure", "paperkg_extensions")
# Annotations of the shipped file and the shared transcription: kept for readers, never read here.
_NOTE_KEYS = frozenset({"note", "description", "style", "used_for", "related", "points_to", "from",
                        "list_section", "dotted_box_label", "expansion"})
_TREE_KEYS = _NODE_KEYS | {"children"}
_OBJECT_KEYS = _NODE_KEYS | {"parts", "techniques", "findings"}  # the object's figure arrows: notes
_EXTENSION_KEYS = _NODE_KEYS | {"kind"}
_EXTRA_ALIAS_KEYS = frozenset({"aliases", "ambiguous_aliases"})
_LABEL_MAP_KEYS = ("techniques", "evaluation", "sections")
# The keys of the optional `weekly:` block (see WeeklySettings).
_WEEKLY_KEYS = frozenset({"query_terms", "query_stopwords", "domain_cues", "generic_techniques",
                          "specific_phrases"})
# The keys of `meta:` that are read (see TaxonomyMeta); any other key of meta is a note, kept for readers.
_META_KEYS = ("field", "field_long", "survey", "list", "examples")
_SURVEY_KEYS = frozenset({"citation", "arxiv_id", "figure"})
_LIST_KEYS = frozenset({"name", "url", "seed_commit", "seed_date", "follows_survey"})
# A meta phrase is shown in a sentence of a page: longer than this is a paragraph, not a phrase.
MAX_META_CHARS = 300
# A node's summary is the paragraph its page opens with: a few sentences, not an article.
MAX_SUMMARY_CHARS = 600
# The home page shows every meta example as a link; the examples it derives without them are
# api/web.py's MAX_DERIVED_EXAMPLES (5), so a handful more is a list of examples, not a page of them.
MAX_META_EXAMPLES = 10
# A weekly query term (query_terms, specific_phrases) is sent whole, as all:"<term>", in one arXiv query
# of at most ingest/weekly.py's MAX_QUERY_CHARS (1000) characters that also carries the category clause
# (42 characters for the default cs.CL,cs.LG,cs.AI). A longer term failed every weekly run, naming
# neither the file nor the key; no phrase a paper is found by is near this long.
MAX_QUERY_TERM_CHARS = 200
# About 30 terms fill one query and each query is paged at 3 s per arXiv request, so a block's own
# terms past this many (besides the technique aliases) are a pasted or generated list, and a run
# would spend many minutes on queries alone.
MAX_QUERY_TERMS = 500
# arXiv ids as the abs/ URL takes them: 2407.02646, 2407.02646v2, hep-th/9901001.
_ARXIV_ID = re.compile(r"(?:\d{4}\.\d{4,5}|[a-z][a-z.-]*/\d{7})(?:v\d+)?")
_COMMIT = re.compile(r"[0-9a-f]{7,40}")
# The optional `roadmap:` block (see Roadmap): its keys, a node's keys, an edge's options.
_ROADMAP_KEYS = frozenset({"nodes", "edges"})
_ROADMAP_NODE_KEYS = frozenset({"label", "example", "kind"})
_ROADMAP_EDGE_KEYS = frozenset({"via", "via_text", "condition"})
# The one roadmap node kind: where a flow starts (the figure's "Feature Study", "Circuit Study").
ROADMAP_START_KIND = "study_type"
# The start page lists every step with its techniques' papers: a roadmap is a figure's handful of boxes,
# so more than this is a pasted graph, not a path for a beginner.
MAX_ROADMAP_NODES = 100
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _id_key(text: str) -> str:
    """`text` case-folded with every run of spaces, punctuation and "_" made one "_" ("Logit-Lens",
    "logit lens" -> logit_lens), so a name compares with an id."""
    return re.sub(r"[\W_]+", "_", text.casefold()).strip("_")


@dataclass(frozen=True)
class WeeklySettings:
    """A taxonomy file's own `weekly:` block: what the weekly arXiv ingest asks for and keeps in its
    field. A file without one gets the built-in mechanistic-interpretability query and gate."""

    # Phrases OR'ed into the arXiv query besides the technique aliases.
    query_terms: tuple[str, ...] = ()
    # Aliases never used as query terms (case-folded): too common, they flood the window.
    query_stopwords: frozenset[str] = frozenset()
    # One of these plain phrases (whole words, any case) must occur for a candidate to be kept;
    # none listed: no cue is required.
    domain_cues: tuple[str, ...] = ()
    # Technique ids whose hit is not evidence alone (their aliases are everyday words elsewhere)...
    generic_techniques: frozenset[str] = frozenset()
    # ...unless the text also has one of these spellings of the same technique.
    specific_phrases: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Survey:
    """The survey a taxonomy file transcribes (meta `survey:`), credited where the pages show its bands."""

    citation: str  # as shown: "Rai et al. (2024), “A Practical Review of ...”"
    arxiv_id: str | None = None  # linked as https://arxiv.org/abs/<id>
    figure: str | None = None  # the figure the bands come from ("Figure 1"); None: the survey's taxonomy


@dataclass(frozen=True)
class ListSource:
    """The awesome list a taxonomy file's list-label maps are made for (meta `list:`), credited on /about."""

    name: str  # "owner/repository" or a title
    url: str | None = None  # an http(s) address, linked
    seed_commit: str | None = None  # the list's commit paperkg was seeded from
    seed_date: str | None = None  # that commit's date, YYYY-MM-DD
    follows_survey: bool = False  # the list shows the survey's figure too ("Figure 1 of the list and ...")


@dataclass(frozen=True)
class TaxonomyMeta:
    """What the pages say about a taxonomy file's field (meta `field`, `field_long`, `survey`, `list`,
    `examples`): a file without them gets neutral texts ("papers linked to techniques of this taxonomy")."""

    field: str | None = None  # short phrase: "N papers on <field>"
    field_long: str | None = None  # the About page's phrase ("set up for <field_long>"); None: field
    survey: Survey | None = None
    list_source: ListSource | None = None
    examples: tuple[str, ...] = ()  # the home page's example queries; none: derived from the techniques


@dataclass(frozen=True)
class RoadmapNode:
    """A box of the beginner's roadmap: its text, and the example the figure gives in parentheses."""

    id: str
    label: str
    example: str | None = None
    kind: str | None = None  # ROADMAP_START_KIND for a flow's start; None for a step


@dataclass(frozen=True)
class RoadmapEdge:
    """An arrow of the roadmap: from one box to the next, by the taxonomy techniques named on it."""

    source: str
    target: str
    via: tuple[str, ...] = ()  # technique or evaluation ids of the taxonomy
    via_text: tuple[str, ...] = ()  # names on the arrow that are no node of the taxonomy ("Human Explainer")
    condition: str | None = None  # the answer the arrow is taken on ("Yes", "No")


@dataclass(frozen=True)
class Roadmap:
    """A taxonomy file's `roadmap:` block: boxes and arrows, each flow starting at a study_type box."""

    nodes: dict[str, RoadmapNode]
    edges: tuple[RoadmapEdge, ...]

    def outgoing(self, node_id: str) -> list[RoadmapEdge]:
        """The arrows leaving a box, in the file's order."""
        return [e for e in self.edges if e.source == node_id]

    def flows(self) -> list[tuple[RoadmapNode, list[RoadmapNode]]]:
        """Each start box with the boxes its flow reaches, start first, in reading order: every box
        after the boxes leading to it (a loop back, "No: generate another hypothesis", aside), and the
        branches of a box in the file's order."""
        out: list[tuple[RoadmapNode, list[RoadmapNode]]] = []
        for start in (n for n in self.nodes.values() if n.kind == ROADMAP_START_KIND):
            # Reverse post-order of a depth-first walk is an order with every arrow forward except the
            # loops; walking the branches last-first (pop) puts the first branch first.
            finished: list[str] = []
            seen = {start.id}
            stack: list[tuple[str, list[str]]] = [(start.id, self._next(start.id))]
            while stack:
                node_id, pending = stack[-1]
                if pending:
                    target = pending.pop()
                    if target not in seen:
                        seen.add(target)
                        stack.append((target, self._next(target)))
                else:
                    finished.append(node_id)
                    stack.pop()
            out.append((start, [self.nodes[i] for i in reversed(finished)]))
        return out

    def _next(self, node_id: str) -> list[str]:
        """The boxes the arrows of a box lead to, without repeats, in the file's order."""
        return list(dict.fromkeys(e.target for e in self.outgoing(node_id)))


@dataclass
class Taxonomy:
    """Taxonomy nodes plus the list-label maps, with look-ups the pipeline needs."""

    nodes: list[TaxonomyNode]
    technique_labels: dict[str, list[str]] = field(default_factory=dict)
    evaluation_labels: dict[str, list[str]] = field(default_factory=dict)
    section_topics: dict[str, str | None] = field(default_factory=dict)
    # node id -> single words that confirm the node's ambiguous aliases in the same sentence
    confirming_terms: dict[str, list[str]] = field(default_factory=dict)
    source: str = ""
    # The file's `weekly:` block; None: the built-in MI query and relevance gate.
    weekly: WeeklySettings | None = None
    # The file's read `meta:` keys; a Taxonomy built from the store's nodes has none.
    meta: TaxonomyMeta = field(default_factory=TaxonomyMeta)
    # The file's `roadmap:` block; None: the file has none (the start page is then absent).
    roadmap: Roadmap | None = None
    # The file's `summaries:` block: node id -> what the node is, in a few plain sentences.
    summaries: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_id: dict[str, TaxonomyNode] = {n.id: n for n in self.nodes}
        self._children: dict[str, list[str]] = {}
        for n in self.nodes:
            if n.parent and n.parent in self.by_id:
                self._children.setdefault(n.parent, []).append(n.id)
        self._technique_labels_cf = {k.casefold(): v for k, v in self.technique_labels.items()}
        self._evaluation_labels_cf = {k.casefold(): v for k, v in self.evaluation_labels.items()}
        self._spellings: dict[str, dict[str, str]] = {}  # column -> nearest_list_label's table, built once
        self._id_spellings: dict[str, dict[str, str]] = {}  # column -> nearest_id's table, built once

    def section_topic_ids(self, section_path: Sequence[str]) -> list[str]:
        """The topics the section map gives a list section: each key ("Findings on circuits /
        Interpreting LM Behaviors") whose headings end the section's path, case-insensitively."""
        path = [p.strip().casefold() for p in section_path]
        out: list[str] = []
        for key, topic in self.section_topics.items():
            parts = [p.strip().casefold() for p in key.split("/")]
            if topic and len(parts) <= len(path) and path[len(path) - len(parts):] == parts:
                out.append(topic)
        return out

    def of_label(self, label: str) -> list[TaxonomyNode]:
        """Nodes with one graph label."""
        return [n for n in self.nodes if n.label == label]

    def descendants(self, node_id: str) -> list[str]:
        """The node and every node that refines it, transitively (same label only)."""
        node = self.by_id.get(node_id)
        if node is None:
            return [node_id]
        out, stack = [], [node_id]
        while stack:
            current = stack.pop()
            if current in out:  # parse_taxonomy refuses cycles; a hand-built Taxonomy must not hang
                continue
            out.append(current)
            stack.extend(
                c for c in self._children.get(current, []) if self.by_id[c].label == node.label
            )
        return out

    def map_list_label(self, text: str, column: str) -> tuple[list[str], bool]:
        """Map one list cell value to taxonomy ids. Returns (ids, known); "N/A" is known and empty."""
        table = self._technique_labels_cf if column == "techniques" else self._evaluation_labels_cf
        key = text.strip().casefold()
        if key in table:
            return list(table[key]), True
        if column == "evaluation" and key.startswith("extrinsic"):
            return ["extrinsic_evaluation"], True
        # A label that is a node's own name or alias is known too (e.g. "Causal Mediation Analysis").
        for node in self.nodes:
            names = [node.name, node.id, *node.aliases]
            if key in {n.casefold() for n in names} and node.label in (
                Label.TECHNIQUE, Label.EVALUATION
            ):
                return [node.id], True
        return [], False

    def nearest_list_label(self, text: str, column: str) -> str | None:
        """The known label an unknown cell value most likely misspells ("Activaton patching" ->
        "Activation Patching"), for the unknown-label report; None when nothing is close.

        A value spelt like an id ("logit_len") gets the nearest id (a cell may hold an id too), and a
        value that is a known label as it stands ("Activation Patching" refused as a records file's
        technique id) gets the id of its node: never the refused value itself."""
        if _ID_LIKE.fullmatch(text.strip()):
            return self.nearest_id(text, column)
        spellings = self._spellings.get(column)
        if spellings is None:
            spellings = self._spellings[column] = self._known_spellings(column)
        key = text.strip().casefold()
        if key in spellings:
            return self.nearest_id(text, column)
        match = difflib.get_close_matches(key, list(spellings), n=1, cutoff=0.85)
        return spellings[match[0]] if match else None

    def nearest_id(self, text: str, column: str) -> str | None:
        """The technique or evaluation id an unknown id most likely means, for the unknown-label report:
        the node it names ("Activation Patching", "logit lens" -> its id) or the id it misspells
        ("activation_patchin" -> activation_patching); None when nothing is close, and never `text`."""
        ids = self._id_spellings.get(column)
        if ids is None:
            ids = self._id_spellings[column] = self._known_id_spellings(column)
        key = _id_key(text)
        if not key:
            return None
        found = ids.get(key)
        if found is None:
            match = difflib.get_close_matches(key, list(ids), n=1, cutoff=0.85)
            found = ids[match[0]] if match else None
        return found if found != text.strip() else None

    def _known_id_spellings(self, column: str) -> dict[str, str]:
        """Normalised id, name or alias -> node id, for nearest_id: the column's own label first."""
        first = Label.TECHNIQUE if column == "techniques" else Label.EVALUATION
        nodes = sorted((n for n in self.nodes if n.label in (Label.TECHNIQUE, Label.EVALUATION)),
                       key=lambda n: n.label != first)
        out: dict[str, str] = {}
        for node in nodes:  # ids before names and aliases: a misspelt id is matched to an id
            out.setdefault(_id_key(node.id), node.id)
        for node in nodes:
            for name in (node.name, *node.aliases):
                out.setdefault(_id_key(name), node.id)
        return out

    def _known_spellings(self, column: str) -> dict[str, str]:
        """Case-folded known label -> the name to suggest for it, for one list column."""
        table = self.technique_labels if column == "techniques" else self.evaluation_labels
        # Node names first, so a misspelling is answered with the taxonomy's spelling, not a variant
        # the map keeps for the list's own misspellings.
        spellings: dict[str, str] = {}
        for node in self.nodes:
            if node.label in (Label.TECHNIQUE, Label.EVALUATION):
                for name in (node.name, *node.aliases):
                    spellings.setdefault(name.casefold(), node.name)
        for label, ids in table.items():
            if ids:
                first = self.by_id.get(ids[0])
                spellings.setdefault(label.casefold(), first.name if first else label)
        return spellings


class _Mapping(dict[Any, Any]):
    """A YAML mapping that remembers the line it starts on and the line of each key, for error messages."""

    line: int | None = None
    key_lines: dict[Any, int] | None = None


class _TaxonomyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key repeated in one mapping (plain PyYAML keeps the last one and
    silently drops the earlier block) and gives every mapping its line."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        """The mapping of `node`, refusing a duplicate key with the lines of both."""
        seen: dict[Any, yaml.Mark] = {}
        for key_node, _value in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<:` merges may override keys
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: the base class reports it
                continue
            if first is not None:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (first at line {first.line + 1})",
                    key_node.start_mark)
            seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep)


def _construct_mapping(loader: _TaxonomyLoader, node: yaml.MappingNode) -> Iterator[_Mapping]:
    data = _Mapping()
    data.line = node.start_mark.line + 1
    yield data  # first, as SafeLoader does, so recursive structures still load
    data.update(loader.construct_mapping(node))
    data.key_lines = {}
    for key_node, _value in node.value:
        if isinstance(key_node, yaml.ScalarNode):  # constructed above (cached), and a scalar is hashable
            data.key_lines.setdefault(loader.construct_object(key_node), key_node.start_mark.line + 1)


def _construct_timestamp(loader: _TaxonomyLoader, node: yaml.ScalarNode) -> Any:
    """An unquoted date or time as SafeLoader reads it; one that is no date (2024-02-30) is a YAML error
    with its line, where SafeLoader raised a bare ValueError naming neither the file nor the line."""
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError as exc:
        raise yaml.constructor.ConstructorError(
            None, None, f"{node.value!r} is not a valid date ({exc})", node.start_mark) from None


_TaxonomyLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_TaxonomyLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """One line for a YAML error: where (line, column of the file) and what, with no source excerpt."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None)
    if mark is None or not problem:
        return ": " + " ".join(str(exc).split())
    text = f" at line {mark.line + 1}, column {mark.column + 1}: {problem}"
    context, context_mark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    if context and context_mark is not None and context_mark.line != mark.line:
        text += f" ({context} at line {context_mark.line + 1})"
    return text


def _show(value: Any) -> str:
    """`value` for an error message, cut short (an alias list can be long)."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _at(item: Any) -> str:
    """" (line N)" for a mapping read from a file, "" for one built in code."""
    line = getattr(item, "line", None)
    return f" (line {line})" if line else ""


def _key_at(item: Any, key: Any) -> str:
    """" at line N" for a key of a mapping read from a file, "" for one built in code."""
    line = (getattr(item, "key_lines", None) or {}).get(key)
    return f" at line {line}" if line else ""


def _check_keys(item: dict[Any, Any], allowed: frozenset[str], entry: str, where: str,
                refused: dict[str, str] | None = None) -> None:
    """Refuse a key of `item` that `allowed` lacks, with the known key it most likely misspells;
    `refused` gives the reason for a key known elsewhere but wrong here (a figure node's `kind`)."""
    for key in item:
        if key in allowed:
            continue
        at = _key_at(item, key)
        if refused and key in refused:
            raise ValueError(f"{where}: {entry} has {key!r}{at}: {refused[key]}")
        close = difflib.get_close_matches(key.casefold(), sorted(allowed), n=1, cutoff=0.75) \
            if isinstance(key, str) else []
        if close:
            hint = f"did you mean {close[0]!r}?"
        else:
            structural = sorted(allowed - _NOTE_KEYS)
            notes = sorted(allowed & _NOTE_KEYS)
            hint = "the keys here are " + ", ".join(structural) + (
                f" and the notes {', '.join(notes)}" if notes else "")
        raise ValueError(f"{where}: {entry} has the unknown key {_show(key)}{at}: {hint}")


def _names(value: Any, what: str, where: str) -> list[str]:
    """A list of names (aliases, ambiguous aliases, extra aliases, confirming terms, list-label
    targets): null is none, a single string a one-item list, and every item a non-empty string
    (stripped). Anything else is refused: iterating a string gave one alias per character."""
    if value is None:
        return []
    if isinstance(value, str):
        if "," in value:  # `aliases: a, b` without brackets is one string, not two names
            raise ValueError(f"{where}: {what} {_show(value)} is one string with commas; "
                             "write a list: [a, b]")
        items = [value]
    elif isinstance(value, list):
        items = value
    else:
        raise ValueError(f"{where}: {what} must be a list of names, not {_show(value)}")
    out: list[str] = []
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise ValueError(f"{where}: {what} must be non-empty strings, not {_show(item)}"
                             + (f" (in {_show(value)})" if isinstance(value, list) else ""))
        if not any(ch.isalnum() for ch in item):  # '-' matched every hyphen: 30 papers were "probing"
            raise ValueError(f"{where}: {what} must be names with a letter or digit, not {_show(item)}"
                             + (f" (in {_show(value)})" if isinstance(value, list) else ""))
        out.append(item.strip())
    return out


def _check_id(value: Any, what: str, where: str) -> str:
    """`value` if it is an id: a string of lower-case letters, digits and "_"."""
    if not isinstance(value, str):
        kind = "dict" if isinstance(value, dict) else type(value).__name__  # not the loader's _Mapping
        raise ValueError(f"{where}: the id of {what} must be a string, not {kind} {_show(value)}")
    if not _ID_SHAPE.fullmatch(value):
        raise ValueError(f"{where}: id {value!r} of {what} must be lower-case letters, digits and '_' "
                         "(like 'activation_patching')")
    return value


def _entry(item: Any, place: str, where: str) -> tuple[str, str, str | None]:
    """The id, label and parent of one entry, checked: a mapping with an id and a label."""
    if not isinstance(item, dict):
        raise ValueError(f"{where}: {place} must be a mapping with an id and a label, not {_show(item)}")
    place += _at(item)
    label = item.get("label")
    if item.get("id") is None:
        named = f" (label {label!r})" if isinstance(label, str) else ""
        raise ValueError(f"{where}: {place} has no id{named}")
    node_id = _check_id(item["id"], place, where)
    if not isinstance(label, str) or not label.strip():
        problem = "has no label" if label is None else f"has label {_show(label)}, not a non-empty string"
        raise ValueError(f"{where}: {node_id!r}{_at(item)} {problem}")
    parent = item.get("parent")
    if parent is not None and not isinstance(parent, str):
        raise ValueError(f"{where}: {node_id!r}{_at(item)} has parent {_show(parent)}, not an id")
    return node_id, label.strip(), parent


def _section(value: Any, key: str, where: str) -> list[Any]:
    """A list of entries (null: none)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"{where}: {key} must be a list of entries (- id: ...), not {_show(value)}")
    return value


def _misplaced(section: str, node_id: str) -> dict[str, str]:
    """Why an entry under `section` may not have a key that other entries take (for _check_keys)."""
    return {
        "kind": "only extensions_not_in_figure and paperkg_extensions entries take a kind; the label of a "
                f"node under {section} is given by its section",
        "children": f"{section} entries take no children; give each child its own entry with "
                    f"parent: {node_id}",
    }


def _node(item: Any, place: str, where: str, label: str, kind: str | None,
          parent: str | None = None, section: str = "", keys: frozenset[str] = _TREE_KEYS) -> TaxonomyNode:
    """One entry as a node, every field checked: `parent` is the node it is a child of in the tree,
    `section` the top-level key it is under, `keys` the keys it may have besides notes."""
    node_id, name, own_parent = _entry(item, place, where)
    node = f"{node_id!r}{_at(item)}"
    _check_keys(item, keys | _NOTE_KEYS, node, where, _misplaced(section, node_id))
    if parent is not None and own_parent is not None and own_parent != parent:
        # The tree used to win without a word: say which of the two is meant.
        raise ValueError(f"{where}: {node} has parent {own_parent!r} but is a child of {parent!r}: "
                         "remove its parent, or move it under that node")
    return TaxonomyNode(
        label=label, id=node_id, name=name,
        aliases=_names(item.get("aliases"), f"{node}: aliases", where),
        ambiguous_aliases=_names(item.get("ambiguous_aliases"), f"{node}: ambiguous_aliases", where),
        parent=parent if parent is not None else own_parent,
        kind=kind,
    )


def _walk(items: Any, label: str, parent: str | None, kind: str | None, out: list[TaxonomyNode],
          where: str, place: str, section: str, keys: frozenset[str] = _TREE_KEYS) -> None:
    """Read the entries of a list under `section`, and their children when `keys` allows them."""
    for i, item in enumerate(_section(items, place, where), 1):
        node = _node(item, f"{place} entry {i}", where, label, kind, parent, section, keys)
        out.append(node)
        if "children" in keys:
            _walk(item.get("children"), label, node.id, kind, out, where, f"children of {node.id!r}",
                  section, keys)


_EXTENSION_KIND_LABEL = {"technique": Label.TECHNIQUE, "evaluation": Label.EVALUATION}


def _merge_extra_aliases(extra: Any, nodes: list[TaxonomyNode], where: str) -> None:
    """Add `extra_aliases: {node_id: [alias, ...]}` (or {aliases: [...], ambiguous_aliases: [...]})."""
    if not extra:
        return
    if not isinstance(extra, dict):
        raise ValueError(f"{where}: extra_aliases must be a mapping of node id to aliases")
    by_id = {n.id: n for n in nodes}
    for node_id, value in extra.items():
        node = by_id.get(str(node_id))
        if node is None:
            raise ValueError(f"{where}: extra_aliases names unknown node {node_id!r}")
        spec = value if isinstance(value, dict) else {"aliases": value}
        _check_keys(spec, _EXTRA_ALIAS_KEYS, f"extra_aliases of {node_id!r}{_at(spec)}", where)
        for key in ("aliases", "ambiguous_aliases"):
            names = _names(spec.get(key), f"extra_aliases of {node_id!r}{_at(spec)}", where)
            target = getattr(node, key)
            target.extend(a for a in dict.fromkeys(names) if a not in target)
            if key == "ambiguous_aliases":  # an ambiguous alias is an alias too
                node.aliases.extend(a for a in dict.fromkeys(names) if a not in node.aliases)


def _parse_confirming_terms(raw: Any, nodes: list[TaxonomyNode], where: str) -> dict[str, list[str]]:
    """Read `confirming_terms: {node_id: [word, ...]}`: ids must exist and terms be single words."""
    if not raw:
        return {}
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: confirming_terms must be a mapping of node id to words")
    known = {n.id: n for n in nodes}
    out: dict[str, list[str]] = {}
    for node_id, words in raw.items():
        node = known.get(str(node_id))
        if node is None:
            raise ValueError(f"{where}: confirming_terms names unknown node {node_id!r}")
        if not node.ambiguous_aliases:
            raise ValueError(f"{where}: confirming_terms for {node_id!r}, which has no ambiguous aliases")
        terms = _names(words, f"confirming_terms of {node_id!r}", where)
        several = [t for t in terms if len(t.split()) != 1 or "-" in t]
        if several:
            raise ValueError(f"{where}: confirming_terms of {node_id!r} must be single words, not {several}")
        out[str(node_id)] = terms
    return out


def _parse_label_map(raw: Any, by_id: dict[str, TaxonomyNode], where: str
                     ) -> tuple[dict[str, list[str]], dict[str, list[str]], dict[str, str | None]]:
    """`list_label_map`: list label -> node ids per column (every id a node), and list section ->
    topic key. A section's topic is matched as one word of the section's search key, next to the
    section's own slug ("techniques"), so it must have an id's shape but need not be a node."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: list_label_map must be a mapping (techniques, evaluation, sections), "
                         f"not {_show(raw)}")
    _check_keys(raw, frozenset(_LABEL_MAP_KEYS), f"list_label_map{_at(raw)}", where)
    tables: list[Any] = []
    for column in _LABEL_MAP_KEYS:
        table = raw.get(column)
        if table is None:
            table = {}
        if not isinstance(table, dict):
            raise ValueError(f"{where}: list_label_map {column} must be a mapping of list label to ids, "
                             f"not {_show(table)}")
        for text in table:
            if not isinstance(text, str) or not text.strip():
                raise ValueError(f"{where}: list_label_map {column}{_at(table)} has the key {_show(text)}, "
                                 "not a list label")
        tables.append(table)
    columns: list[dict[str, list[str]]] = []
    for column, table in zip(("techniques", "evaluation"), tables, strict=False):
        mapped: dict[str, list[str]] = {}
        for text, value in table.items():
            ids = _names(value, f"list_label_map {column} {text!r}", where)
            unknown = [i for i in ids if i not in by_id]
            if unknown:
                raise ValueError(f"{where}: list_label_map {column} maps {text!r} to {unknown[0]!r}, "
                                 "which is not a node of the taxonomy")
            mapped[text] = ids
        columns.append(mapped)
    sections: dict[str, str | None] = {}
    for heading, topic in tables[2].items():
        if topic is not None:
            _check_id(topic, f"list_label_map sections {heading!r}", where)
        sections[heading] = topic
    return columns[0], columns[1], sections


def _check_query_terms(terms: Sequence[str], what: str, where: str) -> None:
    """Refuse a weekly query term that cannot be sent: one with '"' (each is sent inside all:"...")
    or longer than MAX_QUERY_TERM_CHARS (each is sent whole in one query)."""
    for term in terms:
        if '"' in term:
            raise ValueError(f"{where}: {what} has {_show(term)}: a query term may not contain '\"'")
        if len(term) > MAX_QUERY_TERM_CHARS:
            raise ValueError(f"{where}: {what} has a term of {len(term)} characters ({_show(term)}): a query "
                             f"term is sent whole in one arXiv query, so keep it to {MAX_QUERY_TERM_CHARS}")


def _parse_weekly(raw: Any, by_id: dict[str, TaxonomyNode], where: str) -> WeeklySettings:
    """The `weekly:` block: a mapping of _WEEKLY_KEYS, every list of non-empty strings, every
    technique id a technique of the file, specific phrases only for a generic technique, every queried
    phrase (query_terms, specific_phrases) one arXiv can be sent (_check_query_terms), at most
    MAX_QUERY_TERMS of them, and no domain cue with '"'."""
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: weekly must be a mapping ({', '.join(sorted(_WEEKLY_KEYS))}), "
                         f"not {_show(raw)}")
    _check_keys(raw, _WEEKLY_KEYS, f"weekly{_at(raw)}", where)

    def names(key: str) -> list[str]:
        """The list of names under `key` of the block, checked by _names."""
        return _names(raw.get(key), f"weekly {key}{_key_at(raw, key)}", where)

    terms = names("query_terms")
    _check_query_terms(terms, f"weekly query_terms{_key_at(raw, 'query_terms')}", where)
    cues = names("domain_cues")
    quoted = [c for c in cues if '"' in c]
    if quoted:  # a cue is a plain phrase of the text, like a query term: a quote is a pasted query
        raise ValueError(f"{where}: weekly domain_cues{_key_at(raw, 'domain_cues')} has {_show(quoted[0])}: "
                         "a domain cue may not contain '\"'")
    generic = names("generic_techniques")
    for tid in generic:
        node = by_id.get(tid)
        if node is None or node.label != Label.TECHNIQUE:
            what = "is not a node of the taxonomy" if node is None else \
                f"is labelled {node.label}, not Technique"
            techniques = sorted(i for i, n in by_id.items() if n.label == Label.TECHNIQUE)
            close = difflib.get_close_matches(tid, techniques, n=1, cutoff=0.75) if node is None else []
            what += f": did you mean {close[0]!r}?" if close else ""
            raise ValueError(f"{where}: weekly generic_techniques{_key_at(raw, 'generic_techniques')} names "
                             f"{tid!r}, which {what}")
    phrases = raw.get("specific_phrases")
    if phrases is None:
        phrases = {}
    if not isinstance(phrases, dict):
        raise ValueError(f"{where}: weekly specific_phrases{_key_at(raw, 'specific_phrases')} must be a "
                         f"mapping of generic technique id to phrases, not {_show(phrases)}")
    specific: dict[str, tuple[str, ...]] = {}
    for tid, value in phrases.items():
        at = _key_at(phrases, tid)
        if tid not in generic:  # only a generic technique's hit needs its specific spellings
            raise ValueError(f"{where}: weekly specific_phrases{at} names {_show(tid)}, which is not one "
                             "of weekly generic_techniques")
        what = f"weekly specific_phrases of {tid!r}{at}"
        specific[tid] = tuple(_names(value, what, where))
        _check_query_terms(specific[tid], what, where)  # queried in place of the technique's aliases
    queried = len(dict.fromkeys([*terms, *(p for phrases in specific.values() for p in phrases)]))
    if queried > MAX_QUERY_TERMS:
        raise ValueError(f"{where}: weekly{_at(raw)} has {queried} query terms (query_terms and "
                         f"specific_phrases); each query holds about 30 and is paged at 3 s a request, so "
                         f"keep them to {MAX_QUERY_TERMS}")
    return WeeklySettings(
        query_terms=tuple(dict.fromkeys(terms)),
        query_stopwords=frozenset(t.casefold() for t in names("query_stopwords")),
        domain_cues=tuple(dict.fromkeys(cues)),
        generic_techniques=frozenset(generic),
        specific_phrases=specific,
    )


def _meta_text(value: Any, what: str, where: str) -> str:
    """A meta phrase: a non-empty string, its runs of spaces and line breaks made one space (a folded
    YAML line is one phrase), at most MAX_META_CHARS characters."""
    if not isinstance(value, str) or not value.strip():
        quote = " (quote it)" if isinstance(value, int | float) and not isinstance(value, bool) else ""
        raise ValueError(f"{where}: {what} must be a non-empty string, not {_show(value)}{quote}")
    text = " ".join(value.split())
    if len(text) > MAX_META_CHARS:
        raise ValueError(f"{where}: {what} is {len(text)} characters long; a page shows it in a sentence, so "
                         f"keep it to {MAX_META_CHARS}")
    return text


def _meta_block(raw: Any, key: str, keys: frozenset[str], where: str) -> dict[Any, Any]:
    """A mapping of meta (`survey`, `list`), its keys checked (a typo would silently drop a credit)."""
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: meta {key} must be a mapping ({', '.join(sorted(keys))}), "
                         f"not {_show(raw)}")
    _check_keys(raw, keys, f"meta {key}{_at(raw)}", where)
    return raw


def _parse_survey(raw: Any, where: str) -> Survey:
    """meta `survey:`: a citation (required), the survey's arXiv id and the figure the bands come from."""
    raw = _meta_block(raw, "survey", _SURVEY_KEYS, where)
    if "citation" not in raw:
        raise ValueError(f"{where}: meta survey{_at(raw)} has no citation (the text the pages credit)")
    arxiv_id = raw.get("arxiv_id")
    if arxiv_id is not None:
        if not isinstance(arxiv_id, str):  # an unquoted 2407.10010 is the number 2407.1001
            raise ValueError(f"{where}: meta survey arxiv_id{_key_at(raw, 'arxiv_id')} must be a quoted "
                             f"string (\"2407.02646\"), not {_show(arxiv_id)}")
        if not _ARXIV_ID.fullmatch(arxiv_id.strip()):
            raise ValueError(f"{where}: meta survey arxiv_id{_key_at(raw, 'arxiv_id')} {arxiv_id!r} is not "
                             "an arXiv id (like 2407.02646)")
        arxiv_id = arxiv_id.strip()
    figure = raw.get("figure")
    return Survey(
        citation=_meta_text(raw["citation"], f"meta survey citation{_key_at(raw, 'citation')}", where),
        arxiv_id=arxiv_id,
        figure=None if figure is None else _meta_text(figure, f"meta survey figure{_key_at(raw, 'figure')}",
                                                     where),
    )


def _parse_list_source(raw: Any, has_survey: bool, where: str) -> ListSource:
    """meta `list:`: the awesome list's name (required), address, seed commit and its date."""
    raw = _meta_block(raw, "list", _LIST_KEYS, where)
    if "name" not in raw:
        raise ValueError(f"{where}: meta list{_at(raw)} has no name (the text the About page credits)")

    def checked(key: str, shape: re.Pattern[str] | None, rule: str) -> str | None:
        """The phrase under `key` (None when absent), refused unless `shape` matches it whole."""
        value = raw.get(key)
        if value is None:
            return None
        if key == "seed_date" and isinstance(value, date):  # YAML reads an unquoted 2024-07-10 as a date
            value = value.isoformat()
        text = _meta_text(value, f"meta list {key}{_key_at(raw, key)}", where)
        if shape is not None and not shape.fullmatch(text):
            raise ValueError(f"{where}: meta list {key}{_key_at(raw, key)} {text!r} is not {rule}")
        if shape is _DATE:  # the shape alone took 2024-99-99, shown on /about as a date
            try:
                date.fromisoformat(text)
            except ValueError as exc:
                raise ValueError(f"{where}: meta list {key}{_key_at(raw, key)} {text!r} is not a date "
                                 f"({exc})") from None
        return text

    if raw.get("seed_date") is not None and raw.get("seed_commit") is None:
        raise ValueError(f"{where}: meta list seed_date{_key_at(raw, 'seed_date')} is the date of the seed "
                         "commit: give seed_commit too")
    url = checked("url", None, "")
    # It is a link of /about: an http(s) address with a host and no whitespace ("https://" alone, or
    # "http://a b", made a broken link: review).
    if url is not None and (not url.lower().startswith(("https://", "http://"))
                            or not urlsplit(url).netloc or any(c.isspace() for c in url)):
        raise ValueError(f"{where}: meta list url{_key_at(raw, 'url')} {url!r} is not an http(s) address")
    follows = raw.get("follows_survey", False)
    if not isinstance(follows, bool):
        raise ValueError(f"{where}: meta list follows_survey{_key_at(raw, 'follows_survey')} must be true or "
                         f"false, not {_show(follows)}")
    if follows and not has_survey:
        raise ValueError(f"{where}: meta list follows_survey{_key_at(raw, 'follows_survey')} is true but "
                         "meta has no survey for it to follow")
    return ListSource(
        name=_meta_text(raw["name"], f"meta list name{_key_at(raw, 'name')}", where), url=url,
        seed_commit=checked("seed_commit", _COMMIT, "a commit hash (7 to 40 lower-case hex digits)"),
        seed_date=checked("seed_date", _DATE, "a date (YYYY-MM-DD)"), follows_survey=follows,
    )


def _parse_meta(raw: Any, where: str) -> TaxonomyMeta:
    """The read keys of `meta:` (_META_KEYS), checked; its other keys are notes and stay unread."""
    if raw is None:
        return TaxonomyMeta()
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: meta must be a mapping (notes, and {', '.join(_META_KEYS)}), "
                         f"not {_show(raw)}")

    def phrase(key: str) -> str | None:
        """The meta phrase under `key`, or None when absent."""
        return None if raw.get(key) is None else _meta_text(raw[key], f"meta {key}{_key_at(raw, key)}", where)

    for key in raw:  # the other keys are notes, so a misspelt read key would drop its text unseen
        close = difflib.get_close_matches(str(key), _META_KEYS, n=1, cutoff=0.8) if key not in _META_KEYS \
            else []
        if close:
            log.warning("%s: meta key %r%s is read as a note: did you mean %r?", where, key,
                        _key_at(raw, key), close[0])
    survey = _parse_survey(raw["survey"], where) if raw.get("survey") is not None else None
    listed = _parse_list_source(raw["list"], survey is not None, where) if raw.get("list") is not None \
        else None
    what = f"meta examples{_key_at(raw, 'examples')}"
    examples = tuple(dict.fromkeys(
        _meta_text(e, f"{what} item", where) for e in _names(raw.get("examples"), what, where)))
    if len(examples) > MAX_META_EXAMPLES:  # each is a link of the home page
        raise ValueError(f"{where}: {what} has {len(examples)} examples; the home page shows each, so keep "
                         f"them to {MAX_META_EXAMPLES}")
    return TaxonomyMeta(field=phrase("field"), field_long=phrase("field_long"), survey=survey,
                        list_source=listed, examples=examples)


def _parse_roadmap(raw: Any, by_id: dict[str, TaxonomyNode], where: str) -> Roadmap:
    """The `roadmap:` block: `nodes` (id -> label, optional example, kind study_type for a flow's start)
    and `edges` ([from, to] or [from, to, {via, via_text, condition}]). Every edge joins two roadmap
    nodes, every `via` id is a technique or evaluation of the taxonomy (they become links to their
    pages), and every node is reached from a start node (one that is not is never shown)."""
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: roadmap must be a mapping (edges, nodes), not {_show(raw)}")
    _check_keys(raw, _ROADMAP_KEYS, f"roadmap{_at(raw)}", where)
    raw_nodes = raw.get("nodes")
    if not isinstance(raw_nodes, dict) or not raw_nodes:
        raise ValueError(f"{where}: roadmap nodes{_key_at(raw, 'nodes')} must be a mapping of node id to "
                         f"{{label, example, kind}}, not {_show(raw_nodes)}")
    if len(raw_nodes) > MAX_ROADMAP_NODES:
        raise ValueError(f"{where}: roadmap nodes{_key_at(raw, 'nodes')} has {len(raw_nodes)} nodes; the "
                         f"start page shows every one as a step, so keep them to {MAX_ROADMAP_NODES}")
    nodes: dict[str, RoadmapNode] = {}
    for key, spec in raw_nodes.items():
        node_id = _check_id(key, f"roadmap node{_key_at(raw_nodes, key)}", where)
        what = f"roadmap node {node_id!r}{_key_at(raw_nodes, key)}"
        if not isinstance(spec, dict):
            raise ValueError(f"{where}: {what} must be a mapping ({{label: ..., example: ...}}), "
                             f"not {_show(spec)}")
        _check_keys(spec, _ROADMAP_NODE_KEYS, what, where)
        if spec.get("label") is None:
            raise ValueError(f"{where}: {what} has no label (the text of its box)")
        kind = spec.get("kind")
        if kind is not None and kind != ROADMAP_START_KIND:
            raise ValueError(f"{where}: {what} has kind {_show(kind)}: the one kind is {ROADMAP_START_KIND} "
                             "(where a flow starts); a step has no kind")
        example = spec.get("example")
        nodes[node_id] = RoadmapNode(
            id=node_id, label=_meta_text(spec["label"], f"{what} label", where),
            example=None if example is None else _meta_text(example, f"{what} example", where), kind=kind)
    raw_edges = raw.get("edges")
    if not isinstance(raw_edges, list) or not raw_edges:
        raise ValueError(f"{where}: roadmap edges{_key_at(raw, 'edges')} must be a list of [from, to, "
                         f"{{via: [...]}}], not {_show(raw_edges)}")
    steps = sorted(i for i, n in by_id.items() if n.label in (Label.TECHNIQUE, Label.EVALUATION))
    edges: list[RoadmapEdge] = []
    for i, item in enumerate(raw_edges, 1):
        what = f"roadmap edge {i}"
        if not isinstance(item, list) or len(item) not in (2, 3):
            raise ValueError(f"{where}: {what} must be [from, to] or [from, to, {{via: [...]}}], "
                             f"not {_show(item)}")
        options = item[2] if len(item) == 3 and item[2] is not None else {}
        if not isinstance(options, dict):
            raise ValueError(f"{where}: {what} ({_show(item)}) must end with a mapping (via, via_text, "
                             f"condition), not {_show(options)}")
        what += _at(options)
        for end in item[:2]:
            if not isinstance(end, str) or end not in nodes:
                close = difflib.get_close_matches(end, list(nodes), n=1, cutoff=0.75) \
                    if isinstance(end, str) else []
                hint = f": did you mean {close[0]!r}?" if close else ""
                raise ValueError(f"{where}: {what} names {_show(end)}, which is not a roadmap node{hint}")
        _check_keys(options, _ROADMAP_EDGE_KEYS, what, where)
        via = _names(options.get("via"), f"{what} via", where)
        for node_id in via:
            node = by_id.get(node_id)
            if node is None or node.label not in (Label.TECHNIQUE, Label.EVALUATION):
                problem = "is not a node of the taxonomy" if node is None else \
                    f"is labelled {node.label}, not Technique or Evaluation"
                close = difflib.get_close_matches(node_id, steps, n=1, cutoff=0.75) if node is None else []
                hint = f": did you mean {close[0]!r}?" if close else \
                    " (a name on the arrow that is no technique goes under via_text)"
                raise ValueError(f"{where}: {what} via names {node_id!r}, which {problem}{hint}")
        condition = options.get("condition")
        edges.append(RoadmapEdge(
            source=item[0], target=item[1], via=tuple(dict.fromkeys(via)),
            via_text=tuple(dict.fromkeys(_names(options.get("via_text"), f"{what} via_text", where))),
            condition=None if condition is None else _meta_text(condition, f"{what} condition", where)))
    roadmap = Roadmap(nodes=nodes, edges=tuple(edges))
    flows = roadmap.flows()
    if not flows:
        raise ValueError(f"{where}: roadmap nodes{_key_at(raw, 'nodes')} has no node of kind "
                         f"{ROADMAP_START_KIND} (where a flow starts)")
    reached = {n.id for _start, steps_of in flows for n in steps_of}
    unreached = [n for n in nodes if n not in reached]
    if unreached:
        raise ValueError(f"{where}: roadmap node {unreached[0]!r}{_key_at(raw_nodes, unreached[0])} is "
                         f"reached from no {ROADMAP_START_KIND} node, so no flow shows it: give it an edge")
    return roadmap


def _parse_summaries(raw: Any, by_id: dict[str, TaxonomyNode], where: str) -> dict[str, str]:
    """The `summaries:` block: node id -> what the node is (a page's opening paragraph), every id a node
    of the file (a misspelt one would silently leave its page without a summary)."""
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: summaries must be a mapping of node id to text, not {_show(raw)}")
    out: dict[str, str] = {}
    for key, value in raw.items():
        node_id = _check_id(key, f"summaries key{_key_at(raw, key)}", where)
        what = f"the summary of {node_id!r}{_key_at(raw, key)}"
        if node_id not in by_id:
            close = difflib.get_close_matches(node_id, list(by_id), n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"{where}: {what}: no node has that id{hint}")
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{where}: {what} must be a non-empty string, not {_show(value)}")
        text = " ".join(value.split())  # a folded YAML paragraph is one paragraph
        if len(text) > MAX_SUMMARY_CHARS:
            raise ValueError(f"{where}: {what} is {len(text)} characters long; it opens the node's page, "
                             f"so keep it to {MAX_SUMMARY_CHARS}")
        out[node_id] = text
    return out


def _check_parents(nodes: list[TaxonomyNode], where: str) -> None:
    """Every parent must be a node, and no chain of parents may come back to where it started: a
    cycle would make every walk over refinements endless."""
    by_id = {n.id: n for n in nodes}
    for node in nodes:
        if node.parent is not None and node.parent not in by_id:
            raise ValueError(f"{where}: {node.id!r} has parent {node.parent!r}, which is not a node")
    for node in nodes:
        chain = [node.id]
        current = node
        while current.parent is not None:
            if current.parent in chain:
                cycle = " -> ".join([*chain[chain.index(current.parent):], current.parent])
                raise ValueError(f"{where}: the parents of {node.id!r} form a cycle: {cycle}")
            chain.append(current.parent)
            current = by_id[current.parent]


def _inherit_labels(nodes: list[TaxonomyNode], inherit: set[str]) -> None:
    """Give each node of `inherit` (a kind-less extension) the label of its nearest ancestor that is not
    one, Technique when the chain has none; the parents are checked: every one exists, and no cycle."""
    by_id = {n.id: n for n in nodes}
    for node in nodes:
        if node.id not in inherit:
            continue
        current = node
        while current.id in inherit and current.parent is not None:
            current = by_id[current.parent]
        node.label = Label.TECHNIQUE if current.id in inherit else current.label


def _warn_about_aliases(nodes: list[TaxonomyNode], where: str) -> None:
    """Log what loads but is most likely a mistake: an alias shared by two nodes of one label where
    neither refines the other (a paper naming it is tagged with both), and an alias list so long
    that it is more likely pasted or generated than curated (every technique alias is a weekly
    arXiv query term)."""
    by_id = {n.id: n for n in nodes}

    def ancestors(node_id: str) -> set[str]:
        out: set[str] = set()
        node = by_id[node_id]
        while node.parent is not None and node.parent not in out:  # parents are checked: no cycle
            out.add(node.parent)
            node = by_id[node.parent]
        return out

    owners: dict[tuple[str, str], tuple[str, list[str]]] = {}
    for node in nodes:
        names = list(dict.fromkeys([*node.aliases, *node.ambiguous_aliases]))
        if len(names) > MAX_ALIASES_PER_NODE:
            log.warning("%s: %r has %d aliases (more than %d): every technique alias is an arXiv query "
                        "term of the weekly ingest, so check the list is meant", where, node.id,
                        len(names), MAX_ALIASES_PER_NODE)
        for alias in names:
            _spelling, ids = owners.setdefault((node.label, alias.casefold()), (alias, []))
            if node.id not in ids:
                ids.append(node.id)
    for (label, _key), (alias, ids) in owners.items():
        for i, first in enumerate(ids):
            for second in ids[i + 1:]:
                if first not in ancestors(second) and second not in ancestors(first):
                    log.warning("%s: %s nodes %r and %r share the alias %r and neither refines the other: "
                                "a paper naming it is tagged with both", where, label, first, second, alias)


def parse_taxonomy(data: dict[str, Any], source: str = "") -> Taxonomy:
    """Build a Taxonomy from the parsed YAML mapping; ValueError (naming `source` and the entry) for a
    mistake in it."""
    where = source or "taxonomy"
    if data is None:  # YAML reads an empty or comments-only file as None
        raise ValueError(f"{where}: the file is empty (no 'techniques' key)")
    if not isinstance(data, dict) or "techniques" not in data:
        close = difflib.get_close_matches("techniques", [k for k in data if isinstance(k, str)], n=1,
                                          cutoff=0.75) if isinstance(data, dict) else []
        hint = f": did you mean 'techniques' for {close[0]!r}?" if close else ""
        raise ValueError(f"{where}: not a taxonomy file (no 'techniques' key){hint}")
    _check_keys(data, _TOP_KEYS, "the top level", where)
    nodes: list[TaxonomyNode] = []
    _walk(data.get("techniques"), Label.TECHNIQUE, None, "figure", nodes, where, "techniques", "techniques")
    _walk(data.get("evaluation"), Label.EVALUATION, None, None, nodes, where, "evaluation", "evaluation")
    _walk(data.get("findings"), Label.TOPIC, None, None, nodes, where, "findings", "findings")
    objects = _section(data.get("fundamental_objects"), "fundamental_objects", where)
    _walk(objects, Label.OBJECT, None, None, nodes, where, "fundamental_objects", "fundamental_objects",
          _OBJECT_KEYS)
    # Kind-less extensions take their parent's label once every node is read (below): a parent may come
    # later in the file (extensions_not_in_figure is read before paperkg_extensions).
    inherit: set[str] = set()
    # paperkg_extensions: the project's own additions, read as the transcription's extensions are (the
    # transcribed sections stay verbatim, so a technique the transcription lacks goes there).
    for extensions in _EXTENSION_SECTIONS:
        for i, ext in enumerate(_section(data.get(extensions), extensions, where), 1):
            node = _node(ext, f"{extensions} entry {i}", where, Label.TECHNIQUE, "extension", None,
                         extensions, _EXTENSION_KEYS)
            kind = ext.get("kind")
            # A non-string kind ([technique], {a: b}) is refused before the look-up, which cannot hash it.
            if kind is not None and (not isinstance(kind, str) or kind not in _EXTENSION_KIND_LABEL):
                raise ValueError(f"{where}: {node.id!r}{_at(ext)} has kind {kind!r}, not one of "
                                 f"{', '.join(_EXTENSION_KIND_LABEL)}")
            if kind is None:
                inherit.add(node.id)
            else:
                node.label = _EXTENSION_KIND_LABEL[kind]
            nodes.append(node)
    components = _section(data.get("components"), "components", where)
    _walk(components, Label.COMPONENT, None, None, nodes, where, "components", "components")
    component_ids = {comp["id"] for comp in components}
    # The figure's transformer-component parts (RS, MHA, FF) become components unless the
    # file lists them under `components` already.
    for obj in objects:
        place = f"parts of {obj['id']!r}"
        parts = _section(obj.get("parts"), place, where)
        # Every part is checked before the filter looks its id up (`id: [x]` cannot be hashed), its keys
        # too (a part the filter drops is read by no one else); the parts kept are checked again, with
        # their children, by _walk.
        for i, part in enumerate(parts, 1):
            part_id = _entry(part, f"{place} entry {i}", where)[0]
            _check_keys(part, _TREE_KEYS | _NOTE_KEYS, f"{part_id!r}{_at(part)}", where,
                        _misplaced("parts", part_id))
        parts = [p for p in parts if p["id"] not in component_ids]
        _walk(parts, Label.COMPONENT, None, None, nodes, where, place, "parts")
    _walk(data.get("models"), Label.MODEL, None, None, nodes, where, "models", "models")

    ids = [n.id for n in nodes]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"{where}: duplicate ids {duplicates}")
    _check_parents(nodes, where)
    _inherit_labels(nodes, inherit)  # after the parent checks: every parent exists, and no chain is a cycle
    _merge_extra_aliases(data.get("extra_aliases"), nodes, where)
    techniques, evaluation, sections = _parse_label_map(
        data.get("list_label_map"), {n.id: n for n in nodes}, where)
    confirming = _parse_confirming_terms(data.get("confirming_terms"), nodes, where)
    weekly = _parse_weekly(data["weekly"], {n.id: n for n in nodes}, where) if "weekly" in data else None
    meta = _parse_meta(data.get("meta"), where)
    roadmap = _parse_roadmap(data["roadmap"], {n.id: n for n in nodes}, where) \
        if data.get("roadmap") is not None else None
    summaries = _parse_summaries(data["summaries"], {n.id: n for n in nodes}, where) \
        if data.get("summaries") is not None else {}
    if not nodes:
        # A file of empty sections (`techniques: []`) would load as 0 nodes, and `init --prune` with it
        # would remove every node of the store. Checked last: a mistake elsewhere is named first.
        raise ValueError(f"{where}: no taxonomy nodes (every section is empty)")
    _warn_about_aliases(nodes, where)
    return Taxonomy(
        nodes=nodes,
        technique_labels=techniques,
        evaluation_labels=evaluation,
        section_topics=sections,
        confirming_terms=confirming,
        source=source,
        weekly=weekly,
        meta=meta,
        roadmap=roadmap,
        summaries=summaries,
    )


# What a taxonomy file that cannot be read is told to be.
TAXONOMY_HINT = "(give a YAML file such as kg/taxonomies/mi.yaml, the packaged MI taxonomy)"


def file_problem(exc: OSError) -> str:
    """Why a taxonomy file cannot be read, in words: "[Errno 2] No such file or directory: '/nope.yaml'"
    read as jargon."""
    return ("does not exist" if isinstance(exc, FileNotFoundError) else
            "is a directory" if isinstance(exc, IsADirectoryError) else
            f"cannot be read ({(exc.strerror or str(exc)).lower()})")


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    """Read a taxonomy YAML file (default: the packaged MI taxonomy)."""
    from kg.config import PACKAGED_TAXONOMY

    path = Path(path) if path else PACKAGED_TAXONOMY
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"taxonomy file {path} {file_problem(exc)} {TAXONOMY_HINT}") from exc
    try:
        text = utf8_text(raw)
    except NotUtf8Error as exc:
        raise ValueError(f"taxonomy {path} {exc}") from exc
    try:
        data = yaml.load(text, Loader=_TaxonomyLoader)  # a SafeLoader subclass: safe
    except yaml.YAMLError as exc:
        raise ValueError(f"taxonomy {path} is not valid YAML{_yaml_problem(exc)}") from exc
    return parse_taxonomy(data, str(path))


# -- spellings of nodes: the pages' redirects and did-you-means, init --prune, records ids --------------
# How alike (difflib's ratio) a misspelt id and a spelling of a node must be for "did you mean": as the
# ingest's unknown-label report (kg.taxonomy.Taxonomy.nearest_id) asks; "logit_len" -> logit_lens is 0.95,
# "activaton_patching" -> activation_patching 0.97, while "nope" or "no_such_topic" match nothing.
CLOSE_MATCH_CUTOFF = 0.85


def spelling_key(text: str) -> str:
    """`text` with case, spaces, punctuation and "_" aside: its words, casefolded, one space apart
    ("Logit-Lens", "logit lens" -> "logit lens")."""
    return re.sub(r"[\W_]+", " ", text).strip().casefold()


def _spelt_exactly(nodes: Iterable[TaxonomyNode], wanted: str) -> list[TaxonomyNode]:
    """The nodes whose id spells `wanted` (a spelling_key), else those whose name or an alias does, in
    `nodes`' order."""
    nodes = list(nodes)
    for spellings in (lambda n: (n.id,), lambda n: (n.name, *n.aliases)):
        matched = {n.id: n for n in nodes if any(spelling_key(s) == wanted for s in spellings(n))}
        if matched:
            return list(matched.values())
    return []


def node_spelt(taxonomy: Taxonomy, text: str, labels: Iterable[str]) -> tuple[TaxonomyNode, bool] | None:
    """The node whose id, name or alias `text` spells ("logit lens", "Logit-Lens" -> logit_lens), else
    the one it nearly spells ("logit_len"), with True when only nearly: a node of one of `labels` first,
    then one of another label ("polysemantic" -> the topic polysemanticity). For a hint: ids stay exact in
    filters, as links and bookmarks use them."""
    wanted = spelling_key(text)
    if not wanted:
        return None
    first = set(labels)
    # The filter's own kinds first; within each, the first node spelt (no refusal between several alike:
    # this is a hint).
    for group in ([n for n in taxonomy.nodes if n.label in first], [n for n in taxonomy.nodes
                                                                     if n.label not in first]):
        spelt = _spelt_exactly(group, wanted)
        if spelt:
            return spelt[0], False
    # Ids before names and aliases, so that a misspelt id meets the id; the filter's own kinds first.
    tables: tuple[dict[str, TaxonomyNode], dict[str, TaxonomyNode]] = ({}, {})
    for spellings in (lambda n: (n.id,), lambda n: (n.name, *n.aliases)):
        for node in taxonomy.nodes:
            table = tables[0] if node.label in first else tables[1]
            for spelling in spellings(node):
                table.setdefault(spelling_key(spelling), node)
    for table in tables:
        match = difflib.get_close_matches(wanted, list(table), n=1, cutoff=CLOSE_MATCH_CUTOFF)
        if match:
            return table[match[0]], True
    return None


def node_spelt_exactly(taxonomy: Taxonomy, text: str,
                       labels: Iterable[str] | None = None) -> TaxonomyNode | None:
    """The one node (of `labels`, default any) whose id `text` spells but for case, spaces, hyphens and
    underscores ("Activation-Patching", "activation patching", "SAE" -> the id), else the one whose name
    or an alias it so spells; None when it spells none, or more than one alike (no guess between them).
    For a typed URL, redirected to the node's own: a near miss gets a "did you mean" (node_spelt)."""
    wanted = spelling_key(text)
    if not wanted:
        return None
    allowed = None if labels is None else set(labels)
    spelt = _spelt_exactly((n for n in taxonomy.nodes if allowed is None or n.label in allowed), wanted)
    return spelt[0] if len(spelt) == 1 else None


def node_spelt_nearly(taxonomy: Taxonomy, text: str, labels: Iterable[str] = ()) -> TaxonomyNode | None:
    """The node whose id, name or alias `text` spells or nearly spells (the filters' "did you mean"), one
    of `labels` first, then of any label; None when none is close."""
    spelt = node_spelt(taxonomy, text, labels)
    return spelt[0] if spelt else None
