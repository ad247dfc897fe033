"""The store's ingest lock with real processes: one writing ingest at a time per store.

QA repro: `paperkg ingest records seed.jsonl & paperkg ingest list & wait` on one data dir stored 7
papers twice (records id and list slug) and lost `records` sources and venues, both exiting 0. Each
writing ingest now holds one shared lock for its whole run. The races here are made deterministic by
holding the lock first (from the test, or from a CLI process parked in its arXiv delay) and only then
starting the competing CLI.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ingest.arxiv_server import LocalArxivServer
from ingest.store_lock import (
    EXIT_LOCKED,
    LOCK_NAME,
    IngestLocked,
    ingest_lock,
    make_owner,
    take_lock,
    unrecorded_reason,
)
from kg.embedded import EmbeddedStore
from kg.store import LockHeld, StoreError
from kg.taxonomy import Taxonomy

from .conftest import REPO_ROOT, open_ready_store, snapshot

# The CLI with the deterministic hash embedder (plumbing: the model is not what is tested here).
_CLI = """
import sys
import ingest.pipeline as pipeline
from tests.embedders import HashEmbedder

pipeline._load_embedder = lambda: HashEmbedder()
from kg.cli import main
main(sys.argv[1:])
"""


def _cli(data: Path, *args: str, **env_overrides: str) -> subprocess.Popen[str]:
    env = dict(os.environ, PAPERKG_DATA_DIR=str(data), PAPERKG_STORE="embedded", **env_overrides)
    env.pop("PAPERKG_NEO4J_URI", None)
    return subprocess.Popen([sys.executable, "-c", _CLI, *args], cwd=REPO_ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=300)
    return proc.returncode, out, err


def _sequential_reference(tmp_path: Path, taxonomy: Taxonomy, seed: Path, listing: Path) -> EmbeddedStore:
    """`ingest records` then `ingest list`, one after the other, in a fresh data dir."""
    clean = tmp_path / "clean"
    clean.mkdir()
    open_ready_store(clean / "paperkg.sqlite3", taxonomy).close()
    for args in (("ingest", "records", str(seed)), ("ingest", "list", "--source", str(listing))):
        code, _out, err = _finish(_cli(clean, *args))
        assert code == 0, err
    return EmbeddedStore(clean / "paperkg.sqlite3")


def test_a_second_ingest_is_refused_while_one_runs_and_a_kill_9d_holder_is_taken_over(
    data_dir: Path, shared_data: Path, taxonomy: Taxonomy, local_arxiv: LocalArxivServer, tmp_path: Path
) -> None:
    seed, listing = shared_data / "seed_papers.jsonl", shared_data / "awesome-list-seed.md"
    open_ready_store(data_dir / "paperkg.sqlite3", taxonomy).close()
    # A list ingest that takes the lock, asks arXiv once and then sits in its 600 s request delay.
    holder = _cli(data_dir, "ingest", "list", "--source", str(listing), PAPERKG_ARXIV_DELAY="600")
    try:
        deadline = time.monotonic() + 120
        while not local_arxiv.requests:  # it asks arXiv only once it holds the lock
            if holder.poll() is not None or time.monotonic() > deadline:
                pytest.fail("the list ingest ended or hung before asking arXiv: " + _finish(holder)[2])
            time.sleep(0.05)

        code, out, err = _finish(_cli(data_dir, "ingest", "records", str(seed)))
        assert code == EXIT_LOCKED, out + err
        message = " ".join(err.split())
        assert f"another list ingest is running: pid {holder.pid} on this host is alive" in message
        assert f"lock '{LOCK_NAME}' is held by '" in message and f":{holder.pid}:" in message
        # Review: the expiry the message gave before the clock fix is back (the lock is fresh here).
        assert re.search(r"' until \S+Z \(in 15 min\)\); only one ingest", message), message
        assert "looks expired" not in message and "--wait SECONDS" in message
        store = EmbeddedStore(data_dir / "paperkg.sqlite3")
        try:
            assert store.paper_ids() == [] and store.runs("records") == []  # refused before anything
        finally:
            store.close()
    finally:
        holder.kill()  # SIGKILL: no finally, no release
        holder.wait()
    assert holder.returncode == -signal.SIGKILL

    # The dead list ingest's lock is taken over at once by the next run on this host.
    code, out, err = _finish(_cli(data_dir, "ingest", "records", str(seed)))
    assert code == 0, err
    assert "38 new" in out
    assert f"took over the lock of a dead list run (pid {holder.pid}" in err
    code, out, err = _finish(_cli(data_dir, "ingest", "list", "--source", str(listing)))
    assert code == 0, err

    store = EmbeddedStore(data_dir / "paperkg.sqlite3")
    reference = _sequential_reference(tmp_path, taxonomy, seed, listing)
    try:
        assert len(store.paper_ids()) == 38  # no paper stored twice
        assert snapshot(store) == snapshot(reference)
        # The killed list ingest had recorded its run before asking arXiv (and nothing else); the next
        # ingest, taking its lock over, recorded that run as failed.
        runs = store.runs()
        assert [(r.source, r.status) for r in runs] == [
            ("list", "succeeded"), ("records", "succeeded"), ("list", "failed")]
        assert "its process ended (killed or crashed)" in (runs[-1].message or "")
        store.acquire_lock(LOCK_NAME, "next-run")  # every run released the lock
    finally:
        store.close()
        reference.close()


def test_wait_takes_the_lock_when_the_holder_releases_it(
    data_dir: Path, shared_data: Path, taxonomy: Taxonomy
) -> None:
    store = open_ready_store(data_dir / "paperkg.sqlite3", taxonomy)
    owner = make_owner("weekly")  # this (live) test process, as a weekly run
    take_lock(store, owner)
    proc = _cli(data_dir, "ingest", "records", str(shared_data / "seed_papers.jsonl"), "--wait", "300")
    try:
        seen = []
        while True:  # no clock: it says it waits, and only then is the lock released
            line = proc.stderr.readline() if proc.stderr else ""
            if not line:
                pytest.fail("the waiting ingest ended: " + "".join(seen) + _finish(proc)[2])
            seen.append(line)
            if "waiting up to 300 s for the store lock" in line:
                assert f"another weekly ingest is running: pid {os.getpid()} on this host is alive" in line
                assert "--wait" not in line and "run this one again" not in line  # it is waiting already
                break
        assert store.paper_ids() == []
        store.release_lock(LOCK_NAME, owner)
        code, out, err = _finish(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert code == 0, err
    assert "38 new" in out
    assert len(store.paper_ids()) == 38
    store.close()


def test_every_writing_ingest_command_refuses_a_held_lock_with_exit_75(
    data_dir: Path, shared_data: Path, taxonomy: Taxonomy, local_arxiv: LocalArxivServer
) -> None:
    from click.testing import CliRunner

    from kg.cli import main

    store = open_ready_store(data_dir / "paperkg.sqlite3", taxonomy)
    holder = "other-host:4242:0000beef:records-0123abcd"  # another machine's records ingest
    store.acquire_lock(LOCK_NAME, holder)
    try:
        for args in (["ingest", "list", "--source", str(shared_data / "awesome-list-seed.md")],
                     ["ingest", "records", str(shared_data / "seed_papers.jsonl")],
                     ["ingest", "arxiv", "--ids", "2211.00593"],
                     ["ingest", "weekly", "--since", "2026-11-16"]):
            result = CliRunner().invoke(main, args)
            assert result.exit_code == EXIT_LOCKED, (args, result.output)
            assert "another records ingest holds the lock" in result.output, args
            assert holder in result.output and "frees itself when it expires" in result.output
        assert local_arxiv.requests == []  # refused before asking arXiv anything
        assert store.runs() == [] and store.paper_ids() == []
    finally:
        store.release_lock(LOCK_NAME, holder)
        store.close()


def test_run_ingest_takes_the_lock_itself_and_releases_it_on_failure(
    store: EmbeddedStore, extractor: Any
) -> None:
    """Library callers (the demo, benchmarks) are covered too, and a failed run frees the lock."""
    from ingest.pipeline import run_ingest
    from ingest.records import Record

    class Boom:
        model_name, dim = "boom", 384

        def encode(self, texts: Any, batch_size: int = 64, progress: bool = False) -> Any:
            with pytest.raises(LockHeld):  # held while the run works
                store.acquire_lock(LOCK_NAME, "someone-else")
            raise RuntimeError("model exploded")

    records = [Record(source="records", source_id="x1", title="Probing a toy model", abstract="We probe.")]
    with pytest.raises(RuntimeError, match="model exploded"):
        run_ingest(store, records, source="records", embedder=Boom(), extractor=extractor, progress=False)
    store.acquire_lock(LOCK_NAME, "someone-else")  # released although the run failed
    store.release_lock(LOCK_NAME, "someone-else")
    with ingest_lock(store, "weekly") as held, pytest.raises(IngestLocked, match="another weekly ingest"):
        run_ingest(store, records, source="records", embedder=Boom(), extractor=extractor, progress=False)
    assert held.kind == "weekly"


def test_a_wait_for_the_lock_ends_when_its_stop_event_is_set(tmp_path: Path, taxonomy: Taxonomy) -> None:
    # `paperkg schedule` sets the event on SIGTERM: its run waiting up to 30 minutes must give up at once.
    import logging
    import threading

    from ingest.store_lock import LockWaitStopped, take_lock_waiting

    store = open_ready_store(tmp_path / "paperkg.sqlite3", taxonomy)
    holder = make_owner("records")  # this (live) test process
    take_lock(store, holder)
    stop = threading.Event()

    class StopOnceWaiting(logging.Handler):  # no clock: stopped only once it says it waits
        def emit(self, record: logging.LogRecord) -> None:
            if "waiting up to 1800 s" in record.getMessage():
                stop.set()

    watcher = StopOnceWaiting()
    logger = logging.getLogger("ingest.store_lock")
    logger.addHandler(watcher)
    outcome: list[BaseException] = []

    def wait_for_lock() -> None:
        try:
            take_lock_waiting(store, make_owner("weekly"), wait=1800, stop=stop)
        except BaseException as exc:  # checked below
            outcome.append(exc)

    waiter = threading.Thread(target=wait_for_lock, daemon=True)
    try:
        waiter.start()
        waiter.join(60)  # a hang guard only: before the fix it slept out the whole 1800 s
    finally:
        logger.removeHandler(watcher)
    assert stop.is_set() and not waiter.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], LockWaitStopped), outcome
    assert "stopped while waiting for the store lock: another records ingest is running" in str(outcome[0])
    with pytest.raises(LockHeld) as still:  # the holder still holds it; the waiter never took it
        store.acquire_lock(LOCK_NAME, make_owner("list"), ttl_seconds=60)
    assert still.value.owner == holder
    store.release_lock(LOCK_NAME, holder)
    store.close()


def test_holding_the_lock_brings_stale_title_keys_current(store: EmbeddedStore) -> None:
    """Opening leaves title keys of an older title rule alone while another process writes; the ingest
    that then takes the lock recomputes them before it matches any title."""
    import sqlite3

    from ingest.normalize import title_key_rule

    with sqlite3.connect(store.path) as conn:  # as if written by an older paperkg after this open
        conn.execute("UPDATE meta SET value = 'an older rule' WHERE key = 'title_key_rule'")
    with ingest_lock(store, "records"):
        rule = store._conn().execute("SELECT value FROM meta WHERE key = 'title_key_rule'").fetchone()
    assert rule == (title_key_rule(),)


def test_the_keeper_stops_refreshing_a_lock_another_ingest_took_over(
    store: EmbeddedStore, caplog: pytest.LogCaptureFixture
) -> None:
    """Integrity QA: a holder paused past the lifetime (SIGSTOP) only logged "could not refresh" every few
    seconds once resumed, and kept writing. Its keeper now marks the lock lost, stops refreshing it (not
    taking it back once the new holder releases it), and the run's next check raises IngestLockLost."""
    from ingest.store_lock import IngestLockLost

    taker = "other-host:4242:0000beef:list-0123abcd"
    # A lifetime of 0 s: the lock is expired from the start (as after a long pause), so the taker's
    # acquire_lock wins whenever it comes, and the keeper refreshes every 0.05 s.
    with ingest_lock(store, "records", ttl=0) as held:
        assert held.keeper is not None
        store.acquire_lock(LOCK_NAME, taker, ttl_seconds=900)
        assert held.keeper.lost.wait(60)  # a hang guard only: the keeper's next refresh finds the taker
        held.keeper._thread.join(60)
        assert not held.keeper._thread.is_alive() and held.keeper.taken_by == taker
        store.release_lock(LOCK_NAME, taker)  # the new holder is done
        with pytest.raises(IngestLockLost, match=f"taken over by another list ingest \\('{taker}'\\)"):
            held.check()  # still lost: the run did not hold the lock while the taker wrote
        store.acquire_lock(LOCK_NAME, "next-run", ttl_seconds=60)  # free: nobody took it back
    store.release_lock(LOCK_NAME, "next-run")
    assert "could not refresh" not in caplog.text
    # Review: it was logged at ERROR and raised, and the CLI printed it again: now only the raise shows it.
    assert not [r for r in caplog.records
                if r.levelno > logging.DEBUG and "the store lock was taken over" in r.getMessage()]


