"""What an ingest run reports: IngestSummary with its counts, JSON and text forms, and the unknown labels
it lists.

Its text helpers (counted, did_you_mean, head_and_items, shortened, possible_duplicate_text) serve the CLI,
list matching, the weekly run and the re-extraction's summary too."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ingest.records import Record
from kg.safe_output import terminal_safe
from kg.taxonomy import Taxonomy

if TYPE_CHECKING:
    from ingest.write import ListEdges


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
    # else): written, so the rows show their new lines, but counted unchanged
    # (ingest.pipeline's _lines_moved_only).
    moved: int = 0
    rejected: int = 0
    rejected_details: list[dict[str, Any]] = field(default_factory=list)
    # Records folded into another record of the run, as one paper (by arXiv id, DOI or title;
    # ingest.list_match.merges_of's entries): counted by key, the first MERGES_LISTED of them listed,
    # and those merged by a DOI under another title (a wrong DOI merges two papers, and the paper keeps
    # one title) counted apart.
    merged: int = 0
    merged_by: dict[str, int] = field(default_factory=dict)
    merged_details: list[dict[str, Any]] = field(default_factory=list)
    merged_retitled: list[dict[str, Any]] = field(default_factory=list, repr=False)
    # The records file's name (never its directories: runs are shown on the About page), in the counts.
    file: str | None = None
    unknown_labels: list[dict[str, Any]] = field(default_factory=list)
    embedded: int = 0  # vectors actually computed (the rest came from the cache)
    # Records read with something to check ({line, title, message}; ingest.records_file's
    # RecordsRead.warnings): a year its published date disagrees with. Set by the CLI after the run.
    warnings: list[dict[str, Any]] = field(default_factory=list)
    rekeyed: dict[str, str] = field(default_factory=dict)  # old slug id -> arXiv id
    statuses: dict[str, str] = field(default_factory=dict)  # paper id -> new|updated|unchanged
    # Records stored as new papers with the title of another arXiv paper (ingest.list_match's
    # possible_duplicates entries): kept apart, since two arXiv ids are two papers, but worth a look.
    possible_duplicates: list[dict[str, Any]] = field(default_factory=list)
    # The papers this run wrote new or updated, in the order written: {paper_id, title, lines} (the list
    # lines of its rows in this run, [] for other sources), with previous_title when the title changed,
    # previous_id when the paper moved to another id (a slug to its arXiv id), and withdrawn_change
    # ("withdrawn" or "reinstated") when this run changed whether it is withdrawn (kg.withdrawn).
    new_papers: list[dict[str, Any]] = field(default_factory=list)
    updated_papers: list[dict[str, Any]] = field(default_factory=list)
    # The withdrawn papers the list's rows of this run still name, new, updated or unchanged alike:
    # {paper_id, title, lines}, a warning each run until the list drops them.
    listed_withdrawn: list[dict[str, Any]] = field(default_factory=list)
    # Lines of the list this run could not read, when --prune did not run: it holds back while there
    # are any (prune_refused says so, also when it refused for another reason).
    prune_held_back: list[int] = field(default_factory=list)
    # A run of a whole list (run_ingest's whole_list): the stored list rows it no longer has
    # (ingest.prune.stale_list_rows' entries), how many of them --prune removed, and why --prune was
    # refused; the papers of those rows with no other source (ingest.prune.list_only_papers' entries),
    # which --prune removes with their rows, and how many it removed.
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
    # (ingest.pipeline's _kept_list_rows): the rows and list edges of the list's own rows, which a prune
    # writes.
    current_list_edges: dict[str, ListEdges] = field(default_factory=dict, repr=False)

    def counts(self) -> dict[str, Any]:
        """The counts stored on the IngestRun."""
        counts: dict[str, Any] = {
            "records": self.records, "papers": self.papers, "new": self.new,
            "updated": self.updated, "unchanged": self.unchanged, "moved": self.moved, "merged": self.merged,
            "rejected": self.rejected, "unknown_labels": len(self.unknown_labels), "embedded": self.embedded,
        }
        if self.file is not None:
            counts["file"] = self.file
        if self.possible_duplicates:  # kept on the run, as a WARNING scrolls away (--json gives the details)
            counts["possible_duplicates"] = [e["arxiv_id"] for e in self.possible_duplicates]
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
            "merged_by": self.merged_by, "merged_details": self.merged_details,
            "rejected_details": self.rejected_details, "unknown_labels": self.unknown_labels,
            "rekeyed": self.rekeyed, "new_papers": self.new_papers, "updated_papers": self.updated_papers,
            "possible_duplicates": self.possible_duplicates, "listed_withdrawn": self.listed_withdrawn,
            "warnings": self.warnings,
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
            f"{self.source}: {counted(self.papers, 'paper')} from {counted(self.records, 'record')}"
            f"{self._merged_text()} -> "
            f"{self.new} new, {self.updated} updated, {self.unchanged} unchanged{self._moved_text()}, "
            f"{self.rejected} rejected; {self._embedded_text()}; run {self.run_id}"
        ]
        lines += self._merged_lines()
        for what, papers in (("new", self.new_papers), ("updated", self.updated_papers)):
            if papers:
                lines += head_and_items(f"{what}:", [written_paper_text(p) for p in papers],
                                         shown=_WRITTEN_SHOWN)
        lines += possible_duplicate_lines(self.possible_duplicates)
        lines += listed_withdrawn_lines(self.listed_withdrawn)
        for item in self.rejected_details:
            lines.append(f"  rejected: {_rejected_text(item)}")
        for item in self.warnings:
            where = f"line {item['line']}" if item.get("line") is not None else "a record"
            lines.append(f"  warning: {where} ('{terminal_safe(shortened(item.get('title')) or '')}'): "
                         f"{terminal_safe(item['message'])}")
        if self.unknown_labels:
            lines.append(f"  unknown labels ({len(self.unknown_labels)}), kept on their rows:")
            for entry in self.unknown_labels:
                where = ", ".join(str(n) for n in entry.get("lines", []) if n is not None)
                suffix = f" (line {where})" if where else ""
                lines.append(f"    {entry['column']}: {entry['label']!r}{suffix}{did_you_mean(entry)}")
        lines += self._stale_lines()
        return "\n".join(lines)

    def add_merges(self, entries: Sequence[dict[str, Any]]) -> None:
        """Count and list the run's merges (ingest.list_match.merges_of's entries, in file order)."""
        self.merged = len(entries)
        self.merged_by = dict(sorted(Counter(e["by"] for e in entries).items()))
        self.merged_details = [dict(e) for e in entries[:MERGES_LISTED]]
        self.merged_retitled = [e for e in entries if e["by"] == "doi" and e["retitled"]]

    def _embedded_text(self) -> str:
        """"N embedded", and how many papers were not, their embedding already stored or cached for the
        same text (an unchanged paper, a text embedded before)."""
        return embedded_text(self.embedded, self.papers - self.embedded)

    def _merged_text(self) -> str:
        """" (N merged)" after the record count, when records of one paper were merged."""
        return f" ({self.merged} merged)" if self.merged else ""

    def _merged_lines(self) -> list[str]:
        """The text lines about the merged records: how many by each key, and those merged by a DOI
        under another title, which are worth a look (a wrong DOI merges two papers)."""
        if not self.merged:
            return []
        keys = ", ".join(f"{n} by {_KEY_NAMES.get(by, by)}" for by, n in self.merged_by.items())
        lines = [f"  merged: {keys} (records of one paper, written as one; --json lists them)"]
        retitled = self.merged_retitled
        if retitled:
            n = len(retitled)
            head = (f"{counted(n, 'record')} merged by DOI under another title (check the DOI of each; "
                    f"the paper keeps one title):")
            lines += head_and_items(head, [_retitled_text(e) for e in retitled], shown=_WRITTEN_SHOWN)
        return lines

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
        return head_and_items(head, [_stale_row_text(row) for row in stale]) + self._list_only_lines()

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
        return head_and_items(head, [f"{terminal_safe(paper['title'])} [{terminal_safe(paper['paper_id'])}]"
                                      for paper in papers])


def _rejected_text(item: Mapping[str, Any]) -> str:
    """A rejected_details entry as the text summary names it: its line (as the parser's unreadable rows
    give theirs; entries a source made have none), its title or id, the reason."""
    line = item.get("line")
    reason = terminal_safe(item["reason"])
    name = item.get("title") or item.get("source_id")
    if line is None:
        return f"{terminal_safe(name)}: {reason}" if name is not None else reason
    if name is None or name == f"line {line}":  # a records file's line no title was read from
        return f"line {line}: {reason}"
    # Quoted after its line, as a warning names its record: "line 2 ('Title'): …".
    return f"line {line} ('{terminal_safe(shortened(name) or '')}'): {reason}"


def _stale_row_text(row: dict[str, Any]) -> str:
    """A stale list row as the text summary names it: title [paper id], section, its former line."""
    where = f", was line {row['line']}" if row.get("line") is not None else ""
    return (f"{terminal_safe(row['title'])} [{terminal_safe(row['paper_id'])}], "
            f"{terminal_safe(row['section'])}{where}")


def _retitled_text(entry: dict[str, Any]) -> str:
    """A record merged by DOI under another title: where it is, its title, the paper's."""
    where = f"line {entry['line']}: " if entry.get("line") is not None else ""
    return (f"{where}'{terminal_safe(entry['title'])}' into '{terminal_safe(entry['into_title'])}' "
            f"[{terminal_safe(entry['into'])}]")


