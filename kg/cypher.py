"""Every Cypher statement of the Neo4j backend, as named, parameterised constants.

Labels, relationship types and property names come from kg.schema and are interpolated at
import time; nothing here is ever built from user input (user values travel as $parameters).
Each public UPPER_CASE str constant is one statement, linted by tests/kg/test_cypher.py.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Sequence
from typing import Any

from kg.schema import EMBEDDING_DIM, NODES, PAPER_PROPERTIES, RELATIONSHIPS, TAXONOMY_LABELS, Label, Rel
from kg.validation import (
    BROWSABLE_LABELS,
    KEYWORD_FIELD_WEIGHTS,
    MAX_QUERY_TOKENS,
    TOPIC_LABELS,
    search_forms,
    search_terms,
)


class IndexName:
    """Names of the indexes the backend creates (constraint-backed indexes are named by _unique)."""

    VECTOR = "paper_embedding"
    FULLTEXT = "paper_text"


class ExtraLabel:
    """Labels the Neo4j backend uses beyond kg.schema (declared to the linter like schema labels)."""

    # One node per sequence name ("Paper", "IngestRun"): insertion numbers, the embedded store's pk;
    # and the one named 'upgrade': what init_schema last brought the data up to (UPGRADE_STATE).
    COUNTER = "Counter"
    # One node per citation key ever issued (kg.store), with the id of the paper holding it now: a key
    # stays taken when its paper is merged into another or deleted (the embedded store's citation_keys);
    # `held`: the key that paper holds (or held last, when it was removed: stored again, it gets it back).
    CITATION_KEY = "CitationKey"


# The full-text index covers these properties: title, abstract, author names and the venue (with the
# organisation its URL's host names: validation.venue_search_text) with their accents removed and
# stroked letters spelt in ASCII in Python (validation.fold_for_search), indexed with Neo4j's
# 'standard-no-stop-words' analyzer. The only analyzer that folds accents, 'standard-folding',
# also drops English stop words ("not", "the"), which the embedded store's FTS5 index keeps; folding
# here, on the indexed text and on the query alike, gives both: "naive" finds "Naïve", "Sogaard"
# finds "Søgaard" and "not" finds "NOT". The folded text is then cut into words as FTS5 cuts it
# (index_text): the analyzer's StandardTokenizer (Unicode word breaks) keeps "O'Neill", "model's",
# "github.com", "3.5" and "foo_bar" as one token each, where FTS5's unicode61 makes two words of each,
# so a search for "Neill" or "github" found them only in the embedded store.
FULLTEXT_PROPERTIES: tuple[str, ...] = ("search_title", "search_abstract", "search_authors", "search_venue")
# The one a query looks in for its rarer words only (fulltext_query's venue_forms).
_VENUE_PROPERTY = "search_venue"
# What an older paperkg's full-text index covered: init_schema drops such an index (DROP_FULLTEXT_INDEX)
# and makes it again with FULLTEXT_PROPERTIES; any other difference is the user's to resolve.
OUTGROWN_FULLTEXT_PROPERTIES: tuple[tuple[str, ...], ...] = (
    ("search_title", "search_abstract", "search_authors"),
)
# How much a match in each of FULLTEXT_PROPERTIES counts, in that order (the per-property boosts of
# fulltext_query): without them Lucene weighs every property alike, and an abstract repeating the
# query's words outranks a title holding them once.
FULLTEXT_WEIGHTS: tuple[float, ...] = KEYWORD_FIELD_WEIGHTS
_FULLTEXT_ANALYZER = "standard-no-stop-words"

# A word of the embedded store's FTS5 tokenizer (unicode61): a run of letters and digits (Unicode
# categories L* and N*) and private-use characters (U+E000-U+F8FF and planes 15 and 16, which unicode61
# counts as word characters as it does every character its tables do not class as a separator).
# Everything else separates words there: punctuation (the "_" of Pc too), symbols, spaces, controls
# and format characters, and combining marks (the accents FTS5 removes are gone already:
# fold_for_search drops them). index_text cuts the text where FTS5 does but where FTS5's Unicode 6.1
# tables and Python's differ (tests/kg/test_neo4j_store.py::test_index_text_cuts_words_where_fts5_does):
# a few characters recategorised as letters since (New Tai Lue vowel signs, two Vedic signs) still
# separate words in FTS5, and two recategorised as marks (Mongolian ALI GALI BALUDA), characters
# encoded since (₽, ₿, newer marks and symbols) and code points not assigned at all are word
# characters to FTS5 and separators here.
#
# The analyzer then cuts index_text's words at Unicode word breaks (UAX #29), so on Neo4j a word may
# still be split where FTS5 keeps it whole: at a private-use, unassigned or newer character (none of
# them is part of a word to UAX #29), and after every CJK ideograph and Hiragana character
# (StandardTokenizer makes each a token of its own). Case differs too: the analyzer lower-cases one
# character at a time where FTS5 folds case ("µ" is "μ" and "ς" is "σ" to FTS5, not to Lucene).
_PRIVATE_USE = r"\ue000-\uf8ff\U000f0000-\U000ffffd\U00100000-\U0010fffd"
_NOT_INDEX_WORD = re.compile(rf"(?:[^\w{_PRIVATE_USE}]|_)+")
_INDEX_WORD = re.compile(rf"(?:[^\W_]|[{_PRIVATE_USE}])+")


def index_text(folded: str) -> str:
    """Folded text (validation.fold_for_search) as the full-text index holds it: every run of
    characters that separate FTS5 words replaced by one space ("O'Neill's github.com" -> "O Neill s
    github com"), so the analyzer sees the embedded store's words but for the differences the comment
    above lists."""
    return _NOT_INDEX_WORD.sub(" ", folded).strip()


def index_rule() -> str:
    """What index_text depends on, for the fingerprint of the Neo4j backend's search text: its
    pattern and the Unicode tables Python's `re` reads it with."""
    return f"{_NOT_INDEX_WORD.pattern} unicode {unicodedata.unidata_version}"

# Paper properties of kg.entities.Paper not (yet) listed in kg.schema.PAPER_PROPERTIES: written by
# upserts and returned by every paper read like those. A node written before one existed reads null.
PAPER_EXTRA_PROPERTIES: tuple[str, ...] = tuple(
    p for p in ("arxiv_version", "citation_key") if p not in PAPER_PROPERTIES)

# Properties the Neo4j backend stores beyond kg.schema (bookkeeping, ordering, dedupe keys).
EXTRA_PROPERTY_KEYS: tuple[str, ...] = (
    "authors", "title_key", "doi_key", "bundle_hash", "ord", "position", "ambiguous_aliases",
    "topic_key", "model", "hash", "vector", "name", "owner", "expires", "acquired", "checked_at",
    "arxiv_id", "reason", "score", "run_id", "seen_at", "title", "seq", "value", "data_version",
    "title_key_rule", "search_fold_rule", "citation_key_pinned", "held", *FULLTEXT_PROPERTIES,
    *PAPER_EXTRA_PROPERTIES,
)

# Keys of the $rows maps the statements read (the linter cannot tell a map from a node, so it
# checks `row.x` against the property keys; these are declared to it alongside real properties).
ROW_KEYS: tuple[str, ...] = (
    "props", "paper_id", "technique_id", "evaluation_id", "finding_id", "model_id", "section_id",
    "section_title", "section_path", "old_id", "papers", "pinned", "target",
)

# Labels that hold our data (clear_all deletes exactly these).
DATA_LABELS: tuple[str, ...] = (
    *NODES, Label.CACHED_EMBEDDING, Label.LOCK, Label.REJECTION, Label.PAPER_ALIAS, ExtraLabel.COUNTER,
    ExtraLabel.CITATION_KEY,
)

# Paper properties returned by reads. The embedding is left out except by get_paper; `authors`
# is the list as given (AUTHORED_BY edges hold the normalised Author nodes).
_PAPER_READ_FIELDS = (*(f for f in PAPER_PROPERTIES if f != "embedding"), *PAPER_EXTRA_PROPERTIES, "authors")
# Edges an upsert replaces, and the ones that make a paper "central".
_OUT_EDGES = f"{Rel.USES}|{Rel.EVALUATES}|{Rel.REPORTS}|{Rel.STUDIES}|{Rel.LISTED_IN}"
_REFINES_LABELS: tuple[str, ...] = RELATIONSHIPS[Rel.REFINES].start
_ABOUT_LABELS: tuple[str, ...] = RELATIONSHIPS[Rel.ABOUT].end
_FINDING_ABOUT = f"-[:{Rel.REPORTS}]->(:{Label.FINDING})-[:{Rel.ABOUT}]->"


def _paper_map(var: str, with_embedding: bool = False) -> str:
    """A map projection of a Paper's properties (optionally including the embedding)."""
    fields = (*_PAPER_READ_FIELDS, "embedding") if with_embedding else _PAPER_READ_FIELDS
    return var + " {" + ", ".join("." + f for f in fields) + "}"


def _insertion_order(var: str, stamp: str, *, newest_first: bool) -> str:
    """ORDER BY keys for insertion order: `var`.seq (see RESERVE_SEQ). A node an older paperkg wrote
    has no seq until init_schema numbers it; meanwhile it counts as older than every numbered one
    (Cypher would put nulls first in DESC order), in `stamp` (first_seen, started), then id order."""
    if newest_first:
        return f"{var}.seq IS NULL, {var}.seq DESC, {var}.{stamp} DESC, {var}.id DESC"
    return f"{var}.seq IS NOT NULL, {var}.seq, {var}.{stamp}, {var}.id"


# What SHOW INDEXES must report for each index (or constraint, by its backing index) init_schema
# creates: type, labels, properties, and the indexConfig settings we give (others, such as the
# server's vector quantization default, are not compared).
EXPECTED_INDEXES: dict[str, dict[str, Any]] = {}


def _expect(
    name: str, kind: str, label: str, properties: list[str], config: dict[str, Any] | None = None
) -> str:
    """Record an index's expected definition; its name."""
    EXPECTED_INDEXES[name] = {"type": kind, "labelsOrTypes": [label], "properties": properties,
                              "indexConfig": config or {}}
    return name


def _unique(label: str, key: str) -> str:
    """A uniqueness constraint on a label's key property (also gives the lookup index)."""
    name = _expect(f"{label.lower()}_{key}_unique", "RANGE", label, [key])
    return f"CREATE CONSTRAINT {name} IF NOT EXISTS FOR (n:{label}) REQUIRE n.{key} IS UNIQUE"


def _range_index(label: str, prop: str) -> str:
    """A range index on one property."""
    name = _expect(f"{label.lower()}_{prop}", "RANGE", label, [prop])
    return f"CREATE INDEX {name} IF NOT EXISTS FOR (n:{label}) ON (n.{prop})"


def _match_by_label(labels: tuple[str, ...], var: str = "n") -> str:
    """A CALL (row) subquery yielding `var`: the node of label row.label with id row.id.

    Labels cannot be parameters, so each allowed label is a UNION branch; the WHERE keeps
    the one branch that applies and every branch uses its label's uniqueness index.
    """
    branches = " UNION ".join(
        f"MATCH ({var}:{label} {{id: row.id}}) WHERE row.label = '{label}' RETURN {var}"
        for label in labels
    )
    return f"CALL (row) {{ {branches} }}"


def _filters(var: str) -> str:
    """WHERE conditions of SearchFilters on Paper `var`: AND across kinds, OR within one kind;
    empty lists and null bounds match everything; technique ids may name evaluation criteria.
    $technique_ids / $topic_ids arrive expanded with their refinements when the filters ask for
    it (see EXPAND_REFINEMENTS). $technique_families is the technique filter matching all its ids
    (technique_match "all"): one list per id, each expanded alike, a paper touching one node of
    every list; it is empty otherwise, and $technique_ids is empty when it is not. $model_ids passes
    papers studying a model or reporting a finding about it. $component_ids passes papers reporting a
    finding about a component; it arrives expanded with the sub-components (see COMPONENT_PARENTS)."""
    return (
        f"($year_from IS NULL OR {var}.year >= $year_from)"
        f" AND ($year_to IS NULL OR {var}.year <= $year_to)"
        f" AND (size($sources) = 0 OR any(src IN {var}.sources WHERE src IN $sources))"
        f" AND (size($technique_ids) = 0 OR EXISTS {{"
        f" MATCH ({var})-[:{Rel.USES}|{Rel.EVALUATES}]->(t) WHERE t.id IN $technique_ids }})"
        f" AND all(family IN $technique_families WHERE EXISTS {{"
        f" MATCH ({var})-[:{Rel.USES}|{Rel.EVALUATES}]->(t) WHERE t.id IN family }})"
        f" AND (size($topic_ids) = 0 OR EXISTS {{"
        f" MATCH ({var}){_FINDING_ABOUT}(x) WHERE x.id IN $topic_ids }}"
        f" OR EXISTS {{ MATCH ({var})-[:{Rel.LISTED_IN}]->(s:{Label.LIST_SECTION})"
        " WHERE any(tid IN $topic_ids WHERE s.topic_key CONTAINS tid) })"
        f" AND (size($model_ids) = 0 OR EXISTS {{"
        f" MATCH ({var})-[:{Rel.STUDIES}]->(m:{Label.MODEL}) WHERE m.id IN $model_ids }}"
        f" OR EXISTS {{ MATCH ({var}){_FINDING_ABOUT}(m:{Label.MODEL}) WHERE m.id IN $model_ids }})"
        f" AND (size($component_ids) = 0 OR EXISTS {{"
        f" MATCH ({var}){_FINDING_ABOUT}(c:{Label.COMPONENT}) WHERE c.id IN $component_ids }})"
        f" AND (size($section_ids) = 0 OR EXISTS {{"
        f" MATCH ({var})-[:{Rel.LISTED_IN}]->(s:{Label.LIST_SECTION})"
        " WHERE any(sid IN $section_ids WHERE s.id = sid OR s.id STARTS WITH sid + '/') })"
    )


# The Technique / Evaluation / Topic / Object node $node_id and (when $include_refinements) every
# node refining it, transitively, as `family` (empty if unknown). Labels cannot be parameters: one
# UNION branch per label, each using its label's uniqueness index.
_NODE_FAMILY = "CALL () { " + " UNION ".join(
    f"MATCH (t:{label} {{id: $node_id}}) MATCH (d:{label})-[:{Rel.REFINES}*0..]->(t) "
    "WHERE $include_refinements OR d = t RETURN d"
    for label in BROWSABLE_LABELS
) + " } WITH collect(DISTINCT d) AS family "

_TOPIC_LABEL_TEST = " OR ".join(f"d:{label}" for label in TOPIC_LABELS)
# Each family member d, then DISTINCT papers p touching it: a Technique by USES, an Evaluation by
# EVALUATES, a Topic or Object by a finding ABOUT it or a list section whose topic_key contains
# its id (the filters' topic rule; see _filters and _TOUCHING).
_FAMILY_PAPERS = (
    "UNWIND family AS d CALL (d) { "
    f"MATCH (p:{Label.PAPER})-[:{Rel.USES}|{Rel.EVALUATES}]->(d) RETURN p "
    f"UNION MATCH (p:{Label.PAPER}){_FINDING_ABOUT}(d) RETURN p "
    f"UNION MATCH (s:{Label.LIST_SECTION}) WHERE ({_TOPIC_LABEL_TEST}) AND s.topic_key CONTAINS d.id "
    f"MATCH (p:{Label.PAPER})-[:{Rel.LISTED_IN}]->(s) RETURN p }} "
)

# ---------------------------------------------------------------------------------------------
# Schema: constraints, indexes, waiting for them
# ---------------------------------------------------------------------------------------------
CONSTRAINT_PAPER_ID = _unique(Label.PAPER, "id")
CONSTRAINT_AUTHOR_KEY = _unique(Label.AUTHOR, "key")
CONSTRAINT_TECHNIQUE_ID = _unique(Label.TECHNIQUE, "id")
CONSTRAINT_EVALUATION_ID = _unique(Label.EVALUATION, "id")
CONSTRAINT_TOPIC_ID = _unique(Label.TOPIC, "id")
CONSTRAINT_OBJECT_ID = _unique(Label.OBJECT, "id")
CONSTRAINT_FINDING_ID = _unique(Label.FINDING, "id")
CONSTRAINT_COMPONENT_ID = _unique(Label.COMPONENT, "id")
CONSTRAINT_MODEL_ID = _unique(Label.MODEL, "id")
CONSTRAINT_LIST_SECTION_ID = _unique(Label.LIST_SECTION, "id")
CONSTRAINT_INGEST_RUN_ID = _unique(Label.INGEST_RUN, "id")
CONSTRAINT_CACHED_EMBEDDING_KEY = _unique(Label.CACHED_EMBEDDING, "key")
CONSTRAINT_LOCK_NAME = _unique(Label.LOCK, "name")
CONSTRAINT_REJECTION_KEY = _unique(Label.REJECTION, "key")
CONSTRAINT_PAPER_ALIAS_ID = _unique(Label.PAPER_ALIAS, "id")
CONSTRAINT_COUNTER_NAME = _unique(ExtraLabel.COUNTER, "name")
CONSTRAINT_CITATION_KEY_KEY = _unique(ExtraLabel.CITATION_KEY, "key")

INDEX_PAPER_ARXIV_ID = _range_index(Label.PAPER, "arxiv_id")
INDEX_PAPER_DOI_KEY = _range_index(Label.PAPER, "doi_key")
INDEX_PAPER_TITLE_KEY = _range_index(Label.PAPER, "title_key")
INDEX_PAPER_FIRST_SEEN = _range_index(Label.PAPER, "first_seen")
INDEX_PAPER_YEAR = _range_index(Label.PAPER, "year")
INDEX_INGEST_RUN_SOURCE = _range_index(Label.INGEST_RUN, "source")
INDEX_REJECTION_SEEN_AT = _range_index(Label.REJECTION, "seen_at")
INDEX_PAPER_ALIAS_PAPER_ID = _range_index(Label.PAPER_ALIAS, "paper_id")
INDEX_PAPER_CITATION_KEY = _range_index(Label.PAPER, "citation_key")
INDEX_CITATION_KEY_PAPER_ID = _range_index(ExtraLabel.CITATION_KEY, "paper_id")

_expect(IndexName.VECTOR, "VECTOR", Label.PAPER, ["embedding"],
        {"vector.dimensions": EMBEDDING_DIM, "vector.similarity_function": "cosine"})
CREATE_VECTOR_INDEX = (
    f"CREATE VECTOR INDEX {IndexName.VECTOR} IF NOT EXISTS "
    f"FOR (p:{Label.PAPER}) ON p.embedding "
    f"OPTIONS {{indexConfig: {{`vector.dimensions`: {EMBEDDING_DIM}, "
    "`vector.similarity_function`: 'cosine'}}"
)
# Folded text (see FULLTEXT_PROPERTIES), no stop words, no stemming: like the embedded store's FTS5
# unicode61 tokenizer with remove_diacritics 2.
_expect(IndexName.FULLTEXT, "FULLTEXT", Label.PAPER, list(FULLTEXT_PROPERTIES),
        {"fulltext.analyzer": _FULLTEXT_ANALYZER})
CREATE_FULLTEXT_INDEX = (
    f"CREATE FULLTEXT INDEX {IndexName.FULLTEXT} IF NOT EXISTS "
    f"FOR (p:{Label.PAPER}) ON EACH [{', '.join('p.' + f for f in FULLTEXT_PROPERTIES)}] "
    f"OPTIONS {{indexConfig: {{`fulltext.analyzer`: '{_FULLTEXT_ANALYZER}'}}}}"
)

DROP_FULLTEXT_INDEX = f"DROP INDEX {IndexName.FULLTEXT} IF EXISTS"

# In the order init_schema runs them (constraints first: they create the key indexes).
SCHEMA_STATEMENTS: tuple[str, ...] = (
    CONSTRAINT_PAPER_ID, CONSTRAINT_AUTHOR_KEY, CONSTRAINT_TECHNIQUE_ID, CONSTRAINT_EVALUATION_ID,
    CONSTRAINT_TOPIC_ID, CONSTRAINT_OBJECT_ID, CONSTRAINT_FINDING_ID, CONSTRAINT_COMPONENT_ID,
    CONSTRAINT_MODEL_ID, CONSTRAINT_LIST_SECTION_ID, CONSTRAINT_INGEST_RUN_ID,
    CONSTRAINT_CACHED_EMBEDDING_KEY, CONSTRAINT_LOCK_NAME, CONSTRAINT_REJECTION_KEY,
    CONSTRAINT_PAPER_ALIAS_ID, CONSTRAINT_COUNTER_NAME, CONSTRAINT_CITATION_KEY_KEY,
    INDEX_PAPER_ARXIV_ID, INDEX_PAPER_DOI_KEY, INDEX_PAPER_TITLE_KEY, INDEX_PAPER_FIRST_SEEN,
    INDEX_PAPER_YEAR, INDEX_INGEST_RUN_SOURCE, INDEX_REJECTION_SEEN_AT, INDEX_PAPER_ALIAS_PAPER_ID,
    INDEX_PAPER_CITATION_KEY, INDEX_CITATION_KEY_PAPER_ID,
    CREATE_VECTOR_INDEX, CREATE_FULLTEXT_INDEX,
)

# States and definitions of all indexes: init_schema checks that each of ours (by name) is defined as
# SCHEMA_STATEMENTS says (IF NOT EXISTS keeps an older index of that name whatever its settings) and
# waits until every one is ONLINE.
SHOW_INDEX_STATES = (
    "SHOW INDEXES YIELD name, state, populationPercent, type, labelsOrTypes, properties, options "
    "RETURN name, state, populationPercent, type, labelsOrTypes, properties, options"
)

PING = "RETURN 1 AS ok"

# The server's version: init_schema refuses servers older than MIN_SERVER_VERSION with a clear
# message instead of letting the first scoped subquery fail with a syntax error.
SERVER_VERSION = "CALL dbms.components() YIELD name, versions RETURN name, versions"
MIN_SERVER_VERSION = (5, 23)  # CALL (x) { ... } scoped subqueries

# ---------------------------------------------------------------------------------------------
# Taxonomy
# ---------------------------------------------------------------------------------------------
# The highest load-order number so far: new nodes are numbered after it (existing keep theirs).
TAXONOMY_MAX_ORD = (
    "CALL () { "
    + " UNION ALL ".join(f"MATCH (n:{label}) RETURN n.ord AS ord" for label in TAXONOMY_LABELS)
    + " } RETURN coalesce(max(ord), -1) AS max_ord"
)

# A node whose label the file changes (a Technique given `kind: evaluation` or a parent in another
# band) gets the new label in place, as the embedded store updates its row: MERGE_TAXONOMY_NODES, which
# merges by (label, id), would otherwise make a second node and leave the old one with its edges. Not
# when a node of the new label has that id already (a graph an older paperkg duplicated it in): that
# one is merged and the old stays, as before.
RELABEL_TAXONOMY_NODES = (
    "UNWIND $rows AS row CALL (row) { "
    + " UNION ".join(f"MATCH (n:{label} {{id: row.id}}) WHERE row.label <> '{label}' "
                     f"RETURN n, '{label}' AS old_label" for label in TAXONOMY_LABELS)
    + " } WITH row, n, old_label WHERE NOT ("
    + " OR ".join(f"(row.label = '{label}' AND EXISTS {{ MATCH (:{label} {{id: row.id}}) }})"
                  for label in TAXONOMY_LABELS)
    + ") "
    + " ".join(f"FOREACH (_ IN CASE WHEN old_label = '{label}' THEN [1] ELSE [] END | REMOVE n:{label})"
               for label in TAXONOMY_LABELS)
    + " "
    + " ".join(f"FOREACH (_ IN CASE WHEN row.label = '{label}' THEN [1] ELSE [] END | SET n:{label})"
               for label in TAXONOMY_LABELS)
)

MERGE_TAXONOMY_NODES = "UNWIND $rows AS row " + " ".join(
    f"FOREACH (_ IN CASE WHEN row.label = '{label}' THEN [1] ELSE [] END | "
    f"MERGE (n:{label} {{id: row.id}}) ON CREATE SET n.ord = $base + row.ord "
    "SET n.label = row.name, n.aliases = row.aliases, n.ambiguous_aliases = row.ambiguous_aliases, "
    "n.parent = row.parent, n.kind = row.kind)"
    for label in TAXONOMY_LABELS
)

DELETE_TAXONOMY_REFINES = (
    "UNWIND $rows AS row "
    + _match_by_label(TAXONOMY_LABELS)
    + f" MATCH (n)-[r:{Rel.REFINES}]->() DELETE r"
)

# REFINES links a node to a parent of the same label, for the labels the schema allows.
CREATE_TAXONOMY_REFINES = "UNWIND $rows AS row CALL (row) { " + " UNION ".join(
    f"MATCH (c:{label} {{id: row.id}}) MATCH (parent:{label} {{id: row.parent}}) "
    f"WHERE row.label = '{label}' RETURN c, parent"
    for label in _REFINES_LABELS
) + f" }} MERGE (c)-[:{Rel.REFINES}]->(parent)"

TAXONOMY_NODES = (
    "CALL () { "
    + " UNION ALL ".join(f"MATCH (n:{label}) RETURN n, '{label}' AS node_label" for label in TAXONOMY_LABELS)
    + " } WITH n, node_label WHERE $label IS NULL OR node_label = $label "
    "RETURN node_label, n.id AS id, n.label AS name, n.aliases AS aliases, "
    "n.ambiguous_aliases AS ambiguous_aliases, n.parent AS parent, n.kind AS kind "
    "ORDER BY n.ord, node_label, id"
)

# The graph label of each of $ids that is a taxonomy node (the others are left out): the store
# reports references to unknown nodes and to nodes of the wrong label.
TAXONOMY_ID_LABELS = "UNWIND $ids AS id CALL (id) { " + " UNION ".join(
    f"MATCH (n:{label} {{id: id}}) RETURN '{label}' AS label" for label in TAXONOMY_LABELS
) + " } RETURN id, label"

# `paperkg init --prune` (Neo4jStore.prune_taxonomy): $rows of {id, label, target}, a node to remove
# (of that label) and the kept node of the same label its paper edges move to (null: dropped).
# Per removed node, how many papers have an edge to it.
PRUNED_NODE_PAPERS = (
    "UNWIND $rows AS row "
    + _match_by_label(TAXONOMY_LABELS)
    + " RETURN row.id AS id, COUNT { "
    f"MATCH (p:{Label.PAPER})-[:{Rel.USES}|{Rel.EVALUATES}|{Rel.STUDIES}]->(n) "
    f"RETURN p.id AS paper_id UNION MATCH (p:{Label.PAPER}){_FINDING_ABOUT}(n) RETURN p.id AS paper_id }} "
    "AS papers"
)


def _move_edges(rel: str, label: str, props: Sequence[str]) -> str:
    """A removed node's `rel` edges from papers, moved to the target of its label: an edge the paper
    already has there (the same source) is kept as it is; the old edges go with the node."""
    keyed = " {source: r.source}" if "source" in props else ""
    rest = [p for p in props if p != "source"]
    on_create = (" ON CREATE SET " + ", ".join(f"m.{p} = r.{p}" for p in rest)) if rest else ""
    return (
        f"UNWIND $rows AS row MATCH (t:{label} {{id: row.target}}) WHERE row.label = '{label}' "
        f"MATCH (p:{Label.PAPER})-[r:{rel}]->(:{label} {{id: row.id}}) "
        f"MERGE (p)-[m:{rel}{keyed}]->(t)" + on_create
    )


MOVE_PRUNED_USES = _move_edges(Rel.USES, Label.TECHNIQUE, RELATIONSHIPS[Rel.USES].properties)
MOVE_PRUNED_EVALUATES = _move_edges(Rel.EVALUATES, Label.EVALUATION, RELATIONSHIPS[Rel.EVALUATES].properties)
MOVE_PRUNED_STUDIES = _move_edges(Rel.STUDIES, Label.MODEL, RELATIONSHIPS[Rel.STUDIES].properties)
MOVE_PRUNED_ABOUT = (
    "UNWIND $rows AS row "
    + _match_by_label(_ABOUT_LABELS)
    + " CALL (row) { " + " UNION ".join(
        f"MATCH (t:{label} {{id: row.target}}) WHERE row.label = '{label}' RETURN t"
        for label in _ABOUT_LABELS)
    + f" }} MATCH (f:{Label.FINDING})-[:{Rel.ABOUT}]->(n) MERGE (f)-[:{Rel.ABOUT}]->(t)"
)
MOVE_PRUNED_EDGES: tuple[str, ...] = (MOVE_PRUNED_USES, MOVE_PRUNED_EVALUATES, MOVE_PRUNED_STUDIES,
                                      MOVE_PRUNED_ABOUT)
# The papers with an edge to a removed node, before it is moved or dropped: their extraction hash goes
# (null: stale, so init's note and reextract take them up again, as after undoing a prune) and their
# bundle hash too (an upsert of the bundle they had before is then written, not "unchanged").
CLEAR_PRUNED_PAPER_HASHES = (
    "UNWIND $rows AS row "
    + _match_by_label(TAXONOMY_LABELS)
    + " CALL (n) { "
    f"MATCH (p:{Label.PAPER})-[:{Rel.USES}|{Rel.EVALUATES}|{Rel.STUDIES}]->(n) RETURN p "
    f"UNION MATCH (p:{Label.PAPER}){_FINDING_ABOUT}(n) RETURN p }} "
    "SET p.extraction_hash = null, p.bundle_hash = null"
)
# The removed nodes with what is left of their edges (papers' edges not moved, REFINES either way).
DELETE_PRUNED_NODES = "UNWIND $rows AS row " + _match_by_label(TAXONOMY_LABELS) + " DETACH DELETE n"

# Ids given (and, when $include_refinements, every node refining them, transitively), any label.
EXPAND_REFINEMENTS = (
    "UNWIND $ids AS id "
    f"OPTIONAL MATCH (d)-[:{Rel.REFINES}*1..]->(n:{'|'.join(_REFINES_LABELS)}) "
    "WHERE n.id = id AND $include_refinements "
    "WITH id, collect(DISTINCT d.id) AS below "
    "UNWIND [id] + below AS out RETURN DISTINCT out AS id"
)

# Each component whose parent is a component (induction_head -> mha): the component filter's
# sub-components. Components have no REFINES links (see EXPAND_REFINEMENTS), only the parent property.
COMPONENT_PARENTS = (
    f"MATCH (c:{Label.COMPONENT}) WHERE c.parent IS NOT NULL "
    f"MATCH (p:{Label.COMPONENT} {{id: c.parent}}) RETURN c.id AS id, p.id AS parent"
)

# ---------------------------------------------------------------------------------------------
# Paper writes (all in one transaction per upsert_papers call)
# ---------------------------------------------------------------------------------------------
PAPER_HASHES = (
    f"UNWIND $ids AS id MATCH (p:{Label.PAPER} {{id: id}}) RETURN p.id AS id, p.bundle_hash AS bundle_hash"
)

# Finding ids of a batch already owned by a paper outside the batch (ids are unique per paper).
FINDING_OWNERS = (
    f"UNWIND $ids AS id MATCH (owner:{Label.PAPER})-[:{Rel.REPORTS}]->(f:{Label.FINDING} {{id: id}}) "
    "WHERE NOT owner.id IN $paper_ids RETURN f.id AS id, owner.id AS owner"
)

# A paper's last_seen: $now, but never before first_seen (a clock running slow). Not the later of $now
# and the stored last_seen: one run with a fast clock would pin it in the future for good.
_LAST_SEEN = "CASE WHEN p.first_seen > $now THEN p.first_seen ELSE $now END"
TOUCH_PAPERS = f"UNWIND $ids AS id MATCH (p:{Label.PAPER} {{id: id}}) SET p.last_seen = {_LAST_SEEN}"

# Reserves $n numbers of a sequence and returns the last: the caller uses last - $n + 1 .. last. The
# SET locks the counter node until commit, so concurrent writers get disjoint numbers.
RESERVE_SEQ = (
    f"MERGE (c:{ExtraLabel.COUNTER} {{name: $name}}) ON CREATE SET c.value = 0 "
    "SET c.value = c.value + $n RETURN c.value AS last"
)

# p.seq numbers papers in insertion order (the embedded store's pk): set on creation and kept by
# every later write (coalesce). Papers an older paperkg wrote are numbered by init_schema.
MERGE_PAPERS = (
    f"UNWIND $rows AS row MERGE (p:{Label.PAPER} {{id: row.id}}) "
    "ON CREATE SET p.first_seen = $now "
    f"SET p += row.props, p.last_seen = {_LAST_SEEN}, p.seq = coalesce(p.seq, row.seq)"
)

DELETE_PAPER_FINDINGS = (
    f"UNWIND $ids AS id MATCH (:{Label.PAPER} {{id: id}})-[:{Rel.REPORTS}]->(f:{Label.FINDING}) "
    "DETACH DELETE f"
)

DELETE_PAPER_EDGES = (
    f"UNWIND $ids AS id MATCH (:{Label.PAPER} {{id: id}})-[r:{Rel.AUTHORED_BY}|{_OUT_EDGES}]->() DELETE r"
)

CREATE_AUTHORED_BY = (
    f"UNWIND $rows AS row MATCH (p:{Label.PAPER} {{id: row.paper_id}}) "
    f"MERGE (a:{Label.AUTHOR} {{key: row.key}}) SET a.name = row.name "
    f"CREATE (p)-[:{Rel.AUTHORED_BY} {{position: row.position}}]->(a)"
)

CREATE_USES = (
    f"UNWIND $rows AS row MATCH (p:{Label.PAPER} {{id: row.paper_id}}) "
    f"MATCH (t:{Label.TECHNIQUE} {{id: row.technique_id}}) "
    f"CREATE (p)-[:{Rel.USES} {{source: row.source, evidence: row.evidence, score: row.score}}]->(t)"
)

CREATE_EVALUATES = (
    f"UNWIND $rows AS row MATCH (p:{Label.PAPER} {{id: row.paper_id}}) "
    f"MATCH (e:{Label.EVALUATION} {{id: row.evaluation_id}}) "
    f"CREATE (p)-[:{Rel.EVALUATES} {{source: row.source, evidence: row.evidence}}]->(e)"
)

CREATE_FINDINGS = (
    f"UNWIND $rows AS row MATCH (p:{Label.PAPER} {{id: row.paper_id}}) "
    f"CREATE (p)-[:{Rel.REPORTS} {{position: row.position}}]->"
    f"(:{Label.FINDING} {{id: row.id, text: row.text, kind: row.kind, source: row.source}})"
)

CREATE_FINDING_ABOUT = (
    f"UNWIND $rows AS row MATCH (f:{Label.FINDING} {{id: row.finding_id}}) "
    + _match_by_label(_ABOUT_LABELS)
    + f" CREATE (f)-[:{Rel.ABOUT}]->(n)"
)

CREATE_STUDIES = (
    f"UNWIND $rows AS row MATCH (p:{Label.PAPER} {{id: row.paper_id}}) "
    f"MATCH (m:{Label.MODEL} {{id: row.model_id}}) CREATE (p)-[:{Rel.STUDIES}]->(m)"
)

CREATE_LISTED_IN = (
    f"UNWIND $rows AS row MATCH (p:{Label.PAPER} {{id: row.paper_id}}) "
    f"MERGE (s:{Label.LIST_SECTION} {{id: row.section_id}}) "
    "SET s.title = row.section_title, s.path = row.section_path, s.topic_key = row.topic_key "
    f"CREATE (p)-[:{Rel.LISTED_IN} {{tldr: row.tldr, techniques_text: row.techniques_text, "
    "evaluation_text: row.evaluation_text, title_in_list: row.title_in_list, "
    "url_in_list: row.url_in_list, line: row.line, position: row.position}]->(s)"
)

# Papers superseded by another in the same write (a slug replaced by its arXiv id): the successor
# keeps the earliest first_seen, then the old nodes go.
CARRY_FIRST_SEEN = (
    f"UNWIND $rows AS row MATCH (old:{Label.PAPER} {{id: row.old_id}}) "
    f"MATCH (p:{Label.PAPER} {{id: row.paper_id}}) "
    "SET p.first_seen = CASE WHEN old.first_seen < p.first_seen THEN old.first_seen ELSE p.first_seen END "
    "RETURN p.id AS id"
)

# The ids of the papers superseded in this write lead to their successor, so old links keep working:
# an alias that led to an old paper now leads on to its successor, and an id that is a paper again
# is no alias any more.
RECORD_PAPER_ALIASES = (
    f"UNWIND $rows AS row MATCH (:{Label.PAPER} {{id: row.old_id}}) "
    f"OPTIONAL MATCH (shadowed:{Label.PAPER_ALIAS} {{id: row.paper_id}}) DELETE shadowed "
    f"WITH row MERGE (a:{Label.PAPER_ALIAS} {{id: row.old_id}}) SET a.paper_id = row.paper_id "
    f"WITH row MATCH (earlier:{Label.PAPER_ALIAS} {{paper_id: row.old_id}}) "
    "SET earlier.paper_id = row.paper_id"
)

# Other ids of a paper written in this write (ids given to records merged into it) lead to it; an id
# that is a paper's (stored, written in this write, or replaced in it: RECORD_PAPER_ALIASES leads it
# on) is no alias. Run after the papers are written and before the replaced ones are deleted.
RECORD_MERGED_PAPER_ALIASES = (
    f"UNWIND $rows AS row WITH row WHERE NOT EXISTS {{ MATCH (:{Label.PAPER} {{id: row.old_id}}) }} "
    f"MERGE (a:{Label.PAPER_ALIAS} {{id: row.old_id}}) SET a.paper_id = row.paper_id"
)

# Citation keys (kg.store's rules). The keys the batch's papers and the papers they replace hold, and
# their first_seen (kg.store.issue_order):
CITATION_KEYS_HELD = (
    f"UNWIND $ids AS id MATCH (p:{Label.PAPER} {{id: id}}) "
    "RETURN p.id AS id, p.citation_key AS citation_key, coalesce(p.citation_key_pinned, false) AS pinned, "
    "p.first_seen AS first_seen"
)
# The key each of $ids (a paper removed since, now written again) held last: the held one (a node
# written before `held` was kept has none: the first in key order).
CITATION_KEYS_FORMER = (
    f"UNWIND $ids AS id MATCH (k:{ExtraLabel.CITATION_KEY} {{paper_id: id}}) "
    "WITH id, k ORDER BY coalesce(k.held, false) DESC, k.key "
    "RETURN id, collect(k.key)[0] AS key"
)
# Every key issued that starts with one of $bases (the constraint's index serves STARTS WITH).
CITATION_KEYS_TAKEN = (
    f"UNWIND $bases AS base MATCH (k:{ExtraLabel.CITATION_KEY}) WHERE k.key STARTS WITH base "
    "RETURN DISTINCT k.key AS key"
)
# Keys issued now, held by their paper and taken for good (the constraint refuses a key issued twice).
RECORD_CITATION_KEYS = (
    f"UNWIND $rows AS row CREATE (:{ExtraLabel.CITATION_KEY} {{key: row.key, paper_id: row.paper_id, "
    "held: true})"
)
# The keys of stored papers superseded in this write stay taken, by their successor (which holds one
# of them only if MARK_HELD_CITATION_KEYS says so). Run after the keys are planned (CITATION_KEYS_HELD,
# CITATION_KEYS_FORMER read the keys where they were), as the embedded store does; a replaced id no
# paper has (removed earlier) keeps its keys, to get back when it is stored again.
MOVE_CITATION_KEYS = (
    f"UNWIND $rows AS row MATCH (:{Label.PAPER} {{id: row.old_id}}) "
    f"MATCH (k:{ExtraLabel.CITATION_KEY} {{paper_id: row.old_id}}) "
    "SET k.paper_id = row.paper_id, k.held = false"
)
# Of each written paper's keys (its own, those moved to it), the one it holds is held.
MARK_HELD_CITATION_KEYS = (
    f"UNWIND $rows AS row MATCH (k:{ExtraLabel.CITATION_KEY} {{paper_id: row.paper_id}}) "
    "SET k.held = (k.key = row.key)"
)
# A paper written unchanged that took over a key of a paper it replaced (kg.store.plan_citation_keys).
SET_PAPER_CITATION_KEYS = (
    f"UNWIND $rows AS row MATCH (p:{Label.PAPER} {{id: row.paper_id}}) "
    "SET p.citation_key = row.key, p.citation_key_pinned = row.pinned"
)
# restore_citation_keys (kg.store.plan_key_restore): the keys $ids hold and whether each has authors;
RESTORE_KEYS_HELD = (
    f"UNWIND $ids AS id MATCH (p:{Label.PAPER} {{id: id}}) "
    "RETURN p.id AS id, p.citation_key AS citation_key, "
    "any(a IN coalesce(p.authors, []) WHERE trim(a) <> '') AS authored"
)
# of $keys, those ever issued, to whom, and whether that paper holds it;
RESTORE_KEYS_ISSUED = (
    f"UNWIND $keys AS key MATCH (k:{ExtraLabel.CITATION_KEY} {{key: key}}) "
    "RETURN k.key AS key, k.paper_id AS paper_id, coalesce(k.held, false) AS held"
)
# every key of the papers given one keeps being theirs, none held (all first: a swap gives one paper's
# old key to the other);
RELEASE_CITATION_KEYS = (
    f"UNWIND $ids AS id MATCH (k:{ExtraLabel.CITATION_KEY} {{paper_id: id}}) SET k.held = false"
)
# then each gets its key, held (an id no paper has: reserved, as a removed paper's; CITATION_KEYS_FORMER).
GIVE_CITATION_KEYS = (
    f"UNWIND $rows AS row MERGE (k:{ExtraLabel.CITATION_KEY} {{key: row.key}}) "
    "SET k.paper_id = row.paper_id, k.held = true"
)

PAPER_SUCCESSOR = f"MATCH (a:{Label.PAPER_ALIAS} {{id: $id}}) RETURN a.paper_id AS paper_id"
# The ids leading to a paper (the paper_id index serves it), sorted as the embedded store sorts them.
PAPER_FORMER_IDS = (
    f"MATCH (a:{Label.PAPER_ALIAS} {{paper_id: $id}}) RETURN a.id AS old_id ORDER BY old_id"
)

DELETE_PAPERS = (
    f"UNWIND $ids AS id MATCH (p:{Label.PAPER} {{id: id}}) "
    f"CALL (p) {{ MATCH (p)-[:{Rel.REPORTS}]->(f:{Label.FINDING}) DETACH DELETE f }} "
    "DETACH DELETE p"
)

# The paper's aliases go with it: they would lead nowhere.
DELETE_PAPER = (
    f"MATCH (p:{Label.PAPER} {{id: $id}}) "
    f"CALL (p) {{ MATCH (p)-[:{Rel.REPORTS}]->(f:{Label.FINDING}) DETACH DELETE f }} "
    f"CALL (p) {{ MATCH (a:{Label.PAPER_ALIAS} {{paper_id: p.id}}) DELETE a }} "
    "DETACH DELETE p RETURN count(*) AS deleted"
)

# ---------------------------------------------------------------------------------------------
# Paper reads
# ---------------------------------------------------------------------------------------------
# topic_nodes (every Topic and Object id) and each row's section topic_key: Neo4jStore.get_paper gives a
# row the ids its key contains, the rule _TOPIC_TOUCHING counts with.
GET_PAPER = (
    f"MATCH (p:{Label.PAPER} {{id: $id}}) "
    "CALL () { MATCH (node) WHERE " + " OR ".join(f"node:{label}" for label in TOPIC_LABELS)
    + " RETURN collect(node.id) AS topic_nodes } "
    f"RETURN {_paper_map('p', with_embedding=True)} AS paper, topic_nodes, "
    f"[(p)-[u:{Rel.USES}]->(t:{Label.TECHNIQUE}) | {{technique_id: t.id, source: u.source, "
    "evidence: u.evidence, score: u.score, label: t.label}] AS techniques, "
    f"[(p)-[u:{Rel.EVALUATES}]->(e:{Label.EVALUATION}) | {{evaluation_id: e.id, source: u.source, "
    "evidence: u.evidence, label: e.label}] AS evaluations, "
    f"[(p)-[r:{Rel.REPORTS}]->(f:{Label.FINDING}) | {{id: f.id, text: f.text, kind: f.kind, "
    f"source: f.source, position: r.position, about: [(f)-[:{Rel.ABOUT}]->(n) | "
    "{label: head(labels(n)), id: n.id, name: n.label}]}] AS findings, "
    f"[(p)-[:{Rel.STUDIES}]->(m:{Label.MODEL}) | {{id: m.id, name: m.label}}] AS models, "
    f"[(p)-[r:{Rel.LISTED_IN}]->(s:{Label.LIST_SECTION}) | {{section_id: s.id, section_title: s.title, "
    "section_path: s.path, tldr: r.tldr, techniques_text: r.techniques_text, "
    "evaluation_text: r.evaluation_text, title_in_list: r.title_in_list, url_in_list: r.url_in_list, "
    "line: r.line, position: r.position, topic_key: s.topic_key}] AS list_rows, "
    # In the same read as the paper (PAPER_FORMER_IDS's rule): an export costs no round trip more.
    f"COLLECT {{ MATCH (a:{Label.PAPER_ALIAS} {{paper_id: p.id}}) RETURN a.id ORDER BY a.id }} AS former_ids"
)

GET_PAPERS = f"UNWIND $ids AS id MATCH (p:{Label.PAPER} {{id: id}}) RETURN {_paper_map('p')} AS paper"

FIND_BY_ARXIV_IDS = (
    f"UNWIND $keys AS key MATCH (p:{Label.PAPER}) WHERE p.arxiv_id = key "
    f"RETURN key, p.id AS id ORDER BY {_insertion_order('p', 'first_seen', newest_first=False)}"
)
FIND_BY_DOI_KEYS = (
    f"UNWIND $keys AS key MATCH (p:{Label.PAPER}) WHERE p.doi_key = key "
    f"RETURN key, p.id AS id ORDER BY {_insertion_order('p', 'first_seen', newest_first=False)}"
)
FIND_BY_TITLE_KEYS = (
    f"UNWIND $keys AS key MATCH (p:{Label.PAPER}) WHERE p.title_key = key "
    f"RETURN key, p.id AS id ORDER BY {_insertion_order('p', 'first_seen', newest_first=False)}"
)
# Every list row's title with its paper, in insertion order: find_paper_ids keys the titles (title_key
# is Python's) of the rows kg.embedded.list_title_matches cannot rule out, for the keys no current title has.
LIST_ROW_TITLES = (
    f"MATCH (p:{Label.PAPER})-[r:{Rel.LISTED_IN}]->(:{Label.LIST_SECTION}) WHERE r.title_in_list IS NOT NULL "
    f"RETURN r.title_in_list AS title, p.id AS id "
    f"ORDER BY {_insertion_order('p', 'first_seen', newest_first=False)}, r.position"
)

# Insertion order (the embedded store's pk order).
PAPER_IDS = (
    f"MATCH (p:{Label.PAPER}) "
    f"RETURN p.id AS id ORDER BY {_insertion_order('p', 'first_seen', newest_first=False)}"
)

# filter_page's order key, as Python's `p.published or (str(p.year) if p.year else "")`: an empty
# published and a year 0 count as missing, a paper with neither sorts last in DESC order.
_FILTER_PAGE_KEY = (
    "CASE WHEN p.published <> '' THEN p.published WHEN p.year <> 0 THEN toString(p.year) ELSE '' END"
)
# Newest first, equal dates by id (FILTER_PAGE's order, the embedded store's sort_date, id): not by
# insertion order, so a graph loaded from the same records in another order lists them alike.
_NEWEST = f"{_FILTER_PAGE_KEY} DESC, p.id DESC"
_PAGE = (
    f"WITH collect(p) AS papers RETURN size(papers) AS total, "
    f"[p IN papers[$offset..($offset + $limit)] | {_paper_map('p')}] AS page"
)

# Papers touching a taxonomy node (see _FAMILY_PAPERS), newest first.
PAPERS_BY_TECHNIQUE_DATE = (
    _NODE_FAMILY + _FAMILY_PAPERS + f"WITH DISTINCT p ORDER BY {_NEWEST} " + _PAGE
)

# Most connected first: degree counts the paper's outgoing USES/EVALUATES/REPORTS/STUDIES/LISTED_IN.
PAPERS_BY_TECHNIQUE_CENTRALITY = (
    _NODE_FAMILY + _FAMILY_PAPERS + "WITH DISTINCT p "
    f"WITH p, COUNT {{ (p)-[:{_OUT_EDGES}]->() }} AS degree "
    f"ORDER BY degree DESC, {_NEWEST} " + _PAGE
)

# ---------------------------------------------------------------------------------------------
# Search
# ---------------------------------------------------------------------------------------------
# $query is built in Python (fulltext_query): escaped words in our own property names and boosts,
# never query syntax from the text. Equal scores go by id, as the embedded store's (bm25, id).
# Without filters the index itself stops at the best $fetch (it need not hand over every match), and
# stops among equal scores by its own document order, not id order: the store asks for more than
# the k wanted and again for more while the last one fetched ties the k-th.
_BY_SCORE = "ORDER BY score DESC, p.id"
KEYWORD_SEARCH = (
    f"CALL db.index.fulltext.queryNodes('{IndexName.FULLTEXT}', $query, {{limit: $fetch}}) YIELD node, score "
    f"WITH node AS p, score RETURN p.id AS id, score {_BY_SCORE}"
)
# How many papers (up to $limit) a text_match_query matches: is the word rare enough to be looked for in
# venues (validation.venue_word_limit)?
KEYWORD_TEXT_MATCHES = (
    f"CALL db.index.fulltext.queryNodes('{IndexName.FULLTEXT}', $query, {{limit: $limit}}) YIELD node "
    "RETURN count(node) AS n"
)
KEYWORD_SEARCH_FILTERED = (
    f"CALL db.index.fulltext.queryNodes('{IndexName.FULLTEXT}', $query) YIELD node, score "
    f"WITH node AS p, score WHERE {_filters('p')} RETURN p.id AS id, score {_BY_SCORE} LIMIT $k"
)

# Approximate (HNSW) top-$fetch candidates from the index; $fetch >= $k oversamples for recall.
# The index's own score is not used: since Neo4j 5.23 vector indexes are quantized by default and
# score an identical vector ~0.99997, not 1. Each candidate is re-scored exactly on its stored
# embedding; vector.similarity.cosine returns (1 + cos) / 2, turned back into the cosine.
VECTOR_SEARCH = (
    f"CALL db.index.vector.queryNodes('{IndexName.VECTOR}', $fetch, $vector) YIELD node "
    "WITH node.id AS id, 2 * vector.similarity.cosine(node.embedding, $vector) - 1 AS cosine "
    "RETURN id, cosine ORDER BY cosine DESC, id LIMIT $k"
)

# Exact top-$k over every paper with an embedding: what VECTOR_SEARCH falls back to when the index
# cannot be trusted to hand over k papers (Neo4j's vector-index limitations: an approximate search may
# return fewer than k neighbours, as when k nears the number of indexed papers).
VECTOR_SEARCH_EXACT = (
    f"MATCH (p:{Label.PAPER}) WHERE p.embedding IS NOT NULL "
    "WITH p.id AS id, 2 * vector.similarity.cosine(p.embedding, $vector) - 1 AS cosine "
    "RETURN id, cosine ORDER BY cosine DESC, id LIMIT $k"
)

# Exact top-$k over the papers that pass the filters (the index cannot pre-filter).
VECTOR_SEARCH_FILTERED = (
    f"MATCH (p:{Label.PAPER}) WHERE p.embedding IS NOT NULL AND {_filters('p')} "
    "WITH p.id AS id, 2 * vector.similarity.cosine(p.embedding, $vector) - 1 AS cosine "
    "RETURN id, cosine ORDER BY cosine DESC, id LIMIT $k"
)

FILTER_IDS = f"MATCH (p:{Label.PAPER}) WHERE {_filters('p')} RETURN p.id AS id"

# One page of the ids passing the filters, newest first, and their total (one row even if none pass).
FILTER_PAGE = (
    f"MATCH (p:{Label.PAPER}) WHERE {_filters('p')} "
    f"WITH p ORDER BY {_FILTER_PAGE_KEY} DESC, p.id DESC "
    "WITH collect(p.id) AS ids RETURN size(ids) AS total, ids[$offset..($offset + $limit)] AS page"
)

GET_EMBEDDINGS = (
    f"UNWIND $ids AS id MATCH (p:{Label.PAPER} {{id: id}}) WHERE p.embedding IS NOT NULL "
    "RETURN p.id AS id, p.embedding AS embedding"
)

# ---------------------------------------------------------------------------------------------
# Related papers, statistics, browsing
# ---------------------------------------------------------------------------------------------
PAPER_COUNT = f"MATCH (p:{Label.PAPER}) RETURN count(p) AS n"

# One row per node the paper shares through (as the embedded store's related postings): its
# techniques (USES), the Topic / Object / Component / Model nodes its findings are ABOUT and the
# models it STUDIES ("about"), and its authors (by key). `papers`: the ids of every paper touching
# the node the same way, the paper itself included (their number is the document frequency). The
# relationship types tell the kinds apart: only techniques are USED, only authors AUTHORED.
RELATED_ROWS = (
    f"MATCH (p:{Label.PAPER} {{id: $id}}) CALL (p) {{ "
    f"MATCH (p)-[:{Rel.USES}]->(x:{Label.TECHNIQUE}) "
    "RETURN DISTINCT x, 'technique' AS kind, x.id AS key, x.id AS shared "
    f"UNION MATCH (p){_FINDING_ABOUT}(x) RETURN DISTINCT x, 'about' AS kind, x.id AS key, x.id AS shared "
    f"UNION MATCH (p)-[:{Rel.STUDIES}]->(x:{Label.MODEL}) "
    "RETURN DISTINCT x, 'about' AS kind, x.id AS key, x.id AS shared "
    f"UNION MATCH (p)-[:{Rel.AUTHORED_BY}]->(x:{Label.AUTHOR}) "
    "RETURN DISTINCT x, 'author' AS kind, x.key AS key, x.name AS shared } "
    f"CALL (x) {{ MATCH (o:{Label.PAPER})-[:{Rel.USES}]->(x) RETURN o "
    f"UNION MATCH (o:{Label.PAPER}){_FINDING_ABOUT}(x) RETURN o "
    f"UNION MATCH (o:{Label.PAPER})-[:{Rel.STUDIES}]->(x) RETURN o "
    f"UNION MATCH (o:{Label.PAPER})-[:{Rel.AUTHORED_BY}]->(x) RETURN o }} "
    "RETURN kind, key, shared, head(labels(x)) AS label, collect(DISTINCT o.id) AS papers"
)

TECHNIQUE_DOCUMENT_FREQUENCY = (
    f"MATCH (t:{Label.TECHNIQUE}) "
    f"RETURN t.id AS id, COUNT {{ MATCH (p:{Label.PAPER})-[:{Rel.USES}]->(t) RETURN DISTINCT p }} AS n"
)

PAPER_PROFILES = (
    f"UNWIND $ids AS id MATCH (p:{Label.PAPER} {{id: id}}) "
    f"RETURN p.id AS id, [(p)-[:{Rel.USES}]->(x:{Label.TECHNIQUE}) | x.id] "
    f"+ [(p)-[:{Rel.EVALUATES}]->(x:{Label.EVALUATION}) | x.id] "
    f"+ [(p){_FINDING_ABOUT}(x) | x.id] + [(p)-[:{Rel.STUDIES}]->(x:{Label.MODEL}) | x.id] AS ids"
)

# The search's why-sentence: the stored evidence of a page's extracted USES / EVALUATES edges to the
# nodes a query names, one round trip for the page ($source is the extracted edge source).
_EVIDENCE_OF = (
    "WHERE x.id IN $nodes AND u.source = $source AND u.evidence <> '' | {node_id: x.id, evidence: u.evidence}"
)
TAG_EVIDENCE = (
    f"UNWIND $ids AS id MATCH (p:{Label.PAPER} {{id: id}}) "
    f"RETURN p.id AS paper_id, [(p)-[u:{Rel.USES}]->(x:{Label.TECHNIQUE}) {_EVIDENCE_OF}] AS uses, "
    f"[(p)-[u:{Rel.EVALUATES}]->(x:{Label.EVALUATION}) {_EVIDENCE_OF}] AS evaluates"
)

# Papers tagged with node x, per label (a subquery body yielding p). A Topic or Object is also
# touched by papers listed in a section whose topic_key (innermost slug, "-" read as "_") contains
# its id, as in the filters and the embedded store.
_TOPIC_TOUCHING = (
    f"MATCH (p:{Label.PAPER}){_FINDING_ABOUT}(x) RETURN p UNION "
    f"MATCH (s:{Label.LIST_SECTION}) WHERE s.topic_key CONTAINS x.id "
    f"MATCH (p:{Label.PAPER})-[:{Rel.LISTED_IN}]->(s) RETURN p"
)
_TOUCHING: dict[str, str] = {
    Label.TECHNIQUE: f"MATCH (p:{Label.PAPER})-[:{Rel.USES}]->(x) RETURN p",
    Label.EVALUATION: f"MATCH (p:{Label.PAPER})-[:{Rel.EVALUATES}]->(x) RETURN p",
    Label.TOPIC: _TOPIC_TOUCHING,
    Label.OBJECT: _TOPIC_TOUCHING,
}


def _count_branch(label: str) -> str:
    """One UNION branch of TECHNIQUE_COUNTS: own and including-refinements paper counts."""
    touching = _TOUCHING[label]
    return (
        f"MATCH (n:{label}) "
        f"CALL (n) {{ WITH n AS x CALL (x) {{ {touching} }} RETURN count(DISTINCT p) AS own }} "
        f"CALL (n) {{ MATCH (x:{label})-[:{Rel.REFINES}*0..]->(n) CALL (x) {{ {touching} }} "
        "RETURN count(DISTINCT p) AS total } "
        f"RETURN n, '{label}' AS node_label, own, total"
    )


TECHNIQUE_COUNTS = "CALL () { " + " UNION ALL ".join(
    _count_branch(label) for label in _TOUCHING
) + (
    " } RETURN n.id AS id, node_label AS label, n.parent AS parent, n.kind AS kind, "
    "own AS own_count, total AS total_count ORDER BY n.ord, node_label, id"
)

# Techniques used by the papers touching a node (see _FAMILY_PAPERS), each counting the papers using it
# or a refinement (the search filter's rule: see GraphStore.cooccurring_techniques); the node's family
# and its ancestors left out. The ancestors are collected once, before the papers are expanded (the node
# itself is the family member with id $node_id; an aggregating CALL gives one row, [] when it has none).
COOCCURRING_TECHNIQUES = (
    _NODE_FAMILY + "CALL (family) { UNWIND family AS s WITH s WHERE s.id = $node_id "
    f"MATCH (s)-[:{Rel.REFINES}*1..]->(a) RETURN collect(DISTINCT a) AS ancestors }} "
    + _FAMILY_PAPERS + "WITH DISTINCT p, family, ancestors "
    f"MATCH (p)-[:{Rel.USES}|{Rel.EVALUATES}]->()-[:{Rel.REFINES}*0..]->(o:{Label.TECHNIQUE}) "
    "WHERE NOT o IN family AND NOT o IN ancestors "
    "RETURN o.id AS id, count(DISTINCT p) AS n ORDER BY n DESC, id LIMIT $limit"
)

PAPERS_PER_YEAR = (
    _NODE_FAMILY + _FAMILY_PAPERS + "WITH DISTINCT p WHERE p.year IS NOT NULL "
    "RETURN p.year AS year, count(p) AS n ORDER BY year"
)

# A paper using (USES) or evaluating by (EVALUATES) a node of $techniques or one refining it, transitively
# (the search filter's technique rule, matching any: see _filters and EXPAND_REFINEMENTS); every paper when
# $techniques is empty. The new papers' technique filter (GraphStore.new_papers).
_USING_TECHNIQUES = (
    "(size($techniques) = 0 OR EXISTS {"
    f" MATCH (p)-[:{Rel.USES}|{Rel.EVALUATES}]->(d)-[:{Rel.REFINES}*0..]->(t) WHERE t.id IN $techniques }})"
)

NEW_PAPERS = (
    f"MATCH (p:{Label.PAPER}) WHERE p.first_seen >= $since AND {_USING_TECHNIQUES} "
    f"RETURN {_paper_map('p')} AS paper "
    "ORDER BY p.first_seen DESC, p.id DESC LIMIT $limit"
)

# NEW_PAPERS' order, one page of it and the total, in one statement (one row even if none match).
NEW_PAPERS_PAGE = (
    f"MATCH (p:{Label.PAPER}) WHERE p.first_seen >= $since AND {_USING_TECHNIQUES} "
    "WITH p ORDER BY p.first_seen DESC, p.id DESC " + _PAGE
)

LIST_SECTIONS = (
    f"MATCH (s:{Label.LIST_SECTION}) "
    f"RETURN s.id AS id, s.title AS title, s.path AS path, "
    f"COUNT {{ (:{Label.PAPER})-[:{Rel.LISTED_IN}]->(s) }} AS count ORDER BY id"
)

# The list rows of the papers whose sources include $source, by paper id, then the paper's row order.
LIST_ROWS_FROM = (
    f"MATCH (p:{Label.PAPER})-[r:{Rel.LISTED_IN}]->(s:{Label.LIST_SECTION}) WHERE $source IN p.sources "
    "RETURN p.id AS paper_id, p.title AS title, s.id AS section_id, s.path AS section_path, r.line AS line "
    "ORDER BY paper_id, r.position"
)

# Papers with an embedding, counted per embedding model (a vector stored without a model name: "").
EMBEDDING_MODELS = (
    f"MATCH (p:{Label.PAPER}) WHERE p.embedding IS NOT NULL "
    "RETURN coalesce(p.embedding_model, '') AS model, count(p) AS n"
)

# An author's papers (GraphStore.author_papers): the Author node's name and each paper's own spelling (the
# AUTHORED_BY position in its list), no row when no paper has the author.
AUTHOR_NAMES = (
    f"MATCH (a:{Label.AUTHOR} {{key: $key}})<-[r:{Rel.AUTHORED_BY}]-(p:{Label.PAPER}) "
    "WITH a, p, r ORDER BY p.first_seen, p.id "
    "RETURN a.name AS name, collect(p.authors[r.position]) AS written"
)

# A page of them newest first (PAPERS_BY_TECHNIQUE_DATE's order) and their total, first seen at or after
# $since ('' for all of them); one row even if none match.
AUTHOR_PAPERS_PAGE = (
    f"MATCH (:{Label.AUTHOR} {{key: $key}})<-[:{Rel.AUTHORED_BY}]-(p:{Label.PAPER}) "
    f"WHERE p.first_seen >= $since WITH DISTINCT p ORDER BY {_NEWEST} " + _PAGE
)

# The same page newest stored first (NEW_PAPERS_PAGE's order: the author feed's).
AUTHOR_PAPERS_FIRST_SEEN_PAGE = (
    f"MATCH (:{Label.AUTHOR} {{key: $key}})<-[:{Rel.AUTHORED_BY}]-(p:{Label.PAPER}) "
    "WHERE p.first_seen >= $since WITH DISTINCT p "
    "ORDER BY p.first_seen DESC, p.id DESC " + _PAGE
)

# The authors sharing most papers with one, then by name.
AUTHOR_COAUTHORS = (
    f"MATCH (:{Label.AUTHOR} {{key: $key}})<-[:{Rel.AUTHORED_BY}]-(p:{Label.PAPER})"
    f"-[:{Rel.AUTHORED_BY}]->(o:{Label.AUTHOR}) WHERE o.key <> $key "
    "RETURN o.key AS key, o.name AS name, count(DISTINCT p) AS papers "
    "ORDER BY papers DESC, name, key LIMIT $limit"
)

STATS_NODES = "CALL () { " + " UNION ALL ".join(
    f"MATCH (n:{label}) RETURN '{label}' AS name, count(n) AS n" for label in NODES
) + " } RETURN name, n"

STATS_RELATIONSHIPS = "CALL () { " + " UNION ALL ".join(
    f"MATCH ()-[r:{rel}]->() RETURN '{rel}' AS name, count(r) AS n" for rel in RELATIONSHIPS
) + " } RETURN name, n"

# ---------------------------------------------------------------------------------------------
# Embedding cache
# ---------------------------------------------------------------------------------------------
CACHED_EMBEDDINGS = (
    f"UNWIND $keys AS key MATCH (e:{Label.CACHED_EMBEDDING} {{key: key}}) "
    "RETURN e.hash AS hash, e.vector AS vector"
)
CACHE_EMBEDDINGS = (
    f"UNWIND $rows AS row MERGE (e:{Label.CACHED_EMBEDDING} {{key: row.key}}) "
    "SET e.model = row.model, e.hash = row.hash, e.vector = row.vector"
)

# ---------------------------------------------------------------------------------------------
# Ingest runs, locks, rejections
# ---------------------------------------------------------------------------------------------
# MERGE, not CREATE: the driver may run the transaction again when the commit's answer is lost,
# and the replay then finds the committed run instead of failing on the id constraint. $seq (from
# RESERVE_SEQ) numbers runs in start order, the embedded store's seq.
START_RUN = (
    f"MERGE (r:{Label.INGEST_RUN} {{id: $id}}) ON CREATE SET r.source = $source, r.started = $started, "
    "r.status = 'running', r.counts = '{}', r.seq = $seq"
)
FINISH_RUN = (
    f"MATCH (r:{Label.INGEST_RUN} {{id: $id}}) "
    "SET r.finished = $finished, r.status = $status, r.counts = $counts, r.message = $message, "
    "r.watermark = $watermark RETURN r.id AS id"
)
RUNS = (
    f"MATCH (r:{Label.INGEST_RUN}) WHERE ($source IS NULL OR r.source = $source) "
    "AND ($status IS NULL OR r.status = $status) "
    "RETURN r {.id, .source, .started, .finished, .status, .counts, .watermark, .message} AS run "
    f"ORDER BY {_insertion_order('r', 'started', newest_first=True)} LIMIT $limit"
)
LAST_WATERMARK = (
    f"MATCH (r:{Label.INGEST_RUN}) "
    "WHERE r.source = $source AND r.status = 'succeeded' AND r.watermark IS NOT NULL "
    f"RETURN r.watermark AS watermark ORDER BY {_insertion_order('r', 'started', newest_first=True)} LIMIT 1"
)

# The first SET takes the node's write lock, so the owner read after it is the committed one
# (two processes racing for the lock serialise here instead of both winning). $replacing (or null)
# names a holder to take over, e.g. a dead run's: compared with that committed owner, so of two
# callers replacing the same holder only the first wins (the second sees the first as owner). Unless
# $any_holder, $expected is the holder the caller read (null: none): any other owner is refused, even
# with its lock expired, since the caller decided about that holder and not this one.
ACQUIRE_LOCK = (
    f"MERGE (l:{Label.LOCK} {{name: $name}}) SET l.checked_at = $now "
    "WITH l, (l.owner IS NULL OR l.owner = $owner "
    "OR (($any_holder OR coalesce(l.owner = $expected, false)) "
    "AND (l.expires <= $now OR ($replacing IS NOT NULL AND l.owner = $replacing)))) AS free "
    "SET l.owner = CASE WHEN free THEN $owner ELSE l.owner END, "
    "l.acquired = CASE WHEN free THEN $acquired ELSE l.acquired END, "
    "l.expires = CASE WHEN free THEN $expires ELSE l.expires END "
    "RETURN free, l.owner AS owner, l.expires AS expires"
)
# Refresh and release lock the node the same way before reading its owner: a WHERE read takes no
# lock, so a holder paused between that read and its write would push the expiry of (or delete) the
# lock another process took over meanwhile (ACQUIRE_LOCK's takeover of an expired lock).
REFRESH_LOCK = (
    f"MATCH (l:{Label.LOCK} {{name: $name}}) SET l.checked_at = $now "
    "WITH l WHERE l.owner = $owner SET l.expires = $expires RETURN count(l) AS refreshed"
)
LOCK_HOLDER = f"MATCH (l:{Label.LOCK} {{name: $name}}) RETURN l.owner AS owner, l.expires AS expires"
RELEASE_LOCK = (
    f"MATCH (l:{Label.LOCK} {{name: $name}}) SET l.checked_at = $now WITH l WHERE l.owner = $owner DELETE l"
)

RECORD_REJECTIONS = (
    f"UNWIND $rows AS row MERGE (r:{Label.REJECTION} {{key: row.key}}) "
    "SET r.arxiv_id = row.arxiv_id, r.title = row.title, r.reason = row.reason, r.score = row.score, "
    "r.run_id = row.run_id, r.seen_at = row.seen_at"
)
REJECTIONS = (
    f"MATCH (r:{Label.REJECTION}) WHERE $since IS NULL OR r.seen_at >= $since "
    "RETURN r {.arxiv_id, .title, .reason, .score, .run_id, .seen_at} AS rejection "
    "ORDER BY r.seen_at DESC, r.arxiv_id LIMIT $limit"
)
# Which of the arXiv ids in $ids (rows {id, prefix}) a weekly run rejected. A rejection's key is
# "<arxiv_id>|<run_id>": the prefix (the id and "|", cut to the range index's key size) seeks the key
# constraint's index instead of reading every rejection (arxiv_id has no index of its own), and the
# arxiv_id comparison keeps exactly the id asked (not a longer one that starts with it and "|").
REJECTED_ARXIV_IDS = (
    f"UNWIND $ids AS row MATCH (r:{Label.REJECTION}) WHERE r.key STARTS WITH row.prefix "
    "AND r.arxiv_id = row.id RETURN DISTINCT row.id AS id"
)

# ---------------------------------------------------------------------------------------------
# Upgrading data an older paperkg wrote (init_schema, in batches of $batch, each its own transaction)
# ---------------------------------------------------------------------------------------------
# What init_schema last brought the data up to: the upgrade steps' version and the fingerprints of the
# title-key rule the stored title keys follow and of the rule the search text follows (search_fold_rule:
# neo4j_store.search_text_rule, the fold and index_text's words) (no row: a graph no paperkg with this
# marker upgraded).
UPGRADE_STATE = (
    f"MATCH (c:{ExtraLabel.COUNTER} {{name: 'upgrade'}}) "
    "RETURN c.data_version AS data_version, c.title_key_rule AS title_key_rule, "
    "c.search_fold_rule AS search_fold_rule"
)
RECORD_UPGRADE = (
    f"MERGE (c:{ExtraLabel.COUNTER} {{name: 'upgrade'}}) "
    "SET c.data_version = $data_version, c.title_key_rule = $title_key_rule, "
    "c.search_fold_rule = $search_fold_rule"
)

# Each counter at least the highest number already given (a counter behind would give one twice).
RAISE_COUNTERS = (
    f"CALL () {{ MATCH (p:{Label.PAPER}) RETURN '{Label.PAPER}' AS name, max(p.seq) AS top "
    f"UNION ALL MATCH (r:{Label.INGEST_RUN}) RETURN '{Label.INGEST_RUN}' AS name, max(r.seq) AS top }} "
    f"MERGE (c:{ExtraLabel.COUNTER} {{name: name}}) ON CREATE SET c.value = 0 "
    "SET c.value = CASE WHEN top > c.value THEN top ELSE c.value END"
)

# Papers and runs written before seq existed, oldest first: init_schema numbers them from the
# counter (RESERVE_SEQ), in this order.
UNNUMBERED_PAPERS = (
    f"MATCH (p:{Label.PAPER}) WHERE p.seq IS NULL RETURN p.id AS id ORDER BY p.first_seen, p.id LIMIT $batch"
)
UNNUMBERED_RUNS = (
    f"MATCH (r:{Label.INGEST_RUN}) WHERE r.seq IS NULL "
    "RETURN r.id AS id ORDER BY r.started, r.id LIMIT $batch"
)
NUMBER_PAPERS = (
    f"UNWIND $rows AS row MATCH (p:{Label.PAPER} {{id: row.id}}) WHERE p.seq IS NULL SET p.seq = row.seq"
)
# The ids of papers without a citation key (written before keys were stored), oldest first (first_seen,
# then id: a full BibTeX export's order): read once (IS NULL is no index seek), then keyed by id in
# batches (UNKEYED_PAPERS_BY_ID), so the upgrade scans the papers once, not once a batch.
UNKEYED_PAPER_IDS = (
    f"MATCH (p:{Label.PAPER}) WHERE p.citation_key IS NULL RETURN p.id AS id ORDER BY p.first_seen, p.id"
)
# Of $ids (in that order), those still without a key, with what a key is made of (api.bibtex.key_base).
UNKEYED_PAPERS_BY_ID = (
    f"UNWIND range(0, size($ids) - 1) AS i MATCH (p:{Label.PAPER} {{id: $ids[i]}}) "
    "WHERE p.citation_key IS NULL "
    "RETURN p {.id, .title, .authors, .year, .venue, .url, .arxiv_id} AS paper ORDER BY i"
)
# A paper keyed meanwhile (by an upsert) keeps its key; the key issued for it here is taken all the same.
SET_CITATION_KEYS = (
    f"UNWIND $rows AS row MATCH (p:{Label.PAPER} {{id: row.paper_id}}) "
    "SET p.citation_key = coalesce(p.citation_key, row.key), "
    "p.citation_key_pinned = coalesce(p.citation_key_pinned, row.pinned)"
)
NUMBER_RUNS = (
    f"UNWIND $rows AS row MATCH (r:{Label.INGEST_RUN} {{id: row.id}}) WHERE r.seq IS NULL SET r.seq = row.seq"
)

# Papers without the full-text index's folded text (written before it existed, or after the index
# was dropped and recreated): init_schema folds their text in Python, as upserts do (SET_SEARCH_TEXT).
UNFOLDED_PAPERS = (
    f"MATCH (p:{Label.PAPER}) WHERE p.search_title IS NULL "
    "RETURN p.id AS id, p.title AS title, p.abstract AS abstract, p.authors AS authors, "
    "p.venue AS venue, p.url AS url LIMIT $batch"
)
# The upgrade passes compute a paper's new search text or title key in Python from what they read
# before, and an upsert may commit in between, with its own text and key: each row carries the text it
# was computed from and is written only while the paper still holds that text, else the paper keeps
# the upsert's (already current) values. The condition is read in SET's right-hand side, where Cypher
# takes the node's write lock before reading (a read in WHERE or WITH takes none).
_SAME_SEARCH_SOURCE = (
    "coalesce(p.title, '') = row.title AND coalesce(p.abstract, '') = row.abstract "
    "AND coalesce(p.authors, []) = row.authors AND coalesce(p.venue, '') = row.venue "
    "AND coalesce(p.url, '') = row.url"
)
SET_SEARCH_TEXT = (
    f"UNWIND $rows AS row MATCH (p:{Label.PAPER} {{id: row.id}}) SET "
    + ", ".join(f"p.{f} = CASE WHEN {_SAME_SEARCH_SOURCE} THEN row.{f} ELSE p.{f} END"
                for f in FULLTEXT_PROPERTIES)
)

# Every paper's text and its folded copies, a page of $batch in id order after $after (the id index gives
# the order): init_schema re-folds them (SET_SEARCH_TEXT) when the fold changed.
PAPER_SEARCH_TEXT_AFTER = (
    f"MATCH (p:{Label.PAPER}) WHERE p.id > $after "
    "RETURN p.id AS id, p.title AS title, p.abstract AS abstract, p.authors AS authors, "
    "p.venue AS venue, p.url AS url, "
    + ", ".join(f"p.{f} AS {f}" for f in FULLTEXT_PROPERTIES) + " ORDER BY p.id LIMIT $batch"
)

# Every paper's title and title key, a page of $batch in id order after $after (the id index gives the
# order): init_schema recomputes the keys when the title-key rule changed.
PAPER_TITLES_AFTER = (
    f"MATCH (p:{Label.PAPER}) WHERE p.id > $after "
    "RETURN p.id AS id, p.title AS title, p.title_key AS title_key ORDER BY p.id LIMIT $batch"
)
SET_TITLE_KEYS = (  # (only while the title is the one the key was computed from: see SET_SEARCH_TEXT)
    f"UNWIND $rows AS row MATCH (p:{Label.PAPER} {{id: row.id}}) "
    "SET p.title_key = CASE WHEN p.title = row.title THEN row.title_key ELSE p.title_key END"
)

# ---------------------------------------------------------------------------------------------
# Tests only
# ---------------------------------------------------------------------------------------------
CLEAR_ALL_BATCH = (
    f"MATCH (n:{'|'.join(DATA_LABELS)}) WITH n LIMIT $batch DETACH DELETE n RETURN count(*) AS deleted"
)


# ---------------------------------------------------------------------------------------------
# Lucene escaping for the full-text index
# ---------------------------------------------------------------------------------------------
# Every character Lucene's classic query parser gives a meaning to (QueryParser.escape's set).
_LUCENE_SPECIAL = re.compile(r'([\\+\-!():^\[\]"{}~*?|&/])')
# Upper-case AND/OR/NOT are operators to the parser; lower case they are plain words.
_LUCENE_OPERATORS = re.compile(r"\b(AND|OR|NOT|TO)\b")


def escape_lucene(text: str) -> str:
    """Escape `text` so Lucene's query parser reads it as plain terms, never as syntax."""
    escaped = _LUCENE_SPECIAL.sub(r"\\\1", text)
    return _LUCENE_OPERATORS.sub(lambda m: m.group(1).lower(), escaped)


# Lucene refuses a query of more than maxClauseCount (1024) term clauses, counted after parsing:
# fulltext_query looks for each term in every one of the index's properties, so each term becomes one
# clause per property. The query is budgeted in clauses: terms x properties, with room to spare.
LUCENE_MAX_CLAUSES = 1024
_CLAUSE_MARGIN = 24
# StandardTokenizer cuts longer tokens into pieces of this many characters.
_MAX_TOKEN_CHARS = 255
_ASCII_RUN = re.compile(r"[A-Za-z0-9_]+")


def max_index_terms(word: str) -> int:
    """An upper bound on the terms the index's analyzer makes of one word: a run of ASCII letters,
    digits and "_" is one token (Unicode word segmentation never splits it; only the 255-character
    cap does), and any other character makes at most one (each CJK ideograph is a token)."""
    runs = _ASCII_RUN.findall(word)
    return sum(-(-len(r) // _MAX_TOKEN_CHARS) for r in runs) + len(word) - sum(len(r) for r in runs)


def fulltext_terms(
    text: str, *, stopwords: frozenset[str] = frozenset(), max_terms: int = MAX_QUERY_TOKENS,
    max_clauses: int = LUCENE_MAX_CLAUSES - _CLAUSE_MARGIN, fields: int = len(FULLTEXT_PROPERTIES),
) -> str | None:
    """The words of user text to look for (fulltext_forms), each Lucene-escaped, OR-ed (a word FTS5
    cuts in two, "foo_bar", as a phrase of its words: _lucene_term). None when the text has no word."""
    return _or_terms(fulltext_forms(text, stopwords=stopwords, max_terms=max_terms, max_clauses=max_clauses,
                                    fields=fields))


def _or_terms(forms: Sequence[str]) -> str | None:
    """Word forms as Lucene terms (_lucene_term), OR-ed; None for none."""
    return " OR ".join(t for t in map(_lucene_term, forms) if t) or None


def fulltext_forms(
    text: str, *, stopwords: frozenset[str] = frozenset(), max_terms: int = MAX_QUERY_TOKENS,
    max_clauses: int = LUCENE_MAX_CLAUSES - _CLAUSE_MARGIN, fields: int = len(FULLTEXT_PROPERTIES),
) -> list[str]:
    """The word forms of user text to look for: its distinct words and their other number (at most
    `max_terms` words; stop words dropped unless nothing else is left), folded as the indexed text
    is (validation.search_forms); words are kept while their terms times the `fields` searched stay
    within `max_clauses` (the last one cut to fit)."""
    budget = max_clauses // fields
    kept: dict[str, str] = {}
    words = search_terms(text, max_words=max_terms, stopwords=stopwords)
    for term in (form for word in words for form in search_forms(word)):
        # lower(), as the analyzer: casefold() would make "straße" (an older fold's) one with "strasse".
        if term.lower() in kept:
            continue
        cost = max_index_terms(term)
        if cost > budget:
            term = term[:budget]  # each character makes at most one term
            cost = max_index_terms(term)
        if not term:
            break
        kept[term.lower()] = term
        budget -= cost
    return list(kept.values())


def _boost(weight: float) -> str:
    """Lucene's boost suffix for a weight ("^5"; none for 1)."""
    return "" if weight == 1 else f"^{weight:g}"


def fulltext_query(
    text: str, *, stopwords: frozenset[str] = frozenset(), max_terms: int = MAX_QUERY_TOKENS,
    venue_forms: Collection[str] | None = None,
) -> str | None:
    """The full-text query for user text: fulltext_forms' words looked for in each of
    FULLTEXT_PROPERTIES, boosted by FULLTEXT_WEIGHTS, as the embedded store's bm25() weighs its columns
    ('search_title:(a OR b)^5 OR search_abstract:(a OR b) OR search_authors:(a OR b)^2 OR
    search_venue:(a OR b)'); in the venue only those of `venue_forms` (all when None; the store
    picks them as the embedded one does: validation.venue_query, venue_word_limit). Property names and
    boosts are constants; only escaped words come from the text. None when it has no word."""
    # No venue words: the clause budget is shared by the three text properties only.
    fields = len(FULLTEXT_PROPERTIES) - (venue_forms is not None and not venue_forms)
    forms = fulltext_forms(text, stopwords=stopwords, max_terms=max_terms, fields=fields)
    terms = _or_terms(forms)
    if terms is None:
        return None
    wanted = None if venue_forms is None else {f.lower() for f in venue_forms}
    venue = _or_terms([f for f in forms if wanted is None or f.lower() in wanted])
    groups = [(prop, weight, venue if prop == _VENUE_PROPERTY else terms)
              for prop, weight in zip(FULLTEXT_PROPERTIES, FULLTEXT_WEIGHTS, strict=True)]
    return " OR ".join(f"{prop}:({words}){_boost(weight)}" for prop, weight, words in groups if words)


def text_match_query(form: str) -> str | None:
    """A full-text query for one word form in a paper's text (every property but the venue), to count
    the papers having it (KEYWORD_TEXT_MATCHES); None when it has no word."""
    term = _lucene_term(form)
    return " OR ".join(f"{p}:({term})" for p in FULLTEXT_PROPERTIES if p != _VENUE_PROPERTY) if term else None


def venue_match_query(form: str) -> str | None:
    """A full-text query for one word form in the venue alone, to learn whether any venue has it
    (KEYWORD_TEXT_MATCHES); None when it has no word."""
    term = _lucene_term(form)
    return f"{_VENUE_PROPERTY}:({term})" if term else None


def _lucene_term(term: str) -> str:
    """A query word as the index holds it (index_text): one term, or, when FTS5 makes several words
    of it ("foo_bar"), those words as a phrase, which is how the embedded store matches it; empty
    when it has no word ("_")."""
    words = [escape_lucene(w) for w in _INDEX_WORD.findall(term)]
    if len(words) > 1:
        return '"' + " ".join(words) + '"'
    return words[0] if words else ""
