"""The local arXiv API: arXiv's Atom layout, query parameters, failures on demand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from arxiv import _feed
from lxml import etree

from ingest.arxiv_server import LocalArxivServer, entry_from_record

ATOM = "{http://www.w3.org/2005/Atom}"


def _get(server: LocalArxivServer, **params: Any) -> requests.Response:
    return requests.get(server.url, params=params, timeout=5)


def _local(tag: str) -> str:
    name = etree.QName(tag).localname
    return "arxiv:" + name if tag.startswith("{http://arxiv") else name


def test_layout_follows_the_arxiv_sample(local_arxiv: LocalArxivServer, shared_data: Path) -> None:
    sample = etree.fromstring((shared_data / "arxiv_atom_sample.xml").read_bytes())
    response = _get(local_arxiv, id_list="2211.00593,2202.05262", max_results=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/atom+xml")
    ours = etree.fromstring(response.content)
    assert ours.nsmap == sample.nsmap
    header = [_local(c.tag) for c in ours if c.tag != f"{ATOM}entry"]
    assert header == [_local(c.tag) for c in sample if c.tag != f"{ATOM}entry"]
    # Entry children in the sample's order (optional elements may be absent, never reordered).
    sample_order: list[str] = []
    for entry in sample.iter(f"{ATOM}entry"):
        for child in entry:
            name = _local(child.tag) + (":" + child.get("title", child.get("rel", "")) if
                                        child.tag == f"{ATOM}link" else "")
            if name not in sample_order:
                sample_order.append(name)
    for entry in ours.iter(f"{ATOM}entry"):
        names = [_local(c.tag) + (":" + c.get("title", c.get("rel", "")) if c.tag == f"{ATOM}link" else "")
                 for c in entry]
        positions = [sample_order.index(n) for n in names]
        assert positions == sorted(positions), names
    parsed = _feed.parse(response.content)
    assert parsed.header.total_results == 2 and parsed.header.items_per_page == 10
    ioi = parsed.results[0]
    assert ioi.get_short_id() == "2211.00593v1"
    assert ioi.title.startswith("Interpretability in the Wild")
    assert ioi.primary_category == "cs.LG" and ioi.pdf_url == "https://arxiv.org/pdf/2211.00593v1"
    assert ioi.authors[0].name == "Kevin Wang"


def test_query_syntax(local_arxiv: LocalArxivServer) -> None:
    def ids(query: str, **extra: Any) -> list[str]:
        feed = _feed.parse(_get(local_arxiv, search_query=query, max_results=100, **extra).content)
        return [r.get_short_id().split("v")[0] for r in feed.results]

    assert ids('ti:"induction heads"') == ["2209.11895", "2402.13055"]
    assert ids("ti:superposition") == ["2209.10652"]
    assert "2211.00593" in ids('abs:"indirect object identification"')
    assert set(ids('ti:"induction heads" AND abs:semantic')) == {"2402.13055"}
    assert set(ids("ti:superposition OR ti:grokking")) == {"2209.10652", "2301.05217"}
    assert set(ids('(ti:"induction heads" ANDNOT abs:semantic)')) == {"2209.11895"}
    feed = _feed.parse(_get(local_arxiv, search_query="cat:cs.CL AND submittedDate:[202401010000 TO "
                            "202412312359]", sortBy="submittedDate", sortOrder="ascending").content)
    dates = [r.published for r in feed.results]
    assert dates and all(d.year == 2024 for d in dates)
    assert dates == sorted(dates)


def test_paging(local_arxiv: LocalArxivServer) -> None:
    pages = []
    for start in (0, 5, 10):
        feed = _feed.parse(_get(local_arxiv, search_query="cat:cs.LG OR cat:cs.CL", start=start,
                                max_results=5).content)
        pages.append([r.entry_id for r in feed.results])
        assert feed.header.start_index == start
    flat = [e for page in pages for e in page]
    assert len(flat) == len(set(flat)) == 15


def test_bad_query_is_an_error_feed(local_arxiv: LocalArxivServer) -> None:
    response = _get(local_arxiv, search_query="ti:((", max_results=5)
    assert response.status_code == 400
    root = etree.fromstring(response.content)
    entry = root.find(f"{ATOM}entry")
    assert entry.findtext(f"{ATOM}title") == "Error"
    assert entry.findtext(f"{ATOM}id").startswith("https://arxiv.org/api/errors#")


def test_records_without_arxiv_id_are_not_served(local_arxiv: LocalArxivServer,
                                                 seed_records: list[dict[str, Any]]) -> None:
    assert len(local_arxiv.entries) == sum(1 for r in seed_records if r["arxiv_id"])
    feed = _feed.parse(_get(local_arxiv, search_query='ti:"Softmax Linear Units"').content)
    assert feed.results == []


def test_failures_on_demand(local_arxiv: LocalArxivServer) -> None:
    local_arxiv.fail_next("503")
    assert _get(local_arxiv, id_list="2211.00593").status_code == 503
    assert _get(local_arxiv, id_list="2211.00593").status_code == 200
    local_arxiv.fail_next("malformed")
    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(_get(local_arxiv, id_list="2211.00593").content)
    local_arxiv.fail_next("empty")
    feed = _feed.parse(_get(local_arxiv, id_list="2211.00593,2202.05262").content)
    assert feed.results == [] and feed.header.total_results == 2
    local_arxiv.timeout_sleep = 1.0
    local_arxiv.fail_next("timeout")
    with pytest.raises(requests.Timeout):
        requests.get(local_arxiv.url, params={"id_list": "2211.00593"}, timeout=0.3)
    assert len(local_arxiv.requests) == 5
    with pytest.raises(ValueError, match="unknown failure kind"):
        local_arxiv.fail_next("teapot")


@pytest.mark.parametrize(("record", "published"), [
    ({"arxiv_id": "2309.08600", "title": "T", "year": 2023}, "2023-09-01T00:00:00Z"),  # month from the id
    ({"arxiv_id": "2309.08600v2", "title": "T", "published": "2023-09-15"}, "2023-09-15T00:00:00Z"),
    ({"arxiv_id": "hep-th/9901001", "title": "T", "year": 1999}, "1999-01-01T00:00:00Z"),  # old-style id
])
def test_a_record_without_a_date_is_served_with_the_month_its_id_names(
    record: dict[str, Any], published: str
) -> None:
    entry = entry_from_record(record)
    assert entry is not None and entry["published"] == published


def test_failures_for_matching_requests_and_zero_answers(local_arxiv: LocalArxivServer) -> None:
    """A failure can wait for the request it is meant for (one query part, a later page); "zero" is a
    valid answer with totalResults 0, as arXiv sometimes gives for a query that has results."""
    local_arxiv.fail_next("zero", 2, matching='ti:"induction heads"')
    local_arxiv.fail_next("503", matching="start=2")

    def total(query: str, **extra: Any) -> int:
        response = _get(local_arxiv, search_query=query, max_results=2, **extra)
        assert response.status_code == 200
        return _feed.parse(response.content).header.total_results

    assert total("ti:superposition") == 1  # another query: not failed
    assert total('ti:"induction heads"') == 0
    assert total('ti:"induction heads"') == 0
    assert total('ti:"induction heads"') == 2  # both zero answers used
    assert _get(local_arxiv, search_query="cat:cs.LG", start=2, max_results=2).status_code == 503
    assert _get(local_arxiv, search_query="cat:cs.LG", start=2, max_results=2).status_code == 200
    with pytest.raises(ValueError, match="at least 1"):
        local_arxiv.fail_next("503", 0)


@pytest.mark.parametrize(("record", "updated"), [
    ({"arxiv_id": "2304.14997", "title": "T"}, "2023-04-01T00:00:00Z"),  # no dates: the id's month, both
    ({"arxiv_id": "2304.14997", "title": "T", "published": "2023-04-28"}, "2023-04-28T00:00:00Z"),
    ({"arxiv_id": "2304.14997", "title": "T", "published": "2023-04-28", "updated": "2023-10-02"},
     "2023-10-02T00:00:00Z"),
])
def test_a_record_without_an_updated_date_is_served_with_its_published_date(
    record: dict[str, Any], updated: str
) -> None:
    """QA: the demo stored 2304.14997 as published 2023-04-01, updated 2000-01-01 (an invented date)."""
    entry = entry_from_record(record)
    assert entry is not None and entry["updated"] == updated
    assert entry["updated"] >= entry["published"]


def test_a_record_without_dates_reaches_the_store_with_the_published_date_as_updated() -> None:
    from ingest.arxiv_source import ArxivSource

    undated = {"arxiv_id": "2304.14997", "title": "Towards Automated Circuit Discovery"}
    with LocalArxivServer([undated]) as server:
        [record] = ArxivSource(url=server.url, delay=0.0, timeout=5.0, retries=0).fetch_by_ids(["2304.14997"])
    assert (record.published, record.updated) == ("2023-04-01", "2023-04-01")


@pytest.mark.parametrize(("given", "served"), [
    # Clock QA: the offset was dropped (+05:30) or "Z" appended after it (-05:00Z, which no parser reads).
    ("2026-11-26T03:00:00+05:30", "2026-11-25T21:30:00Z"),
    ("2026-11-25T23:30:00-05:00", "2026-11-26T04:30:00Z"),
    ("2026-11-25T23:30:00.250+00:00", "2026-11-25T23:30:00Z"),
    ("2026-11-25T23:30:00Z", "2026-11-25T23:30:00Z"),
    ("2026-11-25T23:30:00", "2026-11-25T23:30:00Z"),  # no offset: taken as UTC
    ("2026-11-25", "2026-11-25T00:00:00Z"),
    ("2023-02-29T00:00:00Z", "2023-02-29T00:00:00Z"),  # unreadable: served as given, a broken feed
])
def test_dates_are_served_in_utc_with_a_z(given: str, served: str) -> None:
    entry = entry_from_record({"arxiv_id": "2611.00001", "title": "T", "published": given, "updated": given})
    assert entry is not None and (entry["published"], entry["updated"]) == (served, served)


def test_a_date_with_an_offset_reaches_the_store_as_its_utc_date() -> None:
    from ingest.arxiv_source import ArxivSource

    dated = {"arxiv_id": "2611.00002", "title": "T", "published": "2026-11-25T23:30:00-05:00",
             "updated": "2026-11-28T02:00:00+05:30"}
    with LocalArxivServer([dated]) as server:
        [record] = ArxivSource(url=server.url, delay=0.0, timeout=5.0, retries=0).fetch_by_ids(["2611.00002"])
    assert (record.published, record.updated) == ("2026-11-26", "2026-11-27")  # not 11-25 and 11-28


def test_status_failures_send_retry_after_when_asked(local_arxiv: LocalArxivServer) -> None:
    local_arxiv.fail_next("503")
    plain = _get(local_arxiv, id_list="2211.00593")
    assert plain.status_code == 503 and "Retry-After" not in plain.headers
    local_arxiv.retry_after = "30"
    local_arxiv.fail_next("429")
    local_arxiv.fail_next("503")
    limited, busy = _get(local_arxiv, id_list="2211.00593"), _get(local_arxiv, id_list="2211.00593")
    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "30")
    assert (busy.status_code, busy.headers["Retry-After"]) == (503, "30")
    ok = _get(local_arxiv, id_list="2211.00593")
    assert ok.status_code == 200 and "Retry-After" not in ok.headers  # only failures carry it
    local_arxiv.retry_after = "Wed, 21 Oct 2015 07:28:00 GMT"  # any text goes out as given
    local_arxiv.fail_next("503")
    assert _get(local_arxiv, id_list="2211.00593").headers["Retry-After"] == "Wed, 21 Oct 2015 07:28:00 GMT"


@pytest.mark.parametrize("value", ["30\r\nX-Injected: 1", "30\n", "", "  ", "30 \u03c0"])
def test_a_retry_after_that_would_break_the_header_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match=r"Retry-After value must be non-empty printable ASCII \(one line\)"):
        LocalArxivServer([], retry_after=value)
    server = LocalArxivServer([])
    with pytest.raises(ValueError, match="Retry-After value"):
        server.retry_after = value
    assert server.retry_after is None


def test_answers_carry_a_date_header_offset_as_asked() -> None:
    """A real Date on every answer (http.server adds it), moved by `clock_offset`: tests stand arXiv's
    clock a week ahead, as the weekly ingest's next run would see it."""
    offset = timedelta(days=7)
    with LocalArxivServer([], clock_offset=offset) as server:
        before = datetime.now(UTC).replace(microsecond=0)
        answer = _get(server, search_query="cat:cs.LG")
        after = datetime.now(UTC)
        server.clock_offset = timedelta(0)
        now = _get(server, search_query="cat:cs.LG")
        # Read after the second answer: its Date may be a second past `after` (a CI run failed so).
        later = datetime.now(UTC)
    sent = parsedate_to_datetime(answer.headers["Date"])
    assert answer.status_code == 200 and before + offset <= sent <= after + offset
    assert before <= parsedate_to_datetime(now.headers["Date"]) <= later
