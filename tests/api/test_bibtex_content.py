"""What a BibTeX entry says, as a reference-manager and LaTeX user reads it: venues written in full are
proceedings or journals, a bare workshop keeps its name, arXiv is named once, the month is there, an
author-less conference paper makes no "empty author" warning, TeX math in a title stays math, a withdrawn
paper says so. Checked with the real bibtex (plain, plainnat) and pdflatex."""

from __future__ import annotations

import re
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from api.bibtex import citation_key, escape, to_bibtex
from kg.entities import Paper
from tests.api.test_bibtex import balanced, parse_bib

# bibtex and pdflatex with natbib's plainnat.bst (tests/api/conftest.py `tex`: missing, a failure).
needs_tex = pytest.mark.usefixtures("tex")

PAPER = Paper(id="2211.00593", arxiv_id="2211.00593", title="T", year=2022, authors=["Kevin Wang"])


def _entry(paper: Paper) -> tuple[str, dict[str, str]]:
    ((kind, _key, fields),) = parse_bib(to_bibtex(paper))
    return kind, fields


def _bibtex(tmp_path: Path, papers: list[Paper], style: str) -> tuple[list[str], str]:
    """(bibtex's warnings, the .bbl) of a document citing `papers` in `style`."""
    (tmp_path / "refs.bib").write_text("\n".join(to_bibtex(p) for p in papers), encoding="utf-8")
    citations = "".join(f"\\citation{{{citation_key(p)}}}\n" for p in papers)
    (tmp_path / "doc.aux").write_text(f"\\relax\n{citations}\\bibstyle{{{style}}}\n\\bibdata{{refs}}\n",
                                      encoding="utf-8")
    run = subprocess.run(["bibtex", "doc"], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                         check=False)
    warnings = [line for line in run.stdout.splitlines() if line.startswith("Warning--") or "error" in line]
    return warnings, (tmp_path / "doc.bbl").read_text(encoding="utf-8")


def _pdflatex(tmp_path: Path, papers: list[Paper], style: str) -> str:
    """The log's errors ("! ..." lines) of pdflatex, bibtex, pdflatex on a document citing `papers`."""
    (tmp_path / "refs.bib").write_text("\n".join(to_bibtex(p) for p in papers), encoding="utf-8")
    (tmp_path / "doc.tex").write_text(
        "\\documentclass{article}\n\\usepackage[utf8]{inputenc}\n\\usepackage[T1]{fontenc}\n"
        "\\usepackage{natbib}\n\\usepackage{url}\n\\begin{document}\n\\nocite{*}\n"
        f"\\bibliographystyle{{{style}}}\n\\bibliography{{refs}}\n\\end{{document}}\n", encoding="utf-8")
    for command in (["pdflatex", "-interaction=nonstopmode", "doc"], ["bibtex", "doc"],
                    ["pdflatex", "-interaction=nonstopmode", "doc"]):
        subprocess.run(command, cwd=tmp_path, capture_output=True, timeout=120, check=False)
    log = (tmp_path / "doc.log").read_text(encoding="latin-1")
    return "\n".join(line for line in log.splitlines() if line.startswith("!"))


