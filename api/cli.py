"""CLI commands of the api package: `paperkg serve`, `search`, `related`."""

from __future__ import annotations

import click


def register(main: click.Group) -> None:
    """Attach this package's commands to the root `paperkg` group."""
    del main
