"""Paper ids as users give them (kg/lookup.py): the exact id first, then the id ingest would have stored
(arXiv version or URL stripped), then the id the paper moved to; find_related on a real store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kg.embedded import EmbeddedStore
from kg.lookup import find_paper, find_related
from tests.kg.test_related import bundle, unit
from tests.seed_store import taxonomy_store

STORED = {"2211.00593": "ioi", "hep-th/9901001": "old", "toy-models-v2": "slug", "doi-a": "merged"}
MOVED = {"former-slug": "2211.00593", "b-merged": "doi-a", "loop": "loop", "gone": "deleted-since"}


@pytest.mark.parametrize(("given", "expected"), [
    ("2211.00593", ("2211.00593", "ioi")),
    ("2211.00593v3", ("2211.00593", "ioi")),
    ("https://arxiv.org/abs/2211.00593v2", ("2211.00593", "ioi")),
    ("https://arxiv.org/pdf/2211.00593", ("2211.00593", "ioi")),
    ("hep-th/9901001v1", ("hep-th/9901001", "old")),
    ("toy-models-v2", ("toy-models-v2", "slug")),  # a slug ending in "v2" is not an arXiv version
    ("former-slug", ("2211.00593", "ioi")),
    ("b-merged", ("doi-a", "merged")),
])
def test_find_paper_reads_the_id_as_given_then_as_ingest_stores_it(
    given: str, expected: tuple[str, str]
) -> None:
    assert find_paper(given, STORED.get, MOVED.get) == expected


@pytest.mark.parametrize("given", ["unknown", "2211.00594v1", "loop", "gone", "toy-models"])
def test_find_paper_is_none_when_nothing_is_found(given: str) -> None:
    assert find_paper(given, STORED.get, MOVED.get) is None


def test_the_exact_id_wins_over_its_canonical_form_and_moves_are_optional() -> None:
    # A stored id that looks versioned is answered as it is, not as the paper its arXiv id names.
    asked: list[str] = []

    def find(pid: str) -> str | None:
        asked.append(pid)
        return {"2211.00593v2": "versioned", "2211.00593": "canonical"}.get(pid)

    assert find_paper("2211.00593v2", find) == ("2211.00593v2", "versioned") and asked == ["2211.00593v2"]
    assert find_paper("former-slug", STORED.get) is None  # no `moved`: a former id finds nothing


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EmbeddedStore]:
    """Three papers sharing a technique; records merged into the first left the alias "merged-id"."""
    s = taxonomy_store(tmp_path / "paperkg.sqlite3")
    first = bundle("2401.00001", unit(0), ["probing"])
    first.aliases = ["merged-id"]
    s.upsert_papers([first, bundle("B", unit(0, 1), ["probing"]), bundle("C", unit(2), ["probing"])])
    yield s
    s.close()


@pytest.mark.parametrize("given", ["2401.00001", "2401.00001v4", "https://arxiv.org/abs/2401.00001",
                                   "merged-id"])
def test_find_related_answers_for_the_stored_paper(store: EmbeddedStore, given: str) -> None:
    found = find_related(store, given, 5)
    assert found is not None
    stored_id, hits = found
    assert stored_id == "2401.00001"
    assert [h.id for h in hits] == ["B", "C"]  # B is closer (cosine 0.71 against 0)


def test_find_related_limits_and_is_none_for_an_unknown_id(store: EmbeddedStore) -> None:
    found = find_related(store, "B", 1)
    assert found is not None and found[0] == "B" and len(found[1]) == 1
    assert find_related(store, "nope", 5) is None
    assert find_related(store, "2401.00002v1", 5) is None
