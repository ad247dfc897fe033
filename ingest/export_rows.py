"""Suggested awesome-list rows for papers first seen since a date, in the list's own table format.

Each paper goes to one section of the list, chosen from the findings topics of its extracted findings
(taxonomy `list_label_map.sections`, inverted; sub-topics roll up to their parent, e.g. steering ->
Applications of MI). A topic the title names weighs 2, one a claim sentence names 1; the
"Interpreting Transformer Components" topic (`lm_components`, whose aliases are component names such
as "attention heads" or "residual stream") weighs half that, as a component named in passing, and
ties go to the section the paper is more about (its non-component topics, then its title), section
order last. A paper whose only topic is components named in passing and whose techniques are all
feature techniques goes to Findings on Features (the components section is a circuits finding). A
paper with no topic that has a list section goes by its techniques (feature techniques -> Findings on
Features, circuit techniques -> Interpreting LM Behaviors), and with neither to the list's largest
findings section, "Findings on circuits / Interpreting LM Behaviors". Those rules are the MI list's:
they apply only where the taxonomy has those sections and technique ids. In another list a paper no
section takes goes under "Unsorted" (UNSORTED_SECTION), a heading of its own for the maintainer to
move the row from. The reason is written above each section's table as an HTML comment (hidden on
GitHub, ignored by the list parser); it names the topics that have no list section ("no topic with a
list section (Allostery has none)").

Each section's rows go under the list's own headings for it (ListHeadings): with the list's markdown
(`--list`), the headings and levels the list uses for the section's path, the headings every table
shares left out as the list parser leaves them out; without it, the stored list section path that ends
with the section key (its headings), from level 2 (##); with neither, the key's own headings. The MI
list's findings sections sit under "### Findings and Applications" (below "## Paper Collection"), as
in the seed list.

Techniques and Evaluation use the spelling the list itself uses most for a label (from the stored
list rows), else the list label map's, else the taxonomy node's name. The TL;DR is a claim sentence
(never the title): the one naming the most taxonomy nodes, skipping questions and sentences whose
opening refers back ("It", "This", "Applying it to ..."); with none, the abstract's first sentence
that shows or finds something, else its first "We ..." sentence, else its first sentence, else
nothing (an empty TL;DR cell for a paper with neither claims nor an abstract). Rows are
ordered oldest first (published date, then id). Papers already in the list (they have list rows),
tools, and papers whose abstract says they are withdrawn (`kg.withdrawn.is_withdrawn`: arXiv replaces
a withdrawn paper's abstract by a notice such as "This paper has been withdrawn by the authors.") are
left out; `list_rows_export` names the withdrawn ones (the API, web pages and feed mark them). Rows
are built from the newest `limit` papers (ROW_LIMIT, 1000) first seen since the date;
`list_rows_export` also counts all of them, so a caller can say when older ones were not looked at.
The output parses back with `ingest.awesome_list.parse_list` into the same papers, sections and
techniques, each row's title as the paper's title and its link as the paper's own URL: the Markdown a
title or TL;DR holds ("[", "*", "_", a URL's "://") is written escaped by a backslash, as GitHub shows
it, and a paper without a URL is its title alone.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from ingest.awesome_list import GENERIC_LINK_TEXT, heading_chains, spelled_labels, table_layouts
from kg.entities import Finding, PaperDetail, SearchFilters
from kg.explain import split_sentences
from kg.safe_output import safe_http_url
from kg.schema import Label
from kg.store import GraphStore
from kg.taxonomy import Taxonomy
from kg.validation import clean_text
from kg.withdrawn import is_withdrawn

# The heading the MI list (the seed list) writes its findings sections under, at level 3 (below
# "## Paper Collection", which every table shares and the parser leaves out of the stored paths).
TOP_SECTION = "Findings and Applications"
DEFAULT_SECTION = "Findings on circuits / Interpreting LM Behaviors"
# Where a paper goes when no section can be chosen in a list other than the MI one: a heading of its
# own, which the maintainer replaces by the right section (it maps to no topic).
UNSORTED_SECTION = "Unsorted"
_NOT_FINDINGS = {"Techniques", "Evaluation", "Tools"}
# Techniques the taxonomy figure draws from Features (red arrows) vs from Circuits (green arrows).
_FEATURE_TECHNIQUES = ("probing", "automated_feature_explanation", "sae", "logit_lens", "visualization")
_CIRCUIT_TECHNIQUES = ("cma", "knockout")
# Topics whose aliases are transformer component names ("attention heads", "residual stream", "MLP
# neurons"): naming one says which component a sentence is about, rarely what the paper is about.
_COMPONENT_TOPICS = ("lm_components",)
_HEADER = "|  Paper  |      Techniques    |      Evaluation    |      TL;DR    |"
_SEPARATOR = "| :----- | :--------------: | :--------------: | :--------------: |"
_DEFAULT_LAYOUT = [("Paper", "paper"), ("Techniques", "techniques"), ("Evaluation", "evaluation"),
                   ("TL;DR", "tldr")]


Heading = tuple[int, str]  # (level: the number of "#", text)


def _key_parts(section: str) -> list[str]:
    """The headings a section key names: "Findings on circuits / X" -> ["Findings on circuits", "X"]."""
    return [p.strip() for p in section.split("/")]


@dataclass
class SuggestedRow:
    """One suggested row: where it goes, why, and its cells."""

    paper_id: str
    title: str
    url: str  # "" when the paper has neither an arXiv id nor a URL
    section: str  # a key of taxonomy.section_topics, e.g. "Findings on Features", or UNSORTED_SECTION
    technique_ids: list[str] = field(default_factory=list)
    evaluation_ids: list[str] = field(default_factory=list)
    techniques: list[str] = field(default_factory=list)  # list spellings
    evaluations: list[str] = field(default_factory=list)
    tldr: str = ""
    reason: str = ""  # why this section, e.g. "the title and 1 claim name Learning Dynamics"
    published: str | None = None
    # (level, text) of each heading above the row, as the list writes them (ListHeadings); empty: the
    # section key's own headings from level 2.
    headings: list[Heading] = field(default_factory=list)

    @property
    def section_path(self) -> list[str]:
        """The list's heading path for the section ("Findings on circuits / X" is two levels)."""
        return [text for _level, text in self.headings] or _key_parts(self.section)


