"""ingest/reextract.py: re-extraction of the stored papers after a taxonomy edit (`ingest reextract`), its
dry run and lock, and check_extractions, which finds the papers it would extract again by hashes alone."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from ingest.pipeline import ingest_records_file
from kg.store import GraphStore
from kg.taxonomy import Taxonomy
from tests.embedders import HashEmbedder

from .conftest import open_ready_store, snapshot
from .test_pipeline import TAKER, CountingExtractor, _ingest_list, _take_over
from .test_progress import _records

# -- re-extraction of the stored papers after a taxonomy edit (`ingest reextract`) -----------------
STITCHING = ("  - id: model_stitching\n    label: Model stitching\n    parent: null\n    kind: technique\n"
             "    aliases: [model stitching, stitching layer]\n")
# A list row of a paper only the list brings (no abstract: extraction reads its title and TL;DR).
STITCHING_ROW = ("|  [Stitching Models Together](https://example.org/stitching-post)  |  Logit lens  |  "
                 "We train a stitching layer between two language models.  |\n")
STITCHING_RECORDS = [
    {"id": "stitch-1", "title": "Comparing Representations Across Networks",
     "abstract": "We connect the early layers of GPT-2 small to the late layers of Pythia with model "
                 "stitching. The stitched networks keep most of their accuracy."},
    {"id": "stitch-2", "title": "What a Linear Map Between Models Tells",
     "abstract": "A trained stitching layer maps the residual stream of one model into another. We also "
                 "apply activation patching to the stitched model."},
    {"id": "plain-1", "title": "The Logit Lens on GPT-2 Small",
     "abstract": "We apply the logit lens to GPT-2 small and read its intermediate predictions."},
]


def edited_taxonomy(tmp_path: Path) -> Path:
    """A copy of the shipped taxonomy with one new technique, model_stitching ("model stitching",
    "stitching layer"), as a taxonomy maintainer adds one."""
    from kg.config import PACKAGED_TAXONOMY

    text = PACKAGED_TAXONOMY.read_text(encoding="utf-8")
    edited = text.replace("\nextensions_not_in_figure:\n", "\nextensions_not_in_figure:\n" + STITCHING, 1)
    assert edited != text
    path = tmp_path / "mi-edited.yaml"
    path.write_text(edited, encoding="utf-8")
    return path


def _stitching_store(store: GraphStore, seed_list: str, tmp_path: Path, taxonomy: Taxonomy,
                     extractor: Any) -> None:
    """The seed list (list-only papers, a tool, list labels) with a row whose TL;DR names a stitching
    layer, then records naming model stitching, ingested with `extractor`."""
    import json

    anchor = next(line for line in seed_list.splitlines(keepends=True) if "Causal Scrubbing" in line)
    records = tmp_path / "stitching.jsonl"
    records.write_text("".join(json.dumps(r) + "\n" for r in STITCHING_RECORDS), encoding="utf-8")
    _ingest_list(store, seed_list.replace(anchor, anchor + STITCHING_ROW), taxonomy, None, HashEmbedder(),
                 extractor)
    ingest_records_file(store, records, embedder=HashEmbedder(), extractor=extractor, progress=False)


def _load_edited(store: GraphStore, tmp_path: Path) -> Taxonomy:
    """The edited taxonomy (a new technique, model stitching), loaded into the store as `paperkg init`
    loads it."""
    from kg.taxonomy import load_taxonomy

    edited = load_taxonomy(edited_taxonomy(tmp_path))
    store.load_taxonomy(edited.nodes)
    return edited


def _detail(store: GraphStore, paper_id: str) -> Any:
    """A stored paper's detail (it must be stored)."""
    detail = store.get_paper(paper_id)
    assert detail is not None
    return detail


def _without(snap: dict[str, Any], node_id: str) -> dict[str, Any]:
    """A snapshot's papers without their extraction hashes and their extracted edges to `node_id`."""
    out = {}
    for pid, data in snap["papers"].items():
        data = dict(data, paper=dict(data["paper"], extraction_hash=None))
        data["techniques"] = [t for t in data["techniques"] if t["technique_id"] != node_id]
        out[pid] = data
    return out


