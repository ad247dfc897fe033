"""Neo4j backend without a server: unreachable-server errors, Lucene escaping, and that every
statement is sent with exactly the parameters it declares. The live-server behaviour is covered
by tests/kg/test_store_contract.py when NEO4J_URI is set."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import re
import socket
import sqlite3
import subprocess
import sys
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from kg import cypher
from kg.cli import main
from kg.entities import (
    EvaluationUse,
    Finding,
    FindingAbout,
    ListRow,
    Paper,
    PaperBundle,
    Rejection,
    SearchFilters,
    TaxonomyNode,
    TechniqueUse,
)
from kg.neo4j_store import INDEX_NAMES, Neo4jStore, _one_line, _paper, _public_uri, _vector_fetch
from kg.schema import EMBEDDING_DIM, TAXONOMY_LABELS, Label, Rel
from kg.store import GraphStore, StoreError, StoreUnavailable
from tests.kg.title_rule_cases import OLDER_KEYS, TITLES

PARAMETER = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


@pytest.fixture
def closed_port() -> int:
    """A TCP port on 127.0.0.1 with nothing listening (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- an unreachable server --------------------------------------------------------------------

def test_unreachable_neo4j_is_one_clear_error(closed_port: int) -> None:
    """Nothing listening: StoreUnavailable naming the URI and the reason, from the first operation."""
    uri = f"bolt://127.0.0.1:{closed_port}"
    store = Neo4jStore(uri, "neo4j", "secret", "neo4j", connection_timeout=3.0)  # no I/O yet
    try:
        for operation in (store.ping, store.stats, store.paper_ids, store.init_schema):
            with pytest.raises(StoreUnavailable) as info:
                operation()
            message = str(info.value)
            assert message.startswith(f"cannot reach Neo4j at {uri}: "), message
            assert "\n" not in message
            assert "refused" in message.lower()
            assert "secret" not in message
    finally:
        store.close()


def test_unresolvable_host_is_one_clear_error() -> None:
    """A name that does not resolve (.invalid never does) is reported like a refused connection."""
    store = Neo4jStore("bolt://paperkg-no-such-host.invalid:7687", "neo4j", "pw", "neo4j",
                       connection_timeout=3.0)
    try:
        with pytest.raises(StoreUnavailable, match=r"^cannot reach Neo4j at bolt://paperkg-no-such-host\."
                                                   r"invalid:7687: \S"):
            store.ping()
    finally:
        store.close()


def test_credentials_in_the_uri_are_not_shown() -> None:
    """Error messages name the server, never the password."""
    assert _public_uri("bolt://neo4j:hunter2@db.example:7687") == "bolt://db.example:7687"
    assert _public_uri("neo4j+s://abc.databases.neo4j.io") == "neo4j+s://abc.databases.neo4j.io"
    # Too broken to split (a "/" in the password leaves "pa" as the port): the password is still masked.
    assert _public_uri("bolt://neo4j:pa/ss@db.example:7687") == "bolt://neo4j:********@db.example:7687"
    store = Neo4jStore("bolt://neo4j:hunter2@127.0.0.1:1", "neo4j", "pw", "neo4j", connection_timeout=2.0)
    try:
        with pytest.raises(StoreUnavailable) as info:
            store.ping()
        assert "hunter2" not in str(info.value)
        assert str(info.value).startswith("cannot reach Neo4j at bolt://127.0.0.1:1: ")
    finally:
        store.close()


def test_driver_reason_is_reduced_to_one_line() -> None:
    """The driver's two-line message becomes its reason."""
    exc = RuntimeError("Couldn't connect to 127.0.0.1:1 (resolved to ('127.0.0.1:1',)):\n"
                       "Failed to establish connection to ResolvedIPv4Address(('127.0.0.1', 1)) "
                       "(reason [Errno 111] Connection refused)")
    assert _one_line(exc) == "[Errno 111] Connection refused"
    assert _one_line(RuntimeError("Unable to retrieve\n  routing information")) == (
        "Unable to retrieve routing information"
    )


def test_cli_stats_against_unreachable_neo4j(
    closed_port: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`paperkg stats` exits non-zero with the one-line message and no traceback."""
    uri = f"bolt://127.0.0.1:{closed_port}"
    monkeypatch.setenv("PAPERKG_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PAPERKG_NEO4J_URI", uri)
    monkeypatch.setenv("PAPERKG_NEO4J_PASSWORD", "secret")
    result = CliRunner().invoke(main, ["stats"])
    assert result.exit_code != 0
    assert f"Error: cannot reach Neo4j at {uri}: " in result.output
    assert "Traceback" not in result.output
    assert "secret" not in result.output
    assert not isinstance(result.exception, StoreUnavailable) or result.exit_code == 1


def test_cli_stats_in_a_real_process(closed_port: int, tmp_path: Path) -> None:
    """The same through the console entry point in a fresh interpreter: one line on stderr."""
    uri = f"bolt://127.0.0.1:{closed_port}"
    env = {"PAPERKG_DATA_DIR": str(tmp_path), "PAPERKG_NEO4J_URI": uri, "PATH": "/usr/bin:/bin",
           "HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "kg.cli", "stats"], env=env, capture_output=True,
                          text=True, timeout=120, check=False, cwd=Path(__file__).resolve().parents[2])
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"Error: cannot reach Neo4j at {uri}: " in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if "cannot reach Neo4j" in line]
    assert len(lines) == 1


# -- Lucene escaping ----------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain words", "plain words"),
        ("title:x*", r"title\:x\*"),
        ("a+b-c", r"a\+b\-c"),
        ("(a || b) && !c", r"\(a \|\| b\) \&\& \!c"),
        ('"phrase" ~2 ^3', r"\"phrase\" \~2 \^3"),
        ("[1 TO 5] {x}", r"\[1 to 5\] \{x\}"),
        ("path/to\\file?", r"path\/to\\file\?"),
        ("cats AND dogs OR NOT fish", "cats and dogs or not fish"),
        ("ANDROID ORDER NOTE", "ANDROID ORDER NOTE"),  # only whole operator words
    ],
)
def test_escape_lucene(text: str, expected: str) -> None:
    """Every character the query parser treats specially gets a backslash; operators lose case."""
    assert cypher.escape_lucene(text) == expected


def test_escaped_text_has_no_unescaped_special_character() -> None:
    """For any mix of special characters, each one is preceded by an odd run of backslashes."""
    specials = '\\+-!():^[]"{}~*?|&/'
    rng = np.random.default_rng(0)
    for _ in range(300):
        text = "".join(rng.choice(list(specials + "ab ")) for _ in range(int(rng.integers(1, 30))))
        escaped = cypher.escape_lucene(text)
        i = 0
        while i < len(escaped):
            if escaped[i] == "\\":
                assert i + 1 < len(escaped) and escaped[i + 1] in specials, (text, escaped)
                i += 2
                continue
            assert escaped[i] not in specials, (text, escaped)
            i += 1


def test_fulltext_terms_keep_words_only() -> None:
    """User text becomes OR-ed words (a short query's with their other number): no syntax survives,
    nothing searchable gives None."""
    assert cypher.fulltext_terms("sparse autoencoders") == "sparse OR sparses OR autoencoders OR autoencoder"
    assert cypher.fulltext_terms("title:xy* AND -circuit") == "title OR xy OR and OR circuit"
    assert cypher.fulltext_terms("Sparse sparse SPARSE") == "Sparse OR Sparses"
    assert cypher.fulltext_terms('^"') is None
    assert cypher.fulltext_terms("   ") is None
    assert cypher.fulltext_terms("\x00") is None
    assert cypher.fulltext_terms("🧠" * 50) is None
    assert cypher.fulltext_terms("the probing", stopwords=frozenset({"the"})) == "probing OR probings"
    # A joined word is also looked for split, as a phrase: the embedded store's FTS5 reads "GPT-2" so too.
    assert cypher.fulltext_terms("GPT2") == 'GPT2 OR "GPT 2"'
    assert cypher.fulltext_terms("ngram") == 'ngram OR ngrams OR "n gram" OR "n grams"'
    assert cypher.fulltext_terms("the", stopwords=frozenset({"the"})) == "the"
    many = cypher.fulltext_terms(" ".join(f"w{i}" for i in range(3000)))
    assert many is not None and many.count(" OR ") == 63
    # Accents are folded as in the indexed text; a word and its folded twin are one term.
    assert cypher.fulltext_terms("Übersetzung naïve") == "Ubersetzung OR Ubersetzungs OR naive OR naives"
    assert cypher.fulltext_terms("naïve naive NAIVE") == "naive OR naives"


def test_fulltext_terms_fold_stroked_letters_and_keep_the_older_fold() -> None:
    """"Søgaard" is looked for as the indexed text folds it ("Sogaard") and as a graph not yet re-folded
    holds it (validation.search_forms); a word with nothing to fold, or only accents, is one term."""
    assert cypher.fulltext_terms("Søgaard") == "Sogaard OR Søgaard OR Sogaards OR Søgaards"
    assert cypher.fulltext_terms("Łukasz") == "Lukasz OR Łukasz OR Lukaszes OR Łukaszes"
    assert cypher.fulltext_terms("Straße") == "Strasse OR Straße OR Strasses OR Straßes"
    assert cypher.fulltext_terms("Sogaard SOGAARD") == "Sogaard OR Sogaards"
    assert cypher.fulltext_terms("naïve") == "naive OR naives"


def test_fulltext_terms_cut_words_as_fts5_does() -> None:
    """The index holds the embedded store's words (cypher.index_text), so the query looks for those:
    an apostrophe or a full stop already separates query words, and a word FTS5 cuts at "_" is looked
    for as the phrase of its words (Lucene would keep "foo_bar" one term, which the index no longer
    holds), as the embedded store's FTS5 phrase "foo_bar" matches it."""
    assert cypher.fulltext_terms("O'Neill") == "Neill OR Neills"  # "O", an initial, is no query word
    assert cypher.fulltext_terms("didn’t see github.com") == "didn OR see OR github OR com"  # "t": a letter
    assert cypher.fulltext_terms("foo_bar") == '"foo bar"'
    assert cypher.fulltext_terms("AND_NOT__x") == '"and not x"'
    assert cypher.fulltext_terms("probing foo_bar") == 'probing OR probings OR "foo bar"'
    assert cypher.fulltext_terms("_ __") is None


_FIELD_GROUP = re.compile(r"(\w+):\(([^()]*)\)(?:\^([\d.]+))?")


def _field_groups(query: str) -> list[tuple[str, str, float]]:
    """(property, its OR-ed terms, boost) of each field group of a fulltext_query, checking that the
    groups are all there is ("p:(a OR b)^5 OR q:(a OR b) OR ...")."""
    groups = [(m[1], m[2], float(m[3] or 1)) for m in _FIELD_GROUP.finditer(query)]
    assert " OR ".join(f"{p}:({t})" + (f"^{w:g}" if w != 1 else "") for p, t, w in groups) == query
    return groups


def _lucene_clauses(query: str) -> int:
    """The term clauses Lucene makes of a fulltext_query: one per analyzer term (bounded by
    max_index_terms) in each property's group."""
    return sum(cypher.max_index_terms(t.replace("\\", "")) for _, terms, _ in _field_groups(query)
               for t in terms.split(" OR "))


def test_fulltext_query_weighs_the_properties_as_the_embedded_stores_bm25() -> None:
    """Each property is searched in a group of its own with its boost (title 5, abstract 1, authors 2,
    venue 1), the embedded store's bm25() column weights: unweighted, Lucene ranked an abstract
    repeating the words above a title holding them once. Every group holds the same words."""
    query = cypher.fulltext_query("sparse foo_bar title:xy")
    assert query == ('search_title:(sparse OR "foo bar" OR title OR xy)^5 '
                     'OR search_abstract:(sparse OR "foo bar" OR title OR xy) '
                     'OR search_authors:(sparse OR "foo bar" OR title OR xy)^2 '
                     'OR search_venue:(sparse OR "foo bar" OR title OR xy)')
    groups = _field_groups(query)
    assert [(p, w) for p, _, w in groups] == list(zip(cypher.FULLTEXT_PROPERTIES, cypher.FULLTEXT_WEIGHTS,
                                                      strict=True))
    assert {t for _, t, _ in groups} == {cypher.fulltext_terms("sparse foo_bar title:xy")}
    assert cypher.fulltext_query("   ") is None
    assert cypher.fulltext_query("the", stopwords=frozenset({"the"})) == (
        "search_title:(the)^5 OR search_abstract:(the) OR search_authors:(the)^2 OR search_venue:(the)")


def test_fulltext_weights_are_the_embedded_stores_bm25_weights() -> None:
    """One set of weights: the embedded store's bm25() over papers_fts (title, abstract, authors) and
    over venues_fts (venue), the order of FULLTEXT_PROPERTIES, weighs them with cypher.FULLTEXT_WEIGHTS."""
    from kg import embedded
    from kg.embedded_schema import SCHEMA, VENUES_FTS

    columns = re.search(r"CREATE VIRTUAL TABLE IF NOT EXISTS papers_fts USING fts5\(([^)]*)\)", SCHEMA)
    assert columns is not None
    assert [c.strip() for c in columns[1].split(",")][:3] == ["title", "abstract", "authors"]
    assert "venues_fts USING fts5(venue, " in VENUES_FTS
    assert [f.removeprefix("search_") for f in cypher.FULLTEXT_PROPERTIES] == [
        "title", "abstract", "authors", "venue"]
    weights = re.fullmatch(r"bm25\(papers_fts, (.*)\)", embedded._BM25)
    venue = re.fullmatch(r"(.*) \* bm25\(venues_fts\)", embedded._VENUE_BM25)
    assert weights is not None and venue is not None
    assert (*(float(w) for w in weights[1].split(", ")), float(venue[1])) == cypher.FULLTEXT_WEIGHTS


@pytest.mark.parametrize("text", [
    "語" * 10_000,  # one word of CJK ideographs: one Lucene term per character
    "".join(chr(0x4E00 + i) for i in range(2000)),  # all distinct (no dedupe in the rewrite)
    " ".join("".join(chr(0x4E00 + 40 * i + j) for j in range(40)) for i in range(60)),  # many words
    " ".join(f"w{i}" for i in range(3000)),
    "naïve " * 500 + "語" * 900,
])
def test_fulltext_query_stays_within_lucenes_clause_limit(text: str) -> None:
    """Neo4j parses the query over every property of the index, so a term costs one clause per
    property: terms x properties stays under Lucene's maxClauseCount (1024), and the budget is used."""
    query = cypher.fulltext_query(text)
    assert query is not None
    clauses = _lucene_clauses(query)
    assert clauses <= cypher.LUCENE_MAX_CLAUSES - 20
    assert len(cypher.FULLTEXT_PROPERTIES) == 4 and "ON EACH [p.search_title, p.search_abstract, " \
        "p.search_authors, p.search_venue]" in cypher.CREATE_FULLTEXT_INDEX
    if "w0" not in query:  # (3000 short words stop at MAX_QUERY_TOKENS first)
        assert clauses >= cypher.LUCENE_MAX_CLAUSES - 30


def test_max_index_terms_bounds_the_analyzers_tokens() -> None:
    """ASCII letter/digit runs are one token (cut every 255 characters); any other character one."""
    assert cypher.max_index_terms("circuit") == 1
    assert cypher.max_index_terms("gpt2_small") == 1
    assert cypher.max_index_terms("a" * 256) == 2
    assert cypher.max_index_terms("機械的") == 3
    assert cypher.max_index_terms("abc語def") == 3


# -- every statement, with exactly its parameters ---------------------------------------------

class _Result:
    """Just enough of neo4j.Result for the store."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows

    def data(self) -> list[dict[str, Any]]:
        return list(self.rows)

    def consume(self) -> None:
        return None

    def single(self, strict: bool = False) -> dict[str, Any]:
        assert len(self.rows) == 1
        return self.rows[0]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.rows)


# The taxonomy nodes the recorded server knows (the bundles below refer to these).
_NODE_LABELS = {"probing": Label.TECHNIQUE, "faithfulness": Label.EVALUATION, "superposition": Label.TOPIC,
                "gpt2": Label.MODEL, "cma": Label.TECHNIQUE}


def _index_row(name: str, state: str = "ONLINE", percent: float = 100.0, **changes: Any) -> dict[str, Any]:
    """A SHOW INDEXES row for one of our indexes as init_schema creates it (with `changes`), as a
    Neo4j 5 server reports it: upper-case function names, config under options.indexConfig."""
    spec = cypher.EXPECTED_INDEXES[name]
    config = {k: v.upper() if k == "vector.similarity_function" else v
              for k, v in spec["indexConfig"].items()}
    config.update(changes.pop("config", {}))
    row = {"name": name, "state": state, "populationPercent": percent, "type": spec["type"],
           "labelsOrTypes": list(spec["labelsOrTypes"]), "properties": list(spec["properties"]),
           "options": {"indexProvider": "x-1.0", "indexConfig": config}}
    row.update(changes)
    return row


class _RecordingTx:
    """A managed transaction that records statements and answers with canned rows."""

    def __init__(self, calls: list[tuple[str, dict[str, Any]]], hashes: dict[str, str]) -> None:
        self.calls = calls
        self.hashes = hashes  # the only state kept: each written paper's bundle_hash

    def run(self, query: str, parameters: dict[str, Any] | None = None) -> _Result:
        params = dict(parameters or {})
        self.calls.append((query, params))
        if query == cypher.TAXONOMY_ID_LABELS:  # the referenced taxonomy nodes exist
            return _Result([{"id": i, "label": _NODE_LABELS[i]} for i in params["ids"] if i in _NODE_LABELS])
        if query == cypher.EXPAND_REFINEMENTS:
            return _Result([{"id": i} for i in params["ids"]])
        if query == cypher.MERGE_PAPERS:
            self.hashes.update({r["id"]: r["props"]["bundle_hash"] for r in params["rows"]})
        if query == cypher.PAPER_HASHES:
            stored = [i for i in params["ids"] if i in self.hashes]
            return _Result([{"id": i, "bundle_hash": self.hashes[i]} for i in stored])
        if query == cypher.PRUNED_NODE_PAPERS:  # one paper has an edge to each node removed
            return _Result([{"id": r["id"], "papers": 1} for r in params["rows"]])
        if query == cypher.CARRY_FIRST_SEEN:  # every replaced paper exists
            return _Result([{"id": r["paper_id"]} for r in params["rows"]])
        canned: dict[str, list[dict[str, Any]]] = {
            cypher.TAXONOMY_MAX_ORD: [{"max_ord": -1}],
            cypher.CLEAR_ALL_BATCH: [{"deleted": 0}],
            cypher.DELETE_PAPER: [{"deleted": 1}],
            cypher.PAPERS_BY_TECHNIQUE_DATE: [{"total": 0, "page": []}],
            cypher.PAPERS_BY_TECHNIQUE_CENTRALITY: [{"total": 0, "page": []}],
            cypher.FILTER_PAGE: [{"total": 0, "page": []}],
            cypher.NEW_PAPERS_PAGE: [{"total": 0, "page": []}],
            cypher.AUTHOR_NAMES: [{"name": "Ann Lee", "written": ["Ann Lee"]}],
            cypher.AUTHOR_PAPERS_PAGE: [{"total": 0, "page": []}],
            cypher.AUTHOR_PAPERS_FIRST_SEEN_PAGE: [{"total": 0, "page": []}],
            cypher.ACQUIRE_LOCK: [{"free": True, "owner": "me", "expires": 0.0}],
            cypher.FINISH_RUN: [{"id": params.get("id")}],
            # More papers than vector search asks the index for: it asks the index (which answers with
            # nothing, so the exact scan runs too).
            cypher.PAPER_COUNT: [{"n": 1000}],
            cypher.RESERVE_SEQ: [{"last": 100 + params.get("n", 0)}],
            cypher.SHOW_INDEX_STATES: [_index_row(n) for n in INDEX_NAMES],
            cypher.SERVER_VERSION: [{"name": "Neo4j Kernel", "versions": ["5.26.0"]}],
            # One node an older paperkg wrote of each kind (a batch smaller than a full one is the last).
            cypher.UNNUMBERED_PAPERS: [{"id": "old-paper"}],
            cypher.UNNUMBERED_RUNS: [{"id": "old-run"}],
            cypher.UNKEYED_PAPER_IDS: [{"id": "old-paper"}],
            cypher.UNKEYED_PAPERS_BY_ID: [{"paper": {"id": "old-paper", "title": "Naïve",
                                                     "authors": ["Ann Qa"]}}],
            cypher.UNFOLDED_PAPERS: [{"id": "old-paper", "title": "Naïve", "abstract": None,
                                      "authors": None}],
            # A paper whose title key an older title-key rule gave.
            cypher.PAPER_TITLES_AFTER: [{"id": "old-paper", "title": "Naïve (ICML'24 Oral)",
                                         "title_key": "naive icml 24 oral"}],
        }
        return _Result(canned.get(query, []))


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> tuple[Neo4jStore, list[tuple[str, dict[str, Any]]]]:
    """A Neo4jStore whose transactions are recorded instead of sent to a server."""
    calls: list[tuple[str, dict[str, Any]]] = []
    hashes: dict[str, str] = {}
    store = Neo4jStore("bolt://127.0.0.1:1", "neo4j", "pw", "neo4j")
    monkeypatch.setattr(store, "_execute", lambda write, work: work(_RecordingTx(calls, hashes)))
    monkeypatch.setattr(store, "_get_driver", lambda verify=False: None)
    return store, calls


def _exercise(store: GraphStore) -> None:
    """Call every GraphStore operation (and clear_all) with inputs that reach every statement."""
    vec = np.ones(EMBEDDING_DIM, dtype=np.float32) / np.sqrt(EMBEDDING_DIM)
    bundle = PaperBundle(
        paper=Paper(id="p1", title="A paper", abstract="words", authors=["Ann Lee"], year=2024,
                    doi="10.1/X", embedding=vec, sources=["arxiv"]),
        techniques=[TechniqueUse("probing", "extracted", evidence="probe", score=0.5)],
        evaluations=[EvaluationUse("faithfulness", "list")],
        findings=[Finding("p1#1", "We find x.", about=[FindingAbout(Label.TOPIC, "superposition")])],
        models=["gpt2"],
        list_rows=[ListRow("tools", "Tools", ["Tools"], tldr="t", line=3)],
    )
    filters = SearchFilters(technique_ids=["probing"], topic_ids=["superposition"], section_ids=["tools"],
                            year_from=2020, year_to=2025, sources=["arxiv"], component_ids=["mha"])
    store.init_schema()
    if isinstance(store, Neo4jStore):  # an older paperkg's full-text index (no venue) is made again
        assert store._drop_outgrown_fulltext_index(
            [_index_row(cypher.IndexName.FULLTEXT, properties=list(cypher.OUTGROWN_FULLTEXT_PROPERTIES[0]))])
    store.ping()
    store.load_taxonomy([TaxonomyNode(Label.TECHNIQUE, "probing", "Probing", parent="cma"),
                         TaxonomyNode(Label.TECHNIQUE, "cma", "CMA")])
    store.taxonomy_nodes()
    assert store.upsert_papers([bundle]) == {"p1": "new"}
    assert store.upsert_papers([bundle]) == {"p1": "unchanged"}  # only last_seen is touched
    bundle.paper.abstract = "other words"
    assert store.upsert_papers([bundle]) == {"p1": "updated"}
    successor = PaperBundle(paper=Paper(id="2401.00001", title="A paper", embedding=vec), replaces=["p1"],
                            aliases=["p1-given"])
    assert store.upsert_papers([successor]) == {"2401.00001": "updated"}  # p1 existed under a slug
    # Again, unchanged but still naming p1: its key is planned (it may take over p1's) and set alone.
    assert store.upsert_papers([successor]) == {"2401.00001": "updated"}
    store.successor_of("p1")
    store.former_ids("2401.00001")
    store.author_papers("ann lee", limit=5, offset=0)
    store.author_papers("ann lee", since="2024-01-01", coauthors=0, order="first_seen")
    store.restore_citation_keys([("2401.00001", "lee2024paper"), ("p9", "lee2024other")])
    store.delete_paper("p1")
    store.get_paper("p1")
    store.get_papers(["p1"])
    store.find_paper_ids(arxiv_ids=["1"], dois=["10.1/x"], title_keys=["a paper"])
    store.paper_ids()
    store.papers_by_technique("probing")
    store.papers_by_technique("probing", sort="centrality")
    store.keyword_search("probing", 5)
    store.keyword_search("probing", 5, filters)
    store.vector_search(vec, 5)
    store.vector_search(vec, 5, filters)
    store.filter_ids(filters)
    store.filter_page(filters, limit=5, offset=10)
    store.get_embeddings(["p1"])
    store.related_candidates("p1")
    store.technique_document_frequency()
    store.paper_profiles(["p1"])
    store.tag_evidence(["p1"], ["probing", "faithfulness"])
    store.technique_counts()
    store.cooccurring_techniques("probing")
    store.papers_per_year("probing")
    store.new_papers("2024-01-01")
    store.new_papers_page("2024-01-01", limit=5, offset=10)
    store.list_sections()
    store.list_rows_from("list")
    store.stats()
    store.embedding_models()
    store.cache_embeddings("m", {"h": vec})
    store.cached_embeddings("m", ["h"])
    run = store.start_run("arxiv")
    store.finish_run(run.id, "succeeded", {"new": 1}, watermark="w")
    store.runs()
    store.last_watermark("arxiv")
    store.acquire_lock("weekly", "me")
    store.acquire_lock("weekly", "me", expected="me", replacing="dead")
    store.refresh_lock("weekly", "me", 60)
    store.lock_owner("weekly")
    store.lock_holder("weekly")
    store.release_lock("weekly", "me")
    store.record_rejections([Rejection("2411.1", "T", "no", 0.1)])
    store.rejections(since="2024-01-01")
    store.rejected_arxiv_ids(["2411.1"])
    # `paperkg init --prune`: a dry run counts only; a prune moves the edges and removes the node.
    assert store.prune_taxonomy({"probing": "cma", "no_such_node": None}, write=False) == {"probing": 1}
    assert store.prune_taxonomy({"probing": "cma", "no_such_node": None}) == {"probing": 1}
    store.clear_all()  # type: ignore[attr-defined]


def test_every_statement_is_sent_with_exactly_its_parameters(
    recorded: tuple[Neo4jStore, list[tuple[str, dict[str, Any]]]],
) -> None:
    """A missing parameter is an error on a real server; an extra one hides a typo."""
    store, calls = recorded
    _exercise(store)
    assert calls
    for query, params in calls:
        declared = set(PARAMETER.findall(query))
        assert declared == set(params), f"{sorted(declared)} != {sorted(params)} for:\n{query}"


def test_every_statement_sent_is_a_named_constant_of_kg_cypher(
    recorded: tuple[Neo4jStore, list[tuple[str, dict[str, Any]]]],
) -> None:
    """Inline Cypher in kg/neo4j_store.py passed every check, the linter never saw it (contributor QA: a
    misspelt property went unnoticed): each statement sent is one of kg.cypher's, which the linter reads."""
    store, calls = recorded
    _exercise(store)
    named = {value for name, value in vars(cypher).items()
             if re.fullmatch(r"[A-Z][A-Z0-9_]*", name) and isinstance(value, str)}
    named |= set(cypher.SCHEMA_STATEMENTS)
    inline = sorted({query for query, _ in calls} - named)
    assert not inline, f"statements not defined in kg/cypher.py: {inline}"


def test_every_statement_is_used(recorded: tuple[Neo4jStore, list[tuple[str, dict[str, Any]]]]) -> None:
    """No dead statements: each constant of kg.cypher is run by some operation."""
    store, calls = recorded
    _exercise(store)
    sent = {query for query, _ in calls}
    statements = {
        name: value for name, value in vars(cypher).items()
        if re.fullmatch(r"[A-Z][A-Z0-9_]*", name) and isinstance(value, str)
    }
    unused = sorted(name for name, query in statements.items() if query not in sent)
    assert unused == []


def test_load_taxonomy_gives_a_node_its_new_label_before_merging_by_label(
    recorded: tuple[Neo4jStore, list[tuple[str, dict[str, Any]]]],
) -> None:
    """QA: MERGE (n:<Label> {id}) per label made a second node when the file moved a node to another band
    (Technique -> Evaluation), the old one kept with its edges; the embedded store relabels its row. The
    node is relabelled first, in the same transaction, matched by id across the taxonomy labels."""
    store, calls = recorded
    store.load_taxonomy([TaxonomyNode(Label.EVALUATION, "probing", "Probing")])
    sent = [query for query, _ in calls]
    assert sent.index(cypher.RELABEL_TAXONOMY_NODES) < sent.index(cypher.MERGE_TAXONOMY_NODES)
    relabel = cypher.RELABEL_TAXONOMY_NODES
    for label in TAXONOMY_LABELS:  # from any taxonomy label, to any
        assert f"MATCH (n:{label} {{id: row.id}}) WHERE row.label <> '{label}'" in relabel
        assert f"REMOVE n:{label})" in relabel and f"SET n:{label})" in relabel


def test_acquire_lock_sends_the_expected_holder(
    recorded: tuple[Neo4jStore, list[tuple[str, dict[str, Any]]]],
) -> None:
    """`expected` reaches ACQUIRE_LOCK as $expected with $any_holder false (None, a holder read as none,
    included); without it, $any_holder is true and nothing is compared (the contract suite runs the
    statement itself only against a live Neo4j)."""
    store, calls = recorded
    store.acquire_lock("ingest", "me")
    store.acquire_lock("ingest", "me", expected=None)
    store.acquire_lock("ingest", "me", expected="seen", replacing="seen")
    sent = [(p["any_holder"], p["expected"], p["replacing"]) for q, p in calls if q == cypher.ACQUIRE_LOCK]
    assert sent == [(True, None, None), (False, None, None), (False, "seen", "seen")]


def test_rejected_arxiv_ids_seeks_each_id_once_by_its_key_prefix(
    recorded: tuple[Neo4jStore, list[tuple[str, dict[str, Any]]]],
) -> None:
    """REJECTED_ARXIV_IDS gets each id once with the key prefix it seeks (the id and "|", cut to the
    indexed look-up key size: a longer one may not fit the index), and nothing at all for no ids; what the
    server answers is the contract suite's (on a live Neo4j)."""
    store, calls = recorded
    long_id = "2411." + "7" * 1500
    assert store.rejected_arxiv_ids([]) == set() and calls == []
    store.rejected_arxiv_ids(["2411.00001", long_id, "2411.00001"])
    [(query, params)] = calls
    assert query == cypher.REJECTED_ARXIV_IDS
    assert params["ids"] == [{"id": "2411.00001", "prefix": "2411.00001|"},
                             {"id": long_id, "prefix": long_id[:1000]}]


def test_technique_match_all_sends_one_expanded_family_per_id(
    recorded: tuple[Neo4jStore, list[tuple[str, dict[str, Any]]]],
) -> None:
    """With technique_match "all" each technique id is expanded on its own (refinements as asked) and sent
    as one list of $technique_families, $technique_ids empty; with "any" the ids are expanded together as
    before and no family is sent. The statements are kg.cypher's constants whatever the ids: the ids travel
    only as parameters (what the server answers is the contract suite's, on a live Neo4j)."""
    store, calls = recorded
    vec = np.ones(EMBEDDING_DIM, dtype=np.float32) / np.sqrt(EMBEDDING_DIM)
    statements = {cypher.FILTER_IDS, cypher.FILTER_PAGE, cypher.KEYWORD_SEARCH_FILTERED,
                  cypher.VECTOR_SEARCH_FILTERED}
    sent: dict[str, list[tuple[Any, Any]]] = {}
    for match in ("any", "all"):
        filters = SearchFilters(technique_ids=["probing", "faithfulness"], technique_match=match,
                                include_refinements=match == "any", topic_ids=["superposition"])
        calls.clear()
        store.filter_ids(filters)
        # The expansions of one statement's parameters: the techniques' (together or one by one), the topics'.
        expanded = [(p["ids"], p["include_refinements"]) for q, p in calls if q == cypher.EXPAND_REFINEMENTS]
        store.filter_page(filters, limit=5)
        store.keyword_search("probing", 5, filters)
        store.vector_search(vec, 5, filters)
        filtered = [(q, p) for q, p in calls if q in statements]
        assert {q for q, _ in filtered} == statements
        assert len({(repr(p["technique_ids"]), repr(p["technique_families"])) for _, p in filtered}) == 1
        assert {repr(p["topic_ids"]) for _, p in filtered} == {repr(["superposition"])}
        _, params = filtered[0]
        sent[match] = [(params["technique_ids"], params["technique_families"]), *expanded]
    assert sent["any"] == [(["probing", "faithfulness"], []), (["probing", "faithfulness"], True),
                           (["superposition"], True)]
    assert sent["all"] == [([], [["probing"], ["faithfulness"]]), (["probing"], False),
                           (["faithfulness"], False), (["superposition"], False)]


def test_new_papers_send_their_technique_ids_as_a_parameter(
    recorded: tuple[Neo4jStore, list[tuple[str, dict[str, Any]]]],
) -> None:
    """The new papers' technique filter: the ids travel as $techniques (the statement walks their
    refinements itself), the statements are kg.cypher's constants whatever the ids, and no ids is an
    empty list (every paper)."""
    store, calls = recorded
    store.new_papers("2024-01-01", 5, technique_ids=["sae", "cma"])
    store.new_papers_page("2024-01-01", limit=5, technique_ids=("sae",))
    store.new_papers("2024-01-01")
    store.new_papers_page("2024-01-01")
    sent = [(q, p["techniques"]) for q, p in calls]
    assert sent == [(cypher.NEW_PAPERS, ["sae", "cma"]), (cypher.NEW_PAPERS_PAGE, ["sae"]),
                    (cypher.NEW_PAPERS, []), (cypher.NEW_PAPERS_PAGE, [])]
    for statement in (cypher.NEW_PAPERS, cypher.NEW_PAPERS_PAGE):
        assert f"-[:{Rel.REFINES}*0..]->(t) WHERE t.id IN $techniques" in statement


def test_author_papers_send_the_statement_of_their_order(
    recorded: tuple[Neo4jStore, list[tuple[str, dict[str, Any]]]],
) -> None:
    """"date" (the default: the author page) and "first_seen" (the author feed) each send their own page
    statement, the feed's in NEW_PAPERS_PAGE's order; an unknown order sends nothing."""
    store, calls = recorded
    store.author_papers("ann lee")
    store.author_papers("ann lee", since="2024-01-01", order="first_seen")
    pages = [(q, p["since"]) for q, p in calls if q in (cypher.AUTHOR_PAPERS_PAGE,
                                                         cypher.AUTHOR_PAPERS_FIRST_SEEN_PAGE)]
    assert pages == [(cypher.AUTHOR_PAPERS_PAGE, ""), (cypher.AUTHOR_PAPERS_FIRST_SEEN_PAGE, "2024-01-01")]
    new_order = cypher.NEW_PAPERS_PAGE.split("ORDER BY ", 1)[1].split(" WITH collect", 1)[0]
    assert f"ORDER BY {new_order} WITH collect" in cypher.AUTHOR_PAPERS_FIRST_SEEN_PAGE
    calls.clear()
    with pytest.raises(ValueError, match="order"):
        store.author_papers("ann lee", order="title")
    assert calls == []


# Clauses that write; a read transaction (routed to a reader on a cluster) must run none of them.
_WRITE_CLAUSE = re.compile(r"\b(CREATE|MERGE|SET|DELETE|REMOVE|FOREACH|DETACH)\b")


def test_transactions_are_of_the_right_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reads run no write clause; each schema statement runs alone in a write transaction (Neo4j
    refuses schema and data writes in one transaction); nothing uses CALL ... IN TRANSACTIONS,
    which fails inside the managed transactions every operation runs in."""
    transactions: list[tuple[bool, list[tuple[str, dict[str, Any]]]]] = []
    hashes: dict[str, str] = {}

    def execute(write: bool, work: Any) -> Any:
        calls: list[tuple[str, dict[str, Any]]] = []
        transactions.append((write, calls))
        return work(_RecordingTx(calls, hashes))

    store = Neo4jStore("bolt://127.0.0.1:1", "neo4j", "pw", "neo4j")
    monkeypatch.setattr(store, "_execute", execute)
    monkeypatch.setattr(store, "_get_driver", lambda verify=False: None)
    _exercise(store)
    schema = set(cypher.SCHEMA_STATEMENTS)
    # Each once, and the full-text index again after _exercise drops an older one (DROP_FULLTEXT_INDEX).
    assert sorted(q for _, calls in transactions for q, _ in calls if q in schema) == sorted(
        [*schema, cypher.CREATE_FULLTEXT_INDEX])
    drops = [write for write, calls in transactions if [q for q, _ in calls] == [cypher.DROP_FULLTEXT_INDEX]]
    assert drops == [True]
    for write, calls in transactions:
        queries = [q for q, _ in calls]
        if not write:
            assert not [q for q in queries if _WRITE_CLAUSE.search(q)], queries
        if schema & set(queries):
            assert write and len(queries) == 1, queries
        assert not [q for q in queries if "IN TRANSACTIONS" in q]


def test_transaction_functions_survive_a_retry(monkeypatch: pytest.MonkeyPatch) -> None:
    """The driver may run a transaction function again after a transient error (the first attempt
    rolled back): every operation's function gives the same answer the second time."""
    calls: list[tuple[str, dict[str, Any]]] = []
    hashes: dict[str, str] = {}
    retried = 0

    def execute_twice(write: bool, work: Any) -> Any:
        nonlocal retried
        first = work(_RecordingTx([], dict(hashes)))  # its writes are rolled back: state copied
        second = work(_RecordingTx(calls, hashes))
        assert first == second
        retried += 1
        return second

    store = Neo4jStore("bolt://127.0.0.1:1", "neo4j", "pw", "neo4j")
    monkeypatch.setattr(store, "_execute", execute_twice)
    monkeypatch.setattr(store, "_get_driver", lambda verify=False: None)
    _exercise(store)
    assert retried > 40


def test_vector_search_scores_the_candidates_exactly() -> None:
    """The index only proposes candidates. Its own score is not the cosine: vector indexes are
    quantized by default since Neo4j 5.23 (an identical vector scores ~0.99997, not 1), so each
    candidate is re-scored with vector.similarity.cosine on its stored embedding."""
    call, _, rest = cypher.VECTOR_SEARCH.partition(" YIELD ")
    assert call.startswith("CALL db.index.vector.queryNodes(")
    assert re.match(r"node\s+WITH\b", rest), rest  # the index's score column is not taken
    assert "vector.similarity.cosine(node.embedding, $vector)" in rest
    assert "ORDER BY cosine DESC" in rest and rest.endswith("LIMIT $k")


class _StubSession:
    """A driver session running transaction functions on a recording transaction."""

    def __init__(self, calls: list[tuple[str, dict[str, Any]]]) -> None:
        self.calls = calls

    def __enter__(self) -> _StubSession:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def execute_read(self, work: Any) -> Any:
        return work(_RecordingTx(self.calls, {}))

    def execute_write(self, work: Any) -> Any:
        return work(_RecordingTx(self.calls, {}))


class _StubDriver:
    """Records the configuration of every session it opens."""

    def __init__(self) -> None:
        self.sessions: list[dict[str, Any]] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def verify_connectivity(self) -> None:
        return None

    def session(self, **config: Any) -> _StubSession:
        self.sessions.append(config)
        return _StubSession(self.calls)

    def close(self) -> None:
        return None


def test_sessions_share_one_bookmark_manager(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each operation opens its own session; without a shared bookmark manager a read routed to
    another cluster member (or Aura) need not see the write just made."""
    from neo4j import GraphDatabase
    from neo4j.api import BookmarkManager

    stub = _StubDriver()
    monkeypatch.setattr(GraphDatabase, "driver", lambda *args, **kwargs: stub)
    store = Neo4jStore("bolt://127.0.0.1:1", "neo4j", "pw", "mydb")
    run = store.start_run("arxiv")
    store.finish_run(run.id, "succeeded", watermark="w")
    store.runs()
    store.paper_ids()
    assert len(stub.sessions) == 4
    managers = {id(s["bookmark_manager"]) for s in stub.sessions}
    assert len(managers) == 1
    assert isinstance(stub.sessions[0]["bookmark_manager"], BookmarkManager)
    assert all(s["database"] == "mydb" for s in stub.sessions)
    store.close()


def test_forked_child_builds_its_own_driver(closed_port: int) -> None:
    """A process forked after the store made its driver (a gunicorn worker forked from a parent
    that used the store) must not share the parent's pooled sockets: it builds its own driver."""
    store = Neo4jStore(f"bolt://127.0.0.1:{closed_port}", "neo4j", "pw", "neo4j", connection_timeout=2.0)
    with pytest.raises(StoreUnavailable):
        store.ping()  # the driver exists from here on (that the server is down does not matter)
    parent_driver = store._driver
    assert parent_driver is not None
    pid = os.fork()
    if pid == 0:  # the child
        try:
            with contextlib.suppress(StoreUnavailable):
                store.ping()
            os._exit(0 if store._driver is not None and store._driver is not parent_driver else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert store._driver is parent_driver  # the parent keeps its own
    store.close()


def test_driver_asks_the_server_for_warnings_only(closed_port: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Since Neo4j 5.17 every CREATE ... IF NOT EXISTS that finds its index answers with an informational
    notification, and the driver logs each at INFO (logger neo4j.notifications): init_schema, run by every
    ingest, logged ~26 such lines, and MATCH ... MATCH writes a CartesianProduct hint. The real driver is
    built asking the server for warnings and worse only, and accepts that (a setting it refused would end
    as "invalid Neo4j URI or settings", not as the refused connection)."""
    from neo4j import GraphDatabase, NotificationMinimumSeverity

    real_driver = GraphDatabase.driver
    built: list[dict[str, Any]] = []

    def recording_driver(*args: Any, **kwargs: Any) -> Any:
        built.append(kwargs)
        return real_driver(*args, **kwargs)

    monkeypatch.setattr(GraphDatabase, "driver", recording_driver)
    store = Neo4jStore(f"bolt://127.0.0.1:{closed_port}", "neo4j", "pw", "neo4j", connection_timeout=2.0)
    try:
        with pytest.raises(StoreUnavailable, match=r"(?i)refused"):
            store.ping()
        assert store._driver is not None  # built (lazily: no server needed), then the ping failed
        assert len(built) == 1
        assert built[0]["notifications_min_severity"] == NotificationMinimumSeverity.WARNING
    finally:
        store.close()


def test_a_server_too_old_to_filter_notifications_is_named_too_old() -> None:
    """A server before Neo4j 5.7 (Bolt before 5.2) cannot filter notifications, and the driver, asked to,
    fails the first connection with a ConfigurationError before init_schema's version check runs: that
    one says the server is too old and what paperkg needs; other configuration errors stay as they are."""
    from neo4j.exceptions import ConfigurationError

    store = Neo4jStore("bolt://neo4j:hunter2@127.0.0.1:1", "neo4j", "pw", "neo4j")
    with pytest.raises(StoreError) as info, store._errors():
        raise ConfigurationError("Notification filtering is not supported for the Bolt Protocol 4.4. "
                                 "Server Agent 'Neo4j/4.4.30'")
    assert str(info.value) == (
        "Neo4j at bolt://127.0.0.1:1 is too old: paperkg needs 5.23 or newer (Notification filtering is "
        "not supported for the Bolt Protocol 4.4. Server Agent 'Neo4j/4.4.30')")
    with pytest.raises(StoreError, match=r"^Neo4j driver error for bolt://127\.0\.0\.1:1: bad setting$"), \
            store._errors():
        raise ConfigurationError("bad setting")


def test_keyword_statements_order_equal_scores_by_id() -> None:
    """Equal scores go by id, as the embedded store's (bm25, id), not by insertion order (paper_ids'
    order); without filters the statement hands over all $fetch rows (the store keeps the best k)."""
    assert cypher.PAPER_IDS.endswith("ORDER BY p.seq IS NOT NULL, p.seq, p.first_seen, p.id")
    assert cypher.KEYWORD_SEARCH.endswith("RETURN p.id AS id, score ORDER BY score DESC, p.id")
    assert "{limit: $fetch}" in cypher.KEYWORD_SEARCH
    assert cypher.KEYWORD_SEARCH_FILTERED.endswith(
        "RETURN p.id AS id, score ORDER BY score DESC, p.id LIMIT $k")


# Full-text matches as (id, score, the index's own document number): papers b..e tie, and the index's
# order among them (its document numbers: a rewritten paper gets a new one) is not their id order.
_MATCHES = [("a", 2.0, 9), ("b", 1.0, 8), ("c", 1.0, 7), ("d", 1.0, 1), ("e", 1.0, 2), ("f", 0.5, 0)]


@pytest.mark.parametrize(("k", "expected", "fetches"), [
    (1, ["a"], [2]),
    (2, ["a", "b"], [3, 12]),  # the 3rd fetched ties the 2nd: fetched again, more
    (4, ["a", "b", "c", "d"], [5, 20]),
    (5, ["a", "b", "c", "d", "e"], [6]),  # the 6th fetched scores lower: all ties are in
    (10, ["a", "b", "c", "d", "e", "f"], [11]),
])
def test_keyword_search_fetches_past_ties_at_the_kth(
    monkeypatch: pytest.MonkeyPatch, k: int, expected: list[str], fetches: list[int],
) -> None:
    """The index stops at $fetch by its own document order among equal scores; while the last row
    fetched ties the k-th, papers of that score earlier in id order may be missing, so the store
    fetches more, and keeps the best k in (score, id) order, as the embedded store ranks."""
    asked: list[int] = []

    class Tx:
        def run(self, query: str, parameters: dict[str, Any] | None = None) -> _Result:
            if query in (cypher.PAPER_COUNT, cypher.KEYWORD_TEXT_MATCHES):  # words to look for in venues
                return _Result([{"n": 0}])
            assert query == cypher.KEYWORD_SEARCH and parameters is not None
            asked.append(parameters["fetch"])
            # What the index hands over (its best $fetch), in the statement's order.
            top = sorted(_MATCHES, key=lambda m: (-m[1], m[2]))[:parameters["fetch"]]
            return _Result([{"id": m[0], "score": m[1]} for m in sorted(top, key=lambda m: (-m[1], m[0]))])

    store = Neo4jStore("bolt://127.0.0.1:1", "neo4j", "pw", "neo4j")
    monkeypatch.setattr(store, "_execute", lambda write, work: work(Tx()))
    assert [h.id for h in store.keyword_search("words", k)] == expected
    assert asked == fetches


@pytest.mark.parametrize(("k", "n_papers", "fetch"), [
    (5, 1000, 50), (100, 1000, 400), (249, 1000, 996),  # the index, oversampled
    (250, 1000, None), (5, 50, None), (5, 0, None),  # as many as there are papers: the exact scan
])
def test_vector_search_asks_the_index_only_for_fewer_than_every_paper(
    k: int, n_papers: int, fetch: int | None,
) -> None:
    """The vector index may return fewer than k neighbours when k (with the oversampling) nears the
    number of indexed papers (Neo4j's vector-index limitations): then every paper is scanned exactly."""
    assert _vector_fetch(k, n_papers) == fetch


@pytest.mark.parametrize(("n_papers", "index_rows", "sent"), [
    (1000, 5, [cypher.PAPER_COUNT, cypher.VECTOR_SEARCH]),
    (1000, 3, [cypher.PAPER_COUNT, cypher.VECTOR_SEARCH, cypher.VECTOR_SEARCH_EXACT]),  # index fell short
    (40, 5, [cypher.PAPER_COUNT, cypher.VECTOR_SEARCH_EXACT]),  # fetch 50 >= 40 papers
])
def test_vector_search_falls_back_to_the_exact_scan(
    monkeypatch: pytest.MonkeyPatch, n_papers: int, index_rows: int, sent: list[str],
) -> None:
    """One read transaction: the paper count, then the index's candidates, and the exact scan of every
    paper when the index is not asked or hands over fewer than k (its answer is then not used)."""
    calls: list[tuple[str, dict[str, Any]]] = []
    exact = [{"id": f"x{i}", "cosine": 1.0 - i / 10} for i in range(5)]

    class Tx:
        def run(self, query: str, parameters: dict[str, Any] | None = None) -> _Result:
            calls.append((query, dict(parameters or {})))
            if query == cypher.PAPER_COUNT:
                return _Result([{"n": n_papers}])
            if query == cypher.VECTOR_SEARCH:
                return _Result([{"id": f"i{i}", "cosine": 0.9 - i / 10} for i in range(index_rows)])
            assert query == cypher.VECTOR_SEARCH_EXACT
            return _Result(exact)

    transactions: list[bool] = []

    def execute(write: bool, work: Any) -> Any:
        transactions.append(write)
        return work(Tx())

    store = Neo4jStore("bolt://127.0.0.1:1", "neo4j", "pw", "neo4j")
    monkeypatch.setattr(store, "_execute", execute)
    vec = np.ones(EMBEDDING_DIM, dtype=np.float32)
    hits = store.vector_search(vec, 5)
    assert [q for q, _ in calls] == sent and transactions == [False]
    assert [h.id for h in hits] == ([r["id"] for r in exact] if sent[-1] == cypher.VECTOR_SEARCH_EXACT
                                    else [f"i{i}" for i in range(5)])
    if cypher.VECTOR_SEARCH in sent:
        assert calls[1][1]["fetch"] == 50 and calls[1][1]["k"] == 5


def test_arxiv_version_is_written_and_read_back(
    recorded: tuple[Neo4jStore, list[tuple[str, dict[str, Any]]]]
) -> None:
    """A paper's arxiv_version is a property of its node (null, i.e. absent, when unknown), and every
    paper read returns it: a node an older paperkg wrote reads as version unknown."""
    store, calls = recorded
    vec = np.ones(EMBEDDING_DIM, dtype=np.float32) / np.sqrt(EMBEDDING_DIM)
    store.upsert_papers([
        PaperBundle(paper=Paper(id="p1", title="Version three", embedding=vec, arxiv_version=3)),
        PaperBundle(paper=Paper(id="p2", title="No version", embedding=vec)),
    ])
    rows = {r["id"]: r["props"] for q, p in calls if q == cypher.MERGE_PAPERS for r in p["rows"]}
    assert rows["p1"]["arxiv_version"] == 3 and rows["p2"]["arxiv_version"] is None
    for statement in (cypher.GET_PAPER, cypher.GET_PAPERS, cypher.PAPERS_BY_TECHNIQUE_DATE,
                      cypher.NEW_PAPERS):
        assert ".arxiv_version" in statement
    assert _paper({"id": "p1", "title": "t", "arxiv_version": 3}).arxiv_version == 3
    assert _paper({"id": "p1", "title": "t"}).arxiv_version is None


def test_upsert_rows_carry_the_bundle(recorded: tuple[Neo4jStore, list[tuple[str, dict[str, Any]]]]) -> None:
    """The batched rows hold what the bundle says (deduplicated like the embedded store)."""
    store, calls = recorded
    vec = np.ones(EMBEDDING_DIM, dtype=np.float32) / np.sqrt(EMBEDDING_DIM)
    status = store.upsert_papers([PaperBundle(
        paper=Paper(id="p1", title="Naïve title", authors=["Ann  Lee", "", "Bo"], embedding=vec, year=2023,
                    extraction_hash="ab" * 32),
        techniques=[TechniqueUse("probing", "list"), TechniqueUse("probing", "list", evidence="again")],
        models=["gpt2", "gpt2"],
    )])
    assert status == {"p1": "new"}
    by_query = {q: p for q, p in calls}
    paper = by_query[cypher.MERGE_PAPERS]["rows"][0]
    assert paper["id"] == "p1"
    props = paper["props"]
    assert props["title"] == "Naïve title" and props["title_key"] == "naive title"
    assert props["authors"] == ["Ann  Lee", "", "Bo"] and props["authors_text"] == "Ann  Lee, , Bo"
    assert props["categories"] is None  # empty lists are stored as no property, read back as []
    assert props["embedding"] == pytest.approx(vec.tolist()) and len(props["embedding"]) == EMBEDDING_DIM
    # Stored as LIST<FLOAT> of plain Python floats (what the vector index indexes), not numpy scalars.
    assert all(type(x) is float for x in props["embedding"])
    assert len(props["bundle_hash"]) == 64
    assert props["extraction_hash"] == "ab" * 32
    # Reads project every kg.schema paper property, so the map the server returns carries it back.
    assert ".extraction_hash" in cypher.GET_PAPER and ".extraction_hash" in cypher.GET_PAPERS
    assert _paper({"id": "p1", "title": "t", "extraction_hash": "ab" * 32}).extraction_hash == "ab" * 32
    authors = by_query[cypher.CREATE_AUTHORED_BY]["rows"]
    assert [(a["key"], a["name"], a["position"]) for a in authors] == [
        ("ann lee", "Ann Lee", 0), ("bo", "Bo", 2)
    ]
    uses = by_query[cypher.CREATE_USES]["rows"]
    assert [(u["technique_id"], u["evidence"]) for u in uses] == [("probing", "again")]
    assert [s["model_id"] for s in by_query[cypher.CREATE_STUDIES]["rows"]] == ["gpt2"]


def test_aliases_are_written_after_the_papers_and_before_the_replaced_ones_go(
    recorded: tuple[Neo4jStore, list[tuple[str, dict[str, Any]]]],
) -> None:
    """One row per alias (the later paper's when two claim it), none for an id of the batch; written
    once the papers exist (the statement skips a paper's id) and before a replaced paper is deleted."""
    store, calls = recorded
    merged = PaperBundle(paper=Paper(id="doi-a", title="A paper"), aliases=["doi-b", "2401.00001", "doi-a"],
                         replaces=["old-slug"])
    other = PaperBundle(paper=Paper(id="2401.00001", title="Another paper"), aliases=["doi-b", "doi-c"])
    store.upsert_papers([merged, other])
    queries = [q for q, _ in calls]
    sent = [p for q, p in calls if q == cypher.RECORD_MERGED_PAPER_ALIASES]
    assert sent == [{"rows": [{"old_id": "doi-b", "paper_id": "2401.00001"},
                              {"old_id": "doi-c", "paper_id": "2401.00001"}]}]
    alias_at = queries.index(cypher.RECORD_MERGED_PAPER_ALIASES)
    assert queries.index(cypher.MERGE_PAPERS) < alias_at < queries.index(cypher.DELETE_PAPERS)
    calls.clear()
    store.upsert_papers([PaperBundle(paper=Paper(id="p2", title="No aliases"))])
    assert cypher.RECORD_MERGED_PAPER_ALIASES not in [q for q, _ in calls]
    calls.clear()
    with pytest.raises(ValueError, match="paper 'p3': 'alias' must be letters"):
        store.upsert_papers([PaperBundle(paper=Paper(id="p3", title="Bad alias"), aliases=["a b"])])
    assert calls == []


def test_bad_bundles_are_rejected_before_any_statement(
    recorded: tuple[Neo4jStore, list[tuple[str, dict[str, Any]]]],
) -> None:
    """Validation is the embedded store's: ValueError naming the record, nothing sent."""
    store, calls = recorded
    bad = [
        PaperBundle(paper=Paper(id="no-title", title=" ")),
        PaperBundle(paper=Paper(id="short-vec", title="t", embedding=np.ones(3, dtype=np.float32))),
        PaperBundle(paper=Paper(id="nan-vec", title="t",
                                embedding=np.full(EMBEDDING_DIM, np.nan, dtype=np.float32))),
        PaperBundle(paper=Paper(id="zero-vec", title="t",
                                embedding=np.zeros(EMBEDDING_DIM, dtype=np.float32))),
        PaperBundle(paper=Paper(id="surrogate", title="bad \udc80 text")),
    ]
    for bundle in bad:
        with pytest.raises(ValueError, match=bundle.paper.id):
            store.upsert_papers([PaperBundle(paper=Paper(id="fine", title="Fine")), bundle])
    assert calls == []


# -- init_schema waits for the indexes --------------------------------------------------------

def _schema_store(monkeypatch: pytest.MonkeyPatch, states: list[str], timeout: float,
                  version: str = "5.26.0", absent: str | None = None,
                  changed: dict[str, dict[str, Any]] | None = None) -> tuple[Neo4jStore, list[str]]:
    """A store whose DDL is accepted, whose server is `version` and whose SHOW INDEXES answers
    with `states` in turn; the list it returns fills with the schema statements run."""
    store = Neo4jStore("bolt://127.0.0.1:1", "neo4j", "pw", "neo4j", index_timeout=timeout)
    ddl: list[str] = []

    class DdlTx(_RecordingTx):
        def run(self, query: str, parameters: dict[str, Any] | None = None) -> _Result:
            if query in cypher.SCHEMA_STATEMENTS:
                ddl.append(query)
            return super().run(query, parameters)

    monkeypatch.setattr(store, "_execute", lambda write, work: work(DdlTx([], {})))
    answers = iter(states)

    def show(statement: str, **params: Any) -> list[dict[str, Any]]:
        if statement == cypher.SERVER_VERSION:
            return [{"name": "Neo4j Kernel", "versions": [version], "edition": "community"}]
        if statement != cypher.SHOW_INDEX_STATES:  # the data upgrade: canned answers
            return DdlTx([], {}).run(statement, params).data()
        assert params == {}
        state = next(answers, states[-1])
        rows = [_index_row(n, **(changed or {}).get(n, {})) for n in INDEX_NAMES]
        rows[-1] = _index_row(INDEX_NAMES[-1], state, 42.0, **(changed or {}).get(INDEX_NAMES[-1], {}))
        rows = [r for r in rows if r["name"] != absent]
        return [*rows, {"name": "someone_elses_index", "state": "FAILED", "populationPercent": 0.0}]

    monkeypatch.setattr(store, "_read", show)
    return store, ddl


def test_init_schema_waits_until_indexes_are_online(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every DDL statement runs, then SHOW INDEXES is polled until ours are ONLINE."""
    store, ddl = _schema_store(monkeypatch, ["POPULATING", "ONLINE"], timeout=30.0)
    store.init_schema()
    assert len(ddl) == len(cypher.SCHEMA_STATEMENTS)
    assert "paper_embedding" in INDEX_NAMES and "paper_text" in INDEX_NAMES
    assert "paper_id_unique" in INDEX_NAMES


def test_init_schema_times_out_with_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """An index that stays POPULATING past the timeout is named, with its progress."""
    store, _ = _schema_store(monkeypatch, ["POPULATING"], timeout=0.0)
    expected = rf"indexes not ONLINE after 0 s: {INDEX_NAMES[-1]} \(POPULATING, 42%\)$"
    with pytest.raises(StoreError, match=expected):
        store.init_schema()


def test_init_schema_reports_a_failed_index(monkeypatch: pytest.MonkeyPatch) -> None:
    """A FAILED index of ours is reported at once (other databases' indexes are ignored)."""
    store, _ = _schema_store(monkeypatch, ["FAILED"], timeout=30.0)
    with pytest.raises(StoreError, match=rf"index {INDEX_NAMES[-1]} FAILED"):
        store.init_schema()


@pytest.mark.parametrize(("version", "accepted"), [
    ("5.26.0", True), ("5.23.0", True), ("2025.01.0", True), ("dev", True),
    ("5.22.0", False), ("4.4.30", False),
])
def test_init_schema_refuses_a_server_older_than_its_cypher_needs(
    monkeypatch: pytest.MonkeyPatch, version: str, accepted: bool
) -> None:
    """The version is checked before any DDL runs; an old server gets one clear line."""
    store, ddl = _schema_store(monkeypatch, ["ONLINE"], timeout=30.0, version=version)
    if accepted:
        store.init_schema()
        assert len(ddl) == len(cypher.SCHEMA_STATEMENTS)
    else:
        with pytest.raises(StoreError, match=rf"is version {version}; paperkg needs 5\.23 or newer"):
            store.init_schema()
        assert ddl == []


def test_init_schema_names_an_index_an_equivalent_one_kept_from_being_created(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """IF NOT EXISTS is a no-op when an equivalent index exists under another name: say so at once
    instead of waiting out the index timeout."""
    import threading

    import kg.neo4j_store as neo4j_store_module

    store, ddl = _schema_store(monkeypatch, ["ONLINE"], timeout=300.0, absent="paper_id_unique")
    this_thread, real_sleep = threading.get_ident(), neo4j_store_module.time.sleep

    def no_waiting(seconds: float) -> None:
        if threading.get_ident() == this_thread:  # other threads of the test process sleep as usual
            raise AssertionError(f"init_schema waited ({seconds} s) for an index that cannot appear")
        real_sleep(seconds)

    monkeypatch.setattr(neo4j_store_module.time, "sleep", no_waiting)
    with pytest.raises(StoreError, match=r"index paper_id_unique was not created.*under another name"):
        store.init_schema()
    assert len(ddl) == len(cypher.SCHEMA_STATEMENTS)


def test_init_schema_refuses_an_index_kept_with_other_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """CREATE ... IF NOT EXISTS keeps an existing index of that name whatever its settings: an older
    analyzer, another embedding size or similarity, other properties are named with how to fix them."""
    changed = {
        "paper_text": {"config": {"fulltext.analyzer": "standard-folding"},
                       "properties": ["title", "abstract", "authors_text"]},
        "paper_embedding": {"config": {"vector.dimensions": 768, "vector.similarity_function": "EUCLIDEAN"}},
        "paper_id_unique": {"properties": ["slug"]},
    }
    assert set(cypher.EXPECTED_INDEXES) == set(INDEX_NAMES)  # every index is checked
    store, _ = _schema_store(monkeypatch, ["ONLINE"], timeout=30.0, changed=changed)
    with pytest.raises(StoreError) as info:
        store.init_schema()
    message = str(info.value)
    assert "fulltext.analyzer 'standard-folding', expected 'standard-no-stop-words'" in message
    assert "properties ['title', 'abstract', 'authors_text'], expected ['search_title'" in message
    assert "vector.dimensions 768, expected 384" in message
    assert "vector.similarity_function 'EUCLIDEAN', expected 'cosine'" in message
    assert "`DROP INDEX paper_text`" in message and "`DROP INDEX paper_embedding`" in message
    assert "`DROP CONSTRAINT paper_id_unique`" in message and "paperkg init" in message
    # The same settings as the server reports them (upper-case function, a float size) pass.
    ok, _ = _schema_store(monkeypatch, ["ONLINE"], timeout=30.0,
                          changed={"paper_embedding": {"config": {"vector.dimensions": 384.0}}})
    ok.init_schema()


def test_papers_are_numbered_in_insertion_order(
    recorded: tuple[Neo4jStore, list[tuple[str, dict[str, Any]]]],
) -> None:
    """Neo4j has no insertion order: a changed paper's row carries the next number of a counter
    reserved in the same transaction (the orders that use it are checked on a live server by
    tests/kg/test_store_contract.py::test_equal_dates_order_by_insertion)."""
    store, calls = recorded
    store.upsert_papers([PaperBundle(paper=Paper(id=i, title=f"T {i}")) for i in ("b", "a", "c")])
    reserve = [p for q, p in calls if q == cypher.RESERVE_SEQ]
    assert reserve == [{"name": Label.PAPER, "n": 3}]  # answered with last = 103
    rows = next(p for q, p in calls if q == cypher.MERGE_PAPERS)["rows"]
    assert [(r["id"], r["seq"]) for r in rows] == [("b", 101), ("a", 102), ("c", 103)]


def test_indexed_text_is_folded_like_the_query(
    recorded: tuple[Neo4jStore, list[tuple[str, dict[str, Any]]]],
) -> None:
    """The full-text index holds accent-folded copies of title, abstract and authors, analysed without
    stop words ("not" stays searchable), and queries are folded the same way."""
    store, calls = recorded
    store.upsert_papers([PaperBundle(paper=Paper(id="u1", title="Naïve Übersetzung: OR AND NOT",
                                                 abstract="Ångström Œuvre", authors=["Zoë Lee", "李雷",
                                                                                     "Anders Søgaard"]))])
    props = next(p for q, p in calls if q == cypher.MERGE_PAPERS)["rows"][0]["props"]
    assert (props["search_title"], props["search_abstract"], props["search_authors"]) == (
        "Naive Ubersetzung OR AND NOT", "Angstrom OEuvre", "Zoe Lee 李雷 Anders Sogaard")
    assert props["title"] == "Naïve Übersetzung: OR AND NOT"
    assert "'standard-no-stop-words'" in cypher.CREATE_FULLTEXT_INDEX
    assert "standard-folding" not in cypher.CREATE_FULLTEXT_INDEX
    assert cypher.fulltext_terms("NOT", stopwords=frozenset({"not"})) == "not"


def _fts5_words(texts: list[str]) -> list[list[str]]:
    """The words the embedded store's FTS5 tokenizer makes of each text, in order (a real FTS5 table
    with the tokenizer of kg.embedded_schema)."""
    from kg.embedded_schema import SCHEMA

    tokenizer = re.search(r"tokenize = '([^']*)'", SCHEMA)
    assert tokenizer is not None
    words: list[list[str]] = [[] for _ in texts]
    with contextlib.closing(sqlite3.connect(":memory:")) as conn:
        conn.execute(f"CREATE VIRTUAL TABLE t USING fts5(x, tokenize = '{tokenizer[1]}')")
        conn.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, instance)")
        conn.executemany("INSERT INTO t(rowid, x) VALUES (?, ?)", enumerate(texts, start=1))
        for term, doc in conn.execute("SELECT term, doc FROM v ORDER BY doc, offset"):
            words[doc - 1].append(term)
    return words


def test_indexed_text_holds_the_embedded_stores_words(
    recorded: tuple[Neo4jStore, list[tuple[str, dict[str, Any]]]],
) -> None:
    """Lucene's StandardTokenizer keeps "O'Neill", "model’s", "github.com", "3.5", "i.e.superposition"
    and "foo_bar" one token each, where FTS5 makes two or more words of each, so "Neill" or "github"
    found nothing on Neo4j: the indexed text has every character that separates FTS5 words replaced
    by a space, and its words are exactly the ones FTS5 indexes for the same paper."""
    from kg.validation import fold_for_search

    store, calls = recorded
    title = "Conor O'Neill’s model’s github.com/x_y: GPT-3.5 (i.e.superposition) — naïve"
    abstract = ("We didn't use e\u0305\u0332x; 50% “quoted”, tab\tand\u00a0nbsp; "
                "soft\u00adhyphen, 機械学習, x².")
    authors = ["Conor O'Neill", "Alexander D’Amour", "Anders Søgaard"]
    store.upsert_papers([PaperBundle(paper=Paper(id="w1", title=title, abstract=abstract, authors=authors))])
    props = next(p for q, p in calls if q == cypher.MERGE_PAPERS)["rows"][0]["props"]
    assert props["search_title"] == "Conor O Neill s model s github com x y GPT 3 5 i e superposition naive"
    assert props["search_authors"] == "Conor O Neill Alexander D Amour Anders Sogaard"
    assert props["search_abstract"] == (
        "We didn t use e x 50 quoted tab and nbsp soft hyphen 機械学習 x²")
    stored = [props[k] for k in cypher.FULLTEXT_PROPERTIES[:3]]  # (no venue)
    # The embedded store indexes the same text folded (kg.embedded._fts_text).
    folded = [fold_for_search(t) for t in (title, abstract, ", ".join(authors))]
    assert [s.lower().split() for s in stored] == _fts5_words(folded)


# Recategorised after Unicode 6.1, the version of FTS5's unicode61 tables: New Tai Lue vowel signs and
# two Vedic signs, letters since, separate FTS5 words, and index_text (Python's tables) keeps them in
# one; two Mongolian letters, combining marks since, are the other way round.
_LETTERS_SINCE_FTS5 = {*range(0x19B0, 0x19C1), 0x19C8, 0x19C9, 0x1CF2, 0x1CF3}
_MARKS_SINCE_FTS5 = {0x1885, 0x1886}
# Encoded after Unicode 6.1 and not letters or digits to Python's tables (unicodedata.unidata_version
# 14.0.0): word characters to FTS5, whose tables know nothing of them, and separators to index_text.
# The Basic Multilingual Plane's, as ranges of code points (₺-⃀ the currency signs 20BA-20C0, ...).
_ENCODED_SINCE_FTS5 = (
    "058D-058E 0605 061C-061D 07FD-07FF 0888 0890-0891 0898-089F 08CA-08E3 08FF 09FD-09FE 0A76 0AFA-0AFF "
    "0B55 0C00 0C04 0C3C 0C77 0C81 0C84 0D00-0D01 0D3B-0D3C 0D4F 0D81 0EBA 1715 180F 1AB0-1ACE "
    "1B7D-1B7E 1CF7-1CF9 1DE7-1DFB 2066-2069 20BA-20C0 218A-218B 23F4-23FF 2700 2B4D-2B4F 2B5A-2B73 "
    "2B76-2B95 2B97-2BFF 2E3C-2E5D 32FF A69E A82C A8C5 A8FC A8FF A9E5 AA7C-AA7D AB5B AB6A-AB6B FBC2 "
    "FD40-FD4F FDCF FDFE-FDFF FE27-FE2F")


def _code_points(ranges: str) -> set[int]:
    """The code points of "058D-058E 0605 ..." (hex ranges and single code points)."""
    out: set[int] = set()
    for item in ranges.split():
        first, _, last = item.partition("-")
        out.update(range(int(first, 16), int(last or first, 16) + 1))
    return out


def test_index_text_cuts_words_where_fts5_does() -> None:
    """Every character of the Basic Multilingual Plane between two letters, folded as both stores fold
    it, makes two words of them in index_text exactly when it does in the embedded store's FTS5 tokenizer,
    but for an explicit list of differences of Unicode version: letters since FTS5's tables, which separate
    there, and characters encoded since or not at all, which FTS5 keeps inside a word. Review: the check
    went one way only, and index_text cut at the 6,400 private-use characters, which FTS5 keeps in a word."""
    from kg.validation import fold_for_search

    points = [cp for cp in range(0x10000) if not 0xD800 <= cp <= 0xDFFF]
    texts = [fold_for_search("q" + chr(cp) + "z") for cp in points]
    fts5 = {cp for cp, words in zip(points, _fts5_words(texts), strict=True) if len(words) == 2}
    assert len(fts5) > 5000 and {ord(c) for c in "_'’.:-/ \u00ad\u0305"} <= fts5
    mine = {cp for cp, text in zip(points, texts, strict=True) if len(cypher.index_text(text).split()) == 2}
    assert sorted(fts5 - mine) == sorted(_LETTERS_SINCE_FTS5)
    unassigned = {cp for cp in mine - fts5 if unicodedata.category(chr(cp)) == "Cn"}
    assert mine - fts5 >= _MARKS_SINCE_FTS5
    newer = mine - fts5 - unassigned - _MARKS_SINCE_FTS5
    assert len(unassigned) > 1000 and unicodedata.category("\ue000") == "Co"
    unlisted = sorted(newer - _code_points(_ENCODED_SINCE_FTS5))
    assert not unlisted, (f"Python's Unicode {unicodedata.unidata_version}: {len(unlisted)} characters FTS5 "
                          f"keeps in a word and index_text cuts at are not in the list: "
                          f"{[hex(cp) for cp in unlisted[:10]]}")
    assert newer == _code_points(_ENCODED_SINCE_FTS5)
    assert all(unicodedata.ucd_3_2_0.category(chr(cp)) == "Cn" for cp in newer)  # none is an old character
    # Private use, in the BMP and in planes 15 and 16, stays inside a word in both.
    private = ["q\ue000z", "q\uf8ffz", "q\U000f0000z", "q\U000ffffdz", "q\U00100000z", "q\U0010fffdz"]
    assert _fts5_words(private) == [[t] for t in private]
    assert [cypher.index_text(t) for t in private] == private
    # Characters FTS5 keeps inside a word stay: letters, digits, and the accents it removes are gone.
    assert cypher.index_text("Gödel\u0301 x2 ǅ Ⅻ") == "Gödel x2 ǅ Ⅻ"


class _OlderGraph:
    """Papers and runs as an older paperkg left them in Neo4j (no seq, no folded search text) next to
    numbered ones, with the sequence counters: what the upgrade statements read and write."""

    def __init__(self, papers: dict[str, dict[str, Any]], runs: dict[str, dict[str, Any]],
                 counters: dict[str, int], upgrade: dict[str, Any] | None = None) -> None:
        self.nodes = {Label.PAPER: papers, Label.INGEST_RUN: runs}
        self.counters = counters
        self.upgrade = upgrade  # the 'upgrade' Counter node's properties, if there is one


class _UpgradeTx(_RecordingTx):
    """A transaction over an _OlderGraph answering the upgrade statements as Neo4j would (the Cypher
    itself is checked by the linter and, on a live server, by the contract suite)."""

    def __init__(self, calls: list[tuple[str, dict[str, Any]]], graph: _OlderGraph) -> None:
        super().__init__(calls, {})
        self.graph = graph

    def run(self, query: str, parameters: dict[str, Any] | None = None) -> _Result:
        params = dict(parameters or {})
        papers, runs = self.graph.nodes[Label.PAPER], self.graph.nodes[Label.INGEST_RUN]
        counters = self.graph.counters
        if query == cypher.RAISE_COUNTERS:
            for name, nodes in self.graph.nodes.items():
                numbers = [n["seq"] for n in nodes.values() if n.get("seq") is not None]
                if nodes:  # (an aggregation grouped by name gives no row for no nodes)
                    counters[name] = max([counters.get(name, 0), *numbers])
        elif query in (cypher.UNNUMBERED_PAPERS, cypher.UNNUMBERED_RUNS):
            nodes, stamp = (papers, "first_seen") if query == cypher.UNNUMBERED_PAPERS else (runs, "started")
            ids = sorted((n[stamp], i) for i, n in nodes.items() if n.get("seq") is None)
            self.calls.append((query, params))
            return _Result([{"id": i} for _, i in ids[:params["batch"]]])
        elif query == cypher.RESERVE_SEQ:
            counters[params["name"]] = counters.get(params["name"], 0) + params["n"]
            self.calls.append((query, params))
            return _Result([{"last": counters[params["name"]]}])
        elif query in (cypher.NUMBER_PAPERS, cypher.NUMBER_RUNS):
            nodes = papers if query == cypher.NUMBER_PAPERS else runs
            for row in params["rows"]:
                if nodes[row["id"]].get("seq") is None:
                    nodes[row["id"]]["seq"] = row["seq"]
        elif query == cypher.UNFOLDED_PAPERS:
            self.calls.append((query, params))
            return _Result([{"id": i, "title": n.get("title"), "abstract": n.get("abstract"),
                             "authors": n.get("authors")}
                            for i, n in papers.items() if n.get("search_title") is None][:params["batch"]])
        elif query == cypher.SET_SEARCH_TEXT:  # written only while the paper holds the row's source text
            for row in params["rows"]:
                paper = papers[row["id"]]
                if ((paper.get("title") or "", paper.get("abstract") or "", paper.get("authors") or [])
                        == (row["title"], row["abstract"], row["authors"])):
                    paper.update({k: row[k] for k in cypher.FULLTEXT_PROPERTIES})
        elif query == cypher.UPGRADE_STATE:
            self.calls.append((query, params))
            upgrade = self.graph.upgrade
            return _Result([] if upgrade is None else [{"data_version": upgrade.get("data_version"),
                                                        "title_key_rule": upgrade.get("title_key_rule"),
                                                        "search_fold_rule": upgrade.get("search_fold_rule")}])
        elif query == cypher.RECORD_UPGRADE:
            self.graph.upgrade = {**(self.graph.upgrade or {}), **params}
        elif query == cypher.PAPER_TITLES_AFTER:
            self.calls.append((query, params))
            page = sorted(i for i in papers if i > params["after"])[:params["batch"]]
            return _Result([{"id": i, "title": papers[i].get("title"),
                             "title_key": papers[i].get("title_key")} for i in page])
        elif query == cypher.PAPER_SEARCH_TEXT_AFTER:
            self.calls.append((query, params))
            page = sorted(i for i in papers if i > params["after"])[:params["batch"]]
            keys = ("title", "abstract", "authors", *cypher.FULLTEXT_PROPERTIES)
            return _Result([{"id": i, **{k: papers[i].get(k) for k in keys}} for i in page])
        elif query == cypher.SET_TITLE_KEYS:  # written only while the paper has the row's title
            for row in params["rows"]:
                if papers[row["id"]].get("title") == row["title"]:
                    papers[row["id"]]["title_key"] = row["title_key"]
        elif query == cypher.FIND_BY_TITLE_KEYS:  # in insertion order
            self.calls.append((query, params))
            return _Result([{"key": key, "id": i} for key in params["keys"]
                            for i, n in sorted(papers.items(), key=lambda item: item[1].get("seq", 0))
                            if n.get("title_key") == key])
        else:
            return super().run(query, parameters)
        self.calls.append((query, params))
        return _Result([])


def _upgrading_store(
    monkeypatch: pytest.MonkeyPatch, graph: _OlderGraph, batch: int
) -> tuple[Neo4jStore, list[tuple[str, dict[str, Any]]]]:
    """A store over `graph` upgrading `batch` nodes per transaction, and the statements it sends."""
    import kg.neo4j_store as neo4j_store_module

    calls: list[tuple[str, dict[str, Any]]] = []
    store = Neo4jStore("bolt://127.0.0.1:1", "neo4j", "pw", "neo4j")
    monkeypatch.setattr(neo4j_store_module, "_UPGRADE_BATCH", batch)
    monkeypatch.setattr(store, "_execute", lambda write, work: work(_UpgradeTx(calls, graph)))
    monkeypatch.setattr(store, "_get_driver", lambda verify=False: None)
    return store, calls


def test_init_schema_numbers_papers_and_runs_an_older_paperkg_wrote(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a seq, a run sorts first in ORDER BY r.seq DESC (nulls come first) and the weekly
    watermark never advances: init_schema numbers such papers by (first_seen, id) and runs by
    (started, id), after every number already given (a counter behind the highest one is raised
    first), in batches, and a second init_schema changes nothing."""
    papers = {
        "p-c": {"first_seen": "2026-01-03T00:00:00"}, "p-b": {"first_seen": "2026-01-01T00:00:00"},
        "p-a": {"first_seen": "2026-01-01T00:00:00"}, "p-d": {"first_seen": "2026-01-02T00:00:00"},
        "p-new": {"first_seen": "2026-01-09T00:00:00", "seq": 7},
    }
    runs = {"r-2": {"started": "2026-02-02T00:00:00"}, "r-1": {"started": "2026-02-01T00:00:00"},
            "r-3": {"started": "2026-02-03T00:00:00"}, "r-new": {"started": "2026-02-09T00:00:00", "seq": 3}}
    graph = _OlderGraph(papers, runs, {Label.PAPER: 5})  # the paper counter is behind p-new's 7
    store, calls = _upgrading_store(monkeypatch, graph, batch=2)
    store.init_schema()
    numbering = (cypher.NUMBER_PAPERS, cypher.NUMBER_RUNS)
    numbered = [(q, row["id"], row["seq"]) for q, p in calls if q in numbering for row in p["rows"]]
    assert numbered == [
        (cypher.NUMBER_PAPERS, "p-a", 8), (cypher.NUMBER_PAPERS, "p-b", 9),
        (cypher.NUMBER_PAPERS, "p-d", 10), (cypher.NUMBER_PAPERS, "p-c", 11),
        (cypher.NUMBER_RUNS, "r-1", 4), (cypher.NUMBER_RUNS, "r-2", 5), (cypher.NUMBER_RUNS, "r-3", 6),
    ]
    assert all(len(p["rows"]) <= 2 for q, p in calls if q in numbering)
    assert graph.counters == {Label.PAPER: 11, Label.INGEST_RUN: 6}
    assert {i: n["seq"] for i, n in runs.items()} == {"r-1": 4, "r-2": 5, "r-3": 6, "r-new": 3}
    calls.clear()
    store.init_schema()
    assert not [q for q, _ in calls if q in (*numbering, cypher.RESERVE_SEQ)]
    assert graph.counters == {Label.PAPER: 11, Label.INGEST_RUN: 6}


def test_init_schema_fills_the_folded_search_text_of_papers_without_it(
    monkeypatch: pytest.MonkeyPatch, recorded: tuple[Neo4jStore, list[tuple[str, dict[str, Any]]]],
) -> None:
    """Only upserts write search_title/search_abstract/search_authors, so after `DROP INDEX paper_text`
    and `paperkg init` keyword search would miss every paper not rewritten since: init_schema folds
    the text of papers without it in Python, in batches, exactly as an upsert of the paper would."""
    from kg.neo4j_store import search_text_rule

    old = [Paper(id="o1", title="Naïve Übersetzung", abstract="Ångström", authors=["Zoë Lee", "李雷"]),
           Paper(id="o2", title="Việt circuits"), Paper(id="o3", title="Ἀλήθεια: Йошкар", abstract="ά")]
    papers: dict[str, dict[str, Any]] = {
        p.id: {"first_seen": "2026-01-01", "seq": n, "title": p.title, "abstract": p.abstract or None,
               "authors": p.authors or None} for n, p in enumerate(old, start=1)
    }
    papers["done"] = {"first_seen": "2026-01-02", "seq": 9, "title": "Café", "search_title": "Cafe"}
    # A graph upgraded before the data version of this step (the fold is current: see the re-fold test).
    graph = _OlderGraph(papers, {}, {Label.PAPER: 9}, upgrade={"search_fold_rule": search_text_rule()})
    store, calls = _upgrading_store(monkeypatch, graph, batch=2)
    store.init_schema()
    written = [p["rows"] for q, p in calls if q == cypher.SET_SEARCH_TEXT]
    assert [len(rows) for rows in written] == [2, 1]
    # Each row carries the text it was folded from (SET_SEARCH_TEXT writes it only while the paper holds it).
    fields = ("id", "title", "abstract", "authors")
    sources = [{k: row[k] for k in fields} for rows in written for row in rows]
    assert sources == [
        {"id": "o1", "title": "Naïve Übersetzung", "abstract": "Ångström", "authors": ["Zoë Lee", "李雷"]},
        {"id": "o2", "title": "Việt circuits", "abstract": "", "authors": []},
        {"id": "o3", "title": "Ἀλήθεια: Йошкар", "abstract": "ά", "authors": []}]
    by_id = {row["id"]: {k: row[k] for k in cypher.FULLTEXT_PROPERTIES} for rows in written for row in rows}
    assert by_id["o1"] == {"search_title": "Naive Ubersetzung", "search_abstract": "Angstrom",
                           "search_authors": "Zoe Lee 李雷", "search_venue": ""}
    assert by_id["o3"]["search_title"] == "Ἀλήθεια Йошкар"  # as FTS5 leaves them (not Latin)
    # The very text an upsert of each paper writes.
    writer, write_calls = recorded
    writer.upsert_papers([PaperBundle(paper=p) for p in old])
    upserted = next(p for q, p in write_calls if q == cypher.MERGE_PAPERS)["rows"]
    assert by_id == {r["id"]: {k: r["props"][k] for k in cypher.FULLTEXT_PROPERTIES} for r in upserted}
    assert papers["done"].get("search_abstract") is None  # a paper that has the text is left alone
    calls.clear()
    store.init_schema()
    assert not [q for q, _ in calls if q == cypher.SET_SEARCH_TEXT]


def test_init_schema_refolds_search_text_an_older_fold_wrote(monkeypatch: pytest.MonkeyPatch) -> None:
    """A graph an older paperkg wrote holds search text with "ø", "Ł", "Đ" kept (its fold), which a
    query folded now ("Sogaard") misses: init_schema re-folds every paper's text where it differs, in
    id-ordered batches, and records the fold last, so an upgrade that stopped half-way (a lost
    connection) runs again on the next init_schema and finishes; then there is nothing left to do."""
    from ingest.normalize import title_key_rule
    from kg.neo4j_store import _DATA_VERSION, _search_text, search_text_rule
    from kg.validation import fold_diacritics

    texts = {"a-sogaard": ("Probing", None, ["Anders Søgaard"]),
             "b-plain": ("Circuits", "Heads", ["Chris Olah"]),
             "c-kaiser": ("Attention", "Œuvre", ["Łukasz Kaiser"]),
             "d-dorr": ("Naïve", None, ["Bonnie Đorr"])}
    papers = {pid: {"first_seen": "2026-01-01", "seq": n, "title": t, "abstract": a, "authors": au,
                    "search_title": fold_diacritics(t), "search_abstract": fold_diacritics(a or ""),
                    "search_authors": fold_diacritics(", ".join(au))}
              for n, (pid, (t, a, au)) in enumerate(texts.items(), start=1)}
    older = {"data_version": _DATA_VERSION, "title_key_rule": title_key_rule()}  # no fold recorded
    graph = _OlderGraph(papers, {}, {Label.PAPER: 4}, upgrade=dict(older))
    store, calls = _upgrading_store(monkeypatch, graph, batch=2)

    class Lost(Exception):
        pass

    real_run = _UpgradeTx.run

    def lose_the_second_write(tx: _UpgradeTx, query: str,
                              parameters: dict[str, Any] | None = None) -> _Result:
        if query == cypher.SET_SEARCH_TEXT and any(q == cypher.SET_SEARCH_TEXT for q, _ in tx.calls):
            raise Lost("connection lost")
        return real_run(tx, query, parameters)

    monkeypatch.setattr(_UpgradeTx, "run", lose_the_second_write)
    with pytest.raises(Lost):
        store.init_schema()
    assert graph.upgrade == older  # not recorded: the next init_schema runs the step again
    assert papers["a-sogaard"]["search_authors"] == "Anders Sogaard"  # the first batch was written
    assert papers["c-kaiser"]["search_authors"] == "Łukasz Kaiser"
    monkeypatch.setattr(_UpgradeTx, "run", real_run)
    calls.clear()
    store.init_schema()
    assert [p["after"] for q, p in calls if q == cypher.PAPER_SEARCH_TEXT_AFTER] == ["", "b-plain", "d-dorr"]
    assert [r["id"] for q, p in calls if q == cypher.SET_SEARCH_TEXT for r in p["rows"]] == [
        "c-kaiser", "d-dorr"]  # only text that changes is written (a-sogaard's already was)
    for pid, (t, a, au) in texts.items():
        assert {k: papers[pid][k] for k in cypher.FULLTEXT_PROPERTIES} == _search_text(t, a, au)
    assert papers["c-kaiser"]["search_abstract"] == "OEuvre"
    assert papers["d-dorr"]["search_authors"] == "Bonnie Dorr"
    assert graph.upgrade == {**older, "search_fold_rule": search_text_rule()}
    assert not [q for q, _ in calls if q in (cypher.RAISE_COUNTERS, cypher.PAPER_TITLES_AFTER)]
    calls.clear()
    store.init_schema()
    assert [q for q, _ in calls if q in (cypher.PAPER_SEARCH_TEXT_AFTER, cypher.SET_SEARCH_TEXT)] == []


def test_init_schema_cuts_search_text_written_before_into_words_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A graph written before the search text was cut into FTS5's words holds "O'Neill" and "github.com"
    as the analyzer's single tokens, under a marker naming validation.search_fold_rule(), the fold it
    was written with. The Neo4j backend's fingerprint (search_text_rule) covers the word rule too, so
    the next init_schema re-folds that text once; papers already in words are not written again. (The
    embedded store keeps recording search_fold_rule(): its FTS5 index cuts the words itself.)"""
    from ingest.normalize import title_key_rule
    from kg.neo4j_store import _DATA_VERSION, _search_text, search_text_rule
    from kg.validation import fold_for_search, search_fold_rule

    texts = {"a-oneill": ("Circuits in GPT-3.5", "Code: github.com/x, i.e. public.", ["Conor O'Neill"]),
             "b-plain": ("Plain words", None, ["Chris Olah"]),
             "c-model": ("The model’s heads", "We didn't.", [])}
    papers = {pid: {"first_seen": "2026-01-01", "seq": n, "title": t, "abstract": a, "authors": au or None,
                    "search_title": fold_for_search(t), "search_abstract": fold_for_search(a or ""),
                    "search_authors": fold_for_search(", ".join(au)), "search_venue": ""}
              for n, (pid, (t, a, au)) in enumerate(texts.items(), start=1)}
    before = {"data_version": _DATA_VERSION, "title_key_rule": title_key_rule(),
              "search_fold_rule": search_fold_rule()}
    assert search_text_rule() != search_fold_rule()
    graph = _OlderGraph(papers, {}, {Label.PAPER: 3}, upgrade=dict(before))
    store, calls = _upgrading_store(monkeypatch, graph, batch=2)
    store.init_schema()
    assert [r["id"] for q, p in calls if q == cypher.SET_SEARCH_TEXT for r in p["rows"]] == [
        "a-oneill", "c-model"]
    assert (papers["a-oneill"]["search_abstract"], papers["a-oneill"]["search_authors"]) == (
        "Code github com x i e public", "Conor O Neill")
    assert papers["c-model"]["search_title"] == "The model s heads"
    for pid, (t, a, au) in texts.items():
        assert {k: papers[pid][k] for k in cypher.FULLTEXT_PROPERTIES} == _search_text(t, a, au)
    assert graph.upgrade == {**before, "search_fold_rule": search_text_rule()}
    calls.clear()
    store.init_schema()
    assert [q for q, _ in calls if q in (cypher.PAPER_SEARCH_TEXT_AFTER, cypher.SET_SEARCH_TEXT)] == []


def test_upgrade_writes_keep_what_an_upsert_wrote_after_the_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """init_schema's upgrade passes compute title keys and search text in Python from what they read,
    and an upsert may commit before they write, with its own (current) key and text, after which the
    marker would say the upgrade was done for good: each row carries the text it was computed from,
    and the statement writes it only while the paper still holds that text, in SET's right-hand side
    (where Neo4j takes the node's write lock before reading; a WHERE would read without one)."""
    from ingest.normalize import title_key
    from kg.neo4j_store import _search_text, search_text_rule

    assert cypher.SET_TITLE_KEYS.endswith(
        " SET p.title_key = CASE WHEN p.title = row.title THEN row.title_key ELSE p.title_key END")
    assignment = r"p\.(\w+) = CASE WHEN (.+?) THEN row\.\1 ELSE p\.\1 END"
    head, sets = cypher.SET_SEARCH_TEXT.split(" SET ")
    assert "WHERE" not in head
    assigned = re.findall(assignment, sets)
    assert [prop for prop, _ in assigned] == list(cypher.FULLTEXT_PROPERTIES)
    assert re.sub(assignment, "#", sets) == "#, #, #, #"  # nothing is set unconditionally
    for _, condition in assigned:
        for field in ("title", "abstract", "authors", "venue", "url"):
            assert re.search(rf"p\.{field}\b.*= row\.{field}\b", condition), condition

    titles = {"unfolded": "Toy models", "retitled": "Sparse Probing (Spotlight)",
              "rewritten": "Logit lens", "quiet": "Tuned lens (Oral)"}
    papers: dict[str, dict[str, Any]] = {
        pid: {"first_seen": "2026-01-01", "seq": n, "title": t, "abstract": "Old: text",
              "authors": ["A. O'B"], "title_key": "an older key", **_search_text(t, "older text", None)}
        for n, (pid, t) in enumerate(titles.items(), start=1)}
    papers["unfolded"].update(search_title=None, search_abstract=None, search_authors=None)
    # An older paperkg's graph: every step runs (numbering finds nothing: every paper has its seq).
    graph = _OlderGraph(papers, {}, {Label.PAPER: 4})
    store, calls = _upgrading_store(monkeypatch, graph, batch=2)
    # Which paper a concurrent upsert rewrites right after each pass has read it, and with what.
    racing = {cypher.UNFOLDED_PAPERS: "unfolded", cypher.PAPER_TITLES_AFTER: "retitled",
              cypher.PAPER_SEARCH_TEXT_AFTER: "rewritten"}
    upserted = {"unfolded": ("Toy models of superposition", "", []),
                "retitled": ("Sparse probing in the wild", "New: abstract", ["Neel Nanda"]),
                "rewritten": ("Logit lens", "The model’s new abstract", ["Nostalgebraist"])}
    read: dict[str, list[dict[str, Any]]] = {}

    def upsert_after_the_read(tx: _UpgradeTx, query: str,
                              parameters: dict[str, Any] | None = None) -> _Result:
        result = real_run(tx, query, parameters)
        for row in result.rows if query in racing else []:
            read.setdefault(row["id"], []).append(dict(row))
            if row["id"] == racing[query]:  # a concurrent upsert commits: its own key and text
                t, a, au = upserted[row["id"]]
                papers[row["id"]].update(title=t, abstract=a, authors=au or None, title_key=title_key(t),
                                         **_search_text(t, a, au))
        return result

    real_run = _UpgradeTx.run
    monkeypatch.setattr(_UpgradeTx, "run", upsert_after_the_read)
    store.init_schema()
    writes = (cypher.SET_TITLE_KEYS, cypher.SET_SEARCH_TEXT)
    sent = [(q, row) for q, p in calls if q in writes for row in p["rows"]]
    assert {(q, row["id"]) for q, row in sent} >= {
        (cypher.SET_SEARCH_TEXT, "unfolded"), (cypher.SET_TITLE_KEYS, "retitled"),
        (cypher.SET_SEARCH_TEXT, "rewritten")}
    for q, row in sent:  # each row carries the text as its pass read it
        fields = ("title",) if q == cypher.SET_TITLE_KEYS else ("title", "abstract", "authors")
        as_read = {"title": "", "abstract": "", "authors": []}
        assert any({k: row[k] for k in fields} == {k: r[k] or as_read[k] for k in fields}
                   for r in read[row["id"]] if set(fields) <= set(r)), (q, row)
    for pid, (t, a, au) in upserted.items():  # the upsert's values stay
        assert papers[pid]["title_key"] == title_key(t), pid
        assert {k: papers[pid][k] for k in cypher.FULLTEXT_PROPERTIES} == _search_text(t, a, au), pid
    assert papers["quiet"]["title_key"] == title_key(titles["quiet"])  # the others are upgraded
    assert {k: papers["quiet"][k] for k in cypher.FULLTEXT_PROPERTIES} == _search_text(
        titles["quiet"], "Old: text", ["A. O'B"])
    assert graph.upgrade is not None and graph.upgrade["search_fold_rule"] == search_text_rule()


# The upgrade steps, each a label scan or more on a large graph.
_UPGRADE_STEPS = (cypher.RAISE_COUNTERS, cypher.UNNUMBERED_PAPERS, cypher.UNNUMBERED_RUNS,
                  cypher.UNFOLDED_PAPERS, cypher.PAPER_TITLES_AFTER, cypher.RESERVE_SEQ,
                  cypher.PAPER_SEARCH_TEXT_AFTER)


def test_init_schema_skips_the_upgrade_scans_once_the_graph_is_upgraded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """init_schema runs before every ingest and scheduled run: on a graph it has upgraded (the 'upgrade'
    Counter node names this version's steps, title-key rule and search fold) it reads that node and
    scans nothing."""
    from ingest.normalize import title_key_rule
    from kg.neo4j_store import _DATA_VERSION, search_text_rule

    papers = {"p-a": {"first_seen": "2026-01-01T00:00:00", "title": "Naïve", "title_key": "naive"}}
    graph = _OlderGraph(papers, {"r-1": {"started": "2026-02-01T00:00:00"}}, {})
    store, calls = _upgrading_store(monkeypatch, graph, batch=2)
    store.init_schema()  # an older paperkg's graph: every step runs, then the marker is recorded
    assert {q for q, _ in calls} >= set(_UPGRADE_STEPS)
    current = {"data_version": _DATA_VERSION, "title_key_rule": title_key_rule(),
               "search_fold_rule": search_text_rule()}
    assert graph.upgrade == current
    for _ in range(2):
        calls.clear()
        store.init_schema()
        assert [q for q, _ in calls if q in _UPGRADE_STEPS] == []
        assert [q for q, _ in calls if q == cypher.UPGRADE_STATE] == [cypher.UPGRADE_STATE]
    # A marker of other upgrade steps (an older or newer paperkg) runs them again.
    graph.upgrade = {**current, "data_version": _DATA_VERSION - 1}
    calls.clear()
    store.init_schema()
    assert cypher.RAISE_COUNTERS in {q for q, _ in calls}
    assert cypher.PAPER_TITLES_AFTER not in {q for q, _ in calls}  # the keys were current
    assert cypher.PAPER_SEARCH_TEXT_AFTER not in {q for q, _ in calls}  # and so was the fold


def test_init_schema_recomputes_title_keys_of_an_older_title_key_rule(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    """Title keys an older rule gave ("... icml 24 oral") missed the same title ingested again, which
    then became a second paper: when the recorded rule is another, init_schema recomputes every key
    from the stored title, in id-ordered batches, and names papers whose new keys coincide (all kept),
    without running the other (current) upgrade steps."""
    from ingest.normalize import title_key, title_key_rule
    from kg.neo4j_store import _DATA_VERSION, search_text_rule

    titles, older = TITLES, OLDER_KEYS
    papers = {pid: {"first_seen": "2026-01-01", "seq": n, "title": t, "title_key": older[pid],
                    "search_title": t} for n, (pid, t) in enumerate(titles.items(), start=1)}
    graph = _OlderGraph(papers, {}, {Label.PAPER: 5},
                        upgrade={"data_version": _DATA_VERSION, "title_key_rule": "an-older-rule",
                                 "search_fold_rule": search_text_rule()})
    store, calls = _upgrading_store(monkeypatch, graph, batch=2)
    with caplog.at_level(logging.WARNING, logger="kg.neo4j_store"):
        store.init_schema()
    assert {i: n["title_key"] for i, n in papers.items()} == {i: title_key(t) for i, t in titles.items()}
    pages = [p["after"] for q, p in calls if q == cypher.PAPER_TITLES_AFTER]
    # By id, two per transaction: each page starts after the last id of the one before.
    ids = sorted(titles)
    assert pages == ["", *ids[1::2]]
    # Only keys that change are written.
    assert [r["id"] for q, p in calls if q == cypher.SET_TITLE_KEYS for r in p["rows"]] == [
        i for i in ids if title_key(titles[i]) != older[i]]
    assert graph.upgrade == {"data_version": _DATA_VERSION, "title_key_rule": title_key_rule(),
                             "search_fold_rule": search_text_rule()}
    assert not [q for q, _ in calls
                if q in (cypher.RAISE_COUNTERS, cypher.UNFOLDED_PAPERS, cypher.PAPER_SEARCH_TEXT_AFTER)]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "'sparse probing': probes, probes-2" in warnings[0], warnings
    calls.clear()
    store.init_schema()
    assert not [q for q, _ in calls if q in (cypher.PAPER_TITLES_AFTER, cypher.SET_TITLE_KEYS)]


def test_an_undecodable_cached_embedding_is_left_out_alone(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    """One bad vector property made the whole batch raise, so every text in it was embedded again: bad
    nodes are left out (as not cached) with one WARNING, the embedded store's, and the rest returned."""
    good = np.arange(EMBEDDING_DIM, dtype=np.float32) / EMBEDDING_DIM

    class CacheTx(_RecordingTx):
        def run(self, query: str, parameters: dict[str, Any] | None = None) -> _Result:
            if query != cypher.CACHED_EMBEDDINGS:
                return super().run(query, parameters)
            return _Result([{"hash": "h0", "vector": good.tolist()}, {"hash": "h1", "vector": "not a vector"},
                            {"hash": "h2", "vector": None}, {"hash": "h3", "vector": ["a", "b"]},
                            {"hash": "h4", "vector": [int(x) for x in range(EMBEDDING_DIM)]}])

    store = Neo4jStore("bolt://127.0.0.1:1", "neo4j", "pw", "neo4j")
    monkeypatch.setattr(store, "_execute", lambda write, work: work(CacheTx([], {})))
    with caplog.at_level(logging.WARNING, logger="kg.neo4j_store"):
        found = store.cached_embeddings("model-a", ["h0", "h1", "h2", "h3", "h4"])
    assert sorted(found) == ["h0", "h4"]
    np.testing.assert_array_equal(found["h0"], good)
    assert found["h4"].dtype == np.float32 and found["h4"][5] == 5.0
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == ["3 cached embedding(s) of 'model-a' could not be decoded, left out (their texts are "
                        "embedded again): h1, h2, h3"]


def test_a_retried_start_run_finds_the_committed_run() -> None:
    """The driver may replay a committed transaction whose answer was lost: START_RUN merges on the
    id and sets everything only on creation, so the replay neither fails on the id constraint nor
    changes the run."""
    statement = cypher.START_RUN
    assert statement.startswith(f"MERGE (r:{Label.INGEST_RUN} {{id: $id}}) ON CREATE SET ")
    assert "CREATE (" not in statement and " SET " not in statement.split("ON CREATE SET", 1)[1]


def _related_rows(bundles: list[PaperBundle], paper_id: str) -> list[dict[str, Any]]:
    """What RELATED_ROWS returns for `paper_id` on a graph holding `bundles` (as kg/cypher.py says:
    one row per node the paper shares through, with every paper touching it)."""
    from kg.validation import paper_authors

    def touched(b: PaperBundle) -> set[tuple[str, str, str, str]]:
        out = {("technique", t.technique_id, t.technique_id, Label.TECHNIQUE) for t in b.techniques}
        out |= {("about", a.id, a.id, a.label) for f in b.findings for a in f.about}
        out |= {("about", m, m, Label.MODEL) for m in b.models}
        names = {key: name for b2 in bundles for _, key, name in paper_authors(b2.paper)}
        out |= {("author", key, names[key], Label.AUTHOR) for _, key, _ in paper_authors(b.paper)}
        return out

    mine = next(b for b in bundles if b.paper.id == paper_id)
    return [{"kind": kind, "key": key, "shared": shared, "label": label,
             "papers": [b.paper.id for b in bundles if (kind, key, shared, label) in touched(b)]}
            for kind, key, shared, label in sorted(touched(mine))]


def _related_paper(pid: str, techniques: tuple[str, ...], authors: tuple[str, ...] = (),
                   models: tuple[str, ...] = (), about: tuple[FindingAbout, ...] = ()) -> PaperBundle:
    """A bundle for the related-candidates corpora."""
    findings = [Finding(f"{pid}#1", "A claim.", about=list(about))]
    return PaperBundle(paper=Paper(id=pid, title=f"Paper {pid}", authors=list(authors)),
                       techniques=[TechniqueUse(t, "list") for t in techniques], models=list(models),
                       findings=findings if about else [])


# x shares the rare causal scrubbing, y and f0..f4 the two common techniques. Counting only the other
# papers in the document frequency (df 1 and 6 of N = 8) would put x first; the embedded store counts
# every paper touching a node (2 and 7): y and f0..f4 (tied, by id) come before x.
_SCRUBBING = [
    _related_paper("p", ("causal_scrubbing", "probing", "sae")),
    _related_paper("x", ("causal_scrubbing",)),
    _related_paper("y", ("probing", "sae")),
    *[_related_paper(f"f{i}", ("probing", "sae")) for i in range(5)],
]
# Every kind of shared node: techniques, a model studied by one paper and found ABOUT by another, a
# topic, an author written two ways.
_EVERY_KIND = [
    _related_paper("p", ("causal_scrubbing", "probing", "sae"), authors=("Ann Lee",), models=("gpt2",),
                   about=(FindingAbout(Label.TOPIC, "superposition"),)),
    *_SCRUBBING[1:],
    _related_paper("m", ("visualization",), about=(FindingAbout(Label.TOPIC, "superposition"),
                                                   FindingAbout(Label.MODEL, "gpt2"))),
    _related_paper("s", ("visualization",), models=("gpt2",)),
    _related_paper("a", (), authors=("Ann  Lee",)),
]


@pytest.mark.parametrize("bundles", [_SCRUBBING, _EVERY_KIND], ids=["scrubbing", "every-kind"])
def test_related_candidates_rank_as_the_embedded_store_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, taxonomy: Any, bundles: list[PaperBundle],
) -> None:
    """The document frequency counts every paper touching a node (the paper itself included) and the
    weights are summed in the embedded store's order: both backends rank alike, shared lists too."""
    from kg.embedded import EmbeddedStore

    embedded = EmbeddedStore(tmp_path / "kg.sqlite3")
    embedded.load_taxonomy(taxonomy.nodes)
    embedded.upsert_papers(bundles)
    expected = embedded.related_candidates("p")
    embedded.close()
    if bundles is _SCRUBBING:
        assert [c.id for c in expected] == ["f0", "f1", "f2", "f3", "f4", "y", "x"]
    else:
        by_id = {c.id: c for c in expected}
        assert by_id["m"].shared_topics == ["superposition"] and by_id["m"].shared_models == ["gpt2"]
        assert by_id["s"].shared_models == ["gpt2"] and by_id["a"].shared_authors == ["Ann Lee"]

    class Tx:
        def run(self, query: str, parameters: dict[str, Any] | None = None) -> _Result:
            if query == cypher.PAPER_COUNT:
                return _Result([{"n": len(bundles)}])
            assert query == cypher.RELATED_ROWS and parameters == {"id": "p"}
            return _Result(_related_rows(bundles, "p"))

    store = Neo4jStore("bolt://127.0.0.1:1", "neo4j", "pw", "neo4j")
    monkeypatch.setattr(store, "_execute", lambda write, work: work(Tx()))
    got = store.related_candidates("p")
    assert [dataclasses.asdict(c) for c in got] == [dataclasses.asdict(c) for c in expected]
    assert [c.id for c in store.related_candidates("p", limit=3)] == [c.id for c in expected[:3]]


def _answering(monkeypatch: pytest.MonkeyPatch, store: Neo4jStore,
               rows: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any], bool]]:
    """Route the store's transactions to one that answers every statement with `rows`; the list it
    returns fills with what was sent: (statement, parameters, whether in a write transaction)."""
    sent: list[tuple[str, dict[str, Any], bool]] = []

    class Tx:
        def __init__(self, write: bool) -> None:
            self.write = write

        def run(self, query: str, parameters: dict[str, Any] | None = None) -> _Result:
            sent.append((query, dict(parameters or {}), self.write))
            return _Result(rows)

    monkeypatch.setattr(store, "_execute", lambda write, work: work(Tx(write)))
    return sent


def test_list_rows_from_reads_as_the_embedded_store_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, taxonomy: Any,
) -> None:
    """The server's rows (a section path stored as no property when empty, lines as Neo4j integers)
    come back in the embedded store's shape, asked for with the source as a parameter, read-only."""
    from kg.embedded import EmbeddedStore

    rows = (ListRow("tools", "Tools", ["Tools"], line=9), ListRow("findings/features", "Features",
                                                                 ["Findings", "Features"], line=None))
    paper = PaperBundle(paper=Paper(id="p1", title="A paper", sources=["list"]), list_rows=list(rows))
    embedded = EmbeddedStore(tmp_path / "kg.sqlite3")
    embedded.load_taxonomy(taxonomy.nodes)
    embedded.upsert_papers([paper])
    expected = embedded.list_rows_from("list")
    embedded.close()
    answered = [{"paper_id": r["paper_id"], "title": r["title"], "section_id": r["section_id"],
                 "section_path": r["section_path"] or None, "line": r["line"]} for r in expected]
    answered[0]["section_path"] = None  # as if written with an empty path (stored as no property)
    store = Neo4jStore("bolt://127.0.0.1:1", "neo4j", "pw", "neo4j")
    sent = _answering(monkeypatch, store, answered)
    got = store.list_rows_from("list")
    assert sent == [(cypher.LIST_ROWS_FROM, {"source": "list"}, False)]
    assert got == [{**expected[0], "section_path": []}, expected[1]]
    assert [r["line"] for r in got] == [9, None]


def test_tag_evidence_reads_as_the_embedded_store_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, taxonomy: Any,
) -> None:
    """One read-only round trip for all the papers, with the ids, nodes and the extracted source as
    parameters; the server's rows (a paper per row, its USES then its EVALUATES evidence) come back in
    the embedded store's shape. Nothing is sent when there is nothing to ask."""
    from kg.embedded import EmbeddedStore

    bundles = [
        PaperBundle(paper=Paper(id="p1", title="A paper"),
                    techniques=[TechniqueUse("probing", "extracted", evidence="We  probe.", score=0.5),
                                TechniqueUse("logit_lens", "extracted", evidence="We read the lens.")],
                    evaluations=[EvaluationUse("faithfulness", "extracted", evidence="It is faithful."),
                                 EvaluationUse("completeness", "list", evidence="Complete, says the list.")]),
        PaperBundle(paper=Paper(id="p2", title="Another paper"),
                    techniques=[TechniqueUse("probing", "extracted", evidence="Probes again.")]),
    ]
    embedded = EmbeddedStore(tmp_path / "kg.sqlite3")
    embedded.load_taxonomy(taxonomy.nodes)
    embedded.upsert_papers(bundles)
    nodes = ["probing", "faithfulness", "completeness"]
    expected = embedded.tag_evidence(["p1", "p2", "p3"], nodes)
    embedded.close()
    assert expected == {"p1": {"probing": "We  probe.", "faithfulness": "It is faithful."},
                        "p2": {"probing": "Probes again."}}
    # What TAG_EVIDENCE answers for these papers (p3 does not exist: no row).
    answered = [
        {"paper_id": "p1", "uses": [{"node_id": "probing", "evidence": "We  probe."}],
         "evaluates": [{"node_id": "faithfulness", "evidence": "It is faithful."}]},
        {"paper_id": "p2", "uses": [{"node_id": "probing", "evidence": "Probes again."}], "evaluates": []},
    ]
    store = Neo4jStore("bolt://127.0.0.1:1", "neo4j", "pw", "neo4j")
    sent = _answering(monkeypatch, store, answered)
    assert store.tag_evidence(["p1", "p2", "p1", "p3"], nodes) == expected
    assert sent == [(cypher.TAG_EVIDENCE, {"ids": ["p1", "p2", "p3"], "nodes": nodes, "source": "extracted"},
                     False)]
    sent.clear()
    assert store.tag_evidence([], nodes) == {} and store.tag_evidence(["p1"], []) == {}
    assert sent == []


class _KeyedTx(_RecordingTx):
    """A _RecordingTx that keeps the stored papers' keys and the issued citation keys (CitationKey
    nodes: key -> [paper id, held]) as the key statements would, so upserts in a row see what the earlier
    ones issued, moved and marked held, and deletes remove papers (their keys stay)."""

    def __init__(self, calls: list[tuple[str, dict[str, Any]]], hashes: dict[str, str],
                 issued: dict[str, list[Any]], held: dict[str, tuple[str, bool]]) -> None:
        super().__init__(calls, hashes)
        self.issued, self.held = issued, held

    def run(self, query: str, parameters: dict[str, Any] | None = None) -> _Result:
        params = dict(parameters or {})
        if query == cypher.CITATION_KEYS_HELD:
            self.calls.append((query, params))
            return _Result([{"id": i, "citation_key": self.held[i][0], "pinned": self.held[i][1]}
                            for i in params["ids"] if i in self.held])
        if query == cypher.CITATION_KEYS_FORMER:  # the held key, else the first in key order
            self.calls.append((query, params))
            rows = []
            for i in params["ids"]:
                mine = sorted((not held, k) for k, (pid, held) in self.issued.items() if pid == i)
                rows += [{"id": i, "key": mine[0][1]}] if mine else []
            return _Result(rows)
        if query == cypher.CITATION_KEYS_TAKEN:
            self.calls.append((query, params))
            return _Result([{"key": k} for k in self.issued if any(k.startswith(b) for b in params["bases"])])
        if query == cypher.RECORD_CITATION_KEYS:
            assert not set(self.issued) & {r["key"] for r in params["rows"]}  # the key constraint
            self.issued.update((r["key"], [r["paper_id"], True]) for r in params["rows"])
        if query == cypher.MOVE_CITATION_KEYS:  # only a stored paper's keys move
            for row in params["rows"]:
                for entry in self.issued.values():
                    if row["old_id"] in self.held and entry[0] == row["old_id"]:
                        entry[:] = [row["paper_id"], False]
        if query == cypher.MARK_HELD_CITATION_KEYS:
            for row in params["rows"]:
                for k, entry in self.issued.items():
                    if entry[0] == row["paper_id"]:
                        entry[1] = k == row["key"]
        if query == cypher.MERGE_PAPERS:
            self.held.update((r["id"], (r["props"]["citation_key"], r["props"]["citation_key_pinned"]))
                             for r in params["rows"])
        if query == cypher.SET_PAPER_CITATION_KEYS:
            self.held.update((r["paper_id"], (r["key"], r["pinned"])) for r in params["rows"])
        if query in (cypher.DELETE_PAPERS, cypher.DELETE_PAPER):
            for i in params.get("ids", [params.get("id")]):
                self.held.pop(i, None)
                self.hashes.pop(i, None)
        return super().run(query, params)


def _keyed_store(monkeypatch: pytest.MonkeyPatch, issued: dict[str, list[Any]],
                 held: dict[str, tuple[str, bool]]) -> tuple[Neo4jStore, list[tuple[str, dict[str, Any]]]]:
    """A Neo4jStore whose transactions run on _KeyedTx over `issued` and `held`."""
    calls: list[tuple[str, dict[str, Any]]] = []
    hashes: dict[str, str] = {}
    store = Neo4jStore("bolt://127.0.0.1:1", "neo4j", "pw", "neo4j")
    monkeypatch.setattr(store, "_execute", lambda write, work: work(_KeyedTx(calls, hashes, issued, held)))
    monkeypatch.setattr(store, "_get_driver", lambda verify=False: None)
    return store, calls


def _key_paper(pid: str, title: str, *authors: str, replaces: tuple[str, ...] = ()) -> PaperBundle:
    b = PaperBundle(Paper(id=pid, title=title, authors=list(authors), year=2023))
    b.replaces = list(replaces)
    return b


def test_upserts_write_the_citation_keys_the_store_issues(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each written paper's properties carry its key (kept, or issued past every key taken, in batch
    order) and whether it is pinned; issued keys are recorded as taken, and a replaced paper's move on."""
    issued: dict[str, list[Any]] = {"nanda2023progress": ["gone-paper", True]}  # its paper deleted since
    held: dict[str, tuple[str, bool]] = {}
    store, calls = _keyed_store(monkeypatch, issued, held)
    paper = _key_paper
    store.upsert_papers([paper("n1", "Progress one", "Neel Nanda"), paper("page", "Progress page")])
    store.upsert_papers([paper("n1", "Another title", "Chris Olah", "Neel Nanda"),
                         paper("n2", "Progress two", "Neel Nanda")])
    written = [r["props"] for q, p in calls if q == cypher.MERGE_PAPERS for r in p["rows"]]
    assert [(w["citation_key"], w["citation_key_pinned"]) for w in written] == [
        ("nanda2023progressa", True), ("2023progress", False),
        ("nanda2023progressa", True), ("nanda2023progressb", True)]
    assert issued == {"nanda2023progress": ["gone-paper", True], "nanda2023progressa": ["n1", True],
                      "2023progress": ["page", True], "nanda2023progressb": ["n2", True]}
    store.upsert_papers([paper("n3", "Progress three", "Neel Nanda", replaces=("n2",))])
    assert held["n3"] == ("nanda2023progressb", True)
    assert [p["rows"] for q, p in calls if q == cypher.MOVE_CITATION_KEYS] == [
        [{"old_id": "n2", "paper_id": "n3"}]]
    assert issued["nanda2023progressb"] == ["n3", True]


def test_a_paper_stored_again_gets_the_key_it_held_last(monkeypatch: pytest.MonkeyPatch) -> None:
    """A list-only page keyed provisionally, then by its authors, deleted and stored again: the key it
    held last (its authors'), not its first (the provisional one, which stays taken)."""
    issued: dict[str, list[Any]] = {}
    held: dict[str, tuple[str, bool]] = {}
    store, _ = _keyed_store(monkeypatch, issued, held)
    store.upsert_papers([_key_paper("toy", "Toy models")])
    store.upsert_papers([_key_paper("toy", "Toy models", "Nelson Elhage")])
    assert held["toy"] == ("elhage2023toy", True)
    assert issued == {"2023toy": ["toy", False], "elhage2023toy": ["toy", True]}
    store.delete_paper("toy")
    store.upsert_papers([_key_paper("toy", "Toy models", "Nelson Elhage")])
    assert held["toy"] == ("elhage2023toy", True)


def test_a_survivor_takes_the_pinned_key_of_a_paper_it_replaces(monkeypatch: pytest.MonkeyPatch) -> None:
    """A provisionally keyed page replacing an authored paper takes its pinned key (written changed, or
    unchanged); its own provisional key stays taken, held by no paper."""
    issued: dict[str, list[Any]] = {}
    held: dict[str, tuple[str, bool]] = {}
    store, _ = _keyed_store(monkeypatch, issued, held)
    store.upsert_papers([_key_paper("page", "Toy models"), _key_paper("x1", "Toy models", "Nelson Elhage"),
                         _key_paper("page2", "Toy twins"), _key_paper("x2", "Toy twins", "Ann Qa")])
    store.upsert_papers([_key_paper("page", "Toy models", "Nelson Elhage", replaces=("x1",))])
    assert held == {"page": ("elhage2023toy", True), "page2": ("2023toya", False),
                    "x2": ("qa2023toy", True)}
    assert issued["2023toy"] == ["page", False] and issued["elhage2023toy"] == ["page", True]
    store.upsert_papers([_key_paper("page2", "Toy twins", replaces=("x2",))])  # unchanged itself
    assert held == {"page": ("elhage2023toy", True), "page2": ("qa2023toy", True)}
    assert issued["qa2023toy"] == ["page2", True] and issued["2023toya"] == ["page2", False]


def test_a_replaced_id_removed_earlier_keeps_its_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keys are planned before the replaced papers' move: a successor naming an id no paper has any more
    neither takes nor moves its key, which that id gets back when it is stored again (as embedded)."""
    issued: dict[str, list[Any]] = {}
    held: dict[str, tuple[str, bool]] = {}
    store, calls = _keyed_store(monkeypatch, issued, held)
    store.upsert_papers([_key_paper("slug", "Toy models", "Nelson Elhage")])
    store.delete_paper("slug")
    store.upsert_papers([_key_paper("2209.10652", "Toy models", "Nelson Elhage", replaces=("slug",))])
    assert held["2209.10652"] == ("elhage2023toya", True)
    assert issued["elhage2023toy"] == ["slug", True]
    store.upsert_papers([_key_paper("slug", "Toy models again", "Someone Else")])
    assert held["slug"] == ("elhage2023toy", True)
    planned = [i for i, (q, _) in enumerate(calls) if q == cypher.CITATION_KEYS_HELD]
    moved = [i for i, (q, _) in enumerate(calls) if q == cypher.MOVE_CITATION_KEYS]
    assert moved and all(i < moved[0] for i in planned[:2])


def test_key_upgrade_reads_the_unkeyed_ids_once_and_keys_them_by_id(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """init_schema's key step scans the papers once (the unkeyed ids, oldest first), then looks each
    batch up by id, in that order; a paper keyed meanwhile is skipped (the by-id query leaves it out)."""
    import kg.neo4j_store as neo4j_store

    calls: list[tuple[str, dict[str, Any]]] = []
    ids = ["e", "a", "d", "b", "c"]

    class Tx(_RecordingTx):
        def run(self, query: str, parameters: dict[str, Any] | None = None) -> _Result:
            params = dict(parameters or {})
            if query == cypher.UNKEYED_PAPER_IDS:
                self.calls.append((query, params))
                return _Result([{"id": i} for i in ids])
            if query == cypher.UNKEYED_PAPERS_BY_ID:
                self.calls.append((query, params))
                return _Result([{"paper": {"id": i, "title": "Progress", "authors": ["Neel Nanda"],
                                           "year": 2023}} for i in params["ids"] if i != "d"])
            return super().run(query, params)

    store = Neo4jStore("bolt://127.0.0.1:1", "neo4j", "pw", "neo4j")
    monkeypatch.setattr(store, "_execute", lambda write, work: work(Tx(calls, {})))
    monkeypatch.setattr(neo4j_store, "_UPGRADE_BATCH", 2)
    store._issue_missing_citation_keys()
    assert [q for q, _ in calls].count(cypher.UNKEYED_PAPER_IDS) == 1
    assert [p["ids"] for q, p in calls if q == cypher.UNKEYED_PAPERS_BY_ID] == [["e", "a"], ["d", "b"], ["c"]]
    assert [[(r["paper_id"], r["pinned"]) for r in p["rows"]] for q, p in calls
            if q == cypher.SET_CITATION_KEYS] == [[("e", True), ("a", True)], [("b", True)], [("c", True)]]
