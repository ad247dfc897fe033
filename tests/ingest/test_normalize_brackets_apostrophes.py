"""A title all in brackets keeps its words in its title key (it was keyed "" and refused as having no
title), and a venue tag's year may follow any apostrophe an editor types ("ICLR′24" as "ICLR’24"); stores
keyed by the rule before recompute their keys when opened."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from api.bibtex import to_bibtex
from ingest.awesome_list import parse_list
from ingest.normalize import TITLE_KEY_PROBES, split_venue_tag, title_id, title_key, title_key_rule
from ingest.pipeline import run_ingest
from ingest.records import Record
from kg.embedded import EmbeddedStore
from kg.entities import Paper, PaperBundle
from kg.store import GraphStore
from kg.taxonomy import Taxonomy
from tests.api.test_bibtex import parse_bib
from tests.embedders import HashEmbedder

from .conftest import open_ready_store

# The title_key rule's fingerprint before these two changes: a store it keyed holds "" for a title all
# in brackets and "feature circuits iclr 24" for "Feature Circuits (ICLR′24)".
RULE_BEFORE = "7071da95020d2a8e"
# ' ’ ‘ ´ ` ′: the straight one, the curly ones, the acute accent, the backtick, the prime.
APOSTROPHES = ["'", "\u2019", "\u2018", "\u00b4", "`", "\u2032"]


@pytest.mark.parametrize(("title", "key"), [
    ("[A Whole Title in Brackets]", "a whole title in brackets"),
    ("  [Sparse Probing of Neurons]  ", "sparse probing of neurons"),
    ("[Sparse Probing of Neurons] (ICLR'24)", "sparse probing of neurons"),  # the venue tag goes
    ("[Anthropic's Toy Models]", "anthropic s toy models"),  # a publisher's name inside a title is fine
])
def test_a_title_all_in_brackets_keeps_its_words(title: str, key: str) -> None:
    assert title_key(title) == key
    assert title_id(title) == key.replace(" ", "-")


# The rule before the tag-only titles below were keyed "" again (they were keyed as titles by it).
RULE_KEYING_TAGS = "ea3c61948c2c90a7"


@pytest.mark.parametrize("title", [
    "\u2014 [Redwood Research]",  # a word outside the brackets: a tag after no title
    "[Redwood Research]", "[Anthropic]", "[pdf]", "  [HTML]  ",  # too few words for a title
    "[Sparse Probing]",  # two words: a tag or a title, shape cannot tell, so no title (as before)
    "[Transformer Circuits Thread]", "[transformer-circuits thread]",  # a publisher kg.publishers knows
    "[Google DeepMind Blog]", "[Redwood Research PDF]",  # a link's or a site's format last
])
def test_a_tag_alone_is_no_title(title: str) -> None:
    """A list row whose only title is "[Redwood Research]" was keyed "redwood research", so every such
    row (without an arXiv id, merged by title key) became one paper with all their URLs."""
    assert title_key(title) == ""
    assert title_key_rule() != RULE_KEYING_TAGS


def test_list_rows_titled_only_by_a_tag_are_rejected_not_merged(
    store: GraphStore, taxonomy: Taxonomy, embedder: HashEmbedder, extractor: Any
) -> None:
    text = ("| Paper | Techniques | TL;DR |\n| --- | --- | --- |\n"
            "| [[Redwood Research]](https://example.com/one) | Logit lens | One. |\n"
            "| [[Redwood Research]](https://example.com/two) | Logit lens | Two. |\n"
            "| [[A Whole Title in Brackets]](https://example.com/three) | Logit lens | Three. |\n")
    summary = run_ingest(store, list(parse_list(text, taxonomy).papers), source="list", embedder=embedder,
                         extractor=extractor, progress=False)
    assert (summary.new, summary.rejected) == (1, 2)
    assert store.paper_ids() == ["a-whole-title-in-brackets"]


@pytest.mark.parametrize(("title", "key"), [
    ("Toy Models of Superposition [Anthropic]", "toy models of superposition"),
    ("Title: with [brackets] [Redwood Research]", "title with brackets"),
    ("Circuits Updates [July 2024]", "circuits updates july 2024"),
])
def test_a_trailing_tag_after_words_is_still_dropped(title: str, key: str) -> None:
    assert title_key(title) == key


@pytest.mark.parametrize("mark", APOSTROPHES)
def test_a_venue_tag_after_any_apostrophe_is_split_off(mark: str) -> None:
    assert split_venue_tag(f"Feature Circuits (ICLR{mark}24)") == ("Feature Circuits", f"ICLR{mark}24")
    assert split_venue_tag(f"Feature Circuits ({mark}24 Oral)") == ("Feature Circuits", f"{mark}24 Oral")
    assert title_key(f"Feature Circuits (ICLR{mark}24)") == title_key("Feature Circuits")
    assert title_key("Feature Circuits") == "feature circuits"


def test_the_title_key_rule_covers_brackets_and_apostrophes() -> None:
    """Stores recompute their keys when title_key_rule changes: the probes hold a title all in brackets
    and the new apostrophes, so a store keyed by the rule before is re-keyed."""
    assert "[A Whole Title in Brackets]" in TITLE_KEY_PROBES
    assert any("\u2032" in t for t in TITLE_KEY_PROBES) and any("\u2018" in t for t in TITLE_KEY_PROBES)
    assert title_key_rule() != RULE_BEFORE


def test_a_records_title_all_in_brackets_is_stored(
    store: GraphStore, embedder: HashEmbedder, extractor: Any
) -> None:
    records = [Record(source="records", source_id="r1", title="[A Whole Title in Brackets]")]
    summary = run_ingest(store, records, source="records", embedder=embedder, extractor=extractor,
                         progress=False)
    assert (summary.new, summary.rejected, summary.rejected_details) == (1, 0, [])
    assert store.paper_ids() == ["a-whole-title-in-brackets"]


@pytest.mark.parametrize("mark", ["\u2032", "\u2018", "\u00b4"])
def test_a_list_row_loses_its_venue_tag_after_any_apostrophe(
    store: GraphStore, taxonomy: Taxonomy, embedder: HashEmbedder, extractor: Any, mark: str
) -> None:
    """"Title (ICLR′24)" in the list is the paper "Title" at ICLR 2024, as "Title (ICLR’24)" is."""
    text = ("| Paper | Techniques | TL;DR |\n| --- | --- | --- |\n"
            f"| [Feature Circuits (ICLR{mark}24)](https://example.com/fc) | Logit lens | Circuits. |\n")
    summary = run_ingest(store, list(parse_list(text, taxonomy).papers), source="list", embedder=embedder,
                         extractor=extractor, progress=False)
    assert summary.new == 1
    detail = store.get_paper("feature-circuits")
    assert detail is not None
    assert (detail.paper.title, detail.paper.venue) == ("Feature Circuits", f"ICLR{mark}24")
    assert detail.list_rows[0].title_in_list == f"Feature Circuits (ICLR{mark}24)"  # the row keeps it
    ((_kind, _key, fields),) = parse_bib(to_bibtex(detail.paper))
    assert fields["year"] == "2024"


def _write_by_the_rule_before(path: Path, taxonomy: Taxonomy, titles: dict[str, str],
                              keys: dict[str, str]) -> None:
    """A store as the paperkg before these changes left it: `titles` by id, keyed `keys`, its rule."""
    store = open_ready_store(path, taxonomy)
    store.upsert_papers([PaperBundle(paper=Paper(id=pid, title=t)) for pid, t in titles.items()])
    store.close()
    with sqlite3.connect(path) as conn:
        conn.executemany("UPDATE papers SET title_key = ? WHERE id = ?", [(k, i) for i, k in keys.items()])
        conn.execute("UPDATE meta SET value = ? WHERE key = 'title_key_rule'", (RULE_BEFORE,))
    conn.close()


def test_a_store_keyed_by_the_rule_before_is_rekeyed_and_its_papers_found(
    tmp_path: Path, taxonomy: Taxonomy, embedder: HashEmbedder, extractor: Any
) -> None:
    """A paper an older paperkg stored (before the trailing-bracket rule) under a title all in brackets
    was re-keyed "" (found by no title), and one stored as "Feature Circuits (ICLR′24)" kept its tag in
    its key, so the list's row, now "Feature Circuits", would have been a second paper."""
    path = tmp_path / "paperkg.sqlite3"
    titles = {"a-whole-title-in-brackets": "[A Whole Title in Brackets]",
              "feature-circuits-iclr-24": "Feature Circuits (ICLR\u203224)"}
    older_keys = {"a-whole-title-in-brackets": "", "feature-circuits-iclr-24": "feature circuits iclr 24"}
    _write_by_the_rule_before(path, taxonomy, titles, older_keys)
    reopened = EmbeddedStore(path)
    assert reopened.find_paper_ids(title_keys=["a whole title in brackets", "feature circuits"]) == {
        "a whole title in brackets": "a-whole-title-in-brackets",
        "feature circuits": "feature-circuits-iclr-24"}
    reopened.close()
    store = open_ready_store(path, taxonomy)
    text = ("| Paper | Techniques | TL;DR |\n| --- | --- | --- |\n"
            "| [Feature Circuits (ICLR\u203224)](https://example.com/fc) | Logit lens | Circuits. |\n")
    summary = run_ingest(store, list(parse_list(text, taxonomy).papers), source="list", embedder=embedder,
                         extractor=extractor, progress=False)
    assert (summary.new, summary.updated) == (0, 1)
    assert store.paper_ids() == list(titles)
    detail = store.get_paper("feature-circuits-iclr-24")
    assert detail is not None and detail.paper.title == "Feature Circuits"
    store.close()


def test_a_store_that_keyed_a_tag_as_a_title_is_rekeyed(tmp_path: Path, taxonomy: Taxonomy) -> None:
    """A paper stored from a row titled only "[Redwood Research]" by the rule that keyed it so is keyed ""
    when the store is opened, so a later "[Redwood Research]" row is not merged into it by title."""
    path = tmp_path / "paperkg.sqlite3"
    store = open_ready_store(path, taxonomy)
    store.upsert_papers([PaperBundle(paper=Paper(id="redwood-research", title="[Redwood Research]")),
                         PaperBundle(paper=Paper(id="a-whole-title-in-brackets",
                                                 title="[A Whole Title in Brackets]"))])
    store.close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE papers SET title_key = 'redwood research' WHERE id = 'redwood-research'")
        conn.execute("UPDATE meta SET value = ? WHERE key = 'title_key_rule'", (RULE_KEYING_TAGS,))
    conn.close()
    reopened = EmbeddedStore(path)
    assert reopened.find_paper_ids(title_keys=["redwood research", "a whole title in brackets"]) == {
        "a whole title in brackets": "a-whole-title-in-brackets"}
    reopened.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT title_key FROM papers WHERE id = 'redwood-research'").fetchone() == ("",)
    conn.close()
