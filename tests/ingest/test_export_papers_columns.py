"""`paperkg export papers --format csv` on the seed store: the columns added after citation_key
(item_type, categories, primary_category, arxiv_version) and a topics column that rebuilds the topic
counts."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from click.testing import CliRunner

from ingest.export_papers import CSV_COLUMNS, spreadsheet_value
from kg.embedded import EmbeddedStore
from kg.schema import Label

# The columns before this release, in their order: a reader by position must still find them there.
_EARLIER = ("id", "arxiv_id", "doi", "title", "authors", "year", "published", "updated", "venue", "url",
            "sources", "first_seen", "last_seen", "withdrawn", "techniques", "evaluations", "models",
            "topics", "list_sections", "abstract", "tldr", "citation_key")


def _export(seed_store: EmbeddedStore, monkeypatch: pytest.MonkeyPatch, *args: str) -> str:
    from kg.cli import main

    monkeypatch.setenv("PAPERKG_DATA_DIR", str(seed_store.path.parent))
    result = CliRunner().invoke(main, ["export", "papers", *args])
    assert result.exit_code == 0, (result.output, result.exception)
    return result.stdout_bytes.decode("utf-8")


def _rows(text: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    assert tuple(reader.fieldnames or ()) == CSV_COLUMNS
    return [{k: spreadsheet_value(v) for k, v in row.items()} for row in reader]


def test_new_columns_come_after_the_earlier_ones(seed_store: EmbeddedStore,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """item_type, categories, primary_category and arxiv_version, after citation_key, as the paper
    object (the JSON Lines line) has them."""
    assert CSV_COLUMNS[:len(_EARLIER)] == _EARLIER
    assert CSV_COLUMNS[len(_EARLIER):] == ("item_type", "categories", "primary_category", "arxiv_version",
                                           "former_ids")
    objects = {o["id"]: o for o in map(json.loads, _export(seed_store, monkeypatch).splitlines())}
    rows = _rows(_export(seed_store, monkeypatch, "--format", "csv"))
    assert [r["id"] for r in rows] == list(objects)
    for row in rows:
        obj: dict[str, Any] = objects[row["id"]]
        assert row["item_type"] == obj["item_type"]
        assert row["categories"] == "; ".join(obj["categories"])
        assert row["primary_category"] == (obj["primary_category"] or "")
        assert row["arxiv_version"] == ("" if obj["arxiv_version"] is None else str(obj["arxiv_version"]))
        assert row["former_ids"] == "; ".join(obj["former_ids"])
    assert any(r["categories"] and ";" in r["categories"] for r in rows)
    assert any(r["primary_category"] for r in rows)
    assert {r["item_type"] for r in rows} >= {"paper"}


def test_csv_topics_rebuild_the_topic_and_object_counts(seed_store: EmbeddedStore,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Counting papers per id of the topics column gives every Topic and Object count the technique
    pages show (findings' topics and objects, and the topics and objects of the paper's list sections)."""
    rows = _rows(_export(seed_store, monkeypatch, "--format", "csv"))
    rebuilt: dict[str, int] = {}
    for row in rows:
        for node in filter(None, row["topics"].split("; ")):
            rebuilt[node] = rebuilt.get(node, 0) + 1
    counts = {c.id: c.own_count for c in seed_store.technique_counts()
              if c.label in (Label.TOPIC, Label.OBJECT)}
    assert counts == {node: rebuilt.get(node, 0) for node in counts}
    assert set(rebuilt) <= set(counts)
    assert counts["transformer_components"] > 0 and counts["lm_components"] > 0
