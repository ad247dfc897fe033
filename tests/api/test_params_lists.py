"""A list of filter values names every one it cannot take, not only the first (re-tester QA: `search
--technique nope,nada` and `?technique=nope,nada` said only "unknown technique id 'nope'")."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from werkzeug.datastructures import MultiDict

from api.params import MAX_NAMED_IDS, FilterIdError, ParameterError, search_request
from kg.cli import main
from kg.taxonomy import Taxonomy

SECTIONS = ["findings-and-applications/findings-on-circuits", "methods/probing"]


def detail(taxonomy: Taxonomy, *args: tuple[str, str]) -> str:
    """The 400's detail for a search with `args` (the query 'x' added)."""
    with pytest.raises(ParameterError) as refused:
        search_request(taxonomy, lambda: SECTIONS, MultiDict([("q", "x"), *args]))
    return refused.value.detail


TECHNIQUES = "; see /api/techniques"
CIRCUITS = "findings-and-applications/findings-on-circuits"


@pytest.mark.parametrize(("args", "said"), [
    ([("technique", "nope,nada")], "unknown technique ids: 'nope' and 'nada'" + TECHNIQUES),
    # Repeated and comma-separated alike; each id's own "did you mean".
    ([("technique", "nope"), ("technique", "logit len,nada")],
     "unknown technique ids: 'nope', 'logit len' (did you mean 'logit_lens'?) and 'nada'" + TECHNIQUES),
    ([("topic", "nope,Superposition")],
     "unknown topic ids: 'nope' and 'Superposition' (did you mean 'superposition'?)" + TECHNIQUES),
    ([("model", "nope,GPT-2")],
     "unknown model ids: 'nope' and 'GPT-2' (did you mean 'gpt2'?); see /api/models; the model ids are "),
    ([("component", "nope,induction heads")],
     "unknown component ids: 'nope' and 'induction heads' (did you mean 'induction_head'?); "
     "see /api/components; the component ids are "),
    # A name of another filter's node, an id of another kind: each said as when it is alone.
    ([("technique", "nope,polysemantic,superposition")],
     "unknown technique ids: 'nope' and 'polysemantic' (it names the topic 'polysemanticity': use the "
     "topic filter); see /api/techniques; 'superposition' is not a technique id (it is a topic: use the "
     "topic filter)"),
    ([("model", "sae,superposition")],
     "'sae' is not a model id (it is a technique: use the technique filter); "
     "'superposition' is not a model id (it is a topic: use the topic filter)"),
    ([("model", "sae,nope")], "unknown model id 'nope' (see /api/models; the model ids are "),
    ([("section", "zzzz,circuits")],
     f"unknown section ids: 'zzzz' and 'circuits' (did you mean '{CIRCUITS}'?); see /api/sections"),
    ([("source", "nope,arxiv,nada")], "'nope' and 'nada' are not sources; use list, arxiv or records"),
])
def test_every_refused_value_is_named(taxonomy: Taxonomy, args: list[tuple[str, str]], said: str) -> None:
    assert detail(taxonomy, *args).startswith(said)


def test_a_long_list_names_the_first_ten_and_counts_the_rest(taxonomy: Taxonomy) -> None:
    ids = [f"nope{i}" for i in range(MAX_NAMED_IDS + 4)]
    named = ", ".join(repr(i) for i in ids[:MAX_NAMED_IDS])
    assert detail(taxonomy, ("technique", ",".join(ids))) == (
        f"unknown technique ids: {named} and 4 more; see /api/techniques")
    sections = [f"zz{i}" for i in range(MAX_NAMED_IDS + 1)]
    assert detail(taxonomy, ("section", ",".join(sections))).endswith("'zz9' and 1 more; see /api/sections")


def test_the_errors_fields_are_the_first_refused_ids(taxonomy: Taxonomy) -> None:
    """The web form words its message from the fields: they stay those of one id, the first."""
    with pytest.raises(FilterIdError) as refused:
        search_request(taxonomy, list, MultiDict([("technique", "sae,superposition,nope")]))
    assert (refused.value.node_id, refused.value.label, refused.value.other_filter) == (
        "superposition", "Topic", "topic")


def test_the_api_and_the_cli_name_every_unknown_id(env: dict[str, str], client: FlaskClient) -> None:
    api = client.get("/api/search", query_string={"q": "x", "technique": "nope,nada"})
    assert api.status_code == 400
    assert api.get_json()["error"]["message"] == (
        "parameter 'technique': unknown technique ids: 'nope' and 'nada'; see /api/techniques")
    result = CliRunner().invoke(main, ["search", "x", "--technique", "nope,nada"])
    assert result.exit_code == 2, result.output
    said = " ".join(result.output.split())  # click may wrap the line
    assert "unknown technique ids: 'nope' and 'nada'; see `paperkg filters`" in said
