"""BibTeX of arXiv's TeX titles and of Unicode that pdflatex cannot set: TeX is read as the text it stands
for before escaping (one BibTeX for the TeX and the Unicode spelling), math letters are LaTeX math,
format characters and emoji are left out. Checked by hand with pdflatex + bibtex (plain.bst, T1): every
entry below compiles without an error."""

from __future__ import annotations

import re

import pytest

from api import bibtex
from api.bibtex import citation_key, escape, to_bibtex
from kg.entities import Paper
from tests.api.test_bibtex import parse_bib


@pytest.mark.parametrize(("tex", "unicode"), [
    (r"{GPT}-2 Small Uses 3\% of Its Heads for {IOI}: \textit{Induction Heads} \& Name Movers",
     "GPT-2 Small Uses 3% of Its Heads for IOI: Induction Heads & Name Movers"),
    (r"Sparse Autoencoders Find $k$-Sparse Features in $\ell_1$-Regularised Residual Streams",
     "Sparse Autoencoders Find k-Sparse Features in ℓ₁-Regularised Residual Streams"),
    (r"$\epsilon$-Greedy Patching", "ε-Greedy Patching"),
    (r"Kurt G\"odel", "Kurt Gödel"),
])
def test_a_tex_title_and_its_unicode_spelling_give_one_bibtex(tex: str, unicode: str) -> None:
    assert escape(tex) == escape(unicode)
    assert "textbackslash" not in escape(tex) and "\\$" not in escape(tex)


@pytest.mark.parametrize(("text", "field"), [
    (r"Sparse Autoencoders Find $k$-Sparse Features in $\ell_1$-Regularised Residual Streams",
     r"Sparse Autoencoders Find k-Sparse Features in $\ell_{1}$-Regularised Residual Streams"),
    ("k-Sparse Features in ℓ1-Regularised", r"k-Sparse Features in $\ell$1-Regularised"),
    # ℝ without amssymb (\mathbb): the plain letter; ℒ with LaTeX's own \mathcal.
    ("A loss ℒ over ℝ^d and 𝔼[x]", r"A loss $\mathcal{L}$ over R\^{}d and E[x]"),
    ("ε-greedy β-VAE with x² ≤ ∞ and W₁₂",
     r"$\epsilon$-greedy $\beta$-VAE with x$^{2}$ $\leq$ $\infty$ and W$_{12}$"),
    ("Attribution\u200b Patching Outperforms Automated Circuit Discovery 🔍",
     "Attribution Patching Outperforms Automated Circuit Discovery"),
    ("Circuits ✨ of 👩\u200d🔬 Scientists 🇩🇪", "Circuits of Scientists"),
    # Greek text is no math: it stays UTF-8, as other scripts do.
    ("Καραγιάννης", "Καραγιάννης"),
])
def test_math_letters_are_latex_math_and_emoji_are_left_out(text: str, field: str) -> None:
    assert escape(text) == field
    paper = Paper(id="p", title=text, authors=["Ilya Sutskever\u200b"], year=2024)
    fields = parse_bib(to_bibtex(paper))[0][2]
    assert fields["title"] == "{" + field + "}" and fields["author"] == "Ilya Sutskever"


def test_the_citation_key_of_a_tex_title_is_its_texts() -> None:
    paper = Paper(id="p", title=r"\textit{Induction Heads} in {GPT}-2", authors=[r"Kurt G\"odel"], year=2024)
    assert citation_key(paper) == "godel2024induction"


class _CountingPattern:
    """A compiled pattern that counts its searches (the Greek-word test is run once per value)."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern
        self.searches = 0

    def search(self, text: str) -> re.Match[str] | None:
        self.searches += 1
        return self.pattern.search(text)


def test_a_long_greek_text_is_searched_for_a_greek_word_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # A search per Greek letter was quadratic: 28,000 Greek letters took over a second.
    counting = _CountingPattern(bibtex._GREEK_WORD)
    monkeypatch.setattr(bibtex, "_GREEK_WORD", counting)
    letters = "αβ " * 5000
    assert escape(letters) == " ".join([r"$\alpha\beta$"] * 5000)  # no Greek word: all math
    assert escape(letters + "Καραγιάννης") == letters.strip() + " Καραγιάννης"  # a Greek word: all text
    assert counting.searches <= 2
