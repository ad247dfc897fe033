"""Citation keys depend on the papers, not on the order a source lists them: two papers of one key base
stored in one write get the same keys whatever order the records file or the list gives them in
(kg.store.issue_order), so two stores built from the same inputs cite each paper under one key. Real
SQLite stores written by the real `paperkg ingest records` / `ingest list --no-arxiv` commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import ingest.pipeline as pipeline
from kg.cli import main
from kg.embedded import EmbeddedStore
from kg.entities import Paper, PaperBundle
from kg.store import issue_order
from kg.taxonomy import Taxonomy
from tests.embedders import HashEmbedder

SMITH = [
    {"id": "sp-one", "arxiv_id": None, "title": "Sparse circuits in toy models", "authors": ["Ann Smith"],
     "year": 2023, "published": None, "url": "https://example.org/sp-one"},
    {"id": "sp-two", "arxiv_id": None, "title": "Sparse features at scale", "authors": ["Ann Smith"],
     "year": 2023, "published": None, "url": "https://example.org/sp-two"},
]

LIST_HEAD = "# A list\n\n## Circuits\n| Paper | Techniques | TL;DR |\n| --- | --- | --- |\n"
LIST_ROWS = [
    "| [Scaling Monosemanticity](https://transformer-circuits.pub/2024/scaling-monosemanticity/index.html)"
    " | Sparse autoencoders | one |\n",
    "| [Scaling Laws for Dictionary Learning](https://transformer-circuits.pub/2024/dictionary-scaling/"
    "index.html) | Sparse autoencoders | two |\n",
]


@pytest.fixture
def plumbing(monkeypatch: pytest.MonkeyPatch, taxonomy: Taxonomy) -> None:
    """The CLI's pipeline with the hash embedder and a real extractor (no model download)."""
    from ingest.extract import Extractor

    extractor = Extractor(taxonomy)
    monkeypatch.setattr(pipeline, "_load_embedder", HashEmbedder)
    monkeypatch.setattr(pipeline, "_load_extractor", lambda taxonomy=None: extractor)


def _keys(data_dir: Path) -> dict[str, str]:
    """{paper id: citation key} of the store in data_dir."""
    store = EmbeddedStore(data_dir / "paperkg.sqlite3")
    try:
        return {p.id: p.citation_key or "" for p in store.get_papers(store.paper_ids())}
    finally:
        store.close()


def _ingest(monkeypatch: pytest.MonkeyPatch, data_dir: Path, *args: str) -> dict[str, str]:
    """Run `paperkg ARGS` into a fresh store at data_dir; its keys."""
    data_dir.mkdir()
    monkeypatch.setenv("PAPERKG_DATA_DIR", str(data_dir))
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return _keys(data_dir)


def _records(path: Path, records: list[dict[str, Any]]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return str(path)


def test_a_records_file_in_either_order_gives_each_paper_the_same_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data_dir: Path, plumbing: None
) -> None:
    forward = _ingest(monkeypatch, tmp_path / "a", "ingest", "records", _records(tmp_path / "a.jsonl", SMITH))
    backward = _ingest(monkeypatch, tmp_path / "b", "ingest", "records",
                       _records(tmp_path / "b.jsonl", SMITH[::-1]))
    assert forward == backward
    # The base goes to the paper first by content (same year, no date: by title).
    assert forward == {"sp-one": "smith2023sparse", "sp-two": "smith2023sparsea"}


