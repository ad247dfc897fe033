"""The GraphStore contract: one suite, run on every backend (Neo4j only when NEO4J_URI is set)."""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ingest.normalize import title_key
from kg.embedded import EmbeddedStore
from kg.entities import (
    EvaluationUse,
    Finding,
    FindingAbout,
    ListRow,
    Paper,
    PaperBundle,
    Rejection,
    SearchFilters,
    TechniqueUse,
)
from kg.schema import EMBEDDING_DIM, RELATIONSHIPS, Label, Rel
from kg.search import filter_facet_counts, search
from kg.store import GraphStore, LockHeld
from kg.taxonomy import Taxonomy
from tests.embedders import HashEmbedder

_NEO4J_SKIP = pytest.mark.skipif(
    not os.environ.get("NEO4J_URI"),
    reason="NEO4J_URI is not set: the Neo4j backend runs only against a live Neo4j server",
)
BACKENDS = ["embedded", pytest.param("neo4j", marks=_NEO4J_SKIP)]


def _open(backend: str, tmp_path: Path) -> GraphStore:
    if backend == "embedded":
        return EmbeddedStore(tmp_path / "store" / "paperkg.sqlite3")
    from kg.neo4j_store import Neo4jStore  # only importable/usable with a server

    store = Neo4jStore(
        os.environ["NEO4J_URI"], os.environ.get("NEO4J_USER", "neo4j"),
        os.environ.get("NEO4J_PASSWORD", ""), os.environ.get("NEO4J_DATABASE", "neo4j"),
    )
    store.init_schema()
    store.clear_all()  # type: ignore[attr-defined]
    return store


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The backend name of this parametrisation."""
    return request.param


@pytest.fixture
def empty(backend: str, tmp_path: Path) -> Iterator[GraphStore]:
    """A fresh store with its schema and nothing else."""
    store = _open(backend, tmp_path)
    store.init_schema()
    yield store
    store.close()


@pytest.fixture
def store(empty: GraphStore, taxonomy: Taxonomy) -> GraphStore:
    """A fresh store with the packaged taxonomy loaded."""
    empty.load_taxonomy(taxonomy.nodes)
    return empty


# -- test data -------------------------------------------------------------------------------

def unit_vectors(n: int, seed: int) -> np.ndarray:
    """n random unit vectors (float32), deterministic for a seed."""
    rng = np.random.default_rng(seed)
    m = rng.standard_normal((n, EMBEDDING_DIM)).astype(np.float32)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def bundle(
    pid: str, title: str | None = None, *, abstract: str = "", year: int | None = 2023,
    techniques: tuple[str, ...] = (), evaluations: tuple[str, ...] = (), authors: tuple[str, ...] = (),
    vector: np.ndarray | None = None, sources: tuple[str, ...] = ("arxiv",),
    findings: tuple[Finding, ...] = (), models: tuple[str, ...] = (), rows: tuple[ListRow, ...] = (),
    published: str | None = None,
) -> PaperBundle:
    """A paper bundle with sensible defaults."""
    return PaperBundle(
        paper=Paper(
            id=pid, title=title if title is not None else f"Paper {pid}", abstract=abstract,
            arxiv_id=pid, authors=list(authors), year=year,
            published=published or (f"{year}-01-15" if year else None), sources=list(sources),
            embedding=vector, embedding_model="test-vectors" if vector is not None else None,
        ),
        techniques=[TechniqueUse(t, "extracted", evidence=f"uses {t}", score=0.9) for t in techniques],
        evaluations=[EvaluationUse(e, "list") for e in evaluations],
        findings=list(findings), models=list(models), list_rows=list(rows),
    )


def rich_bundle(vector: np.ndarray) -> PaperBundle:
    """A paper with every kind of edge."""
    b = bundle(
        "2211.00593",
        "Interpretability in the Wild: a Circuit for Indirect Object Identification in GPT-2 small",
        abstract="We reverse-engineer the IOI circuit with path patching and find name mover heads.",
        year=2022, techniques=("path_patching", "knockout"), evaluations=("faithfulness", "completeness"),
        authors=("Kevin Wang", "Alexandre Variengien", "Arthur Conmy"), vector=vector,
        sources=("list", "arxiv"), models=("gpt2",),
        findings=(
            Finding("2211.00593#f1", "We find name mover heads that copy names.", "claim", "extracted",
                    about=[FindingAbout(Label.COMPONENT, "name_mover_head"),
                           FindingAbout(Label.MODEL, "gpt2")]),
            Finding("2211.00593#f2", "The circuit explains model behaviour.", "claim", "extracted",
                    about=[FindingAbout(Label.TOPIC, "lm_behavior")]),
        ),
        rows=(ListRow("findings/interpreting-lm-behaviors", "Interpreting LM Behaviors",
                      ["Findings", "Interpreting LM Behaviors"], tldr="IOI circuit",
                      techniques_text="Path patching, Knockout", evaluation_text="Faithfulness",
                      title_in_list="Interpretability in the Wild", url_in_list="https://arxiv.org/abs/2211.00593",
                      line=42),),
    )
    b.paper.doi = "10.48550/arXiv.2211.00593"
    b.paper.venue = "ICLR 2023"
    b.paper.categories = ["cs.LG", "cs.CL"]
    b.paper.primary_category = "cs.LG"
    b.paper.url = "https://arxiv.org/abs/2211.00593"
    b.paper.pdf_url = "https://arxiv.org/pdf/2211.00593"
    b.paper.content_hash = "ab" * 32
    return b


def comparable(value: Any, drop: tuple[str, ...] = ("last_seen",)) -> Any:
    """A dataclass as plain data (arrays as lists), without the named fields, for equality checks."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: comparable(getattr(value, f.name), drop) for f in dataclasses.fields(value)
                if f.name not in drop}
    if isinstance(value, list | tuple):
        return [comparable(v, drop) for v in value]
    if isinstance(value, np.ndarray):
        return [round(float(x), 6) for x in value]
    return value


def brute_force(matrix: np.ndarray, ids: list[str], query: np.ndarray, k: int) -> list[tuple[str, float]]:
    """Exact cosine top-k with plain numpy (float64 reference)."""
    scores = matrix.astype(np.float64) @ (query.astype(np.float64) / np.linalg.norm(query))
    order = np.argsort(-scores, kind="stable")[:k]
    return [(ids[i], float(scores[i])) for i in order]


def _stats_total(stats: dict[str, dict[str, int]]) -> int:
    return sum(stats["nodes"].values()) + sum(stats["relationships"].values())


# -- tests -----------------------------------------------------------------------------------

def test_empty_store_returns_empty_everywhere(empty: GraphStore) -> None:
    q = unit_vectors(1, 0)[0]
    assert empty.paper_ids() == []
    assert empty.get_paper("2211.00593") is None
    assert empty.get_papers(["2211.00593"]) == []
    assert empty.find_paper_ids(arxiv_ids=["2211.00593"], dois=["10.1/x"], title_keys=["a b"]) == {}
    assert empty.papers_by_technique("cma") == ([], 0)
    assert empty.keyword_search("probing", 10) == []
    assert empty.keyword_search("", 10) == []
    assert empty.vector_search(q, 10) == []
    assert empty.vector_search(q, 10, SearchFilters(technique_ids=["cma"])) == []
    assert empty.filter_ids(SearchFilters(year_from=2000)) == set()
    assert empty.filter_page(SearchFilters(year_from=2000)) == ([], 0)
    assert empty.filter_page(SearchFilters(sources=["arxiv"]), limit=0, offset=5) == ([], 0)
    assert empty.get_embeddings(["2211.00593"]) == {}
    assert empty.related_candidates("2211.00593") == []
    assert empty.paper_profiles(["2211.00593"]) == {}
    assert empty.technique_counts() == []
    assert empty.cooccurring_techniques("cma") == []
    assert empty.papers_per_year("cma") == {}
    assert empty.new_papers("2000-01-01") == []
    assert empty.list_sections() == []
    assert empty.taxonomy_nodes() == []
    assert empty.runs() == []
    assert empty.last_watermark("arxiv") is None
    assert empty.rejections() == []
    assert empty.cached_embeddings("m", ["h"]) == {}
    assert _stats_total(empty.stats()) == 0
    assert empty.holds_no_papers()
    empty.ping()


def test_taxonomy_load_is_idempotent(store: GraphStore, taxonomy: Taxonomy) -> None:
    before = store.stats()
    nodes = store.taxonomy_nodes()
    assert sorted(n.id for n in nodes) == sorted(n.id for n in taxonomy.nodes)
    store.load_taxonomy(taxonomy.nodes)
    assert store.stats() == before
    assert before["nodes"][Label.TECHNIQUE] == len(taxonomy.of_label(Label.TECHNIQUE))
    # REFINES: one edge per node whose parent has the same label (Technique/Evaluation/Topic).
    expected = sum(
        1 for n in taxonomy.nodes
        if n.parent in taxonomy.by_id and taxonomy.by_id[n.parent].label == n.label
        and n.label in (Label.TECHNIQUE, Label.EVALUATION, Label.TOPIC)
    )
    assert before["relationships"]["REFINES"] == expected > 0
    patching = next(n for n in store.taxonomy_nodes(Label.TECHNIQUE) if n.id == "activation_patching")
    assert patching.parent == "cma"
    assert patching.name == "Activation Patching"
    assert all(n.label == Label.MODEL for n in store.taxonomy_nodes(Label.MODEL))


def _paper_edges(store: GraphStore, pid: str) -> dict[str, Any]:
    """A stored paper's taxonomy edges as sets: techniques (id, source, evidence), evaluations (id,
    source), models, and what each finding is about."""
    d = store.get_paper(pid)
    assert d is not None
    return {"techniques": {(t.technique_id, t.source, t.evidence) for t in d.techniques},
            "evaluations": {(e.evaluation_id, e.source) for e in d.evaluations},
            "models": {m.id for m in d.models},
            "about": {f.id: {a.id for a in f.about} for f in d.findings}}


def test_prune_taxonomy_moves_or_drops_the_removed_nodes_edges(store: GraphStore, taxonomy: Taxonomy) -> None:
    """`paperkg init --prune`: each removed node goes with its REFINES edges; its papers' edges of every
    kind and source move to the kept node named for it (an edge the paper has there already is kept as it
    is) or are dropped; a move to a node of another label is refused with nothing changed; a dry run only
    counts."""
    rich = rich_bundle(unit_vectors(1, 4)[0])  # path_patching, knockout; faithfulness, completeness; gpt2
    rich.techniques.append(TechniqueUse("knockout", "list"))
    other = bundle("2301.00001", techniques=("activation_patching",), models=("pythia",))
    other.techniques.append(TechniqueUse("path_patching", "extracted", evidence="we patch paths"))
    # Extracted once (a hash each), and a paper no removed node touches.
    rich.paper.extraction_hash, other.paper.extraction_hash = "h-rich", "h-other"
    apart = bundle("2301.00002", techniques=("probing",))
    apart.paper.extraction_hash = "h-apart"
    store.upsert_papers([rich, other, apart])
    moves: dict[str, str | None] = {
        "path_patching": "activation_patching", "knockout": None, "completeness": "faithfulness",
        "lm_behavior": "superposition", "pythia": None, "no_such_node": None,
    }
    counts = {"path_patching": 2, "knockout": 1, "completeness": 1, "lm_behavior": 1, "pythia": 1}
    before = {pid: _paper_edges(store, pid) for pid in ("2211.00593", "2301.00001")}
    stats = store.stats()

    assert store.prune_taxonomy(moves, write=False) == counts
    held = {p.extraction_hash for p in store.get_papers(["2211.00593", "2301.00001"])}
    assert held == {"h-rich", "h-other"}
    with pytest.raises(ValueError, match=r"'knockout'.*'faithfulness'"):
        store.prune_taxonomy({"path_patching": "activation_patching", "knockout": "faithfulness"})
    with pytest.raises(ValueError, match=r"'knockout'.*'path_patching'"):
        store.prune_taxonomy({"path_patching": None, "knockout": "path_patching"})
    assert store.stats() == stats
    assert {pid: _paper_edges(store, pid) for pid in before} == before

    assert store.prune_taxonomy(moves) == counts
    # QA: the papers whose edges moved or went kept their extraction hash, so nothing called them stale
    # and undoing the prune (the old file loaded again) lost their extracted tags for good. Cleared (a
    # NULL hash is stale), and an upsert of the bundle they had before is written again, not "unchanged".
    hashes = {p.id: p.extraction_hash for p in store.get_papers(["2211.00593", "2301.00001", "2301.00002"])}
    assert hashes == {"2211.00593": None, "2301.00001": None, "2301.00002": "h-apart"}
    assert store.upsert_papers([apart]) == {"2301.00002": "unchanged"}
    removed = set(moves)
    assert not {n.id for n in store.taxonomy_nodes()} & removed
    assert len(store.taxonomy_nodes()) == len(taxonomy.nodes) - 5
    rich_after, other_after = _paper_edges(store, "2211.00593"), _paper_edges(store, "2301.00001")
    assert rich_after["techniques"] == {("activation_patching", "extracted", "uses path_patching")}
    # The paper's own activation_patching edge stays as it was; its path_patching edge is gone.
    assert other_after["techniques"] == {("activation_patching", "extracted", "uses activation_patching")}
    assert rich_after["evaluations"] == {("faithfulness", "list")}
    assert rich_after["about"] == {"2211.00593#f1": {"name_mover_head", "gpt2"},
                                   "2211.00593#f2": {"superposition"}}
    assert rich_after["models"] == {"gpt2"} and other_after["models"] == set()
    refines = RELATIONSHIPS[Rel.REFINES].start
    gone = sum(1 for n in taxonomy.nodes if n.parent in taxonomy.by_id and n.label in refines
               and taxonomy.by_id[n.parent].label == n.label and {n.id, n.parent} & removed)
    after = store.stats()
    assert gone >= 5  # path_patching's, and knockout's four refinements'
    assert after["relationships"]["REFINES"] == stats["relationships"]["REFINES"] - gone
    assert after["relationships"]["STUDIES"] == stats["relationships"]["STUDIES"] - 1
    assert after["relationships"]["USES"] == 3  # and the probing paper's
    tally = {c.id: c.own_count for c in store.technique_counts()}
    assert "knockout" not in tally and tally["activation_patching"] == 2
    assert {p.id for p in store.papers_by_technique("superposition")[0]} == {"2211.00593"}
    assert store.paper_profiles(["2301.00001"]) == {"2301.00001": {"activation_patching"}}
    assert store.prune_taxonomy(moves) == {}  # nothing left to remove


def test_a_node_changing_band_stays_one_node_under_its_new_label(
    store: GraphStore, taxonomy: Taxonomy
) -> None:
    """QA: on Neo4j a node whose label the file changed (a Technique moved to the Evaluation band by
    `kind:` or a parent there) was merged as a second node of the new label, the old one kept with its
    edges: listed twice, counted twice. The embedded store updates the label in place; both do now."""
    node = next(n for n in taxonomy.of_label(Label.TECHNIQUE)
                if n.parent is None and not any(c.parent == n.id for c in taxonomy.nodes) and n.id != "sae")
    store.upsert_papers([bundle("2301.00001", techniques=(node.id, "sae"))])
    moved = [dataclasses.replace(n, label=Label.EVALUATION) if n.id == node.id else n for n in taxonomy.nodes]
    store.load_taxonomy(moved)
    store.load_taxonomy(moved)  # idempotent
    nodes = store.taxonomy_nodes()
    assert [n.id for n in nodes] == [n.id for n in taxonomy.nodes]  # once, in its load order
    assert [n.label for n in nodes if n.id == node.id] == [Label.EVALUATION]
    assert node.id in {n.id for n in store.taxonomy_nodes(Label.EVALUATION)}
    assert node.id not in {n.id for n in store.taxonomy_nodes(Label.TECHNIQUE)}
    # The paper tagged with it is tagged again by the new band (as `paperkg ingest reextract` does).
    again = bundle("2301.00001", techniques=("sae",))
    again.evaluations.append(EvaluationUse(node.id, "extracted", evidence="retagged"))
    store.upsert_papers([again])
    assert {p.id for p in store.papers_by_technique(node.id)[0]} == {"2301.00001"}
    assert [(c.label, c.own_count) for c in store.technique_counts() if c.id == node.id] == [
        (Label.EVALUATION, 1)]
    assert store.stats()["nodes"][Label.TECHNIQUE] == len(taxonomy.of_label(Label.TECHNIQUE)) - 1
    with pytest.raises(ValueError, match="where a Technique is expected"):
        store.upsert_papers([bundle("2301.00002", techniques=(node.id,))])


def test_upsert_is_idempotent(store: GraphStore) -> None:
    vec = unit_vectors(2, 1)
    other = bundle("2301.00001", "Sparse autoencoders find features", techniques=("sae",), vector=vec[1])
    assert store.holds_no_papers()  # a taxonomy is no paper
    assert store.upsert_papers([rich_bundle(vec[0]), other]) == {"2211.00593": "new", "2301.00001": "new"}
    assert not store.holds_no_papers()
    detail = store.get_paper("2211.00593")
    stats = store.stats()
    keyword = store.keyword_search("name mover circuit", 5)
    vector = store.vector_search(vec[0], 5)
    assert store.upsert_papers([rich_bundle(vec[0]), other]) == {
        "2211.00593": "unchanged", "2301.00001": "unchanged"
    }
    again = store.get_paper("2211.00593")
    assert comparable(again) == comparable(detail)
    assert again.paper.first_seen == detail.paper.first_seen
    assert again.paper.last_seen >= detail.paper.last_seen
    assert store.stats() == stats
    assert store.keyword_search("name mover circuit", 5) == keyword
    assert store.vector_search(vec[0], 5) == vector


