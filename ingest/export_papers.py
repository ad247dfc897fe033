"""Every stored paper (or those first seen since a date, or those named) as JSON Lines, CSV or BibTeX:
`paperkg export papers`.

Which papers, in which order: the store's paper ids are read once when the export starts, then the
papers' first_seen a page at a time (PAGE_SIZE papers); those first seen at or after `since` (the
stores' own rule: kg.validation.normalise_since, compared as they compare it, so the papers /api/new
counts) are written oldest first, by first_seen then id. A later export of the same store is then an
earlier one with the papers first seen since appended (and the papers an ingest merged or removed
meanwhile left out). Only the ids and first_seen of the chosen papers are held; each paper's details
are read, written and dropped one at a time, so a store of 100,000 papers costs its id list, not its
papers. Named papers only (the command's --id): resolve_ids finds their stored ids, and export_ids keeps
the same rules (`since` too) and order for them. A paper removed while the export runs (an ingest
merging it into another) is left out and counted (ExportStats.gone); each paper is in the export once,
as it was when it was read.

JSON Lines: one object per line, the one GET /api/papers/{id} answers (api.json_api.detail_dict, the
same function, so one parser reads both), ASCII with \\uXXXX escapes as the API writes it.

CSV (RFC 4180: the csv module's quoting, CRLF line ends, UTF-8 without a byte order mark, a header
row): one row per paper, CSV_COLUMNS, taken from the same object (url is the API's, withdrawn
true/false); techniques, evaluations and models are ids, topics the Topic and Object ids its findings
are about then those its list rows' sections match (the rows' topic_ids: the rule the topic counts use,
so counting the column gives the counts), list_sections its rows' section ids, abstract the stored
abstract, tldr its list rows' distinct TL;DRs (a line each; the columns last, so a reader of the
earlier columns by position reads them as before), then item_type, categories (arXiv's, "; "-joined),
primary_category, arxiv_version and former_ids ("; "-joined: a slug its arXiv id replaced, a merged
record's id, so an older export's rows join this one's), added later and so after citation_key. The
multi-valued columns are joined by "; " (ids and sources never hold ";"; a ";" inside an author name
is ambiguous there: the JSON Lines export has the list). Formula injection (OWASP "CSV
Injection"): a cell a spreadsheet would run as a formula, one whose first visible character is
= + - @ (or their full-width forms), or that starts with a tab, CR, LF or NUL, is written with a
leading apostrophe, which spreadsheets show as text; so is a cell that starts with an apostrophe
itself, so a program reading the file gets every value back exactly by removing one leading
apostrophe where a cell has one (spreadsheet_value).

BibTeX: one entry a paper (api.bibtex.to_bibtex, the entry GET /api/papers/{id}/bibtex answers), a
blank line between entries, UTF-8. Each entry has the paper's citation key as the store issued it
(kg.store: unique in the store, the same in every export, --since and --id ones too, and on the API). A
paper the store holds no key for (a store not upgraded yet) gets its key_base, with the first suffix
of a, b, ..., z, aa, ... that no other entry of the file has (within-file only: a safety net).

The CSV and JSON Lines carry the key too (citation_key, the CSV's last column).
"""

from __future__ import annotations

import contextlib
import csv
import errno
import io
import json
import os
import secrets
import sys
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kg.entities import Paper, PaperDetail
from kg.store import GraphStore, key_suffix
from kg.validation import TOPIC_LABELS, normalise_since

FORMATS = ("jsonl", "csv", "bibtex")
# Papers whose first_seen one store read fetches while the order is chosen (each Paper holds its
# abstract, ~2 KB: 500 of them is ~1 MB at a time).
PAGE_SIZE = 500
# Text handed to the writer at once: stdout is flushed per chunk, so not per paper.
CHUNK_CHARS = 64 * 1024
CSV_COLUMNS = ("id", "arxiv_id", "doi", "title", "authors", "year", "published", "updated", "venue", "url",
               "sources", "first_seen", "last_seen", "withdrawn", "techniques", "evaluations", "models",
               "topics", "list_sections", "abstract", "tldr", "citation_key",
               # Added later: after the others, so a reader of the earlier columns by position still works.
               "item_type", "categories", "primary_category", "arxiv_version", "former_ids")