# -- 1. venues written in full ------------------------------------------------------------------------
@pytest.mark.parametrize(("venue", "kind", "field", "value", "year"), [
    ("Proceedings of ICLR 2027", "inproceedings", "booktitle",
     "International Conference on Learning Representations (ICLR 2027)", 2027),
    ("In Findings of EMNLP 2023", "inproceedings", "booktitle",
     "Findings of the Association for Computational Linguistics: EMNLP 2023", 2023),
    ("Findings of the Association for Computational Linguistics: EMNLP 2023", "inproceedings", "booktitle",
     "Findings of the Association for Computational Linguistics: EMNLP 2023", 2023),
    ("Advances in Neural Information Processing Systems 36 (NeurIPS 2023)", "inproceedings", "booktitle",
     "Advances in Neural Information Processing Systems (NeurIPS 2023)", 2023),
    ("Proceedings of the 62nd Annual Meeting of the Association for Computational Linguistics (ACL 2024)",
     "inproceedings", "booktitle",
     "Annual Meeting of the Association for Computational Linguistics (ACL 2024)", 2024),
    ("Proceedings of the 2023 Conference on Empirical Methods in Natural Language Processing",
     "inproceedings", "booktitle",
     "Conference on Empirical Methods in Natural Language Processing (EMNLP 2023)", 2023),
    ("International Conference on Learning Representations, 2023", "inproceedings", "booktitle",
     "International Conference on Learning Representations (ICLR 2023)", 2023),
    ("Advances in Neural Information Processing Systems 30 (NIPS 2017)", "inproceedings", "booktitle",
     "Advances in Neural Information Processing Systems (NeurIPS 2017)", 2017),
    ("Transactions on Machine Learning Research (2024)", "article", "journal",
     "Transactions on Machine Learning Research", 2024),
])
def test_venues_written_in_full_are_proceedings_or_journals(
    venue: str, kind: str, field: str, value: str, year: int
) -> None:
    got_kind, fields = _entry(replace(PAPER, venue=venue))
    assert (got_kind, fields[field], fields["year"]) == (kind, value, str(year))
    assert "note" not in fields and citation_key(replace(PAPER, venue=venue)) == "wang2022t"


@pytest.mark.parametrize("venue", [
    "Workshop on Attributing Model Behavior at Scale at ICLR 2024",  # a workshop, not ICLR
    "Proceedings of the 7th BlackboxNLP Workshop (ACL 2024)",
    "International Conference on Machine Learning (ICLR 2024)",  # which one?
    "Advances in Neural Information Processing Systems",  # no year
    "Transactions on Machine Learning Research",
    "International Conference on Learning Representations (ICLR)",
])
def test_a_venue_that_only_mentions_a_conference_stays_a_note(venue: str) -> None:
    kind, fields = _entry(replace(PAPER, venue=venue))
    assert (kind, fields["note"], fields["year"]) == ("misc", venue, "2022")


# -- 2. a workshop named only in a remark -------------------------------------------------------------
@pytest.mark.parametrize(("venue", "booktitle"), [
    ("ICLR 2024 Workshop (ATTRIB)", "ICLR 2024 Workshop (ATTRIB)"),
    ("ICLR 2024 Workshop (ATTRIB) (oral)", "ICLR 2024 Workshop (ATTRIB)"),
    ("ICLR 2024 Workshop (spotlight)", "ICLR 2024 Workshop"),  # a remark on the talk names no workshop
])
def test_a_bare_workshop_keeps_the_name_in_its_remark(venue: str, booktitle: str) -> None:
    assert _entry(replace(PAPER, venue=venue))[1]["booktitle"] == booktitle


# -- 4. arXiv named once ------------------------------------------------------------------------------
@pytest.mark.parametrize("venue", ["arXiv preprint", "arXiv", "arXiv preprint arXiv:2211.00593",
                                   "ArXiv e-print"])
def test_an_arxiv_preprint_names_arxiv_once(venue: str) -> None:
    kind, fields = _entry(replace(PAPER, venue=venue))
    assert kind == "misc" and "note" not in fields and fields["howpublished"] == "arXiv:2211.00593"
    # Without an arXiv id the venue is all that says so: it stays.
    assert _entry(replace(PAPER, venue=venue, arxiv_id=None))[1]["note"] == venue
    # Another venue mentioning arXiv says more than howpublished does.
    kept = "Transformer Circuits Thread (Anthropic); also arXiv"
    assert _entry(replace(PAPER, venue=kept))[1]["note"] == kept


@needs_tex
def test_plainnat_prints_arxiv_once(tmp_path: Path) -> None:
    warnings, bbl = _bibtex(tmp_path, [replace(PAPER, venue="arXiv preprint")], "plainnat")
    assert warnings == [] and "arXiv preprint" not in bbl and bbl.count("arXiv:2211.00593") == 1