def _cell(text: str) -> str:
    """Text safe inside a markdown table cell: one line, pipes escaped, no control characters, and
    "<" as "&lt;" (GitHub renders HTML in markdown: a "<!--" would hide the rows after it), so "&"
    as "&amp;" (a title's own "&lt;" must read back as written)."""
    text = " ".join(clean_text(text).split()).replace("&", "&amp;").replace("<", "&lt;")
    return text.replace("|", "\\|")


def _heading_line(text: str) -> str:
    """A heading's text on one line (a section key or a list heading, written as the list writes it)."""
    return " ".join(clean_text(text).split())


def _comment_text(text: str) -> str:
    """Text safe inside an HTML comment line: one line, and no "<" or ">" (a title's "-->" would end it)."""
    return " ".join(clean_text(text).split()).replace("<", "&lt;").replace(">", "&gt;")


# What Markdown would read as markup in a title or a TL;DR: links and images ("[", "]"), emphasis,
# strikethrough and code ("*", "_", "~", "`"), a backslash (it escapes what follows) and the ":" of a
# URL ("http://x" in a title is no link of the paper's): each written after a backslash, which GitHub
# shows as the character itself and the list parser reads back so.
_MARKDOWN_SPECIAL = re.compile(r"[\\\[\]*_~`]|:(?=//)")
# Also escaped in a title written without a link: "(" and ")", so a bracket pair around all of it
# ("(Whole title)") is the title's own, not what the parser takes off a URL-less "[Title]".
_BARE_TITLE_SPECIAL = re.compile(r"[\\\[\]()*_~`]|:(?=//)")


