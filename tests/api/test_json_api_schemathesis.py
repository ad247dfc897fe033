"""Property-based API test: schemathesis (CLI) against a live werkzeug server on 127.0.0.1 serving
the app on the seed corpus, with every check: zero 5xx responses, every response conforms to the
OpenAPI document, schema-valid requests are accepted and schema-violating ones rejected (save the
documented exceptions in CONFIG), and undeclared methods get a 405 with Allow."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from kg.embedded import EmbeddedStore
from tests.api.conftest import serving
from tests.api.test_json_api import snapshot

# The rules OpenAPI 3.0 cannot state, each documented on its operation: a search needs a query or a
# filter and its ids must exist (400), as must the technique ids of the new papers and their feed (400);
# recommended ids, and those of a BibTeX list, must exist (422),
# and not be both liked and disliked (400). A body over the 64 KB limit is a 413, a rejection
# schemathesis does not list. GET /api/status answers 503 by design when it finds a problem
# (require_weekly=true on the seed store, which has no weekly run). A JSON GET, as the feed, answers a
# generated If-None-Match that names its ETag ("*") with 304.
CONFIG = """
[[operations]]
include-path = "/api/search"
checks.positive_data_acceptance.expected-statuses = ["2xx", "304", "400"]

[[operations]]
include-path = "/api/new"
checks.positive_data_acceptance.expected-statuses = ["2xx", "304", "400"]

[[operations]]
include-path = "/feeds/new.atom"
checks.positive_data_acceptance.expected-statuses = ["2xx", "304", "400"]

[[operations]]
include-path = "/api/bibtex"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "422"]

[[operations]]
include-path = "/api/status"
checks.not_a_server_error.expected-statuses = ["2xx", "3xx", "4xx", "503"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "503"]

[[operations]]
include-path = "/api/recommend"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "422"]
checks.negative_data_rejection.expected-statuses = ["400", "413", "415", "422"]
"""


@pytest.fixture(scope="module")
def live_server(app: Flask) -> Iterator[str]:
    """The seed app on a real HTTP server on a free loopback port."""
    with serving(app) as port:
        yield f"http://127.0.0.1:{port}"


def test_schemathesis_finds_no_server_errors_and_no_schema_violations(
    live_server: str, seed_store: EmbeddedStore, tmp_path: Path
) -> None:
    before = snapshot(seed_store)
    exe = Path(sys.executable).with_name("schemathesis")
    env = {**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_HOOKS": ""}
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG, encoding="utf-8")
    result = subprocess.run(
        [str(exe), "--config-file", str(config), "run", f"{live_server}/api/openapi.json", "--checks", "all",
         "--max-examples", "25", "--workers", "1", "--seed", "20241125",
         "--phases", "examples,coverage,fuzzing", "--request-timeout", "30",
         "--suppress-health-check", "too_slow"],
        capture_output=True, text=True, timeout=480, cwd=tmp_path, env=env,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert "passed" in output and "failures" not in output.split("SUMMARY")[-1].lower(), output[-3000:]
    assert snapshot(seed_store) == before
