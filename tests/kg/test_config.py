"""Configuration: defaults, overrides, invalid values, and `paperkg config` masking secrets."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from kg.config import PACKAGED_TAXONOMY, SETTINGS, describe, load_config


def test_defaults() -> None:
    config = load_config({})
    assert config.data_dir == Path("paperkg-data")
    assert config.backend == "embedded" and config.neo4j_uri == ""
    assert config.neo4j_user == "neo4j" and config.neo4j_database == "neo4j"
    assert config.taxonomy == PACKAGED_TAXONOMY
    assert config.arxiv_url == "https://export.arxiv.org/api/query"
    assert config.arxiv_delay == 3.0 and config.arxiv_timeout == 30.0 and config.arxiv_retries == 4
    assert config.arxiv_categories == ("cs.CL", "cs.LG", "cs.AI")
    assert config.offline is True
    assert config.schedule == "0 6 * * 1"
    assert config.log_level == "INFO"


def test_environment_overrides(tmp_path: Path) -> None:
    config = load_config({
        "PAPERKG_DATA_DIR": str(tmp_path), "PAPERKG_ARXIV_DELAY": "0.5", "PAPERKG_ARXIV_RETRIES": "2",
        "PAPERKG_ARXIV_CATEGORIES": " cs.CL , ,stat.ML", "PAPERKG_OFFLINE": "false",
        "PAPERKG_LOG_LEVEL": "debug", "PAPERKG_TAXONOMY": "~/tax.yaml",
    })
    assert config.data_dir == tmp_path
    assert config.arxiv_delay == 0.5 and config.arxiv_retries == 2
    assert config.arxiv_categories == ("cs.CL", "stat.ML")
    assert config.offline is False
    assert config.log_level == "DEBUG"
    assert config.taxonomy == Path("~/tax.yaml").expanduser()
    # An empty value means "use the default".
    assert load_config({"PAPERKG_ARXIV_DELAY": ""}).arxiv_delay == 3.0
    # Keyword overrides win over the environment.
    assert load_config({"PAPERKG_ARXIV_DELAY": "9"}, arxiv_delay=0.0).arxiv_delay == 0.0


@pytest.mark.parametrize(
    ("env", "backend", "uri"),
    [
        ({"PAPERKG_STORE": "bolt://db:7687"}, "neo4j", "bolt://db:7687"),
        ({"PAPERKG_NEO4J_URI": "neo4j+s://x.databases.neo4j.io"}, "neo4j", "neo4j+s://x.databases.neo4j.io"),
        ({"PAPERKG_STORE": "embedded"}, "embedded", ""),
        # Both set: PAPERKG_NEO4J_URI, the more specific setting, wins.
        ({"PAPERKG_STORE": "bolt://old-host:7687", "PAPERKG_NEO4J_URI": "neo4j+s://new-host:7687"},
         "neo4j", "neo4j+s://new-host:7687"),
    ],
)
def test_backend_choice(env: dict[str, str], backend: str, uri: str) -> None:
    config = load_config(env)
    assert (config.backend, config.neo4j_uri) == (backend, uri)


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"PAPERKG_STORE": "mysql"}, "PAPERKG_STORE"),
        ({"PAPERKG_STORE": "http://127.0.0.1:9"}, "PAPERKG_STORE"),
        ({"PAPERKG_NEO4J_URI": "localhost:7687"}, "PAPERKG_NEO4J_URI"),
        ({"PAPERKG_NEO4J_URI": "neo4j+tls://db:7687"}, "PAPERKG_NEO4J_URI"),
        ({"PAPERKG_ARXIV_DELAY": "three"}, "PAPERKG_ARXIV_DELAY"),
        ({"PAPERKG_ARXIV_TIMEOUT": "-5"}, "PAPERKG_ARXIV_TIMEOUT"),
        ({"PAPERKG_ARXIV_RETRIES": "2.5"}, "PAPERKG_ARXIV_RETRIES"),
        ({"PAPERKG_OFFLINE": "maybe"}, "PAPERKG_OFFLINE"),
        ({"PAPERKG_LOG_LEVEL": "LOUD"}, "PAPERKG_LOG_LEVEL"),
    ],
)
def test_invalid_values_raise_errors_naming_the_variable(env: dict[str, str], names: str) -> None:
    with pytest.raises(ValueError, match=names) as info:
        load_config(env)
    assert repr(next(iter(env.values())).upper())[1:-1] in str(info.value).upper()


@pytest.mark.parametrize("scheme", ["bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc", "BOLT"])
def test_every_scheme_of_the_neo4j_driver_is_taken(scheme: str) -> None:
    uri = f"{scheme}://db.example:7687"
    assert load_config({"PAPERKG_NEO4J_URI": uri}).neo4j_uri == uri
    assert load_config({"PAPERKG_STORE": uri}).neo4j_uri == uri


def test_a_uri_the_driver_cannot_use_is_a_setting_error_not_an_unreachable_database(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`paperkg stats` with an http:// store said "cannot reach Neo4j … No module named 'aiohttp'" after a
    driver warning; a URI without a scheme said "cannot reach Neo4j" too. Both are a bad setting, named,
    with its password masked, and the command stops before any driver is made."""
    from click.testing import CliRunner

    from kg.cli import main

    monkeypatch.delenv("PAPERKG_NEO4J_URI", raising=False)
    monkeypatch.setenv("PAPERKG_STORE", "http://neo4j:s3cret@127.0.0.1:9")
    result = CliRunner().invoke(main, ["stats"])
    assert result.exit_code == 78  # EX_CONFIG
    assert result.output.startswith("Error: invalid PAPERKG_* setting: PAPERKG_STORE must be 'embedded' or a "
                                    "Neo4j URI (bolt://, bolt+s://, bolt+ssc://, neo4j://, neo4j+s://, "
                                    "neo4j+ssc://)")
    assert "'http://neo4j:********@127.0.0.1:9'" in result.output and "s3cret" not in result.output
    assert "cannot reach" not in result.output
    monkeypatch.setenv("PAPERKG_STORE", "embedded")
    monkeypatch.setenv("PAPERKG_NEO4J_URI", "localhost:7687")
    result = CliRunner().invoke(main, ["stats"])
    assert result.exit_code == 78  # EX_CONFIG
    assert "PAPERKG_NEO4J_URI must be a Neo4j URI" in result.output and "'localhost:7687'" in result.output


