"""The load pipeline: records -> de-duplicate -> merge with the stored paper -> extract -> embed -> upsert
(run_ingest, ingest_records_file), and the embedder, extractor and taxonomy a run writes with
(load_tools)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.list_match import (
    clash_reason,
    id_clash,
    match_by_link,
    merged_away_ids,
    merges_of,
    possible_duplicates,
    resolve_stored_ids,
    target_ids,
)
from ingest.normalize import (
    SOURCE_PRIORITY,
    dedupe_groups,
    merge_two,
    split_venue_tag,
    title_key,
)
from ingest.progress import Progress
from ingest.prune import (
    also_unreadable,
    list_only_papers,
    prune_hold_back,
    prune_list_rows,
    prune_refusal,
    stale_list_rows,
)
from ingest.records import ListRowRecord, Record, check_records
from ingest.store_lock import HeldLock, ingest_lock, warn_unrecorded
from ingest.summary import IngestSummary, possible_duplicate_warning, shortened, unknown_labels_of
from ingest.write import HashOf, ListEdges, Merged, TextOf, stored_list_edges, write_papers
from kg.entities import EvaluationUse, ListRow, Paper, PaperBundle, PaperDetail, TechniqueUse
from kg.schema import EDGE_SOURCE_LIST, Label
from kg.store import GraphStore
from kg.taxonomy import Taxonomy
from kg.withdrawn import is_withdrawn

if TYPE_CHECKING:
    from ingest.embed import TextEmbedder
    from ingest.extract import PaperExtractor

log = logging.getLogger(__name__)

BATCH_SIZE = 256
# Paper properties a record carries (everything else is set by the store or the embedder).
_META_FIELDS = (
    "title", "abstract", "arxiv_id", "doi", "authors", "published", "updated", "year", "venue",
    "primary_category", "categories", "url", "pdf_url", "item_type",
)


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
    # no longer has it in until --prune, _kept_list_rows). A records file fills them when none are
    # stored, and updates those of a paper no list ingest wrote rows for ("list" not among its sources:
    # its rows are records files' own), field by field (_records_rows_update): the file is the authority
    # for the tags it gives, as the list is for its own; the rows of a paper the list has stay the list's.
    replace_rows = bool(record.list_rows) and (
        "list" in record.sources or not stored.list_rows or "list" not in old.sources)
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


def _list_edges(record: Record, stored: PaperDetail | None, use_incoming: bool,
                node_labels: dict[str, str], taxonomy: Taxonomy) -> ListEdges:
    if use_incoming and stored is not None and stored.list_rows and EDGE_SOURCE_LIST not in record.sources:
        return _records_rows_update(record, stored, node_labels, taxonomy)
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
    return stored_list_edges(stored)


# A records file's row fields a re-import applies only when the row gives them (ingest.records_file
# RecordsFileRow.given): the ListRow field and the keys that give it...
_ROW_FIELDS = (("tldr", ("tldr",)), ("title_in_list", ("title_in_list",)), ("url_in_list", ("url_in_list",)),
               ("line", ("line",)))
# ...and its two label columns, each given as a whole by either key (ids, else the text's mapped labels, as
# the first import read them): (column, keys, ListRow text field, the row's ids, the tags it replaces).
_TAG_COLUMNS = (("techniques", ("technique_ids", "techniques"), "techniques_text", "technique_ids",
                 Label.TECHNIQUE),
                ("evaluation", ("evaluation_ids", "evaluation"), "evaluation_text", "evaluation_ids",
                 Label.EVALUATION))


def _gives(row: ListRowRecord, keys: Sequence[str]) -> bool:
    """Whether a row gives a value (not null) for any of `keys`; a row not read from a records file
    (no `given`) gives every field."""
    given: frozenset[str] | None = getattr(row, "given", None)
    return given is None or any(key in given for key in keys)


def _updated_row(new: ListRowRecord, old: ListRow | None) -> ListRow:
    """The row a records file's `new` row makes of the stored row of its section: the fields it gives,
    the stored values of those it leaves out or sets to null (absent is not empty)."""
    row = new.to_list_row()
    if old is None:
        return row
    kept = {name: getattr(old, name) for name, keys in _ROW_FIELDS if not _gives(new, keys)}
    kept.update({text: getattr(old, text) for _c, keys, text, _i, _l in _TAG_COLUMNS
                 if not _gives(new, keys)})
    return replace(row, **kept)


def _records_rows_update(record: Record, stored: PaperDetail, node_labels: dict[str, str],
                         taxonomy: Taxonomy) -> ListEdges:
    """A records file's rows over the stored rows of a paper whose rows records files gave, and its list
    tags (technique and evaluation edges of source list, the hand tags).

    Rows: a row the file gives replaces the stored row of its section, each field it leaves out (or sets
    to null) keeping its stored value (_updated_row); stored rows of sections the file does not give stay,
    in their place. Tags, for techniques and evaluations apart: when any of the file's rows gives that
    column (`technique_ids` or `techniques`; `evaluation_ids` or `evaluation`), the paper's tags of that
    kind are the ones the rows give (so `"technique_ids": []` without `techniques` clears them), with
    those of the stored rows the file does not give: the stored tags whose evidence is one of such a
    row's cells (a tag's evidence is the cell it came from, as ingest.records_file._place_tags reads it)
    and those its cell text maps to, as the list's kept rows keep theirs (_with_kept_rows). The store
    keeps tags per paper, not per row: a tag whose evidence is also a kept row's cell stays, even when it
    came from the given row's old cell (kept, rather than a kept row's tag lost). Otherwise the stored
    ones stay, with any the file's rows add in the other column (the node's graph label decides the
    edge, as in _list_edges)."""
    from ingest.awesome_list import map_labels

    old_rows = {r.section_id: r for r in stored.list_rows}
    by_section: dict[str, list[ListRow]] = {}
    fresh: list[tuple[str, str | None]] = []  # (node id, cell) of the columns the file's rows give
    mapped: list[tuple[str, str | None]] = []  # those the stored text of the other cells maps to
    replaced: set[str] = set()  # the graph labels whose tags the file gives
    kept_cells: dict[str, set[str | None]] = {}  # label -> cells of the stored rows the file does not give
    for new in record.list_rows:
        row = _updated_row(new, old_rows.get(new.section_id))
        by_section.setdefault(new.section_id, []).append(row)
        for column, keys, text, ids, label in _TAG_COLUMNS:
            if _gives(new, keys):
                replaced.add(label)
                fresh += [(node_id, getattr(new, column)) for node_id in getattr(new, ids)]
            else:
                cell = getattr(row, text)
                mapped += [(node_id, cell) for node_id in map_labels(cell, column, taxonomy)[0]]
    rows: list[ListRow] = []
    for old in stored.list_rows:
        if old.section_id in by_section:
            rows += by_section.pop(old.section_id)
            continue
        rows.append(old)
        for _c, _k, text, _i, label in _TAG_COLUMNS:
            kept_cells.setdefault(label, set()).add(getattr(old, text))
        mapped += [(node_id, cell) for column, _k, text, _i, _l in _TAG_COLUMNS
                   for cell in [getattr(old, text)] for node_id in map_labels(cell, column, taxonomy)[0]]
    rows += [row for section in by_section.values() for row in section]  # new sections, in file order
    _rows, stored_techs, stored_evals = stored_list_edges(stored)
    techniques: dict[str, TechniqueUse] = {}
    evaluations: dict[str, EvaluationUse] = {}
    if Label.TECHNIQUE not in replaced:
        techniques = {t.technique_id: t for t in stored_techs}
    if Label.EVALUATION not in replaced:
        evaluations = {e.evaluation_id: e for e in stored_evals}
    # A kept row's hand ids are not in its text: its stored tags, known by their evidence, stay. The
    # other column's cell too, as _place_tags (an id given in the wrong column has that cell as its
    # evidence), but only a text: an empty cell there would keep every tag given as ids alone.
    def kept_row_tag(label: str, evidence: str | None) -> bool:
        return evidence in kept_cells.get(label, ()) or (
            evidence is not None and any(evidence in cells for cells in kept_cells.values()))

    kept = [(t.technique_id, t.evidence) for t in stored_techs if kept_row_tag(Label.TECHNIQUE, t.evidence)]
    kept += [(e.evaluation_id, e.evidence) for e in stored_evals
             if kept_row_tag(Label.EVALUATION, e.evidence)]
    # The stored text of a kind the file does not give adds nothing: its stored tags stay as they are.
    for node_id, cell in fresh + kept + [
            (n, c) for n, c in mapped if node_labels.get(n) in replaced]:
        kind = node_labels.get(node_id)
        if kind == Label.TECHNIQUE:
            techniques.setdefault(node_id, TechniqueUse(node_id, EDGE_SOURCE_LIST, evidence=cell))
        elif kind == Label.EVALUATION:
            evaluations.setdefault(node_id, EvaluationUse(node_id, EDGE_SOURCE_LIST, evidence=cell))
    return rows, list(techniques.values()), list(evaluations.values())


def _kept_list_rows(rows: Sequence[ListRow], stored: PaperDetail | None) -> list[ListRow]:
    """The stored list rows a list paper keeps beside the list's `rows`: those of the sections the list
    no longer has it in (a row is one paper in one section; its line may change, the row stays the
    same). Only a paper with source "list" has rows a list wrote (stale_list_rows); a records file's
    rows the list's replace, as before."""
    if stored is None or EDGE_SOURCE_LIST not in stored.paper.sources:
        return []
    current = {r.section_id for r in rows}
    return [r for r in stored.list_rows if r.section_id not in current]


