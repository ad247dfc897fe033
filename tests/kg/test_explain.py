"""Query parsing helpers of kg/explain.py against the packaged taxonomy."""

from __future__ import annotations

import itertools
import re

import pytest

from kg.explain import Labels, best_sentence_by_overlap, folded_words, query_terms
from kg.taxonomy import load_taxonomy
from kg.validation import fold_for_search


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


def test_query_terms_fold_as_keyword_search_does() -> None:
    """Accents, stroked letters and ligatures fold (kg.validation.fold_for_search), then case and plurals."""
    assert query_terms("Søgaard: Naïve Straße ﬁndings of Łukasz") == {
        "sogaard", "naive", "strasse", "finding", "lukasz"}
    assert query_terms("Nai\u0308ve") == {"naive"}  # decomposed: the mark goes, the word stays whole
    assert query_terms("Sogaard") == query_terms("SØGAARD") == {"sogaard"}
    assert query_terms("the of") == set()


def test_overlap_sentence_matches_folded_words() -> None:
    sentences = ["We study probes of attention heads.", "Work by Søgaard shows naïve probes mislead."]
    assert best_sentence_by_overlap("Sogaard", sentences) == (sentences[1], 1.0)
    assert best_sentence_by_overlap("naive Søgaard", sentences) == (sentences[1], 2.0)
    assert best_sentence_by_overlap("strasse", ["A Straße.", "A road."]) == ("A Straße.", 1.0)
    assert best_sentence_by_overlap("lukasz", ["Nothing here.", "By Łukasz."]) == ("By Łukasz.", 1.0)


@pytest.mark.parametrize("text", [
    "Anders Søgaard", "Die Straße, die ﬁrst æsthetic", "Nai\u0308ve cafe\u0301 x", "\u0301 lone mark",
    "plain ascii text", "", "Ελληνικά and Русский", "weiß\u0301 ﬂ\u0301ow Æ",
])
def test_folded_words_spans_cover_the_original_words(text: str) -> None:
    """Each folded word comes with the span of `text` it was folded from (folding changes lengths)."""
    words = list(folded_words(text))
    assert [w for w, _, _ in words] == re.findall(r"[^\W_]+", fold_for_search(text))
    for word, start, end in words:
        assert fold_for_search(text[start:end]) == word
    assert all(a[2] <= b[1] for a, b in itertools.pairwise(words))
