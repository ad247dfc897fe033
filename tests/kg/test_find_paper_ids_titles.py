"""find_paper_ids by title: a paper's current title, else the titles its list rows give (a records file
made from the list names a renamed paper by its old title), and the paper preferred when several share a
title. Both backends (Neo4j only when NEO4J_URI is set)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.normalize import TITLE_KEY_PROBES, title_key
from kg.embedded import EmbeddedStore
from kg.entities import ListRow, Paper, PaperBundle
from kg.store import GraphStore
from kg.taxonomy import Taxonomy
from tests.kg.title_rule_cases import TITLES

_NEO4J_SKIP = pytest.mark.skipif(
    not os.environ.get("NEO4J_URI"),
    reason="NEO4J_URI is not set: the Neo4j backend runs only against a live Neo4j server",
)

OLD = "Finding Neurons in a Haystack: Case Studies with Sparse Probing"
NEW = "Sparse Probing Locates Individual Neurons Across Seven Language Models"
ZEBRA = "Sparse Autoencoders Reveal Zebra Features in GPT-2 Small"


@pytest.fixture(params=["embedded", pytest.param("neo4j", marks=_NEO4J_SKIP)])
def store(request: pytest.FixtureRequest, tmp_path: Path, taxonomy: Taxonomy) -> Iterator[GraphStore]:
    """A fresh store of the backend with the packaged taxonomy."""
    opened: GraphStore
    if request.param == "embedded":
        opened = EmbeddedStore(tmp_path / "store" / "paperkg.sqlite3")
    else:
        from kg.neo4j_store import Neo4jStore

        opened = Neo4jStore(os.environ["NEO4J_URI"], os.environ.get("NEO4J_USER", "neo4j"),
                            os.environ.get("NEO4J_PASSWORD", ""), os.environ.get("NEO4J_DATABASE", "neo4j"))
        opened.init_schema()
        opened.clear_all()  # type: ignore[attr-defined]
    opened.init_schema()
    opened.load_taxonomy(taxonomy.nodes)
    yield opened
    opened.close()


def _row(section: str, title: str | None, line: int) -> ListRow:
    return ListRow(section_id=section.lower(), section_title=section, section_path=[section],
                   title_in_list=title, url_in_list="https://arxiv.org/pdf/2305.01610", line=line)


def _renamed(store: GraphStore) -> None:
    """2305.01610 under arXiv's new title, listed twice under the old one (as the list has it)."""
    store.upsert_papers([PaperBundle(
        paper=Paper(id="2305.01610", arxiv_id="2305.01610", title=NEW, sources=["arxiv", "list"]),
        list_rows=[_row("Techniques", "Finding neurons in a haystack: Case studies with sparse probing", 59),
                   _row("Findings", f"{OLD} (TMLR'23)", 110)])])


def test_a_title_its_list_rows_give_finds_a_renamed_paper(store: GraphStore) -> None:
    """QA: a records file with 2305.01610's old title (its list rows' title, arXiv's before v2) made a
    second paper: only current titles were keys. The list rows' titles are keys too."""
    _renamed(store)
    key = title_key(OLD)
    assert store.find_paper_ids(title_keys=[key, title_key(NEW), title_key("Sparse Probing")]) == {
        key: "2305.01610", title_key(NEW): "2305.01610"}
    # A title sharing words with the row's but not its key is another paper's.
    assert store.find_paper_ids(title_keys=[title_key("Finding Neurons in a Haystack")]) == {}


def test_a_current_title_wins_over_a_list_rows_title(store: GraphStore) -> None:
    """A paper whose title is the key is the match, even when another paper's list row has it."""
    _renamed(store)
    store.upsert_papers([PaperBundle(paper=Paper(id="finding-neurons", title=OLD, sources=["records"]))])
    shared: dict[str, list[str]] = {}
    found = store.find_paper_ids(title_keys=[title_key(OLD)], shared=shared)
    assert found == {title_key(OLD): "finding-neurons"}
    assert shared == {}  # the list row's paper is no candidate beside a current title


def test_a_title_two_papers_share_gives_the_oldest_not_withdrawn_and_names_both(store: GraphStore) -> None:
    """QA: a weekly run stores arXiv's newest first, so the re-post 2611.90011 came before 2611.90010 and
    "lowest pk" picked it, silently. The oldest arXiv id is preferred, and `shared` names both; a
    withdrawn paper only when every one is."""
    store.upsert_papers([PaperBundle(paper=Paper(id=i, arxiv_id=i, title=ZEBRA, sources=["arxiv"]))
                         for i in ("2611.90011", "2611.90010")])
    key = title_key("Sparse autoencoders reveal zebra features in GPT-2 small (ICLR'27)")
    assert store.find_paper_ids(title_keys=[key]) == {key: "2611.90010"}
    shared: dict[str, list[str]] = {}
    assert store.find_paper_ids(title_keys=[key], shared=shared) == {key: "2611.90010"}
    assert shared == {key: ["2611.90010", "2611.90011"]}

    store.upsert_papers([PaperBundle(paper=Paper(
        id="2611.90010", arxiv_id="2611.90010", title=ZEBRA, sources=["arxiv"],
        abstract="This paper has been withdrawn by the authors due to an error in the zebra features."))])
    shared.clear()
    assert store.find_paper_ids(title_keys=[key], shared=shared) == {key: "2611.90011"}
    assert shared == {key: ["2611.90011", "2611.90010"]}


