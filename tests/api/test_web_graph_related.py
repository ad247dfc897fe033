"""The graph view's papers (api/web_graph.py, /papers/<id>/graph.json): the neighbours sharing a node are
cut to the cap by the related-paper score (not by id), the number left out is in `truncated.papers` and on
the page with a link to the related list, and the paper's closest related papers that share nothing are
drawn with a "similar" edge carrying the related list's reason, at most MAX_SIMILAR of them."""

from __future__ import annotations

import json
import math
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from api.app import create_app
from api.web_graph import MAX_PAPERS, MAX_SIMILAR, neighbourhood
from kg.embedded import EmbeddedStore
from kg.explain import Labels
from kg.related import related
from tests.api.conftest import app_config, serving
from tests.embedders import HashEmbedder
from tests.kg.test_related import bundle, unit
from tests.seed_store import taxonomy_store


def at_cosine(cosine: float, axis: int) -> np.ndarray:
    """A unit vector at `cosine` to unit(0), off along its own axis (so the papers differ from each other)."""
    v = np.zeros(384, dtype=np.float32)
    v[0], v[axis] = cosine, math.sqrt(1 - cosine * cosine)
    return v / np.linalg.norm(v)


def fetch(url: str) -> str:
    with urllib.request.urlopen(url) as response:
        return str(response.read().decode("utf-8"))


def graph(store: EmbeddedStore, paper_id: str, **kw: Any) -> dict[str, Any]:
    data = neighbourhood(store, paper_id, Labels(store.taxonomy_nodes()), paper_url=lambda p: f"/papers/{p}",
                         node_url=lambda n: f"/techniques/{n}", **kw)
    assert data is not None
    return data


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EmbeddedStore]:
    """C uses probing. Two papers share it, equal in shared nodes: "a-slug" far from C's abstract,
    "z-close" near it. Seven share nothing, their abstracts at cosine 0.9 down to 0.6 of C's."""
    s = taxonomy_store(tmp_path / "paperkg.sqlite3")
    s.upsert_papers([
        bundle("C", unit(0), ["probing"], authors=["Solo Author"]),
        bundle("a-slug", unit(1), ["probing"]),
        bundle("z-close", at_cosine(0.7, 2), ["probing"]),
        *[bundle(f"S{i}", at_cosine(0.9 - 0.05 * i, 10 + i), []) for i in range(7)],
    ])
    yield s
    s.close()


def test_papers_are_cut_to_the_cap_by_relatedness_not_by_id(store: EmbeddedStore) -> None:
    # QA: sorted by (shared-node weight, id), slug ids ("a-…", "towards-…") were cut first.
    assert [p["id"] for p in graph(store, "C")["papers"]] == ["z-close", "a-slug"]
    data = graph(store, "C", max_papers=1)
    assert [p["id"] for p in data["papers"]] == ["z-close"]
    assert data["truncated"] == {"authors": 0, "papers": 1}
    assert "p:a-slug" not in {n["id"] for n in data["nodes"]}
    assert graph(store, "C")["truncated"]["papers"] == 0


def test_related_papers_sharing_nothing_are_drawn_as_similar_at_most_five(store: EmbeddedStore) -> None:
    data = graph(store, "C")
    similar = [e for e in data["edges"] if e["kind"] == "similar"]
    # The related list's order, its first MAX_SIMILAR papers that share nothing (S0 … S4, not S5, S6).
    assert MAX_SIMILAR == 5
    assert [e["target"] for e in similar] == [f"p:S{i}" for i in range(5)]
    assert all(e["source"] == "p:C" for e in similar)
    assert [e["reason"] for e in similar] == [
        f"similar abstract, cosine {0.9 - 0.05 * i:.2f}" for i in range(5)]
    hits = {h.id: h for h in related(store, "C", limit=10)}
    assert all(e["reason"] == f"similar abstract, {hits[e['target'][2:]].reasons[0]}" for e in similar)
    nodes = {n["id"]: n for n in data["nodes"]}
    assert nodes["p:S0"]["kind"] == "paper" and nodes["p:S0"]["href"] == "/papers/S0"
    assert [(p["id"], p["reason"]) for p in data["similar"]] == [
        (f"S{i}", f"similar abstract, cosine {0.9 - 0.05 * i:.2f}") for i in range(5)]
    # A paper that shares a node but was cut by the cap is not "similar": it is counted in truncated.
    capped = graph(store, "C", max_papers=1)
    assert "p:a-slug" not in {e["target"] for e in capped["edges"] if e["kind"] == "similar"}


