"""ingest/list_match.py through ingest runs: records matched to stored papers by arXiv id, DOI or title
(with the warnings of a match under another DOI or title), list rows by their link after an edit, and
the id each record is written under: title ids, ids two papers share, ids merged into a paper."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from ingest.list_match import list_link_key
from ingest.pipeline import ingest_records_file, run_ingest
from ingest.records import Record
from ingest.summary import IngestSummary
from kg.store import GraphStore
from kg.taxonomy import Taxonomy
from tests.embedders import HashEmbedder

from .conftest import snapshot
from .test_pipeline import _ingest_list
from .test_pipeline_list_edits import CS_ID, CS_ROW, LENS_ROW, SAE_ROW, SAE_TITLE, _ingest, _list


def _sae_arxiv() -> Record:
    """The arXiv record the list's openreview row was matched to by its title."""
    return Record(source="arxiv", source_id="2309.08600", title=SAE_TITLE, arxiv_id="2309.08600",
                  abstract="We train sparse autoencoders on language model activations.",
                  published="2023-09-15", year=2023)


# -- a list row matched by its link after a maintainer's edit (list QA) --------------------------------
def test_a_retitled_row_keeps_its_paper(
    store: GraphStore, taxonomy: Taxonomy, embedder: HashEmbedder, extractor: Any,
) -> None:
    """List QA case A: "interpretability hypotheses" -> "mechanistic interpretability hypotheses", same
    link, made a second paper announced as new, and --prune deleted the old one with its history. Now
    the row keeps its paper (id, first_seen), whose title follows the list, reported updated."""
    _ingest(store, _list(CS_ROW, LENS_ROW), taxonomy, embedder, extractor)
    before = store.get_paper(CS_ID)
    assert before is not None
    retitled = CS_ROW.replace("testing interpretability", "testing mechanistic interpretability")
    summary = _ingest(store, _list(retitled, LENS_ROW), taxonomy, embedder, extractor, prune=True)
    assert (summary.new, summary.updated, summary.unchanged) == (0, 1, 1)
    assert summary.stale_list_rows == [] and summary.papers_pruned == 0
    after = store.get_paper(CS_ID)
    assert after is not None and sorted(store.paper_ids()) == [CS_ID, "interpreting-gpt-the-logit-lens"]
    assert after.paper.title.startswith("Causal Scrubbing: a method for rigorously testing mechanistic")
    assert after.paper.first_seen == before.paper.first_seen
    assert summary.updated_papers == [{
        "paper_id": CS_ID, "title": after.paper.title, "lines": [7],
        "previous_title": before.paper.title}]
    # The next run finds it by its new title: nothing changes.
    again = _ingest(store, _list(retitled, LENS_ROW), taxonomy, embedder, extractor)
    assert (again.new, again.updated, again.unchanged) == (0, 0, 2)


def test_a_misspelt_row_keeps_its_arxiv_paper(
    store: GraphStore, taxonomy: Taxonomy, embedder: HashEmbedder, extractor: Any,
) -> None:
    """List QA case B: an openreview row matched to 2309.08600 by its title; a typo ("interpretible")
    found no arXiv match and made a new paper beside it. The link keeps it on 2309.08600, arXiv's
    title and abstract kept."""
    _ingest(store, _list(SAE_ROW, LENS_ROW), taxonomy, embedder, extractor, extra=[_sae_arxiv()])
    assert "2309.08600" in store.paper_ids()
    typo = SAE_ROW.replace("Interpretable", "Interpretible")
    summary = _ingest(store, _list(typo, LENS_ROW), taxonomy, embedder, extractor)
    assert summary.new == 0 and summary.stale_list_rows == []
    assert sorted(store.paper_ids()) == ["2309.08600", "interpreting-gpt-the-logit-lens"]
    detail = store.get_paper("2309.08600")
    assert detail is not None and detail.paper.title == SAE_TITLE
    assert [row.title_in_list for row in detail.list_rows] == [SAE_TITLE.replace("Interpretable",
                                                                                 "Interpretible")]


def test_a_shared_link_alone_does_not_make_two_rows_one_paper(
    store: GraphStore, taxonomy: Taxonomy, embedder: HashEmbedder, extractor: Any,
) -> None:
    """A link two rows share (a blog's index page) says nothing of which paper a row is: a new row
    with the link of a paper the list still has is a new paper, and a retitled row beside a new row of
    the same link is matched to neither."""
    index = "https://transformer-circuits.pub/2023/index.html"
    first = f"| [Circuits Updates July 2023]({index}) | SAE | Updates. |\n"
    _ingest(store, _list(first, LENS_ROW), taxonomy, embedder, extractor)
    other = f"| [Circuits Updates August 2023]({index}) | SAE | More updates. |\n"
    added = _ingest(store, _list(first, other, LENS_ROW), taxonomy, embedder, extractor)
    assert (added.new, added.updated) == (1, 0)
    assert {"circuits-updates-july-2023", "circuits-updates-august-2023"} <= set(store.paper_ids())

    retitled = first.replace("July", "June")
    third = f"| [Circuits Updates September 2023]({index}) | SAE | Even more. |\n"
    both = _ingest(store, _list(retitled, third, LENS_ROW), taxonomy, embedder, extractor)
    assert (both.new, both.updated) == (2, 0)  # june and september; july and august are stale
    assert {r["paper_id"] for r in both.stale_list_rows} == {"circuits-updates-july-2023",
                                                             "circuits-updates-august-2023"}


