"""`paperkg schedule`: run the weekly ingest on a cron expression with APScheduler (UTC).

- 5 fields ("0 6 * * 1", standard crontab: minute hour day month weekday, 0 or 7 = Sunday) or
  6 fields with SECONDS FIRST ("*/5 * * * * *": second minute hour day month weekday), for tests
  and quick checks. Weekdays, numbers and names alike ("sun-sat", "mon,fri", "5-7"), are
  translated the way crontab reads them (sun = 0 = 7), because APScheduler 3 counts from Monday
  (`CronTrigger.from_crontab` reads 0 as Monday, and "sun-sat" runs backwards for it).
- As in crontab, when both day of month and weekday are restricted (neither starts with "*"), a
  day matching EITHER fires ("0 6 1 * 1": the 1st and every Monday); APScheduler would need both.
- An expression that can never fire ("0 6 31 2 *") is refused rather than waiting forever.
- One job, `max_instances=1` and `coalesce=True`, and the store lock inside `run_weekly`, so two
  runs never overlap (not even from two scheduler processes).
- A run that finds another ingest holding the store lock waits for it, up to
  SCHEDULED_LOCK_WAIT_SECONDS (30 minutes), instead of failing.
- A failed run is logged and the scheduler keeps going; the watermark did not move, so the next
  run retries the whole window. The job catches the failure (an exception would end in APScheduler's
  traceback), so APScheduler's own `Job "…" executed successfully` line, logged after every run, failed
  or not, is dropped: the `run N finished: …` or `run N failed: …` line says how it went.
- SIGTERM / SIGINT / SIGHUP (unless ignored from the start, as under nohup) shut the scheduler down
  cleanly (a running job finishes first; a run still waiting for the store lock is abandoned at once,
  as if it never fired: nothing is recorded and it is not counted as a run, only logged); `max_runs`
  (CLI `--max-runs`, env PAPERKG_SCHEDULE_MAX_RUNS) stops it after N runs.
"""

from __future__ import annotations

import logging
import re
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger(__name__)

# How long a scheduled run waits for the store's ingest lock when another ingest (a manual `ingest list`,
# say) holds it: the weekly run is delayed, not failed and put off for a week. Bounded, so a lock that
# never frees still ends in a failed run that is logged.
SCHEDULED_LOCK_WAIT_SECONDS = 30 * 60

_DOW_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")
# The weekdays a cron field takes, as every error says them (_Field.allowed's form).
WEEKDAYS = "0–7 or sun–sat"
_DOW_FULL = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")


class ScheduleError(ValueError):
    """The cron expression is not valid."""


JOB_ID = "weekly-ingest"


class _NoSuccessLine(logging.Filter):
    """Drops APScheduler's `Job "…" executed successfully` for the weekly job: WeeklyScheduler._run_once
    returns normally after a failed run too, so that line would follow every failure."""

    def filter(self, record: logging.LogRecord) -> bool:
        """False for the success line of the weekly job, True for every other record."""
        job = record.args[0] if isinstance(record.args, tuple) and record.args else None
        return not (record.msg == 'Job "%s" executed successfully' and getattr(job, "id", None) == JOB_ID)


_NO_SUCCESS_LINE = _NoSuccessLine()


def _dow_names(field: str) -> str:
    """Crontab weekday field (0/7 = Sunday, names too) -> APScheduler names, ranges expanded to lists.

    Names go through the same numbers as digits: APScheduler reads "sun-sat" as Sunday..Saturday of
    ITS week (Monday first), which runs backwards, and "sat-sun" as Saturday + Sunday, where crontab
    reads 0-6 (every day) and 6-0 (backwards, an error) respectively.
    """
    out: list[str] = []
    for item in field.split(","):
        part, step = item, 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            if not re.fullmatch(r"[0-9]+", step_text) or int(step_text) < 1:
                raise ScheduleError(_step_refused(step_text))
            step = int(step_text)
        if part == "*":
            low, high = 0, 6
        elif "-" in part:
            a, b = part.split("-", 1)
            low, high = _day(a), _day(b)
        elif part:
            low = _day(part)
            high = max(low, 6) if step > 1 else low
        else:
            raise ScheduleError(f"empty item in the weekday field {field!r}")
        if high < low:
            raise ScheduleError(f"the range {part!r} runs backwards")  # as _check_field says it
        out += [_DOW_NAMES[d] for d in range(low, high + 1, step)]
    return ",".join(dict.fromkeys(out))


