"""What a test reads back from the bot's SQLite file, and the few ways tests change it on purpose.

Why one module: a test that checks what was stored reads the file the way an operator or an
export would, with a separate plain `sqlite3` connection beside the running bot, and every such
read is here. Reads run with `query_only`, so a check can never change what it checks. The
deliberate changes (ageing a person, holding the write lock) are named functions below, so a
reader sees at once which tests tamper with the file and how. Nothing else in tests/ imports
`sqlite3`; behaviour is asserted through what the bot shows, or through the repositories
(`bot.store`) where a test runs the core in-process.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

Row = sqlite3.Row


@contextmanager
def _reading(database: Path, row_factory: type | None = None) -> Iterator[sqlite3.Connection]:
    with closing(sqlite3.connect(database)) as db:
        db.execute("PRAGMA query_only = ON")
        if row_factory is not None:
            db.row_factory = row_factory
        yield db


def query(database: Path, sql: str, *args: object) -> list[tuple]:
    """The rows of one read-only query, as tuples."""
    with _reading(database) as db:
        return db.execute(sql, args).fetchall()


def rows(database: Path, sql: str, *args: object) -> list[sqlite3.Row]:
    """The rows of one read-only query, with their columns by name."""
    with _reading(database, sqlite3.Row) as db:
        return db.execute(sql, args).fetchall()


def sessions(database: Path, user_id: int) -> list[tuple]:
    """(id, group_id, group_round, perspective, completed?, archived_reason, answer count)."""
    return query(
        database,
        """
        SELECT s.id, s.group_id, s.group_round, s.perspective, s.completed_at IS NOT NULL,
               s.archived_reason, (SELECT count(*) FROM answers a WHERE a.session_id = s.id)
        FROM sessions s WHERE s.user_id = ? ORDER BY s.id
        """,
        user_id,
    )


def everything(database: Path) -> dict[str, list[tuple]]:
    """Every row of every table."""
    with _reading(database) as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {table: db.execute(f"SELECT * FROM {table}").fetchall() for table in tables}


def assert_intact(database: Path) -> None:
    """SQLite's own checks: the file is consistent and no foreign key points nowhere."""
    with _reading(database) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []


# -- changing the file on purpose ------------------------------------------------------------


def backdate(database: Path, user_id: int, days: int) -> None:
    """The person was last seen, and their sessions began and last changed, `days` ago."""
    moment = "strftime('%Y-%m-%dT%H:%M:%S+00:00', datetime('now', ?))"
    ago = f"-{days} days"
    with closing(sqlite3.connect(database)) as db, db:
        db.execute(f"UPDATE users SET last_seen_at = {moment} WHERE user_id = ?", (ago, user_id))
        db.execute(
            f"UPDATE sessions SET updated_at = {moment}, started_at = {moment} WHERE user_id = ?",
            (ago, ago, user_id),
        )


@contextmanager
def exclusive_lock(database: Path) -> Iterator[None]:
    """Another process holds the write lock (as a backup tool or a stuck writer would)."""
    lock = sqlite3.connect(database, isolation_level=None, timeout=0)
    try:
        lock.execute("BEGIN EXCLUSIVE")
        yield
    finally:
        lock.execute("ROLLBACK")
        lock.close()


def fill_audit_log(database: Path, count: int) -> None:
    """`count` long audit rows, checkpointed into the main file (a large, old database)."""
    with closing(sqlite3.connect(database)) as db:
        db.executemany(
            "INSERT INTO audit_log (at, who, action, target) VALUES (?, 'cli', 'stats', ?)",
            [("2026-12-01T10:00:00+00:00", f"person {i:06d}" * 4) for i in range(count)],
        )
        db.commit()
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def claim_schema_version(database: Path, version: int) -> None:
    """The file says it was written by a newer code version (with a table this one lacks)."""
    with closing(sqlite3.connect(database)) as db, db:
        db.execute(f"PRAGMA user_version={version}")
        db.execute("CREATE TABLE from_the_future (x)")


def schema_version(database: Path) -> int:
    with _reading(database) as db:
        return int(db.execute("PRAGMA user_version").fetchone()[0])
