"""ArxivSource against the local arXiv API: batches, title match, retries, validation, pagination."""

from __future__ import annotations

import time
from datetime import date
from typing import Any

import pytest

from ingest.arxiv_server import LocalArxivServer
from ingest.arxiv_source import ArxivError, ArxivSource


def _source(server: LocalArxivServer, **kw: Any) -> ArxivSource:
    return ArxivSource(url=server.url, delay=kw.pop("delay", 0.02), timeout=kw.pop("timeout", 0.5),
                       retries=kw.pop("retries", 2), **kw)


def test_ids_in_batches(local_arxiv: LocalArxivServer, seed_records: list[dict[str, Any]]) -> None:
    ids = [r["arxiv_id"] for r in seed_records if r["arxiv_id"]]
    source = _source(local_arxiv, page_size=8)
    forms = [f"https://arxiv.org/pdf/{ids[0]}v3", f"arxiv.org/abs/{ids[1]}", *ids[2:], ids[0]]
    records = source.fetch_by_ids([*forms, "2999.99999"])
    assert [r.arxiv_id for r in records] == ids  # order kept, duplicates and unknown ids dropped
    assert len(local_arxiv.requests) == 4  # 31 distinct ids in pages of 8
    assert all("id_list=" in q and "max_results=" in q for q in local_arxiv.requests)
    ioi = next(r for r in records if r.arxiv_id == "2211.00593")
    seed = next(s for s in seed_records if s["id"] == "2211.00593")
    assert (ioi.title, ioi.authors, ioi.published, ioi.primary_category) == (
        seed["title"], seed["authors"], seed["published"], seed["primary_category"])
    assert ioi.source == "arxiv" and ioi.version == 1 and ioi.year == 2022


def test_title_match_for_non_arxiv_links(local_arxiv: LocalArxivServer) -> None:
    source = _source(local_arxiv)
    found = source.find_by_title("Knowledge Neurons in Pretrained Transformers (ACL'22)")
    assert found is not None and found.arxiv_id == "2104.08696"
    found = source.find_by_title("In-context learning and induction heads.")
    assert found is not None and found.arxiv_id == "2209.11895"
    assert source.find_by_title("Softmax Linear Units") is None  # not on arXiv: a normal outcome
    # A title that only shares words is not a confident match.
    assert source.find_by_title("Induction Heads") is None


def test_503_then_success(local_arxiv: LocalArxivServer) -> None:
    local_arxiv.fail_next("503", 2)
    records = _source(local_arxiv).fetch_by_ids(["2211.00593"])
    assert [r.arxiv_id for r in records] == ["2211.00593"]
    assert len(local_arxiv.requests) == 3


def test_timeout_is_retried(local_arxiv: LocalArxivServer) -> None:
    local_arxiv.timeout_sleep = 1.5
    local_arxiv.fail_next("timeout")
    records = _source(local_arxiv, timeout=0.3).fetch_by_ids(["2202.05262"])
    assert [r.arxiv_id for r in records] == ["2202.05262"]
    assert len(local_arxiv.requests) == 2


def test_persistent_timeout_is_a_clear_error(local_arxiv: LocalArxivServer) -> None:
    local_arxiv.timeout_sleep = 1.5
    local_arxiv.fail_next("timeout", 3)
    with pytest.raises(ArxivError, match=r"failed after 2 attempts: timed out after 0.3 s"):
        _source(local_arxiv, timeout=0.3, retries=1).fetch_by_ids(["2202.05262"])


def test_connection_dropped_mid_body_is_retried(local_arxiv: LocalArxivServer) -> None:
    local_arxiv.fail_next("truncated")
    assert [r.arxiv_id for r in _source(local_arxiv).fetch_by_ids(["2211.00593"])] == ["2211.00593"]
    assert len(local_arxiv.requests) == 2
    local_arxiv.fail_next("truncated", 3)
    with pytest.raises(ArxivError, match="connection failed"):
        _source(local_arxiv).fetch_by_ids(["2211.00593"])


def test_malformed_xml_retried_then_error(local_arxiv: LocalArxivServer) -> None:
    local_arxiv.fail_next("malformed", 1)
    assert len(_source(local_arxiv).fetch_by_ids(["2211.00593"])) == 1
    local_arxiv.fail_next("malformed", 3)
    with pytest.raises(ArxivError, match="malformed XML"):
        _source(local_arxiv).fetch_by_ids(["2211.00593"])


def test_api_error_feed_is_not_retried(local_arxiv: LocalArxivServer) -> None:
    source = _source(local_arxiv)
    # Titles are reduced to their normalised words, so punctuation never breaks the query syntax.
    assert source.find_by_title('Unbalanced ( "quote: AND OR [x]') is None
    n = len(local_arxiv.requests)
    import arxiv

    with pytest.raises(ArxivError, match="arXiv API error: cannot parse search_query"):
        source.fetch_page(arxiv.Search(query="ti:(("), 0, 10)
    assert len(local_arxiv.requests) == n + 1


