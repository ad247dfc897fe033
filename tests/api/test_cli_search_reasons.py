"""`paperkg search`: each row names every list that lifted it (criteria, models, components) as the web
row does; QUERY may be left out when a filter is given, as GET /api/search takes no q then; the help
says how the values of a filter and different filters combine."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from kg.cli import main


def rows(output: str) -> dict[str, str]:
    """Each printed result's id and the lines printed under its title."""
    found: dict[str, str] = {}
    for block in re.split(r"\n(?=\s*\d+\. \[)", output)[1:]:
        head, _, rest = block.partition("\n")
        found[re.search(r"\[([^\]]+)\]", head).group(1)] = rest  # type: ignore[union-attr]
    return found


@pytest.mark.parametrize(("query", "labels", "words"), [
    # QA: row 2 2104.08696 showed only "semantic 0.1691" under "papers tagged Faithfulness come first",
    # where the web row says "evaluates Faithfulness".
    ("faithfulness", "matched_evaluation_labels", "evaluates"),
    ("Llama", "matched_model_labels", "studies"),
    ("how do feed-forward layers store facts", "matched_component_labels", "about"),
])
def test_a_row_names_the_criteria_models_and_components_it_matched(
    env: dict[str, str], client: FlaskClient, query: str, labels: str, words: str
) -> None:
    result = CliRunner().invoke(main, ["search", query])
    assert result.exit_code == 0, result.output
    printed = rows(result.output)
    api = client.get("/api/search", query_string={"q": query}).get_json()["results"]
    assert list(printed) == [r["id"] for r in api]
    assert sum(bool(r["why"][labels]) for r in api) >= 3
    for hit in api:
        said = f"; {words} " + ", ".join(hit["why"][labels]) if hit["why"][labels] else None
        if said:
            assert said in printed[hit["id"]].splitlines()[0], (hit["id"], printed[hit["id"]])
        else:
            assert f"; {words} " not in printed[hit["id"]], (hit["id"], printed[hit["id"]])
    if query == "faithfulness":
        # Its techniques too, none matched by this query (only the matched ones were listed).
        assert printed["2104.08696"].startswith("     semantic 0.1691; techniques: Gradient-based "
                                                "attribution; evaluates Faithfulness\n")


def test_json_is_still_the_apis_answer(env: dict[str, str], client: FlaskClient) -> None:
    result = CliRunner().invoke(main, ["search", "Llama", "--json"])
    body = json.loads(result.output)
    api = client.get("/api/search?q=Llama").get_json()
    assert body["results"] == api["results"] and body.keys() == api.keys()


def test_query_may_be_left_out_when_a_filter_is_given(env: dict[str, str], client: FlaskClient) -> None:
    """QA: `paperkg search --technique sae` failed with "Missing argument 'QUERY'", though the API takes
    no q when a filter is given."""
    result = CliRunner().invoke(main, ["search", "--technique", "sae"])
    assert result.exit_code == 0, result.output
    api = client.get("/api/search?technique=sae").get_json()
    assert result.output.startswith(f"{api['total']} papers (filtered, newest first); showing 1-")
    assert list(rows(result.output)) == [r["id"] for r in api["results"]] and api["results"]
    blank = CliRunner().invoke(main, ["search", "", "--technique", "sae"])
    assert blank.output == result.output
    as_json = CliRunner().invoke(main, ["search", "--model", "gpt2", "--json"])
    assert json.loads(as_json.output)["results"] == client.get("/api/search?model=gpt2").get_json()["results"]
    # Neither a query nor a filter: the API's 400 in the API's words, as a usage error.
    detail = client.get("/api/search").get_json()["error"]["message"].split(": ", 1)[1]
    for args in ([], ["--technique-match", "all"], ["--mode", "keyword"]):
        bare = CliRunner().invoke(main, ["search", *args])
        assert bare.exit_code == 2, bare.output
        assert bare.output.endswith(f"Error: Invalid value for 'QUERY': {detail}\n"), bare.output


def test_help_says_how_filter_values_combine(env: dict[str, str]) -> None:
    shown = " ".join(CliRunner().invoke(main, ["search", "--help"]).output.split())
    assert "Usage: main search [OPTIONS] [QUERY]" in shown
    assert "QUERY may be left out, or be \"\", when a filter is given" in shown
    assert ("Several values of one filter (the option repeated, or ID,ID split at commas) match any of them; "
            "different filters combine with AND") in shown
    for option in ("--technique ID", "--topic ID", "--model ID", "--component ID", "--section ID"):
        after = shown.split(f" {option} ", 1)[1].split(" --", 1)[0]
        assert "(repeatable, or ID,ID; several match any of them" in after, (option, after)
    assert "sub-topics included" in shown.split(" --topic ID ", 1)[1].split(" --model", 1)[0]


def test_a_topic_takes_its_sub_topics_and_values_are_split_at_commas(
    env: dict[str, str], client: FlaskClient
) -> None:
    """What the help and the OpenAPI descriptions say, as the store does it."""
    def ids(*args: str) -> set[str]:
        out = CliRunner().invoke(main, ["search", *args, "--json", "--limit", "100"])
        assert out.exit_code == 0, out.output
        return {r["id"] for r in json.loads(out.output)["results"]}

    sub = ids("--topic", "knowledge_editing")
    parent = ids("--topic", "lm_enhancement")
    assert sub and sub <= parent
    assert ids("--topic", "ai_safety") <= ids("--topic", "applications")  # the OpenAPI's example
    assert client.get("/api/search?topic=lm_enhancement&refinements=false").get_json()["total"] < len(parent)
    a, b = ids("--topic", "superposition"), ids("--topic", "lm_components")
    assert ids("--topic", "superposition,lm_components") == ids("--topic", "superposition", "--topic",
                                                               "lm_components") == a | b
    assert ids("--topic", "superposition", "--model", "gpt2") == a & ids("--model", "gpt2")