def _day(text: str) -> int:
    text = text.strip().lower()
    if re.fullmatch(r"[0-9]+", text):
        value = int(text)
        if not 0 <= value <= 7:
            raise ScheduleError(f"weekday {text} is out of range; it must be {WEEKDAYS}")
        return value  # 7 stays 7 (= _DOW_NAMES[7], Sunday), so ranges like "5-7" run forwards
    if text in _DOW_NAMES:
        return _DOW_NAMES.index(text)  # "sun" is 0: crontab's "sun-sat" runs forwards
    if text in _DOW_FULL:
        return _DOW_FULL.index(text)
    raise ScheduleError(f"unknown weekday {text!r}; it must be {WEEKDAYS}")


@dataclass(frozen=True)
class _Field:
    """A cron field: its name, APScheduler's name for it, its range, and the names its values have."""

    name: str
    key: str
    low: int
    high: int
    names: tuple[str, ...] = ()

    def allowed(self) -> str:
        """The values the field takes, as an error says them: "0–59", "1–12 or jan–dec"."""
        named = f" or {self.names[0]}–{self.names[-1]}" if self.names else ""
        return f"{self.low}–{self.high}{named}"


def _step_refused(step: str) -> str:
    """Why a cron step that is no whole number of at least 1 is refused, the value given last."""
    return f"the step must be {'at least 1' if _NUMBER.fullmatch(step) else 'a whole number'}, not {step!r}"


def _step_limit(spec: _Field, base: str) -> int | None:
    """The largest step a field's item `base` (*, N or N-M) takes, as APScheduler counts it (the span the
    step starts in: */60 of the minutes is refused); None for an item it is not worked out for."""
    ends = base.split("-")
    if base == "*":
        return spec.high - spec.low
    if len(ends) == 1 and _NUMBER.fullmatch(base):
        return spec.high - int(base)
    if len(ends) == 2 and all(_NUMBER.fullmatch(end) for end in ends):
        return int(ends[1]) - int(ends[0])
    return None


_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
# In the order of a 6-field expression (a 5-field one has no seconds).
_FIELDS = (_Field("second", "second", 0, 59), _Field("minute", "minute", 0, 59),
           _Field("hour", "hour", 0, 23), _Field("day", "day", 1, 31),
           _Field("month", "month", 1, 12, _MONTHS), _Field("weekday", "day_of_week", 0, 7, _DOW_NAMES[:7]))
_NUMBER = re.compile(r"[0-9]+")


def _check_field(place: int, spec: _Field, value: str) -> None:
    """ScheduleError naming the field by place and name ("cron field 1 (second) is 99; it must be 0–59")
    for a number outside its range, a step that is no whole number >= 1, or text neither crontab nor
    APScheduler reads; the field otherwise (a name, `last`, `L`) is left to the trigger."""
    head = f"cron field {place} ({spec.name})"
    for item in value.split(","):
        base, slash, step = item.partition("/")
        if slash and (not _NUMBER.fullmatch(step) or int(step) < 1):
            raise ScheduleError(f"{head} is {value!r}: {_step_refused(step)}")
        ends = base.split("-") if base != "*" else []
        for end in ends:
            if _NUMBER.fullmatch(end) and not spec.low <= int(end) <= spec.high:
                said = f"is {end}" if end == value else f"has {end} (in {value!r})"
                raise ScheduleError(f"{head} {said}; it must be {spec.allowed()}")
        if len(ends) == 2 and all(_NUMBER.fullmatch(end) for end in ends) and int(ends[0]) > int(ends[1]):
            raise ScheduleError(f"{head} is {value!r}: the range {base!r} runs backwards")
        limit = _step_limit(spec, base) if slash and spec.name != "weekday" else None
        if limit is not None and limit >= 1 and int(step) > limit:  # weekday steps: _dow_names expands them
            where = "" if base == "*" else f" from {base!r}"
            raise ScheduleError(f"{head} is {value!r}: the step must be at most {limit}{where}, not {step!r}")
    if spec.name == "weekday":
        return  # names and ranges read as crontab reads them (_dow_names)
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger(**{spec.key: value}, timezone=UTC)
    except (ValueError, TypeError):
        raise ScheduleError(f"{head} is {value!r}: give a number ({spec.allowed()}), a range (1-5), a list "
                            f"(1,3), a step (*/15) or *") from None


