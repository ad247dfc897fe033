"""Extraction of techniques, evaluations, findings, models, topics and components (spaCy rules)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ingest.extract import LONG_TOKEN, PUNCTUATION_RUN, Extraction, Extractor, broken_long_runs
from kg.taxonomy import Taxonomy, parse_taxonomy

REPO = Path(__file__).resolve().parents[2]


def run(extractor: Extractor, abstract: str, title: str = "") -> Extraction:
    """Extract from one abstract."""
    return extractor.extract("paper-1", title, abstract)


# A sentence naming no taxonomy node but giving the paper the field's domain cue: topics and objects count
# only in a paper on language models or neural networks (the tests of their aliases add it to every text).
LM_CUE = " We study language models."


def techniques(extraction: Extraction) -> set[str]:
    """Technique ids of an extraction."""
    return {t.technique_id for t in extraction.techniques}


@pytest.mark.parametrize(("text", "expected"), [
    ("We train SAEs on the residual stream.", "sae"),
    ("We train sparse autoencoders on the residual stream.", "sae"),
    ("Sparse Autoencoder features are studied.", "sae"),
    ("We fit linear probes to hidden states.", "probing"),
    ("We add steering vectors to the prompt.", "steering_vector"),
    ("Transcoders replace MLP layers.", "transcoder"),
    ("Parameters can be interpreted in embedding space.", "logit_lens"),
    ("Logit lenses decode each layer.", "logit_lens"),
    ("Automated circuit discovery finds the subgraph.", "acdc"),
    ("We apply mean ablations to every head.", "mean_ablation"),
    ("The paper uses causal scrubbing.", "causal_scrubbing"),
])
def test_aliases_plural_and_lemma_forms(extractor: Extractor, text: str, expected: str) -> None:
    assert expected in techniques(run(extractor, text))


@pytest.mark.parametrize(("text", "expected"), [
    ("We use the tuned-lens on GPT-2.", "tuned_lens"),
    ("We use the tuned lens on GPT-2.", "tuned_lens"),
    ("Path-patching shows the route.", "path_patching"),
    ("The logit-lens view of layers.", "logit_lens"),
    ("We run zero ablation of heads.", "zero_ablation"),
    ("We run zero-ablation of heads.", "zero_ablation"),
])
def test_hyphenated_variants(extractor: Extractor, text: str, expected: str) -> None:
    assert expected in techniques(run(extractor, text))


def test_hyphen_and_join_variants_of_components_and_models(extractor: Extractor) -> None:
    got = run(extractor, "Feed forward layers and feed-forward layers of Llama2 and Llama-2 and GPT2.")
    assert got.components == ["ff"]
    assert set(got.models) == {"llama", "gpt2"}


def test_longest_match_wins(extractor: Extractor) -> None:
    got = run(extractor, "We use edge attribution patching on circuits.")
    assert "eap" in techniques(got)
    # "causal mediation analysis" is CMA's own alias; activation patching lists it only as ambiguous,
    # and the same words cannot confirm themselves.
    got = run(extractor, "We apply causal mediation analysis to arithmetic.")
    assert techniques(got) == {"cma"}


def test_compound_head_is_kept_without_a_preposition(extractor: Extractor) -> None:
    got = run(extractor, "It tests hypotheses via behavior-preserving resampling ablations.")
    assert techniques(got) == {"causal_scrubbing", "resampling_ablation"}
    # Inside "approximation to activation patching" the head is "approximation": no activation patching.
    got = run(extractor, "AtP is a gradient-based approximation to activation patching.")
    assert techniques(got) == {"attribution_patching"}


def test_ambiguous_alias_alone_does_not_count(extractor: Extractor) -> None:
    assert techniques(run(extractor, "We apply ablation to the data pipeline of a web service.")) == set()
    assert techniques(run(extractor, "We probe the market with a survey.")) == set()
    assert techniques(run(extractor, "Denoising improves the photographs.")) == set()
    assert run(extractor, "This bias and alignment of the text columns.").topics == []


def test_ambiguous_alias_confirmed_by_a_cue_in_the_sentence(extractor: Extractor) -> None:
    got = run(extractor, "We apply ablation to attention heads.")
    assert techniques(got) == {"knockout"}
    got = run(extractor, "We probe the activations for syntax.")
    assert techniques(got) == {"probing"}
    # The cue must be in the same sentence.
    got = run(extractor, "We probe the market. Neurons are discussed later.")
    assert techniques(got) == set()


def test_ambiguous_alias_confirmed_by_the_same_node_or_family(extractor: Extractor) -> None:
    # Same node: "linear probe" is unambiguous, so "probe" elsewhere counts too.
    got = run(extractor, "We probe the market. A linear probe is then trained.")
    assert {t.technique_id: t.score for t in got.techniques} == {"probing": 2.0}
    # Same family: path patching (a CMA method) confirms "denoising" (activation patching).
    got = run(extractor, "We use path patching. Denoising experiments on the prompt agree.")
    assert techniques(got) == {"path_patching", "activation_patching"}


def test_the_evidence_is_the_first_non_ambiguous_mention(extractor: Extractor) -> None:
    """Researcher QA: Tuned Lens's Logit Lens evidence was an earlier sentence with the ambiguous
    "distribution over the vocabulary", not the one naming the logit lens."""
    got = run(extractor, "We decode each layer into a distribution over the vocabulary. "
                         "The method refines the logit lens technique. A linear probe is trained.")
    evidence = {t.technique_id: t.evidence for t in got.techniques}
    assert evidence["logit_lens"] == "The method refines the logit lens technique."
    got = run(extractor, "We probe the market. Then the probe is read. A linear probe is trained.")
    assert {t.technique_id: t.evidence for t in got.techniques} == {"probing": "A linear probe is trained."}
    # Only ambiguous mentions ("denoising", confirmed by path patching, of its family): the first.
    got = run(extractor, "Denoising runs come first. We use path patching. More denoising follows.")
    evidence = {t.technique_id: t.evidence for t in got.techniques}
    assert evidence["activation_patching"] == "Denoising runs come first."


@pytest.mark.parametrize(("sentence", "counted"), [
    ("The features were rated as human-understandable by blinded annotators.", True),
    ("Human raters judged the feature labels plausible.", True),
    ("SoLU makes more neurons human-understandable, as measured by blinded experiments.", True),
    # Motivation, not evaluation, though the sentence is about model internals (rule (c) would count it).
    ("Interpretability aims to explain attention heads in human-understandable terms.", False),
    ("This is a plausible mechanism for how the MLP neurons store facts.", False),
])
def test_confirming_terms_replace_the_internals_cue(
    extractor: Extractor, sentence: str, counted: bool
) -> None:
    got = {e.evaluation_id for e in run(extractor, sentence).evaluations}
    assert got == ({"plausibility"} if counted else set())


def test_the_same_alias_elsewhere_does_not_confirm_itself(extractor: Extractor) -> None:
    got = extractor.extract("p", "Arithmetic in Language Models using Causal Mediation Analysis",
                            "We present an interpretation using a causal mediation analysis framework.")
    assert techniques(got) == {"cma"}


def test_ambiguous_parent_is_dropped_beside_a_precise_refinement(extractor: Extractor) -> None:
    got = run(extractor, "We run mean ablation. The ablations of heads agree.")
    assert techniques(got) == {"mean_ablation"}


@pytest.mark.parametrize(("abstract", "topics"), [
    # MI-expert QA: a steering paper was "about" LM Behavior and Model Capabilities.
    ("We demonstrate that CAA significantly alters model behavior, and minimally reduces capabilities.", []),
    ("Large language models have impressive capabilities, but are prone to outputting falsehoods.", []),
    # "applications" in "loan application data" confirmed the ambiguous "bias" as AI Safety.
    ("We study loan application data and bias in credit decisions.", []),
    ("These units are unsuitable for many downstream applications.", []),
    # Still counted: beside a circuit word (LM Behavior's confirming terms), beside another alias of the node,
    # or inside a longer alias.
    ("We discover sparse feature circuits for automatically discovered model behaviors.", ["lm_behavior"]),
    ("We study the in-context learning capability of GPT-2.", ["model_capabilities"]),
    # (a refinement found by its own alias stands for the ambiguous "applications" of its parent)
    ("We present applications to AI safety.", ["ai_safety"]),
    ("Applications of MI are many.", ["applications"]),
])
def test_topic_aliases_that_mostly_motivate_need_confirmation(
    extractor: Extractor, abstract: str, topics: list[str]
) -> None:
    assert run(extractor, abstract + LM_CUE).topics == topics


@pytest.mark.parametrize(("abstract", "expected"), [
    # MI-expert QA: CMA's "direct effect" inside "direct effect on the logits" (direct logit attribution).
    ("The head has minimal direct effect on the logits themselves.", {"direct_logit_attribution"}),
    ("Heads have a direct effect on the logit of the answer.", {"direct_logit_attribution"}),
    ("Fine-tuning data has a direct effect on downstream accuracy.", set()),
    ("We measure the direct effect and indirect effect of each neuron.", {"cma"}),
    ("We estimate the direct effect of each attention head.", {"cma"}),
    ("We run interventional experiments on the attention heads.", {"cma"}),
    ("Interventional experiments in clinical trials are costly.", set()),
    # A circuit-discovery paper's motivation is no automated feature explanation.
    ("Automated interpretability research has recently attracted attention.", set()),
    ("We apply automated interpretability to the features of the SAE.", {"automated_feature_explanation",
                                                                          "sae"}),
    ("We use distributed alignment search to find the variable.", {"activation_patching"}),
    ("We test a causal abstraction of the network's activations.", {"activation_patching"}),
    ("Causal abstraction is a theory of explanation.", set()),
])
def test_technique_phrasings_from_expert_qa(extractor: Extractor, abstract: str, expected: set[str]) -> None:
    assert techniques(run(extractor, abstract)) == expected


@pytest.mark.parametrize(("title", "abstract", "topics", "components"), [
    ("", "Multilayer perceptrons store the facts.", [], ["ff"]),
    ("", "The multi-layer perceptron of the last layer boosts the answer.", [], ["ff"]),
    ("Mass-Editing Memory in a Transformer", "We update many memories at once.", ["knowledge_editing"], []),
    ("", "Memory editing methods update facts.", ["knowledge_editing"], []),
    ("", "These features can be used to steer the model's behavior.", ["lm_generation_steering"], []),
    ("", "We steer the outputs of the model.", ["lm_generation_steering"], []),
    ("", "We steer clear of this debate.", [], []),
])
def test_topic_and_component_phrasings_from_expert_qa(
    extractor: Extractor, title: str, abstract: str, topics: list[str], components: list[str]
) -> None:
    got = run(extractor, abstract + LM_CUE, title)
    assert (got.topics, got.components) == (topics, components)


@pytest.mark.parametrize("text", [
    "We opt for a simple eap approach to the acdc dataset.",
    "The sae of the rs and the ff in the cma rome.",
    "Bert and opt are names of people here.",
])
def test_short_acronyms_are_case_sensitive(extractor: Extractor, text: str) -> None:
    got = run(extractor, text)
    assert techniques(got) == set() and got.models == [] and got.components == []


def test_acronyms_match_in_capitals(extractor: Extractor) -> None:
    got = run(extractor, "We compare EAP, ACDC and SAE features of OPT-66B, OPT and BERT via the MLP.")
    assert {"eap", "acdc", "sae"} <= techniques(got)
    assert set(got.models) == {"opt", "bert"}
    assert "ff" in got.components
    got = run(extractor, "Our SAEs and AtP results.")
    assert techniques(got) == {"sae", "attribution_patching"}


def test_evaluations_with_evidence(extractor: Extractor) -> None:
    abstract = ("We study a circuit. We evaluate the reliability of our explanation using three "
                "criteria--faithfulness, completeness and minimality.")
    got = run(extractor, abstract)
    assert [e.evaluation_id for e in got.evaluations] == ["faithfulness", "completeness", "minimality"]
    for use in got.evaluations:
        assert use.source == "extracted"
        assert use.evidence and use.evidence.startswith("We evaluate the reliability")


def test_causal_evidence_is_not_a_faithfulness_evaluation(extractor: Extractor) -> None:
    """Evidence that a mechanism is causal is not a measure of an explanation's faithfulness."""
    got = run(extractor, "For small attention-only models, we present strong, causal evidence; for "
                         "larger models with MLPs, we present correlational evidence.")
    assert got.evaluations == []


