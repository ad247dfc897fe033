"""`paperkg filters` lists the ids the search filters take, with names and the counts the API gives, and
the CLI's unknown-id errors point to it (QA: they said "see /api/sections", which a CLI user has no
server for)."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from kg.cli import main


def run(*args: str) -> str:
    """The command's output; it must succeed."""
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_the_json_is_the_api_listings(env: dict[str, str], client: FlaskClient) -> None:
    listed = json.loads(run("filters", "--json"))
    expected = {**client.get("/api/techniques").get_json(), **client.get("/api/models").get_json(),
                **client.get("/api/components").get_json(), **client.get("/api/sections").get_json()}
    assert listed == expected
    assert listed["techniques"] and listed["models"] and listed["components"] and listed["sections"]


def listed_ids(output: str) -> dict[str, dict[str, int]]:
    """Per option (--technique, ...), each listed id and its paper count."""
    ids: dict[str, dict[str, int]] = {}
    option = ""
    for line in output.splitlines():
        if line.startswith("counts: "):  # the note on what a count takes
            continue
        if line.startswith("--"):
            option = line.split(":", 1)[0]
            ids.setdefault(option, {})
            continue
        entry = re.fullmatch(r" +(\S+)  .*  \((\d+) papers?(?:, \d+ tagged .+ itself)?\)", line)
        assert entry, line
        ids[option][entry.group(1)] = int(entry.group(2))
    return ids


def test_the_text_lists_each_filters_ids_with_the_searchs_count(env: dict[str, str], client: FlaskClient
                                                                 ) -> None:
    output = run("filters")
    assert "  sae  Sparse Autoencoder (SAE)  (" in output
    assert "  tools  Tools  (1 paper)" in output
    ids = listed_ids(output)
    assert set(ids) == {"--technique", "--topic", "--model", "--component", "--section"}
    for option, entries in ids.items():
        param = option.removeprefix("--")
        for node_id, count in entries.items():
            response = client.get("/api/search", query_string={param: node_id, "limit": 1})
            assert response.status_code == 200, (option, node_id, response.get_json())
            assert response.get_json()["total"] == count, (option, node_id)


@pytest.mark.parametrize(("args", "wrong"), [
    (["--section", "zzzz"], "unknown section id 'zzzz' (see `paperkg filters`)"),
    (["--section", "circuits"], "unknown section id 'circuits' (did you mean "
                                "'findings-and-applications/findings-on-circuits'? see `paperkg filters`)"),
    (["--technique", "nope"], "unknown technique id 'nope' (see `paperkg filters`)"),
    (["--model", "nope"], "unknown model id 'nope' (see `paperkg filters`; the model ids are "),
    (["--component", "nope"], "unknown component id 'nope' (see `paperkg filters`; the component ids are "),
])
def test_the_cli_errors_point_to_the_filters_command(
    env: dict[str, str], client: FlaskClient, args: list[str], wrong: str
) -> None:
    result = CliRunner().invoke(main, ["search", "x", *args])
    assert result.exit_code == 2, result.output
    assert wrong in " ".join(result.output.split())  # click may wrap the line
    assert "/api/" not in result.output
    # The API keeps its own words.
    param = args[0].removeprefix("--")
    api = client.get("/api/search", query_string={"q": "x", param: args[1]}).get_json()
    assert "see /api/" in api["error"]["message"]
