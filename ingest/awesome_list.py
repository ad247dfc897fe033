"""Parse the awesome-list markdown: every heading path, every table, every row -> records."""

from __future__ import annotations

import bisect
import html
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ingest.normalize import (
    arxiv_id_from_url,
    dedupe_groups,
    doi_from_text,
    same_paper_groups,
    section_slug,
    split_venue_tag,
    title_key,
    without_publisher_tag,
)
from ingest.records import ListRowRecord, Record
from ingest.titles import same_paper_title
from kg.taxonomy import Taxonomy
from kg.text_files import NotUtf8Error, text_lines, utf8_text
from kg.validation import nfc, strip_format_characters

# The text after the #s; its closing #s and spaces are stripped in _heading (a lazy "(.*?)\s*#*\s*$"
# here took cubic time on a heading with a long run of spaces inside it).
_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
# Invisible characters an editor or `cat` leaves at the start (or end) of a line: a byte order mark
# (U+FEFF, a file saved by Notepad joined to another), zero-width space / non-joiner / joiner, word
# joiner. Before "### Techniques" or "| row |" they hid the heading or the row's first pipe.
_INVISIBLE = "\ufeff\u200b\u200c\u200d\u2060"
_NOT_INVISIBLE = str.maketrans("", "", _INVISIBLE)
_FENCE = re.compile(r"^\s*(```|~~~)")
# A setext heading's underline (`Findings` over `--------` or `====`): only under paragraph text.
_SETEXT_UNDERLINE = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_THEMATIC_BREAK = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_LIST_ITEM = re.compile(r"^\s*(?:[-+*]|\d{1,9}[.)])(?:\s|$)")
_BLOCK_QUOTE = re.compile(r"^ {0,3}>")
# An HTML block of comments (CommonMark's type 2) and any other HTML block (types 6 and 7).
_COMMENT_START = re.compile(r"^ {0,3}<!--")
_HTML_BLOCK = re.compile(r"^ {0,3}</?[A-Za-z]")
_UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")
_SEPARATOR_CELL = re.compile(r"^:?-{2,}:?$")
# The URL may hold balanced parentheses (".../Foo_(bar)"), as CommonMark allows.
_MD_LINK = re.compile(
    r"\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\(\s*<?((?:[^()\s<>]|\([^()\s<>]*\))+)>?(?:\s+\"[^\"]*\")?\s*\)"
)
# The pieces of an HTML link `<a ... href="URL" ...>TEXT</a>`, which _html_links puts together: one
# regex for all of it ('<a\s[^>]*href=["']([^"']+)["'][^>]*>(.*?)</a>') took cubic time on a cell of
# repeated "<a href='" with no closing ">" (27 KB: a minute), and the list comes from the network.
_HTML_LINK_START = re.compile(r"<a\s", re.IGNORECASE)
_HTML_HREF = re.compile(r"href=[\"']", re.IGNORECASE)
_HTML_LINK_END = re.compile(r"</a>", re.IGNORECASE)
_BARE_URL = re.compile(r"(?<![(\[<\"'])\bhttps?://[^\s)|>\]]+")
# A URL in angle brackets (a CommonMark autolink) or alone in parentheses after a space:
# "Title <https://x>", "Title (https://x)"; "[Title(https://x)" stays a broken link.
_WRAPPED_URL = re.compile(r"<(https?://[^\s<>]+)>|(?<!\S)\((https?://[^\s()]+)\)")
_HTML_TAG = re.compile(r"<[^>]+>")
# Link markup left in a cell once its readable links are taken out: a broken link.
_BROKEN_MD_LINK = re.compile(r"\]\(")
_BROKEN_HTML_LINK = re.compile(r"</?a\b", re.IGNORECASE)
# The longest table row read, in characters: above any real row (the seed list's longest is 490) and
# above what the store takes of one row (a title of 1,000 and three cells of 2,000 characters), so a
# longer row is junk or an attack; it is reported as unreadable, and the run goes on. Bounds the work
# the cell parsing below can be made to do on one row.
MAX_ROW_CHARS = 10_000
# How much of an unreadable row's text is reported when the row is over MAX_ROW_CHARS.
_REPORTED_ROW_CHARS = 200
_WORD = re.compile(r"\w")
_EMPTY_VALUES = {"", "n/a", "na", "-", "--", "—", "–", "none", "tbd", "?"}
# Link texts that name a format, not the paper ("[pdf]", "[code]"): never taken for its title.
GENERIC_LINK_TEXT = {
    "pdf", "paper", "code", "arxiv", "openreview", "link", "blog", "github", "project",
    "website", "video", "slides", "html", "abs", "doi", "acl", "demo", "post", "web",
}
_COLUMN_NAMES = {
    "paper": "paper", "papers": "paper", "title": "paper", "name": "paper", "tool": "paper",
    "tools": "paper", "library": "paper", "resource": "paper", "work": "paper",
    "technique": "techniques", "techniques": "techniques", "method": "techniques",
    "methods": "techniques", "technique(s)": "techniques",
    "evaluation": "evaluation", "evaluations": "evaluation", "eval": "evaluation",
    "tl;dr": "tldr", "tldr": "tldr", "tl; dr": "tldr", "summary": "tldr", "description": "tldr",
    "notes": "tldr", "note": "tldr", "comment": "tldr",
}


