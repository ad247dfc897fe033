"""The store's ingest lock: one writing ingest at a time per store (list, records, arxiv, weekly).

Every ingest reads the store to match its records to stored papers (arXiv id, DOI, title) and then
writes what it merged; two at once would each miss the other's papers and store them twice, or
overwrite each other's merged sources and venues. So each writing ingest holds this one named lock
for its whole run: taken before it reads anything, refreshed by a daemon thread while it runs,
released on every way out.

The holder string is host:pid:pid-space:kind-token@start (see make_owner): start is the process's start
time, field 22 of /proc/PID/stat (clock ticks after boot, which no wall-clock step moves), so a pid the
system has since given to another process is not taken for the holder. It ends the last field, so an
older paperkg still reads host, pid and pid space and judges such a holder by its pid. A holder written
by an older paperkg, or on a host without /proc, has no start (host:pid:pid-space:kind-token) and is
judged by its pid alone, as before. holder_state finds a holder of this host's pid space (same boot and
pid namespace) dead when its pid is gone (or a zombie), when its pid now names a process started at
another time (pid reuse), or when its pid is this very process's and the holder is not one this
process holds (a lock left behind: its release failed, say with "database is locked"; see _HELD). A run
killed with kill -9 leaves its lock behind; the next run on the same host finds its holder dead and
takes the lock over at once (a compare-and-set on the dead holder, so of two runs doing so one wins).
Another host's holder cannot be checked: its lock frees itself LOCK_TTL_SECONDS after its last refresh.

Once a run holds the lock no other ingest is running, so any IngestRun still "running" belongs to a
run that died: it is recorded as failed, saying so (see mark_dead_runs).

Expiry alone lets another run take a lock over, so a holder paused past the lifetime (laptop suspend,
SIGSTOP, `docker pause` seen from another pid space) may resume with its lock gone: its keeper stops
refreshing as soon as it finds another owner holding it, and the run calls HeldLock.check before each
write, which raises IngestLockLost then. The run stops, recorded as failed, instead of writing beside the
new holder. Expiry is judged by the wall clock, though, so a clock stepped forward past the lifetime (or
a fast clock) makes a live holder's lock look expired: a holder of this host's pid space that is alive
and not stopped (state T or t, as SIGSTOP leaves it) is refused like a live lock, expired or not (see
take_lock); only a stopped one, one this host cannot check, or an older paperkg's holder without a start
time (whose pid may have been reused: expiry is all that tells) is taken over on expiry, and a dead one
(see above) at once.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import os
import re
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from kg.store import GraphStore, LockHeld, StoreError
from kg.validation import lock_held_message

log = logging.getLogger(__name__)

LOCK_NAME = "ingest"
# The lock expires this long after its last refresh; a running job refreshes it every third of it.
# A killed run's lock is taken over at once by the next run on the same host (its pid is gone);
# a run on another host cannot check that pid, so there a killed run blocks the next for at most this.
LOCK_TTL_SECONDS = 15 * 60
# How often a run started with --wait asks for the lock again.
WAIT_POLL_SECONDS = 1.0
# How many recent runs are looked at for runs left "running" by a dead holder.
DEAD_RUN_HISTORY = 1000
# The exit status of an ingest command refused because another ingest holds the lock (sysexits.h
# EX_TEMPFAIL: a temporary failure, try again later), apart from 1 (failed) and 2 (usage).
EXIT_LOCKED = 75

# Kinds of ingest that take the lock, as the messages name them ("keys": `paperkg keys restore`, which
# writes the keys an ingest reads and writes back).
_KIND_WORDS = {"list": "list", "records": "records", "arxiv": "arXiv", "weekly": "weekly",
               "keys": "keys restore"}
_KIND = re.compile(r"[a-z][a-z-]{0,29}")
_PID = re.compile(r"[1-9][0-9]{0,8}")
# The last field: kind-token, then @start (clock ticks after boot) in holders that know it.
_LAST_FIELD = re.compile(r"(?P<token>[a-z][a-z-]{0,29}-[0-9a-f]{8})(?:@(?P<start>0|[1-9][0-9]{0,19}))?")
# What a refused run is told to do (not said to a run that already waits for the lock).
_WAIT_ADVICE = ("; only one ingest writes to a store at a time: run this one again when it has finished "
                "(or pass --wait SECONDS to wait for it)")

# The holders this process made (make_owner) or took the lock as (take_lock) and has not let go of since
# (released, or found taken over): a holder naming this process's own pid that is not among them cannot
# be running here, so it is a lock left behind (a release that failed) and is taken over at once,
# instead of refused for as long as this process (a scheduler, say) lives.
_HELD: set[str] = set()
_HELD_LOCK = threading.Lock()


class IngestLocked(RuntimeError):
    """Another ingest holds the store's ingest lock."""