LIST_SEPARATOR = "; "
# What makes a spreadsheet (Excel, LibreOffice Calc, Google Sheets) read a cell as a formula: these as
# its first character that shows (leading spaces are trimmed by some importers), with the full-width
# forms some locales' Excel takes for them...
_FORMULA_STARTS = frozenset("=+-@\uff1d\uff0b\uff0d\uff20")
# ...and these as its very first character (OWASP: tab and CR; ASVS: NUL), whatever follows. The
# apostrophe is the escape itself: escaped too, so removing one leading apostrophe is always exact.
_RAW_STARTS = frozenset("\t\r\n\x00'")


class OutputExists(FileExistsError):
    """The export file exists and was not to be replaced (no --force)."""


@dataclass
class ExportStats:
    """What an export wrote: the papers chosen when it started (`chosen`), those written, and the ids
    of those gone by the time they were read (removed or merged by an ingest meanwhile)."""

    chosen: int = 0
    written: int = 0
    gone: list[str] = field(default_factory=list)


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def resolve_each(store: GraphStore, given: Iterable[str]) -> dict[str, Paper | None]:
    """Each id of `given` (once, in order) -> the stored paper it names, None for an id naming no paper.
    An id is looked up as GET /api/papers/{id} looks it up (kg.lookup.find_paper): as given, as ingest
    stores it (`2211.00593v2`, an arXiv abs URL), else the id a paper moved to. Batched: one
    get_papers a page of PAGE_SIZE ids (given and canonical forms together), successor_of only for the
    ids still missing, then one get_papers for their successors (For you resolves up to 200 stars on
    each load; per id it was a few round trips to Neo4j each)."""
    from ingest.normalize import arxiv_id_from_url

    ids = list(dict.fromkeys(given))
    # An argument that is not UTF-8 (a lone surrogate from argv) is no stored id, and a store would fail
    # to encode it.
    valid = [i for i in ids if _is_utf8(i)]
    canonical = {i: arxiv_id_from_url(i) for i in valid}
    papers = _papers_by_id(store, valid + [c for c in canonical.values() if c])
    out: dict[str, Paper | None] = {}
    missing: list[str] = []
    for paper_id in ids:
        # The exact id first: a stored slug may look like anything.
        hit = papers.get(paper_id) or papers.get(canonical.get(paper_id) or "")
        out[paper_id] = hit
        if hit is None and paper_id in canonical:
            missing.append(paper_id)
    # The store has no batched successor look-up: one call a still-missing id.
    successors = {paper_id: store.successor_of(paper_id) for paper_id in missing}
    moved = _papers_by_id(store, [s for i, s in successors.items() if s and s != i])
    for paper_id, successor in successors.items():
        out[paper_id] = moved.get(successor) if successor and successor != paper_id else None
    return out


def _papers_by_id(store: GraphStore, ids: Sequence[str]) -> dict[str, Paper]:
    """The stored papers among `ids`, by id, read PAGE_SIZE ids at a time."""
    ids = list(dict.fromkeys(ids))
    out: dict[str, Paper] = {}
    for start in range(0, len(ids), PAGE_SIZE):
        out.update((p.id, p) for p in store.get_papers(ids[start:start + PAGE_SIZE]))
    return out


def resolve_ids(store: GraphStore, given: Iterable[str]) -> tuple[list[str], list[str]]:
    """(the stored ids of the papers `given` names, once each, in the order given; the ids naming no
    paper), found as resolve_each finds them."""
    found: list[str] = []
    unknown: list[str] = []
    for paper_id, paper in resolve_each(store, given).items():
        if paper is None:
            unknown.append(paper_id)
        else:
            found.append(paper.id)
    return list(dict.fromkeys(found)), unknown


def export_ids(store: GraphStore, since: str | None = None, page_size: int = PAGE_SIZE,
               only: Sequence[str] | None = None) -> list[str]:
    """Ids of the stored papers first seen at or after `since` (all with None), oldest first: by
    first_seen, then id; with `only` (stored ids: resolve_ids), those of them only. ValueError for a
    `since` that kg.validation.parse_since refuses."""
    return _export_order(store, since, page_size, only)[0]


