"""kg/embedded_schema.py: what it says a current file holds is what init_schema makes."""

from __future__ import annotations

from pathlib import Path

from kg.embedded import EmbeddedStore
from kg.embedded_schema import MIGRATED_COLUMNS, MIGRATION_INDEXES, SCHEMA_INDEXES, SCHEMA_TABLES


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
