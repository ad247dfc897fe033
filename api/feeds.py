"""Atom 1.0 feed of the newest papers at /feeds/new.atom (built with ElementTree: always escaped), and the
default window of the views of new papers (the New page and GET /api/new: default_new_window)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from flask import Blueprint, Response, current_app, redirect, request, url_for
from werkzeug.wrappers import Response as BaseResponse  # what redirect() is typed to return

from api.app import get_store, get_taxonomy
from api.params import (
    Args,
    ParameterError,
    check_filter_ids,
    int_arg,
    list_arg,
    respelt_filter,
    since_arg,
    str_arg,
    with_query_replacing,
)
from kg.entities import Paper
from kg.explain import Labels
from kg.safe_output import arxiv_abs_url, iri_safe, safe_http_url
from kg.schema import RUN_SOURCE_WEEKLY
from kg.store import AuthorPage, GraphStore
from kg.tex import display_text
from kg.validation import author_key, parse_since
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
# A paper's techniques are categories too (term: the taxonomy id, label: its name), for readers and filters
# that sort entries by category; the arXiv categories have no scheme.
TECHNIQUE_SCHEME = "urn:paperkg:technique"
# The feed of every new paper; a feed filtered by technique ids has an id and a title of its own (a reader
# subscribed to both must not take them for one feed): FEED_ID:technique:<ids>.
FEED_ID = "urn:paperkg:feeds:new"
FEED_TITLE = "paperkg: new papers"
# Atom is the default namespace of the documents ElementTree writes (a process-wide registry).
ET.register_namespace("", ATOM_NS)

# -- the default window of the views of new papers ---------------------------------------------------
NEW_DEFAULT_DAYS = 7
DEFAULT_DAYS = timedelta(days=NEW_DEFAULT_DAYS)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# How many weekly runs are read to find the two latest that succeeded (failed ones lie between).
WEEKLY_RUNS_READ = 100
# How the window of a view of new papers was chosen (GET /api/new's `window`):
# given: the request's since; previous_weekly_run: since the weekly arXiv run before the latest one that
# succeeded ended; only_weekly_run: since the only weekly run that succeeded started;
# week_before_latest_ingest: no weekly run succeeded, the 7 days before the latest ingest started;
# last_7_days: no ingest at all.
WINDOW_RULES = ("given", "previous_weekly_run", "only_weekly_run", "week_before_latest_ingest",
                "last_7_days")


@dataclass(frozen=True)
class NewWindow:
    """What a view of new papers shows: the papers first seen at or after `since` (a parse_since value),
    chosen by `rule` (WINDOW_RULES); `latest_started` is when the run it is measured from started (the
    latest weekly run that succeeded, else the latest ingest run), `previous_ended` when the weekly run
    that succeeded before it ended (both as stored, UTC)."""

    since: str
    rule: str
    latest_started: str | None = None
    previous_ended: str | None = None


def _moment(stamp: str | None) -> datetime | None:
    """A stored run time (ISO 8601, UTC) as an aware datetime; None when absent or unreadable."""
    try:
        moment = datetime.fromisoformat(str(stamp).replace("Z", "+00:00")) if stamp else None
    except ValueError:
        return None
    if moment is not None and moment.tzinfo is None:  # stored in UTC, even when written without offset
        moment = moment.replace(tzinfo=UTC)
    return moment


def _since_text(moment: datetime) -> str:
    """A moment as a `since` value in UTC to the microsecond (the stores keep first_seen so): a window that
    starts when a run ended must not reach back into that run's last second."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def default_new_window(store: GraphStore, now: datetime | None = None) -> NewWindow:
    """The window of new papers shown when no since is given: the New page and GET /api/new use this one
    rule, so a weekly reader sees each paper once.

    Its start is when the weekly arXiv run before the latest one that succeeded ended: the window holds
    the latest weekly run's papers and every paper added after the run before it (a list or records
    ingest in between), and moves on with the next weekly run, so reading it once after each weekly run
    shows every paper once. A bare "7 days before the run" started at that day's midnight and so also
    held the previous Monday's 06:00 run. Failed weekly runs are no boundary: the week they should have
    closed stays open (a run that fails on Tuesday must not hide Monday's papers). With one weekly run
    that succeeded, the window starts when it started; with none, 7 days before the latest ingest of any
    source started (a store loaded once still shows what it loaded), or the last 7 days with no ingest."""
    weekly = [r for r in store.runs(RUN_SOURCE_WEEKLY, limit=WEEKLY_RUNS_READ)
              if r.status == "succeeded" and _moment(r.started) is not None]
    if len(weekly) >= 2:
        latest, previous = weekly[0], weekly[1]
        ended_at = previous.finished if _moment(previous.finished) else previous.started
        return NewWindow(_since_text(_moment(ended_at) or _EPOCH), "previous_weekly_run", latest.started,
                         ended_at)
    if weekly:
        started = weekly[0].started
        return NewWindow(_since_text(_moment(started) or _EPOCH), "only_weekly_run", started)
    last = next(iter(store.runs(limit=1)), None)
    anchor_at = None if last is None else (last.started if _moment(last.started) else last.finished)
    anchor = _moment(anchor_at)
    if anchor is not None:
        return NewWindow(_since_text(anchor - DEFAULT_DAYS), "week_before_latest_ingest", anchor_at)
    return NewWindow(_since_text((now or datetime.now(UTC)) - DEFAULT_DAYS), "last_7_days")


