"""An unknown section id says which section it likely means, as an unknown technique id does (QA:
`paperkg search "" --section circuits` said only "unknown section id 'circuits' (see /api/sections)")."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from api.params import section_suggestion
from kg.cli import main
from kg.embedded import EmbeddedStore

CIRCUITS = "findings-and-applications/findings-on-circuits"


@pytest.mark.parametrize(("given", "meant"), [
    ("circuits", CIRCUITS),                              # a word of the heading
    ("findings-on-circuits", CIRCUITS),                  # the last heading's slug
    ("Findings on circuits", CIRCUITS),                  # the heading's title
    ("Findings-On-Circuits", CIRCUITS),                  # another case
    (CIRCUITS + "/", CIRCUITS),                          # a trailing slash
    ("findings-on-circiuts", CIRCUITS),                  # a misspelling
    ("Interpreting LM Behaviors", CIRCUITS + "/interpreting-lm-behaviors"),
    ("features", "findings-and-applications/findings-on-features"),
])
def test_the_api_suggests_the_section_a_guess_means(
    client: FlaskClient, seed_store: EmbeddedStore, given: str, meant: str
) -> None:
    stored = [str(s["id"]) for s in seed_store.list_sections()]
    assert meant in stored or any(s.startswith(meant + "/") for s in stored)
    response = client.get("/api/search", query_string={"section": given})
    assert response.status_code == 400  # suggested, not taken
    message = response.get_json()["error"]["message"]
    assert message.endswith(f"unknown section id {given!r} (did you mean {meant!r}? see /api/sections)")


def test_no_suggestion_when_nothing_is_close(client: FlaskClient) -> None:
    message = client.get("/api/search?section=zzzz").get_json()["error"]["message"]
    assert message.endswith("unknown section id 'zzzz' (see /api/sections)")
    assert section_suggestion("zzzz", [CIRCUITS]) is None
    assert section_suggestion("///", [CIRCUITS]) is None
    assert section_suggestion("circuits", []) is None


def test_the_cli_suggests_it_in_the_same_words(env: dict[str, str]) -> None:
    """The same suggestion; the ids are listed by `paperkg filters` (tests/api/test_cli_filters.py)."""
    result = CliRunner().invoke(main, ["search", "", "--section", "circuits"])
    assert result.exit_code == 2, result.output
    assert (f"unknown section id 'circuits' (did you mean {CIRCUITS!r}? see `paperkg filters`)"
            in " ".join(result.output.split()))


def test_the_web_form_suggests_it_too(client: FlaskClient) -> None:
    """The search page words its own error: it gives the same suggestion, escaped, and still refuses."""
    html = client.get("/search", query_string={"section": "circuits"}).get_data(as_text=True)
    assert f"Unknown list section “<bdi>circuits</bdi>”: did you mean “<bdi>{CIRCUITS}</bdi>”?" in html
    assert "did you mean" not in client.get("/search?section=zzzz").get_data(as_text=True)


@pytest.mark.parametrize(("given", "meant"), [
    # QA: the label as the web form's select shows it got no suggestion.
    ("Findings and Applications › Findings on circuits", CIRCUITS),
    ("Findings and Applications › Findings on circuits (all)", CIRCUITS),
    ("Findings and Applications > Findings on circuits", CIRCUITS),
    ("Findings and Applications › Findings on circuits › Interpreting LM Behaviors",
     CIRCUITS + "/interpreting-lm-behaviors"),
    # QA: the broad parent "Findings and Applications" was suggested for the section named by the word.
    ("applications", "findings-and-applications/applications-of-mi"),
    ("Applications", "findings-and-applications/applications-of-mi"),
    # A word every "Findings on ..." heading starts with still means the heading above them all.
    ("findings", "findings-and-applications"),
])
def test_the_form_label_and_the_best_heading_are_suggested(
    seed_store: EmbeddedStore, given: str, meant: str
) -> None:
    stored = [str(s["id"]) for s in seed_store.list_sections()]
    assert section_suggestion(given, stored) == meant
