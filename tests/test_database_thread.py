"""Issue 15: the store's own database thread, and the hot path that skips it when it is idle.

`Database.run_here` may use the connection in the event loop's thread only while the database
thread has nothing in hand, and the WAL is still checkpointed although SQLite's automatic
checkpoint is off (checkpoints run in the database thread, never in the event loop's).
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest

from bot.app.records import UserRef, utc_now
from bot.store import storage as storage_module
from bot.store.database import Database
from bot.store.storage import BUSY_TIMEOUT_MS, CHECKPOINT_EVERY, Storage


async def test_the_connection_is_used_here_only_while_the_thread_is_idle(tmp_path: Path) -> None:
    storage = await Storage.open(tmp_path / "db.sqlite3")
    database = storage._db
    release = threading.Event()
    try:
        busy = asyncio.ensure_future(database.run(lambda connection: release.wait(5)))
        await asyncio.sleep(0.05)  # the thread holds the work now
        assert database.run_here(lambda connection: 1) == (False, None)
        release.set()
        assert await busy is True
        ran, value = database.run_here(
            lambda connection: connection.execute("SELECT count(*) FROM users").fetchone()[0]
        )
        assert (ran, value) == (True, 0)
    finally:
        release.set()
        await storage.close()


def busy_timeout(connection: sqlite3.Connection) -> int:
    return int(connection.execute("PRAGMA busy_timeout").fetchone()[0])


async def test_only_the_database_thread_waits_for_another_processs_lock(tmp_path: Path) -> None:
    """The event loop's thread never waits (timeout 0), the thread's work always does, in
    whatever order the two take turns."""
    storage = await Storage.open(tmp_path / "db.sqlite3")
    database = storage._db
    try:
        seen = []
        for _ in range(2):
            seen.append(await database.run(busy_timeout))
            seen.append(database.run_here(busy_timeout)[1])
            seen.append(database.run_here(busy_timeout)[1])
        assert seen == [BUSY_TIMEOUT_MS, 0, 0] * 2
        await database.set_busy_timeout(800)
        assert (database.run_here(busy_timeout)[1], await database.run(busy_timeout)) == (0, 800)
    finally:
        await storage.close()
    bare = await Database.connect(tmp_path / "bare.sqlite3")  # no wait until it is set
    try:
        assert (await bare.run(busy_timeout), bare.run_here(busy_timeout)[1]) == (0, 0)
    finally:
        await bare.close()


async def wal_after_commits(path: Path, commits: int) -> int:
    storage = await Storage.open(path)
    try:
        for number in range(commits):
            await storage.touch_user(UserRef(number, number, None, "W"), utc_now())
            await asyncio.sleep(0)  # let a checkpoint handed to the thread run between writes
        return Path(f"{path}-wal").stat().st_size
    finally:
        await storage.close()


async def test_the_wal_is_checkpointed_without_sqlites_automatic_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    commits = 4 * CHECKPOINT_EVERY
    checkpointed = await wal_after_commits(tmp_path / "checkpointed.sqlite3", commits)
    monkeypatch.setattr(storage_module, "CHECKPOINT_EVERY", 10 * commits)
    never = await wal_after_commits(tmp_path / "never.sqlite3", commits)
    assert checkpointed < never / 2, (checkpointed, never)
