"""A list maintainer's week-by-week edits (list QA): a retitled row keeps its paper, line numbers alone
change nothing the summary counts, a venue tag removed clears the venue, and --prune holds back while a
row cannot be read."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ingest.awesome_list import parse_list
from ingest.pipeline import IngestSummary, list_link_key, run_ingest
from ingest.records import Record
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


def _sae_arxiv() -> Record:
    """The arXiv record the list's openreview row was matched to by its title."""
    return Record(source="arxiv", source_id="2309.08600", title=SAE_TITLE, arxiv_id="2309.08600",
                  abstract="We train sparse autoencoders on language model activations.",
                  published="2023-09-15", year=2023)


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


def test_a_retitled_row_keeps_its_paper(
    store: GraphStore, taxonomy: Taxonomy, embedder: HashEmbedder, extractor: Any,
) -> None:
    """List QA case A: "interpretability hypotheses" -> "mechanistic interpretability hypotheses", same
    link, made a second paper announced as new, and --prune deleted the old one with its history. Now
    the row keeps its paper (id, first_seen), whose title follows the list, reported updated."""
    _ingest(store, _list(CS_ROW, LENS_ROW), taxonomy, embedder, extractor)
    before = store.get_paper(CS_ID)
    assert before is not None
    retitled = CS_ROW.replace("testing interpretability", "testing mechanistic interpretability")
    summary = _ingest(store, _list(retitled, LENS_ROW), taxonomy, embedder, extractor, prune=True)
    assert (summary.new, summary.updated, summary.unchanged) == (0, 1, 1)
    assert summary.stale_list_rows == [] and summary.papers_pruned == 0
    after = store.get_paper(CS_ID)
    assert after is not None and sorted(store.paper_ids()) == [CS_ID, "interpreting-gpt-the-logit-lens"]
    assert after.paper.title.startswith("Causal Scrubbing: a method for rigorously testing mechanistic")
    assert after.paper.first_seen == before.paper.first_seen
    assert summary.updated_papers == [{
        "paper_id": CS_ID, "title": after.paper.title, "lines": [7],
        "previous_title": before.paper.title}]
    # The next run finds it by its new title: nothing changes.
    again = _ingest(store, _list(retitled, LENS_ROW), taxonomy, embedder, extractor)
    assert (again.new, again.updated, again.unchanged) == (0, 0, 2)


def test_a_misspelt_row_keeps_its_arxiv_paper(
    store: GraphStore, taxonomy: Taxonomy, embedder: HashEmbedder, extractor: Any,
) -> None:
    """List QA case B: an openreview row matched to 2309.08600 by its title; a typo ("interpretible")
    found no arXiv match and made a new paper beside it. The link keeps it on 2309.08600, arXiv's
    title and abstract kept."""
    _ingest(store, _list(SAE_ROW, LENS_ROW), taxonomy, embedder, extractor, extra=[_sae_arxiv()])
    assert "2309.08600" in store.paper_ids()
    typo = SAE_ROW.replace("Interpretable", "Interpretible")
    summary = _ingest(store, _list(typo, LENS_ROW), taxonomy, embedder, extractor)
    assert summary.new == 0 and summary.stale_list_rows == []
    assert sorted(store.paper_ids()) == ["2309.08600", "interpreting-gpt-the-logit-lens"]
    detail = store.get_paper("2309.08600")
    assert detail is not None and detail.paper.title == SAE_TITLE
    assert [row.title_in_list for row in detail.list_rows] == [SAE_TITLE.replace("Interpretable",
                                                                                 "Interpretible")]


def test_a_shared_link_alone_does_not_make_two_rows_one_paper(
    store: GraphStore, taxonomy: Taxonomy, embedder: HashEmbedder, extractor: Any,
) -> None:
    """A link two rows share (a blog's index page) says nothing of which paper a row is: a new row
    with the link of a paper the list still has is a new paper, and a retitled row beside a new row of
    the same link is matched to neither."""
    index = "https://transformer-circuits.pub/2023/index.html"
    first = f"| [Circuits Updates July 2023]({index}) | SAE | Updates. |\n"
    _ingest(store, _list(first, LENS_ROW), taxonomy, embedder, extractor)
    other = f"| [Circuits Updates August 2023]({index}) | SAE | More updates. |\n"
    added = _ingest(store, _list(first, other, LENS_ROW), taxonomy, embedder, extractor)
    assert (added.new, added.updated) == (1, 0)
    assert {"circuits-updates-july-2023", "circuits-updates-august-2023"} <= set(store.paper_ids())

    retitled = first.replace("July", "June")
    third = f"| [Circuits Updates September 2023]({index}) | SAE | Even more. |\n"
    both = _ingest(store, _list(retitled, third, LENS_ROW), taxonomy, embedder, extractor)
    assert (both.new, both.updated) == (2, 0)  # june and september; july and august are stale
    assert {r["paper_id"] for r in both.stale_list_rows} == {"circuits-updates-july-2023",
                                                             "circuits-updates-august-2023"}


