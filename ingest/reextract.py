"""Re-extraction of the stored papers with the current taxonomy (run_reextract, `ingest reextract`), and
the check of which of them it would extract again (check_extractions), hashes only."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ingest.pipeline import BATCH_SIZE, check_batch_size, extraction_tools, load_tools, record_failed
from ingest.progress import Progress
from ingest.store_lock import HeldLock, ingest_lock
from ingest.summary import IngestSummary, counted, embedded_text, head_and_items
from ingest.write import (
    HashOf,
    Merged,
    TextOf,
    extraction_hash,
    extraction_of,
    extraction_tldrs,
    merged_extractions,
    stored_list_edges,
    write_papers,
)
from kg.entities import ListRow, Paper
from kg.safe_output import terminal_safe
from kg.schema import EDGE_SOURCE_LIST
from kg.store import GraphStore
from kg.taxonomy import Taxonomy

if TYPE_CHECKING:
    from ingest.embed import TextEmbedder
    from ingest.extract import PaperExtractor

# The source `ingest reextract` records its runs under (and the kind of ingest its lock names).
REEXTRACT_SOURCE = "reextract"


@dataclass
class ReextractSummary(IngestSummary):
    """What one re-extraction of the stored papers did (with dry_run: would do, writing nothing).

    `updated`: papers re-extracted and written (their extraction hash changed); `retagged`: those of
    them whose extracted tags changed; `tags_added` / `tags_removed`: by taxonomy node id, how many
    papers gained or lost an extracted tag (technique, evaluation, model studied, what a finding is
    about); `retagged_papers`: paper id -> (node ids added, node ids removed), of each retagged paper."""

    dry_run: bool = False
    retagged: int = 0
    tags_added: dict[str, int] = field(default_factory=dict)
    tags_removed: dict[str, int] = field(default_factory=dict)
    retagged_papers: dict[str, tuple[list[str], list[str]]] = field(default_factory=dict)

    def counts(self) -> dict[str, Any]:
        """The counts stored on the IngestRun."""
        return {"papers": self.papers, "updated": self.updated, "unchanged": self.unchanged,
                "retagged": self.retagged, "embedded": self.embedded}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (a dry run has no run: run_id is null)."""
        return {"run_id": self.run_id or None, "source": self.source, "status": self.status,
                "dry_run": self.dry_run, **self.counts(),
                "tags_added": _by_count(self.tags_added), "tags_removed": _by_count(self.tags_removed),
                # Which papers changed tags, by id; `retagged` counts them all (a new field may retag
                # thousands).
                "retagged_papers": [{"id": pid, "added": added, "removed": removed} for pid, (added, removed)
                                    in sorted(self.retagged_papers.items())[:RETAGGED_PAPERS_LISTED]]}

    def text(self) -> str:
        """Human summary for the CLI."""
        if self.dry_run:
            lines = [f"{self.source} (dry run: nothing written): {counted(self.papers, 'paper')} -> "
                     f"{self.updated} to update, {self.unchanged} unchanged; {self.retagged} with other tags"]
        else:
            lines = [f"{self.source}: {counted(self.papers, 'paper')} -> {self.updated} updated, "
                     f"{self.unchanged} unchanged; {self.retagged} with other tags; "
                     f"{embedded_text(self.embedded, self.updated - self.embedded)}; run {self.run_id}"]
        for side, (what, tags) in enumerate((("added", self.tags_added), ("removed", self.tags_removed))):
            papers = self._papers_by_tag(side)
            items = [f"{terminal_safe(node_id)}: {counted(n, 'paper')}" + _paper_ids(papers.get(node_id, []))
                     for node_id, n in _by_count(tags).items()]
            if items:
                lines += head_and_items(f"tags {what}:", items)
        return "\n".join(lines)

    def _papers_by_tag(self, side: int) -> dict[str, list[str]]:
        """Node id -> the sorted ids of the papers that gained it (`side` 0) or lost it (1)."""
        papers: dict[str, list[str]] = {}
        for paper_id, changes in sorted(self.retagged_papers.items()):
            for node_id in changes[side]:
                papers.setdefault(node_id, []).append(paper_id)
        return papers