# -- 5. month -----------------------------------------------------------------------------------------
def test_the_month_of_the_papers_own_date_is_a_bare_macro() -> None:
    text = to_bibtex(replace(PAPER, published="2022-11-01"))
    assert "  year = {2022},\n  month = nov,\n" in text
    assert _entry(replace(PAPER, published="2022-01-31T10:00:00Z"))[1]["month"] == "jan"
    # The year is the venue's: its month is not known.
    assert "month" not in _entry(replace(PAPER, published="2022-11-01", venue="ICLR 2023"))[1]
    # A date of another year than the cited one, a date without a month, none: no month.
    for published in ("2021-12-30", "2022", None, "2022-13-01"):
        assert "month" not in _entry(replace(PAPER, published=published))[1]


@needs_tex
def test_bibtex_prints_the_month(tmp_path: Path) -> None:
    warnings, bbl = _bibtex(tmp_path, [replace(PAPER, published="2022-11-01")], "plainnat")
    assert warnings == [] and "November 2022" in bbl


# -- 6. no author -------------------------------------------------------------------------------------
MONO = Paper(id="towards-monosemanticity", year=2023, sources=["list"], venue="ICLR 2024",
             title="Towards Monosemanticity: Decomposing Language Models With Dictionary Learning",
             url="https://transformer-circuits.pub/2023/monosemantic-features/index.html")
NO_ORG = Paper(id="2301.00001", arxiv_id="2301.00001", title="An Unsigned Paper", year=2023,
               venue="ICLR 2024")


def test_an_authorless_conference_paper_has_its_organisation_or_is_a_misc() -> None:
    kind, fields = _entry(MONO)
    assert (kind, fields["author"]) == ("inproceedings", "{Anthropic}")
    assert fields["booktitle"] == "International Conference on Learning Representations (ICLR 2024)"
    kind, fields = _entry(NO_ORG)
    assert (kind, fields["note"], fields["year"]) == ("misc", "ICLR 2024", "2024")
    assert "author" not in fields and fields["key"] == "An Unsigned Paper, 2024"
    assert fields["howpublished"] == "arXiv:2301.00001"
    journal = replace(NO_ORG, venue="TMLR 2024")
    assert _entry(journal)[0] == "misc"


@needs_tex
@pytest.mark.parametrize("style", ["plain", "plainnat", "abbrv", "alpha", "unsrt"])
def test_no_empty_author_warning_for_authorless_conference_papers(tmp_path: Path, style: str) -> None:
    journal = replace(NO_ORG, id="j", title="Journal Unsigned", venue="TMLR 2024")
    warnings, _bbl = _bibtex(tmp_path, [MONO, NO_ORG, journal], style)
    assert not [w for w in warnings if "empty author" in w], warnings


# -- 7. TeX math in titles ----------------------------------------------------------------------------
@pytest.mark.parametrize(("title", "field"), [
    (r"Attention Heads via $W_{QK}$ Circuits", r"Attention Heads via $W_{QK}$ Circuits"),
    (r"Where $x_i$ Goes", r"Where $x_{i}$ Goes"),
    (r"Features in $\mathbb{R}^d$", r"Features in $R^{d}$"),  # R: \mathbb needs amssymb
    (r"GPT-4$^\dagger$ Knows", r"GPT-4$^{\dagger}$ Knows"),
    (r"$\mathcal{L}_{KL}$ and $\alpha_t x$", r"$\mathcal{L}_{KL}$ and $\alpha_{t} x$"),
    (r"$\hat{y}$ and $n^{-1/2}$ and $\frac{1}{2}$", r"$\hat{y}$ and $n^{-1/2}$ and $\frac{1}{2}$"),
    # Math text reads well as: the text path, as before (one BibTeX for TeX and Unicode).
    (r"$k$-Sparse $\ell_1$ Probes", r"k-Sparse $\ell_{1}$ Probes"),
    # Anything not known here degrades to text, escaped: no undefined command, no lone brace.
    (r"$W_{\foo}$ Heads", r"W\_foo Heads"),
    (r"$W_\{QK\}$", r"W\_\{QK\}"),
    (r"$x_{i$ open", r"x\_\textbraceleft{}i open"),
    (r"costs $5 and $10", r"costs \$5 and \$10"),
])
def test_tex_math_in_a_title_stays_math(title: str, field: str) -> None:
    assert escape(title) == field
    fields = _entry(replace(PAPER, title=title))[1]
    assert fields["title"] == "{" + field + "}" and balanced(fields["title"])


