"""The number of gunicorn workers under the shipped settings: WEB_CONCURRENCY chooses it, 2 without it.

QA (a low-resource laptop): the settings fixed 2 workers, each loading its own model (~530 MB RSS), with no
way but a command-line flag to run one.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
COMMAND = ["-c", "python:api.gunicorn_conf", "-b", "127.0.0.1:8000", "--print-config", "api.wsgi:app"]


def print_config(tmp_path: Path, concurrency: str | None) -> subprocess.CompletedProcess[str]:
    """`gunicorn` with the README's settings and --print-config (a real gunicorn reading the module)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("WEB_CONCURRENCY", "GUNICORN_CMD_ARGS", "XDG_RUNTIME_DIR")}
    if concurrency is not None:
        env["WEB_CONCURRENCY"] = concurrency
    gunicorn = Path(sys.executable).with_name("gunicorn")
    return subprocess.run([str(gunicorn), *COMMAND], cwd=REPO, env={**env, "HOME": str(tmp_path)},
                          capture_output=True, text=True, timeout=120, check=False)


def workers(proc: subprocess.CompletedProcess[str]) -> int:
    """The worker count gunicorn would run."""
    assert proc.returncode == 0, proc.stderr
    line = next(line for line in proc.stdout.splitlines() if line.split("=")[0].strip() == "workers")
    return int(line.split("=", 1)[1])


@pytest.mark.parametrize(("concurrency", "expected"), [(None, 2), ("1", 1), ("3", 3), (" 1 ", 1)])
def test_web_concurrency_chooses_the_number_of_workers(
    tmp_path: Path, concurrency: str | None, expected: int
) -> None:
    assert workers(print_config(tmp_path, concurrency)) == expected


def test_a_number_of_workers_below_one_is_refused_in_one_line(tmp_path: Path) -> None:
    """gunicorn itself took WEB_CONCURRENCY=0 and would have started a server without workers, answering
    nothing. (A value that is not a whole number never reaches these settings: gunicorn's own import
    fails on it first.)"""
    proc = print_config(tmp_path, "0")
    assert proc.returncode == 1
    assert proc.stderr.strip() == ("Error: WEB_CONCURRENCY (the number of gunicorn workers) must be a whole "
                                   "number of 1 or more, not '0'; leave it unset for 2"), proc.stderr


def test_a_number_of_workers_past_four_a_cpu_is_refused_in_one_line(tmp_path: Path) -> None:
    """QA: WEB_CONCURRENCY=1000 forked hundreds of workers, each loading the model (load average 340 on
    2 cores, still respawning after the stop). The flag is the way to insist."""
    most = max(8, 4 * (os.cpu_count() or 1))
    assert workers(print_config(tmp_path, str(most))) == most
    proc = print_config(tmp_path, str(most + 1))
    assert proc.returncode == 1 and proc.stderr.strip().startswith(
        f"Error: WEB_CONCURRENCY={most + 1} workers is more than {most} (4 a CPU)"), proc.stderr