def test_finding_the_holder_never_drops_another_paused_runs_lock(store: EmbeddedStore) -> None:
    """Review: the keeper found the holder by taking the lock with a zero lifetime and letting it go;
    when the new holder's lock had expired too (also paused), that deleted it, and its next check
    raised IngestLockLost though nobody had taken its lock."""
    import sqlite3

    from ingest.store_lock import IngestLockLost

    # Another host's run: there expiry alone decides (a paused holder of this host is found stopped).
    with ingest_lock(store, "records", owner="other-host:4242:0000beef:records-0123abcd") as first:
        first.keeper.stop()  # type: ignore[union-attr]  # paused: no refresh meanwhile
        with sqlite3.connect(store.path) as conn:
            conn.execute("UPDATE locks SET expires = 0 WHERE name = ?", (LOCK_NAME,))
        with ingest_lock(store, "list") as second:  # took the expired lock over
            second.keeper.stop()  # type: ignore[union-attr]  # paused past the lifetime too
            with sqlite3.connect(store.path) as conn:
                conn.execute("UPDATE locks SET expires = 0 WHERE name = ?", (LOCK_NAME,))
            with pytest.raises(IngestLockLost, match=re.escape(f"another list ingest ('{second.owner}')")):
                first.check()
            assert _holder_of(store) == second.owner  # still the second run's
            second.check()  # nobody took it: the second run goes on, holding it again
            with pytest.raises(LockHeld, match=re.escape(second.owner)):
                store.acquire_lock(LOCK_NAME, make_owner("arxiv"), ttl_seconds=60)