def test_a_stranger_at_cosine_zero_is_not_similar(tmp_path: Path) -> None:
    s = taxonomy_store(tmp_path / "paperkg.sqlite3")
    s.upsert_papers([bundle("C", unit(0), ["probing"]), bundle("X", unit(1), [])])
    try:
        data = graph(s, "C")
    finally:
        s.close()
    assert data["similar"] == [] and "p:X" not in {n["id"] for n in data["nodes"]}


@pytest.fixture
def crowded(tmp_path: Path) -> Iterator[EmbeddedStore]:
    """C and MAX_PAPERS + 2 papers sharing its technique, the later ids nearer its abstract, and one paper
    sharing nothing at cosine 0.95."""
    s = taxonomy_store(tmp_path / "paperkg.sqlite3")
    s.upsert_papers([
        bundle("C", unit(0), ["probing"], models=["gpt2"]),
        *[bundle(f"n{i:02d}", at_cosine(0.01 * (i + 1), 10 + i), ["probing"]) for i in range(MAX_PAPERS + 2)],
        bundle("twin", at_cosine(0.95, 5), []),
    ])
    yield s
    s.close()


def test_graph_json_and_page_say_how_many_papers_are_not_drawn(crowded: EmbeddedStore,
                                                                tmp_path: Path) -> None:
    app = create_app(app_config(tmp_path / "app", STORE=crowded, EMBEDDER=HashEmbedder()))
    with serving(app) as port:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/papers/C/graph.json") as response:
            data = json.load(response)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/papers/C/graph") as response:
            html = response.read().decode("utf-8")
    assert data["truncated"] == {"authors": 0, "papers": 2}
    drawn = {n["id"] for n in data["nodes"] if n["kind"] == "paper"}
    # The two least related (n00, n01: the smallest ids) are the ones left out.
    assert drawn == {f"p:n{i:02d}" for i in range(2, MAX_PAPERS + 2)} | {"p:twin"}
    assert [(e["target"], e["reason"]) for e in data["edges"] if e["kind"] == "similar"] == [
        ("p:twin", "similar abstract, cosine 0.95")]
    assert "25 of the 27 papers that share" in html
    assert re.search(r'<a href="/papers/C#related"[^>]*>see all related papers</a>', html)
    assert "2 more papers sharing something not drawn" in html
    assert "Neighbourhood as a list (25 of 27 papers sharing something, 1 similar)" in html
    assert "Related papers that share nothing drawn here" in html
    assert "<bdi>similar abstract, cosine 0.95</bdi>" in html
    assert ("Also 1 related paper that shares nothing drawn here but whose abstract is close to this one’s "
            "(cosine 0.25 or more)") in html


def test_the_list_says_how_each_own_node_hangs_off_the_paper(tmp_path: Path) -> None:
    from kg.entities import EvaluationUse, Finding, FindingAbout
    from kg.schema import Label

    s = taxonomy_store(tmp_path / "paperkg.sqlite3")
    centre = bundle("C", unit(0), ["probing"], models=["gpt2"])
    centre.evaluations = [EvaluationUse("faithfulness", "list", evidence="Faithfulness")]
    about = [FindingAbout(Label.TOPIC, "superposition")]
    centre.findings = [Finding("C-f", "On superposition.", about=about)]
    s.upsert_papers([centre])
    app = create_app(app_config(tmp_path / "app", STORE=s, EMBEDDER=HashEmbedder()))
    try:
        with serving(app) as port:
            html = fetch(f"http://127.0.0.1:{port}/papers/C/graph")
    finally:
        s.close()
    text = re.sub(r"<[^>]+>", "", html)
    assert re.search(r"Probing\s*\(uses\)", text)
    assert re.search(r"Faithfulness\s*\(evaluates with it\)", text)
    assert re.search(r"GPT-2\s*\(studies\)", text)
    assert re.search(r"Superposition\s*\(about, via a finding\)", text)
    # Legend and hint: only the kinds drawn, in words (no author, no paper, no component here).
    legend = re.search(r'<div class="legend".*?</div>', html, re.S)
    assert legend is not None
    kinds = re.findall(r'class="lge? lge?-([a-z]+)"', legend.group(0))
    assert kinds == ["center", "technique", "evaluation", "topic", "model",
                     "uses", "evaluates", "studies", "about"]
    assert ("Click a technique, evaluation or topic to open its page; a model to search for its papers."
            in html)
    assert "Tap a technique, evaluation or topic to open its page; a model to search for its papers." in html
    assert "Ctrl+wheel" in html and "an author" not in html
    assert "No other paper shares" in html
