"""Identifiers and keys for de-duplication: arXiv ids, DOIs, venue tags, title keys, slugs."""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import re
import unicodedata
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Protocol
from urllib.parse import unquote

from kg.publishers import PUBLISHING_HOSTS
from kg.tex import plain_text
from kg.validation import ARXIV_NEW_STYLE, ARXIV_OLD_STYLE, strip_format_characters

log = logging.getLogger(__name__)

# New-style ids (YYMM.NNNNN, optional version) and old-style ids (archive/YYMMNNN): the patterns
# kg.validation checks ids with, so an id found in a URL always passes that check.
_ARXIV_NEW = ARXIV_NEW_STYLE
_ARXIV_OLD = ARXIV_OLD_STYLE
_ARXIV_URL = re.compile(
    rf"arxiv\.org/(?:abs|pdf|html|format|src)/(?P<id>{_ARXIV_NEW}|{_ARXIV_OLD})(?:v(?P<version>\d+))?",
    re.IGNORECASE,
)
_ARXIV_BARE = re.compile(
    rf"^(?:arxiv:)?\s*(?P<id>{_ARXIV_NEW}|{_ARXIV_OLD})(?:v(?P<version>\d+))?(?:\.pdf)?$", re.IGNORECASE
)
# A DOI inside free text or a URL: up to a space, a quote or an angle bracket, which there end it
# ("<https://doi.org/10.1234/x>"), except a pair of them without a space inside, as in a SICI DOI
# ("...49:8<693::AID-ASI4>3.0.CO;2-0"). Each character starts one alternative only: linear time.
_DOI = re.compile(r"\b(10\.\d{4,9}/(?:[^\s\"'<>]|<[^\s\"'<>]*>)+)", re.IGNORECASE)
# A DOI given as a DOI (a records file's `doi`, arXiv's DOI field, a doi.org URL): every character up
# to the end. A DOI's suffix may hold any printable character: the SICI form
# "10.1002/(SICI)1097-4571(199806)49:8<693::AID-ASI4>3.0.CO;2-0" holds "<", ">", ";" and ":", and
# cutting it at "<" gave every article of that issue one DOI (and merged them into one paper).
_WHOLE_DOI = re.compile(r"10\.\d{4,9}/\S+", re.IGNORECASE)
# What may stand before a DOI given as one: "doi:", "DOI: ", or the resolver's URL (any scheme or none).
_DOI_LABEL = re.compile(r"doi:\s*", re.IGNORECASE)
_DOI_RESOLVER = re.compile(r"(?:https?://)?(?:dx\.|www\.)?doi\.org/", re.IGNORECASE)
_CLOSING_OF = {")": "(", "]": "[", "}": "{"}

# "(ICLR'24)", "[NeurIPS 2023]", "(TMLR'23)", "(EMNLP 2021)": a venue name then a 2- or 4-digit year;
# "(ICML'24 Oral)", "(ICLR'24 Spotlight)", "(NeurIPS 2023 ATTRIB Workshop)": with a presentation
# kind after the year; "('24 Oral)", "(ICML Oral)", "(Spotlight)", "(MI Workshop)": a presentation
# kind with or without a year or venue name. Without a year the kind word is required, so a title's
# own trailing parentheses ("Sparse Autoencoders (SAEs)") stay in the title.
_VENUE_KIND = r"(?i:oral|spotlight|poster|workshop|best\s+paper(?:\s+award)?|outstanding\s+paper)"
_VENUE_NAME = r"[A-Za-z][A-Za-z0-9 .&/-]{0,40}?"
# The apostrophe of a two-digit year ("ICLR'24") as editors write it: Word's and TextEdit's autocorrect
# make it a curly one ("ICLR’24"), and others type an opening quote, an acute accent, a backtick or a prime
# (' ’ ‘ ´ ` ′). One class for the list parser's venue tags and api.bibtex's venues, so a venue split off
# a list title is always one BibTeX reads, and "X (ICLR′24)" loses its tag as "X (ICLR’24)" does.
VENUE_APOSTROPHE = "['\u2019\u2018\u00b4`\u2032]"
# A year: four digits, or two after an apostrophe ("ICLR'24"); "(Layer 10)" holds no year.
_VENUE_YEAR = rf"(?:{VENUE_APOSTROPHE}\s*\d{{2}}|(?:19|20)\d{{2}})"
# Before a year any name is a venue ("NeurIPS 2023", "Nature 2023", "Findings of EMNLP 2023") unless
# it ends in a number, a month, a part of a year or a word that numbers a series: "(July 2024)",
# "(July 12 2024)", "(Early 2024)", "(Mid-2024)" or "(Part 2012)" are the title's own, and taking them
# for tags merged different papers ("Circuits Updates (July 2024)" and "(August 2024)").
_NUMBERING = (r"(?i:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
              r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|spring|summer|autumn|fall|"
              r"winter|part|vol(?:ume)?|no|number|issue|study|update|chapter|section|episode|round|phase|"
              r"week|day|lecture|session|edition|release|version|experiment|appendix|supplement|q[1-4]|"
              r"h[12]|early|mid|late|end|start|beginning|\d+)")
