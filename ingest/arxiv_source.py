"""arXiv metadata through the `arxiv` package: ids in batches, title look-up, date-window search.

`arxiv.Client` builds the request URLs (its `query_url_format` is pointed at PAPERKG_ARXIV_URL) and
owns the HTTP session; `arxiv`'s own lxml Atom parser turns pages into `arxiv.Result`s. The fetch
loop is ours, because `Client.results` (4.0.2) sets no timeout, retries every non-200 at once
without backoff, does not retry read timeouts and returns nothing on an empty or malformed first
page. Here: a timeout on every request (one deadline for the whole request, body included: requests'
own timeout bounds each socket read only), a body size cap (MAX_BODY_BYTES), redirects followed on the
same host only, at least `delay` seconds between requests, exponential
backoff on 5xx / 429 / timeouts / malformed XML / a suspicious empty page (a 5xx or 429 carrying
Retry-After waits at least what it asks, up to RETRY_AFTER_MAX), API error feeds turned
into a clear ArxivError. A suspicious empty page is one without entries before the end of the results:
its own totalResults, or the totalResults an earlier page of the same search gave, is past its start
(arXiv's known flaky empty page mid-pagination: a later page saying totalResults 0 does not end a search
its first page said was longer), unless the page before was short or its own totalResults (not 0) ends
where the walk is (_ends_here). A first page whose totalResults is 0 is a real answer, that nothing
matched: accepted at once, as `arxiv` accepts it. Invalid UTF-8 bytes in a page are read as U+FFFD, with
a warning, not a malformed page (_valid_utf8).
Errors and warnings name the request (query part, page, start), not its URL: a weekly query URL is over
a thousand characters; the URL is logged at DEBUG level.

Entry dates follow the records file's rule (records_file.stored_date: read as the `arxiv` package reads
them, a year within YEAR_MIN..YEAR_MAX): `arxiv`'s parser raises on a date it cannot read, which stopped
the whole ingest over one entry. Before it parses a page, an entry whose <published> cannot be used is
dropped with a warning naming its arXiv id (it has no submission date to file it under); one whose
<updated> cannot be used keeps its <published> there (as for a paper never revised), with a warning.
The source keeps the ids of the entries it dropped (`skipped`), so callers report them as skipped, not
as missing from arXiv.

arXiv's clock: the source keeps the latest `Date` header of arXiv's 200 answers (`server_time`), a
time that does not come from this machine's clock (the weekly ingest checks its window end against it).
"""

from __future__ import annotations

import logging
import re
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import arxiv
import requests
import urllib3
from arxiv import _feed
from lxml import etree

from ingest.normalize import arxiv_version, doi_from_text, split_venue_tag, strip_arxiv_version, title_key
from ingest.records import ListRowRecord, Record
from ingest.records_file import UnreadableDate, parse_iso_time, stored_date
from ingest.titles import TITLE_MATCH, same_paper_title, title_score
from kg.config import Config, load_config, without_password
from kg.safe_output import is_terminal
from kg.store import arxiv_order
from kg.withdrawn import abstract_with_withdrawal, is_withdrawn

log = logging.getLogger(__name__)

PAGE_SIZE = 100
MAX_UPDATE_PAGES = 10  # 1,000 most recently updated matches a week: far more than MI gets
_ATOM = "{http://www.w3.org/2005/Atom}"
_ERROR_PREFIX = "https://arxiv.org/api/errors"
_USER_AGENT = "paperkg (+https://github.com/; arxiv.py " + getattr(arxiv, "__version__", "?") + ")"
# The longest pause a Retry-After header gets (seconds). arXiv asks for seconds to a few minutes; an
# ingest holds the store lock for its whole run, so obeying an hours-long value (a misconfigured proxy,
# or an HTTP-date a wrong clock puts far ahead) would stall it, and every ingest waiting for the lock,
# that long. With the default 4 retries a request waits at most 20 minutes, then fails with arXiv's error.
RETRY_AFTER_MAX = 300.0
# The largest answer body read (bytes, after gzip): a page of 2,000 entries (arXiv's largest) is a few
# MB. A larger body is refused, not retried: it would be read again in full on every retry.
MAX_BODY_BYTES = 20 * 1024 * 1024
_READ_CHUNK = 64 * 1024
_REDIRECTS = 5  # same-host redirects followed (http -> https, a moved path); another host's are refused
# The most results one query's window is walked for: arXiv's user manual caps one query at 30,000
# results. A window past it cannot be fetched whole, and a totalResults past it is more likely a wrong
# answer; either way the run fails (watermark kept) instead of silently losing the rest (see search).
MAX_SEARCH_RESULTS = 30_000


class ArxivError(RuntimeError):
    """The arXiv API could not answer (after retries) or answered with an error."""


