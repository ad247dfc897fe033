"""A paper's neighbourhood for the graph view (api/web_graph.py): its techniques, topics, models and
authors, and the neighbouring papers linked through what they share, most related first."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.web_graph import neighbourhood
from kg.embedded import EmbeddedStore
from kg.explain import Labels
from tests.kg.test_related import bundle, unit
from tests.seed_store import taxonomy_store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EmbeddedStore]:
    """A (the centre) and neighbours sharing a technique (B), an author (E), a model and a topic (F)."""
    s = taxonomy_store(tmp_path / "paperkg.sqlite3")
    s.upsert_papers([
        bundle("A", unit(0), ["causal_scrubbing"], authors=["Neel Nanda", "Ada"], models=["gpt2"],
               topics=["superposition"]),
        bundle("B", unit(1), ["causal_scrubbing"]),
        bundle("E", unit(2), [], authors=["NEEL NANDA"]),
        bundle("F", unit(3), [], models=["gpt2"], topics=["superposition"]),
        bundle("X", unit(4), ["probing"], authors=["Someone Else"]),
    ])
    yield s
    s.close()


def graph(store: EmbeddedStore, paper_id: str, **kw: Any) -> dict[str, Any] | None:
    return neighbourhood(store, paper_id, Labels(store.taxonomy_nodes()), paper_url=lambda p: f"/papers/{p}",
                         node_url=lambda n: f"/techniques/{n}", **kw)


def test_the_centre_and_what_it_uses_studies_is_about_and_who_wrote_it(store: EmbeddedStore) -> None:
    data = graph(store, "A")
    assert data is not None and data["center"] == "p:A" and data["paper"].id == "A"
    nodes = {n["id"]: (n["label"], n["kind"], n["href"]) for n in data["nodes"]}
    assert nodes["p:A"] == ("Paper A", "center", "/papers/A")
    assert nodes["n:causal_scrubbing"] == ("Causal Scrubbing", "technique", "/techniques/causal_scrubbing")
    assert nodes["n:superposition"] == ("Superposition", "topic", "/techniques/superposition")
    assert nodes["n:gpt2"] == ("GPT-2", "model", None)  # models have no browse page
    assert nodes["a:neel nanda"] == ("Neel Nanda", "author", "/authors/neel%20nanda")  # the author's page
    edges = {(e["source"], e["target"], e["kind"]) for e in data["edges"]}
    assert {("p:A", "n:causal_scrubbing", "uses"), ("p:A", "n:superposition", "about"),
            ("p:A", "n:gpt2", "studies"), ("p:A", "a:neel nanda", "authored"), ("p:A", "a:ada", "authored"),
            } <= edges
    assert len(edges) == len(data["edges"])  # no edge twice, though A reaches its hubs twice
    assert all(e["source"] in nodes and e["target"] in nodes for e in data["edges"])


def test_neighbours_are_linked_through_what_they_share_most_related_first(store: EmbeddedStore) -> None:
    data = graph(store, "A")
    assert data is not None
    # The related-paper score's order (kg/related.py: A's only technique 0.25, its model and topic 0.04 +
    # 0.06, one of its two authors 0.025; no cosine): X shares nothing.
    assert [(p["id"], p["shared"]) for p in data["papers"]] == [
        ("B", ["Causal Scrubbing"]), ("F", ["Superposition", "GPT-2"]), ("E", ["NEEL NANDA"])]
    edges = {(e["source"], e["target"], e["kind"]) for e in data["edges"]}
    assert {("p:B", "n:causal_scrubbing", "shares"), ("p:E", "a:neel nanda", "authored"),
            ("p:F", "n:gpt2", "shares"), ("p:F", "n:superposition", "shares")} <= edges
    assert "p:X" not in {n["id"] for n in data["nodes"]}
    assert [p["id"] for p in graph(store, "A", max_papers=1)["papers"]] == ["B"]  # type: ignore[index]


def test_an_unknown_paper_has_no_neighbourhood(store: EmbeddedStore) -> None:
    assert graph(store, "nope") is None


def test_tex_in_titles_and_author_names_is_drawn_as_text(tmp_path: Path) -> None:
    s = taxonomy_store(tmp_path / "paperkg.sqlite3")
    centre = bundle("T", unit(0), ["probing"], authors=['Kurt G\\"odel'])
    centre.paper.title = r"\textit{Sparse} probes at $\ell_1$"
    neighbour = bundle("U", unit(1), ["probing"], authors=['Kurt G\\"odel'])
    neighbour.paper.title = r"``Grokking'' in {GPT}-2"
    s.upsert_papers([centre, neighbour])
    try:
        data = graph(s, "T")
    finally:
        s.close()
    assert data is not None
    labels = {n["id"]: n["label"] for n in data["nodes"]}
    assert labels["p:T"] == "Sparse probes at ℓ₁"
    assert labels["p:U"] == "“Grokking” in GPT-2"
    assert "Kurt Gödel" in labels.values() and not any("\\" in v for v in labels.values())
    assert data["papers"] == [{"id": "U", "label": "“Grokking” in GPT-2",
                               "shared": ["Probing", "Kurt Gödel"]}]
