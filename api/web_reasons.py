"""Why a paper is listed on a taxonomy node's page: the edge's source (list / extracted) and evidence."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kg.explain import Labels
from kg.schema import Label
from kg.store import GraphStore


def _merge(out: dict[str, dict[str, Any]], node_id: str, name: str, source: str, evidence: str | None,
           ) -> None:
    entry = out.setdefault(node_id, {"id": node_id, "name": name, "sources": [], "evidence": []})
    if source not in entry["sources"]:
        entry["sources"].append(source)
    if evidence and evidence not in entry["evidence"]:
        entry["evidence"].append(evidence)


def node_reasons(store: GraphStore, paper_ids: Sequence[str], node_id: str, labels: Labels
                 ) -> dict[str, list[dict[str, Any]]]:
    """Per paper: the edges that put it on `node_id`'s page (the node or a refinement), list first.

    Each reason is {"id", "name", "via" (the refinement's name, or None), "sources", "evidence"}.
    Technique and evaluation pages use USES / EVALUATES edges; topic and object pages the findings
    about the node (a paper listed only through its list section gets no reason here).
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