def test_a_lost_lock_whose_holder_cannot_be_read_still_stops_the_run(
    store: EmbeddedStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review: a store error while finding who took the lock left it not marked lost, and the check
    took that for store trouble, so the run went on writing."""
    from ingest.store_lock import IngestLockLost
    from kg.store import StoreError

    def unreadable(name: str) -> str | None:
        raise StoreError("database is locked")

    with ingest_lock(store, "records") as held:
        held.keeper.stop()  # type: ignore[union-attr]
        store.acquire_lock(LOCK_NAME, make_owner("list"), ttl_seconds=60, replacing=held.owner)
        monkeypatch.setattr(store, "lock_owner", unreadable)
        with pytest.raises(IngestLockLost, match="taken over by another ingest while this run was paused"):
            held.check()
        assert held.keeper is not None and held.keeper.lost.is_set()
        monkeypatch.undo()
        with pytest.raises(IngestLockLost):  # lost for good, not retried as store trouble
            held.check()


def test_a_held_lock_check_refreshes_an_expired_lock_nobody_took(store: EmbeddedStore) -> None:
    """A run paused past the lifetime whose lock nobody took goes on: the check takes it for a new
    lifetime, so another ingest is refused again."""
    import sqlite3

    with ingest_lock(store, "records") as held:
        with sqlite3.connect(store.path) as conn:
            conn.execute("UPDATE locks SET expires = 0 WHERE name = ?", (LOCK_NAME,))
        held.check()
        with pytest.raises(LockHeld) as refused:
            store.acquire_lock(LOCK_NAME, make_owner("list"), ttl_seconds=60)
        assert refused.value.owner == held.owner


def test_a_lock_taken_over_and_released_while_the_holder_was_paused_is_still_lost(
    store: EmbeddedStore,
) -> None:
    """The other ingest ran whole during the pause (took the expired lock, wrote, let it go): the
    resumed holder's check used to take the free lock again and go on with what it read before; it
    raises now, naming no holder (there is none left)."""
    import sqlite3

    from ingest.store_lock import IngestLockLost

    with ingest_lock(store, "records") as held:
        held.keeper.stop()  # type: ignore[union-attr]  # the pause: no refresh meanwhile
        with sqlite3.connect(store.path) as conn:
            conn.execute("UPDATE locks SET expires = 0 WHERE name = ?", (LOCK_NAME,))
        taker = make_owner("list")
        store.acquire_lock(LOCK_NAME, taker, ttl_seconds=60)
        assert _holder_of(store) == taker
        store.release_lock(LOCK_NAME, taker)
        with pytest.raises(IngestLockLost, match="taken over by another ingest while this run was paused"):
            held.check()
        store.acquire_lock(LOCK_NAME, "next-run", ttl_seconds=60)  # still free: not taken back
    store.release_lock(LOCK_NAME, "next-run")


def _holder_of(store: EmbeddedStore) -> str:
    """The owner of the ingest lock row, read directly."""
    row = store._conn().execute("SELECT owner FROM locks WHERE name = ?", (LOCK_NAME,)).fetchone()
    assert row is not None
    return str(row[0])


# A process of this host that takes the ingest lock and holds it, alive, until its stdin closes.
_HOLDER = """
import sys
from ingest.store_lock import LOCK_NAME, make_owner
from kg.embedded import EmbeddedStore

store = EmbeddedStore(sys.argv[1])
owner = make_owner("weekly")
store.acquire_lock(LOCK_NAME, owner, ttl_seconds=900)
print(owner, flush=True)
sys.stdin.read()
"""


def _expire_lock(store: EmbeddedStore) -> None:
    """The lock row as a clock stepped forward past its lifetime leaves it: expired."""
    import sqlite3

    with sqlite3.connect(store.path) as conn:
        conn.execute("UPDATE locks SET expires = 0 WHERE name = ?", (LOCK_NAME,))


def _state(pid: int) -> str:
    """The process state letter of /proc/PID/stat."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def test_a_running_holder_whose_lock_looks_expired_is_refused_a_stopped_one_taken_over(
    store: EmbeddedStore,
) -> None:
    """Clock QA: with the clock stepped forward past the 15-minute lifetime, the next ingest took the lock
    from a live, refreshing holder, which then failed with "taken over by another ingest while this run
    was paused". A holder of this host that is alive and not stopped keeps its lock; a SIGSTOPped one is
    still taken over on expiry, as before."""
    proc = subprocess.Popen([sys.executable, "-c", _HOLDER, str(store.path)], cwd=REPO_ROOT, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        holder = (proc.stdout.readline() if proc.stdout else "").strip()
        assert holder, proc.stderr.read() if proc.stderr else ""
        _expire_lock(store)
        taker = make_owner("list")
        with pytest.raises(IngestLocked) as refused:
            take_lock(store, taker)
        message = " ".join(str(refused.value).split())
        assert (f"another weekly ingest is running: pid {proc.pid} on this host is alive and not stopped "
                f"(lock '{LOCK_NAME}' is held by {holder!r} until 1970-01-01T00:00:00Z, ") in message
        # Review: the expiry is in the message again, here one long past by this clock.
        assert re.search(r"Z, \d+ min ago by this clock\), so its lock is not taken over even "
                         r"though it looks expired \(clock step\?\)", message), message
        assert "--wait SECONDS" in message
        assert _holder_of(store) == holder  # nothing written: still the holder's, its keeper would refresh it

        os.kill(proc.pid, signal.SIGSTOP)  # paused: an expired lock is taken over, as before
        deadline = time.monotonic() + 60  # a hang guard only
        while _state(proc.pid) not in ("T", "t"):
            assert time.monotonic() < deadline, f"pid {proc.pid} never stopped"
            time.sleep(0.01)
        take_lock(store, taker)
        assert _holder_of(store) == taker
        store.release_lock(LOCK_NAME, taker)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGCONT)
        proc.communicate(timeout=60)  # closes its stdin: it exits


