"""Records: one paper as one source saw it (list row, arXiv entry, JSON Lines line)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ingest.normalize import paper_id_for, section_slug, title_key
from kg.entities import ListRow
from kg.validation import (
    MAX_ABSTRACT_CHARS,
    MAX_AUTHOR_CHARS,
    MAX_AUTHORS,
    MAX_TEXT_CHARS,
    MAX_TITLE_CHARS,
    check_arxiv_id,
    check_author_length,
    check_length,
    check_paper_id,
    check_url,
    check_utf8,
    clean_text,
)

ITEM_TYPES = ("paper", "tool")


@dataclass
class ListRowRecord:
    """One row of the awesome-list, with its labels mapped to taxonomy ids."""

    section_path: list[str]
    title_in_list: str
    url_in_list: str | None = None
    urls: list[str] = field(default_factory=list)
    techniques: str | None = None  # the Techniques cell verbatim (None when the table has none)
    evaluation: str | None = None  # the Evaluation cell verbatim
    tldr: str | None = None
    technique_ids: list[str] = field(default_factory=list)
    evaluation_ids: list[str] = field(default_factory=list)
    unknown_techniques: list[str] = field(default_factory=list)
    unknown_evaluations: list[str] = field(default_factory=list)
    extra: dict[str, str] = field(default_factory=dict)  # cells of columns we do not know
    item_type: str = "paper"
    line: int | None = None  # the row's line in the awesome-list (stored on the LISTED_IN edge)
    occurrences: int = 1  # a row repeated verbatim in one section is kept once and counted
    # The line of the file this ingest read the row from, when that is not `line` (a records
    # file's JSON line): problems are reported where the user can find them. Never stored.
    source_line: int | None = None

    def __post_init__(self) -> None:
        # Every source builds its rows here: control characters go in one place (see clean_text).
        self.section_path = _cleaned_list(self.section_path)
        self.title_in_list = _cleaned(self.title_in_list)
        self.url_in_list = _cleaned(self.url_in_list)
        self.urls = _cleaned_list(self.urls)
        self.techniques = _cleaned(self.techniques)
        self.evaluation = _cleaned(self.evaluation)
        self.tldr = _cleaned(self.tldr)
        for name in ("technique_ids", "evaluation_ids", "unknown_techniques", "unknown_evaluations"):
            setattr(self, name, _cleaned_list(getattr(self, name)))
        self.extra = {_cleaned(k): _cleaned(v) for k, v in self.extra.items()}

    def texts(self) -> list[tuple[str, str | None, int]]:
        """(field, value, length limit) of the row's text, for Record.check."""
        out: list[tuple[str, str | None, int]] = [
            ("title_in_list", self.title_in_list, MAX_TITLE_CHARS), ("url_in_list", self.url_in_list,
                                                                     MAX_TEXT_CHARS),
            ("techniques", self.techniques, MAX_TEXT_CHARS), ("evaluation", self.evaluation, MAX_TEXT_CHARS),
            ("tldr", self.tldr, MAX_TEXT_CHARS),
        ]
        out += [("section_path", p, MAX_TEXT_CHARS) for p in self.section_path]
        out += [("urls", u, MAX_TEXT_CHARS) for u in self.urls]
        return out

    @property
    def section(self) -> str | None:
        """The top-level section title."""
        return self.section_path[0] if self.section_path else None

    @property
    def subsection(self) -> str | None:
        """The deeper headings joined by " / " (the seed data's `subsection`)."""
        return " / ".join(self.section_path[1:]) or None

    @property
    def section_id(self) -> str:
        """Stable slug of the section path."""
        return section_slug(self.section_path)

    def identity(self) -> tuple[object, ...]:
        """What makes two rows the same row (for collapsing verbatim duplicates)."""
        return (tuple(self.section_path), self.techniques, self.evaluation, self.tldr)

    def to_list_row(self) -> ListRow:
        """The LISTED_IN edge this row becomes."""
        return ListRow(
            section_id=self.section_id,
            section_title=self.section_path[-1] if self.section_path else "",
            section_path=list(self.section_path),
            tldr=self.tldr,
            techniques_text=self.techniques,
            evaluation_text=self.evaluation,
            title_in_list=self.title_in_list,
            url_in_list=self.url_in_list,
            line=self.line,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the seed data's list_rows keys plus ours)."""
        out = asdict(self)
        out.pop("source_line")
        out["section"] = self.section
        out["subsection"] = self.subsection
        out["section_id"] = self.section_id
        return out


@dataclass
class Record:
    """One paper as a source saw it. `source` is "list", "arxiv" or "records"."""

    source: str
    source_id: str
    title: str
    authors: list[str] = field(default_factory=list)
    abstract: str | None = None
    arxiv_id: str | None = None
    doi: str | None = None
    published: str | None = None
    updated: str | None = None
    year: int | None = None
    venue: str | None = None
    primary_category: str | None = None
    categories: list[str] = field(default_factory=list)
    url: str | None = None
    pdf_url: str | None = None
    urls: list[str] = field(default_factory=list)
    item_type: str = "paper"
    list_rows: list[ListRowRecord] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)  # every source merged into this record
    explicit_id: str | None = None  # an id a records file gave (used when there is no arXiv id)
    version: int | None = None  # arXiv version of the metadata, when known
    # The line of the records file it was read from, for reports (the merges of a run). Never stored.
    source_line: int | None = None

    def __post_init__(self) -> None:
        if not self.sources:
            self.sources = [self.source]
        # Every source (list, arXiv, records file) builds its records here, so this is the one place
        # control characters are removed from their text (see clean_text). The ids are not cleaned:
        # they are checked (check), since a cleaned id would silently name another paper.
        title = _cleaned(self.title)
        if title != self.title and isinstance(title, str):
            title = " ".join(title.split())  # a removed character may leave two spaces in a row
        self.title = title
        self.authors = _cleaned_list(self.authors)
        self.categories = _cleaned_list(self.categories)
        self.urls = _cleaned_list(self.urls)
        for name in ("source_id", "abstract", "doi", "published", "updated", "venue", "primary_category",
                     "url", "pdf_url"):
            setattr(self, name, _cleaned(getattr(self, name)))

    @property
    def title_key(self) -> str:
        """Normalised title used for de-duplication."""
        return title_key(self.title)

    @property
    def paper_id(self) -> str:
        """The graph id: arXiv id, else the explicit id, else a slug of the title."""
        return paper_id_for(self.arxiv_id, self.title, self.explicit_id)

    @property
    def line(self) -> int | None:
        """The line it was read from: its records file's, else its first list row's; None from arXiv."""
        if self.source_line is not None:
            return self.source_line
        return next((row.line for row in self.list_rows if row.line is not None), None)

    def check(self) -> None:
        """ValueError naming the field when the record cannot be stored as it is: a list field that is not
        a list of strings, a text over its length limit or not valid Unicode, too many authors, a URL that
        cannot be parsed, or an id that is not a valid id."""
        for name in _LIST_FIELDS:
            _check_list(name, getattr(self, name))
        for row in self.list_rows:
            for name in _ROW_LIST_FIELDS:
                _check_list(name, getattr(row, name))
        if len(self.authors) > MAX_AUTHORS:
            raise ValueError(f"'authors' has {len(self.authors)} names (the limit is {MAX_AUTHORS})")
        for index, author in enumerate(self.authors, start=1):
            check_author_length(author, index)  # "author 3 of 'authors'": one name is too long, not the list
        texts: list[tuple[str, str | None, int]] = [
            ("title", self.title, MAX_TITLE_CHARS), ("abstract", self.abstract, MAX_ABSTRACT_CHARS),
            *(("authors", a, MAX_AUTHOR_CHARS) for a in self.authors),
            *((name, getattr(self, name), MAX_TEXT_CHARS) for name in (
                "source_id", "doi", "published", "updated", "venue", "primary_category", "url", "pdf_url")),
            *(("categories", c, MAX_TEXT_CHARS) for c in self.categories),
            *(("urls", u, MAX_TEXT_CHARS) for u in self.urls),
        ]
        for i, row in enumerate(self.list_rows):
            texts += [(f"list_rows[{i}].{name}", value, limit) for name, value, limit in row.texts()]
        for name, value, limit in texts:
            if isinstance(value, str):
                check_length(value, name, limit)
                check_utf8(value, name)
        # The URLs as cleaned (__post_init__): one that cannot be parsed is this record's error, not the
        # whole run's (matching list rows by their links parses them) nor every page's that links it.
        urls = [("url", self.url), ("pdf_url", self.pdf_url), *(("urls", u) for u in self.urls)]
        for i, row in enumerate(self.list_rows):
            urls += [(f"list_rows[{i}].url_in_list", row.url_in_list),
                     *((f"list_rows[{i}].urls", u) for u in row.urls)]
        for name, value in urls:
            if isinstance(value, str):
                check_url(value, name)
        if self.arxiv_id is not None:
            check_arxiv_id(self.arxiv_id)
        if self.explicit_id is not None:
            check_paper_id(self.explicit_id)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, with the derived id and title key."""
        out = asdict(self)
        out.pop("source_line")
        out["id"] = self.paper_id
        out["title_key"] = self.title_key
        out["list_rows"] = [r.to_dict() for r in self.list_rows]
        return out


def check_records(records: object) -> None:
    """TypeError naming Record unless `records` is a list (any sequence) of Record objects, e.g. a dict
    per paper or one Record alone, caught before an ingest run starts."""
    if isinstance(records, Record):
        raise TypeError("records must be a list of Record objects, not one Record: pass [record]")
    if isinstance(records, (str, bytes, Mapping)) or not isinstance(records, Sequence):
        raise TypeError(f"records must be a list of ingest.records.Record objects, "
                        f"not {type(records).__name__}")
    for index, record in enumerate(records):
        if not isinstance(record, Record):
            raise TypeError(
                f"records[{index}] is a {type(record).__name__}, not an ingest.records.Record: build one "
                "with Record(source=\"records\", source_id=..., title=..., authors=[...], ...) (a records "
                "file's JSON objects are read by ingest.pipeline.ingest_records_file)")


def _cleaned(value: Any) -> Any:
    return clean_text(value) if isinstance(value, str) else value


def _cleaned_list(values: Any) -> Any:
    # One string is kept as given, for Record.check to refuse by name: cleaned item by item, "Jane Doe"
    # was stored as the authors J, a, n, e... (so is anything that is no collection, e.g. None).
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        return values
    return [_cleaned(v) for v in values]


# The list fields of a Record a caller may give one string for, and how their error shows the right form
# (the records file's words for 'authors', ingest.records_file._authors).
_LIST_FIELDS = ("authors", "categories", "urls")
_LIST_EXAMPLES = {
    "authors": ("names", '["Ada Lovelace", "Alan Turing"]'),
    "categories": ("arXiv categories", '["cs.LG", "cs.CL"]'),
    "urls": ("URLs", '["https://github.com/org/repo"]'),
    "section_path": ("headings", '["Circuits", "Induction heads"]'),
    "technique_ids": ("taxonomy ids", '["sae", "activation_patching"]'),
    "evaluation_ids": ("taxonomy ids", '["knockout"]'),
    "unknown_techniques": ("labels", '["Sparse probing"]'),
    "unknown_evaluations": ("labels", '["Faithfulness"]'),
}
# A list row's list fields, checked as a Record's: a row's ids and labels reach the store's edges too.
_ROW_LIST_FIELDS = ("section_path", "urls", "technique_ids", "evaluation_ids", "unknown_techniques",
                    "unknown_evaluations")


def _check_list(name: str, value: object) -> None:
    """ValueError naming the field unless `value` is a list of strings (one string is refused, not split;
    an item that is no string is named with its place, in the records file's words)."""
    if not isinstance(value, list):
        what, example = _LIST_EXAMPLES[name]
        given = "one string" if isinstance(value, str) else f"{type(value).__name__} {value!r:.40}"
        raise ValueError(f"'{name}' must be a list of {what}, e.g. {example}, not {given}")
    for index, item in enumerate(value):
        # Refused here, per record: the store's own check would fail the whole run on it (good records
        # of the batch lost), and a None in 'urls' was stored as is.
        if not isinstance(item, str):
            given = "None" if item is None else f"{type(item).__name__} {item!r:.40}"
            raise ValueError(f"'{name}' must be a list of strings, not one holding {given} "
                             f"(entry {index + 1})")
