"""The weekly relevance gate: unit behaviour, and quality with the real all-MiniLM model.

The labelled set (tests/ingest/data/relevance_set.jsonl) is hand-written for this project: 25 MI papers
and 38 non-MI papers (electronics "circuit", biology "probing", vision "attention/features", NLP/LLM
work that is not MI, other ML, neural-network work that is not MI, some of it using sparse autoencoders
or attribution patching). Its `calib` split (10 non-MI
records) is used only to calibrate the similarity threshold, together with the seed corpus; quality is
measured on the `test` split.

Floors: precision >= 0.85 and recall >= 0.85 on the test split (25 MI, 28 non-MI). They allow about
three mistakes either way, yet fail the naive gates: keeping every paper with a language-model cue
keeps 6 non-MI NLP papers and misses the 3 MI papers on small networks (precision 22/28 = 0.79, recall
0.88); adding the network cue keeps 13 non-MI papers (precision 25/38 = 0.66); similarity alone
misses MI papers far from the seed corpus (recall 0.76 when measured).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ingest.extract import Extractor
from ingest.relevance import (
    SIMILARITY_THRESHOLD,
    LMCue,
    RelevanceGate,
    calibrate_threshold,
    leave_one_out_similarity,
    top_k_similarity,
)
from kg.taxonomy import Taxonomy, load_taxonomy

DATA = Path(__file__).parent / "data" / "relevance_set.jsonl"
PRECISION_FLOOR = 0.85
RECALL_FLOOR = 0.85


def labelled() -> list[dict[str, Any]]:
    """The hand-written labelled set."""
    return [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]


# -- unit behaviour (no model) ----------------------------------------------------------------
def test_labelled_set_is_large_enough_and_split() -> None:
    rows = labelled()
    test = [r for r in rows if r["split"] == "test"]
    assert sum(r["label"] for r in test) >= 20 and sum(1 - r["label"] for r in test) >= 20
    assert {r["kind"] for r in rows if not r["label"]} >= {"electronics", "biology", "vision", "nlp"}
    assert len({r["id"] for r in rows}) == len(rows)


@pytest.mark.parametrize("text, cue", [
    ("We study induction heads in GPT-2 small.", "GPT-2"),
    ("Circuits in large language models", "language models"),
    ("Probing LLMs for syntax", "LLMs"),
    ("A two-layer attention-only transformer learns to count.", "transformer"),
    ("Attention heads of vision transformers attend to object parts in images.", None),
    ("A transformer-coupled converter keeps zero-voltage switching.", None),
    ("Probing protein language models for binding sites.", None),
    ("Fluorescent probes image zinc in neurons.", None),
])
def test_lm_cue(taxonomy: Taxonomy, text: str, cue: str | None) -> None:
    found = LMCue(taxonomy).find(text)
    if cue is None:
        assert found is None
    else:
        assert found is not None and found.casefold() in text.casefold()


@pytest.mark.parametrize("text, network", [
    ("Toy Models of Superposition. Neural networks often pack many unrelated concepts into a neuron.",
     "Neural networks"),
    ("We train small ReLU networks on sparse synthetic features.", "ReLU networks"),
    ("A one-layer MLP network learns modular addition with Fourier features.", "MLP network"),
    ("Convolutional neural networks segment images of cells.", None),  # another field
    ("Neural networks forecast load on the power grid.", None),
    ("Fluorescent probes image zinc in neurons.", None),
])
def test_network_cue(taxonomy: Taxonomy, text: str, network: str | None) -> None:
    assert LMCue(taxonomy).network(text) == network


def test_a_neural_network_cue_stands_in_for_the_language_model_cue(
    taxonomy: Taxonomy, extractor: Extractor
) -> None:
    """Seed papers such as "Toy Models of Superposition" and "The Clock and the Pizza" name no language
    model: judged as new candidates they were rejected as "not about language models". A neural-network
    cue stands in for a language-model cue when the text is similar to the MI corpus and nothing in it
    points to another field."""
    gate = RelevanceGate(taxonomy, extractor=extractor, threshold=0.5)
    toy = ("Toy Models of Superposition", "Neural networks often pack many unrelated concepts into a "
           "single neuron. We study toy models of this phenomenon.")
    assert gate.judge("t", *toy, 0.6).reason == (
        "similar to the MI corpus (techniques: none; similarity 0.600 (threshold 0.500); no language-model "
        "cue; network cue: 'Neural networks')")
    assert gate.judge("t", *toy, 0.6).keep and gate.judge("t", *toy, 0.6).lm_cue is None
    far = gate.judge("t", *toy, 0.3)
    assert not far.keep
    assert far.reason.startswith("not about language models and not similar enough to the MI corpus")
    # A technique hit does not stand in for the cue: "neural network" and "sparse autoencoder" are in
    # fault-diagnosis and intrusion-detection abstracts too (review).
    patched = gate.judge("p", "Bearing Faults", "A deep neural network built from stacked sparse "
                         "autoencoders diagnoses bearing faults.", 0.3)
    assert not patched.keep and "sae" in patched.techniques
    assert patched.reason.startswith("not about language models and not similar enough to the MI corpus")
    vision = gate.judge("v", "Superposition in Neural Networks for Images",
                        "Neural networks for images pack features into neurons.", 0.9)
    assert not vision.keep and vision.reason.startswith("not about language models")
    assert vision.reason.endswith("no language-model cue; about another field: 'Images')")
    electronics = gate.judge("w", "Automated Circuit Discovery for Analog Front-Ends",
                             "Automated circuit discovery proposes transistor topologies.", 0.9)
    assert not electronics.keep  # no cue of either kind


def test_calibration_maximises_youden_j() -> None:
    assert calibrate_threshold([0.6, 0.7, 0.8], [0.1, 0.2, 0.5]) == pytest.approx(0.55)
    # One overlapping negative: the cut still keeps every positive.
    assert calibrate_threshold([0.4, 0.7, 0.8], [0.1, 0.45, 0.2]) == pytest.approx(0.3)
    with pytest.raises(ValueError):
        calibrate_threshold([], [0.1])


def test_top_k_similarity_and_leave_one_out() -> None:
    corpus = np.eye(4, dtype=np.float32)
    vector = np.array([1.0, 0.0, 0.0, 0.0], dtype=np.float32)
    assert top_k_similarity(vector, corpus, k=2)[0] == pytest.approx(0.5)
    assert top_k_similarity(vector, np.zeros((0, 0), dtype=np.float32))[0] == 0.0
    assert np.allclose(leave_one_out_similarity(corpus, k=1), 0.0)  # never matches itself


def test_generic_technique_words_are_not_evidence(taxonomy: Taxonomy, extractor: Extractor) -> None:
    gate = RelevanceGate(taxonomy, extractor=extractor, threshold=0.5)
    probing = gate.judge("x", "Probing Representations of Language Models",
                         "We use plain probing on a language model.", 0.1)
    assert not probing.keep and "probing" in probing.generic_techniques
    linear = gate.judge("y", "Linear Probes on Language Models",
                        "We train linear probes on the activations of a language model.", 0.1)
    assert linear.keep and "probing" in linear.techniques
    similar = gate.judge("z", "What Large Language Models Know About Dates", "We study LLMs.", 0.6)
    assert similar.keep and "similar to the MI corpus" in similar.reason
    electronics = gate.judge("w", "Automated Circuit Discovery for Analog Front-Ends",
                             "Automated circuit discovery proposes transistor topologies.", 0.9)
    assert not electronics.keep and electronics.reason.startswith("not about language models")


def test_a_rejection_names_the_field_a_candidate_is_about(taxonomy: Taxonomy, extractor: Extractor) -> None:
    gate = RelevanceGate(taxonomy, extractor=extractor, threshold=0.5)
    protein = gate.judge("p", "Sparse Autoencoders Uncover Features of Protein Language Models",
                         "We train sparse autoencoders on protein language models.", 0.9)
    assert not protein.keep
    assert protein.reason.startswith("not about language models")
    assert "about another field: 'Protein Language Models'" in protein.reason  # the title's, first
    vision = gate.judge("v", "Probing Vision Transformers", "We probe ViTs on images.", 0.9)
    assert "about another field: 'Vision Transformers'" in vision.reason
    plain = gate.judge("q", "Probing", "We probe something.", 0.1)  # nothing points anywhere
    assert "another field" not in plain.reason and "no language-model cue" in plain.reason


def test_candidate_never_matches_its_own_stored_version(taxonomy: Taxonomy, extractor: Extractor) -> None:
    corpus = np.eye(3, dtype=np.float32)
    gate = RelevanceGate(taxonomy, extractor=extractor, corpus_ids=["a", "b", "c"], corpus=corpus, k=1)
    scores = gate.similarity(np.eye(3, dtype=np.float32)[:1], ["a"])
    assert scores[0] == pytest.approx(0.0)
    assert gate.similarity(np.eye(3, dtype=np.float32)[:1], ["new"])[0] == pytest.approx(1.0)


# -- a taxonomy of another field, with its own `weekly:` block -----------------------------------
# Six nodes of structural biology. Without the block, every candidate of this field was refused as "not
# about language models" (the built-in MI gate), whatever the file.
BIO_TAXONOMY = (Path(__file__).parent / "data" / "bio_taxonomy.yaml").read_text(encoding="utf-8")
CRYO_EM = ("Cryo-EM reveals the structure of a bacterial ion channel",
           "We determine the cryo-EM structure of a mechanosensitive ion channel from E. coli at 2.8 A "
           "resolution and describe how it opens.")


def bio_taxonomy(tmp_path: Path, text: str = BIO_TAXONOMY) -> Taxonomy:
    """BIO_TAXONOMY (or `text`) loaded from a file, as PAPERKG_TAXONOMY would name it."""
    path = tmp_path / "bio.yaml"
    path.write_text(text, encoding="utf-8")
    return load_taxonomy(path)


def test_a_taxonomy_with_its_own_weekly_block_is_judged_by_its_domain_cues(tmp_path: Path) -> None:
    bio = bio_taxonomy(tmp_path)
    gate = RelevanceGate(bio, extractor=Extractor(bio), threshold=0.5)
    kept = gate.judge("c", *CRYO_EM, 0.1)
    assert kept.keep and kept.techniques == ["cryo_em"] and kept.lm_cue == "ion channel"
    assert kept.reason == ("specific technique of the taxonomy (techniques: cryo_em; similarity 0.100 "
                           "(threshold 0.500); domain cue: 'ion channel')")
    # The field's own cue is needed: no language-model cue is, and none stands in for it.
    battery = gate.judge("b", "Cryo-EM of frozen battery electrolytes",
                         "Cryo-electron microscopy images lithium dendrites in battery electrolytes.", 0.9)
    assert not battery.keep
    assert battery.reason == ("not about the taxonomy's field (techniques: cryo_em; similarity 0.900 "
                              "(threshold 0.500); no domain cue)")
    lm = gate.judge("l", "Sparse Autoencoders on GPT-2", "We patch activations of a language model.", 0.9)
    assert not lm.keep and lm.reason.startswith("not about the taxonomy's field")
    # Cues are whole words in any case, and plain text: "membranes" and "proteins" are other words.
    assert gate.judge("m", "PROTEIN dynamics", "Cryo-EM.", 0.1).lm_cue == "PROTEIN"
    assert gate.judge("w", "Membranes and proteins", "Cryo-EM.", 0.1).lm_cue is None
    # A generic technique is evidence only with one of its specific phrases; else similarity decides.
    plain = gate.judge("g", "Mutagenesis of a membrane transporter", "We use mutagenesis.", 0.1)
    assert not plain.keep and plain.generic_techniques == ["mutagenesis"]
    assert plain.reason.startswith("no specific technique and not similar enough to the stored corpus")
    similar = gate.judge("s", "Mutagenesis of a membrane transporter", "We use mutagenesis.", 0.6)
    assert similar.keep and similar.reason.startswith("similar to the stored corpus")
    specific = gate.judge("d", "Site-directed mutagenesis of a membrane transporter", "", 0.1)
    assert specific.keep and specific.techniques == ["mutagenesis"]
    for decision in (kept, battery, lm, plain, similar, specific):
        assert "language" not in decision.reason and "MI" not in decision.reason


def test_a_weekly_block_without_domain_cues_requires_none(tmp_path: Path) -> None:
    no_cues = BIO_TAXONOMY.replace("  domain_cues: [protein, ion channel, membrane]\n", "")
    bio = bio_taxonomy(tmp_path, no_cues)
    assert bio.weekly is not None and bio.weekly.domain_cues == ()
    gate = RelevanceGate(bio, extractor=Extractor(bio), threshold=0.5)
    battery = gate.judge("b", "Cryo-EM of frozen battery electrolytes", "Lithium dendrites.", 0.1)
    assert battery.keep and battery.lm_cue is None
    assert battery.reason == ("specific technique of the taxonomy (techniques: cryo_em; similarity 0.100 "
                              "(threshold 0.500))")
    assert not gate.judge("n", "Battery electrolytes", "Lithium dendrites.", 0.1).keep


def test_the_shipped_taxonomy_keeps_the_built_in_mi_gate(taxonomy: Taxonomy, extractor: Extractor) -> None:
    """mi.yaml has no weekly block: its reasons and decisions are the built-in MI gate's, word for word."""
    assert taxonomy.weekly is None
    gate = RelevanceGate(taxonomy, extractor=extractor, threshold=0.5)
    assert isinstance(gate.cue, LMCue)
    cases = [
        (("Linear Probes on Language Models", "We train linear probes on a language model.", 0.1),
         "MI technique on a language model (techniques: probing; similarity 0.100 (threshold 0.500); "
         "LM cue: 'Language Models')"),
        (("What Large Language Models Know About Dates", "We study LLMs.", 0.6),
         "similar to the MI corpus (techniques: none; similarity 0.600 (threshold 0.500); "
         "LM cue: 'Language Models')"),
        (("Probing Representations of Language Models", "We use plain probing on a language model.", 0.1),
         "no MI technique and not similar enough to the MI corpus (techniques: none; generic only: probing; "
         "similarity 0.100 (threshold 0.500); LM cue: 'Language Models')"),
        ((*CRYO_EM, 0.9),
         "not about language models (techniques: none; similarity 0.900 (threshold 0.500); "
         "no language-model cue)"),
    ]
    for (title, abstract, score), reason in cases:
        assert gate.judge("x", title, abstract, score).reason == reason