def test_a_row_replaced_by_another_paper_under_its_link_is_a_new_paper(
    store: GraphStore, taxonomy: Taxonomy, embedder: HashEmbedder, extractor: Any,
) -> None:
    """Review: a row replaced by a different paper under the same generic link (a lab's research page)
    was merged into the old paper ("0 new, 1 updated ... (was 'Toy Models ...')"), the new paper living
    under the old one's id. The titles share nothing: it is a new paper, the old row stale."""
    page = "https://www.anthropic.com/research"
    toy = f"| [Toy Models of Superposition in Attention]({page}) | Activation Patching | A. |\n"
    scaling = (f"| [Scaling Monosemanticity: Extracting Features from Claude 3 Sonnet]({page}) | SAE | "
               "B. |\n")
    _ingest(store, _list(toy, LENS_ROW), taxonomy, embedder, extractor)
    summary = _ingest(store, _list(scaling, LENS_ROW), taxonomy, embedder, extractor)
    scaling_id = "scaling-monosemanticity-extracting-features-from-claude-3-sonnet"
    assert (summary.new, summary.updated) == (1, 0)
    assert [p["paper_id"] for p in summary.new_papers] == [scaling_id]
    assert [r["paper_id"] for r in summary.stale_list_rows] == ["toy-models-of-superposition-in-attention"]
    old = store.get_paper("toy-models-of-superposition-in-attention")
    assert old is not None and old.paper.title == "Toy Models of Superposition in Attention"
    assert store.get_paper(scaling_id) is not None


def test_a_row_replaced_under_an_index_link_does_not_take_over_the_arxiv_paper(
    store: GraphStore, taxonomy: Taxonomy, embedder: HashEmbedder, extractor: Any,
) -> None:
    """Review: "Towards Monosemanticity" (an index page's link, matched to its arXiv id) replaced by
    "Circuits Updates - July 2023" under the same link: the new paper never entered the graph and the
    arXiv paper took its row, TL;DR and tags, with no "(was ...)". Now the new row is a new paper and
    the arXiv paper keeps its own row (stale)."""
    index = "https://transformer-circuits.pub/2023/index.html"
    towards = "Towards Monosemanticity: Decomposing Language Models With Dictionary Learning"
    arxiv = Record(source="arxiv", source_id="2310.99999", title=towards, arxiv_id="2310.99999",
                   abstract="We decompose with dictionary learning.", published="2023-10-04", year=2023)
    _ingest(store, _list(f"| [{towards}]({index}) | SAE | Dictionary learning. |\n", LENS_ROW), taxonomy,
            embedder, extractor, extra=[arxiv])
    updates = f"| [Circuits Updates - July 2023]({index}) | SAE | Monthly update. |\n"
    summary = _ingest(store, _list(updates, LENS_ROW), taxonomy, embedder, extractor)
    assert (summary.new, summary.updated) == (1, 0)
    assert [p["paper_id"] for p in summary.new_papers] == ["circuits-updates-july-2023"]
    assert [r["paper_id"] for r in summary.stale_list_rows] == ["2310.99999"]
    detail = store.get_paper("2310.99999")
    assert detail is not None and detail.paper.title == towards
    assert [(row.title_in_list, row.tldr) for row in detail.list_rows] == [(towards, "Dictionary learning.")]
    new = store.get_paper("circuits-updates-july-2023")
    assert new is not None and [row.tldr for row in new.list_rows] == ["Monthly update."]


def test_a_row_whose_month_changed_under_an_index_link_is_another_paper(
    store: GraphStore, taxonomy: Taxonomy, embedder: HashEmbedder, extractor: Any,
) -> None:
    """Why the link match does not take a whole-title similarity: "Circuits Updates - July 2023" and
    "... August 2023" are 0.85 alike, yet a word replaced by another word is another paper."""
    index = "https://transformer-circuits.pub/2023/index.html"
    _ingest(store, _list(f"| [Circuits Updates - July 2023]({index}) | SAE | July. |\n", LENS_ROW), taxonomy,
            embedder, extractor)
    summary = _ingest(store, _list(f"| [Circuits Updates - August 2023]({index}) | SAE | August. |\n",
                                   LENS_ROW), taxonomy, embedder, extractor)
    assert (summary.new, summary.updated) == (1, 0)
    assert {"circuits-updates-july-2023", "circuits-updates-august-2023"} <= set(store.paper_ids())


def test_list_link_key_ignores_scheme_www_fragment_and_trailing_slash() -> None:
    """The link forms one row takes across edits are one key; a site's front page is none."""
    assert list_link_key("https://www.LessWrong.com/posts/abc/title/#comments") == \
        list_link_key("http://lesswrong.com/posts/abc/title") == "lesswrong.com/posts/abc/title"
    assert list_link_key("https://openreview.net/forum?id=F76bwRSLeK") == "openreview.net/forum?id=F76bwRSLeK"
    assert list_link_key("https://www.lesswrong.com/") is None and list_link_key(None) is None


# -- the id a record is written under: title ids, ids two papers share --------------------------------
def _jsonl(path: Path, rows: Sequence[dict[str, Any]]) -> Path:
    import json

    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


