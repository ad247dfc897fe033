"""The load pipeline: records -> de-duplicate -> merge with the stored paper -> extract -> embed -> upsert;
and the re-extraction of the stored papers with the current taxonomy (run_reextract)."""

from __future__ import annotations

import json
import logging
import sys
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from difflib import SequenceMatcher
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from ingest.normalize import (
    SOURCE_PRIORITY,
    dedupe_groups,
    merge_two,
    slugify,
    split_venue_tag,
    title_id,
    title_key,
    warn_if_dois_differ,
    warn_if_titles_differ,
)
from ingest.records import Record
from ingest.store_lock import HeldLock, ingest_lock, warn_unrecorded
from ingest.titles import same_paper_title
from kg.entities import (
    EvaluationUse,
    Finding,
    ListRow,
    Paper,
    PaperBundle,
    PaperDetail,
    TechniqueUse,
)
from kg.safe_output import is_terminal, terminal_safe
from kg.schema import EDGE_SOURCE_EXTRACTED, EDGE_SOURCE_LIST, Label
from kg.store import GraphStore
from kg.taxonomy import Taxonomy

if TYPE_CHECKING:
    from ingest.embed import TextEmbedder
    from ingest.extract import PaperExtractor

# ingest.embed's embedding_text and text_hash, passed down: importing that module loads numpy.
TextOf = Callable[[str, str], str]
HashOf = Callable[[str], str]

log = logging.getLogger(__name__)

BATCH_SIZE = 256
# Paper properties a record carries (everything else is set by the store or the embedder).
_META_FIELDS = (
    "title", "abstract", "arxiv_id", "doi", "authors", "published", "updated", "year", "venue",
    "primary_category", "categories", "url", "pdf_url", "item_type",
)


@dataclass
class IngestSummary:
    """What one ingest run did."""

    run_id: str
    source: str
    status: str = "succeeded"
    records: int = 0  # records given
    papers: int = 0  # distinct papers after de-duplication
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    # Of the unchanged papers: those whose list rows only moved (their line numbers changed, nothing
    # else): written, so the rows show their new lines, but counted unchanged (_lines_moved_only).
    moved: int = 0
    rejected: int = 0
    rejected_details: list[dict[str, Any]] = field(default_factory=list)
    unknown_labels: list[dict[str, Any]] = field(default_factory=list)
    embedded: int = 0  # vectors actually computed (the rest came from the cache)
    rekeyed: dict[str, str] = field(default_factory=dict)  # old slug id -> arXiv id
    statuses: dict[str, str] = field(default_factory=dict)  # paper id -> new|updated|unchanged
    # The papers this run wrote new or updated, in the order written: {paper_id, title, lines} (the list
    # lines of its rows in this run, [] for other sources), with previous_title when the title changed.
    new_papers: list[dict[str, Any]] = field(default_factory=list)
    updated_papers: list[dict[str, Any]] = field(default_factory=list)
    # Lines of the list this run could not read, when --prune did not run: it holds back while there
    # are any (prune_refused says so, also when it refused for another reason).
    prune_held_back: list[int] = field(default_factory=list)
    # A run of a whole list (run_ingest's whole_list): the stored list rows it no longer has
    # (stale_list_rows' entries), how many of them --prune removed, and why --prune was refused; the
    # papers of those rows with no other source (list_only_papers' entries), which --prune removes
    # with their rows, and how many it removed.
    whole_list: bool = False
    stale_list_rows: list[dict[str, Any]] = field(default_factory=list)
    list_rows_pruned: int = 0
    prune_refused: str | None = None
    list_only_papers: list[dict[str, Any]] = field(default_factory=list)
    papers_pruned: int = 0
    # Papers whose list rows this run wrote from the list's own rows, and those rows as (paper id,
    # section id), a row's identity (one row per paper and section): they are current, never stale.
    listed: set[str] = field(default_factory=set, repr=False)
    listed_rows: set[tuple[str, str]] = field(default_factory=set, repr=False)
    # Of the listed papers that kept stored rows of sections the list no longer has them in
    # (_kept_list_rows): the rows and list edges of the list's own rows, which a prune writes.
    current_list_edges: dict[str, _ListEdges] = field(default_factory=dict, repr=False)

    def counts(self) -> dict[str, Any]:
        """The counts stored on the IngestRun."""
        counts: dict[str, Any] = {
            "records": self.records, "papers": self.papers, "new": self.new,
            "updated": self.updated, "unchanged": self.unchanged, "moved": self.moved,
            "rejected": self.rejected, "unknown_labels": len(self.unknown_labels), "embedded": self.embedded,
        }
        if self.whole_list:
            counts["stale_list_rows"] = len(self.stale_list_rows)
            counts["list_rows_pruned"] = self.list_rows_pruned
            counts["list_only_papers"] = len(self.list_only_papers)
            counts["papers_pruned"] = self.papers_pruned
        return counts

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        out = {
            "run_id": self.run_id, "source": self.source, "status": self.status, **self.counts(),
            "rejected_details": self.rejected_details, "unknown_labels": self.unknown_labels,
            "rekeyed": self.rekeyed, "new_papers": self.new_papers, "updated_papers": self.updated_papers,
        }
        if self.whole_list:
            # The counts of counts() are replaced by the rows and papers themselves.
            out["stale_list_rows"] = self.stale_list_rows
            out["list_only_papers"] = self.list_only_papers
            out["prune_refused"] = self.prune_refused
            out["prune_held_back"] = self.prune_held_back
        return out

    def text(self) -> str:
        """Human summary for the CLI."""
        lines = [
            f"{self.source}: {counted(self.papers, 'paper')} from {counted(self.records, 'record')} -> "
            f"{self.new} new, {self.updated} updated, {self.unchanged} unchanged{self._moved_text()}, "
            f"{self.rejected} rejected; {self.embedded} embedded (rest cached); run {self.run_id}"
        ]
        for what, papers in (("new", self.new_papers), ("updated", self.updated_papers)):
            if papers:
                lines += _head_and_items(f"{what}:", [_written_paper_text(p) for p in papers],
                                         shown=_WRITTEN_SHOWN)
        for item in self.rejected_details:
            lines.append(f"  rejected: {item.get('title') or item.get('source_id')}: {item['reason']}")
        if self.unknown_labels:
            lines.append(f"  unknown labels ({len(self.unknown_labels)}), kept on their rows:")
            for entry in self.unknown_labels:
                where = ", ".join(str(n) for n in entry.get("lines", []) if n is not None)
                suffix = f" (line {where})" if where else ""
                lines.append(f"    {entry['column']}: {entry['label']!r}{suffix}{did_you_mean(entry)}")
        lines += self._stale_lines()
        return "\n".join(lines)

    def _moved_text(self) -> str:
        """" (N only moved in the list)" after the unchanged count, when rows only changed lines."""
        return f" ({self.moved} only moved in the list)" if self.moved else ""

    def _stale_lines(self) -> list[str]:
        """The text lines about the stored list rows the list no longer has."""
        stale = self.stale_list_rows
        if not stale:
            return []
        n = len(stale)
        if self.list_rows_pruned:
            stay = "the papers stay" if not self.papers_pruned else "the papers with another source stay"
            head = (f"{counted(self.list_rows_pruned, 'list row')} no longer in the list "
                    f"{'was' if self.list_rows_pruned == 1 else 'were'} removed (--prune; {stay}):")
        else:
            why = ("not removed: --prune was held back" if self.prune_held_back
                   else "not removed: --prune was refused" if self.prune_refused
                   else "run again with --prune to remove them")
            head = f"{counted(n, 'list row')} {'is' if n == 1 else 'are'} no longer in the list ({why}):"
        return _head_and_items(head, [_stale_row_text(row) for row in stale]) + self._list_only_lines()

    def _list_only_lines(self) -> list[str]:
        """The text lines about the papers of stale rows that have no other source."""
        papers = self.list_only_papers
        if not papers:
            return []
        n = len(papers)
        if self.papers_pruned:
            one = self.papers_pruned == 1
            head = (f"{counted(self.papers_pruned, 'paper')} of those rows had no other source and "
                    f"{'was' if one else 'were'} removed with {'its' if one else 'their'} rows (--prune):")
        else:
            why = ("not removed: --prune was held back" if self.prune_held_back
                   else "not removed: --prune was refused" if self.prune_refused
                   else f"--prune removes {'it' if n == 1 else 'them'} too")
            head = (f"{counted(n, 'paper')} of those rows {'has' if n == 1 else 'have'} no other source "
                    f"({why}):")
        return _head_and_items(head, [f"{terminal_safe(paper['title'])} [{terminal_safe(paper['paper_id'])}]"
                                      for paper in papers])


def _stale_row_text(row: dict[str, Any]) -> str:
    """A stale list row as the text summary names it: title [paper id], section, its former line."""
    where = f", was line {row['line']}" if row.get("line") is not None else ""
    return (f"{terminal_safe(row['title'])} [{terminal_safe(row['paper_id'])}], "
            f"{terminal_safe(row['section'])}{where}")