@dataclass
class ListParse:
    """Everything parse_list found: every row, the de-duplicated papers, what it could not map, and
    rows it read but warns about (`row_warnings`: duplicate or conflicting rows of one paper in one
    section, rows with more cells than their table's header, Paper cells linking a second paper; each
    with `kind`, `lines`, `message`)."""

    rows: list[ListRowRecord] = field(default_factory=list)
    papers: list[Record] = field(default_factory=list)
    unknown_labels: list[dict[str, Any]] = field(default_factory=list)
    unreadable_rows: list[dict[str, Any]] = field(default_factory=list)
    row_warnings: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The `--dry-run --json` document."""
        return {
            "rows": [r.to_dict() for r in self.rows],
            "papers": [p.to_dict() for p in self.papers],
            "unknown_labels": self.unknown_labels,
            "unreadable_rows": self.unreadable_rows,
            "row_warnings": self.row_warnings,
        }


@dataclass
class _Table:
    path: list[str]
    header_line: int
    columns: list[str]
    rows: list[tuple[int, list[str], str]] = field(default_factory=list)  # (line, cells, raw)
    bad_rows: list[tuple[int, str, str]] = field(default_factory=list)  # (line, raw, reason)
    end_line: int = 0  # the index (from 0) of the first line after the table


# A run of characters that UTF-8 bytes read as Windows-1252 are made of (all but ASCII): "â€™" for "’".
# The five bytes Windows-1252 leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D) come through as C1 controls.
_MOJIBAKE_RUN = re.compile("[\u0080-\u00ff\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc"
                           "\u2013\u2014\u2018-\u201a\u201c-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a"
                           "\u20ac\u2122]+")


def fix_mojibake(text: str) -> str:
    """Repair UTF-8 read as cp1252 ("LMâ€™s" -> "LM’s"), leaving other text alone."""
    # NFC first: in decomposed text (macOS) "â" is "a" + U+0302, which no cp1252 byte stands for.
    composed = nfc(text)
    if "â€" not in composed and "Ã" not in composed:
        return text
    # Sequence by sequence, so a real "é" or a no-break space in the text does not keep the rest broken.
    repaired = _MOJIBAKE_RUN.sub(lambda m: _utf8_of_cp1252(m.group(0)), composed)
    return repaired if repaired != composed else text


def _utf8_of_cp1252(run: str) -> str:
    """The run with each sequence of its characters whose Windows-1252 bytes are one UTF-8 character
    read as that character ("â€™" is "’"); the others, a real "é" or a no-break space beside them, stay."""
    # One byte per character (C1 controls stand for the bytes cp1252 leaves undefined), so a byte's
    # index is its character's.
    data = b"".join(bytes([ord(ch)]) if ord(ch) < 0xA0 else ch.encode("cp1252") for ch in run)
    out: list[str] = []
    i = 0
    while i < len(data):
        lead = data[i]
        size = 2 if 0xC2 <= lead <= 0xDF else 3 if 0xE0 <= lead <= 0xEF else 4 if 0xF0 <= lead <= 0xF4 else 0
        if size:
            try:
                out.append(data[i:i + size].decode("utf-8"))
                i += size
                continue
            except UnicodeDecodeError:
                pass
        out.append(run[i])
        i += 1
    return "".join(out)


_ENTITY = re.compile(r"&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")


def _without_tags(text: str) -> str:
    """The text with its HTML tags (`<...>`) taken out."""
    # Every tag ends at a ">": the text after the last one is left out of the search, where each "<"
    # would look for a ">" to the end of the text (quadratic in a run of "<" without one).
    end = text.rfind(">") + 1
    return _HTML_TAG.sub("", text[:end]) + text[end:]


def _clean(text: str) -> str:
    # Format characters (zero-width space, BOM ...) go as the store's clean_text takes them out: a
    # heading "### \u200bTechniques" is the section Techniques, not one more.
    text = strip_format_characters(fix_mojibake(text))
    text = re.sub(r"<br\s*/?>", " ", text, flags=re.IGNORECASE)
    text = _without_tags(text)
    text = text.replace("\\|", "|")
    text = re.sub(r"(\*\*|__|`)", "", text)
    return " ".join(text.split())


# A backslash escape: Markdown shows "\[" as "[", "\*" as "*" (any ASCII punctuation), never as markup.
_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
# While a cell is read, each escaped character stands as a code point of this private-use plane (no
# text uses it): no link, URL, emphasis or bracket rule below can take it for markup.
_ESCAPED_BASE = 0xF0000
_ESCAPED = re.compile(f"[{chr(_ESCAPED_BASE + 0x21)}-{chr(_ESCAPED_BASE + 0x7E)}]")


def _protect(text: str) -> str:
    r"""The text with each backslash escape ("\[") as its private-use stand-in (see _ESCAPED_BASE)."""
    return _ESCAPE.sub(lambda m: chr(_ESCAPED_BASE + ord(m.group(1))), text)


def _restore(text: str, *, backslash: bool = False) -> str:
    r"""The text with each stand-in _protect made back as its character ("[" for "\["), or as the escape
    it was ("\[") with `backslash`: in an autolink or HTML, where Markdown does not read escapes."""
    prefix = "\\" if backslash else ""
    return _ESCAPED.sub(lambda m: prefix + chr(ord(m.group(0)) - _ESCAPED_BASE), text)


def _decoded(text: str) -> str:
    """The text with its entities decoded (once: "&amp;lt;" is "&lt;").

    Markdown renders entities ("&lt;", "&amp;", "&#60;") as the characters they stand for; only
    those ending in ";" are entities there ("&notation" stays text, as html.unescape would not)."""
    return _ENTITY.sub(lambda m: html.unescape(m.group(0)), text)


def _cell_text(text: str) -> str:
    r"""A cell's final text: cleaned, then its entities decoded and its backslash escapes read, in one
    go, as Markdown does ("\*\*" is "**", not bold; "\&amp;" is "&amp;")."""
    return _restore(_decoded(_clean(_protect(text))))


def _url(url: str, *, markdown: bool) -> str:
    """A link's URL as the browser gets it: entities decoded ("?a=1&amp;b=2" is "?a=1&b=2"), and
    backslash escapes read in a Markdown link's destination (`markdown`), kept elsewhere."""
    return _restore(_decoded(url), backslash=not markdown)


def _lines(markdown: str) -> list[str]:
    """The markdown's lines as GitHub reads them, each without the invisible characters at its ends (see
    _INVISIBLE); the numbers (from 1) are the editor's."""
    # CommonMark ends a line at LF, CR LF or CR only (text_lines). str.splitlines also split at VT, FF,
    # NEL and U+2028 (Word's Shift+Enter, a PDF copy), which GitHub shows inside the line: a row was cut
    # in two, its second half stored as a paper, and every line number below it was off from the editor's.
    return [_visible_ends(line) for line in text_lines(markdown)]


def _visible_ends(line: str) -> str:
    """The line without the invisible characters (_INVISIBLE) among the spaces at its start and end."""
    if line.isascii():
        return line
    edges = " \t" + _INVISIBLE
    body = line.strip(edges)
    if not body:
        return line.translate(_NOT_INVISIBLE)
    start = len(line) - len(line.lstrip(edges))
    end = start + len(body)
    return line[:start].translate(_NOT_INVISIBLE) + body + line[end:].translate(_NOT_INVISIBLE)


def _split_cells(line: str) -> list[str]:
    body = line.strip()
    if body.startswith("|"):
        body = body[1:]
    if body.endswith("|") and not body.endswith("\\|"):
        body = body[:-1]
    return [c.strip() for c in re.split(r"(?<!\\)\|", body)]


def _is_separator(line: str) -> bool:
    cells = _split_cells(line)
    return bool(cells) and all(_SEPARATOR_CELL.match(c.replace(" ", "")) for c in cells if c) and any(cells)


def _heading(line: str) -> tuple[int, str] | None:
    """(level, raw text) of a heading line, its closing #s and the spaces around them left out."""
    match = _HEADING.match(line)
    if match is None:
        return None
    # What "(.*?)\s*#*\s*$" left: the shortest text followed by spaces, #s and spaces only.
    return len(match.group(1)), match.group(2).rstrip().rstrip("#").rstrip()


def _heading_text(raw: str) -> str:
    text = _MD_LINK.sub(lambda m: m.group(1), _without_comments(raw))
    return _clean(text)


def _without_comments(text: str) -> str:
    """The text without its HTML comments (`<!-- ... -->`), which GitHub does not show; an unclosed
    `<!--` stays, as text."""
    # str.find, not a lazy "<!--.*?-->" regex: that rescans to the end from each "<!--" when no "-->"
    # follows (quadratic in a row of "<!--").
    if "<!--" not in text:
        return text
    parts: list[str] = []
    position = 0
    while (start := text.find("<!--", position)) != -1:
        end = text.find("-->", start + 4)
        if end == -1:
            break
        parts.append(text[position:start])
        position = end + 3
    return "".join(parts) + text[position:]


