"""Rules the outputs share for text that came from outside: which URLs may become links (web pages,
Atom feed, BibTeX, markdown list rows) and what may reach a terminal (the CLI). Invisible controls
in stored text go with kg.validation.clean_text.

No Flask import: ingest (the list-row exporter) uses it as well as the web app."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

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
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def terminal_safe(text: object) -> str:
    """Stored text made safe to print on a terminal: control characters and escape sequences
    removed, line breaks and tabs turned into spaces (one row stays one row), other Unicode kept."""
    cleaned = _LINE_BREAKS.sub(" ", str(text))
    return _CONTROL.sub("", _CONTROL_SEQUENCE.sub("", cleaned))
