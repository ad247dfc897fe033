"""PAPERKG_DATA_DIR with a control character or a space at either end is refused, naming the variable (QA:
an env file saved on Windows and sourced in bash made paperkg create and use a new directory "dup2 \\r")."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from kg.config import ConfigError, load_config


@pytest.mark.parametrize(("value", "message"), [
    ("{d}/dup2\r", "PAPERKG_DATA_DIR holds a carriage return (CR) at position"),
    ("{d}/dup2 \r", "save it with Unix (LF) line endings"),
    ("{d}/du\tp2", "PAPERKG_DATA_DIR holds a tab"),
    ("{d}/dup2\x00", "PAPERKG_DATA_DIR holds the control character U+0000"),
    ("{d}/dup2\x85", "PAPERKG_DATA_DIR holds the control character U+0085"),
    ("{d}/dup2 ", "PAPERKG_DATA_DIR starts or ends with a space"),
    (" {d}/dup2", "PAPERKG_DATA_DIR starts or ends with a space"),
])
def test_a_data_dir_with_a_control_character_or_outer_space_is_refused(
    tmp_path: Path, value: str, message: str
) -> None:
    given = value.format(d=tmp_path)
    with pytest.raises(ConfigError, match="invalid PAPERKG_\\* setting") as info:
        load_config({"PAPERKG_DATA_DIR": given})
    assert message in str(info.value) and repr(given) in str(info.value)


def test_a_data_dir_with_inner_spaces_and_a_tilde_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert load_config({"PAPERKG_DATA_DIR": "~/out dir"}).data_dir == tmp_path / "out dir"
    assert load_config({}).data_dir == Path("paperkg-data")


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
