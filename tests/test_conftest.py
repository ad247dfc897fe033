"""tests/conftest.py keeps the caller's PAPERKG_* settings away from the tests (and their subprocesses)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# A test run under tests/conftest.py recording what it sees of PAPERKG_* at collection, in a session
# fixture, in the test and in a subprocess the test starts.
PROBE = '''
import json, os, subprocess, sys

import pytest


def paperkg_environ() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k.startswith("PAPERKG_")}


AT_COLLECTION = paperkg_environ()


@pytest.fixture(scope="session")
def at_session() -> dict[str, str]:
    return paperkg_environ()


def test_probe(at_session: dict[str, str]) -> None:
    from kg.config import load_config

    child = subprocess.run(
        [sys.executable, "-c", "import json, os; "
         "print(json.dumps({k: v for k, v in os.environ.items() if k.startswith('PAPERKG_')}))"],
        capture_output=True, text=True, check=True, timeout=60)
    seen = {"collection": AT_COLLECTION, "session": at_session, "test": paperkg_environ(),
            "subprocess": json.loads(child.stdout), "neo4j_uri": os.environ.get("NEO4J_URI"),
            "taxonomy": str(load_config().taxonomy)}
    with open(os.environ["CONFTEST_PROBE_OUT"], "w", encoding="utf-8") as handle:
        json.dump(seen, handle)
'''


def test_the_callers_paperkg_settings_do_not_reach_a_test(tmp_path: Path, shared_data: Path) -> None:
    """A user who exported PAPERKG_TAXONOMY (as the README says after `paperkg init --taxonomy`) and
    others: the tests see none of them, except PAPERKG_SHARED_DATA; NEO4J_URI is left alone."""
    from kg.config import PACKAGED_TAXONOMY

    run = tmp_path / "run"
    run.mkdir()
    (run / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    shutil.copy(REPO / "tests" / "conftest.py", run / "conftest.py")
    (run / "test_probe.py").write_text(PROBE, encoding="utf-8")
    custom = tmp_path / "tax.yaml"
    shutil.copy(PACKAGED_TAXONOMY, custom)
    out = tmp_path / "seen.json"
    env = {**os.environ, "PYTHONPATH": str(REPO), "CONFTEST_PROBE_OUT": str(out),
           "PAPERKG_TAXONOMY": str(custom), "PAPERKG_LOG_LEVEL": "DEBUG",
           "PAPERKG_ARXIV_URL": "http://127.0.0.1:9/x", "PAPERKG_OFFLINE": "0",
           "PAPERKG_DATA_DIR": str(tmp_path / "users-data"), "PAPERKG_NEO4J_URI": "bolt://127.0.0.1:9",
           "PAPERKG_SHARED_DATA": str(shared_data), "NEO4J_URI": "bolt://127.0.0.1:9"}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           f"--basetemp={tmp_path / 'basetemp'}", "test_probe.py"],
                          cwd=run, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    seen = json.loads(out.read_text(encoding="utf-8"))
    kept = {"PAPERKG_SHARED_DATA": str(shared_data)}
    assert {where: seen[where] for where in ("collection", "session", "test", "subprocess")} == {
        "collection": kept, "session": kept, "test": kept, "subprocess": kept}
    assert seen["neo4j_uri"] == "bolt://127.0.0.1:9"
    assert seen["taxonomy"] == str(PACKAGED_TAXONOMY)