def test_reextract_tags_stored_papers_with_a_new_technique_and_keeps_everything_else(
    store: GraphStore, seed_list: str, tmp_path: Path, taxonomy: Taxonomy, extractor: Any,
) -> None:
    """QA (taxonomy maintainer): after a new technique and `paperkg init`, the papers already stored were
    re-tagged only when an ingest happened to write them again; nothing re-extracted the store."""
    from ingest.extract import Extractor
    from ingest.reextract import REEXTRACT_SOURCE, run_reextract
    from kg.schema import TLDR_EVIDENCE_PREFIX

    _stitching_store(store, seed_list, tmp_path, taxonomy, extractor)
    before = snapshot(store)
    first_seen = {p.id: p.first_seen for p in store.get_papers(store.paper_ids())}
    list_only = [pid for pid, data in before["papers"].items() if data["paper"]["sources"] == ["list"]]
    tools = [pid for pid, data in before["papers"].items() if data["paper"]["item_type"] == "tool"]
    assert list_only and tools and "stitching-models-together" in list_only
    assert not any(t["technique_id"] == "model_stitching" for d in before["papers"].values()
                   for t in d["techniques"])

    edited = _load_edited(store, tmp_path)
    counting, embedder = CountingExtractor(Extractor(edited)), HashEmbedder()
    summary = run_reextract(store, embedder=embedder, extractor=counting, taxonomy=edited, progress=False,
                            batch_size=7)
    ids = store.paper_ids()
    # The signature changed, so every paper was extracted again and records the new hash; three of them
    # gained the new technique, and nothing else changed tags.
    assert sorted(counting.extracted) == sorted(ids)
    assert (summary.papers, summary.updated, summary.unchanged) == (len(ids), len(ids), 0)
    assert summary.retagged == 3
    assert (summary.tags_added, summary.tags_removed) == ({"model_stitching": 3}, {})
    assert embedder.calls == 0 and summary.embedded == 0  # embeddings came from the cache: no model call
    uses = [(pid, t) for pid in ids for t in _detail(store, pid).techniques
            if t.technique_id == "model_stitching"]
    tagged = {pid: t.evidence for pid, t in uses}
    assert sorted(tagged) == ["stitch-1", "stitch-2", "stitching-models-together"]
    assert "with model stitching" in tagged["stitch-1"] and "stitching layer" in tagged["stitch-2"]
    assert tagged["stitching-models-together"] == (
        TLDR_EVIDENCE_PREFIX + "We train a stitching layer between two language models.")
    assert {t.source for _pid, t in uses} == {"extracted"}
    # Everything else is as stored: metadata, sources, item types, list rows, list labels, findings,
    # embeddings; and first_seen.
    after = snapshot(store)
    assert _without(after, "model_stitching") == _without(before, "model_stitching")
    assert {p.id: p.first_seen for p in store.get_papers(ids)} == first_seen
    post = store.get_paper("stitching-models-together")
    assert post is not None and [(t.technique_id, t.source) for t in post.techniques] == [
        ("logit_lens", "list"), ("model_stitching", "extracted")]
    # Exactly the graph an ingest of the same sources with the edited taxonomy gives.
    fresh = open_ready_store(tmp_path / "fresh" / "paperkg.sqlite3", taxonomy)
    try:
        fresh.load_taxonomy(edited.nodes)
        _stitching_store(fresh, seed_list, tmp_path, taxonomy, Extractor(edited))
        assert snapshot(fresh) == after
    finally:
        fresh.close()
    [run] = store.runs(REEXTRACT_SOURCE)
    assert run.status == "succeeded" and run.counts == summary.counts() and run.counts["retagged"] == 3
    # A second run finds every extraction current: nothing extracted, nothing written.
    counting.extracted.clear()
    again = run_reextract(store, embedder=embedder, extractor=counting, taxonomy=edited, progress=False)
    assert counting.extracted == [] and embedder.calls == 0
    assert (again.updated, again.unchanged, again.retagged) == (0, len(ids), 0)
    assert snapshot(store) == after


