"""kg/browse.py: what a taxonomy node is (the awesome-list row that introduces it) and its other names."""

from __future__ import annotations

from dataclasses import replace

import pytest

from kg.browse import node_definition, other_names
from kg.embedded import EmbeddedStore
from kg.entities import TaxonomyNode
from kg.taxonomy import load_taxonomy


@pytest.fixture(scope="module")
def nodes() -> dict[str, TaxonomyNode]:
    """The packaged taxonomy's nodes by id."""
    return load_taxonomy().by_id


@pytest.mark.parametrize(("node_id", "paper_id", "start"), [
    # The paper that coined it, in the list's Techniques section, names it in its title.
    ("logit_lens", "logit-lens", 'The paper proposed the "logit lens" technique'),
    # Tagged Logit Lens by the list, but its title names the Tuned Lens and its TL;DR proposes its probes.
    ("tuned_lens", "2303.08112", "The paper proposed using trained affine probes before logit lens"),
    # A findings topic: the title names it, the TL;DR states the hypothesis.
    ("superposition", "2209.10652", 'The paper confirmed the hypothesis of "superposition"'),
    # The Techniques cell names it; the TL;DR does not ("generate feature labels automatically").
    ("automated_feature_explanation", "lm-explain-neurons", "The paper proposed using LLMs"),
])
def test_a_node_is_defined_by_the_row_that_introduces_it(
    seed_store: EmbeddedStore, nodes: dict[str, TaxonomyNode], node_id: str, paper_id: str, start: str,
) -> None:
    found = node_definition(seed_store, nodes[node_id])
    assert found is not None and found.paper_id == paper_id, found
    assert found.text.startswith(start)
    detail = seed_store.get_paper(paper_id)
    assert detail is not None and found.paper_title == detail.paper.title
    assert found.section_path  # where in the list the row is


@pytest.mark.parametrize("node_id", [
    "activation_patching",  # its only list row "used activation patching to localize components"
    "sae",  # "provides advice for training SAEs": the paper's row, not what an SAE is
    "path_patching",  # "proposes to use mean-ablation for activation and path patching": about mean ablation
    "circuits",  # the IOI title says "a Circuit", but its proposing row is about evaluation criteria
    "cma",  # its refinements' rows do not define the parent
])
def test_a_row_that_does_not_introduce_the_node_is_no_definition(
    seed_store: EmbeddedStore, nodes: dict[str, TaxonomyNode], node_id: str,
) -> None:
    assert node_definition(seed_store, nodes[node_id]) is None


def test_other_names_leave_out_the_name_its_word_forms_and_cues(nodes: dict[str, TaxonomyNode]) -> None:
    """ "Also called" said "knockout, knock out, knocked out" on Knockout and "faithfulness, faithful" on
    Faithfulness: the node's own name and word forms of it are no other names."""
    assert other_names(nodes["knockout"]) == ["lesion", "head pruning"]
    faithfulness = other_names(nodes["faithfulness"])
    assert "faithful" not in faithfulness and "faithfulness" not in faithfulness
    assert "fidelity" in faithfulness
    assert "loss recovered" not in faithfulness  # a measurement, not a name
    patching = other_names(nodes["activation_patching"])
    assert patching[:2] == ["causal tracing", "interchange intervention"]
    assert "interchange interventions" not in patching  # a plural of a name already given
    assert not {"activation patching", "denoising", "causal mediation analysis"} & set(patching)  # ambiguous
    probing = other_names(nodes["probing"])
    assert "probing" not in probing and "probes" not in probing and "probe" not in probing
    assert "linear probe" in probing and "linear probes" not in probing
    assert "setting activations to zero" not in other_names(nodes["zero_ablation"])  # a verb phrase
    sae = other_names(nodes["sae"])
    assert "SAE" in sae and "SAEs" not in sae and "sparse autoencoders" not in sae


def test_other_names_stop_at_most(nodes: dict[str, TaxonomyNode]) -> None:
    node = replace(nodes["probing"], aliases=[f"name {i:02d}x" for i in range(30)], ambiguous_aliases=[])
    assert other_names(node, most=5) == [f"name {i:02d}x" for i in range(5)]
