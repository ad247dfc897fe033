"""Weekly-ingest CLI: `paperkg ingest weekly|rejected`, `paperkg schedule`, `paperkg export
list-rows|papers`."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import click

from ingest.cli import Interrupted, Terminated, check_list_file, stop_on_sigterm, wait_option
from ingest.cli_failures import (
    IngestLockedError,
    JsonFailuresCommand,
    failure_object,
    failures_as_json,
    lock_holder,
)
from ingest.store_lock import EXIT_LOCKED, IngestLockLost
from kg.cli_values import Choice, WholeNumber
from kg.config import EXIT_CONFIG, ConfigError
from kg.paths import UserPath
from kg.safe_output import is_terminal, terminal_safe
from kg.store import GraphStore, LockHeld, StoreError

log = logging.getLogger(__name__)

# Exit statuses of `ingest weekly` and `schedule` (sysexits.h), so cron or systemd monitoring tells a
# week to wait out from a set-up to fix; 1 stays "anything unexpected", 2 a usage error, 75 (EX_TEMPFAIL,
# ingest.store_lock.EXIT_LOCKED) another ingest holding the store lock, 78 (EX_CONFIG) a configuration
# error (a bad PAPERKG_* value, a missing embedding model or taxonomy).
# 69 (EX_UNAVAILABLE): arXiv could not be asked or gave no usable answer after its retries (down, 503s,
# a malformed or empty answer, DNS, an HTTP 404 from a wrong endpoint): transient as a rule, and the next
# run retries the window.
EXIT_ARXIV = 69
# 74 (EX_IOERR): the store cannot be used: missing, unreadable, read-only, damaged, Neo4j unreachable.
# One status for all of them (not 66 for a missing one, 73 for a read-only one): each needs the data
# directory or the database fixed by hand, and no retry helps until it is.
EXIT_STORE = 74


class _Failure(click.ClickException):
    """A weekly run failed for a reason exit_status cannot name: one `Error:` line, exit status 1."""


class _ArxivFailure(_Failure):
    exit_code = EXIT_ARXIV


class _StoreFailure(_Failure):
    exit_code = EXIT_STORE


_FAILURES: dict[int, type[click.ClickException]] = {
    EXIT_ARXIV: _ArxivFailure, EXIT_STORE: _StoreFailure, EXIT_LOCKED: IngestLockedError}


def failure(message: str, exit_code: int = 1) -> click.ClickException:
    """The one-line error of a failed weekly run (or scheduler start) that exits with `exit_code`."""
    if exit_code == EXIT_CONFIG:
        from kg.cli import ConfigClickError  # every command's exit 78; kg.cli imports this module

        return ConfigClickError(message)
    return _FAILURES.get(exit_code, _Failure)(message)


def exit_status(exc: BaseException) -> int:
    """The exit status for a failure: the first exception down its cause chain that says which kind it is
    (a WeeklyError wraps the run's own failure), else 1."""
    from ingest.arxiv_source import ArxivError
    from ingest.embed import ModelMismatch, ModelMissing
    from ingest.weekly import WeeklyError, WeeklyLocked

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, WeeklyLocked):
            return EXIT_LOCKED
        if isinstance(seen, ArxivError):
            return EXIT_ARXIV
        # A model other than the store's is a setting to change (its message says which), as a missing one.
        if isinstance(seen, (ModelMissing, ModelMismatch, ConfigError)):
            return EXIT_CONFIG
        if isinstance(seen, (IngestLockLost, LockHeld)):
            return 1  # a lock lost while paused past its expiry: neither the store's fault nor arXiv's
        if isinstance(seen, StoreError):
            return EXIT_STORE
        if isinstance(seen, WeeklyError) and seen.__cause__ is None:
            return EXIT_ARXIV  # the run's own verdict: arXiv answered no candidates at all (a failed answer)
        seen = seen.__cause__
    return 1