def _has_pipe(line: str) -> bool:
    """Whether the line has a cell delimiter: a pipe not escaped as `\\|`."""
    return _UNESCAPED_PIPE.search(line) is not None


def _table_start(header: str, separator: str) -> bool:
    """Whether `header`, with `separator` below it, opens a GFM table.

    The pipes at the ends of both lines are optional, as on GitHub; without a leading one, the two lines
    must have as many cells and a pipe between them, or "Findings" over "--------" (a setext heading)
    and "Some text | more" over "---" would be tables."""
    if not _is_separator(separator):
        return False
    if header.lstrip().startswith("|"):
        return True  # as read before GFM's optional pipes were: any separator line will do
    if not (_has_pipe(header) or _has_pipe(separator)):
        return False
    return len(_split_cells(header)) == len(_split_cells(separator))


def _starts_block(line: str) -> bool:
    """Whether the line opens a block that ends a table above it: an ATX heading, a code fence, a
    block quote or an HTML comment (GitHub ends a table at `<!-- | row | -->`)."""
    return bool(_heading(line) or _FENCE.match(line) or _BLOCK_QUOTE.match(line)
                or _COMMENT_START.match(line))


def _table_row(line: str) -> bool:
    """Whether the line goes on with a table above it: it is not blank, has a pipe and opens no other
    block (GFM ends a table at a blank line or another block; a line without a pipe, see _scan)."""
    return bool(line.strip()) and _has_pipe(line) and not _starts_block(line)


def _paragraph_line(line: str, paragraph: list[str] | None) -> bool:
    """Whether a non-blank line, not a heading, fence, comment or table, is paragraph text that a
    setext underline below it makes a heading (`paragraph`: the paragraph it would continue, None
    after a list item or HTML block, whose lazy lines never are)."""
    if paragraph is None or _LIST_ITEM.match(line) or _BLOCK_QUOTE.match(line) or _HTML_BLOCK.match(line):
        return False
    # Four spaces of indentation start a code block, unless the line continues a paragraph.
    return bool(paragraph) or not line.startswith("    ")


def _scan(markdown: str, chains: list[list[tuple[int, str]]] | None = None
          ) -> tuple[list[_Table], list[dict[str, Any]]]:
    """Find every table with the heading path above it (and, into `chains`, every heading below the
    title with the headings above it, as (level, text)).

    Read as GitHub renders the list: ATX (`## S`) and setext (`S` over `---` or `===`) headings, tables
    with or without pipes at the ends of their lines (a table ends at a blank line, a heading, fence,
    block quote or HTML comment, or a line without a pipe that no row follows; one between rows is
    reported and skipped), and HTML comments left out, whether a block of lines (`<!--` at the start
    of a line up to the line holding `-->`) or inline in a line. Line numbers are those of the
    markdown as given."""
    lines = _lines(markdown)
    stack: list[tuple[int, str]] = []
    tables: list[_Table] = []
    problems: list[dict[str, Any]] = []
    in_fence = False
    # The paragraph text above the current line, which a setext underline makes a heading; None where
    # no underline can (lazy lines of a list item or an HTML block, up to the next blank line).
    paragraph: list[str] | None = []
    # Why the table above ended, while the lines below it are not blank: its rows outside a table say so.
    cut: str | None = None

    def add_heading(level: int, text: str) -> None:
        """Make `text` the heading at `level`, closing the deeper ones, and note the new chain."""
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, text))
        if chains is not None and level > 1:
            chains.append([h for h in stack if h[0] > 1])

    i = 0
    while i < len(lines):
        line = lines[i]
        if _FENCE.match(line):
            in_fence = not in_fence
            paragraph, cut = [], None
            i += 1
            continue
        if in_fence:
            i += 1
            continue
        if _COMMENT_START.match(line):
            # An HTML block: it runs to the line holding "-->" (all of that line), or to the end.
            end = next((j for j in range(i, len(lines)) if "-->" in lines[j]), None)
            if end is None:
                hidden = sum(1 for x in lines[i + 1:] if _has_pipe(x))
                problems.append({
                    "line": i + 1, "text": line.strip()[:_REPORTED_ROW_CHARS],
                    "reason": "HTML comment never closed (no --> below it): GitHub hides the rest of "
                              f"the list, and so does the parser ({hidden} lines with a | left out)",
                })
                break
            if tables and tables[-1].end_line == i:
                cut = (f"the HTML comment on line {i + 1} ended its table, as on GitHub, which shows this "
                       "row as text: move the comment below the table")
            paragraph = []
            i = end + 1
            continue
        if not line.strip():
            paragraph, cut = [], None
            i += 1
            continue
        heading = _heading(line)
        if heading:
            add_heading(heading[0], _heading_text(heading[1]))
            paragraph, cut = [], None
            i += 1
            continue
        underline = _SETEXT_UNDERLINE.match(line)
        if underline and paragraph:
            add_heading(1 if underline.group(1).startswith("=") else 2,
                        _heading_text(" ".join(x.strip() for x in paragraph)))
            paragraph, cut = [], None
            i += 1
            continue
        if _THEMATIC_BREAK.match(line):
            # A horizontal rule (`---` after a blank line): it ends the paragraph above.
            paragraph = []
            i += 1
            continue
        if i + 1 < len(lines) and _table_start(line, lines[i + 1]):
            columns = [_cell_text(_without_comments(c)) for c in _split_cells(line)]
            path = [title for level, title in stack if level > 1]
            table = _Table(path=path, header_line=i + 1, columns=columns)
            i += 2
            while i < len(lines) and _table_row(lines[i]):
                raw = lines[i]
                table.rows.append((i + 1, [_without_comments(c) for c in _split_cells(raw)], raw))
                i += 1
                if i + 1 < len(lines) and lines[i].strip() and not _has_pipe(lines[i]) and (
                        not _starts_block(lines[i]) and _table_row(lines[i + 1])):
                    # A line without a pipe between rows: GitHub shows it as a row of one cell and goes
                    # on with the table. Ending the table there left the rows below it out of the list
                    # (and --prune took their papers); it is reported, not made a paper of its text.
                    problems.append({"line": i + 1, "text": lines[i].strip(), "reason": (
                        "line without a | inside a table (GitHub shows it as a row of one cell): give "
                        "it the table's cells, or move it out of the table")})
                    i += 1
            table.end_line = i
            tables.append(table)
            paragraph, cut = [], None
            if i < len(lines) and lines[i].strip() and not _starts_block(lines[i]):
                cut = (f"line {i + 1} has no | and ended its table: make it a row, or put a blank line "
                       "above it")
            continue
        if (line.lstrip().startswith("|") and "|" in line.strip()[1:]) or (cut and _has_pipe(line)):
            # A row below the line that ended its table, with or without a leading pipe, is one too.
            reason = f"table row outside a table ({cut or 'no header and separator line above it'})"
            problems.append({"line": i + 1, "text": line.strip(), "reason": reason})
        if _LIST_ITEM.match(line) or _HTML_BLOCK.match(line):
            paragraph = None
        elif _paragraph_line(line, paragraph):
            assert paragraph is not None
            paragraph.append(_without_comments(line))
        i += 1
    return tables, problems


