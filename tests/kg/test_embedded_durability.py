"""The embedded store on real files that fail: a write past a file size limit, a damaged page, an empty
or foreign file, a writer holding its transaction, a read-only directory."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from kg.cli import main
from kg.embedded import EmbeddedStore
from kg.sqlite_errors import WRITE_LOST
from kg.store import NoStore, StoreDamaged, StoreError, StoreUnavailable
from kg.taxonomy import load_taxonomy
from tests.kg.test_store_contract import bundle, unit_vectors

REPO = Path(__file__).resolve().parents[2]
STORE_FILE = "paperkg.sqlite3"


def seeded_store(path: Path, n: int = 40) -> list[str]:
    """A closed store at `path` with the taxonomy and n papers with embeddings; their ids."""
    store = EmbeddedStore(path)
    store.load_taxonomy(load_taxonomy().nodes)
    vecs = unit_vectors(n, 7)
    ids = [f"2301.{i:05d}" for i in range(n)]
    abstract = "We study induction heads. " * 20
    store.upsert_papers([bundle(pid, f"Induction heads study {pid}", abstract=abstract,
                                techniques=("activation_patching",), vector=vecs[i])
                         for i, pid in enumerate(ids)])
    store.close()
    return ids


def _python(code: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *args], cwd=REPO, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


# -- B: a write that fails on the disk ---------------------------------------------------------
_FILE_SIZE_LIMIT_WRITER = """
    import json, os, resource, sys
    from kg.embedded import EmbeddedStore
    from kg.store import StoreError
    from tests.kg.test_store_contract import bundle, unit_vectors

    path = sys.argv[1]
    store = EmbeddedStore(path)
    # Files may not grow past the store's present size (SIGXFSZ is ignored by Python: EFBIG instead).
    limit = os.path.getsize(path)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
    vecs = unit_vectors(400, 8)
    batch = [bundle(f"2402.{i:05d}", f"Big paper {i}", abstract="Sparse autoencoders. " * 200, vector=vecs[i])
             for i in range(400)]
    try:
        store.upsert_papers(batch)
    except StoreError as exc:
        print(json.dumps({"error": type(exc).__name__, "message": str(exc)}))
    else:
        print(json.dumps({"error": None}))
"""


def test_a_write_past_the_file_size_limit_is_a_store_error_and_stores_nothing(tmp_path: Path) -> None:
    path = tmp_path / STORE_FILE
    ids = seeded_store(path)
    proc = _python(_FILE_SIZE_LIMIT_WRITER, str(path))
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err  # no bare sqlite3 traceback
    result = json.loads(out)
    assert result["error"] == "StoreError", result
    assert str(path) in result["message"]
    assert WRITE_LOST in result["message"]
    assert "disk is full" in result["message"] or "file size limit" in result["message"]
    again = EmbeddedStore(path)
    assert sorted(again.paper_ids()) == ids  # what the store held before, nothing more
    assert again.get_paper(ids[0]) is not None
    again.close()
    assert sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


# -- C: a damaged page -------------------------------------------------------------------------
def damage_papers_table(path: Path) -> None:
    """Overwrite the root page of the papers table with bytes no b-tree page starts with."""
    conn = sqlite3.connect(path)
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'papers'").fetchone()[0]
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    with path.open("r+b") as f:
        f.seek((root - 1) * page_size)
        f.write(b"\xff" * page_size)


@pytest.fixture
def damaged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A PAPERKG_DATA_DIR whose store has a damaged page in the papers table."""
    data = tmp_path / "data"
    seeded_store(data / STORE_FILE)
    damage_papers_table(data / STORE_FILE)
    monkeypatch.setenv("PAPERKG_DATA_DIR", str(data))
    yield data


def test_reads_of_a_damaged_page_raise_store_damaged_naming_the_file(damaged: Path) -> None:
    path = damaged / STORE_FILE
    with pytest.raises(StoreDamaged) as raised:
        store = EmbeddedStore(path)
        store.get_paper("2301.00001")
    message = str(raised.value)
    assert str(path) in message and "damaged" in message
    assert "backup" in message and "PRAGMA integrity_check" in message


@pytest.mark.parametrize("args", [["search", "induction", "--mode", "keyword"], ["related", "2301.00001"],
                                  ["export", "list-rows", "--since", "2020-01-01"]])
def test_commands_on_a_damaged_store_print_one_line(damaged: Path, args: list[str]) -> None:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert f"the store file {damaged / STORE_FILE} is damaged" in result.output


