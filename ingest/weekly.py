"""The weekly arXiv ingest: query new papers of the taxonomy's field (MI for the shipped taxonomy) since
the watermark, gate them, load the kept ones.

One run: take the store's ingest lock, shared by every writing ingest (ingest.store_lock: a killed
run's lock is taken over at once when that run was on this host and its pid is gone) -> window
[start, now], start = --since, else the earliest of: watermark - 3 days (arXiv's announcement lag),
the window start of every weekly run that failed or was killed since the last run that moved the
watermark, and (without a watermark) now - 7 days. A watermark more than CLOCK_TOLERANCE ahead of the
clock (set by a run whose clock was fast) is not trusted: the latest one not ahead of the clock stands
in for it, and the run warns ->
taxonomy query(ies) restricted to the configured categories, every page (the source retries 503s,
timeouts and sporadic empty pages mid-pagination; a query part whose first page says totalResults 0
while other parts have papers is asked once more after the backoff, at INFO, since arXiv sometimes
answers a valid query so; still empty, it has no papers in the window, at INFO) -> de-duplicate on
(arXiv id, version), newest version wins ->
known papers (matched by arXiv id, DOI or title, as the pipeline matches) go straight to the pipeline
(a new version updates them, and is not judged by the gate again; new versions of stored papers
submitted before the window come from a second walk in lastUpdatedDate order), new ones pass the
relevance gate, and so do new versions (v2 or later) that the walk finds of candidates an earlier run
rejected and that are not stored: retitled or rewritten, such a paper may be MI now, and the
submittedDate query never returns it again (they count as candidates) -> rejections recorded -> kept
records with the title of another arXiv paper (a re-post under a new id, most likely) named in the
summary as possible duplicates (two arXiv ids are two papers: loaded apart; the load warns) -> the
kept records through `run_ingest` (its own IngestRun, source "arxiv-weekly-load", linked from the
weekly run's counts) -> the IngestRun "arxiv-weekly" succeeds with watermark = window end, unless the
window starts after what had to be covered (a --since later than the watermark: a gap), which moves no
watermark. Any failure marks the run failed and leaves the watermark where it was, so the next run
covers the whole window again (upserts make the overlap harmless).

arXiv's clock: the window end is this machine's clock (wall_clock), so a run whose clock is fast would
store a watermark days ahead of what it could fetch, and the next runs, a week later when that time is
past, would start there. When the window end is more than CLOCK_TOLERANCE ahead of arXiv's time (the
latest Date header of its answers, a clock this machine does not set), the watermark is arXiv's time,
with a warning. A run given `now` (tests, callers) trusts it as today's time.

Long queries: arXiv serves GET requests and rejects very long search_query strings, so the OR'ed
term list is split into several queries of at most MAX_QUERY_CHARS characters each (every one
keeps the category and date clauses); their results are merged and de-duplicated.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from ingest.normalize import strip_arxiv_version, title_key
from ingest.records import Record
from ingest.relevance import GENERIC_TECHNIQUES, RelevanceDecision, RelevanceGate, rejection_for
from ingest.store_lock import LOCK_TTL_SECONDS, IngestLocked, ingest_lock, warn_unrecorded
from ingest.summary import possible_duplicate_text, shortened, written_paper_noted, written_paper_text
from kg.config import Config, load_config
from kg.entities import IngestRun, Paper, Rejection
from kg.safe_output import terminal_safe
from kg.schema import RUN_SOURCE_WEEKLY, RUN_SOURCE_WEEKLY_LOAD, Label
from kg.store import REEXTRACT_ADVICE, GraphStore
from kg.taxonomy import MAX_QUERY_TERM_CHARS, Taxonomy, load_taxonomy
from kg.validation import SINCE_RULE, parse_since

if TYPE_CHECKING:
    from ingest.embed import TextEmbedder
    from ingest.extract import PaperExtractor

log = logging.getLogger(__name__)

RUN_SOURCE = RUN_SOURCE_WEEKLY
# The papers a weekly run keeps are loaded by run_ingest under this source (its own IngestRun, named in
# the weekly run's counts as "load_run"), so `source=arxiv` lists only `ingest arxiv --ids` runs.
LOAD_SOURCE = RUN_SOURCE_WEEKLY_LOAD
# How many recent weekly runs are read to find those that failed since the watermark last moved.
RUN_HISTORY = 1000
DEFAULT_WINDOW = timedelta(days=7)
# arXiv lists a submission only once it is announced, up to ~3 days after its submittedDate (weekends,
# holds), so a window starting exactly at the last watermark would miss late-announced papers.
# Windows that start from a watermark reach this far back; re-seen papers are simply unchanged.
ANNOUNCE_LAG = timedelta(days=3)
# A watermark later than the clock by more than this was set by a run whose clock was fast (it stores its
# window end, the wall clock): trusted, it would make every window empty until real time caught up, and
# then start days after what that run could fetch. Within it, a clock a little behind another's.
CLOCK_TOLERANCE = timedelta(hours=1)
# A failed run's window is redone by the next runs only this far back: a failed manual backfill
# (--since 2020-01-01) is the user's to run again, not every scheduled run's to repeat (and fail).
RETRY_LOOKBACK = timedelta(days=28)
MAX_QUERY_CHARS = 1000
# How the rejection of a paper the load refused starts (`ingest rejected` shows it unscored).
REFUSED_REASON = "refused by the load: "
# How many refused papers, and updated papers with a note (another id, withdrawn, reinstated), the
# one-line text names.
_NOTED_SHOWN = 10
# arXiv gets dozens of MI papers a week; a window this long with none at all is far more likely a flaky
# empty answer (totalResults 0) than a quiet week, so the run fails and the watermark stays, unless the
# last-updated walk found a new version to load and no paper submitted in the window (_check_empty_window).
EMPTY_WINDOW_IS_SUSPICIOUS = timedelta(days=2)
# MI phrases beyond the technique aliases (the field's own name and its most specific objects).
MI_TERMS = (
    "mechanistic interpretability", "interpretability", "circuit discovery", "circuit analysis",
    "induction heads", "superposition", "polysemanticity", "monosemanticity", "residual stream",
    "attention heads", "interpretable features", "feature circuits",
)
# Aliases too generic for a query term: they would flood the window with other fields' papers.
_QUERY_STOPWORDS = frozenset({
    "knockout", "knock out", "knocked out", "lesion", "lesioning", "visualization", "visualisation",
    "saliency", "denoising", "noising", "direct effect", "indirect effect", "mediation analysis",
    "replacement model", "probe", "probes", "sparse coding", "attribution score", "explainer model",
    "simulator model", "neuron description", "feature labeling", "head pruning", "learned lens",
    "interchange intervention", "interchange interventions", "patching experiments", "causal intervention",
    "causal interventions", "interventional analysis",
})


def wall_clock() -> datetime:
    """This machine's clock, in UTC: the end of a window not given `now` (one place, for tests to set)."""
    return datetime.now(UTC)