def test_technique_evidence_is_the_matching_sentence(extractor: Extractor) -> None:
    got = run(extractor, "We study language models. Then we apply activation patching to GPT-2. "
                         "Activation patching again.")
    (use,) = got.techniques
    assert use.technique_id == "activation_patching" and use.source == "extracted"
    assert use.evidence == "Then we apply activation patching to GPT-2."
    assert use.score == 2.0


def test_code_availability_sentences_are_not_technique_uses(extractor: Extractor) -> None:
    got = run(extractor, "We edit facts in GPT-J. The code, dataset, visualizations, and a demo "
                         "notebook are available at https://example.org/")
    assert techniques(got) == set()
    assert got.models == ["gpt_j"]


@pytest.mark.parametrize("sentence", [
    "We find that induction heads form early.",
    "We also show that the circuit is reused.",
    "Surprisingly, we discover a second mechanism.",
    "We demonstrate that SAEs scale.",
    "We then identify a set of neurons that store facts.",
    "We reveal a phase change in training.",
    "We observe a striking functional rift in the middle layers.",
    "We uncover the algorithm.",
    "Our results suggest that the model plans ahead.",
    "These findings indicate a general mechanism.",
    "Our work provides evidence that the method scales.",
    "We present strong, causal evidence for the hypothesis.",
    "The update can be decomposed, showing that each part promotes concepts.",
    "This reveals a distinct set of steps in middle-layer feed-forward modules.",
    "We analyze factual recall, finding evidence that these associations are localized.",
    "In our latest paper, we outline evidence that features are better units than neurons.",
    # MI-expert QA: these produced no finding.
    "Next, we unveil a three-step internal mechanism for attribute extraction.",
    "Overall, our results uncover interpretable strategies for representing symbolic knowledge.",
    "With k=1, we localize individual neurons which are highly relevant for a particular feature.",
])
def test_claim_sentences_become_findings(extractor: Extractor, sentence: str) -> None:
    got = run(extractor, "Language models are opaque. " + sentence)
    assert [f.text for f in got.findings] == [sentence]