def test_last_seen_is_the_clocks_time_but_never_before_first_seen(
    store: GraphStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Clock QA: a write with the clock behind the one that stored the paper set last_seen to that earlier
    time, before first_seen. last_seen is now the clock's time, but never before first_seen."""
    import kg.validation

    clock = ["2026-11-23T06:00:00.000000+00:00"]
    monkeypatch.setattr(kg.validation, "now", lambda: clock[0])
    paper = bundle("2301.00001", "Sparse autoencoders find features", techniques=("sae",))
    assert store.upsert_papers([paper]) == {"2301.00001": "new"}
    clock[0] = "2026-11-20T06:00:00.000000+00:00"  # three days slow
    assert store.upsert_papers([paper]) == {"2301.00001": "unchanged"}
    paper.paper.abstract = "Sparse autoencoders find features in GPT-2."
    assert store.upsert_papers([paper]) == {"2301.00001": "updated"}
    seen = store.get_paper("2301.00001")
    assert seen is not None and seen.paper.abstract == paper.paper.abstract
    assert (seen.paper.first_seen, seen.paper.last_seen) == (
        "2026-11-23T06:00:00.000000+00:00", "2026-11-23T06:00:00.000000+00:00")
    clock[0] = "2026-11-24T06:00:00.000000+00:00"  # right again: last_seen moves on
    assert store.upsert_papers([paper]) == {"2301.00001": "unchanged"}
    assert store.get_paper("2301.00001").paper.last_seen == clock[0]  # type: ignore[union-attr]
    clock[0] = "2026-11-25T06:00:00.000000+00:00"
    paper.paper.abstract = "Sparse autoencoders find many features in GPT-2."
    assert store.upsert_papers([paper]) == {"2301.00001": "updated"}
    assert store.get_paper("2301.00001").paper.last_seen == clock[0]  # type: ignore[union-attr]


@pytest.mark.parametrize("change", [False, True], ids=["unchanged", "updated"])
def test_last_seen_a_fast_clock_left_in_the_future_heals_on_the_next_write(
    store: GraphStore, monkeypatch: pytest.MonkeyPatch, change: bool
) -> None:
    """Review: with last_seen the later of the stored one and now, one run with a fast clock pinned it a
    year ahead for good; the next write with the clock right puts it back to the clock's time."""
    import kg.validation

    clock = ["2026-11-20T06:00:00.000000+00:00"]
    monkeypatch.setattr(kg.validation, "now", lambda: clock[0])
    paper = bundle("2301.00001", "Sparse autoencoders find features", techniques=("sae",))
    assert store.upsert_papers([paper]) == {"2301.00001": "new"}
    clock[0] = "2027-11-23T06:00:00.000000+00:00"  # a year fast
    assert store.upsert_papers([paper]) == {"2301.00001": "unchanged"}
    assert store.get_paper("2301.00001").paper.last_seen == clock[0]  # type: ignore[union-attr]
    clock[0] = "2026-11-26T06:00:00.000000+00:00"  # right again
    if change:
        paper.paper.abstract = "Sparse autoencoders find features in GPT-2."
    assert store.upsert_papers([paper]) == {"2301.00001": "updated" if change else "unchanged"}
    seen = store.get_paper("2301.00001")
    assert seen is not None
    assert (seen.paper.first_seen, seen.paper.last_seen) == (
        "2026-11-20T06:00:00.000000+00:00", "2026-11-26T06:00:00.000000+00:00")


def test_upsert_replaces_properties_and_edges(store: GraphStore) -> None:
    vec = unit_vectors(2, 2)
    store.upsert_papers([rich_bundle(vec[0])])
    first = store.get_paper("2211.00593")
    changed = bundle("2211.00593", "IOI revisited", techniques=("probing",), authors=("Kevin Wang",),
                     vector=vec[1], year=2024)
    assert store.upsert_papers([changed]) == {"2211.00593": "updated"}
    detail = store.get_paper("2211.00593")
    assert detail.paper.title == "IOI revisited"
    assert detail.paper.first_seen == first.paper.first_seen
    assert [t.technique_id for t in detail.techniques] == ["probing"]
    assert detail.evaluations == [] and detail.findings == [] and detail.models == []
    assert detail.list_rows == []
    assert detail.paper.authors == ["Kevin Wang"]
    stats = store.stats()["relationships"]
    assert stats["USES"] == 1 and stats["REPORTS"] == 0 and stats["ABOUT"] == 0
    assert stats["LISTED_IN"] == 0 and stats["STUDIES"] == 0 and stats["AUTHORED_BY"] == 1
    assert store.stats()["nodes"]["Finding"] == 0
    # Authors are nodes in their own right: they stay when a paper drops them.
    assert store.stats()["nodes"]["Author"] == 3
    np.testing.assert_allclose(detail.paper.embedding, vec[1], atol=1e-6)
    assert store.keyword_search("revisited", 5)[0].id == "2211.00593"
    assert store.keyword_search("mover", 5) == []
    assert store.vector_search(vec[1], 1)[0].id == "2211.00593"


def test_batch_upsert_of_1000_papers(store: GraphStore) -> None:
    vecs = unit_vectors(1000, 3)
    techs = ["probing", "sae", "activation_patching", "logit_lens", "path_patching"]
    bundles = [
        bundle(f"2400.{i:05d}", f"Paper number {i}", abstract=f"abstract of paper {i} word{i % 7}",
               techniques=(techs[i % 5], techs[(i + 1) % 5]), authors=(f"Author {i % 50}",),
               vector=vecs[i], year=2015 + i % 10)
        for i in range(1000)
    ]
    status = store.upsert_papers(bundles)
    assert len(status) == 1000 and set(status.values()) == {"new"}
    stats = store.stats()
    assert stats["nodes"]["Paper"] == 1000
    assert stats["nodes"]["Author"] == 50
    assert stats["relationships"]["USES"] == 2000
    assert stats["relationships"]["AUTHORED_BY"] == 1000
    assert sorted(store.paper_ids()) == sorted(b.paper.id for b in bundles)
    wanted = ["2400.00999", "missing", "2400.00000", "2400.00500"]
    assert [p.id for p in store.get_papers(wanted)] == ["2400.00999", "2400.00000", "2400.00500"]
    assert all(p.embedding is None for p in store.get_papers(wanted))
    assert set(store.upsert_papers(bundles).values()) == {"unchanged"}
    assert store.stats() == stats
    assert store.vector_search(vecs[123], 1)[0].id == "2400.00123"
    # papers_by_technique on a common technique (walks the date index) and on a rare one.
    probing = sorted((b for b in bundles if "probing" in [t.technique_id for t in b.techniques]),
                     key=lambda b: (b.paper.published, b.paper.id), reverse=True)
    page, total = store.papers_by_technique("probing", limit=7, offset=3)
    assert total == len(probing) == 400
    assert [p.published for p in page] == [b.paper.published for b in probing[3:10]]
    store.upsert_papers([bundle("rare-1", techniques=("acdc",), year=2001),
                         bundle("rare-2", techniques=("eap",), year=2030)])
    cma = {b.paper.id for b in bundles
           if {"activation_patching", "path_patching"} & {t.technique_id for t in b.techniques}}
    page, total = store.papers_by_technique("cma")
    assert total == len(cma) + 2 and page[0].id == "rare-2"
    assert store.papers_by_technique("acdc") == (store.get_papers(["rare-1"]), 1)
    page, total = store.papers_by_technique("cma", sort="centrality", limit=5)
    assert total == len(cma) + 2 and len(page) == 5
    embeddings = store.get_embeddings(["2400.00007", "missing"])
    assert list(embeddings) == ["2400.00007"]
    np.testing.assert_allclose(embeddings["2400.00007"], vecs[7], atol=1e-6)


def test_get_paper_with_neighbourhood(store: GraphStore) -> None:
    vec = unit_vectors(1, 4)[0]
    b = rich_bundle(vec)
    store.upsert_papers([b])
    d = store.get_paper("2211.00593")
    assert d is not None
    p = d.paper
    for name in ("id", "title", "abstract", "arxiv_id", "doi", "authors", "published", "year", "venue",
                 "primary_category", "categories", "url", "pdf_url", "sources", "item_type",
                 "embedding_model", "content_hash"):
        assert getattr(p, name) == getattr(b.paper, name), name
    assert p.authors_text == "Kevin Wang, Alexandre Variengien, Arthur Conmy"
    np.testing.assert_allclose(p.embedding, vec, atol=1e-6)
    assert p.first_seen and p.last_seen
    assert {(t.technique_id, t.source, t.label) for t in d.techniques} == {
        ("path_patching", "extracted", "Path Patching"), ("knockout", "extracted", "Knockout")
    }
    assert all(t.evidence and t.score == pytest.approx(0.9) for t in d.techniques)
    assert {(e.evaluation_id, e.label) for e in d.evaluations} == {
        ("faithfulness", "Faithfulness"), ("completeness", "Completeness")
    }
    assert sorted(f.id for f in d.findings) == ["2211.00593#f1", "2211.00593#f2"]
    f1 = next(f for f in d.findings if f.id == "2211.00593#f1")
    assert f1.text == "We find name mover heads that copy names."
    assert {(a.label, a.id) for a in f1.about} == {
        (Label.COMPONENT, "name_mover_head"), (Label.MODEL, "gpt2")
    }
    assert all(a.name for a in f1.about)
    assert [(m.label, m.id) for m in d.models] == [(Label.MODEL, "gpt2")]
    assert d.models[0].name
    row = d.list_rows[0]
    # Read back with the topics its section matches (the slug "interpreting_lm_behaviors" holds lm_behavior).
    assert comparable(row) == comparable(dataclasses.replace(b.list_rows[0], topic_ids=["lm_behavior"]))
    stats = store.stats()
    assert stats["nodes"]["Paper"] == 1 and stats["nodes"]["Finding"] == 2
    assert stats["nodes"]["Author"] == 3 and stats["nodes"]["ListSection"] == 1
    rel = stats["relationships"]
    assert (rel["USES"], rel["EVALUATES"], rel["REPORTS"], rel["ABOUT"], rel["STUDIES"],
            rel["LISTED_IN"], rel["AUTHORED_BY"]) == (2, 2, 2, 3, 1, 1, 3)
    assert store.list_sections() == [{
        "id": "findings/interpreting-lm-behaviors", "title": "Interpreting LM Behaviors",
        "path": ["Findings", "Interpreting LM Behaviors"], "count": 1,
    }]
    assert store.paper_profiles(["2211.00593", "missing"]) == {
        "2211.00593": {"path_patching", "knockout", "faithfulness", "completeness", "gpt2", "name_mover_head",
                       "lm_behavior"}
    }


def test_extraction_hash_round_trips(store: GraphStore) -> None:
    """extraction_hash is stored, read back by every paper read, and part of "changed"."""
    vec = unit_vectors(1, 9)[0]
    b = rich_bundle(vec)
    b.paper.extraction_hash = "cd" * 32
    plain = bundle("2301.00001", "Sparse autoencoders", techniques=("path_patching",), year=2023)
    assert store.upsert_papers([b, plain]) == {"2211.00593": "new", "2301.00001": "new"}
    detail = store.get_paper("2211.00593")
    assert detail is not None and detail.paper.extraction_hash == "cd" * 32
    assert [p.extraction_hash for p in store.get_papers(["2211.00593", "2301.00001"])] == ["cd" * 32, None]
    page, _ = store.papers_by_technique("path_patching")
    assert {p.id: p.extraction_hash for p in page} == {"2211.00593": "cd" * 32, "2301.00001": None}
    assert {p.id: p.extraction_hash for p in store.new_papers("2000-01-01")}["2211.00593"] == "cd" * 32
    assert store.upsert_papers([b]) == {"2211.00593": "unchanged"}
    # Same edges, another extractor or text behind them: the paper is rewritten with the new hash.
    b.paper.extraction_hash = "ef" * 32
    assert store.upsert_papers([b]) == {"2211.00593": "updated"}
    again = store.get_paper("2211.00593")
    assert again is not None and again.paper.extraction_hash == "ef" * 32
    b.paper.extraction_hash = None
    assert store.upsert_papers([b]) == {"2211.00593": "updated"}
    cleared = store.get_paper("2211.00593")
    assert cleared is not None and cleared.paper.extraction_hash is None


def test_arxiv_version_round_trips(store: GraphStore) -> None:
    """arxiv_version (the vN the metadata is from) is stored and read back by every paper read; a paper
    stored without one reads None (the weekly run then compares dates)."""
    b = rich_bundle(unit_vectors(1, 9)[0])
    b.paper.arxiv_version = 3
    plain = bundle("2301.00001", "Sparse autoencoders", techniques=("path_patching",), year=2023)
    assert store.upsert_papers([b, plain]) == {"2211.00593": "new", "2301.00001": "new"}
    detail = store.get_paper("2211.00593")
    assert detail is not None and detail.paper.arxiv_version == 3
    assert [p.arxiv_version for p in store.get_papers(["2211.00593", "2301.00001"])] == [3, None]
    page, _ = store.papers_by_technique("path_patching")
    assert {p.id: p.arxiv_version for p in page} == {"2211.00593": 3, "2301.00001": None}
    assert {p.id: p.arxiv_version for p in store.new_papers("2000-01-01")}["2211.00593"] == 3
    assert store.upsert_papers([b]) == {"2211.00593": "unchanged"}
    # A newer version's metadata replaces the paper's, version included.
    b.paper.arxiv_version = 4
    b.paper.abstract = "Version 4: the IOI circuit, with backup name mover heads."
    assert store.upsert_papers([b]) == {"2211.00593": "updated"}
    again = store.get_paper("2211.00593")
    assert again is not None and (again.paper.arxiv_version, again.paper.abstract) == (4, b.paper.abstract)
    # A new version with the same metadata is an update too: the stored version must not stay behind.
    b.paper.arxiv_version = 5
    assert store.upsert_papers([b]) == {"2211.00593": "updated"}
    assert store.get_papers(["2211.00593"])[0].arxiv_version == 5
    for bad in (0, True, "v3"):
        b.paper.arxiv_version = bad  # type: ignore[assignment]
        with pytest.raises(ValueError, match="arxiv_version must be an integer of at least 1"):
            store.upsert_papers([b])


def _technique_corpus(store: GraphStore) -> None:
    vecs = unit_vectors(5, 5)
    store.upsert_papers([
        bundle("p-ap", "Activation patching study", techniques=("activation_patching",), year=2023,
               vector=vecs[0], published="2023-05-01"),
        bundle("p-pp", "Path patching study", techniques=("path_patching", "probing"), year=2024,
               vector=vecs[1], published="2024-02-01", findings=(
                   Finding("p-pp#1", "A claim.", about=[FindingAbout(Label.TOPIC, "lm_behavior")]),)),
        bundle("p-cma", "Causal mediation study", techniques=("cma", "probing"), year=2021,
               vector=vecs[2], published="2021-03-01"),
        bundle("p-probe", "Probing study", techniques=("probing",), year=2021, vector=vecs[3],
               published="2021-06-01"),
        bundle("p-none", "No technique", year=None, vector=vecs[4]),
    ])


def test_papers_by_technique_includes_refinements(store: GraphStore) -> None:
    _technique_corpus(store)
    papers, total = store.papers_by_technique("cma")
    assert total == 3
    assert [p.id for p in papers] == ["p-pp", "p-ap", "p-cma"]  # newest first
    papers, total = store.papers_by_technique("cma", include_refinements=False)
    assert (total, [p.id for p in papers]) == (1, ["p-cma"])
    papers, total = store.papers_by_technique("cma", limit=1, offset=1)
    assert (total, [p.id for p in papers]) == (3, ["p-ap"])
    papers, _ = store.papers_by_technique("cma", sort="centrality")
    assert papers[0].id == "p-pp"  # most edges (two techniques and a finding)
    assert store.papers_by_technique("no_such_technique") == ([], 0)
    counts = {c.id: c for c in store.technique_counts()}
    assert (counts["cma"].own_count, counts["cma"].total_count) == (1, 3)
    assert (counts["activation_patching"].own_count, counts["activation_patching"].total_count) == (1, 1)
    assert counts["activation_patching"].parent == "cma"
    assert (counts["probing"].own_count, counts["probing"].total_count) == (3, 3)
    assert (counts["knockout"].own_count, counts["knockout"].total_count) == (0, 0)
    assert (counts["lm_behavior"].own_count, counts["lm_behavior"].label) == (1, Label.TOPIC)
    assert {c.label for c in counts.values()} == {
        Label.TECHNIQUE, Label.EVALUATION, Label.TOPIC, Label.OBJECT
    }
    assert store.papers_per_year("cma") == {2021: 1, 2023: 1, 2024: 1}
    assert store.papers_per_year("probing") == {2021: 2, 2024: 1}
    assert store.cooccurring_techniques("cma") == [("probing", 2)]
    # cma counts p-pp too (path_patching refines it), as the AND search of probing and cma does.
    assert store.cooccurring_techniques("probing") == [("cma", 2), ("path_patching", 1)]
    df = store.technique_document_frequency()
    assert df["probing"] == 3 and df["cma"] == 1 and df["knockout"] == 0


def test_cooccurring_counts_are_the_and_search(store: GraphStore) -> None:
    """A co-occurring technique X of a node counts the papers the AND search of the node and X returns
    (X's refinements included), so a parent used only through its refinements is listed and outranks
    them; the node itself, its refinements and its ancestors are not listed."""
    store.upsert_papers([
        bundle("k1", techniques=("cma", "zero_ablation"), year=2021),
        bundle("k2", techniques=("cma", "mean_ablation"), year=2022),
        bundle("k3", techniques=("activation_patching", "resampling_ablation"), year=2023),
        bundle("k4", techniques=("path_patching", "causal_scrubbing", "probing"), year=2024),
        bundle("k5", techniques=("knockout", "sae"), year=2024),
        bundle("k6", techniques=("acdc",), evaluations=("faithfulness",), year=2024),
    ])
    assert store.cooccurring_techniques("knockout") == [
        ("cma", 4), ("activation_patching", 1), ("path_patching", 1), ("probing", 1), ("sae", 1),
    ]
    assert store.cooccurring_techniques("cma") == [
        ("knockout", 4), ("causal_scrubbing", 1), ("mean_ablation", 1), ("probing", 1),
        ("resampling_ablation", 1), ("zero_ablation", 1),
    ]
    # The cap keeps the parent: its four papers outrank each refinement's one.
    assert store.cooccurring_techniques("cma", limit=1) == [("knockout", 4)]
    # A refinement's ancestors (cma) and siblings' parent are not its own family: the sibling is listed.
    assert store.cooccurring_techniques("path_patching") == [
        ("causal_scrubbing", 1), ("knockout", 1), ("probing", 1),
    ]
    assert store.cooccurring_techniques("faithfulness") == [("acdc", 1), ("cma", 1)]
    for node_id in ("knockout", "cma", "path_patching", "zero_ablation", "probing", "faithfulness"):
        for other, n in store.cooccurring_techniques(node_id, limit=100):
            both = SearchFilters(technique_ids=[node_id, other], technique_match="all")
            assert n == len(store.filter_ids(both)), (node_id, other)


def test_papers_by_evaluation(store: GraphStore) -> None:
    """An Evaluation id lists the papers EVALUATES-ing it (refinements included), like a technique."""
    store.upsert_papers([
        bundle("e-faith", "Faithfulness study", techniques=("probing",), evaluations=("faithfulness",),
               year=2022, published="2022-03-01"),
        bundle("e-aes", "Explanation score study", techniques=("probing", "sae"),
               evaluations=("automated_explanation_score",), year=2024, published="2024-01-10"),
        bundle("e-both", "Two criteria", techniques=("sae",), evaluations=("faithfulness", "completeness"),
               year=2023, published="2023-07-01",
               findings=(Finding("e-both#1", "A claim.",
                                 about=[FindingAbout(Label.TOPIC, "superposition")]),)),
        bundle("e-none", "No evaluation", techniques=("probing",), year=2024),
    ])
    papers, total = store.papers_by_technique("faithfulness")
    assert (total, [p.id for p in papers]) == (3, ["e-aes", "e-both", "e-faith"])  # newest first
    papers, total = store.papers_by_technique("faithfulness", include_refinements=False)
    assert (total, [p.id for p in papers]) == (2, ["e-both", "e-faith"])
    papers, total = store.papers_by_technique("intrinsic_evaluation", limit=1, offset=1)
    assert (total, [p.id for p in papers]) == (3, ["e-both"])
    papers, _ = store.papers_by_technique("faithfulness", sort="centrality")
    assert papers[0].id == "e-both"  # most edges: a technique, two evaluations and a finding
    assert store.papers_per_year("faithfulness") == {2022: 1, 2023: 1, 2024: 1}
    assert store.papers_per_year("completeness") == {2023: 1}
    assert store.cooccurring_techniques("faithfulness") == [("probing", 2), ("sae", 2)]
    assert store.cooccurring_techniques("extrinsic_evaluation") == []
    assert store.papers_by_technique("extrinsic_evaluation") == ([], 0)
    counts = {c.id: c for c in store.technique_counts()}
    assert counts["faithfulness"].total_count == 3 and counts["intrinsic_evaluation"].total_count == 3


def test_papers_by_topic_and_object(store: GraphStore) -> None:
    """A Topic or Object id lists the papers of the topic rule: a finding ABOUT it or a list section
    named after it, refinements included; the same set the topic filter gives."""
    _filter_corpus(store)
    papers, total = store.papers_by_technique("superposition")
    assert (total, [p.id for p in papers]) == (1, ["f3"])
    papers, total = store.papers_by_technique("learning_dynamics")  # via the list section
    assert (total, [p.id for p in papers]) == (1, ["f2"])
    papers, total = store.papers_by_technique("applications")  # via a refining topic
    assert (total, [p.id for p in papers]) == (1, ["f5"])
    assert store.papers_by_technique("applications", include_refinements=False) == ([], 0)
    papers, total = store.papers_by_technique("features")  # an Object, via "findings-on-features"
    assert (total, [p.id for p in papers]) == (1, ["f1"])
    assert store.papers_per_year("applications") == {2024: 1}
    assert store.papers_per_year("learning_dynamics") == {2023: 1}
    assert store.cooccurring_techniques("applications") == [("steering_vector", 1)]
    assert store.cooccurring_techniques("features") == [("sae", 1)]
    counts = {c.id: c for c in store.technique_counts()}
    for node_id, count in counts.items():
        if count.label in (Label.TOPIC, Label.OBJECT, Label.EVALUATION):
            papers, total = store.papers_by_technique(node_id, limit=100)
            assert total == count.total_count == len(papers), node_id
            if count.label != Label.EVALUATION:
                assert {p.id for p in papers} == store.filter_ids(SearchFilters(topic_ids=[node_id])), node_id
    # Unknown ids and nodes papers are not listed by (a model) give nothing.
    assert store.papers_by_technique("gpt2") == ([], 0)
    assert store.papers_per_year("no_such_node") == {}
    assert store.cooccurring_techniques("no_such_node") == []


def test_related_candidates(store: GraphStore) -> None:
    vecs = unit_vectors(4, 6)
    store.upsert_papers([
        bundle("a", "Paper A", techniques=("causal_scrubbing", "visualization"), authors=("Ann Lee",),
               vector=vecs[0], models=("gpt2",)),
        bundle("b", "Paper B", techniques=("causal_scrubbing",), vector=vecs[1]),
        bundle("c", "Paper C", techniques=("visualization",), authors=("Ann  Lee",), vector=vecs[2]),
        bundle("d", "Paper D", techniques=("probing",), vector=vecs[3], models=("gpt2",)),
        *[bundle(f"common-{i}", f"Common {i}", techniques=("visualization",)) for i in range(5)],
    ])
    ranked = [c.id for c in store.related_candidates("a")]
    # Sharing the rare causal scrubbing counts more than sharing the common visualization.
    assert ranked.index("b") < ranked.index("common-0")
    assert ranked[-5:] == [f"common-{i}" for i in range(5)]  # equal scores: by id
    cands = {c.id: c for c in store.related_candidates("a")}
    assert set(cands) == {"b", "c", "d", *[f"common-{i}" for i in range(5)]}
    assert cands["b"].shared_techniques == ["causal_scrubbing"]
    assert cands["c"].shared_techniques == ["visualization"]
    assert cands["c"].shared_authors == ["Ann Lee"]
    assert cands["d"].shared_models == ["gpt2"] and cands["d"].shared_techniques == []
    assert [c.id for c in store.related_candidates("a", limit=1)] == [store.related_candidates("a")[0].id]
    assert store.related_candidates("missing") == []


def test_related_candidates_weigh_by_every_paper_touching_a_node(store: GraphStore) -> None:
    """df counts every paper touching a shared node, the paper itself included: x shares the rare
    causal scrubbing (df 2 of 8), y and f0..f4 two common techniques (df 7 each); the two common
    ones outweigh the rare one, and equal scores go by id."""
    store.upsert_papers([
        bundle("p", techniques=("causal_scrubbing", "probing", "sae")),
        bundle("x", techniques=("causal_scrubbing",)),
        bundle("y", techniques=("probing", "sae")),
        *[bundle(f"f{i}", techniques=("probing", "sae")) for i in range(5)],
    ])
    assert [c.id for c in store.related_candidates("p")] == ["f0", "f1", "f2", "f3", "f4", "y", "x"]


def test_keyword_search_keeps_stop_words_and_folds_accents(store: GraphStore) -> None:
    """Every word is searchable, "not" and "the" too (no stop-word list in either index), and
    accents are folded in the text and in the query."""
    store.upsert_papers([
        bundle("s1", "OR AND NOT the circuit", abstract="words"),
        bundle("s2", "Naïve Bayes probes", abstract="Ångström scale"),
    ])
    assert [h.id for h in store.keyword_search("not", 5)] == ["s1"]
    assert [h.id for h in store.keyword_search("NOT", 5)] == ["s1"]
    assert [h.id for h in store.keyword_search("the", 5)] == ["s1"]
    assert [h.id for h in store.keyword_search("naive", 5)] == ["s2"]
    assert [h.id for h in store.keyword_search("naïve", 5)] == ["s2"]
    assert [h.id for h in store.keyword_search("angstrom", 5)] == ["s2"]


def test_keyword_search_folds_letters_with_a_stroke_and_ligatures(store: GraphStore) -> None:
    """Letters Unicode does not decompose (ø, ł, đ; æ, œ, ß) match their usual ASCII spelling, in the
    text and in the query alike: "Sogaard" finds "Anders Søgaard" and "Søgaard" finds "Sogaard"."""
    store.upsert_papers([
        bundle("d1", "Probing syntax", authors=("Anders Søgaard",)),
        bundle("d2", "Attention is all you need", authors=("Łukasz Kaiser",)),
        bundle("d3", "Œuvre complète", abstract="Ærø island studies", authors=("Đorđe Straße",)),
        bundle("d4", "Another paper", authors=("Anders Sogaard",)),
        bundle("d5", "Encyclopædia of circuits", abstract="Naïve Bayes"),
    ])

    def found(query: str) -> set[str]:
        return {h.id for h in store.keyword_search(query, 10)}

    assert found("Sogaard") == found("Søgaard") == found("SØGAARD") == {"d1", "d4"}
    assert found("Lukasz") == found("łukasz") == {"d2"}
    assert found("oeuvre") == found("Œuvre") == found("aero") == {"d3"}
    assert found("Dorde") == found("strasse") == found("Straße") == {"d3"}
    assert found("Encyclopaedia") == found("encyclopædia") == {"d5"}
    assert found("naive") == found("naïve") == {"d5"}  # ordinary accents as before


def test_keyword_search_finds_words_joined_by_punctuation(store: GraphStore) -> None:
    """Words joined by an apostrophe, a full stop or "_" are words of their own ("Neill" finds
    "O'Neill", "github" finds "github.com", "superposition" finds "i.e.superposition"), as the embedded
    store's FTS5 index cuts them; on Neo4j the analyzer alone would keep each a single token. The
    whole word or phrase still matches."""
    store.upsert_papers([
        bundle("j1", "Probing GPT-3.5 features", authors=("Conor O'Neill",),
               abstract="Code at github.com/acme/probe (i.e.superposition)."),
        bundle("j2", "The model’s attention heads", abstract="We didn't find induction heads."),
        bundle("j3", "Unrelated paper", abstract="Names in snake_case such as foo_bar."),
        bundle("j4", "Other work", abstract="Plain text without any of those words."),
    ])

    def found(query: str) -> set[str]:
        return {h.id for h in store.keyword_search(query, 10)}

    assert found("Neill") == found("O'Neill") == found("o’neill") == {"j1"}
    assert found("github") == found("github.com") == found("acme") == {"j1"}
    assert found("superposition") == found("3.5") == {"j1"}
    assert found("model") == found("model's") == {"j2"}
    assert found("didn't") == found("didn") == {"j2"}
    assert found("snake") == found("snake_case") == found("foo_bar") == found("bar") == {"j3"}
    assert found("case_snake") == set()  # a word FTS5 cuts at "_" is its words in that order


def test_keyword_search(store: GraphStore) -> None:
    store.upsert_papers([
        bundle("k1", "Towards monosemanticity with sparse autoencoders",
               abstract="Dictionary learning decomposes activations into features.",
               authors=("Trenton Bricken",)),
        bundle("k2", "Interpretability in the wild", abstract="A circuit for indirect object identification.",
               authors=("Kevin Wang",)),
        bundle("k3", "Probing classifiers", abstract="Linear probes read features from hidden states; "
               "we do not use sparse autoencoders.", authors=("Yonatan Belinkov",)),
    ])
    hits = store.keyword_search("sparse autoencoders", 10)
    assert [h.id for h in hits][:2] == ["k1", "k3"]  # title match ranks first
    assert all(a.score >= b.score for a, b in itertools.pairwise(hits))
    assert all(h.score > 0 for h in hits)
    assert [h.id for h in store.keyword_search("Belinkov", 10)] == ["k3"]  # authors are searched
    assert [h.id for h in store.keyword_search("INDIRECT object", 10)] == ["k2"]
    assert {h.id for h in store.keyword_search("features", 10)} == {"k1", "k3"}
    # A short query's words also match in their other number ("circuits" -> "circuit").
    assert [h.id for h in store.keyword_search("circuits", 10)] == ["k2"]
    assert [h.id for h in store.keyword_search("linear probe", 10)] == ["k3"]
    assert {h.id for h in store.keyword_search("autoencoder", 10)} == {"k1", "k3"}
    assert len(store.keyword_search("features", 1)) == 1
    assert store.keyword_search("zzzunknownword", 10) == []
    assert store.keyword_search("   ", 10) == []


def test_a_title_match_outranks_an_abstract_repeating_the_words(store: GraphStore) -> None:
    """Both backends weigh a match in the title 5x one in the abstract (authors 2x: the embedded store's
    bm25() column weights, kg.cypher.FULLTEXT_WEIGHTS): the query's words once in a title outrank them
    twice in an abstract of the usual length. Unweighted, the abstract's two matches won."""
    store.upsert_papers([
        bundle("in-abstract", "Decomposing the activations of language model layers",
               abstract="We train a sparse dictionary on the activations of each layer, then a second "
                        "sparse dictionary on the residual errors the first one leaves behind."),
        bundle("in-title", "Sparse dictionary learning of language model features",
               abstract="We decompose the activations of a small transformer into many interpretable "
                        "directions and study how often each of them fires on held out text."),
        # Papers without the words, so that the words are rare (FTS5's idf is ~0 for a word in half).
        *[bundle(f"neither-{i}", f"Probing classifiers for syntax in small transformers, part {i}",
                 abstract="Linear probes read the part of speech of each token from the hidden states of "
                          "a small model trained on English text with a standard objective.")
          for i in range(4)],
    ])
    hits = store.keyword_search("sparse dictionary", 10)
    assert [h.id for h in hits] == ["in-title", "in-abstract"]
    assert hits[0].score > hits[1].score


def test_equal_keyword_scores_go_by_id(store: GraphStore) -> None:
    """Papers a query scores alike come by id, not in insertion order (the order of paper_ids), at any k
    and with filters, so a store loaded in another order ranks them alike; a rewritten paper keeps its
    place among them (Neo4j's index re-adds it, so its own order among equal scores changes)."""
    same = {"title": "Attribution graphs",
            "abstract": "Attribution patching approximates activation patching."}
    store.upsert_papers([bundle("t-c", **same), bundle("t-a", **same)])
    store.upsert_papers([bundle("t-b", **same)])
    expected = ["t-a", "t-b", "t-c"]
    hits = store.keyword_search("attribution", 10)
    assert [h.id for h in hits] == expected
    assert len({h.score for h in hits}) == 1
    assert [h.id for h in store.keyword_search("attribution", 1)] == ["t-a"]
    assert [h.id for h in store.keyword_search("attribution", 2)] == ["t-a", "t-b"]
    store.upsert_papers([bundle("t-c", sources=("arxiv", "list"), **same)])  # rewritten, same text
    assert store.paper_ids() == ["t-c", "t-a", "t-b"]
    assert [h.id for h in store.keyword_search("attribution", 10)] == expected
    assert [h.id for h in store.keyword_search("attribution", 1)] == ["t-a"]
    assert [h.id for h in store.keyword_search("attribution", 10, SearchFilters(year_from=2000))] == expected
    assert [h.id for h in store.keyword_search("attribution", 1, SearchFilters(year_from=2000))] == ["t-a"]


def test_vector_search_equals_brute_force(store: GraphStore, backend: str) -> None:
    n = 400
    vecs = unit_vectors(n, 7)
    ids = [f"v{i:04d}" for i in range(n)]
    store.upsert_papers([
        bundle(ids[i], vector=vecs[i], techniques=(("probing",) if i % 3 == 0 else ("sae",)),
               year=2010 + i % 15)
        for i in range(n)
    ])
    queries = unit_vectors(25, 8)
    recalls = []
    for q in queries:
        expected = brute_force(vecs, ids, q, 10)
        got = store.vector_search(q, 10)
        if backend == "embedded":
            assert [g.id for g in got] == [e[0] for e in expected]
            np.testing.assert_allclose([g.score for g in got], [e[1] for e in expected], atol=1e-5)
        else:
            recalls.append(len({g.id for g in got} & {e[0] for e in expected}) / 10)
            assert all(a.score >= b.score for a, b in itertools.pairwise(got))
        # Filters: the same as brute force over the papers that pass them.
        keep = [i for i in range(n) if i % 3 == 0 and 2015 <= 2010 + i % 15 <= 2020]
        expected_f = brute_force(vecs[keep], [ids[i] for i in keep], q, 5)
        flt = SearchFilters(technique_ids=["probing"], year_from=2015, year_to=2020)
        got_f = store.vector_search(q, 5, flt)
        if backend == "embedded":
            assert [g.id for g in got_f] == [e[0] for e in expected_f]
        else:
            assert {g.id for g in got_f} <= {ids[i] for i in keep}
    if recalls:
        assert np.mean(recalls) >= 0.9
    # A query equal to a stored vector finds it with cosine 1; k larger than the corpus returns all.
    top = store.vector_search(vecs[17], 1)[0]
    assert top.id == ids[17] and top.score == pytest.approx(1.0, abs=1e-5)
    assert len(store.vector_search(queries[0], n + 50)) == n


def _filter_corpus(store: GraphStore) -> np.ndarray:
    vecs = unit_vectors(6, 9)
    sec_features = ListRow("findings-and-applications/findings-on-features", "Findings on Features",
                           ["Findings and Applications", "Findings on Features"])
    sec_dyn = ListRow("findings-and-applications/learning-dynamics", "Learning Dynamics",
                      ["Findings and Applications", "Learning Dynamics"])
    sec_tools = ListRow("tools", "Tools", ["Tools"])
    store.upsert_papers([
        bundle("f1", "Features paper", abstract="features", techniques=("sae",), year=2022,
               sources=("list",), rows=(sec_features,), vector=vecs[0]),
        bundle("f2", "Dynamics paper", abstract="features", techniques=("activation_patching",), year=2023,
               sources=("list", "arxiv"), rows=(sec_dyn,), vector=vecs[1], evaluations=("faithfulness",)),
        bundle("f3", "Superposition paper", abstract="features", techniques=("probing",), year=2024,
               sources=("arxiv",), vector=vecs[2], findings=(
                   Finding("f3#1", "Superposition exists.",
                           about=[FindingAbout(Label.TOPIC, "superposition")]),
                   Finding("f3#2", "Induction heads form.",
                           about=[FindingAbout(Label.COMPONENT, "induction_head")]))),
        bundle("f4", "Tool paper", abstract="features", year=2020, sources=("records",),
               rows=(sec_tools,), vector=vecs[3], evaluations=("automated_explanation_score",), findings=(
                   Finding("f4#1", "Attention heads move names.",
                           about=[FindingAbout(Label.COMPONENT, "mha")]),)),
        bundle("f5", "Steering paper", abstract="features", techniques=("steering_vector",), year=2024,
               sources=("arxiv",), vector=vecs[4], findings=(
                   Finding("f5#1", "Steering works.",
                           about=[FindingAbout(Label.TOPIC, "lm_generation_steering")]),)),
        bundle("f6", "Undated paper", abstract="features", year=None, sources=("arxiv",), vector=vecs[5],
               models=("pythia",), findings=(
                   Finding("f6#1", "GPT-2 small reuses it.", about=[FindingAbout(Label.MODEL, "gpt2")]),
                   Finding("f6#2", "Neurons fire.", about=[FindingAbout(Label.COMPONENT, "neuron")]))),
    ])
    return vecs


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (SearchFilters(technique_ids=["cma"]), {"f2"}),
        (SearchFilters(technique_ids=["cma"], include_refinements=False), set()),
        (SearchFilters(technique_ids=["sae", "probing"]), {"f1", "f3"}),
        # The technique filter takes evaluation criteria too, with their refinements.
        (SearchFilters(technique_ids=["faithfulness"]), {"f2", "f4"}),
        (SearchFilters(technique_ids=["faithfulness"], include_refinements=False), {"f2"}),
        (SearchFilters(technique_ids=["faithfulness", "sae"]), {"f1", "f2", "f4"}),
        (SearchFilters(technique_ids=["faithfulness"], year_from=2021), {"f2"}),
        (SearchFilters(topic_ids=["superposition"]), {"f3"}),
        (SearchFilters(topic_ids=["learning_dynamics"]), {"f2"}),  # via the list section
        (SearchFilters(topic_ids=["applications"]), {"f5"}),  # via a refining topic
        (SearchFilters(topic_ids=["applications"], include_refinements=False), set()),
        (SearchFilters(section_ids=["tools"]), {"f4"}),
        (SearchFilters(section_ids=["findings-and-applications"]), {"f1", "f2"}),  # a parent section
        (SearchFilters(section_ids=["findings-and-applications/findings-on-features"]), {"f1"}),
        (SearchFilters(section_ids=["findings"]), set()),  # not a path prefix
        (SearchFilters(year_from=2023), {"f2", "f3", "f5"}),
        (SearchFilters(year_to=2022), {"f1", "f4"}),
        (SearchFilters(year_from=2022, year_to=2023), {"f1", "f2"}),
        (SearchFilters(sources=["list"]), {"f1", "f2"}),
        (SearchFilters(sources=["records", "list"]), {"f1", "f2", "f4"}),
        (SearchFilters(sources=["arxiv"], year_from=2024), {"f3", "f5"}),
        (SearchFilters(technique_ids=["sae"], sources=["arxiv"]), set()),
        (SearchFilters(technique_ids=["cma", "probing"], year_from=2024), {"f3"}),
        (SearchFilters(technique_ids=["cma", "probing"], include_refinements=False), {"f3"}),
        (SearchFilters(topic_ids=["superposition", "learning_dynamics"]), {"f2", "f3"}),
        (SearchFilters(topic_ids=["learning_dynamics"], section_ids=["findings-and-applications"]), {"f2"}),
        (SearchFilters(section_ids=["tools", "findings-and-applications"], sources=["list"]), {"f1", "f2"}),
        (SearchFilters(technique_ids=["sae", "steering_vector"], topic_ids=["applications"],
                       year_from=2024, year_to=2024, sources=["arxiv"]), {"f5"}),
        # A model: papers studying it (STUDIES) or reporting a finding about it.
        (SearchFilters(model_ids=["pythia"]), {"f6"}),
        (SearchFilters(model_ids=["gpt2"]), {"f6"}),
        (SearchFilters(model_ids=["gpt2", "llama"]), {"f6"}),
        (SearchFilters(model_ids=["llama"]), set()),
        (SearchFilters(model_ids=["pythia"], year_from=2020), set()),
        (SearchFilters(model_ids=["pythia"], sources=["arxiv"]), {"f6"}),
        # A component: papers reporting a finding about it or, unless refinements=false, about one of its
        # sub-components (induction_head and neuron have the parents mha and ff).
        (SearchFilters(component_ids=["induction_head"]), {"f3"}),
        (SearchFilters(component_ids=["mha"]), {"f3", "f4"}),
        (SearchFilters(component_ids=["mha"], include_refinements=False), {"f4"}),
        (SearchFilters(component_ids=["ff"]), {"f6"}),
        (SearchFilters(component_ids=["ff"], include_refinements=False), set()),
        (SearchFilters(component_ids=["induction_head", "neuron"]), {"f3", "f6"}),
        (SearchFilters(component_ids=["rs"]), set()),
        (SearchFilters(component_ids=["gpt2"]), set()),  # a model's finding is no component's
        (SearchFilters(component_ids=["mha"], year_from=2021), {"f3"}),
        (SearchFilters(component_ids=["mha"], topic_ids=["superposition"]), {"f3"}),
        (SearchFilters(component_ids=["ff"], model_ids=["gpt2"]), {"f6"}),
        (SearchFilters(component_ids=["mha"], model_ids=["gpt2"]), set()),
        (SearchFilters(), {"f1", "f2", "f3", "f4", "f5", "f6"}),
    ],
)
def test_filters(store: GraphStore, filters: SearchFilters, expected: set[str]) -> None:
    vecs = _filter_corpus(store)
    assert store.filter_ids(filters) == expected
    assert {h.id for h in store.keyword_search("features", 10, filters)} == expected
    assert {h.id for h in store.vector_search(vecs[0], 10, filters)} == expected
    page, total = store.filter_page(filters, limit=100)
    assert total == len(expected)
    assert page == [p.id for p in newest_first(store.get_papers(sorted(expected)))]


