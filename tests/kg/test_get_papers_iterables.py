"""get_papers given any iterable of ids (QA: a generator gave [] on both backends: it was read twice, and
its second pass was empty). One suite on each backend, as the store contract (Neo4j when NEO4J_URI is set)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kg.store import GraphStore
from kg.taxonomy import Taxonomy
from tests.kg.test_store_contract import BACKENDS, _open, bundle


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path, taxonomy: Taxonomy) -> Iterator[GraphStore]:
    """A fresh store of the parametrised backend holding papers p-1 and p-2."""
    opened = _open(request.param, tmp_path)
    opened.init_schema()
    opened.load_taxonomy(taxonomy.nodes)
    opened.upsert_papers([bundle("p-1"), bundle("p-2")])
    yield opened
    opened.close()


# get_papers is typed Sequence[str]; what a caller passes from Python at run time is any iterable.
def test_get_papers_takes_a_generator(store: GraphStore) -> None:
    found = store.get_papers(x for x in ["p-2", "missing", "p-1"])
    assert [p.id for p in found] == ["p-2", "p-1"]


def test_get_papers_takes_a_dict_view_and_keeps_repeats(store: GraphStore) -> None:
    assert [p.id for p in store.get_papers({"p-1": 1}.keys())] == ["p-1"]
    assert [p.id for p in store.get_papers(iter(["p-1", "p-1"]))] == ["p-1", "p-1"]
