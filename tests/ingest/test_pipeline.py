"""The pipeline through the local arXiv API: dedupe, merge, idempotency, list rows kept, failures."""

from __future__ import annotations

import dataclasses
import json
import logging
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ingest.arxiv_server import LocalArxivServer
from ingest.arxiv_source import ArxivSource
from ingest.awesome_list import parse_list
from ingest.pipeline import IngestSummary, ingest_records_file, run_ingest
from ingest.records import Record
from kg.store import GraphStore
from kg.taxonomy import Taxonomy
from tests.embedders import HashEmbedder

from .conftest import open_ready_store, snapshot


class CountingExtractor:
    """The real Extractor behind a wrapper that records which papers it was asked to extract."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.extracted: list[str] = []

    @property
    def signature(self) -> str:
        """The wrapped extractor's signature."""
        return str(self.inner.signature)

    def extract_many(self, items: Iterable[tuple[Any, ...]], batch_size: int = 256) -> list[Any]:
        """Record the paper ids, then extract with the real extractor."""
        items = list(items)
        self.extracted += [item[0] for item in items]
        return list(self.inner.extract_many(items, batch_size=batch_size))

    def extract(self, paper_id: str, title: str, abstract: str, tldrs: Sequence[str] = ()) -> Any:
        """Record the paper id, then extract with the real extractor."""
        self.extracted.append(paper_id)
        return self.inner.extract(paper_id, title, abstract, tldrs=tldrs)


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
    counting = CountingExtractor(extractor)
    _ingest_list(store, seed_list, taxonomy, local_arxiv, embedder, counting)
    first = snapshot(store)
    assert sorted(counting.extracted) == sorted(store.paper_ids())
    calls = embedder.calls
    counting.extracted.clear()
    again, _ = _ingest_list(store, seed_list, taxonomy, local_arxiv, embedder, counting)
    assert (again.new, again.updated, again.unchanged, again.embedded) == (0, 0, 38, 0)
    assert embedder.calls == calls  # nothing re-embedded
    assert counting.extracted == []  # nothing re-extracted: the stored extracted edges were kept
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


def test_records_fetched_in_the_run_are_ingested_and_a_stop_while_fetching_is_recorded(
    store: GraphStore, embedder: HashEmbedder, extractor: Any
) -> None:
    """`fetch` (the CLI's arXiv look-ups) runs inside the recorded run: a SIGTERM or Ctrl-C while
    `ingest list` / `ingest arxiv` waited on arXiv left no run at all, though it said "recorded"."""
    from ingest.records import Record

    given = [Record(source="records", source_id="a", title="A Paper Given Up Front")]
    runs_while_fetching: list[Any] = []

    def fetch() -> list[Record]:
        runs_while_fetching.extend(store.runs())
        return [Record(source="records", source_id="b", title="A Paper Fetched In The Run")]

    summary = run_ingest(store, given, source="records", embedder=embedder, extractor=extractor,
                         progress=False, fetch=fetch)
    assert [(r.id, r.status) for r in runs_while_fetching] == [(summary.run_id, "running")]
    assert (summary.records, summary.new, len(store.paper_ids())) == (2, 2, 2)
    assert store.runs(limit=1)[0].counts["records"] == 2

    def stopped() -> list[Record]:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_ingest(store, given, source="records", embedder=embedder, extractor=extractor, progress=False,
                   fetch=stopped)
    latest = store.runs(limit=1)[0]
    assert (latest.status, latest.message) == ("failed", "KeyboardInterrupt") and latest.finished
    assert len(store.paper_ids()) == 2


@pytest.mark.parametrize("batch_size", [0, -5])
def test_a_batch_size_below_1_is_refused_before_a_run_starts(
    store: GraphStore, shared_data: Any, embedder: HashEmbedder, extractor: Any, batch_size: int
) -> None:
    from ingest.records import Record

    records = [Record(source="records", source_id="a", title="A Real Title")]
    with pytest.raises(ValueError, match=f"batch size must be an integer >= 1, not {batch_size}"):
        run_ingest(store, records, source="records", embedder=embedder, extractor=extractor,
                   progress=False, batch_size=batch_size)
    with pytest.raises(ValueError, match="batch size must be"):
        ingest_records_file(store, shared_data / "seed_papers.jsonl", embedder=embedder, extractor=extractor,
                            progress=False, batch_size=batch_size)
    assert store.runs() == [] and store.paper_ids() == []  # not even a failed run


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


def _records_ingest(store: GraphStore, path: Path, extractor: Any) -> IngestSummary:
    return ingest_records_file(store, path, embedder=HashEmbedder(), extractor=extractor, progress=False)


def _extracted_edges(store: GraphStore) -> dict[str, Any]:
    """Per paper: extracted techniques/evaluations, findings and models (what extraction decides)."""
    out = {}
    for pid in store.paper_ids():
        d = store.get_paper(pid)
        assert d is not None
        techniques = [(t.technique_id, t.evidence, t.score) for t in d.techniques if t.source == "extracted"]
        evaluations = [(e.evaluation_id, e.evidence) for e in d.evaluations if e.source == "extracted"]
        findings = [(f.id, f.text, sorted(a.id for a in f.about)) for f in d.findings]
        out[pid] = (sorted(techniques), sorted(evaluations), findings, sorted(m.id for m in d.models))
    return out


@pytest.fixture
def seed_file(tmp_path: Path, seed_records: list[dict[str, Any]]) -> Path:
    """The seed records written to a records file in tmp (so tests can edit a copy)."""
    import json

    path = tmp_path / "seed.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in seed_records), encoding="utf-8")
    return path


def test_reingest_skips_extraction_of_unchanged_papers(store: GraphStore, seed_file: Path,
                                                       extractor: Any) -> None:
    counting = CountingExtractor(extractor)
    first = _records_ingest(store, seed_file, counting)
    ids = store.paper_ids()
    assert first.new == len(ids) == len(counting.extracted) > 0
    edges = _extracted_edges(store)
    assert sum(len(e[0]) for e in edges.values()) > 0 and sum(len(e[2]) for e in edges.values()) > 0
    papers = store.get_papers(ids)
    assert all(p.extraction_hash and len(p.extraction_hash) == 64 for p in papers)
    assert len({p.extraction_hash for p in papers}) == len(ids)
    before = snapshot(store)
    counting.extracted.clear()
    again = _records_ingest(store, seed_file, counting)
    assert counting.extracted == []
    assert (again.new, again.updated, again.unchanged) == (0, 0, len(ids))
    assert set(again.statuses.values()) == {"unchanged"}
    assert snapshot(store) == before


def test_changed_abstract_re_extracts_that_paper_only(
    store: GraphStore, seed_file: Path, seed_records: list[dict[str, Any]], tmp_path: Path,
    taxonomy: Taxonomy, extractor: Any,
) -> None:
    import json

    counting = CountingExtractor(extractor)
    _records_ingest(store, seed_file, counting)
    before = _extracted_edges(store)
    target = next(r for r in seed_records if r["arxiv_id"])
    pid = target["arxiv_id"]
    old_hash = store.get_papers([pid])[0].extraction_hash
    edited = [dict(r, abstract="We train sparse autoencoders on GPT-2 small. We find that the features "
                               "are monosemantic.") if r is target else r for r in seed_records]
    changed_file = tmp_path / "changed.jsonl"
    changed_file.write_text("".join(json.dumps(r) + "\n" for r in edited), encoding="utf-8")
    counting.extracted.clear()
    summary = _records_ingest(store, changed_file, counting)
    assert counting.extracted == [pid]
    assert (summary.updated, summary.unchanged) == (1, len(before) - 1)
    after = _extracted_edges(store)
    assert {k: v for k, v in after.items() if k != pid} == {k: v for k, v in before.items() if k != pid}
    assert "sae" in {t[0] for t in after[pid][0]} and after[pid] != before[pid]
    assert store.get_papers([pid])[0].extraction_hash not in (None, old_hash)
    # Reused and fresh extractions together give exactly the graph a fresh ingest of the edited file does.
    fresh = open_ready_store(tmp_path / "fresh" / "paperkg.sqlite3", taxonomy)
    try:
        _records_ingest(fresh, changed_file, extractor)
        assert snapshot(store) == snapshot(fresh)
    finally:
        fresh.close()


def test_another_extractor_signature_re_extracts_everything(
    store: GraphStore, seed_file: Path, taxonomy: Taxonomy, extractor: Any,
) -> None:
    from ingest.extract import Extractor

    _records_ingest(store, seed_file, extractor)
    ids = store.paper_ids()
    hashes = {p.id: p.extraction_hash for p in store.get_papers(ids)}
    edges = _extracted_edges(store)
    wider = [dataclasses.replace(n, aliases=[*n.aliases, "dictionary learner"]) if n.id == "sae" else n
             for n in taxonomy.nodes]
    other = CountingExtractor(Extractor(dataclasses.replace(taxonomy, nodes=wider)))
    assert other.signature != extractor.signature
    summary = _records_ingest(store, seed_file, other)
    assert sorted(other.extracted) == sorted(ids)
    assert summary.updated == len(ids)  # every paper now records the new extractor's hash
    new_hashes = {p.id: p.extraction_hash for p in store.get_papers(ids)}
    assert all(new_hashes[i] and new_hashes[i] != hashes[i] for i in ids)
    assert _extracted_edges(store) == edges  # the extra alias appears in no seed abstract
    other.extracted.clear()
    again = _records_ingest(store, seed_file, other)
    assert other.extracted == [] and again.unchanged == len(ids)


# -- hostile input from any source: limits, ids, control characters -------------------------------
_LIST_MD = """# List

## Paper Collection

### Techniques

|  Paper  |      Techniques    |      TL;DR    |
| :----- | :--------------: | :----- |
| [Interpretability\x1b in the Wild\x00](https://arxiv.org/abs/2211.00593) | Logit lens | \
A TL;DR \u202eevil\u202c\x07 |
| [""" + "Long " * 250 + """](https://example.com/long) | Logit lens | A title of 1,250 characters |
| [Fine Paper](https://example.com/fine) | Logit lens | Fine. |
"""