# The retagged papers `--json` lists (`retagged` counts them all), and the paper ids the text names under
# each tag.
RETAGGED_PAPERS_LISTED = 1000
_TAG_PAPERS_SHOWN = 10


def _paper_ids(paper_ids: Sequence[str]) -> str:
    """The ids of a tag's papers, on the line under it: the first _TAG_PAPERS_SHOWN, then how many more."""
    if not paper_ids:
        return ""
    shown = ", ".join(terminal_safe(pid) for pid in paper_ids[:_TAG_PAPERS_SHOWN])
    more = len(paper_ids) - _TAG_PAPERS_SHOWN
    return "\n      " + shown + (f" and {more} more" if more > 0 else "")


def _by_count(tags: dict[str, int]) -> dict[str, int]:
    """Tag counts most papers first, then by node id."""
    return dict(sorted(tags.items(), key=lambda item: (-item[1], item[0])))


def _extraction_is_current(paper: Paper, rows: Sequence[ListRow], signature: str | None,
                           embedding_text: TextOf, text_hash: HashOf) -> bool:
    """Whether a stored paper's extraction is the one an extractor of `signature` would give it now: its
    stored extraction hash is the one merged_extractions would set, from its stored title, abstract and list
    TL;DRs (of `rows`, its stored list rows). Hashes only, nothing is extracted. An extractor without a
    signature extracts every paper."""
    if signature is None or paper.extraction_hash is None:
        return False
    tldrs = extraction_tldrs(rows)
    return paper.extraction_hash == extraction_hash(signature, paper, tldrs, embedding_text, text_hash)


# Stored papers check_extractions reads at once.
_CHECK_BATCH = 1000


@dataclass
class ExtractionCheck:
    """The stored papers against the current extractor and taxonomy (check_extractions)."""

    papers: int = 0  # stored papers
    stale: list[str] = field(default_factory=list)  # ids of those `ingest reextract` would extract again
    # Of the node ids asked about: node id -> ids of the papers tagged with it by extraction / by a list
    # row (`source: list`, which reextract keeps).
    extracted_tags: dict[str, set[str]] = field(default_factory=dict)
    list_tags: dict[str, set[str]] = field(default_factory=dict)


def check_extractions(store: GraphStore, *, extractor: PaperExtractor | None = None,
                      taxonomy: Taxonomy | None = None, node_ids: Collection[str] = ()) -> ExtractionCheck:
    """Which stored papers `run_reextract` would extract again (the extractor's, else an extractor of
    `taxonomy`, else of PAPERKG_TAXONOMY), by the comparison its batches make first
    (_extraction_is_current): hashes only, nothing is extracted or written. With `node_ids`, also which
    papers are tagged with those nodes, by extraction or by a list row."""
    check = ExtractionCheck()
    paper_ids = sorted(store.paper_ids())
    if not paper_ids:
        return check
    from ingest.embed import embedding_text, text_hash

    if extractor is None:
        extractor, _ = extraction_tools(None, taxonomy)
    signature = getattr(extractor, "signature", None)
    wanted = set(node_ids)
    # Papers are read in batches without their edges and embeddings; a paper's detail only when it has
    # list rows (their TL;DRs are hashed too) or touches a node asked about (6,150 papers: 0.08 s, and
    # 0.67 s read one by one).
    with_rows: set[str] = set()
    tagged: set[str] = set()
    sources_read: set[str] = set()
    for start in range(0, len(paper_ids), _CHECK_BATCH):
        papers = store.get_papers(paper_ids[start:start + _CHECK_BATCH])
        # list_rows_from reads the rows of the papers with a given source: every source covers them all.
        for source in sorted({s for paper in papers for s in paper.sources} - sources_read):
            sources_read.add(source)
            with_rows.update(str(row["paper_id"]) for row in store.list_rows_from(source))
        if wanted:
            profiles = store.paper_profiles([paper.id for paper in papers])
            tagged.update(pid for pid, ids in profiles.items() if ids & wanted)
        for paper in papers:
            detail = (store.get_paper(paper.id)
                      if paper.id in with_rows or paper.id in tagged or not paper.sources else None)
            check.papers += 1
            if not _extraction_is_current(paper, detail.list_rows if detail else [], signature,
                                          embedding_text, text_hash):
                check.stale.append(paper.id)
            if detail is not None and paper.id in tagged:
                listed = {t.technique_id for t in detail.techniques if t.source == EDGE_SOURCE_LIST} | {
                    e.evaluation_id for e in detail.evaluations if e.source == EDGE_SOURCE_LIST}
                for tags, ids in ((check.extracted_tags, _tagged_ids(extraction_of(detail))),
                                  (check.list_tags, listed)):
                    for node_id in ids & wanted:
                        tags.setdefault(node_id, set()).add(paper.id)
    return check


