"""A list maintainer's week-by-week edits (list QA): line numbers alone change nothing the summary counts,
the summary names the papers written, and a venue tag removed clears the venue. The list rows and the
whole-list ingest here serve test_list_match.py (a retitled row keeps its paper) and test_prune.py
(--prune holds back while a row cannot be read) too."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ingest.awesome_list import parse_list
from ingest.pipeline import run_ingest
from ingest.records import Record
from ingest.summary import IngestSummary
from kg.store import GraphStore
from kg.taxonomy import Taxonomy
from tests.embedders import HashEmbedder

CS_URL = "https://www.lesswrong.com/posts/JvZhhzycHu2Yd57RN/causal-scrubbing-a-method-for-rigorously-testing"
CS_ID = "causal-scrubbing-a-method-for-rigorously-testing-interpretability-hypotheses"
CS_ROW = ("| [Causal Scrubbing: a method for rigorously testing interpretability hypotheses "
          f"[Redwood Research]]({CS_URL}) | Causal Scrubbing | Tests hypotheses by resampling. |\n")
LENS_ROW = ("| [Interpreting GPT: the logit lens](https://www.lesswrong.com/posts/AcKRB8wDpdaN6v6ru/"
            "interpreting-gpt-the-logit-lens) | Logit lens | Projects activations to the vocabulary. |\n")
SFC_ROW = ("| [Sparse feature circuits: Discovering and editing interpretable causal graphs in language "
           "models (NeurIPS'24)](https://arxiv.org/pdf/2403.19647) | Activation Patching | Circuits. |\n")
SAE_TITLE = "Sparse Autoencoders Find Highly Interpretable Features in Language Models"
SAE_ROW = f"| [{SAE_TITLE}](https://openreview.net/forum?id=F76bwRSLeK) | SAE | Dictionary learning. |\n"
DOC_ROW = ("| [A circuit for python docstrings in a 4-layer attention-only transformer](https://www.lesswrong.com/"
           "posts/u6KXXmKFbXfWzoAXn/a-circuit-for-python-docstrings) | Activation Patching | Docstrings. |\n")
HEAD = "| Paper | Techniques | TL;DR |\n| :--- | :---: | :--- |\n"


def _list(*rows: str, preface: str = "") -> str:
    return f"# Awesome\n{preface}\n## Techniques\n\n{HEAD}{''.join(rows)}"


def _ingest(store: GraphStore, text: str, taxonomy: Taxonomy, embedder: Any, extractor: Any,
            extra: Sequence[Record] = (), prune: bool = False) -> IngestSummary:
    """A whole-list ingest of `text` (with `extra` records, as its arXiv look-ups give), as the CLI runs
    it, unreadable lines included."""
    parsed = parse_list(text, taxonomy)
    return run_ingest(store, [*parsed.papers, *extra], source="list", embedder=embedder, extractor=extractor,
                      progress=False, whole_list=True, prune=prune,
                      unreadable_lines=[row["line"] for row in parsed.unreadable_rows])


class _CountingExtractor:
    """The session's extractor, counting the papers it extracts."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.signature = real.signature
        self.taxonomy = real.taxonomy
        self.extracted: list[str] = []

    def extract_many(self, items: Sequence[tuple[str, str, str, list[str]]]) -> list[Any]:
        self.extracted += [item[0] for item in items]
        return list(self.real.extract_many(items))

    def extract(self, *args: Any) -> Any:
        self.extracted.append(args[0])
        return self.real.extract(*args)


