"""The awesome-list as Windows and macOS editors save it: line separators inside a row, invisible
characters at the start of a line, files that are not UTF-8, decomposed text."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ingest.awesome_list import ListSourceError, fix_mojibake, heading_chains, parse_list, read_list_source
from kg.cli import main
from kg.taxonomy import Taxonomy
from tests.embedders import HashEmbedder

# The seed list's row with a TL;DR long enough to break (line 57, in "Paper Collection / Techniques").
ROW_START = "|  [Analyzing Transformers in Embedding Space](https://arxiv.org/pdf/2209.02535)"
TLDR_WORDS = "The paper proposed a conceptual framework"
TECHNIQUES_HEADING = "### Techniques\n"
EVALUATION_HEADING = "### Evaluation\n"

SMALL_LIST = """### Techniques

| Paper | Techniques | TL;DR |
| --- | --- | --- |
| [Tuned Lens](https://arxiv.org/abs/2303.08112) | Logit lens | Affine probes. |

### Evaluation

| Paper | Evaluation | TL;DR |
| --- | --- | --- |
| [Causal Scrubbing](https://example.org/cs) | Faithfulness | Hypotheses. |
"""

TABLE_ONLY = """| Paper | Techniques | TL;DR |
| --- | --- | --- |
| [Tuned Lens](https://arxiv.org/abs/2303.08112) | Logit lens | Affine probes. |
| [Causal Scrubbing](https://example.org/cs) | Probing | Hypotheses. |
"""

INVISIBLES = ["\ufeff", "\u200b", "\u200c", "\u200d", "\u2060"]


def _parsed(markdown: str, taxonomy: Taxonomy) -> dict[str, Any]:
    return parse_list(markdown, taxonomy).to_dict()


def _seed_row_line(seed_list: str) -> int:
    return next(n for n, line in enumerate(seed_list.split("\n"), start=1) if line.startswith(ROW_START))


# -- line ends ---------------------------------------------------------------------------------
@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x0b", "\x0c", "\x85", "\x1c", "\x1d", "\x1e"])
def test_a_line_separator_inside_a_cell_is_a_space_not_a_new_row(
    seed_list: str, taxonomy: Taxonomy, separator: str
) -> None:
    """str.splitlines cut the row at U+2028, VT (Word's Shift+Enter), FF, NEL, FS/GS/RS: GitHub shows them
    inside the row, and the parser stored the row's second half as a paper of its own."""
    assert TLDR_WORDS in seed_list
    broken = seed_list.replace(TLDR_WORDS, TLDR_WORDS.replace(" a ", f" a{separator}"), 1)
    assert _parsed(broken, taxonomy) == _parsed(seed_list, taxonomy)  # same rows, titles, cells, lines
    row = next(r for r in parse_list(broken, taxonomy).rows if r.line == _seed_row_line(seed_list))
    assert row.tldr is not None and TLDR_WORDS in row.tldr and separator not in row.tldr


@pytest.mark.parametrize("separator", ["\u2028", "\x0b", "\x85"])
def test_line_numbers_below_a_line_separator_are_the_editors(
    seed_list: str, taxonomy: Taxonomy, separator: str
) -> None:
    """A line separator in prose above the tables shifted every line number below it by one."""
    text = seed_list.replace("## Paper Collection\n", f"Some{separator}prose\n\n## Paper Collection\n", 1)
    lines = text.split("\n")
    rows = parse_list(text, taxonomy).rows
    assert len(rows) == 58
    for row in rows:
        assert row.line is not None and lines[row.line - 1].lstrip().startswith("|")
    assert [r.title_in_list for r in rows] == [r.title_in_list for r in parse_list(seed_list, taxonomy).rows]


@pytest.mark.parametrize("line_end", ["\r\n", "\r"])
def test_crlf_and_cr_line_ends_read_as_lf(seed_list: str, taxonomy: Taxonomy, line_end: str) -> None:
    """Windows (CR LF) and old Mac (CR) line ends: the same rows, on the same line numbers."""
    assert _parsed(seed_list.replace("\n", line_end), taxonomy) == _parsed(seed_list, taxonomy)


# -- invisible characters at the start of a line -------------------------------------------------
def test_a_bom_before_the_first_heading_keeps_its_section(taxonomy: Taxonomy) -> None:
    """"\\ufeff### Techniques" was no heading: its rows landed in no section (`root`)."""
    clean = _parsed(SMALL_LIST, taxonomy)
    assert _parsed("\ufeff" + SMALL_LIST, taxonomy) == clean
    assert [r["section_path"] for r in clean["rows"]] == [["Techniques"], ["Evaluation"]]


def test_a_bom_before_a_table_only_list_reads_its_rows(taxonomy: Taxonomy) -> None:
    """A BOM before the header line hid its leading pipe: every row was "table row outside a table"."""
    parsed = _parsed("\ufeff" + TABLE_ONLY, taxonomy)
    assert parsed == _parsed(TABLE_ONLY, taxonomy)
    assert len(parsed["rows"]) == 2 and parsed["unreadable_rows"] == []


@pytest.mark.parametrize("invisible", INVISIBLES)
def test_an_invisible_character_before_a_heading_mid_file(
    seed_list: str, taxonomy: Taxonomy, invisible: str
) -> None:
    """Two files joined with `cat` put the second's BOM before its first heading: the heading was
    ignored and its rows filed silently under the section above it."""
    text = seed_list.replace(EVALUATION_HEADING, invisible + EVALUATION_HEADING, 1)
    assert _parsed(text, taxonomy) == _parsed(seed_list, taxonomy)
    assert heading_chains(text) == heading_chains(seed_list)


@pytest.mark.parametrize("invisible", INVISIBLES)
def test_an_invisible_character_before_a_row(seed_list: str, taxonomy: Taxonomy, invisible: str) -> None:
    """Before "| [Title](url) |" it was the row's first cell: the columns shifted, and the paper was lost
    as "rejected: : no title", without a line number."""
    text = seed_list.replace(ROW_START, invisible + ROW_START, 1)
    assert _parsed(text, taxonomy) == _parsed(seed_list, taxonomy)


@pytest.mark.parametrize("invisible", INVISIBLES)
def test_invisible_characters_inside_a_heading_or_cell_are_left_out(
    taxonomy: Taxonomy, invisible: str
) -> None:
    """After the #s, or at the ends of a cell, they are no part of the section's name or the cell."""
    text = (SMALL_LIST.replace("### Techniques", f"### {invisible}Techniques{invisible}")
            .replace("| Logit lens |", f"| {invisible}Logit lens{invisible} |")
            .replace("| [Tuned Lens]", f"| {invisible}[Tuned Lens]") + f"{invisible}\n")
    assert _parsed(text, taxonomy) == _parsed(SMALL_LIST, taxonomy)


def test_a_bom_and_a_trailing_invisible_character_leave_the_row_its_cells(taxonomy: Taxonomy) -> None:
    """A zero-width space after the row's last pipe made one more cell, and a warning about it."""
    text = TABLE_ONLY.replace("Affine probes. |\n", "Affine probes. |\u200b\n")
    assert _parsed(text, taxonomy) == _parsed(TABLE_ONLY, taxonomy)


def test_a_bom_is_not_read_into_the_lists_text(tmp_path: Path) -> None:
    path = tmp_path / "list.md"
    path.write_bytes(b"\xef\xbb\xbf" + SMALL_LIST.encode("utf-8"))
    assert read_list_source(path) == SMALL_LIST


@pytest.mark.parametrize("cell", ["\u200b", "\u2014", "\u2026"])
def test_a_row_without_a_title_is_reported_with_its_line(taxonomy: Taxonomy, cell: str) -> None:
    """A Paper cell of no words was a paper the load then refused as "rejected: : no title", with
    no line to find it by."""
    text = TABLE_ONLY + f"| {cell} | Probing | A row. |\n"
    parsed = parse_list(text, taxonomy)
    assert [r.line for r in parsed.rows] == [3, 4]
    assert [(r["line"], r["reason"]) for r in parsed.unreadable_rows] == [
        (5, "no paper title or link in the Paper column")]


def test_a_title_of_symbols_that_reads_as_words_stays_a_paper(taxonomy: Taxonomy) -> None:
    """Only a title of no words at all is unreadable: "∑" has one for the load ("sum")."""
    parsed = parse_list(TABLE_ONLY + "| \u2211 | Probing | A row. |\n", taxonomy)
    assert [r.title_in_list for r in parsed.rows][-1] == "\u2211" and parsed.unreadable_rows == []


# -- the ingest --------------------------------------------------------------------------------
def _ingest(source: Path) -> dict[str, Any]:
    result = CliRunner().invoke(main, ["ingest", "list", "--source", str(source), "--no-arxiv", "--json"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


def _counts() -> dict[str, Any]:
    """The store's node and relationship counts, its ingest runs left out."""
    result = CliRunner().invoke(main, ["stats", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    stats = json.loads(result.stdout)
    stats["nodes"].pop("IngestRun")
    return {"nodes": stats["nodes"], "relationships": stats["relationships"]}


@pytest.mark.parametrize("variant", ["bom", "zwsp_row", "zwsp_heading", "line_separator"])
def test_the_clean_list_after_an_editors_copy_adds_nothing(
    data_dir: Path, seed_list: str, tmp_path: Path, plumbing: HashEmbedder, variant: str
) -> None:
    """The list saved by Notepad, joined with `cat` or edited in Word, then the clean list: the second
    run finds nothing new and no other section (they were 9 more LISTED_IN rows, or a lost paper)."""
    # The list from its first table's heading: a BOM before that heading is the case that lost it.
    base = seed_list[seed_list.index(TECHNIQUES_HEADING):]
    text = {"bom": "\ufeff" + base,
            "zwsp_row": base.replace(ROW_START, "\u200b" + ROW_START, 1),
            "zwsp_heading": base.replace(EVALUATION_HEADING, "\ufeff" + EVALUATION_HEADING, 1),
            "line_separator": base.replace(TLDR_WORDS, TLDR_WORDS.replace(" a ", " a\u2028"), 1),
            }[variant]
    copy, clean = tmp_path / "copy.md", tmp_path / "clean.md"
    copy.write_text(text, encoding="utf-8")
    clean.write_text(base, encoding="utf-8")
    first = _ingest(copy)
    assert first["rejected"] == 0 and first["new"] == 38, first
    counts = _counts()
    again = _ingest(clean)
    assert (again["new"], again["updated"], again["unchanged"], again["moved"], again["rejected"]) == (
        0, 0, 38, 0, 0), again
    assert again["stale_list_rows"] == []
    assert _counts() == counts


# -- files that are not UTF-8 --------------------------------------------------------------------
def test_a_windows_1252_list_names_the_line_and_column(tmp_path: Path) -> None:
    """It named a byte offset and asked for "the awesome list's raw README.md", the file it was."""
    path = tmp_path / "list.md"
    row = "| [Interpreting GPT: the \u2018logit\u2019 lens](https://x.org/a) | |"
    path.write_bytes(f"# A list\r\n\r\n{row}\r\n".encode("cp1252"))
    with pytest.raises(ListSourceError) as refused:
        read_list_source(path)
    assert str(refused.value) == (f"the list file {path} is not UTF-8 text: byte 0x91 at line 3, column 26 "
                                  "(Windows-1252 text? 0x91 is '\u2018' there: save the file as UTF-8)")


def test_a_binary_list_still_says_what_the_list_is(tmp_path: Path) -> None:
    """A file of no known encoding: the hint says what file the list is."""
    path = tmp_path / "list.md"
    path.write_bytes(b"# x\n\x00\xff\x81")
    with pytest.raises(ListSourceError) as refused:
        read_list_source(path)
    assert str(refused.value) == (f"the list file {path} is not UTF-8 text: byte 0xff at line 2, column 2: "
                                  "the list is markdown, such as the awesome list's raw README.md")


# -- mojibake ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "expected"), [
    ("LM\u00e2\u20ac\u2122s guess", "LM\u2019s guess"),
    (unicodedata.normalize("NFD", "Caf\u00e9: LM\u00e2\u20ac\u2122s guess"), "Caf\u00e9: LM\u2019s guess"),
    ("Caf\u00e9 R\u00e9sum\u00e9 \u2013 LM\u00e2\u20ac\u2122s",
     "Caf\u00e9 R\u00e9sum\u00e9 \u2013 LM\u2019s"),
    ("\u201cna\u00c3\u00afve\u201d", "\u201cna\u00efve\u201d"),
    ("\u00c3\x81rbol", "\u00c1rbol"),  # 0x81: no Windows-1252 character, kept as U+0081
    ("Caf\u00e9\u00e2\u20ac\u2122s\u00a0LM\u00e2\u20ac\u201d", "Caf\u00e9\u2019s\u00a0LM\u2014"),  # touching
    ("S\u00c3O PAULO", "S\u00c3O PAULO"),  # a real "Ã", no UTF-8 after it
    (unicodedata.normalize("NFD", "Caf\u00e9"), unicodedata.normalize("NFD", "Caf\u00e9")),  # left alone
])
def test_mojibake_is_repaired_in_decomposed_text_and_beside_real_accents(text: str, expected: str) -> None:
    """A decomposed (macOS) cell, or one with a real "é" too, kept its "â€™": the whole cell was re-read
    as UTF-8 or nothing."""
    assert fix_mojibake(text) == expected


def test_a_decomposed_list_reads_as_the_composed_one(seed_list: str, taxonomy: Taxonomy) -> None:
    """The whole list saved decomposed (NFD, as macOS may): its mojibake is repaired as in NFC."""
    text = seed_list.replace(TLDR_WORDS, "Caf\u00e9: LM\u00e2\u20ac\u2122s guess. " + TLDR_WORDS, 1)
    composed = parse_list(text, taxonomy).rows
    decomposed = parse_list(unicodedata.normalize("NFD", text), taxonomy).rows
    row = next(r for r in composed if r.line == _seed_row_line(seed_list))
    assert row.tldr is not None and row.tldr.startswith("Caf\u00e9: LM\u2019s guess. ")
    assert [r.to_dict() for r in decomposed] == [r.to_dict() for r in composed]