_LONG_TITLE = "Mechanistic Interpretability of Large Language Models Trained on Synthetic Data: Part "
_UNSLUGGABLE = [
    {"title": "大型语言模型中的归纳头机制研究", "abstract": "Induction heads do in-context learning."},
    {"title": "稀疏自编码器特征的可解释性", "abstract": "We train sparse autoencoders on Chinese models."},
    {"title": "Интерпретируемость языковых моделей", "abstract": "Russian paper on probing."},
    {"title": _LONG_TITLE + "One on Induction Heads", "abstract": "Part one studies induction heads."},
    {"title": _LONG_TITLE + "Two on MLP Neurons", "abstract": "Part two studies MLP neurons."},
]


def test_titles_no_slug_tells_apart_stay_different_papers(
    store: GraphStore, tmp_path: Path, embedder: HashEmbedder, extractor: Any
) -> None:
    """Non-Latin titles were all `untitled`, long titles one id per first 80 characters of slug: the
    records were merged into one paper, and a later file's paper "updated" it."""
    summary = ingest_records_file(store, _jsonl(tmp_path / "a.jsonl", _UNSLUGGABLE), embedder=embedder,
                                  extractor=extractor, progress=False)
    assert (summary.papers, summary.new, summary.rejected) == (5, 5, 0)
    stored = {p.title: p.abstract for p in store.get_papers(store.paper_ids())}
    assert stored == {r["title"]: r["abstract"] for r in _UNSLUGGABLE}
    greek = {"title": "Ερμηνευσιμότητα γλωσσικών μοντέλων", "abstract": "Greek paper."}
    three = {"title": _LONG_TITLE + "Three on Attention Sinks", "abstract": "Part three."}
    later = ingest_records_file(store, _jsonl(tmp_path / "b.jsonl", [greek, three]), embedder=embedder,
                                extractor=extractor, progress=False)
    assert (later.new, later.updated, later.unchanged) == (2, 0, 0)
    stored = {p.title: p.abstract for p in store.get_papers(store.paper_ids())}
    assert stored == {r["title"]: r["abstract"] for r in [*_UNSLUGGABLE, greek, three]}