def _column_roles(columns: list[str]) -> list[str]:
    roles = []
    for name in columns:
        key = name.casefold().strip().rstrip(":")
        roles.append(_COLUMN_NAMES.get(key, f"extra:{name}" if name else "extra:"))
    if "paper" not in roles and roles:
        roles[0] = "paper"  # a table always lists items in its first column
    return roles


@dataclass(frozen=True)
class _HtmlLink:
    start: int
    end: int
    url: str
    text: str


def _html_links(cell: str) -> list[_HtmlLink]:
    """The HTML links of a cell, exactly those `re.finditer` finds with the pattern
    `<a\\s[^>]*href=["']([^"']+)["'][^>]*>(.*?)</a>` (case-insensitive, "." matching newlines), in
    O(n log n) time instead of the regex's cubic backtracking.

    For a link opening at `start`, that pattern takes the last `href="` before the first ">" after
    `<a` (a greedy `[^>]*`) whose URL (up to the next quote, at least one character, ">" allowed)
    is followed by a ">" and, after it, by a "</a>"; the link text runs to the first "</a>". An
    `href` further left gives an earlier or the same ">", so when one `href` works every `href`
    left of it does too: the one to take is found by bisection.
    """
    quotes = [i for i, ch in enumerate(cell) if ch in "\"'"]
    ends = [i for i, ch in enumerate(cell) if ch == ">"]
    closings = [m.start() for m in _HTML_LINK_END.finditer(cell)]
    if not closings or not ends:
        return []

    def next_of(positions: list[int], index: int) -> int | None:
        """The first of the sorted positions at or after index."""
        found = bisect.bisect_left(positions, index)
        return positions[found] if found < len(positions) else None

    hrefs: list[int] = []  # where `href="` starts, for those with a URL and a ">" after the URL
    tag_ends: list[int] = []  # that ">", in the same order (non-decreasing)
    url_ends: list[int] = []  # the quote ending the URL
    for match in _HTML_HREF.finditer(cell):
        url_end = next_of(quotes, match.end())
        if url_end is None or url_end == match.end():  # no closing quote, or an empty URL
            continue
        tag_end = next_of(ends, url_end + 1)
        if tag_end is None:
            continue
        hrefs.append(match.start())
        tag_ends.append(tag_end)
        url_ends.append(url_end)
    links: list[_HtmlLink] = []
    # The hrefs usable at all: a "</a>" after their ">" (tag_ends is non-decreasing, so a prefix).
    usable = bisect.bisect_left(tag_ends, closings[-1])
    position = 0
    while (start := _HTML_LINK_START.search(cell, position)) is not None:
        tag_start = start.end()
        first_gt = next_of(ends, tag_start)
        if first_gt is None:
            break  # no ">" after this "<a", nor after any later one
        # The last usable href between the "<a " and the first ">" after it.
        last = min(bisect.bisect_right(hrefs, first_gt), usable) - 1
        if last < 0 or hrefs[last] < tag_start:
            position = start.start() + 1
            continue
        tag_end = tag_ends[last]
        closing = closings[bisect.bisect_left(closings, tag_end + 1)]
        url_start = hrefs[last] + len('href="')
        links.append(_HtmlLink(start.start(), closing + len("</a>"), cell[url_start:url_ends[last]],
                               cell[tag_end + 1:closing]))
        position = closing + len("</a>")
    return links


def _without_html_links(cell: str) -> str:
    """The cell with each HTML link replaced by a space."""
    parts, position = [], 0
    for link in _html_links(cell):
        parts += [cell[position:link.start], " "]
        position = link.end
    return "".join(parts) + cell[position:]


def _without_markup_links(cell: str) -> str:
    """The cell with its Markdown and HTML links taken out."""
    return _MD_LINK.sub(" ", _without_html_links(cell))


def _without_links(cell: str) -> str:
    """The cell with its Markdown and HTML links and its <url> / (url) taken out."""
    return _WRAPPED_URL.sub(" ", _without_markup_links(cell))


def _links(cell: str) -> list[tuple[str, str]]:
    """(text, url) of every link in a cell (_protect-ed: the texts stay so), in order."""
    return [(text, url) for _pos, text, url in _placed_links(cell)]


def _placed_links(cell: str) -> list[tuple[int, str, str]]:
    """(where, text, url) of every link in a cell, in order: a Markdown or HTML link where it starts, a
    <url> or (url) after them all, a bare URL after those."""
    found: list[tuple[int, str, str]] = []
    for m in _MD_LINK.finditer(cell):
        found.append((m.start(), _clean(m.group(1)), _url(m.group(2), markdown=True)))
    for link in _html_links(cell):
        found.append((link.start, _clean(link.text), _url(link.url, markdown=False)))
    rest = _without_markup_links(cell)
    for m in _WRAPPED_URL.finditer(rest):
        found.append((len(cell) + m.start(), "", _url(m.group(1) or m.group(2), markdown=False)))
    for m in _BARE_URL.finditer(_WRAPPED_URL.sub(" ", rest)):
        found.append((2 * len(cell) + m.start(), "", _url(m.group(0), markdown=False)))
    found.sort(key=lambda t: t[0])
    return found


def _malformed_link(cell: str) -> str | None:
    """Why the cell's link markup cannot be read ("[Title](https://x" ...), or None when it can.

    Turning such a cell into a paper would give it a title like "Title](https://x" and no URL. Escaped
    brackets and colons ("\\[", "http\\://") are text, not link markup.
    """
    rest = _without_links(_protect(cell))
    if _BROKEN_MD_LINK.search(rest):
        return "malformed Markdown link in the Paper column"
    if _BROKEN_HTML_LINK.search(rest):
        return "malformed HTML link in the Paper column"
    if "://" in _BARE_URL.sub(" ", rest):
        return "URL glued to link markup in the Paper column"
    return None


def _paper_cell(cell: str) -> tuple[str, list[str], str | None]:
    """Title and URLs of the Paper cell (several links to one paper are one paper), and the title of
    a second paper it links ("[A](u); [B](v)"), which is left out with its links (see _another_paper)."""
    cell = _protect(cell)  # read back in _cell_text, once the links and the title are found
    links = _placed_links(cell)
    title = ""
    first = -1
    for index, (_pos, text, _url) in enumerate(links):
        cleaned = text.strip(" []()")
        if cleaned and cleaned.casefold() not in GENERIC_LINK_TEXT:
            title, first = text, index
            break
    other = None
    if title:
        second = next((index for index in range(first + 1, len(links))
                       if _another_paper(cell, links[index], title)), None)
        if second is not None:
            # Its links are that paper's: with them, this row's paper took the other's arXiv id.
            other = _cell_text(links[second][1])
            links = links[:second]
    urls = []
    for _pos, _text, url in links:
        if url not in urls:
            urls.append(url)
    if not title and links:
        # No descriptive link text: the cell's own text without the links.
        title = _tidy_title(_BARE_URL.sub(" ", _without_links(cell)))
    elif not title:
        # No link: the cell is the title as written, less one bracket pair around all of it ("[Title]",
        # a link without its URL). _tidy_title cleans up what links leave; on a cell without any it
        # took the title's own edge punctuation and brackets ("Attention: ...", "&lt;"'s ";").
        title = " ".join(_clean(cell).split())
        for opening, closing in ("()", "[]"):
            if _wrapped(title, opening, closing):
                title = title[1:-1].strip()
    return _cell_text(title), urls, other


