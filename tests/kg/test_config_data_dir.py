"""PAPERKG_DATA_DIR, PAPERKG_TAXONOMY and PAPERKG_SHARED_DATA with a control character or a space at
either end are refused, naming the variable (QA: an env file saved on Windows and sourced in bash made
paperkg create and use a new directory "dup2 \\r")."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from kg.config import PACKAGED_TAXONOMY, ConfigError, load_config

PATH_SETTINGS = ("PAPERKG_DATA_DIR", "PAPERKG_TAXONOMY", "PAPERKG_SHARED_DATA")


@pytest.mark.parametrize(("value", "message"), [
    ("{d}/dup2\r", "{name} holds a carriage return (CR) at position"),
    ("{d}/dup2 \r", "save it with Unix (LF) line endings"),
    ("{d}/du\tp2", "{name} holds a tab"),
    ("{d}/dup2\x00", "{name} holds the control character U+0000"),
    ("{d}/dup2\x85", "{name} holds the control character U+0085"),
    ("{d}/dup2 ", "{name} starts or ends with a space"),
    (" {d}/dup2", "{name} starts or ends with a space"),
])
@pytest.mark.parametrize("name", PATH_SETTINGS)
def test_a_path_with_a_control_character_or_outer_space_is_refused(
    tmp_path: Path, name: str, value: str, message: str
) -> None:
    given = value.format(d=tmp_path)
    with pytest.raises(ConfigError, match="invalid PAPERKG_\\* setting") as info:
        load_config({name: given})
    assert message.format(name=name) in str(info.value) and repr(given) in str(info.value)


def test_a_data_dir_with_inner_spaces_and_a_tilde_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert load_config({"PAPERKG_DATA_DIR": "~/out dir"}).data_dir == tmp_path / "out dir"
    assert load_config({}).data_dir == Path("paperkg-data")


def test_a_taxonomy_and_shared_data_with_inner_spaces_and_a_tilde_are_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    config = load_config({"PAPERKG_TAXONOMY": "~/my taxonomy.yaml", "PAPERKG_SHARED_DATA": "~/shared data"})
    assert config.taxonomy == tmp_path / "my taxonomy.yaml"
    assert config.shared_data == tmp_path / "shared data"
    assert load_config({}).taxonomy == PACKAGED_TAXONOMY


@pytest.mark.parametrize("command", [["stats"], ["ingest", "records", "records.jsonl"]])
def test_a_command_stops_before_making_the_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    from kg.cli import main

    (tmp_path / "records.jsonl").write_text('{"title": "A paper"}\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PAPERKG_STORE", "embedded")
    monkeypatch.delenv("PAPERKG_NEO4J_URI", raising=False)
    monkeypatch.setenv("PAPERKG_DATA_DIR", "dup2 \r")
    result = CliRunner().invoke(main, command)
    assert result.exit_code == 78, result.output  # EX_CONFIG
    assert "PAPERKG_DATA_DIR holds a carriage return (CR)" in result.output
    assert "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["records.jsonl"]  # no "dup2 \r" made


@pytest.mark.parametrize("name", ["PAPERKG_TAXONOMY", "PAPERKG_SHARED_DATA"])
def test_a_cr_in_the_taxonomy_or_shared_data_stops_a_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """Not "taxonomy file not found" naming a path whose CR the terminal does not show."""
    from kg.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PAPERKG_STORE", "embedded")
    monkeypatch.delenv("PAPERKG_NEO4J_URI", raising=False)
    monkeypatch.setenv("PAPERKG_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv(name, str(tmp_path / "file\r"))
    result = CliRunner().invoke(main, ["init"])
    assert result.exit_code == 78, result.output  # EX_CONFIG
    assert f"{name} holds a carriage return (CR) at position" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "data").exists()
