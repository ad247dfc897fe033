"""The embedded backend: GraphStore on one SQLite file (WAL, FTS5).

Nodes and relationships are tables. Keyword search is FTS5/BM25 over title, abstract, authors
and venue (validation.venue_search_text); vector search is an exact cosine top-k over the in-memory
matrix of kg/vector_index.py, refreshed incrementally when another process (or thread) commits:
every paper write bumps a global revision counter stored on the changed rows (deletions leave a
tombstone), so a reader reloads only rows with a newer revision.

Validation and the helpers both backends share live in kg/validation.py.

Topic semantics (filters, technique_counts, papers_by_technique and friends; Topic and Object
nodes alike): a paper touches a topic when one of its findings is ABOUT the topic, or when it is
LISTED_IN a list section whose innermost id segment, with "-" read as "_", contains the topic id
(e.g. section "findings-and-applications/findings-on-learning-dynamics" and topic
"learning_dynamics"). Filters combine with AND across kinds and OR within one kind (the technique
ids AND'ed instead when SearchFilters.technique_match is "all").
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import json
import logging
import os
import re
import secrets
import sqlite3
import stat
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from ingest.normalize import title_key, title_key_rule
from kg import sqlite_errors, validation
from kg.embedded_schema import (
    MIGRATED_COLUMNS,
    MIGRATION_INDEXES,
    OPTIONAL_INDEXES,
    REQUIRED_INDEXES,
    SCHEMA,
    SCHEMA_TABLES,
    VENUES_FTS,
)
from kg.entities import (
    EvaluationUse,
    Finding,
    FindingAbout,
    IngestRun,
    ListRow,
    Paper,
    PaperBundle,
    PaperDetail,
    Rejection,
    RelatedCandidate,
    ScoredId,
    SearchFilters,
    TaxonomyNode,
    TechniqueCount,
    TechniqueUse,
)
from kg.related_index import RelatedIndex
from kg.safe_output import shown_text
from kg.schema import EDGE_SOURCE_EXTRACTED, NODES, RELATIONSHIPS, TAXONOMY_LABELS, Label, Rel
from kg.sqlite_errors import (
    SQLITE_BUSY,
    SQLITE_CANTOPEN,
    SQLITE_LOCKED,
    SQLITE_READONLY,
    primary_code,
    sqlite_store_error,
)
from kg.store import (
    ANY_HOLDER,
    AnyHolder,
    AuthorPage,
    GraphStore,
    KeyRestore,
    LockHeld,
    NoStore,
    StoreDamaged,
    StoreError,
    StoreUnavailable,
    alias_rows,
    check_citation_key,
    citation_key_base,
    has_authors,
    issue_citation_keys,
    plan_citation_keys,
    plan_key_restore,
)
from kg.title_matches import list_title_matches, preferred_title_matches
from kg.validation import (
    Prepared,
    check_page,
    check_paper_id,
    check_references,
    check_run_status,
    check_sort,
    classify,
    dedupe_evaluations,
    dedupe_techniques,
    embedding_vector,
    fold_for_search,
    lock_held_message,
    new_run,
    normalise_since,
    paper_authors,
    prepare_batch,
    search_fold_rule,
    search_forms,
    search_terms,
    section_topic_key,
    shared_title_keys_warning,
    taxonomy_references,
    unique_list_rows,
    unit_query,
    venue_search_text,
)
from kg.vector_index import EmbeddingMatrix

log = logging.getLogger(__name__)

# init_schema recomputes stored title keys (see title_key_rule), and re-folds the full-text index's
# text (see search_fold_rule), this many papers per transaction.
_REKEY_BATCH = 2000

_PAPER_COLUMNS = (
    "id, arxiv_id, doi, title, abstract, authors_json, published, updated, year, venue, "
    "primary_category, categories, url, pdf_url, sources, item_type, embedding_model, "
    "content_hash, first_seen, last_seen, extraction_hash, arxiv_version, citation_key"
)
# The end of the range of keys starting with a given base: above every character a key may hold.
_KEY_PREFIX_END = "\U0010ffff"
_REFINES_LABELS = set(RELATIONSHIPS[Rel.REFINES].start)
_COUNT_LABELS = (Label.TECHNIQUE, Label.EVALUATION, Label.TOPIC, Label.OBJECT)
# BM25 column weights (title, abstract, authors: the papers_fts columns in order), and the venue's
# (venues_fts, a table of its own: see kg.embedded_schema.VENUES_FTS).
_BM25 = f"bm25(papers_fts, {', '.join(map(str, validation.KEYWORD_FIELD_WEIGHTS[:3]))})"
_VENUE_BM25 = f"{validation.KEYWORD_FIELD_WEIGHTS[3]} * bm25(venues_fts)"
# Keyword search when the query's words are also looked for in venues (EmbeddedStore._venue_forms: a
# short query's rarer words, so the matches are few): each paper's text and venue scores summed, then
# the filters ({where} over `papers p`; "1" for none).
_KEYWORD_WITH_VENUES = (
    f"SELECT p.id, t.r FROM (SELECT rowid, sum(r) AS r FROM (SELECT rowid, {_BM25} AS r FROM papers_fts "
    f"WHERE papers_fts MATCH ? UNION ALL SELECT rowid, {_VENUE_BM25} AS r FROM venues_fts "
    "WHERE venues_fts MATCH ?) GROUP BY rowid) t JOIN papers p ON p.pk = t.rowid WHERE {where} "
    "ORDER BY t.r, p.id LIMIT ?"
)
_IDS = "(SELECT value FROM json_each(?))"
# prune_taxonomy: the papers with an edge to a node (?: its id, four times), the statements moving its
# edges to another node (?: the target, then the node) and those dropping what is left of it (?: the node).
_NODE_PAPERS = (
    "SELECT paper_id FROM uses WHERE technique_id = ? UNION SELECT paper_id FROM evaluates "
    "WHERE evaluation_id = ? UNION SELECT paper_id FROM studies WHERE model_id = ? UNION "
    "SELECT f.paper_id FROM finding_about a JOIN findings f ON f.id = a.finding_id WHERE a.node_id = ?"
)
_MOVE_NODE_EDGES = (
    "INSERT OR IGNORE INTO uses (paper_id, technique_id, source, evidence, score) "
    "SELECT paper_id, ?1, source, evidence, score FROM uses WHERE technique_id = ?2",
    "INSERT OR IGNORE INTO evaluates (paper_id, evaluation_id, source, evidence) "
    "SELECT paper_id, ?1, source, evidence FROM evaluates WHERE evaluation_id = ?2",
    "INSERT OR IGNORE INTO studies (paper_id, model_id) SELECT paper_id, ?1 FROM studies WHERE model_id = ?2",
    "INSERT OR IGNORE INTO finding_about (finding_id, node_id, label) "
    "SELECT finding_id, ?1, label FROM finding_about WHERE node_id = ?2",
)
_DROP_NODE_EDGES = (
    "DELETE FROM uses WHERE technique_id = ?",
    "DELETE FROM evaluates WHERE evaluation_id = ?",
    "DELETE FROM studies WHERE model_id = ?",
    "DELETE FROM finding_about WHERE node_id = ?",
    "DELETE FROM refines WHERE child = ? OR parent = ?",
    "DELETE FROM taxonomy WHERE id = ?",
)
_INSERT_FTS = "INSERT INTO papers_fts (rowid, title, abstract, authors) VALUES (?, ?, ?, ?)"
_INSERT_VENUE = "INSERT INTO venues_fts (rowid, venue) VALUES (?, ?)"
# Filtered keyword search, two plans with one ranking (bm25, then id) over the matches that pass the
# filters ({where} over `papers p`). JOIN: each match's paper row is read to test the filters: cheap
# for a rare word, but a word in every paper reads all the (wide) rows, 0.3 s warm at 100k papers
# and near 1 s under load. SET: the filtered papers' pks are gathered first from the narrow indexes
# (one pass, its cost set by the filters, not the word) and bm25 is computed only for the matches
# among them. The unary + keeps that set out of FTS5's rowid lookups: FTS5 seeks each rowid in
# every term's doclist, ~4 ms each for a word in every paper.
_KEYWORD_FILTERED_JOIN = (
    f"SELECT p.id, {_BM25} AS r FROM papers_fts JOIN papers p ON p.pk = papers_fts.rowid "
    "WHERE papers_fts MATCH ? AND {where} ORDER BY r, p.id LIMIT ?"
)
# The matches (rowid, bm25) ranked inside FTS5, _keyword_top cuts at the best k: all of them (the
# unfiltered search), and the SET plan's, those among the filtered papers.
_KEYWORD_RANKED = f"SELECT rowid, {_BM25} AS r FROM papers_fts WHERE papers_fts MATCH ?"
_KEYWORD_FILTERED_SET = _KEYWORD_RANKED + " AND +rowid IN (SELECT p.pk FROM papers p WHERE {where})"
# A query matching at least 1/_COMMON_MATCH_SHARE of the papers takes the SET plan. Below that the
# JOIN plan reads at most that many rows (~15 ms warm at 100k papers), less than gathering a wide
# filter's set can cost (30-40 ms for a technique family or a source at 100k).
_COMMON_MATCH_SHARE = 20
# papers.sort_date, the newest-first key, in SQL: `published or (str(year) if year else "")`.
_SORT_DATE = "CASE WHEN published <> '' THEN published WHEN year <> 0 THEN CAST(year AS TEXT) ELSE '' END"
# Older files kept a year 0 as "0" and (back-filled) an empty published as "": only rows with such
# a key can be off, and the sort index finds them without a scan.
_STALE_SORT_DATE = f"sort_date IN ('', '0') AND sort_date <> {_SORT_DATE}"
# Papers touching a set of nodes of one label (the ids as a JSON list, bound once per "?"):
# Technique by USES, Evaluation by EVALUATES, Topic and Object by a finding ABOUT them or a list
# section whose topic_key contains their id (the filters' topic rule).
_TOPIC_PAPERS = (
    "SELECT f.paper_id FROM findings f JOIN finding_about a ON a.finding_id = f.id "
    f"WHERE a.node_id IN {_IDS} "
    "UNION SELECT l.paper_id FROM listed_in l JOIN list_sections s ON s.id = l.section_id "
    "JOIN json_each(?) t ON instr(s.topic_key, t.value) > 0"
)
# Papers touching a set of Model nodes: those studying one (STUDIES) or reporting a finding ABOUT one.
_MODEL_PAPERS = (
    f"SELECT paper_id FROM studies WHERE model_id IN {_IDS} "
    "UNION SELECT f.paper_id FROM findings f JOIN finding_about a ON a.finding_id = f.id "
    f"WHERE a.node_id IN {_IDS}"
)
# A family's step down (EmbeddedStore._family, a recursive query's d(id)): a node's refinements, or a
# component's sub-components. Components have no REFINES links (the schema gives those to techniques,
# criteria and topics), so the taxonomy's parent column is walked for them instead.
_REFINEMENTS = "SELECT r.child FROM refines r JOIN d ON r.parent = d.id"
_SUB_COMPONENTS = (
    f"SELECT t.id FROM taxonomy t JOIN d ON t.parent = d.id WHERE t.label = '{Label.COMPONENT}'"
)
# Papers reporting a finding ABOUT one of a set of Component nodes (the set expanded by _family with
# _SUB_COMPONENTS; the label as Cypher's (c:Component) has it).
_COMPONENT_PAPERS = (
    "SELECT f.paper_id FROM findings f JOIN finding_about a ON a.finding_id = f.id "
    f"WHERE a.node_id IN {_IDS} AND a.label = '{Label.COMPONENT}'"
)
_PAPERS_TOUCHING: dict[str, str] = {
    Label.TECHNIQUE: f"SELECT paper_id FROM uses WHERE technique_id IN {_IDS}",
    Label.EVALUATION: f"SELECT paper_id FROM evaluates WHERE evaluation_id IN {_IDS}",
    Label.TOPIC: _TOPIC_PAPERS,
    Label.OBJECT: _TOPIC_PAPERS,
}


# Nodes whose papers related_candidates keeps in memory, each with the JSON array of the papers
# touching it (a paper may repeat): techniques by USES; Topic, Object, Component and Model nodes by
# a finding ABOUT them or (models) by STUDIES. {only} limits them to the papers of a JSON list :ids.
_SHARED_POSTINGS = (
    ("technique", "SELECT technique_id, json_group_array(paper_id) FROM uses {only} GROUP BY technique_id"),
    ("about", "SELECT node, json_group_array(pid) FROM (SELECT a.node_id AS node, f.paper_id AS pid "
              "FROM finding_about a JOIN findings f ON f.id = a.finding_id {only_f} "
              "UNION ALL SELECT model_id, paper_id FROM studies {only}) GROUP BY node"),
)
SHARED_KINDS = tuple(kind for kind, _ in _SHARED_POSTINGS)
_ONLY_IDS = "WHERE {col} IN (SELECT value FROM json_each(:ids))"
_SHARED_POSTINGS_ALL = tuple((k, sql.format(only="", only_f="")) for k, sql in _SHARED_POSTINGS)
_SHARED_POSTINGS_OF = tuple(
    (k, sql.format(only=_ONLY_IDS.format(col="paper_id"), only_f=_ONLY_IDS.format(col="f.paper_id")))
    for k, sql in _SHARED_POSTINGS
)


def _fts_text(title: str, abstract: str, authors: str) -> tuple[str, str, str]:
    """A paper's title, abstract and authors as papers_fts holds them (see fold_for_search)."""
    return fold_for_search(title), fold_for_search(abstract), fold_for_search(authors)


def _venue_text(venue: str | None, url: str | None) -> str:
    """A paper's venue as venues_fts holds it: validation.venue_search_text (with the organisation its
    URL's host names), folded (fold_for_search)."""
    return fold_for_search(venue_search_text(venue, url))


def _fts_phrase(word: str) -> str:
    """A word quoted as an FTS5 string: user text is never query syntax."""
    return '"' + word.replace('"', '""') + '"'


def _fts_match(words: Iterable[str]) -> str:
    """An FTS5 query for any of the words (each a quoted phrase: user text is never query syntax)."""
    return " OR ".join(map(_fts_phrase, words))


def _sort_date(paper: Paper) -> str:
    """The newest-first key of a paper: its published date, else its year, else "" (undated last)."""
    return paper.published or (str(int(paper.year)) if paper.year else "")


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _wait_for_writers(conn: sqlite3.Connection, seconds: float) -> None:
    """How long `conn` waits for another connection's write lock before SQLITE_BUSY."""
    conn.execute(f"PRAGMA busy_timeout = {int(seconds * 1000)}")


def _sqlite_connect(target: str, *, uri: bool = False) -> sqlite3.Connection:
    """A connection without implicit transactions (each is begun explicitly) that waits for writers."""
    conn = sqlite3.connect(target, uri=uri, timeout=sqlite_errors.BUSY_TIMEOUT_SECONDS, isolation_level=None,
                           check_same_thread=False)
    _wait_for_writers(conn, sqlite_errors.BUSY_TIMEOUT_SECONDS)
    return conn


def _writable(directory: Path) -> bool:
    return os.access(directory, os.W_OK)


