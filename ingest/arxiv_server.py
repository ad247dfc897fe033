"""A local arXiv API on 127.0.0.1 (tests, offline demo): arXiv's Atom format, and failures on demand.

Records without dates are served with approximate ones: published = the first day of the month the
arXiv id names (YYMM.NNNNN), updated = published; so the demo's dates for such papers are approximate.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, unquote_plus, urlencode, urlsplit
from xml.sax.saxutils import escape, quoteattr

from ingest.normalize import arxiv_version, strip_arxiv_version, title_key
from ingest.records_file import parse_iso_time

# 503, 429: that HTTP status (with `retry_after` as its Retry-After header, when set). timeout: stall
# `timeout_sleep` seconds, then answer. malformed: cut XML. empty: a page without entries that keeps
# totalResults. truncated: the connection drops mid-body. zero: a valid feed with totalResults 0 (what
# arXiv sends when nothing matches; with `@start=N`, a flaky later page that says 0).
FAIL_KINDS = ("503", "429", "timeout", "malformed", "empty", "truncated", "zero")
_STATUS_FAILURES = {"503": (503, "Service Unavailable"), "429": (429, "Too Many Requests")}
_ERROR_ID = "https://arxiv.org/api/errors#"


def check_retry_after(value: str | None) -> str | None:
    """A Retry-After value for "503" and "429" failures, checked: any text goes (a client's handling of a bad
    one can be tried) but it must be non-empty printable ASCII; ValueError otherwise."""
    # A line break would end the header and let the value write headers of its own; http.server writes
    # headers as Latin-1, so other text would fail in the handler, not here.
    if value is not None and (not value.strip() or not all(" " <= c <= "~" for c in value)):
        raise ValueError(f"a Retry-After value must be non-empty printable ASCII (one line), not {value!r}")
    return value


class QueryError(ValueError):
    """The search_query cannot be parsed (arXiv answers with an error feed)."""


# -- search_query: a tiny parser for arXiv's syntax ------------------------------------------
_TOKEN = re.compile(
    r'\s*(?:(?P<lp>\()|(?P<rp>\))|(?P<op>AND NOT|ANDNOT|AND|OR)(?=[\s(])|'
    r'(?P<field>[a-zA-Z_]+):(?:"(?P<phrase>[^"]*)"|\[(?P<range>[^\]]*)\]|(?P<word>[^\s()"]+)))'
)


def _tokens(query: str) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    pos = 0
    query = query.strip()
    while pos < len(query):
        m = _TOKEN.match(query, pos)
        if m is None or m.end() == pos:
            rest = query[pos:].strip()
            if not rest:
                break
            raise QueryError(f"cannot parse search_query near {rest[:40]!r}")
        pos = m.end()
        if m.group("lp"):
            out.append(("(", None))
        elif m.group("rp"):
            out.append((")", None))
        elif m.group("op"):
            out.append(("op", m.group("op").replace(" ", "")))
        else:
            value = m.group("phrase") if m.group("phrase") is not None else (
                m.group("range") if m.group("range") is not None else m.group("word"))
            out.append(("term", (m.group("field").lower(), value, m.group("range") is not None)))
    return out


Predicate = Callable[[dict[str, Any]], bool]


def _words(text: str) -> list[str]:
    return title_key(text).split()


def _contains(haystack: str, needle: str) -> bool:
    hay = f" {' '.join(_words(haystack))} "
    words = _words(needle)
    return bool(words) and f" {' '.join(words)} " in hay


def _term(field: str, value: str, is_range: bool) -> Predicate:
    if field == "submitteddate":
        m = re.fullmatch(r"\s*(\d{8,14})\s+TO\s+(\d{8,14})\s*", value or "")
        if not m or not is_range:
            raise QueryError(f"submittedDate needs [YYYYMMDDHHMM TO YYYYMMDDHHMM], got {value!r}")
        low, high = m.group(1).ljust(12, "0"), m.group(2).ljust(12, "9")
        return lambda e: low <= e["_submitted"] <= high
    fields = {
        "ti": lambda e: e["title"],
        "abs": lambda e: e["abstract"] or "",
        "au": lambda e: " ".join(e["authors"]),
        "all": lambda e: " ".join([e["title"], e["abstract"] or "", " ".join(e["authors"])]),
        "co": lambda e: e.get("comment") or "",
        "jr": lambda e: e.get("journal_ref") or "",
    }
    if field == "cat":
        return lambda e: value in e["categories"]
    if field == "id":
        return lambda e: e["arxiv_id"] == strip_arxiv_version(value)
    if field not in fields:
        raise QueryError(f"unknown search field {field!r}")
    get = fields[field]
    return lambda e: _contains(get(e), value)


def parse_query(query: str) -> Predicate:
    """Compile an arXiv search_query (ti/abs/au/all/cat/id, AND/OR/ANDNOT, parentheses, dates)."""
    tokens = _tokens(query)
    pos = 0

    def expr() -> Predicate:
        nonlocal pos
        left = atom()
        while pos < len(tokens) and tokens[pos][0] == "op":
            op = tokens[pos][1]
            pos += 1
            right = atom()
            if op == "AND":
                left = (lambda a, b: lambda e: a(e) and b(e))(left, right)
            elif op == "OR":
                left = (lambda a, b: lambda e: a(e) or b(e))(left, right)
            else:
                left = (lambda a, b: lambda e: a(e) and not b(e))(left, right)
        return left

    def atom() -> Predicate:
        nonlocal pos
        if pos >= len(tokens):
            raise QueryError("search_query ends too early")
        kind, value = tokens[pos]
        pos += 1
        if kind == "(":
            inner = expr()
            if pos >= len(tokens) or tokens[pos][0] != ")":
                raise QueryError("unbalanced parentheses in search_query")
            pos += 1
            return inner
        if kind == "term":
            return _term(*value)
        raise QueryError(f"unexpected {kind!r} in search_query")

    if not tokens:
        return lambda e: True
    result = expr()
    if pos != len(tokens):
        raise QueryError("unexpected text after the end of search_query")
    return result


# -- entries --------------------------------------------------------------------------------
def _ts(value: str | None) -> str:
    """A record's date or datetime as arXiv's feeds write it, in UTC with a Z (2026-11-26T03:00:00+05:30
    is 2026-11-25T21:30:00Z; a date is its midnight, a time without an offset is taken as UTC). Text no
    ISO parser reads is served as given: a broken feed, as arXiv might send, for tests to reproduce."""
    if not value:
        return "2000-01-01T00:00:00Z"
    try:  # the records file's and the arXiv source's rule, but for the years: a year 2150 is served
        moment = parse_iso_time(value, "date", check_years=False)
    except ValueError:
        return value.strip()
    return moment.replace(tzinfo=None, microsecond=0).isoformat() + "Z"


_NEW_STYLE_ID = re.compile(r"^(\d\d)(0[1-9]|1[0-2])\.\d{4,5}$")


def _first_day_of_submission_month(arxiv_id: str, year: Any) -> str | None:
    """For a record without a date: arXiv's own id says the month of v1 (YYMM.NNNNN), which is
    closer to the truth than 1 January of the record's year."""
    match = _NEW_STYLE_ID.match(arxiv_id)
    if match:
        return f"20{match[1]}-{match[2]}-01"
    return f"{year}-01-01" if year else None


