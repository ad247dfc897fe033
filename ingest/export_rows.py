"""Suggested awesome-list rows for papers first seen since a date, in the list's own table format.

Each paper goes to one section of the list: the findings topic its extracted findings mention most
(taxonomy `list_label_map.sections`, inverted; sub-topics roll up to their parent, e.g. steering ->
Applications of MI). A paper with no topic goes by its techniques (feature techniques -> Findings on
Features, circuit techniques -> Interpreting LM Behaviors), and with neither to the list's largest
findings section, "Findings on circuits / Interpreting LM Behaviors". Techniques and Evaluation use
the list's own label spellings ("Activation Patching", "Faithfulness"); the TL;DR is the finding
sentence (not a question) that mentions the most taxonomy nodes (else the abstract's first
sentence). Papers already in the list (they have list rows) and tools are left out. The output
parses back with `ingest.awesome_list.parse_list` into the same papers, sections and techniques.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kg.entities import PaperDetail
from kg.safe_output import safe_http_url
from kg.schema import Label
from kg.store import GraphStore
from kg.taxonomy import Taxonomy
from kg.validation import clean_text

TOP_SECTION = "Findings and Applications"
DEFAULT_SECTION = "Findings on circuits / Interpreting LM Behaviors"
_NOT_FINDINGS = {"Techniques", "Evaluation", "Tools"}
# Techniques the taxonomy figure draws from Features (red arrows) vs from Circuits (green arrows).
_FEATURE_TECHNIQUES = ("probing", "automated_feature_explanation", "sae", "logit_lens", "visualization")
_CIRCUIT_TECHNIQUES = ("cma", "knockout")
_HEADER = "|  Paper  |      Techniques    |      Evaluation    |      TL;DR    |"
_SEPARATOR = "| :----- | :--------------: | :--------------: | :--------------: |"


@dataclass
class SuggestedRow:
    """One suggested row: where it goes and its cells."""

    paper_id: str
    title: str
    url: str  # "" when the paper has neither an arXiv id nor a URL
    section: str  # a key of taxonomy.section_topics, e.g. "Findings on Features"
    technique_ids: list[str] = field(default_factory=list)
    evaluation_ids: list[str] = field(default_factory=list)
    techniques: list[str] = field(default_factory=list)  # list spellings
    evaluations: list[str] = field(default_factory=list)
    tldr: str = ""

    @property
    def section_path(self) -> list[str]:
        """The list's heading path for the section ("Findings on circuits / X" is two levels)."""
        return [TOP_SECTION, *[p.strip() for p in self.section.split("/")]]


def _cell(text: str) -> str:
    """Text safe inside a markdown table cell: one line, pipes escaped, no control characters, and
    "<" as "&lt;" (GitHub renders HTML in markdown: a "<!--" would hide the rows after it), so "&"
    as "&amp;" (a title's own "&lt;" must read back as written)."""
    text = " ".join(clean_text(text).split()).replace("&", "&amp;").replace("<", "&lt;")
    return text.replace("|", "\\|")


def _link_text(title: str) -> str:
    # A trailing backslash would escape the closing "]" and break the link.
    return _cell(title).replace("[", "(").replace("]", ")").rstrip("\\ ")


# Characters a markdown link destination in a table cell cannot hold as they are: ")" and "(" end
# or nest it, "|" ends the cell, whitespace ends it, "<>" and "\\" change how it parses.
_URL_UNSAFE_RE = re.compile(r"[()|<>\\\s\x00-\x1f\x7f]")


def _link_url(url: str) -> str:
    """A URL percent-encoded where markdown would otherwise end the link, cell or row early."""
    return _URL_UNSAFE_RE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group(0).encode("utf-8")), url)


class LabelSpeller:
    """Taxonomy ids -> the list's own spellings (a label that maps back to exactly that id)."""

    def __init__(self, taxonomy: Taxonomy) -> None:
        self.taxonomy = taxonomy
        self._cache: dict[tuple[str, str], str | None] = {}

    def label(self, node_id: str, column: str) -> str | None:
        """The best list label for an id in a column ("techniques" or "evaluation"), or None."""
        key = (node_id, column)
        if key not in self._cache:
            self._cache[key] = self._find(node_id, column)
        return self._cache[key]

    def _find(self, node_id: str, column: str) -> str | None:
        table = self.taxonomy.technique_labels if column == "techniques" else self.taxonomy.evaluation_labels
        # Prefer the list's Title Case variant ("Activation Patching" over "Activation patching"),
        # then the shortest ("Attribution Patching" over "Attribution Patching (AtP)").
        def rank(label: str) -> tuple[bool, int]:
            words = re.split(r"[\s-]+", label)
            return (not all(w[:1].isupper() for w in words if w), len(label))

        candidates = sorted((k for k, v in table.items() if v == [node_id]), key=rank)
        node = self.taxonomy.by_id.get(node_id)
        if node is not None:
            candidates.append(node.name)
        for label in candidates:
            if "," in label or ";" in label or "+" in label:
                continue  # the list parser splits cells on these
            ids, known = self.taxonomy.map_list_label(label, column)
            if known and ids == [node_id]:
                return label
        return None


def _section_of_topic(taxonomy: Taxonomy, node_id: str, by_topic: dict[str, str]) -> str | None:
    seen: set[str] = set()
    current: str | None = node_id
    while current and current not in seen:
        if current in by_topic:
            return by_topic[current]
        seen.add(current)
        node = taxonomy.by_id.get(current)
        current = node.parent if node else None
    return None


