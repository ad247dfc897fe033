"""kg/sqlite_errors.py: real SQLite errors on real files, told in words."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from kg.sqlite_errors import primary_code, sqlite_store_error
from kg.store import StoreDamaged, StoreError, StoreUnavailable


def _error_of(action: object) -> sqlite3.Error:
    with pytest.raises(sqlite3.Error) as caught:
        action()  # type: ignore[operator]
    return caught.value


def test_a_file_that_is_not_a_database_is_damaged_and_the_message_says_how_to_check(tmp_path: Path) -> None:
    path = tmp_path / "paperkg.sqlite"
    path.write_bytes(b"not a database, " * 512)
    exc = _error_of(lambda: sqlite3.connect(path).execute("SELECT * FROM sqlite_master").fetchall())
    error = sqlite_store_error(path, exc, writing=False)
    assert type(error) is StoreDamaged
    assert str(path) in str(error) and "PRAGMA integrity_check" in str(error)


def test_a_lock_held_elsewhere_is_locked_and_only_a_write_says_nothing_was_stored(tmp_path: Path) -> None:
    path = tmp_path / "paperkg.sqlite"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN IMMEDIATE")
    writer = sqlite3.connect(path, timeout=0, isolation_level=None)
    exc = _error_of(lambda: writer.execute("BEGIN IMMEDIATE"))
    assert primary_code(exc) == 5
    written, read = sqlite_store_error(path, exc, writing=True), sqlite_store_error(path, exc, writing=False)
    assert type(written) is StoreError and "is locked" in str(written)
    assert "nothing of this batch was stored" in str(written)
    assert "nothing of this batch was stored" not in str(read)
    holder.execute("ROLLBACK")


def test_a_write_through_a_read_only_connection_says_the_store_is_read_only(tmp_path: Path) -> None:
    path = tmp_path / "paperkg.sqlite"
    sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.commit()
    reader = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    exc = _error_of(lambda: reader.execute("INSERT INTO t VALUES (1)"))
    error = sqlite_store_error(path, exc, writing=True)
    assert f"{path} is read-only" in str(error) and "nothing was written" in str(error)


def test_a_file_that_cannot_be_opened_is_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "paperkg.sqlite"
    exc = _error_of(lambda: sqlite3.connect(f"file:{path}?mode=ro", uri=True))
    error = sqlite_store_error(path, exc, writing=False)
    assert type(error) is StoreUnavailable and str(path) in str(error)


def test_an_error_without_a_result_code_keeps_its_text() -> None:
    exc = sqlite3.Error("something odd")
    assert primary_code(exc) is None
    error = sqlite_store_error(Path("/x/paperkg.sqlite"), exc, writing=False)
    assert type(error) is StoreError and str(error) == "SQLite store /x/paperkg.sqlite: something odd"
