"""The pipeline through the local arXiv API: dedupe, merge, idempotency, list rows kept, failures."""

from __future__ import annotations

import dataclasses
import json
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
from ingest.pipeline import ingest_records_file, run_ingest
from ingest.records import Record
from ingest.summary import IngestSummary
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
    ({"authors": ["A" * 301]}, "author 1 of 'authors' is 301 characters long (the limit is 300)"),
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
        ("logit_lens", "extracted", "interpreting GPT: the logit lens"),  # the title's
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
        ("logit_lens", "Interpreting GPT: the logit lens"), ("tuned_lens", "List TL;DR: " + new_tldr)]
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
