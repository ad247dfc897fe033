"""kg.browse.models and kg.browse.components (GET /api/models, /api/components) on a real SQLite store with
a hand-written taxonomy: every node once, in order, with the filter's distinct-paper count, whatever
the file's parents say (a loop, another label's node)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kg.browse import components, models
from kg.embedded import EmbeddedStore
from kg.entities import Finding, FindingAbout, SearchFilters, TaxonomyNode
from kg.schema import Label
from tests.kg.test_related import bundle, unit

NODES = [
    TaxonomyNode(Label.TOPIC, "parts", "Parts"),
    TaxonomyNode(Label.COMPONENT, "attn", "Attention", aliases=["attention heads"], parent="parts"),
    TaxonomyNode(Label.COMPONENT, "mlp", "MLP"),
    TaxonomyNode(Label.COMPONENT, "head", "A head", parent="attn"),
    TaxonomyNode(Label.COMPONENT, "neuron", "Neuron", parent="mlp"),
    # A hand-edited file's loop: neither has a top component above it.
    TaxonomyNode(Label.COMPONENT, "loop_a", "Loop A", parent="loop_b"),
    TaxonomyNode(Label.COMPONENT, "loop_b", "Loop B", parent="loop_a"),
    TaxonomyNode(Label.MODEL, "big", "Big model", aliases=["Big", "BigLM"]),
    TaxonomyNode(Label.MODEL, "small", "Small model"),
]


def _about(pid: str, *component_ids: str) -> Finding:
    return Finding(id=f"{pid}-c", text="We find parts.",
                   about=[FindingAbout(Label.COMPONENT, c) for c in component_ids])


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EmbeddedStore]:
    """Papers on a head (two), on attention itself and the head (one, counted once), on a neuron; two on
    the big model, none on the small one."""
    s = EmbeddedStore(tmp_path / "paperkg.sqlite3")
    s.init_schema()
    s.load_taxonomy(NODES)
    papers = []
    for i, (pid, about, on_models) in enumerate([
            ("h1", ("head",), ["big"]), ("h2", ("head",), []), ("ah", ("attn", "head"), ["big"]),
            ("n1", ("neuron",), []), ("none", (), [])]):
        b = bundle(pid, unit(i), [], models=on_models)
        b.findings = [_about(pid, *about)] if about else []
        papers.append(b)
    s.upsert_papers(papers)
    yield s
    s.close()


def test_models_are_every_model_in_order_with_its_distinct_papers(store: EmbeddedStore) -> None:
    assert models(store) == [
        {"id": "big", "label": "Big model", "aliases": ["Big", "BigLM"], "count": 2},
        {"id": "small", "label": "Small model", "aliases": [], "count": 0},
    ]


def test_components_put_parents_first_and_count_sub_components_papers_once(store: EmbeddedStore) -> None:
    listed = components(store)
    assert [(c["id"], c["parent"], c["count"]) for c in listed] == [
        ("attn", None, 3),  # its parent is a topic: no component above it
        ("head", "attn", 3),
        ("mlp", None, 1),
        ("neuron", "mlp", 1),
        ("loop_a", "loop_b", 0),  # in a loop: listed once each, after the others, in the file's order
        ("loop_b", "loop_a", 0),
    ]
    assert listed[0]["label"] == "Attention" and listed[0]["aliases"] == ["attention heads"]
    for c in listed:  # the component filter's total, sub-components included
        assert c["count"] == store.filter_page(SearchFilters(component_ids=[c["id"]]), limit=0)[1]
