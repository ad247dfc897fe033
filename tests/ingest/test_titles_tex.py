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
    assert title_key("ℓ₁ Probes") == title_key("L1 Probes") == "l1 probes"  # ℓ is a letter, not a symbol


def test_the_title_key_rule_covers_tex() -> None:
    """Stores recompute their keys when title_key_rule changes (kg.embedded, kg.neo4j_store): a store
    keyed by the rule before TeX was read (fingerprint 43840319dceafda2) holds "textit induction heads"
    and must be re-keyed, so the probes include TeX and format characters."""
    assert any("\\textit" in t for t in TITLE_KEY_PROBES) and any("\u200b" in t for t in TITLE_KEY_PROBES)
    assert title_key_rule() != "43840319dceafda2"


# Titles of other papers told apart by a math symbol only: keyed alike once TeX was read as text and the
# symbol it gave then dropped as punctuation (the reviewer's pairs); other keys under every rule before.
OTHER_BY_A_SYMBOL = [
    (r"When $A \leq B$ in Transformers", r"When $A \geq B$ in Transformers"),
    ("When A ≤ B in Transformers", "When A ≥ B in Transformers"),
    (r"$\sum$ of Heads", r"$\prod$ of Heads"),
    (r"$\sqrt{d}$ Scaling in Attention", r"$d$ Scaling in Attention"),
    (r"Probing $\neq$ Understanding", r"Probing $=$ Understanding"),
    ("Probing ≠ Understanding", "Probing = Understanding"),
    (r"$\times$2 Features", r"$+$2 Features"),
    (r"$\exists$ a Circuit", r"$\nexists$ a Circuit"),
    (r"$\alpha$-Heads", r"$\beta$-Heads"),
    (r"$k$-Sparse Probing", "Sparse Probing"),
]


@pytest.mark.parametrize(("one", "other"), OTHER_BY_A_SYMBOL)
def test_titles_told_apart_by_a_math_symbol_keep_apart(one: str, other: str) -> None:
    assert title_key(one) != title_key(other)
    assert not same_paper_title(one, other) and not same_paper_title(other, one)


@pytest.mark.parametrize(("listed", "arxiv", "key"), [
    ("When A ≤ B in Transformers", r"When $A \le B$ in Transformers", "when a leq b in transformers"),
    ("When A⩽B in Transformers", r"When $A\leq B$ in Transformers", "when a leq b in transformers"),
    ("∑ of Heads", r"$\sum$ of Heads", "sum of heads"),
    ("√d Scaling", r"$\sqrt{d}$ Scaling", "sqrt d scaling"),
    ("Probing ≠ Understanding", r"Probing $\neq$ Understanding", "probing neq understanding"),
    ("Tokens → Circuits", r"Tokens $\rightarrow$ Circuits", "tokens to circuits"),
    ("2× Faster Patching", r"2$\times$ Faster Patching", "2 times faster patching"),
    # Symbols a list types in ASCII stay punctuation, as they always were.
    ("~1B Parameters", r"$\sim$1B Parameters", "1b parameters"),
    ("Top-k Heads", r"Top$-$k Heads", "top k heads"),
    ("Top-k Heads", "Top−k Heads", "top k heads"),
    ("C++ Circuits", "C＋＋ Circuits", "c circuits"),
])
def test_a_math_symbol_has_one_key_in_tex_and_unicode(listed: str, arxiv: str, key: str) -> None:
    assert title_key(listed) == title_key(arxiv) == key
    assert same_paper_title(listed, arxiv)


def test_the_title_key_rule_covers_math_symbols() -> None:
    """A store keyed by the rule of the TeX change (fingerprint a4639c282f41a685, "when a b ...") is
    re-keyed: a probe holds math symbols."""
    assert any("≥" in t for t in TITLE_KEY_PROBES) and any("\\leq" in t for t in TITLE_KEY_PROBES)
    assert title_key_rule() not in ("a4639c282f41a685", "43840319dceafda2")
