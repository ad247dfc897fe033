"""The real embedded store, counting the paper rows search reads: shared by the search tests that check
which rows a search reads (tests/kg/test_search_authors_acronyms.py, tests/kg/test_search_withdrawn.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kg.embedded import EmbeddedStore


class CountingStore(EmbeddedStore):
    """The real embedded store, counting the paper rows search reads."""

    read: list[str]

    def get_papers(self, paper_ids: Any) -> Any:
        """Read the papers from the real store, noting their ids."""
        self.read.extend(paper_ids)
        return super().get_papers(paper_ids)


def counting_store(path: Path) -> Iterator[CountingStore]:
    """A counting store on the SQLite file at `path`, nothing read yet, closed after (a fixture's body)."""
    counted = CountingStore(path)
    counted.read = []
    yield counted
    counted.close()