def test_list_records_are_cleaned_and_over_long_ones_rejected(
    store: GraphStore, taxonomy: Taxonomy, embedder: HashEmbedder, extractor: Any
) -> None:
    records = list(parse_list(_LIST_MD, taxonomy).papers)
    summary = run_ingest(store, records, source="list", embedder=embedder, extractor=extractor,
                         progress=False)
    assert (summary.status, summary.new, summary.rejected) == ("succeeded", 2, 1)
    (rejected,) = summary.rejected_details
    assert rejected["reason"] == "'title' is 1249 characters long (the limit is 1000)"
    assert len(rejected["title"]) == 203  # shortened for the report
    paper = store.get_paper("2211.00593")
    assert paper is not None
    # ESC, NUL, BEL and the bidi override/pop are gone; the words stay apart.
    assert paper.paper.title == "Interpretability in the Wild"
    assert paper.list_rows[0].tldr == "A TL;DR evil"
    assert sorted(store.paper_ids()) == ["2211.00593", "fine-paper"]


def test_over_long_arxiv_metadata_is_rejected_and_the_stored_paper_kept(
    store: GraphStore, seed_records: list[dict[str, Any]], shared_data: Path, embedder: HashEmbedder,
    extractor: Any
) -> None:
    ingest_records_file(store, shared_data / "seed_papers.jsonl", embedder=embedder, extractor=extractor,
                        progress=False)
    before = snapshot(store)
    served = []
    for record in seed_records:
        if record["arxiv_id"] == "2211.00593":  # 1.1 M characters: spaCy alone refuses over 1,000,000
            record = record | {"abstract": "We find circuits. " * 62_000}
        elif record["arxiv_id"] == "2202.05262":
            record = record | {"authors": ["Kevin \u202eMeng", *record["authors"]],
                               "title": "New\u2066 Title"}
        served.append(record)
    with LocalArxivServer(served) as server:
        found = ArxivSource(url=server.url, delay=0.01, timeout=5, retries=1).fetch_by_ids(
            ["2211.00593", "2202.05262"])
    summary = run_ingest(store, found, source="arxiv", embedder=embedder, extractor=extractor,
                         progress=False)
    assert (summary.status, summary.updated, summary.rejected) == ("succeeded", 1, 1)
    (rejected,) = summary.rejected_details
    assert rejected["source_id"].startswith("2211.00593")
    assert rejected["reason"] == "'abstract' is 1115999 characters long (the limit is 20000)"
    after = snapshot(store)
    assert after["papers"]["2211.00593"] == before["papers"]["2211.00593"]  # the stored paper is untouched
    rome = store.get_paper("2202.05262")
    assert rome is not None and rome.paper.title == "New Title" and rome.paper.authors[0] == "Kevin Meng"
    assert store.runs()[0].status == "succeeded"


@pytest.mark.parametrize(("fields", "reason"), [
    ({"arxiv_id": "javascript:alert(14)"}, "'arxiv_id' must be an arXiv id such as 2211.00593"),
    ({"explicit_id": "../../api/stats"}, "'id' must be letters, digits and . _ - :"),
    ({"title": "Lone \udc80 surrogate"}, "'title' is not valid Unicode text (lone surrogate '\\udc80'"),
    ({"authors": ["A"] * 10_001}, "'authors' has 10001 names (the limit is 10000)"),
    ({"authors": ["A" * 301]}, "'authors' is 301 characters long (the limit is 300)"),
    ({"venue": "V" * 2_001}, "'venue' is 2001 characters long (the limit is 2000)"),
])
def test_records_unfit_to_store_are_rejected_and_the_run_goes_on(
    store: GraphStore, embedder: HashEmbedder, extractor: Any, fields: dict[str, Any], reason: str
) -> None:
    from ingest.records import Record

    bad = Record(**({"source": "arxiv", "source_id": "bad", "title": "Bad Paper"} | fields))
    records = [Record(source="records", source_id="a", title="A Real Title"), bad]
    summary = run_ingest(store, records, source="arxiv", embedder=embedder, extractor=extractor,
                         progress=False)
    assert (summary.status, summary.new, summary.rejected) == ("succeeded", 1, 1)
    assert summary.rejected_details[0]["reason"].startswith(reason)
    assert reason.split("'")[1] in summary.text()
    summary.text().encode("utf-8")  # the report can be printed: a lone surrogate in a title is escaped
    assert store.paper_ids() == ["a-real-title"] and store.runs()[0].status == "succeeded"


def test_a_paper_without_abstract_is_embedded_from_its_list_tldrs(
    store: GraphStore, tmp_path: Path, embedder: HashEmbedder, extractor: Any,
) -> None:
    import json

    import numpy as np

    from ingest.embed import embedding_text

    def row(tldr: str, techniques: str | None = None) -> dict[str, Any]:
        return {"section": "Techniques", "subsection": None, "techniques": techniques, "evaluation": None,
                "tldr": tldr, "title_in_list": "t", "url_in_list": "https://example.org/p"}

    no_abstract = {"id": "post", "title": "interpreting GPT: the logit lens", "abstract": None,
                   "list_rows": [row("Project activations into the vocabulary space."),
                                 row("Project activations into the vocabulary space."),
                                 row("Sparse autoencoders recover features.")]}
    with_abstract = {"id": "paper", "title": "A paper", "abstract": "We study induction heads.",
                     "list_rows": [row("A TL;DR the abstract makes unneeded.")]}
    source = tmp_path / "records.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in (no_abstract, with_abstract)), encoding="utf-8")
    ingest_records_file(store, source, embedder=embedder, extractor=extractor, progress=False)

    stored = store.get_embeddings(["post", "paper"])
    stand_in = "Project activations into the vocabulary space. Sparse autoencoders recover features."
    expected = embedder.encode([embedding_text(no_abstract["title"], stand_in),
                                embedding_text("A paper", "We study induction heads.")])
    np.testing.assert_allclose(stored["post"], expected[0], atol=1e-6)
    np.testing.assert_allclose(stored["paper"], expected[1], atol=1e-6)
    # Extraction reads the TL;DRs too: "sparse autoencoders" is an extracted technique edge whose
    # evidence says it is the list's sentence; a TL;DR is never a finding.
    detail = store.get_paper("post")
    assert detail is not None and detail.paper.abstract in (None, "")
    assert [(t.technique_id, t.source, t.evidence) for t in detail.techniques] == [
        ("logit_lens", "extracted", "interpreting GPT: the logit lens."),  # the title's
        ("sae", "extracted", "List TL;DR: Sparse autoencoders recover features.")]
    assert all(f.kind == "title" for f in detail.findings)


def test_a_changed_tldr_re_embeds_and_re_extracts_a_paper(
    store: GraphStore, taxonomy: Taxonomy, extractor: Any,
) -> None:
    def listed(tldr: str) -> str:
        return ("# Techniques\n\n| Paper | Techniques | Evaluation | TL;DR |\n|---|---|---|---|\n"
                f"| [Interpreting GPT: the logit lens](https://www.lesswrong.com/posts/x) | | | {tldr} |\n")

    counting = CountingExtractor(extractor)
    embedder = HashEmbedder()
    _ingest_list(store, listed("Decode the residual stream."), taxonomy, None, embedder, counting)
    (pid,) = store.paper_ids()
    first = store.get_embeddings([pid])[pid]
    first_hash = store.get_papers([pid])[0].extraction_hash
    counting.extracted.clear()
    new_tldr = "Decode each layer's residual stream with a tuned lens."
    summary, _ = _ingest_list(store, listed(new_tldr), taxonomy, None, embedder, counting)
    # Extraction reads the TL;DRs, so a new TL;DR is extracted again, and its technique is an edge.
    assert counting.extracted == [pid] and summary.updated == 1
    assert not np.allclose(store.get_embeddings([pid])[pid], first)  # the embedded text did change
    assert store.get_papers([pid])[0].extraction_hash not in (None, first_hash)
    detail = store.get_paper(pid)
    assert detail is not None
    assert [(t.technique_id, t.evidence) for t in detail.techniques if t.source == "extracted"] == [
        ("logit_lens", "Interpreting GPT: the logit lens."), ("tuned_lens", "List TL;DR: " + new_tldr)]
    counting.extracted.clear()
    again, _ = _ingest_list(store, listed(new_tldr), taxonomy, None, embedder, counting)
    assert counting.extracted == [] and again.unchanged == 1


def test_list_tldrs_of_a_paper_with_an_abstract_add_extracted_techniques(
    store: GraphStore, tmp_path: Path, embedder: HashEmbedder, extractor: Any,
) -> None:
    """The IOI case: its abstract says "causal interventions", its list TL;DR names the patching."""
    import json

    tldr = "The paper proposes to use mean-ablation for activation and path patching."
    record = {"id": "ioi", "title": "A Circuit for Indirect Object Identification",
              "abstract": "We study GPT-2 small. We find that a circuit of attention heads moves names.",
              "list_rows": [{"section": "Techniques", "subsection": None, "techniques": None,
                             "evaluation": None, "tldr": tldr, "title_in_list": "t",
                             "url_in_list": "https://example.org/ioi"}]}
    source = tmp_path / "records.jsonl"
    source.write_text(json.dumps(record) + "\n", encoding="utf-8")
    ingest_records_file(store, source, embedder=embedder, extractor=extractor, progress=False)
    detail = store.get_paper("ioi")
    assert detail is not None
    assert {(t.technique_id, t.source, t.evidence) for t in detail.techniques} == {
        (tid, "extracted", "List TL;DR: " + tldr)
        for tid in ("mean_ablation", "activation_patching", "path_patching")}
    assert [f.text for f in detail.findings if f.kind == "claim"] == [
        "We find that a circuit of attention heads moves names."]
    # The embedded text is still the title and abstract: the TL;DR only stands in for a missing abstract.
    from ingest.embed import embedding_text

    expected = embedder.encode([embedding_text(record["title"], record["abstract"])])[0]
    np.testing.assert_allclose(store.get_embeddings(["ioi"])["ioi"], expected, atol=1e-6)


