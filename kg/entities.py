"""Plain dataclasses that cross the GraphStore boundary (inputs to upserts, results of reads)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Paper:
    """A paper node. `id` is the arXiv id (no version) when there is one, else a stable slug."""

    id: str
    title: str
    abstract: str = ""
    arxiv_id: str | None = None
    doi: str | None = None
    authors: list[str] = field(default_factory=list)
    published: str | None = None  # ISO date, arXiv v1 (or the post's date)
    updated: str | None = None  # ISO date of the newest version
    # arXiv version (the N of vN) the metadata was taken from; None: unknown (not from arXiv, or stored
    # before versions were kept). Two versions a day share a date, so only this tells them apart.
    arxiv_version: int | None = None
    year: int | None = None
    venue: str | None = None
    primary_category: str | None = None
    categories: list[str] = field(default_factory=list)
    url: str | None = None
    pdf_url: str | None = None
    sources: list[str] = field(default_factory=list)  # "list", "arxiv", "records"
    item_type: str = "paper"  # "paper" | "tool"
    embedding: np.ndarray | None = None  # float32, EMBEDDING_DIM, L2-normalised
    embedding_model: str | None = None
    content_hash: str | None = None  # sha256 of the embedded text
    extraction_hash: str | None = None  # sha256 of extractor signature, title + abstract, list TL;DRs
    first_seen: str | None = None  # ISO timestamp, set by the store on first insert
    last_seen: str | None = None  # ISO timestamp, set by the store on every upsert
    # The BibTeX citation key the store issued (filled on reads; a bundle's value is ignored): unique
    # in the store, kept for good once the paper has authors (see kg.store.plan_citation_keys).
    citation_key: str | None = None

    @property
    def authors_text(self) -> str:
        """Authors joined for display and full-text search."""
        return ", ".join(self.authors)


@dataclass
class TechniqueUse:
    """(Paper)-[:USES]->(Technique): `source` is "list" or "extracted"."""

    technique_id: str
    source: str
    evidence: str | None = None
    score: float | None = None
    label: str | None = None  # filled on reads


@dataclass
class EvaluationUse:
    """(Paper)-[:EVALUATES]->(Evaluation)."""

    evaluation_id: str
    source: str
    evidence: str | None = None
    label: str | None = None  # filled on reads


@dataclass
class FindingAbout:
    """A node a finding is about: `label` is Topic, Component, Model or Object."""

    label: str
    id: str
    name: str | None = None  # filled on reads


@dataclass
class Finding:
    """(Paper)-[:REPORTS]->(Finding)-[:ABOUT]->(...). `id` is stable: paper id + sentence hash."""

    id: str
    text: str
    kind: str = "claim"
    source: str = "extracted"
    about: list[FindingAbout] = field(default_factory=list)


@dataclass
class ListRow:
    """(Paper)-[:LISTED_IN]->(ListSection): one row of the awesome-list."""

    section_id: str  # stable slug of the section path, e.g. "findings-and-applications/findings-on-features"
    section_title: str  # the innermost heading
    section_path: list[str]  # every heading from the top section down
    tldr: str | None = None
    techniques_text: str | None = None  # the Techniques cell verbatim
    evaluation_text: str | None = None  # the Evaluation cell verbatim
    title_in_list: str | None = None
    url_in_list: str | None = None
    line: int | None = None  # line number in the list's markdown
    # Topics the taxonomy's section map gives this row's section ("Interpreting Transformer
    # Components" -> lm_components): the topic filter matches the section by these too.
    topic_ids: list[str] = field(default_factory=list)


@dataclass
class PaperBundle:
    """A paper with all its outgoing edges. An upsert replaces the paper's edges with these."""

    paper: Paper
    techniques: list[TechniqueUse] = field(default_factory=list)
    evaluations: list[EvaluationUse] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    models: list[str] = field(default_factory=list)  # Model ids (STUDIES)
    list_rows: list[ListRow] = field(default_factory=list)
    # Ids of stored papers this one supersedes (a slug stored before the arXiv id was known):
    # the store deletes them in the same transaction and the paper keeps their first_seen.
    replaces: list[str] = field(default_factory=list)
    # Other ids of this paper (the ids a records file gave to records merged into it): each leads to
    # the paper (GraphStore.successor_of) unless it is the id of a stored paper or of one in the batch.
    aliases: list[str] = field(default_factory=list)