def test_rows_that_only_moved_count_unchanged_and_store_their_lines(
    store: GraphStore, taxonomy: Taxonomy, embedder: HashEmbedder, extractor: Any,
) -> None:
    """List QA: one line added at the top of the README gave "0 new, 38 updated, 0 unchanged" (the
    fingerprint has each row's line). Now lines alone count unchanged (and moved), the rows show their
    new lines, and nothing is extracted or embedded again."""
    _ingest(store, _list(CS_ROW, LENS_ROW, SFC_ROW), taxonomy, embedder, extractor)
    counting = _CountingExtractor(extractor)
    calls = embedder.calls
    moved = _ingest(store, _list(CS_ROW, LENS_ROW, SFC_ROW, preface="A new line.\n\n"), taxonomy, embedder,
                    counting)
    assert (moved.new, moved.updated, moved.unchanged, moved.moved) == (0, 0, 3, 3)
    assert (counting.extracted, moved.embedded, embedder.calls) == ([], 0, calls)
    assert sorted(r["line"] for r in store.list_rows_from("list")) == [9, 10, 11]
    assert "0 new, 0 updated, 3 unchanged (3 only moved in the list), 0 rejected" in moved.text()
    assert store.runs(limit=1)[0].counts["moved"] == 3
    # A row moved and edited is updated; the others only moved.
    edited = LENS_ROW.replace("Projects activations", "Projects hidden states")
    mixed = _ingest(store, _list(SFC_ROW, CS_ROW, edited), taxonomy, embedder, extractor)
    assert (mixed.updated, mixed.unchanged, mixed.moved) == (1, 2, 2)
    assert [p["paper_id"] for p in mixed.updated_papers] == ["interpreting-gpt-the-logit-lens"]
    again = _ingest(store, _list(SFC_ROW, CS_ROW, edited), taxonomy, embedder, extractor)
    assert (again.updated, again.unchanged, again.moved) == (0, 3, 0)


def test_the_summary_names_the_new_and_updated_papers(
    store: GraphStore, taxonomy: Taxonomy, embedder: HashEmbedder, extractor: Any,
) -> None:
    """List QA: "3 new" said not which; --json neither. Now both name them, with their list lines; the
    text names ten of each and counts the rest."""
    rows = [f"| [Feature Study Number {n}](https://example.org/study/{n}) | SAE | Study {n}. |\n"
            for n in range(12)]
    first = _ingest(store, _list(*rows), taxonomy, embedder, extractor)
    doc = first.to_dict()
    assert [p["paper_id"] for p in doc["new_papers"]] == [f"feature-study-number-{n}" for n in range(12)]
    assert doc["new_papers"][0] == {"paper_id": "feature-study-number-0", "title": "Feature Study Number 0",
                                    "lines": [7]}
    assert doc["updated_papers"] == [] and doc["moved"] == 0
    text = first.text()
    assert "\n  new:\n    Feature Study Number 0 [feature-study-number-0], line 7\n" in text
    assert "Feature Study Number 9 [feature-study-number-9], line 16\n    ... and 2 more" in text
    assert "Feature Study Number 10 [" not in text


def test_a_venue_tag_removed_from_the_list_clears_the_venue(
    store: GraphStore, taxonomy: Taxonomy, embedder: HashEmbedder, extractor: Any,
) -> None:
    """List QA: "(NeurIPS'24)" taken off 2403.19647's title left its venue NeurIPS'24 for good (an empty
    list value fell back to the stored one), and a changed tag did not reach a paper arXiv had given its
    metadata unless arXiv was asked again. A venue arXiv gave (journal_ref) stays."""
    arxiv = Record(source="arxiv", source_id="2403.19647", arxiv_id="2403.19647",
                   title="Sparse feature circuits: Discovering and editing interpretable causal graphs in "
                         "language models", abstract="Feature circuits.", published="2024-03-28", year=2024)
    _ingest(store, _list(SFC_ROW, LENS_ROW), taxonomy, embedder, extractor, extra=[arxiv])
    detail = store.get_paper("2403.19647")
    assert detail is not None and detail.paper.venue == "NeurIPS'24"
    # Changed without arXiv in the run (--no-arXiv): the list's new tag, not the stored one, wins.
    _ingest(store, _list(SFC_ROW.replace("NeurIPS'24", "ICML'24"), LENS_ROW), taxonomy, embedder, extractor)
    detail = store.get_paper("2403.19647")
    assert detail is not None and detail.paper.venue == "ICML'24"
    untagged = SFC_ROW.replace(" (NeurIPS'24)", "")
    _ingest(store, _list(untagged, LENS_ROW), taxonomy, embedder, extractor, extra=[arxiv])
    detail = store.get_paper("2403.19647")
    assert detail is not None and detail.paper.venue is None

    journal = Record(source="arxiv", source_id="2309.08600", arxiv_id="2309.08600", title=SAE_TITLE,
                     abstract="SAEs.", published="2023-09-15", year=2023, venue="ICLR 2024")
    _ingest(store, _list(SAE_ROW, LENS_ROW), taxonomy, embedder, extractor, extra=[journal])
    _ingest(store, _list(SAE_ROW, LENS_ROW), taxonomy, embedder, extractor)  # arXiv not asked
    detail = store.get_paper("2309.08600")
    assert detail is not None and detail.paper.venue == "ICLR 2024"


