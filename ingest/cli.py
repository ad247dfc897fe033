"""CLI commands of the ingest package: `paperkg ingest ...`, `dev`, `export`, `schedule`."""

from __future__ import annotations

import click


@click.group("ingest")
def ingest_group() -> None:
    """Load papers into the graph (awesome-list, arXiv, JSON Lines records)."""


def register(main: click.Group) -> None:
    """Attach this package's commands to the root `paperkg` group."""
    main.add_command(ingest_group)
