"""Read papers from JSON Lines in the shared seed_papers.jsonl format (unknown keys ignored).

Policy: the whole file is read and validated before anything is written. By default a bad line
(invalid JSON, not an object, no title, wrong types or values, a text over its length limit or not
valid Unicode, an invalid `id` or `arxiv_id`) stops the import with an error naming the line and the
field; with `skip_invalid=True` bad lines are skipped and reported instead.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ingest.normalize import arxiv_id_from_url, doi_from_text, strip_arxiv_version
from ingest.records import ITEM_TYPES, ListRowRecord, Record
from kg.validation import (
    MAX_ABSTRACT_CHARS,
    MAX_AUTHOR_CHARS,
    MAX_AUTHORS,
    MAX_TEXT_CHARS,
    MAX_TITLE_CHARS,
    YEAR_MAX,
    YEAR_MIN,
    check_arxiv_id,
    check_length,
    check_paper_id,
    check_utf8,
)


class RecordsFileError(ValueError):
    """A records file cannot be read or has an invalid line."""


@dataclass
class RecordsRead:
    """Records read from a file, and the lines skipped (only with skip_invalid)."""

    records: list[Record] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)

    def rejected(self) -> list[dict[str, Any]]:
        """The skipped lines as run_ingest's `rejected` entries."""
        return [{"source_id": f"line {s['line']}", "title": None, "reason": s["error"]} for s in self.skipped]