@pytest.mark.parametrize("sentence", [
    "In this work, we study how models store facts.",
    "We propose a new method for circuit discovery.",
    "We train sparse autoencoders on GPT-2.",
    "Language models are at the core of modern NLP.",
    "To address this, we present a case study of circuit analysis.",
    "We release a dataset of explanations.",
    "This paper introduces a new benchmark.",
    "This provides a path to breaking down networks.",
    "Finding good features is hard.",
    "Localization of behaviors to components is a key step.",
    "We characterize the circuit with path patching.",
])
def test_non_claim_sentences_are_not_findings(extractor: Extractor, sentence: str) -> None:
    assert run(extractor, sentence).findings == []


def test_findings_are_linked_to_components_models_topics(extractor: Extractor) -> None:
    got = run(extractor, "We study attention. We find that induction heads in Pythia implement "
                         "in-context learning.")
    (finding,) = got.findings
    assert finding.kind == "claim" and finding.source == "extracted"
    about = {(a.label, a.id) for a in finding.about}
    assert {("Component", "induction_head"), ("Model", "pythia"), ("Topic", "model_capabilities")} <= about
    assert got.models == ["pythia"]
    assert "induction_head" in got.components
    assert "model_capabilities" in got.topics


def test_finding_about_objects_and_residual_stream(extractor: Extractor) -> None:
    got = run(extractor, "Our results show that the residual stream of BERT carries superposition.")
    (finding,) = got.findings
    about = {(a.label, a.id) for a in finding.about}
    assert {("Component", "rs"), ("Model", "bert"), ("Topic", "superposition")} <= about


def test_title_feeds_techniques_but_not_findings(extractor: Extractor) -> None:
    got = extractor.extract("p", "We Find That Sparse Autoencoders Work",
                            "We study features. We show that they are monosemantic.")
    assert techniques(got) == {"sae"}
    assert [f.text for f in got.findings] == ["We show that they are monosemantic."]


def test_a_title_naming_a_topic_is_a_finding_about_it(extractor: Extractor) -> None:
    """ "Toy Models of Superposition": no abstract sentence claims superposition, the title does."""
    got = extractor.extract("p", "Toy Models of Superposition",
                            "Neurons of neural networks pack many concepts. We demonstrate a phase change.")
    title, claim = got.findings
    assert (title.kind, title.text, title.source) == ("title", "Toy Models of Superposition", "extracted")
    about = {(a.label, a.id) for a in title.about}
    # Its toy models are ReLU networks, not transformers, and its phase change is one across
    # sparsity, not during training: no toy-transformer model, no learning-dynamics topic.
    assert about == {("Topic", "superposition")}
    assert claim.kind == "claim" and claim.text == "We demonstrate a phase change."
    assert claim.about == [] and got.models == [] and "learning_dynamics" not in got.topics
    # Stable id, like a claim's, and different papers with one title keep their own findings.
    again = extractor.extract("p", "Toy Models of Superposition", "Other text on neural networks.")
    assert again.findings[0].id == title.id
    other = extractor.extract("q", "Toy Models of Superposition", "Neural networks.")
    assert other.findings[0].id != title.id


def test_a_title_finding_ends_where_the_title_ends(extractor: Extractor) -> None:
    """The sentencizer may not split after a title ending in "e.g.": the finding is still the title
    alone, about the title's nodes only (not the abstract's Pythia)."""
    got = extractor.extract("p", "Induction heads in GPT-2 e.g.",
                            "we find that induction heads matter in Pythia.")
    title = got.findings[0]
    assert title.kind == "title" and title.text == "Induction heads in GPT-2 e.g"
    assert {a.id for a in title.about} == {"induction_head", "lm_components", "gpt2"}


@pytest.mark.parametrize("title", ["Induction heads in Pythia-1.4B", "Induction heads in the U.S.",
                                   "Induction heads..."])
def test_the_abstract_starts_a_sentence_even_when_the_title_end_does_not_split(
    extractor: Extractor, title: str
) -> None:
    """The sentencizer runs these titles into the abstract: its first claim is still a claim of its
    own, and its evidence is the abstract sentence, not the title."""
    got = extractor.extract("p", title, "We find that successor heads increment tokens.")
    claims = [f for f in got.findings if f.kind == "claim"]
    assert [c.text for c in claims] == ["We find that successor heads increment tokens."]
    assert {a.id for a in claims[0].about} >= {"successor_head"}
    title_finding = next(f for f in got.findings if f.kind == "title")
    assert "successor_head" not in {a.id for a in title_finding.about}


