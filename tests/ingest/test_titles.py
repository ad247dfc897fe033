"""Whether two titles name the same paper (ingest/titles.py): the real seed's pairs, short names and
abbreviations kept, one content word more refused."""

from __future__ import annotations

from typing import Any

import pytest

from ingest.titles import same_paper_title


def test_every_seed_row_names_its_own_arxiv_paper_and_no_other(
        seed_list: str, seed_records: list[dict[str, Any]], taxonomy: Any) -> None:
    """Calibration over the real seed: each seed title and each list row's title is the same paper as its
    own arXiv title and as no other seed paper's (1,000s of pairs of genuinely different MI titles)."""
    from ingest.awesome_list import parse_list

    arxiv_titles = {r["arxiv_id"]: r["title"] for r in seed_records if r["arxiv_id"]}
    by_url = {url: r for r in seed_records for url in r["urls_in_list"]}
    rows = parse_list(seed_list, taxonomy).rows
    own = [(r["title"], r["arxiv_id"]) for r in seed_records]
    own += [(row.title_in_list, next(by_url[u] for u in row.urls if u in by_url)["arxiv_id"]) for row in rows]
    assert len(own) == 38 + 58
    wrong = [(title, arxiv_title) for title, paper in own for arxiv_id, arxiv_title in arxiv_titles.items()
             if same_paper_title(title, arxiv_title) != (arxiv_id == paper)]
    assert wrong == []


_ROME = "Locating and Editing Factual Associations in GPT"


@pytest.mark.parametrize("list_title, arxiv_title", [
    (f"ROME: {_ROME}", _ROME),
    (_ROME, f"ROME: {_ROME}"),
    ("Towards Automated Circuit Discovery for Mechanistic Interpretability (ACDC)",
     "Towards Automated Circuit Discovery for Mechanistic Interpretability"),
    ("Sparse Autoencoders Find Highly Interpretable Features in LMs",
     "Sparse Autoencoders Find Highly Interpretable Features in Language Models"),
    ("Neurons in LLMs: Dead, N-gram, Positional",
     "Neurons in Large Language Models: Dead, N-gram, Positional"),
    ("Universal Neurons in GPT-2 Language Models", "Universal Neurons in GPT2 Language Models"),
])
def test_a_short_name_or_an_abbreviation_keeps_the_arxiv_id(list_title: str, arxiv_title: str) -> None:
    """QA: an acronym before a colon, a trailing "(ACDC)" or "LMs" lost real papers their arXiv id."""
    assert same_paper_title(list_title, arxiv_title)


@pytest.mark.parametrize(("list_title", "arxiv_title"), [
    # Review 3: famous different papers one word apart, which a 0.75 word overlap accepted.
    ("Are Emergent Abilities of Large Language Models a Mirage?",
     "Emergent Abilities of Large Language Models"),
    ("Attention is not not Explanation", "Attention is not Explanation"),
    ("Do Sparse Autoencoders Find Interpretable Features in Language Models?",
     "Sparse Autoencoders Find Highly Interpretable Features in Language Models"),
    ("Sparse Autoencoders for Vision Transformers", "Sparse Autoencoders for Transformers"),
])
def test_one_content_word_more_is_another_paper(list_title: str, arxiv_title: str) -> None:
    assert not same_paper_title(list_title, arxiv_title)
    assert not same_paper_title(arxiv_title, list_title)


@pytest.mark.parametrize(("list_title", "arxiv_title"), [
    ("Editing factual associations in GPT", "The editing of factual associations in GPT"),
    ("Sparse Autoencoders for Transformers", "Sparse Autoencoders for the Transformers"),
])
def test_filler_words_do_not_make_another_paper(list_title: str, arxiv_title: str) -> None:
    """Only content words count: "the" and "of" more are the same paper (the titles are too far apart
    for the typo score, so the content-word rule decides)."""
    assert same_paper_title(list_title, arxiv_title)
    assert same_paper_title(arxiv_title, list_title)