_AUTHORS_SAID = {"same": "the same authors", "overlap": "some authors in common",
                 "different": "no author in common", "unknown": "authors not known for both"}


def possible_duplicate_text(entry: Mapping[str, Any]) -> str:
    """A possible_duplicates entry (ingest.list_match) as text: the new arXiv id, the paper whose title it
    has, whether they share authors."""
    where = "the stored paper" if entry["stored"] else "another paper of this run,"
    return (f"{terminal_safe(entry['arxiv_id'])} has the title of {where} {terminal_safe(entry['matches'])} "
            f"('{terminal_safe(shortened(entry['matches_title'], 100))}'), "
            f"{_AUTHORS_SAID.get(entry['authors'], terminal_safe(entry['authors']))}")


def possible_duplicate_warning(entry: Mapping[str, Any]) -> str:
    """The warning a run logs for a possible_duplicates entry: what it found, what it did, what to check."""
    return (f"possible duplicate: {possible_duplicate_text(entry)}; stored as a paper of its own, as two "
            "arXiv ids are never merged by title: check whether it is the same paper posted again")


def possible_duplicate_lines(entries: Sequence[Mapping[str, Any]]) -> list[str]:
    """The text summary lines about the new papers that may repeat another's (none: no lines)."""
    if not entries:
        return []
    head = (f"{counted(len(entries), 'new paper')} with the title of another arXiv paper (possible "
            "duplicates, stored apart; check them):")
    return head_and_items(head, [possible_duplicate_text(e) for e in entries], shown=_WRITTEN_SHOWN)


