"""All SQL of the product: the schema, its migrations and every query.

One SQLite file in WAL mode. Each state change of a session (its answer plus its new position
and revision) is written in one transaction, guarded by the revision the change was based on,
so a repeated or concurrent press can never store an answer for the wrong question.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType

import aiosqlite

from flows.session import Position, Screen, SessionState

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
)


def utc_now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class UserRef:
    """Who the bot talks to; in private chats the chat id equals the user id."""

    user_id: int
    chat_id: int
    username: str | None = None
    first_name: str | None = None


@dataclass(frozen=True)
class SessionRecord:
    id: int
    user_id: int
    content_hash: str
    state: SessionState
    message_id: int | None
    started_at: str
    updated_at: str
    completed_at: str | None


class Storage:
    """The repository: owns the connection and every statement."""

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._db = connection
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path | str) -> Storage:
        """Open (creating folders and file as needed) and migrate to the newest schema."""
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        connection = await aiosqlite.connect(str(path), isolation_level=None)
        connection.row_factory = aiosqlite.Row
        await connection.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode survives a killed process; only a power cut may lose the last commit.
        await connection.execute("PRAGMA synchronous=NORMAL")
        await connection.execute("PRAGMA foreign_keys=ON")
        await connection.execute("PRAGMA busy_timeout=5000")
        storage = cls(connection)
        await storage._migrate()
        return storage

    async def close(self) -> None:
        async with self._write_lock:
            await self._db.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction at a time on the shared connection."""
        async with self._write_lock:
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                await self._db.execute("ROLLBACK")
                raise
            await self._db.execute("COMMIT")

    async def _migrate(self) -> None:
        async with self._db.execute("PRAGMA user_version") as cursor:
            (current,) = await cursor.fetchone()
        for number, script in enumerate(MIGRATIONS, start=1):
            if number <= current:
                continue
            async with self.transaction() as db:
                for statement in _statements(script):
                    await db.execute(statement)
                await db.execute(f"PRAGMA user_version={number}")

    async def schema_version(self) -> int:
        async with self._db.execute("PRAGMA user_version") as cursor:
            (version,) = await cursor.fetchone()
        return version

    # people -------------------------------------------------------------------------------

    async def touch_user(self, user: UserRef, now: datetime) -> None:
        async with self.transaction() as db:
            await db.execute(
                """
                INSERT INTO users (user_id, chat_id, username, first_name, created_at, last_seen_at)
                VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (user_id) DO UPDATE SET
                    chat_id = excluded.chat_id, username = excluded.username,
                    first_name = excluded.first_name, last_seen_at = excluded.last_seen_at,
                    blocked_at = NULL
                """,
                (user.user_id, user.chat_id, user.username, user.first_name, _iso(now), _iso(now)),
            )

    async def mark_blocked(self, chat_id: int, now: datetime) -> None:
        async with self.transaction() as db:
            await db.execute(
                "UPDATE users SET blocked_at = ? WHERE chat_id = ?", (_iso(now), chat_id)
            )

    async def is_blocked(self, chat_id: int) -> bool:
        async with self._db.execute(
            "SELECT blocked_at FROM users WHERE chat_id = ?", (chat_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return bool(row and row["blocked_at"])

    # questionnaire versions ---------------------------------------------------------------

    async def remember_questionnaire(
        self, content_hash: str, questionnaire_id: str, version: str, source: str, now: datetime
    ) -> None:
        """Keep the exact source so sessions can finish on the version they started with."""
        async with self.transaction() as db:
            await db.execute(
                """
                INSERT OR IGNORE INTO questionnaire_versions
                    (content_hash, questionnaire_id, version, source, loaded_at)
                VALUES (?, ?, ?, ?, ?)
                """,
                (content_hash, questionnaire_id, version, source, _iso(now)),
            )

    async def questionnaire_source(self, content_hash: str) -> str | None:
        async with self._db.execute(
            "SELECT source FROM questionnaire_versions WHERE content_hash = ?", (content_hash,)
        ) as cursor:
            row = await cursor.fetchone()
        return row["source"] if row else None

    # sessions -----------------------------------------------------------------------------

    async def current_session(self, user_id: int) -> SessionRecord | None:
        async with self._db.execute(
            "SELECT * FROM sessions WHERE user_id = ? AND archived_at IS NULL", (user_id,)
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return None
        return await self._record(row)

    async def session(self, session_id: int) -> SessionRecord | None:
        async with self._db.execute("SELECT * FROM sessions WHERE id = ?", (session_id,)) as cursor:
            row = await cursor.fetchone()
        return await self._record(row) if row else None

    async def create_session(self, user_id: int, content_hash: str, now: datetime) -> SessionRecord:
        """Start a fresh attempt; the caller archives any current one first."""
        async with self.transaction() as db:
            cursor = await db.execute(
                """
                INSERT INTO sessions (user_id, content_hash, screen, started_at, updated_at)
                VALUES (?, ?, ?, ?, ?)
                """,
                (user_id, content_hash, Screen.WELCOME.value, _iso(now), _iso(now)),
            )
            session_id = cursor.lastrowid
        record = await self.session(session_id)
        assert record is not None
        return record

    async def save_state(
        self,
        record: SessionRecord,
        state: SessionState,
        now: datetime,
        stored_answer: tuple[str, str | None] | None = None,
        completed: bool = False,
    ) -> bool:
        """Write the answer and the new position atomically; False if the row moved on meanwhile."""
        position = state.position
        async with self.transaction() as db:
            cursor = await db.execute(
                """
                UPDATE sessions SET screen = ?, field_id = ?, question_id = ?, review = ?,
                    revision = ?, updated_at = ?,
                    completed_at = CASE WHEN ? AND completed_at IS NULL THEN ? ELSE completed_at END
                WHERE id = ? AND revision = ? AND archived_at IS NULL
                """,
                (
                    position.screen.value,
                    position.field_id,
                    position.question_id,
                    int(position.review),
                    state.revision,
                    _iso(now),
                    int(completed),
                    _iso(now),
                    record.id,
                    record.state.revision,
                ),
            )
            if cursor.rowcount != 1:
                return False
            if stored_answer is not None:
                question_id, option_id = stored_answer
                await db.execute(
                    """
                    INSERT INTO answers (session_id, question_id, option_id, answered_at)
                    VALUES (?, ?, ?, ?)
                    ON CONFLICT (session_id, question_id) DO UPDATE SET
                        option_id = excluded.option_id, answered_at = excluded.answered_at
                    """,
                    (record.id, question_id, option_id, _iso(now)),
                )
        return True

    async def set_message_id(self, session_id: int, message_id: int | None) -> None:
        """Remember which message carries the live keyboard, to edit it in place later."""
        async with self.transaction() as db:
            await db.execute(
                "UPDATE sessions SET message_id = ? WHERE id = ?", (message_id, session_id)
            )

    async def archive_current(self, user_id: int, reason: str, now: datetime) -> int | None:
        """Keep the current attempt as an earlier round; returns its id, if there was one."""
        async with self.transaction() as db:
            cursor = await db.execute(
                """
                UPDATE sessions SET archived_at = ?, archived_reason = ?
                WHERE user_id = ? AND archived_at IS NULL
                RETURNING id
                """,
                (_iso(now), reason, user_id),
            )
            row = await cursor.fetchone()
        return row["id"] if row else None

    async def sessions_of(self, user_id: int) -> list[SessionRecord]:
        async with self._db.execute(
            "SELECT * FROM sessions WHERE user_id = ? ORDER BY id", (user_id,)
        ) as cursor:
            rows = await cursor.fetchall()
        return [await self._record(row) for row in rows]

    async def _record(self, row: aiosqlite.Row) -> SessionRecord:
        async with self._db.execute(
            "SELECT question_id, option_id FROM answers WHERE session_id = ?", (row["id"],)
        ) as cursor:
            answers = {r["question_id"]: r["option_id"] for r in await cursor.fetchall()}
        position = Position(
            screen=Screen(row["screen"]),
            field_id=row["field_id"],
            question_id=row["question_id"],
            review=bool(row["review"]),
        )
        return SessionRecord(
            id=row["id"],
            user_id=row["user_id"],
            content_hash=row["content_hash"],
            state=SessionState(MappingProxyType(answers), position, row["revision"]),
            message_id=row["message_id"],
            started_at=row["started_at"],
            updated_at=row["updated_at"],
            completed_at=row["completed_at"],
        )


def _statements(script: str) -> Iterable[str]:
    return (s.strip() for s in script.split(";") if s.strip())