CLAIM = "We find that path patching localizes it to three heads."


@pytest.mark.parametrize(("first", "model"), [
    ("We study a circuit in Mistral 7B.", "mistral"),
    ("We study a circuit in Pythia-1.4B.", "pythia"),  # one token: the alias glued to its size
    ("We edit facts in GPT-J.", "gpt_j"),
    ("Models answer with a CoT.", None),
    ("We study a circuit in Llama 70B.", "llama"),
    ("We study a circuit in Meta's model (Llama-2-7B).", "llama"),
])
def test_a_sentence_ends_after_a_size_or_acronym_with_its_full_stop(
    extractor: Extractor, first: str, model: str | None
) -> None:
    """QA: "7B.", "1.4B.", "GPT-J." and "CoT." kept their full stop, so the next sentence was merged in: the
    evidence and the finding were both sentences, and the finding was about the first one's model."""
    got = run(extractor, f"{first} {CLAIM}")
    assert [t.evidence for t in got.techniques] == [CLAIM]
    assert [(f.text, f.about) for f in got.findings] == [(CLAIM, [])]
    assert got.models == ([model] if model else [])  # the model is still named with its full stop split off


def test_a_full_stop_after_a_capital_ends_a_title_and_a_text(extractor: Extractor) -> None:
    got = extractor.extract("p", "Circuits in Mistral 7B.",
                            f"Language models are opaque. {CLAIM[:-1]} in GPT-J.")
    assert [(f.kind, f.text) for f in got.findings] == [
        ("title", "Circuits in Mistral 7B"), ("claim", f"{CLAIM[:-1]} in GPT-J.")]
    assert got.models == ["mistral", "gpt_j"]


@pytest.mark.parametrize("sentence", [
    "We find, as Elhage et al. (2022) predicted, that path patching localizes the circuit.",
    "We find that the heads Nanda et al. report in Fig. 3 of Sec. 4 are fewer.",
    "We show that the loss in Eq. 2 falls (cf. Olah et al. for a proof).",
    "We find approx. 5 heads, i.e. a small circuit, vs. 20 in the larger model.",
    "We show that the circuit of A. Smith in GPT-3.5 (v1.2, arXiv 2401.00001) has 3.5 heads on average.",
    "We find that the U.S. prompts differ w.r.t. the others, e.g. in length.",
    "We show that Figs. 2 and 3 (resp. Eqs. 4 and 5) agree.",
])
def test_abbreviations_decimals_and_versions_end_no_sentence(extractor: Extractor, sentence: str) -> None:
    got = run(extractor, "Language models are opaque. " + sentence + " Language models are large.")
    assert [f.text for f in got.findings] == [sentence]


def test_et_al_ends_a_sentence_before_a_capitalised_word(extractor: Extractor) -> None:
    got = run(extractor, f"Our work extends that of Nanda et al. {CLAIM}")
    assert [f.text for f in got.findings] == [CLAIM]


@pytest.mark.parametrize(("first", "ambiguous"), [
    ("We apply ablation to the data pipeline for Pythia-1.4B.", "knockout"),
    ("We probe the market for Mistral 7B.", "probing"),
])
def test_an_ambiguous_alias_is_not_confirmed_by_the_next_sentence_past_a_size(
    extractor: Extractor, first: str, ambiguous: str
) -> None:
    """QA: "Our DAS system (data acquisition software) ... for Pythia-1.4B." was confirmed by the "MLP
    outputs" of the next sentence: the two were one sentence for the cue rule."""
    assert techniques(run(extractor, f"{first} We train SAEs on MLP outputs.")) == {"sae"}
    # The same cue in the ambiguous alias's own sentence still confirms it.
    assert techniques(run(extractor, f"{first[:-1]} and its MLP outputs.")) == {ambiguous}


def test_evidence_and_findings_are_sentences_of_the_text(extractor: Extractor) -> None:
    """Each evidence and claim is the abstract's own characters from a sentence start to its full stop."""
    sentences = ["We study a circuit in Mistral 7B.", CLAIM, "Our system for Pythia-1.4B.",
                 "We train SAEs on MLP outputs.", "We show that its heads (cf. Fig. 2) are those of GPT-J."]
    abstract = " ".join(sentences)
    got = run(extractor, abstract)
    evidence = {t.technique_id: t.evidence for t in got.techniques}
    assert evidence == {"path_patching": sentences[1], "sae": sentences[3]}
    assert [f.text for f in got.findings] == [CLAIM, sentences[4]]
    # Sentence i spans abstract[start[i]:start[i] + len(sentences[i])]: each text is one such slice.
    starts = [sum(len(s) + 1 for s in sentences[:i]) for i in range(len(sentences))]
    slices = {abstract[start:start + len(s)] for start, s in zip(starts, sentences, strict=True)}
    assert {*evidence.values(), *(f.text for f in got.findings)} <= slices


@pytest.mark.parametrize(("abstract", "topic", "model"), [
    ("We find a phase change early in training, when induction heads form.", "learning_dynamics", None),
    ("We find that a toy model with one attention layer learns the task.", None, "toy_transformer"),
])
def test_phase_changes_and_toy_models_count_beside_their_confirming_words(
    extractor: Extractor, abstract: str, topic: str | None, model: str | None
) -> None:
    got = extractor.extract("p", "", abstract)
    assert (topic in got.topics) if topic else "learning_dynamics" not in got.topics
    assert got.models == ([model] if model else [])


@pytest.mark.parametrize(("abstract", "models"), [
    ("We use GPT-4 to automatically write explanations of neurons in GPT-2.", ["gpt2"]),
    ("We propose an approach based on GPT-4 to identify neurons in Llama 2.", ["llama"]),
    ("This is in contrast to a large, modern transformer like GPT-3. We study Pythia.", ["pythia"]),
    ("We use Pythia to show that heads compose.", ["pythia"]),
    ("We study GPT-4 and Llama-2.", ["gpt3", "llama"]),
    ("Unlike prior work, we study GPT-2 and find induction heads.", ["gpt2"]),
    ("In contrast, we find that Llama-2 stores facts in MLPs.", ["llama"]),
    ("We study GPT-2 small, unlike prior work on BERT.", ["gpt2"]),
])
def test_models_used_as_tools_or_named_in_contrast_are_not_studied(
    extractor: Extractor, abstract: str, models: list[str]
) -> None:
    assert extractor.extract("p", "", abstract).models == models


