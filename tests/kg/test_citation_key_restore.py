"""The disaster-recovery drill for citation keys, with real SQLite files and the real pipeline: a store A
issues keys run by run; an older backup of it, restored as B, catches up in one run. Papers sharing a key
base get the keys A gave them when the earlier ones have the smaller ids (one write issues keys oldest
first, then by id: kg.store.issue_order), and `paperkg keys restore` with an export of A gives them back
in every case, never taking a key from a paper it was issued to."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, ClassVar

import pytest
from click.testing import CliRunner, Result

from ingest.extract import Extractor
from ingest.pipeline import run_ingest
from ingest.records import Record
from kg import cypher
from kg.embedded import EmbeddedStore
from kg.entities import Paper, PaperBundle
from kg.neo4j_store import Neo4jStore
from kg.store import plan_key_restore
from kg.taxonomy import Taxonomy
from tests.embedders import HashEmbedder
from tests.kg.test_neo4j_store import _KeyedTx, _Result
from tests.seed_store import taxonomy_store

SMITH = ["Jane Smith", "Ann Qa"]


def _smith(n: int, title: str) -> Record:
    """An arXiv paper of Jane Smith's, 2026: every title starting "Sparse" shares the key base."""
    return Record(source="arxiv", source_id=f"2611.0000{n}", arxiv_id=f"2611.0000{n}", title=title,
                  abstract="We study sparse autoencoder features in small transformers.", authors=list(SMITH),
                  published=f"2026-11-0{n}", year=2026, categories=["cs.LG"])


FIRST = _smith(1, "Sparse features in toy models")
TWO = _smith(2, "Sparse dictionary circuits")
THREE = _smith(3, "Sparse probing of attention heads")
FOUR = _smith(4, "Sparse crosscoders across layers")
FIVE = _smith(5, "Sparse feature circuits revisited")


def _ingest(store: EmbeddedStore, records: list[Record], taxonomy: Taxonomy) -> None:
    run_ingest(store, records, source="arxiv", embedder=HashEmbedder(), extractor=Extractor(taxonomy),
               progress=False)


def _keys(store: EmbeddedStore) -> dict[str, str | None]:
    return {p.id: p.citation_key for p in store.get_papers(store.paper_ids())}


def _write_pins(file: Path, pins: list[tuple[str, str]]) -> None:
    """A JSON Lines file of (id, citation_key) rows, as `keys restore` reads an export's."""
    file.write_text("".join(json.dumps({"id": i, "citation_key": k}) + "\n" for i, k in pins),
                    encoding="utf-8")