def _escaped(text: str, special: re.Pattern[str] = _MARKDOWN_SPECIAL) -> str:
    """text with each character Markdown would read as markup (`special`) escaped by a backslash."""
    return special.sub(lambda m: "\\" + m.group(0), " ".join(clean_text(text).split()))


def _text_cell(text: str) -> str:
    """A _cell that can hold no link, image, emphasis or code span: "[text](url)" and "![alt](url)"
    from a title or an abstract render as the text they are, not as a link hiding where it goes, and
    read back as that text."""
    return _cell(_escaped(text))


def _paper_cell(title: str, url: str) -> str:
    """The Paper cell: "[title](url)", or with no URL the title alone (an empty "[title]()" is a broken
    link), either way read back by the list parser as the title as written and the paper's own URL."""
    if url:
        text = _text_cell(title)
        if text.strip(" []()").casefold() in GENERIC_LINK_TEXT:
            # A title the parser would take for a link's format ("Code", "Demo") and pass over: its
            # first letter as an entity, which GitHub shows as the letter and the parser reads back.
            first = next(i for i, ch in enumerate(text) if ch.isalnum())
            text = f"{text[:first]}&#{ord(text[first])};{text[first + 1:]}"
        return f"[{text}]({_link_url(url)})"
    return _cell(_escaped(title, _BARE_TITLE_SPECIAL))


# Characters a markdown link destination in a table cell cannot hold as they are: ")" and "(" end
# or nest it, "|" ends the cell, whitespace ends it, "<>" and "\\" change how it parses.
_URL_UNSAFE_RE = re.compile(r"[()|<>\\\s\x00-\x1f\x7f]")


def _link_url(url: str) -> str:
    """A URL percent-encoded where markdown would otherwise end the link, cell or row early."""
    return _URL_UNSAFE_RE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group(0).encode("utf-8")), url)


LabelUsage = dict[tuple[str, str], Counter[str]]  # (column, node id) -> spelling -> rows using it


def list_label_usage(store: GraphStore, taxonomy: Taxonomy) -> LabelUsage:
    """How often the stored list rows spell each Techniques/Evaluation label each way."""
    usage: LabelUsage = {}
    section_ids = [str(s["id"]) for s in store.list_sections()]
    if not section_ids:
        return usage
    for paper_id in sorted(store.filter_ids(SearchFilters(section_ids=section_ids))):
        detail = store.get_paper(paper_id)
        for row in detail.list_rows if detail else []:
            for column, text in (("techniques", row.techniques_text), ("evaluation", row.evaluation_text)):
                for label, node_id in spelled_labels(text, column, taxonomy):
                    usage.setdefault((column, node_id), Counter())[label] += 1
    return usage


class LabelSpeller:
    """Taxonomy ids -> the list's own spellings (a label that maps back to exactly that id)."""

    def __init__(self, taxonomy: Taxonomy, usage: LabelUsage | None = None) -> None:
        self.taxonomy = taxonomy
        self.usage = usage or {}
        self._cache: dict[tuple[str, str], str | None] = {}

    def label(self, node_id: str, column: str) -> str | None:
        """The best list label for an id in a column ("techniques" or "evaluation"), or None."""
        key = (node_id, column)
        if key not in self._cache:
            self._cache[key] = self._find(node_id, column)
        return self._cache[key]

    def _find(self, node_id: str, column: str) -> str | None:
        table = self.taxonomy.technique_labels if column == "techniques" else self.taxonomy.evaluation_labels
        # The spelling the list itself uses most ("Zero-ablation"), then the label map's Title Case
        # variant ("Activation Patching" over "Activation patching"), then the shortest
        # ("Attribution Patching" over "Attribution Patching (AtP)").
        def rank(label: str) -> tuple[bool, int]:
            words = re.split(r"[\s-]+", label)
            return (not all(w[:1].isupper() for w in words if w), len(label))

        node = self.taxonomy.by_id.get(node_id)

        def spells_name(label: str) -> bool:
            # Of two spellings the list uses equally ("Zero-ablation", "Zero-Knockout"), the one that
            # writes the node's own name ("Zero Ablation").
            return node is not None and " ".join(re.split(r"[\s-]+", label.casefold())) == " ".join(
                re.split(r"[\s-]+", node.name.casefold()))

        used = self.usage.get((column, node_id), Counter())
        candidates = sorted(used, key=lambda lab: (-used[lab], not spells_name(lab), rank(lab), lab))
        candidates += sorted((k for k, v in table.items() if v == [node_id]), key=rank)
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


