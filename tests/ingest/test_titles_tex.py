"""Title keys and title comparison read arXiv's TeX titles as the text they stand for, so one paper
listed with a Unicode title and fetched from arXiv with a TeX one is one paper."""

from __future__ import annotations

import pytest

from ingest.normalize import TITLE_KEY_PROBES, slugify, title_key, title_key_rule
from ingest.titles import same_paper_title

# (the list's title, arXiv's title of the same paper): the QA report's pairs.
SAME = [
    ("GPT-2 Small Uses 3% of Its Heads for IOI: Induction Heads & Name Movers",
     r"{GPT}-2 Small Uses 3\% of Its Heads for {IOI}: \textit{Induction Heads} \& Name Movers"),
    ("Sparse Autoencoders Find k-Sparse Features in ℓ1-Regularised Residual Streams",
     r"Sparse Autoencoders Find $k$-Sparse Features in $\ell_1$-Regularised Residual Streams"),
    ("ε-Greedy Circuit Discovery", r"$\epsilon$-Greedy Circuit Discovery"),
    ("ε-Greedy Circuit Discovery", r"$\varepsilon$-Greedy Circuit Discovery"),
    ("Induction Heads", r"\textit{Induction Heads}"),
    ("Gödel Numbering of Circuits", r"G\"odel Numbering of Circuits"),
    ("Gödel Numbering of Circuits", r"G{\"o}del Numbering of Circuits"),
    ("Attribution Patching at Scale", "Attribution\u200b Patching at\u00a0Scale"),
    ("Activation Patching", "Acti\u200bvation Patching"),
    ("Losses over ℝ^d", r"Losses over $\mathbb{R}^d$"),
    ("The ℒ1 Loss", r"The $\mathcal{L}_1$ Loss"),
]


@pytest.mark.parametrize(("listed", "arxiv"), SAME)
def test_a_tex_title_has_the_key_of_its_unicode_title(listed: str, arxiv: str) -> None:
    assert title_key(arxiv) == title_key(listed)
    assert slugify(arxiv) == slugify(listed)
    assert same_paper_title(listed, arxiv) and same_paper_title(arxiv, listed)


def test_tex_titles_of_other_papers_still_differ() -> None:
    assert not same_paper_title("Induction Heads", r"\textit{Copy Suppression}")
    assert title_key(r"$\ell_1$ Probes") != title_key(r"$\ell_2$ Probes")
    assert title_key("l1 probes") == title_key("ℓ1 Probes") == title_key(r"$\ell_1$ Probes") == "l1 probes"


def test_the_title_key_rule_covers_tex() -> None:
    """Stores recompute their keys when title_key_rule changes (kg.embedded, kg.neo4j_store): a store
    keyed by the rule before TeX was read (fingerprint 43840319dceafda2) holds "textit induction heads"
    and must be re-keyed, so the probes include TeX and format characters."""
    assert any("\\textit" in t for t in TITLE_KEY_PROBES) and any("\u200b" in t for t in TITLE_KEY_PROBES)
    assert title_key_rule() != "43840319dceafda2"
