"""QA (an MI researcher counting papers per technique): three rules that tagged techniques a paper does not
use (ingest/extract.py, kg/taxonomies/mi.yaml). Each test has the QA's sentences, which fail on the old
rules, and the sentences that must keep their techniques."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from ingest.extract import Extraction, Extractor


def run(extractor: Extractor, abstract: str, title: str = "", tldrs: Sequence[str] = ()) -> Extraction:
    """Extract from one paper."""
    return extractor.extract("paper-1", title, abstract, tldrs)


def techniques(extraction: Extraction) -> set[str]:
    """Technique ids of an extraction."""
    return {t.technique_id for t in extraction.techniques}


def _seed(seed_records: list[dict[str, Any]], paper_id: str) -> dict[str, Any]:
    return next(r for r in seed_records if r["id"] == paper_id)


TRANSCODERS_ABSTRACT = (
    "A key goal in mechanistic interpretability is circuit analysis: finding sparse subgraphs of models "
    "corresponding to specific behaviors or capabilities. However, MLP sublayers make fine-grained circuit "
    "analysis on transformer-based language models difficult. To address this we explore transcoders, which "
    "seek to faithfully approximate a densely activating MLP layer with a wider, sparsely-activating MLP "
    "layer. We introduce a novel method for using transcoders to perform weights-based circuit analysis "
    "through MLP sublayers.")


@pytest.mark.parametrize(("title", "abstract", "expected"), [
    # QA: a transcoder paper, and feature circuits found by zero ablation, are no attribution-patching papers.
    ("Transcoders Find Interpretable LLM Feature Circuits", TRANSCODERS_ABSTRACT, {"transcoder"}),
    ("", "We study feature circuits in a vision transformer using zero ablation of neurons.",
     {"zero_ablation"}),
    # Still attribution graphs: an attribution word in the sentence, or another CMA-family method in the text.
    ("", "We find feature circuits by attributing the loss to SAE latents.", {"attribution_graph", "sae"}),
    ("", "We discover feature circuits with integrated gradients.",
     {"attribution_graph", "gradient_attribution"}),
    ("", "We find feature circuits. Activation patching confirms them.",
     {"attribution_graph", "activation_patching"}),
    # Marks et al.'s method by its name: found by attribution patching, so still the node.
    ("", "We introduce methods for discovering and applying sparse feature circuits.", {"attribution_graph"}),
])
def test_feature_circuits_alone_is_no_attribution_graph(
    extractor: Extractor, title: str, abstract: str, expected: set[str]
) -> None:
    """QA 1: the alias "feature circuits" made every feature-circuit paper an Attribution Patching and CMA
    paper (attribution_graph's parents), with the transcoder paper's title as evidence."""
    assert techniques(run(extractor, abstract, title)) == expected


def test_sparse_feature_circuits_seed_paper_keeps_its_attribution_graph(
    extractor: Extractor, seed_records: list[dict[str, Any]]
) -> None:
    """Marks et al. (2403.19647) use attribution patching: its tags are the same as before the change."""
    paper = _seed(seed_records, "2403.19647")
    got = run(extractor, paper["abstract"], paper["title"])
    assert techniques(got) == {"attribution_graph", "knockout"}


def test_tuned_lens_tldr_these_probes_is_no_probing(
    extractor: Extractor, seed_records: list[dict[str, Any]]
) -> None:
    """QA 2: the Tuned Lens paper was tagged probing from its TL;DR's "affine probes ..., where these probes
    are translators": the anaphoric "these probes" is the tuned lens again."""
    paper = _seed(seed_records, "2303.08112")
    tldrs = [row["tldr"] for row in paper["list_rows"] if row.get("tldr")]
    assert any("these probes" in tldr for tldr in tldrs)
    got = run(extractor, paper["abstract"], paper["title"], tldrs)
    assert techniques(got) == {"tuned_lens", "logit_lens"}


@pytest.mark.parametrize(("abstract", "expected"), [
    ("We train affine probes on GPT-2. These probes decode the activations of every layer.", {"tuned_lens"}),
    ("We train affine probes on GPT-2; such probes decode the activations of every layer.", {"tuned_lens"}),
    ("We train an affine probe for each layer, and the probes read out the activations.", {"tuned_lens"}),
    # Still probing: the nearest mention with that head is probing's own, or no determiner refers back.
    ("We train the tuned lens and linear probes. These probes decode the activations of every layer.",
     {"tuned_lens", "probing"}),
    ("We train affine probes on GPT-2. Linear probes decode the activations of every layer.",
     {"tuned_lens", "probing"}),
    ("We use linear probes. These probes decode the activations of every layer.", {"probing"}),
])
def test_an_anaphoric_generic_mention_names_no_new_technique(
    extractor: Extractor, abstract: str, expected: set[str]
) -> None:
    """QA 2: "these / such probes" after "affine probes" (Tuned Lens) counted as probing."""
    assert techniques(run(extractor, abstract)) == expected


BOTH_PATCHINGS = {"activation_patching", "attribution_patching"}


@pytest.mark.parametrize(("abstract", "expected"), [
    # QA: the technique the paper's own method is compared with is its baseline, not a technique it uses.
    ("Compared to attribution patching, our method is exact.", set()),
    ("Versus attribution patching, our approach is exact.", set()),
    ("Relative to activation patching, our method is cheap.", set()),
    ("In comparison with activation patching, our method is cheap.", set()),
    ("Our approach is exact compared to attribution patching.", set()),
    ("Our method is exact vs. attribution patching.", set()),
    ("As opposed to activation patching, our method is cheap.", set()),
    # Still both: a comparison of two techniques the paper studies.
    ("We compare activation patching and attribution patching.", BOTH_PATCHINGS),
    ("We compare activation patching to attribution patching.", BOTH_PATCHINGS),
    ("We compare SAEs versus transcoders on GPT-2.", {"sae", "transcoder"}),
    ("We evaluate SAEs vs. transcoders on GPT-2.", {"sae", "transcoder"}),
    ("Our analysis compares SAEs versus transcoders on GPT-2.", {"sae", "transcoder"}),
    ("Our method is exact, and we also run activation patching versus attribution patching.", BOTH_PATCHINGS),
    # The comparison (or contrast) ends at its comma: the technique opening the main clause is used.
    ("Compared to SAEs, transcoders are more interpretable.", {"transcoder"}),
    ("Unlike SAEs, transcoders are more interpretable.", {"transcoder"}),
    ("Unlike SAEs, transcoders and probing, the logit lens is cheap.", {"logit_lens"}),
])
def test_a_technique_named_only_as_the_comparison_is_not_used(
    extractor: Extractor, abstract: str, expected: set[str]
) -> None:
    """QA 3: "Compared to attribution patching, our method is exact." tagged attribution patching; the model
    rule already read "compared to" as a contrast, the technique rule did not."""
    assert techniques(run(extractor, abstract)) == expected


def test_a_comparison_title_keeps_both_sides(extractor: Extractor) -> None:
    """A title comparing two techniques ("SAEs vs. Transcoders") names both."""
    got = run(extractor, "We train both on GPT-2.", "Sparse Autoencoders vs. Transcoders")
    assert techniques(got) == {"sae", "transcoder"}


@pytest.mark.parametrize(("abstract", "models"), [
    ("Compared with GPT-4, Pythia stores facts in MLPs.", ["pythia"]),
    ("Versus GPT-4, Pythia stores facts in MLPs.", ["pythia"]),
    ("Relative to GPT-2, Pythia stores facts in MLPs.", ["pythia"]),
    ("Our method finds more induction heads than the logit lens relative to GPT-2.", []),
    ("We compare GPT-2 versus Pythia on induction heads.", ["gpt2", "pythia"]),
    ("Pythia forms induction heads earlier compared to GPT-2.", ["pythia", "gpt2"]),
])
def test_models_read_the_same_comparison_cues(extractor: Extractor, abstract: str, models: list[str]) -> None:
    """The model rule shares the cue list: a fronted comparison or one against the paper's own method names a
    reference, a two-sided one studies both ("compared to GPT-2" mid-sentence no longer drops GPT-2)."""
    assert run(extractor, abstract).models == models
