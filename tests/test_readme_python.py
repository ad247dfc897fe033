"""The README's "Use from Python" example, run line for line against a copy of the seed store (real
model, real SQLite file), the store at ~/paperkg-data as the example names it."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from kg.embedded import EmbeddedStore

REPO = Path(__file__).resolve().parents[1]
SECTION = "## Use from Python"


def python_blocks() -> list[str]:
    """The ```python blocks of the README's section, in order."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert text.count(f"\n{SECTION}\n") == 1, f"the README has no single {SECTION!r} section"
    body = text.split(f"\n{SECTION}\n", 1)[1]
    body = re.split(r"^## ", body, maxsplit=1, flags=re.MULTILINE)[0]
    return re.findall(r"^```python\n(.*?)^```$", body, flags=re.MULTILINE | re.DOTALL)


def _copy_seed_store(shared_data: Path, target: Path) -> None:
    from tests.seed_store import seed_db_path

    target.parent.mkdir(parents=True)
    # SQLite's own copy: the shared seed store is read by other tests and must stay as it is.
    with sqlite3.connect(f"file:{seed_db_path(shared_data)}?mode=ro", uri=True) as source, \
            sqlite3.connect(target) as copy:
        source.backup(copy)
    source.close()
    copy.close()


@pytest.mark.model
def test_the_readme_python_example_runs(shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    blocks = python_blocks()
    assert len(blocks) == 1 and len(blocks[0].splitlines()) >= 20
    home = tmp_path / "home"
    store_file = home / "paperkg-data" / "paperkg.sqlite3"
    _copy_seed_store(shared_data, store_file)
    monkeypatch.setenv("HOME", str(home))  # the example's "~/paperkg-data"
    namespace: dict[str, Any] = {"__name__": "readme_example"}
    for block in blocks:
        exec(compile(block, f"README.md ({SECTION})", "exec"), namespace)

    out = capsys.readouterr().out
    # Keyword hits (id and title lines), related papers, one BibTeX entry, then the ingest's summary.
    assert re.search(r"^\S+ .*[Ii]nduction [Hh]ead", out, flags=re.MULTILINE), out
    top = namespace["top"]
    assert re.search(r"^@\w+\{\S+,$", out, flags=re.MULTILINE) and f"{top.title}" in out, out
    assert out.rstrip().endswith("1 []"), out[-500:]
    assert namespace["summary"].new == 1
    with EmbeddedStore(store_file, read_only=True) as store:
        (note,) = store.get_papers(["my-1"])
        assert note.authors == ["Jane Doe"] and note.title == "Induction heads in a two-layer toy model"


def test_the_readme_python_example_is_found() -> None:
    """The extraction the test above runs by: a renamed section or fence would make it run nothing."""
    (block,) = python_blocks()
    assert block.startswith("from ") and "open_store(config, read_only=True)" in block