def make_trigger(expr: str, now: datetime | None = None) -> Any:
    """An APScheduler trigger (UTC) from a 5-field crontab or a 6-field seconds-first expression.

    Raises ScheduleError for a malformed expression or one with no fire time after `now`."""
    from apscheduler.triggers.combining import OrTrigger
    from apscheduler.triggers.cron import CronTrigger

    fields = expr.split()
    if len(fields) == 5:
        second, (minute, hour, day, month, dow) = "0", fields
    elif len(fields) == 6:
        second, minute, hour, day, month, dow = fields
    else:
        raise ScheduleError(
            f"cron expression {expr!r} needs 5 fields (minute hour day month weekday) "
            "or 6 with seconds first"
        )
    # Each field checked by its name and place, so an error never is APScheduler's ("Error validating
    # expression '99': the last value (99) is higher than the maximum value (59)").
    for place, (spec, value) in enumerate(zip(_FIELDS[-len(fields):], fields, strict=True), start=1):
        _check_field(place, spec, value)
    common = {"second": second, "minute": minute, "hour": hour, "month": month, "timezone": UTC}
    try:
        weekdays = _dow_names(dow)
    except ScheduleError as exc:
        raise ScheduleError(f"cron field {len(fields)} (weekday) is {dow!r}: {exc}") from None
    try:
        if day.startswith("*") or dow.startswith("*"):
            trigger: Any = CronTrigger(day=day, day_of_week=weekdays, **common)
        else:
            # Crontab (and Vixie cron/cronie: a field starting with "*" counts as unrestricted)
            # fires when either field matches; one CronTrigger would need both.
            by_day = CronTrigger(day=day, day_of_week="*", **common)
            by_weekday = CronTrigger(day="*", day_of_week=weekdays, **common)
            # A day that never comes ("31 2") would be searched for at every fire: the weekday alone.
            never = by_day.get_next_fire_time(None, now or datetime.now(UTC)) is None
            trigger = by_weekday if never else OrTrigger([by_day, by_weekday])
    except (ValueError, TypeError) as exc:
        raise ScheduleError(f"invalid cron expression {expr!r}: {exc}") from exc
    if trigger.get_next_fire_time(None, now or datetime.now(UTC)) is None:
        raise ScheduleError(f"cron expression {expr!r} never fires (no such date, e.g. 31 February)")
    return trigger


def runs_text(count: int) -> str:
    """"1 run", "0 runs", "2 runs": how the scheduler's messages count runs."""
    return f"{count} run{'' if count == 1 else 's'}"