def _read_only_filesystem(directory: Path) -> bool:
    """The directory is on a read-only mount: then nobody, any user or process, can write the store."""
    try:
        return bool(os.statvfs(directory).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def _has_paperkg_meta(conn: sqlite3.Connection) -> bool:
    """The file holds paperkg's meta table with its revision counter (what init_schema writes first)."""
    row = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone()
    return row is not None and conn.execute("SELECT 1 FROM meta WHERE key = 'rev'").fetchone() is not None


def _has_index(conn: sqlite3.Connection, name: str) -> bool:
    """The file has an index of that name (read from the connection's cached schema: microseconds)."""
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?", (name,)).fetchone() \
        is not None


def check_store_file(path: Path) -> None:
    """Raise NoStore unless `path` is an initialised paperkg store: a missing file, a 0-byte file (a
    failed copy or restore) and an SQLite file without paperkg's tables are no store; StoreDamaged
    when the file cannot be read. Opens the file read-only and writes nothing."""
    path = Path(path)
    if not path.is_file():
        raise NoStore(f"no paperkg store in {path.parent.resolve()} (PAPERKG_DATA_DIR): set it to the "
                      "directory you ingested into (`make demo` uses demo-data/), or run `paperkg init` and "
                      "an ingest there")
    if path.stat().st_size == 0:
        raise NoStore(f"{path.resolve()} is empty: not a paperkg store (a failed copy or restore?); run "
                      "`paperkg init` or point PAPERKG_DATA_DIR at your data")
    store = EmbeddedStore(path, read_only=True, check_schema=False)
    try:
        with store._read() as conn:
            if not _has_paperkg_meta(conn):
                raise NoStore(f"{path.resolve()} is an SQLite file without paperkg's tables: not a paperkg "
                              "store; run `paperkg init` or point PAPERKG_DATA_DIR at your data")
    except sqlite3.Error as exc:
        raise sqlite_store_error(path, exc, writing=False) from exc
    finally:
        store.close()


# A backup's copy and the files SQLite may write beside it (its journal; -wal and -shm once the copied
# header puts it in WAL mode, as the store's own is).
_PARTIAL_FILES = ("", "-journal", "-wal", "-shm")


@dataclass
class _UpkeepOutcome:
    """Whether an upkeep pass (EmbeddedStore._upkeep) did its work or left it for later."""

    done: bool = True


def _generation(conn: sqlite3.Connection) -> str | None:
    """The store file's generation: set by each backup in its copy (None in a file no backup wrote), so a
    restored copy is told from the file it replaced even when their revisions agree."""
    row = conn.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
    return None if row is None else str(row[0])


def _remove_partial(partial: Path) -> None:
    """Remove a failed backup's `partial` file and its -journal, -wal and -shm, those there are. Any error
    is passed over: the failure that brought the backup here is the one to report (a path under a
    regular file, a read-only directory), and unlink(missing_ok=True) raised again for those, a
    traceback in its place."""
    for suffix in _PARTIAL_FILES:
        # One at a time: a -shm that cannot be removed must not keep the -wal beside the target.
        with contextlib.suppress(OSError):
            partial.with_name(partial.name + suffix).unlink()


class BackupExists(StoreError):
    """A backup's FILE was written by another process (another backup to it) while the copy was made."""


# Each backup writes its copy to FILE.partial-<pid>-<8 hex digits> (its own name: two backups to one FILE
# no longer delete each other's copy) and holds it flock'ed while it runs, so another backup tells a
# killed run's leftovers (unlocked) from a copy still being written. FILE.partial: older releases' name.
_PARTIAL_NAME = re.compile(r"(\.partial(?:-\d+-[0-9a-f]{8})?)(-journal|-wal|-shm)?")
# flock errors meaning the filesystem has no such locks (then nobody can tell a live copy: none is removed).
_NO_FLOCK = (errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL)
# link(2) errors of filesystems without hard links (vfat, some FUSE mounts).
_NO_LINK = (errno.EPERM, errno.EOPNOTSUPP, errno.EMLINK, errno.ENOSYS)


def _partial_copy_of(destination: Path, name: str) -> str | None:
    """The name of the backup copy `name` (a copy or its -journal, -wal or -shm) is part of, when it is one a
    backup to `destination` writes, else None."""
    if not name.startswith(destination.name):
        return None
    match = _PARTIAL_NAME.fullmatch(name[len(destination.name):])
    return None if match is None else destination.name + match.group(1)


def _remove_if_dead(copy: Path, beside: Sequence[Path]) -> None:
    """Remove a backup copy and the files beside it unless a running backup holds the copy locked. It is
    removed while this process holds its lock: a backup that had just created it sees it gone and takes
    another name (_claim_partial)."""
    try:
        fd = os.open(copy, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        fd = -1  # only its -journal, -wal or -shm are left (a live run has its copy until they are gone)
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            return  # cannot tell whose it is: left alone
        # A symbolic link is no run's copy; SQLite would follow it and write where it leads.
        with contextlib.suppress(OSError):
            copy.unlink()
        fd = -1
    if fd >= 0:
        try:
            if stat.S_ISREG(os.fstat(fd).st_mode):
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:  # held by a running backup (or no flock here: cannot tell)
                    return
            with contextlib.suppress(OSError):
                copy.unlink()
        finally:
            os.close(fd)
    for path in beside:
        with contextlib.suppress(OSError):
            path.unlink()


def _remove_dead_partials(destination: Path) -> None:
    """Remove what killed backups to `destination` left beside it (copies no running backup holds locked,
    and their -journal, -wal and -shm); errors are passed over (creating this run's copy reports them)."""
    copies: dict[str, list[Path]] = {}
    with contextlib.suppress(OSError), os.scandir(destination.parent) as entries:
        for entry in entries:
            copy = _partial_copy_of(destination, entry.name)
            if copy is not None:
                copies.setdefault(copy, [])
                if entry.name != copy:
                    copies[copy].append(destination.parent / entry.name)
    for copy, beside in copies.items():
        _remove_if_dead(destination.parent / copy, beside)


def _claim_partial(destination: Path) -> tuple[Path, int]:
    """Create this backup's copy file beside `destination` under a name no other run uses and lock it
    (flock) for as long as the returned descriptor is open: the mark of a live run."""
    while True:
        partial = destination.with_name(f"{destination.name}.partial-{os.getpid()}-{secrets.token_hex(4)}")
        # O_EXCL | O_NOFOLLOW: a new file, never one or a link already there (SQLite would follow a link).
        fd = os.open(partial, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)  # waits only while another backup's clean-up looks at it
            except OSError as exc:
                if exc.errno not in _NO_FLOCK:
                    raise
            # That clean-up may have taken it for a killed run's copy and removed it before we locked it.
            with contextlib.suppress(FileNotFoundError):
                now, ours = os.lstat(partial), os.fstat(fd)
                if (now.st_dev, now.st_ino) == (ours.st_dev, ours.st_ino):
                    return partial, fd
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)


def _put_in_place(partial: Path, destination: Path, replace: bool) -> None:
    """Rename the finished copy to `destination`. Without `replace` a file there is kept (BackupExists):
    a hard link is made (atomic: never over a file another process wrote meanwhile), then the copy's name
    removed; a filesystem without hard links gets a check just before the rename instead."""
    exists = BackupExists(f"{shown_text(str(destination))} exists (--force replaces it): another process "
                          "(another backup to it?) wrote it while this backup ran; it was kept")
    if replace:
        os.replace(partial, destination)
        return
    try:
        os.link(partial, destination, follow_symlinks=False)
    except FileExistsError:
        raise exists from None
    except OSError as exc:
        if exc.errno not in _NO_LINK:
            raise
        if os.path.lexists(destination):
            raise exists from None
        os.replace(partial, destination)
        return
    # The backup is in place: a name left behind is the next backup's to remove (nobody holds it locked).
    with contextlib.suppress(OSError):
        partial.unlink()


def _sync_directory(directory: Path) -> None:
    """fsync `directory`, so the copy's new name survives a crash right after the backup said it was done."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.EOPNOTSUPP):  # a filesystem that cannot sync a directory
            raise
    finally:
        os.close(fd)


class EmbeddedStore(GraphStore):
    """GraphStore on one SQLite file; safe for threads and for several processes."""

    def __init__(self, path: str | Path, *, read_only: bool = False, check_schema: bool = True) -> None:
        """Open (and unless `read_only`, create and initialise) the store file at `path`.

        `read_only`: the file must exist and is opened with SQLite's mode=ro; nothing is created,
        initialised or migrated, so opening never waits for a writer (`check_schema=False` skips
        even the read-only schema check, for check_store_file)."""
        self.path = Path(path)
        self.read_only = read_only
        if read_only:
            if not self.path.is_file():
                raise NoStore(f"no paperkg store at {self.path}")
        else:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreUnavailable(f"cannot create data directory {self.path.parent}: {exc}") from exc
        self._local = threading.local()
        # Each thread's connection with its thread, so those of finished threads can be closed.
        self._connections: list[tuple[threading.Thread, sqlite3.Connection]] = []
        self._connections_lock = threading.Lock()
        self._mirror = EmbeddingMatrix()
        self._mirror_lock = threading.Lock()
        self._shared = RelatedIndex(SHARED_KINDS)
        self._shared_lock = threading.Lock()
        # The file's generation (_generation) each was built from: another one is another file.
        self._mirror_generation: str | None = None
        self._shared_generation: str | None = None
        # technique_counts' own and total counts with the state they were counted at (_counts_key).
        self._counts: tuple[tuple[Any, ...], dict[str, int], dict[str, int]] | None = None
        self._counts_lock = threading.Lock()
        self._dirty = True
        self._closed = False
        if check_schema:
            self.init_schema()

    # -- connections -----------------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            return conn
        # A forked child (e.g. a gunicorn worker) must not reuse its parent's connection.
        if conn is not None:
            self._reset_after_fork()
        if self._closed:
            raise StoreError(f"store {self.path} is closed")
        conn = self._connect()
        self._local.conn = conn
        self._local.pid = os.getpid()
        self._local.data_version = None
        with self._connections_lock:
            # A threaded server starts a thread per request: close the connections of threads that
            # have ended, or every request would leave two file descriptors open.
            alive = []
            for thread, other in self._connections:
                if thread.is_alive():
                    alive.append((thread, other))
                else:
                    with contextlib.suppress(sqlite3.Error):
                        other.close()
            self._connections = [*alive, (threading.current_thread(), conn)]
        return conn

    def _connect(self) -> sqlite3.Connection:
        """A new connection: read-write in WAL mode, or read-only (mode=ro) for a read-only store.

        WAL readers need the -shm and -wal files beside the database, which a directory this process
        cannot write only holds while another process has the file open. On a read-only mount
        without them the store is opened in SQLite's immutable mode, right only there because no
        writer can exist; a directory merely closed to this user (chmod -w) may have a writer of
        another user, so there the store is opened mode=ro and fails with advice if SQLite cannot."""
        readonly_dir = not _writable(self.path.parent)
        try:
            if self.read_only or (readonly_dir and self.path.is_file()):
                conn = self._connect_read_only(readonly_dir)
            else:
                conn = _sqlite_connect(str(self.path))
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA foreign_keys = ON")
                conn.execute("PRAGMA synchronous = NORMAL")
            # 64 MB page cache: bulk loads into a 100k-paper file touch many index pages.
            conn.execute("PRAGMA cache_size = -65536")
        except sqlite3.Error as exc:
            code = primary_code(exc)
            if code == SQLITE_CANTOPEN and not os.path.lexists(self.path.parent):
                # Moved or removed after the store was opened: os.access says "not writable" of a
                # directory that is not there, which is no reason to advise making it writable.
                raise StoreUnavailable(
                    f"cannot open SQLite store {self.path}: no paperkg store in {self.path.parent} "
                    "(PAPERKG_DATA_DIR): the directory does not exist (moved or removed?)") from exc
            if code in (SQLITE_CANTOPEN, SQLITE_READONLY) and readonly_dir:
                raise StoreUnavailable(
                    f"cannot open SQLite store {self.path}: its directory is read-only and SQLite's WAL "
                    f"mode needs to create {self.path.name}-shm and -wal there ({exc}); make "
                    f"{self.path.parent} writable for this user, or copy the store to a writable "
                    "directory") from exc
            error = sqlite_store_error(self.path, exc, writing=False)
            # A read-only file keeps saying so (retrying will not help); nothing more specific: the
            # store cannot be opened.
            if type(error) is StoreError and code != SQLITE_READONLY:
                raise StoreUnavailable(f"cannot open SQLite store {self.path}: {exc}") from exc
            raise error from exc
        return conn

    def _connect_read_only(self, readonly_dir: bool) -> sqlite3.Connection:
        """A mode=ro connection; on a read-only mount without a -wal file, an immutable one."""
        from urllib.parse import quote

        uri = f"file:{quote(str(self.path.resolve()))}?mode=ro"
        wal = self.path.with_name(self.path.name + "-wal")
        if readonly_dir and not wal.exists() and _read_only_filesystem(self.path.parent):
            # A read-only mount and no -wal file: no process writes the store, and none can.
            uri += "&immutable=1"
        return _sqlite_connect(uri, uri=True)

    def _reset_after_fork(self) -> None:
        self._local = threading.local()
        self._connections = []
        self._connections_lock = threading.Lock()
        self._mirror_lock = threading.Lock()
        self._shared_lock = threading.Lock()
        self._counts_lock = threading.Lock()
        self._dirty = True

    def _error(self, exc: sqlite3.Error, *, writing: bool = False) -> StoreError:
        return sqlite_store_error(self.path, exc, writing=writing)

    def _begin(self, conn: sqlite3.Connection, statement: str, *, writing: bool = False) -> None:
        try:
            conn.execute(statement)
        except sqlite3.Error as exc:  # e.g. locked by another writer past busy_timeout
            raise self._error(exc, writing=writing) from exc

    @staticmethod
    def _rollback(conn: sqlite3.Connection) -> None:
        # After an I/O error SQLite may have rolled back already, or the ROLLBACK fails in turn:
        # the original error is the one to report.
        if conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE: the write lock is taken up front).

        Any SQLite error in it (a statement or the COMMIT: a full disk, a file size limit, a damaged
        page) rolls it back and is raised as a StoreError saying what happened."""
        if self.read_only:
            raise StoreError(f"store {self.path} was opened read-only")
        conn = self._conn()
        self._begin(conn, "BEGIN IMMEDIATE", writing=True)
        try:
            yield conn
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback(conn)
            raise self._error(exc, writing=True) from exc
        except BaseException:
            self._rollback(conn)
            raise

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """One read transaction: a consistent snapshot across several statements."""
        conn = self._conn()
        self._begin(conn, "BEGIN")
        try:
            yield conn
        except BaseException:
            self._rollback(conn)
            raise
        if conn.in_transaction:
            conn.execute("COMMIT")

    def _bump_rev(self, conn: sqlite3.Connection) -> int:
        conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'rev'")
        return int(conn.execute("SELECT value FROM meta WHERE key = 'rev'").fetchone()[0])

    # -- lifecycle -------------------------------------------------------------------------
    def init_schema(self) -> None:
        """Create every table and index if missing, and add columns newer versions need (idempotent).

        A file that already holds the current schema is only read: the script's writes would wait
        for (and take) the write lock, so readers would queue behind a long ingest. A read-only
        store is never changed: a file without paperkg's tables raises NoStore, an older schema
        says to run `paperkg init`, and title keys of an older title_key rule and the full-text
        index's text of an older fold are left as they are (elsewhere they are recomputed: see
        _rekey_titles and _refold_search_text)."""
        conn = self._conn()
        try:
            with self._read() as rconn:
                tables_current = self._tables_current(rconn)
                keys_current = tables_current and self._title_keys_current(rconn)
                fold_current = tables_current and self._search_fold_current(rconn)
                index_current = tables_current and self._search_index_current(rconn)
                cites_issued = tables_current and self._citation_keys_issued(rconn)
                indexes_made = tables_current and self._optional_indexes_made(rconn)
                if keys_current and fold_current and index_current and cites_issued and indexes_made:
                    return
                known = _has_paperkg_meta(rconn)
        except sqlite3.Error as exc:
            raise self._error(exc) from exc
        if self.read_only:
            if tables_current:
                # Only the title keys or the folded text are stale: reading commands never match
                # titles, and keyword search also looks for words as the older fold left them
                # (validation.search_forms); in a file without the venues' index, not in venues. A
                # missing OPTIONAL_INDEXES index only makes some listings slower.
                return
            if not known:
                raise NoStore(f"{self.path.resolve()} holds no paperkg store; run `paperkg init` or point "
                              "PAPERKG_DATA_DIR at your data")
            raise StoreError(f"{self.path} holds an older (or incomplete) paperkg schema, which a reading "
                             "command does not change: run `paperkg init` there once")
        if tables_current:
            # Only the title keys or the folded text are stale. Opening (the API's way too) must not
            # queue behind a writer: when one is active they are left for later (an ingest brings them
            # current once it holds the ingest lock, see ingest.store_lock).
            if not keys_current:
                self._rekey_titles(wait=False)
            if not index_current:
                self._create_venue_index(wait=False)
            if not fold_current or not index_current:
                self._refold_search_text(wait=False)
            if not cites_issued:
                self._issue_missing_citation_keys(wait=False)
            if not indexes_made:
                self._create_optional_indexes(wait=False)
            return
        try:
            # One transaction: a write failing half-way (a full disk) leaves no half-made schema behind.
            # IF NOT EXISTS makes the script a no-op on a file that has it.
            conn.executescript(f"BEGIN IMMEDIATE;\n{SCHEMA}\nCOMMIT;")
        except sqlite3.Error as exc:
            self._rollback(conn)
            raise self._error(exc, writing=True) from exc
        try:
            self._migrate(conn)
        except sqlite3.Error as exc:
            raise self._error(exc, writing=True) from exc

    @staticmethod
    def _search_fold_current(conn: sqlite3.Connection) -> bool:
        """papers_fts holds the text folded by the current fold_for_search (see search_fold_rule)."""
        row = conn.execute("SELECT value FROM meta WHERE key = 'search_fold_rule'").fetchone()
        return row is not None and row[0] == search_fold_rule()

    @staticmethod
    def _search_index_current(conn: sqlite3.Connection) -> bool:
        """The venues' index (kg.embedded_schema.VENUES_FTS) exists: an older paperkg made none."""
        return conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'venues_fts'").fetchone() is not None

    @staticmethod
    def _title_keys_current(conn: sqlite3.Connection) -> bool:
        """The stored title keys were computed by the current title_key rule (see title_key_rule)."""
        row = conn.execute("SELECT value FROM meta WHERE key = 'title_key_rule'").fetchone()
        return row is not None and row[0] == title_key_rule()

    @staticmethod
    def _optional_indexes_made(conn: sqlite3.Connection) -> bool:
        """Every index of OPTIONAL_INDEXES exists (a file the previous paperkg wrote has none)."""
        return all(_has_index(conn, name) for name in OPTIONAL_INDEXES)

    def _create_optional_indexes(self, *, wait: bool = True) -> None:
        """Make the OPTIONAL_INDEXES a current file lacks. A file this process cannot write keeps
        without them; without `wait`, a write lock held by another process leaves them for later, at once."""
        with self._upkeep(wait, "listings without their newer indexes", "are indexed"), \
                self._write() as wconn:
            for name in sorted(OPTIONAL_INDEXES):
                wconn.execute(f"CREATE INDEX IF NOT EXISTS {name} ON papers({MIGRATION_INDEXES[name]})")

    def _tables_current(self, conn: sqlite3.Connection) -> bool:
        """Every table, required index (not OPTIONAL_INDEXES) and migrated column of this version exists,
        and no sort key is stale."""
        objects = {(kind, name) for kind, name in conn.execute("SELECT type, name FROM sqlite_master")}
        if not all(("table", t) in objects for t in SCHEMA_TABLES):
            return False
        if not all(("index", i) in objects for i in REQUIRED_INDEXES):
            return False
        for table, wanted in MIGRATED_COLUMNS.items():
            if not wanted <= {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}:
                return False
        meta = conn.execute("SELECT count(*) FROM meta WHERE key IN ('rev', 'schema_version')").fetchone()
        if meta[0] != 2:
            return False
        return conn.execute(f"SELECT 1 FROM papers WHERE {_STALE_SORT_DATE} LIMIT 1").fetchone() is None

    def _migrate(self, conn: sqlite3.Connection) -> None:
        """Columns added after the first files were written, with their indexes and back-fills."""
        columns = {t: {r[1] for r in conn.execute(f"PRAGMA table_info({t})")} for t in MIGRATED_COLUMNS}
        missing_papers = MIGRATED_COLUMNS["papers"] - columns["papers"]
        stale_registry = "held" not in columns["citation_keys"]
        if missing_papers or "topic_key" not in columns["list_sections"] or stale_registry:
            with self._write() as wconn:
                if "sort_date" not in columns["papers"]:
                    wconn.execute("ALTER TABLE papers ADD COLUMN sort_date TEXT NOT NULL DEFAULT ''")
                    wconn.execute(f"UPDATE papers SET sort_date = {_SORT_DATE}")
                if "extraction_hash" not in columns["papers"]:
                    # NULL: the next ingest extracts those papers once more and records the hash.
                    wconn.execute("ALTER TABLE papers ADD COLUMN extraction_hash TEXT")
                if "arxiv_version" not in columns["papers"]:
                    # NULL: version unknown, so the weekly run compares those papers' dates as before
                    # until their next arXiv metadata records the version.
                    wconn.execute("ALTER TABLE papers ADD COLUMN arxiv_version INTEGER")
                if "citation_key" not in columns["papers"]:
                    # NULL: issued below (_issue_missing_citation_keys), as a full export keyed them.
                    wconn.execute("ALTER TABLE papers ADD COLUMN citation_key TEXT")
                if "citation_key_pinned" not in columns["papers"]:
                    wconn.execute(
                        "ALTER TABLE papers ADD COLUMN citation_key_pinned INTEGER NOT NULL DEFAULT 0")
                if stale_registry:
                    # A registry written before keys were marked held (never released): a stored paper's
                    # key is the one it holds; a removed paper's keys read in key order (_citation_keys).
                    wconn.execute("ALTER TABLE citation_keys ADD COLUMN held INTEGER NOT NULL DEFAULT 0")
                    wconn.execute("UPDATE citation_keys SET held = 1 WHERE key IN (SELECT citation_key FROM "
                                  "papers WHERE papers.id = citation_keys.paper_id)")
                if "topic_key" not in columns["list_sections"]:
                    wconn.execute("ALTER TABLE list_sections ADD COLUMN topic_key TEXT NOT NULL DEFAULT ''")
                    sections = [r[0] for r in wconn.execute("SELECT id FROM list_sections")]
                    wconn.executemany("UPDATE list_sections SET topic_key = ? WHERE id = ?",
                                      [(section_topic_key(i), i) for i in sections])
        # An older paperkg's indexes (embedded_schema.PREVIOUS_VERSION_INDEXES) stay: its processes may
        # still run on this file and name them in INDEXED BY.
        for name, indexed in MIGRATION_INDEXES.items():
            conn.execute(f"CREATE INDEX IF NOT EXISTS {name} ON papers({indexed})")
        if conn.execute(f"SELECT 1 FROM papers WHERE {_STALE_SORT_DATE} LIMIT 1").fetchone() is not None:
            with self._write() as wconn:
                wconn.execute(f"UPDATE papers SET sort_date = {_SORT_DATE} WHERE {_STALE_SORT_DATE}")
        if not self._title_keys_current(conn):
            self._rekey_titles()
        index_current = self._search_index_current(conn)
        if not index_current:
            self._create_venue_index()
        if not index_current or not self._search_fold_current(conn):
            self._refold_search_text()
        if not self._citation_keys_issued(conn):
            self._issue_missing_citation_keys()

    @staticmethod
    def _citation_keys_issued(conn: sqlite3.Connection) -> bool:
        """Every paper holds a citation key (one written before keys were stored holds none)."""
        return conn.execute("SELECT 1 FROM papers WHERE citation_key IS NULL LIMIT 1").fetchone() is None

    def _issue_missing_citation_keys(self, *, wait: bool = True) -> None:
        """Issue a citation key to every paper without one (written before keys were stored), oldest first
        (first_seen, then id), in one transaction: the order and suffixes of the full BibTeX export
        (ingest.export_papers) of before, so the keys a user's .bib file holds from it stay theirs. A
        paper with authors gets its key pinned. A file this process cannot write keeps its papers
        unkeyed (reads give api.bibtex.key_base then); without `wait`, a write lock held by another
        process leaves them for the next open that writes or the next ingest, at once. Only what a key
        is made of is read, a row at a time: (id, base, pinned) of 100k papers is a few MB."""
        with self._upkeep(wait, "papers without a citation key", "are issued one"), self._write() as wconn:
            unkeyed: list[tuple[str, str, bool]] = []
            for pid, title, authors_json, year, venue, url, arxiv_id in wconn.execute(
                    "SELECT id, title, authors_json, year, venue, url, arxiv_id FROM papers "
                    "WHERE citation_key IS NULL ORDER BY first_seen, id"):
                paper = Paper(id=pid, title=title, authors=json.loads(authors_json), year=year,
                              venue=venue, url=url, arxiv_id=arxiv_id)
                unkeyed.append((pid, citation_key_base(paper), has_authors(paper.authors)))
            taken = {r[0] for r in wconn.execute("SELECT key FROM citation_keys")}
            issued = issue_citation_keys([(pid, base) for pid, base, _ in unkeyed], taken)
            wconn.executemany(
                "UPDATE papers SET citation_key = ?, citation_key_pinned = ? WHERE id = ?",
                [(issued[pid], int(pinned), pid) for pid, _, pinned in unkeyed])
            wconn.executemany("INSERT INTO citation_keys (key, paper_id, held) VALUES (?, ?, 1)",
                              [(key, pid) for pid, key in issued.items()])

    @staticmethod
    def _citation_keys(conn: sqlite3.Connection, bundles: list[PaperBundle]) -> dict[str, tuple[str, bool]]:
        """{paper id: (citation key, pinned)} for the papers about to be written (kg.store's rules): the
        key each holds, or the one it takes from a paper it replaces, or the one its id held last before
        it was removed, else one issued now and recorded as taken (one indexed look-up a base). Read
        before the replaced papers' keys move to their successors (Neo4jStore._citation_keys too)."""
        ids = [b.paper.id for b in bundles] + [old for b in bundles for old in b.replaces]
        held: dict[str, tuple[str | None, bool]] = {}
        seen: dict[str, str] = {}
        for pid, key, pinned, first_seen in conn.execute(
                "SELECT id, citation_key, citation_key_pinned, first_seen FROM papers "
                "WHERE id IN (SELECT value FROM json_each(?))", (json.dumps(ids),)):
            held[pid], seen[pid] = (key, bool(pinned)), first_seen
        unstored = [b.paper.id for b in bundles if b.paper.id not in held]
        former: dict[str, str] = {}
        if unstored:
            # The key it held last; a registry row written before `held` was kept: the first in key order.
            for pid, key in conn.execute(
                    "SELECT paper_id, key FROM citation_keys WHERE paper_id IN "
                    "(SELECT value FROM json_each(?)) ORDER BY paper_id, held DESC, key",
                    (json.dumps(unstored),)):
                former.setdefault(pid, key)
        kept, wanted = plan_citation_keys(bundles, held, former, seen)
        keys = {pid: (key, pinned) for pid, (key, pinned) in kept.items() if key}
        if wanted:
            taken: set[str] = set()
            for base in dict.fromkeys(base for _, base in wanted):
                taken.update(r[0] for r in conn.execute(
                    "SELECT key FROM citation_keys WHERE key >= ? AND key < ?",
                    (base, base + _KEY_PREFIX_END)))
            issued = issue_citation_keys(wanted, taken)
            conn.executemany("INSERT INTO citation_keys (key, paper_id, held) VALUES (?, ?, 1)",
                             [(key, pid) for pid, key in issued.items()])
            authored = {b.paper.id: has_authors(b.paper.authors) for b in bundles}
            keys.update((pid, (key, authored[pid])) for pid, key in issued.items())
        return keys

    def _rekey_titles(self, *, wait: bool = True) -> None:
        """Recompute every stored title key with the current title_key rule, _REKEY_BATCH papers per
        transaction, then record the rule's fingerprint (an interrupted pass is simply run again).

        A key computed by an older rule would not match the same title ingested again, which then
        became a second paper. Papers whose new keys coincide are all kept, with a WARNING naming
        them. A file this process cannot write (a read-only file or directory) keeps its keys: no
        ingest can write there either, and reads never match titles. Without `wait`, a write lock
        held by another process leaves the keys (and the fingerprint) as they are, at once."""
        changed: set[str] = set()

        def rekey(wconn: sqlite3.Connection, after: int) -> list[Any]:
            rows = wconn.execute("SELECT pk, title, title_key FROM papers WHERE pk > ? ORDER BY pk LIMIT ?",
                                 (after, _REKEY_BATCH)).fetchall()
            updates = [(key, pk) for pk, title, old in rows if (key := title_key(title)) != old]
            wconn.executemany("UPDATE papers SET title_key = ? WHERE pk = ?", updates)
            # Read only after every batch has committed: a failed one ends the pass.
            changed.update(key for key, _ in updates if key)
            return rows

        if not self._batched_upkeep(rekey, "title_key_rule", title_key_rule(), wait,
                                    "title keys of an older title-key rule", "are recomputed"):
            return
        groups: dict[str, list[str]] = {}
        for key, pid in self._conn().execute(
            "SELECT title_key, id FROM papers WHERE title_key IN (SELECT value FROM json_each(?)) "
            "ORDER BY title_key, pk", (json.dumps(sorted(changed)),),
        ):
            groups.setdefault(key, []).append(pid)
        warning = shared_title_keys_warning(groups)
        if warning:
            log.warning("%s: %s", self.path, warning)

    def _refold_search_text(self, *, wait: bool = True) -> None:
        """Rewrite the papers_fts rows whose text is not the papers' text folded by the current
        fold_for_search, _REKEY_BATCH papers per transaction, then record the fold's fingerprint.

        A file an older paperkg wrote indexed the text unfolded ("Søgaard"), which a folded query
        ("Sogaard") misses. Each row is deleted and inserted again in one transaction, so an
        interrupted pass leaves no paper indexed twice or not at all, and running it again (as the
        next open does: the fingerprint is recorded last) finishes it; rows already folded are left
        alone. A file this process cannot write keeps its text (keyword search also looks for the
        older fold's words, see validation.search_forms); without `wait`, a write lock held by another
        process leaves it as it is, at once, for the next ingest."""
        def refold(wconn: sqlite3.Connection, after: int) -> list[Any]:
            rows = wconn.execute(
                "SELECT p.pk, p.title, p.abstract, p.authors_text, f.title, f.abstract, f.authors "
                "FROM papers p LEFT JOIN papers_fts f ON f.rowid = p.pk WHERE p.pk > ? "
                "ORDER BY p.pk LIMIT ?", (after, _REKEY_BATCH),
            ).fetchall()
            stale = [(pk, *text) for pk, title, abstract, authors, *indexed in rows
                     if (text := _fts_text(title, abstract, authors)) != tuple(indexed)]
            wconn.executemany("DELETE FROM papers_fts WHERE rowid = ?", [(r[0],) for r in stale])
            wconn.executemany(_INSERT_FTS, stale)
            if rows and self._search_index_current(wconn):
                # The venues' index likewise (a file an older paperkg wrote has it empty).
                venues = [(pk, folded) for pk, venue, url, indexed in wconn.execute(
                    "SELECT p.pk, p.venue, p.url, v.venue FROM papers p LEFT JOIN venues_fts v "
                    "ON v.rowid = p.pk WHERE p.pk BETWEEN ? AND ?", (rows[0][0], rows[-1][0]))
                    if (folded := _venue_text(venue, url)) != indexed]
                wconn.executemany("DELETE FROM venues_fts WHERE rowid = ?", [(r[0],) for r in venues])
                wconn.executemany(_INSERT_VENUE, venues)
            return rows

        self._batched_upkeep(refold, "search_fold_rule", search_fold_rule(), wait,
                             "the full-text index's text of an older fold", "is re-folded")

    def _create_venue_index(self, *, wait: bool = True) -> None:
        """Make the venues' index in a file an older paperkg wrote (empty: _refold_search_text fills it,
        the fold's fingerprint having changed with it). A file this process cannot write keeps none
        (keyword search then looks in no venue); without `wait`, a write lock held by another process
        leaves it for later, at once."""
        with self._upkeep(wait, "no index of the venues", "is made"), self._write() as wconn:
            wconn.execute(VENUES_FTS)

    def _batched_upkeep(
        self, batch: Callable[[sqlite3.Connection, int], list[Any]], meta_key: str, fingerprint: str,
        wait: bool, what: str, redone: str,
    ) -> bool:
        """Run an upkeep pass: `batch` in one write transaction per call, given the last pk it has
        done (0 first) and returning the rows it read, pk first, until it reads fewer than
        _REKEY_BATCH; then record `fingerprint` as meta `meta_key`, last, so an interrupted pass is
        run again by the next open. False (logged) when it leaves `what` as it is (see _left_stale):
        without `wait`, a write lock held by another process ends it at once."""
        after = 0
        with self._upkeep(wait, what, redone) as outcome:
            while True:
                with self._write() as wconn:
                    rows = batch(wconn, after)
                if len(rows) < _REKEY_BATCH:
                    break
                after = rows[-1][0]
            with self._write() as wconn:
                wconn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                              (meta_key, fingerprint))
        return outcome.done

    @contextlib.contextmanager
    def _upkeep(self, wait: bool, what: str, redone: str) -> Iterator[_UpkeepOutcome]:
        """Around an upkeep pass's writes: without `wait`, a write lock held by another process fails
        them at once (the busy timeout is put back after); a failure _left_stale allows ends the block
        with `what` left as it is (outcome.done False), any other is raised."""
        conn = self._conn()
        if not wait:
            _wait_for_writers(conn, 0)
        outcome = _UpkeepOutcome()
        try:
            yield outcome
        except StoreError as exc:
            if not self._left_stale(exc, wait, what, redone):
                raise
            outcome.done = False
        finally:
            if not wait:
                _wait_for_writers(conn, sqlite_errors.BUSY_TIMEOUT_SECONDS)

    def _left_stale(self, exc: StoreError, wait: bool, what: str, redone: str) -> bool:
        """Whether an upkeep pass that failed with `exc` leaves `what` as it is (logged) rather than
        raising: on a file this process cannot write, or (without `wait`) while another one writes."""
        cause = exc.__cause__
        code = primary_code(cause) if isinstance(cause, sqlite3.Error) else None
        if code == SQLITE_READONLY:
            log.warning("%s keeps %s: %s", self.path, what, exc)
            return True
        if not wait and code in (SQLITE_BUSY, SQLITE_LOCKED):
            log.info("%s: another process is writing (it may be doing this very upkeep); %s %s by the next "
                     "process to open the store for writing once it is free, or the next ingest", self.path,
                     what, redone)
            return True
        return False

    def ping(self) -> None:
        """Raise StoreUnavailable unless the file answers a query."""
        try:
            self._conn().execute("SELECT count(*) FROM meta").fetchone()
        except sqlite3.Error as exc:
            error = self._error(exc)
            if isinstance(error, StoreDamaged):
                raise error from exc
            raise StoreUnavailable(f"SQLite store {self.path} does not answer: {error}") from exc

    def backup(self, destination: Path, *, replace: bool = False) -> int:
        """Copy the store to `destination` as one consistent snapshot, while other processes go on
        reading and writing it, and return how many papers the copy holds: SQLite's online backup,
        written beside the destination first (under a name of this run's) and renamed into place, so a
        failed copy leaves no file; a file at `destination` is kept (BackupExists) unless `replace`.
        Ingest locks are process state, not data: the copy holds none, and runs still "running" are
        recorded failed in it (their processes will never end them there)."""
        partial: Path | None = None
        fd = -1
        try:
            # SQLite says only "unable to open database file" for a directory that is not there.
            if not destination.parent.exists():
                raise StoreError(f"cannot back up {self.path} to {shown_text(str(destination))}: the "
                                 f"directory {shown_text(str(destination.parent))} does not exist")
            # What killed backups to this FILE left goes first (a stale -wal would be applied to a copy of
            # the same name); a copy another backup to it is still writing stays (it holds it locked).
            _remove_dead_partials(destination)
            partial, fd = _claim_partial(destination)
            target = sqlite3.connect(str(partial), isolation_level=None)
            try:
                # One step: the source is read in one read transaction, so the copy is one moment's.
                self._conn().backup(target)
                taken = validation.now()
                tables = {r[0] for r in target.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
                # A lock held by an ingest running now would stop every ingest of the restored copy
                # while that process lives.
                if "locks" in tables:
                    target.execute("DELETE FROM locks")
                # A generation of its own: a server whose store file is replaced by this copy rebuilds
                # its caches, whatever revision the copy has reached by then (_sync_mirror).
                if "meta" in tables:
                    target.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('generation', ?)",
                                   (secrets.token_hex(8),))
                # Its run would stay "running" in the restored copy (GET /api/status: weekly_interrupted)
                # until the copy's next ingest; failed, the next weekly run redoes its window as for any
                # failed run.
                if "ingest_runs" in tables:
                    target.execute(
                        "UPDATE ingest_runs SET status = 'failed', finished = ?, watermark = NULL, "
                        "message = ? WHERE status = 'running'",
                        (taken, f"did not finish in this copy: it was in progress when the backup was taken "
                                f"({taken}), so a store restored from it holds only what the run had written "
                                "by then; the next weekly run covers a weekly run's window again, other "
                                "ingests must be run again"))
                papers = int(target.execute("SELECT count(*) FROM papers").fetchone()[0])
                target.execute("PRAGMA journal_mode = DELETE")  # one self-contained file, no -wal
            finally:
                target.close()
            os.fsync(fd)
            _put_in_place(partial, destination, replace)
            _sync_directory(destination.parent)
            return papers
        except (sqlite3.Error, OSError) as exc:
            if partial is not None:
                _remove_partial(partial)
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            # FILE is the user's argument, printed on a terminal: its controls go (shown_text).
            raise StoreError(f"cannot back up {self.path} to {shown_text(str(destination))}: "
                             f"{reason}") from exc
        except BaseException:  # Ctrl-C, SIGTERM (as the CLI raises it), BackupExists: no store-sized leftover
            if partial is not None:
                _remove_partial(partial)
            raise
        finally:
            # Closed only now, its lock with it: closing another descriptor of the copy while SQLite had it
            # open would drop SQLite's own (POSIX) locks on it.
            if fd >= 0:
                os.close(fd)

    def close(self) -> None:
        """Close every connection this store opened (from any thread)."""
        self._closed = True
        with self._connections_lock:
            for _, conn in self._connections:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            self._connections.clear()
        self._local = threading.local()

    # -- taxonomy --------------------------------------------------------------------------
    def load_taxonomy(self, nodes: Sequence[TaxonomyNode]) -> None:
        """Upsert taxonomy nodes; REFINES links a node to a parent of the same label."""
        ids = {n.id: n for n in nodes}
        for node in nodes:
            if node.label not in TAXONOMY_LABELS:
                raise ValueError(f"taxonomy node {node.id!r}: unknown label {node.label!r}")
        with self._write() as conn:
            conn.executemany(
                "INSERT INTO taxonomy (id, label, name, aliases, ambiguous_aliases, parent, kind) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET label = excluded.label, "
                "name = excluded.name, aliases = excluded.aliases, "
                "ambiguous_aliases = excluded.ambiguous_aliases, parent = excluded.parent, "
                "kind = excluded.kind",
                [
                    (n.id, n.label, n.name, _json(list(n.aliases)), _json(list(n.ambiguous_aliases)),
                     n.parent, n.kind)
                    for n in nodes
                ],
            )
            labels = dict(conn.execute("SELECT id, label FROM taxonomy").fetchall())
            conn.executemany("DELETE FROM refines WHERE child = ?", [(i,) for i in ids])
            conn.executemany(
                "INSERT INTO refines (child, parent) VALUES (?, ?)",
                [
                    (n.id, n.parent) for n in nodes
                    if n.parent and labels.get(n.parent) == n.label and n.label in _REFINES_LABELS
                ],
            )

    def taxonomy_nodes(self, label: str | None = None) -> list[TaxonomyNode]:
        """All taxonomy nodes in load order, or those of one label."""
        rows = self._conn().execute(
            "SELECT label, id, name, aliases, ambiguous_aliases, parent, kind FROM taxonomy "
            "WHERE ? IS NULL OR label = ? ORDER BY seq", (label, label),
        ).fetchall()
        return [
            TaxonomyNode(label=r[0], id=r[1], name=r[2], aliases=json.loads(r[3]),
                         ambiguous_aliases=json.loads(r[4]), parent=r[5], kind=r[6])
            for r in rows
        ]

    def prune_taxonomy(self, moves: Mapping[str, str | None], *, write: bool = True) -> dict[str, int]:
        """Remove taxonomy nodes, moving or dropping their paper edges, in one transaction (GraphStore)."""
        moves = dict(moves)
        counts: dict[str, int] = {}
        touched: set[str] = set()
        with self._write() if write else self._read() as conn:
            labels = dict(conn.execute("SELECT id, label FROM taxonomy").fetchall())
            for node_id, target in moves.items():
                if node_id not in labels:
                    continue
                if write and target is not None and (target in moves
                                                     or labels.get(target) != labels[node_id]):
                    raise ValueError(f"taxonomy node {node_id!r}: its edges cannot move to {target!r} "
                                     f"(not a kept {labels[node_id]} node)")
                papers = {r[0] for r in conn.execute(_NODE_PAPERS, (node_id,) * 4)}
                counts[node_id] = len(papers)
                if not write:
                    continue
                touched |= papers
                if target is not None:
                    # An edge the paper already has to the target (same source) wins: its own evidence.
                    for statement in _MOVE_NODE_EDGES:
                        conn.execute(statement, (target, node_id))
                for statement in _DROP_NODE_EDGES:
                    conn.execute(statement, (node_id,) * statement.count("?"))
            if touched:
                # The papers' edges changed: a new revision, so every process's caches read them again;
                # degree counts edges as _write_changed does. Their extraction hash goes (NULL: stale, so
                # init's note and reextract take them up again, as after undoing a prune) and their
                # fingerprint too: an ingest of the bundle they had before is then written, not "unchanged".
                rev = self._bump_rev(conn)
                conn.execute(
                    "UPDATE papers SET rev = ?, extraction_hash = NULL, fingerprint = '', degree = "
                    "(SELECT count(*) FROM uses u WHERE u.paper_id = papers.id) "
                    "+ (SELECT count(*) FROM evaluates e WHERE e.paper_id = papers.id) "
                    "+ (SELECT count(*) FROM findings f WHERE f.paper_id = papers.id) "
                    "+ (SELECT count(*) FROM studies s WHERE s.paper_id = papers.id) "
                    "+ (SELECT count(*) FROM listed_in l WHERE l.paper_id = papers.id) "
                    f"WHERE id IN {_IDS}", (rev, json.dumps(sorted(touched))),
                )
        if write and counts:
            self._dirty = True
        return counts

    # -- writes ----------------------------------------------------------------------------
    def upsert_papers(self, bundles: Sequence[PaperBundle]) -> dict[str, str]:
        """Validate the whole batch, then write it in one transaction (see GraphStore)."""
        bundles = list(bundles)
        if not bundles:
            return {}
        prepared, finding_ids = prepare_batch(bundles)
        aliases = alias_rows(bundles)
        now = validation.now()
        with self._write() as conn:
            check_references(taxonomy_references(bundles),
                             dict(conn.execute("SELECT id, label FROM taxonomy").fetchall()))
            ids_json = json.dumps([b.paper.id for b in bundles])
            existing = {
                row[0]: (row[1], row[2])
                for row in conn.execute(
                    "SELECT id, fingerprint, first_seen FROM papers "
                    "WHERE id IN (SELECT value FROM json_each(?))", (ids_json,),
                )
            }
            clash = conn.execute(
                "SELECT id, paper_id FROM findings WHERE id IN (SELECT value FROM json_each(?)) "
                "AND paper_id NOT IN (SELECT value FROM json_each(?))",
                (json.dumps(list(finding_ids)), ids_json),
            ).fetchone()
            if clash:
                raise ValueError(
                    f"paper {finding_ids[clash[0]]!r}: finding id {clash[0]!r} belongs to paper {clash[1]!r}"
                )
            result, changed = classify(prepared, {pid: fp for pid, (fp, _) in existing.items()})
            unchanged = [pid for pid, status in result.items() if status == "unchanged"]
            if unchanged:
                # Now, but never before first_seen (a clock running slow since). Not the later of now and
                # the stored last_seen: one run with a fast clock would pin it in the future for good.
                conn.execute(
                    "UPDATE papers SET last_seen = max(first_seen, ?) "
                    "WHERE id IN (SELECT value FROM json_each(?))",
                    (now, json.dumps(unchanged)),
                )
            successor = {old: b.paper.id for b in bundles for old in b.replaces}
            # Keys are planned before the replaced papers' keys move to their successors (as in Neo4j): a
            # paper written changed, or replacing others (it may take over a pinned key of theirs).
            keyed = [b for b, _, _ in changed] + [b for b, _, _ in prepared
                                                  if b.replaces and result[b.paper.id] == "unchanged"]
            keys = self._citation_keys(conn, keyed) if keyed else {}
            carried: dict[str, str] = {}
            for old_id, first_seen in conn.execute(
                "SELECT id, first_seen FROM papers WHERE id IN (SELECT value FROM json_each(?))",
                (json.dumps(sorted(successor)),),
            ).fetchall():
                new_id = successor[old_id]
                carried[new_id] = min(first_seen, carried.get(new_id, first_seen))
                # It takes the replaced paper's first_seen (if earlier) and the replaced paper goes:
                # updated, even when its own bundle was unchanged (see GraphStore.upsert_papers).
                result[new_id] = "updated"
                # The old id leads to the new paper (old links keep working), so do ids that led to
                # the old one; an id that is a paper again is no alias any more.
                conn.execute("DELETE FROM paper_aliases WHERE old_id = ?", (new_id,))
                conn.execute("INSERT INTO paper_aliases (old_id, paper_id) VALUES (?, ?) ON CONFLICT(old_id) "
                             "DO UPDATE SET paper_id = excluded.paper_id", (old_id, new_id))
                conn.execute("UPDATE paper_aliases SET paper_id = ? WHERE paper_id = ?", (new_id, old_id))
                # Its citation keys stay taken, by the paper it went into (held: see below).
                conn.execute("UPDATE citation_keys SET paper_id = ?, held = 0 WHERE paper_id = ?",
                             (new_id, old_id))
            if changed:
                self._write_changed(conn, changed, existing, now, carried, keys)
            written = {b.paper.id for b, _, _ in changed}
            conn.executemany("UPDATE papers SET citation_key = ?, citation_key_pinned = ? WHERE id = ?",
                             [(key, int(pinned), pid) for pid, (key, pinned) in keys.items()
                              if pid not in written])
            # Of each keyed paper's keys (its own, those moved to it), the one it holds now.
            conn.executemany("UPDATE citation_keys SET held = (key = ?) WHERE paper_id = ?",
                             [(key, pid) for pid, (key, _) in keys.items()])
            # After the batch's papers are written and before the replaced ones go: an alias that is
            # a paper's id (stored, of this batch, or replaced now: the replacement leads it on) is none.
            conn.executemany(
                "INSERT INTO paper_aliases (old_id, paper_id) SELECT ?, ? "
                "WHERE NOT EXISTS (SELECT 1 FROM papers WHERE id = ?) ON CONFLICT(old_id) "
                "DO UPDATE SET paper_id = excluded.paper_id WHERE paper_id != excluded.paper_id",
                [(a["old_id"], a["paper_id"], a["old_id"]) for a in aliases],
            )
            conn.executemany(
                "UPDATE papers SET first_seen = min(first_seen, ?) WHERE id = ?",
                [(first_seen, pid) for pid, first_seen in carried.items() if pid not in written],
            )
            for old_id in sorted(successor):
                self._delete(conn, old_id)
        if changed or successor:
            self._dirty = True
        return result

    def _write_changed(
        self, conn: sqlite3.Connection, changed: list[Prepared],
        existing: dict[str, tuple[str, str]], now: str, carried: dict[str, str],
        keys: dict[str, tuple[str, bool]],
    ) -> None:
        rev = self._bump_rev(conn)
        ids = [b.paper.id for b, _, _ in changed]
        ids_json = json.dumps(ids)
        # Old edges of updated papers go first; their rows are updated in place so the pk (the
        # FTS rowid) stays. New papers have nothing to delete.
        old = json.dumps([i for i in ids if i in existing])
        if old != "[]":
            old_pks = [
                (r[0],) for r in conn.execute(
                    "SELECT pk FROM papers WHERE id IN (SELECT value FROM json_each(?))", (old,)
                )
            ]
            conn.executemany("DELETE FROM papers_fts WHERE rowid = ?", old_pks)
            if self._search_index_current(conn):
                conn.executemany("DELETE FROM venues_fts WHERE rowid = ?", old_pks)
            for table in ("paper_authors", "uses", "evaluates", "findings", "studies", "listed_in"):
                conn.execute(f"DELETE FROM {table} WHERE paper_id IN (SELECT value FROM json_each(?))",
                             (old,))
        conn.execute("DELETE FROM paper_tombstones WHERE id IN (SELECT value FROM json_each(?))",
                     (ids_json,))
        paper_rows = []
        for bundle, vector, fp in changed:
            p = bundle.paper
            # The edges stored below, as Neo4j counts them: one list row per section (unique_list_rows).
            degree = (len(dedupe_techniques(bundle)) + len(dedupe_evaluations(bundle))
                      + len(bundle.findings) + len(set(bundle.models)) + len(unique_list_rows(bundle)))
            # Kept from the stored paper, or now; and the earliest of the papers it replaced.
            first_seen = existing[p.id][1] if p.id in existing else now
            first_seen = min(first_seen, carried.get(p.id, first_seen))
            paper_rows.append((
                p.id, p.arxiv_id, p.doi, p.title, title_key(p.title), p.abstract or "",
                _json(list(p.authors)), ", ".join(p.authors), p.published, p.updated,
                None if p.year is None else int(p.year), p.venue, p.primary_category,
                _json(list(p.categories)), p.url, p.pdf_url, _json(list(p.sources)),
                p.item_type or "paper", None if vector is None else vector.tobytes(),
                p.embedding_model, p.content_hash, first_seen, max(now, first_seen), fp, degree, rev,
                _sort_date(p), p.extraction_hash, None if p.arxiv_version is None else int(p.arxiv_version),
                keys[p.id][0], int(keys[p.id][1]),
            ))
        conn.executemany(
            "INSERT INTO papers (id, arxiv_id, doi, title, title_key, abstract, authors_json, "
            "authors_text, published, updated, year, venue, primary_category, categories, url, "
            "pdf_url, sources, item_type, embedding, embedding_model, content_hash, first_seen, "
            "last_seen, fingerprint, degree, rev, sort_date, extraction_hash, arxiv_version, citation_key, "
            "citation_key_pinned) "
            f"VALUES ({', '.join('?' * 31)}) "
            "ON CONFLICT(id) DO UPDATE SET arxiv_id = excluded.arxiv_id, doi = excluded.doi, "
            "title = excluded.title, title_key = excluded.title_key, abstract = excluded.abstract, "
            "authors_json = excluded.authors_json, authors_text = excluded.authors_text, "
            "published = excluded.published, updated = excluded.updated, year = excluded.year, "
            "venue = excluded.venue, primary_category = excluded.primary_category, "
            "categories = excluded.categories, url = excluded.url, pdf_url = excluded.pdf_url, "
            "sources = excluded.sources, item_type = excluded.item_type, "
            "embedding = excluded.embedding, embedding_model = excluded.embedding_model, "
            "content_hash = excluded.content_hash, last_seen = excluded.last_seen, "
            "fingerprint = excluded.fingerprint, degree = excluded.degree, rev = excluded.rev, "
            "sort_date = excluded.sort_date, extraction_hash = excluded.extraction_hash, "
            "arxiv_version = excluded.arxiv_version, citation_key = excluded.citation_key, "
            "citation_key_pinned = excluded.citation_key_pinned",
            paper_rows,
        )
        # The index holds the text folded as queries are (fold_for_search: "Søgaard" as "Sogaard");
        # the papers table keeps it as given.
        written = conn.execute(
            "SELECT pk, title, abstract, authors_text, venue, url FROM papers "
            "WHERE id IN (SELECT value FROM json_each(?))", (ids_json,),
        ).fetchall()
        conn.executemany(_INSERT_FTS, [(pk, *_fts_text(title, abstract, authors))
                                       for pk, title, abstract, authors, _, _ in written])
        if self._search_index_current(conn):  # (an older paperkg's file may lack it until init_schema)
            conn.executemany(_INSERT_VENUE, [(pk, _venue_text(venue, url)) for pk, *_, venue, url in written])
        authors: dict[str, str] = {}
        author_rows, use_rows, eval_rows, finding_rows, about_rows = [], [], [], [], []
        study_rows, section_rows, listed_rows = [], {}, []
        for bundle, _, _ in changed:
            pid = bundle.paper.id
            for position, key, name in paper_authors(bundle.paper):
                authors[key] = name
                author_rows.append((pid, position, key))
            use_rows += [(pid, t.technique_id, t.source, t.evidence, t.score)
                         for t in dedupe_techniques(bundle)]
            eval_rows += [(pid, e.evaluation_id, e.source, e.evidence)
                          for e in dedupe_evaluations(bundle)]
            for position, f in enumerate(bundle.findings):
                finding_rows.append((f.id, pid, position, f.text, f.kind, f.source))
                about_rows += [(f.id, a.id, a.label) for a in {a.id: a for a in f.about}.values()]
            study_rows += [(pid, m) for m in dict.fromkeys(bundle.models)]
            for position, r in unique_list_rows(bundle):
                section_rows[r.section_id] = (r.section_id, r.section_title, _json(list(r.section_path)),
                                              section_topic_key(r.section_id, r.topic_ids))
                listed_rows.append((pid, r.section_id, position, r.tldr, r.techniques_text,
                                    r.evaluation_text, r.title_in_list, r.url_in_list, r.line))
        conn.executemany(
            "INSERT INTO authors (key, name) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET name = excluded.name",
            list(authors.items()),
        )
        conn.executemany("INSERT INTO paper_authors VALUES (?, ?, ?)", author_rows)
        conn.executemany("INSERT INTO uses VALUES (?, ?, ?, ?, ?)", use_rows)
        conn.executemany("INSERT INTO evaluates VALUES (?, ?, ?, ?)", eval_rows)
        conn.executemany("INSERT INTO findings VALUES (?, ?, ?, ?, ?, ?)", finding_rows)
        conn.executemany(
            "INSERT INTO finding_about (finding_id, node_id, label) VALUES (?, ?, ?)", about_rows
        )
        conn.executemany("INSERT INTO studies VALUES (?, ?)", study_rows)
        conn.executemany(
            "INSERT INTO list_sections (id, title, path, topic_key) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET title = excluded.title, path = excluded.path, "
            "topic_key = excluded.topic_key",
            list(section_rows.values()),
        )
        conn.executemany(
            "INSERT INTO listed_in (paper_id, section_id, position, tldr, techniques_text, "
            "evaluation_text, title_in_list, url_in_list, line) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            listed_rows,
        )

    def delete_paper(self, paper_id: str) -> bool:
        """Remove a paper and its edges; leaves a tombstone so other processes drop it too."""
        with self._write() as conn:
            deleted = self._delete(conn, paper_id)
        if deleted:
            self._dirty = True
        return deleted

    def _delete(self, conn: sqlite3.Connection, paper_id: str) -> bool:
        """Delete one paper inside the caller's write transaction."""
        row = conn.execute("SELECT pk FROM papers WHERE id = ?", (paper_id,)).fetchone()
        if row is None:
            return False
        rev = self._bump_rev(conn)
        conn.execute("DELETE FROM papers_fts WHERE rowid = ?", (row[0],))
        if self._search_index_current(conn):
            conn.execute("DELETE FROM venues_fts WHERE rowid = ?", (row[0],))
        conn.execute("DELETE FROM papers WHERE pk = ?", (row[0],))
        # Ids that led to it would lead nowhere; a later paper may take them as its own.
        conn.execute("DELETE FROM paper_aliases WHERE paper_id = ?", (paper_id,))
        conn.execute(
            "INSERT INTO paper_tombstones (id, rev) VALUES (?, ?) "
            "ON CONFLICT(id) DO UPDATE SET rev = excluded.rev", (paper_id, rev),
        )
        return True

    def restore_citation_keys(self, pins: Sequence[tuple[str, str]]) -> KeyRestore:
        """Give papers the keys `pins` names, in one transaction (see GraphStore)."""
        pins = [(check_paper_id(pid), check_citation_key(key)) for pid, key in pins]
        if not pins:
            return KeyRestore()
        with self._write() as conn:
            held: dict[str, str | None] = {}
            authored: dict[str, bool] = {}
            for pid, key, authors_json in conn.execute(
                    "SELECT id, citation_key, authors_json FROM papers "
                    "WHERE id IN (SELECT value FROM json_each(?))", (json.dumps([pid for pid, _ in pins]),)):
                held[pid], authored[pid] = key, has_authors(json.loads(authors_json))
            issued = {key: (pid, bool(h)) for key, pid, h in conn.execute(
                "SELECT key, paper_id, held FROM citation_keys WHERE key IN (SELECT value FROM json_each(?))",
                (json.dumps([key for _, key in pins]),))}
            moves, outcome = plan_key_restore(pins, held, issued)
            # Every key a moved paper had stays issued to it; only the restored one is held (all released
            # first: in a swap, one paper's old key is the other's new one).
            conn.executemany("UPDATE citation_keys SET held = 0 WHERE paper_id = ?",
                             [(pid,) for pid in moves])
            conn.executemany("INSERT INTO citation_keys (key, paper_id, held) VALUES (?, ?, 1) "
                             "ON CONFLICT(key) DO UPDATE SET paper_id = excluded.paper_id, held = 1",
                             [(key, pid) for pid, key in moves.items()])
            conn.executemany("UPDATE papers SET citation_key = ?, citation_key_pinned = ? WHERE id = ?",
                             [(key, int(authored[pid]), pid) for pid, key in moves.items() if pid in held])
        return outcome

    # -- reads -----------------------------------------------------------------------------
    @staticmethod
    def _paper(row: Sequence[Any], embedding: bytes | None = None) -> Paper:
        return Paper(
            id=row[0], arxiv_id=row[1], doi=row[2], title=row[3], abstract=row[4],
            authors=json.loads(row[5]), published=row[6], updated=row[7], year=row[8],
            venue=row[9], primary_category=row[10], categories=json.loads(row[11]), url=row[12],
            pdf_url=row[13], sources=json.loads(row[14]), item_type=row[15],
            embedding_model=row[16], content_hash=row[17], first_seen=row[18], last_seen=row[19],
            extraction_hash=row[20], arxiv_version=row[21], citation_key=row[22],
            embedding=None if embedding is None else np.frombuffer(embedding, dtype=np.float32).copy(),
        )

    def successor_of(self, paper_id: str) -> str | None:
        """The id a paper now has when `paper_id` was replaced (a slug by its arXiv id) or given to a
        record merged into it, else None."""
        with self._read() as conn:
            row = conn.execute("SELECT paper_id FROM paper_aliases WHERE old_id = ?", (paper_id,)).fetchone()
        return row[0] if row else None

    def former_ids(self, paper_id: str) -> list[str]:
        """The ids that lead to the paper, sorted."""
        with self._read() as conn:
            rows = conn.execute("SELECT old_id FROM paper_aliases WHERE paper_id = ? ORDER BY old_id",
                                (paper_id,)).fetchall()
        return [r[0] for r in rows]

    def get_paper(self, paper_id: str) -> PaperDetail | None:
        """The paper (with its embedding) and its neighbourhood."""
        with self._read() as conn:
            row = conn.execute(
                f"SELECT {_PAPER_COLUMNS}, embedding FROM papers WHERE id = ?", (paper_id,)
            ).fetchone()
            if row is None:
                return None
            paper = self._paper(row[:-1], row[-1])
            techniques = [
                TechniqueUse(technique_id=r[0], source=r[1], evidence=r[2], score=r[3], label=r[4])
                for r in conn.execute(
                    "SELECT u.technique_id, u.source, u.evidence, u.score, t.name FROM uses u "
                    "JOIN taxonomy t ON t.id = u.technique_id WHERE u.paper_id = ? "
                    "ORDER BY u.technique_id, u.source", (paper_id,),
                )
            ]
            evaluations = [
                EvaluationUse(evaluation_id=r[0], source=r[1], evidence=r[2], label=r[3])
                for r in conn.execute(
                    "SELECT e.evaluation_id, e.source, e.evidence, t.name FROM evaluates e "
                    "JOIN taxonomy t ON t.id = e.evaluation_id WHERE e.paper_id = ? "
                    "ORDER BY e.evaluation_id, e.source", (paper_id,),
                )
            ]
            about: dict[str, list[FindingAbout]] = {}
            for r in conn.execute(
                "SELECT a.finding_id, a.label, a.node_id, t.name FROM finding_about a "
                "JOIN findings f ON f.id = a.finding_id JOIN taxonomy t ON t.id = a.node_id "
                "WHERE f.paper_id = ? ORDER BY a.label, a.node_id", (paper_id,),
            ):
                about.setdefault(r[0], []).append(FindingAbout(label=r[1], id=r[2], name=r[3]))
            findings = [
                Finding(id=r[0], text=r[1], kind=r[2], source=r[3], about=about.get(r[0], []))
                for r in conn.execute(
                    "SELECT id, text, kind, source FROM findings WHERE paper_id = ? ORDER BY position",
                    (paper_id,),
                )
            ]
            models = [
                FindingAbout(label=Label.MODEL, id=r[0], name=r[1])
                for r in conn.execute(
                    "SELECT s.model_id, t.name FROM studies s JOIN taxonomy t ON t.id = s.model_id "
                    "WHERE s.paper_id = ? ORDER BY s.model_id", (paper_id,),
                )
            ]
            # A row's topic_ids: the Topic and Object ids its section's topic_key contains, by the rule
            # technique_counts and the topic filter count with, so the paper, its export and the
            # counts agree (only the key is stored; it holds the topics the section map gave too).
            list_rows = [
                ListRow(section_id=r[0], section_title=r[1], section_path=json.loads(r[2]), tldr=r[3],
                        techniques_text=r[4], evaluation_text=r[5], title_in_list=r[6],
                        url_in_list=r[7], line=r[8], topic_ids=sorted(json.loads(r[9])))
                for r in conn.execute(
                    "SELECT l.section_id, s.title, s.path, l.tldr, l.techniques_text, "
                    "l.evaluation_text, l.title_in_list, l.url_in_list, l.line, "
                    "(SELECT json_group_array(t.id) FROM taxonomy t WHERE t.label IN "
                    f"('{Label.TOPIC}', '{Label.OBJECT}') AND instr(s.topic_key, t.id) > 0) "
                    "FROM listed_in l JOIN list_sections s ON s.id = l.section_id WHERE l.paper_id = ? "
                    "ORDER BY l.position", (paper_id,),
                )
            ]
            former = [r[0] for r in conn.execute(
                "SELECT old_id FROM paper_aliases WHERE paper_id = ? ORDER BY old_id", (paper_id,))]
        return PaperDetail(paper=paper, techniques=techniques, evaluations=evaluations,
                           findings=findings, models=models, list_rows=list_rows, former_ids=former)

    def _papers_by_id(self, ids: list[str]) -> list[Paper]:
        """The stored papers of `ids` (GraphStore.get_papers orders them)."""
        rows = self._conn().execute(
            f"SELECT {_PAPER_COLUMNS} FROM papers WHERE id IN (SELECT value FROM json_each(?))",
            (json.dumps(ids),),
        ).fetchall()
        return [self._paper(r) for r in rows]

    def find_paper_ids(
        self, *, arxiv_ids: Sequence[str] = (), dois: Sequence[str] = (),
        title_keys: Sequence[str] = (), shared: dict[str, list[str]] | None = None,
    ) -> dict[str, str]:
        """Known arXiv ids / DOIs (case-insensitive) / title keys -> stored paper ids; a title key by the
        current title, else a list row's title (see GraphStore.find_paper_ids, and `shared`)."""
        conn = self._conn()
        out: dict[str, str] = {}
        if arxiv_ids:
            for key, pid in conn.execute(
                "SELECT arxiv_id, id FROM papers WHERE arxiv_id IN (SELECT value FROM json_each(?)) "
                "ORDER BY pk", (json.dumps(list(arxiv_ids)),),
            ):
                out.setdefault(key, pid)
        if dois:
            wanted = {d.lower(): d for d in dois}
            for key, pid in conn.execute(
                "SELECT lower(doi), id FROM papers WHERE lower(doi) IN (SELECT value FROM json_each(?)) "
                "ORDER BY pk", (json.dumps(list(wanted)),),
            ):
                out.setdefault(wanted[key], pid)
        keys = sorted({k for k in title_keys if k})
        if keys:
            found = self._by_title_key(conn, keys)
            rest = [k for k in keys if k not in found]
            if rest:  # a current title wins: list rows' titles only for the keys no current title has
                found.update(self._by_list_row_title(conn, rest))
            for key, ids in preferred_title_matches(found, self.get_papers).items():
                out.setdefault(key, ids[0])
                if shared is not None and len(ids) > 1:
                    shared[key] = ids
        return out

    @staticmethod
    def _by_title_key(conn: sqlite3.Connection, keys: Sequence[str]) -> dict[str, list[str]]:
        """Each title key's papers by their current title, in insertion order."""
        found: dict[str, list[str]] = {}
        for key, pid in conn.execute(
            "SELECT title_key, id FROM papers WHERE title_key IN (SELECT value FROM json_each(?)) "
            "ORDER BY pk", (json.dumps(list(keys)),),
        ):
            found.setdefault(key, []).append(pid)
        return found

    @staticmethod
    def _by_list_row_title(conn: sqlite3.Connection, keys: Sequence[str]) -> dict[str, list[str]]:
        """Each title key's papers by the title one of their list rows gives (title_in_list), in
        insertion order (list_title_matches)."""
        found = list_title_matches(conn.execute(
            "SELECT title_in_list, paper_id FROM listed_in WHERE title_in_list IS NOT NULL"), keys)
        if not found:
            return found
        # The rows are read in no order (a sort of every row costs more than the look-up); the few
        # papers found are put in insertion order.
        order = {pid: n for n, (pid,) in enumerate(conn.execute(
            "SELECT id FROM papers WHERE id IN (SELECT value FROM json_each(?)) ORDER BY pk",
            (json.dumps(sorted({pid for ids in found.values() for pid in ids})),)))}
        return {key: sorted(ids, key=order.__getitem__) for key, ids in found.items()}

    def paper_ids(self) -> list[str]:
        """Every paper id, in insertion order."""
        return [r[0] for r in self._conn().execute("SELECT id FROM papers ORDER BY pk")]

    def _family(
        self, conn: sqlite3.Connection, ids: Sequence[str], include_refinements: bool = True,
        step: str = _REFINEMENTS,
    ) -> list[str]:
        """The ids and (when asked) every node `step` leads down to from them, transitively: their
        refinements (_REFINEMENTS) or sub-components (_SUB_COMPONENTS)."""
        if not include_refinements:
            return list(ids)
        # `step` is one of the two constants, never user text; the ids are a parameter.
        return [
            r[0] for r in conn.execute(
                f"WITH RECURSIVE d(id) AS (SELECT value FROM json_each(?) UNION {step}) SELECT id FROM d",
                (json.dumps(list(ids)),),
            )
        ]

    def _touching(
        self, conn: sqlite3.Connection, node_id: str, include_refinements: bool
    ) -> tuple[str, list[str]] | None:
        """A subquery of the ids of the papers touching a taxonomy node (and its refinements), with
        its parameters; None for an unknown node or one of a label papers are not listed by."""
        row = conn.execute("SELECT label FROM taxonomy WHERE id = ?", (node_id,)).fetchone()
        if row is None or row[0] not in _PAPERS_TOUCHING:
            return None
        sql = _PAPERS_TOUCHING[row[0]]
        return sql, [json.dumps(self._family(conn, [node_id], include_refinements))] * sql.count("?")

    def papers_by_technique(
        self, technique_id: str, *, include_refinements: bool = True, sort: str = "date",
        limit: int = 20, offset: int = 0,
    ) -> tuple[list[Paper], int]:
        """Papers touching a Technique (USES), Evaluation (EVALUATES), Topic or Object (topic rule):
        "date" newest first, "centrality" most edges first."""
        check_sort(sort)
        # Equal dates by id, as filter_page: not pk, the order papers were written in. papers_browse
        # holds (sort_date, id) in that order, papers_central_id (degree, sort_date, id). That one is
        # optional: a file the previous paperkg wrote, read as it is, has papers_central (ties by pk)
        # instead, whose walk leaves only each (degree, date) run to sort by id.
        order = ("p.degree DESC, p.sort_date DESC, p.id DESC" if sort == "centrality"
                 else "p.sort_date DESC, p.id DESC")
        indexes = ("papers_central_id", "papers_central") if sort == "centrality" else ("papers_browse",)
        columns = ", ".join("p." + c.strip() for c in _PAPER_COLUMNS.split(","))
        with self._read() as conn:
            touching = self._touching(conn, technique_id, include_refinements)
            if touching is None:
                return [], 0
            sub, params = touching
            total = conn.execute(f"SELECT count(*) FROM (SELECT DISTINCT paper_id FROM ({sub}))",
                                 params).fetchone()[0]
            if total == 0:
                return [], 0
            n_papers = conn.execute("SELECT max(pk) FROM papers").fetchone()[0] or 1
            # A common node: walk the papers in sort order and stop at the page's end; a rare one:
            # fetch its few papers and sort them. Only by an index the file has (10k papers, a common
            # technique's last centrality page: 13 ms by papers_central_id, 55-100 ms by papers_central,
            # 210 ms sorting them all; its first: 2, 1-4, 14 ms).
            index = (next((i for i in indexes if i in REQUIRED_INDEXES or _has_index(conn, i)), None)
                     if total * 20 >= n_papers else None)
            hint = f"INDEXED BY {index}" if index else ""
            rows = conn.execute(
                f"SELECT {columns} FROM papers p {hint} WHERE p.id IN ({sub}) "
                f"ORDER BY {order} LIMIT ? OFFSET ?",
                [*params, max(0, int(limit)), max(0, int(offset))],
            ).fetchall()
        return [self._paper(r) for r in rows], int(total)

    def _filter_sql(self, conn: sqlite3.Connection, filters: SearchFilters | None) -> tuple[str, list[Any]]:
        """A WHERE clause over `papers p` for the filters, with its parameters."""
        if filters is None or filters.is_empty():
            return "1", []
        clauses: list[str] = []
        params: list[Any] = []
        # The technique filter takes evaluation criteria too (faithfulness, ...), as the API says.
        techniques_or_criteria = (
            f"{_PAPERS_TOUCHING[Label.TECHNIQUE]} UNION {_PAPERS_TOUCHING[Label.EVALUATION]}"
        )
        # One clause per technique group: a single one of every id ("any"), or one per id ("all", each
        # id with its own refinements); the text repeats a constant, the ids are parameters.
        groups = [(ids, techniques_or_criteria) for ids in filters.technique_groups()]
        if filters.topic_ids:
            groups.append((filters.topic_ids, _PAPERS_TOUCHING[Label.TOPIC]))
        if filters.model_ids:
            groups.append((filters.model_ids, _MODEL_PAPERS))
        for ids, sub in groups:
            clauses.append(f"p.id IN ({sub})")
            params += [json.dumps(self._family(conn, ids, filters.include_refinements))] * sub.count("?")
        if filters.component_ids:
            clauses.append(f"p.id IN ({_COMPONENT_PAPERS})")
            params.append(json.dumps(self._family(conn, filters.component_ids, filters.include_refinements,
                                                  step=_SUB_COMPONENTS)))
        if filters.section_ids:
            clauses.append(
                "p.id IN (SELECT l.paper_id FROM listed_in l JOIN json_each(?) s ON l.section_id = s.value "
                "OR substr(l.section_id, 1, length(s.value) + 1) = s.value || '/')"
            )
            params.append(json.dumps(list(filters.section_ids)))
        if filters.year_from is not None:
            clauses.append("p.year >= ?")
            params.append(int(filters.year_from))
        if filters.year_to is not None:
            clauses.append("p.year <= ?")
            params.append(int(filters.year_to))
        if filters.sources:
            clauses.append("EXISTS (SELECT 1 FROM json_each(p.sources) s WHERE s.value IN "
                           "(SELECT value FROM json_each(?)))")
            params.append(json.dumps(list(filters.sources)))
        return " AND ".join(clauses), params

    def filter_ids(self, filters: SearchFilters) -> set[str]:
        """Ids of the papers passing the filters."""
        with self._read() as conn:
            where, params = self._filter_sql(conn, filters)
            return {r[0] for r in conn.execute(f"SELECT p.id FROM papers p WHERE {where}", params)}

    def filter_page(
        self, filters: SearchFilters, *, limit: int = 20, offset: int = 0
    ) -> tuple[list[str], int]:
        """A page of filtered ids newest first (published, else year, then id; undated last) and the total."""
        check_page(limit, offset)
        with self._read() as conn:
            where, params = self._filter_sql(conn, filters)
            total = conn.execute(f"SELECT count(*) FROM papers p WHERE {where}", params).fetchone()[0]
            if limit == 0 or offset >= total:
                return [], int(total)
            n_papers = conn.execute("SELECT max(pk) FROM papers").fetchone()[0] or 1
            # Many matches: walk the browse index newest first and stop at the page's end (the
            # planner would rather fetch every match and sort); few: fetch them and sort.
            hint = "INDEXED BY papers_browse" if total * 20 >= n_papers else ""
            rows = conn.execute(
                f"SELECT p.id FROM papers p {hint} WHERE {where} ORDER BY p.sort_date DESC, p.id DESC "
                "LIMIT ? OFFSET ?", [*params, int(limit), int(offset)],
            ).fetchall()
        return [r[0] for r in rows], int(total)

    def _venue_forms(self, conn: sqlite3.Connection, query: str, forms: list[str]) -> list[str]:
        """The query's word forms keyword search looks for in venues too (validation.venue_query and
        venue_word_limit): none in a long query or a file without the venues' index; of those a venue
        has, each a count of its text matches, stopped at the limit."""
        if not forms or not validation.venue_query(query) or not self._search_index_current(conn):
            return []
        # Only forms some venue has (one indexed look-up each): a query no venue matches keeps the
        # text-only plans below.
        in_venues = "SELECT 1 FROM venues_fts WHERE venues_fts MATCH ? LIMIT 1"
        forms = [f for f in forms if conn.execute(in_venues, [_fts_phrase(f)]).fetchone() is not None]
        if not forms:
            return []
        # The papers there are (not max(pk), which deletions and replacements leave higher), as Neo4j counts.
        limit = validation.venue_word_limit(conn.execute("SELECT count(*) FROM papers").fetchone()[0] or 0)
        forms = [f for f in forms if conn.execute(
            "SELECT count(*) FROM (SELECT 1 FROM papers_fts WHERE papers_fts MATCH ? LIMIT ?)",
            [_fts_phrase(f), limit]).fetchone()[0] < limit]
        # A year only beside a venue's word ("EMNLP 2021"), not beside a name ("Elhage 2021").
        return forms if any(not validation.is_number(f) for f in forms) else []

    def keyword_search(self, query: str, k: int, filters: SearchFilters | None = None) -> list[ScoredId]:
        """BM25 over title, abstract and authors, and the venue for a short query's rarer words (see
        _venue_forms); every word and its other number, literally (OR-ed), accents and stroked letters
        folded (validation.fold_for_search)."""
        words = search_terms(query)
        if not words or k <= 0:
            return []
        # Folded as the indexed text is ("Søgaard" finds "Sogaard" and the reverse); FTS5 lower-cases.
        forms = {f.lower(): f for w in words for f in search_forms(w)}
        with self._read() as conn:
            match = _fts_match(forms.values())
            venue_forms = self._venue_forms(conn, query, list(forms.values()))
            if venue_forms:
                where, params = self._filter_sql(conn, filters)
                rows = conn.execute(_KEYWORD_WITH_VENUES.format(where=where),
                                    [match, _fts_match(venue_forms), *params, int(k)]).fetchall()
            elif filters is None or filters.is_empty():
                # Rank inside FTS5 and join only the top k: joining every match to `papers` before
                # sorting cost 3x more at 100k papers (same ranking).
                rows = self._keyword_top(conn, _KEYWORD_RANKED, [match], int(k))
            else:
                where, params = self._filter_sql(conn, filters)
                n_papers = conn.execute("SELECT max(pk) FROM papers").fetchone()[0] or 0
                common = n_papers // _COMMON_MATCH_SHARE + 1
                matches = conn.execute(
                    "SELECT count(*) FROM (SELECT 1 FROM papers_fts WHERE papers_fts MATCH ? LIMIT ?)",
                    [match, common],
                ).fetchone()[0]
                # Both plans rank the filtered matches by (bm25, id): the same hits, order and scores.
                if matches >= common:
                    rows = self._keyword_top(conn, _KEYWORD_FILTERED_SET.format(where=where),
                                             [match, *params], int(k))
                else:
                    rows = conn.execute(_KEYWORD_FILTERED_JOIN.format(where=where),
                                        [match, *params, int(k)]).fetchall()
        # FTS5's bm25() is lower-is-better (negative); flip it so higher is better.
        return [ScoredId(id=r[0], score=-float(r[1])) for r in rows]

    def _paper_count(self) -> int:
        """How many papers there are (not max(pk), which deletions leave higher), as Neo4j counts."""
        with self._read() as conn:
            return int(conn.execute("SELECT count(*) FROM papers").fetchone()[0] or 0)

    def _text_matches(self, word: str, limit: int) -> int:
        """How many papers, up to `limit`, have `word` in their title, abstract or authors in any form
        keyword search gives it alone: one FTS count, stopped at the limit."""
        forms = {f.lower(): f for t in search_terms(word) for f in search_forms(t)}
        if not forms or limit <= 0:
            return 0
        with self._read() as conn:
            return int(conn.execute(
                "SELECT count(*) FROM (SELECT 1 FROM papers_fts WHERE papers_fts MATCH ? LIMIT ?)",
                [_fts_match(forms.values()), limit]).fetchone()[0])

    @staticmethod
    def _keyword_top(
        conn: sqlite3.Connection, ranked: str, params: list[Any], k: int
    ) -> list[tuple[str, float]]:
        """The best k (id, bm25) rows of `ranked` (a constant statement, _KEYWORD_RANKED's columns), equal
        scores by id. FTS5 stops at a LIMIT in (bm25, rowid) order, and rowid is insertion order: the
        k-th score's equals past the cut are taken too (twice k rows hold them unless a long run of equal
        scores crosses the cut; then every match up to that score is read), then ranked by id."""
        fetch = 2 * k + 1
        rows = conn.execute(f"{ranked} ORDER BY r, rowid LIMIT ?", [*params, fetch]).fetchall()
        if len(rows) > k:
            edge = rows[k - 1][1]
            if len(rows) == fetch and rows[-1][1] == edge:
                rows = conn.execute(f"SELECT rowid, r FROM ({ranked}) WHERE r <= ?",
                                    [*params, edge]).fetchall()
            rows = [row for row in rows if row[1] <= edge]
        ids = dict(conn.execute(f"SELECT pk, id FROM papers WHERE pk IN {_IDS}",
                                [json.dumps([row[0] for row in rows])]))
        return sorted(((ids[pk], r) for pk, r in rows if pk in ids), key=lambda row: (row[1], row[0]))[:k]

    def warm(self) -> None:
        """Read the embeddings and the related-papers index into this process's memory now (seconds
        at 100k papers), as its first semantic search or related-papers request otherwise would."""
        try:
            with self._mirror_lock:
                self._sync_mirror()
            with self._shared_lock, self._read() as conn:
                self._sync_shared(conn)
        finally:
            # The calling thread (a server's warm-up thread) ends here: its connection and page cache
            # would stay until another thread opened one, which a one-thread worker never does.
            self._close_thread_connection()

    def _close_thread_connection(self) -> None:
        """Close the calling thread's connection (the next use from this thread opens another)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            return
        self._local.conn = None
        with self._connections_lock:
            self._connections = [(t, c) for t, c in self._connections if c is not conn]
        with contextlib.suppress(sqlite3.Error):
            conn.close()

    def _sync_mirror(self) -> None:
        """Bring the numpy mirror up to date with the file (caller holds the mirror lock)."""
        conn = self._conn()
        version = conn.execute("PRAGMA data_version").fetchone()[0]
        if version == self._local.data_version and not self._dirty and self._mirror.rev >= 0:
            return
        self._local.data_version = version
        self._dirty = False
        mirror = self._mirror
        with self._read() as conn:
            rev = int(conn.execute("SELECT value FROM meta WHERE key = 'rev'").fetchone()[0])
            generation = _generation(conn)
            if rev == mirror.rev and generation == self._mirror_generation:
                return
            # Another file put in place of this one (a restored backup, even one whose revision a
            # catch-up has since taken past this mirror's): built afresh.
            if rev < mirror.rev or generation != self._mirror_generation:
                mirror = self._mirror = EmbeddingMatrix()
                self._mirror_generation = generation
            since = mirror.rev
            for (pid,) in conn.execute("SELECT id FROM paper_tombstones WHERE rev > ?", (since,)):
                mirror.remove(pid)
            cursor = conn.execute(
                "SELECT id, pk, embedding, year, sources FROM papers WHERE rev > ? AND rev <= ?",
                (since, rev),
            )
            while batch := cursor.fetchmany(8192):
                mirror.put_many(batch)
            # Evaluation criteria too: the technique filter takes their ids (see _filter_sql).
            mirror.set_techniques(conn.execute(
                "SELECT u.paper_id, u.technique_id FROM papers p JOIN uses u ON u.paper_id = p.id "
                "WHERE p.rev > ? AND p.rev <= ? UNION ALL "
                "SELECT e.paper_id, e.evaluation_id FROM papers p JOIN evaluates e ON e.paper_id = p.id "
                "WHERE p.rev > ? AND p.rev <= ?", (since, rev, since, rev),
            ).fetchall())
            mirror.rev = rev

    def _clause_ids(self, conn: sqlite3.Connection, filters: SearchFilters) -> list[set[str]]:
        """For each topic / section / model / component filter, the ids of the papers passing it
        (techniques, years and sources are masks over the mirror)."""
        out: list[set[str]] = []
        refine = filters.include_refinements
        for only in (SearchFilters(topic_ids=list(filters.topic_ids), include_refinements=refine),
                     SearchFilters(section_ids=list(filters.section_ids), include_refinements=refine),
                     SearchFilters(model_ids=list(filters.model_ids)),
                     SearchFilters(component_ids=list(filters.component_ids), include_refinements=refine)):
            if not only.is_empty():
                where, params = self._filter_sql(conn, only)
                out.append({r[0] for r in conn.execute(f"SELECT p.id FROM papers p WHERE {where}", params)})
        return out

    def vector_search(
        self, vector: np.ndarray, k: int, filters: SearchFilters | None = None
    ) -> list[ScoredId]:
        """Exact cosine top-k over the in-memory matrix, filters applied as a mask."""
        query = unit_query(vector)
        if k <= 0 or query is None:
            return []
        active = filters if filters is not None and not filters.is_empty() else None
        clause_ids: list[set[str]] = []
        # The technique groups with their refinements (see _filter_sql): a paper uses one of each.
        families: list[list[str]] = []
        if active is not None:
            with self._read() as conn:
                clause_ids = self._clause_ids(conn, active)
                families = [self._family(conn, ids, active.include_refinements)
                            for ids in active.technique_groups()]
            if any(not ids for ids in clause_ids):
                return []
        with self._mirror_lock:
            self._sync_mirror()
            mask = None
            if active is not None:
                mask = self._mirror.mask(
                    technique_ids=families[0] if families else None, year_from=active.year_from,
                    year_to=active.year_to, sources=active.sources, allowed=clause_ids,
                )
                for family in families[1:]:
                    mask &= self._mirror.using(family)
            return self._mirror.top_k(query, k, mask)

    def get_embeddings(self, paper_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored embeddings of the given papers."""
        ids = list(dict.fromkeys(paper_ids))
        if not ids:
            return {}
        rows = self._conn().execute(
            "SELECT id, embedding FROM papers WHERE embedding IS NOT NULL AND "
            "id IN (SELECT value FROM json_each(?))", (json.dumps(ids),),
        ).fetchall()
        return {r[0]: np.frombuffer(r[1], dtype=np.float32).copy() for r in rows}

    def _sync_shared(self, conn: sqlite3.Connection) -> RelatedIndex:
        """The related-candidates postings as of the snapshot of `conn` (caller holds the shared
        lock): built on first use, then only the papers written or deleted since are read."""
        rev = int(conn.execute("SELECT value FROM meta WHERE key = 'rev'").fetchone()[0])
        generation = _generation(conn)
        index = self._shared
        if rev == index.rev and generation == self._shared_generation:
            return index
        # (another file put in place of this one: see _sync_mirror)
        if index.stale() or rev < index.rev or generation != self._shared_generation:
            self._shared_generation = generation
            ids = [r[0] for r in conn.execute("SELECT id FROM papers ORDER BY id")]
            index = RelatedIndex(SHARED_KINDS, ids)
            queries, params = _SHARED_POSTINGS_ALL, {}
        else:
            for (pid,) in conn.execute("SELECT id FROM paper_tombstones WHERE rev > ?", (index.rev,)):
                index.drop(pid)
            changed = [r[0] for r in conn.execute(
                "SELECT id FROM papers WHERE rev > ? AND rev <= ?", (index.rev, rev))]
            for pid in changed:
                index.add(pid)
            queries, params = _SHARED_POSTINGS_OF, {"ids": json.dumps(changed)}
        for kind, sql in queries:
            for node, paper_ids in conn.execute(sql, params):
                index.link(kind, node, json.loads(paper_ids))
        index.rev = rev
        self._shared = index
        return index

    def related_candidates(self, paper_id: str, limit: int = 200) -> list[RelatedCandidate]:
        """Papers sharing something with a paper, ranked by the summed IDF of what they share."""
        limit = max(0, int(limit))
        # The lock is taken before the read snapshot starts, so an earlier sync (by any thread) is
        # never newer than this snapshot and the postings can be brought exactly up to it.
        with self._shared_lock, self._read() as conn:
            mine = {
                "technique": [r[0] for r in conn.execute(
                    "SELECT DISTINCT technique_id FROM uses WHERE paper_id = ?", (paper_id,))],
                # A model counts as shared whether a paper STUDIES it or has a finding ABOUT it.
                "about": [r[0] for r in conn.execute(
                    "SELECT a.node_id FROM findings f JOIN finding_about a ON a.finding_id = f.id "
                    "WHERE f.paper_id = ? UNION SELECT model_id FROM studies WHERE paper_id = ?",
                    (paper_id, paper_id))],
                "author": [r[0] for r in conn.execute(
                    "SELECT author_key FROM paper_authors WHERE paper_id = ?", (paper_id,))],
            }
            if limit == 0 or not any(mine.values()):
                return []
            index = self._sync_shared(conn)
            # Authors are many and each has few papers: their postings are read here, not kept.
            by_author: dict[str, set[int]] = {}
            for key, pid in conn.execute(
                "SELECT author_key, paper_id FROM paper_authors "
                "WHERE author_key IN (SELECT value FROM json_each(?))", (json.dumps(mine["author"]),),
            ):
                if pid in index.row_of:
                    by_author.setdefault(key, set()).add(index.row_of[pid])
            # The summing order: techniques, then finding/studies nodes, then authors, each by id.
            postings = [index.rows(kind, node) for kind in ("technique", "about")
                        for node in sorted(set(mine[kind]))]
            postings += [np.fromiter(by_author[key], dtype=np.int64) for key in sorted(by_author)]
            top = index.top(paper_id, postings, limit)
            params = {"top": json.dumps(top), "t": json.dumps(mine["technique"]),
                      "a": json.dumps(mine["about"]), "au": json.dumps(mine["author"])}
            shared = conn.execute(
                "SELECT paper_id, 'technique', technique_id FROM uses WHERE paper_id IN "
                "(SELECT value FROM json_each(:top)) AND technique_id IN (SELECT value FROM json_each(:t)) "
                "UNION SELECT f.paper_id, a.label, a.node_id FROM findings f JOIN finding_about a "
                "ON a.finding_id = f.id WHERE f.paper_id IN (SELECT value FROM json_each(:top)) "
                "AND a.node_id IN (SELECT value FROM json_each(:a)) "
                f"UNION SELECT paper_id, '{Label.MODEL}', model_id FROM studies WHERE paper_id IN "
                "(SELECT value FROM json_each(:top)) AND model_id IN (SELECT value FROM json_each(:a)) "
                "UNION SELECT pa.paper_id, 'author', au.name FROM paper_authors pa JOIN authors au "
                "ON au.key = pa.author_key WHERE pa.paper_id IN (SELECT value FROM json_each(:top)) "
                "AND pa.author_key IN (SELECT value FROM json_each(:au))",
                params,
            ).fetchall()
        out = {pid: RelatedCandidate(id=pid) for pid in top}
        attr = {"technique": "shared_techniques", Label.TOPIC: "shared_topics",
                Label.OBJECT: "shared_topics", Label.COMPONENT: "shared_components",
                Label.MODEL: "shared_models", "author": "shared_authors"}
        for pid, kind, value in shared:
            getattr(out[pid], attr[kind]).append(value)
        for cand in out.values():
            for field_name in set(attr.values()):
                setattr(cand, field_name, sorted(set(getattr(cand, field_name))))
        return list(out.values())

    def technique_document_frequency(self) -> dict[str, int]:
        """Papers per technique (direct uses), every Technique node included."""
        rows = self._conn().execute(
            "SELECT t.id, (SELECT count(DISTINCT u.paper_id) FROM uses u WHERE u.technique_id = t.id) "
            "FROM taxonomy t WHERE t.label = ?", (Label.TECHNIQUE,),
        ).fetchall()
        return {r[0]: int(r[1]) for r in rows}

    def paper_profiles(self, paper_ids: Sequence[str]) -> dict[str, set[str]]:
        """For each paper, the technique, evaluation, topic, object, component and model ids it touches."""
        ids = list(dict.fromkeys(paper_ids))
        if not ids:
            return {}
        ids_json = json.dumps(ids)
        out: dict[str, set[str]] = {}
        with self._read() as conn:
            for (pid,) in conn.execute(
                "SELECT id FROM papers WHERE id IN (SELECT value FROM json_each(?))", (ids_json,)
            ):
                out[pid] = set()
            for pid, node in conn.execute(
                "SELECT paper_id, technique_id FROM uses WHERE paper_id IN (SELECT value FROM json_each(?)) "
                "UNION SELECT paper_id, evaluation_id FROM evaluates "
                "WHERE paper_id IN (SELECT value FROM json_each(?)) "
                "UNION SELECT paper_id, model_id FROM studies "
                "WHERE paper_id IN (SELECT value FROM json_each(?)) "
                "UNION SELECT f.paper_id, a.node_id FROM findings f JOIN finding_about a "
                "ON a.finding_id = f.id WHERE f.paper_id IN (SELECT value FROM json_each(?))",
                (ids_json, ids_json, ids_json, ids_json),
            ):
                out[pid].add(node)
        return out

    def tag_evidence(self, paper_ids: Sequence[str], node_ids: Sequence[str]) -> dict[str, dict[str, str]]:
        """{paper id: {node id: evidence}} of the papers' extracted USES / EVALUATES edges to the nodes."""
        papers, nodes = list(dict.fromkeys(paper_ids)), list(dict.fromkeys(node_ids))
        if not papers or not nodes:
            return {}
        papers_json, nodes_json = json.dumps(papers), json.dumps(nodes)
        out: dict[str, dict[str, str]] = {}
        # One (paper, node, source) row at most per table (primary key); USES rows first, so a node
        # with both keeps its USES evidence, as get_paper lists techniques before evaluations.
        for pid, node, evidence, _ in self._conn().execute(
            "SELECT paper_id, technique_id, evidence, 0 AS kind FROM uses "
            f"WHERE paper_id IN {_IDS} AND technique_id IN {_IDS} AND source = ? AND evidence <> '' "
            "UNION ALL SELECT paper_id, evaluation_id, evidence, 1 FROM evaluates "
            f"WHERE paper_id IN {_IDS} AND evaluation_id IN {_IDS} AND source = ? AND evidence <> '' "
            "ORDER BY kind",
            (papers_json, nodes_json, EDGE_SOURCE_EXTRACTED, papers_json, nodes_json, EDGE_SOURCE_EXTRACTED),
        ).fetchall():
            out.setdefault(pid, {}).setdefault(node, evidence)
        return out

    @staticmethod
    def _counts_key(conn: sqlite3.Connection) -> tuple[Any, ...]:
        """What technique_counts' counts depend on besides the papers' edges: the revision (bumped by
        every paper write or delete, of any process), the taxonomy with its REFINES links and the
        list sections' topic keys (load_taxonomy and migrations change those without a new revision)."""
        return (
            conn.execute("SELECT value FROM meta WHERE key = 'rev'").fetchone()[0],
            tuple(conn.execute("SELECT id, label FROM taxonomy ORDER BY id")),
            tuple(conn.execute("SELECT child, parent FROM refines ORDER BY child")),
            tuple(conn.execute("SELECT id, topic_key FROM list_sections ORDER BY id")),
        )

    def technique_counts(self) -> list[TechniqueCount]:
        """Technique, Evaluation, Topic and Object nodes with own / incl.-refinement counts.

        Counting scans every edge (0.3-0.7 s at 100k papers) and every taxonomy page asks for
        the counts, so they are kept until a write of any process changes them (see _counts_key)."""
        touches = (
            "SELECT technique_id AS node, paper_id FROM uses UNION "
            "SELECT evaluation_id, paper_id FROM evaluates UNION "
            "SELECT a.node_id, f.paper_id FROM findings f JOIN finding_about a ON a.finding_id = f.id "
            "UNION SELECT t.id, l.paper_id FROM taxonomy t JOIN list_sections s "
            "ON instr(s.topic_key, t.id) > 0 JOIN listed_in l ON l.section_id = s.id "
            f"WHERE t.label IN ('{Label.TOPIC}', '{Label.OBJECT}')"
        )
        # The lock is taken before the snapshot, as in related_candidates: threads asking at once
        # count once, and the counts kept are never older than a snapshot that reads them. The
        # connection comes first: in a forked child it replaces the locks copied from the parent.
        self._conn()
        with self._counts_lock, self._read() as conn:
            nodes = conn.execute(
                "SELECT id, label, parent, kind FROM taxonomy WHERE label IN "
                "(SELECT value FROM json_each(?)) ORDER BY seq", (json.dumps(list(_COUNT_LABELS)),),
            ).fetchall()
            key = self._counts_key(conn)
            if self._counts is None or self._counts[0] != key:
                own = dict(conn.execute(
                    f"SELECT node, count(DISTINCT paper_id) FROM ({touches}) GROUP BY node"
                ).fetchall())
                total = dict(conn.execute(
                    "WITH RECURSIVE closure(anc, node) AS (SELECT id, id FROM taxonomy UNION "
                    "SELECT c.anc, r.child FROM closure c JOIN refines r ON r.parent = c.node), "
                    f"touch AS ({touches}) SELECT c.anc, count(DISTINCT t.paper_id) FROM closure c "
                    "JOIN touch t ON t.node = c.node GROUP BY c.anc"
                ).fetchall())
                self._counts = (key, own, total)
            _, own, total = self._counts
        return [
            TechniqueCount(id=i, label=label, parent=parent, kind=kind,
                           own_count=int(own.get(i, 0)), total_count=int(total.get(i, 0)))
            for i, label, parent, kind in nodes
        ]

    def cooccurring_techniques(self, technique_id: str, limit: int = 10) -> list[tuple[str, int]]:
        """Other techniques used by the papers touching a node, each counted as the AND search of the two
        counts (see GraphStore): the node's family and its ancestors left out."""
        with self._read() as conn:
            touching = self._touching(conn, technique_id, True)
            if touching is None:
                return []
            sub, params = touching
            # A technique X counts the papers of the node using X or one of its refinements (the search
            # filter's rule). The closure pairs each technique kept (not the node's family nor one of its
            # ancestors: `mine`) with itself and every refinement below it: taxonomy-sized, so the
            # papers' own edges are joined to it once instead of each edge walking up REFINES. The
            # papers are driven from USES (CROSS JOIN keeps that order: a common node touches most
            # papers); EVALUATES is probed per closure node, since REFINES links a criterion only to
            # criteria and so finds nothing there unless a node changed label and kept its edges.
            rows = conn.execute(
                f"WITH RECURSIVE p(id) AS ({sub}), "
                "mine(id) AS (SELECT ? UNION SELECT r.parent FROM refines r JOIN mine ON r.child = mine.id), "
                "closure(anc, node) AS (SELECT id, id FROM taxonomy WHERE label = ? AND id NOT IN mine "
                "AND id NOT IN (SELECT value FROM json_each(?)) "
                "UNION SELECT c.anc, r.child FROM closure c JOIN refines r ON r.parent = c.node) "
                "SELECT anc, count(DISTINCT paper_id) AS n FROM ("
                "SELECT c.anc, u.paper_id FROM uses u CROSS JOIN closure c ON c.node = u.technique_id "
                "WHERE u.paper_id IN p UNION ALL "
                "SELECT c.anc, e.paper_id FROM closure c CROSS JOIN evaluates e ON e.evaluation_id = c.node "
                "WHERE +e.paper_id IN p) GROUP BY anc ORDER BY n DESC, anc LIMIT ?",
                [*params, technique_id, Label.TECHNIQUE, params[0], max(0, int(limit))],
            ).fetchall()
        return [(r[0], int(r[1])) for r in rows]

    def papers_per_year(self, technique_id: str) -> dict[int, int]:
        """Papers per year touching a node and its refinements (papers without a year left out)."""
        with self._read() as conn:
            touching = self._touching(conn, technique_id, True)
            if touching is None:
                return {}
            sub, params = touching
            rows = conn.execute(
                f"SELECT p.year, count(*) FROM papers p WHERE p.year IS NOT NULL AND p.id IN ({sub}) "
                "GROUP BY p.year ORDER BY p.year", params,
            ).fetchall()
        return {int(r[0]): int(r[1]) for r in rows}

    def new_papers(self, since: str, limit: int = 100, *, technique_ids: Sequence[str] = ()) -> list[Paper]:
        """Papers first seen at or after `since`, newest first (with `technique_ids`: those touching one of
        the nodes or a refinement, as the technique filter)."""
        with self._read() as conn:
            using, params = self._using_clause(conn, technique_ids)
            rows = conn.execute(
                f"SELECT {_PAPER_COLUMNS} FROM papers WHERE first_seen >= ? AND {using} "
                "ORDER BY first_seen DESC, id DESC LIMIT ?",
                (normalise_since(since), *params, max(0, int(limit))),
            ).fetchall()
        return [self._paper(r) for r in rows]

    def new_papers_page(self, since: str, *, limit: int = 50, offset: int = 0,
                        technique_ids: Sequence[str] = ()) -> tuple[list[Paper], int]:
        """A page of the papers first seen at or after `since`, newest first, and their total (with
        `technique_ids`: those touching one of the nodes or a refinement, as the technique filter)."""
        check_page(limit, offset)
        since = normalise_since(since)
        with self._read() as conn:  # one snapshot: an ingest between the two reads cannot skew them
            using, params = self._using_clause(conn, technique_ids)
            total = int(conn.execute(f"SELECT count(*) FROM papers WHERE first_seen >= ? AND {using}",
                                     (since, *params)).fetchone()[0])
            if limit == 0 or offset >= total:
                return [], total
            rows = conn.execute(
                f"SELECT {_PAPER_COLUMNS} FROM papers WHERE first_seen >= ? AND {using} "
                "ORDER BY first_seen DESC, id DESC LIMIT ? OFFSET ?",
                (since, *params, int(limit), int(offset)),
            ).fetchall()
        return [self._paper(r) for r in rows], total

    def _using_clause(self, conn: sqlite3.Connection, technique_ids: Sequence[str]) -> tuple[str, list[str]]:
        """A condition on `papers` for the new papers' technique filter, with its parameters: "1" when
        no ids are given, else the search filter's technique rule (USES or EVALUATES one of the ids or a
        refinement of one). The text is constants; the ids (expanded by _family) are a parameter."""
        if not technique_ids:
            return "1", []
        sub = f"{_PAPERS_TOUCHING[Label.TECHNIQUE]} UNION {_PAPERS_TOUCHING[Label.EVALUATION]}"
        return f"id IN ({sub})", [json.dumps(self._family(conn, technique_ids))] * sub.count("?")

    def list_sections(self) -> list[dict[str, object]]:
        """List sections with their paper counts, in id order (ids are slugs of the heading path)."""
        rows = self._conn().execute(
            "SELECT s.id, s.title, s.path, (SELECT count(*) FROM listed_in l WHERE l.section_id = s.id) "
            "FROM list_sections s ORDER BY s.id"
        ).fetchall()
        return [{"id": r[0], "title": r[1], "path": json.loads(r[2]), "count": int(r[3])} for r in rows]

    def list_rows_from(self, source: str) -> list[dict[str, object]]:
        """The list rows of the papers whose sources include `source` (see GraphStore)."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT l.paper_id, p.title, l.section_id, s.path, l.line FROM listed_in l "
                "JOIN papers p ON p.id = l.paper_id JOIN list_sections s ON s.id = l.section_id "
                "WHERE EXISTS (SELECT 1 FROM json_each(p.sources) j WHERE j.value = ?) "
                "ORDER BY l.paper_id, l.position", (source,),
            ).fetchall()
        return [{"paper_id": r[0], "title": r[1], "section_id": r[2], "section_path": json.loads(r[3]),
                 "line": r[4]} for r in rows]

    def stats(self) -> dict[str, dict[str, int]]:
        """Counts of every node label and relationship type (zeros included)."""
        with self._read() as conn:
            one = lambda sql: int(conn.execute(sql).fetchone()[0])  # noqa: E731
            by_label = dict(conn.execute("SELECT label, count(*) FROM taxonomy GROUP BY label").fetchall())
            nodes = {label: int(by_label.get(label, 0)) for label in NODES}
            nodes[Label.PAPER] = one("SELECT count(*) FROM papers")
            nodes[Label.AUTHOR] = one("SELECT count(*) FROM authors")
            nodes[Label.FINDING] = one("SELECT count(*) FROM findings")
            nodes[Label.LIST_SECTION] = one("SELECT count(*) FROM list_sections")
            nodes[Label.INGEST_RUN] = one("SELECT count(*) FROM ingest_runs")
            rels = {rel: 0 for rel in RELATIONSHIPS}
            rels[Rel.AUTHORED_BY] = one("SELECT count(*) FROM paper_authors")
            rels[Rel.USES] = one("SELECT count(*) FROM uses")
            rels[Rel.REFINES] = one("SELECT count(*) FROM refines")
            rels[Rel.EVALUATES] = one("SELECT count(*) FROM evaluates")
            rels[Rel.REPORTS] = one("SELECT count(*) FROM findings")
            rels[Rel.ABOUT] = one("SELECT count(*) FROM finding_about")
            rels[Rel.STUDIES] = one("SELECT count(*) FROM studies")
            rels[Rel.LISTED_IN] = one("SELECT count(*) FROM listed_in")
        return {"nodes": nodes, "relationships": rels}

    def embedding_models(self) -> dict[str, int]:
        """Papers with an embedding, counted per embedding model."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT coalesce(embedding_model, ''), count(*) FROM papers "
                "WHERE embedding IS NOT NULL GROUP BY 1"
            ).fetchall()
        return {str(model): int(n) for model, n in rows}

    def author_papers(self, key: str, *, limit: int = 20, offset: int = 0, since: str | None = None,
                      coauthors: int = 10, order: str = "date") -> AuthorPage | None:
        """An author's papers newest first (by sort_date or by first_seen, then id), names and coauthors."""
        check_page(limit, offset)
        # Constant ORDER BY text by name; first_seen's is new_papers_page's (the author feed's order).
        order_by = {"date": "p.sort_date DESC, p.id DESC",
                    "first_seen": "p.first_seen DESC, p.id DESC"}.get(order)
        if order_by is None:
            raise ValueError(f"order must be 'date' or 'first_seen', not {order!r}")
        first_seen = normalise_since(since) if since else ""
        columns = ", ".join("p." + c.strip() for c in _PAPER_COLUMNS.split(","))
        with self._read() as conn:  # one snapshot: the page, its total and the names agree
            node = conn.execute("SELECT name FROM authors WHERE key = ?", (key,)).fetchone()
            # The spelling each paper's own list gives (AUTHORED_BY's position in it), whitespace as
            # kg.validation.paper_authors collapses it; in AUTHOR_NAMES' order, so both backends agree.
            written = [r[0] for r in conn.execute(
                "SELECT json_extract(p.authors_json, '$[' || pa.position || ']') FROM paper_authors pa "
                "JOIN papers p ON p.id = pa.paper_id WHERE pa.author_key = ? ORDER BY p.first_seen, p.id",
                (key,))]
            if node is None or not written:
                return None
            total = int(conn.execute(
                "SELECT count(DISTINCT pa.paper_id) FROM paper_authors pa "
                "JOIN papers p ON p.id = pa.paper_id WHERE pa.author_key = ? AND p.first_seen >= ?",
                (key, first_seen)).fetchone()[0])
            rows = conn.execute(
                f"SELECT {columns} FROM papers p WHERE p.id IN (SELECT paper_id FROM paper_authors "
                f"WHERE author_key = ?) AND p.first_seen >= ? ORDER BY {order_by} "
                "LIMIT ? OFFSET ?", (key, first_seen, int(limit), int(offset)),
            ).fetchall() if limit else []
            others = conn.execute(
                "SELECT a.key, a.name, count(DISTINCT o.paper_id) AS n FROM paper_authors mine "
                "JOIN paper_authors o ON o.paper_id = mine.paper_id AND o.author_key <> mine.author_key "
                "JOIN authors a ON a.key = o.author_key WHERE mine.author_key = ? "
                "GROUP BY a.key ORDER BY n DESC, a.name, a.key LIMIT ?", (key, max(0, int(coauthors))),
            ).fetchall()
        names = list(dict.fromkeys([str(node[0]), *(" ".join(str(w).split()) for w in written if w)]))
        return AuthorPage(key=key, names=names, papers=[self._paper(r) for r in rows], total=total,
                          coauthors=[(str(k), str(n), int(c)) for k, n, c in others])

    # -- embedding cache -------------------------------------------------------------------
    def cached_embeddings(self, model: str, text_hashes: Sequence[str]) -> dict[str, np.ndarray]:
        """Cached vectors of one model by text hash; a row that cannot be decoded is left out (logged)."""
        hashes = list(dict.fromkeys(text_hashes))
        if not hashes:
            return {}
        rows = self._conn().execute(
            "SELECT text_hash, vector FROM embedding_cache WHERE model = ? AND "
            "text_hash IN (SELECT value FROM json_each(?))", (model, json.dumps(hashes)),
        ).fetchall()
        out: dict[str, np.ndarray] = {}
        undecodable: list[str] = []
        for text_hash, blob in rows:
            # Row by row: one damaged row (cut to an odd length, or text) is left out, as not cached,
            # so the caller embeds just that text again instead of the whole batch.
            try:
                out[text_hash] = np.frombuffer(blob, dtype=np.float32).copy()
            except (TypeError, ValueError):
                undecodable.append(text_hash)
        if undecodable:
            log.warning("%d cached embedding(s) of %r could not be decoded, left out (their texts are "
                        "embedded again): %s", len(undecodable), model, ", ".join(undecodable[:5]))
        return out

    def cache_embeddings(self, model: str, vectors: dict[str, np.ndarray]) -> None:
        """Store vectors of one model by text hash (replacing any earlier vector)."""
        rows = [(model, text_hash, embedding_vector(vector, f"cached embedding {text_hash!r}").tobytes())
                for text_hash, vector in vectors.items()]
        if not rows:
            return
        with self._write() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO embedding_cache (model, text_hash, vector) VALUES (?, ?, ?)", rows
            )

    # -- ingest runs, locks, rejections ----------------------------------------------------
    @staticmethod
    def _run(row: Sequence[Any]) -> IngestRun:
        return IngestRun(id=row[0], source=row[1], started=row[2], finished=row[3], status=row[4],
                         counts=json.loads(row[5]), watermark=row[6], message=row[7])

    def start_run(self, source: str) -> IngestRun:
        """Record a new run with status "running"."""
        run = new_run(source)
        with self._write() as conn:
            conn.execute(
                "INSERT INTO ingest_runs (id, source, started, status, counts) VALUES (?, ?, ?, ?, '{}')",
                (run.id, run.source, run.started, run.status),
            )
        return run

    def finish_run(
        self, run_id: str, status: str, counts: dict[str, object] | None = None,
        watermark: str | None = None, message: str | None = None,
    ) -> None:
        """Record how a run ended; the watermark is kept only when it succeeded."""
        check_run_status(status)
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE ingest_runs SET finished = ?, status = ?, counts = ?, watermark = ?, message = ? "
                "WHERE id = ?",
                (validation.now(), status, json.dumps(counts or {}, default=str),
                 watermark if status == "succeeded" else None, message, run_id),
            )
            if cur.rowcount == 0:
                raise ValueError(f"unknown ingest run {run_id!r}")

    def runs(self, source: str | None = None, limit: int = 50, status: str | None = None) -> list[IngestRun]:
        """Recent runs (of a source, with a status), newest first."""
        rows = self._conn().execute(
            "SELECT id, source, started, finished, status, counts, watermark, message FROM ingest_runs "
            "WHERE (? IS NULL OR source = ?) AND (? IS NULL OR status = ?) ORDER BY seq DESC LIMIT ?",
            (source, source, status, status, max(0, int(limit))),
        ).fetchall()
        return [self._run(r) for r in rows]

    def last_watermark(self, source: str) -> str | None:
        """Watermark of the newest succeeded run of a source."""
        row = self._conn().execute(
            "SELECT watermark FROM ingest_runs WHERE source = ? AND status = 'succeeded' "
            "AND watermark IS NOT NULL ORDER BY seq DESC LIMIT 1", (source,),
        ).fetchone()
        return None if row is None else row[0]

    def acquire_lock(self, name: str, owner: str, ttl_seconds: int = 6 * 3600, *,
                     replacing: str | None = None, expected: str | AnyHolder | None = ANY_HOLDER) -> None:
        """Take a named lock (one expired or still held by `replacing` is taken over; with `expected`, only
        from that holder) or raise LockHeld."""
        now = datetime.now(UTC)
        # BEGIN IMMEDIATE holds the write lock from this read to the upsert, so the holder checked here
        # is the one replaced: two callers replacing the same dead holder cannot both win.
        with self._write() as conn:
            row = conn.execute("SELECT owner, expires FROM locks WHERE name = ?", (name,)).fetchone()
            if row is not None and row[0] != owner and (
                    (expected is not ANY_HOLDER and row[0] != expected)
                    or (row[1] > now.timestamp() and (replacing is None or row[0] != replacing))):
                raise LockHeld(lock_held_message(name, row[0], row[1], now.timestamp()),
                               name=name, owner=row[0], expires=row[1])
            conn.execute(
                "INSERT INTO locks (name, owner, acquired, expires) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET owner = excluded.owner, acquired = excluded.acquired, "
                "expires = excluded.expires",
                (name, owner, now.isoformat(timespec="microseconds"), now.timestamp() + ttl_seconds),
            )

    def refresh_lock(self, name: str, owner: str, ttl_seconds: int) -> bool:
        """Push the expiry of a lock `owner` still holds; False when it holds it no longer."""
        with self._write() as conn:
            return conn.execute("UPDATE locks SET expires = ? WHERE name = ? AND owner = ?",
                                (datetime.now(UTC).timestamp() + ttl_seconds, name, owner)).rowcount == 1

    def lock_holder(self, name: str) -> tuple[str, float] | None:
        """Who holds a named lock and until when, expired or not (None when nobody does)."""
        row = self._conn().execute("SELECT owner, expires FROM locks WHERE name = ?", (name,)).fetchone()
        return None if row is None else (str(row[0]), float(row[1]))

    def release_lock(self, name: str, owner: str) -> None:
        """Release a lock if `owner` holds it."""
        with self._write() as conn:
            conn.execute("DELETE FROM locks WHERE name = ? AND owner = ?", (name, owner))

    def record_rejections(self, rejections: Sequence[Rejection]) -> None:
        """Keep rejected candidates, one row per arXiv id and run."""
        now = validation.now()
        rows = [(r.arxiv_id, r.run_id or "", r.title, r.reason, float(r.score), r.seen_at or now)
                for r in rejections]
        if not rows:
            return
        with self._write() as conn:
            conn.executemany(
                "INSERT INTO rejections (arxiv_id, run_id, title, reason, score, seen_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(arxiv_id, run_id) DO UPDATE SET "
                "title = excluded.title, reason = excluded.reason, score = excluded.score, "
                "seen_at = excluded.seen_at", rows,
            )

    def rejections(self, since: str | None = None, limit: int = 500) -> list[Rejection]:
        """Rejected candidates seen at or after `since`, newest first."""
        rows = self._conn().execute(
            "SELECT arxiv_id, title, reason, score, run_id, seen_at FROM rejections "
            "WHERE ? IS NULL OR seen_at >= ? ORDER BY seen_at DESC, arxiv_id LIMIT ?",
            (None if since is None else normalise_since(since),
             None if since is None else normalise_since(since), max(0, int(limit))),
        ).fetchall()
        return [Rejection(arxiv_id=r[0], title=r[1], reason=r[2], score=r[3], run_id=r[4] or None,
                          seen_at=r[5]) for r in rows]

    def rejected_arxiv_ids(self, arxiv_ids: Sequence[str]) -> set[str]:
        """Which of these arXiv ids a weekly run rejected (any run, however long ago)."""
        ids = list(dict.fromkeys(arxiv_ids))
        if not ids:
            return set()
        # One JSON parameter, as find_paper_ids: no limit on the number of ids; a look-up by the primary
        # key (arxiv_id, run_id), not a read of every rejection row.
        return {r[0] for r in self._conn().execute(
            "SELECT DISTINCT arxiv_id FROM rejections WHERE arxiv_id IN (SELECT value FROM json_each(?))",
            (json.dumps(ids),),
        )}


def _translating(method: Callable[..., Any]) -> Callable[..., Any]:
    """`method` with any SQLite error it lets through raised as a StoreError in words."""
    @functools.wraps(method)
    def wrapper(self: EmbeddedStore, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            raise self._error(exc) from exc

    return wrapper


# Every GraphStore operation: a read that meets a damaged page (or any other SQLite error) raises a
# StoreError the CLI prints in one line and the API answers with 503, never a bare sqlite3 error.
for _name in sorted(GraphStore.__abstractmethods__):
    setattr(EmbeddedStore, _name, _translating(getattr(EmbeddedStore, _name)))