def _match_corpus(store: GraphStore) -> None:
    """Papers using A (sae), B (activation_patching), both, a refinement of A (transcoder) with B, A with a
    criterion refining faithfulness, and nothing; each abstract holds the words the searches look for."""
    embedder = HashEmbedder()
    papers = [
        ("m-a", ("sae",), (), 2024), ("m-b", ("activation_patching",), (), 2024),
        ("m-ab", ("sae", "activation_patching"), (), 2024),
        ("m-refined-ab", ("transcoder", "activation_patching"), (), 2022),
        ("m-a-criterion", ("sae",), ("automated_explanation_score",), 2023), ("m-none", (), (), 2024),
    ]
    abstract = "We study circuits of features in language models."
    store.upsert_papers([
        bundle(pid, f"Circuits of features {pid}", abstract=abstract, techniques=techniques,
               evaluations=evaluations, year=year, vector=embedder.encode_query(f"{pid} {abstract}"))
        for pid, techniques, evaluations, year in papers
    ])


_A_B = ["sae", "activation_patching"]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        # Any: the union.
        (SearchFilters(technique_ids=_A_B, technique_match="any"),
         {"m-a", "m-b", "m-ab", "m-refined-ab", "m-a-criterion"}),
        # All: each id, or a refinement of it.
        (SearchFilters(technique_ids=_A_B, technique_match="all"), {"m-ab", "m-refined-ab"}),
        (SearchFilters(technique_ids=_A_B[::-1], technique_match="all"), {"m-ab", "m-refined-ab"}),
        (SearchFilters(technique_ids=_A_B, technique_match="all", include_refinements=False), {"m-ab"}),
        # A parent of B (cma): B's papers pass through the refinement, unless refinements are left out.
        (SearchFilters(technique_ids=["cma", "sae"], technique_match="all"), {"m-ab", "m-refined-ab"}),
        (SearchFilters(technique_ids=["cma", "sae"], technique_match="all", include_refinements=False),
         set()),
        # An evaluation criterion is matched as the any filter matches it: EVALUATES, with refinements.
        (SearchFilters(technique_ids=["sae", "faithfulness"], technique_match="all"), {"m-a-criterion"}),
        (SearchFilters(technique_ids=["faithfulness", "sae"], technique_match="all",
                       include_refinements=False), set()),
        (SearchFilters(technique_ids=["sae", "faithfulness", "activation_patching"], technique_match="all"),
         set()),
        # One id: all is any.
        (SearchFilters(technique_ids=["sae"], technique_match="all"),
         {"m-a", "m-ab", "m-refined-ab", "m-a-criterion"}),
        # With the other filters, AND'ed as before.
        (SearchFilters(technique_ids=_A_B, technique_match="all", year_from=2023), {"m-ab"}),
        (SearchFilters(technique_ids=_A_B, technique_match="all", year_to=2022), {"m-refined-ab"}),
        # technique_match alone is no filter.
        (SearchFilters(technique_match="all", year_to=2022), {"m-refined-ab"}),
    ],
)
def test_the_technique_filter_matches_any_or_all_of_its_ids(
    store: GraphStore, taxonomy: Taxonomy, filters: SearchFilters, expected: set[str]
) -> None:
    _match_corpus(store)
    assert store.filter_ids(filters) == expected
    assert {h.id for h in store.keyword_search("features", 10, filters)} == expected
    query = HashEmbedder().encode_query("circuits of features")
    assert {h.id for h in store.vector_search(query, 10, filters)} == expected
    page, total = store.filter_page(filters, limit=100)
    assert (page, total) == ([p.id for p in newest_first(store.get_papers(sorted(expected)))], len(expected))
    # Every search mode, and the filter-only listing, over kg.search.
    for q, mode in (("", "hybrid"), ("features circuits", "keyword"), ("features circuits", "semantic"),
                    ("features circuits", "hybrid")):
        found = search(store, q, mode=mode, filters=filters, limit=20, embedder=HashEmbedder(),
                       taxonomy=taxonomy)
        assert {h.id for h in found.results} == expected, (q, mode)


