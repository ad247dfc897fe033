"""kg.text_files: a user's text file read as UTF-8, and the one wording of why it is not, which the
list, records, `keys restore` and taxonomy readers share (each had its own, with columns in bytes or
lines ending only at LF in one)."""

from __future__ import annotations

import pytest

from kg.text_files import NotUtf8Error, encoding_problem, line_problem, text_lines, utf8_problem, utf8_text

UTF16_HINT = "(UTF-16 text without a byte order mark? save the file as UTF-8)"


@pytest.mark.parametrize(("data", "problem"), [
    ("# x\n\n| [Caf\u00e9](https://x.org/a) | |\n".encode("latin-1"),
     "is not UTF-8 text: byte 0xe9 at line 3, column 7 (Windows-1252 or Latin-1 text? 0xe9 is '\u00e9' "
     "there: save the file as UTF-8)"),
    ("# x\r| caf\u00e9 \u2013 na\u00efve |".encode("cp1252"),
     "is not UTF-8 text: byte 0xe9 at line 2, column 6 (Windows-1252 or Latin-1 text? 0xe9 is '\u00e9' "
     "there: save the file as UTF-8)"),
    (b"\xef\xbb\xbf| caf\xc3\xa9 \x96 |", "is not UTF-8 text: byte 0x96 at line 1, column 8 (Windows-1252 "
     "text? 0x96 is '\u2013' there: save the file as UTF-8)"),
    # CR LF ends one line, not two; the column counts the characters of "\u2014 caf\u00e9 ", not their bytes.
    (b"a\r\nb\r\n\xe2\x80\x94 caf\xc3\xa9 \x93x\x94\r\n", "is not UTF-8 text: byte 0x93 at line 3, column 8 "
     "(Windows-1252 text? 0x93 is '\u201c' there: save the file as UTF-8)"),
    (b"\xff\xfe#\x00 \x00", "is UTF-16 text, not UTF-8 (save the file as UTF-8)"),
    (b"\xfe\xff\x00#\x00 ", "is UTF-16 text, not UTF-8 (save the file as UTF-8)"),
    (b"\xff\xfe\x00\x00#\x00\x00\x00", "is UTF-32 text, not UTF-8 (save the file as UTF-8)"),
    (b"\x1f\x8b\x08\x00 a gzip", "is gzip-compressed, not UTF-8 text (decompress it first: gunzip)"),
    (b"# x\n\x00\xff\x81", "is not UTF-8 text: byte 0xff at line 2, column 2"),  # binary: no guess
    # One Windows-1252 quote in a UTF-8 file with an "\u00c1" (0xc3 0x81: 0x81 is no Windows-1252 byte).
    (b"| \xc3\x81rbol |\n| \x93x\x94 |\n", "is not UTF-8 text: byte 0x93 at line 2, column 3 (Windows-1252 "
     "text? 0x93 is '\u201c' there: save the file as UTF-8)"),
    # UTF-16 without a byte order mark: its "\u00e9" (0xe9 0x00) is no UTF-8, but its NULs say what it is.
    ("id,title\r\nx,caf\u00e9\r\n".encode("utf-16-le"), f"is not UTF-8 text: a NUL character at line 1, "
     f"column 2 {UTF16_HINT}"),
    ("id,title\r\nx,caf\u00e9\r\n".encode("utf-16-be"), f"is not UTF-8 text: a NUL character at line 1, "
     f"column 1 {UTF16_HINT}"),
    # A NUL in UTF-8 text is no text either.
    ("# caf\u00e9\r\n\r\nsome text\x00 and more text\r\n".encode(),
     "is not UTF-8 text: a NUL character at line 3, column 10"),
    ("| ok \u2019 |".encode(), None),
    (b"\xef\xbb\xbf| ok |", None),
    (b"", None),
])
def test_utf8_problem_names_the_encoding_and_where(data: bytes, problem: str | None) -> None:
    assert utf8_problem(data) == problem


def test_utf8_text_leaves_out_the_byte_order_mark_and_refuses_with_the_problem() -> None:
    assert utf8_text(b"\xef\xbb\xbfcaf\xc3\xa9\r\n") == "caf\u00e9\r\n"
    with pytest.raises(NotUtf8Error) as refused:
        utf8_text("caf\u00e9".encode("utf-16"))
    assert str(refused.value) == "is UTF-16 text, not UTF-8 (save the file as UTF-8)"


@pytest.mark.parametrize(("data", "problem"), [
    ("x".encode("utf-16"), "is UTF-16 text, not UTF-8 (save the file as UTF-8)"),
    (b"\x1f\x8b\x08\x00", "is gzip-compressed, not UTF-8 text (decompress it first: gunzip)"),
    ('{"title": "a"}\n'.encode("utf-16-le"), f"is not UTF-8 text: a NUL character at line 1, column 2 "
     f"{UTF16_HINT}"),
    # A bad line is a line reader's to name, line by line.
    (b'{"title": "a"}\n{"title": "\xe9"}\n', None),
])
def test_encoding_problem_names_only_what_the_whole_file_is(data: bytes, problem: str | None) -> None:
    assert encoding_problem(data) == problem


@pytest.mark.parametrize(("raw", "problem"), [
    ('{"title": "\u00e9\u00e9"}'.encode() + b"\xff",  # 15 characters, 17 bytes, then 0xff
     "not UTF-8 text: byte 0xff at column 16 (Windows-1252 or Latin-1 text? 0xff is '\u00ff' there: save "
     "the file as UTF-8)"),
    # A byte order mark at the line's start (files joined with `cat`) is no column.
    (b'\xef\xbb\xbf{"t": "\x97"}', "not UTF-8 text: byte 0x97 at column 8 (Windows-1252 text? 0x97 is "
     "'\u2014' there: save the file as UTF-8)"),
    (b'{"t": "\x00\xff"}', "not UTF-8 text: byte 0xff at column 9"),
    ('{"t": "\u00e9"}'.encode(), None),
])
def test_line_problem_names_the_column_in_characters(raw: bytes, problem: str | None) -> None:
    assert line_problem(raw) == problem


@pytest.mark.parametrize(("text", "lines"), [
    ("", []), ("a", ["a"]), ("a\n", ["a"]), ("a\r\nb\rc\n\nd", ["a", "b", "c", "", "d"]),
    ("a\r\n\r\n", ["a", ""]),
    # Not line ends: what str.splitlines also split at (JSON strings may hold U+2028, U+2029, NEL raw).
    ("x\u2028y\u2029z\x85w\x0bv\x0cu\x1cs\n", ["x\u2028y\u2029z\x85w\x0bv\x0cu\x1cs"]),
])
def test_text_lines_end_only_at_lf_crlf_and_cr(text: str, lines: list[str]) -> None:
    assert text_lines(text) == lines
