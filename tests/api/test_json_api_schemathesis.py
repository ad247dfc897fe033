"""Property-based API test: schemathesis (CLI) against a live werkzeug server on 127.0.0.1 serving
the app on the seed corpus. Zero 5xx responses, and every response conforms to the OpenAPI document."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from kg.embedded import EmbeddedStore
from tests.api.test_json_api import snapshot

CHECKS = ",".join([
    "not_a_server_error", "status_code_conformance", "content_type_conformance",
    "response_schema_conformance", "response_headers_conformance",
])


@pytest.fixture(scope="module")
def live_server(app: Flask) -> Iterator[str]:
    """The seed app on a real HTTP server on a free loopback port."""
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


def test_schemathesis_finds_no_server_errors_and_no_schema_violations(
    live_server: str, seed_store: EmbeddedStore, tmp_path: Path
) -> None:
    before = snapshot(seed_store)
    exe = Path(sys.executable).with_name("schemathesis")
    env = {**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_HOOKS": ""}
    result = subprocess.run(
        [str(exe), "run", f"{live_server}/api/openapi.json", "--checks", CHECKS,
         "--max-examples", "25", "--workers", "1", "--seed", "20241125",
         "--phases", "examples,coverage,fuzzing", "--request-timeout", "30",
         "--suppress-health-check", "too_slow"],
        capture_output=True, text=True, timeout=480, cwd=tmp_path, env=env,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert "passed" in output and "failures" not in output.split("SUMMARY")[-1].lower(), output[-3000:]
    assert snapshot(seed_store) == before