# -- quality with the real model -------------------------------------------------------------
@pytest.fixture(scope="session")
def real_embedder(model_embedder: Any) -> Any:
    """The real all-MiniLM-L6-v2 (loaded once per session)."""
    return model_embedder


@pytest.fixture(scope="module")
def seed_corpus(real_embedder: Any, shared_data: Path) -> tuple[list[str], np.ndarray]:
    """Ids and real embeddings of the seed papers with an abstract (the MI corpus)."""
    from ingest.embed import embedding_text

    seeds = [json.loads(line) for line in (shared_data / "seed_papers.jsonl").read_text().splitlines()
             if line.strip()]
    seeds = [s for s in seeds if s.get("abstract")]
    vectors = real_embedder.encode([embedding_text(s["title"], s["abstract"]) for s in seeds])
    return [s["id"] for s in seeds], vectors


def _vectors(embedder: Any, rows: list[dict[str, Any]]) -> np.ndarray:
    from ingest.embed import embedding_text

    return embedder.encode([embedding_text(r["title"], r["abstract"]) for r in rows])


@pytest.mark.model
def test_calibration_rederives_the_stored_threshold(
    real_embedder: Any, seed_corpus: tuple[list[str], np.ndarray]
) -> None:
    _ids, corpus = seed_corpus
    calib = [r for r in labelled() if r["split"] == "calib"]
    positives = leave_one_out_similarity(corpus)
    negatives = top_k_similarity(_vectors(real_embedder, calib), corpus)
    assert np.median(positives) > np.max(negatives)  # the corpus is far more alike than non-MI work
    assert calibrate_threshold(positives.tolist(), negatives.tolist()) == pytest.approx(SIMILARITY_THRESHOLD,
                                                                                      abs=0.002)


