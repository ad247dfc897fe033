"""`make demo`'s data step (`python -m ingest.demo --no-serve`) in a real subprocess, offline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=600, check=False)


def test_demo_loads_the_seed_list_and_says_how_to_reach_it(tmp_path: Path, shared_data: Path) -> None:
    data = tmp_path / "demo-data"
    env = {**os.environ, "PAPERKG_DATA_DIR": str(data), "PAPERKG_SHARED_DATA": str(shared_data),
           "PAPERKG_OFFLINE": "1"}
    env.pop("PAPERKG_NEO4J_URI", None)
    demo = _run(["-m", "ingest.demo", "--no-serve"], env)
    assert demo.returncode == 0, demo.stderr[-2000:]
    assert "offline: local arXiv API at http://127.0.0.1:" in demo.stdout
    # The hint names the paperkg script beside this interpreter, runnable from where make runs.
    script = Path(sys.executable).parent / "paperkg"
    shown = script.relative_to(REPO) if script.is_relative_to(REPO) else script
    assert f'CLI on this graph: PAPERKG_DATA_DIR={data} {shown} search "logit lens"' in demo.stdout
    # The printed directory is the graph: 37 papers and 1 tool, every list row kept.
    stats = _run(["-m", "kg.cli", "stats", "--json"], env)
    assert stats.returncode == 0, stats.stderr
    counts = json.loads(stats.stdout)
    assert counts["nodes"]["Paper"] == 38 and counts["relationships"]["LISTED_IN"] == 57
    # A second run changes nothing in the graph; only its runs are recorded.
    again = _run(["-m", "ingest.demo", "--no-serve"], env)
    assert again.returncode == 0, again.stderr[-2000:]
    after = json.loads(_run(["-m", "kg.cli", "stats", "--json"], env).stdout)
    runs_before, runs_after = counts["nodes"].pop("IngestRun"), after["nodes"].pop("IngestRun")
    assert after == counts and runs_after > runs_before