def test_describe_masks_secrets() -> None:
    rows = {r[0]: r for r in describe({"PAPERKG_NEO4J_PASSWORD": "hunter2", "PAPERKG_DATA_DIR": "/d"})}
    assert set(rows) == {s.name for s in SETTINGS}
    assert rows["PAPERKG_NEO4J_PASSWORD"][1] == "********"
    assert rows["PAPERKG_DATA_DIR"][1:4] == ("/d", "paperkg-data", True)
    assert rows["PAPERKG_LOG_LEVEL"][3] is False
    assert describe({})[[r[0] for r in describe({})].index("PAPERKG_NEO4J_PASSWORD")][1] == ""


@pytest.mark.parametrize(("uri", "shown"), [
    ("bolt://neo4j:s3cret@127.0.0.1:7687", "bolt://neo4j:********@127.0.0.1:7687"),
    ("neo4j+s://u:p@ss:w@db.example:7687/x", "neo4j+s://u:********@db.example:7687/x"),
    ("bolt://neo4j:pa/ss@host:7687", "bolt://neo4j:********@host:7687"),  # review: "/" ended the mask
    ("bolt://me@corp.com:secret@host:7687", "bolt://me@corp.com:********@host:7687"),  # "@" in the user
    ("bolt://127.0.0.1:7687", "bolt://127.0.0.1:7687"),  # no credentials: nothing to mask
    ("neo4j://neo4j@db:7687", "neo4j://neo4j@db:7687"),  # a user name alone is no secret
    # ...but an http(s) URL's is usually a token (privacy QA: `-v` logged it)
    ("https://tok3nXYZ@proxy.example/api/query", "https://********@proxy.example/api/query"),
    ("HTTP://u:p@h/x", "HTTP://u:********@h/x"),
    # ...and a query parameter named for a secret (privacy QA: a list URL's ?token= was printed)
    ("https://h/list.md?token=qTOKq&ref=main", "https://h/list.md?token=********&ref=main"),
    ("https://h/api?format=atom&API_KEY=k3y#x", "https://h/api?format=atom&API_KEY=********#x"),
    ("http://export.arxiv.org/api/query?search_query=all:sae&start=0&sortBy=submittedDate",
     "http://export.arxiv.org/api/query?search_query=all:sae&start=0&sortBy=submittedDate"),  # no secret
])
def test_describe_masks_a_password_inside_a_uri(uri: str, shown: str) -> None:
    rows = {r[0]: r for r in describe({"PAPERKG_STORE": uri, "PAPERKG_NEO4J_URI": uri})}
    assert rows["PAPERKG_STORE"][1] == shown and rows["PAPERKG_NEO4J_URI"][1] == shown


