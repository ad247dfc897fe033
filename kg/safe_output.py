"""Rules the outputs share for text that came from outside: which URLs may become links (web pages,
Atom feed, BibTeX, markdown list rows), how a link is written as a valid IRI, and what may reach a
terminal (the CLI). Invisible controls in stored text go with kg.validation.clean_text.

No Flask import: ingest (the list-row exporter) uses it as well as the web app."""

from __future__ import annotations

import re
import unicodedata
from typing import TextIO
from urllib.parse import quote, urlsplit

# C0 controls and DEL: a URL holding one (a line break, a NUL) is malformed, and in a markdown row
# or an HTTP header it could end the line it sits on.
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


def safe_http_url(url: str | None) -> str | None:
    """The URL (surrounding whitespace removed) when it is an absolute http(s) URL with a host and no
    control characters, else None: javascript:, data:, vbscript:, scheme-relative and malformed
    URLs from the data must never become links."""
    if not url:
        return None
    text = url.strip()
    if _CONTROL_RE.search(text):
        return None
    try:
        parts = urlsplit(text)
    except ValueError:  # e.g. an invalid IPv6 host "http://[x"
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return text


# Terminal control in stored text (titles, abstracts, author names come from feeds and files): a
# string sequence (OSC "set title", DCS, APC ...) up to its terminator, a CSI sequence ("erase
# line", "hidden text"), any other escape, then every C0/DEL/C1 control left. The 8-bit C1
# introducers (U+009B CSI, U+009D OSC ...) are sequences too: some terminals act on them.
# An unterminated string sequence loses only its introducer, so no readable text is swallowed.
_CONTROL_SEQUENCE = re.compile(
    r"(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)"
    r"|(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
    r"|\x1b[ -/]*[0-~]"
)
_LINE_BREAKS = re.compile(r"[\t\n\v\f\r\x85\u2028\u2029]+")
# The bidirectional embedding and override (U+202A-U+202E) and isolate (U+2066-U+2069) controls, as the
# body of a regex character class: what stored text (kg.validation.clean_text), terminal output and link
# previews (api.web plain_description) drop.
BIDI_CONTROLS = "\u202a-\u202e\u2066-\u2069"
# The bidi embeddings, overrides (U+202A-U+202E) and isolates (U+2066-U+2069) go too: a right-to-left
# override in an echoed argument ("x\u202e' OR 1=1 --") reverses what the terminal shows after it, so
# the message reads otherwise than it is. Text in a right-to-left script needs none of them to show.
_CONTROL = re.compile(f"[\x00-\x1f\x7f-\x9f{BIDI_CONTROLS}]")


def terminal_safe(text: object) -> str:
    """Stored text made safe to print on a terminal: control characters, escape sequences and bidi
    overrides removed, line breaks and tabs turned into spaces (one row stays one row), other Unicode
    kept."""
    cleaned = _LINE_BREAKS.sub(" ", str(text))
    return _CONTROL.sub("", _CONTROL_SEQUENCE.sub("", cleaned))


def shown_text(value: str, limit: int | None = None) -> str:
    """A value from outside (a command-line argument, a file name) as a message echoes it: bytes that are
    not UTF-8 (lone surrogates in Python) as the \\xNN typed, terminal controls and bidi overrides
    removed (terminal_safe), and, given a `limit`, cut to that many characters plus "…"."""
    try:
        text = value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate no byte decodes to, given as text by a script
        text = value.encode("utf-8", "backslashreplace").decode("utf-8")
    text = terminal_safe(text)
    return text if limit is None or len(text) <= limit else text[:limit] + "…"


# ASCII no IRI (RFC 3987) may hold: controls, space, '"<>\\^`{|}' and DEL; and a "%" that starts no %XX
# escape. Non-ASCII is encoded outside ucschar (_UCSCHAR) or when invisible (is_invisible).
_IRI_UNSAFE = re.compile("[\x00-\x20\"<>\\\\^`{|}\x7f]|%(?![0-9A-Fa-f]{2})")
_SCHEME_AUTHORITY = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/?]*")
# RFC 3987's ucschar, the non-ASCII an IRI may hold: it leaves out C1 controls, surrogates, private use
# (iprivate, allowed in a query only, is encoded too: is_invisible), U+FDD0-FDEF, U+FFF0-FFFF (U+FFFD,
# U+FFFC), the last two code points of every plane and U+E0000-E0FFF (tags, variation selectors 17-256).
_UCSCHAR = ((0xA0, 0xD7FF), (0xF900, 0xFDCF), (0xFDF0, 0xFFEF),
            *((plane, plane + 0xFFFD) for plane in range(0x10000, 0xE0000, 0x10000)), (0xE1000, 0xEFFFD))


def _is_ucschar(ch: str) -> bool:
    """Whether the non-ASCII `ch` is in RFC 3987's ucschar ranges."""
    code = ord(ch)
    return any(low <= code <= high for low, high in _UCSCHAR)


def percent_encode(text: str) -> str:
    """Every character of `text` as %XX escapes of its UTF-8 bytes."""
    # surrogatepass: a lone surrogate still becomes escapes (of invalid UTF-8), never an exception.
    return "".join(f"%{b:02X}" for b in text.encode("utf-8", "surrogatepass"))


def is_invisible(ch: str) -> bool:
    """Whether `ch` shows as nothing or as a space: whitespace, controls, format characters (zero-width
    space, bidi marks), surrogates, private use and unassigned code points (categories Z* and C*)."""
    return unicodedata.category(ch)[0] in "CZ"


def iri_safe(url: str) -> str:
    """The URL as a valid IRI: characters no IRI may hold percent-encoded as UTF-8 (what RFC 3987's
    IRI-to-URI mapping does, so the URL keeps its meaning), a "%" that starts no escape as %25, "[" and
    "]" outside the host and every "#" after the first; existing %XX escapes are kept."""
    head, hash_mark, fragment = url.partition("#")
    authority = _SCHEME_AUTHORITY.match(head)
    split = authority.end() if authority else 0
    # "[" and "]" belong only to an IPv6 host; a fragment holds no second "#".
    rest = head[split:].replace("[", "%5B").replace("]", "%5D")
    fragment = fragment.replace("#", "%23").replace("[", "%5B").replace("]", "%5D")
    joined = head[:split] + rest + hash_mark + fragment
    encoded = _IRI_UNSAFE.sub(lambda m: percent_encode(m.group(0)), joined)
    # Invisible non-ASCII (a no-break space, a zero-width space) may be ucschar, but in a link it reads as
    # nothing or as a space.
    return "".join(percent_encode(ch) if ch > "\x7f" and (is_invisible(ch) or not _is_ucschar(ch)) else ch
                   for ch in encoded)


def is_terminal(stream: TextIO | None) -> bool:
    """Whether `stream` (sys.stderr, sys.stdout) is a terminal: False when the process was started with it
    closed (`2>&-`: Python sets it to None) or it was closed since, where `.isatty()` would raise."""
    try:
        return stream is not None and stream.isatty()
    except ValueError:  # a closed file
        return False


def arxiv_abs_url(arxiv_id: str) -> str:
    """A paper's arXiv abs page (`https://arxiv.org/abs/2211.00593`, old-style `hep-th/9901001` kept)."""
    return f"https://arxiv.org/abs/{quote(arxiv_id, safe='./')}"
