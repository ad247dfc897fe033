"""What a writing ingest command prints with --json when it fails: one object on stdout (`| jq .status`
reads one on every outcome), "locked", "failed" (the run as recorded) or "refused"."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import click

from ingest.store_lock import EXIT_LOCKED


class IngestLockedError(click.ClickException):
    """Another ingest holds the store lock: exit status 75 (EX_TEMPFAIL), so a wrapper can retry later.
    `holder`: who holds it (lock_holder), for --json."""

    exit_code = EXIT_LOCKED

    def __init__(self, message: str, holder: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.holder = holder


class RunFailed(click.ClickException):
    """An ingest whose run was recorded failed: `run` is that run as recorded ({run_id, source, status,
    its counts}), for --json (None when it could not be read)."""

    def __init__(self, message: str, run: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.run = run


def refusal(message: str, exit_code: int) -> dict[str, object]:
    """The --json object of an ingest refused before its run started (no run recorded): beside the failed
    run's summary and the "locked" object, so `| jq .status` reads an object on every outcome."""
    return {"status": "refused", "error": message, "exit_status": exit_code}


def failure_object(exc: click.ClickException) -> dict[str, object]:
    """The one --json object of an ingest that failed with `exc`: "locked" (with who holds the lock),
    the failed run as recorded with its "error", or a refusal; `error` is the `Error:` line's text."""
    message = exc.format_message()
    if isinstance(exc, IngestLockedError):
        return {"status": "locked", "error": message, "holder": exc.holder}
    if isinstance(exc, RunFailed) and exc.run is not None:
        return {**exc.run, "status": "failed", "error": message}
    return refusal(message, exc.exit_code)


@contextlib.contextmanager
def failures_as_json(as_json: bool) -> Iterator[None]:
    """With --json, a click error raised inside (a usage error, a bad file, the lock held, a failed run)
    is printed as failure_object() on stdout too; its `Error:` line and exit status stay click's."""
    try:
        yield
    except click.ClickException as exc:
        if as_json:
            click.echo(json.dumps(failure_object(exc), indent=2))
        raise


class JsonFailuresCommand(click.Command):
    """An ingest command whose --json prints the refused object for a command line click refuses too (an
    option value refused by kg.cli_values, an unknown option, a missing FILE): those fail in click's
    parsing, before the command's failures_as_json runs, and printed nothing on stdout."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """click's parse_args; with --json on the command line, its usage error as a refusal on stdout."""
        as_json = self._json_given(args)
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            if as_json:
                click.echo(json.dumps(refusal(exc.format_message(), exc.exit_code), indent=2))
            raise

    def _json_given(self, args: list[str]) -> bool:
        """Whether --json is one of `args` as an option, not another option's value (`--source --json`)
        or an argument after `--`."""
        takes_value = {name for param in self.params if isinstance(param, click.Option) and not param.is_flag
                       for name in param.opts}
        tokens = iter(args)
        for token in tokens:
            if token == "--":
                return False
            if token == "--json":
                return True
            if token in takes_value:
                next(tokens, None)  # its value, whatever it looks like
        return False


def lock_holder(store: Any) -> dict[str, object] | None:
    """Who holds the store's ingest lock, for --json (None: nobody by now, or it cannot be read)."""
    from datetime import UTC, datetime

    from ingest.store_lock import LOCK_NAME, holder_state
    from kg.store import StoreError

    try:
        held = store.lock_holder(LOCK_NAME)
    except StoreError:
        return None
    if held is None:
        return None
    owner, expires = held
    holder = holder_state(owner)
    until = datetime.fromtimestamp(expires, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"owner": owner, "kind": holder.kind, "host": holder.host, "pid": holder.pid,
            "state": holder.state, "expires": until}