def entry_from_record(record: dict[str, Any]) -> dict[str, Any] | None:
    """A served entry from a seed_papers.jsonl-style record (None without an arXiv id).

    Atom needs both dates: a record without a published date gets the first day of its id's month (an
    approximation), and one without an updated date gets its published date."""
    arxiv_id = strip_arxiv_version(record.get("arxiv_id"))
    if not arxiv_id:
        return None
    published = _ts(record.get("published") or _first_day_of_submission_month(arxiv_id, record.get("year")))
    # Never an invented date: an unrevised paper's updated date is its published date, as on arXiv.
    updated = _ts(record["updated"]) if record.get("updated") else published
    categories = list(record.get("categories") or [])
    primary = record.get("primary_category") or (categories[0] if categories else "cs.LG")
    if primary not in categories:
        categories.insert(0, primary)
    return {
        "arxiv_id": arxiv_id,
        # The record's own "version", else the vN of its arxiv_id ("2409.90001v2" is version 2).
        "version": int(record.get("version") or arxiv_version(record.get("arxiv_id")) or 1),
        "title": " ".join(str(record.get("title") or "").split()),
        "abstract": record.get("abstract") or "",
        "authors": list(record.get("authors") or []),
        "published": published,
        "updated": updated,
        "categories": categories,
        "primary_category": primary,
        "comment": record.get("comment"),
        "journal_ref": record.get("journal_ref"),
        "doi": record.get("doi"),
        "_submitted": re.sub(r"\D", "", published)[:12],
    }


