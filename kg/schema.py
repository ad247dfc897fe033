"""The graph schema shared by every backend: node labels, relationship types, properties."""

from __future__ import annotations

from dataclasses import dataclass

EMBEDDING_DIM = 384


class Label:
    """Node labels."""

    PAPER = "Paper"
    AUTHOR = "Author"
    TECHNIQUE = "Technique"
    EVALUATION = "Evaluation"
    TOPIC = "Topic"
    OBJECT = "Object"
    FINDING = "Finding"
    COMPONENT = "Component"
    MODEL = "Model"
    LIST_SECTION = "ListSection"
    INGEST_RUN = "IngestRun"
    # Bookkeeping labels (not part of the paper graph, no NodeSpec): used by the Neo4j backend.
    CACHED_EMBEDDING = "CachedEmbedding"
    LOCK = "Lock"
    REJECTION = "Rejection"
    PAPER_ALIAS = "PaperAlias"  # a former paper id (a slug replaced by its arXiv id) and its successor


class Rel:
    """Relationship types."""

    AUTHORED_BY = "AUTHORED_BY"
    USES = "USES"
    REFINES = "REFINES"
    EVALUATES = "EVALUATES"
    REPORTS = "REPORTS"
    ABOUT = "ABOUT"
    STUDIES = "STUDIES"
    LISTED_IN = "LISTED_IN"


@dataclass(frozen=True)
class NodeSpec:
    """A node label, its key property and its properties."""

    label: str
    key: str
    properties: tuple[str, ...]


@dataclass(frozen=True)
class RelSpec:
    """A relationship type, the labels it connects and its properties."""

    type: str
    start: tuple[str, ...]
    end: tuple[str, ...]
    properties: tuple[str, ...] = ()


PAPER_PROPERTIES: tuple[str, ...] = (
    "id", "arxiv_id", "doi", "title", "abstract", "authors_text", "published", "updated",
    "year", "venue", "primary_category", "categories", "url", "pdf_url", "sources",
    "embedding", "embedding_model", "content_hash", "first_seen", "last_seen", "item_type",
    "extraction_hash",
)

NODES: dict[str, NodeSpec] = {
    spec.label: spec
    for spec in (
        NodeSpec(Label.PAPER, "id", PAPER_PROPERTIES),
        NodeSpec(Label.AUTHOR, "key", ("key", "name")),
        NodeSpec(Label.TECHNIQUE, "id", ("id", "label", "aliases", "kind", "parent")),
        NodeSpec(Label.EVALUATION, "id", ("id", "label", "aliases", "parent")),
        NodeSpec(Label.TOPIC, "id", ("id", "label", "aliases", "parent")),
        NodeSpec(Label.OBJECT, "id", ("id", "label", "aliases")),
        NodeSpec(Label.FINDING, "id", ("id", "text", "kind", "source")),
        NodeSpec(Label.COMPONENT, "id", ("id", "label", "aliases")),
        NodeSpec(Label.MODEL, "id", ("id", "label", "aliases")),
        NodeSpec(Label.LIST_SECTION, "id", ("id", "title", "path")),
        NodeSpec(
            Label.INGEST_RUN,
            "id",
            ("id", "source", "started", "finished", "status", "counts", "watermark", "message"),
        ),
    )
}

# Labels whose nodes come from the taxonomy file (loaded by `paperkg init`).
TAXONOMY_LABELS: tuple[str, ...] = (
    Label.TECHNIQUE, Label.EVALUATION, Label.TOPIC, Label.OBJECT, Label.COMPONENT, Label.MODEL,
)

RELATIONSHIPS: dict[str, RelSpec] = {
    spec.type: spec
    for spec in (
        RelSpec(Rel.AUTHORED_BY, (Label.PAPER,), (Label.AUTHOR,), ("position",)),
        RelSpec(Rel.USES, (Label.PAPER,), (Label.TECHNIQUE,), ("source", "evidence", "score")),
        # REFINES links a taxonomy node to its parent of the same label (the figure's
        # dotted boxes for techniques; sub-criteria and sub-topics likewise).
        RelSpec(
            Rel.REFINES,
            (Label.TECHNIQUE, Label.EVALUATION, Label.TOPIC),
            (Label.TECHNIQUE, Label.EVALUATION, Label.TOPIC),
        ),
        RelSpec(Rel.EVALUATES, (Label.PAPER,), (Label.EVALUATION,), ("source", "evidence")),
        RelSpec(Rel.REPORTS, (Label.PAPER,), (Label.FINDING,)),
        RelSpec(
            Rel.ABOUT,
            (Label.FINDING,),
            (Label.TOPIC, Label.COMPONENT, Label.MODEL, Label.OBJECT),
        ),
        RelSpec(Rel.STUDIES, (Label.PAPER,), (Label.MODEL,)),
        RelSpec(
            Rel.LISTED_IN,
            (Label.PAPER,),
            (Label.LIST_SECTION,),
            ("tldr", "techniques_text", "evaluation_text", "title_in_list", "url_in_list", "line"),
        ),
    )
}

# Where a relationship's `source` property says where an edge came from.
EDGE_SOURCE_LIST = "list"
EDGE_SOURCE_EXTRACTED = "extracted"
EDGE_SOURCES = (EDGE_SOURCE_LIST, EDGE_SOURCE_EXTRACTED)
# Starts the evidence of an extracted edge found in the list's TL;DR rather than the paper's abstract.
TLDR_EVIDENCE_PREFIX = "List TL;DR: "
# The IngestRun sources of the weekly arXiv ingest: the run, and the load of the papers it kept (a run of
# its own, named in the weekly run's counts as "load_run"). Here, so the web app names them without
# importing the ingest stack.
RUN_SOURCE_WEEKLY = "arxiv-weekly"
RUN_SOURCE_WEEKLY_LOAD = "arxiv-weekly-load"
