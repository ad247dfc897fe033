"""Writing merged papers: extract (or keep a stored extraction that would come out the same), embed
(cached) and upsert them, one write per batch.

Shared by the ingest run (ingest.pipeline), --prune (ingest.prune) and the re-extraction
(ingest.reextract)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ingest.store_lock import HeldLock
from kg.entities import EvaluationUse, Finding, ListRow, Paper, PaperBundle, PaperDetail, TechniqueUse
from kg.schema import EDGE_SOURCE_EXTRACTED, EDGE_SOURCE_LIST
from kg.store import GraphStore

if TYPE_CHECKING:
    from ingest.embed import TextEmbedder
    from ingest.extract import PaperExtractor

# ingest.embed's embedding_text and text_hash, passed down: importing that module loads numpy.
TextOf = Callable[[str, str], str]
HashOf = Callable[[str], str]

# A paper's list rows, with the list's technique and evaluation edges.
ListEdges = tuple[list[ListRow], list[TechniqueUse], list[EvaluationUse]]
# A paper to write: its stored detail (None: new), the merged Paper, the stored id it was matched by,
# and its list rows with the list's technique and evaluation edges.
Merged = tuple[PaperDetail | None, Paper, str | None, ListEdges]


def _tldr_stand_in(rows: Sequence[ListRow]) -> str:
    """The list's TL;DRs of a paper, for embedding a paper that has no abstract.

    A title alone embeds as noise (cosine about 0.15 with every paper, bench/related_eval.py), so
    the logit-lens post sank in every related list and semantic search; the TL;DRs describe it.
    A paper with an abstract is embedded from its own words only (extraction reads the TL;DRs of
    every paper, see extraction_tldrs).
    """
    return " ".join(dict.fromkeys(r.tldr.strip() for r in rows if r.tldr and r.tldr.strip()))


def extraction_tldrs(rows: Sequence[ListRow]) -> list[str]:
    """The TL;DRs extraction reads for a paper's techniques and evaluations: distinct, sorted.

    Sorted so the input, its hash and the evidence chosen do not depend on the order rows come in
    (a list ingest reads them in list order, other sources keep the stored rows).
    """
    return sorted({r.tldr.strip() for r in rows if r.tldr and r.tldr.strip()})


def stored_list_edges(stored: PaperDetail) -> ListEdges:
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
    they are embedded) and list TL;DRs (extraction_hash). The id must match too (finding ids start
    with the paper id: a slug paper re-keyed to its arXiv id is extracted anew), and so must the
    title (the joined text is not one-to-one: "A. B" + "C" and "A" + "B. C" join alike, yet
    extraction treats the title apart).
    """
    if (stored is None or paper.extraction_hash is None
            or stored.paper.extraction_hash != paper.extraction_hash
            or stored.paper.id != paper.id or stored.paper.title.strip() != paper.title.strip()):
        return None
    return extraction_of(stored)


def extraction_of(stored: PaperDetail) -> _StoredExtraction:
    """A stored paper's extracted edges, whatever extracted them."""
    # Reads fill in read-only fields (label, name): drop them so the bundle equals a fresh extraction.
    return _StoredExtraction(
        techniques=[replace(t, label=None) for t in stored.techniques if t.source == EDGE_SOURCE_EXTRACTED],
        evaluations=[replace(e, label=None) for e in stored.evaluations if e.source == EDGE_SOURCE_EXTRACTED],
        findings=[replace(f, about=[replace(a, name=None) for a in f.about]) for f in stored.findings],
        models=[m.id for m in stored.models],
    )


def extraction_hash(signature: str, paper: Paper, tldrs: Sequence[str], embedding_text: TextOf,
                     text_hash: HashOf) -> str:
    """sha256 of what extraction reads: the extractor signature, title + abstract, and the list TL;DRs.

    Not the embedded text: a paper with an abstract is embedded without its TL;DRs, yet a changed
    TL;DR changes its extracted techniques. The TL;DRs go last as a JSON list, which holds no raw
    newline, so the last newline marks where the title and abstract end (no two inputs hash alike).
    """
    extracted_text = embedding_text(paper.title, paper.abstract or "")
    return str(text_hash(f"{signature}\n{extracted_text}\n{json.dumps(list(tldrs), ensure_ascii=False)}"))


def merged_extractions(merged: list[Merged], extractor: PaperExtractor, embedding_text: TextOf,
                 text_hash: HashOf) -> dict[str, Any]:
    """Each merged paper's extraction by paper id: its stored one when extracting it again would give the
    same (_stored_extraction), else a fresh one, all fresh ones in one extract_many call. Sets each
    paper's extraction_hash when the extractor has a signature."""
    extractions: dict[str, Any] = {}
    signature = getattr(extractor, "signature", None)
    todo: list[tuple[str, str, str, list[str]]] = []
    for stored, paper, _i, edges in merged:
        tldrs = extraction_tldrs(edges[0])
        if signature is not None:
            paper.extraction_hash = extraction_hash(signature, paper, tldrs, embedding_text, text_hash)
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


def write_papers(
    store: GraphStore, merged: list[Merged], embedder: TextEmbedder, extractor: PaperExtractor,
    embedding_text: TextOf, text_hash: HashOf, lock: HeldLock,
    aliases: dict[str, list[str]] | None = None, extractions: dict[str, Any] | None = None,
    written: list[PaperBundle] | None = None,
) -> tuple[dict[str, str], dict[str, str], int]:
    """Extract (or keep a stored extraction that would come out the same), embed (cached) and upsert
    merged papers in one write: (status by paper id, old slug id -> new id, vectors computed).
    `aliases`: by paper id, other ids that lead to it (PaperBundle.aliases); `extractions`: the papers'
    extractions when the caller has them already (merged_extractions); `lock` is checked just before the
    write; `written`: a list the bundles given to the store are added to."""
    bundles: list[PaperBundle] = []
    rekey: dict[str, str] = {}
    texts = [embedding_text(p.title, p.abstract or _tldr_stand_in(edges[0])) for _s, p, _i, edges in merged]
    if extractions is None and extractor is not None:
        extractions = merged_extractions(merged, extractor, embedding_text, text_hash)
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

    # No bar of the embedder's own ("Batches"): every caller draws one over its papers, which the
    # embedder's redrew under, line after line.
    vectors, computed = embed_with_cache(embedder, store, texts, progress=False)
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