class IngestLockLost(StoreError):
    """Another ingest took this run's lock over (it expired while this run was paused): stop writing."""


class LockWaitStopped(RuntimeError):
    """A wait for the ingest lock was called off (its `stop` event was set): the lock was never taken."""


@functools.cache
def _pid_space() -> str:
    """Which processes a pid on this host names: the kernel boot and pid namespace, hashed.

    Two machines, or a container and its host, can share a hostname while the same pid is another
    process (or none) on each; only a holder from this very pid space can be checked with os.kill.
    """
    parts = ["", ""]  # without /proc (macOS) the hostname alone identifies the host
    with contextlib.suppress(OSError):
        parts[0] = Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip()
    with contextlib.suppress(OSError):
        parts[1] = os.readlink("/proc/self/ns/pid")  # "pid:[inode]", one per pid namespace
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:8]


@dataclass(frozen=True)
class _ProcStat:
    """What /proc/PID/stat says of a process: its state letter and its start time."""

    state: str  # R, S, D, T (stopped), t (traced), Z (zombie), X (dead), ...
    start: int  # field 22, starttime: clock ticks after boot, unmoved by wall-clock steps


def _proc_stat(pid: int) -> _ProcStat | None:
    """/proc/PID/stat's state and start time; None when it cannot be read (no /proc, no such process)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
        fields = stat.rsplit(")", 1)[1].split()  # after "(comm)", which may hold spaces and ")": field 3 on
        return _ProcStat(fields[0], int(fields[22 - 3]))
    except (OSError, IndexError, ValueError):
        return None


def make_owner(kind: str) -> str:
    """A lock holder for this process: host:pid:pid-space:kind-token@start, without @start where /proc
    cannot say it (see holder_state); this process counts as holding it until ingest_lock lets it go."""
    if not _KIND.fullmatch(kind):
        kind = "other"  # a caller's own source name that does not fit the holder format
    pid = os.getpid()
    stat = _proc_stat(pid)
    start = "" if stat is None else f"@{stat.start}"
    owner = f"{socket.gethostname()}:{pid}:{_pid_space()}:{kind}-{uuid.uuid4().hex[:8]}{start}"
    _hold(owner)
    return owner


def _hold(owner: str) -> None:
    """Count `owner` as one this process holds (or is about to take the lock as)."""
    with _HELD_LOCK:
        _HELD.add(owner)


def _let_go(owner: str) -> None:
    """Count `owner` no more as one this process holds: a lock still naming it was left behind."""
    with _HELD_LOCK:
        _HELD.discard(owner)


def _pid_exists(pid: int) -> bool:
    """Whether a process with this pid exists on this host (True when it cannot be checked)."""
    if os.name != "posix":
        return True  # os.kill(pid, 0) would terminate the process on Windows
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        pass
    return True


@dataclass(frozen=True)
class Holder:
    """What this host can tell about a lock holder: "dead", "alive" (both: this pid space) or "foreign"."""

    state: str
    pid: int | None = None
    host: str | None = None  # None: the holder string is not one of ours
    kind: str | None = None  # "weekly", "list", ...; None for a holder that does not say
    stopped: bool = False  # alive but stopped (state T or t: SIGSTOP, Ctrl-Z, a debugger)
    started: bool = False  # the holder carries its start time, so a live pid is surely the holder
    why: str = ""  # for a dead one: how it was found dead

    def ingest(self) -> str:
        """How messages name the holder's ingest: "weekly ingest", "records ingest", or "ingest"."""
        if self.kind is None:
            return "ingest"
        return f"{_KIND_WORDS.get(self.kind, self.kind)} ingest"