# A name ending in one of those ("Layer 10", "July 12", "Mid", "Circuits Part").
_NUMBERED_NAME = rf"(?:[A-Za-z0-9.&/-]+\s+){{0,4}}{_NUMBERING}"
# What numbers a post of a series after such a name besides a year: a number, a roman numeral, a letter
# or a number word ("Part 2", "Part II", "Appendix B", "Part Two").
_SERIES_NUMBER = (r"(?i:\d+|[ivxlc]+|[a-z]|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
                  r"first|second|third|fourth|fifth)")
# A bracket's content that numbers the title, in parentheses or square brackets alike: such a name, then
# a year or a series number ("July 2024", "Mid-2024", "Part 2012", "Layer 10 2024", "Part II").
_NUMBERED = rf"{_NUMBERED_NAME}(?:[.,-]?\s*{_VENUE_YEAR}|(?:[.,-]\s*|\s+){_SERIES_NUMBER})"
_VENUE_NAMED = rf"(?!{_NUMBERED}\s*[)\]]){_VENUE_NAME}"
_VENUE_WORDS = r"(?:[A-Za-z0-9][A-Za-z0-9.&/-]*\s+){0,3}?"  # "ATTRIB " in "NeurIPS 2023 ATTRIB Workshop"
_VENUE_AFTER = r"(?:\s+(?:on|in|at|for)\s+[A-Za-z0-9][A-Za-z0-9 .&/-]{0,40})?"  # "Workshop on MI"
_VENUE_TAG = re.compile(
    r"\s*[(\[]\s*(?P<venue>"
    rf"{_VENUE_NAMED}\s*{_VENUE_YEAR}(?:\s+{_VENUE_WORDS}{_VENUE_KIND}{_VENUE_AFTER})?"
    rf"|{VENUE_APOSTROPHE}\s*\d{{2}}\s+{_VENUE_WORDS}{_VENUE_KIND}{_VENUE_AFTER}"
    rf"|(?:{_VENUE_NAME}\s+)?{_VENUE_KIND}{_VENUE_AFTER}"
    r")\s*[)\]]\s*$"
)
# A trailing tag in square brackets that is no venue ("[Redwood Research]", "[Anthropic]") is dropped from
# the title key too, but with the venue rule's safeguards: one that numbers the title (_NUMBERED), ends
# in a numbering word ("[July]", "[Case Study]") or holds any number ("[Part 1]", "[Layer 10]", "[2023]",
# "[Part 1, revised]"; a bracket needs no year to be a tag, so any number is the title's own) stays.
# Dropping every "[...]" merged "Circuits Updates [July 2024]" and "[August 2024]" into one paper. The
# tag's length and end are checked first, so the safeguards never scan a long unclosed "[...".
_TRAILING_BRACKET = re.compile(
    r"\s*\[(?=[^\[\]]{1,60}\]\s*$)"
    rf"(?!\s*(?:{_NUMBERED}|{_NUMBERED_NAME}|[^\[\]]*\d[^\[\]]*)\s*\])[^\[\]]{{1,60}}\]\s*$")


def arxiv_id_and_version(text: str | None) -> tuple[str, int | None] | None:
    """(id without version, version or None) of an arXiv URL (abs/pdf/html) or a bare id
    (`arXiv:2211.00593v3` -> ("2211.00593", 3)), else None."""
    if not text:
        return None
    text = text.strip()
    match = _ARXIV_URL.search(text) or _ARXIV_BARE.match(text)
    if match is None:
        return None
    version = match.group("version")
    return match.group("id").lower(), int(version) if version else None


# An arXiv URL as the whole of a text: any arxiv.org host, then a query or fragment at most.
_WHOLE_ARXIV_URL = re.compile(
    rf"(?:https?://)?(?:[a-z0-9-]+\.)*{_ARXIV_URL.pattern}(?:\.pdf)?/?(?:[?#]\S*)?", re.IGNORECASE
)


def whole_arxiv_id(text: str) -> str | None:
    """The arXiv id (without version) when the whole text is an arXiv id or arXiv URL
    (`2211.00593v3`, `arXiv:2211.00593`, `https://arxiv.org/abs/2211.00593v3#S1`), else None: a
    sentence holding one, or another site's URL with one inside, is not."""
    text = text.strip()
    match = _WHOLE_ARXIV_URL.fullmatch(text) or _ARXIV_BARE.match(text)
    return match.group("id").lower() if match else None


def arxiv_id_from_url(url: str | None) -> str | None:
    """The arXiv id without version from an arXiv URL (abs/pdf/html) or a bare id, else None."""
    found = arxiv_id_and_version(url)
    return found[0] if found else None


def strip_arxiv_version(arxiv_id: str | None) -> str | None:
    """`2211.00593v3` -> `2211.00593` (None stays None)."""
    if not arxiv_id:
        return None
    found = arxiv_id_from_url(arxiv_id)
    return found or re.sub(r"v\d+$", "", arxiv_id.strip())


def arxiv_version(entry_id: str | None) -> int | None:
    """The version number of an arXiv id or URL (`...v3` -> 3), else None."""
    found = arxiv_id_and_version(entry_id)
    return found[1] if found else None


