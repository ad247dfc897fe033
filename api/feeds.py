"""Atom 1.0 feed of the newest papers at /feeds/new.atom (built with ElementTree: always escaped)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import quote

from flask import Blueprint, Response, current_app, request, url_for

from api.app import get_store
from api.params import int_arg, since_arg
from kg.entities import Paper
from kg.safe_output import arxiv_abs_url, iri_safe, safe_http_url
from kg.validation import parse_since
from kg.withdrawn import is_withdrawn

bp = Blueprint("feeds", __name__)

ATOM_NS = "http://www.w3.org/2005/Atom"
FEED_LIMIT_DEFAULT = 50
# Feed readers poll: a reader (or a cache in front of the app) may reuse the feed for 5 minutes, then
# revalidates with If-None-Match (a 304 costs no body). New papers come from scheduled
# ingests, so 5 minutes late is nothing; "no-cache" would make every poll run the store query.
FEED_CACHE_CONTROL = "max-age=300"
# XML 1.0 forbids most control characters even when escaped: drop them from stored text.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# A withdrawn paper's entry (kg.withdrawn): its title says so, as every feed reader shows the title
# (few show categories), and a category says it to readers and filters that read those.
WITHDRAWN_TITLE_PREFIX = "[Withdrawn] "
WITHDRAWN_CATEGORY = {"term": "withdrawn", "scheme": "urn:paperkg:status", "label": "Withdrawn"}
# Atom is the default namespace of the documents ElementTree writes (a process-wide registry).
ET.register_namespace("", ATOM_NS)


def _clean(text: str | None) -> str:
    return _XML_INVALID.sub("", text or "")


def _timestamp(value: str | None) -> str:
    """RFC 3339 timestamp in UTC (Atom requires a full date-time) from a stored date (a paper's published)
    or timestamp (its first_seen), read by the `since` rule; else the epoch."""
    try:
        parsed = parse_since(value) if value else None
    except ValueError:  # not a date or timestamp, or one whose UTC moment a datetime cannot hold
        parsed = None
    if parsed is None:
        return "1970-01-01T00:00:00Z"
    if not isinstance(parsed, datetime):  # a date: its midnight UTC
        parsed = datetime(parsed.year, parsed.month, parsed.day, tzinfo=UTC)
    # isoformat, not strftime("%Y"): that writes year 1 as "1", which no feed reader takes.
    return parsed.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def entry_updated(paper: Paper) -> str:
    """When the paper's entry last changed (atom:updated, RFC 3339): the later of when the store first
    saw it and its own updated date (a new arXiv version), else its published date. Not last_seen: an
    unchanged re-ingest moves that, and a reader would show the entry as updated."""
    # Every _timestamp is "YYYY-MM-DDTHH:MM:SSZ" (four-digit year): as strings, the latest is the max.
    stamps = [_timestamp(value) for value in (paper.first_seen, paper.updated) if value]
    return max(stamps) if stamps else _timestamp(paper.published)


def feed_updated(papers: list[Paper]) -> str:
    """The feed's atom:updated: its latest entry's updated, else the epoch."""
    return max((entry_updated(p) for p in papers), default=_timestamp(None))


def paper_atom_id(paper: Paper) -> str:
    """A permanent IRI for a paper (its arXiv abs page, else a paperkg URN)."""
    if paper.arxiv_id:
        return arxiv_abs_url(paper.arxiv_id)
    return f"urn:paperkg:paper:{quote(paper.id, safe='')}"


def entry_link(paper: Paper, page_url: Callable[[str], str] | None = None) -> str | None:
    """An entry's alternate link: the paper's http(s) URL, else its arXiv page, else its page on
    this site (`page_url(paper id)`); a javascript: or data: URL from the data is never a link."""
    link = safe_http_url(paper.url)
    if link is None and paper.arxiv_id:
        link = arxiv_abs_url(paper.arxiv_id)
    if link is None and page_url is not None:
        link = page_url(paper.id)
    return link


def build_feed(papers: list[Paper], *, self_url: str, site_url: str,
               page_url: Callable[[str], str] | None = None) -> bytes:
    """Serialise papers as an Atom 1.0 feed document (UTF-8 bytes); `page_url(paper id)` is a paper's
    page on this site, the link of entries with no usable URL of their own."""

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        el = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attrs)
        if text is not None:
            el.text = _clean(text)
        return el

    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    sub(feed, "id", "urn:paperkg:feeds:new")
    sub(feed, "title", "paperkg: new papers")
    sub(feed, "updated", feed_updated(papers))
    author = sub(feed, "author")
    sub(author, "name", "paperkg")
    sub(feed, "link", rel="self", href=_clean(iri_safe(self_url)), type="application/atom+xml")
    sub(feed, "link", rel="alternate", href=_clean(iri_safe(site_url)), type="text/html")
    sub(feed, "generator", "paperkg")
    for paper in papers:
        entry = sub(feed, "entry")
        withdrawn = is_withdrawn(paper.abstract)
        sub(entry, "id", paper_atom_id(paper))
        sub(entry, "title", (WITHDRAWN_TITLE_PREFIX if withdrawn else "") + (paper.title or paper.id))
        sub(entry, "updated", entry_updated(paper))
        if paper.published:
            sub(entry, "published", _timestamp(paper.published))
        for name in paper.authors or []:
            sub(sub(entry, "author"), "name", name)
        if not paper.authors:
            sub(sub(entry, "author"), "name", "unknown")
        link = entry_link(paper, page_url)
        if link:
            sub(entry, "link", rel="alternate", href=_clean(iri_safe(link)))
        if paper.abstract:
            sub(entry, "summary", paper.abstract, type="text")
        if withdrawn:
            sub(entry, "category", **WITHDRAWN_CATEGORY)
        for category in paper.categories or []:
            sub(entry, "category", term=_clean(category))
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


@bp.get("/feeds/new.atom")
def new_atom() -> Response:
    """The newest papers (by first seen), optionally since a date, as Atom 1.0; conditional on its
    ETag (a 304 with no body when the reader's copy is current)."""
    since = since_arg("since", default="1970-01-01")
    limit = int_arg("limit", FEED_LIMIT_DEFAULT, 1, 100)
    papers = get_store().new_papers(since, limit)
    has_web = "web.home" in current_app.view_functions
    site_url = url_for("web.home", _external=True) if has_web else request.host_url

    def page_url(paper_id: str) -> str:
        """The paper's page on this site, absolute (feed readers resolve nothing)."""
        return url_for("web.paper", paper_id=paper_id, _external=True)

    body = build_feed(papers, self_url=request.url, site_url=site_url, page_url=page_url if has_web else None)
    response = Response(body, mimetype="application/atom+xml")
    # A strong ETag of the body: it changes exactly when the feed does (an ingest, a removed paper, another
    # Host). No Last-Modified: the feed's updated does not move when a paper is removed or rewritten
    # without a newer date, so a reader sending only If-Modified-Since would keep a stale copy.
    response.add_etag()
    response.headers["Cache-Control"] = FEED_CACHE_CONTROL
    # make_conditional updates the response in place (and returns it, typed as werkzeug's base class).
    response.make_conditional(request)
    return response