@pytest.mark.parametrize(("abstract", "models"), [
    ("We find induction heads in Pythia-1.4B and Pythia-70M.", ["pythia"]),
    ("We study OPT-66B and Gemma-2-2B and Mistral-7B.", ["opt", "gemma", "mistral"]),
    # Already matched before sizes were: the alias as a token of its own, or an alias with its size.
    ("We find heads in Pythia.", ["pythia"]),
    ("We study Mistral 7B and Llama 2.", ["mistral", "llama"]),
    ("We study Llama-2-7B.", ["llama"]),
    ("We study GPT-2-small.", ["gpt2"]),
    ("We study GPT-J-6B and GPT-NeoX-20B.", ["gpt_j", "gpt_neo"]),
])
def test_a_model_alias_glued_to_its_size_or_version_is_the_model(
    extractor: Extractor, abstract: str, models: list[str]
) -> None:
    """QA: only acronyms matched with a size ("OPT-66B"): "Pythia-1.4B", "Pythia-70M" and "Mistral-7B" named
    no model."""
    assert extractor.extract("p", "A study of heads", abstract).models == models


@pytest.mark.parametrize(("name", "model"), [
    ("Pythia-70M", "pythia"), ("Pythia-160M", "pythia"), ("Pythia-410m", "pythia"), ("Pythia-2.8B", "pythia"),
    ("Pythia-6.9B-deduped", "pythia"), ("Pythia-12B", "pythia"), ("Pythia70M", "pythia"),
    ("Mixtral-8x7B", "mistral"), ("Mistral-7B-Instruct-v0.1", "mistral"),
    ("Llama-7B", "llama"), ("Llama-3.1-8B-Instruct", "llama"), ("Llama-3.2-1B", "llama"),
    ("Vicuna-13B", "llama"), ("Gemma-7B", "gemma"), ("Gemma-2b-it", "gemma"),
    ("GPT-Neo-1.3B", "gpt_neo"), ("GPT-Neo-125M", "gpt_neo"), ("Chinchilla-70B", "chinchilla"),
    ("Claude-2", "claude"), ("ChatGPT-3.5", "gpt3"), ("GPT-4o", "gpt3"), ("GPT-4o-mini", "gpt3"),
    ("Flan-T5-11B", "t5"), ("T5-3B", "t5"),
    ("Qwen2.5-7B", "qwen"), ("OLMo-7B", "olmo"),
])
def test_each_sized_model_name_is_its_model(extractor: Extractor, name: str, model: str) -> None:
    assert extractor.extract("p", "", f"We find induction heads in {name}.").models == [model]


@pytest.mark.parametrize("abstract", [
    "We opt-in 7 users and opt-2 things.",  # "opt" is OPT in capitals, or glued to a size ("opt-1.3b")
    "We train Optimus-7B and Clauden-3.",  # a longer word that starts with a model name
    "Alpacas-2 and transformers-2 graze; toy models-2 too.",  # a plural is not a model's name
    "OPTs-2 and BERTScore-2 are scores.",
    "We ablate layer-12 of a transformer-2 on an A100 with v1.2 of L1-norm.",  # words of no model alias
    "We study GPT-5 and GPT-4x.",  # "GPT" alone is no alias
])
def test_a_sized_word_that_is_no_model_alias_names_no_model(extractor: Extractor, abstract: str) -> None:
    got = extractor.extract("p", "", abstract)
    assert got.models == [] and got.components == [] and techniques(got) == set()


def test_a_sized_model_is_linked_to_its_finding_and_evidence_stays_the_texts_own(
    extractor: Extractor,
) -> None:
    """The sized token is matched where it is: the finding of its sentence is about it, and evidence and
    findings are still slices of the abstract (the text itself is not rewritten)."""
    sentences = ["We train SAEs on Pythia-70M.", "We find that path patching localizes it in Mistral-7B.",
                 "We show that GPT-Neo-1.3B has them too."]
    abstract = " ".join(sentences)
    got = extractor.extract("p", "", abstract)
    assert got.models == ["pythia", "mistral", "gpt_neo"]
    assert [(f.text, [a.id for a in f.about]) for f in got.findings] == [
        (sentences[1], ["mistral"]), (sentences[2], ["gpt_neo"])]
    evidence = {t.technique_id: t.evidence for t in got.techniques}
    assert evidence == {"sae": sentences[0], "path_patching": sentences[1]}
    assert all(text in abstract for text in [*(f.text for f in got.findings), *evidence.values()])


def test_a_sized_model_used_as_a_tool_is_not_studied(extractor: Extractor) -> None:
    got = extractor.extract("p", "", "We use Mistral-7B-Instruct to label the SAEs of Pythia-70M.")
    assert got.models == ["pythia"]


def test_a_title_naming_nothing_about_is_no_finding(extractor: Extractor) -> None:
    got = extractor.extract("p", "Interpretability at Scale", "We show that it works.")
    assert [f.kind for f in got.findings] == ["claim"]


def test_finding_ids_are_stable_and_derived_from_the_sentence(extractor: Extractor) -> None:
    abstract = "We study heads. We find that successor heads increment tokens."
    first = extractor.extract("2312.09230", "", abstract)
    second = extractor.extract("2312.09230", "", abstract)
    assert [f.id for f in first.findings] == [f.id for f in second.findings]
    sentence = "We find that successor heads increment tokens."
    assert first.findings[0].id == "2312.09230:" + hashlib.sha256(sentence.encode()).hexdigest()[:12]
    assert extractor.extract("other", "", abstract).findings[0].id.startswith("other:")


def _summary(extraction: Extraction) -> dict[str, Any]:
    return {
        "techniques": [(t.technique_id, t.evidence, t.score) for t in extraction.techniques],
        "evaluations": [(e.evaluation_id, e.evidence) for e in extraction.evaluations],
        "findings": [(f.id, f.text, [(a.label, a.id) for a in f.about]) for f in extraction.findings],
        "models": extraction.models, "topics": extraction.topics, "components": extraction.components,
    }


