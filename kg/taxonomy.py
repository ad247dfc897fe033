"""Load a taxonomy YAML file (the figure's bands, extensions, components, models, list labels)."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kg.entities import TaxonomyNode
from kg.schema import Label

# A value spelt like a taxonomy id (lower-case words joined by "_"), not like a label of the list.
_ID_LIKE = re.compile(r"[a-z0-9]+(?:_[a-z0-9]+)+")


def _id_key(text: str) -> str:
    """`text` case-folded with every run of spaces, punctuation and "_" made one "_" ("Logit-Lens",
    "logit lens" -> logit_lens), so a name compares with an id."""
    return re.sub(r"[\W_]+", "_", text.casefold()).strip("_")


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
                node = self.by_id.get(ids[0])
                spellings.setdefault(label.casefold(), node.name if node else label)
        return spellings


def _as_ids(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _walk(items: Iterable[dict[str, Any]], label: str, parent: str | None, kind: str | None,
          out: list[TaxonomyNode]) -> None:
    for item in items or []:
        out.append(
            TaxonomyNode(
                label=label,
                id=str(item["id"]),
                name=str(item.get("label", item["id"])),
                aliases=[str(a) for a in item.get("aliases", [])],
                ambiguous_aliases=[str(a) for a in item.get("ambiguous_aliases", [])],
                parent=parent if parent is not None else item.get("parent"),
                kind=kind,
            )
        )
        _walk(item.get("children", []), label, str(item["id"]), kind, out)


_EXTENSION_KIND_LABEL = {"technique": Label.TECHNIQUE, "evaluation": Label.EVALUATION}


def _merge_extra_aliases(extra: Any, nodes: list[TaxonomyNode], source: str) -> None:
    """Add `extra_aliases: {node_id: [alias, ...]}` (or {aliases: [...], ambiguous_aliases: [...]})."""
    if not extra:
        return
    if not isinstance(extra, dict):
        raise ValueError(f"{source or 'taxonomy'}: extra_aliases must be a mapping of node id to aliases")
    by_id = {n.id: n for n in nodes}
    for node_id, value in extra.items():
        node = by_id.get(str(node_id))
        if node is None:
            raise ValueError(f"{source or 'taxonomy'}: extra_aliases names unknown node {node_id!r}")
        spec = value if isinstance(value, dict) else {"aliases": value}
        for key in ("aliases", "ambiguous_aliases"):
            target = getattr(node, key)
            for alias in _as_ids(spec.get(key)):
                if alias not in target:
                    target.append(alias)
            if key == "ambiguous_aliases":  # an ambiguous alias is an alias too
                node.aliases.extend(a for a in _as_ids(spec.get(key)) if a not in node.aliases)


def _parse_confirming_terms(raw: Any, nodes: list[TaxonomyNode], source: str) -> dict[str, list[str]]:
    """Read `confirming_terms: {node_id: [word, ...]}`: ids must exist and terms be single words."""
    if not raw:
        return {}
    where = source or "taxonomy"
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
        terms = _as_ids(words)
        several = [t for t in terms if len(t.split()) != 1 or "-" in t]
        if several:
            raise ValueError(f"{where}: confirming_terms of {node_id!r} must be single words, not {several}")
        out[str(node_id)] = terms
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


def parse_taxonomy(data: dict[str, Any], source: str = "") -> Taxonomy:
    """Build a Taxonomy from the parsed YAML mapping."""
    if not isinstance(data, dict) or "techniques" not in data:
        raise ValueError(f"{source or 'taxonomy'}: not a taxonomy file (no 'techniques' key)")
    nodes: list[TaxonomyNode] = []
    _walk(data.get("techniques", []), Label.TECHNIQUE, None, "figure", nodes)
    _walk(data.get("evaluation", []), Label.EVALUATION, None, None, nodes)
    _walk(data.get("findings", []), Label.TOPIC, None, None, nodes)
    for obj in data.get("fundamental_objects", []):
        _walk([{k: v for k, v in obj.items() if k != "children"}], Label.OBJECT, None, None, nodes)
    known = {n.id: n for n in nodes}
    for ext in data.get("extensions_not_in_figure", []):
        parent = ext.get("parent")
        label = _EXTENSION_KIND_LABEL.get(ext.get("kind", ""))
        if label is None:
            label = known[parent].label if parent in known else Label.TECHNIQUE
        node = TaxonomyNode(
            label=label, id=str(ext["id"]), name=str(ext["label"]),
            aliases=[str(a) for a in ext.get("aliases", [])],
            ambiguous_aliases=[str(a) for a in ext.get("ambiguous_aliases", [])],
            parent=parent, kind="extension",
        )
        nodes.append(node)
        known[node.id] = node
    component_ids = set()
    for comp in data.get("components", []):
        _walk([comp], Label.COMPONENT, None, None, nodes)
        component_ids.add(comp["id"])
    # The figure's transformer-component parts (RS, MHA, FF) become components unless the
    # file lists them under `components` already.
    for obj in data.get("fundamental_objects", []):
        for part in obj.get("parts", []):
            if part["id"] not in component_ids:
                _walk([part], Label.COMPONENT, None, None, nodes)
    _walk(data.get("models", []), Label.MODEL, None, None, nodes)

    ids = [n.id for n in nodes]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"{source or 'taxonomy'}: duplicate ids {duplicates}")
    _check_parents(nodes, source or "taxonomy")
    _merge_extra_aliases(data.get("extra_aliases"), nodes, source)
    label_map = data.get("list_label_map", {}) or {}
    return Taxonomy(
        nodes=nodes,
        technique_labels={k: _as_ids(v) for k, v in (label_map.get("techniques") or {}).items()},
        evaluation_labels={k: _as_ids(v) for k, v in (label_map.get("evaluation") or {}).items()},
        section_topics=dict(label_map.get("sections") or {}),
        confirming_terms=_parse_confirming_terms(data.get("confirming_terms"), nodes, source),
        source=source,
    )


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    """Read a taxonomy YAML file (default: the packaged MI taxonomy)."""
    from kg.config import PACKAGED_TAXONOMY

    path = Path(path) if path else PACKAGED_TAXONOMY
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"cannot read taxonomy {path}: {exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"taxonomy {path} is not valid YAML: {exc}") from exc
    return parse_taxonomy(data, str(path))