def normalize_doi(text: str | None) -> str | None:
    """The DOI when the whole text is one, lower-cased, else None: `10.1234/abc`, `doi:10.1234/abc` or
    `https://doi.org/10.1234/abc` (percent-decoded as the resolver reads it), every character kept (a
    SICI DOI's "<", ">", ";" and balanced brackets too) but the sentence punctuation and unpartnered
    closing brackets it ends with, which a DOI copied from a reference list ("doi:10.1145/3442188.3445922.")
    or a bare link (as GitHub ends one) picks up from the text around it."""
    if not text:
        return None
    value = text.strip()
    if label := _DOI_LABEL.match(value):
        value = value[label.end():]
    elif resolver := _DOI_RESOLVER.match(value):
        value = _decoded(value[resolver.end():])
    value = _without_unpartnered_closing(value)
    return value.lower() if _WHOLE_DOI.fullmatch(value) else None


def _decoded(doi: str) -> str:
    """A DOI from a URL percent-decoded ("%3C" -> "<"), unless that would put a space in it."""
    decoded = unquote(doi)
    return doi if any(ch.isspace() for ch in decoded) else decoded


def _without_unpartnered_closing(doi: str) -> str:
    """doi without the sentence punctuation and the closing brackets it ends with that close nothing
    in it: "10.1/x)." (from "(see 10.1/x).") -> "10.1/x", while "10.1000/{braced}" and
    "10.1002/(SICI)...(199806)" keep theirs."""
    return without_trailing(doi, lambda ch: ch in ".,;", _CLOSING_OF)


def without_trailing(text: str, droppable: Callable[[str], bool], closing_of: dict[str, str]) -> str:
    """`text` without the characters it ends with that are `droppable` or a closing bracket of
    `closing_of` (closing -> opening) that closes nothing in it: what a DOI or a link picks up from the
    sentence around it ("(see 10.1/x)." -> "10.1/x"), while a partnered bracket ("a-(b)") stays."""
    # Running counts, not str.count per character dropped (quadratic in a run of thousands of ")").
    unpartnered = {closing: text.count(closing) - text.count(opening)
                   for closing, opening in closing_of.items()}
    end = len(text)
    while end > 0:
        last = text[end - 1]
        if last in unpartnered and unpartnered[last] > 0:
            unpartnered[last] -= 1
        elif not droppable(last):
            break
        end -= 1
    return text[:end]


def doi_from_text(text: str | None) -> str | None:
    """The DOI of a DOI field, a URL or a text, lower-cased, else None.

    A text that is a DOI as a whole gives all of it but the punctuation it ends with (normalize_doi).
    Otherwise the first DOI found in it, which ends at a space, quote or angle bracket, without the
    sentence punctuation and the closing brackets after it that close nothing in it, and without a
    publisher URL's `.pdf`, `/full` or `/abstract` (percent-decoded when the text is a URL)."""
    if not text:
        return None
    whole = normalize_doi(text)
    if whole:
        return whole
    match = _DOI.search(text)
    if not match:
        return None
    doi = match.group(1)
    if "://" in text:
        # A publisher URL encodes the DOI's "<", ">" ... as "%3C", "%3E": the same DOI as a records file's.
        doi = _decoded(doi)
    doi = _without_unpartnered_closing(doi)
    for suffix in (".pdf", "/full", "/abstract"):
        if doi.lower().endswith(suffix):
            doi = doi[: -len(suffix)]
    return doi.lower()


def split_venue_tag(title: str) -> tuple[str, str | None]:
    """Split a trailing venue tag off a list title: "X (ICLR'24)" -> ("X", "ICLR'24")."""
    cleaned = " ".join(title.split())
    match = _VENUE_TAG.search(cleaned)
    if match is None:
        return cleaned.strip(), None
    venue = " ".join(match.group("venue").split())
    return cleaned[: match.start()].strip(), venue


# Math symbols as words in a title key, so "A ≤ B" and "A ≥ B" (and arXiv's "$A \\leq B$") keep apart
# where punctuation is dropped: TeX's names, which old keys of TeX titles spelled too. Another math
# symbol (Unicode category Sm) is spelled by its Unicode name ("∠" is "angle").
_SYMBOL_WORDS = {
    "≤": "leq", "≦": "leq", "⩽": "leq", "≥": "geq", "≧": "geq", "⩾": "geq", "≠": "neq", "≈": "approx",
    "≡": "equiv", "≃": "simeq", "≅": "cong", "≪": "ll", "≫": "gg", "∝": "propto", "∑": "sum",
    "∏": "prod", "∐": "coprod", "√": "sqrt", "∫": "int", "∮": "oint", "∂": "partial", "∇": "nabla",
    "∞": "infty", "×": "times", "÷": "div", "±": "pm", "∓": "mp", "→": "to", "←": "gets",
    "↔": "leftrightarrow", "⇒": "implies", "⇐": "impliedby", "⇔": "iff", "↦": "mapsto", "∈": "in",
    "∉": "notin", "∋": "ni", "⊂": "subset", "⊆": "subseteq", "⊃": "supset", "⊇": "supseteq",
    "∪": "cup", "∩": "cap", "∖": "setminus", "∅": "emptyset", "∀": "forall", "∃": "exists",
    "∄": "nexists", "¬": "neg", "∧": "wedge", "∨": "vee", "⊕": "oplus", "⊗": "otimes", "∘": "circ",
    "⊥": "perp", "∥": "parallel",
}
# Math symbols read as punctuation, as their ASCII look-alikes are (a list types "-", "~1B", "*", "/",
# "·" where arXiv's TeX has "$-$", "$\\sim$1B", "$\\ast$", ...): dropped like those. So are the ASCII
# ones ("+", "=", "<", ">", "|", "~") and their fullwidth forms, as every title key dropped them:
# "SAEs + Probes" is "SAEs and Probes" (same_words) and "C++" is "C".
_SYMBOL_PUNCTUATION = frozenset("−∼∗∕⁄∙⋅∣")


