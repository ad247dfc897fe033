"""A store the previous paperkg wrote (its listing indexes broke ties by pk, papers_sort and
papers_central, and it had no papers_central_id or papers_new) under this version: reading commands
and technique pages read it as it is, a write open adds the new indexes and keeps the old ones, so a
process of the previous version still running (a rolling restart) keeps working."""

from __future__ import annotations

import json
import sqlite3
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from api.app import create_app
from kg.cli import main
from kg.embedded import EmbeddedStore
from kg.entities import Paper, PaperBundle, TechniqueUse
from tests.api.conftest import app_config, serving
from tests.embedders import HashEmbedder
from tests.kg.test_embedded_schema import _indexes
from tests.seed_store import taxonomy_store

NEW_INDEXES = {"papers_central_id", "papers_new"}
PREVIOUS_INDEXES = {"papers_sort", "papers_central"}
# The previous version's technique page (f01ae93 kg/embedded.py papers_by_technique), its statement for a
# common technique (hinted) in either order, as such a process runs it: ?1 the technique ids (JSON).
_PREVIOUS_COLUMNS = (
    "p.id, p.arxiv_id, p.doi, p.title, p.abstract, p.authors_json, p.published, p.updated, p.year, "
    "p.venue, p.primary_category, p.categories, p.url, p.pdf_url, p.sources, p.item_type, "
    "p.embedding_model, p.content_hash, p.first_seen, p.last_seen, p.extraction_hash, p.arxiv_version, "
    "p.citation_key"
)
PREVIOUS_TECHNIQUE_PAGE = {
    "date": (f"SELECT {_PREVIOUS_COLUMNS} FROM papers p INDEXED BY papers_sort WHERE p.id IN "
             "(SELECT paper_id FROM uses WHERE technique_id IN (SELECT value FROM json_each(?))) "
             "ORDER BY p.sort_date DESC, p.pk DESC LIMIT ? OFFSET ?"),
    "centrality": (f"SELECT {_PREVIOUS_COLUMNS} FROM papers p INDEXED BY papers_central WHERE p.id IN "
                   "(SELECT paper_id FROM uses WHERE technique_id IN (SELECT value FROM json_each(?))) "
                   "ORDER BY p.degree DESC, p.sort_date DESC, p.pk DESC LIMIT ? OFFSET ?"),
}
# Every paper uses probing (a common technique: the page walks an index); ids out of write order, and
# three with a second technique (centrality puts them first), all else equal.
IDS = [f"p{(i * 7) % 30:03d}" for i in range(30)]
CENTRAL = {"p003", "p011", "p020"}


def _previous_version_store(path: Path) -> None:
    """A store as the previous paperkg left it: this version's, with its listing indexes swapped back
    for the previous version's (as f01ae93 kg/embedded_schema.py defined them)."""
    store = taxonomy_store(path)
    store.upsert_papers([
        PaperBundle(paper=Paper(id=pid, title=f"Paper {pid}", abstract="We probe a model.", authors=["A B"],
                                year=2023, published="2023-05-01", sources=["records"]),
                    techniques=[TechniqueUse("probing", "extracted", evidence="probe"),
                                *([TechniqueUse("activation_patching", "extracted", evidence="patch")]
                                  if pid in CENTRAL else [])])
        for pid in IDS])
    store.close()
    conn = sqlite3.connect(path)
    conn.executescript(
        "DROP INDEX papers_central_id; DROP INDEX papers_new; "
        "CREATE INDEX IF NOT EXISTS papers_sort ON papers(sort_date DESC, pk DESC); "
        "CREATE INDEX IF NOT EXISTS papers_central ON papers(degree DESC, sort_date DESC, pk DESC);")
    conn.close()
    assert not _indexes(path) & NEW_INDEXES and _indexes(path) >= PREVIOUS_INDEXES


def _in_order(ids: list[str], sort: str) -> list[str]:
    """`ids` (equal dates, in tie order) in `sort` order: by centrality, the CENTRAL papers first."""
    if sort != "centrality":
        return ids
    return [i for i in ids if i in CENTRAL] + [i for i in ids if i not in CENTRAL]


def _expected(sort: str) -> list[str]:
    """This version's order: equal keys by id, descending."""
    return _in_order(sorted(IDS, reverse=True), sort)