class WeeklyScheduler:
    """A BlockingScheduler running `job` on a cron trigger, stoppable by signal or after N runs."""

    def __init__(self, cron: str, job: Callable[[], Any], *, max_runs: int | None = None) -> None:
        from apscheduler.schedulers.blocking import BlockingScheduler

        if max_runs is not None and max_runs < 1:
            # 0 would make every fire a no-op that never reaches the stop: a scheduler that idles forever.
            raise ValueError(f"max_runs must be at least 1, not {max_runs}")
        self.trigger = make_trigger(cron)
        self.cron = cron
        self.job = job
        self.max_runs = max_runs
        self.runs = 0
        self.failures = 0
        self.abandoned = 0  # runs given up while waiting for the store lock because the scheduler stopped
        # Set by stop(): a run waiting for the store lock (up to SCHEDULED_LOCK_WAIT_SECONDS) gives up at
        # once, so shutdown(wait=True) does not sit out that wait until systemd or docker sends SIGKILL.
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self.scheduler = BlockingScheduler(timezone=UTC)
        self.scheduler.add_job(self._run_once, self.trigger, id=JOB_ID, name="weekly arXiv ingest",
                               max_instances=1, coalesce=True, misfire_grace_time=3600)
        executor_log = logging.getLogger("apscheduler.executors.default")  # the executor add_job used
        if _NO_SUCCESS_LINE not in executor_log.filters:
            executor_log.addFilter(_NO_SUCCESS_LINE)

    def _run_once(self) -> None:
        from ingest.store_lock import LockWaitStopped

        with self._lock:
            if self.stopping.is_set() or (self.max_runs is not None and self.runs >= self.max_runs):
                return  # fired while the scheduler is shutting down
            self.runs += 1
            number = self.runs
        log.info("scheduled weekly ingest: run %d starting", number)
        try:
            result = self.job(stop=self.stopping) if isinstance(self.job, WeeklyJob) else self.job()
        except LockWaitStopped:
            with self._lock:  # it never started: not a run, and nothing of it was recorded
                self.runs -= 1
                self.abandoned += 1
            log.info("scheduled weekly ingest: run %d abandoned while waiting for the store lock (the "
                     "scheduler is stopping); nothing was run or recorded", number)
            return
        except Exception as exc:  # a failed run must not stop the schedule
            with self._lock:
                self.failures += 1
            from ingest.weekly_cli import exit_status, with_retry_hint  # as `ingest weekly` says it

            log.error("scheduled weekly ingest: run %d failed: %s", number,
                      with_retry_hint(str(exc), exit_status(exc)))
        else:
            text = result.text() if hasattr(result, "text") else str(result)
            log.info("scheduled weekly ingest: run %d finished: %s", number, text)
        if self.max_runs is not None and number >= self.max_runs:
            log.info("scheduled weekly ingest: %d runs done (--max-runs), stopping", number)
            # Shut down from another thread: the executor is running this job.
            threading.Thread(target=self.stop, name="scheduler-stop", daemon=True).start()

    def next_run(self) -> str | None:
        """The next fire time from now (ISO, UTC)."""
        when = self.trigger.get_next_fire_time(None, datetime.now(UTC))
        return when.isoformat() if when else None

    def stop(self, *_args: object) -> None:
        """Shut down after the running job (if any) finishes, abandoning a run that waits for the store lock
        (before start: start returns at once)."""
        self.stopping.set()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)

    def start(self, announce: Callable[[], None] | None = None) -> None:
        """Block, running the job on schedule, until stopped (signal, max_runs or stop()).

        Signal handlers are installed before `announce` is called, so a SIGTERM sent as soon as the
        banner appears still shuts down cleanly. SIGHUP (the terminal closed, an SSH connection lost) is
        handled as SIGTERM: it killed the process, leaving a running weekly run `running` and the store
        locked.
        """
        from apscheduler.events import EVENT_SCHEDULER_STARTED

        previous: dict[signal.Signals, Any] = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                if sig == signal.SIGHUP and signal.getsignal(sig) == signal.SIG_IGN:
                    continue  # started with nohup: the hangup is to be ignored
                previous[sig] = signal.signal(sig, lambda signum, _frame: self._on_signal(signum))

        def started(_event: object) -> None:
            if self.stopping.is_set():  # a signal arrived while the scheduler was starting
                threading.Thread(target=self.stop, name="scheduler-stop", daemon=True).start()

        self.scheduler.add_listener(started, EVENT_SCHEDULER_STARTED)
        log.info("scheduler started: cron %r (UTC)%s", self.cron,
                 f", stopping after {runs_text(self.max_runs)}" if self.max_runs else "")
        try:
            if announce is not None:
                announce()
            if not self.stopping.is_set():
                self.scheduler.start()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        abandoned = f"; {self.abandoned} abandoned while waiting for the store lock" if self.abandoned else ""
        log.info("scheduler stopped after %s (%d failed)%s", runs_text(self.runs), self.failures, abandoned)

    def _on_signal(self, signum: int) -> None:
        log.info("scheduler: signal %s received, shutting down", signal.Signals(signum).name)
        threading.Thread(target=self.stop, name="scheduler-stop", daemon=True).start()


class WeeklyJob:
    """One scheduled weekly run: opens the store, runs run_weekly (waiting up to `lock_wait` seconds for the
    ingest lock, or until `stop` is set) and closes the store (a fresh connection per run)."""

    def __init__(self, store_factory: Callable[[], Any], lock_wait: float, weekly_kwargs: dict[str, Any]
                 ) -> None:
        self.store_factory = store_factory
        self.lock_wait = lock_wait
        self.weekly_kwargs = weekly_kwargs

    def __call__(self, stop: threading.Event | None = None) -> Any:
        """Run once; LockWaitStopped (nothing recorded) when `stop` is set while it waits for the lock."""
        from ingest.weekly import run_weekly

        store = self.store_factory()
        try:
            return run_weekly(store, wait=self.lock_wait, stop=stop, **self.weekly_kwargs)
        finally:
            store.close()


def weekly_job(store_factory: Callable[[], Any], *, lock_wait: float = SCHEDULED_LOCK_WAIT_SECONDS,
               **weekly_kwargs: Any) -> WeeklyJob:
    """A job that opens the store, runs run_weekly (waiting up to `lock_wait` seconds for the ingest lock)
    and closes the store; WeeklyScheduler passes it its stop event, which ends that wait."""
    return WeeklyJob(store_factory, lock_wait, weekly_kwargs)