def holder_state(holder: str) -> Holder:
    """Read a holder written by make_owner() (host:pid:pid-space:kind-token@start, or an older paperkg's
    host:pid:pid-space:kind-token); only one from this host's pid space can be found dead (see the
    module docstring for when)."""
    # rsplit: everything before the pid is the hostname. ASCII digits, no leading zero, at most 9
    # digits: no pid 0 or negative (process groups), no "０１２" that isdigit() accepts, no number
    # os.kill cannot take.
    parts = holder.rsplit(":", 3)
    last = _LAST_FIELD.fullmatch(parts[-1])
    kind = last.group("token").rsplit("-", 1)[0] if last else None
    start = int(last.group("start")) if last and last.group("start") else None
    if len(parts) != 4 or not _PID.fullmatch(parts[1]):
        return Holder("foreign", kind=kind)
    host, pid_text, space = parts[0], parts[1], parts[2]
    pid = int(pid_text)
    if host != socket.gethostname() or space != _pid_space():
        return Holder("foreign", pid, host, kind)
    if pid == os.getpid():  # this very process: running, but the holder is only alive if it holds it
        with _HELD_LOCK:
            held = holder in _HELD
        if held:
            return Holder("alive", pid, host, kind, started=True)  # this process holds it: surely running
        return Holder("dead", pid, host, kind, why=(
            f"pid {pid} is this very process, which does not hold it: a lock left behind (its release "
            "failed?)"))
    if not _pid_exists(pid):
        return Holder("dead", pid, host, kind, why=f"its pid {pid} is gone")
    stat = _proc_stat(pid)
    # A killed process nobody has reaped yet (a zombie) still answers signal 0, but it runs no more.
    if stat is not None and stat.state in ("Z", "X"):
        return Holder("dead", pid, host, kind, why=f"its pid {pid} is gone")
    if start is not None and stat is not None and stat.start != start:
        return Holder("dead", pid, host, kind, why=f"its pid {pid} now names another process (reused)")
    return Holder("alive", pid, host, kind, stopped=stat is not None and stat.state in ("T", "t"),
                  started=start is not None)


def refusal(exc: LockHeld, waiting: bool = False) -> IngestLocked:
    """The refusal for a lock this run may not take: whose ingest it is, host:pid, expiry, what to do
    (`waiting`: for a run that already waits for it, as the scheduler's do, without the advice to)."""
    holder = holder_state(exc.owner)
    what = holder.ingest()
    if holder.state == "alive":
        return IngestLocked(f"another {what} is running: pid {holder.pid} on this host is alive ({exc})"
                            + ("" if waiting else _WAIT_ADVICE))
    if holder.state == "dead":  # a racing run was first to take the lock over and died since
        return IngestLocked(f"another {what} holds the lock and {holder.why} ({exc}); try again")
    if holder.host is None:
        where = "a holder this host cannot check"
    elif holder.host == socket.gethostname():  # same name, other boot or pid namespace
        where = f"host {holder.host!r} before a reboot, or a container sharing this hostname"
    else:
        where = f"host {holder.host!r}"
    return IngestLocked(f"another {what} holds the lock ({exc}). It belongs to {where}: if that run "
                        "died, the lock is stale and frees itself when it expires; try again then")


