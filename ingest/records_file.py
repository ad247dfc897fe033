"""Read papers from JSON Lines in the shared seed_papers.jsonl format (unknown keys ignored), or as
`paperkg export papers --format jsonl` writes them (see _exported_tags).

Policy: the whole file is read and validated before anything is written. By default bad lines
(not UTF-8 text, not valid JSON, not an object, no title, wrong types or values, a text over its length
limit or not valid Unicode, an invalid `id`, `arxiv_id` or `doi`, a URL that cannot be parsed once cleaned,
an `updated` earlier than `published`)
stop the import with an error naming every bad line and its field (BadLines); with
`skip_invalid=True` bad lines are skipped and reported instead. Dates are stored as their UTC date (see
stored_date).
"""

from __future__ import annotations

import json
import logging
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ingest.awesome_list import map_labels
from ingest.normalize import arxiv_id_and_version, doi_from_text, without_publisher_tag
from ingest.records import ITEM_TYPES, ListRowRecord, Record
from kg import text_files
from kg.safe_output import shown_text
from kg.schema import EDGE_SOURCE_EXTRACTED, EDGE_SOURCE_LIST, Label
from kg.taxonomy import Taxonomy, load_taxonomy, node_spelt_exactly
from kg.text_files import NotUtf8Error, encoding_problem, line_problem
from kg.validation import (
    MAX_ABSTRACT_CHARS,
    MAX_AUTHOR_CHARS,
    MAX_AUTHORS,
    MAX_TEXT_CHARS,
    MAX_TITLE_CHARS,
    YEAR_MAX,
    YEAR_MIN,
    check_arxiv_id,
    check_author_length,
    check_length,
    check_paper_id,
    check_url,
    check_utf8,
    clean_text,
)
from kg.withdrawn import abstract_with_withdrawal

log = logging.getLogger(__name__)


class RecordsFileError(ValueError):
    """A records file cannot be read or has an invalid line."""


def json_type(value: Any) -> str:
    """The JSON name of a parsed value's type, for messages ("null", "a number", "an array"...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):  # before int: a bool is an int in Python
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__  # not from json.loads (a caller's own value)


def _shown(value: Any) -> str:
    """A value for a message: a string quoted as before, anything else as JSON writes it (true, null)."""
    if isinstance(value, str):
        return repr(value)
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


# The node labels an id of a row's column is read as, its own first: the node's graph label decides the
# edge (ingest.pipeline._list_edges), so an id in the other column is a tag too; a topic's is none.
_COLUMN_LABELS = {"techniques": (Label.TECHNIQUE, Label.EVALUATION),
                  "evaluation": (Label.EVALUATION, Label.TECHNIQUE)}


class _Labels:
    """Maps a list row's Techniques/Evaluation text to taxonomy ids, as the list ingest does
    (awesome_list.map_labels), and reads a renamed id as its node's (respell); the configured taxonomy is
    loaded on first use, only when needed."""

    def __init__(self, taxonomy: Taxonomy | None) -> None:
        self._taxonomy = taxonomy
        # (column, id as given, node id) -> the lines that gave it: reported once per file (renamed()).
        self._renamed: dict[tuple[str, str, str], list[int | None]] = {}
        self._unreadable = False  # the taxonomy could not be loaded for ids (respell)

    def _loaded(self) -> Taxonomy:
        if self._taxonomy is None:
            from kg.config import load_config

            try:
                self._taxonomy = load_taxonomy(load_config().taxonomy)
            except ValueError as exc:
                # Not a bad line: no row of the file could be mapped.
                raise RecordsFileError(f"cannot map the list rows' labels: {exc}") from exc
        return self._taxonomy

    def map(self, text: str | None, column: str) -> tuple[list[str], list[str]]:
        """(taxonomy ids, unknown labels) of one cell's text."""
        if text is None:
            return [], []
        return map_labels(text, column, self._loaded())

    def respell(self, ids: list[str], column: str, line: int | None) -> tuple[list[str], bool]:
        """`ids` with each that is no taxonomy id but spells exactly one node's id, name or alias (of the
        labels the column takes; case, spaces, hyphens and underscores aside) as that node's id, as the
        web pages redirect an old id (a node renamed with its old id kept as an alias: `knockout` ->
        `ablation`); and False when none of them is a taxonomy id (none given, or all unknown; True when
        the taxonomy cannot be read, the ids then left as given)."""
        if not ids:
            return ids, False
        if self._unreadable:
            return ids, True
        try:
            taxonomy = self._loaded()
        except RecordsFileError:
            # Ids need no taxonomy to be read (only text does): left as given, checked by the ingest.
            self._unreadable = True
            return ids, True
        out: list[str] = []
        for given in ids:
            node_id = given
            if given not in taxonomy.by_id:
                own, other = _COLUMN_LABELS[column]
                node = (node_spelt_exactly(taxonomy, given, (own,))
                        or node_spelt_exactly(taxonomy, given, (other,)))
                if node is not None:
                    node_id = node.id
                    lines = self._renamed.setdefault((column, given, node_id), [])
                    if line not in lines:
                        lines.append(line)
            if node_id not in out:
                out.append(node_id)
        return out, any(node_id in taxonomy.by_id for node_id in out)

    def renamed(self) -> list[dict[str, Any]]:
        """The ids read as another node's id: {column, id, node_id, lines}, in the order first met."""
        return [{"column": column, "id": given, "node_id": node_id, "lines": lines}
                for (column, given, node_id), lines in self._renamed.items()]