# The keys a merge is counted by, as the text summary names them.
_KEY_NAMES = {"arxiv_id": "arXiv id", "doi": "DOI", "title": "title", "id": "id"}
# The merged records --json lists one by one (a corpus may hold thousands of duplicates; all are counted).
MERGES_LISTED = 1000


# How the text summary says a written paper's withdrawn_change.
_WITHDRAWN_SAID = {"withdrawn": "withdrawn", "reinstated": "no longer withdrawn"}


def written_paper_text(paper: Mapping[str, Any]) -> str:
    """A new or updated paper as the text summary names it: title [id], its list lines, then a note of
    each kind it has: its old id, its old title, a withdrawal or reinstatement."""
    lines = paper.get("lines") or []
    where = f", {'line' if len(lines) == 1 else 'lines'} {', '.join(str(n) for n in lines)}" if lines else ""
    notes = ""
    if paper.get("previous_id"):
        notes += f" (was id {terminal_safe(paper['previous_id'])})"
    if paper.get("previous_title"):
        notes += f" (was '{terminal_safe(paper['previous_title'])}')"
    change = paper.get("withdrawn_change")
    if change:
        notes += f" ({_WITHDRAWN_SAID.get(change, terminal_safe(change))})"
    return f"{terminal_safe(paper['title'])} [{terminal_safe(paper['paper_id'])}]{where}{notes}"


def written_paper_noted(paper: Mapping[str, Any]) -> bool:
    """Whether a written paper's entry has a note a short summary names it for: another id before, or a
    withdrawal or reinstatement."""
    return bool(paper.get("previous_id") or paper.get("withdrawn_change"))


def listed_withdrawn_lines(entries: Sequence[Mapping[str, Any]]) -> list[str]:
    """The text summary's warning for each withdrawn paper the list still names, as the list run's other
    warnings name their lines (none: no lines)."""
    out = []
    for entry in entries:
        lines = entry.get("lines") or []
        where = f"{'line' if len(lines) == 1 else 'lines'} {', '.join(str(n) for n in lines)}"
        out.append(f"  withdrawn on arXiv but still in the list, {where}: {terminal_safe(entry['title'])} "
                   f"[{terminal_safe(entry['paper_id'])}]")
    return out


def head_and_items(head: str, items: Sequence[str], shown: int | None = None) -> list[str]:
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


def embedded_text(embedded: int, reused: int) -> str:
    """"N embedded", then how many papers kept an embedding already stored or cached for their text, when
    any did ("0 embedded (rest cached)" was jargon, and said even when nothing was cached)."""
    return f"{embedded} embedded" + (f", {reused} already had an embedding" if reused > 0 else "")


def counted(n: int, noun: str) -> str:
    """The count with its noun, singular only for 1 (for nouns that take a plain -s)."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def shortened(text: str | None, limit: int = 200) -> str | None:
    """At most `limit` characters of a rejected record's title or id, lone surrogates escaped: reports
    print them (a 1 MB title would flood the terminal, a surrogate would make printing fail)."""
    if not isinstance(text, str):
        return text
    short = text if len(text) <= limit else text[:limit] + "..."
    return short.encode("utf-8", "backslashreplace").decode("utf-8")


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