def test_a_row_replaced_by_another_paper_under_its_link_is_a_new_paper(
    store: GraphStore, taxonomy: Taxonomy, embedder: HashEmbedder, extractor: Any,
) -> None:
    """Review: a row replaced by a different paper under the same generic link (a lab's research page)
    was merged into the old paper ("0 new, 1 updated ... (was 'Toy Models ...')"), the new paper living
    under the old one's id. The titles share nothing: it is a new paper, the old row stale."""
    page = "https://www.anthropic.com/research"
    toy = f"| [Toy Models of Superposition in Attention]({page}) | Activation Patching | A. |\n"
    scaling = (f"| [Scaling Monosemanticity: Extracting Features from Claude 3 Sonnet]({page}) | SAE | "
               "B. |\n")
    _ingest(store, _list(toy, LENS_ROW), taxonomy, embedder, extractor)
    summary = _ingest(store, _list(scaling, LENS_ROW), taxonomy, embedder, extractor)
    scaling_id = "scaling-monosemanticity-extracting-features-from-claude-3-sonnet"
    assert (summary.new, summary.updated) == (1, 0)
    assert [p["paper_id"] for p in summary.new_papers] == [scaling_id]
    assert [r["paper_id"] for r in summary.stale_list_rows] == ["toy-models-of-superposition-in-attention"]
    old = store.get_paper("toy-models-of-superposition-in-attention")
    assert old is not None and old.paper.title == "Toy Models of Superposition in Attention"
    assert store.get_paper(scaling_id) is not None


def test_a_row_replaced_under_an_index_link_does_not_take_over_the_arxiv_paper(
    store: GraphStore, taxonomy: Taxonomy, embedder: HashEmbedder, extractor: Any,
) -> None:
    """Review: "Towards Monosemanticity" (an index page's link, matched to its arXiv id) replaced by
    "Circuits Updates - July 2023" under the same link: the new paper never entered the graph and the
    arXiv paper took its row, TL;DR and tags, with no "(was ...)". Now the new row is a new paper and
    the arXiv paper keeps its own row (stale)."""
    index = "https://transformer-circuits.pub/2023/index.html"
    towards = "Towards Monosemanticity: Decomposing Language Models With Dictionary Learning"
    arxiv = Record(source="arxiv", source_id="2310.99999", title=towards, arxiv_id="2310.99999",
                   abstract="We decompose with dictionary learning.", published="2023-10-04", year=2023)
    _ingest(store, _list(f"| [{towards}]({index}) | SAE | Dictionary learning. |\n", LENS_ROW), taxonomy,
            embedder, extractor, extra=[arxiv])
    updates = f"| [Circuits Updates - July 2023]({index}) | SAE | Monthly update. |\n"
    summary = _ingest(store, _list(updates, LENS_ROW), taxonomy, embedder, extractor)
    assert (summary.new, summary.updated) == (1, 0)
    assert [p["paper_id"] for p in summary.new_papers] == ["circuits-updates-july-2023"]
    assert [r["paper_id"] for r in summary.stale_list_rows] == ["2310.99999"]
    detail = store.get_paper("2310.99999")
    assert detail is not None and detail.paper.title == towards
    assert [(row.title_in_list, row.tldr) for row in detail.list_rows] == [(towards, "Dictionary learning.")]
    new = store.get_paper("circuits-updates-july-2023")
    assert new is not None and [row.tldr for row in new.list_rows] == ["Monthly update."]