def _written_paper_text(paper: dict[str, Any]) -> str:
    """A new or updated paper as the text summary names it: title [id], its list lines, its old title."""
    lines = paper.get("lines") or []
    where = f", {'line' if len(lines) == 1 else 'lines'} {', '.join(str(n) for n in lines)}" if lines else ""
    before = paper.get("previous_title")
    was = f" (was '{terminal_safe(before)}')" if before else ""
    return f"{terminal_safe(paper['title'])} [{terminal_safe(paper['paper_id'])}]{where}{was}"


def _head_and_items(head: str, items: Sequence[str], shown: int | None = None) -> list[str]:
    """A summary head line and the first `shown` (_STALE_SHOWN) items under it, then how many more there
    are."""
    shown = _STALE_SHOWN if shown is None else shown
    lines = [f"  {head}", *(f"    {item}" for item in items[:shown])]
    if len(items) > shown:
        lines.append(f"    ... and {len(items) - shown} more (--json lists them all)")
    return lines


# The stale list rows a text summary names one by one (--json gives them all).
_STALE_SHOWN = 20
# The new and the updated papers a text summary names (a first ingest writes hundreds).
_WRITTEN_SHOWN = 10


def did_you_mean(unknown_label: dict[str, Any]) -> str:
    """"; did you mean 'X'?" for an unknown-label entry with a suggestion, else ""."""
    suggestion = unknown_label.get("suggestion")
    return f"; did you mean {suggestion!r}?" if suggestion else ""


def counted(n: int, noun: str) -> str:
    """The count with its noun, singular only for 1 (for nouns that take a plain -s)."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _shortened(text: str | None, limit: int = 200) -> str | None:
    """At most `limit` characters of a rejected record's title or id, lone surrogates escaped: reports
    print them (a 1 MB title would flood the terminal, a surrogate would make printing fail)."""
    if not isinstance(text, str):
        return text
    short = text if len(text) <= limit else text[:limit] + "..."
    return short.encode("utf-8", "backslashreplace").decode("utf-8")


def _show_progress(progress: bool) -> bool:
    return bool(progress) and is_terminal(sys.stderr)


def unknown_labels_of(
    records: Iterable[Record], known_ids: Collection[str] | None = None, taxonomy: Taxonomy | None = None,
) -> list[dict[str, Any]]:
    """Unknown Techniques/Evaluation labels kept on the records' list rows, with their lines.

    With `known_ids` (the graph's taxonomy ids), a row's technique/evaluation ids outside them are
    unknown labels too: a records file may name ids the taxonomy does not have, and those never
    become edges. The line is the one the row was read from (a records file's), else its list line.
    With `taxonomy`, each carries the known label it most likely misspells (`suggestion`, or None): for
    a list cell a label name, for a records file's id the taxonomy id (nearest_id).
    """
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for record in records:
        for row in record.list_rows:
            line = row.source_line if row.source_line is not None else row.line
            for column, labels, are_ids in (("techniques", row.unknown_techniques, False),
                                            ("evaluation", row.unknown_evaluations, False),
                                            ("techniques", _unknown_ids(row.technique_ids, known_ids), True),
                                            ("evaluation", _unknown_ids(row.evaluation_ids, known_ids),
                                             True)):
                for label in labels:
                    entry = found.setdefault((column, label.casefold()), {
                        "label": label, "column": column, "lines": [],
                        "suggestion": _suggestion(taxonomy, label, column, are_ids),
                    })
                    if line not in entry["lines"]:
                        entry["lines"].append(line)
    return sorted(found.values(), key=lambda e: (e["column"], e["label"].casefold()))


def _suggestion(taxonomy: Taxonomy | None, label: str, column: str, is_id: bool) -> str | None:
    """The hint for an unknown label: an id for a records file's id ("Activaton patching" ->
    activation_patching), a label name for a list cell."""
    if taxonomy is None:
        return None
    return taxonomy.nearest_id(label, column) if is_id else taxonomy.nearest_list_label(label, column)


def _unknown_ids(ids: Sequence[str], known_ids: Collection[str] | None) -> list[str]:
    return [] if known_ids is None else [i for i in ids if i not in known_ids]


def check_batch_size(batch_size: int) -> None:
    """Raise ValueError unless batch_size is a whole number >= 1 (0 or less would write nothing)."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch size must be an integer >= 1, not {batch_size!r}")


def _priority(sources: Sequence[str]) -> int:
    return max((SOURCE_PRIORITY.get(s, 0) for s in sources), default=0)


def _merge_with_stored(record: Record, stored: PaperDetail | None, paper_id: str) -> tuple[Paper, bool]:
    """The Paper to write, and whether the record's list rows replace the stored ones."""
    incoming = Paper(
        id=paper_id, title=record.title, abstract=record.abstract or "", arxiv_id=record.arxiv_id,
        doi=record.doi, authors=list(record.authors), published=record.published,
        updated=record.updated, arxiv_version=record.version, year=record.year, venue=record.venue,
        primary_category=record.primary_category, categories=list(record.categories),
        url=record.url, pdf_url=record.pdf_url, sources=sorted(set(record.sources)),
        item_type=record.item_type,
    )
    if stored is None:
        return incoming, bool(record.list_rows)
    old = stored.paper
    # The richer source keeps its metadata: the list never overwrites arXiv or records-file data,
    # and an older arXiv version never overwrites a newer one's.
    older = (record.version is not None and old.arxiv_version is not None
             and record.version < old.arxiv_version)
    incoming_wins = not older and _priority(record.sources) >= _priority(old.sources or ["list"])
    high, low = (incoming, old) if incoming_wins else (old, incoming)
    merged = replace(incoming)
    for name in _META_FIELDS:
        value = getattr(high, name)
        if value in (None, "", []):
            value = getattr(low, name)
        setattr(merged, name, value)
    if merged.venue != record.venue and _venue_from_list(record, stored):
        # The list gave the stored venue: the list's venue now (another tag, or none when the tag was
        # taken off) replaces it. An empty value falls back to the stored one only when another source
        # may have given it (arXiv's journal_ref, a records file's venue).
        merged.venue = record.venue
    merged.id = paper_id
    merged.arxiv_id = record.arxiv_id or old.arxiv_id
    # The version of the metadata that won (None: unknown, so the weekly run compares dates).
    merged.arxiv_version = high.arxiv_version
    # The list says which table a row is in; a records file or arXiv record that does not say "tool"
    # cannot tell "not given" from "paper", so a tool stays a tool for them, as within one run.
    if record.list_rows and EDGE_SOURCE_LIST in record.sources:
        merged.item_type = record.item_type
    elif "tool" in (old.item_type, record.item_type):
        merged.item_type = "tool"
    merged.sources = sorted(set(old.sources) | set(record.sources))
    # A list ingest writes the paper's list rows (a list paper keeps its rows of the sections the list
    # no longer has it in until --prune, _kept_list_rows); other sources fill them only when none are stored.
    replace_rows = bool(record.list_rows) and ("list" in record.sources or not stored.list_rows)
    return merged, replace_rows


def _venue_from_list(record: Record, stored: PaperDetail) -> bool:
    """Whether the stored paper's venue is the one a list row's venue tag gave it, and this run's list
    rows of the paper are the ones to take it from: the record is the list's ("list" among its sources,
    with rows), the stored venue is the tag of one of the stored rows' titles ("X (NeurIPS'24)"), and
    no records file, whose venue the list never overwrites, is among the stored sources. Stored papers
    do not record where their venue came from; an arXiv journal_ref or a records file's venue spelled
    like a list tag is not told apart, so a records file keeps its venue.

    A tag taken off (the record has no venue) clears the venue of a paper arXiv gave metadata only in a
    run with its arXiv record: that record's journal_ref is then the record's venue, so none means the
    venue was the list's, even when a run without arXiv stored the row's title untagged since. Without
    it (--no-arxiv, a failed look-up) the venue may be arXiv's journal_ref, and stays."""
    venue = stored.paper.venue
    if not venue or not record.list_rows or EDGE_SOURCE_LIST not in record.sources:
        return False
    if "records" in stored.paper.sources:
        return False
    if not record.venue and "arxiv" in stored.paper.sources:
        old_version = stored.paper.arxiv_version
        return "arxiv" in record.sources and not (record.version is not None and old_version is not None
                                                  and record.version < old_version)
    return any(row.title_in_list and split_venue_tag(row.title_in_list)[1] == venue
               for row in stored.list_rows)


_ListEdges = tuple[list[ListRow], list[TechniqueUse], list[EvaluationUse]]
# A paper to write: its stored detail (None: new), the merged Paper, the stored id it was matched by,
# and its list rows with the list's technique and evaluation edges.
_Merged = tuple[PaperDetail | None, Paper, str | None, _ListEdges]


def _tldr_stand_in(rows: Sequence[ListRow]) -> str:
    """The list's TL;DRs of a paper, for embedding a paper that has no abstract.

    A title alone embeds as noise (cosine about 0.15 with every paper, bench/related_eval.py), so
    the logit-lens post sank in every related list and semantic search; the TL;DRs describe it.
    A paper with an abstract is embedded from its own words only (extraction reads the TL;DRs of
    every paper, see _extraction_tldrs).
    """
    return " ".join(dict.fromkeys(r.tldr.strip() for r in rows if r.tldr and r.tldr.strip()))


