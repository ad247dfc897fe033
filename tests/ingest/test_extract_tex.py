"""Extraction from arXiv's TeX markup and from odd Unicode (zero-width and no-break spaces, Unicode hyphens,
decomposed letters): the words match the taxonomy's aliases, and the evidence quotes the text as given."""

from __future__ import annotations

from typing import Any

import pytest

from ingest.relevance import RelevanceGate
from kg.taxonomy import Taxonomy

# The QA report's weekly candidate 2611.90011, rejected by the gate: "no MI technique".
ADDITION = ("Where Does Addition Happen? Heads in Small Models",
            r"We apply \emph{activation patching} and \textit{path patching} to GPT-2 small to locate the "
            r"heads that carry out two-digit addition, and train \textbf{sparse autoencoders} on their "
            r"outputs.")


def techniques(extractor: Any, abstract: str, title: str = "A title") -> dict[str, str]:
    """{technique id: evidence} extracted from a paper."""
    return {t.technique_id: t.evidence for t in extractor.extract("p", title, abstract).techniques}


def test_tex_markup_in_an_abstract_does_not_hide_techniques(extractor: Any) -> None:
    found = techniques(extractor, ADDITION[1], ADDITION[0])
    assert {"activation_patching", "path_patching", "sae"} <= set(found)
    # The evidence is the abstract's sentence as arXiv wrote it (what the paper page shows).
    assert found["activation_patching"] == ADDITION[1]


@pytest.mark.parametrize(("abstract", "technique"), [
    (r"We train sparse autoencoders~(SAEs) on GPT-2.", "sae"),
    (r"We train SAE{s} on GPT-2.", "sae"),
    (r"We train $k$-sparse autoencoders on GPT-2.", "sae"),
    (r"We use the \emph{logit lens} on GPT-2.", "logit_lens"),
    ("We train sparse auto-encoders on GPT-2.", "sae"),
    ("We use path\u2011patching on GPT-2.", "path_patching"),
    ("We use the logit\u2010lens on GPT-2.", "logit_lens"),
    ("We use acti\u200bvation patching on GPT-2.", "activation_patching"),
    ("We use activation\u00a0patching on GPT-2.", "activation_patching"),
    ("We use attri\u00adbution patching on GPT-2.", "attribution_patching"),
])
def test_markup_and_invisible_characters_between_words(extractor: Any, abstract: str, technique: str) -> None:
    found = techniques(extractor, abstract)
    assert technique in found, found
    assert found[technique] == " ".join(abstract.split())  # quoted as given


def test_findings_quote_the_abstract_as_given(extractor: Any) -> None:
    abstract = r"We find that \emph{induction heads} in GPT-2 small copy tokens."
    findings = extractor.extract("p", r"\textit{Induction Heads}", abstract).findings
    assert [f.text for f in findings if f.kind == "claim"] == [abstract]


def test_the_weekly_gate_keeps_an_mi_paper_written_in_tex(taxonomy: Taxonomy, extractor: Any) -> None:
    """The QA report's 2611.90011: its similarity (0.402) was under the threshold (0.465) and its TeX hid
    its techniques, so it was rejected; the same text without TeX was kept."""
    gate = RelevanceGate(taxonomy, extractor=extractor, threshold=0.465)
    decision = gate.judge("2611.90011", *ADDITION, 0.402)
    assert decision.keep, decision.reason
    assert {"activation_patching", "path_patching"} <= set(decision.techniques)


def test_the_evidence_is_a_sentence_of_the_abstract_as_shown(extractor: Any) -> None:
    """Search explanations find the evidence among the stored abstract's sentences (kg.search
    _evidence_sentence over kg.explain.split_sentences): TeX evidence must be that sentence as stored."""
    from kg.explain import split_sentences
    from kg.search import _evidence_sentence

    abstract = (r"Work on addition is rare. "
                r"We apply \emph{activation patching} to GPT-2 small~\cite{wang2022}. "
                r"We then train \textbf{sparse autoencoders}~(SAEs) and find $k$-sparse features.")
    evidence = techniques(extractor, abstract)
    sentences = split_sentences(abstract)
    assert _evidence_sentence(evidence, ["activation_patching"], sentences) == sentences[1]
    assert _evidence_sentence(evidence, ["sae"], sentences) == sentences[2]