def test_search_paginates_and_survives_an_empty_page(local_arxiv: LocalArxivServer) -> None:
    source = _source(local_arxiv, page_size=5)
    window = dict(start_date=date(2022, 1, 1), end_date=date(2023, 12, 31))
    clean = list(source.search("cat:cs.LG OR cat:cs.CL", **window))
    assert clean and all("2022-01-01" <= r.published <= "2023-12-31" for r in clean)
    assert [r.published for r in clean] == sorted((r.published for r in clean), reverse=True)
    assert len({r.arxiv_id for r in clean}) == len(clean)
    pages = len(local_arxiv.requests)
    assert pages == -(-len(clean) // 5)
    # The second page comes back empty once (totalResults kept): retried, nothing lost.
    local_arxiv.requests.clear()
    source._last_request = None
    first = source.search("cat:cs.LG OR cat:cs.CL", **window)
    got = [next(first)]
    local_arxiv.fail_next("empty")
    got += list(first)
    assert [r.arxiv_id for r in got] == [r.arxiv_id for r in clean]
    assert len(local_arxiv.requests) == pages + 1


def test_search_survives_an_ignored_sort_order(local_arxiv: LocalArxivServer) -> None:
    window = dict(start_date=date(2022, 1, 1), end_date=date(2023, 12, 31))
    sorted_ids = {r.arxiv_id for r in _source(local_arxiv, page_size=5).search("cat:cs.LG", **window)}
    local_arxiv.ignore_sort = True
    unsorted = [r.arxiv_id for r in _source(local_arxiv, page_size=5).search("cat:cs.LG", **window)]
    assert len(sorted_ids) > 5
    assert sorted(unsorted) == sorted(sorted_ids)


def test_empty_page_every_time_is_an_error(local_arxiv: LocalArxivServer) -> None:
    local_arxiv.fail_next("empty", 5)
    with pytest.raises(ArxivError, match="empty page"):
        list(_source(local_arxiv, page_size=5).search("cat:cs.LG", start_date=date(2020, 1, 1),
                                                      end_date=date(2025, 1, 1)))


def test_requests_are_spaced_by_the_delay(local_arxiv: LocalArxivServer) -> None:
    source = _source(local_arxiv, delay=0.2, page_size=3)
    stamps: list[float] = []
    original = source.session.get

    def timed_get(*args: Any, **kwargs: Any) -> Any:
        stamps.append(time.monotonic())
        return original(*args, **kwargs)

    source.session.get = timed_get  # type: ignore[method-assign]
    source.fetch_by_ids(["2211.00593", "2202.05262", "2104.08696", "2209.11895", "2301.05217"])
    assert len(stamps) == 2
    assert stamps[1] - stamps[0] >= 0.2  # a lower bound our own sleep guarantees


def test_unreachable_server_is_a_clear_error() -> None:
    source = ArxivSource(url="http://127.0.0.1:9/api/query", delay=0.01, timeout=0.5, retries=1)
    with pytest.raises(ArxivError, match="connection failed"):
        source.fetch_by_ids(["2211.00593"])


def test_errors_name_the_request_not_its_url(local_arxiv: LocalArxivServer,
                                             caplog: pytest.LogCaptureFixture) -> None:
    """QA: every error carried the ~1,300-character query URL (CLI error, ERROR log, IngestRun.message)."""
    import logging

    query = " OR ".join(f'all:"interpretability term {i}"' for i in range(40))
    assert len(query) > 1000
    local_arxiv.fail_next("503", 5)
    window = dict(start_date=date(2022, 1, 1), end_date=date(2023, 12, 31))
    with caplog.at_level(logging.DEBUG, logger="ingest.arxiv_source"), pytest.raises(ArxivError) as err:
        list(_source(local_arxiv, retries=1).search(query, label="query 3/4", **window))
    message = str(err.value)
    assert message == "arXiv API failed after 2 attempts: HTTP 503 (query 3/4, page 1 (start=0))"
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings and all("query 3/4" in w and "interpretability term" not in w for w in warnings)
    debug = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert any("search_query=" in d and "interpretability+term+39" in d for d in debug)  # the URL: DEBUG only
    # Without a label: a short description of the request.
    local_arxiv.fail_next("503", 5)
    with pytest.raises(ArxivError) as err:
        _source(local_arxiv, retries=0).fetch_by_ids([f"2211.{i:05d}" for i in range(50)])
    assert str(err.value).endswith("HTTP 503 (50 ids from 2211.00000, page 1 (start=0))")
    # A refused connection: requests quotes the URL; the error does not.
    unreachable = ArxivSource(url="http://127.0.0.1:9/api/query", delay=0.01, timeout=0.5, retries=0)
    with pytest.raises(ArxivError, match="connection failed") as err:
        list(unreachable.search(query, label="query 3/4", **window))
    assert "search_query" not in str(err.value) and "query 3/4, page 1" in str(err.value)
    assert len(str(err.value)) < 400
