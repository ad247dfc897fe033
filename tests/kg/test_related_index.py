"""The embedded store's related-candidates postings (kg/related_index.py): rows per node, IDF sums,
ties by id across built and appended rows, dead rows of rewritten and deleted papers."""

from __future__ import annotations

import math

import pytest

from kg.related_index import RelatedIndex

KINDS = ("technique", "about")


def built() -> RelatedIndex:
    """Four papers: a and b use the rare technique, all four the common one (a twice)."""
    index = RelatedIndex(KINDS, ["a", "b", "c", "d"])
    index.link("technique", "rare", ["a", "b"])
    index.link("technique", "common", ["a", "b", "c", "d", "a"])
    index.rev = 1
    return index


def idf(n_papers: int, df: int) -> float:
    return math.log((n_papers + 1) / (df + 1)) + 1.0


def test_rows_are_unique_and_the_rarer_shared_node_weighs_more() -> None:
    index = built()
    assert index.rows("technique", "common").tolist() == [0, 1, 2, 3]
    assert index.rows("technique", "nothing").tolist() == []
    postings = [index.rows("technique", "rare"), index.rows("technique", "common")]
    assert idf(4, 2) > idf(4, 4) > 0
    # b shares both, c and d only the common one (tied, so by id); a itself is left out.
    assert index.top("a", postings, 10) == ["b", "c", "d"]
    assert index.top("a", postings, 2) == ["b", "c"]
    assert index.top("a", [], 10) == []


def test_ties_at_the_limit_go_to_the_smallest_ids_built_or_appended() -> None:
    index = built()
    index.add("aa")  # appended after the build, but its id sorts before b, c and d
    index.link("technique", "common", ["aa"])
    assert index.top("a", [index.rows("technique", "common")], 2) == ["aa", "b"]
    assert index.top("zz", [index.rows("technique", "common")], 3) == ["a", "aa", "b"]


def test_a_deleted_paper_drops_out_and_a_rewritten_one_keeps_only_its_new_links() -> None:
    index = built()
    rare = index.rows("technique", "rare")  # cached: a later link or drop must still be seen
    assert rare.tolist() == [0, 1]
    index.drop("b")
    index.drop("never-stored")  # no-op
    assert index.rows("technique", "rare").tolist() == [0]
    both = [index.rows("technique", "rare"), index.rows("technique", "common")]
    assert index.top("a", both, 10) == ["c", "d"]
    index.add("c")  # rewritten: a fresh row; its old row (and the old row's postings) are dead
    assert index.row_of["c"] == 4 and index.ids[4] == "c"
    assert index.rows("technique", "common").tolist() == [0, 3]
    index.link("technique", "rare", ["c", "b"])  # b is gone: not linked again
    assert index.rows("technique", "rare").tolist() == [0, 4]
    assert index.top("a", [index.rows("technique", "rare")], 10) == ["c"]


def test_stale_until_built_and_once_appended_rows_outnumber_built_ones() -> None:
    assert RelatedIndex(KINDS).stale()  # never synced
    index = built()
    assert not index.stale()
    for i in range(4):
        index.add(f"new{i}")
    assert not index.stale()  # 4 appended, 4 built
    index.add("new4")
    assert index.stale()


def test_rows_can_be_appended_past_the_first_allocation() -> None:
    index = RelatedIndex(KINDS)
    ids = [f"p{i:05d}" for i in range(2500)]
    for pid in ids:
        index.add(pid)
    index.link("about", "superposition", ids)
    index.drop("p00001")
    rows = index.rows("about", "superposition")
    assert len(rows) == 2499 and 1 not in rows.tolist()
    assert index.top("p00000", [rows], 2) == ["p00002", "p00003"]


@pytest.mark.parametrize("limit", [0, 1, 2])
def test_top_never_returns_more_than_the_limit(limit: int) -> None:
    index = built()
    assert len(index.top("a", [index.rows("technique", "common")], limit)) == limit