# -- the technique filter of the views of new papers -------------------------------------------------
def technique_filter(args: Args | None = None) -> list[str]:
    """The views of new papers' technique ids (?technique=, repeatable or comma-separated), read and checked
    by the search filter's rules (api.params.list_arg, check_filter_ids: a technique or evaluation id,
    an unknown one a ParameterError with its "did you mean"); empty: every paper."""
    ids = list_arg("technique", args=args)
    check_filter_ids(get_taxonomy(), "technique", ids)
    return ids


def new_feed_id(technique_ids: Sequence[str] = ()) -> str:
    """The feed's atom:id: FEED_ID, or with technique ids FEED_ID:technique:<the ids, sorted, comma-joined>
    (the same feed however the URL orders or repeats them)."""
    if not technique_ids:
        return FEED_ID
    return f"{FEED_ID}:technique:" + ",".join(quote(t, safe="") for t in sorted(set(technique_ids)))


def new_feed_title(technique_ids: Sequence[str] = (), labels: Labels | None = None) -> str:
    """The feed's title: FEED_TITLE, or with technique ids "paperkg: new papers using <name>" (several:
    "A, B or C", as the filter takes any of them)."""
    if not technique_ids:
        return FEED_TITLE
    return f"{FEED_TITLE} using {techniques_in_words(technique_ids, labels)}"


def techniques_in_words(technique_ids: Sequence[str], labels: Labels | None = None) -> str:
    """Technique ids as their names say them, as the filter takes them (any): "A", "A or B", "A, B or C"."""
    names = [labels.name(t) if labels is not None else t for t in technique_ids]
    return names[0] if len(names) <= 1 else ", ".join(names[:-1]) + " or " + names[-1]


# -- the author filter of the feed ------------------------------------------------------------------
def author_filter(store: GraphStore, since: str, limit: int, offset: int = 0,
                  args: Args | None = None) -> AuthorPage | None:
    """The author filter of the feed and GET /api/new (?author=, an author key or a name as written:
    kg.validation.author_key): a page of their papers first seen at or after `since`, newest stored first
    as without it (by date, a paper stored today with an old date would fall past `limit`); None without
    the parameter. A key no paper has is a ParameterError (a 400), as an unknown technique id is; so is
    `technique` given too."""
    given = str_arg("author", args=args)
    if given is None:
        return None
    key = author_key(given)
    if list_arg("technique", args=args):
        raise ParameterError("author", "cannot be combined with technique: ask for each on its own")
    found = (store.author_papers(key, limit=limit, offset=offset, since=since, coauthors=0,
                                 order="first_seen") if key else None)
    if found is None:
        raise ParameterError("author", f"no paper has the author {given[:80]!r} (the key of an author page: "
                                       "/authors/<key>)")
    return found


def author_feed_id(key: str) -> str:
    """An author's feed's atom:id: FEED_ID:author:<the key, percent-encoded>."""
    return f"{FEED_ID}:author:{quote(key, safe='')}"


def author_feed_title(name: str) -> str:
    """An author's feed's title: "paperkg: new papers by <name>"."""
    return f"{FEED_TITLE} by {display_text(name)}"


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
    """An IRI for a paper's entry: its arXiv abs page, else a paperkg URN of its id."""
    # It changes once when a list-only paper gets its arXiv id (feed readers then show it again). Taking
    # the URN of a former id instead also flipped papers always stored under their arXiv id, as soon as a
    # records file gave them an `id` of its own; a permanent id needs the store to keep the first one.
    if paper.arxiv_id:
        return arxiv_abs_url(paper.arxiv_id)
    return _paper_urn(paper.id)


def _paper_urn(paper_id: str) -> str:
    return f"urn:paperkg:paper:{quote(paper_id, safe='')}"


