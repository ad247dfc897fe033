"""BibTeX entry types and years from free-text venues."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from api.bibtex import citation_key, to_bibtex
from kg.entities import Paper


@pytest.mark.parametrize(("venue", "head", "venue_line", "year"), [
    ("ICLR 2023", "@inproceedings{", "booktitle = {ICLR 2023}", 2023),
    ("NeurIPS 2023 (oral)", "@inproceedings{", "booktitle = {NeurIPS 2023}", 2023),
    ("Findings of ACL 2024 (unconfirmed)", "@inproceedings{", "booktitle = {Findings of ACL 2024}", 2024),
    ("TMLR 2024", "@article{", "journal = {Transactions on Machine Learning Research}", 2024),
    ("ICLR'24", "@inproceedings{", "booktitle = {ICLR 2024}", 2024),  # the list's venue tag
    ("TMLR'23", "@article{", "journal = {Transactions on Machine Learning Research}", 2023),
    # Not a recognised venue: the paper's own year stays.
    ("Transformer Circuits Thread (Anthropic)", "@misc{", "note = {Transformer Circuits Thread (Anthropic)}",
     2022),
    ("ACLU 2020", "@misc{", "note = {ACLU 2020}", 2022),  # a name that merely starts like a venue
    ("ICLR", "@misc{", "note = {ICLR}", 2022),  # no year: not enough to call it proceedings
])
def test_entry_type_and_year_follow_the_venue(venue: str, head: str, venue_line: str, year: int) -> None:
    paper = Paper(id="2211.00593", arxiv_id="2211.00593", title="T", year=2022, venue=venue,
                  authors=["Kevin Wang"])
    text = to_bibtex(paper)
    assert text.startswith(f"{head}wang{year}t,") and citation_key(paper) == f"wang{year}t"
    assert f"  {venue_line}," in text
    assert f"  year = {{{year}}}," in text
    assert "eprint = {2211.00593}" in text  # arXiv fields whatever the type


def test_no_venue_is_a_misc_without_a_note() -> None:
    text = to_bibtex(Paper(id="x", title="Untitled post"))
    assert text.startswith("@misc{") and "note" not in text and "booktitle" not in text


# Seed papers submitted to arXiv the year before their venue: (id, key, booktitle, venue year).
SEED_VENUE_YEARS = [
    ("2012.14913", "geva2021transformer", "EMNLP 2021", 2021),  # arXiv 2020-12
    ("2309.08600", "cunningham2024sparse", "ICLR 2024", 2024),  # arXiv 2023
    ("2212.09095", "bansal2023rethinking", "ACL 2023", 2023),  # arXiv 2022-12
]


@pytest.mark.parametrize(("paper_id", "key", "booktitle", "year"), SEED_VENUE_YEARS)
def test_seed_papers_are_cited_with_the_venue_year(
    client: FlaskClient, paper_id: str, key: str, booktitle: str, year: int
) -> None:
    response = client.get(f"/api/papers/{paper_id}/bibtex")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert client.get(f"/api/papers/{paper_id}").get_json()["year"] == year - 1  # the arXiv year
    assert text.startswith(f"@inproceedings{{{key},")
    assert f"  booktitle = {{{booktitle}}}," in text and f"  year = {{{year}}}," in text
    assert f"  eprint = {{{paper_id}}}," in text and "archivePrefix = {arXiv}" in text  # kept
    assert response.headers["Content-Disposition"] == f'inline; filename="{key}.bib"'