def _entry_xml(e: dict[str, Any]) -> str:
    vid = f"{e['arxiv_id']}v{e['version']}"
    parts = [
        "  <entry>",
        f"    <id>http://arxiv.org/abs/{vid}</id>",
        f"    <title>{escape(e['title'])}</title>",
        f"    <updated>{e['updated']}</updated>",
        f'    <link href="https://arxiv.org/abs/{vid}" rel="alternate" type="text/html"/>',
        f'    <link href="https://arxiv.org/pdf/{vid}" rel="related" type="application/pdf" title="pdf"/>',
        f"    <summary>{escape(e['abstract'])}</summary>",
    ]
    parts += [f'    <category term={quoteattr(c)} scheme="http://arxiv.org/schemas/atom"/>'
              for c in e["categories"]]
    parts.append(f"    <published>{e['published']}</published>")
    if e.get("comment"):
        parts.append(f"    <arxiv:comment>{escape(e['comment'])}</arxiv:comment>")
    parts.append(f"    <arxiv:primary_category term={quoteattr(e['primary_category'])}/>")
    if e.get("journal_ref"):
        parts.append(f"    <arxiv:journal_ref>{escape(e['journal_ref'])}</arxiv:journal_ref>")
    for name in e["authors"]:
        parts += ["    <author>", f"      <name>{escape(name)}</name>", "    </author>"]
    if e.get("doi"):
        parts.append(f"    <arxiv:doi>{escape(e['doi'])}</arxiv:doi>")
        parts.append(f'    <link rel="related" href={quoteattr("https://doi.org/" + e["doi"])} title="doi"/>')
    parts.append("  </entry>")
    return "\n".join(parts)


def feed_xml(entries: Sequence[dict[str, Any]], *, search_query: str, id_list: str, start: int,
             max_results: int, total: int) -> str:
    """An Atom page in arXiv's exact layout (see shared arxiv_atom_sample.xml)."""
    title_query = f"search_query={search_query}&id_list={id_list}&start={start}&max_results={max_results}"
    link_query = urlencode({"search_query": search_query, "start": start, "max_results": max_results,
                            "id_list": id_list}, quote_via=quote)
    self_link = "https://arxiv.org/api/query?" + link_query
    digest = hashlib.sha1(title_query.encode("utf-8")).hexdigest()[:27]
    now = datetime.now(UTC).strftime("%Y-%m-%dT00:00:00Z")
    head = [
        "<?xml version='1.0' encoding='UTF-8'?>",
        '<feed xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" '
        'xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns="http://www.w3.org/2005/Atom">',
        f"  <id>https://arxiv.org/api/{digest}</id>",
        f"  <title>arXiv Query: {escape(title_query)}</title>",
        f"  <updated>{now}</updated>",
        f'  <link href={quoteattr(self_link)} type="application/atom+xml"/>',
        f"  <opensearch:itemsPerPage>{max_results}</opensearch:itemsPerPage>",
        f"  <opensearch:totalResults>{total}</opensearch:totalResults>",
        f"  <opensearch:startIndex>{start}</opensearch:startIndex>",
    ]
    return "\n".join([*head, *(_entry_xml(e) for e in entries), "</feed>"]) + "\n"


