"""What an SQLite error means for a store file, in words a user can act on."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from kg.store import StoreDamaged, StoreError, StoreUnavailable

# SQLite's primary result codes (the low byte of sqlite3.Error.sqlite_errorcode).
SQLITE_BUSY, SQLITE_LOCKED, SQLITE_READONLY, SQLITE_IOERR = 5, 6, 8, 10
SQLITE_CORRUPT, SQLITE_FULL, SQLITE_CANTOPEN, SQLITE_NOTADB = 11, 13, 14, 26
BUSY_TIMEOUT_SECONDS = 30.0


def primary_code(exc: sqlite3.Error) -> int | None:
    """The primary result code of an SQLite error (None when the driver gave none)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None


def damaged_message(path: Path, exc: BaseException) -> str:
    """What to tell someone whose store file is damaged: the file, the error and what to do."""
    return (f"the store file {path} is damaged ({exc}): restore it from a backup (stop the API, the "
            f"scheduler and any ingest first, and delete its -wal and -shm files with it), or re-ingest "
            f"into a fresh PAPERKG_DATA_DIR; `sqlite3 {path} \"PRAGMA integrity_check\"` shows the damage")


def sqlite_store_error(path: Path, exc: sqlite3.Error, *, writing: bool) -> StoreError:
    """A StoreError saying in words what an SQLite error means for the store file at `path`.

    `writing`: the error ended a write transaction, which was rolled back."""
    code = primary_code(exc)
    text = str(exc)
    if code in (SQLITE_CORRUPT, SQLITE_NOTADB) or "malformed" in text:
        return StoreDamaged(damaged_message(path, exc))
    lost = ": nothing of this batch was stored" if writing else ""
    if code == SQLITE_FULL:
        return StoreError(f"the disk is full (or a file size limit was hit) while writing {path}{lost} "
                          f"({text}); free some space and run the command again")
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
