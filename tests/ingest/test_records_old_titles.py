"""A paper arXiv renamed, named by its old title (the list's): a records file made from the list merges into
it, and the list's rows stay on it, also beside a second paper of the old title; a title two stored papers
share goes to the oldest, with a warning naming both. Real SQLite store, real local arXiv API (store QA)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from ingest.arxiv_server import LocalArxivServer
from ingest.arxiv_source import ArxivSource, report_lines
from ingest.awesome_list import parse_list
from ingest.pipeline import ingest_records_file, run_ingest
from ingest.summary import IngestSummary
from kg.entities import Paper, PaperBundle
from kg.store import GraphStore
from kg.taxonomy import Taxonomy
from tests.embedders import HashEmbedder

OLD = "Finding Neurons in a Haystack: Case Studies with Sparse Probing"
NEW = "Sparse Probing Locates Individual Neurons Across Seven Language Models"
PROBING = {"arxiv_id": "2305.01610", "title": OLD, "authors": ["Wes Gurnee", "Neel Nanda"],
           "abstract": "We train k-sparse linear probes on neuron activations.", "published": "2023-05-02",
           "categories": ["cs.LG"]}
RENAMED = {**PROBING, "title": NEW, "version": 2, "updated": "2023-06-02"}
OTHERS = [
    {"arxiv_id": "2209.10652", "title": "Toy Models of Superposition", "authors": ["Nelson Elhage"],
     "abstract": "Superposition in toy models.", "published": "2022-09-21", "categories": ["cs.LG"]},
    {"arxiv_id": "2303.08112", "title": "Eliciting Latent Predictions from Transformers with the Tuned Lens",
     "authors": ["Nora Belrose"], "abstract": "The tuned lens.", "published": "2023-03-14",
     "categories": ["cs.LG"]},
    {"arxiv_id": "2211.00593", "title": "Interpretability in the Wild: a Circuit for Indirect Object "
     "Identification in GPT-2 small", "authors": ["Kevin Wang"], "abstract": "The IOI circuit.",
     "published": "2022-11-01", "categories": ["cs.LG"]},
]
HEAD = "| Paper | Techniques | TL;DR |\n| :--- | :---: | :--- |\n"
LIST = (
    "# Awesome\n\n## Techniques\n\n" + HEAD
    + "| [Finding neurons in a haystack: Case studies with sparse probing](https://arxiv.org/pdf/2305.01610) "
      "| Probing | Sparse probing. |\n"
    + "| [Eliciting Latent Predictions from Transformers with the Tuned Lens](https://arxiv.org/pdf/2303.08112)"
      " | Logit lens | Tuned lens. |\n"
    + "\n## Findings\n\n" + HEAD
    + f"| [{OLD}](https://arxiv.org/pdf/2305.01610) | Probing | Neurons. |\n"
    + "| [Toy Models of Superposition](https://arxiv.org/pdf/2209.10652) | Probing | Toy models. |\n"
    + "| [Interpretability in the Wild: a Circuit for Indirect Object Identification in GPT-2 small]"
      "(https://arxiv.org/pdf/2211.00593) | Activation Patching | IOI. |\n"
)
DUPLICATE = "finding-neurons-in-a-haystack-case-studies-with-sparse-probing"


def _source(server: LocalArxivServer) -> ArxivSource:
    return ArxivSource(url=server.url, delay=0.01, timeout=2, retries=1)


def _list_run(store: GraphStore, server: LocalArxivServer, taxonomy: Taxonomy, embedder: Any, extractor: Any,
              prune: bool = False) -> tuple[IngestSummary, list[str]]:
    """`paperkg ingest list [--prune]` of LIST against `server`: the summary and the arXiv report's lines."""
    records = list(parse_list(LIST, taxonomy).papers)
    found, report = _source(server).resolve(records)
    summary = run_ingest(store, [*records, *found], source="list", embedder=embedder, extractor=extractor,
                         progress=False, whole_list=True, prune=prune)
    return summary, report_lines(report)


def _renamed_on_arxiv(store: GraphStore, taxonomy: Taxonomy, embedder: Any, extractor: Any) -> None:
    """The list ingested while arXiv had the old title, then `ingest arxiv --ids 2305.01610` after v2."""
    with LocalArxivServer([PROBING, *OTHERS]) as server:
        _list_run(store, server, taxonomy, embedder, extractor)
    assert _rows_of(store, "2305.01610") == ["findings", "techniques"]
    with LocalArxivServer([RENAMED, *OTHERS]) as server:
        records = _source(server).fetch_by_ids(["2305.01610"])
        renamed = run_ingest(store, records, source="arxiv", embedder=embedder, extractor=extractor,
                             progress=False)
    assert [(p["paper_id"], p["previous_title"]) for p in renamed.updated_papers] == [("2305.01610", OLD)]


def _rows_of(store: GraphStore, paper_id: str) -> list[str]:
    """The sections of a paper's stored list rows."""
    detail = store.get_paper(paper_id)
    assert detail is not None
    return sorted(row.section_id for row in detail.list_rows)