def error_feed(message: str) -> str:
    """arXiv's error answer: a feed whose one entry has an errors# id and the title Error."""
    return "\n".join([
        "<?xml version='1.0' encoding='UTF-8'?>",
        '<feed xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" '
        'xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns="http://www.w3.org/2005/Atom">',
        "  <id>https://arxiv.org/api/errors</id>",
        "  <title>arXiv Query: search_query=&amp;id_list=&amp;start=0&amp;max_results=10</title>",
        f"  <updated>{datetime.now(UTC).strftime('%Y-%m-%dT00:00:00Z')}</updated>",
        "  <opensearch:itemsPerPage>1</opensearch:itemsPerPage>",
        "  <opensearch:totalResults>1</opensearch:totalResults>",
        "  <opensearch:startIndex>0</opensearch:startIndex>",
        "  <entry>",
        f"    <id>{_ERROR_ID}{escape(quote(message[:60]))}</id>",
        "    <title>Error</title>",
        f"    <summary>{escape(message)}</summary>",
        "    <updated>2000-01-01T00:00:00Z</updated>",
        '    <link href="https://arxiv.org/api/errors" rel="alternate" type="text/html"/>',
        "    <author>",
        "      <name>arXiv api core</name>",
        "    </author>",
        "  </entry>",
        "</feed>",
    ]) + "\n"


