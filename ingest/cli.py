"""CLI commands of the ingest package: `paperkg ingest list|arxiv|records|reextract`, `paperkg dev
arxiv-server`."""

from __future__ import annotations

import contextlib
import json
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

from ingest.cli_failures import (
    IngestLockedError,
    JsonFailuresCommand,
    RunFailed,
    failures_as_json,
    lock_holder,
)
from kg.cli_values import SECONDS, WholeNumber, shown_arg
from kg.paths import UserPath
from kg.safe_output import is_terminal, terminal_safe


def wait_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """The --wait SECONDS option of every writing ingest command."""
    return click.option(
        "--wait", "wait", default=0.0, show_default=True, type=SECONDS, metavar="SECONDS",
        help="When another ingest holds the store lock, wait up to SECONDS (at least 0) for it to finish "
             "(default: refuse at once with exit status 75).")(command)


def batch_size_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """The --batch-size N option of every writing ingest command."""
    return click.option("--batch-size", default=256, show_default=True, type=WholeNumber(1), metavar="N",
                        help="Papers per store write (at least 1).")(command)


def _ready_store(must_exist: bool = False) -> Any:
    """The configured store, ready for writes (kg.cli.open_ready_store; imported lazily: kg.cli
    imports this module); `must_exist`: never a new store."""
    from kg.cli import open_ready_store

    return open_ready_store(must_exist=must_exist)


@click.group("ingest")
def ingest_group() -> None:
    """Load papers into the graph (awesome-list, arXiv, JSON Lines records)."""


@click.group("dev")
def dev_group() -> None:
    """Developer tools (a local arXiv API for tests and the offline demo)."""


def _new_store_dir() -> Path | None:
    """The absolute data directory when the embedded store file does not exist yet (opening creates it),
    else None (an existing store, or Neo4j)."""
    from kg.config import load_config

    try:
        config = load_config()
    except ValueError:
        return None  # _ready_store reports the bad setting
    if config.backend != "embedded" or config.embedded_store_file.exists():
        return None
    return config.data_dir.resolve()


class Terminated(SystemExit):
    """SIGTERM or SIGHUP during an ingest: raised where the run is, so it is recorded as failed and its
    lock released on the way out (as Ctrl-C does), and the process exits with 128 + the signal's number
    (143, 129) as a killed one would."""

    def __init__(self, signum: int = signal.SIGTERM) -> None:
        super().__init__(128 + signum)
        self.signal_name = signal.Signals(signum).name

    def __str__(self) -> str:
        return f"stopped by {self.signal_name}"


class Interrupted(SystemExit):
    """Ctrl-C (SIGINT), once said in one line: exit status 130 (128 + SIGINT), as a shell reports an
    interrupted command, where click said only "Aborted!" and exited 1."""

    def __init__(self) -> None:
        super().__init__(128 + signal.SIGINT)

    def __str__(self) -> str:
        return "interrupted"


# What stop_on_sigterm says; {stopped} is "stopped by SIGTERM", "stopped by SIGHUP" or "interrupted".
RUN_RECORDED = "{stopped}: the run is recorded as failed; run the command again to finish its work"
NO_RUN = "{stopped} before the run started: no run was recorded"
# Stopped once the run was recorded as succeeded, while the lock was released or the store closed.
RUN_FINISHED = "{stopped} after the run finished (it succeeded)"


class Stopping:
    """The line stop_on_sigterm says when its block is stopped: `said` (RUN_RECORDED, NO_RUN, RUN_FINISHED
    or another text with {stopped}), which the block may change as it goes (once its run is recorded,
    once it has finished); None: as the exception tells, RUN_FINISHED when it carries the summary of a
    run that succeeded (`finished`, set by run_weekly), RUN_RECORDED when it carries the failed run's
    (`summary`, set by run_weekly once the run is recorded), else NO_RUN."""

    def __init__(self, said: str | None) -> None:
        self.said = said

    def line(self, exc: BaseException) -> str:
        """The one line for `exc` (a Terminated or a KeyboardInterrupt) leaving the block."""
        said = self.said
        if said is None and getattr(exc, "finished", None) is not None:
            said = RUN_FINISHED
        elif said is None:
            said = RUN_RECORDED if getattr(exc, "summary", None) is not None else NO_RUN
        return said.format(stopped="interrupted" if isinstance(exc, KeyboardInterrupt) else str(exc))


