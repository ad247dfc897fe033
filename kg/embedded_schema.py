"""The embedded store's SQLite schema: the script init_schema runs and what a current file holds."""

from __future__ import annotations

import re

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT OR IGNORE INTO meta (key, value) VALUES ('rev', '0'), ('schema_version', '1');
CREATE TABLE IF NOT EXISTS papers (
    pk INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    arxiv_id TEXT, doi TEXT, title TEXT NOT NULL, title_key TEXT NOT NULL DEFAULT '',
    abstract TEXT NOT NULL DEFAULT '', authors_json TEXT NOT NULL DEFAULT '[]',
    authors_text TEXT NOT NULL DEFAULT '',
    published TEXT, updated TEXT, year INTEGER, venue TEXT, primary_category TEXT,
    categories TEXT NOT NULL DEFAULT '[]', url TEXT, pdf_url TEXT,
    sources TEXT NOT NULL DEFAULT '[]', item_type TEXT NOT NULL DEFAULT 'paper',
    embedding BLOB, embedding_model TEXT, content_hash TEXT,
    first_seen TEXT NOT NULL, last_seen TEXT NOT NULL,
    fingerprint TEXT NOT NULL, degree INTEGER NOT NULL DEFAULT 0, rev INTEGER NOT NULL,
    sort_date TEXT NOT NULL DEFAULT '',
    extraction_hash TEXT,
    arxiv_version INTEGER,
    citation_key TEXT, citation_key_pinned INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS papers_arxiv ON papers(arxiv_id);
CREATE INDEX IF NOT EXISTS papers_doi ON papers(doi);
CREATE INDEX IF NOT EXISTS papers_title_key ON papers(title_key);
CREATE INDEX IF NOT EXISTS papers_rev ON papers(rev);
CREATE INDEX IF NOT EXISTS papers_year ON papers(year);
CREATE INDEX IF NOT EXISTS papers_first_seen ON papers(first_seen);
CREATE TABLE IF NOT EXISTS paper_tombstones (id TEXT PRIMARY KEY, rev INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS authors (key TEXT PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS paper_authors (
    paper_id TEXT NOT NULL REFERENCES papers(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    author_key TEXT NOT NULL REFERENCES authors(key),
    PRIMARY KEY (paper_id, position)
);
CREATE INDEX IF NOT EXISTS paper_authors_key ON paper_authors(author_key);
CREATE TABLE IF NOT EXISTS taxonomy (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE, label TEXT NOT NULL, name TEXT NOT NULL,
    aliases TEXT NOT NULL DEFAULT '[]', ambiguous_aliases TEXT NOT NULL DEFAULT '[]',
    parent TEXT, kind TEXT
);
CREATE TABLE IF NOT EXISTS refines (
    child TEXT PRIMARY KEY REFERENCES taxonomy(id),
    parent TEXT NOT NULL REFERENCES taxonomy(id)
);
CREATE INDEX IF NOT EXISTS refines_parent ON refines(parent);
CREATE TABLE IF NOT EXISTS uses (
    paper_id TEXT NOT NULL REFERENCES papers(id) ON DELETE CASCADE,
    technique_id TEXT NOT NULL REFERENCES taxonomy(id),
    source TEXT NOT NULL, evidence TEXT, score REAL,
    PRIMARY KEY (paper_id, technique_id, source)
);
CREATE INDEX IF NOT EXISTS uses_technique ON uses(technique_id, paper_id);
CREATE TABLE IF NOT EXISTS evaluates (
    paper_id TEXT NOT NULL REFERENCES papers(id) ON DELETE CASCADE,
    evaluation_id TEXT NOT NULL REFERENCES taxonomy(id),
    source TEXT NOT NULL, evidence TEXT,
    PRIMARY KEY (paper_id, evaluation_id, source)
);
CREATE INDEX IF NOT EXISTS evaluates_evaluation ON evaluates(evaluation_id, paper_id);
CREATE TABLE IF NOT EXISTS findings (
    id TEXT PRIMARY KEY,
    paper_id TEXT NOT NULL REFERENCES papers(id) ON DELETE CASCADE,
    position INTEGER NOT NULL, text TEXT NOT NULL, kind TEXT NOT NULL, source TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS findings_paper ON findings(paper_id);
CREATE TABLE IF NOT EXISTS finding_about (
    finding_id TEXT NOT NULL REFERENCES findings(id) ON DELETE CASCADE,
    node_id TEXT NOT NULL REFERENCES taxonomy(id),
    label TEXT NOT NULL,
    PRIMARY KEY (finding_id, node_id)
);
CREATE INDEX IF NOT EXISTS finding_about_node ON finding_about(node_id, finding_id);
CREATE TABLE IF NOT EXISTS studies (
    paper_id TEXT NOT NULL REFERENCES papers(id) ON DELETE CASCADE,
    model_id TEXT NOT NULL REFERENCES taxonomy(id),
    PRIMARY KEY (paper_id, model_id)
);
CREATE INDEX IF NOT EXISTS studies_model ON studies(model_id, paper_id);
CREATE TABLE IF NOT EXISTS list_sections (
    id TEXT PRIMARY KEY, title TEXT NOT NULL, path TEXT NOT NULL, topic_key TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS listed_in (
    paper_id TEXT NOT NULL REFERENCES papers(id) ON DELETE CASCADE,
    section_id TEXT NOT NULL REFERENCES list_sections(id),
    position INTEGER NOT NULL,
    tldr TEXT, techniques_text TEXT, evaluation_text TEXT, title_in_list TEXT, url_in_list TEXT,
    line INTEGER,
    PRIMARY KEY (paper_id, section_id)
);
CREATE INDEX IF NOT EXISTS listed_in_section ON listed_in(section_id, paper_id);
CREATE TABLE IF NOT EXISTS ingest_runs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE, source TEXT NOT NULL, started TEXT NOT NULL, finished TEXT,
    status TEXT NOT NULL, counts TEXT NOT NULL DEFAULT '{}', watermark TEXT, message TEXT
);
CREATE INDEX IF NOT EXISTS ingest_runs_source ON ingest_runs(source, seq);
CREATE TABLE IF NOT EXISTS locks (
    name TEXT PRIMARY KEY, owner TEXT NOT NULL, acquired TEXT NOT NULL, expires REAL NOT NULL
);
-- Former paper ids (a slug replaced by its arXiv id) and the id the paper has now: old links work.
CREATE TABLE IF NOT EXISTS paper_aliases (old_id TEXT PRIMARY KEY, paper_id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS paper_aliases_paper ON paper_aliases(paper_id);
-- Every citation key ever issued (kg.store) and the paper holding it now: a key stays taken when its
-- paper is merged into another or deleted, so it never comes to name another paper. held: 1 for the
-- key paper_id holds (or held last, when it was removed: a paper stored again gets that one back).
CREATE TABLE IF NOT EXISTS citation_keys (
    key TEXT PRIMARY KEY, paper_id TEXT NOT NULL, held INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS citation_keys_paper ON citation_keys(paper_id);
CREATE TABLE IF NOT EXISTS rejections (
    arxiv_id TEXT NOT NULL, run_id TEXT NOT NULL DEFAULT '', title TEXT NOT NULL,
    reason TEXT NOT NULL, score REAL NOT NULL, seen_at TEXT NOT NULL,
    PRIMARY KEY (arxiv_id, run_id)
);
CREATE INDEX IF NOT EXISTS rejections_seen ON rejections(seen_at);
CREATE TABLE IF NOT EXISTS embedding_cache (
    model TEXT NOT NULL, text_hash TEXT NOT NULL, vector BLOB NOT NULL,
    PRIMARY KEY (model, text_hash)
) WITHOUT ROWID;
CREATE VIRTUAL TABLE IF NOT EXISTS papers_fts USING fts5(
    title, abstract, authors, tokenize = 'unicode61 remove_diacritics 2'
);
"""

# Keyword search's index of each paper's venue (validation.venue_search_text; rowid: the paper's pk), a
# table of its own: FTS5's bm25() normalises a match by the length of the whole row, so a venue column
# in papers_fts would change every text score. Not in SCHEMA: init_schema makes it in a file an older
# paperkg wrote, which a reading command (`paperkg backup` too) still opens as it is.
VENUES_FTS = ("CREATE VIRTUAL TABLE IF NOT EXISTS venues_fts USING fts5(venue, "
              "tokenize = 'unicode61 remove_diacritics 2')")

# What a file written by this version holds (the script above plus _migrate): a file that has all of
# it is opened without running the script, which would wait for the write lock of any writer.
SCHEMA_TABLES = frozenset(re.findall(r"CREATE (?:VIRTUAL )?TABLE IF NOT EXISTS (\w+)", SCHEMA))
# Indexes on columns _migrate may add, so made after it: name -> the papers columns indexed.
MIGRATION_INDEXES = {
    # The technique page's centrality order and the new papers' (newest stored first) whole, equal keys
    # by id: a page is read off the index, never sorted (papers_browse holds the date order).
    "papers_central_id": "degree DESC, sort_date DESC, id DESC",
    "papers_new": "first_seen DESC, id DESC",
    # Everything the filters and filter_page's order read, without the (wide) paper rows: in date
    # order, to walk newest first; by id, for the papers a technique, topic or section picks.
    "papers_browse": "sort_date DESC, id DESC, year, sources",
    "papers_id_browse": "id, year, sources, sort_date",
    # A paper by its citation key, and (IS NULL) the papers init_schema is still to issue one.
    "papers_citation_key": "citation_key",
}
SCHEMA_INDEXES = (frozenset(re.findall(r"CREATE INDEX IF NOT EXISTS (\w+)", SCHEMA))
                  | frozenset(MIGRATION_INDEXES))
# Indexes only the speed of some queries needs, newer than files still in use: a file without them is
# current all the same (a reading command reads it as it is, the queries run slower), and opening it for
# writing makes them without waiting for a writer. No query names one in INDEXED BY unless it is there.
OPTIONAL_INDEXES = frozenset({"papers_central_id", "papers_new"})
# What a file must hold to be current (an INDEXED BY hint may name these unchecked).
REQUIRED_INDEXES = SCHEMA_INDEXES - OPTIONAL_INDEXES
# An older paperkg's listing indexes (ties by pk, the order papers were written in), which its queries
# name in INDEXED BY: never dropped, or a process of that version still running on the file (a rolling
# restart, a server left on it) would fail every technique page. A new file has none.
PREVIOUS_VERSION_INDEXES = ("papers_sort", "papers_central")
MIGRATED_COLUMNS = {"papers": {"sort_date", "extraction_hash", "arxiv_version", "citation_key",
                               "citation_key_pinned"},
                    "list_sections": {"topic_key"}, "citation_keys": {"held"}}
