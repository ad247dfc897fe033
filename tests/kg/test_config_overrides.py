"""load_config's keyword overrides from Python (a notebook): a path given as a plain string is read as
its PAPERKG_* variable is (QA: load_config(data_dir="/path") made open_store fail with "unsupported
operand type(s) for /: 'str' and 'str'")."""

from __future__ import annotations

from pathlib import Path

import pytest

from kg.config import ConfigError, load_config
from kg.store import open_store


@pytest.mark.parametrize("name", ["data_dir", "taxonomy", "shared_data"])
def test_a_path_override_given_as_a_string_is_a_path_with_tilde_expanded(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert getattr(load_config({}, **{name: "~/mi-kg"}), name) == tmp_path / "mi-kg"
    assert getattr(load_config({}, **{name: str(tmp_path / "a")}), name) == tmp_path / "a"
    assert getattr(load_config({}, **{name: tmp_path / "b"}), name) == tmp_path / "b"


def test_open_store_takes_a_config_with_a_string_data_dir(tmp_path: Path) -> None:
    config = load_config({"PAPERKG_STORE": "embedded"}, data_dir=str(tmp_path / "kg"))
    store = open_store(config)
    try:
        store.init_schema()
        assert store.paper_ids() == []
    finally:
        store.close()
    assert (tmp_path / "kg" / "paperkg.sqlite3").is_file()


def test_a_path_override_is_checked_as_its_variable_is(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^invalid load_config override data_dir=.*PAPERKG_DATA_DIR holds "
                                          r"a carriage return \(CR\)"):
        load_config({}, data_dir=f"{tmp_path}/kg\r")
