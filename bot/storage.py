"""All SQL of the product: the schema, its migrations and every query.

One SQLite file in WAL mode. Each state change of a session (its answer plus its new position
and revision) is written in one transaction, guarded by the revision the change was based on,
so a repeated or concurrent press can never store an answer for the wrong question.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType

import aiosqlite

from bot.startup_checks import (
    check_database,
    check_writable,
    database_problem,
    open_checked,
)
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
    group_id: int | None = None
    group_round: int | None = None
    perspective: str | None = None


@dataclass(frozen=True)
class GroupRecord:
    id: int
    name: str
    join_token: str
    coordinator_token: str
    created_by: int
    created_at: str
    closed_at: str | None
    current_round: int

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


@dataclass(frozen=True)
class GroupCounts:
    joined: int
    started: int
    completed: int


@dataclass(frozen=True)
class CompletedCheck:
    """A completed session of a group round, for aggregation; never shown individually.

    `session_id` identifies the check in disclosure control's releases; `user_id` tells a
    coordinator's own check apart (it must not count towards their own threshold).
    """

    perspective: str | None
    content_hash: str
    answers: dict[str, str | None]
    session_id: int
    user_id: int


class Storage:
    """The repository: owns the connection and every statement."""

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._db = connection
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path | str) -> Storage:
        """Open (creating folders and file as needed) and migrate to the newest schema."""
        try:
            if str(path) != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
                check_writable(Path(path))
            connection = await aiosqlite.connect(str(path), isolation_level=None)
        except (sqlite3.Error, OSError) as error:
            raise database_problem(path, error) from error
        connection.row_factory = aiosqlite.Row

        async def prepare() -> Storage:
            await connection.execute("PRAGMA busy_timeout=5000")
            await check_database(connection, path, len(MIGRATIONS))
            await connection.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode survives a killed process; only a power cut may lose the last
            # commit.
            await connection.execute("PRAGMA synchronous=NORMAL")
            await connection.execute("PRAGMA foreign_keys=ON")
            storage = cls(connection)
            await storage._migrate()
            return storage

        return await open_checked(path, connection, prepare)

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
        """On the hot path: one indexed lookup and one primary-key range, one thread hop each."""
        rows = await self._db.execute_fetchall(
            "SELECT * FROM sessions WHERE user_id = ? AND archived_at IS NULL", (user_id,)
        )
        return await self._record(next(iter(rows))) if rows else None

    async def session(self, session_id: int) -> SessionRecord | None:
        async with self._db.execute("SELECT * FROM sessions WHERE id = ?", (session_id,)) as cursor:
            row = await cursor.fetchone()
        return await self._record(row) if row else None

    async def create_session(
        self,
        user_id: int,
        content_hash: str,
        now: datetime,
        group: tuple[int, int, str | None] | None = None,
    ) -> SessionRecord:
        """Start a fresh attempt, optionally in (group id, round, perspective).

        The caller archives any current one first.
        """
        group_id, round_number, perspective = group or (None, None, None)
        async with self.transaction() as db:
            session_id = await _insert_session(
                db, user_id, content_hash, now, group_id, round_number, perspective
            )
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

    async def _record(self, row: aiosqlite.Row) -> SessionRecord:
        rows = await self._db.execute_fetchall(
            "SELECT question_id, option_id FROM answers WHERE session_id = ?", (row["id"],)
        )
        answers = {r["question_id"]: r["option_id"] for r in rows}
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
            group_id=row["group_id"],
            group_round=row["group_round"],
            perspective=row["perspective"],
        )

    # groups -------------------------------------------------------------------------------

    async def create_group(
        self, name: str, join_token: str, coordinator_token: str, user_id: int, now: datetime
    ) -> GroupRecord:
        async with self.transaction() as db:
            cursor = await db.execute(
                """
                INSERT INTO groups (name, join_token, coordinator_token, created_by, created_at)
                VALUES (?, ?, ?, ?, ?)
                """,
                (name, join_token, coordinator_token, user_id, _iso(now)),
            )
            group_id = cursor.lastrowid
            await db.execute(
                "INSERT INTO group_coordinators (group_id, user_id, added_at) VALUES (?, ?, ?)",
                (group_id, user_id, _iso(now)),
            )
        group = await self.group(group_id)
        assert group is not None
        return group

    async def group(self, group_id: int) -> GroupRecord | None:
        async with self._db.execute("SELECT * FROM groups WHERE id = ?", (group_id,)) as cursor:
            row = await cursor.fetchone()
        return GroupRecord(**dict(row)) if row else None

    async def group_by_token(self, token: str) -> tuple[GroupRecord, str] | None:
        """The group a start token belongs to and which kind it is ("join" or "coordinator")."""
        async with self._db.execute(
            "SELECT * FROM groups WHERE join_token = ? OR coordinator_token = ?", (token, token)
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return None
        group = GroupRecord(**dict(row))
        return group, "join" if group.join_token == token else "coordinator"

    async def groups_coordinated_by(self, user_id: int) -> list[GroupRecord]:
        async with self._db.execute(
            """
            SELECT g.* FROM groups g JOIN group_coordinators c ON c.group_id = g.id
            WHERE c.user_id = ? ORDER BY g.id
            """,
            (user_id,),
        ) as cursor:
            return [GroupRecord(**dict(row)) for row in await cursor.fetchall()]

    async def is_coordinator_of(self, user_id: int, group_id: int) -> bool:
        async with self._db.execute(
            "SELECT 1 FROM group_coordinators WHERE user_id = ? AND group_id = ?",
            (user_id, group_id),
        ) as cursor:
            return await cursor.fetchone() is not None

    async def add_coordinator(self, group_id: int, user_id: int, now: datetime) -> None:
        async with self.transaction() as db:
            await db.execute(
                """
                INSERT OR IGNORE INTO group_coordinators (group_id, user_id, added_at)
                VALUES (?, ?, ?)
                """,
                (group_id, user_id, _iso(now)),
            )

    async def set_group_open(self, group_id: int, is_open: bool, now: datetime) -> None:
        async with self.transaction() as db:
            await db.execute(
                "UPDATE groups SET closed_at = ? WHERE id = ?",
                (None if is_open else _iso(now), group_id),
            )

    async def start_new_round(self, group_id: int) -> int:
        async with self.transaction() as db:
            cursor = await db.execute(
                "UPDATE groups SET current_round = current_round + 1 WHERE id = ? "
                "RETURNING current_round",
                (group_id,),
            )
            (round_number,) = await cursor.fetchone()
        return round_number

    async def group_counts(self, group_id: int, round_number: int) -> GroupCounts:
        """People who joined, started answering and completed in the given round."""
        async with self._db.execute(
            """
            SELECT count(DISTINCT s.user_id) AS joined,
                   count(DISTINCT CASE WHEN EXISTS (
                       SELECT 1 FROM answers a WHERE a.session_id = s.id) THEN s.user_id END
                   ) AS started,
                   count(DISTINCT CASE WHEN s.completed_at IS NOT NULL THEN s.user_id END)
                       AS completed
            FROM sessions s WHERE s.group_id = ? AND s.group_round = ?
            """,
            (group_id, round_number),
        ) as cursor:
            row = await cursor.fetchone()
        return GroupCounts(row["joined"], row["started"], row["completed"])

    async def completed_checks(self, group_id: int, round_number: int) -> list[CompletedCheck]:
        """The latest completed session per person in a group round."""
        async with self._db.execute(
            """
            SELECT s.id, s.user_id, s.perspective, s.content_hash FROM sessions s
            WHERE s.group_id = ? AND s.group_round = ? AND s.completed_at IS NOT NULL
              AND s.id = (SELECT max(t.id) FROM sessions t
                          WHERE t.user_id = s.user_id AND t.group_id = s.group_id
                            AND t.group_round = s.group_round AND t.completed_at IS NOT NULL)
            """,
            (group_id, round_number),
        ) as cursor:
            sessions = await cursor.fetchall()
        answers: dict[int, dict[str, str | None]] = {row["id"]: {} for row in sessions}
        if sessions:
            marks = ",".join("?" * len(sessions))
            async with self._db.execute(
                f"SELECT session_id, question_id, option_id FROM answers "
                f"WHERE session_id IN ({marks})",
                [row["id"] for row in sessions],
            ) as cursor:
                async for row in cursor:
                    answers[row["session_id"]][row["question_id"]] = row["option_id"]
        return [
            CompletedCheck(
                row["perspective"],
                row["content_hash"],
                answers[row["id"]],
                session_id=row["id"],
                user_id=row["user_id"],
            )
            for row in sessions
        ]

    async def assign_group(
        self,
        session_id: int,
        group_id: int | None,
        round_number: int | None,
        perspective: str | None,
    ) -> None:
        async with self.transaction() as db:
            await db.execute(
                "UPDATE sessions SET group_id = ?, group_round = ?, perspective = ? WHERE id = ?",
                (group_id, round_number, perspective, session_id),
            )

    async def set_pending_join(self, user_id: int, group_id: int, now: datetime) -> None:
        async with self.transaction() as db:
            await db.execute(
                """
                INSERT INTO pending_joins (user_id, group_id, consented, created_at)
                VALUES (?, ?, 0, ?)
                ON CONFLICT (user_id) DO UPDATE SET
                    group_id = excluded.group_id, consented = 0, created_at = excluded.created_at
                """,
                (user_id, group_id, _iso(now)),
            )

    async def pending_join(self, user_id: int) -> tuple[int, bool] | None:
        async with self._db.execute(
            "SELECT group_id, consented FROM pending_joins WHERE user_id = ?", (user_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return (row["group_id"], bool(row["consented"])) if row else None

    async def consent_pending_join(self, user_id: int) -> None:
        async with self.transaction() as db:
            await db.execute("UPDATE pending_joins SET consented = 1 WHERE user_id = ?", (user_id,))

    async def clear_pending_join(self, user_id: int) -> None:
        async with self.transaction() as db:
            await db.execute("DELETE FROM pending_joins WHERE user_id = ?", (user_id,))

    async def grant_coordinator(self, user_id: int, granted_by: int, now: datetime) -> None:
        async with self.transaction() as db:
            await db.execute(
                """
                INSERT OR REPLACE INTO coordinator_grants (user_id, granted_by, granted_at)
                VALUES (?, ?, ?)
                """,
                (user_id, granted_by, _iso(now)),
            )

    async def may_coordinate(self, user_id: int) -> bool:
        async with self._db.execute(
            "SELECT 1 FROM coordinator_grants WHERE user_id = ?", (user_id,)
        ) as cursor:
            return await cursor.fetchone() is not None

    # admin --------------------------------------------------------------------------------

    async def find_user(
        self, user_id: int | None = None, username: str | None = None
    ) -> dict | None:
        """A known person by id or by @username (case-insensitive, without the @)."""
        if user_id is not None:
            query, value = "SELECT * FROM users WHERE user_id = ?", user_id
        else:
            query = (
                "SELECT * FROM users WHERE lower(username) = lower(?) ORDER BY last_seen_at DESC"
            )
            value = (username or "").lstrip("@")
        async with self._db.execute(query, (value,)) as cursor:
            row = await cursor.fetchone()
        return dict(row) if row else None

    async def restart_session(
        self,
        user_id: int,
        expected_session: int | None,
        content_hash: str,
        reason: str,
        now: datetime,
        perspective: str | None = None,
    ) -> tuple[int, SessionRecord] | None:
        """Archive the current attempt and begin a new one in the same group (current round)
        and perspective, or in the given `perspective`.

        One transaction, so the person's bot can never see neither or both. None if the person
        has no current session or it is no longer `expected_session` (when given).
        """
        async with self.transaction() as db:
            cursor = await db.execute(
                "SELECT id, group_id, perspective FROM sessions "
                "WHERE user_id = ? AND archived_at IS NULL",
                (user_id,),
            )
            current = await cursor.fetchone()
            if current is None or expected_session not in (None, current["id"]):
                return None
            cursor = await db.execute(
                "SELECT current_round FROM groups WHERE id = ?", (current["group_id"],)
            )
            group = await cursor.fetchone()
            group_id, round_number, kept = (
                (current["group_id"], group["current_round"], current["perspective"])
                if group is not None
                else (None, None, None)
            )
            perspective = perspective or kept
            await db.execute(
                "UPDATE sessions SET archived_at = ?, archived_reason = ? WHERE id = ?",
                (_iso(now), reason, current["id"]),
            )
            fresh_id = await _insert_session(
                db, user_id, content_hash, now, group_id, round_number, perspective
            )
        fresh = await self.session(fresh_id)
        assert fresh is not None
        return current["id"], fresh

    async def add_audit(
        self, who: str, action: str, target: str | None, details: str | None, now: datetime
    ) -> None:
        async with self.transaction() as db:
            await db.execute(
                "INSERT INTO audit_log (at, who, action, target, details) VALUES (?, ?, ?, ?, ?)",
                (_iso(now), who, action, target, details),
            )

    async def audit_entries(self, limit: int = 100) -> list[dict]:
        async with self._db.execute(
            "SELECT * FROM audit_log ORDER BY id DESC LIMIT ?", (limit,)
        ) as cursor:
            return [dict(row) for row in await cursor.fetchall()]

    async def export_salt(self) -> str:
        """The random per-database key for pseudonyms; created once, never exported."""
        async with self.transaction() as db:
            await db.execute(
                "INSERT OR IGNORE INTO meta (key, value) "
                "VALUES ('export_salt', lower(hex(randomblob(32))))"
            )
            cursor = await db.execute("SELECT value FROM meta WHERE key = 'export_salt'")
            (salt,) = await cursor.fetchone()
        return salt

    async def usage_counts(self, since_7: datetime, since_30: datetime) -> dict[str, int]:
        """People, sessions and groups in numbers; active = seen or answering since then."""
        async with self._db.execute(
            """
            SELECT
                (SELECT count(*) FROM users) AS people,
                (SELECT count(*) FROM sessions) AS sessions,
                (SELECT count(*) FROM sessions s
                 WHERE EXISTS (SELECT 1 FROM answers a WHERE a.session_id = s.id)) AS started,
                (SELECT count(*) FROM sessions WHERE completed_at IS NOT NULL) AS completed,
                (SELECT count(*) FROM sessions WHERE archived_at IS NULL) AS current,
                (SELECT count(*) FROM groups) AS groups,
                (SELECT count(*) FROM groups WHERE closed_at IS NULL) AS open_groups,
                (SELECT count(*) FROM users u WHERE u.last_seen_at >= :d7 OR EXISTS (
                    SELECT 1 FROM sessions s WHERE s.user_id = u.user_id AND s.updated_at >= :d7
                 )) AS active_7,
                (SELECT count(*) FROM users u WHERE u.last_seen_at >= :d30 OR EXISTS (
                    SELECT 1 FROM sessions s WHERE s.user_id = u.user_id AND s.updated_at >= :d30
                 )) AS active_30
            """,
            {"d7": _iso(since_7), "d30": _iso(since_30)},
        ) as cursor:
            row = await cursor.fetchone()
        return dict(row)

    async def current_answered(self) -> list[tuple[str, set[str]]]:
        """Per current session: its questionnaire version and the questions answered or skipped."""
        sessions: dict[int, tuple[str, set[str]]] = {}
        async with self._db.execute(
            """
            SELECT s.id, s.content_hash, a.question_id FROM sessions s
            LEFT JOIN answers a ON a.session_id = s.id
            WHERE s.archived_at IS NULL
            """
        ) as cursor:
            async for row in cursor:
                _, answered = sessions.setdefault(row["id"], (row["content_hash"], set()))
                if row["question_id"] is not None:
                    answered.add(row["question_id"])
        return list(sessions.values())

    async def export_answers(self) -> list[dict]:
        """Every stored answer (or skip) with its session, group and questionnaire version."""
        async with self._db.execute(
            """
            SELECT s.user_id, s.id AS session_id, g.name AS group_name, s.group_round,
                   s.perspective, v.questionnaire_id, v.version AS questionnaire_version,
                   s.content_hash, a.question_id, a.option_id, a.answered_at,
                   s.started_at, s.completed_at, s.archived_at, s.archived_reason,
                   (SELECT count(*) FROM sessions t
                    WHERE t.user_id = s.user_id AND t.id <= s.id) AS attempt
            FROM answers a
            JOIN sessions s ON s.id = a.session_id
            JOIN questionnaire_versions v ON v.content_hash = s.content_hash
            LEFT JOIN groups g ON g.id = s.group_id
            ORDER BY s.id, a.question_id
            """
        ) as cursor:
            return [dict(row) for row in await cursor.fetchall()]

    # reminders ----------------------------------------------------------------------------

    # Current, unfinished, begun sessions idle since `due_before`, of people who neither
    # blocked the bot nor opted out, with fewer than `max_count` reminders, the last one
    # no later than `due_before`. Walks the partial index on open sessions by `updated_at`.
    _DUE_REMINDERS = """
        SELECT s.id AS session_id, s.user_id, u.chat_id,
               coalesce(r.sent_count, 0) AS sent_count
        FROM sessions s INDEXED BY sessions_open_by_activity
        JOIN users u ON u.user_id = s.user_id
        LEFT JOIN session_reminders r ON r.session_id = s.id
        WHERE s.archived_at IS NULL AND s.completed_at IS NULL AND s.updated_at <= :due_before
          AND u.blocked_at IS NULL
          AND NOT EXISTS (SELECT 1 FROM reminder_optouts o WHERE o.user_id = s.user_id)
          AND (s.screen != 'welcome' OR EXISTS (SELECT 1 FROM answers a WHERE a.session_id = s.id))
          AND coalesce(r.sent_count, 0) < :max_count
          AND (r.last_sent_at IS NULL OR r.last_sent_at <= :due_before)
    """

    async def due_reminders(
        self, due_before: datetime, max_count: int, limit: int
    ) -> list[tuple[int, int, int, int]]:
        """(session id, user id, chat id, reminders sent so far) of sessions due a reminder."""
        async with self._db.execute(
            self._DUE_REMINDERS + " ORDER BY s.updated_at LIMIT :limit",
            {"due_before": _iso(due_before), "max_count": max_count, "limit": limit},
        ) as cursor:
            rows = await cursor.fetchall()
        return [(r["session_id"], r["user_id"], r["chat_id"], r["sent_count"]) for r in rows]

    async def claim_reminder(
        self, session_id: int, sent_count: int, due_before: datetime, max_count: int, now: datetime
    ) -> bool:
        """Record one more reminder if it is still due and nobody recorded it meanwhile."""
        async with self.transaction() as db:
            cursor = await db.execute(
                self._DUE_REMINDERS + " AND s.id = :session_id",
                {"due_before": _iso(due_before), "max_count": max_count, "session_id": session_id},
            )
            row = await cursor.fetchone()
            await cursor.close()
            if row is None or row["sent_count"] != sent_count:
                return False
            await db.execute(
                """
                INSERT INTO session_reminders (session_id, sent_count, last_sent_at)
                VALUES (?, 1, ?)
                ON CONFLICT (session_id) DO UPDATE SET
                    sent_count = sent_count + 1, last_sent_at = excluded.last_sent_at
                """,
                (session_id, _iso(now)),
            )
        return True

    async def set_reminders_enabled(self, user_id: int, enabled: bool, now: datetime) -> None:
        async with self.transaction() as db:
            if enabled:
                await db.execute("DELETE FROM reminder_optouts WHERE user_id = ?", (user_id,))
            else:
                await db.execute(
                    "INSERT OR IGNORE INTO reminder_optouts (user_id, opted_out_at) VALUES (?, ?)",
                    (user_id, _iso(now)),
                )

    async def reminders_enabled(self, user_id: int) -> bool:
        async with self._db.execute(
            "SELECT 1 FROM reminder_optouts WHERE user_id = ?", (user_id,)
        ) as cursor:
            return await cursor.fetchone() is None


async def _insert_session(
    db: aiosqlite.Connection,
    user_id: int,
    content_hash: str,
    now: datetime,
    group_id: int | None,
    round_number: int | None,
    perspective: str | None,
) -> int:
    cursor = await db.execute(
        """
        INSERT INTO sessions (user_id, content_hash, screen, started_at, updated_at,
                              group_id, group_round, perspective)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
        """,
        (
            user_id,
            content_hash,
            Screen.WELCOME.value,
            _iso(now),
            _iso(now),
            group_id,
            round_number,
            perspective,
        ),
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def _statements(script: str) -> Iterable[str]:
    return (s.strip() for s in script.split(";") if s.strip())