@pytest.mark.model
def test_gate_precision_and_recall_on_the_labelled_set(
    real_embedder: Any, seed_corpus: tuple[list[str], np.ndarray], taxonomy: Taxonomy, extractor: Extractor
) -> None:
    ids, corpus = seed_corpus
    test = [r for r in labelled() if r["split"] == "test"]
    gate = RelevanceGate(taxonomy, extractor=extractor, corpus_ids=ids, corpus=corpus)
    items = [(r["id"], r["title"], r["abstract"]) for r in test]
    decisions = gate.judge_many(items, _vectors(real_embedder, test))
    kept = [d.keep for d in decisions]
    actual = [bool(r["label"]) for r in test]
    tp = sum(k and a for k, a in zip(kept, actual, strict=True))
    precision = tp / max(1, sum(kept))
    recall = tp / sum(actual)
    wrong = [(r["id"], d.reason) for r, d, a in zip(test, decisions, actual, strict=True) if d.keep != a]
    assert precision >= PRECISION_FLOOR, wrong
    assert recall >= RECALL_FLOOR, wrong
    # The traps the gate exists for are all turned away, each with a reason and a score.
    for row, decision in zip(test, decisions, strict=True):
        if row["kind"] in ("electronics", "biology", "vision"):
            assert not decision.keep, (row["id"], decision.reason)
            assert decision.reason and 0.0 <= decision.score <= 1.0


