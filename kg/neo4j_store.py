"""The Neo4j backend: GraphStore on the official `neo4j` driver, every statement from kg/cypher.py.

Connection problems (refused, DNS, timeout, bad credentials) surface as one StoreUnavailable line,
"cannot reach Neo4j at bolt://host:port: <reason>", raised from the first operation (or ping()),
never from the constructor. Reads and writes run in managed transactions (execute_read /
execute_write), which the driver retries on transient errors; batches are `UNWIND $rows` upserts.
Validation and change detection are kg/validation.py's, shared with the embedded store, whose
semantics this backend follows exactly: both pass tests/kg/test_store_contract.py.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import math
import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import numpy as np

from kg import cypher, validation
from kg.config import without_password
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
from kg.schema import EDGE_SOURCE_EXTRACTED, TAXONOMY_LABELS, Label
from kg.store import (
    ANY_HOLDER,
    AnyHolder,
    AuthorPage,
    GraphStore,
    KeyRestore,
    LockHeld,
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
    section_topic_key,
    taxonomy_references,
    unique_list_rows,
    unit_query,
    venue_search_text,
)

if TYPE_CHECKING:
    from neo4j import Driver, ManagedTransaction
    from neo4j.api import BookmarkManager

T = TypeVar("T")
log = logging.getLogger(__name__)

# Every index and constraint init_schema creates, by name (parsed from the DDL constants).
INDEX_NAMES: tuple[str, ...] = tuple(
    re.match(r"CREATE (?:\w+ )?(?:INDEX|CONSTRAINT) (\w+) IF NOT EXISTS", stmt).group(1)  # type: ignore[union-attr]
    for stmt in cypher.SCHEMA_STATEMENTS
)
# The ones that are constraints (dropped with DROP CONSTRAINT, which drops their index too).
CONSTRAINT_NAMES = frozenset(
    name for name, stmt in zip(INDEX_NAMES, cypher.SCHEMA_STATEMENTS, strict=True)
    if stmt.startswith("CREATE CONSTRAINT")
)
# Vector search asks the HNSW index for more neighbours than wanted, then keeps the best k (keyword
# search fetches more by the same factor while equal scores cross the k-th: _top_keyword_rows).
_OVERSAMPLE = 4
_MIN_FETCH = 50
_CLEAR_BATCH = 10_000
# init_schema upgrades data an older paperkg wrote this many nodes per transaction.
_UPGRADE_BATCH = 1000
# The upgrade steps of _upgrade_data (insertion numbers, folded search text; citation keys since 2):
# bump it when a step is added, so graphs upgraded before run the steps once more.
_DATA_VERSION = 2
# Range-index keys are limited to a few kB: indexed look-up keys are cut to this many characters.
_MAX_KEY_CHARS = 1000
# related_candidates: which RelatedCandidate list each kind of shared node goes to.
_SHARED_ATTR = {
    "technique": "shared_techniques", "topic": "shared_topics", "object": "shared_topics",
    "component": "shared_components", "model": "shared_models", "author": "shared_authors",
}


def _public_uri(uri: str) -> str:
    """The URI without any user:password part (it goes into error messages)."""
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018  (a port that is no number raises here, not only in urlsplit)
    except ValueError:  # a URI too broken to split still has its password masked
        return without_password(uri)
    if parts.username is None and parts.password is None:
        return uri
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _one_line(exc: BaseException) -> str:
    """The driver's reason for a failure, on one line ("[Errno 111] Connection refused")."""
    text = str(exc) or type(exc).__name__
    match = re.search(r"\(reason ([^()]*(?:\([^()]*\))?[^()]*)\)", text)
    if match:
        text = match.group(1)
    return " ".join(text.split())


def _paper(m: dict[str, Any]) -> Paper:
    """A Paper from a map projection of a Paper node."""
    embedding = m.get("embedding")
    return Paper(
        id=m["id"], title=m["title"], abstract=m.get("abstract") or "", arxiv_id=m.get("arxiv_id"),
        doi=m.get("doi"), authors=list(m.get("authors") or []), published=m.get("published"),
        updated=m.get("updated"), arxiv_version=m.get("arxiv_version"), year=m.get("year"),
        venue=m.get("venue"), primary_category=m.get("primary_category"),
        categories=list(m.get("categories") or []),
        url=m.get("url"), pdf_url=m.get("pdf_url"), sources=list(m.get("sources") or []),
        item_type=m.get("item_type") or "paper",
        embedding=None if embedding is None else np.asarray(embedding, dtype=np.float32),
        embedding_model=m.get("embedding_model"), content_hash=m.get("content_hash"),
        extraction_hash=m.get("extraction_hash"),
        first_seen=m.get("first_seen"), last_seen=m.get("last_seen"), citation_key=m.get("citation_key"),
    )


def _same_setting(actual: Any, expected: Any) -> bool:
    """Whether an index setting SHOW INDEXES reports is the one we ask for (the server may report a
    number as a float and names in upper case: 384.0, 'COSINE')."""
    if isinstance(expected, int) and isinstance(actual, int | float):
        return actual == expected
    return str(actual).lower() == str(expected).lower()


def index_mismatches(row: dict[str, Any]) -> list[str]:
    """How an index in a SHOW INDEXES row differs from what init_schema creates under its name
    ("fulltext.analyzer 'standard-folding', expected 'standard-no-stop-words'"); empty when it matches."""
    expected = cypher.EXPECTED_INDEXES[row["name"]]
    out = []
    if str(row.get("type") or "").upper() != expected["type"]:
        out.append(f"type {row.get('type')!r}, expected {expected['type']!r}")
    for key in ("labelsOrTypes", "properties"):
        if list(row.get(key) or []) != expected[key]:
            out.append(f"{key} {list(row.get(key) or [])}, expected {expected[key]}")
    config = (row.get("options") or {}).get("indexConfig") or {}
    for key, value in expected["indexConfig"].items():
        if not _same_setting(config.get(key), value):
            out.append(f"{key} {config.get(key)!r}, expected {value!r}")
    return out


def _search_text(title: str | None, abstract: str | None, authors: Sequence[str] | None,
                 venue: str | None = None, url: str | None = None) -> dict[str, str]:
    """The folded copies of a paper's text the full-text index covers (cypher.FULLTEXT_PROPERTIES: the
    venue as validation.venue_search_text gives it), cut into the embedded store's words
    (cypher.index_text)."""
    return {"search_title": cypher.index_text(fold_for_search(title or "")),
            "search_abstract": cypher.index_text(fold_for_search(abstract or "")),
            "search_authors": cypher.index_text(fold_for_search(", ".join(authors or []))),
            "search_venue": cypher.index_text(fold_for_search(venue_search_text(venue, url)))}


def _row_search_text(row: dict[str, Any]) -> dict[str, str]:
    """_search_text of a row holding a paper's title, abstract, authors, venue and url."""
    return _search_text(row["title"], row["abstract"], row["authors"], row.get("venue"), row.get("url"))


def _search_source(row: dict[str, Any]) -> dict[str, Any]:
    """The id and the text a paper's search text is computed from, as SET_SEARCH_TEXT compares them
    with the paper's (no abstract or authors as "" and [])."""
    return {"id": row["id"], "title": row["title"] or "", "abstract": row["abstract"] or "",
            "authors": list(row["authors"] or []), "venue": row.get("venue") or "",
            "url": row.get("url") or ""}


@functools.cache
def search_text_rule() -> str:
    """A fingerprint of _search_text: the search fold's (validation.search_fold_rule) and the word rule
    of cypher.index_text. init_schema records it on the 'upgrade' node and re-folds every paper's search
    text when it differs. It is this backend's own: the embedded store records search_fold_rule(), and
    its FTS5 index, which cuts words itself, needs no re-fold when only the word rule changes."""
    rule = f"{search_fold_rule()} {cypher.index_rule()}"
    return hashlib.sha256(rule.encode()).hexdigest()[:16]


def _top_keyword_rows(tx: ManagedTransaction, query: str, k: int) -> list[dict[str, Any]]:
    """The best k of an unfiltered full-text query, equal scores by paper id (KEYWORD_SEARCH).
    The index stops at $fetch by its own order among equal scores, so while the last paper fetched
    ties the k-th, papers of that score may be left out that come first by id: fetch
    more (x4 each time) until a lower score or the end of the matches is reached."""
    fetch = k + 1
    while True:
        rows = tx.run(cypher.KEYWORD_SEARCH, {"query": query, "fetch": fetch}).data()
        if len(rows) < fetch or rows[-1]["score"] < rows[k - 1]["score"]:
            return rows[:k]
        fetch *= _OVERSAMPLE


def _vector_fetch(k: int, n_papers: int) -> int | None:
    """How many candidates VECTOR_SEARCH asks the vector index for to keep the best k (oversampled, at
    least _MIN_FETCH), or None when that is as many as there are papers: the index may then return
    fewer than k (an approximate search; Neo4j's vector-index limitations), and an exact scan of
    every paper (VECTOR_SEARCH_EXACT) costs about what the index search would."""
    fetch = max(k * _OVERSAMPLE, _MIN_FETCH)
    return None if fetch >= n_papers else fetch


