"""Techniques named as not used, and the evidence sentence (ingest/extract.py, EXTRACTOR_VERSION 14).

Each rule has a pair: a sentence written for these tests that uses the technique, and one that names it
as contrasted, negated or prior work. bench/extraction_eval.py measures the rules on the seed abstracts.
"""

from __future__ import annotations

from typing import Any

import pytest

from ingest.extract import Extraction, Extractor


def run(extractor: Extractor, abstract: str, title: str = "") -> Extraction:
    """Extract from one abstract."""
    return extractor.extract("paper-1", title, abstract)


def techniques(extraction: Extraction) -> set[str]:
    """Technique ids of an extraction."""
    return {t.technique_id for t in extraction.techniques}


# (rule, technique, a sentence using it, a sentence naming it as not used).
PAIRS = [
    ("unlike", "activation_patching",
     "Like activation patching, our method needs a single pass.",
     "Unlike activation patching, which requires many forward passes, our method needs a single pass."),
    ("do not use", "probing",
     "We use probing.",
     "We do not use probing."),
    ("do not use, a list", "sae",
     "We use probing or SAEs.",
     "We do not use probing or SAEs."),
    ("never", "logit_lens",
     "We always use the logit lens on each layer.",
     "We never use the logit lens on each layer."),
    ("does not rely on", "activation_patching",
     "Our method relies on a form of activation patching.",
     "Our method does not rely on any form of activation patching."),
    ("requires no", "sae",
     "Our method requires SAEs.",
     "Our method requires no SAEs."),
    ("without", "sae",
     "The method finds circuits with sparse autoencoders.",
     "The method finds circuits without sparse autoencoders."),
    ("instead of", "activation_patching",
     "Alongside activation patching, we use attribution patching.",
     "Instead of activation patching, we use attribution patching."),
    ("rather than", "activation_patching",
     "We use attribution patching and activation patching.",
     "We use attribution patching rather than activation patching."),
    ("as opposed to", "activation_patching",
     "We use attribution patching, followed by activation patching.",
     "We use attribution patching, as opposed to activation patching."),
    ("in contrast to", "probing",
     "In addition to probing, our method reads the weights.",
     "In contrast to probing, our method reads the weights."),
    ("no need for", "activation_patching",
     "Our approach keeps the need for activation patching.",
     "Our approach removes the need for activation patching."),
    ("a coordinated modifier", "attribution_patching",
     "Besides activation and attribution patching, we find heads.",
     "Unlike activation and attribution patching, we find heads."),
    ("a list of negated mentions", "sae",
     "Our method works with probing, activation patching, or sparse autoencoders.",
     "Our method works without probing, activation patching, or sparse autoencoders."),
    ("prior work subject", "logit_lens",
     "Our work relied on sparse autoencoders and the logit lens, which are cheap.",
     "Prior work relied on sparse autoencoders and the logit lens."),
    ("existing methods subject", "probing",
     "However, our methods such as probing and activation patching are fast.",
     "However, existing methods such as probing and activation patching are slow."),
    ("previously", "logit_lens",
     "Here, the logit lens is used to decode layers.",
     "Previously, the logit lens was used to decode layers."),
    ("has been used", "activation_patching",
     "Activation patching is used here to localize behaviour.",
     "Activation patching has been widely used to localize behaviour."),
    ("which is costly", "probing",
     "Probing classifiers, which are cheap, read the residual stream.",
     "Probing classifiers, which are costly, read the residual stream."),
]


@pytest.mark.parametrize(("rule", "technique", "affirmative", "contrast"), PAIRS, ids=[p[0] for p in PAIRS])
def test_a_technique_named_as_not_used_is_no_use(
    extractor: Extractor, rule: str, technique: str, affirmative: str, contrast: str
) -> None:
    """QA (author): contrasted, negated and prior-work mentions were tagged as USES."""
    assert technique in techniques(run(extractor, affirmative)), rule
    assert technique not in techniques(run(extractor, contrast)), rule