# Words of a link's text that name where it goes, not a paper: "[Anthropic blog post]", "[Colab
# notebook]", "[Transformer Circuits thread]". A link of only these is one more link to the row's paper.
_LINK_WORDS = GENERIC_LINK_TEXT | {
    "a", "an", "the", "our", "and", "of", "on", "in", "for", "full", "official", "extended", "original",
    "version", "v1", "v2", "v3", "preprint", "published", "camera", "ready", "supplementary", "appendix",
    "implementation", "repo", "repository", "notebook", "colab", "dataset", "data", "weights", "model",
    "demo", "interactive", "explorer", "viewer", "visualization", "visualisation", "tutorial", "talk",
    "poster", "recording", "youtube", "podcast", "tweet", "thread", "twitter", "x", "summary",
    "explainer", "lesswrong", "lw", "alignment", "forum", "af", "anthropic", "openai", "deepmind",
    "google", "redwood", "research", "transformer", "circuits", "huggingface", "hf", "substack",
    "medium", "article", "report", "news", "press", "release", "page", "site", "homepage",
}


def _another_paper(cell: str, link: tuple[int, str, str], title: str) -> bool:
    """Whether a link after the one giving the row's title links another paper: its text reads as a
    title (two words or more, not only words such as "code", "blog" or "Anthropic", not "[[arXiv]]"),
    it is not in brackets after the title ("Title ([Anthropic blog post](u))"), and it does not name the
    same paper (that title again, or as `same_paper_title` reads it: "[Title](u) [Title (arXiv)](v)")."""
    position, text, _url = link
    words = re.findall(r"\w+", text.casefold())
    if text.lstrip().startswith("[") or len(words) < 2 or all(w in _LINK_WORDS for w in words):
        return False
    if position < len(cell) and cell[:position].rstrip().endswith(("(", "[")):
        return False
    other, first = _cell_text(text), _cell_text(title)
    return title_key(other) != title_key(first) and not same_paper_title(other, first)


# Besides spaces, what a bracket pair may hold and still be empty: what the links of
# "Title ([pdf](u), [code](v))" leave.
_BRACKET_FILLER = ",;|/–—-"
_OPENING_OF = {")": "(", "]": "["}
_EDGE_PUNCTUATION = " -–—:;,"


def _tidy_title(text: str) -> str:
    """A title from a cell's text once its links are gone: "Title ([pdf](url))" -> "Title".

    Only the brackets the links leave empty or unbalanced go: "Title (ICLR'24)" and
    "Title [Redwood]" keep theirs.
    """
    text = " ".join(_without_empty_brackets(_clean(text)).split()).strip(_EDGE_PUNCTUATION)
    for opening, closing in ("()", "[]"):
        text = _without_stray_brackets(text, opening, closing)
    return text


def _without_empty_brackets(text: str) -> str:
    """text with each bracket pair holding only spaces and separators replaced by a space, inner pairs
    first, until none is left: "A (( ), [ ])" -> "A  "."""
    # One pass with a stack, not a regex substitution repeated until nothing changes: that took one
    # pass per level of "((((...))))", quadratic in a cell of thousands. The pairs cannot overlap, so
    # the order they go in does not change the result.
    kept: list[str] = []
    marks: list[int] = []  # where in `kept` each of its characters other than filler is, in order
    for ch in text:
        opening = _OPENING_OF.get(ch)
        if opening is not None and marks and kept[marks[-1]] == opening:
            # Only filler since the matching opening bracket: the pair and what it holds become a space.
            del kept[marks.pop():]
            kept.append(" ")
            continue
        if not (ch.isspace() or ch in _BRACKET_FILLER):
            marks.append(len(kept))
        kept.append(ch)
    return "".join(kept)


def _without_stray_brackets(text: str, opening: str, closing: str) -> str:
    """text without the opening brackets it starts with and closing ones it ends with that have no
    partner, then without one pair enclosing all of it ("[Title]"); edge punctuation goes with each."""
    # Bounds into text and running bracket counts, not a slice and two str.count calls per bracket
    # dropped (quadratic on a title of thousands of unpartnered brackets).
    start, end = 0, len(text)
    opens, closes = text.count(opening), text.count(closing)

    def strip() -> None:
        nonlocal start, end
        while start < end and text[start] in _EDGE_PUNCTUATION:
            start += 1
        while end > start and text[end - 1] in _EDGE_PUNCTUATION:
            end -= 1

    while start < end and text[start] == opening and opens > closes:
        start, opens = start + 1, opens - 1
        strip()
    while start < end and text[end - 1] == closing and closes > opens:
        end, closes = end - 1, closes - 1
        strip()
    if _wrapped(text[start:end], opening, closing):
        start, end = start + 1, end - 1
        strip()
    return text[start:end]


def _wrapped(text: str, opening: str, closing: str) -> bool:
    """Whether one bracket pair encloses all of text ("(A) and (B)" is not enclosed)."""
    if len(text) < 2 or text[0] != opening or text[-1] != closing:
        return False
    depth = 0
    for ch in text[:-1]:
        depth += (ch == opening) - (ch == closing)
        if depth == 0:
            return False
    return True


def _is_empty(value: str | None) -> bool:
    return value is None or value.strip().casefold() in _EMPTY_VALUES


