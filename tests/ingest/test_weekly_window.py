"""ingest/weekly.py: the window a weekly run asks arXiv for (from the store's run history, or --since),
and one candidate per paper when arXiv answers two versions of it (a real store, a local arXiv server)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ingest.arxiv_server import LocalArxivServer
from ingest.arxiv_source import ArxivSource
from ingest.weekly import CLOCK_TOLERANCE, RUN_SOURCE, collect_candidates, iso, plan_window, window_for
from kg.store import GraphStore

NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


@pytest.mark.parametrize("since", ["2026-11-23T06:00:00Z", "2026-11-24", "2027-01-01"])
def test_a_since_at_or_after_now_is_an_empty_window(store: GraphStore, since: str) -> None:
    """A --since of now or later asks arXiv for nothing: a clear ValueError, not a run that moves the
    watermark over a window it never fetched."""
    with pytest.raises(ValueError, match=r"^empty window: start .* is not before end 2026-11-23T06:00:00Z$"):
        window_for(store, since=since, now=NOW)
    assert window_for(store, since="2026-11-23T05:59:59Z", now=NOW)[:2] == (NOW - timedelta(seconds=1), NOW)


def _finish(store: GraphStore, status: str, window_start: datetime,
            watermark: datetime | None = None) -> None:
    """Record a finished weekly run with its window start (and watermark when it moved it)."""
    run = store.start_run(RUN_SOURCE)
    store.finish_run(run.id, status, counts={"window_start": iso(window_start)},
                     watermark=iso(watermark) if watermark else None)


def test_a_failed_run_before_the_watermark_moved_adds_no_start(store: GraphStore) -> None:
    """A run failed (its window from 14 days back), then a later run succeeded and moved the watermark:
    what the failed run missed was fetched by the later one, so the next window starts at the watermark
    less arXiv's announcement lag, not back at the failed run's start."""
    _finish(store, "failed", NOW - 14 * DAY)
    _finish(store, "succeeded", NOW - 14 * DAY, watermark=NOW - 7 * DAY)
    assert window_for(store, since=None, now=NOW) == (NOW - 10 * DAY, NOW, None)
    # A run failing after the watermark moved is retried whole.
    _finish(store, "failed", NOW - 12 * DAY)
    assert window_for(store, since=None, now=NOW) == (NOW - 12 * DAY, NOW, None)


def _entry(version: int, abstract: str, updated: datetime) -> dict[str, object]:
    """One version of one MI paper as the local arXiv server serves it."""
    return {"arxiv_id": "2611.10001", "version": version, "abstract": abstract,
            "title": "Sparse Autoencoders Find Features in GPT-2", "authors": ["Test Author"],
            "published": iso(NOW - 5 * DAY),
            "updated": iso(updated), "categories": ["cs.CL"], "primary_category": "cs.CL"}


@pytest.mark.parametrize("newest_first", [True, False])
def test_two_versions_of_one_paper_are_one_candidate_the_newest(newest_first: bool) -> None:
    entries = [_entry(1, "Version one.", NOW - 5 * DAY), _entry(2, "Version two.", NOW - 2 * DAY)]
    with LocalArxivServer(entries[::-1] if newest_first else entries) as server:
        server.ignore_sort = True  # answered in the order given, as arXiv sometimes does
        source = ArxivSource(url=server.url, delay=0.0, timeout=5.0, retries=1, backoff=0.01)
        found = collect_candidates(source, ["cat:cs.CL"], NOW - 7 * DAY, NOW)
    assert [(r.arxiv_id, r.version, r.abstract) for r in found] == [("2611.10001", 2, "Version two.")]


def test_a_watermark_ahead_of_the_clock_is_not_trusted(store: GraphStore) -> None:
    """Clock QA: one run with the clock 5 days fast stored its window end as the watermark; every later
    run failed with "empty window" until real time passed watermark - 3 days, and then started there,
    never fetching the papers between the fast run and that point. The window now starts from the latest
    watermark not ahead of the clock, the run that failed since it included."""
    _finish(store, "succeeded", NOW - 14 * DAY, watermark=NOW - 7 * DAY)
    _finish(store, "failed", NOW - 12 * DAY)  # failed after the last trusted watermark: retried
    _finish(store, "succeeded", NOW - 10 * DAY, watermark=NOW + 5 * DAY)  # the clock was 5 days fast
    _finish(store, "succeeded", NOW - 10 * DAY, watermark=NOW + 6 * DAY)  # and again
    window = plan_window(store, since=None, now=NOW)
    assert (window.start, window.end, window.gap) == (NOW - 12 * DAY, NOW, None)
    assert window.future_watermark == NOW + 6 * DAY  # the newest one, named in the warning
    assert window_for(store, since=None, now=NOW) == (NOW - 12 * DAY, NOW, None)
    # --since works as before; later than the trusted watermark, it leaves a gap from there.
    assert window_for(store, since="2026-11-20", now=NOW) == (NOW - 3 * DAY - 6 * HOUR, NOW, NOW - 7 * DAY)
    assert window_for(store, since="2026-11-10", now=NOW)[::2] == (NOW - 13 * DAY - 6 * HOUR, None)


def test_with_only_watermarks_ahead_of_the_clock_the_window_is_the_first_runs(store: GraphStore) -> None:
    _finish(store, "succeeded", NOW - 7 * DAY, watermark=NOW + 4 * DAY)
    window = plan_window(store, since=None, now=NOW)
    assert (window.start, window.end, window.gap, window.future_watermark) == (
        NOW - 7 * DAY, NOW, None, NOW + 4 * DAY)


def test_a_watermark_less_than_an_hour_ahead_is_trusted(store: GraphStore) -> None:
    """Within CLOCK_TOLERANCE: a clock a little behind the one that set it."""
    _finish(store, "succeeded", NOW - 7 * DAY, watermark=NOW + CLOCK_TOLERANCE)
    window = plan_window(store, since=None, now=NOW)
    assert (window.start, window.future_watermark) == (NOW + CLOCK_TOLERANCE - 3 * DAY, None)