@dataclass
class _Evidence:
    """What a paper's findings say for one section."""

    score: float = 0.0
    about: float = 0.0  # the part from topics that are not component names
    title: float = 0.0  # the part from the title
    in_title: bool = False
    claims: int = 0
    names: list[str] = field(default_factory=list)


def _evidence_text(evidence: _Evidence) -> str:
    """ "the title and 2 claim sentences name Learning Dynamics" """
    claims = f"{evidence.claims} claim sentence{'s' if evidence.claims != 1 else ''}"
    if evidence.in_title and evidence.claims:
        where, verb = f"the title and {claims}", "name"
    elif evidence.in_title:
        where, verb = "the title", "names"
    else:
        where, verb = claims, "names" if evidence.claims == 1 else "name"
    return f"{where} {verb} {', '.join(evidence.names)}"


def section_choice(detail: PaperDetail, taxonomy: Taxonomy) -> tuple[str, str]:
    """The list section for a paper and why (see the module docstring)."""
    section_of = {topic: section for section, topic in taxonomy.section_topics.items()
                  if topic and section not in _NOT_FINDINGS}
    # The MI list's sections by their topics: None in a taxonomy without them, and then the MI rules
    # below (feature and circuit techniques, superposition) decide nothing.
    features_section = section_of.get("features")
    default_section = DEFAULT_SECTION if DEFAULT_SECTION in taxonomy.section_topics else None
    order = list(taxonomy.section_topics)
    found: dict[str, _Evidence] = {}
    unsectioned: list[str] = []  # topics the findings name that no list section takes (named in the reason)
    for finding in detail.findings:
        is_title = finding.kind == "title"
        counted: set[str] = set()  # a finding counts once for a section
        for about in finding.about:
            if about.label not in (Label.TOPIC, Label.OBJECT):
                continue
            node = taxonomy.by_id.get(about.id)
            name = node.name if node else about.id
            section = _section_of_topic(taxonomy, about.id, section_of)
            # Superposition and polysemanticity are the list's "Findings on Features" (taxonomy comment).
            if section is None and about.id in ("superposition", "polysemanticity"):
                section = features_section
            if section is None and name not in unsectioned:
                unsectioned.append(name)
            if not section or section in counted:
                continue
            counted.add(section)
            component = about.id in _COMPONENT_TOPICS
            weight = (2.0 if is_title else 1.0) * (0.5 if component else 1.0)
            evidence = found.setdefault(section, _Evidence())
            evidence.score += weight
            evidence.about += 0.0 if component else weight
            evidence.title += weight if is_title else 0.0
            evidence.in_title |= is_title
            evidence.claims += 0 if is_title else 1
            if name not in evidence.names:
                evidence.names.append(name)
    techniques = {t.technique_id for t in detail.techniques}

    def uses(roots: tuple[str, ...]) -> int:
        """How many of `roots` the paper's techniques refine (only roots this taxonomy has: another
        field's technique is never an MI one by its id alone)."""
        return sum(any(t in taxonomy.descendants(root) for t in techniques)
                   for root in roots if root in taxonomy.by_id)

    feature, circuit = uses(_FEATURE_TECHNIQUES), uses(_CIRCUIT_TECHNIQUES)
    names = ", ".join(sorted(taxonomy.by_id[t].name for t in techniques if t in taxonomy.by_id))
    if found:
        best = max(found, key=lambda s: (found[s].score, found[s].about, found[s].title, -order.index(s)))
        evidence = found[best]
        reason = _evidence_text(evidence)
        if evidence.about == 0:
            reason += " (component names only)"
            if feature and not circuit and features_section and best != features_section:
                # The components section is a circuits finding; feature techniques alone make it a
                # finding on features.
                return features_section, f"{reason}, and its techniques ({names}) are feature techniques"
        others = sorted((s for s in found if s != best), key=lambda s: -found[s].score)
        if others:
            reason += "; also " + ", ".join(
                f"{_evidence_text(found[s])}" + (" (in passing)" if found[s].about == 0 else "")
                for s in others)
        return best, reason
    # Either no finding names a topic, or the topics named have no list section (said with their names:
    # "no finding names a topic" would be wrong for a paper about Allostery in a list without its section).
    verb = "has" if len(unsectioned) == 1 else "have"
    no_topic = (f"no topic with a list section ({', '.join(unsectioned)} {verb} none)" if unsectioned
                else "no finding names a topic")
    if feature > circuit and features_section:
        return features_section, f"{no_topic}; mostly feature techniques ({names})"
    if default_section is None:
        # No MI section stands in for another list's: the row is left for the maintainer to place.
        return UNSORTED_SECTION, (f"{no_topic}, and no technique decides: no section chosen (move the row "
                                  "to its section by hand)")
    if circuit:
        return default_section, f"{no_topic}; circuit techniques ({names})"
    return default_section, f"{no_topic}, no technique decides: the default section"