def say_stopped(line: str, exc: BaseException) -> None:
    """Say `line` on stderr for a stop by `exc`, on a line of its own after the terminal's ^C echo; not
    at all when stderr is gone (a closed terminal, whose SIGHUP stopped the command)."""
    with contextlib.suppress(OSError, ValueError):
        # sys.stderr is None when the command was started with it closed (`2>&-`): click.echo says nothing.
        if isinstance(exc, KeyboardInterrupt) and is_terminal(sys.stderr):
            click.echo(err=True)
        click.echo(line, err=True)


@contextlib.contextmanager
def stop_on_sigterm(said: str | None = None) -> Iterator[Stopping]:
    """Turn SIGTERM (systemctl stop, docker stop, kill) and SIGHUP (the terminal closed, an SSH
    connection lost) into Terminated for the block, and a Ctrl-C that left it into Interrupted, saying
    one line (see Stopping for `said`).

    Without it a terminated ingest left its run `running` and its lock held until the next ingest
    took them over, a week later for a weekly job. The line is said once the exception has left the
    block, when the run is recorded as failed and the lock released, not in the signal handler, which
    cannot know whether a run was recorded yet (it said so while waiting for the lock)."""
    stopping = Stopping(said)
    if threading.current_thread() is not threading.main_thread():  # only the main thread may install it
        yield stopping
        return

    def terminate(signum: int, frame: Any) -> None:
        raise Terminated(signum)

    previous: dict[signal.Signals, Any] = {}
    for stop in (signal.SIGTERM, signal.SIGHUP):
        if stop == signal.SIGHUP and signal.getsignal(stop) == signal.SIG_IGN:
            continue  # started with nohup: the hangup is to be ignored
        previous[stop] = signal.signal(stop, terminate)
    try:
        yield stopping
    except Terminated as exc:
        say_stopped(stopping.line(exc), exc)
        raise
    except KeyboardInterrupt as exc:
        say_stopped(stopping.line(exc), exc)
        raise Interrupted from exc
    finally:
        for stop, handler in previous.items():
            signal.signal(stop, handler)


@contextlib.contextmanager
def _locked_store(kind: str, wait: float, must_exist: bool = False) -> Iterator[tuple[Any, Any]]:
    """(the ready store, the held ingest lock) for a whole command; released and closed on every exit.

    Taken before the command reads the store or asks arXiv anything: a second ingest of the same store
    is refused at once (or waits, with --wait) instead of racing this one. `must_exist`: a store that
    was never created is an error, not a new one (kg.cli.open_configured_store)."""
    from ingest.store_lock import IngestLocked, ingest_lock
    from kg.store import StoreError

    with contextlib.ExitStack() as stack:
        # Until the lock is held (opening the store, waiting with --wait) no run is recorded.
        stopping = stack.enter_context(stop_on_sigterm(NO_RUN))
        new_in = _new_store_dir()
        store = _ready_store(must_exist)
        stack.callback(store.close)
        if new_in is not None:
            # A mistyped PAPERKG_DATA_DIR would otherwise fill a new store somewhere unnoticed. On stderr,
            # so --json output stays one JSON document.
            click.echo(f"note: created a new store in {new_in} (PAPERKG_DATA_DIR)", err=True)
        try:
            held = stack.enter_context(ingest_lock(store, kind, wait=wait))
        except IngestLocked as exc:
            raise IngestLockedError(str(exc), lock_holder(store)) from exc
        except StoreError as exc:  # taking the lock is the run's first write (read-only, disk full...)
            raise click.ClickException(f"{kind} ingest failed: {exc}") from exc
        stopping.said = RUN_RECORDED  # the command's run_ingest / run_reextract records its run first
        yield store, held
        # The block returned: its run is recorded as succeeded. A stop while the lock is released or the
        # store closed (the stack unwinding) must not say it failed.
        stopping.said = RUN_FINISHED