def test_a_holder_in_this_very_process_is_refused_even_when_its_lock_looks_expired(
    store: EmbeddedStore,
) -> None:
    """The same with the holder in this process (how `paperkg schedule` and `paperkg demo` run ingests):
    running."""
    with ingest_lock(store, "records") as held:
        _expire_lock(store)
        refused = pytest.raises(IngestLocked, match=f"pid {os.getpid()} on this host is alive and not stop")
        with refused, ingest_lock(store, "list"):
            pytest.fail("took the lock of a running holder")
        held.check()  # still its own: no IngestLockLost
        assert _holder_of(store) == held.owner


def test_a_lock_left_behind_by_a_failed_release_is_taken_over_by_the_next_run_of_this_process(
    store: EmbeddedStore, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Review: when release_lock failed at the end of a scheduled run ("database is locked"), the lock left
    behind named the scheduler's own pid, alive and not stopped, so every later scheduled run was refused
    for good ("another weekly ingest is running: pid <its own pid> …"). A holder naming this process that
    this process no longer holds is left over: its next run takes it over at once."""
    from kg.store import StoreError

    def locked(name: str, owner: str) -> None:
        raise StoreError("database is locked")

    with monkeypatch.context() as patch:
        patch.setattr(store, "release_lock", locked)
        with ingest_lock(store, "weekly") as first:
            pass
    assert "could not release the ingest lock" in caplog.text
    assert _holder_of(store) == first.owner  # left behind, and not expired
    with caplog.at_level(logging.WARNING, logger="ingest.store_lock"), ingest_lock(store, "weekly") as second:
        assert _holder_of(store) == second.owner
        with pytest.raises(IngestLocked, match=f"pid {os.getpid()} on this host is alive and not stopped"):
            take_lock(store, make_owner("list"))  # while this process does hold it, it is refused
    taken = f"took over the lock of a dead weekly run (pid {os.getpid()}, holder {first.owner!r}: "
    assert taken in caplog.text
    assert "is this very process, which does not hold it" in caplog.text
    store.acquire_lock(LOCK_NAME, "next-run", ttl_seconds=60)  # the second run released it


def test_a_lock_being_released_is_not_taken_over_by_another_thread_as_left_behind(
    store: EmbeddedStore, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Review: the run let go of its owner before releasing the lock, so another thread of this process
    taking the lock in between (a release slowed by SQLite's busy wait) found it held by an owner no one
    held and took it over as "left behind", logging a dead run that was not. It is refused as running."""
    release = store.release_lock
    tried: list[str] = []

    def slow_release(name: str, owner: str) -> None:
        try:  # another thread's take, landing while this release is under way
            take_lock(store, make_owner("list"))
            tried.append("taken over")
        except IngestLocked as exc:
            tried.append(str(exc))
        release(name, owner)

    monkeypatch.setattr(store, "release_lock", slow_release)
    with caplog.at_level(logging.WARNING, logger="ingest.store_lock"), ingest_lock(store, "records"):
        pass
    assert len(tried) == 1 and "is alive and not stopped" in tried[0]
    assert "took over the lock" not in caplog.text


def _sleeper() -> subprocess.Popen[str]:
    """A live process of this host that is not an ingest (it exits when its stdin closes)."""
    return subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], text=True,
                            stdin=subprocess.PIPE)


