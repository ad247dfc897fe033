"""Path arguments of the command line, shared by the kg and ingest commands (here, not in ingest.cli,
so kg.cli need not import the ingest package's command module for it)."""

from __future__ import annotations

import os
from typing import Any

import click


class UserPath(click.Path):
    """click.Path that expands a leading ~ or ~user as the shell does: a path quoted ("~/x.jsonl") or
    given by a script reaches paperkg unexpanded, and was "not found", or written to a directory named
    "~". Every path argument uses it, as PAPERKG_DATA_DIR, PAPERKG_TAXONOMY and --source expand ~ too."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """The value with ~ expanded, then checked and converted as click.Path does."""
        if isinstance(value, (str, os.PathLike)):
            value = os.path.expanduser(value)
        return super().convert(value, param, ctx)