def _cli(data: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> Result:
    """`paperkg ARGS` on the store in `data`."""
    from kg.cli import main

    monkeypatch.setenv("PAPERKG_DATA_DIR", str(data))
    return CliRunner().invoke(main, list(args))


def _timeline(tmp_path: Path, taxonomy: Taxonomy, monkeypatch: pytest.MonkeyPatch,
              runs: list[list[Record]], fmt: str = "jsonl") -> tuple[dict[str, str | None], Path, Path]:
    """Store A: FIRST, a backup, then each of `runs` as its own ingest, then an export of A in `fmt`.
    (A's keys, the backup file, the export file.)"""
    a_dir = tmp_path / "a"
    a_dir.mkdir()
    a = taxonomy_store(a_dir / "paperkg.sqlite3")
    try:
        _ingest(a, [FIRST], taxonomy)
        backup = tmp_path / "week1.sqlite3"
        a.backup(backup)
        for run in runs:
            _ingest(a, run, taxonomy)
        keys = _keys(a)
    finally:
        a.close()
    export = tmp_path / f"a-export.{fmt}"
    done = _cli(a_dir, monkeypatch, "export", "papers", "--format", fmt, "--output", str(export))
    assert done.exit_code == 0, done.output
    return keys, backup, export


def _restored(tmp_path: Path, backup: Path) -> tuple[Path, EmbeddedStore]:
    """The backup put in place as store B (as a user restores it: the file copied)."""
    b_dir = tmp_path / "b"
    b_dir.mkdir()
    shutil.copyfile(backup, b_dir / "paperkg.sqlite3")
    store = EmbeddedStore(b_dir / "paperkg.sqlite3")
    store.init_schema()
    return b_dir, store


def test_a_catch_up_in_one_run_issues_the_keys_separate_runs_issued(
        tmp_path: Path, taxonomy: Taxonomy, monkeypatch: pytest.MonkeyPatch) -> None:
    """QA's drill: 2611.00002 stored by `ingest arxiv`, 2611.00003 by a later weekly run; the restored
    week-1 backup's catch-up gets both in one batch, newest first (arXiv's listing order)."""
    a_keys, backup, _export = _timeline(tmp_path, taxonomy, monkeypatch, [[TWO], [THREE]])
    assert a_keys == {"2611.00001": "smith2026sparse", "2611.00002": "smith2026sparsea",
                      "2611.00003": "smith2026sparseb"}
    _b_dir, b = _restored(tmp_path, backup)
    try:
        assert _keys(b) == {"2611.00001": "smith2026sparse"}
        _ingest(b, [THREE, TWO], taxonomy)
        assert _keys(b) == a_keys
    finally:
        b.close()


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_keys_restore_gives_back_keys_the_catch_up_issued_in_another_order(
        tmp_path: Path, taxonomy: Taxonomy, monkeypatch: pytest.MonkeyPatch, fmt: str) -> None:
    """2611.00005 was stored first (`ingest arxiv --ids`), the older 2611.00004 a week later: no order
    within one batch gives A's keys back, the export of A does (the keys swap), and touches nothing
    else of the papers."""
    a_keys, backup, export = _timeline(tmp_path, taxonomy, monkeypatch, [[FIVE], [FOUR]], fmt)
    assert a_keys == {"2611.00001": "smith2026sparse", "2611.00005": "smith2026sparsea",
                      "2611.00004": "smith2026sparseb"}
    b_dir, b = _restored(tmp_path, backup)
    try:
        _ingest(b, [FIVE, FOUR], taxonomy)
        assert _keys(b) == {"2611.00001": "smith2026sparse", "2611.00004": "smith2026sparsea",
                            "2611.00005": "smith2026sparseb"}
        before = {p.id: (p.title, p.abstract, p.first_seen, p.last_seen) for p in b.get_papers(b.paper_ids())}
    finally:
        b.close()
    done = _cli(b_dir, monkeypatch, "keys", "restore", str(export))
    assert done.exit_code == 0, done.output
    assert "citation keys: 2 restored, 0 reserved for papers not stored yet, 1 held already, 0 refused" \
        in done.output
    assert "warning" not in done.output
    b = EmbeddedStore(b_dir / "paperkg.sqlite3", read_only=True)
    try:
        assert _keys(b) == a_keys
        assert {p.id: (p.title, p.abstract, p.first_seen, p.last_seen)
                for p in b.get_papers(b.paper_ids())} == before
    finally:
        b.close()
    # The BibTeX export of B now cites as A's did.
    bib = _cli(b_dir, monkeypatch, "export", "papers", "--format", "bibtex", "--id", "2611.00005")
    assert bib.exit_code == 0 and bib.output.startswith("@misc{smith2026sparsea,"), bib.output
    # Run again: nothing to do. Ingesting the papers again keeps the restored keys.
    again = _cli(b_dir, monkeypatch, "keys", "restore", str(export))
    assert "citation keys: 0 restored, 0 reserved for papers not stored yet, 3 held already, 0 refused" \
        in again.output
    b = EmbeddedStore(b_dir / "paperkg.sqlite3")
    try:
        _ingest(b, [FOUR, FIVE, _smith(6, "Sparse circuits at scale")], taxonomy)
        # The keys the catch-up issued stay taken: a new paper gets the next free suffix.
        assert _keys(b) == {**a_keys, "2611.00006": "smith2026sparsec"}
    finally:
        b.close()


def test_keys_restore_before_the_catch_up_reserves_the_keys(
        tmp_path: Path, taxonomy: Taxonomy, monkeypatch: pytest.MonkeyPatch) -> None:
    """Restored right after the backup, before any ingest: each paper not stored yet gets A's key when
    the catch-up stores it, and no other paper can take one."""
    a_keys, backup, export = _timeline(tmp_path, taxonomy, monkeypatch, [[FIVE], [FOUR]])
    b_dir, b = _restored(tmp_path, backup)
    b.close()
    # Without --reserve the ids not stored are named and skipped (a typo'd id must not hold a key).
    skipped = _cli(b_dir, monkeypatch, "keys", "restore", str(export))
    assert skipped.exit_code == 0, skipped.output
    assert ("warning: 2 id(s) name no stored paper, skipped (--reserve reserves their keys): 2611.00005, "
            "2611.00004") in skipped.stderr
    assert "citation keys: 0 restored, 0 reserved for papers not stored yet, 1 held already, 0 refused, " \
        "2 not found" in skipped.stdout
    done = _cli(b_dir, monkeypatch, "keys", "restore", "--reserve", str(export))
    assert done.exit_code == 0, done.output
    assert "warning: 2 id(s) name no stored paper, keys reserved for them: 2611.00005, 2611.00004" \
        in done.stderr
    assert "citation keys: 0 restored, 2 reserved for papers not stored yet, 1 held already, 0 refused, " \
        "0 not found" in done.stdout
    b = EmbeddedStore(b_dir / "paperkg.sqlite3")
    try:
        _ingest(b, [_smith(6, "Sparse circuits at scale"), FOUR, FIVE], taxonomy)
        assert _keys(b) == {**a_keys, "2611.00006": "smith2026sparsec"}
    finally:
        b.close()


def test_keys_restore_never_takes_a_key_issued_to_another_paper(
        tmp_path: Path, taxonomy: Taxonomy, monkeypatch: pytest.MonkeyPatch) -> None:
    """A key the file gives one paper that the store issued to another (held, or held before) stays
    with that paper: a warning names both, and each keeps its own."""
    _a_keys, backup, _export = _timeline(tmp_path, taxonomy, monkeypatch, [[TWO]])
    b_dir, b = _restored(tmp_path, backup)
    try:
        _ingest(b, [THREE, TWO], taxonomy)
        stored = _keys(b)
    finally:
        b.close()
    assert stored["2611.00003"] == "smith2026sparseb"
    export = tmp_path / "edited.jsonl"
    _write_pins(export, [("2611.00003", "smith2026sparse"), ("2611.00002", "smith2026sparsea")])
    done = _cli(b_dir, monkeypatch, "keys", "restore", str(export))
    assert done.exit_code == 0, done.output
    assert ("warning: paper 2611.00003 keeps its key: smith2026sparse belongs to paper 2611.00001"
            in done.output)
    assert "citation keys: 0 restored, 0 reserved for papers not stored yet, 1 held already, 1 refused" \
        in done.output
    b = EmbeddedStore(b_dir / "paperkg.sqlite3", read_only=True)
    try:
        assert _keys(b) == stored
    finally:
        b.close()


@pytest.mark.parametrize(("line", "error"), [
    ({"id": "2611.00001", "citation_key": "smith{2026}"}, "line 1: citation key may hold only"),
    ({"id": "2611.00001", "citation_key": "s" * 101}, "line 1: citation key is longer than 100"),
    ({"id": "2611.00001", "citation_key": ["smith2026sparse"]}, "line 1: citation key must be a string"),
    ({"citation_key": "smith2026x"}, "line 1: 'id' must be a string"),
])
def test_keys_restore_refuses_a_file_with_a_bad_key(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, taxonomy: Taxonomy, line: dict[str, object],
        error: str) -> None:
    data = _one_paper_store(tmp_path, taxonomy)
    file = tmp_path / "keys.jsonl"
    file.write_text(json.dumps(line) + "\n", encoding="utf-8")
    done = _cli(data, monkeypatch, "keys", "restore", str(file))
    assert done.exit_code == 1
    assert "nothing restored" in done.output and error in done.output, done.output
    assert _stored_keys(data) == {"2611.00001": "smith2026sparse"}


def _one_paper_store(tmp_path: Path, taxonomy: Taxonomy) -> Path:
    """A data directory whose store holds FIRST (smith2026sparse)."""
    data = tmp_path / "data"
    data.mkdir()
    store = taxonomy_store(data / "paperkg.sqlite3")
    try:
        _ingest(store, [FIRST], taxonomy)
    finally:
        store.close()
    return data


def _stored_keys(data: Path) -> dict[str, str | None]:
    store = EmbeddedStore(data / "paperkg.sqlite3", read_only=True)
    try:
        return _keys(store)
    finally:
        store.close()


def test_keys_restore_waits_for_no_ingest_it_is_refused_while_one_runs(
        tmp_path: Path, taxonomy: Taxonomy, monkeypatch: pytest.MonkeyPatch) -> None:
    """An ingest reads its papers' keys and writes them back later: a restore in between would be
    overwritten, so `keys restore` takes the ingest lock and is refused (exit 75) while an ingest holds
    it, writing nothing; and an ingest meanwhile is told a keys restore holds it."""
    from ingest.store_lock import IngestLocked, holder_state, ingest_lock, make_owner

    a_keys, backup, export = _timeline(tmp_path, taxonomy, monkeypatch, [[FIVE], [FOUR]])
    b_dir, b = _restored(tmp_path, backup)
    try:
        _ingest(b, [FIVE, FOUR], taxonomy)
        swapped = _keys(b)
        assert swapped != a_keys
        with ingest_lock(b, "weekly"):
            done = _cli(b_dir, monkeypatch, "keys", "restore", str(export))
            assert done.exit_code == 75, done.output
            assert "Error: another weekly ingest is running" in done.stderr
            assert "citation keys:" not in done.output
            assert _keys(b) == swapped
    finally:
        b.close()
    assert _stored_keys(b_dir) == swapped
    assert holder_state(make_owner("keys")).ingest() == "keys restore ingest"
    # Once the ingest has finished the restore runs, and lets the lock go.
    done = _cli(b_dir, monkeypatch, "keys", "restore", str(export))
    assert done.exit_code == 0, done.output
    assert _stored_keys(b_dir) == a_keys
    b = EmbeddedStore(b_dir / "paperkg.sqlite3")
    try:
        with ingest_lock(b, "records"):  # not left held
            pass
        with pytest.raises(IngestLocked, match="another keys restore ingest"), \
                ingest_lock(b, "keys"), ingest_lock(b, "records"):
            pass
    finally:
        b.close()


def test_keys_restore_refuses_a_file_whose_ids_name_no_stored_paper(
        tmp_path: Path, taxonomy: Taxonomy, monkeypatch: pytest.MonkeyPatch) -> None:
    """A spreadsheet's 2611.0001 for 2611.00010, or another store's export: not one id is stored, so
    nothing is reserved unless --reserve says so; the ids are named (ten, then how many more)."""
    data = _one_paper_store(tmp_path, taxonomy)
    file = tmp_path / "keys.csv"
    ids = [f"2611.{n:04d}" for n in range(1, 13)]
    rows = "".join(f"{i},{i},smith2026x{n}\n" for n, i in enumerate(ids))
    file.write_text("id,arxiv_id,citation_key\n" + rows, encoding="utf-8")
    done = _cli(data, monkeypatch, "keys", "restore", str(file))
    assert done.exit_code == 1, done.output
    assert ("nothing restored: no id in it names a stored paper (" + ", ".join(ids[:10]) + " and 2 more); "
            "to reserve their keys for when they are stored (before the catch-up), pass --reserve") \
        in done.stderr
    assert _stored_keys(data) == {"2611.00001": "smith2026sparse"}
    store = EmbeddedStore(data / "paperkg.sqlite3")
    try:  # nothing reserved: a paper stored now is issued its own key
        _ingest(store, [_smith(7, "Sparse seven")], taxonomy)
        assert _keys(store)["2611.00007"] == "smith2026sparsea"
    finally:
        store.close()
    reserved = _cli(data, monkeypatch, "keys", "restore", "--reserve", str(file))
    assert reserved.exit_code == 0, reserved.output
    assert "12 reserved for papers not stored yet" in reserved.stdout


def test_keys_restore_names_and_skips_the_ids_not_stored(
        tmp_path: Path, taxonomy: Taxonomy, monkeypatch: pytest.MonkeyPatch) -> None:
    data = _one_paper_store(tmp_path, taxonomy)
    file = tmp_path / "keys.jsonl"
    _write_pins(file, [("2611.00001", "smith2026sparse"), ("2611.0002", "smith2026sparsea")])
    done = _cli(data, monkeypatch, "keys", "restore", str(file))
    assert done.exit_code == 0, done.output
    assert ("warning: 1 id(s) name no stored paper, skipped (--reserve reserves their keys): 2611.0002"
            in done.stderr)
    assert "0 reserved for papers not stored yet, 1 held already, 0 refused, 1 not found" in done.stdout
    store = EmbeddedStore(data / "paperkg.sqlite3")
    try:  # the key was not reserved for the mangled id
        _ingest(store, [TWO], taxonomy)
        assert _keys(store)["2611.00002"] == "smith2026sparsea"
    finally:
        store.close()


@pytest.mark.parametrize(("lines", "error"), [
    ([("2611.00001", "smith2026sparse"), ("2611.00002", "smith2026sparse")],
     "lines 1 and 2: citation key smith2026sparse is given to 2 papers (2611.00001, 2611.00002)"),
    ([("2611.00001", "smith2026sparse"), ("2611.00002", "smith2026sparsea"), ("2611.00001", "smith2026b")],
     "lines 1 and 3: paper 2611.00001 is given 2 keys (smith2026sparse, smith2026b)"),
])
def test_keys_restore_refuses_a_file_giving_a_key_twice(
        tmp_path: Path, taxonomy: Taxonomy, monkeypatch: pytest.MonkeyPatch, lines: list[tuple[str, str]],
        error: str) -> None:
    """One key for two papers, or two keys for one paper: which line wins would be a guess, so the file
    is refused in one line naming the lines, and nothing is written. A line repeated whole is fine."""
    data = _one_paper_store(tmp_path, taxonomy)
    file = tmp_path / "keys.jsonl"
    _write_pins(file, lines)
    done = _cli(data, monkeypatch, "keys", "restore", str(file))
    assert done.exit_code == 1, done.output
    assert done.stderr.count("Error:") == 1 and "nothing restored" in done.stderr and error in done.stderr, \
        done.stderr
    assert "belongs to" not in done.output
    assert _stored_keys(data) == {"2611.00001": "smith2026sparse"}
    store = EmbeddedStore(data / "paperkg.sqlite3")
    try:  # nothing reserved either
        _ingest(store, [TWO], taxonomy)
        assert _keys(store)["2611.00002"] == "smith2026sparsea"
    finally:
        store.close()
    _write_pins(file, 2 * [("2611.00001", "smith2026sparse")])
    again = _cli(data, monkeypatch, "keys", "restore", str(file))
    assert again.exit_code == 0, again.output
    assert "1 held already" in again.stdout


def test_plan_key_restore_swaps_only_what_is_released() -> None:
    """A three-way rotation is restored whole; a move whose key stays held (its holder is not moved, or
    is moved only to a key that stays held) is refused, and so is what depended on it."""
    held: dict[str, str | None] = {"p": "k2", "q": "k3", "r": "k1", "s": "k4", "t": "k5"}
    issued = {f"k{i}": (pid, True) for i, pid in [(2, "p"), (3, "q"), (1, "r"), (4, "s"), (5, "t")]}
    issued["k9"] = ("gone", False)  # a removed paper's key
    issued["k8"] = ("x", True)  # reserved for x, not stored
    moves, outcome = plan_key_restore(
        [("p", "k1"), ("q", "k2"), ("r", "k3"),  # rotation
         ("t", "k4"), ("u", "k5"),  # s keeps k4, so t keeps k5, so u (not stored) gets nothing
         ("v", "k9"), ("w", "k6"), ("p", "k7"), ("x", "k8")], held, issued)
    assert moves == {"p": "k1", "q": "k2", "r": "k3", "w": "k6"}
    assert sorted(outcome.refused) == [("p", "k7", "p"), ("t", "k4", "s"), ("u", "k5", "t"),
                                       ("v", "k9", "gone")]
    assert outcome.restored == [("p", "k1", "k2"), ("q", "k2", "k3"), ("r", "k3", "k1"), ("w", "k6", None)]
    assert outcome.unchanged == ["x"]


# -- the same in the Neo4j store (statements recorded, the key nodes kept as the Cypher keeps them) ----
class _RestoreTx(_KeyedTx):
    """_KeyedTx that also answers restore_citation_keys' statements over its papers and key nodes."""

    authored: ClassVar[dict[str, bool]] = {}  # each stored paper's: whether it has authors

    def run(self, query: str, parameters: dict[str, Any] | None = None) -> _Result:
        params = dict(parameters or {})
        if query == cypher.MERGE_PAPERS:
            self.authored.update((r["id"], bool(r["props"]["authors"])) for r in params["rows"])
        if query == cypher.RESTORE_KEYS_HELD:
            self.calls.append((query, params))
            return _Result([{"id": i, "citation_key": self.held[i][0], "authored": self.authored[i]}
                            for i in params["ids"] if i in self.held])
        if query == cypher.RESTORE_KEYS_ISSUED:
            self.calls.append((query, params))
            return _Result([{"key": k, "paper_id": self.issued[k][0], "held": self.issued[k][1]}
                            for k in params["keys"] if k in self.issued])
        if query == cypher.RELEASE_CITATION_KEYS:
            for entry in self.issued.values():
                if entry[0] in params["ids"]:
                    entry[1] = False
        if query == cypher.GIVE_CITATION_KEYS:
            self.issued.update((r["key"], [r["paper_id"], True]) for r in params["rows"])
        return super().run(query, params)


def _neo4j(monkeypatch: pytest.MonkeyPatch) -> tuple[Neo4jStore, dict[str, list[Any]],
                                                      dict[str, tuple[str, bool]], list[tuple[str, Any]]]:
    issued: dict[str, list[Any]] = {}
    held: dict[str, tuple[str, bool]] = {}
    calls: list[tuple[str, dict[str, Any]]] = []
    hashes: dict[str, str] = {}
    _RestoreTx.authored = {}
    store = Neo4jStore("bolt://127.0.0.1:1", "neo4j", "pw", "neo4j")
    monkeypatch.setattr(store, "_execute", lambda write, work: work(_RestoreTx(calls, hashes, issued, held)))
    monkeypatch.setattr(store, "_get_driver", lambda verify=False: None)
    return store, issued, held, calls


def _arxiv_bundle(record: Record) -> PaperBundle:
    return PaperBundle(Paper(id=record.source_id, arxiv_id=record.arxiv_id, title=record.title,
                             authors=list(record.authors), year=record.year))


def test_neo4j_catch_up_issues_in_arxiv_order_and_restore_swaps_back(monkeypatch: pytest.MonkeyPatch) -> None:
    store, issued, held, calls = _neo4j(monkeypatch)
    store.upsert_papers([_arxiv_bundle(FIRST)])
    store.upsert_papers([_arxiv_bundle(THREE), _arxiv_bundle(TWO), _arxiv_bundle(FIVE), _arxiv_bundle(FOUR)])
    assert {pid: key for pid, (key, _) in held.items()} == {
        "2611.00001": "smith2026sparse", "2611.00002": "smith2026sparsea", "2611.00003": "smith2026sparseb",
        "2611.00004": "smith2026sparsec", "2611.00005": "smith2026sparsed"}
    # An export gave 00004 and 00005 each other's keys, 00002 the key 00001 holds, and 00009 (not stored).
    outcome = store.restore_citation_keys([
        ("2611.00005", "smith2026sparsec"), ("2611.00004", "smith2026sparsed"),
        ("2611.00002", "smith2026sparse"), ("2611.00009", "smith2026sparsez")])
    assert outcome.restored == [("2611.00005", "smith2026sparsec", "smith2026sparsed"),
                                ("2611.00004", "smith2026sparsed", "smith2026sparsec"),
                                ("2611.00009", "smith2026sparsez", None)]
    assert outcome.refused == [("2611.00002", "smith2026sparse", "2611.00001")]
    assert held["2611.00005"] == ("smith2026sparsec", True)
    assert held["2611.00004"] == ("smith2026sparsed", True)
    assert held["2611.00002"] == ("smith2026sparsea", True) and "2611.00009" not in held
    assert issued["smith2026sparsec"] == ["2611.00005", True]
    assert issued["smith2026sparsed"] == ["2611.00004", True]
    assert issued["smith2026sparsez"] == ["2611.00009", True]
    sent = {q for q, _ in calls}
    assert {cypher.RESTORE_KEYS_HELD, cypher.RESTORE_KEYS_ISSUED, cypher.RELEASE_CITATION_KEYS,
            cypher.GIVE_CITATION_KEYS} <= sent
    # The reserved key is the one 00009 gets when it is stored.
    store.upsert_papers([_arxiv_bundle(_smith(9, "Sparse nine"))])
    assert held["2611.00009"] == ("smith2026sparsez", True)