def _run_pipeline(store: Any, records: list[Any], *, source: str, batch_size: int, lock: Any,
                  rejected: list[dict[str, Any]] | None = None, whole_list: bool = False,
                  prune: bool = False, force_prune: bool = False,
                  fetch: Callable[[], list[Any]] | None = None,
                  unreadable_lines: list[int] | None = None, file: str | None = None) -> Any:
    """run_ingest with its failures turned into one-line CLI errors; `fetch`: the run's arXiv look-ups
    (run_ingest's fetch: recorded as part of the run, a stop or failure in them too); `unreadable_lines`:
    the list's lines its parser could not read (--prune holds back while there are any); `file`: the
    records file's name, kept in the run's counts."""
    from ingest.arxiv_source import ArxivError
    from ingest.pipeline import run_ingest

    with _recorded_failure(store, source):
        try:
            with _one_line_errors(f"{source} ingest"):
                return run_ingest(store, records, source=source, progress=True, batch_size=batch_size,
                                  rejected=rejected or [], lock=lock, whole_list=whole_list, prune=prune,
                                  force_prune=force_prune, fetch=fetch,
                                  unreadable_lines=unreadable_lines or [], file=file)
        except ArxivError as exc:  # before any paper is written; the run is recorded as failed
            # Most say "arXiv API at URL …" already: "arXiv: arXiv API at" said it twice.
            said = str(exc) if str(exc).startswith("arXiv") else f"arXiv: {exc}"
            raise click.ClickException(f"{said} (no paper was written)") from exc


@contextlib.contextmanager
def _recorded_failure(store: Any, source: str) -> Iterator[None]:
    """A click error raised inside, once the block recorded its run, as RunFailed carrying that run as
    recorded (for --json); the same message and exit status."""
    before = _latest_run(store, source)
    try:
        yield
    except click.ClickException as exc:
        # The run this command recorded: the lock is held, so no other ingest started one since `before`.
        after = _latest_run(store, source)
        run = after if after is not None and (before is None or after.id != before.id) else None
        shown = None if run is None else {"run_id": run.id, "source": run.source, "status": run.status,
                                          **run.counts}
        raise RunFailed(exc.format_message(), shown) from exc  # exit status 1, as every error here


def _latest_run(store: Any, source: str) -> Any:
    """The newest recorded run of `source` (None: none, or the store cannot be read)."""
    from kg.store import StoreError

    try:
        runs = store.runs(source, limit=1)
    except StoreError:
        return None
    return runs[0] if runs else None


@contextlib.contextmanager
def _one_line_errors(what: str) -> Iterator[None]:
    """A missing model, store trouble or bad data in the block as one line: "WHAT failed: reason"."""
    from ingest.embed import ModelMissing
    from kg.store import StoreError

    try:
        yield
    except (ModelMissing, StoreError, ValueError) as exc:
        raise click.ClickException(f"{what} failed: {exc}") from exc


def _echo_summary(summary: Any, as_json: bool, extra: dict[str, Any] | None = None) -> None:
    if as_json:
        click.echo(json.dumps({**summary.to_dict(), **(extra or {})}, indent=2))
    else:
        click.echo(summary.text())


def check_list_file(source: str | None, option: str) -> None:
    """A list FILE given on the command line that does not exist (or is a directory) is a usage error,
    exit status 2, as a missing `ingest records FILE` is; a URL, or the configured source, is read by the
    run, whose failure is an error (1)."""
    if not source or source.startswith(("http://", "https://")):
        return
    path = Path(source).expanduser()
    if not path.exists():
        raise click.BadParameter(f"the list file {shown_arg(source, 200)} does not exist", param_hint=option)
    if path.is_dir():
        raise click.BadParameter(f"{shown_arg(source, 200)} is a directory, not a list file",
                                 param_hint=option)


