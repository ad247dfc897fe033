"""The README's "Use from Python" example, run line for line against a copy of the seed store and against a
new data dir (real model, real SQLite file), the store at ~/paperkg-data as the example names it."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from kg.embedded import EmbeddedStore
from kg.recommend import recommend
from kg.search import search

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


def _run_example(home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
                 ) -> tuple[str, dict[str, Any]]:
    """Run the section's code with HOME at `home` (the example's "~/paperkg-data"): what it printed, and
    its variables."""
    blocks = python_blocks()
    assert len(blocks) == 1 and len(blocks[0].splitlines()) >= 20
    monkeypatch.setenv("HOME", str(home))
    namespace: dict[str, Any] = {"__name__": "readme_example"}
    for block in blocks:
        exec(compile(block, f"README.md ({SECTION})", "exec"), namespace)
    return capsys.readouterr().out, namespace


# The note the example ingests, as the new-papers loop prints it (first_seen, then the title).
NEW_NOTE_LINE = r"^\S+ Induction heads in a two-layer toy model$"


@pytest.mark.model
def test_the_readme_python_example_runs(shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "home"
    store_file = home / "paperkg-data" / "paperkg.sqlite3"
    _copy_seed_store(shared_data, store_file)
    out, namespace = _run_example(home, monkeypatch, capsys)

    # The ingest's summary, keyword hits (id and title lines), related papers, one BibTeX entry, then the
    # weekly look: filtered hits, the new papers (the note among them), recommendations.
    assert out.startswith("1 []\n"), out[:500]
    assert re.search(r"^\S+ .*[Ii]nduction [Hh]ead", out, flags=re.MULTILINE), out
    top = namespace["top"]
    assert re.search(r"^@\w+\{\S+,$", out, flags=re.MULTILINE) and f"{top.title}" in out, out
    assert namespace["summary"].new == 1
    assert re.search(NEW_NOTE_LINE, out, flags=re.MULTILINE), out
    with EmbeddedStore(store_file, read_only=True) as store:
        (note,) = store.get_papers(["my-1"])
        assert note.authors == ["Jane Doe"] and note.title == "Induction heads in a two-layer toy model"
        filtered = search(store, "feature splitting", mode="keyword", filters=namespace["sae_since_2023"],
                          limit=5).results
        liked = recommend(store, liked=[top.id], limit=5)
    assert filtered and all((h.paper.year or 0) >= 2023 for h in filtered)
    for hit in filtered:
        assert f"{hit.id} {hit.paper.year} {hit.title}\n" in out
    assert liked and all(f"{r.title} {r.reasons}\n" in out for r in liked), out[-2000:]


@pytest.mark.model
def test_the_readme_python_example_runs_on_a_new_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    """QA: on a fresh data dir the writable block failed for the whole batch ("unknown Technique id 'sae'"),
    after the model's work: the example loads the taxonomy first, as `paperkg init` would."""
    home = tmp_path / "home"
    out, namespace = _run_example(home, monkeypatch, capsys)
    assert out.startswith("1 []\n") and namespace["summary"].new == 1, out[:500]
    assert namespace["top"].id == "my-1"  # the one paper of the store
    assert re.search(NEW_NOTE_LINE, out, flags=re.MULTILINE), out
    with EmbeddedStore(home / "paperkg-data" / "paperkg.sqlite3", read_only=True) as store:
        assert store.taxonomy_nodes()
        assert [p.id for p in store.get_papers(["my-1"])] == ["my-1"]


def test_the_readme_python_example_is_found() -> None:
    """The extraction the test above runs by: a renamed section or fence would make it run nothing."""
    (block,) = python_blocks()
    assert block.startswith("from ") and "open_store(config, read_only=True)" in block
    assert "store.load_taxonomy(" in block and "recommend(store" in block