def test_a_store_written_with_the_old_title_ids_keeps_them_and_gains_no_duplicate(
    store: GraphStore, tmp_path: Path, seed_list: str, taxonomy: Taxonomy, embedder: HashEmbedder,
    extractor: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Papers stored under the old ids (`untitled`, a slug cut at 80 characters, the seed list's five
    long titles without arXiv) are found by their title key: their ids stay and nothing is stored twice."""
    import ingest.normalize

    monkeypatch.setattr(ingest.normalize, "title_id", ingest.normalize.slugify)  # the old rule
    old_file = _jsonl(tmp_path / "old.jsonl", [_UNSLUGGABLE[0], _UNSLUGGABLE[3]])
    ingest_records_file(store, old_file, embedder=embedder, extractor=extractor, progress=False)
    _ingest_list(store, seed_list, taxonomy, None, embedder, extractor)
    old_ids = sorted(store.paper_ids())
    assert "untitled" in old_ids and (
        "mechanistic-interpretability-of-large-language-models-trained-on-synthetic-data" in old_ids)
    assert "the-clock-and-the-pizza-two-stories-in-mechanistic-explanation-of-neural" in old_ids
    before = snapshot(store)
    monkeypatch.undo()
    again = ingest_records_file(store, old_file, embedder=embedder, extractor=extractor, progress=False)
    listed, _ = _ingest_list(store, seed_list, taxonomy, None, embedder, extractor)
    assert (again.new, again.unchanged, listed.new, listed.unchanged) == (0, 2, 0, 38)
    assert snapshot(store) == before
    # The titles the old ids merged away are papers of their own now, beside them.
    rest = ingest_records_file(store, _jsonl(tmp_path / "rest.jsonl", _UNSLUGGABLE), embedder=embedder,
                               extractor=extractor, progress=False)
    assert (rest.new, rest.unchanged) == (3, 2)
    assert len(store.paper_ids()) == len(old_ids) + 3 and set(old_ids) <= set(store.paper_ids())


_SHARED_IDS = [
    {"id": "p1", "title": "Attention Sinks In Streaming Models", "abstract": "We find attention sinks."},
    {"id": "p1", "title": "Completely Different Paper About Othello World Models",
     "abstract": "We probe an Othello-playing transformer.",
     "list_rows": [{"section": "Techniques", "technique_ids": ["made_up_technique"]}]},
    {"id": "2401.07777", "title": "Explicit Id Looks Like An arXiv Id", "abstract": "Not the arXiv paper."},
    {"arxiv_id": "2401.07777", "title": "The Real arXiv Paper 2401.07777", "abstract": "Real paper."},
    {"id": "a-slug-collision", "title": "Some Title", "abstract": "Some paper."},
    {"title": "A Slug Collision", "abstract": "Another paper."},
]


def test_records_sharing_only_an_id_are_not_merged_and_the_one_turned_away_is_reported(
    store: GraphStore, tmp_path: Path, embedder: HashEmbedder, extractor: Any
) -> None:
    """An id a records file gave, equal to another record's id, arXiv id or title's id, is no sign of
    one paper: the record is turned away with both named. An arXiv id keeps its paper."""
    path = _jsonl(tmp_path / "ids.jsonl", _SHARED_IDS)
    summary = ingest_records_file(store, path, embedder=embedder, extractor=extractor, progress=False)
    assert (summary.records, summary.papers, summary.new, summary.rejected) == (6, 3, 3, 3)
    assert summary.rejected_details == [
        {"line": 2, "source_id": "p1", "title": "Completely Different Paper About Othello World Models",
         "reason": "id 'p1' is already the id of another paper in this run ('Attention Sinks In Streaming "
                   "Models'); not merged into it (give one of them another id)"},
        {"line": 3, "source_id": "2401.07777", "title": "Explicit Id Looks Like An arXiv Id",
         "reason": "id '2401.07777' is the arXiv id of another paper in this run ('The Real arXiv Paper "
                   "2401.07777'); not merged into it (give one of them another id)"},
        {"line": 6, "source_id": "A Slug Collision", "title": "A Slug Collision",
         "reason": "the id from its title, 'a-slug-collision', is already the id of another paper in this "
                   "run ('Some Title'); not merged into it (give one of them an explicit id)"},
    ]
    # Each named with its line of the records file, as the file's unreadable lines are.
    assert ("rejected: line 2 ('Completely Different Paper About Othello World Models'): id 'p1'"
            in summary.text())
    assert summary.unknown_labels == []  # the labels of a record turned away are not reported
    stored = {p.id: (p.title, p.abstract) for p in store.get_papers(store.paper_ids())}
    assert stored == {"p1": ("Attention Sinks In Streaming Models", "We find attention sinks."),
                      "2401.07777": ("The Real arXiv Paper 2401.07777", "Real paper."),
                      "a-slug-collision": ("Some Title", "Some paper.")}
    before = snapshot(store)
    again = ingest_records_file(store, path, embedder=embedder, extractor=extractor, progress=False)
    assert (again.unchanged, again.rejected) == (3, 3) and snapshot(store) == before


def test_a_record_given_a_stored_papers_id_is_turned_away_beside_that_paper(
    store: GraphStore, tmp_path: Path, embedder: HashEmbedder, extractor: Any
) -> None:
    """The stored p1 is found by its title: the record that only shares its id is the one turned
    away, even listed first, and p1 is updated from its own record."""
    ingest_records_file(store, _jsonl(tmp_path / "a.jsonl", _SHARED_IDS[:1]), embedder=embedder,
                        extractor=extractor, progress=False)
    revised = _SHARED_IDS[0] | {"abstract": "We find attention sinks, revised."}
    summary = ingest_records_file(store, _jsonl(tmp_path / "b.jsonl", [_SHARED_IDS[1], revised]),
                                  embedder=embedder, extractor=extractor, progress=False)
    assert (summary.updated, summary.new, summary.rejected) == (1, 0, 1)
    assert summary.rejected_details[0]["title"] == _SHARED_IDS[1]["title"]
    assert "('Attention Sinks In Streaming Models')" in summary.rejected_details[0]["reason"]
    (paper,) = store.get_papers(store.paper_ids())
    assert (paper.id, paper.title, paper.abstract) == ("p1", revised["title"], revised["abstract"])


# Records of three papers given six ids: merged by a shared DOI, arXiv id or title key.
_MERGED_IDS = [
    {"id": "doi-a", "title": "Finding Neurons in a Haystack", "doi": "10.1234/haystack.2023"},
    {"id": "doi-b", "title": "Finding Neurons in a Haystack: Case Studies with Sparse Probing",
     "doi": "https://doi.org/10.1234/HAYSTACK.2023"},
    {"id": "x", "arxiv_id": "2402.05555", "title": "Explicit Id And Arxiv Id"},
    {"id": "y", "arxiv_id": "arXiv:2402.05555v3", "title": "Explicit Id And Arxiv Id, Revised"},
    {"id": "t1", "title": "Towards Monosemanticity"},
    {"id": "t2", "title": "TOWARDS MONOSEMANTICITY (ICLR'24)"},
]


def test_records_of_one_paper_still_merge_whatever_ids_they_were_given(
    store: GraphStore, tmp_path: Path, embedder: HashEmbedder, extractor: Any
) -> None:
    """One paper by a shared DOI, arXiv id or title key merges as before, whatever ids its records were
    given; so does a list row whose title a richer source has since changed, found by its title's id."""
    from ingest.records import Record

    summary = ingest_records_file(store, _jsonl(tmp_path / "one.jsonl", _MERGED_IDS), embedder=embedder,
                                  extractor=extractor, progress=False)
    assert (summary.papers, summary.new, summary.rejected) == (3, 3, 0)
    assert sorted(store.paper_ids()) == ["2402.05555", "doi-a", "t1"]
    row = Record(source="list", source_id="row", title="Foo Bar Circuits", doi="10.5/foo")
    run_ingest(store, [row], source="list", embedder=embedder, extractor=extractor, progress=False)
    renamed = Record(source="records", source_id="r", title="Foo Bar Circuits: Extended", doi="10.5/foo")
    run_ingest(store, [renamed], source="records", embedder=embedder, extractor=extractor, progress=False)
    plain_row = dataclasses.replace(row, doi=None)  # found only by its title's id now
    both = run_ingest(store, [plain_row, renamed], source="list", embedder=embedder, extractor=extractor,
                      progress=False)
    assert (both.papers, both.new, both.rejected) == (1, 0, 0)
    foo = store.get_paper("foo-bar-circuits")
    assert foo is not None and foo.paper.title == "Foo Bar Circuits: Extended"
    assert len(store.paper_ids()) == 4


# Review: the rule above held within one run only. A record that reached a STORED paper by nothing but
# its title's id (a records file's `id`, or a long title's slug cut at 80 characters by the old rule)
# was merged into it: its rows were attached to, or its title and abstract written over, another paper.


def _listed(title: str, **fields: Any) -> Any:
    """A list record of `title` with one row titled so."""
    from ingest.records import ListRowRecord, Record

    row = ListRowRecord(section_path=["Circuits"], title_in_list=title, tldr=f"About {title}.", line=7)
    return Record(source="list", source_id=title, title=title, list_rows=[row], **fields)


def test_a_title_id_that_is_a_stored_records_file_id_stores_its_own_paper_under_the_hashed_id(
    store: GraphStore, embedder: HashEmbedder, extractor: Any
) -> None:
    """The list paper whose title's id is the `id` a records file gave another paper is stored beside
    it, under its hashed title id; the next run finds it by its title and changes nothing. The records
    file's `id` still updates its own paper."""
    from ingest.normalize import title_id
    from ingest.records import Record

    def ingest(record: Any) -> IngestSummary:
        return run_ingest(store, [record], source=record.source, embedder=embedder, extractor=extractor,
                          progress=False)

    given = Record(source="records", source_id="x", title="Some Title", explicit_id="a-slug-collision",
                   abstract="Some paper.")
    ingest(given)
    some_title = snapshot(store)["papers"]["a-slug-collision"]
    summary = ingest(_listed("A Slug Collision"))
    hashed = title_id("A Slug Collision", hashed=True)
    assert (summary.new, summary.rejected, summary.statuses) == (1, 0, {hashed: "new"})
    assert hashed.startswith("a-slug-collision-") and len(hashed) == len("a-slug-collision-") + 12
    after = snapshot(store)
    assert after["papers"]["a-slug-collision"] == some_title  # no row, no source of the list paper
    listed = store.get_paper(hashed)
    assert listed is not None and (listed.paper.title, listed.paper.sources) == ("A Slug Collision", ["list"])
    assert [row.title_in_list for row in listed.list_rows] == ["A Slug Collision"]
    again = ingest(_listed("A Slug Collision"))
    assert (again.unchanged, again.new) == (1, 0) and snapshot(store) == after
    fixed = ingest(dataclasses.replace(given, title="Some Title, Revised"))
    assert fixed.statuses == {"a-slug-collision": "updated"}
    revised = store.get_paper("a-slug-collision")
    assert revised is not None and revised.paper.title == "Some Title, Revised"


@pytest.mark.parametrize("beside_it", [False, True], ids=["alone", "in-one-list-with-it"])
def test_a_title_whose_slug_is_an_old_cut_id_is_stored_beside_that_paper(
    store: GraphStore, embedder: HashEmbedder, extractor: Any, monkeypatch: pytest.MonkeyPatch,
    beside_it: bool
) -> None:
    """A store written before hashed title ids keeps part one under its slug cut at 80 characters, which
    is the whole slug of the series' shorter title: that title is another paper, stored under its hashed
    id, whether it comes alone or in one list with part one; part one keeps its title and abstract."""
    import ingest.normalize
    from ingest.normalize import title_id

    part_one = _LONG_TITLE + "One on Induction Heads"
    short = "Mechanistic Interpretability of Large Language Models Trained on Synthetic Data"
    cut = "mechanistic-interpretability-of-large-language-models-trained-on-synthetic-data"
    monkeypatch.setattr(ingest.normalize, "title_id", ingest.normalize.slugify)  # the old rule
    run_ingest(store, [_listed(part_one, abstract="Part one studies induction heads.")], source="list",
               embedder=embedder, extractor=extractor, progress=False)
    monkeypatch.undo()
    assert store.paper_ids() == [cut] and title_id(short) == cut
    kept = snapshot(store)["papers"][cut]
    records = ([_listed(part_one, abstract="Part one studies induction heads."), _listed(short)] if beside_it
               else [_listed(short, abstract="The series overview.")])
    summary = run_ingest(store, records, source="list", embedder=embedder, extractor=extractor,
                         progress=False)
    hashed = title_id(short, hashed=True)
    assert (summary.new, summary.rejected, summary.statuses[hashed]) == (1, 0, "new")
    assert sorted(store.paper_ids()) == sorted([cut, hashed])
    assert snapshot(store)["papers"][cut] == kept
    overview = store.get_paper(hashed)
    assert overview is not None and overview.paper.title == short
    after = snapshot(store)
    again = run_ingest(store, records, source="list", embedder=embedder, extractor=extractor, progress=False)
    assert (again.new, again.unchanged) == (0, len(records)) and snapshot(store) == after


def test_a_list_row_still_finds_its_paper_by_its_title_id_in_a_later_run_after_a_rename(
    store: GraphStore, embedder: HashEmbedder, extractor: Any
) -> None:
    """The paper stored from the list under its title's id, renamed since by a records file (found by
    its DOI), is still the list row's paper in a later list run alone: its stored row has that title."""
    from ingest.records import Record

    run_ingest(store, [_listed("Foo Bar Circuits", doi="10.5/foo")], source="list", embedder=embedder,
               extractor=extractor, progress=False)
    renamed = Record(source="records", source_id="r", title="Foo Bar Circuits: Extended", doi="10.5/foo")
    run_ingest(store, [renamed], source="records", embedder=embedder, extractor=extractor, progress=False)
    again = run_ingest(store, [_listed("Foo Bar Circuits")], source="list", embedder=embedder,
                       extractor=extractor, progress=False)
    assert (again.papers, again.new, list(again.statuses)) == (1, 0, ["foo-bar-circuits"])
    assert store.paper_ids() == ["foo-bar-circuits"]
    foo = store.get_paper("foo-bar-circuits")
    assert foo is not None and foo.paper.title == "Foo Bar Circuits: Extended"


# -- ids merged into a paper lead to it ---------------------------------------------------------------
def _resolved(store: GraphStore, paper_id: str) -> str | None:
    """The stored id a user's paper id finds, as `paperkg related` and /api/papers/{id} look it up."""
    from kg.lookup import find_paper, find_related

    found = find_paper(paper_id, store.get_paper, store.successor_of)
    related = find_related(store, paper_id, 5)
    assert (found and found[0]) == (related and related[0])
    return found[0] if found else None


def test_ids_of_records_merged_into_a_paper_lead_to_it_in_one_file_and_across_files(
    store: GraphStore, tmp_path: Path, embedder: HashEmbedder, extractor: Any
) -> None:
    """The id a records file gave a record merged into another paper (a shared DOI, arXiv id or title)
    used to lead nowhere; now it finds the paper, from a later file too, and a rerun changes nothing."""
    path = _jsonl(tmp_path / "one.jsonl", _MERGED_IDS)
    summary = ingest_records_file(store, path, embedder=embedder, extractor=extractor, progress=False)
    assert (summary.papers, summary.new, summary.rejected) == (3, 3, 0)
    assert sorted(store.paper_ids()) == ["2402.05555", "doi-a", "t1"]
    expected = {"doi-a": "doi-a", "doi-b": "doi-a", "x": "2402.05555", "y": "2402.05555",
                "2402.05555v3": "2402.05555", "t1": "t1", "t2": "t1", "unknown": None}
    assert {i: _resolved(store, i) for i in expected} == expected
    assert store.successor_of("doi-b") == "doi-a" and store.successor_of("doi-a") is None
    before = snapshot(store)
    again = ingest_records_file(store, path, embedder=embedder, extractor=extractor, progress=False)
    assert (again.new, again.updated, again.unchanged, again.rejected) == (0, 0, 3, 0)
    assert snapshot(store) == before and {i: _resolved(store, i) for i in expected} == expected
    renamed = {"id": "renamed-id", "title": "Finding Neurons in a Haystack", "doi": "10.1234/haystack.2023"}
    later = ingest_records_file(store, _jsonl(tmp_path / "two.jsonl", [renamed]), embedder=embedder,
                                extractor=extractor, progress=False)
    assert (later.papers, later.new, later.rejected) == (1, 0, 0)
    assert sorted(store.paper_ids()) == ["2402.05555", "doi-a", "t1"]
    assert _resolved(store, "renamed-id") == "doi-a" and _resolved(store, "doi-b") == "doi-a"


def test_a_merged_away_id_that_is_a_papers_id_stays_that_papers(
    store: GraphStore, tmp_path: Path, embedder: HashEmbedder, extractor: Any
) -> None:
    """An id merged into one paper but another paper's own id (in the same run or stored) is that
    paper's, never an alias; an id given with two different arXiv ids names neither of them."""
    first = [
        {"id": "p-a", "title": "Attention Sinks In Streaming Models", "doi": "10.1234/sinks"},
        {"id": "p-b", "title": "Attention Sinks In Streaming Models, Extended", "doi": "10.1234/sinks"},
        {"id": "p-b", "title": "Othello World Models", "doi": "10.1234/othello"},
        {"id": "p-d", "title": "Othello World Models (ICLR'23)"},
        {"id": "two", "arxiv_id": "2403.00001", "title": "One arXiv Paper"},
        {"id": "two", "arxiv_id": "2403.00002", "title": "Another arXiv Paper"},
    ]
    summary = ingest_records_file(store, _jsonl(tmp_path / "one.jsonl", first), embedder=embedder,
                                  extractor=extractor, progress=False)
    assert (summary.papers, summary.new, summary.rejected) == (4, 4, 0)
    assert sorted(store.paper_ids()) == ["2403.00001", "2403.00002", "p-a", "p-b"]
    assert _resolved(store, "p-b") == "p-b" and store.successor_of("p-b") is None
    assert _resolved(store, "p-d") == "p-b" and _resolved(store, "two") is None
    second = [
        {"id": "p-c", "title": "Induction Heads", "doi": "10.1234/induction"},
        {"id": "p-a", "title": "Induction Heads, Revisited", "doi": "10.1234/induction"},
    ]
    ingest_records_file(store, _jsonl(tmp_path / "two.jsonl", second), embedder=embedder,
                        extractor=extractor, progress=False)
    assert sorted(store.paper_ids()) == ["2403.00001", "2403.00002", "p-a", "p-b", "p-c"]
    assert _resolved(store, "p-a") == "p-a" and store.successor_of("p-a") is None
    detail = store.get_paper("p-a")
    assert detail is not None and detail.paper.title == "Attention Sinks In Streaming Models"


# -- a record matched to a stored paper: by its title under another DOI, by its DOI under another title --
def _run_records(store: GraphStore, records: list[Record], extractor: Any) -> IngestSummary:
    return run_ingest(store, records, source="records", embedder=HashEmbedder(), extractor=extractor,
                      progress=False)


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_record_matched_by_title_to_a_stored_paper_of_another_doi_is_warned_about(
    store: GraphStore, extractor: Any, caplog: pytest.LogCaptureFixture,
) -> None:
    """Review: two "Editorial" records of different DOIs in one run were warned about, but the second
    one ingested in a later run replaced the stored one's DOI and abstract without a word."""
    first = Record(source="records", source_id="a", title="Editorial", doi="10.1000/journal-a.1",
                   abstract="An editorial about circuits in journal A.")
    other = Record(source="records", source_id="b", title="editorial", doi="10.2000/journal-b.7",
                   abstract="Another editorial about probing in journal B.")
    _run_records(store, [first], extractor)
    (stored_id,) = store.paper_ids()
    with caplog.at_level("WARNING"):
        summary = _run_records(store, [other], extractor)
    assert (summary.new, summary.updated) == (0, 1)  # one title is one paper: merged as before, but said
    (message,) = _warnings(caplog)
    assert "10.1000/journal-a.1" in message and "10.2000/journal-b.7" in message
    assert "'Editorial'" in message and "'editorial'" in message and stored_id in message
    assert store.get_papers([stored_id])[0].doi == "10.2000/journal-b.7"
    caplog.clear()
    with caplog.at_level("WARNING"):  # the stored paper holds that DOI now: nothing to say
        _run_records(store, [dataclasses.replace(other)], extractor)
    assert _warnings(caplog) == []


@pytest.mark.parametrize("stored_doi, doi, warned", [
    ("10.1000/toy.1", "10.48550/arXiv.2209.10652", False),  # the journal's DOI, then the preprint's
    ("10.48550/arXiv.2209.10652", "10.1000/toy.1", False),
    ("10.1000/toy.1", "10.1000/TOY.1", False),
    ("10.48550/arXiv.2209.10652", "10.48550/arXiv.2301.00001", True),  # two preprints
])
def test_a_stored_papers_own_versions_matched_by_title_are_not_warned_about(
    store: GraphStore, extractor: Any, caplog: pytest.LogCaptureFixture, stored_doi: str, doi: str,
    warned: bool,
) -> None:
    _run_records(store, [Record(source="records", source_id="a", title="Toy Models", doi=stored_doi)],
                 extractor)
    with caplog.at_level("WARNING"):
        summary = _run_records(store, [Record(source="records", source_id="b", title="Toy Models (ICLR'24)",
                                              doi=doi)], extractor)
    assert (summary.new, summary.updated) == (0, 1)
    assert len(_warnings(caplog)) == warned


def test_a_record_matched_by_doi_to_a_stored_paper_of_another_title_is_warned_about(
    store: GraphStore, extractor: Any, caplog: pytest.LogCaptureFixture,
) -> None:
    """Review: a shared DOI under clearly different titles was warned about within one run only."""
    first = Record(source="records", source_id="a", title="First Article in the Issue on Neural Networks",
                   doi="10.5555/same", abstract="About neurons.")
    other = Record(source="records", source_id="b", title="A Completely Different Second Article on Syntax",
                   doi="10.5555/same", abstract="About syntax.")
    _run_records(store, [first], extractor)
    (stored_id,) = store.paper_ids()
    with caplog.at_level("WARNING"):
        summary = _run_records(store, [other], extractor)
    assert (summary.new, summary.updated) == (0, 1)  # one DOI is one paper: merged as before, but said
    (message,) = _warnings(caplog)
    assert "10.5555/same" in message and first.title in message and other.title in message
    assert stored_id in message
    caplog.clear()
    with caplog.at_level("WARNING"):  # one paper's titles as two sources write them
        _run_records(store, [dataclasses.replace(other, title="Second Article on Syntax")], extractor)
    assert _warnings(caplog) == []


def test_the_weekly_runs_look_up_of_known_candidates_does_not_warn(
    store: GraphStore, extractor: Any, caplog: pytest.LogCaptureFixture,
) -> None:
    """The weekly run asks which candidates are stored, then writes the known ones with run_ingest,
    which warns: a warning from the look-up too would say everything twice."""
    from ingest.list_match import resolve_stored_ids

    _run_records(store, [Record(source="records", source_id="a", title="Editorial", doi="10.1000/a.1")],
                 extractor)
    (stored_id,) = store.paper_ids()
    other = Record(source="records", source_id="b", title="Editorial", doi="10.2000/b.7")
    with caplog.at_level("WARNING"):
        assert resolve_stored_ids(store, [other]) == [stored_id]
    assert _warnings(caplog) == []
    with caplog.at_level("WARNING"):
        assert resolve_stored_ids(store, [other], warn=True) == [stored_id]
    assert len(_warnings(caplog)) == 1


# -- a new arXiv id with another arXiv paper's title: kept apart, flagged (weekly reader QA) ------------
SFC_TITLE = "Sparse Feature Circuits: Discovering and Editing Interpretable Causal Graphs in Language Models"
SFC_AUTHORS = ["Samuel Marks", "Can Rager", "Eric J. Michaud", "Yonatan Belinkov", "David Bau",
               "Aaron Mueller"]


def _arxiv(arxiv_id: str, title: str = SFC_TITLE, authors: Sequence[str] = SFC_AUTHORS, **fields: Any
           ) -> Record:
    return Record(source="arxiv", source_id=arxiv_id, title=title, arxiv_id=arxiv_id, authors=list(authors),
                  abstract="We introduce methods for discovering and applying sparse feature circuits.",
                  **fields)


def test_a_new_arxiv_id_with_a_stored_papers_title_is_stored_apart_and_warned_about(
    store: GraphStore, extractor: Any, caplog: pytest.LogCaptureFixture,
) -> None:
    """Weekly reader QA: 2611.10005, a re-post of the stored 2403.19647 (same title, same authors), was
    stored as a second paper with no word. Two arXiv ids stay two papers (they may share a title), but the
    run says so, naming both, with whether their authors overlap."""
    from ingest.list_match import possible_duplicates

    _run_records(store, [_arxiv("2403.19647")], extractor)
    repost = _arxiv("2611.10005")
    assert possible_duplicates(store, [repost]) == [{
        "arxiv_id": "2611.10005", "title": SFC_TITLE, "matches": "2403.19647", "matches_title": SFC_TITLE,
        "stored": True, "authors": "same"}]
    with caplog.at_level("WARNING"):
        summary = _run_records(store, [repost], extractor)
    assert summary.new == 1 and sorted(store.paper_ids()) == ["2403.19647", "2611.10005"]  # not merged
    assert [e["matches"] for e in summary.possible_duplicates] == ["2403.19647"]  # the run's summary too
    assert store.runs(limit=1)[0].counts["possible_duplicates"] == ["2611.10005"]  # and kept on the run
    (message,) = _warnings(caplog)
    assert message.startswith("possible duplicate: 2611.10005 has the title of the stored paper 2403.19647 ")
    assert "the same authors" in message
    caplog.clear()
    with caplog.at_level("WARNING"):  # stored now under its own id: said once, not every run
        _run_records(store, [dataclasses.replace(repost)], extractor)
    assert _warnings(caplog) == []
    assert possible_duplicates(store, [repost]) == []


def test_what_counts_as_a_possible_duplicate(store: GraphStore, extractor: Any) -> None:
    """By the stores' title key (venue tags, case and punctuation aside); authors compared by their Author
    keys; a record joining a stored paper by its DOI, or one without an arXiv id (it merges by title), is
    no duplicate; two new ids of one title in a run are flagged against the first."""
    from ingest.list_match import possible_duplicates

    _run_records(store, [_arxiv("2403.19647"), _arxiv("2401.00001", title="Toy Paper", doi="10.1000/toy")],
                 extractor)
    records = [
        _arxiv("2611.00001", title="sparse feature circuits - discovering and editing interpretable causal "
                                   "graphs in language models (ICLR'25)", authors=["samuel  MARKS", "Ada L"]),
        _arxiv("2611.00002", authors=["Someone Else"]),
        _arxiv("2611.00003", authors=[]),
        _arxiv("2611.00004", title="Toy Paper", doi="10.1000/toy"),  # the stored paper's DOI: that paper
        Record(source="records", source_id="x", title=SFC_TITLE),  # no arXiv id: merges by title
        _arxiv("2611.00005", title="A Brand New Title"),
        _arxiv("2611.00006", title="A brand new title!", authors=["Ada L"]),
    ]
    found = {e["arxiv_id"]: (e["matches"], e["stored"], e["authors"])
             for e in possible_duplicates(store, records)}
    assert found == {
        "2611.00001": ("2403.19647", True, "overlap"), "2611.00002": ("2403.19647", True, "different"),
        "2611.00003": ("2403.19647", True, "unknown"), "2611.00006": ("2611.00005", False, "different")}


def test_a_record_whose_id_is_a_stored_alias_updates_that_paper_when_its_title_changed(
    store: GraphStore, extractor: Any,
) -> None:
    """Author QA: a records file is how a list-only paper's metadata is updated. The seed record's `id`
    (towards-monosemanticity) is an alias of the list paper it merged into; re-imported with one title
    word changed, the record matched no key, was stored as a second paper and took the alias over."""
    old = "Towards Monosemanticity: Decomposing Language Models With Dictionary Learning"
    new = old.replace("With", "Using")
    for explicit_id in ("mono-full", "mono"):
        _run_records(store, [Record(source="records", source_id="1", title=old, explicit_id=explicit_id)],
                     extractor)
    assert store.paper_ids() == ["mono-full"] and store.successor_of("mono") == "mono-full"

    summary = _run_records(store, [Record(source="records", source_id="1", title=new, explicit_id="mono",
                                          abstract="We use a sparse autoencoder.")], extractor)
    assert (summary.new, summary.updated) == (0, 1)
    assert store.paper_ids() == ["mono-full"] and store.successor_of("mono") == "mono-full"
    (paper,) = store.get_papers(["mono-full"])
    assert paper.title == new and paper.abstract == "We use a sparse autoencoder."