# -- the server -----------------------------------------------------------------------------
class LocalArxivServer:
    """A real HTTP server on 127.0.0.1 (ephemeral port) answering arXiv API queries from records."""

    def __init__(self, records: Sequence[dict[str, Any]], *, host: str = "127.0.0.1", port: int = 0,
                 timeout_sleep: float = 5.0, retry_after: str | None = None,
                 clock_offset: timedelta = timedelta(0)) -> None:
        self.entries = [e for e in (entry_from_record(r) for r in records) if e is not None]
        self._by_id = {e["arxiv_id"]: e for e in self.entries}
        self.requests: list[str] = []  # raw query strings, in order
        self.timeout_sleep = timeout_sleep  # how long a "timeout" failure stalls
        self.retry_after = retry_after  # the Retry-After a "503" or "429" failure sends (None: none)
        self.ignore_sort = False  # True: answer in the records' order, as arXiv sometimes does
        # Added to this machine's clock in every answer's Date header (arXiv's clock, to a client): tests
        # put "arXiv's" time days ahead, as a week passing, without faking the client's clock and this one.
        self.clock_offset = clock_offset
        self._failures: deque[tuple[str, str | None]] = deque()  # (kind, text the request must contain)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._host, self._port = host, port
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle
    def start(self) -> LocalArxivServer:
        """Bind and serve in a daemon thread."""
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                return

            def date_time_string(self, timestamp: float | None = None) -> str:
                """send_response's Date header: the server's time, offset by its clock_offset."""
                if timestamp is None:
                    timestamp = time.time() + server.clock_offset.total_seconds()
                return super().date_time_string(timestamp)

        self._httpd = ThreadingHTTPServer((self._host, self._port), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="local-arxiv", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving (wakes any stalled 'timeout' handler)."""
        self._stop.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> LocalArxivServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def retry_after(self) -> str | None:
        """The Retry-After header value "503" and "429" failures send, verbatim (None: no header; see
        check_retry_after)."""
        return self._retry_after

    @retry_after.setter
    def retry_after(self, value: str | None) -> None:
        """Set the Retry-After value, checked (check_retry_after)."""
        self._retry_after = check_retry_after(value)

    @property
    def port(self) -> int:
        """The bound port."""
        assert self._httpd is not None, "server not started"
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """The /api/query endpoint (what PAPERKG_ARXIV_URL takes)."""
        return f"http://{self._host}:{self.port}/api/query"

    def fail_next(self, kind: str, n: int = 1, *, matching: str | None = None) -> None:
        """Make the next n requests fail with `kind` (one of FAIL_KINDS); with `matching`, only the next
        n requests whose decoded query string contains that text (e.g. a query term, "start=100")."""
        if kind not in FAIL_KINDS:
            raise ValueError(f"unknown failure kind {kind!r}; one of {', '.join(FAIL_KINDS)}")
        if n < 1:
            raise ValueError(f"the number of failures must be at least 1, not {n}")
        with self._lock:
            self._failures.extend([(kind, matching or None)] * n)

    def clear_failures(self) -> None:
        """Forget queued failures."""
        with self._lock:
            self._failures.clear()

    # request handling
    def _send(self, handler: BaseHTTPRequestHandler, status: int, body: str,
              content_type: str = "application/atom+xml; charset=utf-8", truncate: bool = False,
              retry_after: str | None = None) -> None:
        data = body.encode("utf-8")
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", content_type)
            if retry_after is not None:
                handler.send_header("Retry-After", retry_after)
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            # truncate: the connection drops mid-body (fewer bytes than Content-Length announced).
            handler.wfile.write(data[: len(data) // 2] if truncate else data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
            pass

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        if parts.path.rstrip("/") not in ("/api/query", "/query"):
            self._send(handler, 404, "not found", "text/plain")
            return
        decoded = unquote_plus(parts.query)
        with self._lock:
            self.requests.append(parts.query)
            failure = None
            # The first queued failure for this request: an unconditional one, or one whose text it holds.
            for i, (kind, matching) in enumerate(self._failures):
                if matching is None or matching in decoded:
                    failure = kind
                    del self._failures[i]
                    break
        if failure in _STATUS_FAILURES:
            status, reason = _STATUS_FAILURES[failure]
            self._send(handler, status, reason, "text/plain", retry_after=self.retry_after)
            return
        if failure == "timeout":
            self._stop.wait(self.timeout_sleep)
        params = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        try:
            status, body = 200, self.answer(params, empty=failure == "empty", zero=failure == "zero")
        except QueryError as exc:
            status, body = 400, error_feed(str(exc))
        if failure == "malformed":
            body = body[: max(80, len(body) // 2)] + "<entry><title>broken"
        self._send(handler, status, body, truncate=failure == "truncated")

    def answer(self, params: dict[str, str], *, empty: bool = False, zero: bool = False) -> str:
        """The Atom page for API parameters (empty=True: header kept, entries dropped; zero=True: a valid
        answer with totalResults 0, as if nothing matched)."""
        search_query = params.get("search_query", "")
        id_list = params.get("id_list", "")
        try:
            start = int(params.get("start") or 0)
            max_results = int(params.get("max_results") or 10)
        except ValueError as exc:
            raise QueryError(f"start and max_results must be integers: {exc}") from exc
        if start < 0 or max_results < 0:
            raise QueryError("start and max_results must be >= 0")
        if max_results > 2000:
            raise QueryError("max_results must be <= 2000")
        if id_list.strip():
            ids = []
            for raw in id_list.split(","):
                aid = strip_arxiv_version(raw.strip())
                if not aid or not re.fullmatch(r"\d{4}\.\d{4,5}|[a-z][a-z.-]+/\d{7}", aid):
                    raise QueryError(f"incorrect id format for {raw.strip()!r}")
                ids.append(aid)
            pool = [self._by_id[i] for i in dict.fromkeys(ids) if i in self._by_id]
            if search_query.strip():
                predicate = parse_query(search_query)
                pool = [e for e in pool if predicate(e)]
        else:
            predicate = parse_query(search_query)
            pool = [e for e in self.entries if predicate(e)] if search_query.strip() else []
            if not self.ignore_sort:
                pool = self._sorted(pool, params.get("sortBy", "relevance"),
                                    params.get("sortOrder", "descending"))
        if zero:
            pool = []
        total = len(pool)
        page = [] if empty else pool[start:start + max_results]
        return feed_xml(page, search_query=search_query, id_list=id_list, start=start,
                        max_results=max_results, total=total)

    @staticmethod
    def _sorted(pool: list[dict[str, Any]], sort_by: str, order: str) -> list[dict[str, Any]]:
        key = {"submittedDate": "published", "lastUpdatedDate": "updated"}.get(sort_by)
        if key is None:
            return pool  # relevance: the records' order
        return sorted(pool, key=lambda e: (e[key], e["arxiv_id"]), reverse=order != "ascending")