class _Retryable(Exception):
    def __init__(self, message: str, *, retry_after: str | None = None, sent: datetime | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after  # the answer's Retry-After header, as sent
        # The answer's own Date: an HTTP-date Retry-After is counted from it, not from this machine's clock
        # (a fast clock found arXiv's date already past and waited the backoff only: review).
        self.sent = sent


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """The pause a Retry-After header asks for, in seconds (RFC 9110: delay-seconds or an HTTP-date, a
    date already past being 0); None for no header or an unreadable or negative value."""
    text = (value or "").strip()
    if re.fullmatch(r"[0-9]+", text):
        return float(text)
    when = http_date(text)  # "-5", "1.5" and "soon" are not dates either
    if when is None:
        return None
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def http_date(value: str | None) -> datetime | None:
    """An HTTP-date header value (Date, Retry-After) as an aware UTC datetime; None for none or an
    unreadable one."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # the asctime form has no zone: HTTP dates are in GMT
        return when.replace(tzinfo=UTC)
    try:
        return when.astimezone(UTC)
    except OverflowError:
        return None


@dataclass
class Page(_feed.ParsedFeed):
    """A parsed page, and the arXiv ids (without version) of its entries dropped for an unusable date
    (the next page starts after them)."""

    dropped: list[str] = field(default_factory=list)


_WITH_URL = re.compile(r"(with url: )(\S+)")
_USERINFO = re.compile(r"(?<=://)[^/?#@]*@")


def endpoint(url: str) -> str:
    """A request URL as errors show it: the endpoint (PAPERKG_ARXIV_URL, any user:password@ dropped), its
    query as `<query>`."""
    base, query, _rest = url.partition("?")
    return _USERINFO.sub("", base) + ("?<query>" if query else "")


def _without_url(text: str, url: str) -> str:
    """An error text with the request URL's query replaced by `<query>` (requests and urllib3 quote the URL
    in full, or its path and query): a weekly query is over a thousand characters (see the module
    docstring). The endpoint stays, so the operator sees which server failed."""
    path = urlsplit(url)
    for form in (url, f"{path.path}?{path.query}"):
        text = text.replace(form, endpoint(form))
    return _WITH_URL.sub(lambda m: m.group(1) + endpoint(m.group(2)), text)


def describe(search: arxiv.Search, label: str | None = None) -> str:
    """A short name for a request: the caller's label, the number of ids, or the query's start."""
    if label:
        return label
    if len(search.id_list) == 1:
        return f"id {search.id_list[0]}"
    if search.id_list:
        return f"{len(search.id_list)} ids from {search.id_list[0]}"
    query = " ".join((search.query or "").split())
    return f"query {query[:60]!r}" + ("..." if len(query) > 60 else "")


def _iso_date(value: datetime | None) -> str | None:
    """The stored date of an entry's date (the records file's rule); None for none or an unusable one
    (fetch_page already dropped those, with a warning)."""
    if value is None:
        return None
    try:
        return stored_date(value if value.tzinfo else value.replace(tzinfo=UTC), "date")
    except ValueError:
        return None


def _date_problem(text: str | None, tag: str) -> str | None:
    """Why an entry's <published> or <updated> text cannot be used, or None when it can: read as the
    `arxiv` package reads it (a time without an offset is UTC), then by the records file's rule."""
    if text is None or not text.strip():
        return f"'{tag}' is missing"
    try:
        parse_iso_time(text, tag)
    except UnreadableDate as exc:  # "day is out of range for month", "Invalid isoformat string: ..."
        return f"'{tag}' {text.strip()[:40]!r} is an unreadable date ({exc})"
    except ValueError as exc:  # "'published' 2150-02-23 is outside the years 1900..2100"
        return str(exc)
    return None


def _drop_bad_dates(root: Any, where: str) -> list[str]:
    """Entries of a parsed page whose dates `arxiv` cannot read or the records file's rule refuses, made
    safe to parse (see the module docstring); returns the arXiv ids (without version) of those dropped."""
    dropped: list[str] = []
    for entry in list(root.iterfind(f"{_ATOM}entry")):
        entry_id = (entry.findtext(f"{_ATOM}id") or "").strip()
        name = entry_id.rsplit("/abs/", 1)[-1] or "without an id"
        published = entry.find(f"{_ATOM}published")
        updated = entry.find(f"{_ATOM}updated")
        bad = _date_problem(None if published is None else published.text, "published")
        if bad is not None:
            log.warning("arXiv entry %s (%s): %s: entry skipped", name, where, bad)
            entry.getparent().remove(entry)
            dropped.append(strip_arxiv_version(name) or name)
            continue
        bad = _date_problem(None if updated is None else updated.text, "updated")
        if bad is not None:
            log.warning("arXiv entry %s (%s): %s: its 'published' date stands in for it", name, where, bad)
            if updated is None:
                updated = etree.SubElement(entry, f"{_ATOM}updated")
            updated.text = published.text  # published is not None: checked above
    return dropped


_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?\bencoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


