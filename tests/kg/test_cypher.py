"""Every statement in kg/cypher.py passes Neo4j's own Cypher linter (the linter is our compiler)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from kg import cypher, schema
from kg.schema import NODES, RELATIONSHIPS, Label, Rel

REPO = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("cypher_lint.mjs")
PARAMETER = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
UNDECLARED_PARAMETER = re.compile(r"^Parameter \$\S+ is not defined\.$")


def statements() -> dict[str, str]:
    """Every public UPPER_CASE str constant of kg.cypher (each one is a statement)."""
    return {
        name: value for name, value in vars(cypher).items()
        if re.fullmatch(r"[A-Z][A-Z0-9_]*", name) and isinstance(value, str)
    }


def _public_values(cls: type) -> list[str]:
    return [v for k, v in vars(cls).items() if not k.startswith("_") and isinstance(v, str)]


def lint_schema(queries: dict[str, str]) -> dict[str, Any]:
    """Our labels, relationship types, property keys and the statements' parameter names."""
    props: set[str] = set(cypher.EXTRA_PROPERTY_KEYS) | set(cypher.ROW_KEYS)
    for node in NODES.values():
        props.update(node.properties)
    for rel in RELATIONSHIPS.values():
        props.update(rel.properties)
    params = {p for q in queries.values() for p in PARAMETER.findall(q)}
    return {
        "labels": [*_public_values(Label), *_public_values(cypher.ExtraLabel)],
        "relationshipTypes": _public_values(Rel),
        "propertyKeys": sorted(props),
        "parameters": {p: "" for p in sorted(params)},
    }


