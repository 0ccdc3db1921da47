"""Sessions: position, revision and answers of each person's self-check.

Each state change of a session (its answer plus its new position and revision) is written in
one transaction, guarded by the revision the change was based on, so a repeated or concurrent
press can never store an answer for the wrong question."""

from __future__ import annotations

from datetime import datetime
from types import MappingProxyType

import aiosqlite

from bot.app.records import SessionRecord
from bot.store.base import Repository, iso
from flows.session import Position, Screen, SessionState


class SessionRepository(Repository):
    """Implements `bot.app.ports.Sessions`."""

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
                    walk = ?, revision = ?, updated_at = ?,
                    completed_at = CASE WHEN ? AND completed_at IS NULL THEN ? ELSE completed_at END
                WHERE id = ? AND revision = ? AND archived_at IS NULL
                """,
                (
                    position.screen.value,
                    position.field_id,
                    position.question_id,
                    int(position.review),
                    int(position.walk),
                    state.revision,
                    iso(now),
                    int(completed),
                    iso(now),
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
                    (record.id, question_id, option_id, iso(now)),
                )
        return True

    async def set_municipality_type(
        self,
        record: SessionRecord,
        municipality_type: str,
        content_hash: str,
        state: SessionState,
        now: datetime,
    ) -> bool:
        """Switch the session to another type's questionnaire; answers stay where they are.

        Guarded by the revision like every state change: the new questionnaire numbers its
        questions differently, so buttons shown before the switch must become stale.
        """
        position = state.position
        async with self.transaction() as db:
            cursor = await db.execute(
                """
                UPDATE sessions SET municipality_type = ?, content_hash = ?, screen = ?,
                    field_id = ?, question_id = ?, review = ?, revision = ?, updated_at = ?
                WHERE id = ? AND revision = ? AND archived_at IS NULL
                """,
                (
                    municipality_type,
                    content_hash,
                    position.screen.value,
                    position.field_id,
                    position.question_id,
                    int(position.review),
                    state.revision,
                    iso(now),
                    record.id,
                    record.state.revision,
                ),
            )
            return cursor.rowcount == 1

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
            walk=bool(row["walk"]),
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
            municipality_type=row["municipality_type"],
        )

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
                "SELECT id, group_id, perspective, municipality_type FROM sessions "
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
                (iso(now), reason, current["id"]),
            )
            fresh_id = await _insert_session(
                db, user_id, content_hash, now, group_id, round_number, perspective
            )
            # The person's choice of type carries over; the use case reads the new session
            # through it and switches the content to that type's questionnaire.
            await db.execute(
                "UPDATE sessions SET municipality_type = ? WHERE id = ?",
                (current["municipality_type"], fresh_id),
            )
        fresh = await self.session(fresh_id)
        assert fresh is not None
        return current["id"], fresh


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
            iso(now),
            iso(now),
            group_id,
            round_number,
            perspective,
        ),
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid
