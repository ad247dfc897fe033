"""The pipeline through the local arXiv API: dedupe, merge, idempotency, list rows kept, failures."""

from __future__ import annotations

from typing import Any

import pytest

from ingest.arxiv_server import LocalArxivServer
from ingest.arxiv_source import ArxivSource
from ingest.awesome_list import parse_list
from ingest.pipeline import IngestSummary, ingest_records_file, run_ingest
from kg.store import GraphStore
from kg.taxonomy import Taxonomy
from tests.embedders import HashEmbedder

from .conftest import snapshot


def _ingest_list(store: GraphStore, text: str, taxonomy: Taxonomy, server: LocalArxivServer | None,
                 embedder: Any, extractor: Any) -> tuple[IngestSummary, dict[str, Any]]:
    parsed = parse_list(text, taxonomy)
    records, report = list(parsed.papers), {}
    if server is not None:
        source = ArxivSource(url=server.url, delay=0.01, timeout=2, retries=1)
        found, report = source.resolve(records)
        records += found
    summary = run_ingest(store, records, source="list", embedder=embedder, extractor=extractor,
                         progress=False)
    return summary, report


def test_list_with_arxiv_metadata(store: GraphStore, seed_list: str, seed_records: list[dict[str, Any]],
                                  taxonomy: Taxonomy, local_arxiv: LocalArxivServer,
                                  embedder: HashEmbedder, extractor: Any) -> None:
    summary, report = _ingest_list(store, seed_list, taxonomy, local_arxiv, embedder, extractor)
    assert (summary.papers, summary.new, summary.rejected) == (38, 38, 0)
    assert report["by_id"] == 17 and len(report["by_title"]) == 13 and len(report["no_match"]) == 7
    # One batch for the ids, one query per non-arXiv paper link (the tool is not looked up).
    assert len(local_arxiv.requests) == 1 + 20
    arxiv_ids = {r["arxiv_id"] for r in seed_records if r["arxiv_id"]}
    stored = set(store.paper_ids())
    assert arxiv_ids <= stored and len(stored) == 38
    papers = store.get_papers(sorted(arxiv_ids))
    assert all(p.abstract and p.authors and "arxiv" in p.sources and "list" in p.sources for p in papers)
    knowledge = store.get_paper("2104.08696")
    assert knowledge is not None and knowledge.paper.venue == "ACL'22"
    assert [r.section_id for r in knowledge.list_rows] == ["findings-and-applications/findings-on-features"]
    stats = store.stats()
    assert stats["relationships"]["LISTED_IN"] == 57  # 58 rows, one repeated verbatim
    tool = [p for p in store.get_papers(sorted(stored)) if p.item_type == "tool"]
    assert [t.title for t in tool] == ["CircuitsVis"]
    runs = store.runs()
    assert runs[0].status == "succeeded" and runs[0].counts["new"] == 38


def test_ingest_twice_is_identical(store: GraphStore, seed_list: str, taxonomy: Taxonomy,
                                   local_arxiv: LocalArxivServer, embedder: HashEmbedder,
                                   extractor: Any) -> None:
    _ingest_list(store, seed_list, taxonomy, local_arxiv, embedder, extractor)
    first = snapshot(store)
    calls = embedder.calls
    again, _ = _ingest_list(store, seed_list, taxonomy, local_arxiv, embedder, extractor)
    assert (again.new, again.updated, again.unchanged, again.embedded) == (0, 0, 38, 0)
    assert embedder.calls == calls  # nothing re-embedded
    assert snapshot(store) == first
    assert [r.status for r in store.runs()] == ["succeeded", "succeeded"]


def test_arxiv_update_keeps_list_rows_and_list_edges(
    store: GraphStore, seed_list: str, seed_records: list[dict[str, Any]], taxonomy: Taxonomy,
    local_arxiv: LocalArxivServer, embedder: HashEmbedder, extractor: Any,
) -> None:
    _ingest_list(store, seed_list, taxonomy, local_arxiv, embedder, extractor)
    before = store.get_paper("2211.00593")
    assert before is not None
    changed = [dict(r, abstract="A new abstract about sparse autoencoders.", version=2,
                    updated="2024-01-02") if r["id"] == "2211.00593" else r for r in seed_records]
    with LocalArxivServer(changed) as newer:
        records = ArxivSource(url=newer.url, delay=0.01, timeout=2, retries=1).fetch_by_ids(["2211.00593"])
    summary = run_ingest(store, records, source="arxiv", embedder=embedder, extractor=extractor,
                         progress=False)
    assert (summary.updated, summary.embedded) == (1, 1)
    after = store.get_paper("2211.00593")
    assert after is not None
    assert after.paper.abstract == "A new abstract about sparse autoencoders."
    assert after.paper.updated == "2024-01-02"
    assert sorted(r.section_id for r in after.list_rows) == sorted(r.section_id for r in before.list_rows)
    list_uses = lambda d: sorted(t.technique_id for t in d.techniques if t.source == "list")  # noqa: E731
    assert list_uses(after) == list_uses(before) == ["mean_ablation"]
    extracted = {t.technique_id for t in after.techniques if t.source == "extracted"}
    assert "sae" in extracted  # re-extracted from the new abstract