def choose_section(detail: PaperDetail, taxonomy: Taxonomy) -> str:
    """The list section for a paper (see the module docstring)."""
    return section_choice(detail, taxonomy)[0]


def _is_mi_list(taxonomy: Taxonomy) -> bool:
    """Whether the taxonomy's sections are the MI list's (its largest findings section is one)."""
    return DEFAULT_SECTION in taxonomy.section_topics


def _folded(texts: list[str]) -> list[str]:
    """Texts with whitespace runs made one space and case folded, for comparing headings."""
    return [" ".join(t.split()).casefold() for t in texts]


class ListHeadings:
    """The headings each section's rows go under: the section key's headings ("Findings on circuits /
    Interpreting LM Behaviors") as the list writes them, at the list's own levels.

    From the list's markdown when given: the list's heading whose path ends with the key (or with most
    of the key from its start, the rest added one level down each), the headings every table shares
    left out as the list parser leaves them out; a key the list has no heading for goes at the level of
    the list's top sections. Without it, the path is the longest stored list section path that ends with
    the key (the stored paths are the list's headings), else the key itself, the first heading at level
    2 (the level below the list's # title); the MI list (a taxonomy with its sections) puts its findings
    under "### Findings and Applications", as the seed list does."""

    def __init__(self, taxonomy: Taxonomy, list_markdown: str | None = None,
                 stored_paths: list[list[str]] | None = None) -> None:
        self.mi = _is_mi_list(taxonomy)
        self.stored = [list(p) for p in stored_paths or [] if p]
        self.chains: list[list[Heading]] | None = None
        self.top_level = 3 if self.mi else 2
        if list_markdown is not None:
            chains, common = heading_chains(list_markdown)
            shared = len(common)
            self.chains = [c[shared:] for c in chains
                           if len(c) > shared and [text for _level, text in c[:shared]] == common]
            if self.chains:
                self.top_level = min(c[0][0] for c in self.chains)
        self._cache: dict[str, list[Heading]] = {}

    def of(self, section: str) -> list[Heading]:
        """(level, text) of each heading a section's rows go under, outermost first."""
        if section not in self._cache:
            self._cache[section] = self._find(section)
        return self._cache[section]

    def _find(self, section: str) -> list[Heading]:
        key = _key_parts(section)
        folded = _folded(key)
        longer = [p for p in self.stored if len(p) > len(key) and _folded(p[len(p) - len(key):]) == folded]
        if longer:
            path = max(longer, key=len)
        elif self.mi and section != UNSORTED_SECTION:
            path = [TOP_SECTION, *key]
        else:
            path = key
        if self.chains is None:
            return [(self.top_level + depth, text) for depth, text in enumerate(path)]
        # The whole path or key where the list has it, before a start of either (a list's "Findings on
        # Features" wherever it is, before a "Findings and Applications" it would then be put under).
        for whole in (True, False):
            for candidate in (path, key):
                placed = self._place(candidate, whole)
                if placed:
                    return placed
        return [(self.top_level + depth, text) for depth, text in enumerate(key)]

    def _place(self, path: list[str], whole: bool) -> list[Heading] | None:
        """The list's headings ending with `path`, or unless `whole` with its longest start the list has
        (the rest of it one level down each)."""
        for known in range(len(path), len(path) - 1 if whole else 0, -1):
            want = _folded(path[:known])
            for chain in self.chains or []:
                if len(chain) >= known and _folded([text for _level, text in chain[-known:]]) == want:
                    level = chain[-1][0]
                    return chain + [(level + 1 + i, text) for i, text in enumerate(path[known:])]
        return None