# -- merging with stored papers (mutation audit: PL2, PL4) -------------------------------------------
def test_papers_with_two_arxiv_ids_stay_two_whatever_their_titles(
    store: GraphStore, embedder: HashEmbedder, extractor: Any
) -> None:
    """B's title is A's up to capitals (the same title key), but its arXiv id is another: the stored A
    is not matched by title, so B is stored beside it and A is untouched."""
    from ingest.records import Record

    a = Record(source="arxiv", source_id="2301.00001", title="Attention heads in small models",
               arxiv_id="2301.00001", abstract="Paper A.")
    b = Record(source="arxiv", source_id="2402.00002", title="Attention Heads in Small Models",
               arxiv_id="2402.00002", abstract="Paper B, a different paper.")
    run_ingest(store, [a], source="arxiv", embedder=embedder, extractor=extractor, progress=False)
    summary = run_ingest(store, [b], source="arxiv", embedder=embedder, extractor=extractor, progress=False)
    assert (summary.new, summary.updated) == (1, 0)
    assert sorted(store.paper_ids()) == ["2301.00001", "2402.00002"]
    first = store.get_paper("2301.00001")
    assert first is not None and (first.paper.title, first.paper.abstract) == (a.title, "Paper A.")


@pytest.mark.parametrize("stored_source", ["list", "records"])
def test_an_arxiv_record_without_authors_or_abstract_keeps_the_stored_ones(
    store: GraphStore, embedder: HashEmbedder, extractor: Any, stored_source: str
) -> None:
    """arXiv outranks the stored source, yet its empty fields ([] authors, "" abstract) are no data:
    the stored authors and abstract stay, while arXiv's title wins."""
    from ingest.records import Record

    stored = Record(source=stored_source, source_id="ioi", title="Interpretability in the wild",
                    arxiv_id="2211.00593", authors=["Kevin Wang", "Alexandre Variengien"],
                    abstract="We explain how GPT-2 small performs indirect object identification.")
    run_ingest(store, [stored], source=stored_source, embedder=embedder, extractor=extractor, progress=False)
    bare = Record(source="arxiv", source_id="2211.00593", title="Interpretability in the Wild", authors=[],
                  arxiv_id="2211.00593", abstract="")
    summary = run_ingest(store, [bare], source="arxiv", embedder=embedder, extractor=extractor,
                         progress=False)
    assert summary.updated == 1
    detail = store.get_paper("2211.00593")
    assert detail is not None
    assert detail.paper.authors == ["Kevin Wang", "Alexandre Variengien"]
    assert detail.paper.abstract == stored.abstract
    assert detail.paper.title == "Interpretability in the Wild"
    assert detail.paper.sources == sorted({stored_source, "arxiv"})


def test_a_stored_tool_stays_a_tool_when_the_list_lists_it_again(
    store: GraphStore, embedder: HashEmbedder, extractor: Any
) -> None:
    """A records-file tool stays a tool when a record that holds no list row (so no table says what it
    is) names it again: its default "paper" type does not turn the tool into a paper."""
    from ingest.records import Record

    tool = Record(source="records", source_id="circuitsvis", title="CircuitsVis", item_type="tool",
                  abstract="A library of attention visualisations.")
    run_ingest(store, [tool], source="records", embedder=embedder, extractor=extractor, progress=False)
    row = Record(source="list", source_id="row", title="CircuitsVis", url="https://github.com/x/circuitsvis")
    run_ingest(store, [row], source="list", embedder=embedder, extractor=extractor, progress=False)
    [paper] = store.get_papers(store.paper_ids())
    assert (paper.id, paper.item_type, paper.sources) == ("circuitsvis", "tool", ["list", "records"])


def test_a_list_that_moves_a_tool_into_a_paper_table_makes_it_a_paper(
    store: GraphStore, embedder: HashEmbedder, extractor: Any
) -> None:
    """Review: a tool stayed a tool for good, though the list itself moved its row to a paper table."""
    from ingest.records import ListRowRecord, Record

    def listed(item_type: str, section: str) -> Record:
        row = ListRowRecord(section_path=[section], title_in_list="CircuitsVis", item_type=item_type, line=9)
        return Record(source="list", source_id="row", title="CircuitsVis", item_type=item_type,
                      url="https://github.com/x/circuitsvis", list_rows=[row])

    run_ingest(store, [listed("tool", "Tools")], source="list", embedder=embedder, extractor=extractor,
               progress=False)
    assert store.get_papers(store.paper_ids())[0].item_type == "tool"
    run_ingest(store, [listed("paper", "Techniques")], source="list", embedder=embedder, extractor=extractor,
               progress=False)
    assert store.get_papers(store.paper_ids())[0].item_type == "paper"


def test_a_stored_list_tool_stays_a_tool_when_a_richer_source_does_not_say_so(
    store: GraphStore, embedder: HashEmbedder, extractor: Any
) -> None:
    """Mutation audit: a list tool re-ingested from a records file without `item_type` (read as "paper")
    became a paper, though the same two records in one run stay a tool."""
    from ingest.records import Record

    tool = Record(source="list", source_id="row", title="CircuitsVis", item_type="tool",
                  url="https://github.com/x/circuitsvis")
    entry = Record(source="records", source_id="circuitsvis", title="CircuitsVis",
                   abstract="A library of attention visualisations.")
    run_ingest(store, [tool], source="list", embedder=embedder, extractor=extractor, progress=False)
    run_ingest(store, [entry], source="records", embedder=embedder, extractor=extractor, progress=False)
    [paper] = store.get_papers(store.paper_ids())
    assert paper.item_type == "tool" and paper.abstract == "A library of attention visualisations."


# -- list rows the list no longer has (whole-list runs, prune) --------------------------------

WRONG_ROW = ("|  [A Wrong Paper About Probing Induction Heads](https://example.org/wrong-paper)  |  "
             "Probing  |  The paper probes induction heads with activation patching.  |\n")
RECORDS_PAPER_ROW = ("|  [Steering Llama With Contrastive Activation Addition](https://example.org/caa)  |  "
                     "Logit lens  |  The paper steers a model.  |\n")
RECORDS_PAPER = {"id": "caa", "title": "Steering Llama With Contrastive Activation Addition",
                 "abstract": "We steer language models by adding contrastive activation vectors.",
                 "year": 2023}


def _with_rows(seed_list: str, rows: str) -> str:
    """The seed list with `rows` added at the end of its Techniques table."""
    anchor = next(line for line in seed_list.splitlines(keepends=True) if "Causal Scrubbing" in line)
    return seed_list.replace(anchor, anchor + rows)


def _whole_list(store: GraphStore, text: str, taxonomy: Taxonomy, embedder: Any, extractor: Any,
                **options: bool) -> IngestSummary:
    """A list ingest of the whole list `text` (as `paperkg ingest list --no-arxiv` runs it)."""
    records = list(parse_list(text, taxonomy).papers)
    return run_ingest(store, records, source="list", embedder=embedder, extractor=extractor, progress=False,
                      whole_list=True, **options)


def _records(store: GraphStore, path: Path, records: list[dict[str, Any]], extractor: Any) -> None:
    import json

    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    ingest_records_file(store, path, embedder=HashEmbedder(), extractor=extractor, progress=False)


