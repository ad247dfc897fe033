"""Stale list rows and --prune: the stored rows a whole-list run no longer has (stale_list_rows), the
papers only they brought (list_only_papers), when --prune refuses or holds back, and the prune itself
(prune_list_rows)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ingest.store_lock import HeldLock
from ingest.summary import IngestSummary, counted
from ingest.write import HashOf, Merged, TextOf, write_papers
from kg.schema import EDGE_SOURCE_LIST
from kg.store import GraphStore

if TYPE_CHECKING:
    from ingest.embed import TextEmbedder
    from ingest.extract import PaperExtractor


def stale_list_rows(stored_rows: Sequence[dict[str, Any]],
                    listed_rows: Collection[tuple[str, str]]) -> list[dict[str, Any]]:
    """The stored list rows a whole-list run no longer has: every row (of `stored_rows`, the rows of
    the papers with source "list", GraphStore.list_rows_from) the run did not write from the list
    (`listed_rows`: the (paper id, section id) of the rows it wrote), as {paper_id, title, section,
    section_id, line}.

    A row is one paper in one section (the store keeps one per section): the list's row of that
    paper and section is the same row, whatever its line now. So a row is stale whether its paper is
    gone from the list or only from that section (moved, or listed twice and once no longer): a list
    ingest keeps such rows (ingest.pipeline's _kept_list_rows) until --prune. A row does not record
    where it came from; a paper's source "list" says a list ingest wrote its rows, since other sources
    never replace stored rows (a records file fills them only for a paper with none), and a prune takes
    "list" off the papers it empties (or removes them: list_only_papers). So rows a records file brought are
    never stale, unless a list ingest has since replaced them by the list's rows for that paper, which
    then are the list's.
    """
    return [
        {"paper_id": row["paper_id"], "title": row["title"],
         "section": " / ".join(str(p) for p in row["section_path"] or []) or row["section_id"],
         "section_id": row["section_id"], "line": row["line"]}
        for row in stored_rows if (row["paper_id"], row["section_id"]) not in listed_rows
    ]


def list_only_papers(store: GraphStore, stale_rows: Sequence[dict[str, Any]],
                     listed: Collection[str] = ()) -> list[dict[str, Any]]:
    """The papers of `stale_rows` (stale_list_rows' entries) whose only source is the list, as
    {paper_id, title}, in the rows' order: without those rows nothing stored brought them (no arXiv
    record, no records file), so --prune removes them with their rows, edges and embedding. Not the
    papers in `listed` (the list still has them, in other sections): --prune removes only their rows
    the list no longer has."""
    paper_ids = list(dict.fromkeys(row["paper_id"] for row in stale_rows if row["paper_id"] not in listed))
    papers = {paper.id: paper for paper in store.get_papers(paper_ids)} if paper_ids else {}
    return [{"paper_id": pid, "title": papers[pid].title} for pid in paper_ids
            if pid in papers and all(source == EDGE_SOURCE_LIST for source in papers[pid].sources)]


def prune_refusal(stale: int, stored: int, *, papers: int = 0) -> str | None:
    """Why --prune refuses to remove `stale` of the `stored` list rows, or None when it may; `stored`
    counts the rows stored before the run wrote the list's own (a wrong list as long as the right one
    adds as many rows as it makes stale), `papers` how many papers would go with the stale rows
    (list_only_papers), named in the refusal.

    Refused when the list no longer has more than half of the rows stored from lists: what a
    truncated download, a list cut short by a bad edit or another list altogether looks like, and
    what would empty most of the list's papers, or remove those it alone brought (their rows count
    among the stale ones). A few rows fewer (papers taken off the list, a row that no longer parses)
    is what pruning is for; --force prunes anyway.
    """
    if 2 * stale <= stored:
        return None
    also = (f"{counted(papers, 'paper')} with no other source would have gone with them; " if papers
            else "")
    return (f"--prune refused: the list no longer has {stale} of the {stored} list rows stored, more "
            f"than half, as a truncated or wrong list would; nothing was removed ({also}check the list "
            "with --dry-run, or run again with --prune --force to remove them)")


def prune_hold_back(stale: int, lines: Sequence[int], *, papers: int = 0) -> str:
    """Why --prune removed none of the `stale` list rows of a list with unreadable rows (at `lines`):
    a row that no longer parses is a stale row too (its paper's row is not in the list as read), so
    pruning would delete a paper, its history with it, for a typo. Held back for the whole run, not
    only for the unreadable row's section: a broken row cannot be told apart from a row moved
    elsewhere, and a broken table makes every row under it unreadable. `papers`: how many papers with
    no other source would have gone too (list_only_papers)."""
    where = _unreadable_where(lines)
    also = f", and {counted(papers, 'paper')} with no other source" if papers else ""
    return (f"--prune held back: {counted(stale, 'stale list row')}{also} kept because {where}; "
            f"fix {'it' if len(lines) == 1 else 'them'} and run --prune again (or --prune --force to "
            "remove them anyway)")


def also_unreadable(lines: Sequence[int]) -> str:
    """What a refused --prune (prune_refusal) adds when rows at `lines` could not be read either: the
    prune is held back for them too (prune_hold_back), so they are to fix first."""
    one = len(lines) == 1
    return (f"also, {_unreadable_where(lines)}: fix {'it' if one else 'them'} first, as --prune is held "
            "back while a row cannot be read")


def _unreadable_where(lines: Sequence[int]) -> str:
    """"line 8 could not be read", or "lines 8, 9 could not be read", five named at most."""
    shown = ", ".join(str(n) for n in lines[:5]) + (f" and {len(lines) - 5} more" if len(lines) > 5 else "")
    return f"line {shown} could not be read" if len(lines) == 1 else f"lines {shown} could not be read"


def prune_list_rows(
    store: GraphStore, summary: IngestSummary, embedder: TextEmbedder, extractor: PaperExtractor,
    embedding_text: TextOf, text_hash: HashOf, batch_size: int, lock: HeldLock,
) -> None:
    """Remove the summary's stale list rows: each of their papers is written again without list rows,
    or removed when it has no other source (exactly the papers summary.list_only_papers names); a paper
    the list still has (in other sections) is written again with the list's rows and edges alone.

    A paper with another source (arXiv, a records file) stays, and loses what came from those rows
    alone: the list's technique and evaluation edges, its source "list" (it is no longer on the list:
    the source filter and the rule of stale_list_rows follow), and what its TL;DRs gave extraction and,
    for a paper without an abstract, its embedding (both computed again, as the next ingest of the
    paper would). A paper the list alone brought (list_only_papers) is removed with its edges,
    findings and embedding: nothing stored brought it any more.
    """
    paper_ids = list(dict.fromkeys(row["paper_id"] for row in summary.stale_list_rows))
    stale_of = Counter(row["paper_id"] for row in summary.stale_list_rows)
    # One rule: the papers removed are exactly those the summary names (and the refusal counted).
    list_only = {paper["paper_id"] for paper in summary.list_only_papers}
    for start in range(0, len(paper_ids), batch_size):
        merged: list[Merged] = []
        gone: list[tuple[str, int]] = []  # (paper id, its list rows) of the papers removed
        pruned = 0
        for paper_id in paper_ids[start:start + batch_size]:
            stored = store.get_paper(paper_id)
            if stored is None:
                continue
            if paper_id in list_only:
                gone.append((paper_id, len(stored.list_rows)))
                continue
            current = summary.current_list_edges.get(paper_id)
            if current is not None:  # still listed: keeps its sources and the list's rows
                paper = replace(stored.paper, embedding=None, extraction_hash=None)
                merged.append((stored, paper, paper_id, current))
                pruned += stale_of[paper_id]
                continue
            sources = [s for s in stored.paper.sources if s != EDGE_SOURCE_LIST]
            # No extraction_hash: an extractor without a signature extracts it again, as for any record.
            paper = replace(stored.paper, sources=sources, embedding=None, extraction_hash=None)
            merged.append((stored, paper, paper_id, ([], [], [])))
            pruned += len(stored.list_rows)
        if merged:
            _statuses, _rekey, computed = write_papers(store, merged, embedder, extractor, embedding_text,
                                                        text_hash, lock)
            summary.embedded += computed
        summary.list_rows_pruned += pruned  # counted once written: a failed batch removed nothing
        for paper_id, rows in gone:  # each its own write: counted as it goes
            lock.check()  # as in write_papers: nothing removed once another ingest took the lock over
            if store.delete_paper(paper_id):
                summary.papers_pruned += 1
                summary.list_rows_pruned += rows