# Words that refer back to an earlier sentence: a TL;DR opening with one reads as cut off.
_BACK_REFERENCES = frozenset({"it", "its", "this", "these", "they", "them", "their", "those", "such",
                              "he", "she", "his", "her"})
_RESULT = re.compile(r"\b(?:show|shows|showed|shown|find|finds|found|demonstrate|demonstrates|reveal|reveals|"
                     r"discover|discovers|observe|observes|establish|establishes)\s+that\b", re.IGNORECASE)


def _refers_back(sentence: str) -> bool:
    """Whether a sentence opens with a word that refers back ("It ...", "Applying it to X, we ...")."""
    words = re.findall(r"[A-Za-z']+", sentence)
    if not words:
        return False
    lowered = [w.casefold() for w in words]
    if lowered[0] in _BACK_REFERENCES:
        return True
    # The clause before the sentence's own subject ("we"): "Applying it to Llama-2, we find ...".
    opening = lowered[: lowered.index("we")] if "we" in lowered else []
    return any(w in _BACK_REFERENCES for w in opening)


def _tldr(detail: PaperDetail) -> str:
    """A claim sentence of the paper (see the module docstring), never the title ("" with neither
    findings nor an abstract: an empty TL;DR cell)."""
    claims: list[tuple[int, Finding]] = [
        (i, f) for i, f in enumerate(detail.findings)
        if f.kind != "title" and not f.text.rstrip().endswith("?")  # a question motivates, it finds nothing
    ]
    standalone = [(i, f) for i, f in claims if not _refers_back(f.text)]
    if standalone:
        return max(standalone, key=lambda pair: (len(pair[1].about), -pair[0]))[1].text
    abstract = [s for s in split_sentences(detail.paper.abstract) if not s.rstrip().endswith("?")]
    for pick in (lambda s: bool(_RESULT.search(s)), lambda s: s.startswith("We ")):
        for sentence in abstract:
            if pick(sentence) and not _refers_back(sentence):
                return sentence
    if claims:
        return claims[0][1].text
    # Nothing to say: an empty cell, which the list's own rows also have, rather than the title again.
    return abstract[0] if abstract else ""


def suggest_row(detail: PaperDetail, taxonomy: Taxonomy, speller: LabelSpeller | None = None,
                headings: ListHeadings | None = None) -> SuggestedRow:
    """The suggested list row of one paper (under `headings`' headings for its section, by default the
    taxonomy's alone)."""
    speller = speller or LabelSpeller(taxonomy)
    headings = headings or ListHeadings(taxonomy)
    paper = detail.paper
    # Only http(s) URLs become links (kg.safe_output, the rule of every output): never javascript:.
    url = (f"https://arxiv.org/pdf/{paper.arxiv_id}" if paper.arxiv_id
           else safe_http_url(paper.url) or safe_http_url(paper.pdf_url) or "")
    section, reason = section_choice(detail, taxonomy)
    row = SuggestedRow(paper_id=paper.id, title=paper.title, url=url, section=section, reason=reason,
                       tldr=_tldr(detail), published=paper.published, headings=headings.of(section))
    for use in detail.techniques:
        node = taxonomy.by_id.get(use.technique_id)
        label = speller.label(use.technique_id, "techniques")
        is_technique = node is not None and node.label == Label.TECHNIQUE
        if is_technique and label and use.technique_id not in row.technique_ids:
            row.technique_ids.append(use.technique_id)
            row.techniques.append(label)
    for evaluation in detail.evaluations:
        label = speller.label(evaluation.evaluation_id, "evaluation")
        if label and evaluation.evaluation_id not in row.evaluation_ids:
            row.evaluation_ids.append(evaluation.evaluation_id)
            row.evaluations.append(label)
    return row