@functools.cache
def _symbol_word(ch: str) -> str:
    """The word a title key spells math symbol `ch` as ("≤" -> "leq"), "" for another character."""
    if ch in _SYMBOL_WORDS:
        return _SYMBOL_WORDS[ch]
    if unicodedata.category(ch) != "Sm" or ch in _SYMBOL_PUNCTUATION:
        return ""
    folded = unicodedata.normalize("NFKC", ch)
    if folded.isascii() or folded in _SYMBOL_PUNCTUATION:
        return ""
    if folded in _SYMBOL_WORDS:  # a compatibility form (a small or fullwidth symbol)
        return _SYMBOL_WORDS[folded]
    return " ".join(re.findall(r"[a-z]+", unicodedata.name(ch, "").lower()))


def _spelled_symbols(text: str) -> str:
    """text with each math symbol as its word between spaces ("A≤B" -> "A leq B"), before NFKD, which
    would turn "≠" into "=" and a combining stroke."""
    if text.isascii():
        return text
    return "".join(f" {word} " if (word := _symbol_word(ch)) else ch for ch in text)


def title_key(title: str | None) -> str:
    """Normalised title for de-duplication: TeX markup read as plain text (kg.tex: arXiv's
    "\\textit{Induction Heads}", "$\\ell_1$", "3\\%" are the list's "Induction Heads", "ℓ1", "3%"),
    format characters (zero-width space ...) removed, math symbols spelled as words ("≤" and "$\\leq$"
    are "leq", "∑" "sum", so "A ≤ B" is not "A ≥ B"), compatibility letters folded ("ℓ" is "l", "ℝ" "R",
    "ﬁ" "fi"), casefolded, accents/punctuation/venue tags removed."""
    if not title:
        return ""
    text, _venue = split_venue_tag(strip_format_characters(plain_text(title)))
    # A trailing tag is dropped only after words of the title: a title all in brackets ("[A Whole Title]")
    # keeps them (it was keyed "" and refused as having no title). Only a key that was "" changes.
    return _key_of(_TRAILING_BRACKET.sub("", text)) or _bracketed_title_key(text)


# A bracketed title needs this many words: a tag alone in a list row ("[Anthropic]", "[Redwood
# Research]", "[pdf]") names who published a paper or a link's format, and keyed as a title it made
# every row whose only title was that tag one paper (rows without an arXiv id merge by title key).
_BRACKETED_TITLE_WORDS = 3
# Last words that make a bracket a link's or a site's tag, not a title ("[Google DeepMind Blog]").
_FORMAT_TAG_WORDS = frozenset((
    "pdf", "html", "blog", "post", "slides", "video", "code", "website", "site", "link", "links", "arxiv",
    "github", "preprint", "tweet", "thread", "podcast", "talk", "paper", "abstract", "doi",
))
_WHOLE_BRACKET = re.compile(r"\[([^\[\]]+)\]")


def _bracketed_title_key(text: str) -> str:
    """The key of a title all in one pair of square brackets ("[A Whole Title in Brackets]"), or "" when
    anything is outside them ("— [Redwood Research]") or they hold a tag rather than a title: fewer than
    _BRACKETED_TITLE_WORDS words, a publisher PUBLISHING_HOSTS names, or a _FORMAT_TAG_WORDS word last."""
    whole = _WHOLE_BRACKET.fullmatch(text.strip())
    if whole is None:
        return ""
    key = _key_of(whole.group(1))
    words = key.split()
    if len(words) < _BRACKETED_TITLE_WORDS or words[-1] in _FORMAT_TAG_WORDS or key in _publisher_keys():
        return ""
    return key


@functools.cache
def _publisher_keys() -> frozenset[str]:
    """The title keys of the publication series and organisations kg.publishers knows by host."""
    names = {name for pair in PUBLISHING_HOSTS.values() for name in pair if name}
    return frozenset(_key_of(name) for name in names)


def _key_of(text: str) -> str:
    """title_key of a title already read as plain text, without its tags."""
    text = _spelled_symbols(text)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.casefold()
    text = re.sub(r"[^\w\s]|_", " ", text)
    return " ".join(text.split())


