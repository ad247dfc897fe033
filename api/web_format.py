"""Formatting for the web UI's templates: Jinja filters and the escaped query highlighter."""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import Blueprint
from markupsafe import Markup, escape

from kg.explain import content_terms, folded_words, query_terms
from kg.safe_output import safe_http_url
from kg.tex import display_text

SNIPPET_CHARS = 260


def http_url(url: str | None) -> str:
    """The URL when it is a safe http(s) URL (kg.safe_output, the rule of every output), else '#'
    (a javascript: link from the data must never be clickable)."""
    return safe_http_url(url) or "#"


@functools.lru_cache(maxsize=4096)
def _display(text: str) -> str:
    # Cached: a page shows the same titles and abstracts again (result rows, related papers, reloads).
    return display_text(text)


def display(text: str | None) -> str:
    """Stored text (titles, authors, abstracts, findings, evidence: TeX as arXiv sends it) as the plain
    Unicode text it stands for (kg.tex.display_text), for every page to show the same way. A plain str:
    autoescape escapes it as any text ("\\textless" is a "<" shown as text). Never give it text it has
    already converted (shorten's): TeX is read once."""
    if not text:
        return ""
    return _display(text if isinstance(text, str) else str(text))


def isolate(text: str | None) -> str:
    """Text between FIRST STRONG ISOLATE and POP DIRECTIONAL ISOLATE, for places that hold text only
    (<title>), where a <bdi> cannot keep a right-to-left override from reversing what follows."""
    return f"\u2068{text or ''}\u2069"


_ISOLATED = re.compile("\u2068([^\u2068\u2069]*)\u2069")


def isolates_as_bdi(text: str | None) -> Markup:
    """Page text (a message: a str, or Markup holding links) with each isolate's FSI...PDI pair as a <bdi>
    element, escaped: in the body the element keeps a right-to-left override from reversing what follows,
    and no invisible character is left for copied text or a text browser to show. Messages are built once
    with isolate (api.web) and go to places that hold text only (a <title>, a description) as well."""
    html = str(text) if isinstance(text, Markup) else str(escape(text or ""))
    return Markup(_ISOLATED.sub(r"<bdi>\1</bdi>", html))


def when(stamp: str | None) -> str:
    """An ISO timestamp as 'YYYY-MM-DD HH:MM UTC' (dates and unparsable text pass through)."""
    if not stamp:
        return "—"
    try:
        moment = datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    except ValueError:
        return str(stamp)
    if len(str(stamp)) <= 10:
        return moment.date().isoformat()
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def host(url: str | None) -> str:
    """The host part of a URL, for link text; "link" when it has none or cannot be parsed: a store written
    before records files' URLs were checked may hold "https://x[evil]/", on which urlsplit raises (every
    page showing the link answered 500)."""
    try:
        return urlsplit(url or "").netloc or "link"
    except ValueError:
        return "link"


def with_page(args: dict[str, Any], page: int) -> str:
    """The current query string with another page number."""
    items = [(k, v) for k, v in _arg_items(args) if k != "page"]
    if page > 1:
        items.append(("page", str(page)))
    return urlencode(items)


def _arg_items(args: dict[str, Any]) -> list[tuple[str, str]]:
    items: list[tuple[str, str]] = []
    for key, value in args.items():
        values = value if isinstance(value, list) else [value]
        items += [(key, str(v)) for v in values if v not in (None, "")]
    return items


@functools.lru_cache(maxsize=65536)
def _word_term(word: str) -> str | None:
    # A word's query term (None for a stop word), cached: the same few thousand words recur across
    # the abstracts of every page.
    return next(iter(query_terms(word)), None)


