"""Models, components and the greater-than task as an MI researcher reads them (ingest/extract.py,
EXTRACTOR_VERSION 15): QA (models persona) false positives and misses, /tmp/qa-models/REPORT.md."""

from __future__ import annotations

import pytest

from ingest.extract import EXTRACTOR_VERSION, Extraction, Extractor

# Topics count only in a paper with the field's domain cue: every text here has it.
LM_CUE = " We study language models."


def run(extractor: Extractor, abstract: str, title: str = "") -> Extraction:
    """Extract from one abstract."""
    return extractor.extract("paper-1", title, abstract)


def finding_about(extraction: Extraction) -> set[str]:
    """The ids every finding of an extraction is about."""
    return {a.id for f in extraction.findings for a in f.about}


@pytest.mark.parametrize("abstract", [
    "We find that probe accuracy is greater than 90% for part-of-speech tags.",
    "We find that the attention score is greater than 0.5 for most induction heads.",
    "We find that features with activation greater than zero in MLP layers are rare.",
    "Accuracy stays greater than chance in every layer.",
])
def test_a_comparison_greater_than_is_not_the_greater_than_task(extractor: Extractor, abstract: str) -> None:
    """QA 1: the alias "greater-than" matched the plain comparison, so each result sentence with "greater
    than N" made the paper an LM Behavior one, with a finding about it."""
    got = run(extractor, abstract + LM_CUE)
    assert "lm_behavior" not in got.topics
    assert "lm_behavior" not in finding_about(got)


@pytest.mark.parametrize("abstract", [
    "We find that GPT-2 computes greater-than with a few MLPs.",
    "We find that GPT-2 solves the greater than task with a few MLPs.",
    "We find a greater than circuit in GPT-2.",
    "We study greater-than comparisons in GPT-2.",
])
def test_the_greater_than_task_is_still_lm_behavior(extractor: Extractor, abstract: str) -> None:
    assert "lm_behavior" in run(extractor, abstract + LM_CUE).topics


@pytest.mark.parametrize("abstract", [
    "We train models following the Chinchilla scaling laws and find that features emerge.",
    "We train Chinchilla-optimal transformers and find that features emerge.",
    "We train Chinchilla optimal transformers and find that features emerge.",
    "We train transformers by the Chinchilla scaling law and find that features emerge.",
])
def test_a_scaling_law_named_after_a_model_is_no_study_of_it(extractor: Extractor, abstract: str) -> None:
    """QA 4: "following the Chinchilla scaling laws" and "Chinchilla-optimal" tagged the model chinchilla."""
    got = run(extractor, abstract)
    assert "chinchilla" not in got.models
    assert "chinchilla" not in finding_about(got)


def test_a_model_named_before_its_scaling_laws_elsewhere_is_still_studied(extractor: Extractor) -> None:
    got = run(extractor, "We find that Chinchilla has induction heads. Chinchilla scaling laws hold.")
    assert got.models == ["chinchilla"]


