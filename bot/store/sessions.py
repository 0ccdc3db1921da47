"""Sessions: position, revision and answers of each person's self-check.

Each state change of a session (its answer plus its new position and revision) is written in
one transaction, guarded by the revision the change was based on, so a repeated or concurrent
press can never store an answer for the wrong question."""

from __future__ import annotations

import sqlite3
from collections import OrderedDict
from dataclasses import replace
from datetime import datetime
from functools import partial
from types import MappingProxyType

from bot.app.records import SessionRecord
from bot.store.base import Repository, iso
from flows.session import Position, Screen, SessionState


class SessionCache:
    """People's current sessions as this process last read or wrote them; only a cache.

    Never the source of truth: `Storage` forgets everything whenever a write that may change
    a session runs (`forget_all`, which also refuses reads that were under way meanwhile;
    only the session writes here and `touch_user` keep it), a failed guarded
    write forgets the person, and a use case may act on a cached record only through a write
    that is guarded by the record's id and revision (see `Sessions.cached_session`). Bounded,
    least recently used out first, so memory stays flat however many chats are open.
    """

    def __init__(self, size: int = 1024) -> None:
        self._size = size
        self._records: OrderedDict[int, SessionRecord] = OrderedDict()
        self._owners: dict[int, int] = {}  # session id -> user id, for `set_message_id`
        self.generation = 0

    def get(self, user_id: int) -> SessionRecord | None:
        record = self._records.get(user_id)
        if record is not None:
            self._records.move_to_end(user_id)
        return record

    def put(self, user_id: int, record: SessionRecord | None, generation: int) -> None:
        """Keep `record`, read or written since `generation`, unless anything was forgotten
        since then (it may predate that write)."""
        self.forget(user_id)
        if record is None or generation != self.generation:
            return
        self._records[user_id] = record
        self._owners[record.id] = user_id
        while len(self._records) > self._size:
            _, oldest = self._records.popitem(last=False)
            self._owners.pop(oldest.id, None)

    def forget(self, user_id: int) -> None:
        record = self._records.pop(user_id, None)
        if record is not None:
            self._owners.pop(record.id, None)

    def forget_all(self) -> None:
        self.generation += 1
        self._records.clear()
        self._owners.clear()

    def owner(self, session_id: int) -> int | None:
        return self._owners.get(session_id)


