"""BibTeX for a related-work section (QA): a citation key that a venue arriving never changes, and
list-only pages (no authors) that BibTeX can sort and natbib can label, checked with the real `bibtex`
and plainnat.bst."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from api.bibtex import citation_key, to_bibtex
from kg.entities import Paper
from tests.api.test_bibtex import parse_bib

IOI = Paper(id="2211.00593", arxiv_id="2211.00593", year=2022, authors=["Kevin Wang", "Arthur Conmy"],
            title="Interpretability in the Wild: a Circuit for Indirect Object Identification in GPT-2 small")
MONO = Paper(id="towards-monosemanticity", year=2023, sources=["list"],
             title="Towards Monosemanticity: Decomposing Language Models With Dictionary Learning",
             url="https://transformer-circuits.pub/2023/monosemantic-features/index.html")
FRAMEWORK = Paper(id="a-mathematical-framework-for-transformer-circuits", year=2021, sources=["list"],
                  title="A mathematical framework for transformer circuits",
                  url="https://transformer-circuits.pub/2021/framework/index.html")
SOLU = Paper(id="softmax-linear-units", year=2022, title="Softmax Linear Units", sources=["list"],
             url="https://transformer-circuits.pub/2022/solu/index.html")
SCRUBBING = Paper(id="causal-scrubbing", sources=["list"],
                  title="Causal Scrubbing: a method for rigorously testing interpretability hypotheses",
                  url="https://www.lesswrong.com/posts/JvZhhzycHu2Yd57RN/causal-scrubbing")
CIRCUITSVIS = Paper(id="circuitsvis", title="CircuitsVis", sources=["list"], item_type="tool",
                    url="https://github.com/TransformerLensOrg/CircuitsVis")


def test_a_venue_arriving_never_changes_the_key() -> None:
    r"""A \cite{wang2022interpretability} written before ICLR 2023 was recorded still resolves after it:
    the key has the paper's own year, the entry's `year` is the venue's."""
    ((kind, key, fields),) = parse_bib(to_bibtex(IOI))
    assert (kind, key, fields["year"]) == ("misc", "wang2022interpretability", "2022")
    published = replace(IOI, venue="ICLR 2023")
    ((kind, key, fields),) = parse_bib(to_bibtex(published))
    assert (kind, key, fields["year"], fields["booktitle"]) == (
        "inproceedings", "wang2022interpretability", "2023",
        "International Conference on Learning Representations (ICLR 2023)")
    assert citation_key(published) == citation_key(IOI)


def test_a_paper_without_a_year_of_its_own_is_keyed_with_the_venues() -> None:
    paper = Paper(id="p", title="Probing heads", authors=["Kevin Wang"], venue="ICLR'24")
    assert citation_key(paper) == "wang2024probing"
    assert citation_key(replace(paper, venue=None)) == "wangprobing"


def test_a_transformer_circuits_page_is_anthropics_thread_without_invented_authors() -> None:
    ((kind, key, fields),) = parse_bib(to_bibtex(MONO))
    assert (kind, key) == ("misc", "anthropic2023monosemanticity")
    assert "author" not in fields
    assert (fields["key"], fields["howpublished"], fields["organization"], fields["year"]) == (
        "Anthropic, 2023", "Transformer Circuits Thread", "Anthropic", "2023")


def test_an_authorless_page_of_another_host_is_sorted_by_its_short_title() -> None:
    ((kind, key, fields),) = parse_bib(to_bibtex(SCRUBBING))
    assert (kind, key, fields["key"]) == ("misc", "causal", "Causal Scrubbing")
    assert not {"author", "organization", "howpublished", "year"} & set(fields)
    ((_kind, key, fields),) = parse_bib(to_bibtex(CIRCUITSVIS))
    assert (key, fields["key"]) == ("circuitsvis", "CircuitsVis")
    # A Distill article: the journal, no organisation (its authors' are many); the year in the label.
    zoom = Paper(id="zoom-in", title="Zoom In: An Introduction to Circuits", year=2020,
                 url="https://distill.pub/2020/circuits/zoom-in/")
    ((_kind, key, fields),) = parse_bib(to_bibtex(zoom))
    assert (key, fields["key"], fields["howpublished"]) == ("2020zoom", "Zoom In, 2020", "Distill")
    assert "organization" not in fields


def test_authors_when_known_and_no_key_field() -> None:
    """A records file's authors for a transformer-circuits page: the key names the first author; the
    series and organisation stay (they are the host's, whoever wrote it)."""
    paper = replace(MONO, authors=["Trenton Bricken", "Chris Olah"], sources=["list", "records"])
    ((_kind, key, fields),) = parse_bib(to_bibtex(paper))
    assert key == "bricken2023monosemanticity" and "key" not in fields
    assert fields["author"] == "Trenton Bricken and Chris Olah"
    assert (fields["howpublished"], fields["organization"]) == ("Transformer Circuits Thread", "Anthropic")
    assert "key" not in parse_bib(to_bibtex(IOI))[0][2]  # an arXiv paper: authors, no key field
    # The seed records file's venue names the series: it is the note, not said twice.
    seeded = replace(paper, venue="Transformer Circuits Thread (Anthropic)")
    ((_kind, _key, fields),) = parse_bib(to_bibtex(seeded))
    assert fields["note"] == "Transformer Circuits Thread (Anthropic)"
    assert not {"howpublished", "organization"} & set(fields)


def _bibtex(tmp_path: Path, papers: list[Paper]) -> tuple[str, str]:
    """(bibtex's output, the .bbl) of a document citing `papers` with natbib's plainnat."""
    (tmp_path / "refs.bib").write_text("\n".join(to_bibtex(p) for p in papers), encoding="utf-8")
    citations = "".join(f"\\citation{{{citation_key(p)}}}\n" for p in papers)
    (tmp_path / "rw.aux").write_text(f"\\relax\n{citations}\\bibstyle{{plainnat}}\n\\bibdata{{refs}}\n",
                                     encoding="utf-8")
    bibtex = shutil.which("bibtex")
    assert bibtex is not None
    run = subprocess.run([bibtex, "rw"], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                         check=False)
    return run.stdout, (tmp_path / "rw.bbl").read_text(encoding="utf-8")


@pytest.mark.usefixtures("tex")
def test_bibtex_sorts_and_natbib_labels_the_list_only_entries(tmp_path: Path) -> None:
    """The QA's document: "to sort, need author or key" for every list-only entry, and natbib's labels
    "mon", "mat" (the key's first three letters). Now bibtex warns only of the years nobody knows."""
    out, bbl = _bibtex(tmp_path, [IOI, MONO, FRAMEWORK, SOLU, SCRUBBING, CIRCUITSVIS])
    warnings = sorted(line for line in out.splitlines() if line.startswith("Warning--"))
    assert warnings == ["Warning--empty year in causal", "Warning--empty year in circuitsvis"]
    labels = {key: label for label, key in re.findall(r"\\bibitem\[(.*?)\]\{(.*?)\}", bbl)}
    # natbib's \citep: "(Anthropic, 2023)"; plainnat puts no year after a key field's label.
    assert labels == {"anthropic2023monosemanticity": "Anthropic, 2023()", "anthropic2021mathematical":
                      "Anthropic, 2021()", "anthropic2022softmax": "Anthropic, 2022()",
                      "causal": "Causal Scrubbing()", "circuitsvis": "CircuitsVis()",
                      "wang2022interpretability": "Wang and Conmy(2022)"}
