"""The weekly run's summary names the stored papers it did not load whose extraction is another taxonomy's
or extractor's (WeeklySummary.stale_extractions: text and JSON), until `paperkg ingest reextract` runs (QA,
the taxonomy maintainer: only init's stderr note said so, and a forgotten reextract left the old tags)."""

from __future__ import annotations

import json
from pathlib import Path

from ingest.arxiv_server import LocalArxivServer
from ingest.arxiv_source import ArxivSource
from ingest.extract import Extractor
from ingest.pipeline import ingest_records_file
from ingest.reextract import run_reextract
from ingest.weekly import WeeklySummary, run_weekly
from kg.store import GraphStore
from kg.taxonomy import Taxonomy, load_taxonomy
from tests.embedders import HashEmbedder
from tests.seed_store import taxonomy_store

from .test_reextract import STITCHING_RECORDS, edited_taxonomy
from .test_weekly import MI_CANDIDATES, NOW

TO_DO = ("; 3 stored papers not loaded by this run were extracted with another taxonomy or extractor: run "
         "`paperkg ingest reextract` (after `paperkg init` if the taxonomy file changed)")


def _weekly(store: GraphStore, taxonomy: Taxonomy) -> WeeklySummary:
    """A weekly run over the local arXiv server's MI candidates, tagging with `taxonomy`."""
    with LocalArxivServer(MI_CANDIDATES) as server:
        source = ArxivSource(url=server.url, delay=0.0, timeout=5.0, retries=1, backoff=0.01)
        return run_weekly(store, source=source, embedder=HashEmbedder(), extractor=Extractor(taxonomy),
                          taxonomy=taxonomy, now=NOW)


def test_the_weekly_summary_says_to_reextract_papers_of_another_taxonomy(tmp_path: Path) -> None:
    store = taxonomy_store(tmp_path / "paperkg.sqlite3")
    try:
        records = tmp_path / "stitching.jsonl"
        records.write_text("".join(json.dumps(r) + "\n" for r in STITCHING_RECORDS), encoding="utf-8")
        ingest_records_file(store, records, embedder=HashEmbedder(), extractor=Extractor(load_taxonomy()),
                            progress=False)
        edited = load_taxonomy(edited_taxonomy(tmp_path))
        store.load_taxonomy(edited.nodes)  # `paperkg init` with the edited file

        summary = _weekly(store, edited)
        assert summary.status == "succeeded" and summary.new == len(MI_CANDIDATES)
        # The three stored papers; not the run's own, which it extracted with the edited file.
        assert summary.stale_extractions == 3
        assert summary.text().endswith(TO_DO)
        assert summary.to_dict()["stale_extractions"] == 3
        assert "stale_extractions" not in store.runs("arxiv-weekly")[0].counts  # the API's RunCounts

        run_reextract(store, embedder=HashEmbedder(), extractor=Extractor(edited), taxonomy=edited,
                      progress=False)
        again = _weekly(store, edited)
        assert again.status == "succeeded" and again.stale_extractions == 0
        assert "reextract" not in again.text() and again.to_dict()["stale_extractions"] == 0
    finally:
        store.close()