def test_a_records_file_with_a_renamed_papers_old_title_merges_into_it(
    store: GraphStore, taxonomy: Taxonomy, embedder: HashEmbedder, extractor: Any, tmp_path: Path,
) -> None:
    """Store QA: after arXiv's v2 renamed 2305.01610, a records file made from the list (its old title, no
    arXiv id) stored a second paper, and the next list run moved the rows onto it, reporting the rows of
    2305.01610 as gone (and --prune removed them). The old title is its list rows': the record merges."""
    _renamed_on_arxiv(store, taxonomy, embedder, extractor)
    papers = sorted(store.paper_ids())
    path = tmp_path / "rec2.jsonl"
    record = {"title": OLD, "authors": ["Wes Gurnee", "Neel Nanda"], "year": 2023, "venue": "TMLR",
              "abstract": "We use sparse probing to find neurons."}
    path.write_text(json.dumps(record) + "\n", encoding="utf-8")
    merged = ingest_records_file(store, path, embedder=embedder, extractor=extractor, progress=False)
    assert (merged.new, [p["paper_id"] for p in merged.updated_papers]) == (0, ["2305.01610"])
    assert sorted(store.paper_ids()) == papers
    stored = store.get_paper("2305.01610")
    assert stored is not None and (stored.paper.title, stored.paper.venue) == (NEW, "TMLR")

    with LocalArxivServer([RENAMED, *OTHERS]) as server:
        summary, _lines = _list_run(store, server, taxonomy, embedder, extractor, prune=True)
    assert (summary.new, summary.stale_list_rows, summary.list_rows_pruned) == (0, [], 0)
    assert sorted(store.paper_ids()) == papers
    assert _rows_of(store, "2305.01610") == ["findings", "techniques"]


def test_the_title_mismatch_of_a_renamed_paper_says_its_rows_stay_on_it(
    store: GraphStore, taxonomy: Taxonomy, embedder: HashEmbedder, extractor: Any,
) -> None:
    """Store QA: after a genuine rename on arXiv the list run said "title mismatch ... (kept without that
    arXiv id)", but stored nothing new and the rows stayed on 2305.01610. The line says what happens."""
    _renamed_on_arxiv(store, taxonomy, embedder, extractor)
    papers = sorted(store.paper_ids())
    with LocalArxivServer([RENAMED, *OTHERS]) as server:
        summary, lines = _list_run(store, server, taxonomy, embedder, extractor)
    assert (summary.new, summary.stale_list_rows, sorted(store.paper_ids())) == (0, [], papers)
    assert _rows_of(store, "2305.01610") == ["findings", "techniques"]
    assert (f"title mismatch, line 7: the list says 'Finding neurons in a haystack: Case studies with sparse "
            f"probing', arXiv 2305.01610 is '{NEW}' (matched by the list's title, not that link: it stays on "
            "2305.01610 if listed under that title before, else is stored without that arXiv id)") in lines


def test_a_renamed_papers_rows_stay_on_it_beside_a_paper_of_its_old_title(
    store: GraphStore, taxonomy: Taxonomy, embedder: HashEmbedder, extractor: Any,
) -> None:
    """Store QA: with a second paper of the old title stored (a records file's, before the fix above), the
    list run matched the rows, whose link 2305.01610 arXiv now titles otherwise, to it by title and
    --prune took them off 2305.01610. They were listed under that title on 2305.01610: they stay."""
    _renamed_on_arxiv(store, taxonomy, embedder, extractor)
    store.upsert_papers([PaperBundle(paper=Paper(id=DUPLICATE, title=OLD, sources=["records"], year=2023))])
    with LocalArxivServer([RENAMED, *OTHERS]) as server:
        summary, _lines = _list_run(store, server, taxonomy, embedder, extractor, prune=True)
    assert (summary.new, summary.stale_list_rows, summary.list_rows_pruned) == (0, [], 0)
    assert _rows_of(store, "2305.01610") == ["findings", "techniques"]
    assert _rows_of(store, DUPLICATE) == []


ZEBRA = "Sparse Autoencoders Reveal Zebra Features in GPT-2 Small"


def test_a_title_two_stored_papers_share_goes_to_the_oldest_with_a_warning(
    store: GraphStore, embedder: HashEmbedder, extractor: Any, tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Store QA: a weekly run stored 2611.90011 before 2611.90010 (arXiv's newest first; same title and
    authors, "possible duplicate"), and a records file of that title merged silently into 2611.90011,
    the first stored. It goes to 2611.90010, the oldest arXiv id, with a warning naming both."""
    entries = [{"arxiv_id": aid, "title": ZEBRA, "authors": ["Ada Tester", "Bo Qa"],
                "published": "2026-11-25", "categories": ["cs.LG"],
                "abstract": "We train sparse autoencoders on GPT-2 small and find zebra features."}
               for aid in ("2611.90011", "2611.90010")]
    with LocalArxivServer(entries) as server:
        records = _source(server).fetch_by_ids(["2611.90011", "2611.90010"])
    run_ingest(store, records, source="arxiv", embedder=embedder, extractor=extractor, progress=False)
    assert store.paper_ids() == ["2611.90011", "2611.90010"]  # as the weekly run wrote them
    path = tmp_path / "rec1.jsonl"
    path.write_text(json.dumps({
        "id": "zebra-features", "title": "Sparse autoencoders reveal zebra features in GPT-2 small (ICLR'27)",
        "authors": ["Ada Tester", "Bo Qa"], "year": 2027, "venue": "ICLR 2027", "doi": "10.5555/zebra.2027",
    }) + "\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="ingest.list_match"):
        summary = ingest_records_file(store, path, embedder=embedder, extractor=extractor, progress=False)
    assert (summary.new, [p["paper_id"] for p in summary.updated_papers]) == (0, ["2611.90010"])
    warnings = [r.getMessage() for r in caplog.records if r.name == "ingest.list_match"]
    assert warnings == ["line 1: 'Sparse autoencoders reveal zebra features in GPT-2 small (ICLR'27)' has "
                        "the title of 2 stored papers (2611.90010, 2611.90011): written into 2611.90010 (the "
                        "first not withdrawn, by arXiv id, then by when stored); check whether they are one "
                        "paper"]
