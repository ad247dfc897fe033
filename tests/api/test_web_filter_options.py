"""The web search's Model and Component selects are GET /api/models' and /api/components' entries with
papers (one implementation, kg.browse): before, the web walked the taxonomy itself and left out a
component a hand-edited taxonomy put in a parent loop (or under itself) though the API listed it with
papers, so the form offered no way to a filter the API took.

A real SQLite store with hand-written taxonomy nodes through the Flask test client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from api.app import create_app
from kg.embedded import EmbeddedStore
from kg.entities import Finding, FindingAbout, TaxonomyNode
from kg.schema import Label
from tests.api.conftest import app_config
from tests.api.test_json_api_models_components import entries, select_counts
from tests.api.test_web import page
from tests.embedders import HashEmbedder
from tests.kg.test_related import bundle, unit

NODES = [
    TaxonomyNode(Label.COMPONENT, "attn", "Attention"),
    TaxonomyNode(Label.COMPONENT, "head", "A head", parent="attn"),
    TaxonomyNode(Label.COMPONENT, "empty", "No papers"),
    # A hand-edited file's loop, and a component named its own parent: no top component above them.
    TaxonomyNode(Label.COMPONENT, "loop_a", "Loop A", parent="loop_b"),
    TaxonomyNode(Label.COMPONENT, "loop_b", "Loop B", parent="loop_a"),
    TaxonomyNode(Label.COMPONENT, "selfish", "Own parent", parent="selfish"),
    TaxonomyNode(Label.MODEL, "big", "Big model"),
    TaxonomyNode(Label.MODEL, "small", "Small model"),
]


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """Papers on the head, on Loop A, on the own-parent component; one on the big model."""
    folder = tmp_path_factory.mktemp("web-filter-options")
    store = EmbeddedStore(folder / "paperkg.sqlite3")
    store.init_schema()
    store.load_taxonomy(NODES)
    papers = []
    for i, (pid, about, models) in enumerate([("h", "head", ["big"]), ("l", "loop_a", []),
                                              ("s", "selfish", [])]):
        b = bundle(pid, unit(i), [], models=models)
        b.findings = [Finding(id=f"{pid}-c", text="We find parts.",
                              about=[FindingAbout(Label.COMPONENT, about)])]
        papers.append(b)
    store.upsert_papers(papers)
    yield create_app(app_config(folder, STORE=store, EMBEDDER=HashEmbedder()))
    store.close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.mark.parametrize("name", ["model", "component"])
def test_the_selects_offer_the_apis_entries_with_papers(client: FlaskClient, name: str) -> None:
    web = select_counts(page(client, "/search"), name)
    api = {e["id"]: e["count"] for e in entries(client, name) if e["count"] > 0}
    assert web == api and api


def test_a_component_in_a_parent_loop_is_offered_unindented(client: FlaskClient) -> None:
    """A sub-component is indented under its parent; one in a loop, or its own parent, is offered at the
    top level, as kg.browse.components lists it after the others."""
    html = page(client, "/search")
    part = html.split('<select name="component"', 1)[1].split("</select>", 1)[0]
    assert '<option value="head">&nbsp;&nbsp;&nbsp;&nbsp;A head (1)</option>' in part
    for value, text in [("attn", "Attention"), ("loop_a", "Loop A"), ("selfish", "Own parent")]:
        assert f'<option value="{value}">{text} (' in part, value
    assert 'value="empty"' not in part