@dataclass
class PaperDetail:
    """A paper with its neighbourhood, as returned by `GraphStore.get_paper`."""

    paper: Paper
    techniques: list[TechniqueUse]
    evaluations: list[EvaluationUse]
    findings: list[Finding]
    models: list[FindingAbout]  # label == "Model"
    list_rows: list[ListRow]
    former_ids: list[str] = field(default_factory=list)  # ids that lead to it (GraphStore.former_ids)


@dataclass
class TaxonomyNode:
    """A node of the taxonomy: `label` is the graph label (Technique, Topic, ...)."""

    label: str
    id: str
    name: str
    aliases: list[str] = field(default_factory=list)
    ambiguous_aliases: list[str] = field(default_factory=list)
    parent: str | None = None  # id of the node it refines (same label) or belongs to
    kind: str | None = None  # e.g. "figure" or "extension" for techniques


# How the technique filter combines its ids: "any" (a paper using one of them) or "all" (a paper
# using each of them).
TECHNIQUE_MATCHES = ("any", "all")


@dataclass
class SearchFilters:
    """Filters applied in every search mode. Technique ids are expanded with refinements by the store.

    The ids of one filter are OR'ed, different filters AND'ed; `technique_match` "all" makes the
    technique ids AND'ed instead: a paper passes when, for each id, it uses (or evaluates) that node
    or (with `include_refinements`) one of its refinements. A model id passes the papers that study
    the model (STUDIES) or report a finding about it. A component id passes the papers reporting a
    finding about the component or (with `include_refinements`, as for techniques) one of its
    sub-components: multi-head attention takes the induction-head findings."""

    technique_ids: list[str] = field(default_factory=list)
    topic_ids: list[str] = field(default_factory=list)
    section_ids: list[str] = field(default_factory=list)
    year_from: int | None = None
    year_to: int | None = None
    sources: list[str] = field(default_factory=list)
    include_refinements: bool = True
    technique_match: str = "any"
    model_ids: list[str] = field(default_factory=list)
    component_ids: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        # The stores shape their queries by this value: anything else must not reach them.
        if self.technique_match not in TECHNIQUE_MATCHES:
            raise ValueError(f"technique_match must be one of {', '.join(TECHNIQUE_MATCHES)}, "
                             f"not {self.technique_match!r}")

    def is_empty(self) -> bool:
        """True when no filter is set (technique_match and include_refinements alone are not filters)."""
        return not (
            self.technique_ids or self.topic_ids or self.section_ids or self.sources or self.model_ids
            or self.component_ids or self.year_from is not None or self.year_to is not None
        )

    def technique_groups(self) -> list[list[str]]:
        """The technique filter as groups of ids a paper must touch one of each (before refinements):
        one group of every id ("any"), or one group per id ("all"); none without a technique filter."""
        if not self.technique_ids:
            return []
        if self.technique_match == "all":
            return [[i] for i in dict.fromkeys(self.technique_ids)]
        return [list(self.technique_ids)]


@dataclass
class ScoredId:
    """A paper id with a score (cosine for vector search, BM25-derived for keyword search)."""

    id: str
    score: float


@dataclass
class RelatedCandidate:
    """A paper that shares something with a given paper, with what it shares."""

    id: str
    shared_techniques: list[str] = field(default_factory=list)
    shared_topics: list[str] = field(default_factory=list)
    shared_components: list[str] = field(default_factory=list)
    shared_models: list[str] = field(default_factory=list)
    shared_authors: list[str] = field(default_factory=list)


@dataclass
class TechniqueCount:
    """A taxonomy node with its paper counts (own, and including refinements)."""

    id: str
    label: str  # the graph label (Technique, Evaluation, Topic or Object), not the display name
    parent: str | None
    kind: str | None
    own_count: int
    total_count: int


@dataclass
class IngestRun:
    """A record of one ingest run."""

    id: str
    source: str
    started: str
    finished: str | None = None
    status: str = "running"  # running | succeeded | failed
    counts: dict[str, Any] = field(default_factory=dict)
    watermark: str | None = None
    message: str | None = None


@dataclass
class Rejection:
    """A candidate the weekly relevance gate turned away, kept for auditing."""

    arxiv_id: str
    title: str
    reason: str
    score: float
    run_id: str | None = None
    seen_at: str | None = None