class WeeklyError(RuntimeError):
    """The weekly run failed; it is recorded as failed and the watermark did not move.

    `summary` is the failed run's summary (status "failed"), when the run was recorded."""

    def __init__(self, message: str, summary: WeeklySummary | None = None) -> None:
        super().__init__(message)
        self.summary = summary


# Another ingest holds the store lock (the name weekly callers have always caught).
WeeklyLocked = IngestLocked


@dataclass
class WeeklySummary:
    """What one weekly run did."""

    run_id: str
    window_start: str
    window_end: str
    queries: int = 0
    # Distinct papers returned for the window and judged in it: the submittedDate query's, plus new
    # versions of candidates rejected before (`rejudged`), which the last-updated walk finds.
    candidates: int = 0
    known: int = 0  # candidates already in the graph (new versions go straight to the pipeline)
    kept: int = 0  # new candidates the gate kept
    rejected: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    new_ids: list[str] = field(default_factory=list)
    rejections: list[dict[str, Any]] = field(default_factory=list)
    status: str = "succeeded"
    # Query parts (1-based) arXiv answered with no papers in the window (totalResults 0), asked twice when
    # other parts had papers.
    empty_queries: list[int] = field(default_factory=list)
    load_run: str | None = None  # the run_ingest run that loaded the papers (source LOAD_SOURCE)
    watermark: str | None = None  # the watermark this run set (None: failed, or a gap run)
    gap_from: str | None = None  # a gap run: papers from here to window_start were not fetched
    # A stored watermark ahead of the clock, not trusted (see CLOCK_TOLERANCE); None: there was none.
    future_watermark: str | None = None
    # arXiv's time (its answers' Date) when the window end, this machine's clock, was more than
    # CLOCK_TOLERANCE ahead of it: the watermark this run set in its place; None: the clock was not ahead.
    arxiv_clock: str | None = None
    # arXiv ids of the entries arXiv answered that were skipped for an unusable date (no candidates).
    skipped: list[str] = field(default_factory=list)
    since: bool = False  # the window start was given (--since), not reckoned from the watermark
    # arXiv ids of new versions of candidates an earlier run rejected, judged again by the gate (among the
    # kept or rejected; one stored since under its DOI or title is known, not judged). In the JSON only:
    # the stored run counts keep the API's RunCounts fields.
    rejudged: list[str] = field(default_factory=list)
    # Kept candidates with the title of another arXiv paper (ingest.list_match.possible_duplicates: a
    # re-post under a new id, most likely), loaded as papers of their own with a warning. In the JSON only,
    # as `rejudged`.
    possible_duplicates: list[dict[str, Any]] = field(default_factory=list)
    # The papers the load updated, as `ingest --json` lists them (IngestSummary.updated_papers: paper_id,
    # title, lines, with previous_title, previous_id and withdrawn_change when they apply). In the JSON
    # only, as `rejudged`; the text names those moved to another id, withdrawn or no longer withdrawn.
    updated_papers: list[dict[str, Any]] = field(default_factory=list)
    # The papers the load stored new, likewise (IngestSummary.new_papers); the text names those arXiv
    # already lists as withdrawn.
    new_papers: list[dict[str, Any]] = field(default_factory=list)
    # Papers the load refused (arxiv_id, title, reason: no title, a text over its limit, not valid
    # Unicode, ...): kept or known, not stored, so new + updated + unchanged + refused add up to what was
    # loaded. Recorded as rejections (`ingest rejected` lists the new ones: it leaves stored papers out).
    # In the JSON only, as `rejudged`.
    refused: list[dict[str, Any]] = field(default_factory=list)
    # Stored papers, after the load, whose stored extraction is another taxonomy's or extractor's than
    # this run's (a taxonomy file edited since they were written, paperkg upgraded): `paperkg ingest
    # reextract` extracts them again (ingest.reextract.check_extractions). The run's own papers are not
    # among them: the load extracts what it writes. In the JSON and the text, not the run's counts.
    stale_extractions: int = 0

    def counts(self) -> dict[str, Any]:
        """The counts stored on the IngestRun."""
        return {
            "window_start": self.window_start, "window_end": self.window_end, "queries": self.queries,
            "candidates": self.candidates, "known": self.known, "kept": self.kept,
            "rejected": self.rejected, "new": self.new, "updated": self.updated,
            "unchanged": self.unchanged, "empty_queries": list(self.empty_queries),
            "load_run": self.load_run, "gap_from": self.gap_from,
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {"run_id": self.run_id, "status": self.status, **self.counts(), "watermark": self.watermark,
                "future_watermark": self.future_watermark, "arxiv_clock": self.arxiv_clock,
                "skipped": list(self.skipped), "rejudged": list(self.rejudged), "new_ids": self.new_ids,
                "possible_duplicates": self.possible_duplicates, "new_papers": self.new_papers,
                "updated_papers": self.updated_papers, "refused": self.refused, "rejections": self.rejections,
                "stale_extractions": self.stale_extractions}

    def text(self) -> str:
        """Human summary for the CLI and the scheduler log, counts that add up: the window's candidates
        are known + kept + rejected (new versions of candidates rejected before, judged again, among the
        kept and rejected), and new versions of older stored papers found by the separate last-updated
        walk (which `known` includes) and entries skipped for an unusable date (no candidates: no record
        was made of them) are counted apart."""
        known_in_window = max(self.candidates - self.kept - self.rejected, 0)
        older = max(self.known - known_in_window, 0)
        candidates = "candidate" if self.candidates == 1 else "candidates"
        queries = "query" if self.queries == 1 else "queries"
        text = (f"weekly arXiv ingest {self.window_start} -> {self.window_end}: {self.candidates} "
                f"{candidates} from {self.queries} {queries} ({known_in_window} known, {self.kept} kept, "
                f"{self.rejected} rejected")
        if self.rejudged:
            n = len(self.rejudged)
            text += (f"; {n} of them {'a new version of a paper' if n == 1 else 'new versions of papers'} "
                     "rejected before, judged again")
        text += ")"
        if older:
            versions = "version" if older == 1 else "versions"
            text += f" + {older} new {versions} of older papers (last-updated walk)"
        if self.skipped:
            entries = "entry" if len(self.skipped) == 1 else "entries"
            ids = ", ".join(self.skipped)
            text += f"; {len(self.skipped)} arXiv {entries} skipped (unusable date): {ids}"
        text += f"; loaded {self.new} new, {self.updated} updated, {self.unchanged} unchanged"
        if self.refused:  # named, or they vanished from a run reporting success (QA)
            shown = _first_named([f"{terminal_safe(e['arxiv_id'])}: {terminal_safe(e['reason'])}"
                                  for e in self.refused])
            text += f", {len(self.refused)} refused, not stored ({shown})"
        text += f" (run {self.run_id})"
        for what, papers in (("new", self.new_papers), ("updated", self.updated_papers)):
            noted = [p for p in papers if written_paper_noted(p)]
            if noted:  # one line, as the possible duplicates: moved to another id, withdrawn, reinstated
                text += f"; {what}: {_first_named([written_paper_text(p) for p in noted])}"
        if self.possible_duplicates:  # one line: the scheduler logs this text as one record
            n = len(self.possible_duplicates)
            text += (f"; {n} possible {'duplicate' if n == 1 else 'duplicates'} (stored apart, check "
                     f"{'it' if n == 1 else 'them'}): "
                     + "; ".join(possible_duplicate_text(e) for e in self.possible_duplicates))
        if self.gap_from:
            text += (f"; watermark not moved: the window starts after {self.gap_from}, so papers from "
                     f"{self.gap_from} to {self.window_start} were not fetched (run without --since to "
                     "fetch them)")
        if self.future_watermark:
            text += f"; {future_watermark_note(self.future_watermark, self.window_end, since=self.since)}"
        if self.arxiv_clock:
            text += f"; {arxiv_clock_note(self.window_end, self.arxiv_clock, watermark=self.watermark)}"
        if self.stale_extractions:  # the one thing to do that no later weekly run does by itself
            n = self.stale_extractions
            text += (f"; {n} stored {'paper' if n == 1 else 'papers'} not loaded by this run "
                     f"{'was' if n == 1 else 'were'} extracted with another taxonomy or extractor: "
                     f"{REEXTRACT_ADVICE}")
        return text


def future_watermark_note(watermark: str, clock: str, *, since: bool = False) -> str:
    """What a run says about a stored watermark ahead of its clock (see CLOCK_TOLERANCE); `since`: the
    window start was given (--since), so only the gap check reckons from the watermarks."""
    said = (f"the stored watermark {watermark} is ahead of the clock ({clock}), set by a run whose clock was "
            "fast: ")
    if since:
        return said + ("not trusted: the window starts at --since, and whether it leaves a gap is judged "
                       "from the latest watermark not ahead of the clock; check this machine's clock")
    return said + ("not trusted, the window is reckoned from the latest watermark not ahead of the clock "
                   f"(less the {ANNOUNCE_LAG.days}-day announcement lag; with none, from "
                   f"{DEFAULT_WINDOW.days} days back); check this machine's clock")


def _duration(delta: timedelta) -> str:
    """A positive duration for a message, to the minute: "5 days 2 h 3 min", "1 h 30 min"."""
    minutes = int(delta.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    text = f"{hours} h {minutes} min"
    return f"{days} {'day' if days == 1 else 'days'} {text}" if days else text


def arxiv_clock_note(clock: str, arxiv_time: str, *, watermark: str | None) -> str:
    """What a run says when its window end, this machine's clock, is ahead of arXiv's time (see
    CLOCK_TOLERANCE); `watermark`: the one the run set (None: a failed or gap run set none)."""
    ahead = _duration(parse_when(clock) - parse_when(arxiv_time))
    text = (f"this machine's clock is ahead of arXiv's by {ahead} (the window ends at {clock}, arXiv's "
            f"answers are dated {arxiv_time})")
    if watermark == arxiv_time:
        text += f": the watermark is arXiv's time, {arxiv_time}, not the window end"
    elif watermark is not None:
        text += (f": the watermark is the window start, {watermark}, since arXiv's answers are dated "
                 "before it (a stale answer from a cache or proxy?)")
    return text + "; check this machine's clock"


# -- window ---------------------------------------------------------------------------------
def parse_when(value: str | date | datetime) -> datetime:
    """A `since` (text by kg.validation.parse_since, the API's rule), a date or a datetime as an aware
    UTC datetime: a date is its midnight UTC, a naive datetime is taken as UTC. ValueError, before any
    run is recorded, for text that breaks the rule or a moment a datetime cannot hold in UTC."""
    if isinstance(value, str):
        value = parse_since(value)  # the stored watermarks and window starts (iso) keep the rule too
    if not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"out of range: {value.isoformat()!r} (use {SINCE_RULE})") from None


def iso(moment: datetime) -> str:
    """UTC timestamp with a Z suffix, to the second (the watermark format)."""
    # isoformat, not strftime("%Y"), which writes year 1 as "1": a window start no parser reads back.
    return moment.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def _history(store: GraphStore, end: datetime
             ) -> tuple[datetime | None, list[datetime], datetime | None]:
    """(the watermark, the window starts of weekly runs that failed or were killed since the last run
    that moved it, back to RETRY_LOOKBACK before `end`, a newer watermark ahead of `end`).

    A watermark more than CLOCK_TOLERANCE ahead of `end` is not trusted (the third item is the newest
    such): the latest one that is not stands in for it, and the runs that failed since that one count.
    A killed run never recorded its window: without a watermark it had started 7 days before it began
    (with one, from the watermark, which the next window covers anyway)."""
    mark = store.last_watermark(RUN_SOURCE)
    watermark = parse_when(mark) if mark else None
    ahead = None
    if watermark is not None and watermark - end > CLOCK_TOLERANCE:
        ahead, watermark = watermark, None
    starts: list[datetime] = []
    killed: list[datetime] = []
    for run in store.runs(RUN_SOURCE, limit=RUN_HISTORY):
        if run.status == "succeeded":
            if not run.watermark:
                continue  # a gap run: it covered its own window only
            if ahead is None:
                break  # the run that set the watermark
            moment = parse_when(run.watermark)
            if moment - end <= CLOCK_TOLERANCE:
                watermark = moment
                break
            continue  # another watermark ahead of the clock: what its run fetched is fetched again
        recorded = (run.counts or {}).get("window_start")
        if recorded:
            try:
                starts.append(parse_when(recorded))
            except ValueError:  # e.g. "1-01-01T00:00:00Z", written for year 1 by older versions
                log.warning("weekly run %s recorded a window start that cannot be read (%r): not retried",
                            run.id, recorded)
        elif run.started:
            killed.append(parse_when(run.started) - DEFAULT_WINDOW)
    if watermark is None:
        starts += killed
    return watermark, [s for s in starts if end - s <= RETRY_LOOKBACK], ahead


@dataclass(frozen=True)
class Window:
    """The window a weekly run asks arXiv for (see window_for), and a stored watermark it did not trust."""

    start: datetime
    end: datetime
    gap: datetime | None
    future_watermark: datetime | None = None  # ahead of the clock by more than CLOCK_TOLERANCE


def plan_window(store: GraphStore, *, since: str | date | datetime | None, now: datetime | None,
                lag: timedelta = ANNOUNCE_LAG) -> Window:
    """window_for's window, with the stored watermark ahead of the clock that it left out (if any)."""
    end = parse_when(now) if now is not None else wall_clock().astimezone(UTC).replace(microsecond=0)
    watermark, failed, ahead = _history(store, end)
    if since is not None:
        start = parse_when(since)
    else:
        # Never empty: a trusted watermark is at most CLOCK_TOLERANCE (< lag) ahead of `end`.
        start = min([watermark - lag if watermark else end - DEFAULT_WINDOW, *failed])
    if start >= end:
        raise ValueError(f"empty window: start {iso(start)} is not before end {iso(end)}")
    first = watermark if watermark is not None else min(failed, default=None)
    return Window(start, end, first if first is not None and start > first else None, ahead)


def window_for(store: GraphStore, *, since: str | date | datetime | None, now: datetime | None,
               lag: timedelta = ANNOUNCE_LAG) -> tuple[datetime, datetime, datetime | None]:
    """(start, now, gap). start = --since, else the earliest of the last watermark - announcement lag
    (or, with no watermark, now - 7 days) and the window starts of the weekly runs that failed or were
    killed since the watermark last moved (so a failed week is retried whole, the first one included).
    A watermark more than CLOCK_TOLERANCE ahead of now is not trusted: the latest one that is not
    stands in for it (see plan_window for the one left out).

    gap: where the papers not yet fetched begin when a --since window leaves them out, else None. That
    is the watermark (everything before it was fetched by the runs that moved it, so runs that failed
    since it add nothing before it), else the earliest start of a run that failed."""
    window = plan_window(store, since=since, now=now, lag=lag)
    return window.start, window.end, window.gap


# -- query ----------------------------------------------------------------------------------
def _is_acronym(alias: str) -> bool:
    return (alias.replace("-", "").isupper() and len(alias) <= 6) or "*" in alias


def _words(term: str) -> tuple[str, ...]:
    return tuple(re.findall(r"[a-z0-9]+", term.casefold()))


def _subsumed(term: tuple[str, ...], by: tuple[str, ...]) -> bool:
    """Whether phrase `by` occurs inside phrase `term` (so every match of `term` matches `by`)."""
    n = len(by)
    return n < len(term) and any(term[i:i + n] == by for i in range(len(term) - n + 1))


def query_terms(taxonomy: Taxonomy) -> list[str]:
    """The field's own terms plus the taxonomy's technique aliases that are specific enough to query:
    MI_TERMS, _QUERY_STOPWORDS and the generic techniques but probing for a taxonomy without a `weekly:`
    block, else the block's query_terms, query_stopwords and generic_techniques."""
    settings = taxonomy.weekly
    if settings is None:
        extra: Sequence[str] = MI_TERMS
        stopwords = _QUERY_STOPWORDS
        # Probing's aliases are queried: most are MI spellings ("linear probe", "probing classifier").
        skipped = GENERIC_TECHNIQUES - {"probing"}
    else:
        # A generic technique's aliases are not queried, so its specific spellings are: without them its
        # papers were never candidates (field QA).
        specific = [p for phrases in settings.specific_phrases.values() for p in phrases]
        extra, stopwords = [*settings.query_terms, *specific], settings.query_stopwords
        skipped = settings.generic_techniques
    terms: dict[str, str] = {t.casefold(): t for t in extra}
    for node in taxonomy.of_label(Label.TECHNIQUE):
        if node.id in skipped:
            continue  # visualisation / ablation / saliency / PCA flood the window
        ambiguous = {a.casefold() for a in node.ambiguous_aliases}
        for alias in node.aliases:
            key = alias.casefold().strip()
            # An alias over MAX_QUERY_TERM_CHARS would not fit one query with the categories: every
            # weekly run failed on it (review); the file's own phrases are refused on load instead.
            if (not key or key in ambiguous or key in stopwords or _is_acronym(alias)
                    or '"' in alias or len(key) < 4 or len(key) > MAX_QUERY_TERM_CHARS):
                continue
            terms.setdefault(key, alias.strip())
    # A phrase containing a shorter query phrase adds no results ("sparse probing" vs "probing").
    # "zero-ablation" and "zero ablation" are one phrase to arXiv's tokenizer.
    words: dict[tuple[str, ...], str] = {}
    for term in terms.values():
        words.setdefault(_words(term), term)
    return [term for key, term in words.items()
            if key and not any(_subsumed(key, other) for other in words if other != key)]


def build_queries(terms: Sequence[str], categories: Sequence[str], max_chars: int = MAX_QUERY_CHARS
                  ) -> list[str]:
    """`(all:"t1" OR all:"t2" ...) AND (cat:c1 OR ...)` queries, each at most `max_chars` long."""
    if not terms:
        raise ValueError("no query terms")
    cats = " OR ".join(f"cat:{c}" for c in categories)
    suffix = f" AND ({cats})" if cats else ""
    budget = max_chars - len(suffix) - 2
    queries: list[str] = []
    current: list[str] = []
    for term in terms:
        clause = f'all:"{term}"'
        if len(clause) > budget:
            raise ValueError(f"query term too long for one query: {term!r}")
        if current and len(" OR ".join([*current, clause])) > budget:
            queries.append(f"({' OR '.join(current)}){suffix}")
            current = []
        current.append(clause)
    if current:
        queries.append(f"({' OR '.join(current)}){suffix}")
    return queries


# -- candidates -----------------------------------------------------------------------------
def _in_window(record: Record, start: datetime, end: datetime) -> bool:
    """Whether the record was submitted or updated in the window (arXiv dates are days)."""
    days = [d[:10] for d in (record.published, record.updated) if d]
    if not days:
        return True  # no date to judge by: the server's submittedDate filter already applied
    low, high = start.date().isoformat(), end.date().isoformat()
    return any(low <= d <= high for d in days)


@dataclass
class NewVersions:
    """What the last-updated walk found of papers first submitted before the window."""

    stored: list[Record]  # new versions of stored papers: loaded, never judged by the gate
    rejected: list[Record]  # new versions of candidates rejected before, not stored: judged again
    # Ids of papers the walk saw first submitted on or after the window's first day: what the submission
    # search should have returned (their v1 is dated then), so its empty answer was a failed one.
    submitted: list[str] = field(default_factory=list)


def newest_versions(records: Iterable[Record], skip: set[str]) -> dict[str, Record]:
    """The newest version of each paper among `records` by paper id, leaving out the ids in `skip`.

    An entry without a version number (arXiv always gives one) stands until a numbered one replaces it."""
    newest: dict[str, Record] = {}
    for record in records:
        pid = record.paper_id
        old = newest.get(pid)
        if pid not in skip and (old is None or (record.version or 0) > (old.version or 0)):
            newest[pid] = record
    return newest


def is_revision(record: Record) -> bool:
    """Whether `record` is a new version of its paper, not its first: version 2 or later, or (version
    unknown) updated after it was first published."""
    if record.version is not None:
        return record.version >= 2
    return bool(record.updated and record.published and record.updated > record.published)


def collect_new_versions(store: GraphStore, source: Any, queries: Sequence[str], start: datetime,
                         skip: set[str]) -> NewVersions:
    """New versions, posted since `start`, of papers first submitted before the window (the
    submittedDate query cannot see them): of stored papers, and of candidates an earlier run rejected
    that are not stored. Ids in `skip` are already candidates. The store is asked only about the new
    versions of papers not stored (which of them were rejected), and only when the walk found some.
    Also the papers the walk saw first submitted in the window: the check of an empty submission
    answer."""
    def walk() -> Iterable[Record]:
        for i, query in enumerate(queries, 1):
            yield from source.updated_since(query, start, label=f"query {i}/{len(queries)} (updates)")

    newest = newest_versions(walk(), skip)
    first_day = f"{start:%Y-%m-%d}"
    stored = {p.id: p for p in store.get_papers(sorted(newest))}
    revised = [r for pid, r in sorted(newest.items()) if pid not in stored and is_revision(r)]
    # A v1 is no news: the window that held its submission judged it (a re-seen one is in `skip`).
    rejected = store.rejected_arxiv_ids([r.arxiv_id or r.source_id for r in revised]) if revised else set()
    return NewVersions(
        stored=[r for pid, r in sorted(newest.items()) if pid in stored and is_newer_version(r, stored[pid])],
        rejected=[r for r in revised if (r.arxiv_id or r.source_id) in rejected],
        submitted=[pid for pid, r in sorted(newest.items()) if (r.published or "")[:10] >= first_day],
    )


def is_newer_version(record: Record, paper: Paper) -> bool:
    """Whether `record` is a newer arXiv version than the stored `paper`'s metadata.

    By version number when both are known: arXiv dates are days, so a version posted the same day as
    the stored one has the same date and would be skipped for good. A paper stored without a version
    (an older store, a paper not from arXiv) is compared by date, as before versions were kept."""
    if record.version is not None and paper.arxiv_version is not None:
        return record.version > paper.arxiv_version
    return (record.updated or "") > (paper.updated or paper.published or "")


def _query_results(source: Any, queries: Sequence[str], start: datetime, end: datetime,
                   empty_parts: list[int] | None) -> list[list[Record]]:
    """Each query's records. A query part without papers in the window (a first page saying
    totalResults 0) while other parts have some is asked once more, after the source's backoff, at INFO:
    arXiv sometimes answers a valid query that way (arXiv.py issues #119, #157), and its papers would be
    lost with the watermark moved past them. Still empty, it is arXiv's answer: accepted at INFO, its
    number noted. (The source retries the flaky empty pages mid-pagination; a window with no papers at
    all is judged by the caller.)"""
    n = len(queries)
    results = [list(source.search(query, start_date=start, end_date=end, label=f"query {i}/{n}"))
               for i, query in enumerate(queries, 1)]
    if not any(results):
        return results
    for i, query in enumerate(queries, 1):
        if results[i - 1]:
            continue
        # Once, not the source's full retry ladder with warnings: a quiet part (a narrow query, a short
        # window) is usual, and retry WARNINGs every Monday for a right answer made the log alarming.
        log.info("query part %d/%d had no papers; asking once more", i, n)
        time.sleep(_re_ask_pause(source))
        results[i - 1] = list(source.search(query, start_date=start, end_date=end, label=f"query {i}/{n}"))
        if not results[i - 1]:
            log.info("arXiv has no papers in the window for query %d/%d (%s), asked twice: accepted as empty",
                     i, n, query[:80] + ("..." if len(query) > 80 else ""))
            if empty_parts is not None:
                empty_parts.append(i)
    return results


def _re_ask_pause(source: Any) -> float:
    """The pause before asking an empty query part again: the source's first retry backoff (0 for a
    source without one, e.g. a test double)."""
    return max(float(getattr(source, "backoff", 0.0)), 0.0)


def collect_candidates(source: Any, queries: Sequence[str], start: datetime, end: datetime,
                       empty_parts: list[int] | None = None) -> list[Record]:
    """Every record of every query in the window, one per arXiv id (newest version wins).

    Pages may come in any order (arXiv sometimes ignores sortBy), so nothing stops early on dates:
    the source pages to totalResults, and duplicates across pages and queries are dropped by
    (id, version). Query parts without papers in the window are appended to `empty_parts` (1-based).
    """
    best: dict[str, Record] = {}
    seen: set[tuple[str, int | None]] = set()
    for records in _query_results(source, queries, start, end, empty_parts):
        for record in records:
            key = (record.arxiv_id or record.source_id, record.version)
            if key in seen or not _in_window(record, start, end):
                continue
            seen.add(key)
            pid = record.paper_id
            old = best.get(pid)
            if old is None or (record.version or 0) > (old.version or 0):
                best[pid] = record
    return list(best.values())


def _decide(store: GraphStore, gate: RelevanceGate, embedder: TextEmbedder, records: Sequence[Record]
            ) -> list[RelevanceDecision]:
    from ingest.embed import embed_with_cache, embedding_text

    # Through the store's embedding cache: the kept papers are not embedded a second time on load.
    vectors, _computed = embed_with_cache(
        embedder, store, [embedding_text(r.title, r.abstract or "") for r in records]
    )
    return gate.judge_many([(r.paper_id, r.title, r.abstract or "") for r in records], vectors)


def run_weekly(
    store: GraphStore,
    *,
    since: str | date | datetime | None = None,
    now: datetime | None = None,
    source: Any = None,
    embedder: TextEmbedder | None = None,
    taxonomy: Taxonomy | None = None,
    extractor: PaperExtractor | None = None,
    threshold: float | None = None,
    config: Config | None = None,
    owner: str | None = None,
    progress: bool = False,
    lock_ttl: int = LOCK_TTL_SECONDS,
    wait: float = 0.0,
    stop: threading.Event | None = None,
) -> WeeklySummary:
    """One weekly run (see the module docstring). Raises WeeklyLocked (after waiting up to `wait` seconds
    for another ingest to finish) or WeeklyError; LockWaitStopped, with nothing run or recorded, when
    `stop` is set while it waits for the lock. A stop (SIGTERM, Ctrl-C) carries the failed run as
    `summary`, or, once the run is recorded as succeeded (the lock being released), that run as
    `finished`."""
    config = config or load_config()
    finished: list[WeeklySummary] = []  # the run, once recorded as succeeded

    def said_finished(_type: object, exc: BaseException | None, _tb: object) -> None:
        # A stop (SIGTERM, Ctrl-C) after the run was recorded as succeeded, while the lock is released:
        # the caller must say the run finished, not that it failed or never started (ingest.cli.Stopping).
        if finished and exc is not None:
            exc.finished = finished[0]  # type: ignore[attr-defined]

    with contextlib.ExitStack() as stack:
        stack.push(said_finished)  # pushed first, so called last: after the lock's release
        held = stack.enter_context(ingest_lock(store, "weekly", owner=owner, ttl=lock_ttl, wait=wait,
                                               stop=stop))
        # Read before this run is recorded: a --since later than what still had to be covered leaves a
        # gap, and moving the watermark past it would lose those papers for good.
        window = plan_window(store, since=since, now=now)
        start, end, gap = window.start, window.end, window.gap
        run = store.start_run(RUN_SOURCE)
        summary = WeeklySummary(run_id=run.id, window_start=iso(start), window_end=iso(end),
                                gap_from=iso(gap) if gap else None,
                                future_watermark=iso(window.future_watermark) if window.future_watermark
                                else None, since=since is not None)
        log.info("weekly ingest %s: window %s -> %s", run.id, summary.window_start, summary.window_end)
        if summary.future_watermark:
            log.warning("weekly ingest %s: %s", run.id, future_watermark_note(
                summary.future_watermark, summary.window_end, since=summary.since))
        try:
            if source is None:
                from ingest.arxiv_source import ArxivSource

                source = ArxivSource(config)
            _run(store, summary, start, end, source=source, embedder=embedder, taxonomy=taxonomy,
                 extractor=extractor, threshold=threshold, config=config, progress=progress, held=held)
        except BaseException as exc:
            summary.status = "failed"
            # "KeyboardInterrupt" for Ctrl-C, not "KeyboardInterrupt: " (its message is empty).
            message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            try:
                store.finish_run(run.id, "failed", summary.counts(), message=message[:2000])
            except Exception as error:  # the original failure matters more: one warning
                warn_unrecorded(log, f"could not record weekly run {run.id} as failed", error, exc,
                                "it stays 'running' until the next ingest records it as failed")
            log.error("weekly ingest %s failed: %s (watermark unchanged)", run.id, message)
            if isinstance(exc, Exception):
                raise WeeklyError(f"weekly ingest failed, watermark unchanged: {message}", summary) from exc
            # A stop (SIGTERM, Ctrl-C) goes on as it is, carrying the failed run as a WeeklyError would,
            # so `ingest weekly --json` can still print it.
            exc.summary = summary  # type: ignore[attr-defined]
            raise
        summary.watermark = None if summary.gap_from else summary.window_end
        if now is None:  # the window end is this machine's clock: checked against arXiv's
            _check_clock(summary, start, end, getattr(source, "server_time", None))
        store.finish_run(run.id, "succeeded", summary.counts(), watermark=summary.watermark)
        finished.append(summary)
        if summary.gap_from:
            log.warning("weekly ingest %s: the window starts at %s, after %s: watermark not moved, so the "
                        "next run without --since fetches from there", run.id, summary.window_start,
                        summary.gap_from)
        # DEBUG: each caller reports the summary once, `ingest weekly` on stdout and `paperkg schedule`
        # in its "run N finished: ..." log line; at INFO it was there twice.
        log.debug("%s", summary.text())
        return summary


def _check_clock(summary: WeeklySummary, start: datetime, end: datetime, arxiv_time: datetime | None
                 ) -> None:
    """A window end more than CLOCK_TOLERANCE ahead of arXiv's time (the Date of its answers): the
    watermark the run sets is arXiv's time, not the window end, with a warning; never before the window
    start (a Date years old, from a stale cached answer, would have made the next window years long).
    A clock behind arXiv's needs nothing: the next window overlaps this one."""
    if arxiv_time is None or end - arxiv_time <= CLOCK_TOLERANCE:
        return
    summary.arxiv_clock = iso(arxiv_time)
    if summary.watermark is not None:
        summary.watermark = iso(max(arxiv_time, start))
    log.warning("weekly ingest %s: %s", summary.run_id, arxiv_clock_note(
        summary.window_end, summary.arxiv_clock, watermark=summary.watermark))


def _run(store: GraphStore, summary: WeeklySummary, start: datetime, end: datetime, *, source: Any,
         embedder: TextEmbedder | None, taxonomy: Taxonomy | None, extractor: PaperExtractor | None,
         threshold: float | None, config: Config, progress: bool, held: Any) -> None:
    from ingest.list_match import resolve_stored_ids
    from ingest.pipeline import run_ingest

    taxonomy = taxonomy or load_taxonomy(config.taxonomy)
    queries = build_queries(query_terms(taxonomy), config.arxiv_categories)
    summary.queries = len(queries)
    skipped_before = len(getattr(source, "skipped", ()))
    records = collect_candidates(source, queries, start, end, empty_parts=summary.empty_queries)
    summary.candidates = len(records)  # the failed run's counts, should the window be empty
    versions = collect_new_versions(store, source, queries, start, {r.paper_id for r in records})
    if not records and end - start >= EMPTY_WINDOW_IS_SUSPICIOUS:
        _check_empty_window(store, summary, start, end, versions, embedder=embedder, extractor=extractor,
                            taxonomy=taxonomy, config=config, progress=progress, held=held)
    # A new version of a rejected candidate is a candidate again: known (stored since under its DOI or
    # title) or judged by the gate like the window's own.
    records += versions.rejected
    summary.candidates = len(records)
    # Known = stored under its arXiv id, or (a list paper not yet linked to arXiv) its DOI or title.
    stored_ids = resolve_stored_ids(store, records) if records else []
    known_records = [r for r, sid in zip(records, stored_ids, strict=True) if sid]
    fresh = [r for r, sid in zip(records, stored_ids, strict=True) if not sid]
    # Judged again = gated: a new version stored since under its DOI or title is known, loaded unjudged.
    revised = {r.paper_id for r in versions.rejected}  # none is a window candidate (the walk skips those)
    summary.rejudged = [r.arxiv_id or r.source_id for r in fresh if r.paper_id in revised]
    if summary.rejudged:
        log.info("weekly ingest %s: new versions of candidates rejected before, judged again: %s",
                 summary.run_id, ", ".join(summary.rejudged))
    known_records += versions.stored
    summary.known = len(known_records)
    # Entries of this run's answers dropped for an unusable date, once each (one may match several parts).
    summary.skipped = sorted(set(list(getattr(source, "skipped", ()))[skipped_before:]))
    kept: list[Record] = []
    rejections: list[Rejection] = []
    if fresh:
        if embedder is None:
            from ingest.embed import get_embedder

            embedder = get_embedder(config.embedding_model or None)
        from ingest.embed import check_store_model

        # The gate compares candidates with the stored corpus: only meaningful in one model's space.
        check_store_model(store, embedder.model_name)
        gate_args: dict[str, Any] = {"extractor": extractor}
        if threshold is not None:
            gate_args["threshold"] = threshold
        gate = RelevanceGate.from_store(store, taxonomy, **gate_args)
        if not gate.corpus_ids:
            log.warning("the store holds no embedded papers, so the relevance gate keeps only candidates "
                        "naming a technique: load the list first (`paperkg ingest list`, or your own papers "
                        "with `paperkg ingest records`), then judge this window again with `paperkg ingest "
                        "weekly --since %s`", summary.window_start[:10])
        extractor = gate.extractor
        for record, decision in zip(fresh, _decide(store, gate, embedder, fresh), strict=True):
            if decision.keep:
                kept.append(record)
            else:
                rejections.append(rejection_for(record.arxiv_id or record.source_id, record.title,
                                                decision, summary.run_id))
    # Fetching and gating take a while: no write (rejections, papers, the run's success and watermark
    # over the "failed" the new holder recorded) once another ingest took the lock over meanwhile.
    held.check()
    store.record_rejections(rejections)
    summary.kept = len(kept)
    summary.rejected = len(rejections)
    summary.rejections = [{"arxiv_id": r.arxiv_id, "title": r.title, "reason": r.reason, "score": r.score}
                          for r in rejections]
    # Kept = new papers: one with another arXiv paper's title is loaded (two ids are two papers) and
    # named in the summary; the load warns of it (resolve_stored_ids).
    to_load = known_records + kept
    if to_load:
        loaded = run_ingest(store, to_load, source=LOAD_SOURCE, embedder=embedder, extractor=extractor,
                            taxonomy=taxonomy, progress=progress, lock=held)
        summary.load_run = loaded.run_id
        summary.new, summary.updated, summary.unchanged = loaded.new, loaded.updated, loaded.unchanged
        summary.new_ids = sorted(pid for pid, status in loaded.statuses.items() if status == "new")
        summary.new_papers, summary.updated_papers = loaded.new_papers, loaded.updated_papers
        # The load found them (and warned of each): kept candidates stored with another arXiv paper's title.
        summary.possible_duplicates = loaded.possible_duplicates
        _record_refused(store, summary, loaded.rejected_details, to_load, held)
    summary.stale_extractions = _stale_extractions(store, extractor, taxonomy)


def _stale_extractions(store: GraphStore, extractor: PaperExtractor | None, taxonomy: Taxonomy) -> int:
    """How many stored papers `paperkg ingest reextract` would extract again, by this run's extractor
    (else one of its taxonomy): hashes only, nothing extracted (about 0.3 s for 10,000 papers)."""
    from ingest.reextract import check_extractions

    return len(check_extractions(store, extractor=extractor, taxonomy=taxonomy).stale)


def _first_named(items: Sequence[str]) -> str:
    """The first _NOTED_SHOWN items of a one-line summary's list, then how many more --json lists."""
    more = len(items) - _NOTED_SHOWN
    return "; ".join(items[:_NOTED_SHOWN]) + (f"; and {more} more (--json lists them)" if more > 0 else "")


def _record_refused(store: GraphStore, summary: WeeklySummary, details: Sequence[dict[str, Any]],
                    loaded: Sequence[Record], held: Any) -> None:
    """The records the load refused (run_ingest's rejected_details: record.check(), no title, an id
    clash), named in the summary and recorded as rejections: the watermark moves past them, so unrecorded
    they were lost for good; recorded, `ingest rejected` lists them and the last-updated walk judges a
    new version of one again."""
    by_source = {shortened(r.source_id): r for r in loaded}
    refused: list[Rejection] = []
    for detail in details:
        source_id = str(detail.get("source_id") or "")
        record = by_source.get(source_id)
        arxiv_id = (record.arxiv_id if record is not None else None) or strip_arxiv_version(source_id) or "?"
        title = str(detail.get("title") or "")
        reason = str(detail.get("reason") or "refused")
        summary.refused.append({"arxiv_id": arxiv_id, "title": title, "reason": reason})
        refused.append(Rejection(arxiv_id=shortened(arxiv_id) or "?", title=title,
                                 reason=f"{REFUSED_REASON}{reason}", score=0.0, run_id=summary.run_id))
        log.warning("weekly ingest %s: arXiv %s refused by the load, not stored: %s", summary.run_id,
                    arxiv_id, reason)
    if refused:
        held.check()
        store.record_rejections(refused)


def _check_empty_window(store: GraphStore, summary: WeeklySummary, start: datetime, end: datetime,
                        versions: NewVersions, *, embedder: TextEmbedder | None,
                        extractor: PaperExtractor | None, taxonomy: Taxonomy, config: Config, progress: bool,
                        held: Any) -> None:
    """A long window whose submission search found nothing: accepted as a quiet window only when the
    last-updated walk, a second answer for the same queries, found a new version to load (of a stored or
    rejected paper) and saw no paper first submitted in the window; otherwise WeeklyError (the watermark
    stays, so the next run asks again for the whole window). The new versions of stored papers are
    loaded either way: updates that need no gate, seen as unchanged by the next run."""
    from ingest.pipeline import run_ingest

    if (versions.stored or versions.rejected) and not versions.submitted:
        # The walk answered and holds every paper updated since the window's start, a new submission
        # included: none, so the search's empty answer is arXiv's (a narrow taxonomy's quiet week).
        return  # the caller loads the new versions with the rest
    if versions.stored:
        held.check()
        loaded = run_ingest(store, versions.stored, source=LOAD_SOURCE, embedder=embedder,
                            extractor=extractor, taxonomy=taxonomy, progress=progress, lock=held)
        summary.load_run = loaded.run_id
        summary.known = len(versions.stored)
        summary.new, summary.updated, summary.unchanged = loaded.new, loaded.updated, loaded.unchanged
        summary.new_papers, summary.updated_papers = loaded.new_papers, loaded.updated_papers
        _record_refused(store, summary, loaded.rejected_details, versions.stored, held)
    # A flaky empty answer (totalResults 0) is far likelier than a window without one MI paper: the
    # window's new papers would be lost with the watermark moved past them.
    missed = (f"; the last-updated walk saw {len(versions.submitted)} paper(s) submitted in it, e.g. "
              f"{versions.submitted[0]}" if versions.submitted else "")
    loaded_note = (f"; {len(versions.stored)} new version(s) of stored papers loaded meanwhile"
                   if versions.stored else "")
    raise WeeklyError(
        f"arXiv returned no candidates at all for {start:%Y-%m-%d} to {end:%Y-%m-%d} in the categories "
        f"{', '.join(config.arxiv_categories)} (PAPERKG_ARXIV_CATEGORIES){missed}: treated as a failed "
        f"answer, so the next run asks again for the whole window{loaded_note}"
    )


def rejected_since(store: GraphStore, since: str | None) -> list[Rejection]:
    """Rejected candidates seen at or after `since`, newest first, one per arXiv id (its latest verdict),
    leaving out those stored since (e.g. added with `ingest arxiv --ids`).

    Overlapping windows see a rejected paper again; the store keeps every run's verdict for auditing.
    """
    latest: dict[str, Rejection] = {}
    for rejection in store.rejections(since=since, limit=100_000):
        latest.setdefault(rejection.arxiv_id, rejection)
    stored = _stored_as(store, list(latest.values()))
    return [r for aid, r in latest.items() if aid not in stored]


def _stored_as(store: GraphStore, rejections: Sequence[Rejection]) -> dict[str, str]:
    """Each rejected arXiv id stored since -> its paper id: by the id, else by the title, as the weekly
    run itself knows a paper stored under its title (a records file naming it without the id)."""
    if not rejections:
        return {}
    keys = {r.arxiv_id: title_key(r.title) for r in rejections}
    found = store.find_paper_ids(arxiv_ids=sorted(keys), title_keys=sorted({k for k in keys.values() if k}))
    return {aid: paper for aid, key in keys.items()
            if (paper := found.get(aid) or (found.get(key) if key else None))}


# `ingest rejected --all|--run` read every verdict: the store's rejections() takes a limit, so it is read
# with a larger one until it holds fewer rows (an audit trail cut at an arbitrary count would mislead).
_VERDICT_PAGE = 100_000
_Row = TypeVar("_Row")


@dataclass(frozen=True)
class Verdict:
    """One kept verdict of a weekly run, with the paper id its arXiv id is stored under now (None: not
    stored; a rejected candidate added since, e.g. with `ingest arxiv --ids`, has one)."""

    rejection: Rejection
    stored_as: str | None


@dataclass(frozen=True)
class RunVerdicts:
    """Every verdict of one weekly run, and its run record (None: verdicts under an id no run record has,
    as an older store or another writer may have left)."""

    run_id: str
    run: IngestRun | None
    verdicts: list[Verdict]

    def heading(self) -> str:
        """`ingest rejected --run`'s first line: the run, and its verdicts counted as its summary counts
        them (rejected by the gate; refused by the load), and how many of those papers are stored now."""
        rows = self.verdicts
        refused = sum(v.rejection.reason.startswith(REFUSED_REASON) for v in rows)
        stored = sum(v.stored_as is not None for v in rows)
        about = "no run record"
        if self.run is not None:
            start, end = self.run.counts.get("window_start"), self.run.counts.get("window_end")
            window = f", window {start} -> {end}" if start and end else ""
            about = f"{self.run.status}, started {self.run.started}{window}"
        counted = "no verdicts"
        if rows:
            counted = (f"{len(rows)} {'verdict' if len(rows) == 1 else 'verdicts'} ({len(rows) - refused} "
                       f"rejected by the gate, {refused} refused by the load; {stored} stored since)")
        return terminal_safe(f"run {self.run_id} ({about}): {counted}")


class UnknownRun(ValueError):
    """`ingest rejected --run` named an id that no weekly run and no verdict has."""


def _read_whole(read: Callable[[int], list[_Row]], limit: int) -> list[_Row]:
    """What `read(limit)` gives with a limit large enough to cut nothing off (x4 until it holds fewer)."""
    while True:
        rows = read(limit)
        if len(rows) < limit:
            return rows
        limit *= 4


def _every_rejection(store: GraphStore, since: str | None) -> list[Rejection]:
    """Every rejection row seen at or after `since`, newest first, none left out by a read limit."""
    return _read_whole(lambda limit: store.rejections(since=since, limit=limit), _VERDICT_PAGE)


def _with_stored(store: GraphStore, rejections: Sequence[Rejection]) -> list[Verdict]:
    """The rejections as verdicts, each with the paper id it is stored under now (_stored_as)."""
    stored = _stored_as(store, rejections)
    return [Verdict(r, stored.get(r.arxiv_id)) for r in rejections]


def rejection_history(store: GraphStore, since: str | None) -> list[Verdict]:
    """Every verdict kept (each run's, not only the latest per arXiv id) seen at or after `since`, newest
    first, those of papers stored since included and marked."""
    return _with_stored(store, _every_rejection(store, since))


def _all_runs(store: GraphStore) -> list[IngestRun]:
    """Every recorded run, newest first."""
    return _read_whole(lambda limit: store.runs(limit=limit), 1000)


def _unknown_run(run_id: str, run: IngestRun | None, runs: Sequence[IngestRun]) -> UnknownRun:
    """Why `run_id` names no weekly run's verdicts, and where weekly run ids are found."""
    where = ("a weekly run's summary line names its id (`(run ...)`; `run_id` with --json), "
             "`paperkg ingest rejected --all` names the run of every verdict, and GET "
             f"/api/runs?source={RUN_SOURCE} (the About page) lists the runs")
    shown = repr(run_id[:80])
    if run is None:
        return UnknownRun(f"no weekly run has the id {shown}: {where}")
    if run.source == LOAD_SOURCE:
        weekly = next((r.id for r in runs if r.source == RUN_SOURCE and r.counts.get("load_run") == run_id),
                      None)
        if weekly is not None:
            return UnknownRun(f"{shown} is the run that loaded the papers weekly run {weekly} kept; that "
                              f"weekly run judged them: `paperkg ingest rejected --run {weekly}`")
    return UnknownRun(f"{shown} is a run of source {run.source!r}, which judges no candidates (only "
                      f"weekly runs, source {RUN_SOURCE!r}, reject): {where}")


def run_verdicts(store: GraphStore, run_id: str) -> RunVerdicts:
    """Every verdict of the weekly run `run_id` (papers stored since included and marked), newest first;
    UnknownRun when no weekly run has that id and no verdict names it."""
    rows = [r for r in _every_rejection(store, None) if r.run_id == run_id]
    runs = _all_runs(store)
    run = next((r for r in runs if r.id == run_id), None)
    if not rows and (run is None or run.source != RUN_SOURCE):
        raise _unknown_run(run_id, run, runs)
    return RunVerdicts(run_id=run_id, run=run, verdicts=_with_stored(store, rows))