def running_refusal(current: str, expires: float, holder: Holder, waiting: bool = False) -> IngestLocked:
    """The refusal for a lock whose holder runs on this host (alive, not stopped), whether or not the lock
    looks expired (`expires`, epoch seconds by this machine's clock)."""
    now = time.time()
    held = lock_held_message(LOCK_NAME, current, expires, now)
    expired = ", so its lock is not taken over even though it looks expired (clock step?)" if expires <= now \
        else ""
    return IngestLocked(f"another {holder.ingest()} is running: pid {holder.pid} on this host is alive and "
                        f"not stopped ({held}){expired}{'' if waiting else _WAIT_ADVICE}")


def take_lock(store: GraphStore, owner: str, ttl: int = LOCK_TTL_SECONDS, waiting: bool = False) -> None:
    """Take the ingest lock, or take it over from a dead run of this host, or raise IngestLocked
    (see refusal for `waiting`).

    The holder is read first and decided about: one of this host that is alive and not stopped is
    refused, expired or not (acquire_lock takes an expired lock over, and a clock stepped forward makes a
    live holder's lock look expired: its keeper would then fail, its lock lost); a dead one is replaced
    at once; any other (stopped, or of a host this one cannot check) only once its lock has expired. The
    lock is then taken with expected= that holder (None: it was free), a compare-and-set: a holder that
    took it meanwhile, even one whose lock a clock step makes look expired, is refused, never replaced
    unseen; of two runs replacing the same dead holder exactly one wins."""
    seen_lock = store.lock_holder(LOCK_NAME)
    current = None if seen_lock is None else seen_lock[0]
    dead: Holder | None = None
    if seen_lock is not None and current != owner:
        seen = holder_state(seen_lock[0])
        # Only a holder with its start time is surely running: an older paperkg's holder whose pid is
        # alive may be a reused pid, so its expired lock is taken over as before (upgrade QA).
        if seen.state == "alive" and not seen.stopped and (seen.started or seen_lock[1] > time.time()):
            raise running_refusal(seen_lock[0], seen_lock[1], seen, waiting)
        dead = seen if seen.state == "dead" else None
    _hold(owner)  # before the lock is ours: a run of this process reading it meanwhile finds it alive
    try:
        store.acquire_lock(LOCK_NAME, owner, ttl_seconds=ttl, expected=current,
                           replacing=current if dead is not None else None)
    except LockHeld as exc:  # an unexpired lock not known dead, or one another run took meanwhile
        _let_go(owner)
        raise refusal(exc, waiting) from exc
    except BaseException:
        _let_go(owner)
        raise
    if dead is not None:
        log.warning("took over the lock of a dead %s run (pid %d, holder %r: %s)",
                    dead.ingest().removesuffix(" ingest"), dead.pid, current, dead.why)


def take_lock_waiting(store: GraphStore, owner: str, ttl: int = LOCK_TTL_SECONDS, wait: float = 0.0,
                      stop: threading.Event | None = None) -> None:
    """take_lock, asking again every WAIT_POLL_SECONDS for up to `wait` seconds while another run holds it.

    Setting `stop` ends the wait at once with LockWaitStopped (the lock is not taken)."""
    deadline = time.monotonic() + max(0.0, wait)
    announced = False
    while True:
        try:
            take_lock(store, owner, ttl, waiting=wait > 0)
            return
        except IngestLocked as exc:
            left = deadline - time.monotonic()
            if left <= 0:
                if wait > 0:
                    raise IngestLocked(f"waited {wait:g} s for the store lock: {exc}") from exc
                raise
            if not announced:  # once: the holder is the same until it changes
                log.warning("waiting up to %g s for the store lock: %s", wait, exc)
                announced = True
            refused = exc
        if stop is None:
            time.sleep(min(WAIT_POLL_SECONDS, left))
        # An event, not a sleep: a scheduler told to stop (SIGTERM) must not sit out a 30-minute wait
        # for a lock, only to be killed by systemd or docker meanwhile.
        elif stop.wait(min(WAIT_POLL_SECONDS, left)):
            raise LockWaitStopped(f"stopped while waiting for the store lock: {refused}")