def test_config_command_masks_the_password(monkeypatch: pytest.MonkeyPatch) -> None:
    from kg.cli import main

    monkeypatch.setenv("PAPERKG_NEO4J_PASSWORD", "s3cret-Passw0rd")
    monkeypatch.setenv("PAPERKG_ARXIV_DELAY", "1.5")
    runner = CliRunner()
    text = runner.invoke(main, ["config"])
    assert text.exit_code == 0, text.output
    assert "s3cret-Passw0rd" not in text.output
    line = next(x for x in text.output.splitlines() if x.startswith("PAPERKG_NEO4J_PASSWORD"))
    assert line.split()[1:] == ["********", "(set)"]
    for setting in SETTINGS:
        assert setting.name in text.output
    as_json = runner.invoke(main, ["config", "--json"])
    assert as_json.exit_code == 0 and "s3cret-Passw0rd" not in as_json.output
    data = json.loads(as_json.output)
    assert data["PAPERKG_NEO4J_PASSWORD"]["value"] == "********"
    assert data["PAPERKG_ARXIV_DELAY"] == {
        "value": "1.5", "default": "3.0", "set": True,
        "help": next(s.help for s in SETTINGS if s.name == "PAPERKG_ARXIV_DELAY"), "resolved": None,
    }


def test_cli_reports_invalid_configuration_without_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    from kg.cli import main

    monkeypatch.setenv("PAPERKG_LOG_LEVEL", "LOUD")
    result = CliRunner().invoke(main, ["stats"])
    assert result.exit_code != 0
    assert "PAPERKG_LOG_LEVEL" in result.output
    assert "Traceback" not in result.output
    # -v sets the log level itself, but the other settings are still checked.
    monkeypatch.delenv("PAPERKG_LOG_LEVEL")
    monkeypatch.setenv("PAPERKG_ARXIV_TIMEOUT", "0")
    verbose = CliRunner().invoke(main, ["-v", "config"])
    assert verbose.exit_code != 0 and "PAPERKG_ARXIV_TIMEOUT" in verbose.output


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PAPERKG_ARXIV_TIMEOUT": "0"}, "PAPERKG_ARXIV_TIMEOUT must be greater than 0"),
        ({"PAPERKG_ARXIV_TIMEOUT": "0.0"}, "PAPERKG_ARXIV_TIMEOUT must be greater than 0"),
        ({"PAPERKG_ARXIV_TIMEOUT": "nan"}, "PAPERKG_ARXIV_TIMEOUT must be a finite number"),
        ({"PAPERKG_ARXIV_DELAY": "inf"}, "PAPERKG_ARXIV_DELAY must be a finite number"),
        ({"PAPERKG_ARXIV_CATEGORIES": "cs.LG;cs.CL"}, "'cs.LG;cs.CL' is not one"),
        ({"PAPERKG_ARXIV_CATEGORIES": "cs.LG,cs LG"}, "'cs LG' is not one"),
        ({"PAPERKG_ARXIV_CATEGORIES": "cs.LG,cat:cs.CL OR all:x"}, "is not one"),
        ({"PAPERKG_ARXIV_CATEGORIES": " "}, "PAPERKG_ARXIV_CATEGORIES lists no category"),
        ({"PAPERKG_ARXIV_CATEGORIES": ", ,"}, "PAPERKG_ARXIV_CATEGORIES lists no category"),
        ({"PAPERKG_SCHEDULE_MAX_RUNS": "0"}, "PAPERKG_SCHEDULE_MAX_RUNS must be at least 1"),
        ({"PAPERKG_SCHEDULE_MAX_RUNS": "-1"}, "PAPERKG_SCHEDULE_MAX_RUNS must be at least 1"),
        ({"PAPERKG_SCHEDULE_MAX_RUNS": "2.5"}, "PAPERKG_SCHEDULE_MAX_RUNS must be a whole number"),
        # It said "must be a int" / "must be a float".
        ({"PAPERKG_ARXIV_RETRIES": "1.5"}, "PAPERKG_ARXIV_RETRIES must be an integer, not '1.5'"),
        ({"PAPERKG_ARXIV_DELAY": "soon"}, "PAPERKG_ARXIV_DELAY must be a number, not 'soon'"),
    ],
)
def test_arxiv_and_schedule_settings_are_range_checked(env: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match="invalid PAPERKG_\\* setting") as info:
        load_config(env)
    assert message in str(info.value)