def test_all_techniques_with_a_query_naming_another_technique(store: GraphStore, taxonomy: Taxonomy) -> None:
    """A query that only names a technique lists the papers using it (or a refinement) first; with
    technique_match "all" and no technique filter, any node of the named technique's family still counts."""
    _match_corpus(store)
    for match in ("any", "all"):
        page = search(store, "sparse autoencoder", mode="hybrid", limit=20, embedder=HashEmbedder(),
                      taxonomy=taxonomy, filters=SearchFilters(year_from=2000, technique_match=match))
        assert (page.using_first, page.not_tagged) == (["sae"], []), match
        tagged = {h.id for h in page.results[:4]}
        assert tagged == {"m-a", "m-ab", "m-refined-ab", "m-a-criterion"}, match


def test_facet_counts_keep_the_technique_match(store: GraphStore) -> None:
    """An empty answer names each filter alone with its count: the technique filter as asked (all of them)."""
    _match_corpus(store)
    both = SearchFilters(technique_ids=_A_B, technique_match="all", year_from=2030)
    assert filter_facet_counts(store, both) == [
        ("technique sae and activation_patching", 2), ("years 2030-", 0)]
    either = dataclasses.replace(both, technique_match="any")
    assert filter_facet_counts(store, either) == [
        ("technique sae, activation_patching", 5), ("years 2030-", 0)]


def test_technique_match_is_any_by_default_and_one_of_any_or_all() -> None:
    """Any is the filter as it always was (the union); a value the stores do not know never reaches them."""
    assert SearchFilters(technique_ids=_A_B).technique_match == "any"
    with pytest.raises(ValueError, match="technique_match must be one of any, all, not 'every'"):
        SearchFilters(technique_ids=_A_B, technique_match="every")


def newest_first(papers: list[Paper]) -> list[Paper]:
    """The order of an empty-query browse: published date, else the year, then id, all descending."""
    return sorted(papers, key=lambda p: (p.published or (str(p.year) if p.year else ""), p.id), reverse=True)


# (id, published, year): ties on the date, a year without a date, an empty date, a year 0, neither.
_DATED = [
    ("a1", "2024-03-01", 2024), ("a2", "2024-03-01", 2024), ("b", None, 2024), ("c", "", 2023),
    ("d", "2023-12-31", 2023), ("e1", None, None), ("e2", None, None), ("a0", None, 0),
    ("old", "1999-07-01", 1999), ("z", "2024-03-01", 2024),
]
# Newest first; "c" sorts by its year ("2023" < "2023-12-31"), the year 0 of "a0" counts as no date.
_DATED_ORDER = ["z", "a2", "a1", "b", "d", "c", "old", "e2", "e1", "a0"]


def _dated_corpus(store: GraphStore) -> None:
    bundles = []
    for i, (pid, published, year) in enumerate(_DATED):
        b = bundle(pid, year=year, techniques=("probing",) if i % 2 else ("sae",),
                   sources=("arxiv",) if i % 3 else ("list", "arxiv"))
        b.paper.published = published  # as given: bundle() would fill in a date
        bundles.append(b)
    store.upsert_papers(bundles[5:])  # insertion order differs from the id order
    store.upsert_papers(bundles[:5])


def test_filter_page_orders_newest_first_with_ties_and_missing_dates(store: GraphStore) -> None:
    _dated_corpus(store)
    assert [p.id for p in newest_first(store.get_papers([d[0] for d in _DATED]))] == _DATED_ORDER
    assert store.filter_page(SearchFilters(), limit=100) == (_DATED_ORDER, len(_DATED))
    by_id = {pid: (year, i) for i, (pid, _, year) in enumerate(_DATED)}
    for filters, keep in [
        (SearchFilters(year_from=2023), lambda pid: (by_id[pid][0] or 0) >= 2023),
        (SearchFilters(year_to=2023), lambda pid: by_id[pid][0] is not None and by_id[pid][0] <= 2023),
        (SearchFilters(technique_ids=["probing"]), lambda pid: by_id[pid][1] % 2 == 1),
        (SearchFilters(technique_ids=["sae", "probing"]), lambda pid: True),
        (SearchFilters(sources=["list"]), lambda pid: by_id[pid][1] % 3 == 0),
        (SearchFilters(sources=["list"], technique_ids=["sae"]),
         lambda pid: by_id[pid][1] % 3 == 0 and by_id[pid][1] % 2 == 0),
    ]:
        expected = [pid for pid in _DATED_ORDER if keep(pid)]
        assert expected, filters
        assert store.filter_page(filters, limit=100) == (expected, len(expected)), filters


def test_filter_page_pages(store: GraphStore) -> None:
    _dated_corpus(store)
    everything = SearchFilters(sources=["arxiv"])
    n = len(_DATED_ORDER)
    for limit in (1, 3, 4, n, n + 5):
        pages = [store.filter_page(everything, limit=limit, offset=o) for o in range(0, n, limit)]
        assert [pid for page, _ in pages for pid in page] == _DATED_ORDER, limit
        assert {total for _, total in pages} == {n}
    for offset in range(n + 3):
        assert store.filter_page(everything, limit=2, offset=offset) == (_DATED_ORDER[offset:offset + 2], n)
    assert store.filter_page(everything, limit=0) == ([], n)
    assert store.filter_page(everything, limit=0, offset=3) == ([], n)
    assert store.filter_page(everything, limit=5, offset=n) == ([], n)
    assert store.filter_page(everything, limit=5, offset=10**6) == ([], n)
    assert store.filter_page(SearchFilters(year_from=3000), limit=5) == ([], 0)
    for limit, offset in ((-1, 0), (5, -1)):
        with pytest.raises(ValueError, match="limit and offset"):
            store.filter_page(everything, limit=limit, offset=offset)
    # Defaults: the first 20.
    assert store.filter_page(everything) == (_DATED_ORDER, n)


def test_filter_page_orders_rare_and_common_matches_alike(store: GraphStore) -> None:
    """A filter matching a few papers of many and one matching most give the same order (a
    store may pick another plan for each)."""
    _dated_corpus(store)
    store.upsert_papers([bundle(f"fill-{i:03d}", year=2010 + i % 5, techniques=("knockout",),
                                published=f"{2010 + i % 5}-0{1 + i % 9}-01") for i in range(150)])
    everything, _ = store.filter_page(SearchFilters(sources=["arxiv"]), limit=1000)
    assert len(everything) == 160
    assert everything == [p.id for p in newest_first(store.get_papers(everything))]
    for filters in (SearchFilters(technique_ids=["probing"]), SearchFilters(year_from=2024),
                    SearchFilters(technique_ids=["sae"], sources=["list"]),
                    SearchFilters(technique_ids=["knockout", "probing"]), SearchFilters(year_to=2023)):
        expected = [pid for pid in everything if pid in store.filter_ids(filters)]
        assert store.filter_page(filters, limit=1000) == (expected, len(expected)), filters
        assert store.filter_page(filters, limit=2, offset=1) == (expected[1:3], len(expected)), filters


def test_filter_page_follows_writes_and_deletes(store: GraphStore) -> None:
    _dated_corpus(store)
    store.delete_paper("z")
    store.upsert_papers([bundle("new", year=2025, published="2025-01-01", techniques=("probing",))])
    expected = ["new", *[pid for pid in _DATED_ORDER if pid != "z"]]
    assert store.filter_page(SearchFilters(sources=["arxiv"]), limit=100) == (expected, len(expected))
    moved = bundle("e1", year=2030, published="2030-06-01")  # an undated paper gets a date
    store.upsert_papers([moved])
    page, total = store.filter_page(SearchFilters(year_from=2000), limit=2)
    assert (page, total) == (["e1", "new"], 7)


def test_unicode_and_very_long_abstracts(store: GraphStore) -> None:
    long_abstract = ("Mechanistic interpretability of transformers. " * 2200) + "finalword"
    assert len(long_abstract.encode("utf-8")) > 100_000
    title = "Naïve Übersetzung: 機械的解釈可能性 and émojis 🧠 in العربية"
    vec = unit_vectors(1, 10)[0]
    store.upsert_papers([
        bundle("u1", title, abstract=long_abstract, authors=("Zoë Ångström", "李雷"), vector=vec),
    ])
    d = store.get_paper("u1")
    assert d.paper.title == title
    assert d.paper.abstract == long_abstract
    assert d.paper.authors == ["Zoë Ångström", "李雷"]
    assert [h.id for h in store.keyword_search("finalword", 5)] == ["u1"]
    assert [h.id for h in store.keyword_search("Übersetzung", 5)] == ["u1"]
    assert [h.id for h in store.keyword_search("naive", 5)] == ["u1"]  # diacritics folded
    assert [h.id for h in store.keyword_search("Ångström", 5)] == ["u1"]
    assert store.upsert_papers([
        bundle("u1", title, abstract=long_abstract, authors=("Zoë Ångström", "李雷"), vector=vec),
    ]) == {"u1": "unchanged"}


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda b: setattr(b.paper, "title", ""), "missing title"),
        (lambda b: setattr(b.paper, "title", "   "), "missing title"),
        (lambda b: setattr(b.paper, "embedding", np.ones(128, dtype=np.float32)), "shape"),
        (lambda b: setattr(b.paper, "embedding", np.full(EMBEDDING_DIM, np.nan, dtype=np.float32)), "NaN"),
        # Cosine similarity is undefined for it (Neo4j's vector.similarity.cosine fails on it).
        (lambda b: setattr(b.paper, "embedding", np.zeros(EMBEDDING_DIM, dtype=np.float32)), "zero vector"),
        (lambda b: setattr(b.paper, "abstract", "broken \udc80 surrogate"), "UTF-8"),
        (lambda b: b.paper.authors.append("bad \ud800 author"), "UTF-8"),
        (lambda b: b.techniques.append(TechniqueUse("not_a_technique", "extracted")), "not_a_technique"),
        (lambda b: b.techniques.append(TechniqueUse("probing", "guessed")), "source"),
        (lambda b: b.techniques.append(TechniqueUse(None, "extracted")), "technique is missing"),
        (lambda b: b.findings.append(Finding(id=None, text="We find heads.")), "finding id is missing"),
        (lambda b: b.findings.append(Finding(id="f1", text="We find heads.",
                                             about=[FindingAbout("Topic", "")])), "finding about is missing"),
        (lambda b: b.list_rows.append(ListRow(section_id=None, section_title="Tools",
                                              section_path=["Tools"])), "section id is missing"),
        (lambda b: b.models.append(None), "model is missing"),
        (lambda b: b.paper.authors.append(None), "authors is missing"),
    ],
)
def test_bad_input_raises_naming_the_record_and_writes_nothing(
    store: GraphStore, mutate: Any, message: str
) -> None:
    vecs = unit_vectors(3, 11)
    store.upsert_papers([bundle("ok-0", "Existing paper", vector=vecs[0])])
    before = store.stats()
    bad = bundle("bad-paper", "Bad paper", vector=vecs[1])
    mutate(bad)
    good = bundle("ok-1", "Good paper in the same batch", vector=vecs[2], techniques=("sae",))
    with pytest.raises(ValueError, match="bad-paper") as info:
        store.upsert_papers([good, bad])
    assert message in str(info.value)
    assert store.stats() == before
    assert store.get_paper("ok-1") is None
    assert store.paper_ids() == ["ok-0"]
    assert [h.id for h in store.vector_search(vecs[2], 5)] == ["ok-0"]