def test_a_row_whose_month_changed_under_an_index_link_is_another_paper(
    store: GraphStore, taxonomy: Taxonomy, embedder: HashEmbedder, extractor: Any,
) -> None:
    """Why the link match does not take a whole-title similarity: "Circuits Updates - July 2023" and
    "... August 2023" are 0.85 alike, yet a word replaced by another word is another paper."""
    index = "https://transformer-circuits.pub/2023/index.html"
    _ingest(store, _list(f"| [Circuits Updates - July 2023]({index}) | SAE | July. |\n", LENS_ROW), taxonomy,
            embedder, extractor)
    summary = _ingest(store, _list(f"| [Circuits Updates - August 2023]({index}) | SAE | August. |\n",
                                   LENS_ROW), taxonomy, embedder, extractor)
    assert (summary.new, summary.updated) == (1, 0)
    assert {"circuits-updates-july-2023", "circuits-updates-august-2023"} <= set(store.paper_ids())


def test_list_link_key_ignores_scheme_www_fragment_and_trailing_slash() -> None:
    """The link forms one row takes across edits are one key; a site's front page is none."""
    assert list_link_key("https://www.LessWrong.com/posts/abc/title/#comments") == \
        list_link_key("http://lesswrong.com/posts/abc/title") == "lesswrong.com/posts/abc/title"
    assert list_link_key("https://openreview.net/forum?id=F76bwRSLeK") == "openreview.net/forum?id=F76bwRSLeK"
    assert list_link_key("https://www.lesswrong.com/") is None and list_link_key(None) is None


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


def test_prune_holds_back_while_a_row_cannot_be_read(
    store: GraphStore, taxonomy: Taxonomy, embedder: HashEmbedder, extractor: Any,
) -> None:
    """List QA: with --prune, a link missing its ")" made the row unreadable and the paper, which only
    the list brought, was deleted in the same run with all its data. Now --prune removes nothing while
    a row cannot be read, and says which line to fix."""
    _ingest(store, _list(LENS_ROW, DOC_ROW, CS_ROW, SFC_ROW, SAE_ROW), taxonomy, embedder, extractor)
    doc_id = "a-circuit-for-python-docstrings-in-a-4-layer-attention-only-transformer"
    broken = DOC_ROW.replace("docstrings) |", "docstrings |")
    held = _ingest(store, _list(LENS_ROW, broken, SFC_ROW, SAE_ROW), taxonomy, embedder, extractor,
                   prune=True)
    assert held.prune_held_back == [8]
    assert held.prune_refused == (
        "--prune held back: 2 stale list rows, and 2 papers with no other source kept because line 8 could "
        "not be read; fix it and run --prune again (or --prune --force to remove them anyway)")
    assert (held.list_rows_pruned, held.papers_pruned) == (0, 0)
    assert {doc_id, CS_ID} <= set(store.paper_ids())
    assert "2 list rows are no longer in the list (not removed: --prune was held back):" in held.text()
    assert held.to_dict()["prune_held_back"] == [8]
    # Fixed: the prune goes ahead, for the row really taken off the list only.
    pruned = _ingest(store, _list(LENS_ROW, DOC_ROW, SFC_ROW, SAE_ROW), taxonomy, embedder, extractor,
                     prune=True)
    assert (pruned.prune_refused, pruned.papers_pruned) == (None, 1)
    assert doc_id in store.paper_ids() and CS_ID not in store.paper_ids()


def test_a_refused_prune_still_names_the_lines_that_could_not_be_read(
    store: GraphStore, taxonomy: Taxonomy, embedder: HashEmbedder, extractor: Any,
) -> None:
    """Review: with more than half of the rows stale and a row unreadable, only the refusal was shown
    and prune_held_back stayed []: the line to fix, the more useful of the two, was hidden. Both now."""
    _ingest(store, _list(CS_ROW, LENS_ROW, DOC_ROW), taxonomy, embedder, extractor)
    broken = DOC_ROW.replace("docstrings) |", "docstrings |")
    held = _ingest(store, _list(LENS_ROW, broken), taxonomy, embedder, extractor, prune=True)
    assert len(held.stale_list_rows) == 2 and (held.list_rows_pruned, held.papers_pruned) == (0, 0)
    assert held.prune_held_back == [8] and held.to_dict()["prune_held_back"] == [8]
    assert held.prune_refused is not None
    assert held.prune_refused.startswith("--prune refused: the list no longer has 2 of the 3 list rows")
    assert held.prune_refused.endswith(
        "; also, line 8 could not be read: fix it first, as --prune is held back while a row cannot be read")
