"""A paper's list rows carry the Topic and Object ids their section matches (ListRow.topic_ids), by the
rule the counts and the topic filter use, on both backends: the paper object, its export and the
topic counts agree."""

from __future__ import annotations

from typing import Any

import pytest

from ingest.export_papers import CSV_COLUMNS, csv_cells, paper_object
from kg import cypher
from kg.embedded import EmbeddedStore
from kg.entities import Finding, FindingAbout, ListRow
from kg.neo4j_store import Neo4jStore
from kg.schema import Label
from kg.store import GraphStore
from tests.kg.test_store_contract import backend, bundle, empty, store  # noqa: F401 (fixtures)

_COMPONENTS = ["Findings and Applications", "Findings on circuits", "Interpreting Transformer Components"]
_BEHAVIOUR = ["Findings", "Interpreting LM Behaviors"]
_TOPIC_LABELS = (Label.TOPIC, Label.OBJECT)


def _topic_ids_of(graph: GraphStore, paper_id: str) -> list[list[str]]:
    detail = graph.get_paper(paper_id)
    assert detail is not None
    return [row.topic_ids for row in detail.list_rows]


def test_rows_read_back_with_the_topics_their_section_matches(store: GraphStore) -> None:  # noqa: F811
    """The section map's topic (lm_components) and the ids inside the slug (transformer_components,
    lm_behavior) come back on the row, sorted, and nothing else does."""
    rows = (
        ListRow("findings-and-applications/findings-on-circuits/interpreting-transformer-components",
                _COMPONENTS[-1], _COMPONENTS, topic_ids=["lm_components"]),
        ListRow("findings/interpreting-lm-behaviors", _BEHAVIOUR[-1], _BEHAVIOUR),
        ListRow("tools", "Tools", ["Tools"]),
    )
    store.upsert_papers([bundle("s1", "Heads", rows=rows)])
    assert _topic_ids_of(store, "s1") == [["lm_components", "transformer_components"], ["lm_behavior"], []]


def test_row_topics_agree_with_the_topic_counts(store: GraphStore) -> None:  # noqa: F811
    """Every Topic and Object count is the number of papers whose findings are about it or whose rows
    name it in topic_ids: what a reader rebuilding the counts from the paper objects gets."""
    components = ListRow("findings-and-applications/findings-on-circuits/interpreting-transformer-components",
                         _COMPONENTS[-1], _COMPONENTS, topic_ids=["lm_components"])
    behaviour = ListRow("findings/interpreting-lm-behaviors", _BEHAVIOUR[-1], _BEHAVIOUR)
    features = ListRow("findings/findings-on-features", "Findings on Features",
                       ["Findings", "Findings on Features"])
    store.upsert_papers([
        bundle("a1", rows=(components,)),
        bundle("a2", rows=(behaviour, features)),
        bundle("a3", findings=(Finding("a3#f1", "x", about=[FindingAbout(Label.TOPIC, "superposition")]),)),
        bundle("a4", rows=(ListRow("tools", "Tools", ["Tools"]),)),
    ])
    rebuilt: dict[str, set[str]] = {}
    for paper_id in store.paper_ids():
        detail = store.get_paper(paper_id)
        assert detail is not None
        touched = {a.id for f in detail.findings for a in f.about if a.label in (Label.TOPIC, Label.OBJECT)}
        touched |= {t for row in detail.list_rows for t in row.topic_ids}
        for node in touched:
            rebuilt.setdefault(node, set()).add(paper_id)
    counts = {c.id: c.own_count for c in store.technique_counts() if c.label in (Label.TOPIC, Label.OBJECT)}
    assert {k: v for k, v in counts.items() if v} == {k: len(v) for k, v in rebuilt.items()}
    assert counts["transformer_components"] == 1 and counts["features"] == 1 and counts["lm_behavior"] == 1


def test_the_export_topics_column_has_the_section_topics(store: GraphStore) -> None:  # noqa: F811
    """The CSV's topics column (read from the paper object, as the JSON Lines export and the API give
    it) lists the topics and objects the paper's sections match."""
    components = ListRow("findings-and-applications/findings-on-circuits/interpreting-transformer-components",
                         _COMPONENTS[-1], _COMPONENTS, topic_ids=["lm_components"])
    store.upsert_papers([bundle("e1", rows=(components,))])
    detail = store.get_paper("e1")
    assert detail is not None
    obj = paper_object(detail, {})
    assert [row["topic_ids"] for row in obj["list_rows"]] == [["lm_components", "transformer_components"]]
    cells = dict(zip(CSV_COLUMNS, csv_cells(obj), strict=True))
    assert cells["topics"] == "lm_components; transformer_components"


def test_seed_store_paper_objects_rebuild_the_topic_counts(seed_store: EmbeddedStore) -> None:
    """On the seed corpus: counting papers per Topic/Object from the paper objects (findings' about,
    rows' topic_ids) gives the counts the technique pages show."""
    rebuilt: dict[str, set[str]] = {}
    for paper_id in seed_store.paper_ids():
        detail = seed_store.get_paper(paper_id)
        assert detail is not None
        obj = paper_object(detail, {})
        touched = {a["id"] for f in obj["findings"] for a in f["about"] if a["label"] in _TOPIC_LABELS}
        touched |= {t for row in obj["list_rows"] for t in row["topic_ids"]}
        for node in touched:
            rebuilt.setdefault(node, set()).add(paper_id)
    counts = {c.id: c.own_count for c in seed_store.technique_counts() if c.label in _TOPIC_LABELS}
    assert counts == {node: len(rebuilt.get(node, ())) for node in counts}
    assert counts["lm_components"] > 0


class _Result:
    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self._rows = rows

    def data(self) -> list[dict[str, Any]]:
        return self._rows


class _Tx:
    """Answers GET_PAPER with one stored row, as a server would."""

    def __init__(self, answer: dict[str, Any]) -> None:
        self.answer = answer

    def run(self, query: str, params: dict[str, Any]) -> _Result:
        assert query == cypher.GET_PAPER and params == {"id": "p1"}
        return _Result([self.answer])


def test_neo4j_rows_get_the_topic_nodes_their_section_key_contains(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Neo4j store gives each row the Topic/Object ids (topic_nodes) its section's topic_key
    contains, sorted, as the embedded store does; GET_PAPER returns both."""
    assert "topic_nodes" in cypher.GET_PAPER and "topic_key: s.topic_key" in cypher.GET_PAPER
    section = "findings-and-applications/findings-on-circuits/interpreting-transformer-components"
    row = {"section_id": section, "section_title": _COMPONENTS[-1], "section_path": _COMPONENTS,
           "tldr": None, "techniques_text": None, "evaluation_text": None, "title_in_list": None,
           "url_in_list": None, "line": 3, "position": 0}
    answer = {
        "paper": {"id": "p1", "title": "Heads", "sources": ["list"]},
        "topic_nodes": ["lm_components", "transformer_components", "lm_behavior", "features"],
        "techniques": [], "evaluations": [], "findings": [], "models": [],
        "list_rows": [{**row, "topic_key": "interpreting_transformer_components lm_components"},
                      {**row, "section_id": "tools", "position": 1, "topic_key": "tools"},
                      {**row, "section_id": "old", "position": 2, "topic_key": None}],
    }
    neo = Neo4jStore("bolt://127.0.0.1:1", "neo4j", "pw", "neo4j")
    monkeypatch.setattr(neo, "_execute", lambda write, work: work(_Tx(answer)))
    detail = neo.get_paper("p1")
    assert detail is not None
    assert [r.topic_ids for r in detail.list_rows] == [["lm_components", "transformer_components"], [], []]
