"""Acronym definitions read from abstracts and spelled out in queries (kg/acronyms.py)."""

from __future__ import annotations

import pytest

from kg.acronyms import definitions, expand, expansions, query_acronyms


@pytest.mark.parametrize(("text", "expected"), [
    ("a natural language task called indirect object identification (IOI). We ...",
     {"IOI": "indirect object identification"}),
    ("when prompted with Chain-of-Thought (CoT) prompts", {"CoT": "Chain-of-Thought"}),
    ("at the core of large language models (LLMs) and of language models (LMs)",
     {"LLMs": "large language models", "LMs": "language models"}),
    ("using Rank-One Model Editing (ROME) and a zero-shot relation extraction (zsRE) task",
     {"ROME": "Rank-One Model Editing", "zsRE": "zero-shot relation extraction"}),
    # Not definitions: a clause break inside, letters that are not there, no capital, a citation.
    ("of its underlying components. Using a 66 billion parameter language model (OPT-66B)", {}),
    ("we study the model (XQZ) in detail", {}),
    ("the results (see below) hold", {}),
    ("as shown before (Olsson)", {}),
])
def test_definitions(text: str, expected: dict[str, str]) -> None:
    assert definitions(text) == expected


def test_query_acronyms_and_expansion() -> None:
    assert query_acronyms("IOI circuit in GPT-2 small, CoT and LLMs; not circuit or Circuit") == [
        "IOI", "CoT", "LLMs"]
    texts = ["the indirect object identification (IOI) task", "Indirect Object Identification (IOI)",
             "the indirect object identification (IOI) circuit", "large language models (LLMs)"]
    long_forms = expansions(["IOI", "CoT"], texts)
    # The most frequent spelling wins (case-folded vote); an acronym no text defines is left alone.
    assert long_forms == {"IOI": "indirect object identification"}
    assert expand("IOI circuit and CoT", long_forms) == "IOI (indirect object identification) circuit and CoT"
    # A plural definition serves the singular acronym.
    assert expansions(["LLM"], texts) == {"LLM": "large language models"}


def test_definitions_serve_either_number_and_never_define_a_form_by_itself() -> None:
    assert expansions(["SAEs"], ["we train sparse autoencoders (SAE) on"]) == {"SAEs": "sparse autoencoders"}
    assert expansions(["SAE"], ["we train sparse autoencoders (SAEs) on"]) == {"SAE": "sparse autoencoders"}
    assert expansions(["SA"], ["we train sparse autoencoders (SAE) on"]) == {}  # not a prefix match
    assert definitions("the IOI task (IOI) is hard") == {}  # the long form may not hold the acronym
