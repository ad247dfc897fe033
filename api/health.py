"""Health checks: /healthz (process up), /readyz (store reachable, for a load balancer) and GET /api/status
(for monitoring: the weekly ingest's freshness and the embedding model, 503 listing what is wrong; stored
papers extracted with another taxonomy or extractor are a notice, which leaves it 200)."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request

from api.app import get_store, model_status, paperkg_config, query_model_mismatch
from api.errors import RETRY_AFTER_SECONDS, error_response, store_error_text
from api.json_api import bp as api_bp
from api.params import bool_arg, int_arg
from api.public_text import public_text
from ingest.store_lock import LOCK_NAME, holder_state
from kg.entities import IngestRun
from kg.schema import RUN_SOURCE_WEEKLY
from kg.store import REEXTRACT_ADVICE, GraphStore, StoreDamaged, StoreError
from kg.taxonomy import Taxonomy

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)

# GET /api/status: a weekly success older than this many days is a problem. One day past the week, so a
# run late by hours does not page anyone, while a missed run does.
WEEKLY_MAX_AGE_DAYS = 8
MAX_AGE_DAYS_LIMIT = 366
# Weekly runs read at first: they hold the newest success unless that many runs in a row failed.
RECENT_WEEKLY_RUNS = 20
# What /readyz and GET /api/status say of the embedding model (api.app.model_status), and the problems
# GET /api/status lists (the OpenAPI document's enums and descriptions).
MODEL_STATES = ("ok", "loading", "not_loaded", "unavailable")
MODEL_STATES_TEXT = ("this process's embedding model, as it knows it without loading it: ok (loaded), "
                     "loading (the start-up preload is under way), not_loaded (nothing has asked for it yet; "
                     "the servers preload it at start) or unavailable (the last load failed, e.g. no model "
                     "installed: semantic and hybrid search answer 503 model_unavailable)")
STATUS_PROBLEMS = {
    "store_unavailable": "the store cannot be reached or holds no paperkg store",
    "store_damaged": "the store file is damaged",
    "model_unavailable": "the embedding model could not be loaded",
    "model_mismatch": "the store's papers were embedded by another model than the server's",
    "weekly_failed": "the newest finished weekly ingest run failed",
    "weekly_stale": "the newest weekly success is older than max_age_days",
    "weekly_missing": "no weekly run has succeeded (only with require_weekly=true)",
    "weekly_interrupted": "the newest weekly run is recorded as running, but no ingest holds the store lock: "
                          "its process ended (killed or crashed) before it could record its end",
}
# What GET /api/status lists as notices: worth knowing, but a to-do rather than a failure, so the status
# stays ok (200) when they are all it finds. An upgrade that bumps EXTRACTOR_VERSION, or any taxonomy
# edit, makes every stored paper stale until reextract runs: as a problem it paged monitoring (review).
STATUS_NOTICES = {
    "extraction_stale": "stored papers were extracted with another taxonomy or extractor than "
                        "PAPERKG_TAXONOMY's (the file was edited, or paperkg upgraded): their tags stay old "
                        "until `paperkg ingest reextract` runs",
}
# How much of a failed run's message a problem repeats (the whole one, up to 2,000 characters, is in
# weekly.last_message).
PROBLEM_MESSAGE_CHARS = 300


# Health answers must never come from a cache: a shared proxy with a default lifetime (Varnish: 120 s)
# would otherwise show monitoring a stale "ok".
HEALTH_CACHE_CONTROL = "no-store"


@bp.after_request
def _never_cached(response: Response) -> Response:
    """/healthz and /readyz, their error answers included, marked not to be stored by any cache."""
    response.headers["Cache-Control"] = HEALTH_CACHE_CONTROL
    return response


@api_bp.after_request
def _status_never_cached(response: Response) -> Response:
    """GET /api/status's answers, a 400 for a bad parameter included, marked as /healthz's are."""
    if request.endpoint == "api.service_status":
        response.headers["Cache-Control"] = HEALTH_CACHE_CONTROL
    return response


@bp.get("/healthz")
def healthz() -> Response:
    """The process is up (does not touch the store)."""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz() -> Response:
    """The store answers a ping; 503 with the JSON error every route gives for that store error when it
    does not (api.errors.store_error_text: code store_unavailable or store_damaged). `model` says what the
    process knows of its embedding model (never loaded for the probe).

    The ping is one small query, not an integrity check (that reads the whole file: too slow per probe on
    a large store), so a damaged page elsewhere shows only when a request reads it (a 503 naming it).
    A missing model leaves the instance ready: every instance of a deployment has the same model, so
    taking them out of rotation would turn a search outage (keyword search, browsing, the papers, the
    feed and the API all work without a model) into a total one; GET /api/status reports it as a problem."""
    try:
        get_store().ping()
    except StoreError as exc:
        # The full reason (the file, the server) goes to the log; the probe says what every other answer
        # says of the same failure (api.errors.store_error_text), never SQLite's or the driver's text.
        log.log(logging.ERROR if isinstance(exc, StoreDamaged) else logging.WARNING, "readiness: %s", exc)
        text = store_error_text(exc)
        return error_response(503, text.json_message, text.json_code)
    return jsonify({"status": "ready", "model": model_status()})


@api_bp.get("/status")
def service_status() -> Response:
    """200 when the weekly ingest and the embedding model are as they should be, else 503 listing the
    problems; `notices` (stored papers extracted with another taxonomy or extractor) never fail it. A few
    small queries (the ingest lock only while a run is recorded running; the embedded papers' models once
    per store, see query_model_mismatch; the papers' extraction hashes once per store state, see
    stale_extractions), no model load: safe to poll often."""
    max_age_days = int_arg("max_age_days", WEEKLY_MAX_AGE_DAYS, 1, MAX_AGE_DAYS_LIMIT)
    require_weekly = bool_arg("require_weekly", False)
    problems: list[dict[str, str]] = []
    notices: list[dict[str, str]] = []
    model = model_status()
    if model == "unavailable":
        problems.append(_problem("model_unavailable", "the embedding model could not be loaded (the "
                                 "server log says why): semantic and hybrid search, the default, answer "
                                 "503"))
    weekly: dict[str, Any] | None = None
    stale: int | None = None
    try:
        weekly = weekly_status(get_store(), datetime.now(UTC), max_age_days)
        if weekly["last_message"]:
            # Anyone can open this answer: the servers the message names are written as their variables
            # (the store, and the run's own output, keep it whole).
            weekly["last_message"] = _public_reason(weekly["last_message"])
        if model == "ok" and query_model_mismatch() is not None:
            problems.append(_problem("model_mismatch", "the store's papers were embedded by another model "
                                     "than this server's (the server log says which): semantic and hybrid "
                                     "search, the default, answer 503"))
        stale = stale_extractions()
    except StoreError as exc:
        log.warning("status: %s", exc)  # the file and the cause stay in the log
        text = store_error_text(exc)
        problems.append(_problem(text.json_code, text.json_message))
    if weekly is not None:
        problems += weekly_problems(weekly, require_weekly=require_weekly)
    if stale:
        notices.append(_problem("extraction_stale", f"{stale_text(stale)}: {REEXTRACT_ADVICE}"))
    response = jsonify({"status": "failing" if problems else "ok", "problems": problems, "notices": notices,
                        "model": model, "weekly": weekly})
    if problems:
        response.status_code = 503
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


_STALE_KEY = "paperkg_extraction_stale"  # the app's _StaleCounter
# How long stale_extractions trusts a count while the store's newest run stays the same: a backstop for
# a write no run records (every ingest and reextract records one) or a store file put in place of another.
STALE_RECHECK_SECONDS = 600.0


@dataclass(frozen=True)
class _StaleCount:
    """One count of the stale extractions, and the state it was made in."""

    store: GraphStore
    taxonomy: Taxonomy
    run: IngestRun | None  # the store's newest run, every field (its id, start, end, status and counts)
    when: float  # time.monotonic()
    count: int

    def holds_for(self, store: GraphStore, taxonomy: Taxonomy, run: IngestRun | None) -> bool:
        """Whether the count is still the store's: nothing it depends on changed, and it is recent."""
        return (self.store is store and self.taxonomy is taxonomy and self.run == run
                and time.monotonic() - self.when < STALE_RECHECK_SECONDS)