def _split_outside_parens(text: str, separators: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    i = 0
    pattern = re.compile(separators, re.IGNORECASE)
    while i < len(text):
        ch = text[i]
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth = max(0, depth - 1)
        if depth == 0:
            m = pattern.match(text, i)
            if m and m.end() > i:
                parts.append("".join(current))
                current = []
                i = m.end()
                continue
        current.append(ch)
        i += 1
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


# Between the labels of a Techniques/Evaluation cell: "A, B", "A; B", "A<br>B", "A + B".
_LABEL_SEPARATOR = r"\s*[,;]\s*|\s*<br\s*/?>\s*|\s*\+\s*"
# Markdown emphasis around a whole label ("_Probing_", "*Probing*", "`Probing`", "~~Probing~~").
_LABEL_EMPHASIS = re.compile(r"^(\*{1,3}|_{1,3}|`{1,3}|~~)(.+?)\1$", re.DOTALL)
# A trailing acronym in parentheses ("Activation patching (AP)", "(AtP)", "(SAEs)"): its label without it
# (and, when the acronym itself names another node, that node too: _map_label).
_LABEL_ACRONYM = re.compile(r"\s*\(\s*[A-Z][A-Za-z]{0,6}[A-Z]s?\s*\)$")
_LABEL_END_PUNCTUATION = ".,;:!? "
# A <br> between the labels of a cell (with the separator a writer may have put before it too).
_LABEL_BREAK = re.compile(r"\s*[,;]?\s*<br\s*/?>\s*", re.IGNORECASE)


def _label_cell_text(cell: str) -> str:
    """A Techniques/Evaluation cell's text: as _cell_text, but a `<br>` between labels becomes "; "
    ("Logit lens<br>Probing", two lines on GitHub, is two labels, not "Logit lens Probing")."""
    # Spaces collapsed first: the pattern's "\s*" before "<br" rescanned a long run of them at each space.
    parts = [p.strip() for p in _LABEL_BREAK.split(" ".join(cell.split()))]
    return _cell_text("; ".join(p for p in parts if p))


def _unemphasised(text: str) -> str:
    """text without up to three layers of emphasis markers around all of it."""
    for _layer in range(3):
        match = _LABEL_EMPHASIS.match(text)
        if match is None or not match.group(2).strip():
            break
        text = match.group(2).strip()
    return text


def _singulars(text: str) -> list[str]:
    """text with its last word made singular in the ways English plurals end ("lenses" -> "lens",
    "lense"; "Knockouts" -> "Knockout"; "Probabilities" -> "Probability"); none for a word not in -s."""
    head, _space, word = text.rpartition(" ")
    prefix = f"{head} " if head else ""
    lower = word.casefold()
    if not lower.endswith("s") or lower.endswith("ss") or len(word) < 4:
        return []
    forms = [word[:-3] + "y"] if lower.endswith("ies") else []
    if lower.endswith("es"):
        forms.append(word[:-2])
    forms.append(word[:-1])
    return [prefix + form for form in forms]


def _bare_label(label: str) -> str:
    """label with single spaces, without Markdown emphasis and without trailing punctuation."""
    return _unemphasised(_unemphasised(" ".join(label.split())).rstrip(_LABEL_END_PUNCTUATION))


def _trailing_acronym(label: str) -> str | None:
    """The acronym in parentheses that ends a label ("ACDC" of "Activation Patching (ACDC)"), if any."""
    text = _bare_label(label)
    acronym = _LABEL_ACRONYM.search(text)
    if acronym is None or acronym.start() == 0:
        return None
    return acronym.group(0).strip()[1:-1].strip()


def _label_spellings(label: str) -> list[str]:
    """The spellings of a label to look up, the label as written first: then without Markdown emphasis
    ("_Probing_"), trailing punctuation ("Probing.") and a trailing acronym ("Activation patching
    (AP)"), with spaces for hyphens and hyphens for spaces ("activation-patching"), and with its last
    word singular ("logit lenses", "Knockouts")."""
    spellings: list[str] = []

    def add(text: str) -> None:
        text = " ".join(text.split())
        if text and text not in spellings:
            spellings.append(text)

    text = " ".join(label.split())  # one space between words, for the patterns below
    add(text)
    text = _bare_label(text)
    add(text)
    acronym = _LABEL_ACRONYM.search(text)
    if acronym is not None and acronym.start() > 0:
        text = text[:acronym.start()]
        add(text)
    for base in list(spellings):
        spaced = " ".join(base.replace("-", " ").split())
        add(spaced)
        add(spaced.replace(" ", "-"))
    for base in list(spellings):
        for singular in _singulars(base):
            add(singular)
    return spellings


def _map_label(label: str, column: str, taxonomy: Taxonomy) -> tuple[list[str], bool]:
    """taxonomy.map_list_label of the first of the label's spellings (_label_spellings) it knows, else
    of the label as written: a list writes a known label many ways, and none of them is another label.
    A trailing acronym found only stripped is a spelling when it names no node or the same one ("(AtP)"),
    and a second label when it names another ("Activation Patching (ACDC)": both ids)."""
    for spelling in _label_spellings(label):
        found, known = taxonomy.map_list_label(spelling, column)
        if known:
            acronym = _trailing_acronym(label)
            if acronym is None or spelling.endswith(")"):  # no acronym, or the label with it is known
                return found, True
            # The acronym was stripped to find the label; an acronym that names another node
            # ("Activation Patching (ACDC)", "Probing (SAEs)") is a second label, not a mere spelling.
            extra, extra_known = _map_label(acronym, column, taxonomy)
            if extra_known:
                found = found + [i for i in extra if i not in found]
            return found, True
    return taxonomy.map_list_label(label, column)


def map_labels(cell: str | None, column: str, taxonomy: Taxonomy) -> tuple[list[str], list[str]]:
    """Map a Techniques/Evaluation cell to taxonomy ids; returns (ids, unknown labels)."""
    if _is_empty(cell):
        return [], []
    assert cell is not None
    # Runs of spaces as one: the splits below are quadratic in a run's length (a records file's or a
    # stored row's cell of 9,000 spaces took 3 s; parse_list already collapses them).
    cell = re.sub(r" {2,}", " ", cell)
    ids: list[str] = []
    unknown: list[str] = []

    def add(found: list[str]) -> None:
        for value in found:
            if value not in ids:
                ids.append(value)

    for piece in _split_outside_parens(cell, _LABEL_SEPARATOR):
        if _is_empty(piece) or _is_empty(_unemphasised(piece).rstrip(_LABEL_END_PUNCTUATION)):
            continue
        found, known = _map_label(piece, column, taxonomy)
        if known:
            add(found)
            continue
        subparts = _split_outside_parens(piece, r"\s*&\s*|\s+and\s+|\s*/\s*")
        mapped = [_map_label(p, column, taxonomy) for p in subparts]
        if len(subparts) > 1 and all(k for _ids, k in mapped):
            for found, _k in mapped:
                add(found)
        else:
            unknown.append(piece)
    return ids, unknown


def spelled_labels(cell: str | None, column: str, taxonomy: Taxonomy) -> list[tuple[str, str]]:
    """(label as the cell writes it, taxonomy id) of each label of a cell that names exactly one id."""
    if _is_empty(cell):
        return []
    assert cell is not None
    out = []
    for piece in _split_outside_parens(cell, _LABEL_SEPARATOR):
        found, known = taxonomy.map_list_label(piece, column)
        if known and len(found) == 1 and not _is_empty(piece):
            out.append((piece, found[0]))
    return out


def table_layouts(markdown: str) -> dict[tuple[str, ...], list[tuple[str, str]]]:
    """Each table's columns, (name as written, role: paper/techniques/evaluation/tldr/extra:NAME), by
    the heading path above it (level-1 headings left out; a path's first table)."""
    tables, _problems = _scan(markdown)
    layouts: dict[tuple[str, ...], list[tuple[str, str]]] = {}
    for table in tables:
        layouts.setdefault(tuple(table.path), list(zip(table.columns, _column_roles(table.columns),
                                                       strict=True)))
    return layouts


def heading_chains(markdown: str) -> tuple[list[list[tuple[int, str]]], list[str]]:
    """Every heading of the list with the headings above it, (level, text) from level 2 (the parser
    leaves the # title out), and the headings every table shares (left out of section paths too)."""
    chains: list[list[tuple[int, str]]] = []
    tables, _problems = _scan(markdown, chains)
    paths = [t.path for t in tables if t.path]
    return chains, paths[0][:_common_prefix(paths)] if paths else []


# How many differently titled clusters of rows of one paper in one section a row's title is compared
# with (same_paper_title, the costly comparison the ingest makes): a real list has one, or two when a
# row links another paper's arXiv id. Past them, a row joins a later cluster whose first title has the
# same normalised key, or starts one: comparing every row with every cluster took minutes on a list of
# 2,000 rows linking one arXiv id under different titles.
_COMPARED_TITLE_CLUSTERS = 5


def _same_paper_rows(records: list[Record], group: list[int]) -> list[list[ListRowRecord]]:
    """The rows of one de-duplicated paper that stay one paper, per section: rows merged by a shared
    arXiv id whose titles are different papers are told apart as `ArxivSource.resolve` does (it keeps
    them as different papers, so their rows do not conflict); see _COMPARED_TITLE_CLUSTERS."""
    by_section: dict[str, list[list[ListRowRecord]]] = {}
    by_id = any(records[index].arxiv_id for index in group)
    # A title's cluster once the title matched it, or was placed past the compared clusters: a later row
    # of that title goes there too (the clusters before it did not match that title, the ones after it
    # are not looked at).
    placed: dict[tuple[str, str], list[ListRowRecord]] = {}
    later: dict[tuple[str, str], list[ListRowRecord]] = {}  # clusters past the compared ones, by key
    for index in group:
        row = records[index].list_rows[0]
        section = section_slug(row.section_path)
        clusters = by_section.setdefault(section, [])
        if not by_id:
            same = clusters[0] if clusters else None
        elif (section, row.title_in_list) in placed:
            same = placed[(section, row.title_in_list)]
        else:
            same = next((c for c in clusters[:_COMPARED_TITLE_CLUSTERS]
                         if same_paper_title(row.title_in_list, c[0].title_in_list)), None)
            if same is not None:
                placed[(section, row.title_in_list)] = same
            elif len(clusters) >= _COMPARED_TITLE_CLUSTERS and (key := title_key(row.title_in_list)):
                same = later.get((section, key))
                if same is None:
                    later[(section, key)] = same = []
                    clusters.append(same)
                placed[(section, row.title_in_list)] = same
        if same is None:
            clusters.append([row])
        else:
            same.append(row)
    return [rows for clusters in by_section.values() for rows in clusters]


def _repeated_row_warnings(records: list[Record]) -> list[dict[str, Any]]:
    """Duplicate rows and conflicting rows of one paper in one section (the store keeps one)."""
    warnings: list[dict[str, Any]] = []
    for group in same_paper_groups(records):
        for rows in _same_paper_rows(records, group):
            if len(rows) < 2:
                continue
            rows.sort(key=lambda r: r.line or 0)
            lines = [r.line for r in rows]
            listed = ", ".join(str(n) for n in lines[:-1]) + f" and {lines[-1]}"
            section = " / ".join(rows[0].section_path)
            if len({r.identity() for r in rows}) == 1:
                warnings.append({
                    "kind": "duplicate_row", "lines": lines, "section": section,
                    "title": rows[-1].title_in_list,
                    "message": f"duplicate row, lines {listed} (kept once)",
                })
                continue
            kept = rows[-1]
            differ = [name for name, attr in (("Techniques", "techniques"), ("Evaluation", "evaluation"),
                                              ("TL;DR", "tldr"))
                      if len({getattr(r, attr) for r in rows}) > 1]
            warnings.append({
                "kind": "conflicting_rows", "lines": lines, "section": section, "title": kept.title_in_list,
                "kept_line": kept.line,
                "message": f"conflicting rows for one paper in one section, lines {listed} "
                           f"(the {' and '.join(differ) or 'row'} of line {kept.line} kept)",
            })
    return warnings


# How much of a title a warning's message shows.
_SHOWN_TITLE_CHARS = 80


def _shown_title(title: str) -> str:
    """A title for a message: quoted, shortened past _SHOWN_TITLE_CHARS."""
    if len(title) > _SHOWN_TITLE_CHARS:
        title = title[:_SHOWN_TITLE_CHARS - 1].rstrip() + "…"
    return f"'{title}'"


def _common_prefix(paths: list[list[str]]) -> int:
    if not paths:
        return 0
    shortest = min(len(p) for p in paths)
    n = 0
    while n < shortest - 1 and all(p[n] == paths[0][n] for p in paths):
        n += 1
    return n


# Hosts that date their pages' paths, and how: the year a page was published in, which a list-only
# paper (no arXiv match, no records file) gets as its year (arXiv's or a records file's year wins: the
# list ranks below both). transformer-circuits.pub/2023/..., distill.pub/2020/..., the NeurIPS
# proceedings' /paper_files/paper/2023/ and the ACL Anthology's /2023.acl-long.660 (seed-list links).
_YEAR = r"((?:19|20)\d\d)"
_DATED_PATHS: dict[str, re.Pattern[str]] = {
    "transformer-circuits.pub": re.compile(rf"^/{_YEAR}/"),
    "distill.pub": re.compile(rf"^/{_YEAR}/"),
    "proceedings.neurips.cc": re.compile(rf"^/paper(?:_files/paper)?/{_YEAR}/"),
    "papers.nips.cc": re.compile(rf"^/paper(?:_files/paper)?/{_YEAR}/"),
    "aclanthology.org": re.compile(rf"^/{_YEAR}\.[a-z]"),
}


def url_year(url: str | None) -> int | None:
    """The year a dated host's URL path names ("https://transformer-circuits.pub/2023/x/" -> 2023), else
    None: another host, no year there, or one after next year (no page is dated in the future)."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:  # "http://[" : no host to read
        return None
    pattern = _DATED_PATHS.get((parts.hostname or "").casefold().removeprefix("www."))
    match = pattern.match(parts.path) if pattern else None
    if match is None or int(match.group(1)) > datetime.now(UTC).year + 1:
        return None
    return int(match.group(1))


def list_title(title_in_list: str) -> tuple[str, str | None]:
    """A list row's title as the paper's title, and its venue tag: "X (ICLR'24)" -> ("X", "ICLR'24"), and
    a trailing tag naming who published it taken off (normalize.without_publisher_tag). The row keeps the
    tag (title_in_list)."""
    title, venue = split_venue_tag(title_in_list)
    return without_publisher_tag(title), venue


def _row_record(row: ListRowRecord, title: str, venue: str | None, urls: list[str]) -> Record:
    arxiv_id = next((a for a in (arxiv_id_from_url(u) for u in urls) if a), None)
    doi = next((d for d in (doi_from_text(u) for u in urls) if d), None)
    return Record(
        source="list", source_id=urls[0] if urls else title, title=title, arxiv_id=arxiv_id,
        doi=doi, venue=venue, url=urls[0] if urls else None, urls=list(urls),
        year=next((y for y in (url_year(u) for u in urls) if y), None),
        item_type=row.item_type, list_rows=[replace(row, urls=list(row.urls))],
    )


def _paper_url(urls: list[str | None]) -> str | None:
    """The URL a paper listed in several rows keeps, of its rows' links (in list order): one without a
    fragment ("#appendix-..." links a part of the page), then the most common, then the first; not just
    the first row's, whose quirk would be every export's."""
    counts = Counter(u for u in urls if u)
    # Counter keeps first-seen order: on a tie, min() keeps the earliest (one pass, for 2,000 rows too).
    return min(counts, key=lambda u: ("#" in u, -counts[u]), default=None)


def parse_list(markdown: str, taxonomy: Taxonomy) -> ListParse:
    """Parse the list: rows with mapped labels, papers (de-duplicated), unknown labels, unreadable rows."""
    tables, problems = _scan(markdown)
    result = ListParse(unreadable_rows=list(problems))
    strip = _common_prefix([t.path for t in tables if t.path])
    unknown: dict[tuple[str, str], dict[str, Any]] = {}
    records: list[Record] = []
    for table in tables:
        path = table.path[strip:] if len(table.path) > strip else list(table.path)
        roles = _column_roles(table.columns)
        is_tool_table = any("tool" in p.casefold() for p in path) or (
            table.columns and table.columns[0].casefold().strip() in ("tool", "tools", "library")
        )
        for line, cells, raw in table.rows:
            if len(text := raw.strip()) > MAX_ROW_CHARS:
                result.unreadable_rows.append({
                    "line": line, "text": text[:_REPORTED_ROW_CHARS] + "…",
                    "reason": f"row longer than {MAX_ROW_CHARS:,} characters ({len(text):,})",
                })
                continue
            if all(_is_empty(c) for c in cells):
                result.unreadable_rows.append({"line": line, "text": raw.strip(), "reason": "empty row"})
                continue
            if len(cells) < len(roles):
                cells = cells + [""] * (len(roles) - len(cells))
            elif len(cells) > len(roles) and any(c.strip() for c in cells[len(roles):]):
                # Usually a row pasted from a wider table: its cells have shifted columns.
                result.row_warnings.append({
                    "kind": "extra_cells", "lines": [line],
                    "message": f"more cells than its table's header, line {line}: {len(cells)} cells, "
                               f"the header (line {table.header_line}) has {len(roles)}; the extra cells "
                               "are kept as extra columns (a row pasted from a wider table?)",
                })
            values: dict[str, str] = {}
            extra: dict[str, str] = {}
            for index, cell in enumerate(cells):
                role = roles[index] if index < len(roles) else f"extra:column {index + 1}"
                if role.startswith("extra:"):
                    if cell.strip():
                        extra[role[6:] or f"column {index + 1}"] = _cell_text(cell)
                elif role in values:
                    values[role] = f"{values[role]}, {cell}" if cell.strip() else values[role]
                else:
                    values[role] = cell
            broken = _malformed_link(values.get("paper", ""))
            if broken:
                # Reported like any unreadable row (the run goes on), never turned into a paper.
                result.unreadable_rows.append({"line": line, "text": raw.strip(), "reason": broken})
                continue
            title_raw, urls, other = _paper_cell(values.get("paper", ""))
            # A title of no words ("—", "…") is refused by the load too, but there without its line.
            if not title_raw or (not title_key(list_title(title_raw)[0]) and not _WORD.search(title_raw)):
                result.unreadable_rows.append({
                    "line": line, "text": raw.strip(),
                    "reason": "no paper title or link in the Paper column",
                })
                continue
            if other:
                result.row_warnings.append({
                    "kind": "two_papers_in_cell", "lines": [line], "title": other,
                    "message": f"cell holds two paper links, line {line}; only the first is read "
                               f"({_shown_title(title_raw)}): {_shown_title(other)} and its links are "
                               "left out (give it a row of its own)",
                })
            title, venue = list_title(title_raw)
            techniques = _label_cell_text(values["techniques"]) if "techniques" in values else None
            evaluation = _label_cell_text(values["evaluation"]) if "evaluation" in values else None
            tldr = _cell_text(values["tldr"]) if "tldr" in values else None
            t_ids, t_unknown = map_labels(techniques, "techniques", taxonomy)
            e_ids, e_unknown = map_labels(evaluation, "evaluation", taxonomy)
            row = ListRowRecord(
                section_path=list(path), title_in_list=title_raw, url_in_list=urls[0] if urls else None,
                urls=urls, techniques=techniques or None, evaluation=evaluation or None,
                tldr=tldr or None, technique_ids=t_ids, evaluation_ids=e_ids,
                unknown_techniques=t_unknown, unknown_evaluations=e_unknown, extra=extra,
                item_type="tool" if is_tool_table else "paper", line=line,
            )
            result.rows.append(row)
            for label, column in [(x, "techniques") for x in t_unknown] + [
                (x, "evaluation") for x in e_unknown
            ]:
                entry = unknown.get((column, label.casefold()))
                if entry is None:  # the suggestion looked up once per label, not once per row
                    entry = unknown[(column, label.casefold())] = {
                        "label": label, "column": column, "lines": [],
                        "suggestion": taxonomy.nearest_list_label(label, column),
                    }
                entry["lines"].append(line)
            records.append(_row_record(row, title, venue, urls))
    papers, members = dedupe_groups(records)
    for paper, indices in zip(papers, members, strict=True):
        if len(indices) > 1:
            paper.url = _paper_url([records[i].url for i in indices])
    result.papers = papers
    result.row_warnings += _repeated_row_warnings(records)
    result.row_warnings.sort(key=lambda w: w["lines"][0])
    result.unknown_labels = sorted(unknown.values(), key=lambda e: (e["column"], e["label"].casefold()))
    result.unreadable_rows.sort(key=lambda r: r["line"])
    return result


class ListSourceError(RuntimeError):
    """The list could not be read (missing file, HTTP error, timeout)."""


def read_list_source(source: str | Path, timeout: float = 30.0) -> str:
    """The list's markdown from a local file or an http(s) URL; ListSourceError unless it is UTF-8 text."""
    text = str(source)
    if text.startswith(("http://", "https://")):
        import requests

        from kg.config import without_password

        shown = without_password(text)  # errors reach cron mail and log files
        try:
            response = requests.get(text, timeout=timeout, headers={"user-agent": "paperkg"})
        except requests.RequestException as exc:
            raise ListSourceError(f"cannot fetch the list from {shown}: "
                                  f"{without_password(str(exc)).replace(text, shown)}") from exc
        if response.status_code != 200:
            raise ListSourceError(f"cannot fetch the list from {shown}: HTTP {response.status_code}")
        return _utf8_text(response.content, f"the list from {shown}")
    path = Path(text).expanduser()
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ListSourceError(f"cannot read the list file {path}: {exc.strerror or exc}") from exc
    return _utf8_text(data, f"the list file {path}")


def _utf8_text(data: bytes, what: str) -> str:
    """`data` decoded as UTF-8 (a byte order mark at the start left out), or ListSourceError naming
    `what` and why it is not (see kg.text_files.utf8_problem).

    Decoding with errors="replace" read a gzip or any binary file as a list of 0 rows, which then
    reported every stored list row as gone from the list."""
    try:
        return utf8_text(data)
    except NotUtf8Error as exc:
        problem = str(exc)
        if not problem.endswith(")"):  # nothing said what the file is
            problem += ": the list is markdown, such as the awesome list's raw README.md"
        raise ListSourceError(f"{what} {problem}") from exc
