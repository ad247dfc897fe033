"""What the benches share: the shared-data folder they read seed_papers.jsonl from, wherever they are run
from, and their argument types."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from pathlib import Path

from kg.config import load_config

REPO = Path(__file__).resolve().parents[1]
DATA_HELP = "shared data dir (default PAPERKG_SHARED_DATA, else the shared/data folder beside the repo)"


def shared_data_dir(arg: str | None, env: Mapping[str, str] | None = None) -> Path:
    """--data if given, else PAPERKG_SHARED_DATA if set (or `env`'s), else REPO.parent/shared/data."""
    if arg:
        return Path(arg)
    config = load_config(env)  # raises ValueError for any invalid PAPERKG_* setting, as the app would
    # Whether the variable is set, not whether it equals kg.config's default: an explicit ../shared/data
    # is the user's, relative to the current directory. Unset, a bench run from anywhere
    # (`python /path/to/bench/x.py`) means the folder beside the repo.
    if (os.environ if env is None else env).get("PAPERKG_SHARED_DATA"):  # empty is unset, as in kg.config
        return config.shared_data
    return REPO.parent / "shared" / "data"


def seed_papers_file(parser: argparse.ArgumentParser, arg: str | None) -> Path:
    """shared_data_dir's seed_papers.jsonl; a usage error (exit 2) naming the folder when it is missing."""
    try:
        folder = shared_data_dir(arg)
    except ValueError as exc:  # another PAPERKG_* setting is invalid: load_config reads them all
        parser.error(str(exc))
    path = folder / "seed_papers.jsonl"
    if not path.is_file():
        parser.error(f"no seed_papers.jsonl in {folder} (set PAPERKG_SHARED_DATA or --data)")
    return path


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1 (a count of papers, rounds, a batch size)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value
