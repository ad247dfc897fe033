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
    ("https://xn--bcher-kva.example,https://xn--bcher-kva.example:443,", ("https://xn--bcher-kva.example",)),
])
@pytest.mark.parametrize("name", NAMES)
def test_origins_are_read_as_browsers_send_them(name: str, text: str, origins: tuple[str, ...]) -> None:
    assert getattr(load_config(env={name: text}), name[8:].lower()) == origins


def test_cors_takes_an_ipv6_origin_as_browsers_send_it() -> None:
    config = load_config(env={"PAPERKG_CORS_ORIGINS": "https://[0:0:0:0:0:0:0:1]:8443,http://[::1]"})
    assert config.cors_origins == ("https://[::1]:8443", "http://[::1]")


@pytest.mark.parametrize("text", ["https://[::1]:8443", "https://lab.example.org,http://[0:0:0:0:0:0:0:1]"])
def test_frame_ancestors_refuse_an_ipv6_origin(text: str) -> None:
    """A CSP source list has no IPv6 literal: browsers drop it, so the framing the setting asked for
    would be refused with no word of why."""
    with pytest.raises(ConfigError) as refused:
        load_config(env={"PAPERKG_FRAME_ANCESTORS": text})
    message = str(refused.value)
    assert "PAPERKG_FRAME_ANCESTORS must be comma-separated origins" in message
    assert "a Content-Security-Policy cannot name an IPv6 address: use a host name" in message


# Letters IGNORECASE alone takes for a-z: the long s, the Kelvin sign (for k) and the dotted capital I.
NON_ASCII_LOOKALIKES = ["https://\u017fite.example", "https://\u212aey.example", "https://\u0130nfo.example",
                        "https://lab.example.org,http://\u017f.example:8080"]


@pytest.mark.parametrize("text", NON_ASCII_LOOKALIKES)
@pytest.mark.parametrize("name", NAMES)
def test_a_letter_that_folds_to_ascii_is_refused(name: str, text: str) -> None:
    """Loaded, such an origin made every page's header unencodable (latin-1): a closed connection, no
    answer at all, over a real server."""
    with pytest.raises(ConfigError) as refused:
        load_config(env={name: text})
    message = str(refused.value)
    assert f"{name} must be comma-separated origins" in message
    assert "a host name is ASCII: give an international one in its xn-- form" in message


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
