"""`paperkg search` and `paperkg related` with a broken torch install (simulated by a shadowing package on
PYTHONPATH, as the QA laptop did): one `Error:` line where the model is needed, and keyword search and
related papers, which need none, still work.

QA: `paperkg search "logit lens"` (hybrid, the default) printed a 30-line traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.broken_imports import shadow_package

REPO = Path(__file__).resolve().parents[2]
BROKEN = {
    "ImportError": "raise ImportError('simulated: torch cannot be loaded')",
    "OSError": "raise OSError('libtorch_cpu.so: cannot open shared object file')",
}


def _paperkg(args: list[str], data: Path, shadow: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PAPERKG_DATA_DIR": str(data), "PAPERKG_STORE": "embedded",
           "PYTHONPATH": str(shadow)}
    env.pop("PAPERKG_NEO4J_URI", None)
    env.pop("PAPERKG_EMBEDDING_MODEL", None)
    return subprocess.run([sys.executable, "-m", "kg.cli", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300, check=False)


@pytest.mark.parametrize("error", ["ImportError", "OSError"])
def test_search_with_a_broken_torch_is_one_error_line(seeded_dir: Path, tmp_path: Path, error: str) -> None:
    shadow = shadow_package(tmp_path / "shadow", "torch", BROKEN[error])
    for mode in ([], ["--mode", "semantic"]):
        proc = _paperkg(["search", "logit lens", *mode], seeded_dir, shadow)
        assert proc.returncode == 1 and proc.stdout == "", proc.stderr
        assert proc.stderr.count("\n") == 1, proc.stderr  # no traceback: the one line
        assert proc.stderr.startswith(
            f"Error: the embedding model cannot run: importing torch failed ({error}: ")
        assert "reinstall it: pip install --force-reinstall torch==2.13.0" in proc.stderr
        assert proc.stderr.rstrip().endswith("keyword search needs no model")
    keyword = _paperkg(["search", "logit lens", "--mode", "keyword"], seeded_dir, shadow)
    assert keyword.returncode == 0 and "(keyword)" in keyword.stdout, keyword.stderr
    related = _paperkg(["related", "2211.00593", "--limit", "3"], seeded_dir, shadow)
    assert related.returncode == 0 and related.stdout.count("\n") >= 3, related.stderr