def test_the_qa_contrast_abstract_uses_none_of_the_techniques_it_names(extractor: Extractor) -> None:
    """QA (author): /tmp/qa-author/contrast.jsonl gave activation_patching, sae, logit_lens and probing."""
    abstract = ("Unlike activation patching, which requires many forward passes, our method needs a single "
                "pass. Prior work relied on sparse autoencoders and the logit lens, which are costly. We do "
                "not use probing. We find that our method recovers the IOI circuit in GPT-2 small with 10x "
                "less compute.")
    got = run(extractor, abstract, title="Gradient-Free Circuit Discovery in Language Models")
    assert techniques(got) == set()


@pytest.mark.parametrize(("sentence", "technique"), [
    ("We improve on activation patching.", "activation_patching"),
    ("Our method is a refinement of the earlier logit lens, which is often brittle.", "logit_lens"),
    ("Without retraining, we apply SAEs to GPT-2.", "sae"),
    ("We apply SAEs without retraining.", "sae"),
    ("Unlike prior work, we use activation patching.", "activation_patching"),
    ("We compare models with and without activation steering.", "steering_vector"),
    ("Our method does not only use SAEs but also reads the weights.", "sae"),
    ("Our method, which does not require gradients, uses the logit lens.", "logit_lens"),
    ("Our method does not use gradients and relies on activation patching.", "activation_patching"),
    ("Prior work relied on gradients; we use the logit lens instead.", "logit_lens"),
    ("While prior work used gradients, our method uses activation patching.", "activation_patching"),
    ("Building on prior work on sparse autoencoders, we find features.", "sae"),
    ("We apply activation patching, which has been used to localize behaviour.", "activation_patching"),
    ("Building on activation patching, which has been widely used, we localize behaviour.",
     "activation_patching"),
    ("We use the logit lens, which is costly, on GPT-2.", "logit_lens"),
    ("We find that the existing techniques of logit attribution and activation patching scale to "
     "Chinchilla.", "activation_patching"),
])
def test_a_negation_or_prior_work_elsewhere_leaves_the_use(
    extractor: Extractor, sentence: str, technique: str
) -> None:
    """No false drops: the negation governs another word, the paper speaks, or it builds on the method."""
    assert technique in techniques(run(extractor, sentence))


def test_another_affirmative_mention_still_counts(extractor: Extractor) -> None:
    """Only the mentions of use count: the score and the evidence are the affirmative sentence's."""
    used = "We then apply activation patching to GPT-2."
    got = run(extractor, f"Unlike activation patching, our method is cheap. {used}")
    assert [(t.technique_id, t.score, t.evidence) for t in got.techniques] == [
        ("activation_patching", 1.0, used)]


def test_a_negated_mention_confirms_no_ambiguous_alias(extractor: Extractor) -> None:
    """"probe" is ambiguous: "linear probes" in a negated clause does not make it the technique."""
    assert "probing" in techniques(run(extractor, "We use linear probes. We probe the market."))
    assert "probing" not in techniques(run(extractor, "We do not use linear probes. We probe the market."))


def test_a_negated_evaluation_is_not_evaluated(extractor: Extractor) -> None:
    """The same rules hold for evaluation criteria."""
    evaluations = run(extractor, "We measure faithfulness of the circuit.").evaluations
    assert [e.evaluation_id for e in evaluations] == ["faithfulness"]
    assert run(extractor, "We do not measure faithfulness; instead of faithfulness, we report "
                          "sparsity.").evaluations == []


def test_title_evidence_is_the_title_as_given(extractor: Extractor) -> None:
    """QA (author): the title's evidence had a full stop the title does not have."""
    title = "Sparse Autoencoders Find Highly Interpretable Features in Language Models"
    got = run(extractor, "Neurons are polysemantic. We study GPT-2.", title=title)
    assert [(t.technique_id, t.evidence) for t in got.techniques] == [("sae", title)]
    for ending in ("?", "."):
        got = run(extractor, "Neurons are polysemantic.", title="Do Sparse Autoencoders Help" + ending)
        assert [t.evidence for t in got.techniques] == ["Do Sparse Autoencoders Help" + ending]