def with_retry_hint(message: str, exit_code: int) -> str:
    """A failed run's message, ending "(next run retries the window)" for arXiv's failures (69), which a
    later run can outlast: the watermark did not move, so the next run asks for this window too. A store
    (74) or a setting (78) fails the same way until someone fixes it. Said once: not when it says so."""
    retried = exit_code == EXIT_ARXIV and "next run" not in message
    return f"{message} (next run retries the window)" if retried else message


def _opening_failure(exc: click.ClickException) -> click.ClickException:
    """kg.cli's one-line error when opening the store failed, with the exit status of its cause: there,
    a ValueError is a bad setting or taxonomy (PAPERKG_TAXONOMY), a StoreError the store."""
    cause = exc.__cause__
    code = EXIT_CONFIG if isinstance(cause, ValueError) else exit_status(cause) if cause else exc.exit_code
    return failure(exc.format_message(), code)


def _warn_unknown_settings() -> None:
    """One WARNING for PAPERKG_* variables that are no setting (a misspelt name is otherwise ignored)."""
    from kg.config import unknown_settings

    lines = unknown_settings()
    if lines:
        log.warning("%s", "; ".join(lines))


def _ready_store() -> GraphStore:
    """The configured store, ready for writes (imported lazily: kg.cli imports this module); a failure
    exits with the status of its cause (exit_status)."""
    from kg.cli import open_ready_store

    try:
        return open_ready_store()
    except click.ClickException as exc:
        raise _opening_failure(exc) from exc


def _existing_store() -> GraphStore:
    """The configured store for reading: one never created is an error, not an empty graph."""
    from kg.cli import open_configured_store

    return open_configured_store(must_exist=True)


def _existing_ready_store() -> GraphStore:
    """The configured store for a weekly run: it must exist (see _require_store), opened for writing.

    Not _existing_store(): reading commands open the store read-only, and a weekly run writes."""
    _require_store()
    return _ready_store()


def _require_store() -> None:
    """Refuse a data directory with no embedded store: the weekly ingest must not start a new one.

    The relevance gate compares candidates with the stored MI corpus; a new, empty store (a mistyped
    PAPERKG_DATA_DIR) would reject every candidate without a technique hit with score 0.000."""
    from kg.config import load_config

    try:
        config = load_config()
    except ValueError as exc:
        raise failure(str(exc), EXIT_CONFIG) from exc
    from kg.store import NoStore, require_store

    try:
        require_store(config)  # a 0-byte file or an SQLite file without paperkg's tables is no store either
    except NoStore as exc:
        raise failure(
            f"{exc}. The weekly ingest judges candidates against the stored corpus, so it does not create "
            "a store: create it there first with `paperkg init` and `paperkg ingest list`",
            EXIT_STORE) from exc
    except StoreError as exc:
        raise failure(str(exc), EXIT_STORE) from exc


def _check_date(value: str | None, option: str) -> str | None:
    """`value` if it is a `since` the API would take too (kg.validation.parse_since), else a usage error
    (exit 2): checked before any store is opened, a weekly run recorded or the ingest lock taken."""
    from kg.validation import parse_since

    if value is None:
        return None
    try:
        parse_since(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=f"'{option}'") from None
    return value