def lost_message(taken_by: str | None, ttl: int) -> str:
    """IngestLockLost's message: who took the lock over (None: someone who has released it since), why
    that could happen, and what to do."""
    lifetime = f"{ttl // 60}-minute" if ttl and ttl % 60 == 0 else f"{ttl}-second"
    who = f"another {holder_state(taken_by).ingest()} ({taken_by!r})" if taken_by else "another ingest"
    return (f"the store lock was taken over by {who} while this run was paused (over the {lifetime} lock "
            "lifetime): stopped before writing more; run again")


class _LockKeeper:
    """Refreshes the store lock in a daemon thread while a run is in progress, until another owner
    is found holding it (`lost`): then never again, so a lock the new holder released later is not
    silently taken back by a run that did not hold it meanwhile."""

    def __init__(self, store: GraphStore, owner: str, ttl: int) -> None:
        self.store, self.owner, self.ttl = store, owner, ttl
        self.lost = threading.Event()
        self.taken_by: str | None = None  # who held the lock when it was found lost, if anybody
        self._refreshing = threading.Lock()  # the thread and HeldLock.check refresh one at a time
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="ingest-lock", daemon=True)

    def start(self) -> None:
        """Start refreshing."""
        self._thread.start()

    def stop(self) -> None:
        """Stop refreshing (waits for the thread, if it was started)."""
        self._done.set()
        if self._thread.ident is not None:
            self._thread.join(timeout=10)

    def refresh(self) -> None:
        """Push the lock's expiry forward, or raise IngestLockLost once another owner holds it."""
        with self._refreshing:
            if not self.lost.is_set():
                # Only while the lock is still this run's, expired or not: one another ingest took over,
                # and perhaps released since, is never silently taken back.
                if self.store.refresh_lock(LOCK_NAME, self.owner, self.ttl):
                    return
                # Lost before asking who has it: a store error in that lookup must not leave the run
                # writing on as if this were only store trouble.
                self.lost.set()
                _let_go(self.owner)
                self.taken_by = self._holder()
                # DEBUG only: the raised IngestLockLost is what the user sees (once, from the CLI).
                log.debug("%s", lost_message(self.taken_by, self.ttl))
        raise IngestLockLost(lost_message(self.taken_by, self.ttl))

    def _holder(self) -> str | None:
        """Who holds the lock now (None when nobody does or the store cannot say), for the message."""
        # Only read: taking the lock to find its holder would drop an expired holder's lock (another
        # paused run's) and make that run stop too.
        try:
            return self.store.lock_owner(LOCK_NAME)
        except Exception as exc:  # only the message's "who" is lost
            log.debug("could not read the ingest lock's holder: %s", exc)
            return None

    def _loop(self) -> None:
        while not self._done.wait(max(self.ttl / 3, 0.05)):
            try:
                self.refresh()
            except IngestLockLost:  # the run raises it at its next HeldLock.check: just stop refreshing
                return
            except Exception as exc:  # keep running; the lock just expires earlier
                log.warning("could not refresh the ingest lock: %s", exc)


@dataclass(frozen=True)
class HeldLock:
    """Proof that the caller holds the ingest lock (passed down so nested steps do not take it again)."""

    owner: str
    kind: str
    keeper: _LockKeeper | None = field(default=None, repr=False, compare=False)

    def check(self) -> None:
        """Call before each write: refreshes the lock (a run paused past its lifetime whose lock nobody
        took goes on), or raises IngestLockLost when another ingest has taken it over."""
        if self.keeper is None:
            return
        try:
            self.keeper.refresh()
        except IngestLockLost:
            raise
        except Exception as exc:  # store trouble, not another holder: the write that follows meets it too
            log.warning("could not refresh the ingest lock: %s", exc)


