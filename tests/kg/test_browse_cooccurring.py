"""A node's co-occurring techniques and evaluation criteria (kg/browse.py) on a real store: an ancestor listed
with the same count as its refinement is the same papers and is dropped (QA: transcoder's list read
"attribution_graph 2, attribution_patching 2, cma 2"), the list filled from further down; every count is the
AND search the page links to."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kg.browse import technique_detail
from kg.embedded import EmbeddedStore
from kg.entities import EvaluationUse, PaperBundle, SearchFilters
from tests.kg.test_related import bundle, unit
from tests.seed_store import taxonomy_store


def _with_evaluations(b: PaperBundle, evaluations: list[str]) -> PaperBundle:
    b.evaluations = [EvaluationUse(e, "list") for e in evaluations]
    return b


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EmbeddedStore]:
    """Transcoder papers: two with an attribution graph (a refinement of attribution patching, itself one
    of CMA's), one with path patching (another of CMA's), one each with probing and the logit lens.
    Attribution-patching papers: two evaluated by faithfulness, one by completeness."""
    s = taxonomy_store(tmp_path / "paperkg.sqlite3")
    s.upsert_papers([
        bundle("tc-ag-1", unit(0), ["transcoder", "attribution_graph"]),
        bundle("tc-ag-2", unit(1), ["transcoder", "attribution_graph"]),
        bundle("tc-pp", unit(2), ["transcoder", "path_patching"]),
        bundle("tc-probing", unit(3), ["transcoder", "probing"]),
        bundle("tc-lens", unit(4), ["transcoder", "logit_lens"]),
        _with_evaluations(bundle("ap-f-1", unit(5), ["attribution_patching"]), ["faithfulness"]),
        _with_evaluations(bundle("ap-f-2", unit(6), ["attribution_patching"]), ["faithfulness"]),
        _with_evaluations(bundle("ap-c", unit(7), ["attribution_patching"]), ["completeness"]),
    ])
    yield s
    s.close()


def _and_search(store: EmbeddedStore, node_id: str, other: str) -> int:
    return store.filter_page(SearchFilters(technique_ids=[node_id, other], technique_match="all"), limit=0)[1]


def test_an_ancestor_with_a_refinements_count_is_left_out_and_the_list_filled_from_below(
        store: EmbeddedStore) -> None:
    # The store lists the same two papers three times: attribution_graph, attribution_patching (2 each).
    assert store.cooccurring_techniques("transcoder", limit=3) == [
        ("cma", 3), ("attribution_graph", 2), ("attribution_patching", 2)]
    detail = technique_detail(store, "transcoder", cooccurring_limit=3)
    listed = [(c["id"], c["count"]) for c in detail.cooccurring]
    # CMA has a paper more than its listed refinement (path patching): other papers, kept.
    assert listed == [("cma", 3), ("attribution_graph", 2), ("logit_lens", 1)]
    everything = [(c["id"], c["count"]) for c in technique_detail(store, "transcoder").cooccurring]
    assert everything == [("cma", 3), ("attribution_graph", 2), ("logit_lens", 1), ("path_patching", 1),
                          ("probing", 1)]
    for other, n in everything:
        assert _and_search(store, "transcoder", other) == n, other


def test_a_techniques_page_lists_the_evaluation_criteria_its_papers_use(store: EmbeddedStore) -> None:
    detail = technique_detail(store, "attribution_patching")
    listed = [(c["id"], c["label"], c["count"]) for c in detail.cooccurring_evaluations]
    # Intrinsic evaluation (3) is more than either refinement listed: kept.
    assert listed == [("intrinsic_evaluation", "Intrinsic Evaluation", 3),
                      ("faithfulness", "Faithfulness", 2), ("completeness", "Completeness", 1)]
    for other, _, n in listed:
        assert _and_search(store, "attribution_patching", other) == n, other
    # Through its refinement (attribution graphs are attribution patching): CMA counts them too.
    assert [(c["id"], c["count"]) for c in technique_detail(store, "cma").cooccurring_evaluations][:1] == [
        ("intrinsic_evaluation", 3)]
    # A criterion's own page leaves out itself and its ancestors; an ancestor with a listed refinement's
    # count (the same papers) is left out, as for techniques.
    assert technique_detail(store, "faithfulness").cooccurring_evaluations == []
    assert technique_detail(store, "transcoder").cooccurring_evaluations == []


def test_an_ancestor_criterion_repeating_one_refinement_is_left_out(tmp_path: Path) -> None:
    s = taxonomy_store(tmp_path / "paperkg.sqlite3")
    try:
        s.upsert_papers([_with_evaluations(bundle("sae-f", unit(0), ["sae"]), ["faithfulness"])])
        assert [(c["id"], c["count"]) for c in technique_detail(s, "sae").cooccurring_evaluations] == [
            ("faithfulness", 1)]
    finally:
        s.close()


def test_a_topics_criteria_are_counted_with_the_topic_filter(tmp_path: Path) -> None:
    s = taxonomy_store(tmp_path / "paperkg.sqlite3")
    try:
        s.upsert_papers([
            _with_evaluations(bundle("sup-f", unit(0), ["sae"], topics=["superposition"]), ["faithfulness"]),
            _with_evaluations(bundle("f-only", unit(1), ["sae"]), ["faithfulness"]),
        ])
        listed = [(c["id"], c["count"]) for c in technique_detail(s, "superposition").cooccurring_evaluations]
        assert listed == [("faithfulness", 1)]
        assert s.filter_page(SearchFilters(topic_ids=["superposition"], technique_ids=["faithfulness"]),
                             limit=0)[1] == 1
    finally:
        s.close()

