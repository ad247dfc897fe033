"""kg.tex: TeX markup of arXiv titles and abstracts read as plain Unicode text, with where each character
came from."""

from __future__ import annotations

import pytest

from kg.tex import Mapped, join, plain_mapped, plain_text


@pytest.mark.parametrize(("tex", "plain"), [
    # The QA report's arXiv texts.
    (r"We apply \emph{activation patching} and \textit{path patching} to GPT-2 small, and train "
     r"\textbf{sparse autoencoders}~(SAEs).",
     "We apply activation patching and path patching to GPT-2 small, and train sparse autoencoders (SAEs)."),
    (r"{GPT}-2 Small Uses 3\% of Its Heads for {IOI}: \textit{Induction Heads} \& Name Movers",
     "GPT-2 Small Uses 3% of Its Heads for IOI: Induction Heads & Name Movers"),
    (r"Sparse Autoencoders Find $k$-Sparse Features in $\ell_1$-Regularised Residual Streams",
     "Sparse Autoencoders Find k-Sparse Features in ℓ₁-Regularised Residual Streams"),
    (r"$\epsilon$-Greedy", "ε-Greedy"), (r"$\varepsilon$", "ε"), (r"SAE{s}", "SAEs"),
    # Math letters, alphabets, sub- and superscripts.
    (r"$\mathbb{R}^d$, $\mathcal{L}$, $x^{2}$, $W_{12}$, $\alpha\beta$, $\mathrm{KL}$",
     "ℝ^d, ℒ, x², W₁₂, αβ, KL"),
    (r"$O(n \log n)$ and $a \leq b \to \infty$", "O(n log n) and a ≤ b → ∞"),
    (r"the case: $\sim$70% of heads and $\sim$20% of MLPs", "the case: ∼70% of heads and ∼20% of MLPs"),
    # Accents and letters, in every spelling.
    (r"Kurt G\"odel, {\"O}zg{\"u}r, Fran\c{c}ois, Stra\ss e, Jos\'{e}, Ji\v{r}\'{\i}, S\o ren, \L ukasz",
     "Kurt Gödel, Özgür, François, Straße, José, Jiří, Søren, Łukasz"),
    # Escapes, dashes, quotes, spaces, citations.
    (r"a \_ b \$ c \# d \{e\}", "a _ b $ c # d {e}"), ("A -- B --- C ``q''", "A – B — C “q”"),
    (r"shown~\cite{elhage2021,olah2020} here", "shown  here"), (r"x\,y\quad z", "x y  z"),
    (r"{\em emphasised} and \textsc{Caps}", "emphasised and Caps"),
])
def test_tex_is_read_as_plain_text(tex: str, plain: str) -> None:
    assert plain_text(tex) == plain
    mapped = plain_mapped(tex)
    assert mapped.text == plain and all(len(o) == len(plain) for o in mapped.offsets())


@pytest.mark.parametrize("text", [
    "Plain text stays as it is.", "costs $5 and $10", "about ~30% of heads", "A } lone { brace", "}{",
    "ends in a backslash \\", "$unclosed math", "snake_case and x^2 outside math", "Gödel ℓ1 ε-greedy",
    "",
])
def test_text_that_is_no_tex_stays_as_it_is(text: str) -> None:
    assert plain_text(text) == text
    assert plain_mapped(text).source_span(0, len(text)) == text


def test_a_plain_span_is_quoted_as_the_original_writes_it() -> None:
    """Extraction finds a sentence in the plain text and quotes it from the abstract as stored."""
    tex = r"Intro. We apply \emph{activation patching}~\cite{x}. \textbf{We} find heads."
    mapped = plain_mapped(tex)
    first = mapped.text.index("We apply")
    end = mapped.text.index(".", first) + 1
    assert mapped.source_span(first, end) == r"We apply \emph{activation patching}~\cite{x}."
    second = mapped.text.index("We find")
    assert mapped.source_span(second, len(mapped.text)) == r"\textbf{We} find heads."
    inner = mapped.text.index("activation")
    assert mapped.source_span(inner, inner + len("activation patching")) == r"\emph{activation patching}"


def test_joined_and_substituted_texts_keep_their_sources() -> None:
    import re

    title = plain_mapped(r"\textit{Title}").strip()
    body = plain_mapped(r"  Sparse auto-encoders on $\mathbb{R}$.  ").strip()
    whole = join([title, ".", "\n", body])
    assert whole.text == "Title.\nSparse auto-encoders on ℝ."
    assert whole.source_span(0, 6) == r"\textit{Title}."
    fixed = whole.sub(re.compile(r"(auto)-(?=encod)"), lambda m: m.group(1))
    assert fixed.text == "Title.\nSparse autoencoders on ℝ."
    start = fixed.text.index("Sparse")
    assert fixed.source_span(start, len(fixed.text)) == r"Sparse auto-encoders on $\mathbb{R}$."
    assert Mapped.of("abc").source_span(1, 3) == "bc"
