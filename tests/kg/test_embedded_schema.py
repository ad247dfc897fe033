"""kg/embedded_schema.py: what it says a current file holds is what init_schema makes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from kg.embedded import EmbeddedStore
from kg.embedded_schema import (
    MIGRATED_COLUMNS,
    MIGRATION_INDEXES,
    OPTIONAL_INDEXES,
    PREVIOUS_VERSION_INDEXES,
    REQUIRED_INDEXES,
    SCHEMA_INDEXES,
    SCHEMA_TABLES,
)


def test_a_new_store_has_every_table_index_and_migrated_column_the_schema_names(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "paperkg.sqlite")
    store.init_schema()
    with store._read() as conn:
        objects = {(kind, name) for kind, name in conn.execute("SELECT type, name FROM sqlite_master")}
        columns = {table: {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
                   for table in MIGRATED_COLUMNS}
    store.close()
    assert {"papers", "papers_fts", "meta"} <= SCHEMA_TABLES
    assert set(MIGRATION_INDEXES) <= SCHEMA_INDEXES
    assert {("table", name) for name in SCHEMA_TABLES} <= objects
    assert {("index", name) for name in SCHEMA_INDEXES} <= objects
    for table, wanted in MIGRATED_COLUMNS.items():
        assert wanted <= columns[table]


def test_a_file_with_the_pk_ordered_indexes_gets_the_id_ordered_ones_and_keeps_them(tmp_path: Path) -> None:
    """A file the previous paperkg wrote: its listing orders broke ties by pk, with indexes to match; opened
    now, it gets the id-ordered indexes and keeps the old ones, which that version's processes still
    running on it name in INDEXED BY. A new file has none of the old ones."""
    path = tmp_path / "paperkg.sqlite"
    EmbeddedStore(path).close()
    assert not _indexes(path) & set(PREVIOUS_VERSION_INDEXES)
    conn = sqlite3.connect(path)
    conn.executescript(
        "DROP INDEX papers_central_id; DROP INDEX papers_new; "
        "CREATE INDEX papers_sort ON papers(sort_date DESC, pk DESC); "
        "CREATE INDEX papers_central ON papers(degree DESC, sort_date DESC, pk DESC);"
    )
    conn.close()
    EmbeddedStore(path).close()
    assert _indexes(path) >= {"papers_central_id", "papers_new", *PREVIOUS_VERSION_INDEXES}


def test_the_optional_indexes_are_the_schemas_and_not_required() -> None:
    """What a current file may lack is a subset of what a new file has; the rest is required."""
    assert set(MIGRATION_INDEXES) >= OPTIONAL_INDEXES
    assert REQUIRED_INDEXES == SCHEMA_INDEXES - OPTIONAL_INDEXES
    assert not set(PREVIOUS_VERSION_INDEXES) & SCHEMA_INDEXES


def _indexes(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    finally:
        conn.close()