@ingest_group.command("list", cls=JsonFailuresCommand)
@click.option("--source", "source", default=None, metavar="FILE|URL",
              help="The awesome-list markdown (default: PAPERKG_LIST_SOURCE).")
@click.option("--dry-run", is_flag=True, help="Parse and report; write nothing, ask arXiv nothing.")
@click.option("--json", "as_json", is_flag=True,
              help="Print JSON: the summary, or on failure one object saying why (see the README).")
@click.option("--no-arxiv", is_flag=True, help="Do not fetch arXiv metadata for the list's papers.")
@batch_size_option
@click.option("--prune", is_flag=True,
              help="Remove the stored list rows this list no longer has (their papers stay, but for "
                   "those the list no longer has and with no other source, which go too); refused when "
                   "the list no longer has more than half of the list rows stored before this run.")
@click.option("--force", is_flag=True, help="With --prune: prune even when more than half would go.")
@wait_option
@click.pass_context
def ingest_list_cmd(
    ctx: click.Context, source: str | None, dry_run: bool, as_json: bool, no_arxiv: bool, batch_size: int,
    prune: bool, force: bool, wait: float,
) -> None:
    """Ingest the awesome-list: its rows, then arXiv metadata for its papers.

    Afterwards, the stored list rows the list no longer has (papers taken off it, or off one of their
    sections) are reported, and removed with --prune, with the papers the list no longer has that have
    no other source."""
    from ingest.arxiv_source import ArxivSource, report_lines
    from ingest.awesome_list import ListSourceError, parse_list, read_list_source
    from ingest.summary import counted
    from kg.cli import configured_taxonomy
    from kg.config import load_config

    with failures_as_json(as_json):  # `| jq .status` reads an object on every outcome
        # Usage errors first: nothing is read or written.
        if force and not prune:
            raise click.UsageError("--force only goes with --prune")
        if prune and dry_run:
            raise click.UsageError("--prune removes rows, --dry-run writes nothing: give one of them")
        _refuse_wait_with_dry_run(ctx, dry_run)
        check_list_file(source, "'--source'")
        config = load_config()
        source = source or config.list_source
        taxonomy = configured_taxonomy()
        try:
            text = read_list_source(source, timeout=config.arxiv_timeout)
        except (ListSourceError, ValueError) as exc:
            raise click.ClickException(str(exc)) from exc
        parsed = parse_list(text, taxonomy)
        if not parsed.rows:
            # A wrong file (a JSONL file, an empty one) would otherwise read as "0 rows" and report every
            # stored list row as gone from the list (and --prune --force remove them).
            raise click.ClickException(_no_rows_reason(source, parsed))
        if dry_run:
            if as_json:
                click.echo(json.dumps(parsed.to_dict(), indent=2, ensure_ascii=False))
            else:
                tools = sum(1 for p in parsed.papers if p.item_type == "tool")
                click.echo(f"{source}: {counted(len(parsed.rows), 'row')} -> "
                           f"{counted(len(parsed.papers) - tools, 'paper')} + {counted(tools, 'tool')} "
                           "(dry run: nothing written)")
                _echo_problems(parsed)
            return
        records = list(parsed.papers)
        arxiv_report: dict[str, Any] = {}

        def arxiv_records() -> list[Any]:
            """The list records' arXiv matches (run_ingest's fetch: the look-ups are part of the run)."""
            found, report = ArxivSource(config).resolve(records, progress=True)
            arxiv_report.update(report)
            return found

        with _locked_store("list", wait) as (store, held):
            summary = _run_pipeline(store, records, source="list", batch_size=batch_size, lock=held,
                                    whole_list=True, prune=prune, force_prune=force,
                                    fetch=None if no_arxiv else arxiv_records,
                                    unreadable_lines=[row["line"] for row in parsed.unreadable_rows])
    extra = {"rows": len(parsed.rows), "unreadable_rows": parsed.unreadable_rows,
             "row_warnings": parsed.row_warnings, "arxiv": arxiv_report}
    _echo_summary(summary, as_json, extra)
    if not as_json:
        click.echo(f"  list rows: {len(parsed.rows)}")
        if arxiv_report:
            for line in report_lines(arxiv_report):
                click.echo(f"  {terminal_safe(line)}")
        for row in parsed.unreadable_rows:
            click.echo(f"  unreadable row, line {row['line']}: {terminal_safe(row['reason'])}")
        _echo_row_warnings(parsed)
    if summary.prune_refused:
        # After the summary: the ingest itself is done; exit status 1 says the prune asked for was not.
        raise click.ClickException(summary.prune_refused)