def test_a_whole_list_reports_the_rows_it_no_longer_has_and_prune_removes_them_alone(
    store: GraphStore, seed_list: str, taxonomy: Taxonomy, embedder: HashEmbedder, extractor: Any,
    tmp_path: Path,
) -> None:
    """Operator QA: rows of a wrong list copy stayed for good, since a list ingest only replaced the
    rows of the papers it had. Now they are reported; prune removes them, keeps the paper a records
    file brought, removes the one the list alone brought (it was left with no source at all) and
    changes nothing else."""
    _records(store, tmp_path / "records.jsonl", [RECORDS_PAPER], extractor)
    first = _whole_list(store, seed_list, taxonomy, embedder, extractor)
    assert first.stale_list_rows == [] and first.counts()["stale_list_rows"] == 0
    edited = _with_rows(seed_list, WRONG_ROW + RECORDS_PAPER_ROW)
    assert _whole_list(store, edited, taxonomy, embedder, extractor).stale_list_rows == []
    wrong = "a-wrong-paper-about-probing-induction-heads"
    assert "list" in store.get_papers(["caa"])[0].sources and store.get_paper(wrong).list_rows  # type: ignore[union-attr]
    line = next(n for n, text in enumerate(edited.splitlines(), start=1) if "A Wrong Paper" in text)

    reported = _whole_list(store, seed_list, taxonomy, embedder, extractor)
    assert reported.stale_list_rows == [
        {"paper_id": "a-wrong-paper-about-probing-induction-heads",
         "title": "A Wrong Paper About Probing Induction Heads", "section": "Techniques",
         "section_id": "techniques", "line": line},
        {"paper_id": "caa", "title": "Steering Llama With Contrastive Activation Addition",
         "section": "Techniques", "section_id": "techniques", "line": line + 1},
    ]
    assert (reported.list_rows_pruned, reported.prune_refused) == (0, None)
    # The wrong paper's only source is the list (no arXiv record, no records file): --prune removes it.
    assert reported.list_only_papers == [
        {"paper_id": wrong, "title": "A Wrong Paper About Probing Induction Heads"}]
    assert reported.to_dict()["list_only_papers"] == reported.list_only_papers
    assert (reported.counts()["list_only_papers"], reported.papers_pruned) == (1, 0)
    assert store.runs(limit=1)[0].counts["stale_list_rows"] == 2
    assert "2 list rows are no longer in the list (run again with --prune to remove them):" in reported.text()
    assert ("  1 paper of those rows has no other source (--prune removes it too):\n"
            f"    A Wrong Paper About Probing Induction Heads [{wrong}]") in reported.text()
    before = snapshot(store)
    assert before["stats"]["relationships"]["LISTED_IN"] == 59  # reported, not removed
    techniques = {(t.technique_id, t.source) for t in store.get_paper(wrong).techniques}  # type: ignore[union-attr]
    # The list's Probing, and activation patching extracted from the row's TL;DR.
    assert {("probing", "list"), ("activation_patching", "extracted")} <= techniques

    pruned = _whole_list(store, seed_list, taxonomy, embedder, extractor, prune=True)
    assert pruned.list_rows_pruned == 2 and pruned.stale_list_rows == reported.stale_list_rows
    assert (pruned.list_only_papers, pruned.papers_pruned) == (reported.list_only_papers, 1)
    assert {k: store.runs(limit=1)[0].counts[k] for k in ("list_rows_pruned", "papers_pruned")} == {
        "list_rows_pruned": 2, "papers_pruned": 1}
    assert ("2 list rows no longer in the list were removed (--prune; the papers with another source "
            "stay):") in pruned.text()
    assert ("  1 paper of those rows had no other source and was removed with its rows (--prune):\n"
            f"    A Wrong Paper About Probing Induction Heads [{wrong}]") in pruned.text()
    after = snapshot(store)
    assert sorted(after["papers"]) == sorted(set(before["papers"]) - {wrong})  # the rest stay
    assert store.get_paper(wrong) is None and wrong not in store.get_embeddings([wrong])
    assert wrong not in [hit.id for hit in store.keyword_search("wrong paper probing induction heads", 10)]
    changed = {wrong, "caa"}
    assert {k: v for k, v in after["papers"].items() if k not in changed} == {
        k: v for k, v in before["papers"].items() if k not in changed}
    assert after["stats"]["relationships"]["LISTED_IN"] == 57
    # The removed paper's edges go with it: every edge left is one of a paper left.
    edges_left = {rel: sum(len(p[key]) for p in after["papers"].values()) for rel, key in (
        ("USES", "techniques"), ("EVALUATES", "evaluations"), ("REPORTS", "findings"))}
    assert {rel: after["stats"]["relationships"][rel] for rel in edges_left} == edges_left
    # One paper fewer; the findings are what extraction finds without the TL;DRs.
    changed_nodes = {"Paper": before["stats"]["nodes"]["Paper"] - 1,
                     "Finding": after["stats"]["nodes"]["Finding"]}
    assert after["stats"]["nodes"] == before["stats"]["nodes"] | changed_nodes
    paper = store.get_paper("caa")
    assert paper is not None and paper.list_rows == []
    assert paper.paper.sources == ["records"]  # no longer on the list (the source filter agrees)
    assert [t for t in paper.techniques if t.source == "list"] == []
    # Nothing its TL;DR gave is left: extraction and embedding follow the paper's text without it.
    assert not any("TL;DR" in (t.evidence or "") for t in paper.techniques)
    assert after["papers"]["caa"]["paper"]["abstract"] == RECORDS_PAPER["abstract"]
    assert after["papers"]["caa"]["embedding"] == before["papers"]["caa"]["embedding"]  # it has an abstract

    again = _whole_list(store, seed_list, taxonomy, embedder, extractor, prune=True)
    assert (again.stale_list_rows, again.list_rows_pruned) == ([], 0)
    assert snapshot(store) == after
    # The edited list brings them back, as for any paper the list adds.
    _whole_list(store, edited, taxonomy, embedder, extractor)
    assert snapshot(store)["papers"][wrong] == before["papers"][wrong]


def test_a_records_files_list_rows_are_never_pruned_by_a_list_ingest(
    store: GraphStore, seed_list: str, taxonomy: Taxonomy, embedder: HashEmbedder, extractor: Any,
    tmp_path: Path,
) -> None:
    """Rows a records file brought are not the list's: neither reported nor pruned, also when they
    fill a paper a prune emptied (its source "list" went with its rows)."""
    with_rows = {**RECORDS_PAPER, "list_rows": [{"section": "Findings and Applications",
                                                  "subsection": "Applications of MI", "tldr": "Steering.",
                                                  "technique_ids": ["steering"]}]}
    _records(store, tmp_path / "records.jsonl", [with_rows], extractor)
    kept = store.get_paper("caa")
    assert kept is not None and len(kept.list_rows) == 1
    summary = _whole_list(store, seed_list, taxonomy, embedder, extractor, prune=True, force_prune=True)
    assert (summary.stale_list_rows, summary.list_rows_pruned) == ([], 0)
    assert store.get_paper("caa").list_rows == kept.list_rows  # type: ignore[union-attr]
    # The list takes the paper's rows over (as before), then drops it: its rows are the list's, and go.
    _whole_list(store, _with_rows(seed_list, RECORDS_PAPER_ROW), taxonomy, embedder, extractor)
    assert store.get_paper("caa").list_rows[0].section_id == "techniques"  # type: ignore[union-attr]
    assert _whole_list(store, seed_list, taxonomy, embedder, extractor, prune=True).list_rows_pruned == 1
    # The records file fills the emptied paper's rows again; the list leaves them alone from now on.
    _records(store, tmp_path / "records.jsonl", [with_rows], extractor)
    refilled = store.get_paper("caa")
    assert refilled is not None and [r.section_id for r in refilled.list_rows] == [
        r.section_id for r in kept.list_rows] and refilled.paper.sources == ["records"]
    summary = _whole_list(store, seed_list, taxonomy, embedder, extractor, prune=True, force_prune=True)
    assert (summary.stale_list_rows, summary.list_rows_pruned) == ([], 0)
    assert store.get_paper("caa").list_rows == refilled.list_rows  # type: ignore[union-attr]


FOUR_PAPERS = "# A list\n\n## Circuits\n| Paper | Techniques | TL;DR |\n| --- | --- | --- |\n" + "".join(
    f"| [Paper number {n}](https://example.org/{n}) | Probing | row {n} |\n"
    for n in ("one", "two", "three", "four"))


def _keep_rows(text: str, *kept: str) -> str:
    """The list without the rows of the papers not named."""
    return "".join(line for line in text.splitlines(keepends=True)
                   if "Paper number" not in line or any(f"number {k}]" in line for k in kept))


def test_prune_is_refused_when_more_than_half_of_the_lists_rows_would_go(
    store: GraphStore, taxonomy: Taxonomy, embedder: HashEmbedder, extractor: Any
) -> None:
    """A list that no longer has most of the stored rows looks truncated or wrong: --prune reports
    them and removes nothing, unless forced; up to half go without --force. The papers the list alone
    brought (all four here) go with their rows, and are kept when the prune is refused."""
    _whole_list(store, FOUR_PAPERS, taxonomy, embedder, extractor)
    refused = _whole_list(store, _keep_rows(FOUR_PAPERS, "one"), taxonomy, embedder, extractor, prune=True)
    assert len(refused.stale_list_rows) == 3 and refused.list_rows_pruned == 0
    assert [p["paper_id"] for p in refused.list_only_papers] == [
        "paper-number-four", "paper-number-three", "paper-number-two"]
    assert refused.papers_pruned == 0
    assert refused.prune_refused is not None
    assert "no longer has 3 of the 4 list rows stored" in refused.prune_refused
    assert ("nothing was removed (3 papers with no other source would have gone with them;"
            in refused.prune_refused)
    assert "--prune --force" in refused.prune_refused
    assert "(not removed: --prune was refused)" in refused.text()
    assert "3 papers of those rows have no other source (not removed: --prune was refused):" in refused.text()
    assert len(store.list_rows_from("list")) == 4 and store.runs(limit=1)[0].status == "succeeded"
    assert len(store.paper_ids()) == 4
    # Exactly half: pruned, and the two papers it leaves with no source go.
    half = _whole_list(store, _keep_rows(FOUR_PAPERS, "one", "two"), taxonomy, embedder, extractor,
                       prune=True)
    assert (half.prune_refused, half.list_rows_pruned, half.papers_pruned) == (None, 2, 2)
    assert sorted(r["paper_id"] for r in store.list_rows_from("list")) == [
        "paper-number-one", "paper-number-two"]
    assert sorted(store.paper_ids()) == ["paper-number-one", "paper-number-two"]
    forced = _whole_list(store, _keep_rows(FOUR_PAPERS), taxonomy, embedder, extractor, prune=True,
                         force_prune=True)
    assert (forced.prune_refused, forced.list_rows_pruned, forced.papers_pruned) == (None, 2, 2)
    assert store.list_rows_from("list") == [] and store.paper_ids() == []


def _other_rows(n: int, field: str) -> str:
    """`n` list rows of papers FOUR_PAPERS does not have, titled after `field`."""
    return "".join(f"| [A {field} paper {i}](https://example.org/{field}/{i}) | Probing | {field} {i} |\n"
                   for i in range(n))


def test_prune_counts_the_rows_stored_before_the_run_not_the_rows_it_wrote(
    store: GraphStore, taxonomy: Taxonomy, embedder: HashEmbedder, extractor: Any
) -> None:
    """QA: counted after the run, a wrong list's own rows made its stale rows look like a few of many,
    so a list at least as long as the stored one pruned every stored row (4 of 4 + 6). Now: of the rows
    stored before the run, with the rows the run adds left out either way."""
    _whole_list(store, FOUR_PAPERS, taxonomy, embedder, extractor)
    wrong = _whole_list(store, _keep_rows(FOUR_PAPERS) + _other_rows(6, "chemistry"), taxonomy, embedder,
                        extractor, prune=True)
    assert wrong.prune_refused is not None
    assert "no longer has 4 of the 4 list rows stored" in wrong.prune_refused
    assert (wrong.list_rows_pruned, wrong.papers_pruned) == (0, 0)
    assert len(store.list_rows_from("list")) == 4 + 6 and len(store.paper_ids()) == 10
    # 10 rows stored now; a list with 2 of them and 20 new rows drops 8 of the 10: refused.
    most = _whole_list(store, _keep_rows(FOUR_PAPERS, "one", "two") + _other_rows(20, "biology"), taxonomy,
                       embedder, extractor, prune=True)
    assert most.prune_refused is not None
    assert "no longer has 8 of the 10 list rows stored" in most.prune_refused
    # 30 stored now; a list that keeps 24 of them and adds 40 is pruned of the other 6.
    grown = _whole_list(store, _keep_rows(FOUR_PAPERS, "one", "two", "three", "four")
                        + _other_rows(20, "biology") + _other_rows(40, "physics"), taxonomy, embedder,
                        extractor, prune=True)
    assert grown.prune_refused is None and (grown.list_rows_pruned, grown.papers_pruned) == (6, 6)
    assert len(store.list_rows_from("list")) == 4 + 20 + 40 and len(store.paper_ids()) == 64


