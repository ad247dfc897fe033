"""A user's text file (an awesome list, a taxonomy, a records or keys file) read as UTF-8, and, when it
is not UTF-8 text, why, in words that follow the file's name: what the file is (UTF-16 or UTF-32 by
its byte order mark, UTF-16 without one by its NULs, gzip by its magic bytes), else the line and column
of its first byte that is not UTF-8, as an editor shows them (columns in characters; lines end at LF,
CR LF or CR), with a Windows-1252 or Latin-1 guess and "save the file as UTF-8".

One wording for every reader: the list, records, `keys restore` and taxonomy errors had three."""

from __future__ import annotations

import re

SAVE_AS_UTF8 = "save the file as UTF-8"

_GZIP = b"\x1f\x8b"
_UTF8_BOM = b"\xef\xbb\xbf"
# Bytes 0x80-0x9F stand for curly quotes, dashes, "€", "…" in Windows-1252 (Word, Notepad before 2019)
# and for no character in UTF-8 text or in Latin-1.
_CP1252_PUNCTUATION = range(0x80, 0xA0)
# How much of a file the UTF-16 guess looks at: its NULs show in the first line already.
_UTF16_SAMPLE = 1024


# Where a line of a user's text file ends: LF, CR LF or CR only, as editors, CommonMark and bytes.splitlines
# end one. str.splitlines also ends one at VT, FF, FS/GS/RS, NEL and U+2028/U+2029, which a JSON string
# may hold raw (an export re-saved by jq): a line was cut in two and every line number after it was off.
_LINE_END = re.compile(r"\r\n?|\n")


def text_lines(text: str) -> list[str]:
    """The lines of `text`, ended only at LF, CR LF or CR (see _LINE_END), without their line ends."""
    lines = _LINE_END.split(text)
    if lines and not lines[-1]:
        lines.pop()  # the last line's line end starts no line of its own
    return lines


class NotUtf8Error(ValueError):
    """Bytes that are not UTF-8 text; the message says why, worded to follow the file's name."""


def utf8_text(data: bytes) -> str:
    """`data` as text, a byte order mark at its start left out; NotUtf8Error saying why it is not UTF-8
    text (see utf8_problem)."""
    problem = utf8_problem(data)
    if problem is not None:
        raise NotUtf8Error(problem)
    return data.decode("utf-8-sig")


def utf8_problem(data: bytes) -> str | None:
    """Why `data` is not UTF-8 text, to follow the file's name ("is UTF-16 text, not UTF-8 (...)", "is
    not UTF-8 text: byte 0x93 at line 53, column 35 (Windows-1252 text? ...)"); None when it is.

    A NUL is no text either: a file holding one is refused, named by its line and column."""
    problem = encoding_problem(data)
    if problem is not None:
        return problem
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, column = _line_and_column(data, exc.start)
        where = f"is not UTF-8 text: byte 0x{data[exc.start]:02x} at line {line}, column {column}"
        return where + _encoding_guess(data, exc.start)
    if b"\x00" in data:
        line, column = _line_and_column(data, data.index(b"\x00"))
        return f"is not UTF-8 text: a NUL character at line {line}, column {column}"
    return None


def encoding_problem(data: bytes) -> str | None:
    """What a file is when none of its lines can be read as UTF-8 (gzip-compressed, UTF-16 or UTF-32
    text), to follow the file's name; None otherwise.

    A reader that takes a file line by line checks this first: a compressed or UTF-16 file would be
    hundreds of lines that are not UTF-8, where one error says what the file is."""
    if data.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return f"is UTF-32 text, not UTF-8 ({SAVE_AS_UTF8})"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # what Windows editors call "Unicode"
        return f"is UTF-16 text, not UTF-8 ({SAVE_AS_UTF8})"
    if data.startswith(_GZIP):
        return "is gzip-compressed, not UTF-8 text (decompress it first: gunzip)"
    if _utf16_without_bom(data):
        line, column = _line_and_column(data, data.index(b"\x00"))
        return (f"is not UTF-8 text: a NUL character at line {line}, column {column} (UTF-16 text without "
                f"a byte order mark? {SAVE_AS_UTF8})")
    return None


def line_problem(raw: bytes) -> str | None:
    """Why one line of a file (its bytes, without the line end) is not UTF-8 text ("not UTF-8 text: byte
    0xe9 at column 26 (Windows-1252 or Latin-1 text? ...)"), to follow "line N: "; None when it is.

    The column counts characters after a byte order mark at the line's start, which files joined with
    `cat` have at the start of a line and a line-by-line reader leaves out."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        start = exc.start
    else:
        return None
    # The bytes before the first bad one are UTF-8: the column counts their characters.
    column = len(raw[:start].removeprefix(_UTF8_BOM).decode("utf-8")) + 1
    return f"not UTF-8 text: byte 0x{raw[start]:02x} at column {column}" + _encoding_guess(raw, start)


def _line_and_column(data: bytes, index: int) -> tuple[int, int]:
    """The line and column (from 1; in characters) an editor shows for the byte at `index`."""
    before = data[:index]
    line = before.count(b"\n") + before.count(b"\r") - before.count(b"\r\n") + 1
    start = max(before.rfind(b"\n"), before.rfind(b"\r")) + 1
    text = before[start:].removeprefix(_UTF8_BOM) if line == 1 else before[start:]
    # "replace": a UTF-16 file's first NUL may follow a byte that is not UTF-8 ("é" is 0xe9 0x00).
    return line, len(text.decode("utf-8", "replace")) + 1


def _encoding_guess(data: bytes, start: int) -> str:
    """' (Windows-1252 text? 0x93 is '“' there: save the file as UTF-8)' when the line holding the bad
    byte at `start` reads as Windows-1252, else "".

    The line, not the whole file: one such character pasted into a UTF-8 file (whose "Á" has a byte
    cp1252 leaves undefined) is named too. A NUL anywhere: binary, not text in a one-byte encoding."""
    if b"\x00" in data:
        return ""
    line_start = max(data.rfind(b"\n", 0, start), data.rfind(b"\r", 0, start)) + 1
    ends = [i for i in (data.find(b"\n", start), data.find(b"\r", start)) if i != -1]
    byte = data[start]
    try:
        shown = bytes([byte]).decode("cp1252")
        data[line_start:min(ends, default=len(data))].decode("cp1252")
    except UnicodeDecodeError:
        return ""
    kind = "Windows-1252" if byte in _CP1252_PUNCTUATION else "Windows-1252 or Latin-1"
    return f" ({kind} text? 0x{byte:02x} is {shown!r} there: {SAVE_AS_UTF8})"


def _utf16_without_bom(data: bytes) -> bool:
    """Whether `data` looks like UTF-16 text without a byte order mark: its Latin letters have a NUL
    beside each (after it in little-endian, before it in big-endian), so one of every two bytes is
    mostly NUL and the other is not."""
    sample = data[:_UTF16_SAMPLE]
    even, odd = sample[0::2], sample[1::2]
    return any(nuls.count(0) * 2 >= len(nuls) > 0 and other.count(0) * 2 < len(other)
               for nuls, other in ((even, odd), (odd, even)))
