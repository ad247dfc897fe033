"""What's new (api.feeds.default_new_window, GET /api/new, the New page): one default window for the page
and the API that gives a weekly reader each paper once, the window said in plain words with UTC, the
page's feed link and latest ingest, new papers with their techniques and models, an unencoded `+`."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from api.app import create_app
from ingest.pipeline import ingest_records_file
from kg.embedded import EmbeddedStore
from tests.api.conftest import app_config
from tests.embedders import HashEmbedder

# What ingest.weekly records its runs under (kg.schema.RUN_SOURCE_WEEKLY, checked below).
WEEKLY_RUN_SOURCE = "arxiv-weekly"
# Dates relative to today (UTC): the API's default before the fix was "today - 7 days".
TODAY = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _day(days: int, hour: int = 0, minute: int = 0) -> datetime:
    """`days` after today (before it when negative) at hour:minute UTC."""
    return TODAY + timedelta(days=days, hours=hour, minutes=minute)


def _stamp(moment: datetime) -> str:
    """A time as the store writes its times (kg.validation.now)."""
    return moment.isoformat(timespec="microseconds")


def _record(n: int, title: str, **extra: Any) -> dict[str, Any]:
    return {"arxiv_id": f"2611.{n:05d}v1", "title": title, "authors": ["Ada Lovelace"],
            "abstract": "We train sparse autoencoders on Pythia activations and use activation patching.",
            "published": "2026-11-01", "year": 2026, "primary_category": "cs.LG", **extra}


@pytest.fixture
def client(empty_store: EmbeddedStore, tmp_path: Path) -> FlaskClient:
    return create_app(app_config(tmp_path, STORE=empty_store, EMBEDDER=HashEmbedder())).test_client()


Clock = Callable[[datetime], None]


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Set the store's clock (first_seen, run start and end times)."""
    def at(moment: datetime) -> None:
        monkeypatch.setattr("kg.validation.now", lambda: _stamp(moment))
    return at


def _ingest(empty_store: EmbeddedStore, tmp_path: Path, records: list[dict[str, Any]]) -> None:
    path = tmp_path / "records.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    ingest_records_file(empty_store, path, embedder=HashEmbedder(), progress=False)


def _weekly_run(empty_store: EmbeddedStore, tmp_path: Path, clock: Clock, started: datetime,
                records: list[dict[str, Any]], status: str = "succeeded") -> None:
    """A weekly run as ingest.weekly records one: started, its papers loaded a minute later, ended."""
    clock(started)
    run = empty_store.start_run(WEEKLY_RUN_SOURCE)
    if records:
        clock(started + timedelta(minutes=1))
        _ingest(empty_store, tmp_path, records)
    clock(started + timedelta(minutes=2))
    empty_store.finish_run(run.id, status)


def _api_ids(client: FlaskClient) -> set[str]:
    body = client.get("/api/new?limit=100").get_json()
    return {r["id"] for r in body["results"]}


def _page(client: FlaskClient, url: str = "/new") -> str:
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return response.get_data(as_text=True)


def _page_ids(html: str) -> set[str]:
    return set(re.findall(r'data-paper-row data-paper-id="([^"]+)"', html))


def test_reading_the_default_window_after_each_weekly_run_shows_each_paper_once(
        empty_store: EmbeddedStore, client: FlaskClient, clock: Clock, tmp_path: Path) -> None:
    """Weekly-reader QA: the default "this week" of the page (7 days before the latest run's day, from
    midnight) and of the API (today - 7 days, from midnight) each held two Monday 06:00 runs, so every
    paper came in two digests. Read once after each weekly run, the default window (page and API alike)
    now holds the latest run's papers and those added since the run before, each paper once; a failed
    weekly run in between is no boundary."""
    _weekly_run(empty_store, tmp_path, clock, _day(-14, 6), [_record(1, "Paper zero")])
    _weekly_run(empty_store, tmp_path, clock, _day(-7, 6), [_record(2, "Paper A")])
    clock(_day(-7, 8))  # read on the Monday, after the run
    first = _api_ids(client)
    first_page = _page(client)
    assert first == _page_ids(first_page) == {"2611.00002"}
    window = client.get("/api/new").get_json()
    assert window["window"] == "previous_weekly_run"
    # When the run before ended, to the microsecond.
    assert window["since"] == _day(-14, 6, 2).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    clock(_day(-5, 10))  # a records ingest on Wednesday
    _ingest(empty_store, tmp_path, [_record(3, "Paper L, from a records file")])
    _weekly_run(empty_store, tmp_path, clock, _day(-4, 6), [], status="failed")
    _weekly_run(empty_store, tmp_path, clock, _day(0, 6), [_record(4, "Paper B")])
    second = _api_ids(client)
    second_page = _page(client)
    assert second == _page_ids(second_page) == {"2611.00003", "2611.00004"}
    assert not first & second
    # The page says which window it shows, with UTC.
    previous_end = _day(-7, 6, 2).strftime("%Y-%m-%d %H:%M UTC")
    latest_start = _day(0, 6).strftime("%Y-%m-%d %H:%M UTC")
    assert f"<h1>New since {previous_end}</h1>" in second_page
    assert (f"2 papers added since the weekly arXiv run before the latest one ended ({previous_end})"
            in second_page)
    assert f"the papers of the latest weekly arXiv run (started {latest_start})" in second_page
    # The date field is left blank: submitting it unchanged keeps the window (a day's midnight would not).
    assert 'name="since" value=""' in second_page
    # The pager and a given since keep the window's exact start.
    since = client.get("/api/new").get_json()["since"]
    assert _page_ids(_page(client, f"/new?since={since}")) == second