def test_hostile_math_is_text_and_never_a_recursion_error() -> None:
    deep = "$x_{" + "{" * 5000 + "i" + "}" * 5000 + "}$"
    assert escape(deep) == r"x\_i"
    many = " ".join([r"$x_i$"] * 70000)  # more spans than placeholders: the rest go the text path
    escaped = escape(many)
    assert escaped.count("$x_{i}$") == 0xFFFE and escaped.count(r"x\_i") == 70000 - 0xFFFE


def test_a_placeholder_character_in_the_text_is_no_math() -> None:
    # The private-use plane holds the placeholders: a character of it in the data is dropped, not math.
    assert escape("A \U000f0000 B $x_i$") == "A B $x_{i}$"


@needs_tex
def test_math_titles_compile(tmp_path: Path) -> None:
    titles = [r"Attention Heads via $W_{QK}$ Circuits", r"Where $x_i$ Goes", r"Features in $\mathbb{R}^d$",
              r"GPT-4$^\dagger$ Knows", r"$\mathcal{L}_{KL}$ and $\alpha_t x$ with $\sqrt{d}$",
              r"$\hat{y}$ and $n^{-1/2}$ and $\frac{1}{2}$ and $\text{softmax}_i$", r"$W_{\foo}$ Heads",
              r"$W_\{QK\}$ and $x_{i$ open"]
    papers = [replace(PAPER, id=f"p{i}", arxiv_id=None, title=t, authors=[f"Author{chr(65 + i)} Wang"])
              for i, t in enumerate(titles)]
    assert _pdflatex(tmp_path, papers, "plainnat") == ""
    bbl = (tmp_path / "doc.bbl").read_text(encoding="utf-8")
    assert "$W_{QK}$" in bbl and "GPT-4$^{\\dagger}$" in bbl


# -- 8. withdrawn -------------------------------------------------------------------------------------
WITHDRAWN = "This paper has been withdrawn by the authors due to a crucial error in Lemma 2."


def test_a_withdrawn_paper_says_so() -> None:
    fields = _entry(replace(PAPER, abstract=WITHDRAWN, arxiv_version=5))[1]
    assert fields["note"] == "Withdrawn (arXiv:2211.00593v5)"
    assert _entry(replace(PAPER, abstract=WITHDRAWN, arxiv_id=None))[1]["note"] == "Withdrawn"
    # Beside a venue note: both.
    venue = _entry(replace(PAPER, abstract=WITHDRAWN, arxiv_version=2, venue="Some Journal"))[1]
    assert venue["note"] == "Some Journal; Withdrawn (arXiv:2211.00593v2)"
    # At a conference too (its booktitle stays).
    kind, fields = _entry(replace(PAPER, abstract=WITHDRAWN, venue="ICLR 2023"))
    assert kind == "inproceedings" and fields["note"] == "Withdrawn"
    # A paper about withdrawn papers is not withdrawn.
    assert "note" not in _entry(replace(PAPER, abstract="We study papers withdrawn by their authors."))[1]


@needs_tex
def test_plain_prints_the_withdrawal(tmp_path: Path) -> None:
    warnings, bbl = _bibtex(tmp_path, [replace(PAPER, abstract=WITHDRAWN, arxiv_version=5)], "plain")
    assert warnings == [] and re.search(r"Withdrawn \(arXiv:2211\.00593v5\)", bbl)