def _export_order(store: GraphStore, since: str | None, page_size: int = PAGE_SIZE,
                  only: Sequence[str] | None = None) -> tuple[list[str], set[str]]:
    """export_ids, and the citation keys the store issued those papers (read from the same pages)."""
    if page_size < 1:
        raise ValueError(f"page size must be at least 1, not {page_size}")
    # The stores compare the normalised value with the stored first_seen as text (UTC, microseconds):
    # the same comparison here chooses the papers /api/new?since= counts.
    floor = None if since is None else normalise_since(since)
    ids = store.paper_ids() if only is None else list(dict.fromkeys(only))
    keyed: list[tuple[str, str]] = []
    keys: set[str] = set()
    for start in range(0, len(ids), page_size):
        for paper in store.get_papers(ids[start:start + page_size]):
            seen = paper.first_seen or ""
            if floor is None or seen >= floor:
                keyed.append((seen, paper.id))
                if paper.citation_key:
                    keys.add(paper.citation_key)
    keyed.sort()
    return [paper_id for _seen, paper_id in keyed], keys


def paper_object(detail: PaperDetail, labels: dict[str, str]) -> dict[str, Any]:
    """The JSON object GET /api/papers/{id} answers for a paper (`labels`: taxonomy id -> name)."""
    # The API's own serialiser, so the two cannot drift apart. Importing it creates no Flask app (the
    # blueprint's views reach the app only when a request runs them).
    from api.json_api import detail_dict

    return detail_dict(detail, labels)


def _joined(values: Iterable[object]) -> str:
    return LIST_SEPARATOR.join(str(v) for v in dict.fromkeys(values))


def csv_cells(obj: dict[str, Any]) -> list[str]:
    """A paper object (paper_object) as the CSV row's cells, in CSV_COLUMNS order, before
    spreadsheet_safe: lists joined by "; ", booleans as true/false, None as an empty cell."""
    # Topic and Object ids both: the topic pages count both, from findings and from list sections.
    topics = [a["id"] for f in obj["findings"] for a in f["about"] if a["label"] in TOPIC_LABELS]
    topics += [t for row in obj["list_rows"] for t in row.get("topic_ids") or []]
    flat: dict[str, object] = {
        **obj,
        "authors": _joined(obj["authors"]), "sources": _joined(obj["sources"]),
        "techniques": _joined(t["id"] for t in obj["techniques"]),
        "evaluations": _joined(e["id"] for e in obj["evaluations"]),
        "models": _joined(m["id"] for m in obj["models"]),
        "topics": _joined(topics),
        "list_sections": _joined(row["section_id"] for row in obj["list_rows"]),
        "categories": _joined(obj["categories"]),
        "former_ids": _joined(obj["former_ids"]),
        # A paper listed in several sections may have a TL;DR in each: the distinct ones, a line each.
        "tldr": "\n".join(dict.fromkeys(row["tldr"] for row in obj["list_rows"] if row.get("tldr"))) or None,
    }
    cells = []
    for column in CSV_COLUMNS:
        value = flat.get(column)
        if value is None:
            cells.append("")
        elif isinstance(value, bool):
            cells.append("true" if value else "false")
        else:
            cells.append(str(value))
    return cells


def _first_shown(cell: str) -> str:
    """The first character of `cell` a spreadsheet shows: not whitespace, not a format character (a
    zero-width space, a bidi mark), "" when there is none."""
    for ch in cell:
        if not ch.isspace() and unicodedata.category(ch) != "Cf":
            return ch
    return ""


def spreadsheet_safe(cell: str) -> str:
    """`cell` with a leading apostrophe when a spreadsheet would read it as a formula, or when it starts
    with an apostrophe already (see the module docstring); otherwise as it is."""
    if cell and (cell[0] in _RAW_STARTS or _first_shown(cell) in _FORMULA_STARTS):
        return "'" + cell
    return cell


def spreadsheet_value(cell: str) -> str:
    """A cell of the exported CSV as the stored value: one leading apostrophe removed (spreadsheet_safe
    added it)."""
    return cell[1:] if cell.startswith("'") else cell


def _csv_line(cells: list[str]) -> str:
    buffer = io.StringIO()
    # lineterminator CRLF: RFC 4180's; QUOTE_MINIMAL quotes every cell holding a comma, a quote, CR or LF.
    csv.writer(buffer, lineterminator="\r\n").writerow(cells)
    return buffer.getvalue()


def unique_key(key: str, used: set[str]) -> str:
    """key, or key with the first suffix (a, b, ...) that makes it one `used` lacks; added to `used`."""
    chosen, n = key, 0
    while chosen in used:
        n += 1
        chosen = key + key_suffix(n)
    used.add(chosen)
    return chosen