def test_output_is_identical_across_processes(
    extractor: Extractor, seed_records: list[dict[str, Any]]
) -> None:
    """Same input, same output and order, whatever the interpreter's hash seed."""
    papers = [r for r in seed_records if r.get("abstract")][:8]
    here = [_summary(extractor.extract(p["id"], p["title"], p["abstract"])) for p in papers]
    code = (
        "import json, sys\n"
        "from ingest.extract import Extractor\n"
        "from kg.taxonomy import load_taxonomy\n"
        "from tests.ingest.test_extract import _summary\n"
        "papers = json.load(sys.stdin)\n"
        "x = Extractor(load_taxonomy())\n"
        "print(json.dumps([_summary(x.extract(p['id'], p['title'], p['abstract'])) for p in papers]))\n"
    )
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run([sys.executable, "-c", code], input=json.dumps(papers), cwd=REPO, env=env,
                             capture_output=True, text=True, timeout=300, check=True).stdout
        assert json.loads(out) == json.loads(json.dumps(here))


def test_extract_many_equals_extract(extractor: Extractor, seed_records: list[dict[str, Any]]) -> None:
    items = [(r["id"], r["title"], r.get("abstract") or "") for r in seed_records]
    many = extractor.extract_many(items)
    assert len(many) == len(items)
    for item, got in zip(items, many, strict=True):
        assert _summary(got) == _summary(extractor.extract(*item))


def test_real_abstracts(extractor: Extractor, seed_records: list[dict[str, Any]]) -> None:
    by_id = {r["id"]: r for r in seed_records}

    def on(paper_id: str) -> Extraction:
        record = by_id[paper_id]
        return extractor.extract(paper_id, record["title"], record["abstract"])

    assert "sae" in techniques(on("2309.08600"))
    assert "probing" in techniques(on("2305.01610"))
    assert {"causal_scrubbing", "resampling_ablation"} <= techniques(on("causal-scrubbing"))
    ioi = on("2211.00593")
    assert {e.evaluation_id for e in ioi.evaluations} >= {"faithfulness", "completeness", "minimality"}
    assert "gpt2" in ioi.models and "mha" in ioi.components
    assert "chinchilla" in on("2307.09458").models
    grokking = on("2301.05217")
    assert "learning_dynamics" in grokking.topics
    assert any(f.text.startswith("Our results show that grokking") for f in grokking.findings)


def test_empty_input(extractor: Extractor) -> None:
    got = extractor.extract("p", "", "")
    assert got == Extraction()
    assert extractor.extract_many([]) == []


def test_extractor_works_with_another_fields_taxonomy() -> None:
    data = {
        "techniques": [{"id": "pcr", "label": "PCR", "aliases": ["polymerase chain reaction", "PCR"],
                        "ambiguous_aliases": []}],
        "models": [{"id": "mouse", "label": "Mouse", "aliases": ["mouse model", "mice"]}],
        "extra_aliases": {"pcr": {"aliases": ["qPCR"], "ambiguous_aliases": ["amplification"]}},
    }
    tax = parse_taxonomy(data, "bio.yaml")
    got = Extractor(tax).extract("b", "", "We use qPCR and polymerase chain reactions in mice. "
                                          "We find that amplification works.")
    assert techniques(got) == {"pcr"}
    assert got.models == ["mouse"]
    assert got.techniques[0].score == 3.0  # qPCR, the plural alias, and the confirmed ambiguous one


@pytest.mark.parametrize(("terms", "message"), [
    ({"nope": ["rated"]}, "unknown node 'nope'"),
    ({"pcr": ["rated by"]}, "single words"),
    ({"pcr": ["well-rated"]}, "single words"),
    ({"pcr": ["rated"], "plain": ["rated"]}, "no ambiguous aliases"),
    (["rated"], "must be a mapping"),
])
def test_confirming_terms_are_checked(terms: object, message: str) -> None:
    data = {"techniques": [
        {"id": "pcr", "label": "PCR", "aliases": ["PCR"], "ambiguous_aliases": ["amplification"]},
        {"id": "plain", "label": "Plain", "aliases": ["plain"]},
    ], "confirming_terms": terms}
    with pytest.raises(ValueError, match=message):
        parse_taxonomy(data, "t.yaml")


def test_extra_aliases_must_name_known_nodes() -> None:
    with pytest.raises(ValueError, match="unknown node 'nope'"):
        parse_taxonomy({"techniques": [], "extra_aliases": {"nope": ["x"]}}, "t.yaml")


def _with(taxonomy: Taxonomy, node_id: str, **changes: Any) -> Taxonomy:
    """A copy of the taxonomy with one node's fields replaced."""
    nodes = [dataclasses.replace(n, **changes) if n.id == node_id else n for n in taxonomy.nodes]
    return Taxonomy(nodes=nodes, confirming_terms=taxonomy.confirming_terms, source=taxonomy.source)


def test_signature_names_rules_version_and_matched_taxonomy(extractor: Extractor, taxonomy: Taxonomy) -> None:
    """Equal for equal inputs (any node order), different when anything extraction matches on changes."""
    sig = extractor.signature
    assert len(sig) == 16 and int(sig, 16) >= 0
    assert Extractor(taxonomy).signature == sig
    terms = taxonomy.confirming_terms
    assert Extractor(Taxonomy(nodes=list(reversed(taxonomy.nodes)), confirming_terms=terms)).signature == sig
    sae = taxonomy.by_id["sae"]
    changed = [
        _with(taxonomy, "sae", aliases=[*sae.aliases, "dictionary learner"]),
        _with(taxonomy, "sae", ambiguous_aliases=[*sae.ambiguous_aliases, "dictionary"]),
        _with(taxonomy, "sae", parent="probing"),
        Taxonomy(nodes=[n for n in taxonomy.nodes if n.id != "sae"], confirming_terms=terms),
        dataclasses.replace(taxonomy, confirming_terms={**terms, "sae": ["trained"]}),
    ]
    signatures = {Extractor(t).signature for t in changed}
    assert len(signatures) == len(changed) and sig not in signatures
    # A node's display name is not matched on: renaming it changes nothing extracted.
    assert Extractor(_with(taxonomy, "sae", name="Renamed")).signature == sig
    import ingest.extract as extract_module

    original = extract_module.EXTRACTOR_VERSION
    try:
        extract_module.EXTRACTOR_VERSION = original + "-next"
        assert Extractor(taxonomy).signature != sig
    finally:
        extract_module.EXTRACTOR_VERSION = original