def _slug_of_key(key: str, max_length: int) -> str:
    """The ASCII words of a title key joined by '-', whole words up to max_length ("" when none)."""
    ascii_text = key.encode("ascii", "ignore").decode("ascii")
    slug = ""
    for word in re.findall(r"[a-z0-9]+", ascii_text):
        candidate = f"{slug}-{word}" if slug else word
        if len(candidate) > max_length:
            break
        slug = candidate
    return slug


def slugify(text: str, max_length: int = 80) -> str:
    """A stable URL-safe slug: lowercase ascii words joined by '-'."""
    return _slug_of_key(title_key(text) if text else "", max_length) or "untitled"


# Hex digits of the title-key hash that completes a title id whose slug does not spell the whole title:
# 48 bits, so even thousands of non-Latin titles (whose slugs are all empty) do not share one by chance.
_TITLE_HASH_CHARS = 12
_TITLE_ID_CHARS = 80


def title_id(title: str, *, hashed: bool = False) -> str:
    """A paper id from a title: its slug, and when the slug does not spell the whole title key (a
    non-Latin script, a letter outside ASCII, over 80 characters) or `hashed` is set, a hash of the key
    after it.

    The slug alone made every Chinese, Cyrillic or Greek title `untitled`, and long titles alike in their
    first 80 characters one id, so different papers were merged. A title whose slug spells its key keeps
    the plain slug (ids stored before stay what they were); the id is ASCII, at most 80 characters and
    the same on every run. `hashed`: for a title whose plain slug is already another paper's id (a
    records file's `id`, a slug cut at 80 characters by the old rule), so it is stored as its own paper.
    """
    key = title_key(title) if title else ""
    slug = _slug_of_key(key, _TITLE_ID_CHARS)
    if not hashed and slug.replace("-", " ") == key:  # the slug spells the key: no other title has it
        return slug or "untitled"
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:_TITLE_HASH_CHARS]
    slug = _slug_of_key(key, _TITLE_ID_CHARS - _TITLE_HASH_CHARS - 1)
    return f"{slug}-{digest}" if slug else digest


def section_slug(path: list[str]) -> str:
    """Section id from its heading path: "findings-and-applications/findings-on-features"."""
    return "/".join(slugify(part, 60) for part in path) or "root"


# Words of a trailing bracket that say what the paper is, not who published it: the tag stays in the title.
_STATUS_TAG_WORDS = frozenset((
    "retracted", "withdrawn", "draft", "preprint", "abstract", "extended", "short", "long", "paper", "oral",
    "spotlight", "poster", "workshop", "re", "blog", "post", "erratum", "corrected", "corrigendum",
    "updated", "update", "revised", "version", "reproduction", "replication", "tutorial", "survey", "demo",
    "position", "wip", "talk", "keynote", "thesis", "report", "technical", "note", "notes", "comment",
))


def without_publisher_tag(title: str) -> str:
    """The title without a trailing tag naming who published it ("Causal Scrubbing: ... [Redwood
    Research]" -> "Causal Scrubbing: ..."), as the title key leaves it out (_TRAILING_BRACKET, which keeps
    a bracket that numbers the title: "Circuits Updates [July 2024]"): only a capitalised name that is
    not an acronym ("[ICML]", "[WIP]" stay; "[C]" and "[draft]" too) and no word of what the paper is
    (_STATUS_TAG_WORDS: "[Retracted]", "[Extended Abstract]", "[Re]" stay), and only when the title key
    stays the same, so the paper keeps its id and stored papers are still found by it."""
    bare = _TRAILING_BRACKET.sub("", title).strip()
    tag = title[len(bare):].strip(" []")
    words = tag.casefold().replace("-", " ").split()
    # A name: capitalised and more than a letter ("[C]" may be the title's own, though the key drops it).
    named = len(tag) > 1 and tag[0].isupper() and not tag.isupper()
    if bare and named and not _STATUS_TAG_WORDS & set(words) and title_key(bare) == title_key(title):
        return bare
    return title


def paper_id_for(arxiv_id: str | None, title: str, explicit_id: str | None = None) -> str:
    """Paper id: the arXiv id when there is one, else an explicit id, else the title's id (title_id)."""
    if arxiv_id:
        return strip_arxiv_version(arxiv_id) or arxiv_id
    if explicit_id:
        return explicit_id
    return title_id(title)


SOURCE_PRIORITY = {"list": 1, "records": 2, "arxiv": 3}
_SCALAR_FIELDS = (
    "title", "abstract", "doi", "published", "updated", "year", "venue", "primary_category",
    "url", "pdf_url", "explicit_id", "version",
)
_LIST_FIELDS = ("authors", "categories")


def _priority(record: Record) -> int:
    return max(SOURCE_PRIORITY.get(s, 0) for s in record.sources or [record.source])


def _union(*lists: list[str]) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()  # beside `out`: a long list of URLs is not searched item by item
    for items in lists:
        for item in items:
            if item and item not in seen:
                seen.add(item)
                out.append(item)
    return out