def _extraction_tldrs(rows: Sequence[ListRow]) -> list[str]:
    """The TL;DRs extraction reads for a paper's techniques and evaluations: distinct, sorted.

    Sorted so the input, its hash and the evidence chosen do not depend on the order rows come in
    (a list ingest reads them in list order, other sources keep the stored rows).
    """
    return sorted({r.tldr.strip() for r in rows if r.tldr and r.tldr.strip()})


def _list_edges(record: Record, stored: PaperDetail | None, use_incoming: bool,
                node_labels: dict[str, str]) -> _ListEdges:
    if use_incoming or stored is None:
        rows = [r.to_list_row() for r in record.list_rows] if use_incoming else []
        techniques: dict[str, TechniqueUse] = {}
        evaluations: dict[str, EvaluationUse] = {}
        for row in record.list_rows if use_incoming else []:
            # The list puts labels in the "wrong" column at times ("Knockout" as an evaluation,
            # "Automated Explanation Score" as a technique): the node's graph label decides the edge.
            # Topic ids ("Extrinsic (Knowledge Editing)") stay in the row's verbatim cell text only.
            for tid, cell in [(t, row.techniques) for t in row.technique_ids] + [
                    (e, row.evaluation) for e in row.evaluation_ids]:
                if node_labels.get(tid) == Label.TECHNIQUE:
                    techniques.setdefault(tid, TechniqueUse(tid, EDGE_SOURCE_LIST, evidence=cell))
                elif node_labels.get(tid) == Label.EVALUATION:
                    evaluations.setdefault(tid, EvaluationUse(tid, EDGE_SOURCE_LIST, evidence=cell))
        return rows, list(techniques.values()), list(evaluations.values())
    return _stored_list_edges(stored)


def _kept_list_rows(rows: Sequence[ListRow], stored: PaperDetail | None) -> list[ListRow]:
    """The stored list rows a list paper keeps beside the list's `rows`: those of the sections the list
    no longer has it in (a row is one paper in one section; its line may change, the row stays the
    same). Only a paper with source "list" has rows a list wrote (stale_list_rows); a records file's
    rows the list's replace, as before."""
    if stored is None or EDGE_SOURCE_LIST not in stored.paper.sources:
        return []
    current = {r.section_id for r in rows}
    return [r for r in stored.list_rows if r.section_id not in current]


def _with_kept_rows(edges: _ListEdges, kept: Sequence[ListRow], node_labels: dict[str, str],
                    taxonomy: Taxonomy) -> _ListEdges:
    """The list's rows and edges of a paper, with the `kept` stored rows after them and the technique
    and evaluation edges of their cells (mapped as the list's cells are: the row keeps what it gave the
    paper until it is pruned)."""
    from ingest.awesome_list import map_labels

    rows, techs, evals = edges
    techniques = {t.technique_id: t for t in techs}
    evaluations = {e.evaluation_id: e for e in evals}
    for row in kept:
        cells = [(node_id, cell) for column, cell in (("techniques", row.techniques_text),
                                                      ("evaluation", row.evaluation_text))
                 for node_id in map_labels(cell, column, taxonomy)[0]]
        for node_id, cell in cells:  # as _list_edges: the node's graph label decides the edge
            if node_labels.get(node_id) == Label.TECHNIQUE:
                techniques.setdefault(node_id, TechniqueUse(node_id, EDGE_SOURCE_LIST, evidence=cell))
            elif node_labels.get(node_id) == Label.EVALUATION:
                evaluations.setdefault(node_id, EvaluationUse(node_id, EDGE_SOURCE_LIST, evidence=cell))
    kept_rows = [replace(r, topic_ids=taxonomy.section_topic_ids(r.section_path)) for r in kept]
    return [*rows, *kept_rows], list(techniques.values()), list(evaluations.values())


def _stored_list_edges(stored: PaperDetail) -> _ListEdges:
    """A stored paper's list rows and list-sourced technique and evaluation edges, as a bundle takes them
    (the label reads fill in dropped)."""
    rows = list(stored.list_rows)
    techs = [replace(t, label=None) for t in stored.techniques if t.source == EDGE_SOURCE_LIST]
    evals = [replace(e, label=None) for e in stored.evaluations if e.source == EDGE_SOURCE_LIST]
    return rows, techs, evals


@dataclass
class _StoredExtraction:
    """A stored paper's extracted edges, in the shape of ingest.extract.Extraction (the parts used here)."""

    techniques: list[TechniqueUse]
    evaluations: list[EvaluationUse]
    findings: list[Finding]
    models: list[str]


def _stored_extraction(stored: PaperDetail | None, paper: Paper) -> _StoredExtraction | None:
    """The stored extracted edges when extracting `paper` again would give the same, else None.

    Same extraction_hash means the same extractor signature, title and abstract (hashed joined as
    they are embedded) and list TL;DRs (_extraction_hash). The id must match too (finding ids start
    with the paper id: a slug paper re-keyed to its arXiv id is extracted anew), and so must the
    title (the joined text is not one-to-one: "A. B" + "C" and "A" + "B. C" join alike, yet
    extraction treats the title apart).
    """
    if (stored is None or paper.extraction_hash is None
            or stored.paper.extraction_hash != paper.extraction_hash
            or stored.paper.id != paper.id or stored.paper.title.strip() != paper.title.strip()):
        return None
    return _extraction_of(stored)


def _extraction_of(stored: PaperDetail) -> _StoredExtraction:
    """A stored paper's extracted edges, whatever extracted them."""
    # Reads fill in read-only fields (label, name): drop them so the bundle equals a fresh extraction.
    return _StoredExtraction(
        techniques=[replace(t, label=None) for t in stored.techniques if t.source == EDGE_SOURCE_EXTRACTED],
        evaluations=[replace(e, label=None) for e in stored.evaluations if e.source == EDGE_SOURCE_EXTRACTED],
        findings=[replace(f, about=[replace(a, name=None) for a in f.about]) for f in stored.findings],
        models=[m.id for m in stored.models],
    )


def resolve_stored_ids(
    store: GraphStore, records: Sequence[Record], *, warn: bool = False,
) -> list[str | None]:
    """The stored paper id each record matches (arXiv id, then DOI, then title key), or None.

    `warn`: log a record matched by its DOI alone to a stored paper of a clearly different title, or by
    its title alone to one of another DOI, as dedupe_records does for records of one run (the merge
    keeps one title, or one DOI and abstract). Only the run that writes the records warns: the weekly
    run's look-up of which candidates are known does not."""
    found = store.find_paper_ids(
        arxiv_ids=sorted({r.arxiv_id for r in records if r.arxiv_id}),
        dois=sorted({r.doi for r in records if r.doi}),
        title_keys=sorted({r.title_key for r in records if r.title_key}),
    )
    by_title = {r.title_key: found.get(r.title_key) for r in records if r.title_key}
    wanted = {v for v in by_title.values() if v}
    if warn:  # the stored papers matched by a DOI too, for their titles
        wanted |= {found[r.doi] for r in records if r.doi and r.doi in found}
    stored = {p.id: p for p in store.get_papers(sorted(wanted))} if wanted else {}
    out: list[str | None] = []
    for record in records:
        hit = None
        if record.arxiv_id and record.arxiv_id in found:
            hit = found[record.arxiv_id]
        elif record.doi and record.doi in found:
            hit = found[record.doi]
            if warn and hit in stored:
                warn_if_titles_differ(record, stored[hit], stored_id=hit)
        elif record.title_key and found.get(record.title_key):
            candidate = found[record.title_key]
            paper = stored.get(candidate)
            other = paper.arxiv_id if paper else None
            if not (record.arxiv_id and other and other != record.arxiv_id):
                hit = candidate
                if warn and paper is not None:
                    warn_if_dois_differ(record, paper, stored_id=hit)
        out.append(hit)
    return out


def list_link_key(url: str | None) -> str | None:
    """A list row's link as rows are matched by it: no scheme, fragment, "www." or trailing slash, the
    host casefolded, the query kept (openreview.net/forum?id=...); None for no link or a site's front
    page ("https://www.lesswrong.com/"), which names no paper."""
    if not url or not url.strip():
        return None
    parts = urlsplit(url.strip())
    host = parts.netloc.casefold().removeprefix("www.")
    path = parts.path.rstrip("/")
    if not host or (not path and not parts.query):
        return None
    return f"{host}{path}" + (f"?{parts.query}" if parts.query else "")