def unrecorded_reason(error: BaseException, outcome: BaseException | None) -> str:
    """Why a run's closing write (its failed status, the lock's release) failed, for a one-line warning:
    "the same error as the run" when that is what ended the run (a full disk, told once by the
    command's own error line), else the error's message."""
    text = str(error) or type(error).__name__
    return "the same error as the run" if outcome is not None and text in str(outcome) else text


def warn_unrecorded(logger: logging.Logger, what: str, error: BaseException, outcome: BaseException | None,
                    then: str) -> None:
    """Log that `what` could not be written (`error`) while a run ends (`outcome`: how it ended) and
    what happens `then`, in one WARNING line; the traceback only at DEBUG (-v)."""
    # Not log.exception: on a full disk every closing write fails alike, and their tracebacks came to
    # some 130 lines before the command's one error line (QA).
    logger.warning("%s: %s; %s", what, unrecorded_reason(error, outcome), then,
                   exc_info=error if logger.isEnabledFor(logging.DEBUG) else None)


def mark_dead_runs(store: GraphStore, owner: str) -> list[str]:
    """Record as failed every run still "running": with the lock held no other ingest runs, so each was
    killed (or crashed) before it could record its end, or failed to record it (a full disk). Returns
    their ids."""
    dead = [run for run in store.runs(limit=DEAD_RUN_HISTORY) if run.status == "running"]
    host_pid = ":".join(owner.split(":")[:2])
    for run in dead:
        try:
            store.finish_run(run.id, "failed", run.counts or {}, message=(
                "did not finish: its process ended (killed or crashed) while it was running, or could not "
                f"record its end (a full disk, say); found by the next ingest ({host_pid}) when it took the "
                "store lock"))
        except Exception:  # a stale record must not stop the new run
            log.exception("could not record run %s as ended", run.id)
    if dead:
        log.warning("recorded %d run(s) left running by a process that ended as failed: %s", len(dead),
                    ", ".join(r.id for r in dead))
    return [r.id for r in dead]


@contextlib.contextmanager
def ingest_lock(store: GraphStore, kind: str, *, owner: str | None = None, ttl: int = LOCK_TTL_SECONDS,
                wait: float = 0.0, stop: threading.Event | None = None) -> Iterator[HeldLock]:
    """Hold the store's ingest lock for the block (refreshed meanwhile, released on every exit).

    Raises IngestLocked when another ingest holds it (after waiting up to `wait` seconds), or
    LockWaitStopped when `stop` is set during that wait (the block never runs)."""
    owner = owner or make_owner(kind)
    try:
        take_lock_waiting(store, owner, ttl, wait, stop)
    except BaseException:
        _let_go(owner)
        raise
    keeper = _LockKeeper(store, owner, ttl)
    outcome: BaseException | None = None  # what ended the block, if it raised
    try:
        mark_dead_runs(store, owner)
        # Under the lock no other ingest writes: finish what opening the store may have left for
        # later (title keys of an older title rule), so this run matches titles by the current rule.
        store.init_schema()
        keeper.start()
        yield HeldLock(owner, kind, keeper)
    except BaseException as exc:
        outcome = exc
        raise
    finally:
        keeper.stop()
        try:
            store.release_lock(LOCK_NAME, owner)
        except Exception as exc:  # never hide the run's own outcome
            # Left behind: this process's next ingest takes it over at once (see _HELD); any other
            # process sees this pid alive and is refused until then, or until this process ends.
            warn_unrecorded(log, "could not release the ingest lock", exc, outcome,
                            "the next ingest takes it over (in another process, once this one has ended)")
        finally:
            # Let go only once released (or not): before, another thread of this process waiting for
            # the lock saw it held by an owner no one held and took it over as "left behind" (review).
            _let_go(owner)
