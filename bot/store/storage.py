"""The database: one SQLite file in WAL mode, its schema and migrations, one writer at a time.

The queries live with their aggregate in the repository modules beside this one (people,
sessions, groups, reminders, reports, questionnaire versions); `Storage` combines them over the
one connection.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import TypeVar, cast

from bot.app.ports import StoreBusy
from bot.store.base import one_row
from bot.store.database import Database, is_busy
from bot.store.groups import GroupRepository
from bot.store.people import PeopleRepository
from bot.store.personal import PersonalRepository
from bot.store.releases import ReleaseRepository
from bot.store.reminders import ReminderRepository
from bot.store.reports import ReportRepository
from bot.store.sessions import SessionCache, SessionRepository
from bot.store.startup_checks import (
    check_database,
    check_writable,
    database_problem,
    open_checked,
)
from bot.store.versions import VersionRepository

T = TypeVar("T")

# How long a write waits for a lock another process holds (a backup, an admin command's own
# connection) before the person is asked to try again.
BUSY_TIMEOUT_MS = 5000

log = logging.getLogger(__name__)

MIGRATIONS: tuple[str, ...] = (
    # 1: people, questionnaire versions, sessions with their position, answers
    """
    CREATE TABLE users (
        user_id INTEGER PRIMARY KEY,
        chat_id INTEGER NOT NULL,
        username TEXT,
        first_name TEXT,
        created_at TEXT NOT NULL,
        last_seen_at TEXT NOT NULL,
        blocked_at TEXT
    );
    CREATE INDEX users_username ON users (lower(username));
    CREATE TABLE questionnaire_versions (
        content_hash TEXT PRIMARY KEY,
        questionnaire_id TEXT NOT NULL,
        version TEXT NOT NULL,
        source TEXT NOT NULL,
        loaded_at TEXT NOT NULL
    );
    CREATE TABLE sessions (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users (user_id),
        content_hash TEXT NOT NULL REFERENCES questionnaire_versions (content_hash),
        screen TEXT NOT NULL,
        field_id TEXT,
        question_id TEXT,
        review INTEGER NOT NULL DEFAULT 0,
        revision INTEGER NOT NULL DEFAULT 0,
        message_id INTEGER,
        started_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        completed_at TEXT,
        archived_at TEXT,
        archived_reason TEXT
    );
    CREATE UNIQUE INDEX sessions_current ON sessions (user_id) WHERE archived_at IS NULL;
    CREATE INDEX sessions_user ON sessions (user_id, id);
    CREATE TABLE answers (
        session_id INTEGER NOT NULL REFERENCES sessions (id),
        question_id TEXT NOT NULL,
        option_id TEXT,
        answered_at TEXT NOT NULL,
        PRIMARY KEY (session_id, question_id)
    ) WITHOUT ROWID;
    """,
    # 2: municipalities' groups, their coordinators and rounds; sessions belong to a group
    """
    CREATE TABLE groups (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        join_token TEXT NOT NULL UNIQUE,
        coordinator_token TEXT NOT NULL UNIQUE,
        created_by INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        closed_at TEXT,
        current_round INTEGER NOT NULL DEFAULT 1
    );
    CREATE TABLE group_coordinators (
        group_id INTEGER NOT NULL REFERENCES groups (id),
        user_id INTEGER NOT NULL,
        added_at TEXT NOT NULL,
        PRIMARY KEY (group_id, user_id)
    ) WITHOUT ROWID;
    CREATE INDEX group_coordinators_user ON group_coordinators (user_id);
    CREATE TABLE coordinator_grants (
        user_id INTEGER PRIMARY KEY,
        granted_by INTEGER NOT NULL,
        granted_at TEXT NOT NULL
    );
    CREATE TABLE pending_joins (
        user_id INTEGER PRIMARY KEY,
        group_id INTEGER NOT NULL REFERENCES groups (id),
        consented INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL
    );
    ALTER TABLE sessions ADD COLUMN group_id INTEGER REFERENCES groups (id);
    ALTER TABLE sessions ADD COLUMN group_round INTEGER;
    ALTER TABLE sessions ADD COLUMN perspective TEXT;
    CREATE INDEX sessions_group ON sessions (group_id, group_round, completed_at);
    """,
    # 3: support work: an audit log of admin actions; per-database facts like the export salt
    """
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    INSERT INTO meta (key, value) VALUES ('export_salt', lower(hex(randomblob(32))));
    CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        who TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT,
        details TEXT
    );
    CREATE INDEX audit_log_at ON audit_log (at);
    """,
    # 4: reminders about unfinished checks: per-session count and time, per-person opt-out
    """
    CREATE TABLE session_reminders (
        session_id INTEGER PRIMARY KEY REFERENCES sessions (id),
        sent_count INTEGER NOT NULL,
        last_sent_at TEXT NOT NULL
    );
    CREATE TABLE reminder_optouts (
        user_id INTEGER PRIMARY KEY,
        opted_out_at TEXT NOT NULL
    );
    CREATE INDEX sessions_open_by_activity ON sessions (updated_at)
        WHERE archived_at IS NULL AND completed_at IS NULL;
    """,
    # 5: blocked-chat bookkeeping looks people up by chat id
    """
    CREATE INDEX users_chat ON users (chat_id);
    """,
    # 6: a walk through a field's answered questions ("Antworten ansehen/ändern") is a position
    """
    ALTER TABLE sessions ADD COLUMN walk INTEGER NOT NULL DEFAULT 0;
    """,
    # 7: the municipality type a session answers for and a group's type (NULL: not chosen yet)
    """
    ALTER TABLE sessions ADD COLUMN municipality_type TEXT;
    ALTER TABLE groups ADD COLUMN municipality_type TEXT;
    """,
    # 8: the releases of group reports per round, as published (JSON of flows.disclosure.Release);
    #    the notices before retention deletes an inactive person
    """
    CREATE TABLE group_releases (
        group_id INTEGER NOT NULL REFERENCES groups (id),
        round INTEGER NOT NULL,
        number INTEGER NOT NULL,
        body TEXT NOT NULL,
        stored_at TEXT NOT NULL,
        PRIMARY KEY (group_id, round, number)
    ) WITHOUT ROWID;
    CREATE TABLE retention_notices (
        user_id INTEGER PRIMARY KEY,
        noticed_at TEXT NOT NULL
    );
    """,
    # 9: workshop links: raising a group's generation revokes every older link (/workshop neu)
    """
    ALTER TABLE groups ADD COLUMN link_generation INTEGER NOT NULL DEFAULT 0;
    """,
)


class Storage(
    PeopleRepository,
    VersionRepository,
    SessionRepository,
    GroupRepository,
    ReportRepository,
    ReminderRepository,
    ReleaseRepository,
    PersonalRepository,
):
    """The database: owns the connection, the one writer and the migrations.

    It is every repository at once (one per aggregate, each in its own module), so the
    composition root hands each use case the one object as the ports it needs.
    """

    def __init__(self, connection: Database) -> None:
        self._db = connection
        self._write_lock = asyncio.Lock()
        self._sessions = SessionCache()
        self._commits = 0
        self._checkpoint: asyncio.Future[None] | None = None

    @classmethod
    async def open(cls, path: Path | str) -> Storage:
        """Open (creating folders and file as needed) and migrate to the newest schema."""
        try:
            if str(path) != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
                check_writable(Path(path))
            connection = await Database.connect(path)
        except (sqlite3.Error, OSError) as error:
            raise database_problem(path, error) from error

        async def prepare() -> Storage:
            await connection.set_busy_timeout(BUSY_TIMEOUT_MS)
            await check_database(connection, path, len(MIGRATIONS))
            await connection.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode survives a killed process; only a power cut may lose the last
            # commit.
            await connection.execute("PRAGMA synchronous=NORMAL")
            await connection.execute("PRAGMA foreign_keys=ON")
            # Checkpoints run in the database thread (`Storage._committed`), never in a write
            # the event loop's thread makes itself (`Database.run_here`).
            await connection.execute("PRAGMA wal_autocheckpoint=0")
            storage = cls(connection)
            await storage._migrate()
            return storage

        return await open_checked(path, connection, prepare)

    async def backup(self, target: Path) -> int:
        """A consistent copy into `target` with SQLite's online backup API; returns its pages.

        Safe while the bot runs: the copy is one snapshot of committed transactions, made in
        steps so writers are never blocked for long. Restore: stop the bot, put the copy in
        place of the database file (and remove its -wal and -shm files), start again.
        """
        target.parent.mkdir(parents=True, exist_ok=True)
        return await self._db.backup(target, pages=256)

    async def close(self) -> None:
        async with self._write_lock:
            if self._checkpoint is not None:
                await asyncio.wait([self._checkpoint])
            await self._db.close()

    def _committed(self) -> None:
        """Count a commit; every `CHECKPOINT_EVERY`, move the WAL into the database file.

        What SQLite's automatic checkpoint would do (it is off, see `open`), in the database
        thread. PASSIVE never waits for readers; what it cannot copy yet, the next one does.
        """
        self._commits += 1
        running = self._checkpoint is not None and not self._checkpoint.done()
        if self._commits % CHECKPOINT_EVERY == 0 and not running:
            self._checkpoint = asyncio.ensure_future(self._db.run(_checkpoint))
            self._checkpoint.add_done_callback(_checkpoint_done)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Database]:
        """One write transaction at a time on the shared connection, statement by statement.

        A database another process keeps locked longer than busy_timeout raises `StoreBusy`
        (nothing was written), so no caller has to know sqlite3's errors. For the hot path,
        `write` does the same in one hand-off to the database thread.

        The session cache is forgotten before and after: this may change anyone's session.
        """
        self._sessions.forget_all()
        try:
            async with self._write_lock:
                await self._db.run(_begin)
                try:
                    yield self._db
                    await self._db.run(_commit)
                except BaseException:
                    await self._db.run(_rollback)
                    raise
                self._committed()
        finally:
            self._sessions.forget_all()

    async def write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """`work(connection)` as one write transaction, in one hand-off to the database thread.

        The same transaction as `transaction()` (BEGIN IMMEDIATE, COMMIT, ROLLBACK if `work`
        raises, `StoreBusy` if the lock cannot be had), and committed before this returns.
        Like `transaction`, it makes the session cache forget everything.
        """
        self._sessions.forget_all()
        try:
            return await self.write_keeping_cache(work)
        finally:
            self._sessions.forget_all()

    async def write_keeping_cache(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """`write` that leaves the session cache as it is: for writes that keep it up to date
        themselves (`save_state`, `set_message_id`) or touch no session (`touch_user`).

        The hot path's writes: made in the event loop's own thread when the database thread
        is idle (no hand-off at all), else handed over; committed before this returns.
        """
        async with self._write_lock:
            ran, here = self._db.run_here(partial(_in_transaction, work))
            result = cast(T, here) if ran else await self._db.run(partial(_in_transaction, work))
            self._committed()
            return result

    async def _migrate(self) -> None:
        async with self._db.execute("PRAGMA user_version") as cursor:
            (current,) = one_row(await cursor.fetchone())
        for number, script in enumerate(MIGRATIONS, start=1):
            if number <= current:
                continue
            # One transaction per migration, as one piece of work: a new database's 70
            # statements one hand-off each were a tenth of the bot's start-up (issue 15).
            await self.write(partial(_migration, number, script))


CHECKPOINT_EVERY = 200  # commits: a few hundred WAL pages, as SQLite's own default of 1000


def _checkpoint(connection: sqlite3.Connection) -> None:
    connection.execute("PRAGMA wal_checkpoint(PASSIVE)")


def _checkpoint_done(future: asyncio.Future[None]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.warning("WAL checkpoint failed: %s", future.exception())


def _begin(connection: sqlite3.Connection) -> None:
    try:
        connection.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as error:
        if is_busy(error):
            raise StoreBusy(str(error)) from error
        raise


def _commit(connection: sqlite3.Connection) -> None:
    connection.execute("COMMIT")


def _rollback(connection: sqlite3.Connection) -> None:
    if connection.in_transaction:  # a failed COMMIT may already have ended it
        connection.execute("ROLLBACK")


def _in_transaction(work: Callable[[sqlite3.Connection], T], connection: sqlite3.Connection) -> T:
    """In the database thread: BEGIN IMMEDIATE, `work`, COMMIT; ROLLBACK if anything raises."""
    _begin(connection)
    try:
        result = work(connection)
        _commit(connection)
    except BaseException:
        _rollback(connection)
        raise
    return result


def _migration(number: int, script: str, connection: sqlite3.Connection) -> None:
    """Migration `number`'s statements and the schema version it brings, inside `write`'s
    transaction: all of it or, if a statement fails, nothing."""
    for statement in _statements(script):
        connection.execute(statement)
    connection.execute(f"PRAGMA user_version={number}")


def _statements(script: str) -> Iterable[str]:
    return (s.strip() for s in script.split(";") if s.strip())