@pytest.mark.parametrize(
    "query",
    [
        "') OR 1=1 --", '" MATCH (n) DETACH DELETE n //', "NEAR(a b)", "title:x*", '^"', '"', "*",
        "AND OR NOT", "a AND", "(((", "'; DROP TABLE papers; --", "col:val", "-circuit", "+probing",
        "\\", "\x00", "🧠" * 2500, "語" * 10_000, " ".join(f"w{i}" for i in range(3000)),
    ],
)
def test_hostile_keyword_queries_are_plain_words(store: GraphStore, query: str) -> None:
    store.upsert_papers([
        bundle("h1", "Circuit discovery with probing", abstract="OR AND NOT NEAR title x"),
        bundle("h2", "Another paper", abstract="nothing special"),
    ])
    before = store.stats()
    hits = store.keyword_search(query, 10)
    assert all(h.id in {"h1", "h2"} for h in hits)
    assert store.stats() == before
    assert sorted(store.paper_ids()) == ["h1", "h2"]
    assert store.keyword_search(query, 10, SearchFilters(year_from=1900)) == hits


def test_operator_words_match_literally(store: GraphStore) -> None:
    store.upsert_papers([
        bundle("o1", "NEAR the circuit", abstract="words"),
        bundle("o2", "Something else", abstract="words"),
    ])
    assert [h.id for h in store.keyword_search("NEAR", 5)] == ["o1"]
    assert [h.id for h in store.keyword_search("circuit*", 5)] == ["o1"]


# -- common_words: a word more than half of the papers have (kg.store.common_word_limit) ---------------

def test_a_word_in_more_than_half_of_the_papers_is_common(store: GraphStore) -> None:
    """"models" is in 3 of 4 papers (one says "model": the same word), "circuits" in 2 (half: not
    more), "honesty" in 1, its title only; a name counts in the authors too."""
    store.upsert_papers([
        bundle("a", "Circuits in language models", abstract="We study a model of honesty.",
               authors=("Jane Model",)),
        bundle("b", "Probing models", abstract="Models lie."),
        bundle("c", "A circuit for truth", abstract="A single model suffices."),
        bundle("d", "Honesty directions", abstract="Directions in activation space."),
    ])
    assert store.common_words(["models", "circuits", "honesty", "zqxj"]) == {"models"}
    assert store.common_words(["Model"]) == {"Model"}  # as typed, in the other number
    assert store.common_words(["circuit", "direction"]) == set()
    assert store.common_words([]) == set()
    assert store.delete_paper("d")
    assert store.common_words(["circuits", "models"]) == {"circuits", "models"}  # 2 of 3 now
    store.upsert_papers([bundle("e", "Honesty"), bundle("f", "Truth"), bundle("g", "Lies")])
    assert store.common_words(["circuits", "models"]) == set()  # 2 and 3 of 6


def test_an_empty_store_has_no_common_word(empty: GraphStore) -> None:
    assert empty.common_words(["models"]) == set()


def test_common_words_count_every_form_keyword_search_matches(store: GraphStore) -> None:
    """The other spelling ("behavior" for "behaviour"), the word joined or hyphenated as papers also
    write it ("pre-trained" for "pretrained"): each paper keyword search finds by the word alone counts,
    in the title, abstract or authors but not the venue."""
    bundles = [
        bundle("a", "Model behavior", abstract="A pre-trained network."),
        bundle("b", "Steering behavior", abstract="Pre-trained weights."),
        bundle("c", "Probing", abstract="The behaviour of pre-trained heads."),
        bundle("d", "Other", abstract="Nothing here."),
        bundle("e", "More", abstract="Nothing at all."),
    ]
    for b in bundles[3:]:
        b.paper.venue = "Pretrained Behaviour Workshop"
    store.upsert_papers(bundles)
    assert {h.id for h in store.keyword_search("behaviour", 10)} >= {"a", "b", "c"}
    assert store.common_words(["behaviour", "behavior", "pretrained", "other"]) == {
        "behaviour", "behavior", "pretrained"}
    # Counted up to the limit (3 of 5 papers), whatever the word's matches beyond it.
    assert store._text_matches("behaviour", 2) == 2
    assert store._text_matches("behaviour", 10) == 3
    assert store._text_matches("zqxj", 3) == 0


def test_runs_and_watermark(store: GraphStore) -> None:
    assert store.last_watermark("arxiv") is None
    first = store.start_run("arxiv")
    assert first.status == "running" and first.source == "arxiv" and first.started
    store.finish_run(first.id, "succeeded", {"new": 3, "updated": 1}, watermark="2026-11-01T00:00:00Z")
    second = store.start_run("arxiv")
    store.finish_run(second.id, "failed", {"new": 0}, watermark="2026-11-20T00:00:00Z", message="boom")
    other = store.start_run("list")
    assert store.last_watermark("arxiv") == "2026-11-01T00:00:00Z"
    assert store.last_watermark("list") is None
    runs = store.runs()
    assert [r.id for r in runs] == [other.id, second.id, first.id]
    assert runs[0].status == "running" and runs[0].finished is None
    assert runs[1].status == "failed" and runs[1].watermark is None and runs[1].message == "boom"
    assert runs[2].counts == {"new": 3, "updated": 1} and runs[2].finished
    assert [r.id for r in store.runs("arxiv")] == [second.id, first.id]
    assert [r.id for r in store.runs(limit=1)] == [other.id]
    # A status filter in the store, so the newest success is found however many runs failed after it.
    assert [r.id for r in store.runs(status="failed")] == [second.id]
    assert [r.id for r in store.runs("arxiv", 1, status="succeeded")] == [first.id]
    assert store.runs("list", status="succeeded") == []
    third = store.start_run("arxiv")
    store.finish_run(third.id, "succeeded", {}, watermark="2026-11-24T00:00:00Z")
    assert store.last_watermark("arxiv") == "2026-11-24T00:00:00Z"
    assert store.stats()["nodes"]["IngestRun"] == 4


# Papers and runs as a paperkg from before insertion numbers and folded search text wrote them, oldest
# first: (id, title, abstract, authors, first_seen) and (name, source, started, status, watermark).
_OLDER_PAPERS = [
    ("o1", "Naïve circuits", "Ångström scale features", ["Zoë Lee"], "2026-01-01T00:00:01.000000+00:00"),
    ("o2", "Probing Việt text", "", [], "2026-01-01T00:00:02.000000+00:00"),
    ("o3", "OR AND NOT the heads", "Induction heads", ["Ann Lee"], "2026-01-01T00:00:02.000000+00:00"),
]
_OLDER_RUNS = [
    ("r1", "arxiv", "2026-11-01T00:00:00.000000+00:00", "succeeded", "2026-11-01T00:00:00Z"),
    ("r2", "arxiv", "2026-11-08T00:00:00.000000+00:00", "succeeded", "2026-11-08T00:00:00Z"),
    ("r3", "arxiv", "2026-11-15T00:00:00.000000+00:00", "failed", None),
    ("r4", "list", "2026-11-16T00:00:00.000000+00:00", "running", None),
]


def _write_as_an_older_paperkg(store: GraphStore, backend: str) -> dict[str, str]:
    """_OLDER_PAPERS and _OLDER_RUNS as an older paperkg left them; the run ids by name. In Neo4j:
    nodes without seq and without search_title/search_abstract/search_authors. The embedded store
    always had both (its pk and FTS5 table): there they are written the ordinary way, in order."""
    if backend == "neo4j":
        from kg.neo4j_store import Neo4jStore

        assert isinstance(store, Neo4jStore)
        store._write(
            "UNWIND $rows AS row CREATE (p:Paper) SET p = row",
            rows=[{"id": pid, "title": title, "abstract": abstract, "authors": authors or None,
                   "authors_text": ", ".join(authors), "first_seen": seen, "last_seen": seen,
                   "year": 2025, "sources": ["arxiv"], "item_type": "paper"}
                  for pid, title, abstract, authors, seen in _OLDER_PAPERS],
        )
        store._write(
            "UNWIND $rows AS row CREATE (r:IngestRun) SET r = row",
            rows=[{"id": name, "source": source, "started": started, "status": status, "counts": "{}",
                   "watermark": watermark, "finished": None if status == "running" else started}
                  for name, source, started, status, watermark in _OLDER_RUNS],
        )
        # An older paperkg never recorded how far init_schema upgraded its data.
        store._write("MATCH (c:Counter {name: 'upgrade'}) DELETE c")
        return {name: name for name, *_ in _OLDER_RUNS}
    for pid, title, abstract, authors, _ in _OLDER_PAPERS:
        store.upsert_papers([bundle(pid, title, abstract=abstract, authors=tuple(authors), year=2025)])
    ids = {}
    for name, source, _, status, watermark in _OLDER_RUNS:
        ids[name] = store.start_run(source).id
        if status != "running":
            store.finish_run(ids[name], status, {}, watermark=watermark)
    return ids


def test_init_schema_upgrades_what_an_older_paperkg_wrote(store: GraphStore, backend: str) -> None:
    """A store an older paperkg wrote works as if this one had: before and after init_schema (run twice:
    it is idempotent) runs list newest first, the newest succeeded run's watermark is the one found (and a
    new run's after it), papers keep their insertion order, and keyword search finds the old papers,
    accents folded (after it). In Neo4j every old node then has an insertion number, below the counter."""
    ids = _write_as_an_older_paperkg(store, backend)
    for upgraded in (False, True):  # the orders hold before init_schema too (a server read meanwhile)
        if upgraded:
            store.init_schema()
            store.init_schema()
        assert [r.id for r in store.runs()] == [ids["r4"], ids["r3"], ids["r2"], ids["r1"]]
        assert [r.id for r in store.runs("arxiv", limit=2)] == [ids["r3"], ids["r2"]]
        assert store.last_watermark("arxiv") == "2026-11-08T00:00:00Z"
        assert store.paper_ids() == ["o1", "o2", "o3"]
    assert [h.id for h in store.keyword_search("naive", 5)] == ["o1"]
    assert [h.id for h in store.keyword_search("angstrom", 5)] == ["o1"]
    assert [h.id for h in store.keyword_search("Zoe", 5)] == ["o1"]  # authors
    assert [h.id for h in store.keyword_search("viet", 5)] == ["o2"]
    assert [h.id for h in store.keyword_search("not", 5)] == ["o3"]
    assert {h.id for h in store.keyword_search("induction", 5)} == {"o3"}
    if backend == "neo4j":
        from kg.neo4j_store import Neo4jStore

        assert isinstance(store, Neo4jStore)
        rows = store._read("MATCH (n:Paper|IngestRun) OPTIONAL MATCH (c:Counter {name: head(labels(n))}) "
                           "RETURN n.id AS id, n.seq AS seq, c.value AS counter")
        assert all(r["seq"] is not None and r["seq"] <= r["counter"] for r in rows), rows
    newer = store.start_run("arxiv")
    store.finish_run(newer.id, "succeeded", {}, watermark="2026-11-22T00:00:00Z")
    assert store.last_watermark("arxiv") == "2026-11-22T00:00:00Z"
    assert store.runs()[0].id == newer.id
    store.upsert_papers([bundle("n1", "Naïve again")])
    assert store.paper_ids() == ["o1", "o2", "o3", "n1"]
    assert {h.id for h in store.keyword_search("naive", 5)} == {"o1", "n1"}


@pytest.mark.parametrize("backend", [pytest.param("neo4j", marks=_NEO4J_SKIP)])
def test_a_replayed_run_start_changes_nothing(store: GraphStore) -> None:
    """The driver runs a transaction again when the answer to its commit is lost: START_RUN sent
    again for a committed run neither fails on the id constraint nor changes the run."""
    from kg import cypher
    from kg.neo4j_store import Neo4jStore

    assert isinstance(store, Neo4jStore)
    run = store.start_run("arxiv")
    store.finish_run(run.id, "succeeded", {"new": 1}, watermark="w")
    store._write(cypher.START_RUN, id=run.id, source="arxiv", started="2000-01-01T00:00:00", seq=10**6)
    assert [(r.id, r.started, r.status, r.watermark, r.counts) for r in store.runs()] == [
        (run.id, run.started, "succeeded", "w", {"new": 1})]
    assert store.stats()["nodes"]["IngestRun"] == 1


def test_locks(store: GraphStore) -> None:
    store.acquire_lock("weekly", "worker-a")
    with pytest.raises(LockHeld, match="worker-a"):
        store.acquire_lock("weekly", "worker-b")
    store.acquire_lock("weekly", "worker-a")  # re-entrant for its owner
    store.release_lock("weekly", "worker-b")  # not the owner: no effect
    with pytest.raises(LockHeld):
        store.acquire_lock("weekly", "worker-b")
    store.acquire_lock("other", "worker-b")  # locks are independent
    store.release_lock("weekly", "worker-a")
    store.acquire_lock("weekly", "worker-b")
    # An expired lock is taken over.
    store.acquire_lock("short", "worker-a", ttl_seconds=0)
    time.sleep(0.05)
    store.acquire_lock("short", "worker-b")
    with pytest.raises(LockHeld):
        store.acquire_lock("short", "worker-a")


def test_lock_held_says_who_holds_it_and_until_when(store: GraphStore) -> None:
    store.acquire_lock("weekly", "worker-a")  # the default TTL: 6 hours
    with pytest.raises(LockHeld, match=r"held by 'worker-a' until \S+Z \(in 360 min\)") as held:
        store.acquire_lock("weekly", "worker-b")
    assert held.value.name == "weekly" and held.value.owner == "worker-a"
    assert held.value.expires is not None and held.value.expires > time.time() + 5 * 3600


def test_a_lock_is_refreshed_only_while_its_owner_still_holds_it(store: GraphStore) -> None:
    """What a paused ingest's keeper relies on: its expired lock, if nobody took it, is its own again;
    one another ingest took (and may since have released) is not silently taken back."""
    store.acquire_lock("ingest", "paused", ttl_seconds=0)  # expired at once: as after a long pause
    assert store.refresh_lock("ingest", "paused", 3600)
    with pytest.raises(LockHeld, match="paused"):  # refreshed: no longer free for the taking
        store.acquire_lock("ingest", "other")
    store.acquire_lock("ingest", "paused", ttl_seconds=0)
    store.acquire_lock("ingest", "taker")  # the expired lock taken over
    assert not store.refresh_lock("ingest", "paused", 3600)
    with pytest.raises(LockHeld, match="taker"):  # and the refusal changed nothing
        store.acquire_lock("ingest", "other")
    store.release_lock("ingest", "taker")
    assert not store.refresh_lock("ingest", "paused", 3600)  # released since: still not taken back
    store.acquire_lock("ingest", "other")


def test_refresh_and_release_by_another_owner_change_nothing(store: GraphStore) -> None:
    """Only the holder refreshes or releases a lock: another process's refresh leaves the expiry as it
    was and its release leaves the lock in place."""
    store.acquire_lock("ingest", "holder", ttl_seconds=600)
    with pytest.raises(LockHeld) as before:
        store.acquire_lock("ingest", "other")
    assert not store.refresh_lock("ingest", "intruder", 7200)
    store.release_lock("ingest", "intruder")
    assert store.lock_owner("ingest") == "holder"
    with pytest.raises(LockHeld) as after:
        store.acquire_lock("ingest", "other")
    assert (after.value.owner, after.value.expires) == ("holder", before.value.expires)
    assert store.refresh_lock("ingest", "holder", 7200)
    store.release_lock("ingest", "holder")
    assert store.lock_owner("ingest") is None


def test_lock_owner_reads_the_holder_without_taking_or_dropping_the_lock(store: GraphStore) -> None:
    """What the ingest keeper asks after losing its lock: reading an expired holder must not delete it."""
    assert store.lock_owner("ingest") is None
    store.acquire_lock("ingest", "holder", ttl_seconds=0)  # expired: as for a holder paused too
    assert store.lock_owner("ingest") == "holder"
    assert store.lock_owner("ingest") == "holder"  # still there after being read
    assert store.refresh_lock("ingest", "holder", 3600)  # and still its holder's to refresh
    assert store.lock_owner("other") is None
    store.release_lock("ingest", "holder")
    assert store.lock_owner("ingest") is None


def test_lock_holder_says_who_holds_a_lock_and_until_when(store: GraphStore) -> None:
    """Review: a refusal decided on the holder alone (lock_owner) could not say until when the lock runs;
    lock_holder reads both, as LockHeld gives them, without taking or dropping the lock."""
    assert store.lock_holder("ingest") is None
    before = time.time()
    store.acquire_lock("ingest", "holder", ttl_seconds=900)
    after = time.time()
    holder = store.lock_holder("ingest")
    assert holder is not None and holder[0] == "holder"
    assert before + 900 <= holder[1] <= after + 900
    with pytest.raises(LockHeld) as held:
        store.acquire_lock("ingest", "other")
    assert (held.value.owner, held.value.expires) == holder
    store.acquire_lock("ingest", "holder", ttl_seconds=0)  # expired: still read, and still there after
    expired = store.lock_holder("ingest")
    assert expired is not None and expired[0] == "holder" and expired[1] <= time.time()
    assert store.lock_holder("ingest") == expired and store.lock_owner("ingest") == "holder"
    assert store.lock_holder("other") is None
    store.release_lock("ingest", "holder")
    assert store.lock_holder("ingest") is None


