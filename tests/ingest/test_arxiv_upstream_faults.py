"""ArxivSource against a misbehaving arXiv (QA's upstream faults): a real HTTP server on 127.0.0.1 whose
answers each test writes: a trickled body, a huge body, a lying totalResults, a repeated page, an invalid
UTF-8 byte, a redirect to another host, a batch of ids answered with totalResults 0."""

from __future__ import annotations

import contextlib
import gzip
import logging
import threading
from collections.abc import Callable, Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

import ingest.arxiv_source as arxiv_source
from ingest.arxiv_server import LocalArxivServer, entry_from_record, feed_xml
from ingest.arxiv_source import ArxivError, ArxivSource
from ingest.records import Record

Answer = Callable[[BaseHTTPRequestHandler, dict[str, str]], None]


def _entry(i: int, title: str | None = None) -> dict[str, Any]:
    entry = entry_from_record({"arxiv_id": f"2611.{i + 1:05d}", "title": title or f"Paper number {i + 1}",
                               "abstract": "Activation patching of a language model.",
                               "authors": ["Test Author"], "published": "2026-11-20"})
    assert entry is not None
    return entry


def _page(params: dict[str, str], entries: list[dict[str, Any]], total: int) -> bytes:
    return feed_xml(entries, search_query=params.get("search_query", ""), id_list=params.get("id_list", ""),
                    start=int(params.get("start", 0)), max_results=int(params.get("max_results", 10)),
                    total=total).encode("utf-8")


def _send(handler: BaseHTTPRequestHandler, body: bytes, *, status: int = 200,
          headers: tuple[tuple[str, str], ...] = ()) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", "application/atom+xml; charset=utf-8")
    handler.send_header("Content-Length", str(len(body)))
    for name, value in headers:
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)


class Upstream:
    """A real HTTP server on 127.0.0.1 answering every GET with the test's `answer`."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.requests: list[dict[str, str]] = []
        self.gone = threading.Event()  # set on stop: trickling handlers give up
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                params = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}
                upstream.requests.append(params)
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up
                    upstream.answer(self, params)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def url(self) -> str:
        """The endpoint, as PAPERKG_ARXIV_URL takes it."""
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/api/query"

    def stop(self) -> None:
        """Stop serving."""
        self.gone.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def upstream() -> Iterator[Callable[[Answer], Upstream]]:
    started: list[Upstream] = []

    def start(answer: Answer) -> Upstream:
        started.append(Upstream(answer))
        return started[-1]

    yield start
    for server in started:
        server.stop()


def _walk(source: ArxivSource, label: str | None = None) -> list[Record]:
    """The source's submittedDate walk over November 2026 (every served entry is dated in it)."""
    return list(source.search("all:patching", start_date=date(2026, 11, 1), end_date=date(2026, 11, 30),
                              label=label))


def _source(url: str, **kw: Any) -> ArxivSource:
    args: dict[str, Any] = {"delay": 0.0, "timeout": 5.0, "retries": 0, "backoff": 0.01, "page_size": 5}
    return ArxivSource(url=url, **{**args, **kw})


def _paged(entries: list[dict[str, Any]], totals: Callable[[int], int] | None = None) -> Answer:
    """Pages of `entries`, each saying totalResults totals(start) (default: the real count)."""
    def answer(handler: BaseHTTPRequestHandler, params: dict[str, str]) -> None:
        start, size = int(params.get("start", 0)), int(params.get("max_results", 10))
        total = totals(start) if totals else len(entries)
        _send(handler, _page(params, entries[start:start + size], total))
    return answer


def _empty_once(entries: list[dict[str, Any]], *, at: int, total: int, short_at: int | None = None) -> Answer:
    """Pages of 5 `entries` (4 at `short_at`: a short page), the page at `at` empty the first time it is
    asked, saying totalResults `total` (arXiv's flaky empty page)."""
    flaked: list[int] = []

    def answer(handler: BaseHTTPRequestHandler, params: dict[str, str]) -> None:
        start = int(params.get("start", 0))
        if start == at and not flaked:
            flaked.append(start)
            _send(handler, _page(params, [], total))
            return
        _send(handler, _page(params, entries[start:start + (4 if start == short_at else 5)], len(entries)))
    return answer


