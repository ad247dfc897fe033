"""An unknown model or component id's 400 names the route that lists the filter's ids with their counts
(GET /api/models, /api/components), as a technique or topic id's names /api/techniques; the hint still
lists the ids themselves. The seed corpus in a real SQLite store through the Flask test client."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from tests.api import test_web

# test_web.py's fixtures: the seed corpus with the HashEmbedder.
store = test_web.store
app = test_web.app
client = test_web.client


@pytest.mark.parametrize(("name", "route", "key"), [("model", "/api/models", "models"),
                                                     ("component", "/api/components", "components")])
def test_an_unknown_model_or_component_id_names_the_route_listing_them(
    client: FlaskClient, name: str, route: str, key: str
) -> None:
    response = client.get("/api/search", query_string={name: "no_such_node"})
    assert response.status_code == 400
    message = response.get_json()["error"]["message"]
    shown = re.fullmatch(
        rf"parameter '{name}': unknown {name} id 'no_such_node' \(see (\S+); the {name} ids are ([\w, ]+)\)",
        message)
    assert shown is not None, message
    assert shown.group(1) == route
    listed = client.get(shown.group(1))
    assert listed.status_code == 200
    # The same ids (the route puts a parent component right before its sub-components).
    assert sorted(e["id"] for e in listed.get_json()[key]) == sorted(shown.group(2).split(", "))
