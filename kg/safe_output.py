"""The rule every output shares (web pages, Atom feed, BibTeX, markdown list rows) for URLs that came
from outside: which may become links. Invisible controls go with kg.validation.clean_text.

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