@pytest.mark.model
def test_every_seed_paper_judged_as_a_new_candidate_is_kept(
    real_embedder: Any, seed_corpus: tuple[list[str], np.ndarray], taxonomy: Taxonomy, extractor: Extractor,
    shared_data: Path,
) -> None:
    """The list's own papers, each judged against the others as a weekly candidate would be: the gate
    rejected three MI papers on toy networks that name no language model."""
    ids, corpus = seed_corpus
    seeds = {r["id"]: r for r in map(json.loads, (shared_data / "seed_papers.jsonl").read_text(
        encoding="utf-8").splitlines()) if r.get("item_type", "paper") == "paper"}
    gate = RelevanceGate(taxonomy, extractor=extractor, corpus_ids=ids, corpus=corpus)
    papers = [(i, seeds[i]["title"], seeds[i]["abstract"]) for i in ids if i in seeds]
    decisions = gate.judge_many(papers, corpus[[ids.index(i) for i, _t, _a in papers]])
    assert len(papers) >= 30
    assert [(i, d.reason) for (i, _t, _a), d in zip(papers, decisions, strict=True) if not d.keep] == []


def test_calibration_keeps_the_lowest_cut_of_a_tie() -> None:
    """Cuts 0.5 and 0.9 both give J = 0.5 (TPR 1.0 - FPR 0.5, and 0.5 - 0.0): the lower one wins, midway
    below it, so a tie never costs recall."""
    assert calibrate_threshold([0.5, 0.9], [0.1, 0.7]) == pytest.approx(0.3)