def test_reextract_with_the_same_taxonomy_writes_nothing(
    store: GraphStore, seed_list: str, tmp_path: Path, taxonomy: Taxonomy, extractor: Any,
) -> None:
    """List-only papers (no abstract), tools and records papers are rebuilt from what is stored into the
    very inputs an ingest extracted them from: with the taxonomy unchanged, every one is current."""
    from ingest.reextract import run_reextract

    _stitching_store(store, seed_list, tmp_path, taxonomy, extractor)
    before = snapshot(store)
    seen = {p.id: p.last_seen for p in store.get_papers(store.paper_ids())}
    counting = CountingExtractor(extractor)
    summary = run_reextract(store, embedder=HashEmbedder(), extractor=counting, taxonomy=taxonomy,
                            progress=False)
    assert counting.extracted == []
    assert (summary.updated, summary.unchanged, summary.retagged) == (0, len(seen), 0)
    assert snapshot(store) == before
    assert {p.id: p.last_seen for p in store.get_papers(store.paper_ids())} == seen  # not even touched


def test_a_reextract_dry_run_counts_what_would_change_and_writes_nothing(
    store: GraphStore, seed_list: str, tmp_path: Path, taxonomy: Taxonomy, extractor: Any,
) -> None:
    from ingest.extract import Extractor
    from ingest.reextract import run_reextract

    _stitching_store(store, seed_list, tmp_path, taxonomy, extractor)
    edited = _load_edited(store, tmp_path)
    before, runs = snapshot(store), store.runs()
    dry = run_reextract(store, extractor=Extractor(edited), taxonomy=edited, progress=False, dry_run=True)
    assert snapshot(store) == before and store.runs() == runs
    assert (dry.dry_run, dry.run_id, dry.updated, dry.retagged) == (True, "", len(store.paper_ids()), 3)
    assert dry.tags_added == {"model_stitching": 3}
    assert dry.text().startswith(f"reextract (dry run: nothing written): {len(store.paper_ids())} papers -> ")
    assert "  tags added:\n    model_stitching: 3 papers" in dry.text()
    assert dry.to_dict()["run_id"] is None


def test_a_reextract_piped_to_a_log_prints_plain_progress_lines(
    store: GraphStore, tmp_path: Path, extractor: Any, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As an ingest does: `paperkg ingest reextract` piped to a log, cron or docker logs printed nothing
    until its summary (its bar was a terminal's only)."""
    import ingest.progress as progress_module
    from ingest.extract import Extractor
    from ingest.reextract import run_reextract

    monkeypatch.setattr(progress_module, "PLAIN_PROGRESS_EVERY", 0.0)  # a line per batch: no waiting
    records = _records(tmp_path / "r.jsonl", 5)
    ingest_records_file(store, records, embedder=HashEmbedder(), extractor=extractor, progress=False)
    edited = _load_edited(store, tmp_path)
    capsys.readouterr()
    run_reextract(store, embedder=HashEmbedder(), extractor=Extractor(edited), taxonomy=edited, batch_size=2)
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("reextract:")]
    assert [line.split(",")[0] for line in lines] == [
        "reextract: 2/5 papers", "reextract: 4/5 papers", "reextract: 5/5 papers"]
    assert all(" papers/s, ETA " in line for line in lines)
    # Run again, every extraction is current: the papers are counted unchanged and left out of the rate.
    run_reextract(store, embedder=HashEmbedder(), extractor=Extractor(edited), taxonomy=edited, batch_size=2)
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("reextract:")]
    assert lines[-1] == "reextract: 5/5 papers (5 unchanged), ETA unknown"


