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


def _demo_env(tmp_path: Path, shared: str) -> dict[str, str]:
    env = {**os.environ, "PAPERKG_DATA_DIR": str(tmp_path / "demo-data"), "PAPERKG_SHARED_DATA": shared,
           "PAPERKG_OFFLINE": "1"}
    env.pop("PAPERKG_NEO4J_URI", None)
    return env


def test_demo_without_shared_data_creates_nothing_and_says_where_it_looked(tmp_path: Path) -> None:
    # Relative, as the default ../shared/data is: the message shows where that resolved to.
    shared = os.path.relpath(tmp_path / "no-shared" / "data", REPO)
    demo = _run(["-m", "ingest.demo", "--no-serve"], _demo_env(tmp_path, shared))
    assert demo.returncode != 0
    looked_at = (tmp_path / "no-shared" / "data" / "seed_papers.jsonl").resolve()
    assert f"{looked_at}" in demo.stderr and f"{looked_at.parent / 'awesome-list-seed.md'}" in demo.stderr
    assert "  PAPERKG_SHARED_DATA=/path/to/shared/data make demo\n" in demo.stderr
    # An installed package has no Makefile: the module's own command is named too.
    assert ("in a checkout, or with paperkg installed as a package:\n"
            "  PAPERKG_SHARED_DATA=/path/to/shared/data python -m ingest.demo\n") in demo.stderr
    assert "(or PAPERKG_OFFLINE=0 instead, for the live list and arXiv); nothing was created" in demo.stderr
    assert "Traceback" not in demo.stderr
    # Nothing initialised: an empty store left here made `paperkg search` answer "0 candidates".
    assert not (tmp_path / "demo-data").exists()


def test_demo_on_a_busy_port_stops_before_loading_anything(tmp_path: Path, shared_data: Path) -> None:
    import socket

    from api.cli import port_problem

    with socket.create_server(("127.0.0.1", 0)) as held:
        port = held.getsockname()[1]
        problem = port_problem("127.0.0.1", port)  # the check `paperkg serve` makes, word for word
        demo = _run(["-m", "ingest.demo", "--host", "127.0.0.1", "--port", str(port)],
                    _demo_env(tmp_path, str(shared_data)))
    assert demo.returncode != 0
    assert "serving on" not in demo.stdout
    lines = demo.stderr.strip().splitlines()
    assert len(lines) == 1, demo.stderr[-2000:]
    assert lines[0].startswith(f"[demo] cannot listen on 127.0.0.1:{port}: ")
    # `make demo` takes PORT=; an installed package has no Makefile and runs the module with --port.
    assert lines[0] == (f"[demo] {problem}; another program may be using the port: choose another, e.g. "
                        f"PORT={port + 1} make demo (installed as a package: "
                        f"python -m ingest.demo --port {port + 1})")
    assert not (tmp_path / "demo-data").exists()  # checked before the store was initialised


def test_demo_help_works_with_docstrings_stripped(tmp_path: Path) -> None:
    """`python -OO` (PYTHONOPTIMIZE=2) strips docstrings: the demo read its help from __doc__ and crashed."""
    env = {**os.environ, "PYTHONOPTIMIZE": "2", "PAPERKG_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run([sys.executable, "-m", "ingest.demo", "--help"], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "--no-serve" in done.stdout
    assert not (tmp_path / "data").exists()