@pytest.mark.parametrize("sort", ["date", "centrality"])
@pytest.mark.parametrize("previous", [True, False], ids=["previous-indexes", "no-listing-indexes"])
def test_a_read_only_open_reads_the_previous_versions_store_as_it_is(
    tmp_path: Path, sort: str, previous: bool
) -> None:
    """Read-only: no "older schema" refusal, the technique page in either order (no hint naming a missing
    index: by the previous version's index, or by none), and nothing written."""
    path = tmp_path / "paperkg.sqlite3"
    _previous_version_store(path)
    if not previous:
        conn = sqlite3.connect(path)
        conn.executescript("DROP INDEX papers_sort; DROP INDEX papers_central;")
        conn.close()
    store = EmbeddedStore(path, read_only=True)
    try:
        papers, total = store.papers_by_technique("probing", sort=sort, limit=10, offset=5)
        assert total == 30 and [p.id for p in papers] == _expected(sort)[5:15]
        # Also over HTTP, the technique's JSON and its web page.
        app = create_app(app_config(tmp_path / "api", STORE=store, EMBEDDER=HashEmbedder()))
        with serving(app) as port:
            url = f"http://127.0.0.1:{port}/api/techniques/probing?sort={sort}&limit=100"
            with urllib.request.urlopen(url, timeout=30) as response:
                body = json.load(response)
            assert [p["id"] for p in body["papers"]["results"]] == _expected(sort)
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/techniques/probing?sort={sort}",
                                        timeout=30) as response:
                assert response.status == 200
    finally:
        store.close()
    assert not _indexes(path) & NEW_INDEXES and (_indexes(path) >= PREVIOUS_INDEXES) == previous


def test_reading_commands_read_the_previous_versions_store(data_dir: Path) -> None:
    """`paperkg stats`, `search` and `init --dry-run` open it read-only, as it is."""
    path = data_dir / "paperkg.sqlite3"
    _previous_version_store(path)
    runner = CliRunner()
    stats = runner.invoke(main, ["stats", "--json"])
    assert stats.exit_code == 0, stats.output
    assert json.loads(stats.output)["nodes"]["Paper"] == 30
    found = runner.invoke(main, ["search", "", "--technique", "activation_patching", "--json"])
    assert found.exit_code == 0, found.output
    assert sorted(r["id"] for r in json.loads(found.output)["results"]) == sorted(CENTRAL)
    dry = runner.invoke(main, ["init", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert not _indexes(path) & NEW_INDEXES


def test_a_write_open_adds_the_new_indexes_and_keeps_the_previous_ones(tmp_path: Path) -> None:
    """`paperkg init`, an ingest or a new server worker opening the store: the previous version's
    process still running reads its technique pages by its own INDEXED BY hints."""
    path = tmp_path / "paperkg.sqlite3"
    _previous_version_store(path)
    old = sqlite3.connect(path)  # the previous version's worker, its connection open throughout
    store = EmbeddedStore(path)
    store.init_schema()
    for sort in ("date", "centrality"):
        papers = store.papers_by_technique("probing", sort=sort, limit=100)[0]
        assert [p.id for p in papers] == _expected(sort)
    store.close()
    assert _indexes(path) >= NEW_INDEXES | PREVIOUS_INDEXES
    for sort, sql in PREVIOUS_TECHNIQUE_PAGE.items():
        rows = old.execute(sql, [json.dumps(["probing"]), 100, 0]).fetchall()
        # Its own order: equal keys by pk, the order the papers were written in.
        assert [r[0] for r in rows] == _in_order(list(reversed(IDS)), sort), sort
    old.close()


def test_a_write_open_behind_another_writer_leaves_the_new_indexes_for_later(tmp_path: Path) -> None:
    """Opening for writing while another process writes (the previous version's ingest) neither waits
    for it nor fails: only indexes are missing, the store is current; the next write open makes them."""
    path = tmp_path / "paperkg.sqlite3"
    _previous_version_store(path)
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        store = EmbeddedStore(path)
        assert [p.id for p in store.papers_by_technique("probing", sort="centrality", limit=3)[0]] \
            == _expected("centrality")[:3]
        store.close()
        assert not _indexes(path) & NEW_INDEXES
    finally:
        writer.execute("COMMIT")
        writer.close()
    EmbeddedStore(path).close()
    assert _indexes(path) >= NEW_INDEXES | PREVIOUS_INDEXES