def test_an_abstract_sentence_is_preferred_to_the_title(extractor: Extractor) -> None:
    """QA (author): the title was the evidence although an abstract sentence tells how the paper uses it."""
    sentence = "Here, we use sparse autoencoders to reconstruct the activations."
    got = run(extractor, f"Neurons are polysemantic. {sentence}", title="Sparse Autoencoders Find Features")
    assert [(t.technique_id, t.score, t.evidence) for t in got.techniques] == [("sae", 2.0, sentence)]
    # A contrasted abstract mention is no use: the title stays the evidence.
    got = run(extractor, "Unlike sparse autoencoders, the method is cheap.",
              title="Sparse Autoencoders Compared")
    assert [(t.technique_id, t.score, t.evidence) for t in got.techniques] == [
        ("sae", 1.0, "Sparse Autoencoders Compared")]


def _seed(seed_records: list[dict[str, Any]], paper_id: str) -> dict[str, Any]:
    return next(r for r in seed_records if r["id"] == paper_id)


def test_seed_papers_keep_their_techniques_with_better_evidence(
    extractor: Extractor, seed_records: list[dict[str, Any]]
) -> None:
    """The SAE paper's evidence is the sentence using SAEs; Tuned Lens, which refines the logit lens (the
    list tags it so), keeps it with that sentence as evidence."""
    sae = _seed(seed_records, "2309.08600")
    got = extractor.extract(sae["id"], sae["title"], sae["abstract"])
    assert {t.technique_id: t.evidence for t in got.techniques}["sae"] == (
        "Here, we attempt to identify those directions, using sparse autoencoders to reconstruct the "
        "internal activations of a language model.")
    lens = _seed(seed_records, "2303.08112")
    got = extractor.extract(lens["id"], lens["title"], lens["abstract"])
    evidence = {t.technique_id: t.evidence for t in got.techniques}
    assert set(evidence) == {"tuned_lens", "logit_lens"}
    assert evidence["logit_lens"].startswith("Our method, the tuned lens, is a refinement of the earlier")


# Review of EXTRACTOR_VERSION 14: sentences where the prior-work scope or a critique reached the paper's
# own method. (sentence, techniques used, techniques named as not used).
OWN_METHOD_AFTER_PRIOR_WORK = [
    ("so this paper", "Existing methods struggle to scale, so this paper introduces attribution patching.",
     {"attribution_patching"}, set()),
    ("and this paper", "Prior work relied on probing, and this paper applies activation patching to GPT-2.",
     {"activation_patching"}, {"probing"}),
    ("motivating", "Previously proposed methods like the logit lens fail on early layers, motivating the "
     "tuned lens.", {"tuned_lens"}, {"logit_lens"}),
]


@pytest.mark.parametrize(("rule", "sentence", "used", "unused"), OWN_METHOD_AFTER_PRIOR_WORK,
                         ids=[c[0] for c in OWN_METHOD_AFTER_PRIOR_WORK])
def test_the_prior_work_scope_ends_at_the_papers_own_clause(
    extractor: Extractor, rule: str, sentence: str, used: set[str], unused: set[str]
) -> None:
    """Review: the prior-work scope reached the end of the sentence and dropped the paper's own method."""
    got = techniques(run(extractor, sentence))
    assert used <= got, rule
    assert not unused & got, rule


@pytest.mark.parametrize("sentence", [
    "Sparse autoencoders, which suffer from dead latents, are improved by our method.",
    "Sparse autoencoders that suffer from shrinkage are fixed by a gated architecture.",
])
def test_a_critiqued_method_the_paper_improves_afterwards_is_used(
    extractor: Extractor, sentence: str
) -> None:
    """Review: a method criticised and then improved ("are improved by our method") was dropped."""
    assert "sae" in techniques(run(extractor, sentence))


@pytest.mark.parametrize("sentence", [
    "Sparse autoencoders, which suffer from dead latents, are popular.",
    "Sparse autoencoders, which suffer from dead latents, are popular; our method reads the weights.",
    "Sparse autoencoders, which suffer from dead latents, are replaced by our method.",
])
def test_a_critiqued_method_nobody_here_improves_is_still_no_use(extractor: Extractor, sentence: str) -> None:
    """The critique alone, "our" past the clause, or a method the paper replaces still drop it."""
    assert "sae" not in techniques(run(extractor, sentence))