def test_keys_a_store_holds_stay_theirs_only_new_papers_get_keys_in_content_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data_dir: Path, plumbing: None
) -> None:
    """A store whose two papers hold the keys an older paperkg issued in the file's order (the other way
    round from the content order) keeps them when the file is ingested again, in either order; a third
    paper of the base gets the next free suffix."""
    _ingest(monkeypatch, tmp_path / "a", "ingest", "records", _records(tmp_path / "a.jsonl", SMITH))
    store = EmbeddedStore(tmp_path / "a" / "paperkg.sqlite3")
    try:
        swapped = [("sp-one", "smith2023sparsea"), ("sp-two", "smith2023sparse")]
        restored = store.restore_citation_keys(swapped)
        assert len(restored.restored) == 2
    finally:
        store.close()
    third = {"id": "sp-three", "arxiv_id": None, "title": "Sparse and dense probes", "authors": ["Ann Smith"],
             "year": 2023, "published": None, "url": "https://example.org/sp-three"}
    for name, records in (("again", SMITH), ("reversed", [third, *SMITH[::-1]])):
        path = _records(tmp_path / f"{name}.jsonl", records)
        result = CliRunner().invoke(main, ["ingest", "records", path], catch_exceptions=False)
        assert result.exit_code == 0, result.output
    assert _keys(tmp_path / "a") == {"sp-one": "smith2023sparsea", "sp-two": "smith2023sparse",
                                     "sp-three": "smith2023sparseb"}


def test_a_list_in_either_order_gives_each_page_the_same_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data_dir: Path, plumbing: None
) -> None:
    keys = []
    for name, rows in (("a", LIST_ROWS), ("b", LIST_ROWS[::-1])):
        source = tmp_path / f"{name}.md"
        source.write_text(LIST_HEAD + "".join(rows), encoding="utf-8")
        keys.append(_ingest(monkeypatch, tmp_path / name, "ingest", "list", "--source", str(source),
                            "--no-arxiv"))
    assert keys[0] == keys[1]
    assert sorted(keys[0].values()) == ["anthropic2024scaling", "anthropic2024scalinga"]


def _paper(pid: str, title: str, *, arxiv_id: str | None = None, published: str | None = None,
           year: int = 2023) -> PaperBundle:
    return PaperBundle(paper=Paper(id=pid, title=title, arxiv_id=arxiv_id, published=published, year=year,
                                   authors=["Ann Smith"]))


def test_the_issue_order_of_a_batch_is_the_same_for_every_order_of_its_papers() -> None:
    """arXiv papers first, in arXiv's order; then the others by date (a year alone: the year), title key
    and id, whatever places the batch gives either kind."""
    bundles = [
        _paper("2305.00002", "Sparse later", arxiv_id="2305.00002", published="2023-05-01"),
        _paper("sp-dated", "Sparse zebra", published="2023-02-01"),
        _paper("2301.00001", "Sparse earlier", arxiv_id="2301.00001", published="2023-01-02"),
        _paper("sp-b", "  SPARSE   Beta"),
        _paper("sp-a", "Sparse alpha"),
        _paper("sp-a2", "Sparse alpha"),
    ]
    expected = ["2301.00001", "2305.00002", "sp-a", "sp-a2", "sp-b", "sp-dated"]
    for shift in range(len(bundles)):
        for batch in (bundles[shift:] + bundles[:shift], (bundles[shift:] + bundles[:shift])[::-1]):
            wanted = [(b.paper.id, "smith2023sparse") for b in batch]
            assert [pid for pid, _ in issue_order(batch, wanted, {})] == expected


def test_papers_stored_before_come_first_by_their_first_seen_then_the_batch_content_order() -> None:
    """The content order applies within one first_seen: a stored paper needing a key (a provisional one
    whose authors arrived) keeps its place before the papers new to the store."""
    bundles = [_paper("sp-z", "Sparse zeta"), _paper("sp-a", "Sparse alpha"), _paper("sp-m", "Sparse mu")]
    wanted = [(b.paper.id, "smith2023sparse") for b in bundles]
    seen = {"sp-z": "2024-01-01T00:00:00+00:00"}
    assert [pid for pid, _ in issue_order(bundles, wanted, seen)] == ["sp-z", "sp-a", "sp-m"]
    assert [pid for pid, _ in issue_order(bundles[::-1], wanted[::-1], seen)] == ["sp-z", "sp-a", "sp-m"]
