"""Venue tags: split off a list title, with or without a year, and nothing else."""

from __future__ import annotations

import pytest

from ingest.normalize import dedupe_records, same_paper_groups, split_venue_tag, title_key
from ingest.records import Record


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
    ("Copy suppression (Findings of EMNLP 2023)", ("Copy suppression", "Findings of EMNLP 2023")),
    ("Copy suppression (CoRL 2023)", ("Copy suppression", "CoRL 2023")),
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
    # A word and a number are no venue: taking them for one merged different posts of a series.
    "Circuits Updates (July 2024)",
    "Interim Report (Part 12)",
    "Superposition in Toy Models (Study 14)",
])
def test_titles_own_parentheses_stay(title: str) -> None:
    assert split_venue_tag(title) == (title, None)


def test_posts_of_a_series_keep_apart() -> None:
    july = _record("a", "Circuits Updates (July 2024)")
    august = _record("b", "Circuits Updates (August 2024)")
    assert title_key(july.title) != title_key(august.title)
    assert len(dedupe_records([july, august])) == 2


def test_title_keys_ignore_tags_without_a_year() -> None:
    tagged = "Copy suppression: Comprehensively understanding an attention head (ICLR'24 Spotlight)"
    assert title_key(tagged) == title_key("Copy suppression: comprehensively understanding an attention head")


def _record(source_id: str, title: str, arxiv_id: str | None = None, doi: str | None = None) -> Record:
    return Record(source="list", source_id=source_id, title=title, arxiv_id=arxiv_id, doi=doi)


def test_a_shared_doi_or_title_never_merges_two_arxiv_ids() -> None:
    """QA (/tmp/review2/split2.md): a wrong DOI on a row merged Toy Models (2209.10652) into ROME
    (2202.05262), and the paper stored under 2202.05262 lost Toy Models' row."""
    rome = "Locating and Editing Factual Associations in GPT"
    records = [
        _record("rome", rome, "2202.05262", "10.48550/toy"),
        _record("toy", "Toy Models of Superposition", "2209.10652", "10.48550/toy"),
        _record("no-id", "Anything", None, "10.48550/toy"),  # a DOI without another arXiv id still merges
        _record("same-title", rome.lower(), "2301.05217"),
    ]
    merged = dedupe_records(records)
    assert [r.arxiv_id for r in merged] == ["2202.05262", "2209.10652", "2301.05217"]
    assert merged[1].title == "Toy Models of Superposition"
    assert same_paper_groups(records) == [[0, 2], [1], [3]]