def test_lock_is_taken_only_from_the_holder_the_caller_expected(store: GraphStore) -> None:
    """`expected` (the holder the caller read; None: nobody) is a compare-and-set on the holder: one that
    took the lock meanwhile is refused even when its lock looks expired (a clock step), and `replacing`
    still replaces the expected holder before its lock expires."""
    store.acquire_lock("ingest", "took-it-meanwhile", ttl_seconds=0)  # looks expired
    for expected in (None, "somebody-else"):
        with pytest.raises(LockHeld, match="took-it-meanwhile"):
            store.acquire_lock("ingest", "caller", expected=expected)
    assert store.lock_owner("ingest") == "took-it-meanwhile"
    store.acquire_lock("ingest", "caller", expected="took-it-meanwhile")  # the one it saw, expired: taken
    assert store.lock_owner("ingest") == "caller"
    with pytest.raises(LockHeld, match="caller"):  # expected, but neither expired nor to be replaced
        store.acquire_lock("ingest", "next", expected="caller")
    with pytest.raises(LockHeld, match="caller"):  # to be replaced, but not the one expected
        store.acquire_lock("ingest", "next", expected="somebody-else", replacing="caller")
    store.acquire_lock("ingest", "next", expected="caller", replacing="caller")  # a dead holder, replaced
    assert store.lock_owner("ingest") == "next"
    store.acquire_lock("ingest", "next", expected="somebody-else")  # its own: re-entrant
    store.release_lock("ingest", "next")
    store.acquire_lock("ingest", "after", expected="next")  # released meanwhile: free, taken
    store.release_lock("ingest", "after")
    store.acquire_lock("ingest", "free", expected=None)
    assert store.lock_owner("ingest") == "free"


def test_lock_is_taken_over_from_a_named_holder_only_while_that_holder_has_it(store: GraphStore) -> None:
    """`replacing` is a compare-and-set on the holder (the weekly run uses it for a dead run's lock)."""
    store.acquire_lock("weekly", "dead-run")
    with pytest.raises(LockHeld, match="dead-run"):  # replacing somebody else is no takeover
        store.acquire_lock("weekly", "new-a", replacing="other-run")
    store.acquire_lock("weekly", "new-a", replacing="dead-run")
    with pytest.raises(LockHeld, match="new-a") as second:  # the dead holder is gone: one winner only
        store.acquire_lock("weekly", "new-b", replacing="dead-run")
    assert second.value.owner == "new-a"
    store.release_lock("weekly", "dead-run")  # the replaced holder no longer owns it: no effect
    with pytest.raises(LockHeld, match="new-a"):
        store.acquire_lock("weekly", "new-b")
    store.acquire_lock("weekly", "new-a", replacing="dead-run")  # still re-entrant for its owner
    store.acquire_lock("free", "new-b", replacing="dead-run")  # a free lock is simply taken
    with pytest.raises(LockHeld, match="new-b"):
        store.acquire_lock("free", "new-c")


def test_racing_takeovers_of_the_same_holder_have_exactly_one_winner(store: GraphStore) -> None:
    store.acquire_lock("weekly", "dead-run")
    contenders = 8
    barrier = threading.Barrier(contenders)

    def take_over(i: int) -> str | None:
        barrier.wait()
        try:
            store.acquire_lock("weekly", f"new-{i}", replacing="dead-run")
        except LockHeld:
            return None
        return f"new-{i}"

    with ThreadPoolExecutor(contenders) as pool:
        winners = [w for w in pool.map(take_over, range(contenders)) if w]
    assert len(winners) == 1
    with pytest.raises(LockHeld) as held:
        store.acquire_lock("weekly", "late")
    assert held.value.owner == winners[0]


def test_embedding_cache(store: GraphStore) -> None:
    vecs = unit_vectors(3, 12)
    store.cache_embeddings("model-a", {"h1": vecs[0], "h2": vecs[1]})
    got = store.cached_embeddings("model-a", ["h1", "h2", "h3"])
    assert set(got) == {"h1", "h2"}
    np.testing.assert_array_equal(got["h1"], vecs[0])
    assert got["h1"].dtype == np.float32
    assert store.cached_embeddings("model-b", ["h1"]) == {}
    store.cache_embeddings("model-a", {"h1": vecs[2]})
    np.testing.assert_array_equal(store.cached_embeddings("model-a", ["h1"])["h1"], vecs[2])
    store.cache_embeddings("model-a", {})
    assert store.stats()["nodes"]["Paper"] == 0


def test_embedding_models_counts_papers_with_an_embedding_per_model(store: GraphStore) -> None:
    assert store.embedding_models() == {}
    vecs = unit_vectors(4, 21)
    other = bundle("2401.00004", vector=vecs[3])
    other.paper.embedding_model = "model-b"
    store.upsert_papers([
        bundle("2401.00001", vector=vecs[0]), bundle("2401.00002", vector=vecs[1]),
        bundle("2401.00003"), other,
    ])
    assert store.embedding_models() == {"test-vectors": 2, "model-b": 1}
    # A paper re-embedded by another model moves between the counts; a deleted one leaves them.
    moved = bundle("2401.00002", vector=vecs[2])
    moved.paper.embedding_model = "model-b"
    store.upsert_papers([moved])
    store.delete_paper("2401.00001")
    assert store.embedding_models() == {"model-b": 2}


def test_rejections(store: GraphStore) -> None:
    today = datetime.now(UTC).strftime("%Y-%m-%d")  # before the writes: a run may cross midnight
    store.record_rejections([
        Rejection("2411.00001", "Circuit boards", "no MI evidence", 0.12, run_id="r1",
                  seen_at="2026-11-01T10:00:00+00:00"),
        Rejection("2411.00002", "Probing the ocean", "similarity below threshold", 0.31, run_id="r1",
                  seen_at="2026-11-20T10:00:00+00:00"),
    ])
    store.record_rejections([
        Rejection("2411.00001", "Circuit boards", "no MI evidence (rechecked)", 0.1, run_id="r1",
                  seen_at="2026-11-02T10:00:00+00:00"),
    ])
    got = store.rejections()
    assert [r.arxiv_id for r in got] == ["2411.00002", "2411.00001"]
    assert got[1].reason == "no MI evidence (rechecked)" and got[1].score == pytest.approx(0.1)
    assert got[1].run_id == "r1"
    assert [r.arxiv_id for r in store.rejections(since="2026-11-10")] == ["2411.00002"]
    assert len(store.rejections(limit=1)) == 1
    store.record_rejections([Rejection("2411.00003", "Fresh", "no evidence", 0.0)])
    fresh = store.rejections(since=today)
    assert [r.arxiv_id for r in fresh] == ["2411.00003"] and fresh[0].seen_at


def test_rejected_arxiv_ids_says_which_of_the_ids_were_rejected(store: GraphStore) -> None:
    """The weekly run's question about the new versions it found: each id once whatever the number of runs
    that rejected it, however old the verdict; exactly the id asked, not one it is the start of."""
    long_id = "2411." + "7" * 1500  # past the indexed look-up key size on Neo4j
    store.record_rejections([
        Rejection("2411.00001", "Circuit boards", "no MI evidence", 0.1, run_id="r1",
                  seen_at="2001-01-01T00:00:00+00:00"),
        Rejection("2411.00001", "Circuit boards", "no MI evidence", 0.1, run_id="r2"),
        Rejection("2411.00002|r9", "A bar in its id", "no MI evidence", 0.1, run_id="r3"),
        Rejection(long_id, "Long", "no MI evidence", 0.1, run_id="r4"),
    ])
    # Rejections newer than the oldest verdict: it is found all the same.
    store.record_rejections([Rejection(f"2412.{i:05d}", "Later", "no", 0.0, run_id="r5") for i in range(300)])
    asked = ["2411.00001", "2411.0000", "2411.00002", "2411.00002|r", "2411.00003", "2411.00001", long_id,
             long_id[:-1]]
    assert store.rejected_arxiv_ids(asked) == {"2411.00001", long_id}
    assert store.rejected_arxiv_ids(["2411.00002|r9"]) == {"2411.00002|r9"}
    assert store.rejected_arxiv_ids([]) == set()
    # More ids than one statement's parameters (SQLite allows 32,766): one list, every rejected one found.
    many = [f"2412.{i:05d}" for i in range(40_000)]
    assert store.rejected_arxiv_ids(many) == {f"2412.{i:05d}" for i in range(300)}
    # A stored paper's id is no rejection, and a rejection stays one when its paper is stored later.
    store.upsert_papers([bundle("2411.00001", "Circuit boards", vector=unit_vectors(1, 3)[0]),
                         bundle("2411.00004", "Stored", vector=unit_vectors(1, 4)[0])])
    assert store.rejected_arxiv_ids(["2411.00001", "2411.00004"]) == {"2411.00001"}


def test_delete_paper(store: GraphStore) -> None:
    vecs = unit_vectors(2, 13)
    store.upsert_papers([rich_bundle(vecs[0]), bundle("keep", "Keep this paper", vector=vecs[1])])
    assert store.vector_search(vecs[0], 1)[0].id == "2211.00593"
    assert store.delete_paper("2211.00593") is True
    assert store.delete_paper("2211.00593") is False
    assert store.get_paper("2211.00593") is None
    assert store.paper_ids() == ["keep"]
    assert [h.id for h in store.vector_search(vecs[0], 5)] == ["keep"]
    assert store.keyword_search("mover circuit", 5) == []
    stats = store.stats()
    assert stats["nodes"]["Paper"] == 1 and stats["nodes"]["Finding"] == 0
    assert stats["nodes"]["Author"] == 3  # authors stay
    assert stats["nodes"]["Technique"] > 0  # taxonomy stays
    rel = stats["relationships"]
    assert rel["USES"] == rel["EVALUATES"] == rel["REPORTS"] == rel["ABOUT"] == rel["LISTED_IN"] == 0
    assert store.upsert_papers([rich_bundle(vecs[0])]) == {"2211.00593": "new"}
    assert store.vector_search(vecs[0], 1)[0].id == "2211.00593"


def test_a_paper_replacing_its_slug_keeps_first_seen_and_leaves_one_node(store: GraphStore) -> None:
    vecs = unit_vectors(2, 17)
    store.upsert_papers([bundle("slug-paper", "A circuit in GPT-2", vector=vecs[0])])
    first_seen = store.get_papers(["slug-paper"])[0].first_seen
    time.sleep(0.01)
    successor = bundle("2211.00593", "A circuit in GPT-2", vector=vecs[1])
    successor.replaces = ["slug-paper"]
    assert store.upsert_papers([successor]) == {"2211.00593": "updated"}
    assert store.paper_ids() == ["2211.00593"]
    assert store.get_papers(["2211.00593"])[0].first_seen == first_seen
    assert [h.id for h in store.vector_search(vecs[0], 5)] == ["2211.00593"]
    # Replacing a paper written in the same batch is refused before anything is written.
    clash = bundle("2301.00001", "Other", vector=vecs[0])
    clash.replaces = ["2211.00593"]
    with pytest.raises(ValueError, match="replaces a paper written in the same batch"):
        store.upsert_papers([bundle("2211.00593", "A circuit in GPT-2", vector=vecs[1]), clash])
    assert store.paper_ids() == ["2211.00593"]


def test_a_replaced_id_leads_to_its_successor(store: GraphStore) -> None:
    """Old links keep working: a replaced id leads to the paper that replaced it, through later moves
    too; an id that is a paper again leads nowhere, and an id never stored has no successor."""
    store.upsert_papers([bundle("slug-paper", "A circuit in GPT-2")])
    assert store.successor_of("slug-paper") is None
    moved = bundle("2211.00593", "A circuit in GPT-2")
    moved.replaces = ["slug-paper", "never-stored"]
    store.upsert_papers([moved])
    assert store.successor_of("slug-paper") == "2211.00593"
    assert store.successor_of("never-stored") is None and store.successor_of("2211.00593") is None
    again = bundle("2211.00594", "A circuit in GPT-2")
    again.replaces = ["2211.00593"]
    store.upsert_papers([again])
    assert (store.successor_of("slug-paper"), store.successor_of("2211.00593")) == ("2211.00594",) * 2
    back = bundle("slug-paper", "A circuit in GPT-2")
    back.replaces = ["2211.00594"]
    store.upsert_papers([back])
    assert store.successor_of("slug-paper") is None
    assert store.successor_of("2211.00594") == store.successor_of("2211.00593") == "slug-paper"


def test_former_ids_are_the_ids_leading_to_a_paper(store: GraphStore) -> None:
    """A paper page names its former ids (a star saved under a slug is the paper's star): the ids whose
    successor it is, sorted; none for a paper never moved or an id that is no paper's."""
    store.upsert_papers([bundle("slug-paper", "A circuit in GPT-2"), bundle("other", "Another paper")])
    assert store.former_ids("slug-paper") == []
    moved = bundle("2211.00593", "A circuit in GPT-2")
    moved.replaces = ["slug-paper"]
    moved.aliases = ["a-merged-record"]
    store.upsert_papers([moved])
    assert store.former_ids("2211.00593") == ["a-merged-record", "slug-paper"]
    detail = store.get_paper("2211.00593")
    assert detail is not None and detail.former_ids == ["a-merged-record", "slug-paper"]  # for API and export
    assert all(store.successor_of(old) == "2211.00593" for old in store.former_ids("2211.00593"))
    assert store.former_ids("other") == [] and store.former_ids("slug-paper") == []
    again = bundle("2211.00594", "A circuit in GPT-2")
    again.replaces = ["2211.00593"]
    store.upsert_papers([again])
    assert store.former_ids("2211.00594") == ["2211.00593", "a-merged-record", "slug-paper"]
    assert store.former_ids("2211.00593") == []


def test_a_replaced_paper_whose_successor_exists_gives_it_the_earliest_first_seen(store: GraphStore) -> None:
    """When the successor is already stored (written later than the paper it replaces), it takes the
    replaced paper's earlier first_seen and counts as updated, even with an unchanged bundle."""
    store.upsert_papers([bundle("slug-paper", "A circuit in GPT-2")])
    earliest = store.get_papers(["slug-paper"])[0].first_seen
    time.sleep(0.01)
    successor = bundle("2211.00593", "A circuit in GPT-2")
    store.upsert_papers([successor])
    assert store.get_papers(["2211.00593"])[0].first_seen > earliest
    successor.replaces = ["slug-paper"]
    assert store.upsert_papers([successor]) == {"2211.00593": "updated"}  # same bundle otherwise
    assert store.paper_ids() == ["2211.00593"]
    assert store.get_papers(["2211.00593"])[0].first_seen == earliest
    # A changed successor likewise; a later first_seen of the replaced paper changes nothing.
    store.upsert_papers([bundle("other-slug", "Other")])
    again = bundle("2211.00593", "A circuit in GPT-2, revised")
    again.replaces = ["other-slug"]
    assert store.upsert_papers([again]) == {"2211.00593": "updated"}
    assert store.get_papers(["2211.00593"])[0].first_seen == earliest
    assert [p.id for p in store.new_papers("2000-01-01")] == ["2211.00593"]


def test_a_bundles_aliases_lead_to_it_unless_they_are_paper_ids(store: GraphStore) -> None:
    """Ids given to records merged into a paper lead to it (successor_of), written with it; an alias that
    is a stored paper's id, or the id of a paper of the same batch, is none. Writing them again adds
    nothing, a later paper claiming an alias takes it, and an alias follows its paper when replaced."""
    store.upsert_papers([bundle("stored-paper", "A stored paper")])
    merged = bundle("doi-a", "Finding neurons")
    merged.aliases = ["doi-b", "stored-paper", "doi-a", "same-batch"]
    beside = bundle("same-batch", "Written beside it")
    assert store.upsert_papers([merged, beside]) == {"doi-a": "new", "same-batch": "new"}
    assert store.successor_of("doi-b") == "doi-a"
    assert [store.successor_of(i) for i in ("stored-paper", "doi-a", "same-batch")] == [None] * 3
    stats = store.stats()
    assert store.upsert_papers([merged, beside]) == {"doi-a": "unchanged", "same-batch": "unchanged"}
    assert store.successor_of("doi-b") == "doi-a" and store.stats() == stats
    assert sorted(store.paper_ids()) == ["doi-a", "same-batch", "stored-paper"]
    # An alias that is no paper id is refused before anything is written.
    refused = bundle("refused", "Refused")
    refused.aliases = ["never-written", "not an id"]
    with pytest.raises(ValueError, match="paper 'refused': 'alias' must be letters"):
        store.upsert_papers([refused])
    assert store.successor_of("never-written") is None and store.get_paper("refused") is None
    later = bundle("doi-c", "Finding neurons, the journal version")
    later.aliases = ["doi-b"]
    assert store.upsert_papers([later]) == {"doi-c": "new"}
    assert store.successor_of("doi-b") == "doi-c"
    moved = bundle("2401.00001", "Finding neurons, the journal version")
    moved.replaces = ["doi-c"]
    store.upsert_papers([moved])
    assert store.successor_of("doi-b") == store.successor_of("doi-c") == "2401.00001"


def test_deleting_a_paper_removes_the_ids_that_led_to_it(store: GraphStore) -> None:
    """A removed paper's aliases and replaced ids lead nowhere (no alias left behind); other papers'
    aliases stay."""
    store.upsert_papers([bundle("slug-paper", "A circuit in GPT-2"), bundle("kept", "Kept")])
    moved = bundle("2211.00593", "A circuit in GPT-2")
    moved.replaces = ["slug-paper"]
    moved.aliases = ["doi-a"]
    kept = bundle("kept", "Kept")
    kept.aliases = ["doi-k"]
    store.upsert_papers([moved, kept])
    assert store.successor_of("slug-paper") == store.successor_of("doi-a") == "2211.00593"
    assert store.delete_paper("2211.00593") is True
    assert store.successor_of("slug-paper") is None and store.successor_of("doi-a") is None
    assert store.successor_of("doi-k") == "kept"


