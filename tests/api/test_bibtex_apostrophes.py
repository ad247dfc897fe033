"""A venue's two-digit year after any apostrophe an editor writes ("ICLR’24" from Word's or TextEdit's
autocorrect) is read as the venue and its year, as "ICLR'24" is (QA: it became a @misc note)."""

from __future__ import annotations

import pytest

from api.bibtex import citation_key, to_bibtex
from ingest.normalize import split_venue_tag
from kg.entities import Paper
from tests.api.test_bibtex import parse_bib

ICLR_2024 = "International Conference on Learning Representations (ICLR 2024)"
# ' ’ ‘ ´ ` ′: the straight one, the curly ones, the acute accent, the backtick, the prime.
APOSTROPHES = ["'", "\u2019", "\u2018", "\u00b4", "`", "\u2032"]


@pytest.mark.parametrize("mark", APOSTROPHES)
@pytest.mark.parametrize("venue", ["ICLR{}24", "ICLR{}24 MI Workshop",
                                   "International Conference on Learning Representations (ICLR{}24)"])
def test_any_apostrophe_of_a_short_year_gives_the_conference_and_its_year(mark: str, venue: str) -> None:
    paper = Paper(id="2209.02535", arxiv_id="2209.02535", title="Analyzing Transformers in Embedding Space",
                  year=2022, authors=["Guy Dar"], venue=venue.format(mark))
    ((kind, key, fields),) = parse_bib(to_bibtex(paper))
    assert (kind, key, fields["year"]) == ("inproceedings", "dar2022analyzing", "2024")
    expected = "ICLR 2024 MI Workshop" if "Workshop" in venue else ICLR_2024
    assert fields["booktitle"] == expected and "note" not in fields


@pytest.mark.parametrize("mark", APOSTROPHES)
def test_an_authorless_list_entry_keeps_the_venues_year_in_its_key(mark: str) -> None:
    paper = Paper(id="causal-scrubbing", sources=["list"], title="Causal Scrubbing: a method",
                  url="https://www.lesswrong.com/posts/JvZhhzycHu2Yd57RN/causal-scrubbing",
                  venue=f"ICLR{mark}24")
    ((_, key, fields),) = parse_bib(to_bibtex(paper))
    assert key == citation_key(paper) == "2024causal"
    assert (fields["year"], fields["key"]) == ("2024", "Causal Scrubbing, 2024")


@pytest.mark.parametrize("mark", APOSTROPHES)
def test_a_venue_the_list_parser_splits_off_is_a_venue_bibtex_reads(mark: str) -> None:
    # One class of apostrophes (ingest.normalize.VENUE_APOSTROPHE) for both: "(ICLR′24)" stayed in the
    # list title while BibTeX read "ICLR′24" as a venue.
    title, venue = split_venue_tag(f"Analyzing Transformers in Embedding Space (ICLR{mark}24)")
    assert (title, venue) == ("Analyzing Transformers in Embedding Space", f"ICLR{mark}24")
    paper = Paper(id="p", title="Analyzing Transformers in Embedding Space", authors=["Guy Dar"], venue=venue)
    ((kind, key, fields),) = parse_bib(to_bibtex(paper))
    assert (kind, key, fields["booktitle"], fields["year"]) == (
        "inproceedings", "dar2024analyzing", ICLR_2024, "2024")