@pytest.mark.parametrize(("abstract", "models"), [
    # The contrast is its own phrase, up to the comma: the model after it is studied.
    ("Unlike BERT, GPT-2 small stores syntactic information in MLP neurons, we find.", ["gpt2"]),
    ("Unlike BERT, the GPT-2 model stores syntax in MLP neurons.", ["gpt2"]),
    ("Unlike BERT and RoBERTa, GPT-2 stores syntax in MLP neurons.", ["gpt2"]),
    ("Unlike BERT, RoBERTa and T5, GPT-2 stores syntax in MLP neurons.", ["gpt2"]),
    ("Unlike BERT, RoBERTa, and T5, GPT-2 stores syntax in MLP neurons.", ["gpt2"]),
    ("Unlike BERT, GPT-2 and Pythia store syntax in MLP neurons.", ["gpt2", "pythia"]),
    ("We study GPT-2, unlike BERT, and Pythia.", ["gpt2", "pythia"]),
    ("In contrast to BERT, Pythia stores syntax in MLP neurons.", ["pythia"]),
    # A comma inside the contrast's own noun phrase does not end it.
    ("This is in contrast to a large, modern transformer like GPT-3. We study Pythia.", ["pythia"]),
    # "compared to" contrasts like "unlike".
    ("Compared to GPT-4, we find that our small transformer learns modular addition.", ["toy_transformer"]),
    ("Compared with GPT-4, Pythia stores facts in MLPs.", ["pythia"]),
    # A model used as a judge, an evaluator or to generate data is a tool, not what is studied.
    ("We use GPT-4 as a judge and find that steering Llama-2 reduces toxicity.", ["llama"]),
    ("With GPT-4 as an automatic evaluator, we find that steering Llama-2 reduces toxicity.", ["llama"]),
    ("GPT-4 is used to generate counterfactual prompts for Pythia.", ["pythia"]),
    ("ChatGPT was prompted to annotate the features of Pythia.", ["pythia"]),
    # Still studied.
    ("We find that GPT-4 acts as a judge of its own answers.", ["gpt3"]),
    ("We compare GPT-2 and Pythia and find that both form induction heads.", ["gpt2", "pythia"]),
])
def test_a_contrast_or_tool_use_reaches_its_own_model_only(
    extractor: Extractor, abstract: str, models: list[str]
) -> None:
    """QA 5: "Unlike BERT, GPT-2 ..." dropped GPT-2 (the scan ran back past the comma to "Unlike"), and
    "Compared to GPT-4, ..." and "We use GPT-4 as a judge" tagged GPT-4 as studied."""
    assert run(extractor, abstract).models == models


@pytest.mark.parametrize(("name", "model"), [
    ("gpt2", "gpt2"), ("gpt2-small", "gpt2"), ("gpt2-xl", "gpt2"), ("gpt2-medium", "gpt2"),
    ("bert-base-uncased", "bert"), ("bert-large-cased", "bert"), ("t5-base", "t5"), ("t5-3b", "t5"),
    ("roberta-base", "bert"), ("chatgpt", "gpt3"),
])
def test_a_lower_case_checkpoint_name_is_its_model(extractor: Extractor, name: str, model: str) -> None:
    """QA 6: TransformerLens and Hugging Face names ("gpt2-small", "bert-base-uncased", "t5-base") named no
    model, since GPT2, BERT and T5 matched in capitals only."""
    got = run(extractor, f"We find induction heads in the residual stream of {name}.")
    assert got.models == [model]


@pytest.mark.parametrize("abstract", [
    "We opt for a simple approach and opt-in 7 users.",  # "opt" is an English word: OPT in capitals only
    "Bert and Opt are names of people here.",
    "We load opt-66b.",
])
def test_a_lower_case_english_word_is_no_model(extractor: Extractor, abstract: str) -> None:
    assert run(extractor, abstract).models == []


@pytest.mark.parametrize("abstract", [
    "We find that a simple MLP probe trained on hidden states recovers syntax.",
    "We find that MLP probes trained on hidden states recover syntax.",
    "We find that an MLP classifier trained on the activations recovers syntax.",
    "We find that a 2-layer MLP-based probe recovers syntax from the activations.",
])
def test_a_multilayer_perceptron_probe_is_not_the_mlp_layer(extractor: Extractor, abstract: str) -> None:
    """QA 7: "MLP probe" and "MLP classifier" were the component MLP / feed-forward layer."""
    got = run(extractor, abstract + LM_CUE)
    assert "ff" not in got.components
    assert "ff" not in finding_about(got)


def test_the_mlp_layers_a_probe_reads_are_still_the_component(extractor: Extractor) -> None:
    got = run(extractor, "We find that a linear probe on the MLP layers recovers syntax." + LM_CUE)
    assert got.components == ["ff"]


@pytest.mark.parametrize("abstract", [
    "We find that small attention-only models form induction heads.",
    "We find that attention-only models with two layers form induction heads.",
    "We find that attention-only transformers form induction heads.",
])
def test_attention_only_models_are_toy_transformers(extractor: Extractor, abstract: str) -> None:
    """QA 4: "small attention-only models" (In-context Learning and Induction Heads) named no model."""
    assert run(extractor, abstract).models == ["toy_transformer"]


def test_these_rules_bump_the_extractor_version() -> None:
    """Stored extractions made by the older rules are reported stale (extraction_stale) and redone."""
    assert int(EXTRACTOR_VERSION) >= 15