def merge_list_rows(rows: list[ListRowRecord]) -> list[ListRowRecord]:
    """Collapse rows repeated verbatim in one section into one row with `occurrences` (inputs untouched)."""
    out: list[ListRowRecord] = []
    seen: dict[tuple[object, ...], ListRowRecord] = {}
    # Each kept row's URL lists in order, joined once at the end: joining them row by row rebuilt a
    # growing list for every repeat (quadratic in the repeats of one row).
    url_lists: dict[tuple[object, ...], list[list[str]]] = {}
    for row in rows:
        key = row.identity()
        if key in seen:
            seen[key].occurrences += row.occurrences
            url_lists[key].append(row.urls)
            continue
        # A copy: the count is summed into it, and the caller's records may be merged again later.
        seen[key] = kept = replace(row, urls=list(row.urls))
        url_lists[key] = [kept.urls]
        out.append(kept)
    for key, kept in seen.items():
        if len(url_lists[key]) > 1:
            kept.urls = _union(*url_lists[key])
    return out


def _ranked(a: Record, b: Record) -> tuple[Record, Record]:
    """(richer, other) of two records of one paper: the newer arXiv version when both give one (an
    older version never overwrites a newer one's metadata, as across runs), else arxiv > records >
    list; on a tie the one whose title is not shouted (_shouted_title), else `a`."""
    if a.version is not None and b.version is not None and a.version != b.version:
        return (a, b) if a.version > b.version else (b, a)
    if _priority(a) != _priority(b):
        return (a, b) if _priority(a) > _priority(b) else (b, a)
    # File order alone decided the tie, so a copy in capitals ("IMPROVING ... [STUDY 12].") won half
    # the time. Only the title's form breaks it: the title key, and so a title id, is the same.
    return (b, a) if _shouted_title(a.title) and not _shouted_title(b.title) else (a, b)


def _shouted_title(title: str | None) -> bool:
    """Whether a title looks like a careless copy: all its letters capitals (at least four of them:
    "BERT" alone is a name; letters without case do not count), or ending in a period ("..." and
    "etc." aside)."""
    text = (title or "").strip()
    cased = [ch for ch in text if ch.isupper() or ch.islower()]
    shouted = len(cased) >= 4 and all(ch.isupper() for ch in cased)
    return shouted or (text.endswith(".") and not text.endswith(("...", "etc.")))


def _merged_metadata(high: Record, low: Record) -> Record:
    """A copy of `high` with its empty fields filled from `low`, its sources and item type joined: a
    merge without the URLs and list rows (merge_two and _merged_groups join those)."""
    merged = replace(high, urls=[], list_rows=[])
    for name in _SCALAR_FIELDS:
        if getattr(merged, name) in (None, ""):
            setattr(merged, name, getattr(low, name))
    for name in _LIST_FIELDS:
        if not getattr(merged, name):
            setattr(merged, name, list(getattr(low, name)))
    merged.arxiv_id = high.arxiv_id or low.arxiv_id
    merged.sources = _union(high.sources, low.sources)
    if "tool" in (high.item_type, low.item_type):
        merged.item_type = "tool"
    return merged


def merge_two(a: Record, b: Record) -> Record:
    """Merge two records of one paper: metadata from the richer source (arxiv > records > list)."""
    high, low = _ranked(a, b)
    merged = _merged_metadata(high, low)
    merged.urls = _union(high.urls, low.urls)
    merged.list_rows = merge_list_rows([*a.list_rows, *b.list_rows])
    return merged


def _merged_groups(records: list[Record], *, warn: bool = True, matched: dict[int, str] | None = None
                   ) -> tuple[list[Record], list[list[int]]]:
    """Each paper's merged record and the indices of the records merged into it (dedupe_records' rule).

    The same records as folding merge_two over each paper's records in order, but each paper's URLs
    and list rows are joined once, at the end: the fold rebuilt every row merged so far at each step,
    quadratic in a paper's records (2,000 rows of one paper took minutes). `warn`: log records merged
    on a DOI under clearly different titles (warn_if_titles_differ), or on a title under different DOIs
    (warn_if_dois_differ). `matched`: filled with, for each record merged into an earlier one (by its
    index), the key it was merged by: "arxiv_id", "doi" or "title"."""
    groups: list[Record] = []
    members: list[list[int]] = []
    # Each paper's URL lists in the order merge_two would join them (the richer record's first).
    url_lists: list[deque[list[str]]] = []
    by_arxiv: dict[str, int] = {}
    by_doi: dict[str, int] = {}
    by_title: dict[str, int] = {}
    for position, record in enumerate(records):
        index: int | None = None
        by = "arxiv_id"
        if record.arxiv_id and record.arxiv_id in by_arxiv:
            index = by_arxiv[record.arxiv_id]
        else:
            for kind, key, table in (("doi", record.doi, by_doi), ("title", record.title_key, by_title)):
                if key and key in table:
                    other = groups[table[key]].arxiv_id
                    # A shared DOI or title but two different arXiv ids: two papers, not one (a list
                    # row's DOI or title can be wrong; an arXiv id names one paper).
                    if not (record.arxiv_id and other and other != record.arxiv_id):
                        index, by = table[key], kind
                        if warn and table is by_doi:
                            warn_if_titles_differ(record, groups[index])
                        elif warn:
                            warn_if_dois_differ(record, groups[index])
                        break
        if index is None:
            groups.append(record)
            members.append([])
            url_lists.append(deque([record.urls]))
            index = len(groups) - 1
        else:
            if matched is not None:
                matched[position] = by
            high, low = _ranked(groups[index], record)
            groups[index] = _merged_metadata(high, low)
            if high is record:
                url_lists[index].appendleft(record.urls)
            else:
                url_lists[index].append(record.urls)
        members[index].append(position)
        merged = groups[index]
        for key, table in ((merged.arxiv_id, by_arxiv), (merged.doi, by_doi)):
            if key:
                table.setdefault(key, index)
        for key in {record.title_key, merged.title_key}:
            if key:
                by_title.setdefault(key, index)
    for merged, indices, urls in zip(groups, members, url_lists, strict=True):
        if len(indices) > 1:  # a paper of one record is that record, untouched
            merged.urls = _union(*urls)
            merged.list_rows = merge_list_rows([row for i in indices for row in records[i].list_rows])
    return groups, members