def _tagged_ids(extraction: Any) -> set[str]:
    """The taxonomy node ids an extraction (ingest.extract.Extraction or _StoredExtraction) tags a paper
    with: its techniques, evaluations, models studied and what its findings are about."""
    return ({t.technique_id for t in extraction.techniques}
            | {e.evaluation_id for e in extraction.evaluations}
            | set(extraction.models) | {a.id for f in extraction.findings for a in f.about})


def run_reextract(
    store: GraphStore,
    *,
    embedder: TextEmbedder | None = None,
    extractor: PaperExtractor | None = None,
    taxonomy: Taxonomy | None = None,
    progress: bool = True,
    batch_size: int = BATCH_SIZE,
    dry_run: bool = False,
    lock: HeldLock | None = None,
    wait: float = 0.0,
) -> ReextractSummary:
    """Extract every stored paper again, from what an ingest extracts it from (its stored title,
    abstract and list TL;DRs), with the current taxonomy (the extractor's, else PAPERKG_TAXONOMY's);
    write, in batches of `batch_size`, only the papers whose extraction hash changed.

    A written paper keeps everything else as stored: its metadata, sources and first_seen, its list rows
    and list-sourced edges (a row's section topics follow the taxonomy's section map, as an ingest
    writes them) and its embedding, read from the embedding cache by its unchanged text (a text the
    cache lost is embedded again, and counted). Records one IngestRun (source REEXTRACT_SOURCE) and holds
    the ingest lock as run_ingest does (`lock`, `wait`). Kill-safe: each batch is one write, and a run
    again skips the papers already written (their hash is current). `dry_run`: extract and count what
    would change, writing nothing, recording no run and taking no lock (nothing needs an embedder).
    """
    check_batch_size(batch_size)
    if dry_run or lock is not None:
        return _run_reextract(store, embedder=embedder, extractor=extractor, taxonomy=taxonomy,
                              progress=progress, batch_size=batch_size, dry_run=dry_run, lock=lock)
    with ingest_lock(store, REEXTRACT_SOURCE, wait=wait) as held:
        return _run_reextract(store, embedder=embedder, extractor=extractor, taxonomy=taxonomy,
                              progress=progress, batch_size=batch_size, dry_run=False, lock=held)