@dataclass
class RecordsRead:
    """Records read from a file, and the lines skipped (only with skip_invalid)."""

    records: list[Record] = field(default_factory=list)
    # {line, error, title}: the title when the line parsed and gave one as text, else None.
    skipped: list[dict[str, Any]] = field(default_factory=list)
    # The ids read as another node's id (_Labels.renamed), each logged as a warning too.
    renamed: list[dict[str, Any]] = field(default_factory=list)
    # Records read with something to check ({line, title, message}): a `year` its `published` date's
    # year disagrees with (_year_note).
    warnings: list[dict[str, Any]] = field(default_factory=list)

    def rejected(self) -> list[dict[str, Any]]:
        """The skipped lines as run_ingest's `rejected` entries."""
        return [{"line": s["line"], "source_id": f"line {s['line']}", "title": s.get("title"),
                 "reason": s["error"]} for s in self.skipped]


def _str(value: Any, name: str, max_chars: int = MAX_TEXT_CHARS) -> str | None:
    """A stripped string (None when blank), or ValueError naming the field: wrong type, longer than
    `max_chars` or not valid Unicode (a lone surrogate: JSON allows "\\udc80", UTF-8 cannot store it)."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)  # an int of up to 4,300 digits: the length limit applies to it too
    if not isinstance(value, str):
        raise ValueError(f"'{name}' must be a string, not {json_type(value)}")
    text = value.strip()
    return check_utf8(check_length(text, name, max_chars), name) if text else None


def _str_list(value: Any, name: str, max_chars: int = MAX_TEXT_CHARS, max_items: int | None = None
              ) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise ValueError(f"'{name}' must be a list of strings, not {json_type(value)}")
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise ValueError(f"'{name}' must be a list of strings, not one holding {json_type(item)} "
                             f"(entry {index + 1})")
    out = [text for v in value if (text := _str(v, name, max_chars))]
    if max_items is not None and len(out) > max_items:
        raise ValueError(f"'{name}' has {len(out)} entries (the limit is {max_items})")
    return out


def _authors(value: Any) -> list[str]:
    """The `authors` list; one string is refused, since "Ada Lovelace, Alan Turing" would be stored as
    one author of that name (names contain commas too, "Lovelace, Ada": it cannot be split safely)."""
    if value is not None and not isinstance(value, list):
        given = "one string" if isinstance(value, str) else json_type(value)
        raise ValueError(f"'authors' must be a list of names, e.g. [\"Ada Lovelace\", \"Alan Turing\"], "
                         f"not {given}")
    # Any item that is no string is _str_list's error, by its entry number.
    if value is not None and all(isinstance(item, str) for item in value):
        for index, item in enumerate(value, start=1):
            check_author_length(item.strip(), index)  # one name is too long, not the list
    return _str_list(value, "authors", MAX_AUTHOR_CHARS, MAX_AUTHORS)


def _url(value: Any, name: str) -> str | None:
    """A URL field as _str reads it, or ValueError naming the field when it cannot be parsed once cleaned
    as the record will be (clean_text): "https://x\\u001b[evil]/" passed as text, then lost its ESC and
    became the bracketed host "https://x[evil]/" that every page linking it failed on."""
    text = _str(value, name)
    if text is not None:
        check_url(clean_text(text), name)
    return text


def _url_list(value: Any, name: str) -> list[str]:
    """A list of URLs as _str_list reads it, each checked as _url does."""
    out = _str_list(value, name)
    for text in out:
        check_url(clean_text(text), name)
    return out


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ].+)?", re.ASCII)


class UnreadableDate(ValueError):
    """Text no ISO date parser reads (parse_iso_time); the message is the parser's."""