def test_prune_removes_a_paper_only_the_list_brought_and_keeps_one_arxiv_brought_too(
    store: GraphStore, taxonomy: Taxonomy, embedder: HashEmbedder, extractor: Any
) -> None:
    """A list paper with no arXiv record (a LessWrong post) was left with no source at all by --prune;
    it is removed now, rows in every section and all. A paper arXiv brought too only loses the list."""
    from ingest.records import Record

    kept_rows = "".join(f"| [Paper number {n}](https://example.org/{n}) | kept |\n"
                        for n in ("two", "three", "four"))
    listed = ("# A list\n\n## Circuits\n| Paper | Techniques | TL;DR |\n| --- | --- | --- |\n"
              "| [Paper number one](https://arxiv.org/abs/2401.00001) | Probing | row one |\n"
              "| [A LessWrong post](https://www.lesswrong.com/posts/x) | Probing | the post |\n"
              "## Probes\n| Paper | TL;DR |\n| --- | --- |\n"
              "| [A LessWrong post](https://www.lesswrong.com/posts/x) | again |\n" + kept_rows)
    arxiv = Record(source="arxiv", source_id="2401.00001", arxiv_id="2401.00001", title="Paper number one",
                   abstract="We probe a small transformer for induction heads.")
    run_ingest(store, [arxiv], source="arxiv", embedder=embedder, extractor=extractor, progress=False)
    _whole_list(store, listed, taxonomy, embedder, extractor)
    post = "a-lesswrong-post"
    assert store.get_papers(["2401.00001"])[0].sources == ["arxiv", "list"]
    assert store.get_papers([post])[0].sources == ["list"] and len(store.get_paper(post).list_rows) == 2  # type: ignore[union-attr]

    # Half of the six rows stored go: the list dropped the arXiv paper and the post.
    summary = _whole_list(store, "# A list\n\n## Probes\n| Paper | TL;DR |\n| --- | --- |\n" + kept_rows,
                          taxonomy, embedder, extractor, prune=True)
    assert [r["paper_id"] for r in summary.stale_list_rows] == ["2401.00001", post, post]
    assert summary.list_only_papers == [{"paper_id": post, "title": "A LessWrong post"}]
    assert (summary.list_rows_pruned, summary.papers_pruned, summary.prune_refused) == (3, 1, None)
    assert store.get_paper(post) is None and post not in store.get_embeddings([post])
    kept = store.get_paper("2401.00001")
    assert kept is not None and kept.paper.sources == ["arxiv"] and kept.list_rows == []
    assert sorted(store.paper_ids()) == ["2401.00001", "paper-number-four", "paper-number-three",
                                         "paper-number-two"]


def test_a_list_ingest_that_is_not_a_whole_list_reports_nothing(
    store: GraphStore, taxonomy: Taxonomy, embedder: HashEmbedder, extractor: Any
) -> None:
    """Only a whole list says which rows are gone: a list ingest of some of its papers keeps the rest."""
    _whole_list(store, FOUR_PAPERS, taxonomy, embedder, extractor)
    records = list(parse_list(_keep_rows(FOUR_PAPERS, "one"), taxonomy).papers)
    summary = run_ingest(store, records, source="list", embedder=embedder, extractor=extractor,
                         progress=False)
    assert summary.stale_list_rows == [] and "stale_list_rows" not in summary.counts()
    assert "stale_list_rows" not in summary.to_dict() and len(store.list_rows_from("list")) == 4


def _jsonl(path: Path, rows: Sequence[dict[str, Any]]) -> Path:
    import json

    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


_LONG_TITLE = "Mechanistic Interpretability of Large Language Models Trained on Synthetic Data: Part "
_UNSLUGGABLE = [
    {"title": "大型语言模型中的归纳头机制研究", "abstract": "Induction heads do in-context learning."},
    {"title": "稀疏自编码器特征的可解释性", "abstract": "We train sparse autoencoders on Chinese models."},
    {"title": "Интерпретируемость языковых моделей", "abstract": "Russian paper on probing."},
    {"title": _LONG_TITLE + "One on Induction Heads", "abstract": "Part one studies induction heads."},
    {"title": _LONG_TITLE + "Two on MLP Neurons", "abstract": "Part two studies MLP neurons."},
]


def test_titles_no_slug_tells_apart_stay_different_papers(
    store: GraphStore, tmp_path: Path, embedder: HashEmbedder, extractor: Any
) -> None:
    """Non-Latin titles were all `untitled`, long titles one id per first 80 characters of slug: the
    records were merged into one paper, and a later file's paper "updated" it."""
    summary = ingest_records_file(store, _jsonl(tmp_path / "a.jsonl", _UNSLUGGABLE), embedder=embedder,
                                  extractor=extractor, progress=False)
    assert (summary.papers, summary.new, summary.rejected) == (5, 5, 0)
    stored = {p.title: p.abstract for p in store.get_papers(store.paper_ids())}
    assert stored == {r["title"]: r["abstract"] for r in _UNSLUGGABLE}
    greek = {"title": "Ερμηνευσιμότητα γλωσσικών μοντέλων", "abstract": "Greek paper."}
    three = {"title": _LONG_TITLE + "Three on Attention Sinks", "abstract": "Part three."}
    later = ingest_records_file(store, _jsonl(tmp_path / "b.jsonl", [greek, three]), embedder=embedder,
                                extractor=extractor, progress=False)
    assert (later.new, later.updated, later.unchanged) == (2, 0, 0)
    stored = {p.title: p.abstract for p in store.get_papers(store.paper_ids())}
    assert stored == {r["title"]: r["abstract"] for r in [*_UNSLUGGABLE, greek, three]}


