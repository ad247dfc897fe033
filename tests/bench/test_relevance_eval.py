"""bench/relevance_eval.py as a script: `--help` prints usage and runs nothing; unknown options fail."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "relevance_eval.py"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True,
                          timeout=120, check=False)


def test_help_prints_usage_and_exits_without_evaluating() -> None:
    result = _run("--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: relevance_eval.py")
    assert "Calibrate and evaluate the weekly relevance gate" in result.stdout
    assert "calibration (mean top-5 cosine" not in result.stdout  # the evaluation did not run


def test_unknown_option_is_a_usage_error() -> None:
    result = _run("--threshold", "0.5")
    assert result.returncode == 2
    assert "unrecognized arguments: --threshold 0.5" in result.stderr
    assert result.stdout == ""