def export_lines(
    store: GraphStore, since: str | None = None, fmt: str = "jsonl", *,
    stats: ExportStats | None = None, show_progress: bool = False, only: Sequence[str] | None = None,
) -> Iterator[str]:
    """The export as text chunks (whole lines, CHUNK_CHARS or so each; the CSV header first): the papers
    first seen at or after `since` (all with None), oldest first (export_ids), read one at a time;
    with `only` (stored ids: resolve_ids), those of them only. `stats` is filled as it goes;
    `show_progress`: a progress bar on stderr (shown after a second, so not for a short export).
    ValueError for an unknown format or a `since` parse_since refuses (raised before the first chunk)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r} (expected one of {', '.join(FORMATS)})")
    stats = stats if stats is not None else ExportStats()
    # The keys the store issued the chosen papers are the file's from the start: an unkeyed paper's
    # within-file suffix (unique_key) never takes one of them, even one of a later entry.
    ids, keys = _export_order(store, since, only=only)
    stats.chosen = len(ids)
    labels = {n.id: n.name for n in store.taxonomy_nodes()}  # the labels the API gives (its taxonomy)
    from tqdm import tqdm

    from api.bibtex import citation_key, to_bibtex

    pending: list[str] = []
    size = 0
    if fmt == "csv":
        pending.append(_csv_line(list(CSV_COLUMNS)))
    bar = tqdm(total=len(ids), desc="export papers", unit="paper", disable=not show_progress,
               file=sys.stderr, delay=1.0)
    try:
        for paper_id in ids:
            detail = store.get_paper(paper_id)
            bar.update(1)
            if detail is None:  # removed since the ids were read (merged into another paper)
                stats.gone.append(paper_id)
                continue
            if fmt == "bibtex":
                issued = detail.paper.citation_key
                # The store's key as it is (unique in the store); the safety net for a paper without one.
                key = issued if issued else unique_key(citation_key(detail.paper), keys)
                keys.add(key)
                # A blank line between entries (none before the first).
                line = ("\n" if stats.written else "") + to_bibtex(detail.paper, key)
            elif fmt == "jsonl":
                # ensure_ascii, as the API's JSON: no raw control or bidi character reaches a terminal.
                line = json.dumps(paper_object(detail, labels), ensure_ascii=True) + "\n"
            else:
                line = _csv_line([spreadsheet_safe(cell) for cell in csv_cells(paper_object(detail, labels))])
            pending.append(line)
            size += len(line)
            stats.written += 1
            if size >= CHUNK_CHARS:
                yield "".join(pending)
                pending, size = [], 0
    finally:
        bar.close()
    if pending:
        yield "".join(pending)


def _part_file(path: Path) -> tuple[int, Path]:
    """A new, empty hidden file beside `path` (same directory, so a rename is atomic), opened for
    writing, with the mode a new file gets (0666 less the umask, as the finished file would)."""
    while True:
        part = path.with_name(f".paperkg-export-{secrets.token_hex(6)}.part")
        try:
            return os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), part
        except FileExistsError:
            continue


# link() failing for these means the file system has no hard links (vfat, some network and FUSE ones).
_NO_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.ENOSYS}


def write_atomically(path: Path, chunks: Iterable[str], *, replace: bool = False) -> None:
    """Write the chunks (UTF-8) to a temporary file beside `path`, then put it at `path` in one step:
    a reader never sees half an export, and a failed or stopped export leaves no file and `path` as
    it was. Without `replace`, OutputExists when `path` exists, also when it appeared meanwhile (the
    file is linked into place, which never replaces a file)."""
    fd, part = _part_file(path)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:  # newline="": CRLF kept as written
            for chunk in chunks:
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())  # the data on disk before the name points at it
        if replace:
            os.replace(part, path)
        else:
            try:
                os.link(part, path)
            except FileExistsError:
                raise OutputExists(errno.EEXIST, "exists", str(path)) from None
            except OSError as exc:
                if exc.errno not in _NO_LINKS:
                    raise
                if path.exists() or path.is_symlink():
                    raise OutputExists(errno.EEXIST, "exists", str(path)) from None
                os.replace(part, path)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(part)
        _sync_directory(path.parent)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(part)
        raise


def _sync_directory(directory: Path) -> None:
    """fsync the directory, so the rename survives a crash (best effort: not every system allows it)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