def _refuse_wait_with_dry_run(ctx: click.Context, dry_run: bool) -> None:
    """A usage error for --wait with --dry-run (list, reextract): the wait would silently do nothing."""
    if dry_run and ctx.get_parameter_source("wait") is not click.core.ParameterSource.DEFAULT:
        raise click.UsageError("--wait waits for the store lock, which --dry-run does not take: give one of "
                               "them")


def _no_rows_reason(source: str, parsed: Any) -> str:
    """Why a list source with no rows is refused, naming the first unreadable row if there is one."""
    from ingest.summary import counted
    reason = (f"no list rows in {shown_arg(source, 200)}: is it the awesome list? Its papers are the rows "
              "of markdown tables (a header line, then a | --- | line)")
    if parsed.unreadable_rows:
        first = parsed.unreadable_rows[0]
        reason += (f"; {counted(len(parsed.unreadable_rows), 'row')} could not be read, the first at line "
                   f"{first['line']}: {terminal_safe(first['reason'])}")
    return reason + " (nothing was written)"


def _echo_problems(parsed: Any) -> None:
    from ingest.summary import did_you_mean

    for entry in parsed.unknown_labels:
        lines = ", ".join(str(n) for n in entry["lines"])
        where = "line" if len(entry["lines"]) == 1 else "lines"
        label = terminal_safe(repr(entry["label"]))
        column = terminal_safe(entry["column"])
        hint = terminal_safe(did_you_mean(entry))
        click.echo(f"  unknown {column} label {label} ({where} {lines}), kept on its row{hint}")
    for row in parsed.unreadable_rows:
        reason, text = terminal_safe(row["reason"]), terminal_safe(row["text"][:80])
        click.echo(f"  unreadable row, line {row['line']}: {reason}: {text}")
    _echo_row_warnings(parsed)


def _echo_row_warnings(parsed: Any) -> None:
    for warning in parsed.row_warnings:
        click.echo(f"  {terminal_safe(warning['message'])}")


@ingest_group.command("arxiv", cls=JsonFailuresCommand)
@click.argument("id_args", nargs=-1, metavar="[ID]...")
@click.option("--ids", "ids", multiple=True, metavar="ID[,ID...]",
              help="arXiv ids or URLs, as the arguments are (repeat the option or separate with commas).")
@click.option("--json", "as_json", is_flag=True,
              help="Print JSON: the summary, or on failure one object saying why (see the README).")