def test_the_default_window_without_two_weekly_runs(
        empty_store: EmbeddedStore, client: FlaskClient, clock: Clock, tmp_path: Path) -> None:
    """No ingest: the last 7 days. No weekly run: the 7 days before the latest ingest started (page and
    API alike; the API counted from today's date). One weekly run: since it started."""
    from api.feeds import default_new_window

    now = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    assert default_new_window(empty_store, now=now).since == "2026-03-03T12:00:00.000000Z"
    assert default_new_window(empty_store, now=now).rule == "last_7_days"
    started = TODAY - timedelta(days=30)  # long ago: today's last 7 days hold none of its papers
    clock(started)
    _ingest(empty_store, tmp_path, [_record(5, "Loaded once")])
    body = client.get("/api/new").get_json()
    assert body["window"] == "week_before_latest_ingest"
    assert [r["id"] for r in body["results"]] == ["2611.00005"]
    assert body["since"] == (started - timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    html = _page(client)
    assert _page_ids(html) == {"2611.00005"}
    assert "No weekly arXiv run has succeeded yet" in html and "UTC" in html
    weekly_start = TODAY - timedelta(days=20)
    _weekly_run(empty_store, tmp_path, clock, weekly_start, [_record(6, "First weekly")])
    body = client.get("/api/new").get_json()
    assert body["window"] == "only_weekly_run" and [r["id"] for r in body["results"]] == ["2611.00006"]
    assert _page_ids(_page(client)) == {"2611.00006"}


def test_the_page_names_the_latest_ingest_for_people_and_its_feed_keeps_a_given_since(
        empty_store: EmbeddedStore, client: FlaskClient, clock: Clock, tmp_path: Path) -> None:
    """It said "Latest ingest: arxiv-weekly-load" (the load inside a weekly run, an internal name), and
    its Atom link dropped the page's since."""
    clock(_day(-1, 6))
    # The load of its papers is a run of its own, started later.
    weekly = empty_store.start_run(WEEKLY_RUN_SOURCE)
    load = empty_store.start_run("arxiv-weekly-load")
    empty_store.finish_run(load.id, "succeeded")
    empty_store.finish_run(weekly.id, "succeeded")
    html = _page(client)
    assert "Latest ingest: weekly arXiv run, " in html and "arxiv-weekly-load" not in html
    assert 'class="feed" href="/feeds/new.atom"' in html  # the default window: the plain feed
    given = _page(client, "/new?since=2026-01-01")
    assert 'class="feed" href="/feeds/new.atom?since=2026-01-01"' in given


def test_new_papers_have_the_techniques_and_models_a_digest_needs(
        empty_store: EmbeddedStore, client: FlaskClient, clock: Clock, tmp_path: Path) -> None:
    """Digest-script QA: /api/new results lacked the techniques search results have, and the models, so
    a script asked /api/papers/{id} for every paper."""
    clock(TODAY)
    _ingest(empty_store, tmp_path, [_record(8, "Sparse autoencoders on Pythia")])
    result = client.get("/api/new").get_json()["results"][0]
    detail = client.get(f"/api/papers/{result['id']}").get_json()
    hit = client.get("/api/search?q=&technique=activation_patching").get_json()["results"][0]
    assert hit["id"] == result["id"]
    assert {t["id"] for t in result["techniques"]} == {t["id"] for t in hit["techniques"]} == {
        t["id"] for t in detail["techniques"]} >= {"sae", "activation_patching"}
    assert all(set(t) == {"id", "label", "matched"} and t["matched"] is False for t in result["techniques"])
    labelled = {(t["id"], t["label"]) for t in result["techniques"]}
    assert labelled == {(t["id"], t["label"]) for t in hit["techniques"]}
    assert result["models"] == detail["models"] and [m["id"] for m in result["models"]] == ["pythia"]
    assert set(result) >= set(hit) - {"score", "why"}  # every field of a search result but its ranking


def test_an_offset_typed_with_an_unencoded_plus_is_read(client: FlaskClient) -> None:
    """`since=2026-11-27T08:05:22+01:00` typed in a URL arrives as "...08:05:22 01:00" (a + in a query
    string is a space): it was a 400 without a hint."""
    body = client.get("/api/new?since=2026-11-27T08:05:22+01:00").get_json()
    assert body["since"] == "2026-11-27T08:05:22+01:00" and body["window"] == "given"
    html = _page(client, "/new?since=2026-11-27T08:05:22+01:00")
    assert "New since 2026-11-27T08:05:22+01:00" in html


def test_the_weekly_run_source_is_the_weekly_ingests() -> None:
    """One name in kg.schema for the ingest and the web app; the stored value of existing stores' runs."""
    from ingest.weekly import RUN_SOURCE
    from kg.schema import RUN_SOURCE_WEEKLY

    assert WEEKLY_RUN_SOURCE == RUN_SOURCE_WEEKLY == RUN_SOURCE


def test_every_run_source_has_a_name_for_people() -> None:
    from api.params import RUN_SOURCES
    from api.web import RUN_SOURCE_LABELS

    assert set(RUN_SOURCE_LABELS) == set(RUN_SOURCES)