# Words too common in titles to tell two papers apart.
_COMMON_TITLE_WORDS = frozenset({
    "a", "an", "and", "as", "at", "by", "for", "from", "in", "into", "is", "of", "on", "or", "the", "to",
    "via", "with"})


def titles_clearly_differ(key: str, other: str) -> bool:
    """Whether two title keys share under half the words of the shorter one (common words aside): not
    one paper's titles as two sources write them ("Toy Models" and "Toy Models of Superposition" share
    all of the shorter one's), so records merged on a shared DOI are worth a warning."""
    words = {w for w in key.split() if w not in _COMMON_TITLE_WORDS}
    others = {w for w in other.split() if w not in _COMMON_TITLE_WORDS}
    if not words or not others:
        return False
    return 2 * len(words & others) < min(len(words), len(others))


class PaperLike(Protocol):
    """What the merge warnings read of the paper a record joins: a Record of the run, or a stored Paper."""

    @property
    def title(self) -> str:
        """The paper's title."""

    @property
    def doi(self) -> str | None:
        """The paper's DOI, if any."""

    @property
    def arxiv_id(self) -> str | None:
        """The paper's arXiv id, if any."""


def _which(stored_id: str | None) -> str:
    """Who is merged, for a warning: two records of the run, or a record and the stored paper it joins."""
    return "two records" if stored_id is None else f"a record and the stored paper {stored_id!r}"


def warn_if_titles_differ(record: Record, paper: PaperLike, *, stored_id: str | None = None) -> None:
    """A warning naming both titles when a record joins a paper (of the run, or the stored paper
    `stored_id`) by its DOI alone and the titles are clearly different papers': a wrong or cut DOI merges
    two papers, and the merged one keeps one title."""
    if titles_clearly_differ(record.title_key, title_key(paper.title)):
        log.warning("%s share the DOI %s but their titles differ: %r and %r are merged as one paper "
                    "(check the DOI of each)", _which(stored_id), record.doi, paper.title, record.title)


# The DOI arXiv gives a preprint: "10.48550/arXiv.2211.00593".
_ARXIV_DOI = re.compile(rf"10\.48550/arxiv\.(?P<id>{_ARXIV_NEW}|{_ARXIV_OLD})(?:v\d+)?", re.IGNORECASE)


def _arxiv_doi_id(doi: str) -> str | None:
    """The arXiv id (lower case, no version) of an arXiv DOI, else None."""
    match = _ARXIV_DOI.fullmatch(doi.strip())
    return match.group("id").lower() if match else None


def _dois_name_two_papers(doi: str, other: str, arxiv_id: str | None) -> bool:
    """Whether two different DOIs under one title name two papers, not one paper's versions: not when one
    is the arXiv DOI of the paper's arXiv id, or of any arXiv id when the paper has none (a preprint's DOI
    beside the journal's); always when both are arXiv DOIs of different ids (two preprints)."""
    ids = (_arxiv_doi_id(doi), _arxiv_doi_id(other))
    if ids[0] is not None and ids[1] is not None:
        return ids[0] != ids[1]
    own = ids[0] or ids[1]
    if own is None:
        return True
    return arxiv_id is not None and (strip_arxiv_version(arxiv_id) or arxiv_id).lower() != own


def warn_if_dois_differ(record: Record, paper: PaperLike, *, stored_id: str | None = None) -> None:
    """A warning naming both DOIs and titles when a record joins a paper (of the run, or the stored paper
    `stored_id`) by its title alone and the two carry different DOIs: a title names one paper (its
    conference, journal and arXiv versions, whatever their DOIs), but two papers of one title
    ("Editorial") are merged too, and the merged one keeps one DOI and abstract. A DOI that is the
    paper's own arXiv DOI (10.48550/arXiv.<id>) is no other paper's (_dois_name_two_papers)."""
    if not record.doi or not paper.doi or record.doi.casefold() == paper.doi.casefold():
        return
    if not _dois_name_two_papers(record.doi, paper.doi, record.arxiv_id or paper.arxiv_id):
        return
    log.warning("%s share the title %r but their DOIs differ: %s (%r) and %s (%r) are merged as one "
                "paper, which keeps one DOI and one abstract (check whether they are one paper)",
                _which(stored_id), paper.title, paper.doi, paper.title, record.doi, record.title)