# -- D: a file that is not a paperkg store -----------------------------------------------------
@pytest.mark.parametrize("args", [["stats"], ["search", "induction", "--mode", "keyword"], ["related", "x"]])
def test_reading_commands_refuse_an_empty_store_file_and_leave_it_empty(
    data_dir: Path, args: list[str]
) -> None:
    path = data_dir / STORE_FILE
    path.write_bytes(b"")  # what a failed copy or restore leaves
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output
    assert f"{path.resolve()} is empty: not a paperkg store" in result.output
    assert "paperkg init" in result.output
    assert path.stat().st_size == 0
    assert sorted(p.name for p in data_dir.iterdir()) == [STORE_FILE]


def test_reading_commands_refuse_an_sqlite_file_without_paperkg_tables(data_dir: Path) -> None:
    path = data_dir / STORE_FILE
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE other (x)")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    result = CliRunner().invoke(main, ["stats"])
    assert result.exit_code == 1, result.output
    assert "not a paperkg store" in result.output
    assert path.read_bytes() == before
    with pytest.raises(NoStore):
        EmbeddedStore(path, read_only=True)


def test_init_makes_an_empty_file_a_store(data_dir: Path) -> None:
    (data_dir / STORE_FILE).write_bytes(b"")
    assert CliRunner().invoke(main, ["init"]).exit_code == 0
    stats = CliRunner().invoke(main, ["stats", "--json"])
    assert stats.exit_code == 0, stats.output
    assert json.loads(stats.output)["nodes"]["Technique"] > 20


# -- E: readers never wait for a writer --------------------------------------------------------
_WRITER = """
    import sqlite3, sys
    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("UPDATE papers SET title = 'uncommitted' WHERE id = '2301.00000'")
    print("holding", flush=True)
    sys.stdin.readline()  # until the test is done
    conn.execute("ROLLBACK")
"""


@pytest.fixture
def held_store(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A store whose write lock another process holds, with an uncommitted change, for the test."""
    path = data_dir / STORE_FILE
    seeded_store(path)
    # A reader that still needed the write lock would fail after 1 s instead of hanging 30 s.
    monkeypatch.setattr("kg.sqlite_errors.BUSY_TIMEOUT_SECONDS", 1.0)
    with _write_lock_held(path):
        yield path


@contextlib.contextmanager
def _write_lock_held(path: Path) -> Iterator[None]:
    """Another process holds the store's write lock (with an uncommitted change) until the block ends."""
    writer = _python(_WRITER, str(path))
    assert writer.stdout is not None and writer.stdout.readline().strip() == "holding"
    try:
        yield
    finally:
        assert writer.stdin is not None
        writer.stdin.write("\n")
        writer.stdin.flush()
        writer.communicate(timeout=30)


def test_stores_open_and_read_while_another_process_holds_the_write_lock(held_store: Path) -> None:
    reader = EmbeddedStore(held_store, read_only=True)
    detail = reader.get_paper("2301.00000")
    assert detail is not None and detail.paper.title == "Induction heads study 2301.00000"
    assert reader.stats()["nodes"]["Paper"] == 40
    reader.close()
    server = EmbeddedStore(held_store)  # how the API opens it: read-write, but the schema is current
    assert len(server.keyword_search("induction", 5)) == 5
    with pytest.raises(StoreError, match="locked"):  # a write does wait, and then says why
        server.delete_paper("2301.00001")
    server.close()


def test_reading_commands_answer_while_an_ingest_holds_the_write_lock(held_store: Path) -> None:
    stats = CliRunner().invoke(main, ["stats", "--json"])
    assert stats.exit_code == 0, stats.output
    assert json.loads(stats.output)["nodes"]["Paper"] == 40
    search = CliRunner().invoke(main, ["search", "induction", "--mode", "keyword", "--json"])
    assert search.exit_code == 0, search.output
    assert json.loads(search.output)["total"] == 40


# -- E: a read-only directory ------------------------------------------------------------------
@pytest.fixture
def read_only_dir(tmp_path: Path) -> Iterator[Path]:
    """A data directory holding a store that this process cannot write: chmod -w, or for root (who
    ignores permissions) a read-only bind mount."""
    source = tmp_path / "source"
    seeded_store(source / STORE_FILE)
    if os.geteuid() != 0:
        source.chmod(0o555)
        try:
            yield source
        finally:
            source.chmod(0o755)
        return
    target = tmp_path / "ro"
    target.mkdir()
    mounted = subprocess.run(["mount", "--bind", str(source), str(target)], capture_output=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"root without mount privileges cannot make a read-only directory: {mounted.stderr!r}")
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(target)], check=True, capture_output=True)
        yield target
    finally:
        # Lazily: a store a failed test left open must not keep the mount behind.
        subprocess.run(["umount", "-l", str(target)], check=True, capture_output=True)


