"""Query parsing helpers of kg/explain.py against the packaged taxonomy."""

from __future__ import annotations

import itertools
import re

import pytest

from kg import explain
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


# Researcher QA: the highlighted sentence of a hit was background, not the claim.
SUCCESSOR_HEADS = [
    "In this work we present successor heads: attention heads that increment tokens.",
    "However, results in toy models have not yet led to insights and little is currently understood"
    " about the internal operations of large language models.",
    "They form in LLMs such as GPT-2, Pythia, and Llama-2.",
]


def test_question_filler_words_do_not_pick_the_sentence() -> None:
    """"about" (and "say", "papers") frame the question: the sentence naming Pythia is the answer,
    though the "about" sentence comes first; a query of filler words alone still counts them."""
    assert best_sentence_by_overlap("what do papers say about Pythia", SUCCESSOR_HEADS) == (
        SUCCESSOR_HEADS[2], 1.0)
    found = ["Prior work has found little about this.", "The residual stream carries features."]
    assert best_sentence_by_overlap("what has been found about the residual stream", found) == (
        found[1], 2.0)
    assert best_sentence_by_overlap("papers about", SUCCESSOR_HEADS) == (SUCCESSOR_HEADS[1], 1.0)
    assert explain.content_terms(query_terms("what has been found about the residual stream")) == {
        "residual", "stream"}


# "gpt-2" is the query terms "gpt" and "2": a sentence saying either spelling has both.
@pytest.mark.parametrize(("query", "index", "score"), [
    ("GPT2", 1, 1.0), ("gpt-2", 1, 2.0), ("Llama2", 2, 1.0), ("pythia-70m", 3, 2.0)])
def test_model_names_match_in_either_spelling(query: str, index: int, score: float) -> None:
    sentences = ["We use GPT-4 to write explanations of neurons.",
                 "We release scores for every neuron in GPT-2.",
                 "We study Llama 2 chat.", "Heads of Pythia70M copy tokens."]
    assert best_sentence_by_overlap(query, sentences) == (sentences[index], score)
    assert {"gpt2", "gpt", "2"} <= explain.sentence_words("GPT-2 and GPT2")


def test_a_code_pointer_is_not_the_sentence() -> None:
    """The tuned-lens abstract's last sentence matched "found"; a URL sentence is no finding."""
    sentences = ["We analyze transformers layer by layer.",
                 "All code needed to reproduce our results can be found at https://github.com/a/tuned-lens."]
    assert best_sentence_by_overlap("tuned lens code github", sentences)[0] == sentences[0]
    assert best_sentence_by_overlap("reproduce", sentences) == (sentences[0], 0.0)
    assert best_sentence_by_overlap("reproduce", sentences[1:]) == (sentences[1], 1.0)  # nothing else left
    assert explain.is_pointer("Our code and models are publicly available.")
    assert not explain.is_pointer("We train models at three sizes.")
    assert not explain.is_pointer("We release a dataset of explanations for every neuron in GPT-2.")


def test_ties_go_to_the_papers_finding() -> None:
    """Of the sentences sharing as many words, the one that is a finding of the paper (or, without
    findings, says "we find ..."); the earlier one only among equals."""
    sentences = ["Induction heads are studied in small models.", "Prior work studied induction heads.",
                 "We find that induction heads form in a phase change."]
    assert best_sentence_by_overlap("induction heads", sentences) == (sentences[2], 2.0)
    query = "induction heads"
    assert best_sentence_by_overlap(query, sentences, claims=[sentences[1]]) == (sentences[1], 2.0)
    # The finding as the extractor split it may be longer or shorter than split_sentences' sentence.
    shorter = ["Prior work studied induction"]
    assert best_sentence_by_overlap(query, sentences, claims=shorter)[0] == sentences[1]
    assert best_sentence_by_overlap("induction heads", sentences, claims=[]) == (sentences[0], 2.0)
    # No sentence shares a word: the finding rather than the first sentence.
    assert best_sentence_by_overlap("superposition", sentences) == (sentences[2], 0.0)
    assert best_sentence_by_overlap("phase change", sentences) == (sentences[2], 2.0)