def _str(value: Any, name: str, max_chars: int = MAX_TEXT_CHARS) -> str | None:
    """A stripped string (None when blank), or ValueError naming the field: wrong type, longer than
    `max_chars` or not valid Unicode (a lone surrogate: JSON allows "\\udc80", UTF-8 cannot store it)."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)  # an int of up to 4,300 digits: the length limit applies to it too
    if not isinstance(value, str):
        raise ValueError(f"'{name}' must be a string, not {type(value).__name__}")
    text = value.strip()
    return check_utf8(check_length(text, name, max_chars), name) if text else None


def _str_list(value: Any, name: str, max_chars: int = MAX_TEXT_CHARS, max_items: int | None = None
              ) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"'{name}' must be a list of strings")
    out = [text for v in value if (text := _str(v, name, max_chars))]
    if max_items is not None and len(out) > max_items:
        raise ValueError(f"'{name}' has {len(out)} entries (the limit is {max_items})")
    return out


def _authors(value: Any) -> list[str]:
    """The `authors` list; one string is refused, since "Ada Lovelace, Alan Turing" would be stored as
    one author of that name (names contain commas too, "Lovelace, Ada": it cannot be split safely)."""
    if value is not None and not isinstance(value, list):
        given = "one string" if isinstance(value, str) else type(value).__name__
        raise ValueError(f"'authors' must be a list of names, e.g. [\"Ada Lovelace\", \"Alan Turing\"], "
                         f"not {given}")
    return _str_list(value, "authors", MAX_AUTHOR_CHARS, MAX_AUTHORS)


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ].+)?", re.ASCII)


def _iso_date(value: Any, name: str) -> str | None:
    """The date part (YYYY-MM-DD) of an ISO date or datetime, or ValueError naming the field."""
    text = _str(value, name)
    if text is None:
        return None
    try:
        # fromisoformat alone also takes "20221101" and week dates: the stored prefix must be YYYY-MM-DD.
        if not _ISO_DATE.fullmatch(text):
            raise ValueError(text)
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"'{name}' must be an ISO date or datetime (YYYY-MM-DD...), not {text!r}") from exc
    if not YEAR_MIN <= int(text[:4]) <= YEAR_MAX:
        raise ValueError(f"'{name}' {text[:10]} is outside the years {YEAR_MIN}..{YEAR_MAX}")
    return text[:10]


def _int(value: Any, name: str) -> int:
    """An integer given as a JSON number or digits in a string (never a bool or a fraction)."""
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError(f"'{name}' must be an integer, not {value!r}")
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValueError(f"'{name}' must be an integer, not {value!r}") from exc


def _year(value: Any, published: str | None) -> int | None:
    if value is None or value == "":
        if not published:
            return None
        return int(published[:4])  # _iso_date checked its range
    year = _int(value, "year")
    if not YEAR_MIN <= year <= YEAR_MAX:
        raise ValueError(f"'year' {year} is outside the years {YEAR_MIN}..{YEAR_MAX}")
    return year


def _item_type(value: Any, name: str) -> str:
    item_type = _str(value, name) or "paper"
    if item_type not in ITEM_TYPES:
        raise ValueError(f"'{name}' must be 'paper' or 'tool', not {item_type!r}")
    return item_type


def _list_row(data: Any, index: int, source_line: int | None) -> ListRowRecord:
    if not isinstance(data, dict):
        raise ValueError(f"list_rows[{index}] must be an object")
    try:
        return _list_row_fields(data, source_line)
    except ValueError as exc:
        raise ValueError(f"list_rows[{index}]: {exc}") from exc


def _list_row_fields(data: dict[str, Any], source_line: int | None) -> ListRowRecord:
    section = _str(data.get("section"), "section")
    subsection = _str(data.get("subsection"), "subsection")
    path = data.get("section_path")
    if isinstance(path, list) and path:
        section_path = _str_list(path, "section_path")
    elif section:
        section_path = [section, *(p for p in (subsection or "").split(" / ") if p.strip())]
    else:
        section_path = []
    if not section_path:
        # A row says where the list shows it: without a section it would land in a made-up "root".
        raise ValueError("'section' is missing or empty")
    occurrences = data.get("occurrences")
    occurrences = 1 if occurrences in (None, "") else _int(occurrences, "occurrences")
    if occurrences < 1:
        raise ValueError(f"'occurrences' must be 1 or more, not {occurrences}")
    line = data.get("line")
    return ListRowRecord(
        section_path=section_path,
        title_in_list=_str(data.get("title_in_list"), "title_in_list", MAX_TITLE_CHARS) or "",
        url_in_list=_str(data.get("url_in_list"), "url_in_list"),
        urls=[u for u in [_str(data.get("url_in_list"), "url_in_list")] if u],
        techniques=_str(data.get("techniques"), "techniques"),
        evaluation=_str(data.get("evaluation"), "evaluation"),
        tldr=_str(data.get("tldr"), "tldr"),
        technique_ids=_str_list(data.get("technique_ids"), "technique_ids"),
        evaluation_ids=_str_list(data.get("evaluation_ids"), "evaluation_ids"),
        item_type=_item_type(data.get("item_type"), "item_type"),
        line=line if isinstance(line, int) and not isinstance(line, bool) else None,
        occurrences=occurrences,
        source_line=source_line,
    )


def record_from_dict(data: Any, line: int | None = None) -> Record:
    """One JSON object in the seed_papers.jsonl format -> a Record (ValueError when invalid).

    `line` is the object's line in its file: unknown label ids on its list rows are reported there.
    """
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object, got {type(data).__name__}")
    title = _str(data.get("title"), "title", MAX_TITLE_CHARS)
    if not title:
        raise ValueError("'title' is missing or empty")
    # Both become the paper's id, in URLs (/papers/<id>, https://arxiv.org/abs/<arxiv_id>): checked.
    explicit_id = _str(data.get("id"), "id")
    if explicit_id is not None:
        check_paper_id(explicit_id, "id")
    raw_arxiv_id = _str(data.get("arxiv_id"), "arxiv_id")
    # An arXiv abs/pdf URL stands for its id, as it always has; anything else must be an id.
    if raw_arxiv_id and "arxiv.org/" in raw_arxiv_id.casefold():
        raw_arxiv_id = arxiv_id_from_url(raw_arxiv_id) or raw_arxiv_id
    arxiv_id = strip_arxiv_version(check_arxiv_id(raw_arxiv_id)) if raw_arxiv_id else None
    published = _iso_date(data.get("published"), "published")
    urls = _str_list(data.get("urls_in_list") or data.get("urls"), "urls_in_list")
    url = _str(data.get("url"), "url")
    doi = _str(data.get("doi"), "doi")
    rows_data = data.get("list_rows") or []
    if not isinstance(rows_data, list):
        raise ValueError("'list_rows' must be a list")
    item_type = _item_type(data.get("item_type"), "item_type")
    rows = [_list_row(r, i, line) for i, r in enumerate(rows_data)]
    for row in rows:
        row.item_type = item_type
    return Record(
        source="records",
        source_id=explicit_id or arxiv_id or title,
        title=" ".join(title.split()),
        authors=_authors(data.get("authors")),
        abstract=_str(data.get("abstract"), "abstract", MAX_ABSTRACT_CHARS),
        arxiv_id=arxiv_id,
        doi=doi_from_text(doi) if doi else None,
        published=published,
        updated=_iso_date(data.get("updated"), "updated"),
        year=_year(data.get("year"), published),
        venue=_str(data.get("venue"), "venue"),
        primary_category=_str(data.get("primary_category"), "primary_category"),
        categories=_str_list(data.get("categories"), "categories"),
        url=url or (urls[0] if urls else None),
        pdf_url=_str(data.get("pdf_url"), "pdf_url"),
        urls=urls or ([url] if url else []),
        item_type=item_type,
        list_rows=rows,
        explicit_id=explicit_id,
    )


def json_lines(path: str | Path) -> Iterator[tuple[int, Any, str | None]]:
    """(line number, parsed value, problem) for each non-blank line of a UTF-8 JSON Lines file."""
    path = Path(path)
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise RecordsFileError(f"cannot read records file {path}: {exc.strerror or exc}") from exc
    with handle:
        try:
            lines = list(handle)
        except UnicodeDecodeError as exc:
            raise RecordsFileError(f"{path}: not UTF-8 text ({exc})") from exc
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            # Without its newline: an unterminated line is then reported at its real end column.
            value = json.loads(line.rstrip("\r\n"))
        except json.JSONDecodeError as exc:
            yield number, None, f"invalid JSON ({exc.msg} at column {exc.colno})"
        except RecursionError:
            # The C parser recurses per nesting level: [[[[... 100,000 deep exhausts the stack.
            yield number, None, "invalid JSON (nested too deeply)"
        except ValueError as exc:
            # Python refuses to convert an integer of more than 4,300 digits (sys.int_info).
            yield number, None, f"invalid JSON ({str(exc).split(';')[0]})"
        else:
            yield number, value, None


def read_json_objects(path: str | Path) -> list[dict[str, Any]]:
    """The raw JSON objects of a JSON Lines file (what the local arXiv server serves)."""
    out = []
    for number, value, problem in json_lines(path):
        if problem is None and not isinstance(value, dict):
            problem = "expected a JSON object"
        if problem is not None:
            raise RecordsFileError(f"{path} line {number}: {problem}")
        out.append(value)
    return out


def read_records_file(path: str | Path, *, skip_invalid: bool = False) -> RecordsRead:
    """Read and validate every line of a JSON Lines file before anything is written."""
    out = RecordsRead()
    for number, data, problem in json_lines(path):
        if problem is None:
            try:
                out.records.append(record_from_dict(data, number))
                continue
            except (ValueError, TypeError) as exc:
                problem = str(exc)
        message = f"{path} line {number}: {problem}"
        if not skip_invalid:
            raise RecordsFileError(message + " (nothing was written)")
        out.skipped.append({"line": number, "error": problem})
    return out