def test_equal_dates_order_by_id(store: GraphStore) -> None:
    """Ties on the date go by id, descending, in every order that has one (filter_page's), not by
    insertion order; an empty published date counts as missing, so the year is the date."""
    today = datetime.now(UTC).strftime("%Y-%m-%d")  # before the writes: a run may cross midnight
    store.upsert_papers([bundle("b", published="2024-05-01", techniques=("probing",)),
                         bundle("a", published="2024-05-01", techniques=("probing",))])
    store.upsert_papers([bundle("d", published="2024-05-01", techniques=("probing",)),
                         bundle("c", published="2024-05-01", techniques=("probing",))])
    undated = bundle("e", year=2030, techniques=("probing",))
    undated.paper.published = ""
    store.upsert_papers([undated])
    assert store.paper_ids() == ["b", "a", "d", "c", "e"]
    page, total = store.papers_by_technique("probing")
    assert (total, [p.id for p in page]) == (5, ["e", "d", "c", "b", "a"])
    page, _ = store.papers_by_technique("probing", sort="centrality")
    assert [p.id for p in page] == ["e", "d", "c", "b", "a"]
    assert store.filter_page(SearchFilters(technique_ids=["probing"]))[0] == ["e", "d", "c", "b", "a"]
    assert [p.id for p in store.new_papers(today)][-2:] == ["b", "a"]  # one batch: same first_seen
    store.upsert_papers([bundle("b", "Paper b, again", published="2024-05-01", techniques=("probing",))])
    assert store.paper_ids() == ["b", "a", "d", "c", "e"]  # a rewrite keeps its place
    rekeyed = bundle("2405.00001", published="2024-05-01", techniques=("probing",))
    rekeyed.replaces = ["a"]
    store.upsert_papers([rekeyed])
    assert store.paper_ids() == ["b", "d", "c", "e", "2405.00001"]  # a new id is a new paper
    assert store.find_paper_ids(title_keys=[title_key("Paper b, again")]) == {
        title_key("Paper b, again"): "b"}


def test_centrality_counts_a_papers_rows_in_one_section_once(store: GraphStore) -> None:
    """A paper keeps one list row per section (the last given), and centrality counts the rows kept, as
    Neo4j counts LISTED_IN edges: two rows in one section weigh what one does (equal degree and date:
    by id, descending), two sections weigh two."""
    def row(section: str, line: int) -> ListRow:
        return ListRow(section, section.title(), [section.title()], line=line)

    store.upsert_papers([bundle("two-rows", published="2024-05-01", techniques=("probing",),
                                rows=(row("tools", 1), row("tools", 2)))])
    store.upsert_papers([bundle("one-row", published="2024-05-01", techniques=("probing",),
                                rows=(row("tools", 3),))])
    detail = store.get_paper("two-rows")
    assert detail is not None and [r.line for r in detail.list_rows] == [2]
    page, _ = store.papers_by_technique("probing", sort="centrality")
    assert [p.id for p in page] == ["two-rows", "one-row"]
    store.upsert_papers([bundle("two-sections", published="2024-05-01", techniques=("probing",),
                                rows=(row("tools", 4), row("datasets", 5)))])
    page, _ = store.papers_by_technique("probing", sort="centrality")
    assert [p.id for p in page] == ["two-sections", "two-rows", "one-row"]


def test_new_papers(store: GraphStore) -> None:
    today = datetime.now(UTC).strftime("%Y-%m-%d")  # before the writes: a run may cross midnight
    store.upsert_papers([bundle("old-1", "Old one"), bundle("old-2", "Old two")])
    time.sleep(0.01)
    boundary = datetime.now(UTC).isoformat()
    time.sleep(0.01)
    store.upsert_papers([bundle("new-1", "New one")])
    time.sleep(0.01)
    store.upsert_papers([bundle("new-2", "New two")])
    store.upsert_papers([bundle("old-1", "Old one, updated title")])  # first_seen is kept
    assert [p.id for p in store.new_papers(boundary)] == ["new-2", "new-1"]
    assert [p.id for p in store.new_papers(boundary, limit=1)] == ["new-2"]
    assert {p.id for p in store.new_papers(today)} == {"old-1", "old-2", "new-1", "new-2"}
    assert store.new_papers("2999-01-01") == []


def test_new_papers_page(store: GraphStore) -> None:
    """Paging through new_papers_page reads every new paper once, in new_papers' order, with the
    total of all of them (not of the page); a page past the end is empty and still has the total."""
    store.upsert_papers([bundle("old", "Old one")])
    time.sleep(0.01)
    boundary = datetime.now(UTC).isoformat()
    time.sleep(0.01)
    store.upsert_papers([bundle(f"new-{i}", f"New {i}") for i in range(5)])
    store.upsert_papers([bundle("new-5", "New 5"), bundle("new-6", "New 6")])
    expected = [p.id for p in store.new_papers(boundary)]
    assert len(expected) == 7 and "old" not in expected
    seen: list[str] = []
    for offset in range(0, 9, 3):
        page, total = store.new_papers_page(boundary, limit=3, offset=offset)
        assert total == 7
        seen += [p.id for p in page]
    assert seen == expected
    assert store.new_papers_page(boundary, limit=3, offset=7) == ([], 7)
    assert store.new_papers_page(boundary, limit=0) == ([], 7)
    page, total = store.new_papers_page("2000-01-01", limit=100)
    assert total == 8 and [p.id for p in page] == [p.id for p in store.new_papers("2000-01-01")]
    assert page[0].title == "New 6" and page[-1].title == "Old one"
    assert store.new_papers_page("2999-01-01") == ([], 0)
    with pytest.raises(ValueError):
        store.new_papers_page(boundary, limit=3, offset=-1)


def test_new_papers_using_techniques(store: GraphStore) -> None:
    """Weekly-reader QA ("what's new for MY interests"): new_papers and new_papers_page take technique ids
    and keep the papers using one of them or a refinement of one (cma takes activation_patching and
    path_patching), or evaluating by one (an Evaluation id, as the search filter takes), in the same order,
    the total counting only those; no ids is every paper, an id no paper uses none."""
    store.upsert_papers([bundle("old-ap", "Old patching", techniques=("activation_patching",))])
    time.sleep(0.01)
    boundary = datetime.now(UTC).isoformat()
    time.sleep(0.01)
    store.upsert_papers([bundle("n-ap", "Patching", techniques=("activation_patching",))])
    store.upsert_papers([bundle("n-sae", "SAE", techniques=("sae", "probing"))])
    store.upsert_papers([bundle("n-cma", "Mediation", techniques=("cma",))])
    store.upsert_papers([bundle("n-probe", "Probe", techniques=("probing",), evaluations=("faithfulness",))])
    store.upsert_papers([bundle("n-pp", "Path patching", techniques=("path_patching",))])
    store.upsert_papers([bundle("n-none", "Nothing")])
    everything = [p.id for p in store.new_papers(boundary)]
    assert everything == ["n-none", "n-pp", "n-probe", "n-cma", "n-sae", "n-ap"]
    cases = {
        ("cma",): ["n-pp", "n-cma", "n-ap"],  # its refinements, transitively
        ("activation_patching",): ["n-ap"],  # not its parent
        ("sae", "activation_patching"): ["n-sae", "n-ap"],  # any of them
        ("sae", "cma", "sae"): ["n-pp", "n-cma", "n-sae", "n-ap"],  # a paper once
        ("faithfulness",): ["n-probe"],  # an evaluation criterion
        ("knockout",): [],
        (): everything,
    }
    for ids, expected in cases.items():
        assert [p.id for p in store.new_papers(boundary, technique_ids=ids)] == expected, ids
        page, total = store.new_papers_page(boundary, limit=100, technique_ids=ids)
        assert (total, [p.id for p in page]) == (len(expected), expected), ids
    assert [p.id for p in store.new_papers(boundary, 1, technique_ids=["cma"])] == ["n-pp"]
    page, total = store.new_papers_page(boundary, limit=1, offset=1, technique_ids=["cma"])
    assert (total, [p.id for p in page]) == (3, ["n-cma"])
    assert store.new_papers_page(boundary, limit=2, offset=3, technique_ids=["cma"]) == ([], 3)
    page, total = store.new_papers_page("2000-01-01", technique_ids=["activation_patching"])
    assert (total, [p.id for p in page]) == (2, ["n-ap", "old-ap"])


def test_find_paper_ids(store: GraphStore) -> None:
    vec = unit_vectors(1, 14)[0]
    store.upsert_papers([
        rich_bundle(vec), bundle("slug-paper", "A Mathematical Framework (2021)", year=2021)
    ])
    store.upsert_papers([PaperBundle(paper=Paper(id="no-arxiv", title="Toy Models of Superposition"))])
    found = store.find_paper_ids(
        arxiv_ids=["2211.00593", "9999.99999"], dois=["10.48550/ARXIV.2211.00593"],
        title_keys=[title_key("Toy models of superposition!"), title_key("unknown")],
    )
    assert found == {
        "2211.00593": "2211.00593", "10.48550/ARXIV.2211.00593": "2211.00593",
        title_key("Toy models of superposition!"): "no-arxiv",
    }


def _keep_title_keys_of_an_older_rule(store: GraphStore, backend: str, keys: dict[str, str]) -> None:
    """Give papers (by id) the title keys an older title_key rule gave, and record another rule, as a
    store written before a change to the rule has them."""
    if backend == "neo4j":
        from kg.neo4j_store import Neo4jStore

        assert isinstance(store, Neo4jStore)
        store._write("UNWIND $rows AS row MATCH (p:Paper {id: row.id}) SET p.title_key = row.key",
                     rows=[{"id": pid, "key": key} for pid, key in keys.items()])
        store._write("MATCH (c:Counter {name: 'upgrade'}) SET c.title_key_rule = 'an-older-rule'")
        return
    import sqlite3

    assert isinstance(store, EmbeddedStore)
    with contextlib.closing(sqlite3.connect(store.path)) as conn, conn:
        conn.executemany("UPDATE papers SET title_key = ? WHERE id = ?", [(k, i) for i, k in keys.items()])
        conn.execute("UPDATE meta SET value = 'an-older-rule' WHERE key = 'title_key_rule'")


def test_title_keys_follow_a_changed_title_key_rule(store: GraphStore, backend: str) -> None:
    """A store written before a title_key rule change kept the keys of the older rule, so a list row
    "X (ICML'24 Oral)" without an arXiv id, ingested again, missed its stored paper and became a second
    one: init_schema recomputes the stored keys, and the paper is found by the current key."""
    title = "A Study of Feature Splitting in Small Transformers (ICML'24 Oral)"
    store.upsert_papers([PaperBundle(paper=Paper(id="feature-splitting", title=title)),
                         PaperBundle(paper=Paper(id="plain", title="Toy Models of Superposition"))])
    older = "a study of feature splitting in small transformers icml 24 oral"
    assert title_key(title) != older  # the rule that gave it removes venue tags without a year now
    _keep_title_keys_of_an_older_rule(store, backend, {"feature-splitting": older})
    assert store.find_paper_ids(title_keys=[title_key(title)]) == {}  # what the duplicate came from
    store.init_schema()
    assert store.find_paper_ids(title_keys=[title_key(title), older]) == {
        title_key(title): "feature-splitting"}
    assert store.find_paper_ids(title_keys=["toy models of superposition"]) == {
        "toy models of superposition": "plain"}
    assert store.paper_ids() == ["feature-splitting", "plain"]


def test_a_section_matches_the_topics_the_section_map_gives_it(store: GraphStore) -> None:
    """ "Interpreting Transformer Components" does not contain "lm_components": the row's topic_ids
    (from the taxonomy's section map) make its papers the topic's, in the filter and the counts, and
    a later write of the section with another map replaces them."""
    path = ["Findings and Applications", "Findings on circuits", "Interpreting Transformer Components"]
    row = ListRow("findings-and-applications/findings-on-circuits/interpreting-transformer-components",
                  path[-1], path, topic_ids=["lm_components"])
    store.upsert_papers([bundle("s1", "Heads", rows=(row,))])
    assert store.filter_ids(SearchFilters(topic_ids=["lm_components"])) == {"s1"}
    assert {c.id: c for c in store.technique_counts()}["lm_components"].own_count == 1
    store.upsert_papers([bundle("s1", "Heads", rows=(dataclasses.replace(row, topic_ids=[]),))])
    assert store.filter_ids(SearchFilters(topic_ids=["lm_components"])) == set()


def test_topic_and_object_counts_follow_the_filter_semantics(store: GraphStore) -> None:
    _filter_corpus(store)
    counts = {c.id: c for c in store.technique_counts()}
    assert (counts["superposition"].own_count, counts["superposition"].total_count) == (1, 1)
    assert counts["learning_dynamics"].own_count == 1  # listed in a "learning dynamics" section
    assert counts["features"].own_count == 1 and counts["features"].label == Label.OBJECT
    assert (counts["applications"].own_count, counts["applications"].total_count) == (0, 1)
    assert (counts["lm_enhancement"].own_count, counts["lm_enhancement"].total_count) == (0, 1)
    assert counts["cma"].total_count == 1 and counts["sae"].own_count == 1
    for node_id, count in counts.items():
        if count.label in (Label.TOPIC, Label.OBJECT):
            assert count.total_count == len(store.filter_ids(SearchFilters(topic_ids=[node_id]))), node_id


def test_edges_must_point_at_nodes_of_the_right_label(store: GraphStore) -> None:
    before = store.stats()
    wrong = bundle("w1", "Evaluation column naming a topic")
    wrong.evaluations.append(EvaluationUse("knowledge_editing", "list"))
    with pytest.raises(ValueError, match="w1") as info:
        store.upsert_papers([wrong])
    assert "knowledge_editing" in str(info.value) and "Topic" in str(info.value)
    model = bundle("w2", "Studies a technique")
    model.models.append("probing")
    with pytest.raises(ValueError, match="w2"):
        store.upsert_papers([model])
    assert store.stats() == before


def test_list_rows_from_gives_the_rows_of_the_papers_of_a_source(store: GraphStore) -> None:
    """The rows of the papers whose sources include the source, in paper id then row order, with the
    paper's title, the section's id and path and the row's line; other papers' rows are left out."""
    features = ListRow("findings/features", "Features", ["Findings", "Features"], tldr="f", line=12)
    tools = ListRow("tools", "Tools", ["Tools"], line=90)
    circuits = ListRow("findings/circuits", "Circuits", ["Findings", "Circuits"], line=None)
    store.upsert_papers([
        bundle("b-listed", "Listed twice", sources=("arxiv", "list"), rows=(tools, features)),
        bundle("a-listed", "Listed once", sources=("list",), rows=(circuits,)),
        bundle("c-records", "From a records file", sources=("records",), rows=(features,)),
        bundle("d-unlisted", "Listed, no rows", sources=("list",)),
        bundle("e-arxiv", "Only arXiv"),
    ])
    assert store.list_rows_from("list") == [
        {"paper_id": "a-listed", "title": "Listed once", "section_id": "findings/circuits",
         "section_path": ["Findings", "Circuits"], "line": None},
        {"paper_id": "b-listed", "title": "Listed twice", "section_id": "tools", "section_path": ["Tools"],
         "line": 90},
        {"paper_id": "b-listed", "title": "Listed twice", "section_id": "findings/features",
         "section_path": ["Findings", "Features"], "line": 12},
    ]
    assert [r["paper_id"] for r in store.list_rows_from("records")] == ["c-records"]
    assert store.list_rows_from("arxiv") == [
        {"paper_id": "b-listed", "title": "Listed twice", "section_id": "tools", "section_path": ["Tools"],
         "line": 90},
        {"paper_id": "b-listed", "title": "Listed twice", "section_id": "findings/features",
         "section_path": ["Findings", "Features"], "line": 12},
    ]
    # A source is matched whole, never as a part of another ("lis" is no source here).
    assert store.list_rows_from("lis") == []
    # Written again without its rows and without "list" (as a prune does): none of its rows remain.
    store.upsert_papers([bundle("a-listed", "Listed once", sources=())])
    assert [r["paper_id"] for r in store.list_rows_from("list")] == ["b-listed", "b-listed"]


def test_a_paper_written_again_without_a_source_leaves_that_source_filter(store: GraphStore) -> None:
    """Every search mode's source filter follows a rewrite that takes a source off a paper (the
    embedded store's in-memory vectors keep each paper's sources for the filter)."""
    vectors = unit_vectors(2, 7)
    row = ListRow("tools", "Tools", ["Tools"], line=3)
    store.upsert_papers([
        bundle("s1", "Probing heads", sources=("list",), rows=(row,), vector=vectors[0]),
        bundle("s2", "Probing layers", sources=("arxiv",), vector=vectors[1]),
    ])
    on_list = SearchFilters(sources=["list"])
    assert store.filter_ids(on_list) == {"s1"}
    assert [s.id for s in store.vector_search(vectors[0], 5, on_list)] == ["s1"]
    assert [s.id for s in store.keyword_search("probing", 5, on_list)] == ["s1"]
    store.upsert_papers([bundle("s1", "Probing heads", sources=(), vector=vectors[0])])
    assert store.filter_ids(on_list) == set()
    assert store.vector_search(vectors[0], 5, on_list) == []
    assert store.keyword_search("probing", 5, on_list) == []
    assert store.filter_ids(SearchFilters(section_ids=["tools"])) == set()
    assert store.get_paper("s1").list_rows == []  # type: ignore[union-attr]