def test_a_store_written_with_the_old_title_ids_keeps_them_and_gains_no_duplicate(
    store: GraphStore, tmp_path: Path, seed_list: str, taxonomy: Taxonomy, embedder: HashEmbedder,
    extractor: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Papers stored under the old ids (`untitled`, a slug cut at 80 characters, the seed list's five
    long titles without arXiv) are found by their title key: their ids stay and nothing is stored twice."""
    import ingest.normalize

    monkeypatch.setattr(ingest.normalize, "title_id", ingest.normalize.slugify)  # the old rule
    old_file = _jsonl(tmp_path / "old.jsonl", [_UNSLUGGABLE[0], _UNSLUGGABLE[3]])
    ingest_records_file(store, old_file, embedder=embedder, extractor=extractor, progress=False)
    _ingest_list(store, seed_list, taxonomy, None, embedder, extractor)
    old_ids = sorted(store.paper_ids())
    assert "untitled" in old_ids and (
        "mechanistic-interpretability-of-large-language-models-trained-on-synthetic-data" in old_ids)
    assert "the-clock-and-the-pizza-two-stories-in-mechanistic-explanation-of-neural" in old_ids
    before = snapshot(store)
    monkeypatch.undo()
    again = ingest_records_file(store, old_file, embedder=embedder, extractor=extractor, progress=False)
    listed, _ = _ingest_list(store, seed_list, taxonomy, None, embedder, extractor)
    assert (again.new, again.unchanged, listed.new, listed.unchanged) == (0, 2, 0, 38)
    assert snapshot(store) == before
    # The titles the old ids merged away are papers of their own now, beside them.
    rest = ingest_records_file(store, _jsonl(tmp_path / "rest.jsonl", _UNSLUGGABLE), embedder=embedder,
                               extractor=extractor, progress=False)
    assert (rest.new, rest.unchanged) == (3, 2)
    assert len(store.paper_ids()) == len(old_ids) + 3 and set(old_ids) <= set(store.paper_ids())


_SHARED_IDS = [
    {"id": "p1", "title": "Attention Sinks In Streaming Models", "abstract": "We find attention sinks."},
    {"id": "p1", "title": "Completely Different Paper About Othello World Models",
     "abstract": "We probe an Othello-playing transformer.",
     "list_rows": [{"section": "Techniques", "technique_ids": ["made_up_technique"]}]},
    {"id": "2401.07777", "title": "Explicit Id Looks Like An arXiv Id", "abstract": "Not the arXiv paper."},
    {"arxiv_id": "2401.07777", "title": "The Real arXiv Paper 2401.07777", "abstract": "Real paper."},
    {"id": "a-slug-collision", "title": "Some Title", "abstract": "Some paper."},
    {"title": "A Slug Collision", "abstract": "Another paper."},
]


def test_records_sharing_only_an_id_are_not_merged_and_the_one_turned_away_is_reported(
    store: GraphStore, tmp_path: Path, embedder: HashEmbedder, extractor: Any
) -> None:
    """An id a records file gave, equal to another record's id, arXiv id or title's id, is no sign of
    one paper: the record is turned away with both named. An arXiv id keeps its paper."""
    path = _jsonl(tmp_path / "ids.jsonl", _SHARED_IDS)
    summary = ingest_records_file(store, path, embedder=embedder, extractor=extractor, progress=False)
    assert (summary.records, summary.papers, summary.new, summary.rejected) == (6, 3, 3, 3)
    assert summary.rejected_details == [
        {"source_id": "p1", "title": "Completely Different Paper About Othello World Models",
         "reason": "id 'p1' is already the id of another paper in this run ('Attention Sinks In Streaming "
                   "Models'); not merged into it (give one of them another id)"},
        {"source_id": "2401.07777", "title": "Explicit Id Looks Like An arXiv Id",
         "reason": "id '2401.07777' is the arXiv id of another paper in this run ('The Real arXiv Paper "
                   "2401.07777'); not merged into it (give one of them another id)"},
        {"source_id": "A Slug Collision", "title": "A Slug Collision",
         "reason": "the id from its title, 'a-slug-collision', is already the id of another paper in this "
                   "run ('Some Title'); not merged into it (give one of them an explicit id)"},
    ]
    assert "rejected: Completely Different Paper About Othello World Models: id 'p1'" in summary.text()
    assert summary.unknown_labels == []  # the labels of a record turned away are not reported
    stored = {p.id: (p.title, p.abstract) for p in store.get_papers(store.paper_ids())}
    assert stored == {"p1": ("Attention Sinks In Streaming Models", "We find attention sinks."),
                      "2401.07777": ("The Real arXiv Paper 2401.07777", "Real paper."),
                      "a-slug-collision": ("Some Title", "Some paper.")}
    before = snapshot(store)
    again = ingest_records_file(store, path, embedder=embedder, extractor=extractor, progress=False)
    assert (again.unchanged, again.rejected) == (3, 3) and snapshot(store) == before


def test_a_record_given_a_stored_papers_id_is_turned_away_beside_that_paper(
    store: GraphStore, tmp_path: Path, embedder: HashEmbedder, extractor: Any
) -> None:
    """The stored p1 is found by its title: the record that only shares its id is the one turned
    away, even listed first, and p1 is updated from its own record."""
    ingest_records_file(store, _jsonl(tmp_path / "a.jsonl", _SHARED_IDS[:1]), embedder=embedder,
                        extractor=extractor, progress=False)
    revised = _SHARED_IDS[0] | {"abstract": "We find attention sinks, revised."}
    summary = ingest_records_file(store, _jsonl(tmp_path / "b.jsonl", [_SHARED_IDS[1], revised]),
                                  embedder=embedder, extractor=extractor, progress=False)
    assert (summary.updated, summary.new, summary.rejected) == (1, 0, 1)
    assert summary.rejected_details[0]["title"] == _SHARED_IDS[1]["title"]
    assert "('Attention Sinks In Streaming Models')" in summary.rejected_details[0]["reason"]
    (paper,) = store.get_papers(store.paper_ids())
    assert (paper.id, paper.title, paper.abstract) == ("p1", revised["title"], revised["abstract"])


# Records of three papers given six ids: merged by a shared DOI, arXiv id or title key.
_MERGED_IDS = [
    {"id": "doi-a", "title": "Finding Neurons in a Haystack", "doi": "10.1234/haystack.2023"},
    {"id": "doi-b", "title": "Finding Neurons in a Haystack: Case Studies with Sparse Probing",
     "doi": "https://doi.org/10.1234/HAYSTACK.2023"},
    {"id": "x", "arxiv_id": "2402.05555", "title": "Explicit Id And Arxiv Id"},
    {"id": "y", "arxiv_id": "arXiv:2402.05555v3", "title": "Explicit Id And Arxiv Id, Revised"},
    {"id": "t1", "title": "Towards Monosemanticity"},
    {"id": "t2", "title": "TOWARDS MONOSEMANTICITY (ICLR'24)"},
]


def test_records_of_one_paper_still_merge_whatever_ids_they_were_given(
    store: GraphStore, tmp_path: Path, embedder: HashEmbedder, extractor: Any
) -> None:
    """One paper by a shared DOI, arXiv id or title key merges as before, whatever ids its records were
    given; so does a list row whose title a richer source has since changed, found by its title's id."""
    from ingest.records import Record

    summary = ingest_records_file(store, _jsonl(tmp_path / "one.jsonl", _MERGED_IDS), embedder=embedder,
                                  extractor=extractor, progress=False)
    assert (summary.papers, summary.new, summary.rejected) == (3, 3, 0)
    assert sorted(store.paper_ids()) == ["2402.05555", "doi-a", "t1"]
    row = Record(source="list", source_id="row", title="Foo Bar Circuits", doi="10.5/foo")
    run_ingest(store, [row], source="list", embedder=embedder, extractor=extractor, progress=False)
    renamed = Record(source="records", source_id="r", title="Foo Bar Circuits: Extended", doi="10.5/foo")
    run_ingest(store, [renamed], source="records", embedder=embedder, extractor=extractor, progress=False)
    plain_row = dataclasses.replace(row, doi=None)  # found only by its title's id now
    both = run_ingest(store, [plain_row, renamed], source="list", embedder=embedder, extractor=extractor,
                      progress=False)
    assert (both.papers, both.new, both.rejected) == (1, 0, 0)
    foo = store.get_paper("foo-bar-circuits")
    assert foo is not None and foo.paper.title == "Foo Bar Circuits: Extended"
    assert len(store.paper_ids()) == 4


# Review: the rule above held within one run only. A record that reached a STORED paper by nothing but
# its title's id (a records file's `id`, or a long title's slug cut at 80 characters by the old rule)
# was merged into it: its rows were attached to, or its title and abstract written over, another paper.


def _listed(title: str, **fields: Any) -> Any:
    """A list record of `title` with one row titled so."""
    from ingest.records import ListRowRecord, Record

    row = ListRowRecord(section_path=["Circuits"], title_in_list=title, tldr=f"About {title}.", line=7)
    return Record(source="list", source_id=title, title=title, list_rows=[row], **fields)


def test_a_title_id_that_is_a_stored_records_file_id_stores_its_own_paper_under_the_hashed_id(
    store: GraphStore, embedder: HashEmbedder, extractor: Any
) -> None:
    """The list paper whose title's id is the `id` a records file gave another paper is stored beside
    it, under its hashed title id; the next run finds it by its title and changes nothing. The records
    file's `id` still updates its own paper."""
    from ingest.normalize import title_id
    from ingest.records import Record

    def ingest(record: Any) -> IngestSummary:
        return run_ingest(store, [record], source=record.source, embedder=embedder, extractor=extractor,
                          progress=False)

    given = Record(source="records", source_id="x", title="Some Title", explicit_id="a-slug-collision",
                   abstract="Some paper.")
    ingest(given)
    some_title = snapshot(store)["papers"]["a-slug-collision"]
    summary = ingest(_listed("A Slug Collision"))
    hashed = title_id("A Slug Collision", hashed=True)
    assert (summary.new, summary.rejected, summary.statuses) == (1, 0, {hashed: "new"})
    assert hashed.startswith("a-slug-collision-") and len(hashed) == len("a-slug-collision-") + 12
    after = snapshot(store)
    assert after["papers"]["a-slug-collision"] == some_title  # no row, no source of the list paper
    listed = store.get_paper(hashed)
    assert listed is not None and (listed.paper.title, listed.paper.sources) == ("A Slug Collision", ["list"])
    assert [row.title_in_list for row in listed.list_rows] == ["A Slug Collision"]
    again = ingest(_listed("A Slug Collision"))
    assert (again.unchanged, again.new) == (1, 0) and snapshot(store) == after
    fixed = ingest(dataclasses.replace(given, title="Some Title, Revised"))
    assert fixed.statuses == {"a-slug-collision": "updated"}
    revised = store.get_paper("a-slug-collision")
    assert revised is not None and revised.paper.title == "Some Title, Revised"


@pytest.mark.parametrize("beside_it", [False, True], ids=["alone", "in-one-list-with-it"])
def test_a_title_whose_slug_is_an_old_cut_id_is_stored_beside_that_paper(
    store: GraphStore, embedder: HashEmbedder, extractor: Any, monkeypatch: pytest.MonkeyPatch,
    beside_it: bool
) -> None:
    """A store written before hashed title ids keeps part one under its slug cut at 80 characters, which
    is the whole slug of the series' shorter title: that title is another paper, stored under its hashed
    id, whether it comes alone or in one list with part one; part one keeps its title and abstract."""
    import ingest.normalize
    from ingest.normalize import title_id

    part_one = _LONG_TITLE + "One on Induction Heads"
    short = "Mechanistic Interpretability of Large Language Models Trained on Synthetic Data"
    cut = "mechanistic-interpretability-of-large-language-models-trained-on-synthetic-data"
    monkeypatch.setattr(ingest.normalize, "title_id", ingest.normalize.slugify)  # the old rule
    run_ingest(store, [_listed(part_one, abstract="Part one studies induction heads.")], source="list",
               embedder=embedder, extractor=extractor, progress=False)
    monkeypatch.undo()
    assert store.paper_ids() == [cut] and title_id(short) == cut
    kept = snapshot(store)["papers"][cut]
    records = ([_listed(part_one, abstract="Part one studies induction heads."), _listed(short)] if beside_it
               else [_listed(short, abstract="The series overview.")])
    summary = run_ingest(store, records, source="list", embedder=embedder, extractor=extractor,
                         progress=False)
    hashed = title_id(short, hashed=True)
    assert (summary.new, summary.rejected, summary.statuses[hashed]) == (1, 0, "new")
    assert sorted(store.paper_ids()) == sorted([cut, hashed])
    assert snapshot(store)["papers"][cut] == kept
    overview = store.get_paper(hashed)
    assert overview is not None and overview.paper.title == short
    after = snapshot(store)
    again = run_ingest(store, records, source="list", embedder=embedder, extractor=extractor, progress=False)
    assert (again.new, again.unchanged) == (0, len(records)) and snapshot(store) == after


def test_a_list_row_still_finds_its_paper_by_its_title_id_in_a_later_run_after_a_rename(
    store: GraphStore, embedder: HashEmbedder, extractor: Any
) -> None:
    """The paper stored from the list under its title's id, renamed since by a records file (found by
    its DOI), is still the list row's paper in a later list run alone: its stored row has that title."""
    from ingest.records import Record

    run_ingest(store, [_listed("Foo Bar Circuits", doi="10.5/foo")], source="list", embedder=embedder,
               extractor=extractor, progress=False)
    renamed = Record(source="records", source_id="r", title="Foo Bar Circuits: Extended", doi="10.5/foo")
    run_ingest(store, [renamed], source="records", embedder=embedder, extractor=extractor, progress=False)
    again = run_ingest(store, [_listed("Foo Bar Circuits")], source="list", embedder=embedder,
                       extractor=extractor, progress=False)
    assert (again.papers, again.new, list(again.statuses)) == (1, 0, ["foo-bar-circuits"])
    assert store.paper_ids() == ["foo-bar-circuits"]
    foo = store.get_paper("foo-bar-circuits")
    assert foo is not None and foo.paper.title == "Foo Bar Circuits: Extended"


# -- a holder paused past the lock's lifetime ---------------------------------------------------------
# Integrity QA: an ingest paused longer than the lock's 15 minutes (suspend, SIGSTOP, `docker pause`)
# lost the lock to the next ingest (expiry alone wins) and, once resumed, went on writing beside it,
# recording its run succeeded. The pause is simulated by expiring the lock row (the keeper thread, with
# the 15-minute lifetime, does not run during these tests) and the takeover by a real acquire_lock.

TAKER = "other-host:4242:0000beef:list-0123abcd"  # another machine's list ingest


def _expire_lock(store: GraphStore) -> None:
    """As if the holder had not refreshed the lock for longer than its lifetime."""
    import sqlite3

    from ingest.store_lock import LOCK_NAME

    with sqlite3.connect(store.path) as conn:  # type: ignore[attr-defined]
        assert conn.execute("UPDATE locks SET expires = 0 WHERE name = ?", (LOCK_NAME,)).rowcount == 1


def _take_over(store: GraphStore) -> None:
    """The pause, then another ingest taking the expired lock over."""
    from ingest.store_lock import LOCK_NAME

    _expire_lock(store)
    store.acquire_lock(LOCK_NAME, TAKER, ttl_seconds=900)


class _HookedEmbedder(HashEmbedder):
    """The HashEmbedder, running `hook` while it embeds batch number `at` (before that batch is written)."""

    def __init__(self, at: int, hook: Any) -> None:
        super().__init__()
        self.at, self.hook, self.batches = at, hook, 0

    def encode(self, texts: Sequence[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        """Run the hook at batch `at`, then embed."""
        self.batches += 1
        if self.batches == self.at:
            self.hook()
        return super().encode(texts, batch_size, progress)


def _three_records() -> list[Any]:
    from ingest.records import Record

    return [Record(source="records", source_id=f"p{n}", title=f"Probing circuit number {n}",
                   abstract=f"We probe circuit {n} of a toy transformer.") for n in ("one", "two", "three")]


def _lock_holder(store: GraphStore) -> str:
    """Who holds the ingest lock now (a real acquire: refused by the holder's unexpired lock)."""
    from ingest.store_lock import LOCK_NAME
    from kg.store import LockHeld

    with pytest.raises(LockHeld) as held:
        store.acquire_lock(LOCK_NAME, "someone-checking", ttl_seconds=60)
    return held.value.owner


def test_an_ingest_whose_lock_was_taken_over_stops_before_its_next_write(
    store: GraphStore, extractor: Any
) -> None:
    """Review: the lock was checked at the head of each batch, so a takeover during the batch's
    extraction and embedding still let that batch be written beside the new holder."""
    from ingest.store_lock import IngestLockLost, ingest_lock

    embedder = _HookedEmbedder(1, lambda: _take_over(store))
    with ingest_lock(store, "records") as held:
        with pytest.raises(IngestLockLost) as lost:
            run_ingest(store, _three_records(), source="records", embedder=embedder, extractor=extractor,
                       progress=False, batch_size=1, lock=held)
        assert _lock_holder(store) == TAKER
    message = str(lost.value)
    assert f"taken over by another list ingest ('{TAKER}') while this run was paused" in message
    assert "(over the 15-minute lock lifetime): stopped before writing more; run again" in message
    # The lock went while batch 1 was embedded: checked right before its write, nothing was written.
    assert store.paper_ids() == [] and embedder.batches == 1
    [run] = store.runs("records")
    assert run.status == "failed" and run.message == message
    assert _lock_holder(store) == TAKER  # leaving the block released nothing of the new holder's


def test_an_ingest_that_lost_its_lock_during_its_last_write_is_recorded_failed(
    store: GraphStore, extractor: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not "succeeded" over what the new holder saw: that run recorded it as ended, and the last write
    went on beside it."""
    from ingest.store_lock import IngestLockLost, ingest_lock

    upsert_papers = store.upsert_papers

    def taken_over_during_the_write(bundles: Any) -> Any:  # the takeover while the write runs
        written = upsert_papers(bundles)
        _take_over(store)
        return written

    monkeypatch.setattr(store, "upsert_papers", taken_over_during_the_write)
    with ingest_lock(store, "records") as held, pytest.raises(IngestLockLost):
        run_ingest(store, _three_records(), source="records", embedder=HashEmbedder(), extractor=extractor,
                   progress=False, lock=held)
    monkeypatch.undo()
    assert len(store.paper_ids()) == 3  # one batch, under way when the lock went
    assert [r.status for r in store.runs("records")] == ["failed"]


def test_a_prune_stops_when_the_lock_was_taken_over_after_the_lists_papers_were_written(
    store: GraphStore, taxonomy: Taxonomy, embedder: HashEmbedder, extractor: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ingest.store_lock import IngestLockLost

    _whole_list(store, FOUR_PAPERS, taxonomy, embedder, extractor)
    list_rows_from = store.list_rows_from

    def taken_over_meanwhile(source: str) -> Any:  # read after the list's papers, before the prune
        _take_over(store)
        return list_rows_from(source)

    monkeypatch.setattr(store, "list_rows_from", taken_over_meanwhile)
    with pytest.raises(IngestLockLost):
        _whole_list(store, _keep_rows(FOUR_PAPERS, "one", "two"), taxonomy, embedder, extractor, prune=True)
    monkeypatch.undo()
    assert len(store.paper_ids()) == 4 and len(store.list_rows_from("list")) == 4  # nothing pruned
    assert [r.status for r in store.runs("list")] == ["failed", "succeeded"]
    assert _lock_holder(store) == TAKER


def test_an_ingest_paused_past_the_lock_lifetime_but_not_taken_over_goes_on(
    store: GraphStore, extractor: Any
) -> None:
    """Its lock expired, but nobody took it: the check before the next batch refreshes it and the run
    goes on, holding it again."""
    from ingest.store_lock import ingest_lock

    embedder = _HookedEmbedder(1, lambda: _expire_lock(store))
    with ingest_lock(store, "records") as held:
        summary = run_ingest(store, _three_records(), source="records", embedder=embedder,
                             extractor=extractor, progress=False, batch_size=1, lock=held)
        assert _lock_holder(store) == held.owner  # refreshed, not merely left expired
    assert (summary.new, embedder.batches) == (3, 3)
    assert [r.status for r in store.runs("records")] == ["succeeded"]


def _resolved(store: GraphStore, paper_id: str) -> str | None:
    """The stored id a user's paper id finds, as `paperkg related` and /api/papers/{id} look it up."""
    from kg.lookup import find_paper, find_related

    found = find_paper(paper_id, store.get_paper, store.successor_of)
    related = find_related(store, paper_id, 5)
    assert (found and found[0]) == (related and related[0])
    return found[0] if found else None


def test_ids_of_records_merged_into_a_paper_lead_to_it_in_one_file_and_across_files(
    store: GraphStore, tmp_path: Path, embedder: HashEmbedder, extractor: Any
) -> None:
    """The id a records file gave a record merged into another paper (a shared DOI, arXiv id or title)
    used to lead nowhere; now it finds the paper, from a later file too, and a rerun changes nothing."""
    path = _jsonl(tmp_path / "one.jsonl", _MERGED_IDS)
    summary = ingest_records_file(store, path, embedder=embedder, extractor=extractor, progress=False)
    assert (summary.papers, summary.new, summary.rejected) == (3, 3, 0)
    assert sorted(store.paper_ids()) == ["2402.05555", "doi-a", "t1"]
    expected = {"doi-a": "doi-a", "doi-b": "doi-a", "x": "2402.05555", "y": "2402.05555",
                "2402.05555v3": "2402.05555", "t1": "t1", "t2": "t1", "unknown": None}
    assert {i: _resolved(store, i) for i in expected} == expected
    assert store.successor_of("doi-b") == "doi-a" and store.successor_of("doi-a") is None
    before = snapshot(store)
    again = ingest_records_file(store, path, embedder=embedder, extractor=extractor, progress=False)
    assert (again.new, again.updated, again.unchanged, again.rejected) == (0, 0, 3, 0)
    assert snapshot(store) == before and {i: _resolved(store, i) for i in expected} == expected
    renamed = {"id": "renamed-id", "title": "Finding Neurons in a Haystack", "doi": "10.1234/haystack.2023"}
    later = ingest_records_file(store, _jsonl(tmp_path / "two.jsonl", [renamed]), embedder=embedder,
                                extractor=extractor, progress=False)
    assert (later.papers, later.new, later.rejected) == (1, 0, 0)
    assert sorted(store.paper_ids()) == ["2402.05555", "doi-a", "t1"]
    assert _resolved(store, "renamed-id") == "doi-a" and _resolved(store, "doi-b") == "doi-a"


def test_a_merged_away_id_that_is_a_papers_id_stays_that_papers(
    store: GraphStore, tmp_path: Path, embedder: HashEmbedder, extractor: Any
) -> None:
    """An id merged into one paper but another paper's own id (in the same run or stored) is that
    paper's, never an alias; an id given with two different arXiv ids names neither of them."""
    first = [
        {"id": "p-a", "title": "Attention Sinks In Streaming Models", "doi": "10.1234/sinks"},
        {"id": "p-b", "title": "Attention Sinks In Streaming Models, Extended", "doi": "10.1234/sinks"},
        {"id": "p-b", "title": "Othello World Models", "doi": "10.1234/othello"},
        {"id": "p-d", "title": "Othello World Models (ICLR'23)"},
        {"id": "two", "arxiv_id": "2403.00001", "title": "One arXiv Paper"},
        {"id": "two", "arxiv_id": "2403.00002", "title": "Another arXiv Paper"},
    ]
    summary = ingest_records_file(store, _jsonl(tmp_path / "one.jsonl", first), embedder=embedder,
                                  extractor=extractor, progress=False)
    assert (summary.papers, summary.new, summary.rejected) == (4, 4, 0)
    assert sorted(store.paper_ids()) == ["2403.00001", "2403.00002", "p-a", "p-b"]
    assert _resolved(store, "p-b") == "p-b" and store.successor_of("p-b") is None
    assert _resolved(store, "p-d") == "p-b" and _resolved(store, "two") is None
    second = [
        {"id": "p-c", "title": "Induction Heads", "doi": "10.1234/induction"},
        {"id": "p-a", "title": "Induction Heads, Revisited", "doi": "10.1234/induction"},
    ]
    ingest_records_file(store, _jsonl(tmp_path / "two.jsonl", second), embedder=embedder,
                        extractor=extractor, progress=False)
    assert sorted(store.paper_ids()) == ["2403.00001", "2403.00002", "p-a", "p-b", "p-c"]
    assert _resolved(store, "p-a") == "p-a" and store.successor_of("p-a") is None
    detail = store.get_paper("p-a")
    assert detail is not None and detail.paper.title == "Attention Sinks In Streaming Models"


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
    from ingest.pipeline import REEXTRACT_SOURCE, run_reextract
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
    from ingest.pipeline import run_reextract

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
    from ingest.pipeline import run_reextract

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


def test_reextract_holds_the_ingest_lock_and_stops_when_it_is_taken_over(
    store: GraphStore, seed_list: str, tmp_path: Path, taxonomy: Taxonomy, extractor: Any,
) -> None:
    from ingest.extract import Extractor
    from ingest.pipeline import REEXTRACT_SOURCE, run_reextract
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
    from ingest.pipeline import check_extractions, run_reextract

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


# -- a record matched to a stored paper: by its title under another DOI, by its DOI under another title --
def _run_records(store: GraphStore, records: list[Record], extractor: Any) -> IngestSummary:
    return run_ingest(store, records, source="records", embedder=HashEmbedder(), extractor=extractor,
                      progress=False)


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_record_matched_by_title_to_a_stored_paper_of_another_doi_is_warned_about(
    store: GraphStore, extractor: Any, caplog: pytest.LogCaptureFixture,
) -> None:
    """Review: two "Editorial" records of different DOIs in one run were warned about, but the second
    one ingested in a later run replaced the stored one's DOI and abstract without a word."""
    first = Record(source="records", source_id="a", title="Editorial", doi="10.1000/journal-a.1",
                   abstract="An editorial about circuits in journal A.")
    other = Record(source="records", source_id="b", title="editorial", doi="10.2000/journal-b.7",
                   abstract="Another editorial about probing in journal B.")
    _run_records(store, [first], extractor)
    (stored_id,) = store.paper_ids()
    with caplog.at_level("WARNING"):
        summary = _run_records(store, [other], extractor)
    assert (summary.new, summary.updated) == (0, 1)  # one title is one paper: merged as before, but said
    (message,) = _warnings(caplog)
    assert "10.1000/journal-a.1" in message and "10.2000/journal-b.7" in message
    assert "'Editorial'" in message and "'editorial'" in message and stored_id in message
    assert store.get_papers([stored_id])[0].doi == "10.2000/journal-b.7"
    caplog.clear()
    with caplog.at_level("WARNING"):  # the stored paper holds that DOI now: nothing to say
        _run_records(store, [dataclasses.replace(other)], extractor)
    assert _warnings(caplog) == []


@pytest.mark.parametrize("stored_doi, doi, warned", [
    ("10.1000/toy.1", "10.48550/arXiv.2209.10652", False),  # the journal's DOI, then the preprint's
    ("10.48550/arXiv.2209.10652", "10.1000/toy.1", False),
    ("10.1000/toy.1", "10.1000/TOY.1", False),
    ("10.48550/arXiv.2209.10652", "10.48550/arXiv.2301.00001", True),  # two preprints
])
def test_a_stored_papers_own_versions_matched_by_title_are_not_warned_about(
    store: GraphStore, extractor: Any, caplog: pytest.LogCaptureFixture, stored_doi: str, doi: str,
    warned: bool,
) -> None:
    _run_records(store, [Record(source="records", source_id="a", title="Toy Models", doi=stored_doi)],
                 extractor)
    with caplog.at_level("WARNING"):
        summary = _run_records(store, [Record(source="records", source_id="b", title="Toy Models (ICLR'24)",
                                              doi=doi)], extractor)
    assert (summary.new, summary.updated) == (0, 1)
    assert len(_warnings(caplog)) == warned


def test_a_record_matched_by_doi_to_a_stored_paper_of_another_title_is_warned_about(
    store: GraphStore, extractor: Any, caplog: pytest.LogCaptureFixture,
) -> None:
    """Review: a shared DOI under clearly different titles was warned about within one run only."""
    first = Record(source="records", source_id="a", title="First Article in the Issue on Neural Networks",
                   doi="10.5555/same", abstract="About neurons.")
    other = Record(source="records", source_id="b", title="A Completely Different Second Article on Syntax",
                   doi="10.5555/same", abstract="About syntax.")
    _run_records(store, [first], extractor)
    (stored_id,) = store.paper_ids()
    with caplog.at_level("WARNING"):
        summary = _run_records(store, [other], extractor)
    assert (summary.new, summary.updated) == (0, 1)  # one DOI is one paper: merged as before, but said
    (message,) = _warnings(caplog)
    assert "10.5555/same" in message and first.title in message and other.title in message
    assert stored_id in message
    caplog.clear()
    with caplog.at_level("WARNING"):  # one paper's titles as two sources write them
        _run_records(store, [dataclasses.replace(other, title="Second Article on Syntax")], extractor)
    assert _warnings(caplog) == []


def test_the_weekly_runs_look_up_of_known_candidates_does_not_warn(
    store: GraphStore, extractor: Any, caplog: pytest.LogCaptureFixture,
) -> None:
    """The weekly run asks which candidates are stored, then writes the known ones with run_ingest,
    which warns: a warning from the look-up too would say everything twice."""
    from ingest.pipeline import resolve_stored_ids

    _run_records(store, [Record(source="records", source_id="a", title="Editorial", doi="10.1000/a.1")],
                 extractor)
    (stored_id,) = store.paper_ids()
    other = Record(source="records", source_id="b", title="Editorial", doi="10.2000/b.7")
    with caplog.at_level("WARNING"):
        assert resolve_stored_ids(store, [other]) == [stored_id]
    assert _warnings(caplog) == []
    with caplog.at_level("WARNING"):
        assert resolve_stored_ids(store, [other], warn=True) == [stored_id]
    assert len(_warnings(caplog)) == 1


REPO = Path(__file__).resolve().parents[2]
# `python -c _DISK_FILLS_DURING_THE_RUN paperkg-args...`: the command, whose disk fills while it embeds its
# first batch: RLIMIT_FSIZE 1 (SIGXFSZ is ignored by Python: a write past it fails with EFBIG), so every
# write after (the batch, the run's end, the lock's release) fails as on a full disk.
_DISK_FILLS_DURING_THE_RUN = """
import resource, sys
import ingest.pipeline as pipeline
from tests.embedders import HashEmbedder

class FillsTheDisk(HashEmbedder):
    def encode(self, texts, batch_size=64, progress=False):
        resource.setrlimit(resource.RLIMIT_FSIZE, (1, resource.RLIM_INFINITY))
        return super().encode(texts, batch_size, progress)

pipeline._load_embedder = lambda: FillsTheDisk()
from kg.cli import main
main(sys.argv[1:])
"""


@pytest.mark.parametrize("verbose", [False, True])
def test_an_ingest_on_a_full_disk_ends_in_its_one_error_line(
    store: GraphStore, data_dir: Path, tmp_path: Path, embedder: HashEmbedder, extractor: Any, verbose: bool
) -> None:
    """QA: an ingest on a full disk printed some 130 lines, 9 tracebacks (the failed run and the lock's
    release could not be written either) before its one `Error:` line. Now one warning each, the
    traceback only with -v; the run stays "running" and the lock behind, for the next ingest."""
    records = tmp_path / "records.jsonl"
    records.write_text("".join(json.dumps({"id": f"r{i}", "title": f"Probing paper number {i}",
                                           "abstract": "We probe induction heads."}) + "\n"
                               for i in range(3)))
    args = [*(["-v"] if verbose else []), "ingest", "records", str(records)]
    done = subprocess.run([sys.executable, "-c", _DISK_FILLS_DURING_THE_RUN, *args], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr
    [run] = [r for r in store.runs() if r.source == "records"]
    assert run.status == "running"
    lines = done.stderr.splitlines()
    error = lines[-1]
    assert error.startswith("Error: records ingest failed: ") and "nothing of the failed write" in error
    assert sum(line.startswith("Error:") for line in lines) == 1
    unrecorded = [line for line in lines if " WARNING " in line and "could not" in line]
    assert [line.split(" WARNING ", 1)[1] for line in unrecorded] == [
        f"ingest.pipeline: could not record run {run.id} as failed: the same error as the run; it stays "
        "'running' until the next ingest records it as failed",
        "ingest.store_lock: could not release the ingest lock: the same error as the run; the next ingest "
        "takes it over (in another process, once this one has ended)",
    ]
    if verbose:  # the tracebacks are there for whoever asks for them
        after = [done.stderr.split(line, 1)[1] for line in unrecorded]
        assert all(text.startswith("\nTraceback (most recent call last)") for text in after), done.stderr
    else:
        assert lines == [*unrecorded, error]
    # The next ingest (room again) takes the dead process's lock over and records its run as failed.
    from ingest.records import Record

    run_ingest(store, [Record(source="records", source_id="r9", title="Another probing paper")],
               source="records", embedder=embedder, extractor=extractor, progress=False)
    ended = {r.id: r for r in store.runs()}[run.id]
    assert ended.status == "failed"
    assert "could not record its end (a full disk, say)" in (ended.message or "")
