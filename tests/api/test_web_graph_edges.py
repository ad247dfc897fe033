"""The graph view's data (api/web_graph.py, /papers/<id>/graph.json): a paper's evaluations are nodes,
a model it studies is a "studies" edge even when a finding is about it too, and authors not drawn
(past MAX_AUTHORS) are counted in "truncated" and said on the page's text list."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.app import create_app
from api.web_graph import MAX_AUTHORS, neighbourhood
from kg.embedded import EmbeddedStore
from kg.entities import EvaluationUse, Finding, FindingAbout
from kg.explain import Labels
from kg.schema import Label
from tests.api.conftest import app_config, serving
from tests.embedders import HashEmbedder
from tests.kg.test_related import bundle, unit
from tests.seed_store import taxonomy_store

AUTHORS = [f"Author Number{i}" for i in range(MAX_AUTHORS + 21)]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EmbeddedStore]:
    """C: evaluated for faithfulness, studies GPT-2 (a finding is about GPT-2 and Pythia too), 33 authors;
    N shares C's last author (past the cap) and a technique."""
    s = taxonomy_store(tmp_path / "paperkg.sqlite3")
    centre = bundle("C", unit(0), ["probing"], authors=AUTHORS, models=["gpt2"])
    centre.evaluations = [EvaluationUse("faithfulness", "list", evidence="Faithfulness")]
    about = [FindingAbout(Label.MODEL, "gpt2"), FindingAbout(Label.MODEL, "pythia")]
    centre.findings = [Finding("C-f", "GPT-2 and Pythia do it.", about=about)]
    s.upsert_papers([centre, bundle("N", unit(1), ["probing"], authors=[AUTHORS[-1]]),
                     bundle("Q", unit(2), ["probing"], authors=["Solo Writer"])])
    yield s
    s.close()


def graph(store: EmbeddedStore, paper_id: str) -> dict[str, Any]:
    data = neighbourhood(store, paper_id, Labels(store.taxonomy_nodes()), paper_url=lambda p: f"/papers/{p}",
                         node_url=lambda n: f"/techniques/{n}")
    assert data is not None
    return data


def test_evaluations_are_nodes_with_an_evaluates_edge(store: EmbeddedStore) -> None:
    data = graph(store, "C")
    nodes = {n["id"]: (n["label"], n["kind"], n["href"]) for n in data["nodes"]}
    # QA: its kind was "technique".
    assert nodes["n:faithfulness"] == ("Faithfulness", "evaluation", "/techniques/faithfulness")
    edges = {(e["source"], e["target"], e["kind"]) for e in data["edges"]}
    assert ("p:C", "n:faithfulness", "evaluates") in edges


def test_a_studied_model_is_studies_though_a_finding_is_about_it(store: EmbeddedStore) -> None:
    edges = {(e["source"], e["target"]): e["kind"] for e in graph(store, "C")["edges"]}
    assert edges[("p:C", "n:gpt2")] == "studies"
    assert edges[("p:C", "n:pythia")] == "about"  # not studied: only a finding is about it


def test_authors_left_out_are_counted(store: EmbeddedStore) -> None:
    data = graph(store, "C")
    drawn = {n["id"] for n in data["nodes"] if n["kind"] == "author"}
    # The first MAX_AUTHORS, and the last one too, since neighbour N shares that author.
    assert drawn == {f"a:{a.casefold()}" for a in [*AUTHORS[:MAX_AUTHORS], AUTHORS[-1]]}
    assert data["truncated"] == {"authors": len(AUTHORS) - MAX_AUTHORS - 1, "papers": 0}
    assert graph(store, "Q")["truncated"] == {"authors": 0, "papers": 0}


def test_graph_json_and_page_say_how_many_authors_are_not_drawn(store: EmbeddedStore, tmp_path: Path) -> None:
    app = create_app(app_config(tmp_path / "app", STORE=store, EMBEDDER=HashEmbedder()))
    with serving(app) as port:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/papers/C/graph.json") as response:
            data = json.load(response)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/papers/C/graph") as response:
            html = response.read().decode("utf-8")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/papers/Q/graph") as response:
            solo = response.read().decode("utf-8")
    assert data["truncated"] == {"authors": 20, "papers": 0}
    assert "n:faithfulness" in {n["id"] for n in data["nodes"]}
    assert "20 more authors not drawn" in html
    assert "more author" not in solo
