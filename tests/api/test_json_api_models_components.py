"""GET /api/models and GET /api/components list the ids the model and component filters take, with their
distinct papers: before them the ids showed only in the web form's selects and in a 400's message.

The seed corpus in a real SQLite store (test_web's fixtures, HashEmbedder vectors) through the Flask test
client; counts are checked against /api/search's total and the web search's model and component selects."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient

from kg.embedded import EmbeddedStore
from kg.schema import Label
from tests.api import test_web
from tests.api.test_web import Inspector, page

# test_web.py's fixtures, not a copy of them: the seed corpus with the HashEmbedder.
store = test_web.store
app = test_web.app
client = test_web.client

LISTS = {"model": ("/api/models", "models", Label.MODEL),
         "component": ("/api/components", "components", Label.COMPONENT)}


def entries(client: FlaskClient, name: str) -> list[dict[str, Any]]:
    """The entries GET /api/models (name "model") or /api/components ("component") lists."""
    path, key, _ = LISTS[name]
    response = client.get(path)
    assert response.status_code == 200, response.data[:300]
    body = response.get_json()
    assert list(body) == [key]
    return list(body[key])


def search_total(client: FlaskClient, name: str, node_id: str) -> int:
    """/api/search's total for the `name` filter alone."""
    response = client.get("/api/search", query_string={name: node_id})
    assert response.status_code == 200, response.get_json()
    return int(response.get_json()["total"])


def select_counts(html: str, name: str) -> dict[str, int]:
    """The web search select `name`'s options: value -> the count its text ends with."""
    part = html.split(f'<select name="{name}"', 1)[1].split("</select>", 1)[0]
    out: dict[str, int] = {}
    for chunk in part.split("<option")[1:]:
        doc = Inspector("<option" + chunk.split("</option>", 1)[0] + "</option>")
        value, text = str(doc.elements[0][1].get("value")), "".join(doc.text).strip()
        if value:  # "any"
            out[value] = int(re.fullmatch(r".* \((\d+)\)", text, re.DOTALL).group(1))  # type: ignore[union-attr]
    return out


@pytest.mark.parametrize("name", ["model", "component"])
def test_every_taxonomy_node_is_listed_with_the_searchs_total(client: FlaskClient, store: EmbeddedStore,
                                                               name: str) -> None:
    """Each model / component of the taxonomy once, its label and aliases, and as its count the search's
    total for that filter alone (a component's with its sub-components' papers, as the filter counts)."""
    listed = entries(client, name)
    nodes = {n.id: n for n in store.taxonomy_nodes() if n.label == LISTS[name][2]}
    assert sorted(e["id"] for e in listed) == sorted(nodes) and len(listed) == len(nodes)
    for e in listed:
        assert e["label"] == nodes[e["id"]].name and e["aliases"] == nodes[e["id"]].aliases
        assert e["count"] == search_total(client, name, e["id"]), e["id"]
    # The seed corpus has papers on some and none on others: both kinds are listed.
    assert any(e["count"] > 0 for e in listed) and any(e["count"] == 0 for e in listed)


def test_models_come_in_the_taxonomys_order(client: FlaskClient, store: EmbeddedStore) -> None:
    listed = [e["id"] for e in entries(client, "model")]
    assert listed == [n.id for n in store.taxonomy_nodes() if n.label == Label.MODEL]
    gpt2 = next(e for e in entries(client, "model") if e["id"] == "gpt2")
    assert gpt2["label"] == "GPT-2" and "GPT2" in gpt2["aliases"] and gpt2["count"] > 0


def test_components_name_their_parent_right_before_their_sub_components(client: FlaskClient) -> None:
    """`parent` is the component it is part of (null at the top); a parent is listed right before its
    sub-components, and its count takes theirs in."""
    listed = entries(client, "component")
    ids = [e["id"] for e in listed]
    by_id = {e["id"]: e for e in listed}
    assert by_id["induction_head"]["parent"] == "mha" and by_id["neuron"]["parent"] == "ff"
    assert by_id["mha"]["parent"] is None and by_id["rs"]["parent"] is None
    for e in listed:
        if e["parent"] is not None:
            # Between the parent and this entry, only the parent's other sub-components.
            between = ids[ids.index(e["parent"]) + 1:ids.index(e["id"])]
            assert all(by_id[i]["parent"] == e["parent"] for i in between), (e["id"], between)
            assert by_id[e["parent"]]["count"] >= e["count"]
    assert by_id["mha"]["count"] > by_id["induction_head"]["count"] > 0


@pytest.mark.parametrize("name", ["model", "component"])
def test_counts_are_the_web_selects(client: FlaskClient, name: str) -> None:
    """The web search's select offers the listed nodes some paper has, each with the API's count."""
    web = select_counts(page(client, "/search"), name)
    api = {e["id"]: e["count"] for e in entries(client, name) if e["count"] > 0}
    assert web == api and api


@pytest.mark.parametrize("name", ["model", "component"])
def test_the_unknown_id_400_lists_the_ids_listed_here(client: FlaskClient, name: str) -> None:
    """The ids an unknown model or component id's 400 names are the ones this route lists."""
    response = client.get("/api/search", query_string={name: "no_such_node"})
    assert response.status_code == 400
    message = response.get_json()["error"]["message"]
    shown = re.search(rf"the {name} ids are ([\w, ]+)\)", message)
    assert shown is not None, message
    assert sorted(shown.group(1).split(", ")) == sorted(e["id"] for e in entries(client, name))