# The newest papers rows are built from (each costs ~1 ms: a store read and the section and TL;DR
# choice); the callers say so when a period has more (RowExport.considered < RowExport.total).
ROW_LIMIT = 1000


def _suggestions(
    store: GraphStore, since: str, taxonomy: Taxonomy, limit: int, list_markdown: str | None = None
) -> tuple[list[SuggestedRow], list[str], int, int]:
    """row_suggestions' rows and withdrawn ids, and how many papers (the newest `limit`) they were
    chosen from out of how many first seen since `since` (read together, in one snapshot); the rows'
    headings from the list's markdown when given, else from the stored list sections (ListHeadings)."""
    if limit < 1:
        raise ValueError(f"the number of papers to suggest rows for must be at least 1, not {limit}")
    speller = LabelSpeller(taxonomy, list_label_usage(store, taxonomy))
    stored = [[str(p) for p in s["path"]] for s in store.list_sections() if isinstance(s["path"], list)]
    headings = ListHeadings(taxonomy, list_markdown, stored)
    rows = []
    withdrawn: list[str] = []
    papers, total = store.new_papers_page(since, limit=limit)
    for paper in papers:
        if paper.item_type != "paper":
            continue
        detail = store.get_paper(paper.id)
        if detail is None or detail.list_rows:
            continue
        if is_withdrawn(paper.abstract):  # named only when it would otherwise have had a row
            withdrawn.append(paper.id)
            continue
        rows.append(suggest_row(detail, taxonomy, speller, headings))
    rows.sort(key=lambda r: (r.published is None, r.published or "", r.paper_id))
    return rows, sorted(withdrawn), len(papers), total


def row_suggestions(
    store: GraphStore, since: str, taxonomy: Taxonomy, limit: int = ROW_LIMIT
) -> tuple[list[SuggestedRow], list[str]]:
    """Rows for papers first seen since `since` (the newest `limit` of them) that the list does not
    have yet, oldest first (published date, then id; undated papers last), and the ids of the papers
    that would have had a row but are left out because their abstract says they are withdrawn (sorted)."""
    rows, withdrawn, _considered, _total = _suggestions(store, since, taxonomy, limit)
    return rows, withdrawn


def suggested_rows(
    store: GraphStore, since: str, taxonomy: Taxonomy, limit: int = ROW_LIMIT
) -> list[SuggestedRow]:
    """Rows for papers first seen since `since` (the newest `limit` of them) that the list does not
    have yet, oldest first (published date, then id; undated papers last); withdrawn papers are left
    out (row_suggestions)."""
    return row_suggestions(store, since, taxonomy, limit)[0]


TableLayout = list[tuple[str, str]]  # (column name as the list writes it, role: paper/techniques/...)


def _layout_for(path: list[str], layouts: dict[tuple[str, ...], TableLayout]) -> TableLayout | None:
    """The list's table layout of a section: the table whose heading path ends with `path`."""
    for key, layout in layouts.items():
        if len(key) >= len(path) and list(key[len(key) - len(path):]) == path:
            return layout
    return None


def _row_line(row: SuggestedRow, layout: TableLayout) -> str:
    values = {"paper": _paper_cell(row.title, row.url), "techniques": _cell(", ".join(row.techniques)),
              "evaluation": _cell(", ".join(row.evaluations)), "tldr": _text_cell(row.tldr)}
    cells = []
    for _name, role in layout:
        cells.append(values.pop(role, ""))  # a role's value goes in its first column only
    return "| " + " | ".join(cells) + " |"