def test_tag_evidence_reads_extracted_evidence_of_the_papers_and_nodes_asked_for(store: GraphStore) -> None:
    """The stored evidence (as stored) of extracted USES and EVALUATES edges, of the papers and nodes asked
    for only, as get_paper gives it; list edges and edges without evidence are left out."""
    store.upsert_papers([
        PaperBundle(
            paper=Paper(id="e1", title="Patched", abstract="We  patch activations."),
            techniques=[
                TechniqueUse("activation_patching", "extracted", evidence="We  patch\nactivations.",
                             score=0.9),
                TechniqueUse("activation_patching", "list", evidence="Patching, says the list."),
                TechniqueUse("probing", "list", evidence="Probes, says the list."),
                TechniqueUse("logit_lens", "extracted", evidence=None, score=0.5),
                TechniqueUse("knockout", "extracted", evidence="We knock out heads.", score=0.7),
            ],
            evaluations=[
                EvaluationUse("faithfulness", "extracted", evidence="The circuit is faithful."),
                EvaluationUse("completeness", "list", evidence="Complete, says the list."),
                EvaluationUse("plausibility", "extracted", evidence=""),
            ],
        ),
        PaperBundle(paper=Paper(id="e2", title="Patched again"),
                    techniques=[TechniqueUse("activation_patching", "extracted",
                                             evidence="Patching again.")]),
        PaperBundle(paper=Paper(id="e3", title="Untagged")),
    ])
    nodes = ["activation_patching", "probing", "logit_lens", "faithfulness", "completeness", "plausibility"]
    assert store.tag_evidence(["e1", "e2", "e3", "missing"], nodes) == {
        "e1": {"activation_patching": "We  patch\nactivations.", "faithfulness": "The circuit is faithful."},
        "e2": {"activation_patching": "Patching again."},
    }
    assert store.tag_evidence(["e1"], ["knockout", "unknown_node"]) == {
        "e1": {"knockout": "We knock out heads."}}
    assert store.tag_evidence(["e2", "e2"], ["faithfulness", "knockout"]) == {}
    assert store.tag_evidence([], nodes) == {}
    assert store.tag_evidence(["e1"], []) == {}
    every = [*nodes, "knockout"]
    for pid in ("e1", "e2", "e3"):
        detail = store.get_paper(pid)
        assert detail is not None
        expected = {u.technique_id: u.evidence for u in detail.techniques
                    if u.source == "extracted" and u.evidence}
        expected |= {e.evaluation_id: e.evidence for e in detail.evaluations
                     if e.source == "extracted" and e.evidence}
        assert store.tag_evidence([pid], every).get(pid, {}) == expected, pid
    # It follows writes and deletes.
    store.upsert_papers([PaperBundle(paper=Paper(id="e2", title="Patched again"),
                                     techniques=[TechniqueUse("activation_patching", "list", evidence="x")])])
    store.delete_paper("e1")
    assert store.tag_evidence(["e1", "e2", "e3"], every) == {}


# -- citation keys (kg.store: issued at the first write, unique in the store, pinned once authored) ----
_CIRCUITS = "https://transformer-circuits.pub/2024"


def _page(pid: str, title: str, *authors: str) -> PaperBundle:
    """A transformer-circuits.pub page of 2024 (list-only: no authors unless given)."""
    b = bundle(pid, title, year=2024, authors=authors, sources=("list",))
    b.paper = dataclasses.replace(b.paper, arxiv_id=None, url=f"{_CIRCUITS}/{pid}/")
    return b


def _cite_keys(store: GraphStore) -> dict[str, str | None]:
    return {p.id: p.citation_key for p in store.get_papers(store.paper_ids())}


def test_citation_keys_are_unique_in_the_store_in_the_order_papers_are_stored(store: GraphStore) -> None:
    """The first paper to claim a key keeps it bare; later ones get a, b, ... in the order they are
    stored (batch order within one write), whichever papers a later read or export asks for."""
    nanda = ("Neel Nanda", "Lawrence Chan")
    store.upsert_papers([bundle("n1", "Progress measures for grokking", authors=nanda),
                         _page("scaling-monosemanticity", "Scaling Monosemanticity")])
    store.upsert_papers([bundle("n2", "Progress in circuit discovery", authors=nanda),
                         bundle("n3", "Progress on superposition", authors=nanda[:1]),
                         _page("dictionary-scaling", "Scaling Laws for Dictionary Learning")])
    expected = {"n1": "nanda2023progress", "scaling-monosemanticity": "anthropic2024scaling",
                "n2": "nanda2023progressa", "n3": "nanda2023progressb",
                "dictionary-scaling": "anthropic2024scalinga"}
    assert _cite_keys(store) == expected
    detail = store.get_paper("n3")
    assert detail is not None and detail.paper.citation_key == "nanda2023progressb"
    assert {p.id: p.citation_key for p in store.new_papers("2000-01-01")} == expected
    # Written again (changed or not), each keeps its key; a bundle's own citation_key is not the store's.
    n2 = bundle("n2", "Progress in circuit discovery", authors=nanda, abstract="Changed.")
    n2.paper.citation_key = "chosen2023bythecaller"
    assert store.upsert_papers([n2, bundle("n1", "Progress measures for grokking", authors=nanda)]) == {
        "n2": "updated", "n1": "unchanged"}
    assert _cite_keys(store) == expected


def test_a_key_stays_when_the_paper_is_retitled_reordered_or_published(store: GraphStore) -> None:
    """arXiv v1 "Tracing ...", v3 "Sparse ...", v4 with another first author, then a venue: one key. A
    paper without authors holds a provisional key until its authors first arrive, then one of theirs,
    kept from then on; neither key is ever given to another paper."""
    qa = ("Ann Qa", "Tom Tester")
    store.upsert_papers([bundle("2611.00001", "Tracing features", authors=qa, year=2026)])
    store.upsert_papers([bundle("2611.00001", "Sparse feature circuits", authors=qa, year=2026)])
    reordered = bundle("2611.00001", "Sparse feature circuits", authors=("Tom Tester", "Ann Qa"), year=2026)
    store.upsert_papers([reordered])
    reordered.paper.venue = "ICLR 2027"
    store.upsert_papers([reordered])
    assert _cite_keys(store) == {"2611.00001": "qa2026tracing"}
    # Two writes: of one write's papers without arXiv ids, the first by title would get the base.
    store.upsert_papers([_page("scaling-monosemanticity", "Scaling Monosemanticity")])
    store.upsert_papers([_page("dictionary-scaling", "Scaling Laws for Dictionary Learning")])
    assert _cite_keys(store)["scaling-monosemanticity"] == "anthropic2024scaling"
    store.upsert_papers([_page("scaling-monosemanticity", "Scaling Monosemanticity", "Adly Templeton",
                               "Tom Conerly")])
    store.upsert_papers([_page("scaling-monosemanticity", "Scaling Monosemanticity: Extracting Features",
                               "Tom Conerly", "Adly Templeton")])
    store.upsert_papers([_page("scaling-dictionaries", "Scaling Dictionaries")])
    assert _cite_keys(store) == {
        "2611.00001": "qa2026tracing", "scaling-monosemanticity": "templeton2024scaling",
        "dictionary-scaling": "anthropic2024scalinga",
        # anthropic2024scaling was issued (to the page before its authors came): taken for good.
        "scaling-dictionaries": "anthropic2024scalingb"}


def test_a_merged_or_deleted_paper_keeps_its_key_taken(store: GraphStore) -> None:
    """A paper replacing a stored one (a slug by its arXiv id) takes over its key; of two stored papers
    merged, the surviving one keeps its own and the other's stays taken, as a deleted paper's does."""
    authors = ("Ann Qa",)
    store.upsert_papers([bundle("tracing-slug", "Tracing features", authors=authors, year=2026)])
    arxiv = bundle("2611.00001", "Tracing features in language models", authors=("Bob Other",), year=2026)
    arxiv.replaces = ["tracing-slug"]
    store.upsert_papers([arxiv])
    assert _cite_keys(store) == {"2611.00001": "qa2026tracing"}
    store.upsert_papers([bundle("m1", "Progress one", authors=("Neel Nanda",)),
                         bundle("m2", "Progress two", authors=("Neel Nanda",))])
    survivor = bundle("m1", "Progress one", authors=("Neel Nanda",), abstract="Merged.")
    survivor.replaces = ["m2"]
    survivor.aliases = ["record-7"]
    store.upsert_papers([survivor])
    store.upsert_papers([bundle("m3", "Progress three", authors=("Neel Nanda",))])
    assert store.delete_paper("m3")
    store.upsert_papers([bundle("m4", "Progress four", authors=("Neel Nanda",)),
                         bundle("2611.00002", "Tracing again", authors=authors, year=2026)])
    assert _cite_keys(store) == {"2611.00001": "qa2026tracing", "m1": "nanda2023progress",
                                 "m4": "nanda2023progressc", "2611.00002": "qa2026tracinga"}


def _strip_citation_keys(store: GraphStore, backend: str, papers: list[tuple[str, str, str]]) -> None:
    """`papers` (id, title, first_seen; by Neel Nanda, 2023) as a paperkg without citation keys left
    them: the embedded file without the columns, index and table; Neo4j nodes without the properties
    and key nodes, and no record of the upgrade."""
    if backend == "neo4j":
        from kg.neo4j_store import Neo4jStore

        assert isinstance(store, Neo4jStore)
        store._write("UNWIND $rows AS row CREATE (p:Paper) SET p = row",
                     rows=[{"id": pid, "title": title, "authors": ["Neel Nanda"],
                            "authors_text": "Neel Nanda", "first_seen": seen, "last_seen": seen,
                            "year": 2023, "sources": ["arxiv"], "item_type": "paper"}
                           for pid, title, seen in papers])
        store._write("MATCH (c:Counter {name: 'upgrade'}) DELETE c")
        return
    import sqlite3

    assert isinstance(store, EmbeddedStore)
    store.upsert_papers([bundle(pid, title, authors=("Neel Nanda",)) for pid, title, _ in papers])
    with contextlib.closing(sqlite3.connect(store.path)) as conn, conn:
        conn.executemany("UPDATE papers SET first_seen = ?, last_seen = ? WHERE id = ?",
                         [(seen, seen, pid) for pid, _, seen in papers])
        conn.executescript("DROP INDEX papers_citation_key; ALTER TABLE papers DROP COLUMN citation_key; "
                           "ALTER TABLE papers DROP COLUMN citation_key_pinned; DROP TABLE citation_keys;")


def test_init_schema_issues_keys_as_a_full_export_gave_them(store: GraphStore, backend: str) -> None:
    """Papers an older paperkg stored get their keys from init_schema (run twice: idempotent) in the
    order and with the suffixes its full BibTeX export gave them: first_seen, then id (not the order they
    were written in); pinned, and taken, from then on."""
    _strip_citation_keys(store, backend, [("z1", "Progress three", "2026-01-02T00:00:00.000000+00:00"),
                                          ("a9", "Progress two", "2026-01-02T00:00:00.000000+00:00"),
                                          ("m5", "Progress one", "2026-01-01T00:00:00.000000+00:00")])
    store.init_schema()
    store.init_schema()
    expected = {"z1": "nanda2023progressb", "a9": "nanda2023progressa", "m5": "nanda2023progress"}
    assert _cite_keys(store) == expected
    store.upsert_papers([bundle("m5", "Retitled one", authors=("Someone Else", "Neel Nanda")),
                         bundle("new", "Progress four", authors=("Neel Nanda",))])
    assert _cite_keys(store) == {**expected, "new": "nanda2023progressc"}


def test_a_paper_stored_again_after_its_removal_gets_its_key_back(store: GraphStore) -> None:
    """A paper a prune removed and a later ingest brings back (the same id) has the key it had: its
    \\cite works again, and no other paper took the key meanwhile."""
    store.upsert_papers([bundle("n1", "Progress one", authors=("Neel Nanda",)),
                         bundle("n2", "Progress two", authors=("Neel Nanda",))])
    assert store.delete_paper("n1")
    store.upsert_papers([bundle("n3", "Progress three", authors=("Neel Nanda",))])
    store.upsert_papers([bundle("n1", "Progress one, retitled", authors=("Ann Qa", "Neel Nanda"))])
    assert _cite_keys(store) == {"n2": "nanda2023progressa", "n3": "nanda2023progressb",
                                 "n1": "nanda2023progress"}


def test_a_paper_stored_again_gets_the_key_it_held_last(store: GraphStore) -> None:
    """A list-only page (provisional key), then its authors (their key), removed and stored again: it gets
    back the key it held last, not its first (which stays taken: another page gets a suffix)."""
    store.upsert_papers([_page("toy-models", "Toy models of superposition")])
    store.upsert_papers([_page("toy-models", "Toy models of superposition", "Nelson Elhage")])
    assert _cite_keys(store) == {"toy-models": "elhage2024toy"}
    assert store.delete_paper("toy-models")
    store.upsert_papers([_page("toy-models", "Toy models of superposition", "Nelson Elhage")])
    store.upsert_papers([_page("toy-sequel", "Toy models, again")])
    assert _cite_keys(store) == {"toy-models": "elhage2024toy", "toy-sequel": "anthropic2024toya"}
    # Removed again and back without its authors (a list page once more): still its last key.
    assert store.delete_paper("toy-models")
    store.upsert_papers([_page("toy-models", "Toy models of superposition")])
    assert _cite_keys(store)["toy-models"] == "elhage2024toy"


def test_a_survivor_with_a_provisional_key_takes_the_pinned_key_it_replaces(store: GraphStore) -> None:
    """A list-only page (provisional key) replacing an authored paper (pinned key) holds that paper's
    key, whether the page itself is written changed or unchanged; its own provisional key stays taken."""
    store.upsert_papers([_page("toy-page", "Toy models of superposition"),
                         bundle("2209.10652", "Toy Models of Superposition", authors=("Nelson Elhage",),
                                year=2024)])
    assert _cite_keys(store) == {"toy-page": "anthropic2024toy", "2209.10652": "elhage2024toy"}
    survivor = _page("toy-page", "Toy models of superposition", "Nelson Elhage")
    survivor.replaces = ["2209.10652"]
    store.upsert_papers([survivor])
    assert _cite_keys(store) == {"toy-page": "elhage2024toy"}
    # The survivor written unchanged (the same bundle as stored) still takes the pinned key it replaces.
    store.upsert_papers([_page("dict-page", "Dictionary learning"),
                         bundle("2310.00001", "Dictionary learning at scale", authors=("Trenton Bricken",),
                                year=2024)])
    unchanged = _page("dict-page", "Dictionary learning")
    unchanged.replaces = ["2310.00001"]
    store.upsert_papers([unchanged])
    store.upsert_papers([_page("toy-other", "Toy box"), _page("dict-other", "Dictionary again")])
    assert _cite_keys(store) == {"toy-page": "elhage2024toy", "dict-page": "bricken2024dictionary",
                                 "toy-other": "anthropic2024toya", "dict-other": "anthropic2024dictionarya"}
    detail = store.get_paper("dict-page")
    assert detail is not None and detail.paper.citation_key == "bricken2024dictionary"


def test_a_replaced_id_removed_earlier_keeps_its_key_for_its_return(store: GraphStore) -> None:
    """Keys are planned before a replaced paper's keys move to its successor, and only a stored paper's
    move: a successor naming an id removed earlier gets a key of its own, and that id, stored again,
    gets its key back (the same in both backends)."""
    store.upsert_papers([bundle("tracing-slug", "Tracing features", authors=("Ann Qa",), year=2026)])
    assert store.delete_paper("tracing-slug")
    arxiv = bundle("2611.00001", "Tracing features", authors=("Ann Qa",), year=2026)
    arxiv.replaces = ["tracing-slug"]
    store.upsert_papers([arxiv])
    store.upsert_papers([bundle("tracing-slug", "Tracing features, the blog post", authors=("Bob Other",),
                                year=2026)])
    assert _cite_keys(store) == {"2611.00001": "qa2026tracinga", "tracing-slug": "qa2026tracing"}
    # A stored replaced paper's keys do move: its successor holds its key, and it comes back with a new one.
    merged = bundle("2611.00002", "Tracing features, the blog post", authors=("Bob Other",), year=2026)
    merged.replaces = ["tracing-slug"]
    store.upsert_papers([merged])
    store.upsert_papers([bundle("tracing-slug", "Tracing features", authors=("Ann Qa",), year=2026)])
    assert _cite_keys(store) == {"2611.00001": "qa2026tracinga", "2611.00002": "qa2026tracing",
                                 "tracing-slug": "qa2026tracingb"}


def test_a_key_registry_without_held_marks_is_upgraded(tmp_path: Path, taxonomy: Taxonomy) -> None:
    """An embedded file whose key registry has no `held` column (the first keyed development build):
    init_schema adds it, marking the keys stored papers hold; a removed paper's come back in key order."""
    import sqlite3

    store = EmbeddedStore(tmp_path / "s.sqlite3")
    store.init_schema()
    store.load_taxonomy(taxonomy.nodes)
    store.upsert_papers([_page("toy", "Toy models")])
    store.upsert_papers([_page("toy", "Toy models", "Nelson Elhage"), _page("gone", "Gone page", "Zed Ax")])
    assert store.delete_paper("gone")
    store.close()
    with contextlib.closing(sqlite3.connect(tmp_path / "s.sqlite3")) as conn, conn:
        conn.executescript("CREATE TABLE ck AS SELECT key, paper_id FROM citation_keys; "
                           "DROP TABLE citation_keys; "
                           "CREATE TABLE citation_keys (key TEXT PRIMARY KEY, paper_id TEXT NOT NULL) "
                           "WITHOUT ROWID; INSERT INTO citation_keys SELECT * FROM ck; DROP TABLE ck; "
                           "CREATE INDEX citation_keys_paper ON citation_keys(paper_id);")
    store = EmbeddedStore(tmp_path / "s.sqlite3")
    store.init_schema()
    store.init_schema()
    with store._read() as conn:
        assert sorted(conn.execute("SELECT key, paper_id, held FROM citation_keys").fetchall()) == [
            ("anthropic2024toy", "toy", 0), ("ax2024gone", "gone", 0), ("elhage2024toy", "toy", 1)]
    assert store.delete_paper("toy")
    store.upsert_papers([_page("toy", "Toy models", "Nelson Elhage"), _page("gone", "Gone page", "Zed Ax")])
    assert _cite_keys(store) == {"toy": "elhage2024toy", "gone": "ax2024gone"}
    store.close()


def test_key_upgrade_reads_only_what_a_key_is_made_of(tmp_path: Path, taxonomy: Taxonomy) -> None:
    """The embedded upgrade reads the unkeyed papers' id, title, authors, year, venue, URL and arXiv id
    (what api.bibtex.key_base uses), not their abstracts or embeddings: 100k papers fit in a few MB."""
    store = EmbeddedStore(tmp_path / "s.sqlite3")
    store.init_schema()
    store.load_taxonomy(taxonomy.nodes)
    _strip_citation_keys(store, "embedded", [("m5", "Progress one", "2026-01-01T00:00:00.000000+00:00")])
    statements: list[str] = []
    store._conn().set_trace_callback(statements.append)
    store.init_schema()
    store._conn().set_trace_callback(None)
    reads = [s for s in statements if s.lstrip().upper().startswith("SELECT") and "citation_key IS NULL" in s
             and "LIMIT 1" not in s]
    assert len(reads) == 1 and "abstract" not in reads[0] and "embedding" not in reads[0], reads
    assert _cite_keys(store) == {"m5": "nanda2023progress"}
    store.close()
