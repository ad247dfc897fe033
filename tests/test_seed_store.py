"""The cached seed store lives under pytest's base temp (rotated by pytest), not in a stray /tmp dir."""

from __future__ import annotations

from pathlib import Path

import pytest

from kg.embedded import EmbeddedStore
from tests.seed_store import seed_db_path


def test_seed_store_is_built_once_under_pytests_base_temp(
    seed_store: EmbeddedStore, shared_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Before, it went to tempfile.mkdtemp() and was removed only by atexit, which a killed run skips."""
    path = seed_db_path(shared_data)
    assert path.is_file()
    assert path.is_relative_to(tmp_path_factory.getbasetemp())
    # Cached: the same file for every caller of this run (the fixture's store included).
    assert seed_db_path(shared_data) == path and seed_store.path == path
    assert len(seed_store.paper_ids()) >= 30