def dedupe_groups(records: list[Record], matched: dict[int, str] | None = None
                  ) -> tuple[list[Record], list[list[int]]]:
    """dedupe_records' papers and, for each, the indices of the records merged into it; `matched` is
    filled with the key each record merged into an earlier one was merged by (_merged_groups)."""
    return _merged_groups(records, matched=matched)


def dedupe_records(records: list[Record]) -> list[Record]:
    """Merge records of the same paper: by arXiv id, then DOI, then normalised title key (never two
    records with different arXiv ids)."""
    return _merged_groups(records)[0]


def same_paper_groups(records: list[Record]) -> list[list[int]]:
    """The indices of the records dedupe_records merges into one paper, per paper (in its order)."""
    return _merged_groups(records, warn=False)[1]  # the caller merges them too, and that warns


if TYPE_CHECKING:  # pragma: no cover
    from ingest.records import ListRowRecord, Record


# Titles exercising every part of title_key (venue tags of each form, trailing
# brackets, accents, compatibility characters, case, punctuation, "_", spacing): their keys
# fingerprint the rule, so a change to it is noticed without anyone bumping a version.
TITLE_KEY_PROBES: tuple[str, ...] = (
    "A Study of Feature Splitting in Small Transformers (ICML'24 Oral)",
    "Interpretability in the Wild (ICLR'23)", "Toy Models [NeurIPS 2023]", "Circuits (TMLR'23)",
    "Attribution patching (NeurIPS 2023 ATTRIB Workshop)", "Steering vectors ('24 Oral)",
    "Probing heads (ICML Oral)", "Sparse probing (Spotlight)", "Causal scrubbing (ATTRIB Workshop)",
    "Induction heads (ICLR 2024 Spotlight)", "Grokking (MI Workshop on Mechanistic Interpretability)",
    "Feature circuits (ICML 2024 Best Paper Award)", "Logit lens (Poster)", "Patching (Outstanding Paper)",
    "Sparse Autoencoders (SAEs)", "GPT-2 (small)", "Results (2023)", "Circuits Updates (July 2024)",
    "Interim Report (Part 12)", "Findings (Findings of EMNLP 2023)", "Some Result (Nature 2023)",
    "Features (Layer 10)", "State (Mid-2024)", "Updates (July 12 2024)", "Copy suppression (ICLR 24)",
    "Toy Models of Superposition [Anthropic]", "Circuits Updates [July 2024]", "Interim Report [Part 2]",
    "Interim Report [Part II]", "Features [Layer 10]", "Results [2023]", "Updates [July]",
    "Notes [Part 1, revised]", "Posts [Blog Post]",
    "A title (ICLR 2024) [Redwood Research]", "Naïve Übersetzung: Ångström — “quotes” & co.",
    "snake_case, hyphen-ated; dots... ‘x’ (v2)", "ΑΛΉΘΕΙΑ Straße ﬁnds Ⅻ ①", "  spaced \t out\n title  ",
    "Title: with (parens) inside [and] brackets", "1.3B-parameter models at 10^9 scale?!",
    # TeX markup and format characters (read as plain text since the rule of title_key_rule 2026-11).
    r"{GPT}-2 Uses 3\% of Its Heads: \textit{Induction Heads} \& Name Movers",
    r"$k$-Sparse Features in $\ell_1$-Regularised $\mathbb{R}^d$ ($\epsilon$-Greedy) by G\"odel~et al.",
    "Acti\u200bvation\u00a0Patching \ufeffℓ1",
    # Math symbols, TeX or Unicode, spelled as words (the TeX rule above first dropped them, so "A ≤ B"
    # was keyed as "A ≥ B"); Greek kept; the ASCII ones, "−" and "∼" dropped as punctuation.
    r"When $A \leq B$ vs A ≥ B: $\sum$ ∏ $\sqrt{d}$ ≠ = × → ∃ ＋ − $\sim$1B $\alpha$ $2^{10}$", "",
    # A title all in brackets keeps its words (it was keyed ""), and a year's apostrophe may be any of
    # VENUE_APOSTROPHE's (the tags of "(ICLR‘24)", "(ICLR´24)", "(ICLR′24)" were kept in the key).
    "[A Whole Title in Brackets]", "— [Redwood Research]", "Prime (ICLR′24)", "Quote (ICLR‘24 Oral)",
    "Accent (NeurIPS´23)",
    # ... but a tag alone is no title: too few words, a known publisher, a link's format last.
    "[Anthropic]", "[pdf]", "[Sparse Probing]", "[Transformer Circuits Thread]", "[Google DeepMind Blog]",
)


@functools.cache
def title_key_rule() -> str:
    """A fingerprint of title_key: a hash of the keys it gives TITLE_KEY_PROBES.

    Both stores record it beside the title keys they hold; when it differs, init_schema recomputes
    every stored key, so papers stored before a rule change are still found by title."""
    keys = json.dumps([title_key(t) for t in TITLE_KEY_PROBES], ensure_ascii=True)
    return hashlib.sha256(keys.encode()).hexdigest()[:16]