def test_a_tag_taken_off_keeps_a_journal_ref_venue_when_arxiv_is_not_asked(
    store: GraphStore, taxonomy: Taxonomy, embedder: HashEmbedder, extractor: Any,
) -> None:
    """Review: arXiv's journal_ref venue spelled exactly like a list tag was cleared when the tag was
    taken off in a run with no arXiv record (--no-arxiv, a failed look-up). The venue is cleared only
    in a run with the paper's arXiv record (whose journal_ref is then the venue), or for a paper arXiv
    never gave metadata."""
    def arxiv(venue: str | None) -> Record:
        return Record(source="arxiv", source_id="2403.19647", arxiv_id="2403.19647", venue=venue,
                      title="Sparse feature circuits: Discovering and editing interpretable causal graphs in "
                            "language models", abstract="Feature circuits.", published="2024-03-28",
                      year=2024)

    untagged = SFC_ROW.replace(" (NeurIPS'24)", "")
    _ingest(store, _list(SFC_ROW, LENS_ROW), taxonomy, embedder, extractor, extra=[arxiv("NeurIPS'24")])
    _ingest(store, _list(untagged, LENS_ROW), taxonomy, embedder, extractor)  # arXiv not asked
    detail = store.get_paper("2403.19647")
    assert detail is not None and detail.paper.venue == "NeurIPS'24"
    _ingest(store, _list(untagged, LENS_ROW), taxonomy, embedder, extractor, extra=[arxiv("NeurIPS'24")])
    detail = store.get_paper("2403.19647")
    assert detail is not None and detail.paper.venue == "NeurIPS'24"
    # A venue only the tag gave: kept while arXiv is not asked, cleared by the next run that asks it.
    _ingest(store, _list(SFC_ROW, LENS_ROW), taxonomy, embedder, extractor, extra=[arxiv(None)])
    _ingest(store, _list(untagged, LENS_ROW), taxonomy, embedder, extractor)
    detail = store.get_paper("2403.19647")
    assert detail is not None and detail.paper.venue == "NeurIPS'24"
    _ingest(store, _list(untagged, LENS_ROW), taxonomy, embedder, extractor, extra=[arxiv(None)])
    detail = store.get_paper("2403.19647")
    assert detail is not None and detail.paper.venue is None
    # A paper only the list brought: the tag taken off clears its venue in any run.
    tagged = DOC_ROW.replace("transformer](", "transformer (ICML'23)](")
    _ingest(store, _list(tagged, LENS_ROW), taxonomy, embedder, extractor)
    doc_id = "a-circuit-for-python-docstrings-in-a-4-layer-attention-only-transformer"
    detail = store.get_paper(doc_id)
    assert detail is not None and detail.paper.venue == "ICML'23"
    _ingest(store, _list(DOC_ROW, LENS_ROW), taxonomy, embedder, extractor)
    detail = store.get_paper(doc_id)
    assert detail is not None and detail.paper.venue is None
