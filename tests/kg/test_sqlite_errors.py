"""kg/sqlite_errors.py: real SQLite errors on real files, told in words."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kg.embedded import EmbeddedStore
from kg.sqlite_errors import WRITE_LOST, primary_code, sqlite_store_error
from kg.store import StoreDamaged, StoreError, StoreUnavailable

REPO = Path(__file__).resolve().parents[2]


def _error_of(action: object) -> sqlite3.Error:
    with pytest.raises(sqlite3.Error) as caught:
        action()  # type: ignore[operator]
    return caught.value


def test_a_file_that_is_not_a_database_is_damaged_and_the_message_says_how_to_check(tmp_path: Path) -> None:
    path = tmp_path / "paperkg.sqlite"
    path.write_bytes(b"not a database, " * 512)
    exc = _error_of(lambda: sqlite3.connect(path).execute("SELECT * FROM sqlite_master").fetchall())
    error = sqlite_store_error(path, exc, writing=False)
    assert type(error) is StoreDamaged
    assert str(path) in str(error) and "PRAGMA integrity_check" in str(error)


def test_a_lock_held_elsewhere_is_locked_and_only_a_write_says_nothing_was_stored(tmp_path: Path) -> None:
    path = tmp_path / "paperkg.sqlite"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN IMMEDIATE")
    writer = sqlite3.connect(path, timeout=0, isolation_level=None)
    exc = _error_of(lambda: writer.execute("BEGIN IMMEDIATE"))
    assert primary_code(exc) == 5
    written, read = sqlite_store_error(path, exc, writing=True), sqlite_store_error(path, exc, writing=False)
    assert type(written) is StoreError and "is locked" in str(written)
    assert WRITE_LOST in str(written) and "batch" not in str(written)  # no batch may have begun
    assert WRITE_LOST not in str(read)
    holder.execute("ROLLBACK")


def test_a_write_through_a_read_only_connection_says_the_store_is_read_only(tmp_path: Path) -> None:
    path = tmp_path / "paperkg.sqlite"
    sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.commit()
    reader = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    exc = _error_of(lambda: reader.execute("INSERT INTO t VALUES (1)"))
    error = sqlite_store_error(path, exc, writing=True)
    assert f"{path} is read-only" in str(error) and "nothing was written" in str(error)


def test_a_file_that_cannot_be_opened_is_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "paperkg.sqlite"
    exc = _error_of(lambda: sqlite3.connect(f"file:{path}?mode=ro", uri=True))
    error = sqlite_store_error(path, exc, writing=False)
    assert type(error) is StoreUnavailable and str(path) in str(error)


def test_an_error_without_a_result_code_keeps_its_text() -> None:
    exc = sqlite3.Error("something odd")
    assert primary_code(exc) is None
    error = sqlite_store_error(Path("/x/paperkg.sqlite"), exc, writing=False)
    assert type(error) is StoreError and str(error) == "SQLite store /x/paperkg.sqlite: something odd"


def _limited(code: str, limit: int, *args: str) -> dict[str, str]:
    """Run `code` in a Python whose files may not grow past `limit` bytes (RLIMIT_FSIZE; SIGXFSZ is
    ignored by Python, so a write past it fails with EFBIG as on a full disk); its JSON answer."""
    script = "import resource\n" \
             f"resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, resource.RLIM_INFINITY))\n" \
             + textwrap.dedent(code)
    done = subprocess.run([sys.executable, "-c", script, *args], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    answer: dict[str, str] = json.loads(done.stdout)
    return answer


_OPEN_STORE = """
    import json, sys
    from kg.embedded import EmbeddedStore
    from kg.store import StoreError
    try:
        EmbeddedStore(sys.argv[1]).paper_ids()
    except StoreError as exc:
        cause = exc.__cause__
        print(json.dumps({"type": type(exc).__name__, "message": str(exc),
                          "sqlite": getattr(cause, "sqlite_errorname", None)}))
    else:
        print(json.dumps({"type": None}))