@batch_size_option
@wait_option
def ingest_arxiv_cmd(id_args: tuple[str, ...], ids: tuple[str, ...], as_json: bool, batch_size: int,
                     wait: float) -> None:
    """Ingest papers by arXiv id or URL (metadata fetched in batches of 100): `paperkg ingest arxiv
    2211.00593 https://arxiv.org/abs/2301.05217`, or with --ids.

    Exits 1 when arXiv has none of them (nothing is stored); ids it does not have are named on stderr."""
    from ingest.arxiv_source import ArxivSource

    with failures_as_json(as_json):  # `| jq .status` reads an object on every outcome
        wanted = _wanted_ids(id_args, "'ID'") + _wanted_ids(ids, "'--ids'")
        if not wanted:
            # An empty --ids "" would otherwise record an empty "successful" run.
            raise click.UsageError("give at least one arXiv id (e.g. paperkg ingest arxiv 2211.00593)")
        records: list[Any] = []
        skipped: set[str] = set()
        answered: list[bool] = []  # arXiv answered every look-up (the run may still fail after)

        def arxiv_records() -> list[Any]:
            """The ids' arXiv records (run_ingest's fetch: the look-ups are part of the run); none at all
            fails the run, which then writes nothing."""
            source = ArxivSource()
            records.extend(source.fetch_by_ids(wanted))
            skipped.update(source.skipped)  # answered, but dropped for an unusable date (with a warning)
            answered.append(True)
            if not records:
                raise click.ClickException(_none_found(wanted, skipped))
            return records

        try:
            with _locked_store("arxiv", wait) as (store, held):
                summary = _run_pipeline(store, [], source="arxiv", batch_size=batch_size, lock=held,
                                        fetch=arxiv_records)
        except RunFailed as exc:
            if answered and exc.run is not None:  # the README's not_found, in the failed run's object too
                exc.run.update(_not_stored(wanted, records, skipped))
            raise
    not_stored = _not_stored(wanted, records, skipped)
    _echo_summary(summary, as_json, not_stored)
    missing, unusable = not_stored["not_found"], not_stored["unusable_date"]
    # On stderr, --json or not: the papers found were stored (exit 0), these were not.
    if missing:
        click.echo(f"not found on arXiv: {', '.join(missing)}", err=True)
    if unusable:
        click.echo(f"skipped (unusable arXiv date): {', '.join(unusable)}", err=True)


def _not_stored(wanted: list[str], records: list[Any], skipped: set[str]) -> dict[str, list[str]]:
    """--json's `not_found` (ids arXiv does not have) and `unusable_date` (answered with a date that
    cannot be stored) of an `ingest arxiv` run."""
    found = {r.arxiv_id for r in records}
    return {"not_found": sorted(set(wanted) - found - skipped),
            "unusable_date": sorted(skipped & (set(wanted) - found))}


# What a value that is no arXiv id is told to look like.
_ID_EXAMPLE = "e.g. 2211.00593 or https://arxiv.org/abs/2211.00593"


def _wanted_ids(values: tuple[str, ...], hint: str) -> list[str]:
    """The arXiv ids of `values` (ids or URLs, separated by commas or spaces too); a usage error naming
    `hint` (the argument or option) for one that is neither, before anything is opened or recorded."""
    from ingest.normalize import arxiv_id_from_url
    wanted: list[str] = []
    for value in values:
        for part in value.replace(" ", ",").split(","):
            if not part.strip():
                continue
            aid = arxiv_id_from_url(part.strip())
            if aid is None:
                shown = shown_arg(part.strip())
                raise click.BadParameter(f"not an arXiv id or URL: '{shown}' ({_ID_EXAMPLE})",
                                         param_hint=hint)
            wanted.append(aid)
    return wanted


def _none_found(wanted: list[str], skipped: set[str]) -> str:
    """Why an `ingest arxiv` run stored nothing: arXiv returned none of the ids (or only entries with an
    unusable date)."""
    missing = [aid for aid in dict.fromkeys(wanted) if aid not in skipped]
    unusable = [aid for aid in dict.fromkeys(wanted) if aid in skipped]
    if not unusable and len(missing) == 1:
        return f"{missing[0]} was not found on arXiv; nothing was stored"
    if not unusable:
        return f"none of the ids was found on arXiv: {', '.join(missing)}; nothing was stored"
    parts = ([f"not found on arXiv: {', '.join(missing)}"] if missing else []) + [
        f"skipped (unusable arXiv date): {', '.join(unusable)}"]
    return f"none of the ids could be stored: {'; '.join(parts)}; nothing was stored"


@ingest_group.command("records", cls=JsonFailuresCommand)
# exists=True: a missing file is a usage error (exit 2), as a directory is. The metavar is the README's.
@click.argument("path", metavar="FILE.jsonl", type=UserPath(exists=True, dir_okay=False, path_type=Path))
@click.option("--skip-invalid", is_flag=True,
              help="Skip and report invalid lines instead of stopping (default: stop, write nothing).")
