"""Reminder bookkeeping: due sessions, claims before sending, people's opt-out."""

from __future__ import annotations

from datetime import datetime

from bot.store.base import Repository, iso


class ReminderRepository(Repository):
    """Implements `bot.app.ports.ReminderStore`."""

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
            {"due_before": iso(due_before), "max_count": max_count, "limit": limit},
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
                {"due_before": iso(due_before), "max_count": max_count, "session_id": session_id},
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
                (session_id, iso(now)),
            )
        return True

    async def set_reminders_enabled(self, user_id: int, enabled: bool, now: datetime) -> None:
        async with self.transaction() as db:
            if enabled:
                await db.execute("DELETE FROM reminder_optouts WHERE user_id = ?", (user_id,))
            else:
                await db.execute(
                    "INSERT OR IGNORE INTO reminder_optouts (user_id, opted_out_at) VALUES (?, ?)",
                    (user_id, iso(now)),
                )

    async def reminders_enabled(self, user_id: int) -> bool:
        async with self._db.execute(
            "SELECT 1 FROM reminder_optouts WHERE user_id = ?", (user_id,)
        ) as cursor:
            return await cursor.fetchone() is None
