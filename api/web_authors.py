"""Authors on the web pages: the link of an author name (its page, /authors/<key>) and which names of a
long author list a search query names (the byline shows them past its first few)."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote

from flask import Blueprint, has_request_context, url_for

from kg.validation import author_key, fold_for_search, query_words

# How many authors a list row names before "et al." (templates/_macros.html authors: `most`).
BYLINE_AUTHORS = 4
# At most this many authors past the first BYLINE_AUTHORS are added to a row's byline for a query
# naming them: a query of common words must not turn a byline into the whole author list.
BYLINE_QUERY_AUTHORS = 2
# Shorter name words are initials ("C.", "J") and never what a reader searches a person by.
_MIN_NAME_WORD = 2


def author_href(name: str) -> str | None:
    """The page of the author a name stands for (url_for quotes the key), None for a name without a letter
    or digit; outside a request (the graph data built by a script), the path from the site's root."""
    key = author_key(name) if isinstance(name, str) else ""
    # A key without a letter or digit (".", "..") is a path segment browsers resolve: /authors/.. is /.
    if not any(ch.isalnum() for ch in key):
        return None
    return url_for("web.author", key=key) if has_request_context() else f"/authors/{quote(key, safe='')}"


def _words(text: str) -> set[str]:
    """The folded words of a name or query (case, accents and format characters aside)."""
    return {w.casefold() for w in query_words(fold_for_search(text), stopwords=frozenset())
            if len(w) >= _MIN_NAME_WORD}


def query_authors(names: Sequence[str], query: str, most: int = BYLINE_AUTHORS) -> list[int]:
    """Positions, past the first `most`, of the author names the query names (a word of the name as a
    word of the query: "olah" or "chris olah" names Chris Olah), those sharing most words first, at most
    BYLINE_QUERY_AUTHORS, in list order; empty when the byline shows every name anyway (most + 1 or
    fewer: "et al." never stands for one name)."""
    if not query or len(names) <= most + 1:
        return []
    asked = _words(query)
    scored = [(len(asked & _words(name)), i) for i, name in enumerate(names) if i >= most
              and isinstance(name, str)]
    best = max((n for n, _ in scored), default=0)
    if best == 0:
        return []
    return sorted(i for n, i in scored if n == best)[:BYLINE_QUERY_AUTHORS]


def register(bp: Blueprint) -> None:
    """Make author_href the templates' `author_href` filter."""
    bp.add_app_template_filter(author_href, "author_href")
