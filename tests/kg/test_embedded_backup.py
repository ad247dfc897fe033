"""Disaster-recovery drills on the embedded store (QA): a backup taken while an ingest runs, a server left
running while a backup is put in place of its file, and two backups to one FILE at once."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from api.health import weekly_problems, weekly_status
from ingest.arxiv_server import LocalArxivServer
from ingest.arxiv_source import ArxivSource
from ingest.extract import Extractor
from ingest.pipeline import ingest_records_file
from ingest.store_lock import LOCK_NAME
from ingest.weekly import RUN_SOURCE, run_weekly
from kg.embedded import EmbeddedStore
from kg.store import StoreError
from kg.taxonomy import Taxonomy, load_taxonomy
from tests.embedders import HashEmbedder
from tests.kg.test_store_contract import bundle, unit_vectors
from tests.seed_store import taxonomy_store

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def _entry(n: int, when: datetime) -> dict[str, Any]:
    """An MI paper as the local arXiv server serves it."""
    words = ["alpha", "bravo", "charlie", "delta", "echo"]
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"arxiv_id": f"2611.{12000 + n}", "version": 1,
            "title": f"Sparse Autoencoder Features for the {words[n % 5]} {n} Task",
            "abstract": f"We train sparse autoencoders on a GPT-2 language model and use activation patching "
                        f"to find the features behind task {words[n % 5]} number {n}.",
            "authors": ["Test Author"], "published": stamp, "updated": stamp,
            "categories": ["cs.CL", "cs.LG"], "primary_category": "cs.CL"}


class _Hooked(ArxivSource):
    """An ArxivSource that runs `hook(start)` before fetching each page."""

    def __init__(self, hook: Any, **kw: Any) -> None:
        super().__init__(**kw)
        self.hook = hook

    def fetch_page(self, search: Any, start: int, size: int, **kw: Any) -> Any:
        self.hook(start)
        return super().fetch_page(search, start, size, **kw)


def _source(server: LocalArxivServer, cls: Any = ArxivSource, *args: Any) -> Any:
    return cls(*args, url=server.url, delay=0.0, timeout=5.0, retries=1, backoff=0.01, page_size=10)


@pytest.fixture
def seeded(tmp_path: Path, shared_data: Path, taxonomy: Taxonomy) -> Iterator[EmbeddedStore]:
    """A store holding the seed corpus (what the relevance gate compares candidates with)."""
    store = taxonomy_store(tmp_path / "live" / "paperkg.sqlite3")
    ingest_records_file(store, shared_data / "seed_papers.jsonl", embedder=HashEmbedder(),
                        extractor=Extractor(taxonomy), progress=False)
    yield store
    store.close()


def test_a_backup_taken_mid_weekly_run_records_the_run_failed_and_the_next_run_redoes_its_window(
    seeded: EmbeddedStore, tmp_path: Path, taxonomy: Taxonomy
) -> None:
    """QA: restored, a backup taken during a weekly run held that run as "running" (GET /api/status: 503
    weekly_interrupted, which `paperkg init` did not clear). The copy records it failed, saying why; the
    original store is untouched, and the restored store's next weekly run asks for the same window a
    failed run's next one would (from the watermark, less arXiv's announcement lag)."""
    extractor = Extractor(taxonomy)
    items = [_entry(i, NOW - 6 * DAY + timedelta(hours=i)) for i in range(25)]
    with LocalArxivServer([_entry(99, NOW - 10 * DAY)]) as server:
        run_weekly(seeded, source=_source(server), embedder=HashEmbedder(), extractor=extractor,
                   now=NOW - 7 * DAY)
    watermark = seeded.last_watermark(RUN_SOURCE)
    assert watermark == "2026-11-16T06:00:00Z"

    copy = tmp_path / "mid-run.sqlite3"
    taken: list[str | None] = []

    def back_up(start: int) -> None:
        if start == 10 and not taken:  # a second page: the run is under way, holding the lock
            seeded.backup(copy)
            holder = seeded.lock_holder(LOCK_NAME)
            taken.append(None if holder is None else holder[0])

    with LocalArxivServer(items) as server:
        live_run = run_weekly(seeded, source=_source(server, _Hooked, back_up), embedder=HashEmbedder(),
                              extractor=extractor, now=NOW)
    assert taken and taken[0] is not None  # the original's lock stayed its run's
    assert seeded.runs(RUN_SOURCE)[0].status == "succeeded"  # and its run went on to the end

    restored_dir = tmp_path / "restored"
    restored_dir.mkdir()
    shutil.copy(copy, restored_dir / "paperkg.sqlite3")
    restored = EmbeddedStore(restored_dir / "paperkg.sqlite3")
    try:
        interrupted = restored.runs(RUN_SOURCE)[0]
        assert interrupted.id == live_run.run_id
        assert interrupted.status == "failed" and interrupted.watermark is None
        assert "in progress when the backup was taken" in (interrupted.message or "")
        assert restored.lock_holder(LOCK_NAME) is None
        status = weekly_status(restored, NOW + DAY, 8)
        assert status["interrupted_since"] is None and status["last_status"] == "failed"
        codes = [p["code"] for p in weekly_problems(status, require_weekly=True)]
        assert "weekly_interrupted" not in codes and "weekly_failed" in codes

        with LocalArxivServer(items) as server:
            retry = run_weekly(restored, source=_source(server), embedder=HashEmbedder(), extractor=extractor,
                               now=NOW + DAY)
        assert retry.window_start == "2026-11-13T06:00:00Z"  # the watermark less 3 days, as after a failure
        assert retry.window_end == "2026-11-24T06:00:00Z"
        assert all(restored.get_paper(item["arxiv_id"]) is not None for item in items)
        assert restored.last_watermark(RUN_SOURCE) == retry.window_end
    finally:
        restored.close()


def test_a_store_left_open_while_an_older_backup_is_put_in_its_place_searches_the_backups_papers(
    tmp_path: Path
) -> None:
    """QA: a server left running through a restore kept the papers removed by it in its vector mirror
    (semantic total 41, the restored file 39): the mirror applied only the changes past the revision it
    had seen, and the older file's revision is lower. Now it is built afresh, as the related index was."""
    path = tmp_path / "paperkg.sqlite3"
    store = EmbeddedStore(path)
    store.load_taxonomy(load_taxonomy().nodes)
    vectors = unit_vectors(5, seed=7)
    store.upsert_papers([bundle(f"p{i}", vector=vectors[i]) for i in range(3)])
    store.backup(tmp_path / "backup.sqlite3")
    store.upsert_papers([bundle(f"p{i}", vector=vectors[i]) for i in range(3, 5)])
    assert len(store.vector_search(vectors[0], 10)) == 5  # the mirror holds all five

    # The restore: the backup renamed over the file, the -wal and -shm beside it removed.
    shutil.copy(tmp_path / "backup.sqlite3", tmp_path / "restoring.sqlite3")
    os.replace(tmp_path / "restoring.sqlite3", path)
    for suffix in ("-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)

    found: list[list[str]] = []
    # A new request thread, as a threaded server has: its connection opens the file now at the path.
    def search() -> None:
        found.append([s.id for s in store.vector_search(vectors[4], 10)])

    worker = threading.Thread(target=search)
    worker.start()
    worker.join()
    try:
        assert found and sorted(found[0]) == ["p0", "p1", "p2"]
    finally:
        store.close()


def test_a_restored_backup_a_catch_up_wrote_past_the_open_stores_revision_is_still_read_afresh(
    tmp_path: Path
) -> None:
    """Review: after the restore, the catch-up ingest (another process) wrote more revisions than the open
    store had seen before its next search: by revision alone the file looked newer, so the mirror and
    the related index kept the removed papers and missed the catch-up's first ones. The copy's own
    generation tells the files apart."""
    path = tmp_path / "paperkg.sqlite3"
    store = EmbeddedStore(path)
    store.load_taxonomy(load_taxonomy().nodes)
    vectors = unit_vectors(9, seed=7)
    store.upsert_papers([bundle(f"p{i}", vector=vectors[i], techniques=("probing",)) for i in range(3)])
    store.backup(tmp_path / "backup.sqlite3")
    for i in range(3, 5):  # two writes after the backup
        store.upsert_papers([bundle(f"p{i}", vector=vectors[i], techniques=("probing",))])
    assert len(store.vector_search(vectors[0], 20)) == 5
    assert {c.id for c in store.related_candidates("p0")} >= {"p3", "p4"}
    shutil.copy(tmp_path / "backup.sqlite3", tmp_path / "restoring.sqlite3")
    os.replace(tmp_path / "restoring.sqlite3", path)
    for suffix in ("-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    catch_up = EmbeddedStore(path)
    for i in range(5, 9):
        catch_up.upsert_papers([bundle(f"q{i}", vector=vectors[i], techniques=("probing",))])
    catch_up.close()

    found: list[list[str]] = []
    related: list[set[str]] = []
    def search() -> None:  # a new request thread: its connection opens the file now at the path
        found.append(sorted(s.id for s in store.vector_search(vectors[4], 20)))
        related.append({c.id for c in store.related_candidates("p0")})

    worker = threading.Thread(target=search)
    worker.start()
    worker.join()
    try:
        assert found == [["p0", "p1", "p2", "q5", "q6", "q7", "q8"]]
        assert not related[0] & {"p3", "p4"} and related[0] >= {"q5", "q8"}
    finally:
        store.close()


# A backup in another process that stops once its copy is written (at the fsync before the rename) until
# a line comes on its stdin: a backup still running as far as every other process can see.
_PAUSED_BACKUP = """
    import os, sys
    from pathlib import Path
    from kg.embedded import EmbeddedStore

    real_fsync = os.fsync

    def paused(fd):
        os.fsync = real_fsync
        print("copied", flush=True)
        sys.stdin.readline()
        real_fsync(fd)

    os.fsync = paused
    store = EmbeddedStore(sys.argv[1], read_only=True)
    try:
        kwargs = {"replace": True} if sys.argv[3] == "force" else {}
        print("backed up", store.backup(Path(sys.argv[2]), **kwargs), flush=True)
    except Exception as exc:
        print("error:", exc, flush=True)
"""


def _paused_backup(store: Path, target: Path, force: bool) -> subprocess.Popen[str]:
    """Start a backup of `store` to `target` in another process and return once its copy is written."""
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(_PAUSED_BACKUP), str(store), str(target),
                             "force" if force else "keep"], cwd=REPO, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line != "copied\n":
        proc.kill()
        raise AssertionError(line + proc.communicate()[1])
    return proc


@pytest.mark.parametrize("force", [False, True])
def test_backups_to_one_file_at_once_keep_each_others_copy_and_remove_only_a_killed_ones(
    tmp_path: Path, force: bool
) -> None:
    """QA: two `paperkg backup` runs to one FILE at once both failed ("attempt to write a readonly
    database", "disk I/O error"): they wrote the same FILE.partial, and each deleted it first as a killed
    run's leftover. Now each writes its own, locked while it runs: a killed backup's copy is removed by
    the next one, a running one's is not; the one finishing last keeps FILE unless told to replace it."""
    store_path = tmp_path / "paperkg.sqlite3"
    store = EmbeddedStore(store_path)
    store.load_taxonomy(load_taxonomy().nodes)
    store.upsert_papers([bundle(f"p{i}") for i in range(4)])
    store.close()
    target = tmp_path / "out" / "backup.sqlite3"
    target.parent.mkdir()

    killed = _paused_backup(store_path, target, force)
    killed.kill()  # kill -9 mid-backup: its copy stays, and nobody holds its lock any more
    killed.communicate()
    left = sorted(p.name for p in target.parent.iterdir())
    assert left and all(name.startswith("backup.sqlite3.partial") for name in left)

    running = _paused_backup(store_path, target, force)
    try:
        ours = [p.name for p in target.parent.iterdir() if p.name not in left]
        done = subprocess.run([str(Path(sys.executable).parent / "paperkg"), "backup", str(target)],
                              env={**os.environ, "PAPERKG_DATA_DIR": str(tmp_path)}, capture_output=True,
                              text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(f"backed up 4 papers to {target}")
        beside = sorted(p.name for p in target.parent.iterdir())
        # The killed run's copy is gone; the running one's is still there, untouched.
        assert beside == sorted(["backup.sqlite3", *ours]), beside
        first = target.stat().st_ino
        out, err = running.communicate("go on\n", timeout=120)
    finally:
        if running.poll() is None:
            running.kill()
            running.communicate()
    assert running.returncode == 0, err
    if force:
        assert out.strip().endswith("backed up 4"), out
        assert target.stat().st_ino != first  # the later copy replaced the earlier
    else:
        assert "exists (--force replaces it)" in out and "while this backup ran" in out, out
        assert target.stat().st_ino == first  # kept
    assert [p.name for p in target.parent.iterdir()] == ["backup.sqlite3"]
    copy = EmbeddedStore(target, read_only=True)
    try:
        assert len(copy.paper_ids()) == 4
    finally:
        copy.close()


def _another_process_writes_at_fsync(target: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """At the backup's first fsync (the copy is made, not yet in place), "another process" writes `target`."""
    real_fsync = os.fsync

    def someone_writes_file(fd: int) -> None:
        monkeypatch.setattr(os, "fsync", real_fsync)
        target.write_bytes(b"another backup")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", someone_writes_file)


def test_a_file_written_meanwhile_is_kept_without_force(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    """FILE is checked as the copy is put in place, not only before the copy is made: a file another
    process wrote there meanwhile is kept, and the copy removed."""
    store = EmbeddedStore(tmp_path / "paperkg.sqlite3")
    store.load_taxonomy(load_taxonomy().nodes)
    target = tmp_path / "backup.sqlite3"
    _another_process_writes_at_fsync(target, monkeypatch)
    with pytest.raises(StoreError, match=r"exists \(--force replaces it\)") as raised:
        store.backup(target)
    assert raised.type.__name__ == "BackupExists"
    assert target.read_bytes() == b"another backup"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("backup")) == ["backup.sqlite3"]
    assert store.backup(target, replace=True) == 0
    assert target.read_bytes() != b"another backup"
    store.close()



# CSI "red", OSC "set the window title" ended by BEL, and a right-to-left override in FILE's directory.
HOSTILE_DIR = "ev\x1b[31mRED\x1b]0;pwn\x07il\u202e"


def test_a_backup_error_names_file_without_its_terminal_controls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`paperkg backup '<dir with OSC>/b.sqlite3'` printed the raw escape sequences of FILE in its error
    (a missing directory, a directory that is a file, a file written meanwhile)."""
    store = EmbeddedStore(tmp_path / "paperkg.sqlite3")
    store.load_taxonomy(load_taxonomy().nodes)
    (tmp_path / "file-dir").write_text("not a directory")
    targets = [tmp_path / HOSTILE_DIR / "b.sqlite3", tmp_path / "file-dir" / f"{HOSTILE_DIR}.sqlite3"]
    messages = []
    for target in targets:
        with pytest.raises(StoreError) as raised:
            store.backup(target)
        messages.append(str(raised.value))
    target = tmp_path / f"{HOSTILE_DIR}.sqlite3"
    _another_process_writes_at_fsync(target, monkeypatch)
    with pytest.raises(StoreError, match=r"exists \(--force replaces it\)") as exists:
        store.backup(target)
    messages.append(str(exists.value))
    store.close()
    assert "the directory" in messages[0] and "does not exist" in messages[0], messages[0]
    for message in messages:
        assert "evREDil" in message, repr(message)
        assert not any(c in message for c in "\x1b\x07\u202e"), repr(message)
