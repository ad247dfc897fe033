"""The shared-data folder the benches read seed_papers.jsonl from, wherever they are run from."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path

from kg.config import SETTINGS, load_config

REPO = Path(__file__).resolve().parents[1]
DATA_HELP = "shared data dir (default PAPERKG_SHARED_DATA, else the shared/data folder beside the repo)"
# kg.config's default, relative to the current directory as `make demo` (run from the repo root) needs.
_CONFIG_DEFAULT = Path(next(s.default for s in SETTINGS if s.name == "PAPERKG_SHARED_DATA")).expanduser()


def shared_data_dir(arg: str | None, env: Mapping[str, str] | None = None) -> Path:
    """--data if given, else PAPERKG_SHARED_DATA if set (or `env`'s), else REPO.parent/shared/data."""
    if arg:
        return Path(arg)
    configured = load_config(env).shared_data
    # A bench is run from anywhere (`python /path/to/bench/x.py`): the default means the folder beside
    # the repo, not ../shared/data from the current directory.
    return REPO.parent / "shared" / "data" if configured == _CONFIG_DEFAULT else configured


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
