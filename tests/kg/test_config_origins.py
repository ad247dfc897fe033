"""PAPERKG_CORS_ORIGINS and PAPERKG_FRAME_ANCESTORS: lists of web origins, checked strictly (an allowed
origin goes into a response header), shown by `paperkg config`, refused with exit status 78."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from kg.config import ConfigError, describe, load_config

NAMES = ("PAPERKG_CORS_ORIGINS", "PAPERKG_FRAME_ANCESTORS")


@pytest.mark.parametrize("name", NAMES)
def test_unset_or_empty_means_none(name: str) -> None:
    assert load_config(env={}).cors_origins == () and load_config(env={}).frame_ancestors == ()
    config = load_config(env={name: ""})
    assert getattr(config, name[8:].lower()) == ()


@pytest.mark.parametrize(("text", "origins"), [
    ("https://lab.example.org", ("https://lab.example.org",)),
    # As browsers send Origin: scheme and host in lower case, no default port, IPv6 compressed.
    ("HTTPS://Lab.Example.ORG:443", ("https://lab.example.org",)),
    ("http://127.0.0.1:8080, https://lab.example.org ,http://localhost:80",
     ("http://127.0.0.1:8080", "https://lab.example.org", "http://localhost")),
    ("https://[0:0:0:0:0:0:0:1]:8443", ("https://[::1]:8443",)),
    ("https://xn--bcher-kva.example,https://xn--bcher-kva.example:443,", ("https://xn--bcher-kva.example",)),
])
@pytest.mark.parametrize("name", NAMES)
def test_origins_are_read_as_browsers_send_them(name: str, text: str, origins: tuple[str, ...]) -> None:
    assert getattr(load_config(env={name: text}), name[8:].lower()) == origins


@pytest.mark.parametrize(("text", "why"), [
    ("https://lab.example.org/", "no path"),  # the usual paste: a URL, not an origin
    ("https://lab.example.org/papers", "no path"),
    ("https://lab.example.org?x=1", "no path"),
    ("lab.example.org", "is not one"),
    ("ftp://lab.example.org", "is not one"),
    ("https://user@lab.example.org", "is not one"),
    ("https://lab.example.org:0", "is not one"),
    ("https://lab.example.org:65536", "is not one"),
    ("https://lab..example.org", "is not one"),
    ("https://-lab.example.org", "is not one"),
    ("https://bücher.example", "is not one"),  # browsers send the xn-- form
    ("https://[not:an:address]", "is not one"),
    ("https://lab example.org", "space or a control character"),
    ("https://lab.example.org\r\nSet-Cookie: x=1", "space or a control character"),  # header injection
    ("https://lab.example.org\tx", "space or a control character"),
    ("null", "sandboxed frame"),  # any site can send Origin: null
    (" , ", "lists no origin"),
])
@pytest.mark.parametrize("name", NAMES)
def test_anything_else_is_refused_naming_the_variable(name: str, text: str, why: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_config(env={name: text})
    message = str(refused.value)
    assert name in message and why in message, message
    assert "\r" not in message and "\n" not in message  # shown as repr: escaped


def test_a_star_allows_any_origin_for_cors_only() -> None:
    assert load_config(env={"PAPERKG_CORS_ORIGINS": " * "}).cors_origins == ("*",)
    with pytest.raises(ConfigError, match=r"PAPERKG_CORS_ORIGINS: '\*' allows every origin, so it must be"):
        load_config(env={"PAPERKG_CORS_ORIGINS": "*, https://lab.example.org"})
    with pytest.raises(ConfigError, match=r"PAPERKG_FRAME_ANCESTORS .*'\*' is not allowed here"):
        load_config(env={"PAPERKG_FRAME_ANCESTORS": "*"})


def test_the_settings_show_in_paperkg_config(monkeypatch: pytest.MonkeyPatch) -> None:
    from kg.cli import main

    rows = {r[0]: r for r in describe({"PAPERKG_CORS_ORIGINS": "https://lab.example.org"})}
    assert rows["PAPERKG_CORS_ORIGINS"][1:4] == ("https://lab.example.org", "", True)
    assert rows["PAPERKG_FRAME_ANCESTORS"][1:4] == ("", "", False)
    monkeypatch.setenv("PAPERKG_CORS_ORIGINS", "https://lab.example.org")
    result = CliRunner().invoke(main, ["config", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    cors = data["PAPERKG_CORS_ORIGINS"]
    assert cors["value"] == "https://lab.example.org" and cors["set"] is True
    assert "frame" in data["PAPERKG_FRAME_ANCESTORS"]["help"]
    assert "is not a paperkg setting" not in result.output


def test_a_bad_origin_stops_a_command_with_exit_78(monkeypatch: pytest.MonkeyPatch) -> None:
    from kg.cli import main

    monkeypatch.setenv("PAPERKG_CORS_ORIGINS", "https://lab.example.org/")
    result = CliRunner().invoke(main, ["stats"])
    assert result.exit_code == 78
    assert "PAPERKG_CORS_ORIGINS must be comma-separated origins" in result.output
    assert "Traceback" not in result.output