def test_valid_categories_and_max_runs() -> None:
    config = load_config({"PAPERKG_ARXIV_CATEGORIES": "cs.LG, math.ST,hep-th,cond-mat.stat-mech,q-bio.NC",
                          "PAPERKG_SCHEDULE_MAX_RUNS": "3", "PAPERKG_ARXIV_TIMEOUT": "0.5"})
    assert config.arxiv_categories == ("cs.LG", "math.ST", "hep-th", "cond-mat.stat-mech", "q-bio.NC")
    assert config.schedule_max_runs == 3 and config.arxiv_timeout == 0.5
    # Unset or empty: the default categories, and no run limit.
    assert load_config({"PAPERKG_ARXIV_CATEGORIES": ""}).arxiv_categories == ("cs.CL", "cs.LG", "cs.AI")
    assert load_config({"PAPERKG_SCHEDULE_MAX_RUNS": ""}).schedule_max_runs is None


# One quick run if the setting were not checked, rather than a scheduler waiting for Monday.
@pytest.mark.parametrize("command", [["schedule", "--cron", "*/1 * * * * *", "--max-runs", "1"],
                                     ["ingest", "weekly"]])
@pytest.mark.parametrize(("name", "value"), [("PAPERKG_ARXIV_TIMEOUT", "0"),
                                             ("PAPERKG_ARXIV_CATEGORIES", "cs.LG;cs.CL")])
def test_weekly_commands_refuse_bad_arxiv_settings_at_startup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str], name: str, value: str
) -> None:
    from ingest.weekly import RUN_SOURCE
    from kg.cli import main
    from tests.seed_store import taxonomy_store

    monkeypatch.setenv("PAPERKG_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PAPERKG_STORE", "embedded")
    monkeypatch.delenv("PAPERKG_NEO4J_URI", raising=False)
    monkeypatch.setenv("PAPERKG_ARXIV_URL", "http://127.0.0.1:9/api/query")  # never reached
    monkeypatch.setenv(name, value)
    store = taxonomy_store(tmp_path / "paperkg.sqlite3")
    try:
        result = CliRunner().invoke(main, command)
        assert result.exit_code == 78, result.output  # EX_CONFIG
        assert name in result.output and "Traceback" not in result.output
        assert "schedule: cron" not in result.output  # the scheduler never started
        assert store.runs(RUN_SOURCE) == []  # no failed run recorded either
    finally:
        store.close()


@pytest.mark.parametrize(("level", "logged"), [("INFO", True), ("WARNING", False)])
def test_the_log_level_governs_the_dev_servers_request_lines(level: str, logged: bool) -> None:
    """Privacy QA: PAPERKG_LOG_LEVEL=WARNING still left `paperkg serve` logging each request's client
    address and full URL (the query), as werkzeug sets its own logger to INFO. A real werkzeug server
    answers one request in a process set up as the CLI sets up logging."""
    import subprocess
    import sys

    script = (
        "import sys, threading, urllib.request\n"
        "from werkzeug.serving import make_server\n"
        "from kg.config import configure_logging\n"
        "configure_logging(sys.argv[1])\n"
        "def app(environ, start_response):\n"
        "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
        "    return [b'ok']\n"
        "server = make_server('127.0.0.1', 0, app)\n"
        "threading.Thread(target=server.serve_forever, daemon=True).start()\n"
        "url = f'http://127.0.0.1:{server.server_port}/search?q=private+question'\n"
        "assert urllib.request.urlopen(url, timeout=30).read() == b'ok'\n"
        "server.shutdown()\n"
    )
    proc = subprocess.run([sys.executable, "-c", script, level], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[2], timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert ("GET /search?q=private+question" in proc.stderr) is logged, proc.stderr


def test_log_times_are_utc_and_say_so() -> None:
    """Clock QA: `TZ=Pacific/Kiritimati paperkg schedule` logged `2026-11-27 08:06:18`, the local time
    with no offset, while every other time paperkg shows is UTC. A record made at a known moment, in a
    process 14 hours ahead of UTC, is logged with its UTC time and a Z."""
    import subprocess
    import sys
    from datetime import UTC, datetime

    created = datetime(2026, 11, 26, 18, 6, 18, 250000, tzinfo=UTC).timestamp()
    script = (
        "import logging, sys\n"
        "from kg.config import configure_logging\n"
        "configure_logging('INFO')\n"
        "logging.getLogger().handle(logging.makeLogRecord({'name': 'ingest.schedule', 'levelno': 20,\n"
        "    'levelname': 'INFO', 'msg': 'run 1 finished', 'created': float(sys.argv[1]), 'msecs': 250.0}))\n"
    )
    env = {**os.environ, "TZ": "Pacific/Kiritimati"}
    proc = subprocess.run([sys.executable, "-c", script, repr(created)], capture_output=True, text=True,
                          env=env, cwd=Path(__file__).resolve().parents[2], timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "2026-11-26T18:06:18.250Z INFO ingest.schedule: run 1 finished\n"
