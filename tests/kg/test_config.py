"""Configuration: defaults, overrides, invalid values, and `paperkg config` masking secrets."""

from __future__ import annotations

import json
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
    ],
)
def test_backend_choice(env: dict[str, str], backend: str, uri: str) -> None:
    config = load_config(env)
    assert (config.backend, config.neo4j_uri) == (backend, uri)


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"PAPERKG_STORE": "mysql"}, "PAPERKG_STORE"),
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


def test_describe_masks_secrets() -> None:
    rows = {r[0]: r for r in describe({"PAPERKG_NEO4J_PASSWORD": "hunter2", "PAPERKG_DATA_DIR": "/d"})}
    assert set(rows) == {s.name for s in SETTINGS}
    assert rows["PAPERKG_NEO4J_PASSWORD"][1] == "********"
    assert rows["PAPERKG_DATA_DIR"][1:4] == ("/d", "paperkg-data", True)
    assert rows["PAPERKG_LOG_LEVEL"][3] is False
    assert describe({})[[r[0] for r in describe({})].index("PAPERKG_NEO4J_PASSWORD")][1] == ""


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
        "help": next(s.help for s in SETTINGS if s.name == "PAPERKG_ARXIV_DELAY"),
    }


def test_cli_reports_invalid_configuration_without_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    from kg.cli import main

    monkeypatch.setenv("PAPERKG_LOG_LEVEL", "LOUD")
    result = CliRunner().invoke(main, ["stats"])
    assert result.exit_code != 0
    assert "PAPERKG_LOG_LEVEL" in result.output
    assert "Traceback" not in result.output
