"""Query parsing helpers of kg/explain.py against the packaged taxonomy."""

from __future__ import annotations

import pytest

from kg.explain import Labels
from kg.taxonomy import load_taxonomy


@pytest.fixture(scope="module")
def labels() -> Labels:
    """Labels over the packaged taxonomy."""
    return Labels(load_taxonomy().nodes)


@pytest.mark.parametrize(("query", "expected"), [
    ("evaluating the faithfulness of circuits", {"faithfulness"}),
    ("Completeness and minimality of the IOI circuit", {"completeness", "minimality"}),
    ("a minimal circuit for greater-than", {"minimality"}),          # multi-word alias
    ("extrinsic evaluation of SAEs", {"extrinsic_evaluation"}),
    ("faithful chain-of-thought reasoning", set()),                  # one-word alias: not a criterion
    ("plausible explanations of neurons", set()),
    ("activation patching", set()),
])
def test_criteria_named_by_name_or_multiword_alias(labels: Labels, query: str, expected: set[str]) -> None:
    found = {i for ids in labels.criteria_in_query(query).values() for i in ids}
    assert found == expected


def test_phrases_in_text_reports_the_matched_phrase(labels: Labels) -> None:
    """Plurals ("lenses") match; the phrase comes back as the taxonomy spells it (search uses its words)."""
    hits = labels.phrases_in_text("Papers comparing logit lenses with activation patching", "Technique")
    assert hits == {"logit lens": {"logit_lens"}, "activation patching": {"activation_patching"}}
    assert labels.techniques_in_text("Papers comparing logit lenses", "Technique") == {"logit_lens"}
