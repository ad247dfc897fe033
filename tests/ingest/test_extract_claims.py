"""Claim detection and finding links (ingest/extract.py): the rules of EXTRACTOR_VERSION 12.

The sentences are written for these tests (not copied from abstracts); bench/findings_eval.py measures
the rules on the seed abstracts.
"""

from __future__ import annotations

import pytest

from ingest.extract import Extraction, Extractor


def run(extractor: Extractor, abstract: str) -> Extraction:
    """Extract from one abstract after a background sentence (no finding of its own)."""
    return extractor.extract("paper-1", "", "Language models are opaque. " + abstract)


def claims(extraction: Extraction) -> list[str]:
    """The texts of the claim findings."""
    return [f.text for f in extraction.findings if f.kind == "claim"]


def about(extraction: Extraction, text: str) -> set[str]:
    """The node ids the finding with this text is about."""
    (finding,) = [f for f in extraction.findings if f.text == text]
    return {a.id for a in finding.about}


@pytest.mark.parametrize("sentence", [
    # claim verb past "we": a later conjunct of the same clause
    "We measure attention entropy across all heads of twelve models and find that most heads sharpen "
    "during training.",
    # an adverb between "we" and the verb
    "We rigorously prove a bound on the reconstruction error.",
    "We completely reverse engineer the learned modular addition algorithm.",
    # participles with an object
    "We evaluate the probe on six models, showing it to be more faithful than the baseline.",
    "We study heads on web text, identifying polysemantic behaviour in a successor head.",
    "Four complementary lines of evidence are given, arguing that previous-token heads are needed.",
    # "present ... evidence" further from the verb
    "We present six complementary lines of evidence that heads matter.",
    # a component as the subject of a result verb
    "These name mover heads overlap with the heads that ablation flags as important.",
    "Attention head 5.1 (L5H1) suppresses repeated tokens in the copy task.",
    "The emergence of induction heads has a strong correlation with the loss bump.",
    "They emerge in models with as few as two layers.",
    # a demonstrative and "explains"; a measured change
    "This explains why earlier studies saw negative heads.",
    "In doing so, we raise accuracy from 40% to 90% on the task.",
    # a discovered component presented
    "We present copy suppression heads: attention heads that lower the logits of copied tokens.",
])
def test_more_claim_sentences_become_findings(extractor: Extractor, sentence: str) -> None:
    assert claims(run(extractor, sentence)) == [sentence]


@pytest.mark.parametrize("sentence", [
    # "we" in a relative clause
    "We expect that the circuits we identified will transfer to larger models.",
    # a method told by its means
    "We verify the mechanism by ablating each head in turn.",
    "By patching the residual stream at each layer, we localize the components responsible for recall.",
    # a position
    "We argue that circuits are the right unit of analysis.",
])
def test_method_position_and_relative_clause_sentences_are_not_findings(
        extractor: Extractor, sentence: str) -> None:
    assert claims(run(extractor, sentence)) == []


@pytest.mark.parametrize("sentence", [
    "Induction heads are attention heads that implement pattern completion.",  # a definition
    "We ask whether attention heads encode syntax.",  # a question the study asks
    "We present a new method for finding attention heads.",  # a method, not a found component
])
def test_a_component_before_a_result_verb_is_no_claim_unless_its_subject(
        extractor: Extractor, sentence: str) -> None:
    # Guards for the component-subject and "we present" rules (no finding before them either).
    assert claims(run(extractor, sentence)) == []


def test_the_items_of_a_list_a_claim_opens_are_findings(extractor: Extractor) -> None:
    got = run(extractor, "We confirm this by finding that: (1) The heads are necessary. Ablating them "
                         "breaks the task. (2) The heads are sufficient. Patching them restores it. We "
                         "release code.")
    assert claims(got) == [
        "We confirm this by finding that: (1) The heads are necessary.",
        "Ablating them breaks the task.",  # between two items: part of item (1)
        "(2) The heads are sufficient.",
    ]


def test_an_enumeration_marker_inside_a_sentence_ends_no_sentence(extractor: Extractor) -> None:
    sentence = ("We study the circuit and 1.) show that it transfers to GPT-2 medium, and 2.) that it is "
                "reused.")
    got = run(extractor, sentence)
    assert claims(got) == [sentence]
    assert "gpt2" in about(got, sentence)


def test_a_component_describing_the_setting_is_not_what_a_finding_is_about(extractor: Extractor) -> None:
    restricted = "For larger models with MLPs, we present correlational evidence."
    decomposed = "We find that a layer with 512 neurons splits into thousands of features."
    plain = "We find that MLP layers store facts."
    got = run(extractor, " ".join([restricted, decomposed, plain]))
    assert claims(got) == [restricted, decomposed, plain]
    assert "ff" not in about(got, restricted)
    assert "neuron" not in about(got, decomposed)
    assert "ff" in about(got, plain)


def test_the_attention_mechanism_is_multi_head_attention(extractor: Extractor) -> None:
    sentence = "Our results show that models move information with the attention mechanism."
    got = run(extractor, sentence)
    assert about(got, sentence) == {"mha"}
    assert got.components == ["mha"]
