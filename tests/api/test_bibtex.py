"""BibTeX entry types from free-text venues."""

from __future__ import annotations

import pytest

from api.bibtex import to_bibtex
from kg.entities import Paper


@pytest.mark.parametrize(("venue", "head", "venue_line"), [
    ("ICLR 2023", "@inproceedings{", "booktitle = {ICLR 2023}"),
    ("NeurIPS 2023 (oral)", "@inproceedings{", "booktitle = {NeurIPS 2023}"),
    ("Findings of ACL 2024 (unconfirmed)", "@inproceedings{", "booktitle = {Findings of ACL 2024}"),
    ("TMLR 2024", "@article{", "journal = {Transactions on Machine Learning Research}"),
    ("ICLR'24", "@inproceedings{", "booktitle = {ICLR 2024}"),  # the list's venue tag
    ("TMLR'23", "@article{", "journal = {Transactions on Machine Learning Research}"),
    ("Transformer Circuits Thread (Anthropic)", "@misc{", "note = {Transformer Circuits Thread (Anthropic)}"),
    ("ACLU 2020", "@misc{", "note = {ACLU 2020}"),  # a name that merely starts like a venue
    ("ICLR", "@misc{", "note = {ICLR}"),  # no year: not enough to call it proceedings
])
def test_entry_type_follows_the_venue(venue: str, head: str, venue_line: str) -> None:
    text = to_bibtex(Paper(id="2211.00593", arxiv_id="2211.00593", title="T", year=2023, venue=venue,
                           authors=["Kevin Wang"]))
    assert text.startswith(head + "wang2023t,")
    assert f"  {venue_line}," in text
    assert "eprint = {2211.00593}" in text  # arXiv fields whatever the type


def test_no_venue_is_a_misc_without_a_note() -> None:
    text = to_bibtex(Paper(id="x", title="Untitled post"))
    assert text.startswith("@misc{") and "note" not in text and "booktitle" not in text
