"""A store whose data directory is moved away after it was opened says the directory does not exist (QA:
the server's readiness log said it was read-only and advised making it writable)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from kg.embedded import EmbeddedStore
from kg.store import StoreError, StoreUnavailable


def _ping_in_a_new_thread(store: EmbeddedStore) -> StoreError | None:
    """What a ping from a thread without a connection yet raises (a server's next request), or None."""
    raised: list[StoreError] = []

    def ping() -> None:
        try:
            store.ping()
        except StoreError as exc:
            raised.append(exc)

    thread = threading.Thread(target=ping)
    thread.start()
    thread.join()
    return raised[0] if raised else None


@pytest.mark.parametrize("read_only", [False, True])
def test_a_data_directory_moved_away_is_said_not_to_exist(tmp_path: Path, read_only: bool) -> None:
    data = tmp_path / "data"
    EmbeddedStore(data / "paperkg.sqlite3").close()
    store = EmbeddedStore(data / "paperkg.sqlite3", read_only=read_only)
    try:
        store.ping()  # open in this thread, as a serving process has
        data.rename(tmp_path / "moved")
        error = _ping_in_a_new_thread(store)
    finally:
        store.close()
    assert isinstance(error, StoreUnavailable)
    message = str(error)
    assert f"no paperkg store in {data} (PAPERKG_DATA_DIR): the directory does not exist" in message
    assert "read-only" not in message and "writable" not in message
