"""The container's health check: can the database file be opened and read, without writing?

Cheap and offline (Telegram's reachability is deliberately not part of it), and read-only, so
it never competes with the running bot for the write lock.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path


def check(path: Path, timeout: float = 5.0) -> tuple[bool, str]:
    """(healthy, one line saying why) for the database file at `path`."""
    uri = path.resolve().as_uri() + "?mode=ro"
    try:
        with closing(sqlite3.connect(uri, uri=True, timeout=timeout)) as db:
            (version,) = db.execute("PRAGMA user_version").fetchone()
            (tables,) = db.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error as error:
        return False, f"{path}: cannot be read ({error})"
    if version < 1 or tables == 0:
        return False, f"{path}: no schema (not a database of this bot)"
    return True, f"{path}: OK, schema version {version}"