def test_a_holder_whose_pid_now_names_another_process_is_taken_over_at_once(
    store: EmbeddedStore, caplog: pytest.LogCaptureFixture
) -> None:
    """Review: a killed holder whose pid the system gave to another, long-lived process was refused for
    good, that process being alive. The holder carries its process's start time (/proc/PID/stat field
    22): a pid whose process started at another time is a reused one, and the holder is dead."""
    from ingest.store_lock import holder_state

    killed = subprocess.Popen([sys.executable, "-c", _HOLDER, str(store.path)], cwd=REPO_ROOT, text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    holder = (killed.stdout.readline() if killed.stdout else "").strip()
    killed.kill()
    killed.communicate(timeout=60)
    assert holder, "the holder process failed"
    host, pid, space, last = holder.split(":", 3)
    token, start = last.split("@")  # the start time ends the last field: older paperkgs still read the rest
    assert (host, pid) == (socket.gethostname(), str(killed.pid)) and start.isdigit()
    reuser = _sleeper()  # started after the holder: another start time
    try:
        # The killed holder's lock as it looks once the system has given its pid to `reuser`.
        reused = f"{host}:{reuser.pid}:{space}:{token}@{start}"
        with sqlite3.connect(store.path) as conn:
            conn.execute("UPDATE locks SET owner = ? WHERE name = ?", (reused, LOCK_NAME))
        assert holder_state(reused).state == "dead"
        taker = make_owner("list")
        with caplog.at_level(logging.WARNING, logger="ingest.store_lock"):
            take_lock(store, taker)  # at once: the lock has not expired
        assert _holder_of(store) == taker
        assert f"took over the lock of a dead weekly run (pid {reuser.pid}, " in caplog.text
        assert f"its pid {reuser.pid} now names another process (reused)" in caplog.text
        store.release_lock(LOCK_NAME, taker)

        # The same pid with its own start time is a live holder, refused; so is an older paperkg's holder
        # without a start time (judged by the pid alone, as before).
        own_start = Path(f"/proc/{reuser.pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
        older = f"{host}:{reuser.pid}:{space}:{token}"
        for live in (f"{host}:{reuser.pid}:{space}:{token}@{own_start}", older):
            store.acquire_lock(LOCK_NAME, live, ttl_seconds=900)
            with pytest.raises(IngestLocked, match=f"pid {reuser.pid} on this host is alive and not stopped"):
                take_lock(store, taker)
            assert _holder_of(store) == live
            store.release_lock(LOCK_NAME, live)
        # An older paperkg's holder cannot tell a reused pid: its expired lock is taken over, as the older
        # paperkg did (upgrade QA: refused for as long as the pid's new, unrelated process lived).
        store.acquire_lock(LOCK_NAME, older, ttl_seconds=-60)
        take_lock(store, taker)
        assert _holder_of(store) == taker
        store.release_lock(LOCK_NAME, taker)
    finally:
        reuser.communicate(timeout=60)
    # An older paperkg's holder whose pid is gone is dead, as before.
    assert holder_state(f"{host}:{killed.pid}:{space}:{token}").state == "dead"


def test_a_holder_that_took_the_lock_between_the_read_and_the_take_is_refused(
    store: EmbeddedStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review: take_lock reads the holder, then takes the lock; a run that took it in between, with a clock
    step making its fresh lock look expired, was taken over unseen. The take is a compare-and-set on the
    holder read (here: none), so that run keeps its lock."""
    other = make_owner("records")  # a run of this process: alive and running
    taker = make_owner("list")
    acquire = store.acquire_lock

    def meanwhile(name: str, owner: str, ttl_seconds: int = 6 * 3600, **kw: Any) -> None:
        if owner == taker and store.lock_owner(LOCK_NAME) is None:
            acquire(LOCK_NAME, other, ttl_seconds=900)  # the other run takes the free lock ...
            _expire_lock(store)  # ... and the clock steps forward past its lifetime
        acquire(name, owner, ttl_seconds, **kw)

    monkeypatch.setattr(store, "acquire_lock", meanwhile)
    with pytest.raises(IngestLocked, match=f"another records ingest is running: pid {os.getpid()}"):
        take_lock(store, taker)
    assert _holder_of(store) == other


def test_a_closing_write_that_fails_as_the_run_did_is_not_told_twice() -> None:
    """The lock's release (or the failed run's record) failing with the run's own error, a full disk,
    is "the same error as the run" in its warning: the command's error line tells it once. Another
    error is told as it is."""
    full = StoreError("the disk is full (or a file size limit was hit) while writing /d/paperkg.sqlite3")
    run = RuntimeError(f"records ingest failed: {full}")
    assert unrecorded_reason(StoreError(str(full)), run) == "the same error as the run"
    locked = StoreError("/d/paperkg.sqlite3 is locked")
    assert unrecorded_reason(locked, run) == str(locked)
    assert unrecorded_reason(StoreError(str(full)), None) == str(full)  # the run ended well