def test_reextract_holds_the_ingest_lock_and_stops_when_it_is_taken_over(
    store: GraphStore, seed_list: str, tmp_path: Path, taxonomy: Taxonomy, extractor: Any,
) -> None:
    from ingest.extract import Extractor
    from ingest.reextract import REEXTRACT_SOURCE, run_reextract
    from ingest.store_lock import LOCK_NAME, IngestLocked, IngestLockLost

    _stitching_store(store, seed_list, tmp_path, taxonomy, extractor)
    edited = _load_edited(store, tmp_path)
    before = snapshot(store)
    store.acquire_lock(LOCK_NAME, TAKER, ttl_seconds=60)
    with pytest.raises(IngestLocked, match="another list ingest holds the lock"):
        run_reextract(store, embedder=HashEmbedder(), extractor=Extractor(edited), progress=False)
    assert store.runs(REEXTRACT_SOURCE) == [] and snapshot(store) == before
    store.release_lock(LOCK_NAME, TAKER)

    class TakenOver(CountingExtractor):
        def extract_many(self, items: Iterable[tuple[Any, ...]], batch_size: int = 256) -> list[Any]:
            """Extract, then let another ingest take the lock over (the run was paused past its lifetime)."""
            out = super().extract_many(items, batch_size)
            _take_over(store)
            return out

    with pytest.raises(IngestLockLost):
        run_reextract(store, embedder=HashEmbedder(), extractor=TakenOver(Extractor(edited)), progress=False,
                      batch_size=5)
    assert snapshot(store) == before  # checked right before the first write: nothing written
    [run] = store.runs(REEXTRACT_SOURCE)
    assert run.status == "failed" and "taken over" in (run.message or "")
    # Review: a batch's tag changes were counted before its write, so a failed run whose lost lock
    # stopped the write of a batch with re-tagged papers (one batch: the stitching papers are in it)
    # still counted them.
    store.release_lock(LOCK_NAME, TAKER)
    dry = run_reextract(store, extractor=Extractor(edited), progress=False, dry_run=True)
    assert dry.retagged > 0 and dry.tags_added.get("model_stitching", 0) > 0
    with pytest.raises(IngestLockLost):
        run_reextract(store, embedder=HashEmbedder(), extractor=TakenOver(Extractor(edited)), progress=False,
                      batch_size=len(store.paper_ids()))
    assert snapshot(store) == before
    failed = store.runs(REEXTRACT_SOURCE)[0]
    assert failed.status == "failed" and failed.counts["retagged"] == failed.counts["updated"] == 0


def test_check_extractions_finds_by_hashes_alone_the_papers_reextract_would_update(
    store: GraphStore, seed_list: str, tmp_path: Path, taxonomy: Taxonomy, extractor: Any,
) -> None:
    """What `paperkg init` notes (QA: its note followed the store's taxonomy, not the papers): the papers
    a reextract dry run would update, found without extracting anything, and who holds a node's tags."""
    from ingest.extract import Extractor
    from ingest.reextract import check_extractions, run_reextract

    _stitching_store(store, seed_list, tmp_path, taxonomy, extractor)
    ids = sorted(store.paper_ids())
    counting = CountingExtractor(extractor)
    current = check_extractions(store, extractor=counting)
    assert (current.papers, current.stale, counting.extracted) == (len(ids), [], [])

    edited = _load_edited(store, tmp_path)
    new = CountingExtractor(Extractor(edited))
    # The records papers, written again with the edited taxonomy, are current; the list's are not.
    ingest_records_file(store, tmp_path / "stitching.jsonl", embedder=HashEmbedder(), extractor=new,
                        progress=False)
    new.extracted.clear()
    check = check_extractions(store, extractor=new, node_ids=["model_stitching", "logit_lens"])
    assert new.extracted == []  # hashes only
    assert check.papers == len(ids) and sorted(set(ids) - set(check.stale)) == ["plain-1", "stitch-1",
                                                                                "stitch-2"]
    dry = run_reextract(store, extractor=new, taxonomy=edited, progress=False, dry_run=True)
    assert check.stale == sorted(pid for pid, status in dry.statuses.items() if status == "updated")
    assert check.extracted_tags["model_stitching"] == {"stitch-1", "stitch-2"}
    listed = {pid for pid in ids for t in _detail(store, pid).techniques
              if t.technique_id == "logit_lens" and t.source == "list"}
    assert "stitching-models-together" in listed and check.list_tags == {"logit_lens": listed}