def _in_utc(moment: datetime, name: str, check_years: bool = True) -> datetime:
    """`moment` as an aware UTC datetime (one without an offset is taken as UTC); ValueError naming the
    field for a year outside YEAR_MIN..YEAR_MAX (with `check_years`) or one a datetime cannot hold in UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        utc = moment.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:00:00-05:00 is in year 10000 in UTC
        raise ValueError(f"'{name}' {moment.isoformat()} is outside the years {YEAR_MIN}..{YEAR_MAX}"
                         ) from None
    if check_years and not YEAR_MIN <= utc.year <= YEAR_MAX:
        raise ValueError(f"'{name}' {utc.date().isoformat()} is outside the years {YEAR_MIN}..{YEAR_MAX}")
    return utc


def parse_iso_time(text: str, name: str, *, check_years: bool = True) -> datetime:
    """An ISO date or datetime as records files and arXiv's feeds write it, as an aware UTC datetime: a Z
    is +00:00, an offset is converted (2024-12-31T23:30:00-05:00 is 2025-01-01T04:30:00Z), a time
    without one is taken as UTC, a date is its midnight. The one rule of the records file, the arXiv
    source and the local arXiv server. UnreadableDate (the parser's message) for text it cannot read;
    ValueError naming `name` for a year outside YEAR_MIN..YEAR_MAX (unless not `check_years`) or a
    moment beyond what a datetime holds in UTC."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:  # "day is out of range for month", "Invalid isoformat string: ..."
        raise UnreadableDate(str(exc)) from exc
    return _in_utc(moment, name, check_years)


def stored_date(moment: datetime, name: str) -> str:
    """The date a paper's `published` or `updated` is stored as (YYYY-MM-DD), for records files and arXiv
    alike: the UTC date of a time with an offset (2024-12-31T23:30:00-05:00 is 2025-01-01, as arXiv's
    dates are read), the date as given of one without; ValueError naming the field for a year outside
    YEAR_MIN..YEAR_MAX."""
    return _in_utc(moment, name).date().isoformat()


def _iso_date(value: Any, name: str) -> str | None:
    """The stored date (stored_date) of an ISO date or datetime, or ValueError naming the field."""
    text = _str(value, name)
    if text is None:
        return None
    refused = f"'{name}' must be an ISO date or datetime (YYYY-MM-DD...), not {text!r}"
    # fromisoformat alone also takes "20221101" and week dates: the stored prefix must be YYYY-MM-DD.
    if not _ISO_DATE.fullmatch(text):
        raise ValueError(refused)
    try:
        moment = parse_iso_time(text, name)
    except UnreadableDate as exc:
        raise ValueError(refused) from exc
    return moment.date().isoformat()


def _int(value: Any, name: str) -> int:
    """An integer given as a JSON number or digits in a string (never a bool or a fraction)."""
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError(f"'{name}' must be an integer, not {_shown(value)}")
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValueError(f"'{name}' must be an integer, not {_shown(value)}") from exc


def _year_note(year: int | None, published: str | None, given: Any) -> str | None:
    """What to say when a record's `year` is not the year of its stored `published` date (`given`: the
    `published` text): the year is kept as given (BibTeX then gives no month), and the date as stored."""
    if year is None or published is None or int(published[:4]) == year:
        return None
    text = str(given).strip()
    stored = f" (stored as its UTC date, {published})" if text != published else ""
    return f"'year' {year} disagrees with 'published' {_shown(text)}{stored}: the year {year} is kept"


def _year(value: Any, published: str | None) -> int | None:
    if value is None or value == "":
        if not published:
            return None
        return int(published[:4])  # stored_date checked its range
    year = _int(value, "year")
    if not YEAR_MIN <= year <= YEAR_MAX:
        raise ValueError(f"'year' {year} is outside the years {YEAR_MIN}..{YEAR_MAX}")
    return year


def _item_type(value: Any, name: str) -> str:
    item_type = _str(value, name) or "paper"
    if item_type not in ITEM_TYPES:
        raise ValueError(f"'{name}' must be 'paper' or 'tool', not {item_type!r}")
    return item_type


@dataclass
class RecordsFileRow(ListRowRecord):
    """A list row of a records file, with the keys its line gave a value (not null): a re-import applies
    only those to the paper's stored row (ingest.pipeline), since absent is not empty."""

    given: frozenset[str] = frozenset()

    def to_dict(self) -> dict[str, Any]:
        """As ListRowRecord.to_dict: the given keys are for the pipeline, not the JSON."""
        out = super().to_dict()
        out.pop("given", None)
        return out


def _list_row(data: Any, index: int, source_line: int | None, labels: _Labels, exported: bool = False
              ) -> RecordsFileRow:
    if not isinstance(data, dict):
        raise ValueError(f"list_rows[{index}] must be an object, not {json_type(data)}")
    try:
        return _exported_row(data, source_line) if exported else _list_row_fields(data, source_line, labels)
    except RecordsFileError:
        raise
    except ValueError as exc:
        raise ValueError(f"list_rows[{index}]: {exc}") from exc


# A line of `paperkg export papers --format jsonl` (api.json_api.detail_dict) gives a paper's tags at top
# level, each with its source, and its rows' cells as `techniques_text`/`evaluation_text`: (the top-level
# key, the row's column its ids go in, the export row's text key, the records row's keys of that column).
_EXPORT_COLUMNS = (("techniques", "techniques", "techniques_text", ("techniques", "technique_ids")),
                   ("evaluations", "evaluation", "evaluation_text", ("evaluation", "evaluation_ids")))
# The column's ids on a row.
_IDS_OF = {"techniques": "technique_ids", "evaluation": "evaluation_ids"}


def _exported_tags(data: dict[str, Any]) -> list[tuple[str, str, str | None]] | None:
    """The hand tags (source list) of a line `export papers --format jsonl` wrote, as (row column, id,
    evidence); None for a records file's line. Such a line has `techniques` or `evaluations` at top level as
    an array of tag objects (`{id, label, source, evidence, score}`; empty or holding an object), which a
    records file never had (one holding strings only is ignored, as before). Extracted tags are left out:
    the import extracts them again from the abstract. ValueError for a tag that is not an object with an
    `id` and a source of list or extracted."""
    if not any(isinstance(value, list) and (not value or any(isinstance(tag, dict) for tag in value))
               for value in (data.get(key) for key, *_rest in _EXPORT_COLUMNS)):
        return None
    tags: list[tuple[str, str, str | None]] = []
    for key, column, _text, _keys in _EXPORT_COLUMNS:
        value = data.get(key)
        if value is None:
            continue
        if not isinstance(value, list):
            raise ValueError(f"'{key}' must be an array of tags, not {json_type(value)}")
        for index, tag in enumerate(value, start=1):
            if not isinstance(tag, dict):
                raise ValueError(f"'{key}' entry {index} must be a tag object ({{\"id\", \"source\", ...}}), "
                                 f"not {json_type(tag)}")
            source = _str(tag.get("source"), f"{key} source")
            if source == EDGE_SOURCE_EXTRACTED:
                continue
            if source != EDGE_SOURCE_LIST:
                raise ValueError(f"'{key}' entry {index}: 'source' must be {EDGE_SOURCE_LIST!r} or "
                                 f"{EDGE_SOURCE_EXTRACTED!r}, not {_shown(source)}")
            tag_id = _str(tag.get("id"), f"{key} id")
            if not tag_id:
                raise ValueError(f"'{key}' entry {index}: 'id' is missing or empty")
            evidence = tag.get("evidence")
            tags.append((column, tag_id, evidence.strip() or None if isinstance(evidence, str) else None))
    return tags


def _exported_row(data: dict[str, Any], source_line: int | None) -> RecordsFileRow:
    """A list row of an export's line: its cells' text from `techniques_text`/`evaluation_text`, never
    mapped (the paper's tags are given with it, _place_tags), and both columns given whatever their
    values, so a re-import applies the text and the ids together (ingest.pipeline._records_rows_update):
    text alone would replace the hand tags by what the text maps to."""
    for _key, _column, text, keys in _EXPORT_COLUMNS:
        mixed = [k for k in keys if data.get(k) is not None]
        if mixed:
            # Two sources of one column's tags: which one wins would be a guess.
            raise ValueError(f"{_shown(mixed[0])} is a records file's key: a line of `export papers` gives "
                             f"its tags in the paper's 'techniques'/'evaluations' and the text in "
                             f"{_shown(text)}")
    row = _list_row_fields({**data, "techniques": data.get("techniques_text"),
                            "evaluation": data.get("evaluation_text")}, source_line, None)
    row.given = row.given | {k for *_r, keys in _EXPORT_COLUMNS for k in keys}
    return row


def _respelt_tags(tags: list[tuple[str, str, str | None]], labels: _Labels, line: int | None
                  ) -> tuple[list[tuple[str, str, str | None]], list[str]]:
    """An export's hand tags with their ids respelt (_Labels.respell: an export written before a rename
    carries the old ids), and the columns whose tags are all unknown (none a taxonomy id), which the
    rows then do not give (_respelt_ids: the stored tags stay)."""
    out: list[tuple[str, str, str | None]] = []
    known: dict[str, bool] = {}
    for column, tag_id, evidence in tags:
        [node_id], is_known = labels.respell([tag_id], column, line)
        known[column] = known.get(column, False) or is_known
        out.append((column, node_id, evidence))
    return out, [column for column, is_known in known.items() if not is_known]


def _place_tags(rows: list[RecordsFileRow], tags: list[tuple[str, str, str | None]]) -> None:
    """Put an export's hand tags on the paper's rows (the store keeps tags per paper, not per row): each
    on the first row whose cell of its column, else of the other column, is its evidence (the cell it came
    from, so the import gives it that evidence again), else on the first row. ValueError for tags without
    a row to hold them."""
    if tags and not rows:
        raise ValueError("'techniques'/'evaluations' hold tags of source 'list' but there are no 'list_rows' "
                         "to give them")
    placed: set[str] = set()
    for column, tag_id, evidence in tags:
        if tag_id in placed:
            continue
        placed.add(tag_id)
        other = "evaluation" if column == "techniques" else "techniques"
        row, where = next(((r, c) for c in (column, other) for r in rows if getattr(r, c) == evidence),
                          (rows[0], column))
        getattr(row, _IDS_OF[where]).append(tag_id)


def _list_row_fields(data: dict[str, Any], source_line: int | None, labels: _Labels | None
                     ) -> RecordsFileRow:
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
    techniques = _str(data.get("techniques"), "techniques")
    evaluation = _str(data.get("evaluation"), "evaluation")
    technique_ids = _str_list(data.get("technique_ids"), "technique_ids")
    evaluation_ids = _str_list(data.get("evaluation_ids"), "evaluation_ids")
    given = frozenset(key for key, value in data.items() if value is not None)
    if labels is not None:
        technique_ids, given = _respelt_ids(technique_ids, "techniques", labels, source_line, given)
        evaluation_ids, given = _respelt_ids(evaluation_ids, "evaluation", labels, source_line, given)
    # Without ids, the cell text is mapped as the list ingest maps it (the taxonomy's list_label_map):
    # it used to become no edge at all, silently. Its unknown labels stay on the row and are reported.
    unknown_techniques: list[str] = []
    unknown_evaluations: list[str] = []
    # No `labels` (an export's row): the text is not mapped, the paper's tags are placed on its rows.
    if not technique_ids and labels is not None:
        technique_ids, unknown_techniques = labels.map(techniques, "techniques")
    if not evaluation_ids and labels is not None:
        evaluation_ids, unknown_evaluations = labels.map(evaluation, "evaluation")
    return RecordsFileRow(
        section_path=section_path,
        title_in_list=_str(data.get("title_in_list"), "title_in_list", MAX_TITLE_CHARS) or "",
        url_in_list=_url(data.get("url_in_list"), "url_in_list"),
        urls=[u for u in [_url(data.get("url_in_list"), "url_in_list")] if u],
        techniques=techniques,
        evaluation=evaluation,
        tldr=_str(data.get("tldr"), "tldr"),
        technique_ids=technique_ids,
        evaluation_ids=evaluation_ids,
        unknown_techniques=unknown_techniques,
        unknown_evaluations=unknown_evaluations,
        item_type=_item_type(data.get("item_type"), "item_type"),
        line=line if isinstance(line, int) and not isinstance(line, bool) else None,
        occurrences=occurrences,
        source_line=source_line,
        given=given,
    )


# The keys that give a column's tags, for the replace rule (ingest.pipeline._TAG_COLUMNS).
_COLUMN_KEYS = {"techniques": frozenset({"technique_ids", "techniques"}),
                "evaluation": frozenset({"evaluation_ids", "evaluation"})}


def _respelt_ids(ids: list[str], column: str, labels: _Labels, line: int | None, given: frozenset[str]
                 ) -> tuple[list[str], frozenset[str]]:
    """A row's ids of `column` respelt (_Labels.respell), and the keys the row gives: without the
    column's when it gives ids none of which is a taxonomy id. A re-import replaces the paper's hand tags
    by those a given column's ids make (ingest.pipeline._records_rows_update): ids all unknown (an older
    file after a rename that kept no alias) would clear them, so the stored tags stay, and the ids are
    reported as unknown labels."""
    ids, known = labels.respell(ids, column, line)
    return ids, given if known or not ids else given - _COLUMN_KEYS[column]


def record_from_dict(data: Any, line: int | None = None, taxonomy: Taxonomy | None = None) -> Record:
    """One JSON object in the seed_papers.jsonl format -> a Record (ValueError when invalid).

    `line` is the object's line in its file: unknown label ids on its list rows are reported there.
    A list row's `techniques`/`evaluation` text without ids is mapped with `taxonomy` (default: the
    configured one, loaded only then).
    """
    return _record(data, line, _Labels(taxonomy))


def _arxiv_id_and_version(raw: str) -> tuple[str, int | None]:
    """The arXiv id without its version, and the version (`2401.01234v2` -> 2; None when not given),
    of an `arxiv_id` value: an id (checked) or an arXiv abs/pdf URL."""
    # An arXiv abs/pdf URL stands for its id, as it always has; anything else must be an id (checked:
    # an arxiv.org URL without one, such as a listing page, is a bad line too).
    found = arxiv_id_and_version(raw) if "arxiv.org/" in raw.casefold() else None
    if found is None:
        found = arxiv_id_and_version(check_arxiv_id(raw))
    return found if found is not None else (raw, None)


def _record(data: Any, line: int | None, labels: _Labels, warnings: list[dict[str, Any]] | None = None
            ) -> Record:
    """A records file's line as a Record (ValueError when invalid); `warnings` collects what the line
    says that needs a look ({line, title, message})."""
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object, got {json_type(data)}")
    title = _str(data.get("title"), "title", MAX_TITLE_CHARS)
    if not title:
        raise ValueError("'title' is missing or empty")
    # Both become the paper's id, in URLs (/papers/<id>, https://arxiv.org/abs/<arxiv_id>): checked.
    explicit_id = _str(data.get("id"), "id")
    if explicit_id is not None:
        check_paper_id(explicit_id, "id")
    raw_arxiv_id = _str(data.get("arxiv_id"), "arxiv_id")
    # The version decides which metadata wins when two records of the paper meet (an older one never
    # overwrites a newer one's): it used to be dropped here, so the last record read won.
    arxiv_id, version = _arxiv_id_and_version(raw_arxiv_id) if raw_arxiv_id else (None, None)
    published = _iso_date(data.get("published"), "published")
    updated = _iso_date(data.get("updated"), "updated")
    if published and updated and updated < published:
        # A paper is revised after it is first published: one of the two dates is wrong.
        raise ValueError(f"'updated' {updated} is earlier than 'published' {published}")
    urls = _url_list(data.get("urls_in_list") or data.get("urls"), "urls_in_list")
    url = _url(data.get("url"), "url")
    doi_text = _str(data.get("doi"), "doi")
    doi = doi_from_text(doi_text) if doi_text else None
    if doi_text and not doi:
        # It used to be dropped silently, the paper then stored without it.
        raise ValueError(f"'doi' must be a DOI such as 10.1234/abc or a https://doi.org/ URL, not "
                         f"{_shown(doi_text[:60] + ('...' if len(doi_text) > 60 else ''))}")
    rows_data = data.get("list_rows") or []
    if not isinstance(rows_data, list):
        raise ValueError(f"'list_rows' must be an array, not {json_type(rows_data)}")
    item_type = _item_type(data.get("item_type"), "item_type")
    exported = _exported_tags(data)
    rows = [_list_row(r, i, line, labels, exported is not None) for i, r in enumerate(rows_data)]
    if exported is not None:
        tags, unknown_columns = _respelt_tags(exported, labels, line)
        _place_tags(rows, tags)
        for row in rows:
            row.given = row.given.difference(*(_COLUMN_KEYS[c] for c in unknown_columns))
    for row in rows:
        row.item_type = item_type
    year = _year(data.get("year"), published)
    note = _year_note(year, published, data.get("published"))
    if note is not None and warnings is not None:
        warnings.append({"line": line, "title": title, "message": note})
    return Record(
        source="records",
        source_id=explicit_id or arxiv_id or title,
        # A list's organisation tag, as a list title drops it: records files are often made from a list.
        title=without_publisher_tag(" ".join(title.split())),
        authors=_authors(data.get("authors")),
        # arXiv states a withdrawal in the comment (its current policy): stored as the abstract's notice,
        # as the arXiv source does, so every output marks the paper.
        abstract=abstract_with_withdrawal(_str(data.get("abstract"), "abstract", MAX_ABSTRACT_CHARS),
                                          _str(data.get("comment"), "comment")),
        arxiv_id=arxiv_id,
        doi=doi,
        published=published,
        updated=updated,
        year=year,
        venue=_str(data.get("venue"), "venue"),
        primary_category=_str(data.get("primary_category"), "primary_category"),
        categories=_str_list(data.get("categories"), "categories"),
        url=url or (urls[0] if urls else None),
        pdf_url=_url(data.get("pdf_url"), "pdf_url"),
        urls=urls or ([url] if url else []),
        item_type=item_type,
        list_rows=list[ListRowRecord](rows),
        explicit_id=explicit_id,
        version=version,
        source_line=line,
    )


_BOM = "\ufeff"
# A byte order mark at the start of a line after the first: files joined with `cat`.
_LINE_START_BOM = re.compile("(?<=[\r\n])\ufeff")


def _decoded_line(raw: bytes) -> tuple[str | None, str | None]:
    """(text, None) of one line of a file, a byte order mark at its start left out: Windows editors write
    one at the start of a file, and joining such files (cat a.jsonl b.jsonl) leaves one at the start of a
    line, where json.loads said "Unexpected UTF-8 BOM (decode using utf-8-sig)"; (None, why) when the
    line is not UTF-8 text (kg.text_files.line_problem: its column, in characters, as JSON errors count)."""
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None, line_problem(raw)
    return line.removeprefix(_BOM), None


def utf8_text(data: bytes, name: str) -> str:
    """A whole file's bytes as text, a byte order mark at the start of a line left out; RecordsFileError
    naming the file (`name`) and why it is not UTF-8 text (kg.text_files.utf8_problem: a UTF-16 or
    Windows-1252 file from a Windows editor, with the line and column of its first such byte)."""
    try:
        text = text_files.utf8_text(data)
    except NotUtf8Error as exc:
        raise RecordsFileError(f"{shown_path(name)} {exc}") from exc
    # Not the line ends str.splitlines knows (U+2028, form feed): the ones bytes.splitlines knew.
    return _LINE_START_BOM.sub("", text)


# The first line of a CSV file's header: two or more column names (a spreadsheet's "Title", an export's
# "citation_key"), maybe quoted, separated by commas, semicolons (Excel in many locales) or tabs.
_CSV_WORDS = r"[A-Za-z_][\w.()/-]{0,40}(?: [\w.()/-]{1,40}){0,3}"  # "Paper Title"; not a sentence
_CSV_NAME = rf'(?:"{_CSV_WORDS}"|{_CSV_WORDS})'
_CSV_HEADER = re.compile(rf"\s*{_CSV_NAME}\s*([,;\t])\s*{_CSV_NAME}(?:\s*\1\s*{_CSV_NAME})*\s*")
_JSON_LINES = "records are JSON Lines, one JSON object per line"


def _shape_problem(line: str, path: Path, following: str | None) -> str | None:
    """Why a file whose first non-blank line is `line` (and the next `following`, None when there is none)
    is no JSON Lines at all, with what to do, or None: checked first, so a pretty-printed JSON array or a
    CSV file is one error, not "1894 bad lines"."""
    stripped = line.strip()
    converted = f"{shown_text(shlex.quote(str(path)))} > records.jsonl"
    if stripped.startswith("["):
        return f"a JSON array, not JSON Lines: {_JSON_LINES}; convert it with e.g. jq -c '.[]' {converted}"
    if stripped == "{":
        return (f"a JSON object spread over several lines, not JSON Lines: {_JSON_LINES}; convert it with "
                f"e.g. jq -c . {converted}")
    if (header := _CSV_HEADER.fullmatch(line)) and _csv_row_follows(line, header.group(1), following):
        return (f"CSV, not JSON Lines (its first line is a CSV header: {stripped[:80]!r}): {_JSON_LINES}, "
                f"as `paperkg export papers --format jsonl` writes them; CSV is not read (`--format csv` "
                f"is for spreadsheets)")
    return None


def _csv_row_follows(header: str, separator: str, following: str | None) -> bool:
    """Whether the line after a CSV-like first line is a CSV row too: no JSON object, and as many
    separators as the header at least (a quoted cell may hold more). A first line of prose with a comma
    ("Created by script, version 2") before JSON Lines is that line's problem, not the file's."""
    if following is None:  # a header alone: CSV with no rows
        return True
    return not following.lstrip().startswith("{") and following.count(separator) >= header.count(separator)


def _next_text_line(lines: list[bytes], start: int) -> str | None:
    """The first non-blank line of lines[start:], None when there is none ("" when it is not UTF-8: no
    CSV row, so that line is named as a bad line rather than the file refused as CSV)."""
    for raw in lines[start:]:
        line, _problem = _decoded_line(raw)
        if line is None:
            return ""
        if line.strip():
            return line
    return None


def json_lines(path: str | Path) -> Iterator[tuple[int, Any, str | None]]:
    """(line number, parsed value, problem) for each non-blank line of a UTF-8 JSON Lines file;
    RecordsFileError for a file that is no JSON Lines text at all (encoding_problem, _shape_problem)."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise RecordsFileError(f"cannot read records file {shown_path(path)}: {exc.strerror or exc}") from exc
    problem = encoding_problem(data)
    if problem is not None:
        raise RecordsFileError(f"{shown_path(path)} {problem}")
    # Line by line, so a line that is not UTF-8 is named, and skipped like any bad line. bytes.splitlines
    # ends lines where text mode did (LF, CR LF, CR), so line numbers are the ones they always were.
    first = True
    lines = data.splitlines()
    for number, raw in enumerate(lines, start=1):
        line, problem = _decoded_line(raw)
        if line is None:
            yield number, None, problem
            first = False
            continue
        if not line.strip():
            continue
        if first and (shape := _shape_problem(line, path, _next_text_line(lines, number))) is not None:
            raise RecordsFileError(f"{shown_path(path)}: {shape}")
        first = False
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, None, not_valid_json(exc.msg.removesuffix(" at"), exc.colno)
        except RecursionError:
            # The C parser recurses per nesting level: [[[[... 100,000 deep exhausts the stack.
            yield number, None, not_valid_json("nested too deeply")
        except ValueError as exc:
            # Python refuses to convert an integer of more than 4,300 digits (sys.int_info).
            yield number, None, not_valid_json(str(exc).split(";")[0])
        else:
            yield number, value, None


def not_valid_json(reason: str, column: int | None = None) -> str:
    """Why a line is no JSON, in the one form the records file and keys restore use: "not valid JSON
    (expecting ',' delimiter, column 14)" (the parser's "Expecting ',' delimiter at column 14")."""
    reason = reason[:1].lower() + reason[1:]
    where = f", column {column}" if column is not None else ""
    return f"not valid JSON ({reason}{where})"


def read_json_objects(path: str | Path) -> list[dict[str, Any]]:
    """The raw JSON objects of a JSON Lines file (what the local arXiv server serves)."""
    out = []
    for number, value, problem in json_lines(path):
        if problem is None and not isinstance(value, dict):
            problem = f"expected a JSON object, got {json_type(value)}"
        if problem is not None:
            raise RecordsFileError(f"{shown_path(path)} line {number}: {problem}")
        out.append(value)
    return out


def read_records_file(path: str | Path, *, skip_invalid: bool = False, taxonomy: Taxonomy | None = None
                      ) -> RecordsRead:
    """Read and validate every line of a JSON Lines file before anything is written.

    `taxonomy` maps list rows' label text without ids (default: the configured one, see record_from_dict).
    """
    out = RecordsRead()
    labels = _Labels(taxonomy)  # one for the file: the taxonomy is loaded once at most
    lines = 0
    for number, data, problem in json_lines(path):
        lines += 1
        if problem is None:
            try:
                out.records.append(_record(data, number, labels, out.warnings))
                continue
            except RecordsFileError:
                raise  # about the whole file (the taxonomy), not this line
            except (ValueError, TypeError) as exc:
                problem = str(exc)
        out.skipped.append({"line": number, "error": problem, "title": _given_title(data)})
    if not lines:
        # An import of nothing would be recorded as a run that found no papers, as the list refuses one.
        raise RecordsFileError(f"{shown_path(path)}: no records: the file is empty or holds only blank lines "
                               f"({_JSON_LINES}); nothing was written")
    if out.skipped and not skip_invalid:
        # Every bad line at once: stopping at the first one took one run per bad line to find them all.
        raise BadLines(path, out.skipped, others=bool(out.records))
    out.renamed = labels.renamed()
    for entry in out.renamed:
        log.warning("%s", renamed_id_text(entry))
    return out


def _given_title(data: Any) -> str | None:
    """The title a parsed line gives as text, for its rejection (shortened: a report prints it)."""
    from ingest.summary import shortened

    title = data.get("title") if isinstance(data, dict) else None
    return shortened(" ".join(title.split())) or None if isinstance(title, str) else None


def renamed_id_text(entry: dict[str, Any]) -> str:
    """One id read as another node's (a RecordsRead.renamed entry), for the log: "technique id
    'knockout' (line 3) read as 'ablation', the node it names now"."""
    where = ", ".join(str(n) for n in entry["lines"] if n is not None)
    lines = f" (line{'s' if ',' in where else ''} {where})" if where else ""
    kind = "technique" if entry["column"] == "techniques" else "evaluation"
    return (f"{kind} id {_shown(entry['id'])}{lines} read as {_shown(entry['node_id'])}, the node it names "
            f"now (an old id or another spelling of it): update the file")


class BadLines(RecordsFileError):
    """A records file with bad lines, read without skip_invalid: nothing is written. `bad_lines` holds
    every one ({line, error}); the message names the first BAD_LINES_SHOWN."""

    def __init__(self, path: str | Path, bad_lines: list[dict[str, Any]], others: bool = True) -> None:
        self.bad_lines = bad_lines
        # `others`: the file has valid lines too. Without any, --skip-invalid would import nothing: not
        # advised then (QA: "imports the other lines" of a file with no other line).
        skip = "; --skip-invalid imports the other lines and reports the bad ones" if others else ""
        if len(bad_lines) == 1:
            bad = bad_lines[0]
            message = f"{shown_path(path)} line {bad['line']}: {bad['error']} (nothing was written{skip})"
        else:
            none_valid = "" if others else ", no valid one"
            head = f"{shown_path(path)}: {len(bad_lines)} bad lines{none_valid} (nothing was written{skip}):"
            message = _listed(head, bad_lines)
        super().__init__(message)


def _listed(head: str, bad_lines: list[dict[str, Any]]) -> str:
    """`head`, then the first BAD_LINES_SHOWN bad lines one a line, then how many more there are."""
    message = head + "".join(f"\n  line {b['line']}: {b['error']}" for b in bad_lines[:BAD_LINES_SHOWN])
    if len(bad_lines) > BAD_LINES_SHOWN:
        message += f"\n  ... and {len(bad_lines) - BAD_LINES_SHOWN} more bad lines"
    return message


# The bad lines a refused file's message names one by one (all are counted).
BAD_LINES_SHOWN = 20


class NoValidLines(RecordsFileError):
    """A records file read with skip_invalid none of whose lines is valid: nothing is written (a run of
    no records would read as done). The message names the bad lines as BadLines does."""

    def __init__(self, path: str | Path, bad_lines: list[dict[str, Any]]) -> None:
        self.bad_lines = bad_lines
        super().__init__(_listed(f"no line of {shown_path(path)} was valid; nothing was written:", bad_lines))


def shown_path(path: str | Path) -> str:
    """A file's path as a message names it: a terminal prints these, so its control characters, escape
    sequences and bidi overrides are removed (a name holding "ESC]0;...BEL" retitled the terminal) and
    bytes that are not UTF-8 shown as \\xNN (kg.safe_output.shown_text)."""
    return shown_text(str(path))


def records_file_name(path: str | Path) -> str:
    """A records file's name as a run records it: the name only (the directories stay private, as the
    About page shows runs), at most 200 characters, a name that is not UTF-8 escaped."""
    name = Path(path).name
    name = name if len(name) <= 200 else name[:200] + "..."
    return name.encode("utf-8", "backslashreplace").decode("utf-8")