def _run_reextract(
    store: GraphStore, *, embedder: TextEmbedder | None, extractor: PaperExtractor | None,
    taxonomy: Taxonomy | None, progress: bool, batch_size: int, dry_run: bool, lock: HeldLock | None,
) -> ReextractSummary:
    """run_reextract's body: with the ingest lock held (`lock`), or a dry run (no lock, no run)."""
    from ingest.embed import embedding_text, text_hash

    run_id = "" if dry_run else store.start_run(REEXTRACT_SOURCE).id
    summary = ReextractSummary(run_id=run_id, source=REEXTRACT_SOURCE, dry_run=dry_run)
    try:
        paper_ids = sorted(store.paper_ids())
        summary.papers = summary.records = len(paper_ids)
        if paper_ids:
            if dry_run:
                extractor, taxonomy = extraction_tools(extractor, taxonomy)
            else:
                embedder, extractor, taxonomy = load_tools(store, embedder, extractor, taxonomy)
        # As the ingest run's: a bar on a terminal, else plain lines (a reextract piped to a log).
        bar = Progress(len(paper_ids), REEXTRACT_SOURCE, progress)
        try:
            for start in range(0, len(paper_ids), batch_size):
                chunk = paper_ids[start:start + batch_size]
                assert extractor is not None and taxonomy is not None  # loaded above for any paper
                unchanged = summary.unchanged
                _reextract_chunk(store, chunk, summary, embedder, extractor, taxonomy, embedding_text,
                                 text_hash, lock)
                bar.update(len(chunk), summary.unchanged - unchanged)
        finally:
            bar.close()
        if lock is not None:
            lock.check()  # lost during the last write: recorded failed, not succeeded beside the new holder
    except BaseException as exc:
        if not dry_run:
            record_failed(store, summary, exc)
        raise
    if not dry_run:
        store.finish_run(run_id, "succeeded", summary.counts())
    return summary


def _reextract_chunk(
    store: GraphStore, paper_ids: Sequence[str], summary: ReextractSummary, embedder: TextEmbedder | None,
    extractor: PaperExtractor, taxonomy: Taxonomy, embedding_text: TextOf, text_hash: HashOf,
    lock: HeldLock | None,
) -> None:
    """Re-extract one batch of stored papers and write, in one write, those whose extraction changed."""
    merged: list[Merged] = []
    signature = getattr(extractor, "signature", None)
    for paper_id in paper_ids:
        stored = store.get_paper(paper_id)
        if stored is None:  # removed since the ids were read (a dry run holds no lock)
            continue
        if _extraction_is_current(stored.paper, stored.list_rows, signature, embedding_text, text_hash):
            summary.unchanged += 1  # its stored extraction is current: not written at all
            summary.statuses[paper_id] = "unchanged"
            continue
        rows, list_techs, list_evals = stored_list_edges(stored)
        # As ingest.pipeline's _ingest_chunk writes them: the rows' section topics come from the taxonomy's
        # section map (reads do not return them, and a bundle without them would drop the sections' topics).
        rows = [replace(r, topic_ids=taxonomy.section_topic_ids(r.section_path)) for r in rows]
        # No extraction_hash: merged_extractions sets the current one (an extractor without a signature sets
        # none, and every paper is extracted again, as run_ingest does for it).
        paper = replace(stored.paper, embedding=None, extraction_hash=None)
        merged.append((stored, paper, paper_id, (rows, list_techs, list_evals)))
    if not merged:
        return
    extractions = merged_extractions(merged, extractor, embedding_text, text_hash)
    # The batch's tag changes are added to the summary only once the batch is written (a dry run: at
    # once): a write that stops (lock lost, store error) must not leave them in the failed run's counts.
    retagged, added, removed = 0, Counter[str](), Counter[str]()
    papers: dict[str, tuple[list[str], list[str]]] = {}
    for item in merged:
        stored, paper = item[0], item[1]
        assert stored is not None
        before, after = _tagged_ids(extraction_of(stored)), _tagged_ids(extractions[paper.id])
        if before != after:
            retagged += 1
            added.update(after - before)
            removed.update(before - after)
            papers[paper.id] = (sorted(after - before), sorted(before - after))
    if lock is None:  # a dry run: counted, never written
        summary.updated += len(merged)
        summary.statuses.update((item[1].id, "updated") for item in merged)
    else:
        assert embedder is not None
        statuses, _rekey, computed = write_papers(store, merged, embedder, extractor, embedding_text,
                                                   text_hash, lock, extractions=extractions)
        summary.embedded += computed
        for paper_id, status in statuses.items():
            summary.statuses[paper_id] = status
            if status == "unchanged":
                summary.unchanged += 1
            else:
                summary.updated += 1
    summary.retagged += retagged
    summary.retagged_papers.update(papers)
    for tally, counts in ((summary.tags_added, added), (summary.tags_removed, removed)):
        for node_id, n in counts.items():
            tally[node_id] = tally.get(node_id, 0) + n