def _valid_utf8(content: bytes, where: str) -> bytes:
    """A UTF-8 page with its invalid bytes replaced by U+FFFD, with a warning naming the page: the XML
    parser refuses the whole page over one bad byte, and the retries get the same bytes, so one entry
    failed every weekly run for good. A page declaring another encoding is left to the parser."""
    try:
        content.decode("utf-8")
    except UnicodeDecodeError as exc:
        declared = _XML_ENCODING.match(content[:200])
        encoding = declared.group(1).lower().replace(b"_", b"-") if declared else b"utf-8"
        if content.startswith((b"\xff\xfe", b"\xfe\xff")) or encoding not in (b"utf-8", b"utf8"):
            return content  # UTF-16 (a byte-order mark) or a declared encoding: the parser's to read
        text = content.decode("utf-8", "replace")
        log.warning("arXiv answer (%s) is not valid UTF-8 (first bad byte at offset %d): %d invalid "
                    "sequence(s) read as U+FFFD", where, exc.start, text.count("\ufffd") -
                    content.decode("utf-8", "ignore").count("\ufffd"))
        return text.encode("utf-8")
    return content


def _ends_here(said: int, start: int, after_short: bool) -> bool:
    """Whether an empty page at `start` is the end of the results though a totalResults says more.

    arXiv's known flaky page mid-pagination is empty, and may say totalResults 0: that is retried
    (fetch_page). But a totalResults can overstate (260 for 250 entries) or shrink between pages (257,
    then 250), and an empty page at the real end then failed every run. Once its retries have run out
    (fetch_page), the end is accepted when this page's own totalResults is not 0 (the flaky page's 0
    says nothing of the end, even right after a short page, itself a flake's symptom) and either the
    page before was short (entries, fewer than asked: the set visibly ran out, and this empty page
    agrees) or that totalResults says the set ends at or before `start`.
    """
    return said > 0 and (after_short or said <= start)


def record_from_result(result: arxiv.Result) -> Record:
    """An `arxiv.Result` as a Record (source "arxiv", id without version; a comment saying the paper is
    withdrawn opens the abstract, see kg.withdrawn)."""
    short = result.get_short_id()
    arxiv_id = strip_arxiv_version(short) or short
    published = _iso_date(result.published)
    return Record(
        source="arxiv",
        source_id=short,
        title=" ".join((result.title or "").split()),
        authors=[a.name for a in result.authors if a.name],
        # A withdrawal arXiv states only in the comment is stored as the abstract's first sentence, so
        # every output reads it from the abstract (kg.withdrawn).
        abstract=abstract_with_withdrawal(" ".join((result.summary or "").split()) or None, result.comment),
        arxiv_id=arxiv_id,
        doi=doi_from_text(result.doi) if result.doi else None,
        published=published,
        updated=_iso_date(result.updated),
        year=int(published[:4]) if published else None,
        venue=" ".join(result.journal_ref.split()) if result.journal_ref else None,
        primary_category=result.primary_category or None,
        categories=list(result.categories),
        url=f"https://arxiv.org/abs/{arxiv_id}",
        pdf_url=result.pdf_url,
        urls=[f"https://arxiv.org/abs/{arxiv_id}"],
        version=arxiv_version(short),
    )


def _row_lines(row: ListRowRecord) -> list[int]:
    line = row.source_line or row.line  # the line of the file this ingest read (list or records file)
    return [line] if line is not None else []


def _lines(record: Record) -> list[int]:
    """The lines a record's rows come from."""
    return sorted({n for row in record.list_rows for n in _row_lines(row)})


def _where(lines: list[int]) -> str:
    if not lines:
        return "line ?"
    return ("line " if len(lines) == 1 else "lines ") + ", ".join(str(n) for n in lines)


def report_lines(report: dict[str, Any]) -> list[str]:
    """`resolve`'s report as text: a summary line, then one line per id not found, id whose arXiv entry
    was skipped for an unusable date, or title mismatch."""
    missing, mismatched = report.get("ids_not_found", []), report.get("title_mismatch", [])
    unusable = report.get("unusable_date", [])
    summary = (f"arXiv: {report['by_id']} by id, {len(report['by_title'])} by title, "
               f"{len(report['no_match'])} without an arXiv match")
    if missing:
        summary += f", {len(missing)} {'id' if len(missing) == 1 else 'ids'} not found on arXiv"
    if unusable:
        summary += f", {len(unusable)} {'id' if len(unusable) == 1 else 'ids'} skipped (unusable arXiv date)"
    if mismatched:
        summary += f", {len(mismatched)} title {'mismatch' if len(mismatched) == 1 else 'mismatches'}"
    out = [summary]
    out += [f"arXiv id not found, {_where(m['lines'])}: {m['arxiv_id']} ('{m['title']}')" for m in missing]
    out += [f"arXiv id skipped (unusable arXiv date), {_where(m['lines'])}: {m['arxiv_id']} ('{m['title']}')"
            for m in unusable]
    # What the run does with the row (ingest.list_match.resolve_stored_ids): it goes by its title, so it
    # stays on the id's paper when that paper was listed under the title before (arXiv renamed it).
    out += [f"title mismatch, {_where(m['lines'])}: the list says '{m['title']}', arXiv {m['arxiv_id']} is "
            f"'{m['arxiv_title']}' (matched by the list's title, not that link: it stays on {m['arxiv_id']} "
            "if listed under that title before, else is stored without that arXiv id)" for m in mismatched]
    return out