def _with_kept_rows(edges: ListEdges, kept: Sequence[ListRow], node_labels: dict[str, str],
                    taxonomy: Taxonomy) -> ListEdges:
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


def extraction_tools(extractor: PaperExtractor | None,
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
    file: str | None = None,
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
    fetches is recorded as the run's, as one later on is. `file`: the name of the records file read,
    kept in the run's counts.

    The whole run holds the store's ingest lock (ingest.store_lock): `lock` when the caller already
    holds it, else it is taken here (waiting up to `wait` seconds; IngestLocked when another ingest
    keeps it). Matching records to stored papers and writing the merge must not interleave with
    another ingest's, or both store the same paper, or one's merge overwrites the other's.
    """
    check_batch_size(batch_size)  # before the run starts: a bad size is not a failed run
    check_records(records)  # as is a dict for a Record (was "'dict' object has no attribute 'check'")
    check_taxonomy_loaded(store)  # a new store from Python: said now, not after the model's work
    if lock is None:
        with ingest_lock(store, source, wait=wait) as held:
            return _run_ingest(store, records, source=source, embedder=embedder, extractor=extractor,
                               taxonomy=taxonomy, progress=progress, batch_size=batch_size,
                               rejected=rejected, whole_list=whole_list, prune=prune,
                               force_prune=force_prune, lock=held, fetch=fetch,
                               unreadable_lines=unreadable_lines, file=file)
    return _run_ingest(store, records, source=source, embedder=embedder, extractor=extractor,
                       taxonomy=taxonomy, progress=progress, batch_size=batch_size, rejected=rejected,
                       whole_list=whole_list, prune=prune, force_prune=force_prune, lock=lock, fetch=fetch,
                       unreadable_lines=unreadable_lines, file=file)


def check_taxonomy_loaded(store: GraphStore) -> None:
    """ValueError saying how to load the taxonomy when the store holds none (a new store), before a run
    is recorded: every paper would otherwise be refused at its write, after its extraction and embedding,
    for a tag to a node the store lacks (the CLI's stores are loaded by open_ready_store)."""
    if store.taxonomy_nodes():
        return
    raise ValueError(
        "the store holds no taxonomy (a new store?); nothing was ingested. Load it first, as `paperkg init` "
        "does: from Python, store.init_schema() then store.load_taxonomy(load_taxonomy(config.taxonomy)"
        ".nodes) (load_taxonomy from kg.taxonomy, config from kg.config.load_config); or run "
        "`paperkg init` in a shell")


def _run_ingest(
    store: GraphStore, records: Sequence[Record], *, source: str, embedder: TextEmbedder | None,
    extractor: PaperExtractor | None,
    taxonomy: Taxonomy | None, progress: bool, batch_size: int, rejected: Sequence[dict[str, Any]],
    whole_list: bool = False, prune: bool = False, force_prune: bool = False, lock: HeldLock,
    fetch: Callable[[], Sequence[Record]] | None = None, unreadable_lines: Sequence[int] = (),
    file: str | None = None,
) -> IngestSummary:
    """run_ingest's body, run with the ingest lock held (`lock`, checked before each write)."""
    from ingest.embed import embedding_text, text_hash

    run = store.start_run(source)
    summary = IngestSummary(run_id=run.id, source=source, records=len(records), whole_list=whole_list,
                            file=file)
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
                summary.rejected_details.append(_rejection(record, str(exc)))
                continue
            if not (record.title or "").strip() or not title_key(record.title):
                summary.rejected_details.append(_rejection(record, "no title"))
                continue
            valid.append(record)
        matched: dict[int, str] = {}  # how dedupe_groups merged a record into an earlier one
        merged, members = dedupe_groups(list(valid), matched)
        # Records of one paper reached through different keys (a slug stored earlier, an arXiv id
        # now) collapse onto one target id; records of different papers that only share an id do not.
        stored_ids = resolve_stored_ids(store, merged, warn=True) if merged else []
        summary.possible_duplicates = possible_duplicates(store, merged) if merged else []
        for entry in summary.possible_duplicates:
            log.warning("%s", possible_duplicate_warning(entry))
        if merged:
            stored_ids = match_by_link(store, merged, stored_ids)
        by_target: dict[str, tuple[Record, str | None]] = {}
        kept: dict[str, list[int]] = {}  # the indices in `valid` of each target's records
        targets, stored_ids = target_ids(store, merged, stored_ids)
        for record, stored_id, indices, target in zip(merged, stored_ids, members, targets, strict=True):
            if target not in by_target:
                by_target[target], kept[target] = (record, stored_id), list(indices)
                continue
            prev, prev_stored = by_target[target]
            clash = id_clash(target, prev, prev_stored, record, stored_id)
            if clash is None:
                by_target[target] = (merge_two(prev, record), prev_stored or stored_id)
                kept[target] += indices
                continue
            loser, winner = (prev, record) if clash == "earlier" else (record, prev)
            if clash == "earlier":
                by_target[target], kept[target] = (record, stored_id), list(indices)
            summary.rejected_details.append(_rejection(loser, clash_reason(target, loser, winner)))
        summary.rejected = len(summary.rejected_details)
        summary.papers = len(by_target)
        summary.add_merges(merges_of(valid, kept, matched, by_target, store))
        aliases = merged_away_ids(valid, kept)
        # Rows' ids are checked against the file the extractor tags by (the one given, else the
        # extractor's, else PAPERKG_TAXONOMY's, as load_tools picks), not the store's nodes: the store
        # keeps nodes taken out of the file (init removes none), and a list edge to one brought back a
        # tag reextract had removed. An id only the store holds is an unknown label, kept on its row.
        taxonomy = _taxonomy_of(extractor, taxonomy)
        held = {n.id for n in store.taxonomy_nodes()}  # an edge needs its node (open_ready_store checks)
        node_labels = {n.id: n.label for n in taxonomy.nodes if n.id in held}
        # Of the records written only: a record turned away for its id adds no labels.
        written = [valid[i] for i in sorted(i for indices in kept.values() for i in indices)]
        summary.unknown_labels = unknown_labels_of(written, node_labels, taxonomy)

        if by_target:  # nothing to load for a run with no papers
            embedder, extractor, taxonomy = load_tools(store, embedder, extractor, taxonomy)

        items = [(target, (record, stored_id, aliases.get(target, [])))
                 for target, (record, stored_id) in by_target.items()]
        bar = Progress(len(items), f"ingest {source}", progress)
        try:
            for start in range(0, len(items), batch_size):
                chunk = items[start:start + batch_size]
                # Loaded above: there are items only when there are papers (by_target). The assert only
                # tells the type checker, which does not follow that.
                assert embedder is not None and extractor is not None
                unchanged = summary.unchanged
                _ingest_chunk(store, chunk, summary, embedder, extractor, embedding_text, text_hash,
                              node_labels, taxonomy, lock)
                bar.update(len(chunk), summary.unchanged - unchanged)
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
                        refusal += f"; {also_unreadable(summary.prune_held_back)}"
                if refusal is not None:
                    summary.prune_refused = refusal
                else:
                    # A list whose every record was rejected loaded none.
                    embedder, extractor, taxonomy = load_tools(store, embedder, extractor, taxonomy)
                    prune_list_rows(store, summary, embedder, extractor, embedding_text, text_hash,
                                     batch_size, lock)
        lock.check()  # lost during the last write: recorded failed, not succeeded beside the new holder
    except BaseException as exc:
        record_failed(store, summary, exc)
        raise
    store.finish_run(run.id, "succeeded", summary.counts())
    return summary


def _rejection(record: Record, reason: str) -> dict[str, Any]:
    """A rejected_details entry for `record`: its id, title, line and why the load turned it away."""
    # The line, so a rejected row can be found as the parser's unreadable rows are.
    return {"line": record.line, "source_id": shortened(record.source_id), "title": shortened(record.title),
            "reason": reason}


def record_failed(store: GraphStore, summary: IngestSummary, exc: BaseException) -> None:
    """Record the summary's run as failed with the error's message (a failure to record it is one
    warning: the original error, raised on by the caller, matters more)."""
    summary.status = "failed"
    message = str(exc) or type(exc).__name__
    try:
        store.finish_run(summary.run_id, "failed", summary.counts(), message=message[:2000])
    except Exception as error:
        warn_unrecorded(log, f"could not record run {summary.run_id} as failed", error, exc,
                        "it stays 'running' until the next ingest records it as failed")


def load_tools(store: GraphStore, embedder: TextEmbedder | None, extractor: PaperExtractor | None,
                taxonomy: Taxonomy | None) -> tuple[TextEmbedder, PaperExtractor, Taxonomy]:
    """The embedder, extractor and taxonomy a run writes with: the ones given, else the configured ones.
    Raises ModelMismatch before anything is embedded or written when the store holds another model's
    vectors (mixed in, every cosine would be meaningless)."""
    from ingest.embed import check_store_model

    if embedder is None:
        embedder = _load_embedder()
    check_store_model(store, embedder.model_name)
    # One taxonomy for extraction and the list's section map.
    extractor, taxonomy = extraction_tools(extractor, taxonomy)
    return embedder, extractor, taxonomy


def _ingest_chunk(
    store: GraphStore, chunk: list[tuple[str, tuple[Record, str | None, list[str]]]], summary: IngestSummary,
    embedder: TextEmbedder, extractor: PaperExtractor, embedding_text: TextOf, text_hash: HashOf,
    node_labels: dict[str, str], sections_of: Taxonomy, lock: HeldLock,
) -> None:
    merged: list[Merged] = []
    lines: dict[str, list[int]] = {}  # paper id -> the list lines of its rows in this run
    for target, (record, stored_id, _aliases) in chunk:
        stored = store.get_paper(stored_id) if stored_id else None
        if stored is None and stored_id is None:
            stored = store.get_paper(target)
        paper, replace_rows = _merge_with_stored(record, stored, target)
        rows, list_techs, list_evals = _list_edges(record, stored, replace_rows, node_labels, sections_of)
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
    statuses, rekey, computed = write_papers(store, merged, embedder, extractor, embedding_text,
                                              text_hash, lock,
                                              aliases={target: ids for target, (_r, _s, ids) in chunk},
                                              written=bundles)
    summary.embedded += computed
    summary.rekeyed.update(rekey)
    stored_of = {item[1].id: item[0] for item in merged}
    bundle_of = {bundle.paper.id: bundle for bundle in bundles}
    previous_id = {new_id: old_id for old_id, new_id in rekey.items()}
    for paper_id, status in statuses.items():
        stored, bundle = stored_of.get(paper_id), bundle_of.get(paper_id)
        if status == "updated" and paper_id not in rekey.values() and _lines_moved_only(stored, bundle):
            status = "unchanged"  # written for its new line numbers, nothing else changed
            summary.moved += 1
        summary.statuses[paper_id] = status
        withdrawn = bundle is not None and is_withdrawn(bundle.paper.abstract)
        if withdrawn and lines.get(paper_id) and bundle is not None:
            # Every run the list names it, unchanged or not: its curator decides whether the row goes.
            summary.listed_withdrawn.append({"paper_id": paper_id, "title": bundle.paper.title,
                                             "lines": lines[paper_id]})
        if status == "unchanged":
            summary.unchanged += 1
            continue
        entry: dict[str, Any] = {"paper_id": paper_id, "title": bundle.paper.title if bundle else "",
                                 "lines": lines.get(paper_id, [])}
        if stored is not None and bundle is not None and stored.paper.title != bundle.paper.title:
            entry["previous_title"] = stored.paper.title
        if paper_id in previous_id:
            entry["previous_id"] = previous_id[paper_id]
        # Stored before vs written: a new paper arXiv already lists as withdrawn is said so too.
        was_withdrawn = stored is not None and is_withdrawn(stored.paper.abstract)
        if withdrawn != was_withdrawn and bundle is not None:
            entry["withdrawn_change"] = "withdrawn" if withdrawn else "reinstated"
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


def ingest_records_file(
    store: GraphStore, path: str | Path, *, embedder: TextEmbedder | None = None,
    extractor: PaperExtractor | None = None,
    progress: bool = True, skip_invalid: bool = False, batch_size: int = BATCH_SIZE,
) -> IngestSummary:
    """Import a JSON Lines file in the seed_papers.jsonl format through the pipeline."""
    from ingest.records_file import read_records_file, records_file_name

    check_batch_size(batch_size)
    read = read_records_file(path, skip_invalid=skip_invalid)
    return run_ingest(store, read.records, source="records", embedder=embedder, extractor=extractor,
                      progress=progress, batch_size=batch_size, rejected=read.rejected(),
                      file=records_file_name(path))