def entry_title(paper: Paper) -> str:
    """An entry's title: the paper's as text (arXiv's TeX read as the characters it stands for, as the
    web pages show it), marked when the paper is withdrawn; its id when it has none."""
    prefix = WITHDRAWN_TITLE_PREFIX if is_withdrawn(paper.abstract) else ""
    return prefix + (display_text(paper.title) if paper.title else paper.id)


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
               page_url: Callable[[str], str] | None = None,
               techniques: Mapping[str, Sequence[tuple[str, str]]] | None = None,
               feed_id: str = FEED_ID, title: str = FEED_TITLE) -> bytes:
    """Serialise papers as an Atom 1.0 feed document (UTF-8 bytes); `page_url(paper id)` is a paper's
    page on this site: the `related` link of each entry (its `alternate`, when the paper has no usable URL
    of its own); `techniques` each paper's techniques as (taxonomy id, name), written as categories;
    `feed_id` and `title` the feed's (a filtered feed's own: see new_feed_id and new_feed_title)."""

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        el = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attrs)
        if text is not None:
            el.text = _clean(text)
        return el

    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    sub(feed, "id", feed_id)
    sub(feed, "title", title)
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
        sub(entry, "title", entry_title(paper))
        sub(entry, "updated", entry_updated(paper))
        if paper.published:
            sub(entry, "published", _timestamp(paper.published))
        for name in paper.authors or []:
            sub(sub(entry, "author"), "name", display_text(name))
        if not paper.authors:
            sub(sub(entry, "author"), "name", "unknown")
        link = entry_link(paper, page_url)
        if link:
            sub(entry, "link", rel="alternate", href=_clean(iri_safe(link)))
        # The paper's page here (its techniques, findings, related papers) as `related` (RFC 4287 4.2.7.2):
        # the alternate stays the paper itself, what readers open; two alternates of one type are invalid,
        # and `via` would name the page the entry's text came from, which is arXiv's or the list's.
        own = page_url(paper.id) if page_url is not None else None
        if own and own != link:
            sub(entry, "link", rel="related", href=_clean(iri_safe(own)), type="text/html")
        if paper.abstract:
            sub(entry, "summary", display_text(paper.abstract), type="text")
        if withdrawn:
            sub(entry, "category", **WITHDRAWN_CATEGORY)
        for category in paper.categories or []:
            sub(entry, "category", term=_clean(category))
        for technique_id, name in (techniques or {}).get(paper.id, ()):
            sub(entry, "category", term=_clean(technique_id), scheme=TECHNIQUE_SCHEME, label=_clean(name))
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


@bp.get("/feeds/new.atom")
def new_atom() -> Response | BaseResponse:
    """The newest papers (by first seen), optionally since a date and only those using one of the technique
    ids (refinements included), as Atom 1.0; conditional on its ETag (a 304 with no body when the reader's
    copy is current). A technique given by a name, an alias or another spelling of one node's id (an id the
    taxonomy renamed, kept as an alias) is a 301 to the feed with that id, as the New page answers."""
    # Before any other check, exactly when the New page redirects: a reader follows a 301 and keeps its
    # subscription when the taxonomy renames an id, where a 400 silently ends it.
    respelt = respelt_filter(get_taxonomy(), "technique")
    if respelt is not None:
        return redirect(with_query_replacing("feeds.new_atom", "technique", respelt), code=301)
    since = since_arg("since", default="1970-01-01")
    limit = int_arg("limit", FEED_LIMIT_DEFAULT, 1, 100)
    technique_ids = technique_filter()
    store = get_store()
    by_author = author_filter(store, since, limit)
    papers = by_author.papers if by_author else store.new_papers(since, limit, technique_ids=technique_ids)
    from api.json_api import new_paper_dicts  # GET /api/new's techniques of each paper, read the same way

    techniques = {d["id"]: [(t["id"], t["label"]) for t in d["techniques"]]
                  for d in new_paper_dicts(store, papers)}
    has_web = "web.home" in current_app.view_functions
    site_url = request.host_url
    if has_web:  # the page showing what the feed holds: the New page, from the feed's date, so filtered
        given_since = request.args.get("since")
        site_url = url_for("web.new", since=given_since, technique=technique_ids or None, _external=True)
        if by_author:  # the author's own page: the New page has no author filter
            site_url = url_for("web.author", key=by_author.key, _external=True)

    def page_url(paper_id: str) -> str:
        """The paper's page on this site, absolute (feed readers resolve nothing)."""
        return url_for("web.paper", paper_id=paper_id, _external=True)

    body = build_feed(papers, self_url=request.url, site_url=site_url, page_url=page_url if has_web else None,
                      techniques=techniques,
                      feed_id=author_feed_id(by_author.key) if by_author else new_feed_id(technique_ids),
                      title=(author_feed_title(by_author.names[0]) if by_author
                             else new_feed_title(technique_ids, Labels(get_taxonomy().nodes))))
    response = Response(body, mimetype="application/atom+xml")
    # A strong ETag of the body: it changes exactly when the feed does (an ingest, a removed paper, another
    # Host). No Last-Modified: the feed's updated does not move when a paper is removed or rewritten
    # without a newer date, so a reader sending only If-Modified-Since would keep a stale copy.
    response.add_etag()
    response.headers["Cache-Control"] = FEED_CACHE_CONTROL
    # make_conditional updates the response in place (and returns it, typed as werkzeug's base class).
    response.make_conditional(request)
    return response