class SessionRepository(Repository):
    """Implements `bot.app.ports.Sessions`."""

    _sessions: SessionCache

    async def current_session(self, user_id: int) -> SessionRecord | None:
        """The session row and its answers, both by index, in one hand-off (and cached)."""
        generation = self._sessions.generation
        read = partial(_read_session, _CURRENT, user_id)
        done, record = self._db.run_here(read)
        if not done:
            record = await self._db.run(read)
        self._sessions.put(user_id, record, generation)
        return record

    async def cached_session(self, user_id: int) -> SessionRecord | None:
        """The hot path's read: the cached record if there is one, else `current_session`."""
        cached = self._sessions.get(user_id)
        return cached if cached is not None else await self.current_session(user_id)

    async def session(self, session_id: int) -> SessionRecord | None:
        return await self._db.run(partial(_read_session, _BY_ID, session_id))

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

        def create(db: sqlite3.Connection) -> SessionRecord | None:
            session_id = _insert_session(
                db, user_id, content_hash, now, group_id, round_number, perspective
            )
            return _read_session(_BY_ID, session_id, db)

        record = await self.write(create)
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
        """Write the answer and the new position atomically; False if the row moved on meanwhile.

        The hot path: one transaction in one hand-off, committed before this returns. The
        cache then holds the record as written; a refused write makes it forget the person.
        """
        position = state.position
        moment = iso(now)
        update = (
            position.screen.value,
            position.field_id,
            position.question_id,
            int(position.review),
            int(position.walk),
            state.revision,
            moment,
            int(completed),
            moment,
            record.id,
            record.state.revision,
        )
        answer = None if stored_answer is None else (record.id, *stored_answer, moment)

        def save(db: sqlite3.Connection) -> bool:
            if db.execute(_SAVE_POSITION, update).rowcount != 1:
                return False
            if answer is not None:
                db.execute(_SAVE_ANSWER, answer)
            return True

        generation = self._sessions.generation
        saved = await self.write_keeping_cache(save)
        if not saved:
            self._sessions.forget(record.user_id)
            return False
        written = replace(
            record,
            state=state,
            updated_at=moment,
            completed_at=record.completed_at or (moment if completed else None),
        )
        self._sessions.put(record.user_id, written, generation)
        return True

    async def set_municipality_type(
        self,
        record: SessionRecord,
        municipality_type: str | None,
        content_hash: str,
        state: SessionState,
        now: datetime,
    ) -> bool:
        """Switch the session to another type's questionnaire; answers stay where they are.

        Guarded by the revision like every state change: the new questionnaire numbers its
        questions differently, so buttons shown before the switch must become stale.
        """
        position = state.position
        values = (
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
        )

        def switch(db: sqlite3.Connection) -> bool:
            cursor = db.execute(
                """
                UPDATE sessions SET municipality_type = ?, content_hash = ?, screen = ?,
                    field_id = ?, question_id = ?, review = ?, revision = ?, updated_at = ?
                WHERE id = ? AND revision = ? AND archived_at IS NULL
                """,
                values,
            )
            return cursor.rowcount == 1

        return await self.write(switch)

    async def set_message_id(self, session_id: int, message_id: int | None) -> None:
        """Remember which message carries the live keyboard, to edit it in place later."""
        generation = self._sessions.generation
        await self.write_keeping_cache(
            lambda db: db.execute(
                "UPDATE sessions SET message_id = ? WHERE id = ?", (message_id, session_id)
            )
        )
        owner = self._sessions.owner(session_id)
        cached = self._sessions.get(owner) if owner is not None else None
        if owner is not None and cached is not None:
            self._sessions.put(owner, replace(cached, message_id=message_id), generation)

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

        def restart(db: sqlite3.Connection) -> tuple[int, SessionRecord] | None:
            current = db.execute(
                "SELECT id, group_id, perspective, municipality_type FROM sessions "
                "WHERE user_id = ? AND archived_at IS NULL",
                (user_id,),
            ).fetchone()
            if current is None or expected_session not in (None, current["id"]):
                return None
            group = db.execute(
                "SELECT current_round FROM groups WHERE id = ?", (current["group_id"],)
            ).fetchone()
            group_id, round_number, kept = (
                (current["group_id"], group["current_round"], current["perspective"])
                if group is not None
                else (None, None, None)
            )
            db.execute(
                "UPDATE sessions SET archived_at = ?, archived_reason = ? WHERE id = ?",
                (iso(now), reason, current["id"]),
            )
            fresh_id = _insert_session(
                db, user_id, content_hash, now, group_id, round_number, perspective or kept
            )
            # The person's choice of type carries over; the use case reads the new session
            # through it and switches the content to that type's questionnaire.
            db.execute(
                "UPDATE sessions SET municipality_type = ? WHERE id = ?",
                (current["municipality_type"], fresh_id),
            )
            fresh = _read_session(_BY_ID, fresh_id, db)
            assert fresh is not None
            return current["id"], fresh

        return await self.write(restart)


_CURRENT = "SELECT * FROM sessions WHERE user_id = ? AND archived_at IS NULL"
_BY_ID = "SELECT * FROM sessions WHERE id = ?"
_ANSWERS = "SELECT question_id, option_id FROM answers WHERE session_id = ?"
_SAVE_POSITION = """
    UPDATE sessions SET screen = ?, field_id = ?, question_id = ?, review = ?,
        walk = ?, revision = ?, updated_at = ?,
        completed_at = CASE WHEN ? AND completed_at IS NULL THEN ? ELSE completed_at END
    WHERE id = ? AND revision = ? AND archived_at IS NULL
"""
_SAVE_ANSWER = """
    INSERT INTO answers (session_id, question_id, option_id, answered_at)
    VALUES (?, ?, ?, ?)
    ON CONFLICT (session_id, question_id) DO UPDATE SET
        option_id = excluded.option_id, answered_at = excluded.answered_at
"""


def _read_session(query: str, key: int, db: sqlite3.Connection) -> SessionRecord | None:
    """In the database thread: one session row (by `query`) and its answers, as a record,
    read in one snapshot (a read transaction of its own unless inside a write)."""
    own = not db.in_transaction
    if own:
        db.execute("BEGIN")
    try:
        row = db.execute(query, (key,)).fetchone()
        answers = dict(db.execute(_ANSWERS, (row["id"],)).fetchall()) if row else {}
    finally:
        if own:
            db.execute("COMMIT")
    if row is None:
        return None
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


def _insert_session(
    db: sqlite3.Connection,
    user_id: int,
    content_hash: str,
    now: datetime,
    group_id: int | None,
    round_number: int | None,
    perspective: str | None,
) -> int:
    cursor = db.execute(
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
