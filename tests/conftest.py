"""Fixtures shared by every test package: the shared data, the taxonomy, the real model and the seed store."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kg.embedded import EmbeddedStore
from kg.taxonomy import Taxonomy, load_taxonomy

# The one caller setting the tests honour: CI and users point the suite at ../shared with it.
KEPT_CALLER_SETTINGS = frozenset({"PAPERKG_SHARED_DATA"})
_REMOVED_SETTINGS = pytest.StashKey[dict[str, str]]()


def pytest_configure(config: pytest.Config) -> None:
    """Drop the caller's PAPERKG_* variables (all but PAPERKG_SHARED_DATA) for the whole run."""
    # A user who followed the README (`export PAPERKG_TAXONOMY=...` after `paperkg init --taxonomy`)
    # must not see tests fail on their own settings. Done here, before collection and every fixture
    # (session ones included), and on os.environ itself, so subprocesses the tests start inherit the
    # cleaned environment too. NEO4J_URI (no prefix) is left alone: it switches on the Neo4j half of
    # the store contract suite. PAPERKG_NEO4J_* go: a test opens the store it builds, never the user's.
    removed = {name: os.environ.pop(name) for name in sorted(os.environ)
               if name.startswith("PAPERKG_") and name not in KEPT_CALLER_SETTINGS}
    config.stash[_REMOVED_SETTINGS] = removed
    # The Ctrl-C tests send SIGINT to the commands they start, as a terminal does. A suite started as a
    # background job of a script (`make test &`) has SIGINT ignored, and every child would inherit
    # that and never stop: handled here, it is back to its default in each child (exec resets it).
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Give the caller's PAPERKG_* variables back (matters when pytest runs inside another process)."""
    os.environ.update(config.stash.get(_REMOVED_SETTINGS, {}))


@pytest.fixture(scope="session", autouse=True)
def _seed_store_in_pytest_temp(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Build the cached seed store under pytest's base temp, which pytest rotates (last 3 runs kept)."""
    from tests.seed_store import use_temp_factory

    # Not an atexit cleanup: a killed run (CI cancel, pytest-timeout's os._exit) never runs atexit.
    use_temp_factory(tmp_path_factory)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The read-only reference data folder (PAPERKG_SHARED_DATA, else shared/data beside the repo)."""
    from bench.shared_data import shared_data_dir

    path = shared_data_dir(None)  # the benches' rule: PAPERKG_SHARED_DATA if set, else beside the repo
    if not (path / "seed_papers.jsonl").is_file():
        pytest.fail(f"shared data not found at {path}: set PAPERKG_SHARED_DATA")
    return path


@pytest.fixture(scope="session")
def taxonomy() -> Taxonomy:
    """The packaged MI taxonomy."""
    return load_taxonomy()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh PAPERKG_DATA_DIR for one test (an empty graph)."""
    path = tmp_path / "data"
    path.mkdir()
    monkeypatch.setenv("PAPERKG_DATA_DIR", str(path))
    monkeypatch.delenv("PAPERKG_NEO4J_URI", raising=False)
    monkeypatch.setenv("PAPERKG_STORE", "embedded")
    return path


@pytest.fixture(scope="session")
def model_embedder() -> Any:
    """The real all-MiniLM-L6-v2 (process-wide instance, loaded by path, offline)."""
    from tests.seed_store import real_embedder

    return real_embedder()


@pytest.fixture(scope="session")
def seed_store(shared_data: Path) -> Iterator[EmbeddedStore]:
    """The seed corpus (real pipeline, real model) in a real SQLite file, built once; read only."""
    from tests.seed_store import seed_db_path

    store = EmbeddedStore(seed_db_path(shared_data))
    yield store
    store.close()