def _top_vector_rows(tx: ManagedTransaction, vector: list[float], k: int) -> list[dict[str, Any]]:
    """The unfiltered cosine top-k: from the vector index's candidates (_vector_fetch), or by the exact
    scan when the index is not asked (small graphs) or hands over fewer than k (then every paper with
    an embedding is scanned, so none that exists is missed)."""
    n_papers = tx.run(cypher.PAPER_COUNT).single(strict=True)["n"]
    fetch = _vector_fetch(k, n_papers)
    if fetch is not None:
        rows = tx.run(cypher.VECTOR_SEARCH, {"vector": vector, "k": k, "fetch": fetch}).data()
        if len(rows) >= k:
            return rows
    return tx.run(cypher.VECTOR_SEARCH_EXACT, {"vector": vector, "k": k}).data()


def _list(values: Sequence[str]) -> list[str] | None:
    """A list property value; an empty list is stored as no property (reads turn null into [])."""
    return list(values) or None


class Neo4jStore(GraphStore):
    """GraphStore on a Neo4j 5 server (or cluster / Aura) through the official driver."""

    def __init__(
        self, uri: str, user: str, password: str, database: str = "neo4j", *,
        connection_timeout: float = 5.0, retry_time: float = 15.0, index_timeout: float = 300.0,
    ) -> None:
        self.uri = uri
        self.where = _public_uri(uri)
        self.database = database or "neo4j"
        self._auth = (user, password)
        self._connection_timeout = connection_timeout
        self._retry_time = retry_time
        self._index_timeout = index_timeout
        self._driver: Driver | None = None
        self._bookmarks: BookmarkManager | None = None
        self._verified = False
        self._closed = False
        self._lock = threading.Lock()
        self._pid = os.getpid()

    # -- connection and transactions -------------------------------------------------------
    def _unreachable(self, reason: str) -> StoreUnavailable:
        # The driver quotes the URI in some messages: never let a password in it through.
        return StoreUnavailable(f"cannot reach Neo4j at {self.where}: {reason.replace(self.uri, self.where)}")

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        """Turn driver and server errors into StoreUnavailable / StoreError with one-line messages."""
        from neo4j import exceptions as ne

        try:
            yield
        except ne.AuthError as exc:
            raise self._unreachable(f"authentication failed: {_one_line(exc)}") from exc
        except (ne.ServiceUnavailable, ne.SessionExpired, ne.ConnectionAcquisitionTimeoutError,
                ne.DatabaseUnavailable) as exc:
            raise self._unreachable(_one_line(exc)) from exc
        except ne.Neo4jError as exc:
            reason = _one_line(exc).replace(self.uri, self.where)
            raise StoreError(f"Neo4j at {self.where} refused a statement: {exc.code}: {reason}") from exc
        except ne.ConfigurationError as exc:
            reason = _one_line(exc).replace(self.uri, self.where)
            if "notification filtering is not supported" in reason.lower():
                # A server before 5.7 cannot filter notifications (the driver asks for warnings only, see
                # _get_driver) and fails the first connection, before _check_server_version could run.
                needed = ".".join(map(str, cypher.MIN_SERVER_VERSION))
                raise StoreError(f"Neo4j at {self.where} is too old: paperkg needs {needed} or newer "
                                 f"({reason})") from exc
            raise StoreError(f"Neo4j driver error for {self.where}: {reason}") from exc
        except ne.DriverError as exc:
            reason = _one_line(exc).replace(self.uri, self.where)
            raise StoreError(f"Neo4j driver error for {self.where}: {reason}") from exc

    def _forget_parent_driver(self) -> None:
        """In a forked child (a gunicorn worker forked after the store was used): drop the parent's
        driver without closing it. Its pooled sockets are shared with the parent, and closing them
        here would send the server a GOODBYE that ends the parent's connections."""
        self._driver = None
        self._bookmarks = None
        self._verified = False
        self._lock = threading.Lock()  # it may have been held by another thread at fork time
        self._pid = os.getpid()

    def _get_driver(self, verify: bool = False) -> Driver:
        """The driver of this process, created on first use; connectivity is checked once (or when
        `verify`)."""
        if self._closed:
            raise StoreError(f"Neo4j store {self.where} is closed")
        if self._pid != os.getpid():
            self._forget_parent_driver()
        with self._lock:
            if self._driver is None:
                from neo4j import GraphDatabase, NotificationMinimumSeverity

                # Every operation opens its own session; one bookmark manager chains them, so on a
                # cluster (or Aura) a read routed to another member still sees this store's writes.
                self._bookmarks = GraphDatabase.bookmark_manager()
                try:
                    # Warnings only: since Neo4j 5.17 every CREATE ... IF NOT EXISTS that finds its
                    # index answers with an informational notification, which the driver logs at INFO
                    # (logger neo4j.notifications): ~26 lines per init_schema, i.e. per ingest.
                    self._driver = GraphDatabase.driver(
                        self.uri, auth=self._auth, connection_timeout=self._connection_timeout,
                        connection_acquisition_timeout=2 * self._connection_timeout,
                        max_transaction_retry_time=self._retry_time, user_agent="paperkg",
                        notifications_min_severity=NotificationMinimumSeverity.WARNING,
                    )
                except Exception as exc:  # ConfigurationError, ValueError, ImportError (http://)
                    raise self._unreachable(f"invalid Neo4j URI or settings: {_one_line(exc)}") from exc
            if verify or not self._verified:
                # Fails fast (no retry loop): a down server is reported in connection_timeout.
                with self._errors():
                    self._driver.verify_connectivity()
                self._verified = True
            return self._driver

    def _execute(self, write: bool, work: Callable[[ManagedTransaction], T]) -> T:
        """Run `work` in one managed transaction (retried by the driver on transient errors)."""
        driver = self._get_driver()
        with self._errors(), driver.session(
            database=self.database, bookmark_manager=self._bookmarks
        ) as session:
            return session.execute_write(work) if write else session.execute_read(work)

    def _read(self, statement: str, /, **params: Any) -> list[dict[str, Any]]:
        """One read statement's records as dicts."""
        return self._execute(False, lambda tx: tx.run(statement, params).data())

    def _write(self, statement: str, /, **params: Any) -> list[dict[str, Any]]:
        """One write statement's records as dicts."""
        return self._execute(True, lambda tx: tx.run(statement, params).data())

    # -- lifecycle -------------------------------------------------------------------------
    def _check_server_version(self) -> None:
        """StoreError when the server is older than the Cypher here needs (unknown versions pass)."""
        for row in self._read(cypher.SERVER_VERSION):
            if row.get("name") != "Neo4j Kernel" or not row.get("versions"):
                continue
            version = str(row["versions"][0])
            parts = re.match(r"(\d+)\.(\d+)", version)
            if parts and (int(parts[1]), int(parts[2])) < cypher.MIN_SERVER_VERSION:
                needed = ".".join(map(str, cypher.MIN_SERVER_VERSION))
                raise StoreError(
                    f"Neo4j at {self.where} is version {version}; paperkg needs {needed} or newer"
                )

    def init_schema(self) -> None:
        """Check the server version, create constraints and indexes (idempotent), wait until every
        index is ONLINE, then upgrade data an older paperkg wrote (see _upgrade_data)."""
        self._check_server_version()
        for statement in cypher.SCHEMA_STATEMENTS:
            # The default argument binds the loop variable (ruff B023); mypy cannot infer such a lambda.
            self._execute(True, lambda tx, s=statement: tx.run(s).consume())  # type: ignore[misc]
        deadline = time.monotonic() + self._index_timeout
        checked = remade = False
        while True:
            rows = self._read(cypher.SHOW_INDEX_STATES)
            if not checked:
                if not remade and self._drop_outgrown_fulltext_index(rows):
                    remade = True  # once: an index still outgrown then is named by the check below
                    continue
                self._check_index_definitions([r for r in rows if r["name"] in INDEX_NAMES])
                checked = True
            states = {
                r["name"]: (r["state"], r["populationPercent"]) for r in rows if r["name"] in INDEX_NAMES
            }
            failed = [n for n, (state, _) in states.items() if state == "FAILED"]
            if failed:
                raise StoreError(f"Neo4j at {self.where}: index {', '.join(failed)} FAILED "
                                 "(see SHOW INDEXES; drop it and run `paperkg init` again)")
            # Each CREATE ... IF NOT EXISTS has just run, so a name still absent means the server
            # already had an equivalent index or constraint under another name: waiting won't help.
            missing = [n for n in INDEX_NAMES if n not in states]
            if missing:
                raise StoreError(
                    f"Neo4j at {self.where}: index {', '.join(missing)} was not created, so an "
                    "equivalent index or constraint exists under another name (see SHOW INDEXES and "
                    "SHOW CONSTRAINTS); drop it and run `paperkg init` again"
                )
            pending = [n for n in INDEX_NAMES if states[n][0] != "ONLINE"]
            if not pending:
                self._upgrade_data()
                return
            if time.monotonic() > deadline:
                detail = ", ".join(f"{n} ({states[n][0]}, {states[n][1] or 0:.0f}%)" for n in pending)
                raise StoreError(
                    f"Neo4j at {self.where}: indexes not ONLINE after {self._index_timeout:.0f} s: {detail}"
                )
            time.sleep(0.5)

    def _drop_outgrown_fulltext_index(self, rows: list[dict[str, Any]]) -> bool:
        """Make the full-text index an older paperkg made over fewer properties (no venue: see
        cypher.OUTGROWN_FULLTEXT_PROPERTIES; `rows`: SHOW_INDEX_STATES) again over FULLTEXT_PROPERTIES;
        whether it did. init_schema then waits for it, and _upgrade_data writes every paper's new search
        text (the search text rule changed with it). Until it is ONLINE again keyword search finds
        nothing: once, at `paperkg init` or the next ingest. Any other difference stays an error
        (_check_index_definitions)."""
        if not any(r["name"] == cypher.IndexName.FULLTEXT
                   and tuple(r.get("properties") or ()) in cypher.OUTGROWN_FULLTEXT_PROPERTIES for r in rows):
            return False
        log.info("Neo4j at %s: making the full-text index again, with the venue", self.where)
        self._execute(True, lambda tx: tx.run(cypher.DROP_FULLTEXT_INDEX).consume())
        self._execute(True, lambda tx: tx.run(cypher.CREATE_FULLTEXT_INDEX).consume())
        return True

    def _upgrade_data(self) -> None:
        """Bring what an older paperkg wrote up to what this one relies on, recorded on the 'upgrade'
        Counter node: when it names _DATA_VERSION, the current title-key rule and the current search
        text rule (search_text_rule, under the name search_fold_rule), this is one indexed read
        (init_schema runs on every ingest and scheduled run). Otherwise the steps that are behind run
        (_number_and_fold and _issue_missing_citation_keys; _rekey_titles; _refold_search_text), then
        the node records all three (last: an interrupted upgrade runs its steps again)."""
        from ingest.normalize import title_key_rule

        rows = self._read(cypher.UPGRADE_STATE)
        row = rows[0] if rows else {}
        version, rule, fold = row.get("data_version"), row.get("title_key_rule"), row.get("search_fold_rule")
        current_rule, current_fold = title_key_rule(), search_text_rule()
        if version == _DATA_VERSION and rule == current_rule and fold == current_fold:
            return
        if version != _DATA_VERSION:
            self._number_and_fold()
            self._issue_missing_citation_keys()
        if rule != current_rule:
            self._rekey_titles()
        if fold != current_fold:
            self._refold_search_text()
        self._write(cypher.RECORD_UPGRADE, data_version=_DATA_VERSION, title_key_rule=current_rule,
                    search_fold_rule=current_fold)

    def _refold_search_text(self) -> None:
        """Recompute every paper's folded search text (_search_text) where it differs, _UPGRADE_BATCH
        papers per transaction in id order: text an older fold wrote ("Søgaard" kept its "ø", "O'Neill"
        was one word) is missed by a query folded now ("Sogaard", "Neill"). Setting a value again is
        harmless, so an interrupted pass is simply run again; a paper an upsert rewrote since it was
        read keeps the upsert's text (SET_SEARCH_TEXT)."""
        self._batched_upkeep(
            cypher.PAPER_SEARCH_TEXT_AFTER, cypher.SET_SEARCH_TEXT,
            lambda rows: [{**_search_source(r), **text} for r in rows
                          if (text := _row_search_text(r)) != {k: r[k] for k in cypher.FULLTEXT_PROPERTIES}],
        )

    def _rekey_titles(self) -> None:
        """Recompute every paper's title key with the current title_key rule, _UPGRADE_BATCH papers per
        transaction in id order. A key of an older rule would not match the same title ingested again,
        which then became a second paper. Papers whose new keys coincide are all kept, with a WARNING
        naming them (the embedded store's, see kg.embedded._rekey_titles). Each row carries the title its
        key was computed from: a paper an upsert retitled since it was read keeps the upsert's key."""
        from ingest.normalize import title_key
        from kg.validation import shared_title_keys_warning

        changed: set[str] = set()
        self._batched_upkeep(
            cypher.PAPER_TITLES_AFTER, cypher.SET_TITLE_KEYS,
            lambda rows: [{"id": r["id"], "title": r["title"], "title_key": key} for r in rows
                          if (key := title_key(r["title"])[:_MAX_KEY_CHARS]) != r["title_key"]],
            done=lambda written: changed.update(u["title_key"] for u in written if u["title_key"]),
        )
        groups: dict[str, list[str]] = {}
        ordered = sorted(changed)
        for start in range(0, len(ordered), _UPGRADE_BATCH):
            for r in self._read(cypher.FIND_BY_TITLE_KEYS, keys=ordered[start:start + _UPGRADE_BATCH]):
                groups.setdefault(r["key"], []).append(r["id"])
        warning = shared_title_keys_warning(groups)
        if warning:
            log.warning("Neo4j at %s: %s", self.where, warning)

    def _batched_upkeep(
        self, read: str, write: str, updates: Callable[[list[dict[str, Any]]], list[dict[str, Any]]],
        done: Callable[[list[dict[str, Any]]], None] | None = None,
    ) -> None:
        """Run an upgrade pass over every paper in id order, _UPGRADE_BATCH per transaction: `read`
        (given $after and $batch) a batch, then `write` the rows `updates` makes of it (if any) in the
        same transaction; `done` gets each batch's written rows once it has committed (a transaction
        the driver retries runs `updates` again)."""
        def one_batch(tx: ManagedTransaction, after: str) -> tuple[str | None, list[dict[str, Any]]]:
            rows = tx.run(read, {"after": after, "batch": _UPGRADE_BATCH}).data()
            written = updates(rows)
            if written:
                tx.run(write, {"rows": written}).consume()
            return (rows[-1]["id"] if len(rows) == _UPGRADE_BATCH else None), written

        after: str | None = ""
        while after is not None:
            # The default argument binds the loop variable (ruff B023); mypy cannot infer such a lambda.
            after, written = self._execute(True, lambda tx, a=after: one_batch(tx, a))  # type: ignore[misc]
            if done is not None:
                done(written)

    def _number_and_fold(self) -> None:
        """Give what an older paperkg wrote what this one relies on (idempotent; nothing to do on a
        database written by this version): insertion numbers for papers and runs without one,
        oldest first after every number already given, and the full-text index's folded text for
        papers without it (after `DROP INDEX paper_text` and `paperkg init`, say). Batches of
        _UPGRADE_BATCH, each its own transaction, so a large graph never needs one huge one."""
        self._execute(True, lambda tx: tx.run(cypher.RAISE_COUNTERS).consume())
        for name, unnumbered, number in (
            (Label.PAPER, cypher.UNNUMBERED_PAPERS, cypher.NUMBER_PAPERS),
            (Label.INGEST_RUN, cypher.UNNUMBERED_RUNS, cypher.NUMBER_RUNS),
        ):
            def number_batch(tx: ManagedTransaction, name: str = name, unnumbered: str = unnumbered,
                             number: str = number) -> int:
                ids = [r["id"] for r in tx.run(unnumbered, {"batch": _UPGRADE_BATCH})]
                if ids:
                    reserved = tx.run(cypher.RESERVE_SEQ, {"name": name, "n": len(ids)})
                    last = reserved.single(strict=True)["last"]
                    rows = [{"id": i, "seq": seq} for seq, i in enumerate(ids, start=last - len(ids) + 1)]
                    tx.run(number, {"rows": rows}).consume()
                return len(ids)

            while self._execute(True, number_batch) == _UPGRADE_BATCH:
                pass

        def fold_batch(tx: ManagedTransaction) -> int:
            rows = tx.run(cypher.UNFOLDED_PAPERS, {"batch": _UPGRADE_BATCH}).data()
            if rows:
                tx.run(cypher.SET_SEARCH_TEXT, {"rows": [
                    {**_search_source(r), **_row_search_text(r)}
                    for r in rows
                ]}).consume()
            return len(rows)

        while self._execute(True, fold_batch) == _UPGRADE_BATCH:
            pass

    def _issue_missing_citation_keys(self) -> None:
        """Issue a citation key to every paper without one (written before keys were stored), oldest first
        (first_seen, then id: the order and suffixes of the full BibTeX export of before, so the keys a
        user's .bib file holds from it stay theirs), _UPGRADE_BATCH papers per transaction; a paper with
        authors gets its key pinned. The embedded store's _issue_missing_citation_keys. The unkeyed ids are
        read once, in that order, and each batch looked up by id: `citation_key IS NULL` has no index to
        seek, so a query for the next batch would scan every paper each time. A paper keyed meanwhile
        (by an upsert) is skipped."""
        ids = [r["id"] for r in self._read(cypher.UNKEYED_PAPER_IDS)]

        def key_batch(batch: list[str], tx: ManagedTransaction) -> None:
            papers = [_paper(r["paper"]) for r in tx.run(cypher.UNKEYED_PAPERS_BY_ID, {"ids": batch})]
            if papers:
                wanted = [(p.id, citation_key_base(p)) for p in papers]
                taken = {r["key"] for r in tx.run(cypher.CITATION_KEYS_TAKEN,
                                                  {"bases": list(dict.fromkeys(b for _, b in wanted))})}
                issued = issue_citation_keys(wanted, taken)
                rows = [{"paper_id": p.id, "key": issued[p.id], "pinned": has_authors(p.authors)}
                        for p in papers]
                tx.run(cypher.RECORD_CITATION_KEYS, {"rows": rows}).consume()
                tx.run(cypher.SET_CITATION_KEYS, {"rows": rows}).consume()

        for start in range(0, len(ids), _UPGRADE_BATCH):
            self._execute(True, functools.partial(key_batch, ids[start:start + _UPGRADE_BATCH]))

    @staticmethod
    def _citation_keys(tx: ManagedTransaction, bundles: list[PaperBundle]) -> dict[str, tuple[str, bool]]:
        """{paper id: (citation key, pinned)} for the papers about to be written (kg.store's rules), the
        keys issued now recorded as taken; the embedded store's _citation_keys (read, as there, before
        MOVE_CITATION_KEYS moves the replaced papers' keys)."""
        ids = [b.paper.id for b in bundles] + [old for b in bundles for old in b.replaces]
        rows = list(tx.run(cypher.CITATION_KEYS_HELD, {"ids": ids}))
        held = {r["id"]: (r["citation_key"], bool(r["pinned"])) for r in rows}
        seen = {r["id"]: r.get("first_seen") for r in rows if r.get("first_seen")}
        unstored = [b.paper.id for b in bundles if b.paper.id not in held]
        former = ({r["id"]: r["key"] for r in tx.run(cypher.CITATION_KEYS_FORMER, {"ids": unstored})}
                  if unstored else {})
        kept, wanted = plan_citation_keys(bundles, held, former, seen)
        keys = {pid: (key, pinned) for pid, (key, pinned) in kept.items() if key}
        if wanted:
            taken = {r["key"] for r in tx.run(cypher.CITATION_KEYS_TAKEN,
                                              {"bases": list(dict.fromkeys(b for _, b in wanted))})}
            issued = issue_citation_keys(wanted, taken)
            tx.run(cypher.RECORD_CITATION_KEYS,
                   {"rows": [{"key": key, "paper_id": pid} for pid, key in issued.items()]}).consume()
            authored = {b.paper.id: has_authors(b.paper.authors) for b in bundles}
            keys.update((pid, (key, authored[pid])) for pid, key in issued.items())
        return keys

    def _check_index_definitions(self, rows: list[dict[str, Any]]) -> None:
        """StoreError naming each index of ours that exists with other settings than init_schema
        gives it: CREATE ... IF NOT EXISTS keeps an existing index of that name as it is (an
        older paperkg's analyzer, another embedding size), and searches would silently differ."""
        wrong = [(r["name"], index_mismatches(r)) for r in rows]
        wrong = [(name, diffs) for name, diffs in wrong if diffs]
        if not wrong:
            return
        details = "; ".join(f"{name}: {', '.join(diffs)}" for name, diffs in wrong)
        drops = " ".join(
            f"`DROP {'CONSTRAINT' if name in CONSTRAINT_NAMES else 'INDEX'} {name}`;" for name, _ in wrong
        )
        raise StoreError(
            f"Neo4j at {self.where}: existing index differs from the one paperkg creates ({details}); "
            f"drop it ({drops} e.g. in cypher-shell) and run `paperkg init` again to recreate it"
        )

    def ping(self) -> None:
        """Raise StoreUnavailable unless the server answers now."""
        self._get_driver(verify=True)
        self._read(cypher.PING)

    def close(self) -> None:
        """Close the driver and its connection pool."""
        self._closed = True
        with self._lock:
            if self._driver is not None:
                with contextlib.suppress(Exception):
                    self._driver.close()
                self._driver = None
                self._bookmarks = None

    def clear_all(self) -> None:
        """Delete every node of our labels, in batches (tests only: the schema stays)."""
        while self._write(cypher.CLEAR_ALL_BATCH, batch=_CLEAR_BATCH)[0]["deleted"]:
            pass

    # -- taxonomy --------------------------------------------------------------------------
    def load_taxonomy(self, nodes: Sequence[TaxonomyNode]) -> None:
        """Upsert taxonomy nodes; REFINES links a node to a parent of the same label."""
        for node in nodes:
            if node.label not in TAXONOMY_LABELS:
                raise ValueError(f"taxonomy node {node.id!r}: unknown label {node.label!r}")
        rows = [
            {"label": n.label, "id": n.id, "name": n.name, "aliases": _list(n.aliases),
             "ambiguous_aliases": _list(n.ambiguous_aliases), "parent": n.parent, "kind": n.kind,
             "ord": i}
            for i, n in enumerate(nodes)
        ]
        if not rows:
            return

        def work(tx: ManagedTransaction) -> None:
            base = tx.run(cypher.TAXONOMY_MAX_ORD).single(strict=True)["max_ord"] + 1
            # First: a node changing band keeps its id, load order and edges, under its new label.
            tx.run(cypher.RELABEL_TAXONOMY_NODES, {"rows": rows}).consume()
            tx.run(cypher.MERGE_TAXONOMY_NODES, {"rows": rows, "base": base}).consume()
            tx.run(cypher.DELETE_TAXONOMY_REFINES, {"rows": rows}).consume()
            tx.run(cypher.CREATE_TAXONOMY_REFINES, {"rows": [r for r in rows if r["parent"]]}).consume()

        self._execute(True, work)

    def taxonomy_nodes(self, label: str | None = None) -> list[TaxonomyNode]:
        """All taxonomy nodes in load order, or those of one label."""
        return [
            TaxonomyNode(label=r["node_label"], id=r["id"], name=r["name"], aliases=list(r["aliases"] or []),
                         ambiguous_aliases=list(r["ambiguous_aliases"] or []), parent=r["parent"],
                         kind=r["kind"])
            for r in self._read(cypher.TAXONOMY_NODES, label=label)
        ]

    def prune_taxonomy(self, moves: Mapping[str, str | None], *, write: bool = True) -> dict[str, int]:
        """Remove taxonomy nodes, moving or dropping their paper edges, in one transaction (GraphStore)."""
        moves = dict(moves)
        if not moves:
            return {}
        asked = list(dict.fromkeys([*moves, *(t for t in moves.values() if t is not None)]))

        def work(tx: ManagedTransaction) -> dict[str, int]:
            labels: dict[str, set[str]] = {}
            for r in tx.run(cypher.TAXONOMY_ID_LABELS, {"ids": asked}):
                labels.setdefault(r["id"], set()).add(r["label"])
            rows = []
            for node_id, target in moves.items():
                for label in sorted(labels.get(node_id, ())):
                    if write and target is not None and (target in moves
                                                         or label not in labels.get(target, ())):
                        raise ValueError(f"taxonomy node {node_id!r}: its edges cannot move to {target!r} "
                                         f"(not a kept {label} node)")
                    rows.append({"id": node_id, "label": label, "target": target})
            counts: dict[str, int] = {}
            for r in tx.run(cypher.PRUNED_NODE_PAPERS, {"rows": rows}):
                counts[r["id"]] = max(counts.get(r["id"], 0), int(r["papers"]))
            if write and rows:
                tx.run(cypher.CLEAR_PRUNED_PAPER_HASHES, {"rows": rows}).consume()
                moving = [r for r in rows if r["target"] is not None]
                if moving:
                    for statement in cypher.MOVE_PRUNED_EDGES:
                        tx.run(statement, {"rows": moving}).consume()
                tx.run(cypher.DELETE_PRUNED_NODES, {"rows": rows}).consume()
            return counts

        return self._execute(write, work)

    # -- writes ----------------------------------------------------------------------------
    def upsert_papers(self, bundles: Sequence[PaperBundle]) -> dict[str, str]:
        """Validate the whole batch, then write it in one transaction (see GraphStore)."""
        bundles = list(bundles)
        if not bundles:
            return {}
        prepared, finding_ids = prepare_batch(bundles)
        aliases = alias_rows(bundles)
        refs = taxonomy_references(bundles)
        ids = [b.paper.id for b in bundles]
        now = validation.now()

        def work(tx: ManagedTransaction) -> dict[str, str]:
            found = tx.run(cypher.TAXONOMY_ID_LABELS, {"ids": list(dict.fromkeys(k[1] for k in refs))})
            check_references(refs, {r["id"]: r["label"] for r in found})
            clash = tx.run(cypher.FINDING_OWNERS, {"ids": list(finding_ids), "paper_ids": ids}).data()
            if clash:
                fid, owner = clash[0]["id"], clash[0]["owner"]
                raise ValueError(f"paper {finding_ids[fid]!r}: finding id {fid!r} belongs to paper {owner!r}")
            stored = {r["id"]: r["bundle_hash"] for r in tx.run(cypher.PAPER_HASHES, {"ids": ids})}
            result, changed = classify(prepared, stored)
            # Numbers for the papers this write may create, in batch order (first: the counter's
            # lock is always taken before any paper's, so writers cannot deadlock on it).
            last = 0
            if changed:
                last = tx.run(cypher.RESERVE_SEQ, {"name": Label.PAPER, "n": len(changed)}).single(
                    strict=True)["last"]
            unchanged = [pid for pid, status in result.items() if status == "unchanged"]
            if unchanged:
                tx.run(cypher.TOUCH_PAPERS, {"ids": unchanged, "now": now}).consume()
            # A paper written changed, or replacing others (it may take over a pinned key of theirs).
            keyed = [b for b, _, _ in changed] + [b for b, _, _ in prepared
                                                  if b.replaces and result[b.paper.id] == "unchanged"]
            keys = self._citation_keys(tx, keyed) if keyed else {}
            if changed:
                self._write_changed(tx, changed, now, last - len(changed) + 1, keys)
            written = {b.paper.id for b, _, _ in changed}
            retaken = [{"paper_id": pid, "key": key, "pinned": pinned}
                       for pid, (key, pinned) in keys.items() if pid not in written]
            if retaken:
                tx.run(cypher.SET_PAPER_CITATION_KEYS, {"rows": retaken}).consume()
            if aliases:
                tx.run(cypher.RECORD_MERGED_PAPER_ALIASES, {"rows": aliases}).consume()
            replaced = [{"old_id": old, "paper_id": b.paper.id} for b in bundles for old in b.replaces]
            if replaced:
                # A paper that replaced a stored one took its first_seen (if earlier): updated.
                for row in tx.run(cypher.CARRY_FIRST_SEEN, {"rows": replaced}):
                    result[row["id"]] = "updated"
                tx.run(cypher.RECORD_PAPER_ALIASES, {"rows": replaced}).consume()
                tx.run(cypher.MOVE_CITATION_KEYS, {"rows": replaced}).consume()
            if keys:
                tx.run(cypher.MARK_HELD_CITATION_KEYS,
                       {"rows": [{"paper_id": pid, "key": key} for pid, (key, _) in keys.items()]}).consume()
            if replaced:
                tx.run(cypher.DELETE_PAPERS, {"ids": [r["old_id"] for r in replaced]}).consume()
            return result

        return self._execute(True, work)

    @staticmethod
    def _write_changed(
        tx: ManagedTransaction, changed: list[Prepared], now: str, first_seq: int,
        keys: dict[str, tuple[str, bool]],
    ) -> None:
        """Replace the changed papers' properties and outgoing edges (inside the caller's transaction);
        a paper created here is numbered first_seq + its place in `changed`."""
        from ingest.normalize import title_key

        ids = [b.paper.id for b, _, _ in changed]
        papers, authors, uses, evals, findings, about, studies, listed = [], [], [], [], [], [], [], []
        for seq, (bundle, vector, fp) in enumerate(changed, start=first_seq):
            p = bundle.paper
            pid = p.id
            authors_text = ", ".join(p.authors)
            papers.append({"id": pid, "seq": seq, "props": {
                "arxiv_id": p.arxiv_id, "doi": p.doi,
                "doi_key": p.doi.lower()[:_MAX_KEY_CHARS] if p.doi else None,
                "title": p.title, "title_key": title_key(p.title)[:_MAX_KEY_CHARS],
                "abstract": p.abstract or "",
                "authors": _list(p.authors), "authors_text": authors_text,
                # What the full-text index holds (see cypher.FULLTEXT_PROPERTIES).
                **_search_text(p.title, p.abstract, p.authors, p.venue, p.url),
                "published": p.published, "updated": p.updated,
                # A null removes the property (SET +=): a node without it reads as version unknown.
                "arxiv_version": None if p.arxiv_version is None else int(p.arxiv_version),
                "year": None if p.year is None else int(p.year), "venue": p.venue,
                "primary_category": p.primary_category, "categories": _list(p.categories),
                "url": p.url, "pdf_url": p.pdf_url, "sources": _list(p.sources),
                "item_type": p.item_type or "paper",
                "embedding": None if vector is None else vector.tolist(),
                "embedding_model": p.embedding_model, "content_hash": p.content_hash,
                "extraction_hash": p.extraction_hash, "bundle_hash": fp,
                "citation_key": keys[pid][0], "citation_key_pinned": keys[pid][1],
            }})
            authors += [{"paper_id": pid, "key": key, "name": name, "position": position}
                        for position, key, name in paper_authors(p)]
            uses += [{"paper_id": pid, "technique_id": t.technique_id, "source": t.source,
                      "evidence": t.evidence, "score": None if t.score is None else float(t.score)}
                     for t in dedupe_techniques(bundle)]
            evals += [{"paper_id": pid, "evaluation_id": e.evaluation_id, "source": e.source,
                       "evidence": e.evidence} for e in dedupe_evaluations(bundle)]
            for position, f in enumerate(bundle.findings):
                findings.append({"paper_id": pid, "id": f.id, "text": f.text, "kind": f.kind,
                                 "source": f.source, "position": position})
                about += [{"finding_id": f.id, "label": a.label, "id": a.id}
                          for a in {a.id: a for a in f.about}.values()]
            studies += [{"paper_id": pid, "model_id": m} for m in dict.fromkeys(bundle.models)]
            listed += [
                {"paper_id": pid, "section_id": r.section_id, "section_title": r.section_title,
                 "section_path": _list(r.section_path),
                 "topic_key": section_topic_key(r.section_id, r.topic_ids),
                 "tldr": r.tldr, "techniques_text": r.techniques_text, "evaluation_text": r.evaluation_text,
                 "title_in_list": r.title_in_list, "url_in_list": r.url_in_list,
                 "line": None if r.line is None else int(r.line),
                 "position": position}
                for position, r in unique_list_rows(bundle)
            ]
        tx.run(cypher.DELETE_PAPER_FINDINGS, {"ids": ids}).consume()
        tx.run(cypher.DELETE_PAPER_EDGES, {"ids": ids}).consume()
        tx.run(cypher.MERGE_PAPERS, {"rows": papers, "now": now}).consume()
        for statement, rows in (
            (cypher.CREATE_AUTHORED_BY, authors), (cypher.CREATE_USES, uses),
            (cypher.CREATE_EVALUATES, evals), (cypher.CREATE_FINDINGS, findings),
            (cypher.CREATE_FINDING_ABOUT, about), (cypher.CREATE_STUDIES, studies),
            (cypher.CREATE_LISTED_IN, listed),
        ):
            if rows:
                tx.run(statement, {"rows": rows}).consume()

    def warm(self) -> None:
        """Nothing to load: the server keeps the vector and full-text indexes."""

    def delete_paper(self, paper_id: str) -> bool:
        """Remove a paper, its findings and its edges (authors and taxonomy nodes stay)."""
        return bool(self._write(cypher.DELETE_PAPER, id=paper_id)[0]["deleted"])

    def restore_citation_keys(self, pins: Sequence[tuple[str, str]]) -> KeyRestore:
        """Give papers the keys `pins` names, in one transaction (see GraphStore; the embedded store's)."""
        pins = [(check_paper_id(pid), check_citation_key(key)) for pid, key in pins]
        if not pins:
            return KeyRestore()

        def restore(tx: ManagedTransaction) -> KeyRestore:
            held: dict[str, str | None] = {}
            authored: dict[str, bool] = {}
            for r in tx.run(cypher.RESTORE_KEYS_HELD, {"ids": [pid for pid, _ in pins]}):
                held[r["id"]], authored[r["id"]] = r["citation_key"], bool(r["authored"])
            issued = {r["key"]: (r["paper_id"], bool(r["held"]))
                      for r in tx.run(cypher.RESTORE_KEYS_ISSUED, {"keys": [key for _, key in pins]})}
            moves, outcome = plan_key_restore(pins, held, issued)
            if moves:
                tx.run(cypher.RELEASE_CITATION_KEYS, {"ids": list(moves)}).consume()
                tx.run(cypher.GIVE_CITATION_KEYS,
                       {"rows": [{"key": key, "paper_id": pid} for pid, key in moves.items()]}).consume()
                tx.run(cypher.SET_PAPER_CITATION_KEYS,
                       {"rows": [{"paper_id": pid, "key": key, "pinned": authored[pid]}
                                 for pid, key in moves.items() if pid in held]}).consume()
            return outcome

        return self._execute(True, restore)

    # -- reads -----------------------------------------------------------------------------
    def successor_of(self, paper_id: str) -> str | None:
        """The id a paper now has when `paper_id` was replaced (a slug by its arXiv id) or given to a
        record merged into it, else None."""
        rows = self._read(cypher.PAPER_SUCCESSOR, id=paper_id)
        return rows[0]["paper_id"] if rows else None

    def former_ids(self, paper_id: str) -> list[str]:
        """The ids that lead to the paper, sorted."""
        return [r["old_id"] for r in self._read(cypher.PAPER_FORMER_IDS, id=paper_id)]

    def get_paper(self, paper_id: str) -> PaperDetail | None:
        """The paper (with its embedding) and its neighbourhood, in the embedded store's order."""
        rows = self._read(cypher.GET_PAPER, id=paper_id)
        if not rows:
            return None
        r = rows[0]
        techniques = sorted(
            (TechniqueUse(technique_id=t["technique_id"], source=t["source"], evidence=t["evidence"],
                          score=t["score"], label=t["label"]) for t in r["techniques"]),
            key=lambda t: (t.technique_id, t.source),
        )
        evaluations = sorted(
            (EvaluationUse(evaluation_id=e["evaluation_id"], source=e["source"], evidence=e["evidence"],
                           label=e["label"]) for e in r["evaluations"]),
            key=lambda e: (e.evaluation_id, e.source),
        )
        findings = [
            Finding(id=f["id"], text=f["text"], kind=f["kind"], source=f["source"], about=sorted(
                (FindingAbout(label=a["label"], id=a["id"], name=a["name"]) for a in f["about"]),
                key=lambda a: (a.label, a.id),
            ))
            for f in sorted(r["findings"], key=lambda f: f["position"])
        ]
        models = sorted(
            (FindingAbout(label=Label.MODEL, id=m["id"], name=m["name"]) for m in r["models"]),
            key=lambda m: m.id,
        )
        # A row's topic_ids: the Topic and Object ids its section's topic_key contains (CONTAINS, as
        # the counts and the topic filter match), as the embedded store reads them.
        topic_nodes = sorted(set(r.get("topic_nodes") or []))
        list_rows = [
            ListRow(section_id=x["section_id"], section_title=x["section_title"],
                    section_path=list(x["section_path"] or []), tldr=x["tldr"],
                    techniques_text=x["techniques_text"], evaluation_text=x["evaluation_text"],
                    title_in_list=x["title_in_list"], url_in_list=x["url_in_list"], line=x["line"],
                    topic_ids=[t for t in topic_nodes if t in (x.get("topic_key") or "")])
            for x in sorted(r["list_rows"], key=lambda x: x["position"])
        ]
        return PaperDetail(paper=_paper(r["paper"]), techniques=techniques, evaluations=evaluations,
                           findings=findings, models=models, list_rows=list_rows,
                           former_ids=sorted(r.get("former_ids") or []))

    def _papers_by_id(self, ids: list[str]) -> list[Paper]:
        """The stored papers of `ids` (GraphStore.get_papers orders them)."""
        return [_paper(r["paper"]) for r in self._read(cypher.GET_PAPERS, ids=ids)]

    def find_paper_ids(
        self, *, arxiv_ids: Sequence[str] = (), dois: Sequence[str] = (),
        title_keys: Sequence[str] = (), shared: dict[str, list[str]] | None = None,
    ) -> dict[str, str]:
        """Known arXiv ids / DOIs (case-insensitive) / title keys -> stored paper ids; a title key by the
        current title, else a list row's title (see GraphStore.find_paper_ids, and `shared`)."""
        out: dict[str, str] = {}
        if arxiv_ids:
            for r in self._read(cypher.FIND_BY_ARXIV_IDS, keys=list(arxiv_ids)):
                out.setdefault(r["key"], r["id"])
        if dois:
            wanted = {d.lower()[:_MAX_KEY_CHARS]: d for d in dois}
            for r in self._read(cypher.FIND_BY_DOI_KEYS, keys=list(wanted)):
                out.setdefault(wanted[r["key"]], r["id"])
        keys = {k[:_MAX_KEY_CHARS]: k for k in title_keys if k}
        if keys:
            found: dict[str, list[str]] = {}  # in insertion order, as the embedded store's
            for r in self._read(cypher.FIND_BY_TITLE_KEYS, keys=list(keys)):
                found.setdefault(keys[r["key"]], []).append(r["id"])
            rest = [k for k in keys.values() if k not in found]
            if rest:  # a current title wins: list rows' titles only for the keys no current title has
                rows = ((r["title"], r["id"]) for r in self._read(cypher.LIST_ROW_TITLES))
                found.update(list_title_matches(rows, rest))
            for key, ids in preferred_title_matches(found, self.get_papers).items():
                out.setdefault(key, ids[0])
                if shared is not None and len(ids) > 1:
                    shared[key] = ids
        return out

    def paper_ids(self) -> list[str]:
        """Every paper id, in insertion order."""
        return [r["id"] for r in self._read(cypher.PAPER_IDS)]

    def papers_by_technique(
        self, technique_id: str, *, include_refinements: bool = True, sort: str = "date",
        limit: int = 20, offset: int = 0,
    ) -> tuple[list[Paper], int]:
        """Papers touching a Technique (USES), Evaluation (EVALUATES), Topic or Object (topic rule):
        "date" newest first, "centrality" most edges first."""
        check_sort(sort)
        query = cypher.PAPERS_BY_TECHNIQUE_DATE if sort == "date" else cypher.PAPERS_BY_TECHNIQUE_CENTRALITY
        r = self._read(query, node_id=technique_id, include_refinements=include_refinements,
                       limit=max(0, int(limit)), offset=max(0, int(offset)))[0]
        return [_paper(m) for m in r["page"]], int(r["total"])

    def _filter_params(self, tx: ManagedTransaction, filters: SearchFilters | None) -> dict[str, Any]:
        """Parameters of the shared filter conditions; technique and topic ids expanded (technique ids
        one by one into $technique_families when the technique filter matches all of them)."""
        f = filters or SearchFilters()

        def expand(ids: Sequence[str]) -> list[str]:
            if not ids:
                return []
            rows = tx.run(cypher.EXPAND_REFINEMENTS,
                          {"ids": list(ids), "include_refinements": f.include_refinements})
            return [r["id"] for r in rows]

        every = f.technique_match == "all"
        return {
            "year_from": None if f.year_from is None else int(f.year_from),
            "year_to": None if f.year_to is None else int(f.year_to),
            "sources": list(f.sources), "section_ids": list(f.section_ids),
            "technique_ids": [] if every else expand(f.technique_ids),
            # At most MAX_FILTER_VALUES ids, each a small indexed read in this transaction.
            "technique_families": [expand(ids) for ids in f.technique_groups()] if every else [],
            "topic_ids": expand(f.topic_ids),
            "model_ids": list(f.model_ids),
            "component_ids": self._component_family(tx, f.component_ids, f.include_refinements),
        }

    @staticmethod
    def _component_family(tx: ManagedTransaction, ids: Sequence[str], include_refinements: bool) -> list[str]:
        """The component ids and (when asked) their sub-components, transitively (the taxonomy's parent
        property: components have no REFINES links)."""
        if not ids or not include_refinements:
            return list(ids)
        children: dict[str, list[str]] = {}
        for r in tx.run(cypher.COMPONENT_PARENTS):
            children.setdefault(r["parent"], []).append(r["id"])
        family = list(dict.fromkeys(ids))
        for node_id in family:  # grows while walked: each child is appended once
            family += [c for c in children.get(node_id, []) if c not in family]
        return family

    def _filtered(
        self, statement: str, filters: SearchFilters | None, /, **params: Any
    ) -> list[dict[str, Any]]:
        """Run a read statement that uses the filter conditions."""
        def work(tx: ManagedTransaction) -> list[dict[str, Any]]:
            return tx.run(statement, {**self._filter_params(tx, filters), **params}).data()

        return self._execute(False, work)

    def filter_ids(self, filters: SearchFilters) -> set[str]:
        """Ids of the papers passing the filters."""
        return {r["id"] for r in self._filtered(cypher.FILTER_IDS, filters)}

    def filter_page(
        self, filters: SearchFilters, *, limit: int = 20, offset: int = 0
    ) -> tuple[list[str], int]:
        """A page of filtered ids newest first (published, else year, then id; undated last) and the total."""
        check_page(limit, offset)
        r = self._filtered(cypher.FILTER_PAGE, filters, limit=int(limit), offset=int(offset))[0]
        return list(r["page"]), int(r["total"])

    def _venue_forms(self, query: str) -> list[str]:
        """The query's word forms looked for in venues too, as the embedded store picks them
        (validation.venue_query and venue_word_limit): none in a long query; each a count of the papers
        whose text has it, stopped at the limit."""
        if not validation.venue_query(query):
            return []
        forms = cypher.fulltext_forms(query, stopwords=validation.STOPWORDS)
        if not forms:
            return []
        papers = self._read(cypher.PAPER_COUNT)
        limit = validation.venue_word_limit(int(papers[0]["n"]) if papers else 0)
        venue = []
        for form in forms:
            text = cypher.text_match_query(form)
            rows = self._read(cypher.KEYWORD_TEXT_MATCHES, query=text, limit=limit) if text else []
            if text and (int(rows[0]["n"]) if rows else 0) < limit:
                venue.append(form)
        # A year only beside a word some venue has ("EMNLP 2021"), not beside a name ("Elhage 2021"),
        # as the embedded store (which keeps only forms a venue has).
        if any(map(validation.is_number, venue)) and not any(
                not validation.is_number(f) and self._in_venues(f) for f in venue):
            return []
        return venue

    def _in_venues(self, form: str) -> bool:
        """Whether some paper's venue has the word form (cypher.venue_match_query)."""
        text = cypher.venue_match_query(form)
        rows = self._read(cypher.KEYWORD_TEXT_MATCHES, query=text, limit=1) if text else []
        return bool(rows) and int(rows[0]["n"]) > 0

    def keyword_search(self, query: str, k: int, filters: SearchFilters | None = None) -> list[ScoredId]:
        """Lucene full-text over title, abstract and authors, and the venue for a short query's rarer
        words (_venue_forms), weighted as the embedded store's bm25 (cypher.FULLTEXT_WEIGHTS); user words
        are escaped, OR-ed; equal scores by paper id."""
        if k <= 0:
            return []
        venue = self._venue_forms(query)
        text = cypher.fulltext_query(query, stopwords=validation.STOPWORDS, venue_forms=venue)
        if text is None:
            return []
        if filters is None or filters.is_empty():
            rows = self._execute(False, lambda tx: _top_keyword_rows(tx, text, int(k)))
        else:
            rows = self._filtered(cypher.KEYWORD_SEARCH_FILTERED, filters, query=text, k=int(k))
        return [ScoredId(id=r["id"], score=float(r["score"])) for r in rows]

    def _paper_count(self) -> int:
        """How many papers there are."""
        rows = self._read(cypher.PAPER_COUNT)
        return int(rows[0]["n"]) if rows else 0

    def _text_matches(self, word: str, limit: int) -> int:
        """How many papers, up to `limit`, have `word` in their title, abstract or authors in any form
        keyword search gives it alone, as the embedded store counts them: one count, stopped at the limit."""
        # No venue clause (venue_forms empty): the text's words, as KEYWORD_TEXT_MATCHES counts them.
        text = cypher.fulltext_query(word, stopwords=validation.STOPWORDS, venue_forms=())
        if not text or limit <= 0:
            return 0
        rows = self._read(cypher.KEYWORD_TEXT_MATCHES, query=text, limit=limit)
        return int(rows[0]["n"]) if rows else 0

    def vector_search(
        self, vector: np.ndarray, k: int, filters: SearchFilters | None = None
    ) -> list[ScoredId]:
        """Cosine top-k: the HNSW index (oversampled) without filters, exact over the filtered set."""
        query = unit_query(vector)
        if k <= 0 or query is None:
            return []  # cosine is undefined for a zero vector (Neo4j rejects it)
        values = query.tolist()
        if filters is None or filters.is_empty():
            rows = self._execute(False, lambda tx: _top_vector_rows(tx, values, int(k)))
        else:
            rows = self._filtered(cypher.VECTOR_SEARCH_FILTERED, filters, vector=values, k=int(k))
        return [ScoredId(id=r["id"], score=float(r["cosine"])) for r in rows]

    def get_embeddings(self, paper_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored embeddings of the given papers."""
        ids = list(dict.fromkeys(paper_ids))
        if not ids:
            return {}
        return {r["id"]: np.asarray(r["embedding"], dtype=np.float32)
                for r in self._read(cypher.GET_EMBEDDINGS, ids=ids)}

    def related_candidates(self, paper_id: str, limit: int = 200) -> list[RelatedCandidate]:
        """Papers sharing something with a paper, ranked by the summed IDF of what they share
        (the embedded store's weights, summing order and id tie-break; see RelatedIndex.top)."""
        limit = max(0, int(limit))
        if limit == 0:
            return []

        def work(tx: ManagedTransaction) -> tuple[int, list[dict[str, Any]]]:
            n = tx.run(cypher.PAPER_COUNT).single(strict=True)["n"]
            return n, tx.run(cypher.RELATED_ROWS, {"id": paper_id}).data()

        n_papers, rows = self._execute(False, work)
        shared: dict[str, RelatedCandidate] = {}
        score: dict[str, float] = {}
        # Techniques, then finding / studies nodes, then authors, each by key: float sums depend on
        # the order, and papers in the same postings must get bit-identical scores to tie.
        order = {"technique": 0, "about": 1, "author": 2}
        for r in sorted(rows, key=lambda r: (order[r["kind"]], r["key"])):
            papers = set(r["papers"])
            # Rare shared things weigh more: idf = ln((N + 1) / (df + 1)) + 1, df counting every
            # paper touching the node, this one included.
            weight = math.log((n_papers + 1) / (len(papers) + 1)) + 1.0
            attr = _SHARED_ATTR[r["kind"] if r["kind"] != "about" else r["label"].lower()]
            for pid in papers - {paper_id}:
                score[pid] = score.get(pid, 0.0) + weight
                cand = shared.get(pid)
                if cand is None:
                    cand = shared[pid] = RelatedCandidate(id=pid)
                getattr(cand, attr).append(r["shared"])
        for cand in shared.values():
            for attr in set(_SHARED_ATTR.values()):
                setattr(cand, attr, sorted(set(getattr(cand, attr))))
        ranked = sorted(shared.values(), key=lambda c: (-score[c.id], c.id))
        return ranked[:limit]

    def technique_document_frequency(self) -> dict[str, int]:
        """Papers per technique (direct uses), every Technique node included."""
        return {r["id"]: int(r["n"]) for r in self._read(cypher.TECHNIQUE_DOCUMENT_FREQUENCY)}

    def paper_profiles(self, paper_ids: Sequence[str]) -> dict[str, set[str]]:
        """For each paper, the technique, evaluation, topic, object, component and model ids it touches."""
        ids = list(dict.fromkeys(paper_ids))
        if not ids:
            return {}
        return {r["id"]: set(r["ids"]) for r in self._read(cypher.PAPER_PROFILES, ids=ids)}

    def tag_evidence(self, paper_ids: Sequence[str], node_ids: Sequence[str]) -> dict[str, dict[str, str]]:
        """{paper id: {node id: evidence}} of the papers' extracted USES / EVALUATES edges to the nodes."""
        papers, nodes = list(dict.fromkeys(paper_ids)), list(dict.fromkeys(node_ids))
        if not papers or not nodes:
            return {}
        out: dict[str, dict[str, str]] = {}
        for r in self._read(cypher.TAG_EVIDENCE, ids=papers, nodes=nodes, source=EDGE_SOURCE_EXTRACTED):
            # USES first: a node with both keeps its USES evidence, as in the embedded store.
            for edge in [*r["uses"], *r["evaluates"]]:
                out.setdefault(r["paper_id"], {}).setdefault(edge["node_id"], edge["evidence"])
        return out

    def technique_counts(self) -> list[TechniqueCount]:
        """Technique, Evaluation, Topic and Object nodes with own / incl.-refinement counts."""
        return [
            TechniqueCount(id=r["id"], label=r["label"], parent=r["parent"], kind=r["kind"],
                           own_count=int(r["own_count"]), total_count=int(r["total_count"]))
            for r in self._read(cypher.TECHNIQUE_COUNTS)
        ]

    def cooccurring_techniques(self, technique_id: str, limit: int = 10) -> list[tuple[str, int]]:
        """Other techniques used by the papers touching a node, each counted as the AND search of the two
        counts (see GraphStore): the node's family and its ancestors left out."""
        rows = self._read(cypher.COOCCURRING_TECHNIQUES, node_id=technique_id,
                          include_refinements=True, limit=max(0, int(limit)))
        return [(r["id"], int(r["n"])) for r in rows]

    def papers_per_year(self, technique_id: str) -> dict[int, int]:
        """Papers per year touching a node and its refinements (papers without a year left out)."""
        rows = self._read(cypher.PAPERS_PER_YEAR, node_id=technique_id, include_refinements=True)
        return {int(r["year"]): int(r["n"]) for r in rows}

    def new_papers(self, since: str, limit: int = 100, *, technique_ids: Sequence[str] = ()) -> list[Paper]:
        """Papers first seen at or after `since`, newest first (with `technique_ids`: those touching one of
        the nodes or a refinement, as the technique filter)."""
        rows = self._read(cypher.NEW_PAPERS, since=normalise_since(since), limit=max(0, int(limit)),
                          techniques=list(technique_ids))
        return [_paper(r["paper"]) for r in rows]

    def new_papers_page(self, since: str, *, limit: int = 50, offset: int = 0,
                        technique_ids: Sequence[str] = ()) -> tuple[list[Paper], int]:
        """A page of the papers first seen at or after `since`, newest first, and their total (with
        `technique_ids`: those touching one of the nodes or a refinement, as the technique filter)."""
        check_page(limit, offset)
        r = self._read(cypher.NEW_PAPERS_PAGE, since=normalise_since(since), limit=int(limit),
                       offset=int(offset), techniques=list(technique_ids))[0]
        return [_paper(m) for m in r["page"]], int(r["total"])

    def list_sections(self) -> list[dict[str, object]]:
        """List sections with their paper counts, in id order."""
        return [{"id": r["id"], "title": r["title"], "path": list(r["path"] or []), "count": int(r["count"])}
                for r in self._read(cypher.LIST_SECTIONS)]

    def list_rows_from(self, source: str) -> list[dict[str, object]]:
        """The list rows of the papers whose sources include `source` (see GraphStore)."""
        return [{"paper_id": r["paper_id"], "title": r["title"], "section_id": r["section_id"],
                 "section_path": list(r["section_path"] or []),
                 "line": None if r["line"] is None else int(r["line"])}
                for r in self._read(cypher.LIST_ROWS_FROM, source=source)]

    def stats(self) -> dict[str, dict[str, int]]:
        """Counts of every node label and relationship type (zeros included)."""
        def work(tx: ManagedTransaction) -> dict[str, dict[str, int]]:
            nodes = {r["name"]: int(r["n"]) for r in tx.run(cypher.STATS_NODES)}
            rels = {r["name"]: int(r["n"]) for r in tx.run(cypher.STATS_RELATIONSHIPS)}
            return {"nodes": nodes, "relationships": rels}

        return self._execute(False, work)

    def embedding_models(self) -> dict[str, int]:
        """Papers with an embedding, counted per embedding model."""
        return {r["model"]: int(r["n"]) for r in self._read(cypher.EMBEDDING_MODELS)}

    def author_papers(self, key: str, *, limit: int = 20, offset: int = 0, since: str | None = None,
                      coauthors: int = 10, order: str = "date") -> AuthorPage | None:
        """An author's papers newest first by date or by first seen, names and coauthors, read in one
        transaction."""
        check_page(limit, offset)
        statement = {"date": cypher.AUTHOR_PAPERS_PAGE,
                     "first_seen": cypher.AUTHOR_PAPERS_FIRST_SEEN_PAGE}.get(order)
        if statement is None:
            raise ValueError(f"order must be 'date' or 'first_seen', not {order!r}")
        first_seen = normalise_since(since) if since else ""

        def work(tx: ManagedTransaction) -> AuthorPage | None:
            nodes = tx.run(cypher.AUTHOR_NAMES, {"key": key}).data()
            node = nodes[0] if nodes else None
            if node is None or not node["written"]:
                return None
            pages = tx.run(statement, {"key": key, "since": first_seen, "limit": int(limit),
                                       "offset": int(offset)}).data()
            page = pages[0] if pages else None
            others = tx.run(cypher.AUTHOR_COAUTHORS, {"key": key, "limit": max(0, int(coauthors))}).data()
            names = list(dict.fromkeys([str(node["name"]),
                                        *(" ".join(str(w).split()) for w in node["written"] if w)]))
            return AuthorPage(
                key=key, names=names, papers=[_paper(m) for m in page["page"]] if page else [],
                total=int(page["total"]) if page else 0,
                coauthors=[(str(r["key"]), str(r["name"]), int(r["papers"])) for r in others])

        return self._execute(False, work)

    # -- embedding cache -------------------------------------------------------------------
    @staticmethod
    def _cache_key(model: str, text_hash: str) -> str:
        return f"{model}|{text_hash}"

    def cached_embeddings(self, model: str, text_hashes: Sequence[str]) -> dict[str, np.ndarray]:
        """Cached vectors of one model by text hash; a node that cannot be decoded is left out (logged)."""
        hashes = list(dict.fromkeys(text_hashes))
        if not hashes:
            return {}
        rows = self._read(cypher.CACHED_EMBEDDINGS, keys=[self._cache_key(model, h) for h in hashes])
        out: dict[str, np.ndarray] = {}
        undecodable: list[str] = []
        for r in rows:
            # Row by row: one damaged node (a vector that is no list of numbers) is left out, as not
            # cached, so the caller embeds just that text again instead of the whole batch.
            try:
                vector = np.asarray(r["vector"])
                if vector.ndim != 1 or vector.dtype.kind not in "iuf":
                    raise ValueError(f"not a list of numbers: {type(r['vector']).__name__}")
                out[r["hash"]] = vector.astype(np.float32)
            except (TypeError, ValueError):
                undecodable.append(r["hash"])
        if undecodable:
            log.warning("%d cached embedding(s) of %r could not be decoded, left out (their texts are "
                        "embedded again): %s", len(undecodable), model, ", ".join(undecodable[:5]))
        return out

    def cache_embeddings(self, model: str, vectors: dict[str, np.ndarray]) -> None:
        """Store vectors of one model by text hash (replacing any earlier vector)."""
        rows = [
            {"key": self._cache_key(model, h), "model": model, "hash": h,
             "vector": embedding_vector(v, f"cached embedding {h!r}").tolist()}
            for h, v in vectors.items()
        ]
        if rows:
            self._write(cypher.CACHE_EMBEDDINGS, rows=rows)

    # -- ingest runs, locks, rejections ----------------------------------------------------
    def start_run(self, source: str) -> IngestRun:
        """Record a new run with status "running"."""
        run = new_run(source)

        def work(tx: ManagedTransaction) -> None:
            seq = tx.run(cypher.RESERVE_SEQ, {"name": Label.INGEST_RUN, "n": 1}).single(strict=True)["last"]
            tx.run(cypher.START_RUN, {"id": run.id, "source": run.source, "started": run.started,
                                      "seq": seq}).consume()

        self._execute(True, work)
        return run

    def finish_run(
        self, run_id: str, status: str, counts: dict[str, object] | None = None,
        watermark: str | None = None, message: str | None = None,
    ) -> None:
        """Record how a run ended; the watermark is kept only when it succeeded."""
        check_run_status(status)
        rows = self._write(
            cypher.FINISH_RUN, id=run_id, finished=validation.now(), status=status,
            counts=json.dumps(counts or {}, default=str),
            watermark=watermark if status == "succeeded" else None, message=message,
        )
        if not rows:
            raise ValueError(f"unknown ingest run {run_id!r}")

    def runs(self, source: str | None = None, limit: int = 50, status: str | None = None) -> list[IngestRun]:
        """Recent runs (of a source, with a status), newest first."""
        return [
            IngestRun(id=r["id"], source=r["source"], started=r["started"], finished=r["finished"],
                      status=r["status"], counts=json.loads(r["counts"] or "{}"), watermark=r["watermark"],
                      message=r["message"])
            for r in (row["run"] for row in self._read(cypher.RUNS, source=source, status=status,
                                                       limit=max(0, int(limit))))
        ]

    def last_watermark(self, source: str) -> str | None:
        """Watermark of the newest succeeded run of a source."""
        rows = self._read(cypher.LAST_WATERMARK, source=source)
        return rows[0]["watermark"] if rows else None

    def acquire_lock(self, name: str, owner: str, ttl_seconds: int = 6 * 3600, *,
                     replacing: str | None = None, expected: str | AnyHolder | None = ANY_HOLDER) -> None:
        """Take a named lock (one expired or still held by `replacing` is taken over; with `expected`, only
        from that holder) or raise LockHeld."""
        now = datetime.now(UTC)
        # $any_holder: no holder read, so whoever holds the lock is judged on expiry and `replacing` alone.
        seen = None if isinstance(expected, AnyHolder) else expected
        r = self._write(cypher.ACQUIRE_LOCK, name=name, owner=owner, replacing=replacing,
                        any_holder=isinstance(expected, AnyHolder), expected=seen,
                        now=now.timestamp(), acquired=now.isoformat(timespec="microseconds"),
                        expires=now.timestamp() + ttl_seconds)[0]
        if not r["free"]:
            raise LockHeld(lock_held_message(name, r["owner"], r["expires"], now.timestamp()),
                           name=name, owner=r["owner"], expires=r["expires"])

    def refresh_lock(self, name: str, owner: str, ttl_seconds: int) -> bool:
        """Push the expiry of a lock `owner` still holds; False when it holds it no longer."""
        now = datetime.now(UTC).timestamp()
        rows = self._write(cypher.REFRESH_LOCK, name=name, owner=owner, now=now, expires=now + ttl_seconds)
        return bool(rows and rows[0]["refreshed"])

    def lock_holder(self, name: str) -> tuple[str, float] | None:
        """Who holds a named lock and until when, expired or not (None when nobody does)."""
        rows = self._read(cypher.LOCK_HOLDER, name=name)
        if not rows or rows[0]["owner"] is None:
            return None
        return str(rows[0]["owner"]), float(rows[0]["expires"])

    def release_lock(self, name: str, owner: str) -> None:
        """Release a lock if `owner` holds it."""
        self._write(cypher.RELEASE_LOCK, name=name, owner=owner, now=datetime.now(UTC).timestamp())

    def record_rejections(self, rejections: Sequence[Rejection]) -> None:
        """Keep rejected candidates, one node per arXiv id and run."""
        now = validation.now()
        rows = [
            {"key": f"{r.arxiv_id}|{r.run_id or ''}", "arxiv_id": r.arxiv_id, "title": r.title,
             "reason": r.reason, "score": float(r.score), "run_id": r.run_id or "",
             "seen_at": r.seen_at or now}
            for r in rejections
        ]
        if rows:
            self._write(cypher.RECORD_REJECTIONS, rows=rows)

    def rejections(self, since: str | None = None, limit: int = 500) -> list[Rejection]:
        """Rejected candidates seen at or after `since`, newest first."""
        rows = self._read(cypher.REJECTIONS, since=None if since is None else normalise_since(since),
                          limit=max(0, int(limit)))
        return [
            Rejection(arxiv_id=x["arxiv_id"], title=x["title"], reason=x["reason"], score=x["score"],
                      run_id=x["run_id"] or None, seen_at=x["seen_at"])
            for x in (row["rejection"] for row in rows)
        ]

    def rejected_arxiv_ids(self, arxiv_ids: Sequence[str]) -> set[str]:
        """Which of these arXiv ids a weekly run rejected (any run, however long ago)."""
        ids = list(dict.fromkeys(arxiv_ids))
        if not ids:
            return set()
        # Looked up by prefix of the rejection key (RECORD_REJECTIONS' "<arxiv_id>|<run_id>"), cut like
        # the other indexed look-up keys.
        rows = [{"id": i, "prefix": f"{i}|"[:_MAX_KEY_CHARS]} for i in ids]
        return {r["id"] for r in self._read(cypher.REJECTED_ARXIV_IDS, ids=rows)}