def run_linter(queries: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """Lint statements in one node process; {name: diagnostics}."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed (.ci/run installs nodejs and npm)")
    if not (REPO / "node_modules" / "@neo4j-cypher" / "language-support").is_dir():
        pytest.fail("node_modules/@neo4j-cypher/language-support missing: run `make node`")
    payload = {
        "statements": [{"name": n, "query": q} for n, q in queries.items()],
        "schema": lint_schema(queries),
    }
    proc = subprocess.run(
        [node, str(SCRIPT)], input=json.dumps(payload), capture_output=True, text=True,
        cwd=REPO, timeout=120, check=False,
    )
    assert proc.returncode == 0, f"cypher_lint.mjs failed:\n{proc.stderr}"
    return {item["name"]: item["diagnostics"] for item in json.loads(proc.stdout)}


def test_module_has_statements_for_the_schema() -> None:
    """The collection finds the statements, and every keyed label has a uniqueness constraint."""
    found = statements()
    assert len(found) > 40
    constraints = [q for q in found.values() if q.startswith("CREATE CONSTRAINT")]
    for label, spec in NODES.items():
        assert any(f"(n:{label})" in q and f"n.{spec.key} IS UNIQUE" in q for q in constraints), label
    assert all(q in found.values() for q in cypher.SCHEMA_STATEMENTS)
    assert "`vector.dimensions`: 384" in cypher.CREATE_VECTOR_INDEX
    assert schema.EMBEDDING_DIM == 384


# Deliberately broken statements, linted in the same node run as ours (the check can fail).
BROKEN = {
    "BROKEN_MISSPELLED_PROCEDURE": (
        "CALL db.index.vector.queryNode('paper_embedding', $k, $vector) YIELD node, score "
        "RETURN node.id AS id, score"
    ),
    "BROKEN_WRONG_ARGUMENT_COUNT": (
        "CALL db.index.vector.queryNodes('paper_embedding', $k) YIELD node, score "
        "RETURN node.id AS id, score"
    ),
    "BROKEN_UNKNOWN_LABEL": "MATCH (p:Papr {id: $id}) RETURN p.title AS title",
    "BROKEN_UNKNOWN_PROPERTY": f"MATCH (p:{Label.PAPER} {{id: $id}}) RETURN p.titel AS title",
    "BROKEN_SYNTAX": "UNWIND $rows AS row MERGE (p:Paper {id: row.id) SET p += row.props",
    "BROKEN_UNDEFINED_VARIABLE": f"MATCH (p:{Label.PAPER}) WITH p.id AS id RETURN p.title AS title",
    "BROKEN_DEPRECATED_SUBQUERY": (
        f"UNWIND $rows AS row CALL {{ WITH row MATCH (p:{Label.PAPER}) RETURN p }} RETURN p.id AS id"
    ),
}


@pytest.fixture(scope="module")
def lint_results() -> dict[str, list[dict[str, Any]]]:
    """One node run over every kg.cypher statement plus the broken ones."""
    ours = statements()
    assert not set(ours) & set(BROKEN)
    return run_linter({**ours, **BROKEN})


def test_every_statement_passes_the_neo4j_linter(lint_results: dict[str, list[dict[str, Any]]]) -> None:
    """Any diagnostic (error or warning) fails, except undeclared-parameter ones."""
    queries = statements()
    assert set(queries) <= set(lint_results)
    problems = {
        name: [d for d in lint_results[name] if not UNDECLARED_PARAMETER.match(d["message"])]
        for name in queries
    }
    problems = {name: diags for name, diags in problems.items() if diags}
    report = "\n".join(
        f"{name}: {d['severity']}: {d['message']}\n    {queries[name]}"
        for name, diags in problems.items() for d in diags
    )
    assert not problems, f"Cypher linter diagnostics:\n{report}"


def test_linter_reports_broken_statements(lint_results: dict[str, list[dict[str, Any]]]) -> None:
    """A misspelled procedure, a wrong argument count, a bad label/property, bad syntax are caught."""
    for name in BROKEN:
        assert lint_results[name], f"{name} was not reported by the linter"
    assert "queryNode " in lint_results["BROKEN_MISSPELLED_PROCEDURE"][0]["message"]
    assert "number of arguments" in lint_results["BROKEN_WRONG_ARGUMENT_COUNT"][0]["message"]
    assert any(d["severity"] == "error" for d in lint_results["BROKEN_SYNTAX"])
    assert "Variable `p` not defined" in lint_results["BROKEN_UNDEFINED_VARIABLE"][0]["message"]


def test_undeclared_parameters_are_reported_when_not_declared() -> None:
    """Declaring parameters matters: without them the linter would flag every $param."""
    query = f"MATCH (p:{Label.PAPER} {{id: $not_declared_anywhere}}) RETURN p.id AS id"
    diags = run_linter({"Q": query})["Q"]
    # lint_schema declares the statement's own parameters, so the query is clean ...
    assert diags == []
    # ... while the bare mock schema flags it.
    node = shutil.which("node")
    assert node is not None
    proc = subprocess.run(
        [node, str(SCRIPT)], input=json.dumps({"statements": [{"name": "Q", "query": query}]}),
        capture_output=True, text=True, cwd=REPO, timeout=120, check=True,
    )
    diags = json.loads(proc.stdout)[0]["diagnostics"]
    assert any(UNDECLARED_PARAMETER.match(d["message"]) for d in diags)


def test_lock_statements_lock_the_node_before_reading_its_owner() -> None:
    """Neo4j reads committed data without locking it (read committed): a lock statement that reads the
    owner before its first write could refresh or delete the lock another process took over between
    that read and the write. Each one that writes sets a property first, which takes the node's write
    lock, and only then reads the owner."""
    writes = re.compile(r"\b(SET|DELETE)\b")
    checked = []
    for name, query in statements().items():
        if f":{Label.LOCK} " not in query or not writes.search(query):
            continue
        first_write = writes.search(query)
        assert first_write is not None and first_write.group(1) == "SET", name
        assert "owner" not in query[:first_write.start()], f"{name} reads the owner before locking:\n{query}"
        assert "l.owner" in query[first_write.start():], name
        checked.append(name)
    assert sorted(checked) == ["ACQUIRE_LOCK", "REFRESH_LOCK", "RELEASE_LOCK"]


def test_every_filtered_statement_can_match_all_technique_ids() -> None:
    """A statement taking the technique filter takes it both ways: $technique_ids (any of them) and
    $technique_families (all of them: one list per id, each matched as the any condition matches its ids).
    The linter test checks the Cypher; the contract suite runs it on a live Neo4j."""
    edge = f"MATCH (p)-[:{Rel.USES}|{Rel.EVALUATES}]->(t) WHERE t.id IN"
    every = f"all(family IN $technique_families WHERE EXISTS {{ {edge} family }})"
    filtered = {name: q for name, q in statements().items() if "$technique_ids" in q}
    assert set(filtered) == {"FILTER_IDS", "FILTER_PAGE", "KEYWORD_SEARCH_FILTERED", "VECTOR_SEARCH_FILTERED"}
    for name, query in filtered.items():
        assert f"{edge} $technique_ids" in query and every in query, name