def test_list_reingest_replaces_list_rows(store: GraphStore, seed_list: str, taxonomy: Taxonomy,
                                          local_arxiv: LocalArxivServer, embedder: HashEmbedder,
                                          extractor: Any) -> None:
    _ingest_list(store, seed_list, taxonomy, local_arxiv, embedder, extractor)
    row = next(line for line in seed_list.splitlines() if "Mean-ablation" in line)
    edited = seed_list.replace(row, row.replace("Mean-ablation", "Zero-ablation"))
    summary, _ = _ingest_list(store, edited, taxonomy, local_arxiv, embedder, extractor)
    assert summary.updated == 1 and summary.embedded == 0
    ioi = store.get_paper("2211.00593")
    assert ioi is not None
    assert sorted(t.technique_id for t in ioi.techniques if t.source == "list") == ["zero_ablation"]
    assert len(ioi.list_rows) == 4


def test_slug_papers_get_their_arxiv_id_later(store: GraphStore, seed_list: str, taxonomy: Taxonomy,
                                              local_arxiv: LocalArxivServer, embedder: HashEmbedder,
                                              extractor: Any) -> None:
    _ingest_list(store, seed_list, taxonomy, None, embedder, extractor)  # as with --no-arxiv
    assert "toy-models-of-superposition" in store.paper_ids()
    second, _ = _ingest_list(store, seed_list, taxonomy, local_arxiv, embedder, extractor)
    ids = store.paper_ids()
    assert len(ids) == 38 and "2209.10652" in ids and "toy-models-of-superposition" not in ids
    assert second.rekeyed["toy-models-of-superposition"] == "2209.10652"
    toy = store.get_paper("2209.10652")
    assert toy is not None and [r.section_title for r in toy.list_rows] == ["Findings on Features"]


def test_records_and_list_merge_by_title(store: GraphStore, seed_list: str, shared_data: Any,
                                         taxonomy: Taxonomy, embedder: HashEmbedder, extractor: Any) -> None:
    ingest_records_file(store, shared_data / "seed_papers.jsonl", embedder=embedder, extractor=extractor,
                        progress=False)
    before = snapshot(store)
    summary, _ = _ingest_list(store, seed_list, taxonomy, None, embedder, extractor)
    assert summary.new == 0 and len(store.paper_ids()) == 38
    assert "logit-lens" in store.paper_ids()  # the records file's id is kept
    # The list never overwrites richer metadata (titles from arXiv/records stay).
    after = snapshot(store)
    assert {k: v["paper"]["title"] for k, v in after["papers"].items()} == {
        k: v["paper"]["title"] for k, v in before["papers"].items()}


class _Boom(HashEmbedder):
    def encode(self, texts: Any, batch_size: int = 64, progress: bool = False) -> Any:
        raise RuntimeError("embedding exploded")


def test_a_failing_run_is_recorded(store: GraphStore, shared_data: Any, extractor: Any) -> None:
    with pytest.raises(RuntimeError, match="embedding exploded"):
        ingest_records_file(store, shared_data / "seed_papers.jsonl", embedder=_Boom(), extractor=extractor,
                            progress=False)
    (run,) = store.runs()
    assert run.status == "failed" and "embedding exploded" in (run.message or "")
    assert store.paper_ids() == []


def test_records_without_title_are_rejected(
    store: GraphStore, embedder: HashEmbedder, extractor: Any
) -> None:
    from ingest.records import Record

    records = [Record(source="records", source_id="a", title="A Real Title"),
               Record(source="records", source_id="b", title="  ?! ")]
    summary = run_ingest(store, records, source="records", embedder=embedder, extractor=extractor,
                         progress=False)
    assert (summary.new, summary.rejected) == (1, 1)
    assert summary.rejected_details[0]["reason"] == "no title"


def test_list_labels_in_the_other_column_become_the_right_edge(
        store: GraphStore, taxonomy: Taxonomy, embedder: HashEmbedder, extractor: Any) -> None:
    text = (
        "## Paper Collection\n### Applications of MI\n"
        "| Paper | Techniques | Evaluation | TL;DR |\n| :-- | :-- | :-- | :-- |\n"
        "| [Locating and Editing Factual Associations in GPT](https://arxiv.org/abs/2202.05262) "
        "| Automated Explanation Score | Extrinsic (Knowledge Editing), Knockout | Edits facts. |\n"
    )
    _ingest_list(store, text, taxonomy, None, embedder, extractor)
    detail = store.get_paper("2202.05262")
    assert detail is not None
    listed = {t.technique_id for t in detail.techniques if t.source == "list"}
    evaluated = {e.evaluation_id for e in detail.evaluations if e.source == "list"}
    assert listed == {"knockout"}
    assert evaluated == {"automated_explanation_score", "extrinsic_evaluation"}
    assert "Knowledge Editing" in (detail.list_rows[0].evaluation_text or "")
