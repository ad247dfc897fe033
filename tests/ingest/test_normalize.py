"""Venue tags: split off a list title, with or without a year, and nothing else."""

from __future__ import annotations

import pytest

from ingest.normalize import split_venue_tag, title_key


@pytest.mark.parametrize("title, expected", [
    ("Knowledge Neurons in Pretrained Transformers (ACL'22)", ("Knowledge Neurons in Pretrained Transformers",
                                                               "ACL'22")),
    ("Sparse feature circuits [NeurIPS 2023]", ("Sparse feature circuits", "NeurIPS 2023")),
    # The maintainer's list: a presentation kind after the year, or no year at all.
    ("Patchscopes: A Framework (ICML'24 Oral)", ("Patchscopes: A Framework", "ICML'24 Oral")),
    ("Copy suppression (ICLR'24 Spotlight)", ("Copy suppression", "ICLR'24 Spotlight")),
    ("Copy suppression ('24 Oral)", ("Copy suppression", "'24 Oral")),
    ("Copy suppression (Spotlight)", ("Copy suppression", "Spotlight")),
    ("Copy suppression (ICML Oral)", ("Copy suppression", "ICML Oral")),
    ("Copy suppression [ATTRIB Workshop]", ("Copy suppression", "ATTRIB Workshop")),
    ("Copy suppression (NeurIPS 2023 ATTRIB Workshop)", ("Copy suppression", "NeurIPS 2023 ATTRIB Workshop")),
    ("Copy suppression (ICML 2024 Workshop on Mechanistic Interpretability)",
     ("Copy suppression", "ICML 2024 Workshop on Mechanistic Interpretability")),
])
def test_venue_tags_are_split_off(title: str, expected: tuple[str, str]) -> None:
    assert split_venue_tag(title) == expected


@pytest.mark.parametrize("title", [
    "(Un)faithful Explanations of Attention Heads",
    "Attention (is not) all you need",
    "Towards Faithful Explanations (Un)faithful",
    "Sparse Autoencoders (SAEs)",
    "Circuits in GPT-2 (small)",
    "Language Models (Mostly) Know What They Know",
    "Interpreting Llama (Llama 3)",
    "Toy Models of Superposition",
])
def test_titles_own_parentheses_stay(title: str) -> None:
    assert split_venue_tag(title) == (title, None)


def test_title_keys_ignore_tags_without_a_year() -> None:
    tagged = "Copy suppression: Comprehensively understanding an attention head (ICLR'24 Spotlight)"
    assert title_key(tagged) == title_key("Copy suppression: comprehensively understanding an attention head")