def highlight(text: str, query: str) -> Markup:
    """Escape `text`, then wrap words matching the query's terms (or 5+ letter prefixes) in <mark>;
    words are compared folded as keyword search folds them ("sogaard" marks "Søgaard"), and the
    original characters are what is marked. Words that only frame a question ("about", "papers") are
    not marked unless the query has nothing else, as the best sentence does not count them."""
    terms = content_terms(query_terms(query))
    if not text or not terms:
        return Markup(escape(text or ""))
    long_terms = tuple(t for t in terms if len(t) >= 5)
    out: list[str] = []
    last = 0
    # Spans are of `text` itself, not of its folded form (which may be longer: "ß" -> "ss").
    for word, start, end in folded_words(text):
        term = _word_term(word)
        if term is not None and (term in terms or term.startswith(long_terms)):
            out.append(str(escape(text[last:start])))
            out.append("<mark>" + str(escape(text[start:end])) + "</mark>")
            last = end
    out.append(str(escape(text[last:])))
    return Markup("".join(out))


def shorten(text: str | None, limit: int = SNIPPET_CHARS) -> str:
    """Stored text as display shows it, whitespace-folded and cut at a word boundary with an ellipsis
    (converted before cutting: a cut must not split "\\textit{...}" and leave its brace)."""
    text = " ".join(display(text).split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + " …"


def node_page_id(name: str) -> str | None:
    """The id of the taxonomy node with a page that `name` is the display name of, for the search page's
    notices that name a technique or topic (None for a name no page, or more than one, has)."""
    from api.web_reasons import page_ids_by_name

    return page_ids_by_name().get(name) or None


def corrected_filter_url() -> dict[str, Any] | None:
    """The search URL with the form's technique/topic/model ids that were refused put right, for the error
    message: an id of another filter's kind moved to that filter ("superposition" from Technique to
    Topic), a name or misspelling replaced by the id it names. {"url", "moves": [(name, filter label)]};
    None when no refused id can be put right (an id no filter takes, an unknown one) or none was refused.
    The checks are api.params.check_filter_ids, the rule the search page refused them by."""
    from flask import request, url_for

    from api.app import get_taxonomy
    from api.params import FILTER_LABELS, FilterIdError, check_filter_ids

    taxonomy = get_taxonomy()
    values = {name: [v for v in request.args.getlist(name) if v] for name in FILTER_LABELS}
    fixed = {name: list(ids) for name, ids in values.items()}
    moves: list[tuple[str, str]] = []
    for name, ids in values.items():
        for node_id in ids:
            try:
                check_filter_ids(taxonomy, name, [node_id])
            except FilterIdError as exc:
                target = exc.other_filter if exc.label is not None else name
                new_id = exc.suggestion or (node_id if exc.label is not None else None)
                if target is None or new_id is None or target not in fixed:
                    return None  # the message says to search by name: no URL puts it right
                fixed[name].remove(node_id)
                if new_id not in fixed[target]:
                    fixed[target].append(new_id)
                node = taxonomy.by_id.get(new_id)
                moves.append((node.name if node else new_id, target.capitalize()))
    if not moves:
        return None
    items = [(key, value) for key in request.args
             for value in (fixed[key] if key in fixed else request.args.getlist(key))
             if key not in ("page", "fragment") and value]
    items += [(key, v) for key, ids in fixed.items() if key not in request.args for v in ids]
    return {"url": url_for("web.search") + "?" + urlencode(items), "moves": moves}


def register(bp: Blueprint) -> None:
    """Make the filters and helpers available to every template of the app."""
    from api.web_reasons import reason_legend, with_reason_links

    for name, function in (("http_url", http_url), ("when", when),
                           ("host", host), ("with_page", with_page), ("isolate", isolate),
                           ("bdi_isolates", isolates_as_bdi),
                           ("display", display), ("with_reason_links", with_reason_links)):
        bp.add_app_template_filter(function, name)
    bp.add_app_template_global(node_page_id, "node_page_id")
    bp.add_app_template_global(corrected_filter_url, "corrected_filter_url")
    bp.add_app_template_global(reason_legend, "related_reason_kinds")