# -- 1. a total deadline per request, and a body size cap ----------------------------------------------
def test_a_trickling_answer_times_out_in_total_and_is_retried(upstream: Callable[[Answer], Upstream]) -> None:
    """QA: headers, then 300 bytes/s: each read came within the timeout, so the request never timed out
    (100 s with PAPERKG_ARXIV_TIMEOUT=5, holding the store lock)."""
    def trickle(handler: BaseHTTPRequestHandler, params: dict[str, str]) -> None:
        body = _page(params, [_entry(i) for i in range(5)], 5)
        handler.send_response(200)
        handler.send_header("Content-Type", "application/atom+xml; charset=utf-8")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        for i in range(0, len(body), 40):  # a few kB at 400 bytes a second: far past the 1 s timeout
            if server.gone.wait(0.1):
                return
            handler.wfile.write(body[i:i + 40])
            handler.wfile.flush()

    server = upstream(trickle)
    with pytest.raises(ArxivError, match=r"failed after 2 attempts: timed out after 1 s"):
        _walk(_source(server.url, timeout=1.0, retries=1))
    assert len(server.requests) == 2  # a timeout is retried like the others


@pytest.mark.parametrize("chunked", [False, True])
def test_a_body_past_the_cap_is_refused_and_not_retried(
        upstream: Callable[[Answer], Upstream], monkeypatch: pytest.MonkeyPatch, chunked: bool) -> None:
    """QA: a 50 MB page failed as malformed XML, and every retry downloaded the 50 MB again. The cap is
    lowered here so the test sends 200 kB, with and without a Content-Length (gzip, chunked)."""
    monkeypatch.setattr(arxiv_source, "MAX_BODY_BYTES", 50_000, raising=False)

    def huge(handler: BaseHTTPRequestHandler, params: dict[str, str]) -> None:
        body = _page(params, [_entry(0)], 1).replace(b"</feed>", b"<!-- " + b"x" * 200_000 + b" --></feed>")
        if not chunked:
            _send(handler, body)
            return
        packed = gzip.compress(body)  # 200 kB of x's: a few hundred bytes sent, 200 kB once decoded
        handler.send_response(200)
        handler.send_header("Content-Type", "application/atom+xml; charset=utf-8")
        handler.send_header("Content-Encoding", "gzip")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        handler.wfile.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(packed), packed))

    server = upstream(huge)
    with pytest.raises(ArxivError, match=r"arXiv answer over 50,000 bytes .*refused, not retried"):
        _source(server.url, retries=3).fetch_by_ids(["2611.00001"])
    assert len(server.requests) == 1


# -- 2. the submittedDate walk is bounded -------------------------------------------------------------
def test_a_server_repeating_its_page_under_a_large_total_fails_the_walk(
        upstream: Callable[[Answer], Upstream]) -> None:
    """QA: totalResults 30000 with the same 100 entries on every page made 389 requests in 120 s (about an
    hour at arXiv's 3 s rate) with the store lock held: a page adding no new entry stops the walk, as a
    failure (the weekly run then keeps its watermark), not a silently shortened window."""
    entries = [_entry(i) for i in range(5)]

    def liar(handler: BaseHTTPRequestHandler, params: dict[str, str]) -> None:
        _send(handler, _page(params, entries, 60))

    server = upstream(liar)
    with pytest.raises(ArxivError, match=r"only entries of earlier pages .*page 2 \(start=5\).*"
                                         r"totalResults=60"):
        _walk(_source(server.url))
    assert len(server.requests) == 2


def test_a_total_past_what_one_query_returns_is_refused(upstream: Callable[[Answer], Upstream]) -> None:
    server = upstream(_paged([_entry(i) for i in range(5)], totals=lambda start: 1_000_000))
    with pytest.raises(ArxivError, match=r"totalResults=1000000 .*more than the 30,000 results"):
        _walk(_source(server.url))
    assert len(server.requests) == 1