def render_rows(rows: list[SuggestedRow], taxonomy: Taxonomy,
                layouts: dict[tuple[str, ...], TableLayout] | None = None) -> str:
    """Markdown: section headings (each row's `headings`, at the list's levels; a row without them under
    its section key's headings from ##), the reason of each row as an HTML comment, and a table in the
    section's own column layout (from `layouts`, the list's tables by heading path) or else the
    4-column Paper | Techniques | Evaluation | TL;DR; sections in the taxonomy's order, Unsorted last."""
    order = [s for s in taxonomy.section_topics if s not in _NOT_FINDINGS]
    grouped: dict[str, list[SuggestedRow]] = {}
    for row in rows:
        grouped.setdefault(row.section, []).append(row)
    lines: list[str] = []
    printed: list[Heading] = []
    for section in sorted(grouped, key=lambda s: order.index(s) if s in order else len(order)):
        first = grouped[section][0]
        headings = first.headings or [(2 + depth, text) for depth, text in enumerate(_key_parts(section))]
        path = [text for _level, text in headings]
        shared = 0  # headings already printed for the previous section (never its innermost one)
        while shared < min(len(printed), len(headings)) - 1 and printed[shared] == headings[shared]:
            shared += 1
        if lines:
            lines.append("")
        for level, text in headings[shared:]:
            lines.append(f"{'#' * level} {_heading_line(text)}")
        printed = headings
        for row in grouped[section]:
            # Above the table: a comment line between two rows would end the table.
            lines.append(f'<!-- paperkg: "{_comment_text(row.title)}" in this section because '
                         f"{_comment_text(row.reason)} -->")
        layout = _layout_for(path, layouts or {})
        if layout is None:
            layout = _DEFAULT_LAYOUT
            lines += [_HEADER, _SEPARATOR]
        else:
            lines.append("| " + " | ".join(_cell(name) for name, _role in layout) + " |")
            lines.append("| " + " | ".join(":---" for _ in layout) + " |")
        lines += [_row_line(row, layout) for row in grouped[section]]
    return "\n".join(lines) + ("\n" if lines else "")


@dataclass
class RowExport:
    """The suggested rows as markdown, the ids of the papers left out as withdrawn, and how many papers
    first seen since the date the rows were chosen from (`considered`, the newest `limit`) out of
    how many there are (`total`): when `cut`, the older papers were not looked at."""

    markdown: str  # "" when there are no rows
    withdrawn: list[str] = field(default_factory=list)
    considered: int = 0
    total: int = 0

    @property
    def cut(self) -> bool:
        """Whether papers first seen since the date were left unconsidered (more than the limit)."""
        return self.considered < self.total


def list_rows_export(store: GraphStore, since: str, taxonomy: Taxonomy | None = None,
                     list_markdown: str | None = None, limit: int = ROW_LIMIT) -> RowExport:
    """Ready-to-paste list rows for the newest `limit` papers first seen since `since`, with the ids of
    the papers left out because they are withdrawn and the counts (for the caller to report: the rows
    are for pasting as they are); with the list's markdown, each section's rows in the column layout
    of that section's table."""
    if taxonomy is None:
        from kg.config import load_config
        from kg.taxonomy import load_taxonomy

        taxonomy = load_taxonomy(load_config().taxonomy)
    layouts = None
    if list_markdown is not None:
        layouts = table_layouts(list_markdown)
    rows, withdrawn, considered, total = _suggestions(store, since, taxonomy, limit, list_markdown)
    return RowExport(render_rows(rows, taxonomy, layouts), withdrawn, considered, total)


def list_rows_markdown(store: GraphStore, since: str, taxonomy: Taxonomy | None = None,
                       list_markdown: str | None = None) -> str:
    """Ready-to-paste list rows for papers first seen since `since` ("" when there are none); with the
    list's markdown, each section's rows in the column layout of that section's table."""
    return list_rows_export(store, since, taxonomy, list_markdown).markdown
