"""PAPERKG_ARXIV_URL checked when read; PAPERKG_* names that are no setting warned about by `paperkg config`;
a bad setting exits 78 (EX_CONFIG)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import kg.config as config_module
from kg.config import load_config


@pytest.mark.parametrize("url", [
    "https://export.arxiv.org/api/query", "http://127.0.0.1:8000/api/query", "http://[::1]:8000/api/query",
    "HTTPS://EXPORT.ARXIV.ORG/api/query", "http://proxy.internal",
])
def test_an_http_url_with_a_host_is_taken(url: str) -> None:
    assert load_config({"PAPERKG_ARXIV_URL": url}).arxiv_url == url


@pytest.mark.parametrize(("url", "why"), [
    ("htp:/bad", ""),
    ("export.arxiv.org/api/query", ""),
    ("ftp://export.arxiv.org/api/query", ""),
    ("http:///api/query", ""),
    ("http://host:port/api/query", "(Port could not be cast to integer value as 'port')"),
    ("https://export.arxiv.org/api/query?max_results=5",
     "(a query or fragment: paperkg adds the query itself)"),
    ("https://export.arxiv.org/api/ query", "(it holds a space)"),
])
def test_a_url_requests_cannot_use_is_a_setting_error_naming_the_variable(url: str, why: str) -> None:
    """QA: 'htp:/bad' and a URL without a scheme were taken, and failed at the weekly run's first request as
    "No connection adapters were found for '<url>'", naming no variable."""
    with pytest.raises(config_module.ConfigError) as info:
        load_config({"PAPERKG_ARXIV_URL": url})
    assert str(info.value) == (
        "invalid PAPERKG_* setting: PAPERKG_ARXIV_URL must be an http:// or https:// URL with a host and no "
        f"query, such as https://export.arxiv.org/api/query, not {url!r}" + (f" {why}" if why else ""))


def test_a_password_in_a_refused_url_is_masked() -> None:
    with pytest.raises(config_module.ConfigError) as info:
        load_config({"PAPERKG_ARXIV_URL": "htp://user:s3cret@proxy/api/query"})
    assert "s3cret" not in str(info.value) and "user:********@proxy" in str(info.value)


def test_config_command_exits_78_for_a_bad_arxiv_url(monkeypatch: pytest.MonkeyPatch) -> None:
    """QA: `paperkg config` exited 0 with PAPERKG_ARXIV_URL='htp:/bad'."""
    from kg.cli import main

    monkeypatch.setenv("PAPERKG_ARXIV_URL", "htp:/bad")
    result = CliRunner().invoke(main, ["config"])
    assert result.exit_code == 78, result.output
    assert result.stdout == ""
    assert result.stderr.startswith("Error: invalid PAPERKG_* setting: PAPERKG_ARXIV_URL must be an http://")


def test_unknown_names_get_the_setting_they_most_likely_meant() -> None:
    env = {"PAPERKG_ARIXV_URL": "http://x", "PAPERKG_DATADIR": "", "PAPERKG_NEO4J_PASWORD": "s3cret",
           "PAPERKG_SOMETHING_ELSE": "1", "PAPERKG_PORT": "8000", "PAPERKG_BIND": "0.0.0.0",
           "PAPERKG_DATA_DIR": "/d", "OTHER_ARIXV": "1"}
    assert config_module.unknown_settings(env) == [
        "PAPERKG_ARIXV_URL is not a paperkg setting and is ignored (did you mean PAPERKG_ARXIV_URL?)",
        "PAPERKG_DATADIR is not a paperkg setting and is ignored (did you mean PAPERKG_DATA_DIR?)",
        "PAPERKG_NEO4J_PASWORD is not a paperkg setting and is ignored "
        "(did you mean PAPERKG_NEO4J_PASSWORD?)",
        "PAPERKG_SOMETHING_ELSE is not a paperkg setting and is ignored",
    ]
    assert config_module.unknown_settings({"PAPERKG_DATA_DIR": "/d"}) == []


def test_config_command_warns_about_a_misspelt_name_on_stderr(monkeypatch: pytest.MonkeyPatch) -> None:
    """QA: PAPERKG_ARIXV_URL was silently ignored; `paperkg config` showed the default and nothing else."""
    from kg.cli import main

    monkeypatch.setenv("PAPERKG_ARIXV_URL", "http://127.0.0.1:9/api/query")
    for args in (["config"], ["config", "--json"]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
        assert result.stderr == ("warning: PAPERKG_ARIXV_URL is not a paperkg setting and is ignored "
                                 "(did you mean PAPERKG_ARXIV_URL?)\n")
        assert "127.0.0.1:9" not in result.stdout
    assert json.loads(result.stdout)["PAPERKG_ARXIV_URL"]["set"] is False  # --json: stdout stays JSON
