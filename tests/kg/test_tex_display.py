"""kg.tex.display_text: stored text as pages show it, on top of plain_text (which BibTeX and title keys
read, and which it leaves as it was)."""

from __future__ import annotations

import pytest
from markupsafe import Markup

from kg.tex import display_text, plain_text


@pytest.mark.parametrize(("stored", "shown"), [
    (r"Sparse Dictionaries with $\ell_1$ Penalties: \textit{Monosemantic} Features in {GPT}-2",
     "Sparse Dictionaries with ℓ₁ Penalties: Monosemantic Features in GPT-2"),
    (r"``grokking''", "“grokking”"),
    (r"$\sim$70% of attention heads", "∼70% of attention heads"),
    ('Kurt G\\"odel', "Kurt Gödel"),
    # A citation goes with the tie or space before it: no "small ." left behind.
    (r"features in GPT-2 small~\cite{x}. Next", "features in GPT-2 small. Next"),
    (r"as shown \citep[p.~3]{a,b}, and", "as shown, and"),
    ("no TeX at all: 100% plain", "no TeX at all: 100% plain"),
    (None, ""),
    ("", ""),
])
def test_display_text(stored: str | None, shown: str) -> None:
    assert display_text(stored) == shown


def test_display_text_is_plain_text_for_everything_but_citations() -> None:
    text = r"A \emph{b} $\ell_1$ {GPT} G\"odel ``q'' -- x"
    assert display_text(text) == plain_text(text)
    assert plain_text(r"small~\cite{x}.") == "small ."  # BibTeX's reading is left as it was


def test_display_text_never_passes_markup_through() -> None:
    # Markup in would be Markup out on the fast path, and autoescape would then not escape it.
    for value in (Markup("<b>x</b>"), Markup(r"\textit{<b>x</b>}")):
        shown = display_text(value)
        assert type(shown) is str and "<b>x</b>" in shown
