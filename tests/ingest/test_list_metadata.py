"""A list-only paper's metadata (QA of a BibTeX export): the year a dated host's URL names, the URL most
of its rows link (not the first row's "#appendix-..."), the title without a trailing organisation tag
("[Redwood Research]"); a richer source still wins, and a store the older parser wrote is upgraded in
place (same ids, no second copies)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from ingest import awesome_list
from ingest.awesome_list import parse_list
from ingest.normalize import dedupe_records, title_key
from ingest.pipeline import run_ingest
from ingest.records import Record
from kg.store import GraphStore
from kg.taxonomy import Taxonomy
from tests.embedders import HashEmbedder

MONO = "Towards Monosemanticity: Decomposing Language Models With Dictionary Learning"
MONO_URL = "https://transformer-circuits.pub/2023/monosemantic-features/index.html"
CS_TITLE = "Causal Scrubbing: a method for rigorously testing interpretability hypotheses"
CS_URL = "https://www.lesswrong.com/posts/JvZhhzycHu2Yd57RN/causal-scrubbing-a-method-for-rigorously-testing"
# The seed list's rows of the two papers (lines 61, 64, 72 and 84 of awesome-list-seed.md), trimmed.
SEED_ROWS = f"""# Awesome

## Techniques

| Paper | Techniques | TL;DR |
| --- | --- | --- |
| [{MONO}]({MONO_URL}#appendix-autoencoder-dataset) | SAE | Advice for training SAEs. |
| [{CS_TITLE} [Redwood Research]]({CS_URL}) | Causal Scrubbing | Tests hypotheses by resampling. |

## Evaluation

| Paper | Evaluation | TL;DR |
| --- | --- | --- |
| [{MONO}]({MONO_URL}) | Plausibility | Polysemantic neurons mislead. |

## Findings

| Paper | TL;DR |
| --- | --- |
| [{MONO}]({MONO_URL}) | SAEs extract features. |
"""


@pytest.mark.parametrize(("url", "year"), [
    (MONO_URL, 2023),
    ("https://transformer-circuits.pub/2021/framework/index.html", 2021),
    ("https://distill.pub/2020/circuits/zoom-in/", 2020),
    ("https://www.distill.pub/2018/building-blocks", 2018),
    ("https://proceedings.neurips.cc/paper_files/paper/2023/file/34e1-Paper-Conference.pdf", 2023),
    ("https://papers.nips.cc/paper/2019/hash/abc-Abstract.html", 2019),
    ("https://aclanthology.org/2022.acl-long.581.pdf", 2022),
    # Hosts that do not date their paths, or a number that is no year where a year would be.
    (CS_URL, None),
    ("https://github.com/TransformerLensOrg/CircuitsVis", None),
    ("https://openreview.net/forum?id=2023abcd", None),
    ("https://example.com/2023/post", None),
    ("https://transformer-circuits.pub/index.html", None),
    ("https://transformer-circuits.pub/2999/future/index.html", None),
    ("https://aclanthology.org/P19-1452.pdf", None),
    ("http://[broken", None),
    (None, None),
])
def test_dated_hosts_give_their_year(url: str | None, year: int | None) -> None:
    assert awesome_list.url_year(url) == year


@pytest.mark.parametrize(("title_in_list", "title", "venue"), [
    (f"{CS_TITLE} [Redwood Research]", CS_TITLE, None),
    ("Toy Models of Superposition [Anthropic]", "Toy Models of Superposition", None),
    ("Copy suppression [Redwood Research] (ICLR'24)", "Copy suppression", "ICLR'24"),
    # The title's own brackets: a number, a date, a part; a lone letter or a lower-case word.
    ("Circuits Updates [July 2024]", "Circuits Updates [July 2024]", None),
    ("Interim Report [Part 2]", "Interim Report [Part 2]", None),
    ("Paper [v2]", "Paper [v2]", None),
    ("A (B) [C]", "A (B) [C]", None),
    ("Notes [draft]", "Notes [draft]", None),
    # Taking the tag off would change the title key (a venue in parentheses before it): kept whole.
    ("A title (ICLR 2024) [Redwood Research]", "A title (ICLR 2024) [Redwood Research]", None),
])
def test_a_trailing_organisation_tag_is_no_part_of_the_title(title_in_list: str, title: str,
                                                             venue: str | None) -> None:
    assert awesome_list.list_title(title_in_list) == (title, venue)
    # Never another paper's key:
    assert title_key(title) == title_key(awesome_list.list_title(title_in_list)[0])


def test_a_list_only_paper_gets_its_dated_year_its_common_url_and_an_untagged_title(
        taxonomy: Taxonomy) -> None:
    parsed = parse_list(SEED_ROWS, taxonomy)
    papers = {p.title: p for p in parsed.papers}
    assert sorted(papers) == [CS_TITLE, MONO]
    mono, scrubbing = papers[MONO], papers[CS_TITLE]
    # 2 of its 3 rows link the page itself: the first row's "#appendix-..." is that row's.
    assert (mono.year, mono.url) == (2023, MONO_URL)
    assert [r.url_in_list for r in mono.list_rows] == [f"{MONO_URL}#appendix-autoencoder-dataset",
                                                       MONO_URL, MONO_URL]
    # LessWrong does not date its paths; the row keeps the list's title, tag and all.
    assert (scrubbing.year, scrubbing.url) == (None, CS_URL)
    assert [r.title_in_list for r in scrubbing.list_rows] == [f"{CS_TITLE} [Redwood Research]"]


def test_a_fragment_free_url_wins_then_the_most_common(taxonomy: Taxonomy) -> None:
    rows = [f"| [{MONO}]({MONO_URL}#{anchor}) | x |" for anchor in "abb"]
    table = "| Paper | TL;DR |\n| --- | --- |\n"
    sections = "".join(f"## S{i}\n\n{table}{row}\n\n" for i, row in enumerate(rows))
    (paper,) = parse_list(f"# A\n\n{sections}", taxonomy).papers
    assert paper.url == f"{MONO_URL}#b"  # none without a fragment: the most common
    (paper,) = parse_list(f"# A\n\n{sections}## S9\n\n| Paper | TL;DR |\n| --- | --- |\n"
                          f"| [{MONO}](https://transformer-circuits.pub/2023/monosemantic-features/) | w |\n",
                          taxonomy).papers
    assert paper.url == "https://transformer-circuits.pub/2023/monosemantic-features/"


def test_arxiv_and_a_records_file_win_over_the_urls_year(
        store: GraphStore, taxonomy: Taxonomy, embedder: HashEmbedder, extractor: Any) -> None:
    """The list ranks below arXiv and a records file (README: metadata priority): a dated URL only fills
    a year nothing richer gave."""
    (mono, _scrubbing) = sorted(parse_list(SEED_ROWS, taxonomy).papers, key=lambda p: p.title, reverse=True)
    assert mono.title == MONO and mono.year == 2023
    arxiv = Record(source="arxiv", source_id="2309.99999", title=MONO, arxiv_id="2309.99999", year=2022,
                   published="2022-10-04", authors=["Trenton Bricken"])
    (merged,) = dedupe_records([replace(mono, arxiv_id="2309.99999"), arxiv])
    assert merged.year == 2022
    records = Record(source="records", source_id="mono", title=MONO, year=2021, authors=["Trenton Bricken"],
                     abstract="We use a sparse autoencoder.")
    run_ingest(store, [records], source="records", embedder=embedder, extractor=extractor, progress=False)
    run_ingest(store, parse_list(SEED_ROWS, taxonomy).papers, source="list", embedder=embedder,
               extractor=extractor, progress=False, whole_list=True)
    stored = store.find_paper_ids(title_keys=[title_key(MONO)])[title_key(MONO)]
    paper = store.get_paper(stored)
    assert paper is not None and paper.paper.year == 2021 and paper.paper.authors == ["Trenton Bricken"]


def test_a_store_the_older_parser_wrote_is_upgraded_in_place(
        store: GraphStore, taxonomy: Taxonomy, embedder: HashEmbedder, extractor: Any) -> None:
    """The papers stored before (the first row's URL, the tag in the title, no year) are the same papers:
    the next list ingest updates them under their ids, reports the old title, and the one after it
    changes nothing."""
    new = parse_list(SEED_ROWS, taxonomy).papers
    old = [replace(p, url=p.list_rows[0].url_in_list, title=p.list_rows[0].title_in_list, year=None)
           for p in new]
    assert {p.title for p in old} == {MONO, f"{CS_TITLE} [Redwood Research]"}
    first = run_ingest(store, old, source="list", embedder=embedder, extractor=extractor, progress=False,
                       whole_list=True)
    ids = set(first.statuses)
    upgrade = run_ingest(store, parse_list(SEED_ROWS, taxonomy).papers, source="list", embedder=embedder,
                         extractor=extractor, progress=False, whole_list=True)
    assert set(upgrade.statuses) == ids and (upgrade.new, upgrade.updated) == (0, 2)
    assert store.stats()["nodes"]["Paper"] == 2
    assert {e["title"]: e.get("previous_title") for e in upgrade.updated_papers} == {
        MONO: None, CS_TITLE: f"{CS_TITLE} [Redwood Research]"}
    papers = {p.title: p for p in store.get_papers(sorted(ids))}
    assert (papers[MONO].url, papers[MONO].year) == (MONO_URL, 2023)
    assert (papers[CS_TITLE].url, papers[CS_TITLE].year) == (CS_URL, None)
    again = run_ingest(store, parse_list(SEED_ROWS, taxonomy).papers, source="list", embedder=embedder,
                       extractor=extractor, progress=False, whole_list=True)
    assert (again.new, again.updated, again.unchanged) == (0, 0, 2)
