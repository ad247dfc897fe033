"""ArxivSource against the local arXiv API: batches, title match, retries, validation, pagination."""

from __future__ import annotations

import logging
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from ingest.arxiv_server import LocalArxivServer
from ingest.arxiv_source import ArxivError, ArxivSource, http_date


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
    # The endpoint, not the query: the operator sees which server failed.
    assert message == (f"arXiv API at {local_arxiv.url} failed after 2 attempts: HTTP 503 "
                       "(query 3/4, page 1 (start=0))")
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


# -- resolve: list ids checked against arXiv's title, ids not found reported ---------------------------
_SAE = {"id": "2406.04093", "arxiv_id": "2406.04093", "title": "Scaling and evaluating sparse autoencoders",
        "authors": ["Leo Gao", "Jeffrey Wu"], "abstract": "We use k-sparse autoencoders to control sparsity.",
        "published": "2024-06-06", "primary_category": "cs.LG", "categories": ["cs.LG"]}


def test_the_debug_log_masks_a_password_in_the_arxiv_url(local_arxiv: LocalArxivServer,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    """Privacy QA: `paperkg -v ingest weekly` logged a proxy's password from PAPERKG_ARXIV_URL in clear,
    into the cron job's long-lived log file, while `paperkg config` masked it."""
    with_password = local_arxiv.url.replace("http://", "http://svc:ArxSecret42@")
    source = ArxivSource(url=with_password, delay=0.01, timeout=5, retries=0)
    with caplog.at_level(logging.DEBUG, logger="ingest.arxiv_source"):
        source.fetch_by_ids(["2211.00593"])
    requests_logged = [r.getMessage() for r in caplog.records if r.getMessage().startswith("arXiv request")]
    assert requests_logged and all("svc:********@" in m for m in requests_logged)
    assert "ArxSecret42" not in caplog.text


def _with_rows(seed_list: str, *rows: str) -> tuple[str, list[int]]:
    """The seed list with a table of `rows` appended, and the line of each row."""
    table = "\n\n### Added\n| Paper | TL;DR |\n| :--- | :--- |\n" + "\n".join(rows) + "\n"
    text = seed_list.rstrip("\n") + table
    lines = text.splitlines()
    return text, [lines.index(row) + 1 for row in rows]


def test_a_link_to_another_paper_does_not_take_over_the_list_paper(
        seed_list: str, seed_records: list[dict[str, Any]], taxonomy: Any, store: Any, embedder: Any,
        extractor: Any) -> None:
    """QA: a second [[arXiv]] link to another paper made the list paper that paper, silently."""
    from ingest.arxiv_source import report_lines
    from ingest.awesome_list import parse_list
    from ingest.pipeline import run_ingest

    scaling = ("| [Scaling Monosemanticity: Extracting Interpretable Features from Claude 3 Sonnet]"
               "(https://transformer-circuits.pub/2024/scaling-monosemanticity/index.html) "
               "[[arXiv]](https://arxiv.org/abs/2406.04093) | SAEs on a production model. |")
    # A copied row whose title was edited but not its link: the parser merges it with the IOI rows by id.
    copied = ("| [Attribution Patching Outperforms Automated Circuit Discovery (BlackboxNLP'24)]"
              "(https://arxiv.org/pdf/2211.00593) | EAP. |")
    text, (scaling_line, copied_line) = _with_rows(seed_list, scaling, copied)
    records = list(parse_list(text, taxonomy).papers)
    with LocalArxivServer([*seed_records, _SAE]) as server:
        found, report = _source(server).resolve(records)
    assert "2406.04093" not in {r.arxiv_id for r in [*records, *found]}
    assert report["title_mismatch"] == [
        {"arxiv_id": "2406.04093", "title": "Scaling Monosemanticity: Extracting Interpretable Features from "
         "Claude 3 Sonnet", "arxiv_title": "Scaling and evaluating sparse autoencoders",
         "lines": [scaling_line]},
        {"arxiv_id": "2211.00593", "title": "Attribution Patching Outperforms Automated Circuit Discovery",
         "arxiv_title": "Interpretability in the Wild: a Circuit for Indirect Object Identification in GPT-2 "
         "small", "lines": [copied_line]},
    ]
    assert report["by_id"] == 17 and report["ids_not_found"] == []
    assert (f"title mismatch, line {scaling_line}: the list says 'Scaling Monosemanticity: Extracting "
            "Interpretable Features from Claude 3 Sonnet', arXiv 2406.04093 is 'Scaling and evaluating "
            "sparse autoencoders' (matched by the list's title, not that link: it stays on 2406.04093 if "
            "listed under that title before, else is stored without that arXiv id)") in report_lines(report)
    # Both are looked up by title like papers without an arXiv link (neither is on this server).
    assert {"Scaling Monosemanticity: Extracting Interpretable Features from Claude 3 Sonnet",
            "Attribution Patching Outperforms Automated Circuit Discovery"} <= set(report["no_match"])
    summary = run_ingest(store, [*records, *found], source="list", embedder=embedder, extractor=extractor,
                         progress=False)
    assert summary.rejected == 0 and "2406.04093" not in store.paper_ids()
    by_title = {p.title: p for p in store.get_papers(store.paper_ids())}
    mono = by_title["Scaling Monosemanticity: Extracting Interpretable Features from Claude 3 Sonnet"]
    assert mono.arxiv_id is None and mono.sources == ["list"]
    eap = by_title["Attribution Patching Outperforms Automated Circuit Discovery"]
    assert eap.arxiv_id is None and eap.venue == "BlackboxNLP'24"
    eap_detail, ioi = store.get_paper(eap.id), store.get_paper("2211.00593")
    assert [r.line for r in eap_detail.list_rows] == [copied_line]
    ioi_lines = [n for n, row in enumerate(text.splitlines(), 1) if "[Interpretability in the Wild" in row]
    assert ioi.paper.title.startswith("Interpretability in the Wild") and len(ioi_lines) == 4
    assert sorted(r.line for r in ioi.list_rows) == ioi_lines  # the copied row is not one of them


def test_linked_ids_are_kept_despite_small_title_differences(
        local_arxiv: LocalArxivServer, seed_list: str, taxonomy: Any) -> None:
    """Every seed paper linked by id stays matched; case, punctuation, a venue tag, a typo in a long title
    or a subtitle left out do not reject an id; another title, even one sharing the main title, does."""
    from ingest.awesome_list import parse_list
    from ingest.titles import same_paper_title

    records = list(parse_list(seed_list, taxonomy).papers)
    _found, report = _source(local_arxiv).resolve(records)
    assert report["by_id"] == 17 and report["title_mismatch"] == [] and report["ids_not_found"] == []
    ioi = "Interpretability in the Wild: a Circuit for Indirect Object Identification in GPT-2 small"
    sfc = "Sparse Feature Circuits: Discovering and Editing Interpretable Causal Graphs in Language Models"
    for title in ("Sparse Feature Circuits (ICLR'25)",
                  "sparse feature circuits — discovering and editing interpretable causal graphs in language "
                  "models.",
                  "Sparse Feature Circuits: Discovering and Editing Interpretable Causal Graph in Language "
                  "Models"):
        assert same_paper_title(title, sfc), title
    assert same_paper_title("Analyzing Transformers in Embedding Space: projecting all parameters",
                            "Analyzing Transformers in Embedding Space")
    assert same_paper_title("Interpretability in the wild - a circuit for indirect object identification "
                            "in GPT-2 Small [Redwood]", ioi)
    for title in ("Sparse Feature Circuits in Vision Models", "Sparse Feature Circuits: A Survey of Others",
                  "Scaling Monosemanticity", "", "A: B"):
        assert not same_paper_title(title, sfc), title


def test_ids_not_found_are_reported_with_their_lines(local_arxiv: LocalArxivServer, seed_list: str,
                                                     taxonomy: Any) -> None:
    """QA: 8 arXiv-linked rows the server does not have appeared nowhere in the report."""
    from ingest.arxiv_source import report_lines
    from ingest.awesome_list import parse_list

    typo = ("| [Interpretability in the Wild: a Circuit for Indirect Object Identification in GPT-2 small]"
            "(https://arxiv.org/abs/2211.00539) | id typed wrong |")
    refusal = ("| [Refusal in Language Models Is Mediated by a Single Direction]"
               "(https://arxiv.org/pdf/2406.11717v2) | not on this server |")
    again = refusal.replace("not on", "again not on")
    text, (typo_line, refusal_line, _) = _with_rows(seed_list, typo, refusal, again)
    records = list(parse_list(text, taxonomy).papers)
    _found, report = _source(local_arxiv).resolve(records)
    assert report["ids_not_found"] == [
        {"arxiv_id": "2211.00539", "title": "Interpretability in the Wild: a Circuit for Indirect Object "
         "Identification in GPT-2 small", "lines": [typo_line]},
        {"arxiv_id": "2406.11717", "title": "Refusal in Language Models Is Mediated by a Single Direction",
         "lines": [refusal_line, refusal_line + 1]},
    ]
    papers = sum(1 for r in records if r.item_type == "paper")
    assert papers == 39  # the seed list's 37, the typo'd row and Refusal (two rows)
    counted = [report["by_id"], *(len(report[k]) for k in ("by_title", "no_match", "ids_not_found"))]
    assert sum(counted) == papers
    assert report_lines(report) == [
        "arXiv: 17 by id, 13 by title, 7 without an arXiv match, 2 ids not found on arXiv",
        f"arXiv id not found, line {typo_line}: 2211.00539 ('Interpretability in the Wild: a Circuit for "
        "Indirect Object Identification in GPT-2 small')",
        f"arXiv id not found, lines {refusal_line}, {refusal_line + 1}: 2406.11717 ('Refusal in Language "
        "Models Is Mediated by a Single Direction')",
    ]


def test_a_list_title_with_a_short_name_stays_its_arxiv_paper(
        local_arxiv: LocalArxivServer, seed_list: str, taxonomy: Any, store: Any, embedder: Any,
        extractor: Any) -> None:
    """QA: "ROME: ..." linked to 2202.05262 became a second paper next to the stored 2202.05262."""
    from ingest.awesome_list import parse_list
    from ingest.pipeline import run_ingest

    rows = ("| [ROME: Locating and Editing Factual Associations in GPT]"
            "(https://arxiv.org/abs/2202.05262) | R. |",
            "| [Towards Automated Circuit Discovery for Mechanistic Interpretability (ACDC)]"
            "(https://arxiv.org/abs/2304.14997) | A. |",
            "| [Sparse Autoencoders Find Highly Interpretable Features in LMs]"
            "(https://arxiv.org/abs/2309.08600) | S. |")
    text, lines = _with_rows(seed_list, *rows)
    records = list(parse_list(text, taxonomy).papers)
    found, report = _source(local_arxiv).resolve(records)
    assert report["title_mismatch"] == [] and report["by_id"] == 19  # the seed's 17 and ACDC, SAEs by id
    summary = run_ingest(store, [*records, *found], source="list", embedder=embedder, extractor=extractor,
                         progress=False)
    assert summary.papers == 38 and summary.rejected == 0  # the seed's papers, none added
    for paper_id, line in zip(("2202.05262", "2304.14997", "2309.08600"), lines, strict=True):
        assert line in {r.line for r in store.get_paper(paper_id).list_rows}


def test_a_split_off_row_takes_its_identifiers_with_it(
        local_arxiv: LocalArxivServer, seed_list: str, taxonomy: Any, store: Any, embedder: Any,
        extractor: Any) -> None:
    """QA (/tmp/review2/split2.md): a row with its own DOI and another paper's [[arXiv]] link was split off,
    but its DOI stayed on the kept record, so the two merged again: the row was stored under 2202.05262
    with that DOI, and Toy Models got no row."""
    from ingest.awesome_list import parse_list
    from ingest.pipeline import run_ingest

    toy = ("| [Toy Models of Superposition](https://doi.org/10.48550/toy) [[arXiv]](https://arxiv.org/abs/2202.05262)"
           " | Wrong link. |")
    text, (toy_line,) = _with_rows(seed_list, toy)
    records = list(parse_list(text, taxonomy).papers)
    found, report = _source(local_arxiv).resolve(records)
    assert [m["lines"] for m in report["title_mismatch"]] == [[toy_line]]
    rome = next(r for r in records if r.arxiv_id == "2202.05262")
    assert rome.doi is None and not any("10.48550/toy" in u for u in [rome.source_id, *rome.urls])
    assert toy_line not in {row.line for row in rome.list_rows}
    run_ingest(store, [*records, *found], source="list", embedder=embedder, extractor=extractor,
               progress=False)
    stored_rome, stored_toy = store.get_paper("2202.05262"), store.get_paper("2209.10652")
    assert stored_rome.paper.doi is None and toy_line not in {r.line for r in stored_rome.list_rows}
    assert toy_line in {r.line for r in stored_toy.list_rows}
    assert len(store.paper_ids()) == 38


def _dated(arxiv_id: str, published: str, updated: str | None = None) -> dict[str, Any]:
    """A served paper with the dates given (served as given when unreadable: a broken feed)."""
    return {"arxiv_id": arxiv_id, "title": f"Paper {arxiv_id}", "published": published,
            "updated": updated or published, "categories": ["cs.LG"]}


# Clock QA: one unreadable date in one entry stopped the whole ingest ("arxiv ingest failed: day is out of
# range for month", a ValueError from the arxiv package's feed parser); years over 2100 were accepted,
# though a records file refuses them.
GOOD_A = _dated("2302.00001", "2023-02-20T10:00:00Z")
BAD_UPDATED = _dated("2302.00002", "2023-02-21T10:00:00Z", "2023-02-29T00:00:00Z")
GARBAGE_PUBLISHED = _dated("2302.00003", "garbage", "2023-02-22T00:00:00Z")
FAR_FUTURE = _dated("2302.00004", "2150-02-23T00:00:00Z")
FUTURE_UPDATE = _dated("2302.00005", "2023-02-24T00:00:00Z", "2150-01-01T00:00:00Z")
GOOD_B = _dated("2302.00006", "2023-02-25T10:00:00Z")
BAD_PUBLISHED = _dated("2302.00007", "2023-02-29T12:00:00Z")  # in a February 2023 window, by its digits
DATED = [GOOD_A, BAD_UPDATED, GARBAGE_PUBLISHED, FAR_FUTURE, FUTURE_UPDATE, GOOD_B, BAD_PUBLISHED]
KEPT = {"2302.00001": ("2023-02-20", "2023-02-20"), "2302.00002": ("2023-02-21", "2023-02-21"),
        "2302.00005": ("2023-02-24", "2023-02-24"), "2302.00006": ("2023-02-25", "2023-02-25")}


def test_an_entry_with_an_unusable_date_is_dropped_or_loses_that_date_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A bad <published>: the entry is dropped (no submission date to file it under); a bad <updated>:
    its <published> stands in. Both say which arXiv id, and which request."""
    with LocalArxivServer(DATED) as server, caplog.at_level("WARNING", logger="ingest.arxiv_source"):
        source = _source(server, retries=0)
        records = source.fetch_by_ids([d["arxiv_id"] for d in DATED])
    assert {r.arxiv_id: (r.published, r.updated) for r in records} == KEPT
    # Carried up, so a caller reports them as skipped, not as missing from arXiv (review: they were).
    assert source.skipped == ["2302.00003", "2302.00004", "2302.00007"]
    where = "7 ids from 2302.00001, page 1 (start=0)"
    dropped, kept = "entry skipped", "its 'published' date stands in for it"
    for vid, what, outcome in [
        ("2302.00002v1", "'updated' '2023-02-29T00:00:00Z' is an unreadable date (day is out of range for "
         "month)", kept),
        ("2302.00003v1", "'published' 'garbage' is an unreadable date (Invalid isoformat string: "
         "'garbage')", dropped),
        ("2302.00004v1", "'published' 2150-02-23 is outside the years 1900..2100", dropped),
        ("2302.00005v1", "'updated' 2150-01-01 is outside the years 1900..2100", kept),
        ("2302.00007v1", "'published' '2023-02-29T12:00:00Z' is an unreadable date (day is out of range "
         "for month)", dropped),
    ]:
        assert f"arXiv entry {vid} ({where}): {what}: {outcome}" in caplog.text


def test_a_list_id_whose_entry_has_an_unusable_date_is_reported_as_skipped_not_missing(taxonomy: Any) -> None:
    """Review: an entry dropped for an unusable date was reported as "arXiv id not found", which is false."""
    from ingest.arxiv_source import report_lines
    from ingest.awesome_list import parse_list

    text = ("# List\n\n## Circuits\n| Paper | TL;DR |\n| :--- | :--- |\n"
            "| [Paper 2302.00001](https://arxiv.org/abs/2302.00001) | good |\n"
            "| [Paper 2302.00003](https://arxiv.org/abs/2302.00003) | garbage date |\n"
            "| [Paper 2302.00009](https://arxiv.org/abs/2302.00009) | not served |\n")
    records = list(parse_list(text, taxonomy).papers)
    with LocalArxivServer([GOOD_A, GARBAGE_PUBLISHED]) as server:
        _found, report = _source(server, retries=0).resolve(records)
    assert report["by_id"] == 1
    assert report["ids_not_found"] == [{"arxiv_id": "2302.00009", "title": "Paper 2302.00009", "lines": [8]}]
    assert report["unusable_date"] == [{"arxiv_id": "2302.00003", "title": "Paper 2302.00003", "lines": [7]}]
    assert report_lines(report) == [
        "arXiv: 1 by id, 0 by title, 0 without an arXiv match, 1 id not found on arXiv, 1 id skipped "
        "(unusable arXiv date)",
        "arXiv id not found, line 8: 2302.00009 ('Paper 2302.00009')",
        "arXiv id skipped (unusable arXiv date), line 7: 2302.00003 ('Paper 2302.00003')",
    ]


def test_paging_goes_on_past_a_page_whose_entries_were_all_dropped() -> None:
    """One entry a page: the newest entry's page is dropped whole; neither taken for a suspicious empty
    page (retried, then failed) nor for the end of the results."""
    window = dict(start_date=date(2023, 2, 1), end_date=date(2023, 3, 31))
    with LocalArxivServer(DATED) as server:
        source = _source(server, retries=0, page_size=1)
        found = {r.arxiv_id: (r.published, r.updated) for r in source.search("cat:cs.LG", **window)}
        assert server.requests and "start=0" in server.requests[0]
        updated = {r.arxiv_id for r in source.updated_since("cat:cs.LG", date(2023, 2, 1))}
    assert found == KEPT
    assert updated == set(KEPT)
    assert set(source.skipped) == {"2302.00003", "2302.00004", "2302.00007"}  # each time a page dropped it


def test_the_source_keeps_arxivs_time_from_the_date_of_its_answers() -> None:
    """arXiv's clock, not this machine's: the latest Date header of its 200 answers (the weekly ingest
    checks its window end against it). The local server's Date is put 5 days ahead: it is what is kept."""
    offset = timedelta(days=5)
    with LocalArxivServer([GOOD_A], clock_offset=offset) as server:
        source = _source(server, retries=0)
        assert source.server_time is None
        before = datetime.now(UTC).replace(microsecond=0)
        source.fetch_by_ids(["2302.00001"])
        after = datetime.now(UTC)
    assert source.server_time is not None and before + offset <= source.server_time <= after + offset


@pytest.mark.parametrize(("value", "read"), [
    ("Wed, 21 Oct 2015 07:28:00 GMT", datetime(2015, 10, 21, 7, 28, tzinfo=UTC)),
    ("Wed, 21 Oct 2015 09:28:00 +0200", datetime(2015, 10, 21, 7, 28, tzinfo=UTC)),
    ("Wed Oct 21 07:28:00 2015", datetime(2015, 10, 21, 7, 28, tzinfo=UTC)),  # asctime: GMT
    ("soon", None), ("", None), (None, None), ("30", None),
])
def test_an_http_date_is_read_in_utc_and_an_unreadable_one_ignored(value: str | None,
                                                                    read: datetime | None) -> None:
    assert http_date(value) == read


def test_a_date_the_arxiv_package_cannot_read_is_an_arxiv_error_naming_the_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Should a date form get past the check: an ArxivError naming the request, not a bare ValueError."""
    import ingest.arxiv_source as arxiv_source

    monkeypatch.setattr(arxiv_source, "_drop_bad_dates", lambda root, where: [])
    refused = pytest.raises(ArxivError, match=(
        r"^arXiv feed has an unreadable date \(day is out of range for month\); no paper of this page was "
        r"used \(2 ids from 2302.00001, page 1 \(start=0\)\)$"))
    with LocalArxivServer([GOOD_A, BAD_UPDATED]) as server, refused:
        _source(server, retries=0).fetch_by_ids(["2302.00001", "2302.00002"])


# -- Retry-After: design QA, DESIGN.md §10 lists it; 429/5xx were retried on our backoff alone -----------
def _pauses(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The retry pauses the module sleeps, recorded instead of slept (delay 0: no rate-limit sleeps)."""
    import ingest.arxiv_source as arxiv_source

    pauses: list[float] = []
    monkeypatch.setattr(arxiv_source.time, "sleep", pauses.append)
    return pauses


@pytest.mark.parametrize(("kind", "retry_after", "backoff", "pause", "said"), [
    ("503", "30", 1.0, 30.0, "retry 1/2 in 30.00 s (Retry-After)"),
    ("429", "30", 1.0, 30.0, "arXiv request failed (id 2211.00593, page 1 (start=0): HTTP 429); "
     "retry 1/2 in 30.00 s (Retry-After)"),
    ("503", "2", 5.0, 5.0, "retry 1/2 in 5.00 s"),  # the backoff is longer: it stands
    ("503", "86400", 1.0, 300.0, "retry 1/2 in 300.00 s (Retry-After '86400' capped at 300 s)"),
    ("503", "9" * 400, 1.0, 300.0, f"retry 1/2 in 300.00 s (Retry-After '{'9' * 40}' capped at 300 s)"),
    ("503", "soon", 1.0, 1.0,
     "retry 1/2 in 1.00 s (Retry-After 'soon' ignored: not seconds or an HTTP-date)"),
    ("503", "-30", 1.0, 1.0, "retry 1/2 in 1.00 s (Retry-After '-30' ignored"),
    ("503", "30.5", 1.0, 1.0, "retry 1/2 in 1.00 s (Retry-After '30.5' ignored"),
])
def test_a_retry_waits_for_retry_after(local_arxiv: LocalArxivServer, monkeypatch: pytest.MonkeyPatch,
                                       caplog: pytest.LogCaptureFixture, kind: str, retry_after: str,
                                       backoff: float, pause: float, said: str) -> None:
    """The pause is the longer of the backoff and Retry-After, at most RETRY_AFTER_MAX; a value that is
    neither delay-seconds nor an HTTP-date is ignored, and the warning says which set the pause."""
    from ingest.arxiv_source import RETRY_AFTER_MAX

    pauses = _pauses(monkeypatch)
    local_arxiv.retry_after = retry_after
    local_arxiv.fail_next(kind)
    with caplog.at_level("WARNING", logger="ingest.arxiv_source"):
        records = _source(local_arxiv, delay=0.0, backoff=backoff).fetch_by_ids(["2211.00593"])
    assert [r.arxiv_id for r in records] == ["2211.00593"] and len(local_arxiv.requests) == 2
    assert pauses == [pause] and pause <= max(backoff, RETRY_AFTER_MAX)
    assert said in caplog.text
    if "Retry-After" not in said:
        assert "Retry-After" not in caplog.text


def test_retry_after_against_a_doubling_backoff(local_arxiv: LocalArxivServer,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Each retry takes the larger of its own backoff (1, 2, 4 s) and the header's 3 s."""
    pauses = _pauses(monkeypatch)
    local_arxiv.retry_after = "3"
    local_arxiv.fail_next("503", 3)
    _source(local_arxiv, delay=0.0, backoff=1.0, retries=3).fetch_by_ids(["2211.00593"])
    assert pauses == [3.0, 3.0, 4.0]


def test_retry_after_as_an_http_date(local_arxiv: LocalArxivServer, monkeypatch: pytest.MonkeyPatch,
                                     caplog: pytest.LogCaptureFixture) -> None:
    from datetime import UTC, datetime, timedelta
    from email.utils import format_datetime

    pauses = _pauses(monkeypatch)
    local_arxiv.retry_after = format_datetime(datetime.now(UTC) + timedelta(seconds=200), usegmt=True)
    local_arxiv.fail_next("503")
    with caplog.at_level("WARNING", logger="ingest.arxiv_source"):
        _source(local_arxiv, delay=0.0, backoff=1.0).fetch_by_ids(["2211.00593"])
    # The date has whole seconds and the request took some: a little under 200 s, far above the backoff.
    [pause] = pauses
    assert 150 < pause <= 200 and "(Retry-After)" in caplog.text
    # A date already past asks for no wait: the backoff stands.
    pauses.clear()
    local_arxiv.retry_after = "Wed, 21 Oct 2015 07:28:00 GMT"
    local_arxiv.fail_next("503")
    _source(local_arxiv, delay=0.0, backoff=1.0).fetch_by_ids(["2211.00593"])
    assert pauses == [1.0]


def test_an_http_date_retry_after_is_counted_from_the_answers_own_date(
    local_arxiv: LocalArxivServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """This machine's clock 10 minutes fast: arXiv's "retry at 19:02" was already past by it, and only the
    backoff was waited (review). Counted from the answer's Date, it is the 120 s arXiv asked for."""
    from datetime import UTC, datetime, timedelta
    from email.utils import format_datetime

    pauses = _pauses(monkeypatch)
    local_arxiv.clock_offset = timedelta(seconds=-600)  # arXiv's clock, ten minutes behind this machine's
    arxiv_now = datetime.now(UTC) - timedelta(seconds=600)
    local_arxiv.retry_after = format_datetime(arxiv_now + timedelta(seconds=120), usegmt=True)
    local_arxiv.fail_next("503")
    _source(local_arxiv, delay=0.0, backoff=1.0).fetch_by_ids(["2211.00593"])
    [pause] = pauses
    assert 110 < pause <= 121  # whole seconds in both dates, and the request took some


@pytest.mark.parametrize(("value", "seconds"), [
    ("120", 120.0), (" 0 ", 0.0),
    ("Thu, 26 Nov 2026 19:02:00 GMT", 120.0),  # IMF-fixdate
    ("Thursday, 26-Nov-26 19:02:00 GMT", 120.0),  # obsolete RFC 850 form
    ("Thu Nov 26 19:02:00 2026", 120.0),  # obsolete asctime form (no zone: GMT)
    ("Thu, 26 Nov 2026 18:00:00 GMT", 0.0),  # past: no wait
    ("-120", None), ("1.5", None), ("soon", None), ("", None), (None, None), ("١٢٠", None),
])
def test_retry_after_values(value: str | None, seconds: float | None) -> None:
    from datetime import UTC, datetime

    from ingest.arxiv_source import retry_after_seconds

    assert retry_after_seconds(value, now=datetime(2026, 11, 26, 19, 0, tzinfo=UTC)) == seconds


def test_a_first_page_with_no_results_is_taken_at_once(local_arxiv: LocalArxivServer,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    """QA (weekly reader): a query with genuinely no results (totalResults 0 on its first page, arXiv's
    answer) was asked again four times with warnings on every run; it is arXiv's answer, as `arxiv` takes
    it."""
    pauses = _pauses(monkeypatch)
    with caplog.at_level(logging.INFO, logger="ingest"):
        found = list(_source(local_arxiv, delay=0.0, backoff=1.5).search(
            "ti:nothingmatchesthis", start_date=date(2020, 1, 1), end_date=date(2025, 1, 1)))
    assert found == [] and pauses == [] and len(local_arxiv.requests) == 1
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_a_later_page_saying_no_results_is_retried_not_the_end(local_arxiv: LocalArxivServer,
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    """An empty page mid-pagination is arXiv's flaky page even when it says totalResults 0: retried with
    the backoff (it ended the search silently, losing the later pages' papers)."""
    pauses = _pauses(monkeypatch)
    window = dict(start_date=date(2022, 1, 1), end_date=date(2023, 12, 31))
    clean = [r.arxiv_id for r in _source(local_arxiv, delay=0.0, page_size=5).search("cat:cs.LG", **window)]
    assert len(clean) > 10  # three pages at least
    local_arxiv.requests.clear()
    local_arxiv.fail_next("zero", 2, matching="start=5&")  # the second page, twice
    with caplog.at_level(logging.WARNING, logger="ingest"):
        got = [r.arxiv_id for r in _source(local_arxiv, delay=0.0, page_size=5, backoff=1.5, retries=3)
               .search("cat:cs.LG", **window)]
    assert got == clean
    assert pauses == [1.5, 3.0]
    assert len(local_arxiv.requests) == -(-len(clean) // 5) + 2
    assert "empty page saying totalResults=0 although earlier pages said" in caplog.text
    local_arxiv.fail_next("zero", 3, matching="start=5&")
    with pytest.raises(ArxivError, match=r"empty page saying totalResults=0 .*page 2 \(start=5\)"):
        list(_source(local_arxiv, delay=0.0, page_size=5, backoff=1.5, retries=2)
             .search("cat:cs.LG", **window))