def choose_section(detail: PaperDetail, taxonomy: Taxonomy) -> str:
    """The list section for a paper (see the module docstring)."""
    section_of = {topic: section for section, topic in taxonomy.section_topics.items()
                  if topic and section not in _NOT_FINDINGS}
    features_section = section_of.get("features")
    order = list(taxonomy.section_topics)
    counts: dict[str, int] = {}
    for finding in detail.findings:
        for about in finding.about:
            if about.label not in (Label.TOPIC, Label.OBJECT):
                continue
            section = _section_of_topic(taxonomy, about.id, section_of)
            # Superposition and polysemanticity are the list's "Findings on Features" (taxonomy comment).
            if section is None and about.id in ("superposition", "polysemanticity"):
                section = features_section
            if section:
                counts[section] = counts.get(section, 0) + 1
    if counts:
        return max(counts, key=lambda s: (counts[s], -order.index(s)))
    techniques = {t.technique_id for t in detail.techniques}
    feature = sum(any(t in taxonomy.descendants(root) for t in techniques) for root in _FEATURE_TECHNIQUES)
    circuit = sum(any(t in taxonomy.descendants(root) for t in techniques) for root in _CIRCUIT_TECHNIQUES)
    if feature > circuit and features_section:
        return features_section
    if DEFAULT_SECTION in taxonomy.section_topics or not section_of:
        return DEFAULT_SECTION
    return next(iter(section_of.values()))


def _tldr(detail: PaperDetail) -> str:
    best = None
    for index, finding in enumerate(detail.findings):
        # A question ("How does ...?") motivates; it does not state the finding.
        key = (not finding.text.rstrip().endswith("?"), len(finding.about), -index)
        if best is None or key > best[0]:
            best = (key, finding.text)
    if best is not None:
        return best[1]
    abstract = " ".join((detail.paper.abstract or "").split())
    first = re.split(r"(?<=[.!?])\s+", abstract, maxsplit=1)[0] if abstract else ""
    return first or detail.paper.title


def suggest_row(detail: PaperDetail, taxonomy: Taxonomy, speller: LabelSpeller | None = None) -> SuggestedRow:
    """The suggested list row of one paper."""
    speller = speller or LabelSpeller(taxonomy)
    paper = detail.paper
    # Only http(s) URLs become links (kg.safe_output, the rule of every output): never javascript:.
    url = (f"https://arxiv.org/pdf/{paper.arxiv_id}" if paper.arxiv_id
           else safe_http_url(paper.url) or safe_http_url(paper.pdf_url) or "")
    row = SuggestedRow(paper_id=paper.id, title=paper.title, url=url,
                       section=choose_section(detail, taxonomy), tldr=_tldr(detail))
    for use in detail.techniques:
        node = taxonomy.by_id.get(use.technique_id)
        label = speller.label(use.technique_id, "techniques")
        is_technique = node is not None and node.label == Label.TECHNIQUE
        if is_technique and label and use.technique_id not in row.technique_ids:
            row.technique_ids.append(use.technique_id)
            row.techniques.append(label)
    for use in detail.evaluations:
        label = speller.label(use.evaluation_id, "evaluation")
        if label and use.evaluation_id not in row.evaluation_ids:
            row.evaluation_ids.append(use.evaluation_id)
            row.evaluations.append(label)
    return row


def suggested_rows(
    store: GraphStore, since: str, taxonomy: Taxonomy, limit: int = 1000
) -> list[SuggestedRow]:
    """Rows for papers first seen since `since` that the list does not have yet (oldest first)."""
    speller = LabelSpeller(taxonomy)
    rows = []
    for paper in reversed(store.new_papers(since, limit=limit)):
        if paper.item_type != "paper":
            continue
        detail = store.get_paper(paper.id)
        if detail is None or detail.list_rows:
            continue
        rows.append(suggest_row(detail, taxonomy, speller))
    return rows


def render_rows(rows: list[SuggestedRow], taxonomy: Taxonomy) -> str:
    """Markdown: section headings (list levels ###/####/#####) with a 4-column table each."""
    order = [s for s in taxonomy.section_topics if s not in _NOT_FINDINGS]
    grouped: dict[str, list[SuggestedRow]] = {}
    for row in rows:
        grouped.setdefault(row.section, []).append(row)
    lines: list[str] = []
    printed: list[str] = []
    for section in sorted(grouped, key=lambda s: order.index(s) if s in order else len(order)):
        path = grouped[section][0].section_path
        shared = 0  # headings already printed for the previous section (never its innermost one)
        while shared < min(len(printed), len(path)) - 1 and printed[shared] == path[shared]:
            shared += 1
        if lines:
            lines.append("")
        for depth in range(shared, len(path)):
            lines.append(f"{'#' * (3 + depth)} {path[depth]}")
        printed = path
        lines += [_HEADER, _SEPARATOR]
        for row in grouped[section]:
            # An empty "[title]()" is a broken link; the list's parser reads a bare title as the paper.
            paper = f"[{_link_text(row.title)}]({_link_url(row.url)})" if row.url else _link_text(row.title)
            lines.append(
                f"| {paper} | {_cell(', '.join(row.techniques))} | "
                f"{_cell(', '.join(row.evaluations))} | {_cell(row.tldr)} |"
            )
    return "\n".join(lines) + ("\n" if lines else "")


def list_rows_markdown(store: GraphStore, since: str, taxonomy: Taxonomy | None = None) -> str:
    """Ready-to-paste list rows for papers first seen since `since` ("" when there are none)."""
    if taxonomy is None:
        from kg.config import load_config
        from kg.taxonomy import load_taxonomy

        taxonomy = load_taxonomy(load_config().taxonomy)
    return render_rows(suggested_rows(store, since, taxonomy), taxonomy)
