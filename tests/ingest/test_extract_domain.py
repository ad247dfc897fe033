"""Topics and fundamental objects only in a paper of the taxonomy's field (its domain cue).

A QA import of 8,000 mostly non-MI records linked 379 power-electronics papers ("... with circuit
simulation") to the MI object Circuits through findings. Techniques were clean: their ambiguous aliases need
a confirming term. These tests are on texts written for them, in the shapes of that corpus and of
tests/ingest/data/relevance_set.jsonl.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingest.extract import Extraction, Extractor
from kg.schema import Label
from kg.taxonomy import Taxonomy, load_taxonomy

DATA = Path(__file__).parent / "data"
BIO_TAXONOMY = (DATA / "bio_taxonomy.yaml").read_text(encoding="utf-8")


def field_nodes(extraction: Extraction) -> set[str]:
    """Ids of the topics and objects an extraction links the paper to (its topics, its findings' about)."""
    about = {a.id for f in extraction.findings for a in f.about if a.label in (Label.TOPIC, Label.OBJECT)}
    return about | set(extraction.topics)


OTHER_FIELDS = [
    # The QA corpus's power-electronics records (gen.py's template).
    ("Improving power electronics with circuit simulation (study 17)",
     "We propose a new approach to power electronics based on circuit simulation. Our method improves "
     "accuracy on inverter testbeds by 4.2 points over strong baselines while reducing compute by 30%. "
     "Experiments show consistent gains across 5 datasets."),
    ("Circuit Mechanisms of Fear Memory in the Mouse Amygdala",
     "Using optogenetic activation and lesion experiments, we dissect the neural circuit linking the "
     "basolateral amygdala to the prefrontal cortex. We find that silencing this circuit abolished "
     "freezing."),
    ("Quantum Circuit Compilation with Learned Rules",
     "We show that learned rewrite rules cancel redundant gates in quantum circuits, and that superposition "
     "of qubit states survives the compilation."),
    ("Safe Steering of Autonomous Vehicles",
     "We show that our controller improves safety and steering accuracy, and that reasoning about "
     "pedestrians' intent reduces collisions."),
    # A neural network on chips: the network cue alone let it through (the circuits are digital ones).
    ("Graph Neural Networks for Timing Prediction in Digital Circuits",
     "We train graph neural networks on gate-level netlists. We find that message passing over the "
     "circuit graph predicts path delays within 3% of static timing analysis."),
]


@pytest.mark.parametrize(("title", "abstract"), OTHER_FIELDS)
def test_a_paper_of_another_field_gets_no_mi_topic_or_object(extractor: Extractor, title: str,
                                                             abstract: str) -> None:
    got = extractor.extract("p", title, abstract)
    assert field_nodes(got) == set()
    # Its claims are still findings, about nothing of the taxonomy.
    assert all(f.about == [] for f in got.findings)


def test_the_same_words_in_a_paper_on_language_models_keep_their_topics(extractor: Extractor) -> None:
    """The QA corpus's MI records (gen.py's template): "circuit" is the MI object there."""
    got = extractor.extract(
        "p", "Circuit discovery reveals how GPT-2 small performs factual recall #3",
        "We study how GPT-2 small implements factual recall using circuit discovery. We find a circuit of "
        "attention heads and MLP neurons in the residual stream that is responsible for the behaviour. "
        "Our results shed light on the mechanisms by which transformer language models perform recall.")
    assert {"circuits", "lm_components"} <= field_nodes(got)
    safety = extractor.extract("q", "Refusal in chat models",
                               "We show that safety training of LLMs adds a refusal direction.")
    assert field_nodes(safety) == {"ai_safety"}


def test_a_neural_network_cue_stands_in_for_toy_models(extractor: Extractor) -> None:
    """MI of toy models names no language model: "neural networks" is the cue, unless a word points to
    another field (the weekly gate's network cue)."""
    toy = extractor.extract("p", "Toy Models of Superposition",
                            "We show that small ReLU neural networks store features in superposition.")
    assert field_nodes(toy) == {"superposition"}
    bare = extractor.extract("p", "Toy Models of Superposition", "We show that qubits pack states.")
    assert field_nodes(bare) == set()
    vision = extractor.extract("p", "Superposition in image classifiers",
                               "We show that neural networks for images use superposition.")
    assert field_nodes(vision) == set()


def test_a_paper_without_an_abstract_is_not_judged_by_its_title(extractor: Extractor) -> None:
    """A list ingested without arXiv has titles only: too short to carry the cue."""
    got = extractor.extract("p", "Progress measures for grokking via mechanistic interpretability", "")
    assert field_nodes(got) == {"learning_dynamics"}
    with_abstract = extractor.extract("p", "Progress measures for grokking via mechanistic interpretability",
                                      "We study grokking of inverter controllers.")
    assert field_nodes(with_abstract) == set()


def test_techniques_components_and_models_are_not_gated(extractor: Extractor) -> None:
    got = extractor.extract("p", "Denoising inverter currents",
                            "We train a sparse autoencoder on inverter currents and find a circuit fault.")
    assert [t.technique_id for t in got.techniques] == ["sae"]
    assert field_nodes(got) == set()


def test_labelled_records_outside_mi_get_topics_only_with_a_cue(extractor: Extractor) -> None:
    """Every MI record of the relevance set has the field's cue; a non-MI one is linked to a topic or
    object only when it has one too (a graph neural network for digital circuits still is)."""
    lines = (DATA / "relevance_set.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines if line.strip()]
    outs = extractor.extract_many([(r["id"], r["title"], r["abstract"]) for r in rows])
    for row, got in zip(rows, outs, strict=True):
        cued = extractor.in_field(f"{row['title']}. {row['abstract']}")
        if row["label"] == 1:
            assert cued, row["id"]
        elif not cued:
            assert field_nodes(got) == set(), row["id"]
    tagged = {r["id"] for r, got in zip(rows, outs, strict=True) if r["label"] == 0 and field_nodes(got)}
    assert "rel-non-01" not in tagged and "rel-non-11" not in tagged  # bandgap circuit, amygdala circuit


# -- another field's taxonomy: its own domain_cues, nothing of MI --------------------------------------

def bio(tmp_path: Path, text: str = BIO_TAXONOMY) -> Taxonomy:
    """The structural-biology test taxonomy (a weekly block with domain_cues), or `text`, from a file."""
    path = tmp_path / "bio.yaml"
    path.write_text(text, encoding="utf-8")
    return load_taxonomy(path)


def test_a_weekly_block_s_domain_cues_decide_its_topics(tmp_path: Path) -> None:
    extractor = Extractor(bio(tmp_path))
    channel = extractor.extract("p", "Channel gating of a membrane protein",
                                "We show that channel gating needs two residues.")
    assert channel.topics == ["gating"]
    # No cue of its field ("protein", "ion channel", "membrane"): a language-model cue is no cue here.
    other = extractor.extract("q", "Channel gating in language models",
                              "We show that channel gating in LLMs needs two attention heads.")
    assert other.topics == [] and all(f.about == [] for f in other.findings)


def test_a_weekly_block_without_domain_cues_gates_no_paper(tmp_path: Path) -> None:
    taxonomy = bio(tmp_path, BIO_TAXONOMY.replace("  domain_cues: [protein, ion channel, membrane]\n", ""))
    assert taxonomy.weekly is not None and taxonomy.weekly.domain_cues == ()
    got = Extractor(taxonomy).extract("p", "Channel gating", "We show that gating needs two residues.")
    assert got.topics == ["gating"]


def test_another_fields_file_without_a_weekly_block_gates_no_paper(tmp_path: Path) -> None:
    """The built-in cues are MI's: a file without Features and Circuits objects gets none of them (the
    structural-biology list's export sorted every row under "Unsorted" when it did)."""
    without = BIO_TAXONOMY.split("weekly:")[0]
    taxonomy = bio(tmp_path, without)
    assert taxonomy.weekly is None
    got = Extractor(taxonomy).extract("p", "Channel gating", "We show that gating needs two residues.")
    assert got.topics == ["gating"]


def test_the_signature_follows_the_domain_cues(tmp_path: Path) -> None:
    """Stored extractions made under other cues are redone on re-ingest."""
    first = Extractor(bio(tmp_path)).signature
    fewer = Extractor(bio(tmp_path, BIO_TAXONOMY.replace("[protein, ion channel, membrane]", "[protein]")))
    assert fewer.signature != first
    assert Extractor(bio(tmp_path)).signature == first
