"""kg/browse.py: what a taxonomy node is (the awesome-list row that introduces it) and its other names."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from kg.browse import node_definition, other_names
from kg.embedded import EmbeddedStore
from kg.entities import ListRow, Paper, PaperBundle, TaxonomyNode, TechniqueUse
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


HOSTILE_NAME = 'Logit Lens" onmouseover="alert(1)" <script>alert(2)</script>'
HOSTILE_TLDR = ('The paper proposed the "logit lens" technique <script>alert(3)</script> & '
                "<img src=x onerror=alert(4)>")


def test_a_hostile_tldr_and_taxonomy_label_render_escaped_on_the_technique_page(tmp_path: Path) -> None:
    """The definition line shows a list row's TL;DR, its paper's title and section path, and the node's
    name (a custom taxonomy's label) in an attribute: each must reach the page as text, never markup."""
    from api.app import create_app
    from tests.embedders import HashEmbedder

    nodes = [replace(n, name=HOSTILE_NAME) if n.id == "logit_lens" else n for n in load_taxonomy().nodes]
    store = EmbeddedStore(tmp_path / "paperkg.sqlite3")
    try:
        store.init_schema()
        store.load_taxonomy(nodes)
        row = ListRow(section_id="techniques", section_title="Lens <script>alert(5)</script>",
                      section_path=["Techniques <b>x</b>", "Lens <script>alert(5)</script>"],
                      tldr=HOSTILE_TLDR, techniques_text="Logit lens")
        paper = Paper(id="hostile-lens",
                      title="Interpreting GPT: the logit lens <img src=x onerror=alert(6)>")
        store.upsert_papers([PaperBundle(paper, techniques=[TechniqueUse("logit_lens", "list")],
                                         list_rows=[row])])
        client = create_app({"STORE": store, "EMBEDDER": HashEmbedder(), "TESTING": True}).test_client()
        response = client.get("/techniques/logit_lens")
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        line = re.search(r'<p class="definition" data-definition>(.*?)</p>', html, re.S)
        assert line is not None, "no definition line"
        shown = line.group(1)
        # Every payload is there as text: escaped, so no element or attribute of its own.
        assert "&lt;script&gt;alert(3)&lt;/script&gt; &amp; &lt;img src=x onerror=alert(4)&gt;" in shown
        assert "the logit lens &lt;img src=x onerror=alert(6)&gt;" in shown
        assert "Techniques &lt;b&gt;x&lt;/b&gt;" in shown
        assert "Lens &lt;script&gt;alert(5)&lt;/script&gt;" in shown
        assert "Logit Lens&#34; onmouseover=&#34;alert(1)&#34; &lt;script&gt;alert(2)&lt;/script&gt;" in shown
        assert "<script>alert" not in html and "<img src=x" not in html and 'onmouseover="' not in html
    finally:
        store.close()