def match_by_link(store: GraphStore, records: Sequence[Record],
                  stored_ids: Sequence[str | None]) -> list[str | None]:
    """`stored_ids` (resolve_stored_ids') with list records no key matched given the stored paper their
    row's link identifies: a row whose title was edited (or misspelt, so no arXiv match) is still the
    stored row of its link, not a new paper beside the old one.

    The link is taken as enough only when it is specific: the stored paper has a list row of the same
    section with the same link (list_link_key), no other record of the run matches that paper by a key
    (else the row is a new one that shares a link, say a blog's index page, with a listed paper), no
    other record of the run has a row with that link, and no other stored paper the run leaves unmatched
    has a row with it (one link, two papers: it names neither); nor may the record's arXiv id or DOI
    differ from the paper's, and the titles must be alike (_link_titles_alike: a row replaced by
    another paper under the same link, a blog's index page say, is that other paper). Else the record
    stays unmatched (a new paper; the old row is reported stale), as before."""
    out = list(stored_ids)
    carriers: dict[str, set[int]] = {}
    for i, record in enumerate(records):
        for row in record.list_rows:
            if (link := list_link_key(row.url_in_list)) is not None:
                carriers.setdefault(link, set()).add(i)
    wanted: dict[int, set[tuple[str, str]]] = {}
    for i, (record, stored_id) in enumerate(zip(records, stored_ids, strict=True)):
        if stored_id is None and EDGE_SOURCE_LIST in record.sources:
            rows = {(row.section_id, link) for row in record.list_rows
                    if (link := list_link_key(row.url_in_list)) is not None and carriers[link] == {i}}
            if rows:
                wanted[i] = rows
    if not wanted:
        return out
    claimed = {s for s in stored_ids if s} | {r.arxiv_id for r in records if r.arxiv_id}
    # The stored list papers no record of the run matched: those whose rows would be reported stale.
    orphans = sorted({str(row["paper_id"]) for row in store.list_rows_from(EDGE_SOURCE_LIST)} - claimed)
    owners: dict[str, set[str]] = {}  # link -> the orphans with a row of it (any section)
    by_row: dict[tuple[str, str], str] = {}
    row_titles: dict[tuple[str, str], str | None] = {}
    papers: dict[str, Paper] = {}
    for paper_id in orphans:
        detail = store.get_paper(paper_id)
        if detail is None:
            continue
        papers[paper_id] = detail.paper
        for stored_row in detail.list_rows:
            if (link := list_link_key(stored_row.url_in_list)) is not None:
                owners.setdefault(link, set()).add(paper_id)
                by_row[(stored_row.section_id, link)] = paper_id
                row_titles[(stored_row.section_id, link)] = stored_row.title_in_list
    found: dict[int, str] = {}
    for i, rows in wanted.items():
        hits = {by_row[key] for key in rows if key in by_row and len(owners[key[1]]) == 1}
        if len(hits) != 1:
            continue
        paper = papers[hit := next(iter(hits))]
        record = records[i]
        if ((record.arxiv_id and paper.arxiv_id and record.arxiv_id != paper.arxiv_id)
                or (record.doi and paper.doi and record.doi.casefold() != paper.doi.casefold())):
            continue
        keys = {key for key in rows if by_row.get(key) == hit}
        # The stored paper's title may be arXiv's, not the list's: either one alike is enough.
        old_titles = [paper.title, *(row_titles[key] for key in keys)]
        new_titles = [record.title, *(row.title_in_list for row in record.list_rows
                                      if (row.section_id, list_link_key(row.url_in_list)) in keys)]
        if not any(_link_titles_alike(new, old) for new in new_titles for old in old_titles if new and old):
            log.debug("list row %r not matched to stored paper %s by its link: the titles differ",
                      _shortened(record.title, 100), hit)
            continue
        found[i] = hit
    taken = Counter(found.values())
    for i, paper_id in found.items():
        if taken[paper_id] == 1:  # one paper's two links carried by two records: neither is it
            out[i] = paper_id
            log.debug("list row %r matched to stored paper %s by its link", _shortened(records[i].title, 100),
                     paper_id)
    return out


# A word a row's edit may replace by another spelling of it ("interpretable" -> "interpretible"), and
# how many words an edit may add or remove ("testing interpretability" -> "testing mechanistic ...").
_SPELLING_MATCH = 0.8
_WORDS_EDITED = 2