@click.option("--json", "as_json", is_flag=True,
              help="Print JSON: the summary, or on failure one object saying why (see the README).")
@batch_size_option
@wait_option
def ingest_records_cmd(path: Path, skip_invalid: bool, as_json: bool, batch_size: int, wait: float) -> None:
    """Ingest papers from FILE.jsonl, JSON Lines in the seed_papers.jsonl format (unknown keys ignored).

    Exits 1, writing nothing, when a line is invalid (with --skip-invalid: when no line is valid)."""
    from ingest.records_file import NoValidLines, RecordsFileError, read_records_file, records_file_name
    from kg.cli import configured_taxonomy

    with failures_as_json(as_json):  # `| jq .status` reads an object on every outcome
        # Read here: a missing PAPERKG_TAXONOMY file is a bad setting (78), not a records file error (1).
        taxonomy = configured_taxonomy()
        try:
            read = read_records_file(path, skip_invalid=skip_invalid, taxonomy=taxonomy)
            if not read.records:
                # All skipped: a run that stores nothing would read as done (exit 0).
                raise NoValidLines(path, read.skipped)
        except RecordsFileError as exc:
            raise click.ClickException(str(exc)) from exc
        with _locked_store("records", wait) as (store, held):
            summary = _run_pipeline(store, read.records, source="records", batch_size=batch_size, lock=held,
                                    rejected=read.rejected(), file=records_file_name(path))
    summary.warnings = read.warnings  # the lines read with a note (a year its published date disagrees with)
    _echo_summary(summary, as_json)


@ingest_group.command("reextract", cls=JsonFailuresCommand)
@click.option("--dry-run", is_flag=True,
              help="Extract and report what would change; write nothing, take no lock, record no run.")
@click.option("--json", "as_json", is_flag=True,
              help="Print JSON: the summary, or on failure one object saying why (see the README).")
@batch_size_option
@wait_option
@click.pass_context
def ingest_reextract_cmd(ctx: click.Context, dry_run: bool, as_json: bool, batch_size: int, wait: float
                         ) -> None:
    """Extract every stored paper again with PAPERKG_TAXONOMY, after a taxonomy edit and `paperkg init`.

    From what an ingest extracts a paper from (its stored title, abstract and list TL;DRs); only the
    papers whose extraction changed are written, keeping their list rows, list labels, sources and
    embeddings. Nothing is fetched or embedded (but a text the embedding cache lost)."""
    from ingest.reextract import REEXTRACT_SOURCE, run_reextract

    with failures_as_json(as_json):  # `| jq .status` reads an object on every outcome
        _refuse_wait_with_dry_run(ctx, dry_run)
        if dry_run:
            from kg.cli import open_ready_store

            # Read-only (it must exist), its taxonomy checked against PAPERKG_TAXONOMY as for an ingest.
            store = open_ready_store(read_only=True)
            try:
                with _one_line_errors(f"{REEXTRACT_SOURCE} --dry-run"):
                    summary = run_reextract(store, progress=True, batch_size=batch_size, dry_run=True)
            finally:
                store.close()
        else:
            # must_exist: a mistyped PAPERKG_DATA_DIR holds nothing to re-extract: never a new store.
            with (_locked_store(REEXTRACT_SOURCE, wait, must_exist=True) as (store, held),
                  _recorded_failure(store, REEXTRACT_SOURCE), _one_line_errors(REEXTRACT_SOURCE)):
                summary = run_reextract(store, progress=True, batch_size=batch_size, lock=held)
    _echo_summary(summary, as_json)