class _StaleCounter:
    """An app's (a worker's) last count, and the lock a request holds while it counts again."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.last: _StaleCount | None = None


def stale_extractions() -> int | None:
    """How many stored papers `paperkg ingest reextract` would extract again (their stored extraction was
    made with another taxonomy or extractor than PAPERKG_TAXONOMY's): ingest.reextract.check_extractions,
    hashes only, no model (about 0.3 s for 10,000 papers). Counted again only when the store object, the
    taxonomy file (api.taxonomy_file.full_taxonomy: one stat) or the store's newest ingest run (one small
    query: an ingest or reextract starts or ends) changes, else every STALE_RECHECK_SECONDS, and by one
    request at a time: the others answer with the last count meanwhile (wait for it when there is none
    yet). None when the taxonomy file cannot be read (logged once)."""
    from api.taxonomy_file import full_taxonomy, warn_once

    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        taxonomy = full_taxonomy()
    except ValueError as exc:
        warn_once(f"stored papers' extractions not checked: {exc}")
        return None
    store = get_store(app)
    newest = store.runs(limit=1)
    run = newest[0] if newest else None
    counter: _StaleCounter = app.extensions.setdefault(_STALE_KEY, _StaleCounter())
    last = counter.last
    if last is not None and last.holds_for(store, taxonomy, run):
        return last.count
    # Single flight: requests arriving together at expiry (monitoring, About views, several pollers)
    # would each read every paper's hash, on Neo4j for seconds each.
    if last is None:
        counter.lock.acquire()
    elif not counter.lock.acquire(blocking=False):
        return last.count  # another request is counting again: the last count stands until it is done
    try:
        last = counter.last
        if last is not None and last.holds_for(store, taxonomy, run):
            return last.count  # counted by the request this one waited for
        from ingest.reextract import check_extractions

        count = len(check_extractions(store, taxonomy=taxonomy).stale)
        counter.last = _StaleCount(store, taxonomy, run, time.monotonic(), count)
        return count
    finally:
        counter.lock.release()


def stale_text(n: int) -> str:
    """"1 stored paper was extracted with another taxonomy or extractor", "3 stored papers were …"."""
    return (f"{n} stored {'paper was' if n == 1 else 'papers were'} extracted with another taxonomy or "
            "extractor")


def weekly_status(store: GraphStore, now: datetime, max_age_days: int, *, recheck: bool = True
                  ) -> dict[str, Any]:
    """The weekly ingest's state: its newest success (when it finished, how many hours ago), its newest
    finished run's status and message, and the start of a run under way (or of one recorded as running
    whose process has ended: nobody holds the ingest lock)."""
    recent = store.runs(RUN_SOURCE_WEEKLY, RECENT_WEEKLY_RUNS)
    success = next((r for r in recent if r.status == "succeeded"), None)
    if success is None and len(recent) == RECENT_WEEKLY_RUNS:  # more failures in a row than were read
        found = store.runs(RUN_SOURCE_WEEKLY, 1, status="succeeded")
        success = found[0] if found else None
    finished = next((r for r in recent if r.status != "running"), None)
    running = recent[0] if recent and recent[0].status == "running" else None
    interrupted = None
    if running is not None and not _ingest_alive(store, now):
        # The run may have ended, and let the lock go, between the two reads: only a run still recorded
        # running once nobody holds the lock was interrupted; one that ended is read again, as it ended.
        newest = store.runs(RUN_SOURCE_WEEKLY, 1)
        if recheck and not (newest and newest[0].id == running.id and newest[0].status == "running"):
            return weekly_status(store, now, max_age_days, recheck=False)
        running, interrupted = None, running
    when = _stamp(success) if success is not None else None
    age = None if when is None else round(max((now - when).total_seconds(), 0.0) / 3600, 1)
    return {"last_success": None if success is None else success.finished or success.started,
            "age_hours": age, "max_age_days": max_age_days,
            "last_status": None if finished is None else finished.status,
            "last_finished": None if finished is None else finished.finished,
            "last_message": None if finished is None else finished.message,
            "running_since": None if running is None else running.started,
            "interrupted_since": None if interrupted is None else interrupted.started}


def _ingest_alive(store: GraphStore, now: datetime) -> bool:
    """Whether an ingest holds the store lock: its holder is alive on this host, or (another host's or pid
    space's, which cannot be checked) its lock is not yet expired, as its keeper refreshes it."""
    held = store.lock_holder(LOCK_NAME)
    if held is None:
        return False
    state = holder_state(held[0]).state
    return state == "alive" or (state == "foreign" and held[1] > now.timestamp())


def weekly_problems(weekly: dict[str, Any], *, require_weekly: bool) -> list[dict[str, str]]:
    """What is wrong with the weekly ingest: its newest finished run failed, its newest success is older
    than max_age_days, or (only when `require_weekly`: a store loaded from the list or a records file
    alone, the demo's or a private one, never has one) no weekly run has succeeded."""
    problems = []
    if weekly["last_status"] == "failed":
        message = weekly["last_message"] or "no message recorded"
        if len(message) > PROBLEM_MESSAGE_CHARS:
            message = message[:PROBLEM_MESSAGE_CHARS - 1] + "…"
        problems.append(_problem("weekly_failed", f"the last weekly ingest run (finished "
                                 f"{weekly['last_finished']}) failed: {message}"))
    if weekly["interrupted_since"] is not None:
        problems.append(_problem("weekly_interrupted", f"the weekly ingest run started "
                                 f"{weekly['interrupted_since']} is recorded as running, but no ingest holds "
                                 "the store lock: its process ended (killed or crashed) before it could "
                                 "record its end; the next ingest records it as failed"))
    age = weekly["age_hours"]
    if age is not None and age > weekly["max_age_days"] * 24:
        problems.append(_problem("weekly_stale", f"no weekly ingest has succeeded for {age / 24:.1f} days "
                                 f"(the last success finished {weekly['last_success']}): more than "
                                 f"max_age_days, {weekly['max_age_days']}"))
    elif weekly["last_success"] is None and require_weekly:
        # Without require_weekly, weekly runs that all failed are told by weekly_failed already.
        problems.append(_problem("weekly_missing", "no weekly ingest has succeeded (require_weekly=true)"))
    return problems


def _stamp(run: IngestRun) -> datetime | None:
    """When the run ended (else began) as an aware datetime; None when the stored text is not a time."""
    text = run.finished or run.started
    try:
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        log.warning("status: run %s has a time that cannot be read: %r", run.id, text)
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _problem(code: str, message: str) -> dict[str, str]:
    return {"code": code, "message": message}


def _public_reason(reason: str) -> str:
    """The reason (a weekly run's message) with the data directory and the configured servers written as
    their variables (api.public_text): the server's paths, internal host names and ports stay in its log,
    as on every other answer, while the message still says what went wrong."""
    return public_text(reason, paperkg_config())