def test_a_store_in_a_read_only_directory_can_be_read(
    read_only_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = read_only_dir / STORE_FILE
    store = EmbeddedStore(path, read_only=True)
    assert len(store.paper_ids()) == 40
    assert store.vector_search(unit_vectors(40, 7)[3], 1)[0].id == "2301.00003"
    store.close()
    server = EmbeddedStore(path)  # the API's way of opening: it reads, and a write says why it cannot
    assert server.get_paper("2301.00002") is not None
    with pytest.raises(StoreError, match="read-only"):
        server.delete_paper("2301.00002")
    server.close()
    monkeypatch.setenv("PAPERKG_DATA_DIR", str(read_only_dir))
    stats = CliRunner().invoke(main, ["stats", "--json"])
    assert stats.exit_code == 0, stats.output
    assert json.loads(stats.output)["nodes"]["Paper"] == 40


def test_a_new_store_in_a_read_only_directory_names_the_problem(read_only_dir: Path) -> None:
    with pytest.raises(StoreUnavailable) as raised:
        EmbeddedStore(read_only_dir / "other.sqlite3")
    assert "read-only" in str(raised.value) and str(read_only_dir) in str(raised.value)


def test_an_ingest_into_a_read_only_directory_stops_with_one_line(
    read_only_dir: Path, monkeypatch: pytest.MonkeyPatch, shared_data: Path
) -> None:
    # Taking the ingest lock is the run's first write: before, its StoreError escaped as a traceback.
    monkeypatch.setenv("PAPERKG_DATA_DIR", str(read_only_dir))
    before = (read_only_dir / STORE_FILE).read_bytes()
    result = CliRunner().invoke(main, ["ingest", "records", str(shared_data / "seed_papers.jsonl")])
    assert result.exit_code == 1, result.output
    assert result.output.startswith("Error: records ingest failed: ") and "read-only" in result.output
    assert result.output.count("\n") == 1 and not isinstance(result.exception, StoreError)
    assert (read_only_dir / STORE_FILE).read_bytes() == before


# -- a damaged embedding-cache row -----------------------------------------------------------------
@pytest.mark.parametrize("damage", ["substr(vector, 1, 1001)", "'not a vector'"])
def test_an_undecodable_cache_row_is_left_out_alone(
    tmp_path: Path, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    # One row cut to an odd length made the whole batch raise, so every text in it was embedded again.
    path = tmp_path / STORE_FILE
    store = EmbeddedStore(path)
    vectors = unit_vectors(3, 11)
    store.cache_embeddings("model-a", {f"h{i}": vectors[i] for i in range(3)})
    store.close()
    with sqlite3.connect(path) as conn:  # what a torn write or a bad disk leaves
        conn.execute(f"UPDATE embedding_cache SET vector = {damage} WHERE text_hash = 'h1'")
        assert conn.total_changes == 1
    conn.close()
    store = EmbeddedStore(path)
    try:
        with caplog.at_level(logging.WARNING, logger="kg.embedded"):
            found = store.cached_embeddings("model-a", ["h0", "h1", "h2"])
    finally:
        store.close()
    assert sorted(found) == ["h0", "h2"]
    np.testing.assert_array_equal(found["h0"], vectors[0])
    np.testing.assert_array_equal(found["h2"], vectors[2])
    assert "1 cached embedding(s) of 'model-a' could not be decoded" in caplog.text and "h1" in caplog.text


def test_a_directory_closed_only_to_this_user_is_not_read_as_a_frozen_snapshot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A directory this user cannot write may still be written by its owner (a cron ingest running as
    another user): the reader must see that writer's papers, not a snapshot turned 'damaged' later."""
    import kg.embedded as embedded

    path = tmp_path / STORE_FILE
    ids = seeded_store(path)
    # This process is root here, so "another user's directory" is what os.access answers for it.
    monkeypatch.setattr(embedded, "_writable", lambda directory: False)
    reader = EmbeddedStore(path, read_only=True)
    assert len(reader.paper_ids()) == len(ids)
    monkeypatch.undo()
    writer = EmbeddedStore(path)
    vectors = unit_vectors(400, 8)
    writer.upsert_papers([bundle(f"2302.{i:05d}", f"More induction heads {i}", vector=vectors[i])
                          for i in range(400)])
    writer.close()
    assert len(reader.paper_ids()) == len(ids) + 400
    assert reader.keyword_search("induction", 5)
    reader.close()


def test_title_keys_of_an_older_rule_in_a_store_this_process_cannot_write_are_only_read(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Stored title keys of an older title_key rule are recomputed when a store is opened for writing;
    a store this process cannot write (here: its directory, another user's) is still opened and read,
    as the API opens it, keys unchanged and said once, and a reading command reads it."""
    import kg.embedded as embedded

    path = data_dir / STORE_FILE
    ids = seeded_store(path, n=3)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE papers SET title_key = 'an older key'")
        conn.execute("DELETE FROM meta WHERE key = 'title_key_rule'")
    conn.close()
    stats = CliRunner().invoke(main, ["stats", "--json"])  # read-only: never recomputes
    assert stats.exit_code == 0, stats.output
    assert json.loads(stats.output)["nodes"]["Paper"] == 3
    monkeypatch.setattr(embedded, "_writable", lambda directory: False)
    with caplog.at_level(logging.WARNING, logger="kg.embedded"):
        server = EmbeddedStore(path)
    assert server.paper_ids() == ids
    server.close()
    assert "keeps title keys of an older title-key rule" in caplog.text and "read-only" in caplog.text
    with sqlite3.connect(path) as conn:
        assert {k for (k,) in conn.execute("SELECT title_key FROM papers")} == {"an older key"}
        assert conn.execute("SELECT 1 FROM meta WHERE key = 'title_key_rule'").fetchone() is None
    conn.close()


def test_opening_a_store_with_stale_title_keys_does_not_wait_for_a_writer(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The API opens read-write: with title keys of an older rule and an ingest writing, it used to
    queue behind the writer for the busy timeout and then fail; the keys now wait for the next ingest."""
    from ingest.normalize import title_key_rule

    path = data_dir / STORE_FILE
    seeded_store(path)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value = 'an older rule' WHERE key = 'title_key_rule'")
    monkeypatch.setattr("kg.sqlite_errors.BUSY_TIMEOUT_SECONDS", 1.0)
    writer = _python(_WRITER, str(path))
    assert writer.stdout is not None and writer.stdout.readline().strip() == "holding"
    try:
        server = EmbeddedStore(path)
        assert len(server.keyword_search("induction", 5)) == 5
    finally:
        assert writer.stdin is not None
        writer.stdin.write("\n")
        writer.stdin.flush()
        writer.communicate(timeout=30)
    stale = server._conn().execute("SELECT value FROM meta WHERE key = 'title_key_rule'").fetchone()
    assert stale == ("an older rule",)
    server.init_schema()  # what an ingest does once it holds the ingest lock
    current = server._conn().execute("SELECT value FROM meta WHERE key = 'title_key_rule'").fetchone()
    assert current == (title_key_rule(),)
    server.close()


@pytest.fixture
def stale_fold_held(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A store whose full-text index is of an older fold while another process holds its write lock."""
    # Writes wait 1 s for a writer, not 30: an open that did queue behind this one ends soon.
    monkeypatch.setattr("kg.sqlite_errors.BUSY_TIMEOUT_SECONDS", 1.0)
    path = data_dir / STORE_FILE
    seeded_store(path)
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE meta SET value = 'an older fold' WHERE key = 'search_fold_rule'")
    conn.close()
    with _write_lock_held(path):
        yield path


def test_opening_a_store_with_a_stale_fold_tries_its_write_without_waiting_for_a_writer(
    stale_fold_held: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The re-fold an open starts asks for the write lock with a busy timeout of 0, so it gives up at
    once while an ingest writes instead of queueing behind it (the API opens stores read-write)."""
    timeouts: list[int] = []
    begin = EmbeddedStore._begin

    def spy(self: EmbeddedStore, conn: sqlite3.Connection, statement: str, *, writing: bool = False) -> None:
        if writing:  # the busy timeout on the connection the write lock is asked on, as it is asked
            timeouts.append(conn.execute("PRAGMA busy_timeout").fetchone()[0])
            assert timeouts[-1] == 0, f"the upkeep's write waits {timeouts[-1]} ms for the writer"
        begin(self, conn, statement, writing=writing)

    monkeypatch.setattr(EmbeddedStore, "_begin", spy)
    server = EmbeddedStore(stale_fold_held)
    assert timeouts == [0]  # one write tried, refused at once: the fold is left for the next ingest
    stale = server._conn().execute("SELECT value FROM meta WHERE key = 'search_fold_rule'").fetchone()
    assert stale == ("an older fold",)
    server.close()


def test_opening_a_store_with_a_stale_fold_during_a_write_keeps_its_busy_timeout(
    stale_fold_held: Path,
) -> None:
    """The upkeep's busy timeout of 0 is for its own write only: the connection the store goes on
    using waits for writers again, or every later write would fail at once while another one runs."""
    server = EmbeddedStore(stale_fold_held)
    assert server._conn().execute("PRAGMA busy_timeout").fetchone() == (1000,)
    assert len(server.keyword_search("induction", 5)) == 5
    server.close()