def _failure(value: str) -> tuple[str, int, str | None]:
    """A --fail value MODE[:COUNT][@TEXT] as (mode, count, text)."""
    from ingest.arxiv_server import FAIL_KINDS

    spec, _, matching = value.partition("@")
    mode, _, count_text = spec.partition(":")
    if mode not in FAIL_KINDS:
        raise click.BadParameter(f"unknown failure {mode!r} in {value!r}; one of {', '.join(FAIL_KINDS)}",
                                 param_hint="'--fail'")
    try:
        count = int(count_text) if count_text else 1
    except ValueError:
        count = 0
    if count < 1:
        raise click.BadParameter(f"COUNT must be a whole number of at least 1 in {value!r}",
                                 param_hint="'--fail'")
    if "@" in value and not matching:
        raise click.BadParameter(f"nothing after '@' in {value!r}", param_hint="'--fail'")
    return mode, count, matching or None


@dev_group.command("arxiv-server")
@click.option("--records", "records_path", required=True,
              type=UserPath(exists=True, dir_okay=False, path_type=Path),
              help="JSON Lines records (seed_papers.jsonl format); those with an arxiv_id are served.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Interface to listen on (127.0.0.1: this machine only).")
@click.option("--port", default=0, show_default=True, type=WholeNumber(0, 65535),
              help="0 picks a free port.")
@click.option("--fail", "failures", multiple=True, metavar="MODE[:COUNT][@TEXT]",
              help="Fail the next COUNT requests (default 1), or with @TEXT the next COUNT whose decoded "
                   "query string contains TEXT (e.g. @start=100 for the second page). MODE: 503 or 429 "
                   "(that HTTP status, with the --retry-after header), timeout "
                   "(stall --stall seconds), malformed (cut XML), empty (no entries, totalResults kept), "
                   "truncated (connection dropped mid-body), zero (totalResults 0: nothing matches, or with "
                   "@start=N a flaky later page). Repeatable, in order.")
@click.option("--stall", default=35.0, show_default=True, type=SECONDS,
              help="Seconds a 'timeout' failure stalls (above PAPERKG_ARXIV_TIMEOUT, default 30).")
@click.option("--retry-after", "retry_after", default=None, metavar="VALUE",
              help="Send 'Retry-After: VALUE' with every 503 and 429 failure, as given: seconds (30), an "
                   "HTTP-date ('Wed, 21 Oct 2015 07:28:00 GMT') or other text, to try a bad one. Default: "
                   "no header.")
def arxiv_server_cmd(records_path: Path, host: str, port: int, failures: tuple[str, ...], stall: float,
                     retry_after: str | None) -> None:
    """Serve a local arXiv API (arXiv's Atom format) until interrupted, failing on demand."""
    from ingest.arxiv_server import LocalArxivServer, check_retry_after
    from ingest.records_file import read_json_objects
    from kg.cli import echo_best_effort

    queued = [_failure(value) for value in failures]  # bad values: a usage error before anything starts
    try:
        check_retry_after(retry_after)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--retry-after'") from exc
    try:
        records = read_json_objects(records_path)
    except (OSError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        server = LocalArxivServer(records, host=host, port=port, timeout_sleep=stall,
                                  retry_after=retry_after).start()
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    # From here a Ctrl-C is the server's way to stop, banner included: it is serving already.
    try:
        for mode, count, matching in queued:
            server.fail_next(mode, count, matching=matching)
        # Best effort (each line flushed as written): a server started with stdout closed serves all the
        # same.
        echo_best_effort(f"local arXiv API with {len(server.entries)} papers at {server.url}")
        echo_best_effort(f"use it with: PAPERKG_ARXIV_URL={server.url} PAPERKG_ARXIV_DELAY=0.1")
        if queued:
            echo_best_effort("failing on demand: " + ", ".join(
                f"{mode} x{count}" + (f" (requests containing {matching!r})" if matching else "")
                for mode, count, matching in queued)
                + (f"; 503 and 429 send Retry-After: {retry_after}" if retry_after is not None else ""))
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


def register(main: click.Group) -> None:
    """Attach this package's commands to the root `paperkg` group."""
    from ingest.weekly_cli import register as register_weekly

    main.add_command(ingest_group)
    main.add_command(dev_group)
    register_weekly(main)