def test_pages_of_a_few_entries_do_not_walk_for_ever(upstream: Callable[[Answer], Upstream]) -> None:
    entries = [_entry(i) for i in range(40)]

    def one_each(handler: BaseHTTPRequestHandler, params: dict[str, str]) -> None:
        start = int(params.get("start", 0))
        _send(handler, _page(params, entries[start:start + 1], len(entries)))

    server = upstream(one_each)
    # 40 results in pages of 5 take 8 pages: twice that and 2 more are allowed.
    with pytest.raises(ArxivError, match=r"did not reach totalResults=40 in 19 pages"):
        _walk(_source(server.url))
    assert len(server.requests) == 19


# -- 4. the end of the results, when totalResults says more ---------------------------------------
def test_an_overstated_total_ends_at_a_short_page(upstream: Callable[[Answer], Upstream],
                                                  caplog: pytest.LogCaptureFixture) -> None:
    """QA: totalResults 260 for 250 entries: the short page at 200, then an empty page, failed every run."""
    entries = [_entry(i) for i in range(12)]
    server = upstream(_paged(entries, totals=lambda start: 13))
    with caplog.at_level(logging.WARNING, logger="ingest.arxiv_source"):
        found = _walk(_source(server.url, retries=2))
    assert [r.arxiv_id for r in found] == [e["arxiv_id"] for e in entries]
    assert [int(p["start"]) for p in server.requests] == [0, 5, 10, 12, 12, 12]  # retried, then the end
    assert "arXiv results end at 12 although totalResults said 13" in caplog.text


def test_a_total_that_shrinks_to_where_the_walk_is_ends_it(upstream: Callable[[Answer], Upstream]) -> None:
    """QA: totalResults 257, then 250 on the empty page at start=250, failed ("although earlier pages
    said 257"). Here full pages say 12, the empty page at start=10 says 10."""
    entries = [_entry(i) for i in range(10)]
    server = upstream(_paged(entries, totals=lambda start: 12 if start < 10 else 10))
    found = _walk(_source(server.url, retries=2))
    assert len(found) == 10
    assert [int(p["start"]) for p in server.requests] == [0, 5, 10, 10, 10]


def test_an_empty_page_after_full_ones_is_still_retried(upstream: Callable[[Answer], Upstream]) -> None:
    """arXiv's flaky empty page mid-pagination (saying totalResults 0) is still retried, not the end."""
    entries = [_entry(i) for i in range(12)]
    server = upstream(_empty_once(entries, at=5, total=0))
    found = _walk(_source(server.url, retries=2))
    assert len(found) == 12
    assert [int(p["start"]) for p in server.requests] == [0, 5, 5, 10]


@pytest.mark.parametrize("says_total", [False, True])
def test_an_empty_flake_after_a_short_page_is_still_retried(upstream: Callable[[Answer], Upstream],
                                                            says_total: bool) -> None:
    """An empty page right after a short one, saying totalResults 0 (review) or still the full total
    (re-test), was taken for the end: 9 of 20 papers found, or 150 of 250, the weekly watermark moved past
    the rest. arXiv's short pages mid-walk are known; the empty page is retried, all are found."""
    entries = [_entry(i) for i in range(20)]
    server = upstream(_empty_once(entries, at=9, total=len(entries) if says_total else 0, short_at=5))
    found = _walk(_source(server.url, retries=2))
    assert [r.arxiv_id for r in found] == [e["arxiv_id"] for e in entries]
    assert [int(p["start"]) for p in server.requests][:4] == [0, 5, 9, 9]