def _stamp(value: date | datetime) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y%m%d%H%M") if value.tzinfo else value.strftime("%Y%m%d%H%M")
    return value.strftime("%Y%m%d") + "0000"


class ArxivSource:
    """The arXiv API with rate limiting, timeouts, retries with backoff, and feed validation."""

    def __init__(
        self, config: Config | None = None, *, url: str | None = None, delay: float | None = None,
        timeout: float | None = None, retries: int | None = None, page_size: int = PAGE_SIZE,
        backoff: float | None = None,
    ) -> None:
        config = config or load_config()
        self.url = url or config.arxiv_url
        self.delay = config.arxiv_delay if delay is None else delay
        self.timeout = config.arxiv_timeout if timeout is None else timeout
        self.retries = config.arxiv_retries if retries is None else retries
        self.page_size = page_size
        # First retry waits `backoff` seconds, then doubles (at least the rate-limit delay).
        self.backoff = max(self.delay, 0.01) if backoff is None else backoff
        self.client = arxiv.Client(page_size=page_size, delay_seconds=self.delay, num_retries=0)
        self.client.query_url_format = self.url + "?{}"
        self.session: requests.Session = self.client._session
        self._last_request: float | None = None
        self.request_count = 0
        # arXiv's clock: the latest Date header of its 200 answers (None: none yet, or none readable).
        self.server_time: datetime | None = None
        # The arXiv ids of the entries its pages dropped for an unusable date, in order (see fetch_page).
        self.skipped: list[str] = []

    # -- HTTP ------------------------------------------------------------------------------
    def _pause(self, attempt: int, retry_after: str | None = None, sent: datetime | None = None
               ) -> tuple[float, str]:
        """The pause before retry `attempt + 1` and what set it, for the warning: the backoff, or a longer
        Retry-After (an HTTP-date counted from the answer's Date `sent` when it has one; capped at
        RETRY_AFTER_MAX; an unreadable one is ignored and said so)."""
        pause = self.backoff * (2 ** attempt)
        if retry_after is None:
            return pause, ""
        asked, shown = retry_after_seconds(retry_after, now=sent), repr(retry_after.strip()[:40])
        if asked is None:
            return pause, f" (Retry-After {shown} ignored: not seconds or an HTTP-date)"
        if min(asked, RETRY_AFTER_MAX) <= pause:
            return pause, ""
        if asked > RETRY_AFTER_MAX:
            return RETRY_AFTER_MAX, f" (Retry-After {shown} capped at {RETRY_AFTER_MAX:g} s)"
        return asked, " (Retry-After)"

    def _wait_turn(self) -> None:
        if self._last_request is not None:
            remaining = self.delay - (time.monotonic() - self._last_request)
            if remaining > 0:
                time.sleep(remaining)

    def _page_url(self, search: arxiv.Search, start: int, size: int) -> str:
        return self.client._format_url(search, start, size)

    def _get(self, url: str) -> bytes:
        """The body of arXiv's 200 answer to `url`, the whole request (redirects and body included)
        within `timeout` seconds."""
        self._wait_turn()
        try:
            response, content = self._request(url, time.monotonic() + self.timeout)
        except (requests.Timeout, urllib3.exceptions.TimeoutError) as exc:
            raise _Retryable(f"timed out after {self.timeout:g} s") from exc
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError,
                requests.exceptions.ContentDecodingError, urllib3.exceptions.ProtocolError,
                urllib3.exceptions.DecodeError, urllib3.exceptions.SSLError) as exc:
            # ChunkedEncodingError: the connection dropped mid-body (not a ConnectionError subclass); the
            # urllib3 errors are the same failures met reading the body ourselves (_read_body).
            raise _Retryable(f"connection failed: {_without_url(str(exc), url)}") from exc
        except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
            # A bad URL and the like: retrying cannot help.
            raise ArxivError(f"arXiv request to {endpoint(self.url)} failed: {_without_url(str(exc), url)}"
                             ) from exc
        finally:
            self._last_request = time.monotonic()
            self.request_count += 1
        status = response.status_code
        if status in (200, 400):
            # arXiv reports a bad query as HTTP 400 with an error feed: surface its message.
            self._raise_api_error(content, status)
        sent = http_date(response.headers.get("Date"))  # arXiv's clock (server_time, Retry-After dates)
        if status == 200 and sent is not None and (self.server_time is None or sent > self.server_time):
            self.server_time = sent
        if status == 429 or status >= 500:
            raise _Retryable(f"HTTP {status}", retry_after=response.headers.get("Retry-After"), sent=sent)
        if status != 200:
            # Named: a 404 is as a rule a wrong PAPERKG_ARXIV_URL, and says which server answered it.
            raise ArxivError(f"arXiv API at {endpoint(self.url)} answered HTTP {status}")
        return content

    def _request(self, url: str, deadline: float) -> tuple[requests.Response, bytes]:
        """The answer to a GET of `url` and its body, read by `deadline` (time.monotonic()). Redirects
        are followed on arXiv's host only: requests would follow one to any host, silently sending the
        run's queries there and storing what it answers."""
        host = urlsplit(url).hostname
        for _ in range(_REDIRECTS + 1):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _Retryable(f"timed out after {self.timeout:g} s")
            # stream=True: `timeout` bounds each socket read, not the request, so the body is read here
            # against the deadline (a server sending a few bytes a second held a run for good).
            response = self.session.get(url, timeout=min(self.timeout, remaining), stream=True,
                                        allow_redirects=False, headers={"user-agent": _USER_AGENT})
            try:
                if not response.is_redirect:
                    return response, self._read_body(response, deadline)
                target = urljoin(url, response.headers["location"])
            finally:
                response.close()  # a body left half-read must not go back to the connection pool
            if urlsplit(target).hostname != host:
                raise ArxivError(f"arXiv API at {endpoint(self.url)} redirected to another host "
                                 f"({endpoint(target)}): not followed (if arXiv moved, set PAPERKG_ARXIV_URL "
                                 "to its new address)")
            log.debug("arXiv request redirected to %s", target)
            url = target
        raise ArxivError(f"arXiv API at {endpoint(self.url)} redirected more than {_REDIRECTS} times")

    def _read_body(self, response: requests.Response, deadline: float) -> bytes:
        """An answer's body (gzip decoded), read by `deadline`; ArxivError past MAX_BODY_BYTES."""
        too_big = (f"arXiv answer over {MAX_BODY_BYTES:,} bytes (a page of arXiv's is a few MB): "
                   "refused, not retried")
        length = response.headers.get("Content-Length", "").strip()
        if length.isdigit() and int(length) > MAX_BODY_BYTES:
            raise ArxivError(too_big)
        parts: list[bytes] = []
        size = 0
        while True:
            if time.monotonic() > deadline:
                raise _Retryable(f"timed out after {self.timeout:g} s")
            # read1: what one socket read brings, so a trickle reaches the deadline check above (read(n)
            # would wait for all n bytes).
            chunk = response.raw.read1(_READ_CHUNK, decode_content=True)
            if not chunk:
                return b"".join(parts)
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise ArxivError(too_big)
            parts.append(chunk)

    @staticmethod
    def _raise_api_error(content: bytes, status: int) -> None:
        try:
            root = etree.fromstring(content, etree.XMLParser(resolve_entities=False, no_network=True))
        except etree.XMLSyntaxError:
            if status == 400:
                raise ArxivError("arXiv API answered HTTP 400 (bad request)") from None
            return
        for entry in root.iter(f"{_ATOM}entry"):
            entry_id = (entry.findtext(f"{_ATOM}id") or "").strip()
            title = (entry.findtext(f"{_ATOM}title") or "").strip()
            if entry_id.startswith(_ERROR_PREFIX) or title == "Error":
                summary = " ".join((entry.findtext(f"{_ATOM}summary") or "unknown error").split())
                raise ArxivError(f"arXiv API error: {summary}")
        if status == 400:
            raise ArxivError("arXiv API answered HTTP 400 (bad request)")

    @staticmethod
    def _validate(content: bytes, where: str = "arXiv request") -> Page:
        # arxiv's parser runs lxml with recover=True, so a truncated page would pass as a short
        # one: check well-formedness strictly first.
        content = _valid_utf8(content, where)
        try:
            root = etree.fromstring(content, etree.XMLParser(resolve_entities=False, no_network=True))
        except etree.XMLSyntaxError as exc:
            raise _Retryable(f"malformed XML ({exc})") from exc
        if root.tag != f"{_ATOM}feed":
            raise _Retryable(f"not an Atom feed (root element {root.tag!r})")
        if root.find("{http://a9.com/-/spec/opensearch/1.1/}totalResults") is None:
            raise _Retryable("feed without opensearch:totalResults")
        dropped = _drop_bad_dates(root, where)
        try:
            feed = _feed.parse(etree.tostring(root))
        except (ValueError, OverflowError) as exc:  # a date _date_problem let through: not retried
            # fetch_page adds `where` (the request: query part or id batch, page, start).
            raise ArxivError(f"arXiv feed has an unreadable date ({exc}); no paper of this page was "
                             "used") from exc
        if feed.malformed:
            raise _Retryable(f"malformed feed ({feed.error})")
        return Page(feed.header, feed.results, feed.malformed, feed.error, dropped=dropped)

    def fetch_page(self, search: arxiv.Search, start: int, size: int, *, label: str | None = None,
                   expected: int = 0, after_short: bool = False) -> Page:
        """One validated page, retried with exponential backoff; ArxivError when retries run out.

        A page without entries is retried when results should be there: its totalResults, or `expected`
        (the totalResults earlier pages of the same search gave), is past `start`. A first page saying
        totalResults 0 is arXiv's answer that nothing matched, not retried. An empty page still empty when
        the retries have run out is the end, with a warning, though a total says more: after a short page
        (`after_short`: the previous page of the search had entries, fewer than asked), or when its own
        totalResults (not 0) says the results end at or before `start` (see _ends_here).

        A retried 5xx or 429 answer carrying Retry-After waits the longer of the backoff and what it asks
        (at most RETRY_AFTER_MAX seconds); the warning then ends "(Retry-After)".

        `label` names the request in warnings and errors (e.g. "query 2/4"); the URL goes to DEBUG only.
        Entries with an unusable date are dropped with a warning (`dropped` names them, also added to
        `skipped`; paging counts them).
        """
        url = self._page_url(search, start, size)
        where = f"{describe(search, label)}, page {start // max(size, 1) + 1} (start={start})"
        log.debug("arXiv request %s: %s", where, without_password(url))  # -v logs go to files
        last = ""
        for attempt in range(self.retries + 1):
            try:
                feed = self._validate(self._get(url), where)
                total = max(feed.header.total_results, expected)
                if not feed.results and not feed.dropped and total > start:
                    said = feed.header.total_results
                    # Retried first, whatever the signs of an end: arXiv's flaky empty page comes after a
                    # short page too, and taking it for the end moved the watermark past the rest (re-test).
                    if attempt == self.retries and _ends_here(said, start, after_short):
                        log.warning("arXiv results end at %d although totalResults said %d (%s): taken as "
                                    "the end (%s)", start, total, where, "the page before was short"
                                    if after_short else f"this page says totalResults={said}")
                        return feed
                    raise _Retryable(f"empty page although totalResults={total}" if said == total else
                                     f"empty page saying totalResults={said} although earlier pages "
                                     f"said {total}")
                self.skipped += feed.dropped
                return feed
            except _Retryable as exc:
                last = str(exc)
                if attempt < self.retries:
                    pause, why = self._pause(attempt, exc.retry_after, exc.sent)
                    log.warning("arXiv request failed (%s: %s); retry %d/%d in %.2f s%s",
                                where, last, attempt + 1, self.retries, pause, why)
                    time.sleep(pause)
            except ArxivError as exc:
                raise ArxivError(f"{exc} ({where})") from exc
        tries = "1 attempt" if self.retries == 0 else f"{self.retries + 1} attempts"
        raise ArxivError(f"arXiv API at {endpoint(self.url)} failed after {tries}: {last} ({where})")

    # -- operations ------------------------------------------------------------------------
    def fetch_by_ids(self, ids: Iterable[str]) -> list[Record]:
        """Metadata of arXiv ids (any form; versions dropped), in batches of the page size."""
        wanted = list(dict.fromkeys(i for i in (strip_arxiv_version(x) for x in ids) if i))
        out: dict[str, Record] = {}
        for start in range(0, len(wanted), self.page_size):
            batch = wanted[start:start + self.page_size]
            search = arxiv.Search(id_list=batch, max_results=len(batch))
            feed = self.fetch_page(search, 0, len(batch))
            if not feed.results and not feed.dropped:
                # arXiv sometimes answers a valid request with totalResults 0 (as the weekly ingest sees
                # for query parts): a whole batch missing is likelier that than every id wrong, so it is
                # asked once more after the backoff before its ids are reported not found.
                found = (f"did not find {batch[0]}" if len(batch) == 1 else
                         f"found none of {len(batch)} ids from {batch[0]}")
                log.info("arXiv %s: asking once more in %.2f s", found, self.backoff)
                time.sleep(self.backoff)
                feed = self.fetch_page(search, 0, len(batch))
            for result in feed.results:
                record = record_from_result(result)
                if record.arxiv_id in batch:
                    out[record.arxiv_id] = record
        return [out[i] for i in wanted if i in out]

    def find_by_title(self, title: str) -> Record | None:
        """The arXiv paper with this title, only on a confident normalised-title match."""
        key = title_key(title)
        if len(key) < 8:
            return None
        search = arxiv.Search(query=f'ti:"{key}"', max_results=10)
        feed = self.fetch_page(search, 0, 10, label=f"title look-up {key[:60]!r}")
        scored = [(title_score(record.title_key, key), record)
                  for record in (record_from_result(result) for result in feed.results)]
        if not scored or (top := max(score for score, _ in scored)) < TITLE_MATCH:
            return None
        # Papers sharing the title (a re-post, a withdrawn copy): the one stored papers of that title are
        # matched to (kg.title_matches.preferred_title_matches), not arXiv's answer order, or runs with and
        # without arXiv moved the row back and forth.
        best = [record for score, record in scored if score == top]
        return min(best, key=lambda r: (is_withdrawn(r.abstract), arxiv_order(r.arxiv_id) or (9999, 0, 0)))

    def search(self, query: str, *, start_date: date | datetime, end_date: date | datetime,
               label: str | None = None) -> Iterator[Record]:
        """Papers matching `query` submitted in [start_date, end_date], newest first, all pages.

        ArxivError, not a silently shortened window, when the answer cannot be walked to its end: a
        totalResults past MAX_SEARCH_RESULTS, a page whose entries were all on earlier pages (a server
        repeating itself while its totalResults runs on), or more than twice the pages the total needs
        (pages of a few entries). The walk holds the store lock at arXiv's rate (3 s a page), so an
        unbounded one held it for hours; failing keeps the weekly watermark, so the window is asked again.
        """
        full = f"({query}) AND submittedDate:[{_stamp(start_date)} TO {_stamp(end_date)}]"
        search = arxiv.Search(query=full, max_results=None, sort_by=arxiv.SortCriterion.SubmittedDate,
                              sort_order=arxiv.SortOrder.Descending)
        seen: set[tuple[str, int | None]] = set()
        window_start = _stamp(start_date)
        start, total, short, pages = 0, None, False, 0
        name = describe(search, label)
        while total is None or start < total:
            # Later pages are held to the first page's total: a flaky empty page there may say 0.
            feed = self.fetch_page(search, start, self.page_size, label=label, expected=total or 0,
                                   after_short=short)
            total = max(feed.header.total_results, total or 0)
            where = f"{name}, page {start // max(self.page_size, 1) + 1} (start={start})"
            if total > MAX_SEARCH_RESULTS:
                raise ArxivError(f"arXiv answered totalResults={total} ({where}), more than the "
                                 f"{MAX_SEARCH_RESULTS:,} results one query can be walked for: not walked, "
                                 "as it could not be fetched whole (ask for a shorter window)")
            if not feed.results and not feed.dropped:
                break
            pages += 1
            if pages > 2 * -(-total // max(self.page_size, 1)) + 2:
                raise ArxivError(f"arXiv's pages did not reach totalResults={total} in {pages} pages "
                                 f"({where}): stopped, the window not taken as complete")
            fresh = 0
            for result in feed.results:
                record = record_from_result(result)
                key = (record.arxiv_id or record.source_id, record.version)
                fresh += key not in seen
                # arXiv sometimes ignores the sort order, so an out-of-window entry does not mean
                # the rest are out too: skip it and keep paging to totalResults.
                if key in seen or (result.published and _stamp(result.published) < window_start):
                    seen.add(key)
                    continue
                seen.add(key)
                yield record
            if feed.results and not fresh:
                raise ArxivError(f"arXiv answered only entries of earlier pages ({where}) although "
                                 f"totalResults={total}: stopped, the window not taken as complete")
            short = len(feed.results) + len(feed.dropped) < self.page_size
            start += len(feed.results) + len(feed.dropped)

    def updated_since(self, query: str, since: date | datetime, *, max_pages: int = MAX_UPDATE_PAGES,
                      label: str | None = None) -> Iterator[Record]:
        """Papers matching `query` whose newest version dates from `since` on (new versions of old
        papers included), walking arXiv's lastUpdatedDate order back until a page is all older.

        arXiv's `lastUpdatedDate:[...]` range filters on the first submission, not the update, so
        it cannot find a v2 of an old paper; the sort order can. `max_pages` bounds the walk in case
        arXiv ignores the sort order.
        """
        search = arxiv.Search(query=query, max_results=None, sort_by=arxiv.SortCriterion.LastUpdatedDate,
                              sort_order=arxiv.SortOrder.Descending)
        low = (since.date() if isinstance(since, datetime) else since).isoformat()
        start, total, short = 0, None, False
        for _ in range(max_pages):
            if total is not None and start >= total:
                return
            feed = self.fetch_page(search, start, self.page_size, label=label, expected=total or 0,
                                   after_short=short)
            total = max(feed.header.total_results, total or 0)
            records = [record_from_result(r) for r in feed.results]
            recent = [r for r in records if (r.updated or r.published or "")[:10] >= low]
            yield from recent
            if not recent and (records or not feed.dropped):  # a page all dropped says nothing of age
                return
            short = len(records) + len(feed.dropped) < self.page_size
            start += len(records) + len(feed.dropped)
        log.warning("stopped walking updates of %s after %d pages",
                    label or describe(arxiv.Search(query=query)), max_pages)

    def resolve(self, records: Sequence[Record], *, progress: bool = False
                ) -> tuple[list[Record], dict[str, Any]]:
        """arXiv records for list records: ids in batches, then title look-ups for the others.

        An id from the list counts only for the rows whose title is arXiv's title for it
        (`same_paper_title`): a wrong link would otherwise give the row's paper another paper's identity.
        A record none of whose rows agree loses the id; rows that disagree while others agree (the
        parser merged them by the shared id) are split off into list records of their own, returned
        with the arXiv records. Either way they are looked up by title like papers without an arXiv
        link. A record matched by title gets the arXiv id set on it (so it merges with the arXiv record).
        One that is not keeps its rows' links: the run keeps it on the stored paper of the link's id when
        that paper was listed under its title before (arXiv renamed it; ingest.list_match).

        The report: `by_id` (ids confirmed), `by_title` and `no_match` (title look-ups),
        `ids_not_found`, `unusable_date` (ids arXiv answered with an entry dropped for an unusable date)
        and `title_mismatch` (each with its list lines, for the user to fix the list).
        """
        from tqdm import tqdm

        show = progress and is_terminal(sys.stderr)
        skipped_before = len(self.skipped)
        fetched = {f.arxiv_id: f for f in self.fetch_by_ids([r.arxiv_id for r in records if r.arxiv_id])}
        unusable = set(self.skipped[skipped_before:])
        report: dict[str, Any] = {"by_id": 0, "by_title": [], "no_match": [], "ids_not_found": [],
                                  "unusable_date": [], "title_mismatch": []}
        confirmed: set[str] = set()
        split_off: list[Record] = []
        for record in records:
            if not record.arxiv_id:
                continue
            match = fetched.get(record.arxiv_id)
            if match is None:  # not on arXiv, or its entry was dropped (with a warning): not found either way
                report["unusable_date" if record.arxiv_id in unusable else "ids_not_found"].append(
                    {"arxiv_id": record.arxiv_id, "title": record.title, "lines": _lines(record)})
                continue
            wrong = _rows_of_another_paper(record, match.title)
            wrong_rows = {id(row) for rows in wrong.values() for row in rows}
            agrees = not wrong or len(wrong_rows) < len(record.list_rows)
            if agrees:
                confirmed.add(record.arxiv_id)
            for title, rows in wrong.items():
                report["title_mismatch"].append({
                    "arxiv_id": record.arxiv_id, "title": title, "arxiv_title": match.title,
                    "lines": sorted({n for row in rows for n in _row_lines(row)})})
            if not wrong:
                continue
            if not agrees:
                record.arxiv_id = None  # the link names another paper: store the list's paper, not that one
                continue
            _keep_only(record, [row for row in record.list_rows if id(row) not in wrong_rows])
            split_off += [_list_record(rows) for rows in wrong.values()]
        for key in ("ids_not_found", "unusable_date", "title_mismatch"):  # in the list's order, as read
            report[key].sort(key=lambda entry: entry["lines"][:1])
        # Only confirmed ids: an arXiv record no list row agrees with would be stored as a paper of its own.
        found = [f for i, f in fetched.items() if i in confirmed]
        report["by_id"] = len(found)
        others = [r for r in [*records, *split_off] if not r.arxiv_id and r.item_type == "paper"]
        bar = tqdm(others, desc="arXiv title look-up", unit="paper", disable=not show, file=sys.stderr)
        for record in bar:
            match = self.find_by_title(record.title)
            if match is None:
                report["no_match"].append(record.title)
            else:
                report["by_title"].append({"title": record.title, "arxiv_id": match.arxiv_id})
                # The list record now carries the id, so it merges with the arXiv record.
                record.arxiv_id = match.arxiv_id
                found.append(match)
        return split_off + found, report


def _rows_of_another_paper(record: Record, arxiv_title: str) -> dict[str, list[ListRowRecord]]:
    """A record's list rows whose title is not `arxiv_title`, by their title (venue tag removed)
    ({its title: []} for a record without rows whose own title is not it)."""
    if not record.list_rows:
        return {} if same_paper_title(record.title, arxiv_title) else {record.title: []}
    wrong: dict[str, list[ListRowRecord]] = {}
    for row in record.list_rows:
        if not same_paper_title(row.title_in_list, arxiv_title):
            wrong.setdefault(split_venue_tag(row.title_in_list)[0], []).append(row)
    return wrong


def _keep_only(record: Record, rows: list[ListRowRecord]) -> None:
    """The list record made again from the rows it keeps (its arXiv id stays): a DOI, URL or title of a
    split-off row left on it would merge the split-off paper back into it (dedupe_records goes by DOI)."""
    rebuilt = _list_record(rows)
    for name in ("source_id", "title", "venue", "doi", "url", "urls", "item_type", "list_rows"):
        setattr(record, name, getattr(rebuilt, name))


def _list_record(rows: list[ListRowRecord]) -> Record:
    """A list record made from these rows only, built like the parser's, without an arXiv id: for rows
    split off a record whose arXiv link names another paper, and for the rows that record keeps (a tool
    when any row is one, as dedupe_records merges)."""
    first = rows[0]
    title, venue = split_venue_tag(first.title_in_list)
    urls = list(dict.fromkeys(u for row in rows for u in row.urls))
    return Record(
        source="list", source_id=urls[0] if urls else title, title=title, venue=venue,
        doi=next((d for d in (doi_from_text(u) for u in urls) if d), None), url=urls[0] if urls else None,
        urls=urls, item_type="tool" if any(r.item_type == "tool" for r in rows) else "paper",
        list_rows=list(rows),
    )