def test_a_paper_with_an_arxiv_id_is_preferred_to_one_without(store: GraphStore) -> None:
    """Among papers of one title, one with an arXiv id (the key every other source merges into) comes
    before a records file's slug stored earlier; among slugs, the first stored."""
    store.upsert_papers([PaperBundle(paper=Paper(id="zebra-one", title=ZEBRA, sources=["records"]))])
    store.upsert_papers([PaperBundle(paper=Paper(id="zebra-two", title=ZEBRA, sources=["records"]))])
    shared: dict[str, list[str]] = {}
    assert store.find_paper_ids(title_keys=[title_key(ZEBRA)]) == {title_key(ZEBRA): "zebra-one"}
    store.upsert_papers([PaperBundle(paper=Paper(id="2611.90012", arxiv_id="2611.90012", title=ZEBRA))])
    assert store.find_paper_ids(title_keys=[title_key(ZEBRA)]) == {title_key(ZEBRA): "2611.90012"}
    shared.clear()
    store.find_paper_ids(title_keys=[title_key(ZEBRA)], shared=shared)
    assert shared == {title_key(ZEBRA): ["2611.90012", "zebra-one", "zebra-two"]}


# Titles title_key reads in every way it can: TeX, accents, math symbols, venue tags, brackets, and ASCII
# signs the look-up's prefilter must not rule out ("a--b", TeX quotes, "_", "^", "~").
_TRICKY = [*TITLES.values(), *(t for t in TITLE_KEY_PROBES if title_key(t)),
           "snake_case and 10^9 tokens", "A--B ``quoted'' head~wise", "C++ (small) [v2]",
           r"G\"odel Features in $\mathcal{M}$", "Ｆｕｌｌｗｉｄｔｈ ﬁnds", "ä\u0308 combining",
           "ΑΛΉΘΕΙΑ", "Straße Maße"]


def test_list_row_titles_of_every_form_are_found_by_their_key(store: GraphStore) -> None:
    """The look-up keys only the list rows' titles that can have a wanted key (title_key is slow); a
    title whose key has words its text does not (TeX, accents, symbols spelled as words) is still found."""
    bundles = [PaperBundle(paper=Paper(id=f"p{i}", title=f"Stored title number {i}"),
                           list_rows=[_row(f"S{i}", title, i)]) for i, title in enumerate(_TRICKY)]
    store.upsert_papers(bundles)
    expected: dict[str, str] = {}
    for i, title in enumerate(_TRICKY):
        expected.setdefault(title_key(title), f"p{i}")  # one key, several rows: the first stored
    assert store.find_paper_ids(title_keys=sorted(expected)) == expected
    for key, paper_id in expected.items():  # one by one too: each row's probe alone
        assert store.find_paper_ids(title_keys=[key]) == {key: paper_id}


def test_the_prefilter_keys_every_title_that_has_a_wanted_key() -> None:
    """list_title_matches (both stores' look-up) skips titles without a key's words; it finds exactly what
    keying every title finds, for titles of every form and random ASCII ones ("|" joins them in the
    search: a title holding one too)."""
    import random
    import string

    from kg.title_matches import list_title_matches

    rng = random.Random(7)
    alphabet = string.ascii_letters + string.digits + " -:,.()[]'\"?!|/&+*"
    titles = [*_TRICKY, "İstanbul Heads", "KELVIN \u212a sign", "Σίσυφος ΣΑΣ", "a|b pipes", "x" * 300,
              *("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40))) for _ in range(2000))]
    rows = [(title, f"p{i}") for i, title in enumerate(titles)]
    keys = sorted({title_key(t) for t in titles} - {""})
    alone = [[key] for key in sorted({title_key(t) for t in titles[:len(_TRICKY) + 5]} - {""})]
    for wanted in (keys, rng.sample(keys, 100), *alone):  # alone: no other key's words let a title in
        every: dict[str, list[str]] = {}
        for title, paper_id in rows:
            if title_key(title) in wanted:
                every.setdefault(title_key(title), []).append(paper_id)
        assert list_title_matches(rows, wanted) == every