def test_a_text_past_spacys_max_length_is_cut_not_fatal(extractor: Extractor) -> None:
    nlp, _matcher = extractor._pipeline()
    head = "We train sparse autoencoders on the residual stream."
    filler = " Words words." * (nlp.max_length // 13 + 1000)  # past spaCy's limit (E088 before)
    short = extractor.extract("p", "A title", head)
    long = extractor.extract("p", "A title", head + filler + " We apply causal scrubbing.")
    assert techniques(long) == techniques(short) == {"sae"}  # the start is analysed, the far tail not
    from ingest.extract import MAX_ANALYSED_CHARS

    # Under the bound nothing is cut: a text of MAX_ANALYSED_CHARS finds a term at its very end.
    tail = " We apply causal scrubbing."
    near = head + " x" * ((MAX_ANALYSED_CHARS - len("A title.\n") - len(head) - len(tail)) // 2) + tail
    assert len("A title.\n" + near) <= MAX_ANALYSED_CHARS
    assert techniques(extractor.extract("p", "A title", near)) == {"sae", "causal_scrubbing"}
    # The batch goes on: papers after the long one are extracted as usual.
    many = extractor.extract_many([("a", "T", head + filler), ("b", "T", "The paper uses causal scrubbing.")])
    assert techniques(many[1]) == {"causal_scrubbing"}


# -- coordination ellipsis: "activation and path patching" ------------------------------------------
@pytest.mark.parametrize(("sentence", "expected"), [
    ("We use activation and path patching to trace the circuit.", {"activation_patching", "path_patching"}),
    ("Attribution and activation patching agree on most heads.",
     {"attribution_patching", "activation_patching"}),
    ("We compare zero- and mean-ablation of attention heads.", {"zero_ablation", "mean_ablation"}),
    ("We run zero-, mean- and resample-ablation on every head.",
     {"zero_ablation", "mean_ablation", "resampling_ablation"}),
    ("Zero, mean, or resampling ablations give the same circuit.",
     {"zero_ablation", "mean_ablation", "resampling_ablation"}),
    # The longest modifier that makes an alias: "edge attribution patching", not "attribution patching".
    ("We use edge attribution and path patching.", {"eap", "path_patching"}),
    # Not coordinated modifiers: whole noun phrases of their own.
    ("We study activation functions and path patching.", {"path_patching"}),
    ("The activation and the path patching results differ.", {"path_patching"}),
    ("We use patching and path patching.", {"path_patching"}),
    ("We vary the activation. Path patching then isolates the heads.", {"path_patching"}),
    ("We combine causal tracing and path patching.", {"activation_patching", "path_patching"}),
    # Words before the modifier that make a term with it: feature attribution, not attribution patching.
    ("We compare feature attribution and path patching on IOI.", {"gradient_attribution", "path_patching"}),
    ("Gradient-based attribution and activation patching disagree.",
     {"gradient_attribution", "activation_patching"}),
    # Any other word before it is no part of the modifier (review: an allow-list of words missed these).
    ("We propose activation and path patching.", {"activation_patching", "path_patching"}),
    # ("Unlike ..." itself names them as not used: tests/ingest/test_extract_use_cues.py.)
    ("Besides activation and attribution patching, we find heads.",
     {"activation_patching", "attribution_patching"}),
    ("We study how activation and path patching differ.", {"activation_patching", "path_patching"}),
    ("The gold standard is activation and path patching.", {"activation_patching", "path_patching"}),
    ("Applying activation and path patching to GPT-2 small.", {"activation_patching", "path_patching"}),
    ("Common methods, e.g. activation and path patching, agree.", {"activation_patching", "path_patching"}),
])
def test_a_coordinated_modifier_shares_the_alias_head(
    extractor: Extractor, sentence: str, expected: set[str]
) -> None:
    assert techniques(run(extractor, sentence)) == expected


def test_coordination_ellipsis_for_evaluations_and_components(extractor: Extractor) -> None:
    got = run(extractor, "We report intrinsic and extrinsic evaluation of the circuit.")
    assert {e.evaluation_id for e in got.evaluations} == {"intrinsic_evaluation", "extrinsic_evaluation"}
    # "attention and MLP layers" reads as attention layers and MLP layers: no technique, both components.
    got = run(extractor, "We find that attention and MLP layers store the facts.")
    assert techniques(got) == set() and set(got.components) == {"mha", "ff"}


def test_each_coordinated_technique_has_the_sentence_as_evidence(extractor: Extractor) -> None:
    got = run(extractor, "We study heads. We use activation and path patching.")
    assert {(t.technique_id, t.evidence, t.score) for t in got.techniques} == {
        ("activation_patching", "We use activation and path patching.", 1.0),
        ("path_patching", "We use activation and path patching.", 1.0),
    }


# -- the list's TL;DRs: techniques and evaluations, never findings ---------------------------------
_IOI_TITLE = "Interpretability in the Wild: a Circuit for Indirect Object Identification"
_IOI_ABSTRACT = ("We explain how GPT-2 small performs indirect object identification. Our explanation relies "
                 "on causal interventions.")
_IOI_TLDR = "The paper proposes to use mean-ablation for activation and path patching."


def test_list_tldrs_add_techniques_with_the_tldr_as_evidence(extractor: Extractor) -> None:
    alone = extractor.extract("ioi", _IOI_TITLE, _IOI_ABSTRACT)
    assert techniques(alone) == set()
    got = extractor.extract("ioi", _IOI_TITLE, _IOI_ABSTRACT, tldrs=[_IOI_TLDR])
    assert {(t.technique_id, t.source, t.evidence) for t in got.techniques} == {
        (tid, "extracted", "List TL;DR: " + _IOI_TLDR)
        for tid in ("mean_ablation", "activation_patching", "path_patching")
    }


def test_list_tldrs_add_evaluations_with_the_tldr_as_evidence(extractor: Extractor) -> None:
    tldr = ("The paper proposed ablation-based techniques for the faithfulness, completeness, and "
            "minimality evaluation of the discovered circuit.")
    got = extractor.extract("ioi", _IOI_TITLE, _IOI_ABSTRACT, tldrs=[tldr])
    assert [(e.evaluation_id, e.evidence) for e in got.evaluations] == [
        (eid, "List TL;DR: " + tldr) for eid in ("faithfulness", "completeness", "minimality")
    ]


def test_list_tldrs_make_no_findings_models_topics_or_components(extractor: Extractor) -> None:
    abstract = "We study language models. We find that name mover heads in GPT-2 copy names."
    tldrs = ["We find that induction heads in Llama 2 show superposition; the paper uses SAEs.",
             "Our results show that the residual stream of BERT carries polysemantic features."]
    alone = extractor.extract("p", "A Circuit Study", abstract)
    got = extractor.extract("p", "A Circuit Study", abstract, tldrs=tldrs)
    assert (got.findings, got.models, got.topics, got.components) == (
        alone.findings, alone.models, alone.topics, alone.components)
    assert [f.text for f in got.findings if f.kind == "claim"] == [
        "We find that name mover heads in GPT-2 copy names."]
    assert [(t.technique_id, t.evidence) for t in got.techniques] == [("sae", "List TL;DR: " + tldrs[0])]


def test_the_abstract_sentence_is_the_evidence_when_both_name_a_technique(extractor: Extractor) -> None:
    got = extractor.extract("p", "", "We apply activation patching to GPT-2.",
                            tldrs=["The paper uses activation patching."])
    (use,) = got.techniques
    assert (use.evidence, use.score) == ("We apply activation patching to GPT-2.", 2.0)


def test_an_ambiguous_alias_in_a_tldr_needs_a_confirming_term(extractor: Extractor) -> None:
    got = extractor.extract("p", "", "", tldrs=["The paper studies ablation of survey questions."])
    assert got.techniques == []
    got = extractor.extract("p", "", "", tldrs=["Ablation of attention heads."])
    assert [(t.technique_id, t.evidence) for t in got.techniques] == [
        ("knockout", "List TL;DR: Ablation of attention heads.")]
    # A precise alias in the abstract confirms (and replaces) the TL;DR's ambiguous one, and vice versa.
    got = extractor.extract("p", "", "We use path patching.", tldrs=["Denoising of the prompt."])
    assert techniques(got) == {"path_patching", "activation_patching"}


def test_each_tldr_is_a_sentence_of_its_own(extractor: Extractor) -> None:
    """TL;DR cells often lack a full stop: one must not run into the next, nor into the abstract."""
    got = extractor.extract("p", "", "We study heads", tldrs=["Uses path patching", "Mean ablation of heads"])
    assert [(t.technique_id, t.evidence) for t in got.techniques] == [
        ("path_patching", "List TL;DR: Uses path patching"),
        ("mean_ablation", "List TL;DR: Mean ablation of heads"),
    ]


def test_tldrs_in_extract_many_and_blank_or_repeated_ones(extractor: Extractor) -> None:
    items = [("a", "T", "We study heads.", [_IOI_TLDR, " ", _IOI_TLDR]), ("b", "T", "We use path patching.")]
    many = extractor.extract_many(items)
    assert _summary(many[0]) == _summary(extractor.extract("a", "T", "We study heads.", tldrs=[_IOI_TLDR]))
    assert _summary(many[1]) == _summary(extractor.extract("b", "T", "We use path patching."))
    assert next(t.score for t in many[0].techniques if t.technique_id == "path_patching") == 1.0


# -- long punctuation runs (security QA: spaCy's tokenizer is quadratic on them) -----------------------------
def _longest_punctuation_run(text: str) -> int:
    return max((len(m.group(0)) for m in re.finditer(r"(?:[^\w\s]|_)+", text)), default=0)


def test_a_long_punctuation_run_gets_a_space_every_50_characters() -> None:
    assert PUNCTUATION_RUN == 50
    assert broken_long_runs("(" * 120) == f"{'(' * 50} {'(' * 50} {'(' * 20}"
    run = "!?_(" * 13  # 52 characters, none a letter, digit or space
    assert broken_long_runs(f"a{run}b") == f"a{run[:50]} {run[50:]}b"
    for kept in ["(" * 50, "a" * 400, "x." * 200, "—" * 40 + " " + "—" * 40,
                 "https://example.org/" + "a/" * 100, "We find that (i) heads [1] copy... names!"]:
        assert broken_long_runs(kept) == kept


def test_spacy_never_reads_a_punctuation_run_longer_than_50(extractor: Extractor,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    nlp, _matcher = extractor._pipeline()
    read: list[str] = []
    pipe = nlp.pipe
    monkeypatch.setattr(nlp, "pipe", lambda texts, **kw: pipe(read.extend(texts) or texts, **kw))
    got = extractor.extract("p", "Title" + ")" * 300, "!" * 2000 + " We use activation patching.",
                            tldrs=["[" * 700 + "Uses path patching"])
    # 51: the full stop the title gets after its last run of 50.
    assert [_longest_punctuation_run(text) for text in read] == [PUNCTUATION_RUN + 1]
    assert [t.technique_id for t in got.techniques] == ["activation_patching", "path_patching"]
    assert got.techniques[0].evidence == "We use activation patching."


def test_a_long_run_without_spaces_gets_a_space_every_400_characters(extractor: Extractor) -> None:
    """Review 2: "x's's's..." is no punctuation run, yet spaCy takes it apart one "'s" at a time."""
    token = "x" + "'s" * 5_000
    broken = broken_long_runs(token)
    assert broken.replace(" ", "") == token and max(len(w) for w in broken.split()) == LONG_TOKEN
    got = run(extractor, token + " We use activation patching on attention heads.")
    assert techniques(got) == {"activation_patching"}


@pytest.mark.parametrize("char", ["(", "!", "["])
def test_an_abstract_of_a_long_punctuation_run_is_read(extractor: Extractor, char: str) -> None:
    """The QA's abstracts: 19,000 of one punctuation character (80 s each), then a real sentence."""
    got = run(extractor, char * 19_000 + " We use activation patching on attention heads.")
    assert techniques(got) == {"activation_patching"}


def test_breaking_punctuation_runs_changes_no_seed_papers_extraction(
    extractor: Extractor, seed_records: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every seed paper (title, abstract and list TL;DRs) extracts exactly as without the breaking."""
    import ingest.extract as extract_module

    items = [(s["id"], s["title"], s["abstract"] or "", [r["tldr"] for r in s["list_rows"] if r.get("tldr")])
             for s in seed_records]
    assert len(items) == 38
    broken = extractor.extract_many(items)
    monkeypatch.setattr(extract_module, "broken_long_runs", lambda text: text)
    assert extractor.extract_many(items) == broken
    assert sum(1 for e in broken if e.techniques or e.findings) > 25  # real extractions were compared
