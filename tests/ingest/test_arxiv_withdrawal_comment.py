"""A withdrawal arXiv states only in an entry's Comments field, through the local arXiv server (a real
HTTP server on 127.0.0.1) into a real embedded store: the stored abstract opens with the comment's notice,
so every output that reads kg.withdrawn.is_withdrawn marks the paper, and re-extraction drops what the
earlier version's abstract said."""

from __future__ import annotations

from typing import Any

from ingest.arxiv_server import LocalArxivServer
from ingest.arxiv_source import ArxivSource
from ingest.export_rows import row_suggestions
from ingest.extract import Extractor
from ingest.pipeline import run_ingest
from kg.store import GraphStore
from kg.taxonomy import Taxonomy
from kg.withdrawn import is_withdrawn
from tests.embedders import HashEmbedder
from tests.kg.test_withdrawn import LIVE_PAPER_COMMENTS

ARXIV_ID = "2611.90001"
V4 = {
    "arxiv_id": ARXIV_ID, "version": 4, "title": "Sparse Feature Circuits for Factual Recall in GPT-2",
    "authors": ["Bob Tester", "Alice Qa", "Dan New"], "published": "2026-11-20", "updated": "2026-11-26",
    "primary_category": "cs.LG", "categories": ["cs.LG", "cs.CL"],
    "abstract": "We study how GPT-2 small recalls facts about cities. Using sparse autoencoders trained on "
                "the residual stream, we decompose factual recall into monosemantic features. We find that "
                "late attention heads copy the country token from a single feature. Our results show that "
                "the circuit is sparse.",
    "journal_ref": "Proceedings of ICLR 2027", "doi": "10.9999/qa.factual.2027",
}
NOTICE = "This paper has been withdrawn by the authors due to an error in the main result."
V5_WITHDRAWN = {**V4, "version": 5, "updated": "2026-11-27", "abstract": "", "comment": NOTICE}


def _fetch(served: dict[str, Any]) -> list[Any]:
    with LocalArxivServer([served]) as server:
        return ArxivSource(url=server.url, delay=0.0, timeout=5.0, retries=0).fetch_by_ids([ARXIV_ID])


def _load(store: GraphStore, served: dict[str, Any], extractor: Extractor) -> Any:
    return run_ingest(store, _fetch(served), source="arxiv", embedder=HashEmbedder(), extractor=extractor,
                      progress=False)


def test_a_withdrawal_stated_only_in_the_comment_is_stored_as_the_abstracts_notice(
    store: GraphStore, extractor: Extractor, taxonomy: Taxonomy
) -> None:
    _load(store, V4, extractor)
    before = store.get_paper(ARXIV_ID)
    assert before is not None and not is_withdrawn(before.paper.abstract)
    assert any(f.kind != "title" for f in before.findings)
    assert "sae" in {t.technique_id for t in before.techniques}
    embedding_before = store.get_embeddings([ARXIV_ID])[ARXIV_ID]

    summary = _load(store, V5_WITHDRAWN, extractor)
    assert (summary.updated, summary.unchanged) == (1, 0)
    after = store.get_paper(ARXIV_ID)
    assert after is not None
    assert after.paper.abstract == NOTICE and after.paper.arxiv_version == 5
    assert is_withdrawn(after.paper.abstract)
    # Re-extracted from the notice, as for a withdrawal arXiv puts in the abstract: v4's claims and the
    # technique its abstract named are gone (the title's finding stays), and the embedding is the notice's.
    assert [f.kind for f in after.findings] == ["title"]
    assert "sae" not in {t.technique_id for t in after.techniques}
    assert (store.get_embeddings([ARXIV_ID])[ARXIV_ID] != embedding_before).any()
    # The export of list rows leaves it out, by the same stored abstract.
    rows, withdrawn = row_suggestions(store, "2020-01-01", taxonomy)
    assert withdrawn == [ARXIV_ID] and ARXIV_ID not in {r.paper_id for r in rows}

    # The same answer again changes nothing.
    again = _load(store, V5_WITHDRAWN, extractor)
    assert (again.updated, again.unchanged) == (0, 1)


def test_the_abstract_arxiv_keeps_follows_the_notice(store: GraphStore, extractor: Extractor) -> None:
    _load(store, {**V5_WITHDRAWN, "abstract": V4["abstract"]}, extractor)
    detail = store.get_paper(ARXIV_ID)
    assert detail is not None and detail.paper.abstract == f"{NOTICE} {V4['abstract']}"
    assert is_withdrawn(detail.paper.abstract)


def test_a_notice_in_both_the_abstract_and_the_comment_is_stored_once(store: GraphStore,
                                                                      extractor: Extractor) -> None:
    _load(store, {**V5_WITHDRAWN, "abstract": NOTICE}, extractor)
    detail = store.get_paper(ARXIV_ID)
    assert detail is not None and detail.paper.abstract == NOTICE


def test_a_comment_that_only_mentions_a_withdrawal_or_none_changes_nothing(
    store: GraphStore, extractor: Extractor
) -> None:
    _load(store, V4, extractor)
    for comment in ("v2 withdrawn figure 3 replaced", "12 pages, 5 figures",
                    "Accepted at ICLR 2027. The previous version has been withdrawn from NeurIPS."):
        records = _fetch({**V4, "comment": comment})
        assert [r.abstract for r in records] == [V4["abstract"]]
        summary = run_ingest(store, records, source="arxiv", embedder=HashEmbedder(), extractor=extractor,
                             progress=False)
        assert (summary.updated, summary.unchanged) == (0, 1), comment
    detail = store.get_paper(ARXIV_ID)
    assert detail is not None and detail.paper.abstract == V4["abstract"]
    assert not is_withdrawn(detail.paper.abstract)


def test_comments_about_venues_or_other_versions_leave_a_live_paper_live(
    store: GraphStore, extractor: Extractor, taxonomy: Taxonomy
) -> None:
    _load(store, V4, extractor)
    # Each a live v5: its comment talks of a venue it left or a version withdrawn before this one.
    for comment in LIVE_PAPER_COMMENTS:
        records = _fetch({**V4, "version": 5, "comment": comment})
        assert [r.abstract for r in records] == [V4["abstract"]], comment
        run_ingest(store, records, source="arxiv", embedder=HashEmbedder(), extractor=extractor,
                   progress=False)
        detail = store.get_paper(ARXIV_ID)
        assert detail is not None and detail.paper.abstract == V4["abstract"], comment
        assert not is_withdrawn(detail.paper.abstract)
    _, withdrawn = row_suggestions(store, "2020-01-01", taxonomy)
    assert withdrawn == []
