"""load_taxonomy's reasons for a file it cannot read: in words, the path once, with what to give."""

from __future__ import annotations

from pathlib import Path

import pytest

from kg.taxonomy import load_taxonomy


def test_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(ValueError) as caught:
        load_taxonomy(path)
    assert str(caught.value) == (f"taxonomy file {path} does not exist (give a YAML file such as "
                                 "kg/taxonomies/mi.yaml, the packaged MI taxonomy)")
    assert isinstance(caught.value.__cause__, FileNotFoundError)  # what init reads as a usage error


def test_a_directory(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=rf"^taxonomy file {tmp_path} is a directory \(give a YAML file"):
        load_taxonomy(tmp_path)


def test_another_reason_is_the_systems_in_words(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(ValueError) as caught:
        load_taxonomy(tmp_path / "file" / "mi.yaml")
    assert str(caught.value).startswith(f"taxonomy file {tmp_path / 'file' / 'mi.yaml'} cannot be read "
                                        "(not a directory) (give a YAML file")
    assert "Errno" not in str(caught.value)