def test_a_title_arxiv_has_several_papers_of_gives_the_one_stored_papers_are_matched_to(
    upstream: Callable[[Answer], Upstream],
) -> None:
    """Re-test: a list row looked up by a title three arXiv papers share went onto the first of arXiv's
    answer, a withdrawn one, while a run without arXiv matched it to another (kg.title_matches)."""
    title = "Sparse autoencoders reveal zebra features"
    withdrawn = {**_entry(0, title), "arxiv_id": "2301.00001", "comment": "This paper has been withdrawn"}
    answer = [withdrawn, {**_entry(1, title), "arxiv_id": "2309.00003"},
              {**_entry(2, title), "arxiv_id": "2305.00002"}]
    server = upstream(lambda handler, params: _send(handler, _page(params, answer, len(answer))))
    found = _source(server.url).find_by_title(title)
    assert found is not None and found.arxiv_id == "2305.00002"


# -- 5. an invalid UTF-8 byte ---------------------------------------------------------------------
def test_an_invalid_utf8_byte_is_read_as_a_replacement_character(upstream: Callable[[Answer], Upstream],
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    """QA: one invalid byte in one entry failed the whole week ("malformed XML (Invalid bytes in character
    encoding)"), retried, every week."""
    entries = [_entry(0, "A case study 3 of patching"), _entry(1)]

    def latin1(handler: BaseHTTPRequestHandler, params: dict[str, str]) -> None:
        _send(handler, _page(params, entries, 2).replace(b"case study 3", b"case study \xe9\xff 3", 1))

    server = upstream(latin1)
    with caplog.at_level(logging.WARNING, logger="ingest.arxiv_source"):
        found = _walk(_source(server.url, retries=2), "query 1/1")
    assert [r.title for r in found] == ["A case study \ufffd\ufffd 3 of patching", "Paper number 2"]
    assert len(server.requests) == 1
    assert "arXiv answer (query 1/1, page 1 (start=0)) is not valid UTF-8" in caplog.text


# -- 6. redirects, a batch of ids answered with totalResults 0 ------------------------------------
def test_a_redirect_to_another_host_is_refused(upstream: Callable[[Answer], Upstream]) -> None:
    """requests followed a redirect to any host, silently sending the run's queries there."""
    elsewhere = upstream(_paged([_entry(0)]))
    moved_to = elsewhere.url.replace("127.0.0.1", "localhost")

    def redirect(handler: BaseHTTPRequestHandler, params: dict[str, str]) -> None:
        location = moved_to + "?" + urlsplit(handler.path).query
        _send(handler, b"", status=301, headers=(("Location", location),))

    server = upstream(redirect)
    with pytest.raises(ArxivError, match=r"redirected to another host \(http://localhost:\d+/api/query\?<query>\)"
                                         r": not followed"):
        _source(server.url, retries=2).fetch_by_ids(["2611.00001"])
    assert elsewhere.requests == [] and len(server.requests) == 1


def test_a_redirect_on_the_same_host_is_followed(upstream: Callable[[Answer], Upstream]) -> None:
    entries = [_entry(0)]

    def moved(handler: BaseHTTPRequestHandler, params: dict[str, str]) -> None:
        path = urlsplit(handler.path)
        if path.path == "/api/query":
            _send(handler, b"", status=302, headers=(("Location", "/new/query?" + path.query),))
            return
        _send(handler, _page(params, entries, 1))

    server = upstream(moved)
    assert [r.arxiv_id for r in _source(server.url).fetch_by_ids(["2611.00001"])] == ["2611.00001"]
    assert len(server.requests) == 2


def test_a_batch_of_ids_answered_with_total_zero_is_asked_once_more(
        seed_records: list[dict[str, Any]]) -> None:
    """QA: `ingest list` reported "17 ids not found on arXiv" when arXiv answered a whole batch with
    totalResults 0."""
    with LocalArxivServer(seed_records) as server:
        server.fail_next("zero", matching="id_list=2211.00593")
        found = _source(server.url, page_size=100).fetch_by_ids(["2211.00593", "2202.05262"])
        assert sorted(str(r.arxiv_id) for r in found) == ["2202.05262", "2211.00593"]
        assert len(server.requests) == 2
        # Ids arXiv does not have: asked twice, then not found.
        assert _source(server.url).fetch_by_ids(["2611.99999"]) == []
        assert len(server.requests) == 4