@click.command("weekly", cls=JsonFailuresCommand)
@click.option("--since", default=None, metavar="DATE",
              help="Window start (YYYY-MM-DD or RFC 3339 timestamp such as 2024-01-31T12:00:00Z); default: "
                   "the earliest of the last watermark not ahead of the clock - 3 days (arXiv's "
                   "announcement lag; else 7 days ago) and the window start of any weekly run that "
                   "failed since (up to 28 days back). A --since later than the watermark leaves the "
                   "watermark where it is.")
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as JSON.")
@wait_option
def weekly_cmd(since: str | None, as_json: bool, wait: float) -> None:
    """Ingest new papers from arXiv since the last successful weekly run (relevance-gated).

    Exit status: 0 done; 69 arXiv unavailable or no usable answer; 74 the store cannot be used; 75 another
    ingest holds the store lock; 78 a configuration error; 2 a usage error; 1 anything else."""
    from ingest.arxiv_source import ArxivError
    from ingest.embed import ModelMissing
    from ingest.weekly import WeeklyError, WeeklyLocked, run_weekly

    with failures_as_json(as_json):  # `| jq .status` reads an object on every outcome
        since = _check_date(since, "--since")
        _warn_unknown_settings()
        _require_store()
        store = _ready_store()
    try:
        with stop_on_sigterm():  # systemctl stop: the run is recorded as failed, the lock released
            summary = run_weekly(store, since=since, progress=not as_json, wait=wait)
    except WeeklyLocked as exc:
        with failures_as_json(as_json):  # `| jq` reads an object on every outcome: here who holds the lock
            raise IngestLockedError(str(exc), lock_holder(store)) from exc
    except WeeklyError as exc:
        code = exit_status(exc)
        refused = failure(with_retry_hint(str(exc), code), code)
        if as_json and exc.summary is not None:  # a script reading stdout learns the run and what failed
            click.echo(json.dumps({**exc.summary.to_dict(), "error": str(exc)}, indent=2))
        elif as_json:  # no run was recorded
            click.echo(json.dumps(failure_object(refused), indent=2))
        raise refused from exc
    except (Terminated, Interrupted) as exc:
        # Stopped: the run is recorded as failed and the process exits 143; a script reading stdout
        # still gets the failed run, as on any other failure (nothing when stopped before it started,
        # nor on Ctrl-C), or the succeeded run when the stop came after it finished.
        stopped = getattr(exc, "summary", None)  # set by run_weekly once its run was recorded
        # Set once that run was recorded as succeeded; on Ctrl-C on the KeyboardInterrupt behind Interrupted.
        finished = getattr(exc, "finished", None) or getattr(exc.__cause__, "finished", None)
        if as_json and finished is not None:
            click.echo(json.dumps(finished.to_dict(), indent=2))
        elif as_json and stopped is not None and isinstance(exc, Terminated):  # Ctrl-C: no summary
            error = f"weekly ingest failed, watermark unchanged: {type(exc).__name__}: {exc}"
            click.echo(json.dumps({**stopped.to_dict(), "error": error}, indent=2))
        raise
    except (ArxivError, ModelMissing, StoreError, ValueError) as exc:
        # Raised before the run was recorded (taking the lock, planning the window, recording the run;
        # once recorded, a failure is a WeeklyError): with --json, a refusal.
        with failures_as_json(as_json):
            raise failure(str(exc), exit_status(exc)) from exc
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(summary.to_dict(), indent=2))
        return
    click.echo(summary.text())
    for item in summary.rejections:  # titles come from arXiv: no escape sequences on the terminal
        click.echo(f"  rejected {terminal_safe(item['arxiv_id'])} ({item['score']:.3f}): "
                   f"{terminal_safe(item['title'])}")


@click.command("rejected")
@click.option("--since", default=None, metavar="DATE", help="Only candidates rejected at or after DATE.")
@click.option("--run", "run_id", default=None, metavar="RUN_ID",
              help="Every verdict of this weekly run (its summary line names it: `(run ID)`), papers "
                   "stored since included.")
