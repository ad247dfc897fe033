"""GraphStore.author_papers on every backend (as the contract suite: Neo4j only when NEO4J_URI is set)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kg.store import GraphStore
from kg.taxonomy import Taxonomy
from kg.validation import author_key
from tests.kg.test_store_contract import BACKENDS, _open, bundle


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path, taxonomy: Taxonomy) -> Iterator[GraphStore]:
    """A fresh store of each backend with the packaged taxonomy (test_store_contract's)."""
    opened = _open(request.param, tmp_path)
    opened.init_schema()
    opened.load_taxonomy(taxonomy.nodes)
    yield opened
    opened.close()


def _authored(store: GraphStore) -> None:
    """Four papers: Chris Olah on three (written two ways), Neel Nanda on two of them."""
    store.upsert_papers([
        bundle("2001.00001", "Oldest", year=2020, authors=("Chris  Olah", "Neel Nanda")),
        bundle("2203.00002", "Newest", year=2022, authors=("Ann Smith", "chris olah", "Neel Nanda")),
        bundle("2101.00003", "Middle", year=2021, authors=("Chris Olah", "Bob Jones")),
        bundle("2101.00004", "Someone else's", year=2021, authors=("Ann Smith",)),
    ])


def test_author_papers_newest_first_with_total_names_and_coauthors(store: GraphStore) -> None:
    _authored(store)
    found = store.author_papers(author_key("Chris Olah"))
    assert found is not None
    assert found.key == "chris olah"
    assert [p.id for p in found.papers] == ["2203.00002", "2101.00003", "2001.00001"]
    assert found.total == 3
    # The Author node's name (the batch's last spelling) first, then the other spellings the papers' own
    # lists give, in first_seen, id order.
    assert found.names == ["Chris Olah", "chris olah"]
    assert found.coauthors[0] == ("neel nanda", "Neel Nanda", 2)
    assert {c[0] for c in found.coauthors} == {"neel nanda", "ann smith", "bob jones"}


def test_author_papers_pages_and_limits_coauthors(store: GraphStore) -> None:
    _authored(store)
    page = store.author_papers("chris olah", limit=1, offset=1, coauthors=1)
    assert page is not None
    assert [p.id for p in page.papers] == ["2101.00003"]
    assert page.total == 3
    assert page.coauthors == [("neel nanda", "Neel Nanda", 2)]
    past = store.author_papers("chris olah", limit=5, offset=10)
    assert past is not None and past.papers == [] and past.total == 3


def _stored_later(store: GraphStore) -> str:
    """_authored, then (a later write) two more of Chris Olah's papers, dated before all of them; the
    first_seen of the later write."""
    _authored(store)
    earlier = store.get_papers(["2001.00001"])[0].first_seen
    time.sleep(0.01)  # a later first_seen than the first write's (stored to the microsecond)
    store.upsert_papers([bundle("1901.00005", "Old, stored late", year=2019, authors=("Chris Olah",)),
                         bundle("1801.00006", "Older, stored late", year=2018, authors=("Chris Olah",))])
    cut = store.get_papers(["1901.00005"])[0].first_seen
    assert earlier is not None and cut is not None and cut > earlier
    return cut


def test_author_papers_since_keeps_the_first_seen_at_or_after(store: GraphStore) -> None:
    cut = _stored_later(store)
    later = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    none_since = store.author_papers("chris olah", since=later)
    assert none_since is not None and none_since.total == 0 and none_since.papers == []
    all_since = store.author_papers("chris olah", since="2000-01-01")
    assert all_since is not None and all_since.total == 5
    # A cut-off between the writes: the later write's papers (first seen at it) only.
    mixed = store.author_papers("chris olah", since=cut)
    assert mixed is not None and mixed.total == 2
    assert [p.id for p in mixed.papers] == ["1901.00005", "1801.00006"]
    by_first_seen = store.author_papers("chris olah", since=cut, order="first_seen")
    assert by_first_seen is not None and by_first_seen.total == 2
    assert [p.id for p in by_first_seen.papers] == ["1901.00005", "1801.00006"]


def test_author_papers_by_first_seen_newest_stored_first(store: GraphStore) -> None:
    _stored_later(store)
    by_date = store.author_papers("chris olah")
    assert by_date is not None
    assert [p.id for p in by_date.papers] == ["2203.00002", "2101.00003", "2001.00001", "1901.00005",
                                              "1801.00006"]
    # The later write first; within a write (one first_seen) by id, descending, as new_papers.
    found = store.author_papers("chris olah", order="first_seen")
    assert found is not None and found.total == 5
    assert [p.id for p in found.papers] == ["1901.00005", "1801.00006", "2203.00002", "2101.00003",
                                            "2001.00001"]
    assert found.names == by_date.names and found.coauthors == by_date.coauthors
    page = store.author_papers("chris olah", order="first_seen", limit=2, offset=2)
    assert page is not None and page.total == 5
    assert [p.id for p in page.papers] == ["2203.00002", "2101.00003"]
    with pytest.raises(ValueError, match="order"):
        store.author_papers("chris olah", order="title")


def test_author_names_follow_first_seen_then_id(store: GraphStore) -> None:
    # One write (one first_seen), ids not in insertion order: the spellings follow the ids.
    store.upsert_papers([
        bundle("2103.00003", "Third", authors=("Ann LEE",)),
        bundle("2101.00001", "First", authors=("ann lee",)),
        bundle("2102.00002", "Second", authors=("ANN LEE",)),
        bundle("2104.00004", "Fourth", authors=("Ann Lee",)),
    ])
    found = store.author_papers("ann lee")
    assert found is not None
    assert found.names == ["Ann Lee", "ann lee", "ANN LEE", "Ann LEE"]


def test_unknown_or_paperless_author_is_none(store: GraphStore) -> None:
    _authored(store)
    assert store.author_papers("nobody at all") is None
    assert store.author_papers("") is None
    store.delete_paper("2101.00003")
    assert store.author_papers("bob jones") is None  # the Author node stays, no paper has it
