"""The JSON API's words (api/json_api.py, api/params.py): a refused choice echoes the value given, a
technique's 404 names every kind the route answers for, a 422 names one unknown id in the singular, a
node's papers say why each is listed, and an answer from a store with no papers says so."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from api.app import close_app, create_app
from kg.store import EMPTY_STORE_MESSAGE
from tests.api.conftest import app_config
from tests.embedders import HashEmbedder
from tests.seed_store import taxonomy_store


def error_of(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    return dict(response.get_json()["error"])


@pytest.mark.parametrize(("url", "parameter", "message"), [
    ("/api/techniques/cma?sort=random", "sort", "'random' is not a sort order; use date or centrality"),
    ("/api/runs?status=done", "status", "'done' is not a run status; use running, succeeded or failed"),
    ("/api/search?q=x&mode=fuzzy", "mode", "'fuzzy' is not a search mode; use hybrid, semantic or keyword"),
    ("/api/search?q=x&refinements=maybe", "refinements", "'maybe' is neither true nor false; use true or "
                                                         "false"),
    ("/api/status?require_weekly=", "require_weekly", "an empty value is neither true nor false; use true "
                                                      "or false"),
    ("/api/search?q=x&year_from=2024&year_to=2020", "year_from", "2024 is after year_to 2020; swap them or "
                                                                 "widen the range"),
])
def test_a_refused_value_is_echoed(client: FlaskClient, url: str, parameter: str, message: str) -> None:
    """Copy edit: a choice's 400 said only "must be one of hybrid, semantic, keyword" (and "must be true or
    false", "must not be after year_to"), while a number's echoed the value given."""
    error = error_of(client.get(url), 400)
    assert error == {"code": "bad_parameter", "parameter": parameter,
                     "message": f"parameter '{parameter}': {message}"}


def test_an_echoed_choice_is_cut_and_escaped(client: FlaskClient) -> None:
    """The value is quoted as every 400 quotes one: its first 40 characters, as a Python literal (a control
    character or a quote escaped)."""
    given = "x" * 50 + "\n"
    error = error_of(client.get("/api/search", query_string={"q": "x", "mode": given}), 400)
    assert error["message"] == (f"parameter 'mode': {'x' * 40!r} is not a search mode; use hybrid, semantic "
                                "or keyword")
    quoted = error_of(client.get("/api/search", query_string={"q": "x", "mode": "it's\n"}), 400)
    assert quoted["message"].startswith("parameter 'mode': \"it's\\n\" is not a search mode")


def test_one_unknown_id_is_named_in_the_singular(client: FlaskClient) -> None:
    """Copy edit: "unknown paper ids: 'nonexistent'" for one id; several stay plural, past ten counted."""
    one = error_of(client.get("/api/bibtex?id=nonexistent"), 422)
    assert one == {"code": "unprocessable_entity", "message": "unknown paper id: 'nonexistent'",
                   "unknown_ids": ["nonexistent"]}
    liked = error_of(client.post("/api/recommend", json={"liked": ["nonexistent"]}), 422)
    assert liked["message"] == "unknown paper id: 'nonexistent'"
    many = [f"nope-{i:02}" for i in range(12)]
    several = error_of(client.post("/api/bibtex", json={"ids": many}), 422)
    shown = ", ".join(repr(i) for i in many[:10])
    assert several["message"] == f"unknown paper ids: {shown} and 2 more"
    assert several["unknown_ids"] == many


def test_an_unknown_node_404_names_every_kind_the_route_answers_for(client: FlaskClient) -> None:
    """Copy edit: /api/techniques/nope said "no technique with id 'nope'", but the route answers for
    evaluations, topics and objects too; the "did you mean" (kg.taxonomy.node_spelt_nearly) stays."""
    error = error_of(client.get("/api/techniques/nope"), 404)
    assert error == {"code": "not_found", "message": "no technique, evaluation, topic or object has the id "
                                                     "'nope' (see /api/techniques)"}
    near = error_of(client.get("/api/techniques/superpositon"), 404)
    assert near["message"] == ("no technique, evaluation, topic or object has the id 'superpositon' (did you "
                               "mean 'superposition'? see /api/techniques)")


ROME = "2202.05262"  # tagged activation_patching, a refinement of cma, by the list and by extraction


def test_a_nodes_papers_say_why_each_is_listed(client: FlaskClient) -> None:
    """Researcher: /api/techniques/<id> listed papers without saying why, where the web page shows "via
    Activation Patching · extracted · <evidence>" (api.web_reasons.node_reasons, which both read)."""
    body = client.get("/api/techniques/cma?limit=100").get_json()
    results = {p["id"]: p for p in body["papers"]["results"]}
    assert all(p["because"] for p in results.values())  # every listed paper has a reason
    because = results[ROME]["because"]
    assert [(r["id"], r["label"], r["refinement"], r["sources"], r["sections"]) for r in because] == [
        ("activation_patching", "Activation Patching", True, ["list", "extracted"], [])]
    # The evidence is the paper's own tags' (GET /api/papers/{id}).
    tags = {t["id"]: t for t in client.get(f"/api/papers/{ROME}").get_json()["techniques"]}
    assert tags["activation_patching"]["evidence"] in because[0]["evidence"]
    # Asked for the refinement itself, the same tag is the node's own.
    own = {p["id"]: p for p in client.get("/api/techniques/activation_patching?limit=100").get_json()[
        "papers"]["results"]}
    assert [(r["id"], r["refinement"]) for r in own[ROME]["because"]] == [("activation_patching", False)]


def test_a_topics_papers_name_their_findings(client: FlaskClient) -> None:
    """A topic's papers are there by a finding about it (or a list section): its text is the evidence."""
    body = client.get("/api/techniques/superposition?limit=100").get_json()
    toy = next(p for p in body["papers"]["results"] if p["id"] == "2209.10652")
    assert toy["because"] == [{"id": "superposition", "label": "Superposition", "refinement": False,
                               "sources": ["extracted"], "evidence": ["Toy Models of Superposition"],
                               "sections": []}]


@pytest.fixture
def empty_app(tmp_path: Path) -> Iterator[Flask]:
    """An app on a real store with the taxonomy and no papers (`paperkg init`, nothing ingested)."""
    store = taxonomy_store(tmp_path / "paperkg.sqlite3")
    app = create_app(app_config(tmp_path, STORE=store, EMBEDDER=HashEmbedder()))
    yield app
    close_app(app)
    store.close()


def test_an_answer_from_a_store_with_no_papers_says_so(empty_app: Flask) -> None:
    """Researcher: on a store with a taxonomy and no papers, /api/search answered total 0 with no hint of
    why; `notice` is kg.store.EMPTY_STORE_MESSAGE, the wording the CLI and the web give."""
    client = empty_app.test_client()
    for url in ("/api/search?q=circuits&mode=keyword", "/api/search?q=circuits", "/api/search?technique=cma",
                "/api/techniques/cma"):
        body = client.get(url).get_json()
        assert body["notice"] == EMPTY_STORE_MESSAGE, url


def test_an_empty_answer_from_a_store_with_papers_has_no_notice(client: FlaskClient) -> None:
    body = client.get("/api/search?q=zzqxjv&mode=keyword").get_json()
    assert (body["total"], body["notice"]) == (0, None)
    assert client.get("/api/search?q=circuits&mode=keyword").get_json()["notice"] is None
    assert client.get("/api/techniques/cma").get_json()["notice"] is None