@click.option("--all", "every", is_flag=True,
              help="Every verdict kept, each run's (not only the latest per paper), papers stored since "
                   "included.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def rejected_cmd(since: str | None, run_id: str | None, every: bool, as_json: bool) -> None:
    """Candidates the weekly relevance gate turned away, with reason and score, and papers the load
    refused (no title, a text over its limit; no score), newest first: by default the latest verdict per
    paper not stored since; --all every run's verdicts, --run one run's, a paper stored since marked."""
    from ingest.weekly import (
        REFUSED_REASON,
        UnknownRun,
        Verdict,
        rejected_since,
        rejection_history,
        run_verdicts,
    )

    if run_id is not None and every:
        raise click.UsageError("--run lists one run's verdicts, --all every run's: give one of them")
    if run_id is not None and since is not None:
        raise click.UsageError("--run lists every verdict of that run: --since does not apply to it")
    since = _check_date(since, "--since")
    store = _existing_store()
    heading = None  # --run's: the run and its verdicts counted
    try:
        if run_id is not None:
            listed = run_verdicts(store, run_id)
            rows, heading = listed.verdicts, listed.heading()
        elif every:
            rows = rejection_history(store, since)
        else:
            rows = [Verdict(r, None) for r in rejected_since(store, since)]
    except UnknownRun as exc:
        raise click.BadParameter(str(exc), param_hint="'--run'") from None
    except StoreError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        store.close()
    if as_json:
        # stored_as: the paper id the arXiv id is stored under now (always null without --run or --all,
        # which leave stored papers out).
        click.echo(json.dumps([
            {"arxiv_id": v.rejection.arxiv_id, "title": v.rejection.title, "reason": v.rejection.reason,
             "score": v.rejection.score, "run_id": v.rejection.run_id, "seen_at": v.rejection.seen_at,
             "stored_as": v.stored_as} for v in rows], indent=2))
        return
    if heading is not None:
        click.echo(heading)
    elif not rows:
        click.echo("no rejected candidates" + (f" since {since}" if since else ""))
    for v in rows:
        r = v.rejection
        # Stored text from arXiv: control characters and escape sequences are not printed raw.
        # A paper the load refused was never scored (ingest.weekly records it with 0).
        score = "refused" if r.reason.startswith(REFUSED_REASON) else f"score {r.score:.3f}"
        click.echo(f"{terminal_safe(r.seen_at)}  {terminal_safe(r.arxiv_id)}  {score}  "
                   f"{terminal_safe(r.title)}\n    {terminal_safe(r.reason)}")
        notes = [f"run {terminal_safe(r.run_id or 'unrecorded')}"] if every else []
        if v.stored_as is not None:  # in the graph now: added since, or a refused new version
            notes.append(f"now stored as {terminal_safe(v.stored_as)}")
        if notes:
            click.echo(f"    {'; '.join(notes)}")


@click.command("schedule")
@click.option("--cron", default=None, metavar="EXPR",
              help="Cron expression, UTC (default PAPERKG_SCHEDULE, '0 6 * * 1'): 5 fields (minute hour day "
                   "month weekday), or 6 with seconds first.")
@click.option("--max-runs", type=WholeNumber(1), default=None, metavar="N",
              help="Stop after N runs (default: run until SIGTERM/SIGINT/SIGHUP; env "
                   "PAPERKG_SCHEDULE_MAX_RUNS).")
def schedule_cmd(cron: str | None, max_runs: int | None) -> None:
    """Run the weekly ingest on a cron schedule (APScheduler, UTC) until stopped.

    Exits 1 if any run failed (after stopping), 0 when every run succeeded; refused before it starts: 78
    for a bad setting, 74 for a store it cannot use."""
    from ingest.schedule import ScheduleError, WeeklyScheduler, make_trigger, runs_text, weekly_job
    from kg.cli import echo_best_effort
    from kg.config import load_config

    try:
        config = load_config()
    except ValueError as exc:
        raise failure(str(exc), EXIT_CONFIG) from exc
    # Settings first, store second: a typo in the schedule is reported before anything is opened.
    if cron is not None:
        try:
            make_trigger(cron)  # "" too: an explicit empty --cron is a mistake, not "the default"
        except ScheduleError as exc:
            raise click.BadParameter(str(exc), param_hint="'--cron'") from exc
    else:
        cron = config.schedule
        try:
            make_trigger(cron)
        except ScheduleError as exc:
            raise failure(f"PAPERKG_SCHEDULE: {exc}", EXIT_CONFIG) from exc
    if max_runs is None:
        max_runs = config.schedule_max_runs  # checked (>= 1) by load_config
    _warn_unknown_settings()  # once, not at every run
    _require_store()
    _ready_store().close()  # fail now, not next Monday, if the store is unreachable

    # Each run opens the store afresh, and is a failed run if it has gone away meanwhile.
    scheduler = WeeklyScheduler(cron, weekly_job(_existing_ready_store), max_runs=max_runs)
    # Informational lines: a scheduler started with stdout closed (as daemon set-ups do) runs all the same.
    scheduler.start(announce=lambda: echo_best_effort(
        f"schedule: cron {cron!r} (UTC); next run {scheduler.next_run() or 'never'}"))
    echo_best_effort(f"schedule: stopped after {runs_text(scheduler.runs)} ({scheduler.failures} failed)")
    if scheduler.failures:
        raise click.ClickException(
            f"{scheduler.failures} of {scheduler.runs} scheduled runs failed (see the log above)")


@click.group("export")
def export_group() -> None:
    """Export from the graph (suggested awesome-list rows, every paper as JSON Lines, CSV or BibTeX)."""


@export_group.command("list-rows")
@click.option("--since", required=True, metavar="DATE", help="Papers first seen at or after DATE.")
@click.option("--list", "list_source", default=None, metavar="FILE|URL",
              help="The awesome-list markdown: write each section's rows in the columns of its table.")
# The default is ingest.export_rows.ROW_LIMIT (written out: importing that module here would slow every
# `paperkg` command).
@click.option("--limit", default=1000, show_default=True, type=WholeNumber(1), metavar="N",
              help="Rows for the N newest papers first seen since DATE only (stderr says if there are more).")
def list_rows_cmd(since: str, list_source: str | None, limit: int) -> None:
    """Awesome-list rows (markdown) for papers first seen since DATE that the list lacks (ready to paste),
    from the newest --limit of them; papers whose abstract says they are withdrawn are left out, each
    named on stderr, and stderr says how many papers were not looked at when there were more."""
    from ingest.export_rows import list_rows_export
    from kg.cli import configured_taxonomy

    _check_date(since, "--since")
    check_list_file(list_source, "'--list'")
    # Read here, as `ingest list` and `init` read it: a broken PAPERKG_TAXONOMY (a tab, a missing file, a
    # parent that is no node) is the loader's one-line error, not a ValueError traceback from the export.
    taxonomy = configured_taxonomy()
    list_markdown = None
    if list_source:
        from ingest.awesome_list import ListSourceError, read_list_source

        try:
            list_markdown = read_list_source(list_source)
        except ListSourceError as exc:
            raise click.ClickException(str(exc)) from exc
    store = _existing_store()
    try:
        export = list_rows_export(store, since, taxonomy, list_markdown=list_markdown, limit=limit)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        store.close()
    # On stderr: stdout stays the rows alone, ready to paste.
    for paper_id in export.withdrawn:
        click.echo(f"skipped withdrawn paper {paper_id}", err=True)
    if export.cut:
        click.echo(f"only the {export.considered} newest of the {export.total} papers first seen since "
                   f"{since} were looked at; the {export.total - export.considered} older were not "
                   f"(--limit {export.total} takes them all)", err=True)
    text = export.markdown
    if not text:
        click.echo(f"no new papers since {since} that the list does not have", err=True)
        return
    click.echo(text, nl=False)


@export_group.command("papers")
@click.option("--since", default=None, metavar="DATE",
              help="Only papers first seen at or after DATE (as /api/new; YYYY-MM-DD or an RFC 3339 "
                   "timestamp such as 2024-01-31T12:00:00Z); default: every paper.")
@click.option("--format", "fmt", type=Choice(["jsonl", "csv", "bibtex"], "format"), default="jsonl",
              show_default=True,
              help="jsonl: one GET /api/papers/{id} object a line; csv: one flat row a paper, with a header; "
                   "bibtex: one GET /api/papers/{id}/bibtex entry a paper, with the citation key the store "
                   "issued it.")
@click.option("--id", "paper_ids", multiple=True, metavar="ID",
              help="Only this paper (repeatable; an id, arXiv id or abs URL as /api/papers/{id} takes it).")
@click.option("--output", type=UserPath(dir_okay=False, path_type=Path), default=None, metavar="FILE",
              help="Write to FILE, complete or not at all (a temporary file beside it, renamed); "
                   "default: stdout.")
@click.option("--force", is_flag=True, help="Replace the --output FILE if it exists.")
def papers_cmd(since: str | None, fmt: str, paper_ids: tuple[str, ...], output: Path | None,
               force: bool) -> None:
    """Every paper (or those first seen since DATE, or those given by --id) oldest first, by first_seen
    then id: JSON Lines, each line the object GET /api/papers/{id} answers, CSV (RFC 4180, UTF-8; a
    cell a spreadsheet would run as a formula starts with an apostrophe, as does one starting with an
    apostrophe), or BibTeX (a repeated citation key gets a suffix a, b, ...)."""
    from ingest.export_papers import ExportStats, OutputExists, export_lines, resolve_ids, write_atomically
    from kg.cli import check_output_file, shown_arg
    from kg.config import load_config

    since = _check_date(since, "--since")
    if force and output is None:
        raise click.UsageError("--force replaces the --output FILE: give one")
    shown = shown_arg(str(output)) if output is not None else ""
    if output is not None:
        try:
            store_file = load_config().embedded_store_file
        except ValueError as exc:  # a bad setting: the same one line as every command
            raise click.ClickException(str(exc)) from exc
        check_output_file(output, force, store_file)
    store = _existing_store()
    stats = ExportStats()
    try:
        only = None
        if paper_ids:
            # All looked up before anything is written: an unknown id writes nothing, FILE stays as it was.
            only, unknown = resolve_ids(store, paper_ids)
            if unknown:
                # repr, as the API names unknown ids: a control character or an empty id shows.
                shown_ids = ", ".join(repr(i[:80]) for i in unknown[:10])
                more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
                raise click.UsageError(f"--id names no stored paper: {shown_ids}{more}; nothing was exported")
        if output is None:
            # The bar only when the export is not on the same terminal; bytes: UTF-8 whatever the locale.
            lines = export_lines(store, since, fmt, stats=stats, only=only,
                                 show_progress=is_terminal(sys.stderr) and not is_terminal(sys.stdout))
            for chunk in lines:
                click.echo(chunk.encode("utf-8"), nl=False)  # a stdout error: the entry point's one line
        else:
            lines = export_lines(store, since, fmt, stats=stats, only=only,
                                 show_progress=is_terminal(sys.stderr))
            try:
                # Stopped (SIGTERM, SIGHUP, Ctrl-C): the temporary file is removed, FILE left as it was.
                with stop_on_sigterm("{stopped}: no export was written"):
                    write_atomically(output, lines, replace=force)
            except OutputExists:  # created by something else while the export ran
                raise click.UsageError(f"{shown} exists (--force replaces it)") from None
            except OSError as exc:  # a missing or read-only directory, a full disk
                raise click.ClickException(f"cannot write {shown}: {exc.strerror or exc}") from exc
    except StoreError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        store.close()
    if stats.gone:
        click.echo(f"{len(stats.gone)} of the {stats.chosen} papers were removed while the export ran "
                   "(merged or removed by an ingest) and are not in it", err=True)
    if not stats.written:
        if paper_ids:
            click.echo("none of the --id papers " + (f"was first seen since {since}" if since else "is left"),
                       err=True)
        else:
            click.echo(f"no papers first seen since {since}" if since else "the store holds no papers",
                       err=True)
    if output is not None:
        click.echo(f"exported {stats.written} papers to {shown_arg(str(output), 200)}")


def register(main: click.Group) -> None:
    """Add `ingest weekly|rejected` to the ingest group, and `schedule` and `export` to the root."""
    ingest = main.commands.get("ingest")
    if not isinstance(ingest, click.Group):
        raise RuntimeError("register the `ingest` group before the weekly commands")
    ingest.add_command(weekly_cmd)
    ingest.add_command(rejected_cmd)
    main.add_command(schedule_cmd)
    existing = main.commands.get("export")
    if isinstance(existing, click.Group):
        existing.add_command(list_rows_cmd)
        existing.add_command(papers_cmd)
    else:
        main.add_command(export_group)