"""


def test_a_store_whose_shm_file_cannot_grow_says_so_in_one_line(tmp_path: Path) -> None:
    """QA: on a full disk the next process to open a store got `cannot open SQLite store ...: disk I/O
    error` (SQLite cannot grow the -shm file it reads the WAL store with). RLIMIT_FSIZE below the -shm
    file's 32 KiB makes SQLite fail the same way (SQLITE_IOERR_SHMSIZE), on a real store."""
    path = tmp_path / "paperkg.sqlite3"
    EmbeddedStore(path).close()  # a closed WAL store: its -shm file is gone, the next opener makes it
    assert not path.with_name(path.name + "-shm").exists()
    answer = _limited(_OPEN_STORE, 16384, str(path))
    assert answer["sqlite"] == "SQLITE_IOERR_SHMSIZE", answer
    assert answer["type"] == "StoreUnavailable"
    message = answer["message"]
    assert f"SQLite cannot grow the store's paperkg.sqlite3-shm file beside {path}" in message
    assert "the disk is full" in message and message.endswith("; free some space")
    assert "\n" not in message


_INIT = """
    import json, sys
    from click.testing import CliRunner
    from kg.cli import main
    result = CliRunner().invoke(main, ["init"], env={"PAPERKG_DATA_DIR": sys.argv[1],
                                                     "PAPERKG_STORE": "embedded"})
    print(json.dumps({"exit": result.exit_code, "output": result.output}))
"""


def test_init_on_a_full_disk_does_not_speak_of_a_batch(tmp_path: Path) -> None:
    """QA: `paperkg init` on a full disk said "nothing of this batch was stored", where no batch exists.
    64 KiB: room for the -shm file, not for the schema."""
    answer = _limited(_INIT, 65536, str(tmp_path / "data"))
    assert answer["exit"] == 1, answer
    line = answer["output"]
    assert line.startswith("Error: ") and line.count("\n") == 1, line
    assert str(tmp_path / "data" / "paperkg.sqlite3") in line and WRITE_LOST in line
    assert "batch" not in line


def _real_io_error() -> sqlite3.Error:
    """A real SQLITE_IOERR: SQLite reading /proc/self/mem, whose reads at offset 0 fail with EIO."""
    exc = _error_of(lambda: sqlite3.connect("file:/proc/self/mem?mode=ro", uri=True)
                    .execute("SELECT * FROM sqlite_master").fetchall())
    assert primary_code(exc) == 10, exc
    return exc


def _statvfs_with(real: os.statvfs_result, *, free: int, flag: int | None = None) -> os.statvfs_result:
    """A real statvfs answer with `free` blocks left (for everyone and for this user)."""
    fields = list(real)
    fields[3] = fields[4] = free  # f_bfree, f_bavail
    if flag is not None:
        fields[8] = flag  # f_flag
    return os.statvfs_result(fields)


def test_an_io_error_on_a_full_disk_says_the_disk_is_full(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    """An SQLite I/O error while the store's filesystem has no space left is told as a full disk. The
    error is real; no test may fill a real disk (CI has no root to mount a small one), so statvfs is the
    real one of tmp_path with no block left."""
    path = tmp_path / "paperkg.sqlite3"
    exc = _real_io_error()
    # The real (not full) disk: the I/O error is told as before.
    assert "failing disk" in str(sqlite_store_error(path, exc, writing=False))
    real = os.statvfs(tmp_path)
    assert real.f_bavail > 0 and real.f_blocks > 0
    monkeypatch.setattr(os, "statvfs", lambda d: _statvfs_with(real, free=0))
    read = sqlite_store_error(path, exc, writing=False)
    assert type(read) is StoreUnavailable
    assert str(read).startswith(f"the disk holding {path} is full: SQLite cannot open or read the store")
    written = sqlite_store_error(path, exc, writing=True)
    assert str(written).startswith(f"the disk holding {path} is full: a write to it failed: {WRITE_LOST}")
    # A read-only filesystem (squashfs) reports no space left too, but nothing filled it up.
    monkeypatch.setattr(os, "statvfs", lambda d: _statvfs_with(real, free=0, flag=os.ST_RDONLY))
    assert "is full" not in str(sqlite_store_error(path, exc, writing=False))