def _link_titles_alike(title: str, other: str) -> bool:
    """Whether a list row's title and a stored title of the row's link are one paper's, as a maintainer
    edits a row: the titles name the same paper by same_paper_title (a typo, a subtitle or short name
    added or dropped, the same content words), or one is the other with at most two words added or
    removed (fewer than the words both have) and any other word changed only in spelling (not a number).

    Not a similarity ratio of the whole titles: "Circuits Updates - July 2023" and "... August 2023"
    (one index page's link, two papers) are 0.85 alike, more than a ratio must allow to keep "...
    testing interpretability hypotheses" -> "... testing mechanistic interpretability hypotheses" one
    paper; a word replaced by another word is another paper."""
    if same_paper_title(title, other):
        return True
    words, other_words = title_key(title).split(), title_key(other).split()
    edited = 0
    matcher = SequenceMatcher(None, words, other_words, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "replace" and i2 - i1 == j2 - j1:
            if not all(_respelt(a, b) for a, b in zip(words[i1:i2], other_words[j1:j2], strict=True)):
                return False
        elif op != "equal":
            edited += (i2 - i1) + (j2 - j1)
    unchanged = sum(block.size for block in matcher.get_matching_blocks())
    return edited <= _WORDS_EDITED and unchanged > edited


def _respelt(word: str, other: str) -> bool:
    """Whether one title word is another spelling of the other: alike letters, no digits (a year or
    version changed is another paper)."""
    if any(ch.isdigit() for ch in word + other):
        return False
    return SequenceMatcher(None, word, other).ratio() >= _SPELLING_MATCH


def _holds_by_key(record: Record, stored_id: str | None, target: str) -> bool:
    """Whether a record is written under `target` by a key: it is its arXiv id, or the id of the stored
    paper its arXiv id, DOI or title key matched (resolve_stored_ids)."""
    return record.arxiv_id == target or stored_id == target


def _id_clash(target: str, earlier: Record, earlier_stored: str | None, later: Record,
              later_stored: str | None) -> str | None:
    """None when two records (of different papers by dedupe_records' rule) written under one target id
    are one paper, else which of them is turned away: "later", or "earlier" when only the later one
    holds the id by a key (_holds_by_key).

    One paper: both hold the id by a key (an arXiv record and a list row matched to the stored paper
    with that arXiv id), or one by a key and the other by its title's id, unless the first was given
    that id by a records file (a paper stored under its title's id whose title a richer source has
    since changed: the title no longer matches, its id does). An id a records file gave, or two titles'
    ids alike, say nothing of the paper: merging on them wrote one paper over another. (A record that
    only the id of a stored paper of another title leads to was already given its hashed title id by
    _target_ids when that paper shows it is another.)
    """
    keyed = (_holds_by_key(earlier, earlier_stored, target), _holds_by_key(later, later_stored, target))
    if all(keyed):
        return None
    if not any(keyed):
        return "later"
    holder, other = (earlier, later) if keyed[0] else (later, earlier)
    if other.explicit_id is None and holder.explicit_id != target:  # `other` has its title's id
        return None
    return "later" if keyed[0] else "earlier"


def _clash_reason(target: str, rejected: Record, kept: Record) -> str:
    """Why `rejected` is not merged into `kept`, the other paper written under `target`, naming both."""
    given = rejected.explicit_id is not None  # else the id is its title's (an arXiv id holds by a key)
    what = f"id {target!r}" if given else f"the id from its title, {target!r},"
    held = "is the arXiv id of" if kept.arxiv_id == target else "is already the id of"
    fix = "give one of them another id" if given else "give one of them an explicit id"
    return (f"{what} {held} another paper in this run ('{_shortened(kept.title, 100)}'); "
            f"not merged into it ({fix})")


def _merged_away_ids(records: Sequence[Record], kept: dict[str, list[int]]) -> dict[str, list[str]]:
    """Per target id, the ids a records file gave to the records written under it (the indices in
    `kept`) other than that id: they lead to the paper (PaperBundle.aliases). An id that is also a
    target of the run is that paper's, and one given to records of two papers names neither."""
    claims: dict[str, set[str]] = {}
    for target, indices in kept.items():
        for i in indices:
            given = records[i].explicit_id
            if given and given != target:
                claims.setdefault(given, set()).add(target)
    out: dict[str, list[str]] = {}
    for given, targets in claims.items():
        if given not in kept and len(targets) == 1:
            out.setdefault(next(iter(targets)), []).append(given)
    return out


def _target_id(record: Record, stored_id: str | None) -> str:
    """The id to write: the arXiv id when known, else the stored id, else the record's own id."""
    if record.arxiv_id:
        return record.arxiv_id
    return stored_id or record.paper_id


def _target_ids(
    store: GraphStore, records: Sequence[Record], stored_ids: Sequence[str | None],
) -> tuple[list[str], list[str | None]]:
    """Each record's id to write (_target_id) and stored id, for records whose id is only their title's
    plain slug (no arXiv id, no records-file `id`, no stored paper matched by a key) that land on a stored
    paper of another title: by _title_id_match, that paper is the record's (its stored id then, as if
    matched by a key), another paper's (the record gets its hashed title id, title_id(hashed=True), and
    is stored as its own paper), or unknown: the record keeps the id when another record of the run is
    written under it (the run's rule, _id_clash, decides), else it gets its hashed title id.

    The slug alone says nothing of the paper: it is also a records file's `id` or, in a store written
    before hashed title ids, another title's slug cut at 80 characters, and merging on it wrote one paper
    over another. Deterministic: the next run finds a paper stored under a hashed id by its title, and a
    record the run's rule turned away is turned away again. The stored papers are read in one batch; the
    list rows only of those whose title and id leave it open.
    """
    targets = [_target_id(r, s) for r, s in zip(records, stored_ids, strict=True)]
    stored_ids = list(stored_ids)
    suspects = [i for i, (record, stored_id) in enumerate(zip(records, stored_ids, strict=True))
                if not record.arxiv_id and stored_id is None and record.explicit_id is None
                # an id already hashed spells the whole title key: it names this title's paper
                and targets[i] != title_id(record.title, hashed=True)]
    if not suspects:
        return targets, stored_ids
    stored = {paper.id: paper for paper in store.get_papers(sorted({targets[i] for i in suspects}))}
    shared = Counter(targets)
    details: dict[str, PaperDetail | None] = {}
    for i in suspects:
        paper = stored.get(targets[i])
        if paper is None:
            continue
        match = _title_id_match(records[i], paper, details, store)
        if match == "same":
            stored_ids[i] = paper.id
        elif match == "other" or shared[paper.id] == 1:
            targets[i] = title_id(records[i].title, hashed=True)
    return targets, stored_ids


def _title_id_match(record: Record, paper: Paper, details: dict[str, PaperDetail | None],
                    store: GraphStore) -> Literal["same", "other", "unknown"]:
    """Whether the stored `paper` under the record's title id is the record's paper: "same" when it has
    the record's title or a list row titled so (a paper stored under that title's id from the list,
    whose title a richer source has since changed), "other" when its id is its own title's slug (cut at
    80 characters, as ids were before hashed title ids) or its list rows have titles and none is the
    record's, else "unknown". Reads the paper's list rows (into `details`) only when needed."""
    if title_key(paper.title) == record.title_key:
        return "same"
    if slugify(paper.title) == paper.id:
        return "other"
    if paper.id not in details:
        details[paper.id] = store.get_paper(paper.id)
    detail = details[paper.id]
    titles = {title_key(row.title_in_list) for row in (detail.list_rows if detail else [])
              if row.title_in_list} - {""}
    if record.title_key in titles:
        return "same"
    return "other" if titles else "unknown"


def _configured_taxonomy() -> Taxonomy:
    from kg.config import load_config
    from kg.taxonomy import load_taxonomy

    return load_taxonomy(load_config().taxonomy)


def _load_extractor(taxonomy: Taxonomy) -> PaperExtractor:
    from ingest.extract import Extractor

    return Extractor(taxonomy)


def _taxonomy_of(extractor: PaperExtractor | None, taxonomy: Taxonomy | None) -> Taxonomy:
    """The taxonomy a run tags by: the one given, else the given extractor's, else PAPERKG_TAXONOMY's."""
    return taxonomy or getattr(extractor, "taxonomy", None) or _configured_taxonomy()


def _extraction_tools(extractor: PaperExtractor | None,
                      taxonomy: Taxonomy | None) -> tuple[PaperExtractor, Taxonomy]:
    """The extractor and taxonomy a run tags with: the ones given, else the configured ones."""
    taxonomy = _taxonomy_of(extractor, taxonomy)
    return extractor or _load_extractor(taxonomy), taxonomy


class _LazyEmbedder:
    """The configured embedder, loaded only when a text is missing from the cache.

    Re-ingesting unchanged papers then never pays the model's start-up (torch import, weights).
    """

    def __init__(self, model_path: str | None, model_name: str, dim: int) -> None:
        self._model_path = model_path
        self.model_name = model_name
        self.dim = dim
        self._real: Any = None

    def _get(self) -> Any:
        if self._real is None:
            from ingest import embed as embed_module

            self._real = embed_module.get_embedder(self._model_path)
        return self._real

    def encode(self, texts: Sequence[str], batch_size: int = 64, progress: bool = False) -> Any:
        """Encode with the real model (loaded on first use)."""
        return self._get().encode(texts, batch_size=batch_size, progress=progress)

    def encode_query(self, text: str) -> Any:
        """Encode one query with the real model."""
        return self._get().encode_query(text)


def _load_embedder() -> TextEmbedder:
    from ingest import embed as embed_module
    from kg.config import load_config
    from kg.schema import EMBEDDING_DIM

    model_path = load_config().embedding_model or None
    _path, name = embed_module._resolve_model(model_path)  # ModelMissing now, before anything is written
    return _LazyEmbedder(model_path, name, EMBEDDING_DIM)


def run_ingest(
    store: GraphStore,
    records: Sequence[Record],
    *,
    source: str,
    embedder: TextEmbedder | None = None,
    extractor: PaperExtractor | None = None,
    taxonomy: Taxonomy | None = None,
    progress: bool = True,
    batch_size: int = BATCH_SIZE,
    rejected: Sequence[dict[str, Any]] = (),
    lock: HeldLock | None = None,
    wait: float = 0.0,
    whole_list: bool = False,
    prune: bool = False,
    force_prune: bool = False,
    fetch: Callable[[], Sequence[Record]] | None = None,
    unreadable_lines: Sequence[int] = (),
) -> IngestSummary:
    """Ingest records: dedupe, merge with stored papers, extract, embed (cached), upsert in batches.

    Records one IngestRun (failed with the message on an exception). Idempotent: running twice
    leaves the graph identical. A paper whose embedded text and extractor signature are unchanged
    (its stored extraction_hash) keeps its stored extracted edges instead of being extracted again.
    `rejected` lists records a source already turned away.

    `whole_list`: the records are a whole awesome list (with its arXiv matches). After they are
    written, the stored list rows this list no longer has are reported (summary.stale_list_rows, see
    stale_list_rows), and with `prune` removed (see prune_refusal for when it refuses, unless
    `force_prune`). `unreadable_lines`: the list's lines its parser could not read; while there are any,
    --prune holds back and removes nothing (unless `force_prune`): an unreadable row may be one of the
    stale rows, and which one cannot be told (prune_hold_back).

    `fetch`: more records that are fetched as part of the run (a list's or ids' arXiv look-ups), called
    once the run is recorded and added to `records`: a failure or a stop (SIGTERM, Ctrl-C) while it
    fetches is recorded as the run's, as one later on is.

    The whole run holds the store's ingest lock (ingest.store_lock): `lock` when the caller already
    holds it, else it is taken here (waiting up to `wait` seconds; IngestLocked when another ingest
    keeps it). Matching records to stored papers and writing the merge must not interleave with
    another ingest's, or both store the same paper, or one's merge overwrites the other's.
    """
    check_batch_size(batch_size)  # before the run starts: a bad size is not a failed run
    if lock is None:
        with ingest_lock(store, source, wait=wait) as held:
            return _run_ingest(store, records, source=source, embedder=embedder, extractor=extractor,
                               taxonomy=taxonomy, progress=progress, batch_size=batch_size,
                               rejected=rejected, whole_list=whole_list, prune=prune,
                               force_prune=force_prune, lock=held, fetch=fetch,
                               unreadable_lines=unreadable_lines)
    return _run_ingest(store, records, source=source, embedder=embedder, extractor=extractor,
                       taxonomy=taxonomy, progress=progress, batch_size=batch_size, rejected=rejected,
                       whole_list=whole_list, prune=prune, force_prune=force_prune, lock=lock, fetch=fetch,
                       unreadable_lines=unreadable_lines)


def _run_ingest(
    store: GraphStore, records: Sequence[Record], *, source: str, embedder: TextEmbedder | None,
    extractor: PaperExtractor | None,
    taxonomy: Taxonomy | None, progress: bool, batch_size: int, rejected: Sequence[dict[str, Any]],
    whole_list: bool = False, prune: bool = False, force_prune: bool = False, lock: HeldLock,
    fetch: Callable[[], Sequence[Record]] | None = None, unreadable_lines: Sequence[int] = (),
) -> IngestSummary:
    """run_ingest's body, run with the ingest lock held (`lock`, checked before each write)."""
    from ingest.embed import embedding_text, text_hash

    run = store.start_run(source)
    summary = IngestSummary(run_id=run.id, source=source, records=len(records), whole_list=whole_list)
    summary.rejected_details = [dict(r) for r in rejected]
    try:
        if fetch is not None:
            records = [*records, *fetch()]
            summary.records = len(records)
        # The rows stored before this run writes any, for prune_refusal: counted afterwards, the rows
        # it writes itself (a wrong list's own) would make its stale rows look like a few of many.
        rows_before = (len(store.list_rows_from(EDGE_SOURCE_LIST))
                       if whole_list and prune and not force_prune else 0)
        valid: list[Record] = []
        for record in records:
            try:
                # Any source: a text over its limit, not valid Unicode, or an id unfit for a URL is
                # turned away here, and the run goes on with the other records. Checked first: the
                # title check below and everything after it run regexes over the title.
                record.check()
            except ValueError as exc:
                summary.rejected_details.append({"source_id": _shortened(record.source_id),
                                                 "title": _shortened(record.title), "reason": str(exc)})
                continue
            if not (record.title or "").strip() or not title_key(record.title):
                summary.rejected_details.append(
                    {"source_id": _shortened(record.source_id), "title": _shortened(record.title),
                     "reason": "no title"})
                continue
            valid.append(record)
        merged, members = dedupe_groups(list(valid))
        # Records of one paper reached through different keys (a slug stored earlier, an arXiv id
        # now) collapse onto one target id; records of different papers that only share an id do not.
        stored_ids = resolve_stored_ids(store, merged, warn=True) if merged else []
        if merged:
            stored_ids = match_by_link(store, merged, stored_ids)
        by_target: dict[str, tuple[Record, str | None]] = {}
        kept: dict[str, list[int]] = {}  # the indices in `valid` of each target's records
        targets, stored_ids = _target_ids(store, merged, stored_ids)
        for record, stored_id, indices, target in zip(merged, stored_ids, members, targets, strict=True):
            if target not in by_target:
                by_target[target], kept[target] = (record, stored_id), list(indices)
                continue
            prev, prev_stored = by_target[target]
            clash = _id_clash(target, prev, prev_stored, record, stored_id)
            if clash is None:
                by_target[target] = (merge_two(prev, record), prev_stored or stored_id)
                kept[target] += indices
                continue
            loser, winner = (prev, record) if clash == "earlier" else (record, prev)
            if clash == "earlier":
                by_target[target], kept[target] = (record, stored_id), list(indices)
            summary.rejected_details.append({
                "source_id": _shortened(loser.source_id), "title": _shortened(loser.title),
                "reason": _clash_reason(target, loser, winner)})
        summary.rejected = len(summary.rejected_details)
        summary.papers = len(by_target)
        aliases = _merged_away_ids(valid, kept)
        # Rows' ids are checked against the file the extractor tags by (the one given, else the
        # extractor's, else PAPERKG_TAXONOMY's, as _load_tools picks), not the store's nodes: the store
        # keeps nodes taken out of the file (init removes none), and a list edge to one brought back a
        # tag reextract had removed. An id only the store holds is an unknown label, kept on its row.
        taxonomy = _taxonomy_of(extractor, taxonomy)
        held = {n.id for n in store.taxonomy_nodes()}  # an edge needs its node (open_ready_store checks)
        node_labels = {n.id: n.label for n in taxonomy.nodes if n.id in held}
        # Of the records written only: a record turned away for its id adds no labels.
        written = [valid[i] for i in sorted(i for indices in kept.values() for i in indices)]
        summary.unknown_labels = unknown_labels_of(written, node_labels, taxonomy)

        if by_target:  # nothing to load for a run with no papers
            embedder, extractor, taxonomy = _load_tools(store, embedder, extractor, taxonomy)

        from tqdm import tqdm

        items = [(target, (record, stored_id, aliases.get(target, [])))
                 for target, (record, stored_id) in by_target.items()]
        bar = tqdm(total=len(items), desc=f"ingest {source}", unit="paper",
                   disable=not _show_progress(progress), file=sys.stderr)
        try:
            for start in range(0, len(items), batch_size):
                chunk = items[start:start + batch_size]
                # Loaded above: there are items only when there are papers (by_target). The assert only
                # tells the type checker, which does not follow that.
                assert embedder is not None and extractor is not None
                _ingest_chunk(store, chunk, summary, embedder, extractor, embedding_text, text_hash,
                              progress, node_labels, taxonomy, lock)
                bar.update(len(chunk))
        finally:
            bar.close()
        if whole_list:
            stored_rows = store.list_rows_from(EDGE_SOURCE_LIST)
            summary.stale_list_rows = stale_list_rows(stored_rows, summary.listed_rows)
            summary.list_only_papers = list_only_papers(store, summary.stale_list_rows, summary.listed)
            if prune and summary.stale_list_rows:
                refusal = None if force_prune else prune_refusal(len(summary.stale_list_rows),
                                                                 rows_before,
                                                                 papers=len(summary.list_only_papers))
                if unreadable_lines and not force_prune:
                    # Reported even when refused anyway: the line to fix is what the next run needs.
                    summary.prune_held_back = sorted(set(unreadable_lines))
                    if refusal is None:
                        refusal = prune_hold_back(len(summary.stale_list_rows), summary.prune_held_back,
                                                  papers=len(summary.list_only_papers))
                    else:
                        refusal += f"; {_also_unreadable(summary.prune_held_back)}"
                if refusal is not None:
                    summary.prune_refused = refusal
                else:
                    # A list whose every record was rejected loaded none.
                    embedder, extractor, taxonomy = _load_tools(store, embedder, extractor, taxonomy)
                    _prune_list_rows(store, summary, embedder, extractor, embedding_text, text_hash,
                                     progress, batch_size, lock)
        lock.check()  # lost during the last write: recorded failed, not succeeded beside the new holder
    except BaseException as exc:
        _record_failed(store, summary, exc)
        raise
    store.finish_run(run.id, "succeeded", summary.counts())
    return summary


def _record_failed(store: GraphStore, summary: IngestSummary, exc: BaseException) -> None:
    """Record the summary's run as failed with the error's message (a failure to record it is one
    warning: the original error, raised on by the caller, matters more)."""
    summary.status = "failed"
    message = str(exc) or type(exc).__name__
    try:
        store.finish_run(summary.run_id, "failed", summary.counts(), message=message[:2000])
    except Exception as error:
        warn_unrecorded(log, f"could not record run {summary.run_id} as failed", error, exc,
                        "it stays 'running' until the next ingest records it as failed")


def _load_tools(store: GraphStore, embedder: TextEmbedder | None, extractor: PaperExtractor | None,
                taxonomy: Taxonomy | None) -> tuple[TextEmbedder, PaperExtractor, Taxonomy]:
    """The embedder, extractor and taxonomy a run writes with: the ones given, else the configured ones.
    Raises ModelMismatch before anything is embedded or written when the store holds another model's
    vectors (mixed in, every cosine would be meaningless)."""
    from ingest.embed import check_store_model

    if embedder is None:
        embedder = _load_embedder()
    check_store_model(store, embedder.model_name)
    # One taxonomy for extraction and the list's section map.
    extractor, taxonomy = _extraction_tools(extractor, taxonomy)
    return embedder, extractor, taxonomy


def _extraction_hash(signature: str, paper: Paper, tldrs: Sequence[str], embedding_text: TextOf,
                     text_hash: HashOf) -> str:
    """sha256 of what extraction reads: the extractor signature, title + abstract, and the list TL;DRs.

    Not the embedded text: a paper with an abstract is embedded without its TL;DRs, yet a changed
    TL;DR changes its extracted techniques. The TL;DRs go last as a JSON list, which holds no raw
    newline, so the last newline marks where the title and abstract end (no two inputs hash alike).
    """
    extracted_text = embedding_text(paper.title, paper.abstract or "")
    return str(text_hash(f"{signature}\n{extracted_text}\n{json.dumps(list(tldrs), ensure_ascii=False)}"))


def _ingest_chunk(
    store: GraphStore, chunk: list[tuple[str, tuple[Record, str | None, list[str]]]], summary: IngestSummary,
    embedder: TextEmbedder, extractor: PaperExtractor, embedding_text: TextOf, text_hash: HashOf,
    progress: bool, node_labels: dict[str, str], sections_of: Taxonomy, lock: HeldLock,
) -> None:
    merged: list[_Merged] = []
    lines: dict[str, list[int]] = {}  # paper id -> the list lines of its rows in this run
    for target, (record, stored_id, _aliases) in chunk:
        stored = store.get_paper(stored_id) if stored_id else None
        if stored is None and stored_id is None:
            stored = store.get_paper(target)
        paper, replace_rows = _merge_with_stored(record, stored, target)
        rows, list_techs, list_evals = _list_edges(record, stored, replace_rows, node_labels)
        # Stored rows too: a section map that changed reaches every section the next time it is written.
        rows = [replace(r, topic_ids=sections_of.section_topic_ids(r.section_path)) for r in rows]
        if replace_rows and EDGE_SOURCE_LIST in record.sources:
            summary.listed.add(target)  # its rows are this list's rows
            summary.listed_rows.update((target, r.section_id) for r in rows)
            kept = _kept_list_rows(rows, stored)
            if kept:
                # Reported as stale and kept until --prune, as the rows of a paper the list no longer
                # has: a list cut short must not drop the rows of its papers' other sections unseen.
                summary.current_list_edges[target] = (rows, list_techs, list_evals)
                rows, list_techs, list_evals = _with_kept_rows((rows, list_techs, list_evals), kept,
                                                               node_labels, sections_of)
        merged.append((stored, paper, stored_id, (rows, list_techs, list_evals)))
        lines[target] = [r.line for r in record.list_rows
                         if r.line is not None and EDGE_SOURCE_LIST in record.sources]
    bundles: list[PaperBundle] = []
    statuses, rekey, computed = _write_papers(store, merged, embedder, extractor, embedding_text,
                                              text_hash, progress, lock,
                                              aliases={target: ids for target, (_r, _s, ids) in chunk},
                                              written=bundles)
    summary.embedded += computed
    summary.rekeyed.update(rekey)
    stored_of = {item[1].id: item[0] for item in merged}
    bundle_of = {bundle.paper.id: bundle for bundle in bundles}
    for paper_id, status in statuses.items():
        stored, bundle = stored_of.get(paper_id), bundle_of.get(paper_id)
        if status == "updated" and paper_id not in rekey.values() and _lines_moved_only(stored, bundle):
            status = "unchanged"  # written for its new line numbers, nothing else changed
            summary.moved += 1
        summary.statuses[paper_id] = status
        if status == "unchanged":
            summary.unchanged += 1
            continue
        entry: dict[str, Any] = {"paper_id": paper_id, "title": bundle.paper.title if bundle else "",
                                 "lines": lines.get(paper_id, [])}
        if stored is not None and bundle is not None and stored.paper.title != bundle.paper.title:
            entry["previous_title"] = stored.paper.title
        if status == "new":
            summary.new += 1
            summary.new_papers.append(entry)
        else:
            summary.updated += 1
            summary.updated_papers.append(entry)


def _lines_moved_only(stored: PaperDetail | None, bundle: PaperBundle | None) -> bool:
    """Whether writing `bundle` over the `stored` paper changes only its list rows' line numbers (a line
    added above them, a row moved within its section or to another place of the list in the same
    section): everything the store's fingerprint covers (kg.validation.fingerprint) is compared with the
    lines left out and the rows in section order. The write still happens (the rows show their new
    lines); the run only counts the paper unchanged. Reads give no section topics, so the stored rows
    take the bundle's (a changed section map is counted as a move; every later write of the paper
    stores the new topics anyway). Anything a read returns differently counts as a change, as before."""
    if stored is None or bundle is None or stored.paper.id != bundle.paper.id:
        return False
    from kg.validation import fingerprint

    def rows(list_rows: Sequence[ListRow]) -> list[ListRow]:
        """The rows without their lines, in section order: the last of each section (unique_list_rows)."""
        return sorted({r.section_id: replace(r, line=None) for r in list_rows}.values(),
                      key=lambda r: r.section_id)

    new_lines = sorted((r.section_id, r.line) for r in {r.section_id: r for r in bundle.list_rows}.values())
    old_lines = sorted((r.section_id, r.line) for r in stored.list_rows)
    if new_lines == old_lines:
        return False  # the lines did not move: the change is another
    topics = {r.section_id: list(r.topic_ids) for r in bundle.list_rows}
    before = PaperBundle(
        paper=stored.paper,
        techniques=[replace(t, label=None) for t in stored.techniques],
        evaluations=[replace(e, label=None) for e in stored.evaluations],
        findings=[replace(f, about=[replace(a, name=None) for a in f.about]) for f in stored.findings],
        models=[m.id for m in stored.models],
        list_rows=[replace(r, topic_ids=topics.get(r.section_id, [])) for r in rows(stored.list_rows)],
    )
    after = replace(bundle, list_rows=rows(bundle.list_rows))
    return fingerprint(before, None) == fingerprint(after, None)


def _extractions(merged: list[_Merged], extractor: PaperExtractor, embedding_text: TextOf,
                 text_hash: HashOf) -> dict[str, Any]:
    """Each merged paper's extraction by paper id: its stored one when extracting it again would give the
    same (_stored_extraction), else a fresh one, all fresh ones in one extract_many call. Sets each
    paper's extraction_hash when the extractor has a signature."""
    extractions: dict[str, Any] = {}
    signature = getattr(extractor, "signature", None)
    todo: list[tuple[str, str, str, list[str]]] = []
    for stored, paper, _i, edges in merged:
        tldrs = _extraction_tldrs(edges[0])
        if signature is not None:
            paper.extraction_hash = _extraction_hash(signature, paper, tldrs, embedding_text, text_hash)
        reused = _stored_extraction(stored, paper)
        if reused is not None:
            extractions[paper.id] = reused
        else:
            todo.append((paper.id, paper.title, paper.abstract or "", tldrs))
    if todo:
        many = getattr(extractor, "extract_many", None)
        results = many(todo) if many else [extractor.extract(*item) for item in todo]
        extractions.update((item[0], result) for item, result in zip(todo, results, strict=True))
    return extractions


def _write_papers(
    store: GraphStore, merged: list[_Merged], embedder: TextEmbedder, extractor: PaperExtractor,
    embedding_text: TextOf, text_hash: HashOf, progress: bool, lock: HeldLock,
    aliases: dict[str, list[str]] | None = None, extractions: dict[str, Any] | None = None,
    written: list[PaperBundle] | None = None,
) -> tuple[dict[str, str], dict[str, str], int]:
    """Extract (or keep a stored extraction that would come out the same), embed (cached) and upsert
    merged papers in one write: (status by paper id, old slug id -> new id, vectors computed).
    `aliases`: by paper id, other ids that lead to it (PaperBundle.aliases); `extractions`: the papers'
    extractions when the caller has them already (_extractions); `lock` is checked just before the
    write; `written`: a list the bundles given to the store are added to."""
    bundles: list[PaperBundle] = []
    rekey: dict[str, str] = {}
    texts = [embedding_text(p.title, p.abstract or _tldr_stand_in(edges[0])) for _s, p, _i, edges in merged]
    if extractions is None and extractor is not None:
        extractions = _extractions(merged, extractor, embedding_text, text_hash)
    for _stored, paper, stored_id, (rows, list_techs, list_evals) in merged:
        target = paper.id
        techniques = list(list_techs)
        evaluations = list(list_evals)
        findings: list[Finding] = []
        models: list[str] = []
        if extractions is not None:
            extraction = extractions[paper.id]
            techniques += [replace(t, source=EDGE_SOURCE_EXTRACTED) if not t.source else t
                           for t in extraction.techniques]
            evaluations += [replace(e, source=EDGE_SOURCE_EXTRACTED) if not e.source else e
                            for e in extraction.evaluations]
            findings = list(extraction.findings)
            models = list(dict.fromkeys(extraction.models))
        bundles.append(PaperBundle(paper=paper, techniques=techniques, evaluations=evaluations,
                                   findings=findings, models=models, list_rows=rows,
                                   aliases=list((aliases or {}).get(target, []))))
        if stored_id and stored_id != target:
            rekey[stored_id] = target
    from ingest.embed import embed_with_cache

    vectors, computed = embed_with_cache(embedder, store, texts, progress=_show_progress(progress))
    for bundle, vector, text in zip(bundles, vectors, texts, strict=True):
        bundle.paper.embedding = vector
        bundle.paper.embedding_model = embedder.model_name
        bundle.paper.content_hash = text_hash(text)
    # A paper stored under a slug before its arXiv id was known: one paper, one node, replaced in
    # the same transaction as the write (a kill in between cannot leave both).
    by_id = {b.paper.id: b for b in bundles}
    for old_id, new_id in rekey.items():
        by_id[new_id].replaces.append(old_id)
    # Checked here, after the (long) extraction and embedding, not before them: a pause during that
    # compute may lose the lock, and then this batch must not be written beside the new holder.
    lock.check()  # IngestLockLost once another ingest took the lock over: write no more
    statuses = store.upsert_papers(bundles)
    if written is not None:
        written.extend(bundles)
    return statuses, rekey, computed


def stale_list_rows(stored_rows: Sequence[dict[str, Any]],
                    listed_rows: Collection[tuple[str, str]]) -> list[dict[str, Any]]:
    """The stored list rows a whole-list run no longer has: every row (of `stored_rows`, the rows of
    the papers with source "list", GraphStore.list_rows_from) the run did not write from the list
    (`listed_rows`: the (paper id, section id) of the rows it wrote), as {paper_id, title, section,
    section_id, line}.

    A row is one paper in one section (the store keeps one per section): the list's row of that
    paper and section is the same row, whatever its line now. So a row is stale whether its paper is
    gone from the list or only from that section (moved, or listed twice and once no longer): a list
    ingest keeps such rows (_kept_list_rows) until --prune. A row does not record where it came from;
    a paper's source "list" says a list ingest wrote its rows, since other sources never replace
    stored rows (a records file fills them only for a paper with none), and a prune takes "list" off
    the papers it empties (or removes them: list_only_papers). So rows a records file brought are
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


def _also_unreadable(lines: Sequence[int]) -> str:
    """What a refused --prune (prune_refusal) adds when rows at `lines` could not be read either: the
    prune is held back for them too (prune_hold_back), so they are to fix first."""
    one = len(lines) == 1
    return (f"also, {_unreadable_where(lines)}: fix {'it' if one else 'them'} first, as --prune is held "
            "back while a row cannot be read")


def _unreadable_where(lines: Sequence[int]) -> str:
    """"line 8 could not be read", or "lines 8, 9 could not be read", five named at most."""
    shown = ", ".join(str(n) for n in lines[:5]) + (f" and {len(lines) - 5} more" if len(lines) > 5 else "")
    return f"line {shown} could not be read" if len(lines) == 1 else f"lines {shown} could not be read"


def _prune_list_rows(
    store: GraphStore, summary: IngestSummary, embedder: TextEmbedder, extractor: PaperExtractor,
    embedding_text: TextOf, text_hash: HashOf, progress: bool, batch_size: int, lock: HeldLock,
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
        merged: list[_Merged] = []
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
            _statuses, _rekey, computed = _write_papers(store, merged, embedder, extractor, embedding_text,
                                                        text_hash, progress, lock)
            summary.embedded += computed
        summary.list_rows_pruned += pruned  # counted once written: a failed batch removed nothing
        for paper_id, rows in gone:  # each its own write: counted as it goes
            lock.check()  # as in _write_papers: nothing removed once another ingest took the lock over
            if store.delete_paper(paper_id):
                summary.papers_pruned += 1
                summary.list_rows_pruned += rows


def ingest_records_file(
    store: GraphStore, path: str | Path, *, embedder: TextEmbedder | None = None,
    extractor: PaperExtractor | None = None,
    progress: bool = True, skip_invalid: bool = False, batch_size: int = BATCH_SIZE,
) -> IngestSummary:
    """Import a JSON Lines file in the seed_papers.jsonl format through the pipeline."""
    from ingest.records_file import read_records_file

    check_batch_size(batch_size)
    read = read_records_file(path, skip_invalid=skip_invalid)
    return run_ingest(store, read.records, source="records", embedder=embedder, extractor=extractor,
                      progress=progress, batch_size=batch_size, rejected=read.rejected())


# The source `ingest reextract` records its runs under (and the kind of ingest its lock names).
REEXTRACT_SOURCE = "reextract"


@dataclass
class ReextractSummary(IngestSummary):
    """What one re-extraction of the stored papers did (with dry_run: would do, writing nothing).

    `updated`: papers re-extracted and written (their extraction hash changed); `retagged`: those of
    them whose extracted tags changed; `tags_added` / `tags_removed`: by taxonomy node id, how many
    papers gained or lost an extracted tag (technique, evaluation, model studied, what a finding is
    about)."""

    dry_run: bool = False
    retagged: int = 0
    tags_added: dict[str, int] = field(default_factory=dict)
    tags_removed: dict[str, int] = field(default_factory=dict)

    def counts(self) -> dict[str, Any]:
        """The counts stored on the IngestRun."""
        return {"papers": self.papers, "updated": self.updated, "unchanged": self.unchanged,
                "retagged": self.retagged, "embedded": self.embedded}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (a dry run has no run: run_id is null)."""
        return {"run_id": self.run_id or None, "source": self.source, "status": self.status,
                "dry_run": self.dry_run, **self.counts(),
                "tags_added": _by_count(self.tags_added), "tags_removed": _by_count(self.tags_removed)}

    def text(self) -> str:
        """Human summary for the CLI."""
        if self.dry_run:
            lines = [f"{self.source} (dry run: nothing written): {counted(self.papers, 'paper')} -> "
                     f"{self.updated} to update, {self.unchanged} unchanged; {self.retagged} with other tags"]
        else:
            lines = [f"{self.source}: {counted(self.papers, 'paper')} -> {self.updated} updated, "
                     f"{self.unchanged} unchanged; {self.retagged} with other tags; {self.embedded} embedded "
                     f"(rest cached); run {self.run_id}"]
        for what, tags in (("added", self.tags_added), ("removed", self.tags_removed)):
            items = [f"{terminal_safe(node_id)}: {counted(n, 'paper')}"
                     for node_id, n in _by_count(tags).items()]
            if items:
                lines += _head_and_items(f"tags {what}:", items)
        return "\n".join(lines)


def _by_count(tags: dict[str, int]) -> dict[str, int]:
    """Tag counts most papers first, then by node id."""
    return dict(sorted(tags.items(), key=lambda item: (-item[1], item[0])))


def _extraction_is_current(paper: Paper, rows: Sequence[ListRow], signature: str | None,
                           embedding_text: TextOf, text_hash: HashOf) -> bool:
    """Whether a stored paper's extraction is the one an extractor of `signature` would give it now: its
    stored extraction hash is the one _extractions would set, from its stored title, abstract and list
    TL;DRs (of `rows`, its stored list rows). Hashes only, nothing is extracted. An extractor without a
    signature extracts every paper."""
    if signature is None or paper.extraction_hash is None:
        return False
    tldrs = _extraction_tldrs(rows)
    return paper.extraction_hash == _extraction_hash(signature, paper, tldrs, embedding_text, text_hash)


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
        extractor, _ = _extraction_tools(None, taxonomy)
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
                for tags, ids in ((check.extracted_tags, _tagged_ids(_extraction_of(detail))),
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
    from tqdm import tqdm

    from ingest.embed import embedding_text, text_hash

    run_id = "" if dry_run else store.start_run(REEXTRACT_SOURCE).id
    summary = ReextractSummary(run_id=run_id, source=REEXTRACT_SOURCE, dry_run=dry_run)
    try:
        paper_ids = sorted(store.paper_ids())
        summary.papers = summary.records = len(paper_ids)
        if paper_ids:
            if dry_run:
                extractor, taxonomy = _extraction_tools(extractor, taxonomy)
            else:
                embedder, extractor, taxonomy = _load_tools(store, embedder, extractor, taxonomy)
        bar = tqdm(total=len(paper_ids), desc=REEXTRACT_SOURCE, unit="paper",
                   disable=not _show_progress(progress), file=sys.stderr)
        try:
            for start in range(0, len(paper_ids), batch_size):
                chunk = paper_ids[start:start + batch_size]
                assert extractor is not None and taxonomy is not None  # loaded above for any paper
                _reextract_chunk(store, chunk, summary, embedder, extractor, taxonomy, embedding_text,
                                 text_hash, progress, lock)
                bar.update(len(chunk))
        finally:
            bar.close()
        if lock is not None:
            lock.check()  # lost during the last write: recorded failed, not succeeded beside the new holder
    except BaseException as exc:
        if not dry_run:
            _record_failed(store, summary, exc)
        raise
    if not dry_run:
        store.finish_run(run_id, "succeeded", summary.counts())
    return summary


def _reextract_chunk(
    store: GraphStore, paper_ids: Sequence[str], summary: ReextractSummary, embedder: TextEmbedder | None,
    extractor: PaperExtractor, taxonomy: Taxonomy, embedding_text: TextOf, text_hash: HashOf,
    progress: bool, lock: HeldLock | None,
) -> None:
    """Re-extract one batch of stored papers and write, in one write, those whose extraction changed."""
    merged: list[_Merged] = []
    signature = getattr(extractor, "signature", None)
    for paper_id in paper_ids:
        stored = store.get_paper(paper_id)
        if stored is None:  # removed since the ids were read (a dry run holds no lock)
            continue
        if _extraction_is_current(stored.paper, stored.list_rows, signature, embedding_text, text_hash):
            summary.unchanged += 1  # its stored extraction is current: not written at all
            summary.statuses[paper_id] = "unchanged"
            continue
        rows, list_techs, list_evals = _stored_list_edges(stored)
        # As _ingest_chunk writes them: the rows' section topics come from the taxonomy's section map
        # (reads do not return them, and a bundle without them would drop the sections' topics).
        rows = [replace(r, topic_ids=taxonomy.section_topic_ids(r.section_path)) for r in rows]
        # No extraction_hash: _extractions sets the current one (an extractor without a signature sets
        # none, and every paper is extracted again, as run_ingest does for it).
        paper = replace(stored.paper, embedding=None, extraction_hash=None)
        merged.append((stored, paper, paper_id, (rows, list_techs, list_evals)))
    if not merged:
        return
    extractions = _extractions(merged, extractor, embedding_text, text_hash)
    # The batch's tag changes are added to the summary only once the batch is written (a dry run: at
    # once): a write that stops (lock lost, store error) must not leave them in the failed run's counts.
    retagged, added, removed = 0, Counter[str](), Counter[str]()
    for item in merged:
        stored, paper = item[0], item[1]
        assert stored is not None
        before, after = _tagged_ids(_extraction_of(stored)), _tagged_ids(extractions[paper.id])
        if before != after:
            retagged += 1
            added.update(after - before)
            removed.update(before - after)
    if lock is None:  # a dry run: counted, never written
        summary.updated += len(merged)
        summary.statuses.update((item[1].id, "updated") for item in merged)
    else:
        assert embedder is not None
        statuses, _rekey, computed = _write_papers(store, merged, embedder, extractor, embedding_text,
                                                   text_hash, progress, lock, extractions=extractions)
        summary.embedded += computed
        for paper_id, status in statuses.items():
            summary.statuses[paper_id] = status
            if status == "unchanged":
                summary.unchanged += 1
            else:
                summary.updated += 1
    summary.retagged += retagged
    for tally, counts in ((summary.tags_added, added), (summary.tags_removed, removed)):
        for node_id, n in counts.items():
            tally[node_id] = tally.get(node_id, 0) + n
