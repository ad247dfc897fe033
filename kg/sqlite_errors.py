"""What an SQLite error means for a store file, in words a user can act on."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from kg.store import StoreDamaged, StoreError, StoreUnavailable

# SQLite's primary result codes (the low byte of sqlite3.Error.sqlite_errorcode).
SQLITE_BUSY, SQLITE_LOCKED, SQLITE_READONLY, SQLITE_IOERR = 5, 6, 8, 10
SQLITE_CORRUPT, SQLITE_FULL, SQLITE_CANTOPEN, SQLITE_NOTADB = 11, 13, 14, 26
# An extended result code: the IOERR SQLite raises when it cannot grow the -shm file beside a WAL store.
SQLITE_IOERR_SHMSIZE = SQLITE_IOERR | (19 << 8)
BUSY_TIMEOUT_SECONDS = 30.0
# What a failed write transaction left: it was rolled back. Not "this batch": the write may be `paperkg
# init`'s schema or an ingest taking its lock, before any batch.
WRITE_LOST = "nothing of the failed write was stored"


def primary_code(exc: sqlite3.Error) -> int | None:
    """The primary result code of an SQLite error (None when the driver gave none)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None


def disk_full(directory: Path) -> bool:
    """Whether the writable filesystem holding `directory` has no space left for this user (False when
    that cannot be told)."""
    try:
        st = os.statvfs(directory)
    except OSError:
        return False
    # f_blocks 0: a pseudo filesystem (/proc), never "full". A read-only one (squashfs) reports no space
    # left although nothing filled it: its I/O errors are not a full disk's.
    return st.f_blocks > 0 and st.f_bavail == 0 and not st.f_flag & os.ST_RDONLY


def damaged_message(path: Path, exc: BaseException) -> str:
    """What to tell someone whose store file is damaged: the file, the error and what to do."""
    return (f"the store file {path} is damaged ({exc}): restore it from a backup (stop the API, the "
            f"scheduler and any ingest first, and delete its -wal and -shm files with it), or re-ingest "
            f"into a fresh PAPERKG_DATA_DIR; `sqlite3 {path} \"PRAGMA integrity_check\"` shows the damage")


def sqlite_store_error(path: Path, exc: sqlite3.Error, *, writing: bool) -> StoreError:
    """A StoreError saying in words what an SQLite error means for the store file at `path`.

    `writing`: the error ended a write transaction, which was rolled back. An I/O error while the
    store's filesystem has no space left (os.statvfs) is told as the full disk it is."""
    code = primary_code(exc)
    text = str(exc)
    if code in (SQLITE_CORRUPT, SQLITE_NOTADB) or "malformed" in text:
        return StoreDamaged(damaged_message(path, exc))
    lost = f": {WRITE_LOST}" if writing else ""
    if code == SQLITE_IOERR and getattr(exc, "sqlite_errorcode", None) == SQLITE_IOERR_SHMSIZE:
        # A WAL store's readers and writers share the -shm file, which SQLite grows (writing to it) on
        # opening the store and as the -wal grows: with no room left the store cannot be used at all.
        shm = f"{path.name}-shm"
        if disk_full(path.parent):
            return StoreUnavailable(f"the disk holding {path} is full: SQLite cannot grow the store's {shm} "
                                    f"file{lost} ({text}); free some space")
        return StoreUnavailable(f"SQLite cannot grow the store's {shm} file beside {path}: the disk is full "
                                f"or a quota or file size limit was hit{lost} ({text}); free some space")
    if code == SQLITE_FULL:
        return StoreError(f"the disk is full (or a file size limit was hit) while writing {path}{lost} "
                          f"({text}); free some space and run the command again")
    if code == SQLITE_IOERR and disk_full(path.parent):
        if writing:
            return StoreError(f"the disk holding {path} is full: a write to it failed{lost} ({text}); free "
                              f"some space and run the command again")
        # Reading needs room too: SQLite writes the store's -wal and -shm files on opening it.
        return StoreUnavailable(f"the disk holding {path} is full: SQLite cannot open or read the store "
                                f"({text}); free some space")
    if code == SQLITE_IOERR:
        if writing:
            return StoreError(f"a disk I/O error while writing {path}: the disk is full, a file size limit "
                              f"was hit or the disk is failing{lost} ({text})")
        return StoreError(f"a disk I/O error while reading {path} ({text}): a failing disk or a damaged "
                          f"file; `sqlite3 {path} \"PRAGMA integrity_check\"` checks the file")
    if code == SQLITE_READONLY:
        nothing = ": nothing was written" if writing else ""
        return StoreError(f"{path} is read-only (the file or its directory cannot be written){nothing} "
                          f"({text})")
    if code in (SQLITE_BUSY, SQLITE_LOCKED):
        return StoreError(f"{path} is locked: another process kept a write transaction open for more than "
                          f"{BUSY_TIMEOUT_SECONDS:.0f} s{lost}; try again when it has finished ({text})")
    if code == SQLITE_CANTOPEN:
        return StoreUnavailable(f"cannot open SQLite store {path}: {text}")
    return StoreError(f"SQLite store {path}: {text}")
