"""The people the bot knows: their chat, blocked or not, coordinator grants."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.app.records import UserRef
from bot.store.base import Repository, iso


class PeopleRepository(Repository):
    """Implements `bot.app.ports.People`."""

    async def touch_user(self, user: UserRef, now: datetime) -> None:
        """Create or refresh the person's row; it is no part of a session, so the session
        cache stays (every command and /start touches it)."""
        values = (user.user_id, user.chat_id, user.username, user.first_name, iso(now), iso(now))
        await self.write_keeping_cache(
            lambda db: db.execute(
                """
                INSERT INTO users (user_id, chat_id, username, first_name, created_at, last_seen_at)
                VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (user_id) DO UPDATE SET
                    chat_id = excluded.chat_id, username = excluded.username,
                    first_name = excluded.first_name, last_seen_at = excluded.last_seen_at,
                    blocked_at = NULL
                """,
                values,
            )
        )

    async def mark_blocked(self, chat_id: int, now: datetime) -> None:
        async with self.transaction() as db:
            await db.execute(
                "UPDATE users SET blocked_at = ? WHERE chat_id = ?", (iso(now), chat_id)
            )

    async def is_blocked(self, chat_id: int) -> bool:
        async with self._db.execute(
            "SELECT blocked_at FROM users WHERE chat_id = ?", (chat_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return bool(row and row["blocked_at"])

    async def find_user(
        self, user_id: int | None = None, username: str | None = None
    ) -> dict[str, Any] | None:
        """A known person by id or by @username (case-insensitive, without the @)."""
        value: int | str
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

    async def grant_coordinator(self, user_id: int, granted_by: int, now: datetime) -> None:
        async with self.transaction() as db:
            await db.execute(
                """
                INSERT OR REPLACE INTO coordinator_grants (user_id, granted_by, granted_at)
                VALUES (?, ?, ?)
                """,
                (user_id, granted_by, iso(now)),
            )

    async def may_coordinate(self, user_id: int) -> bool:
        async with self._db.execute(
            "SELECT 1 FROM coordinator_grants WHERE user_id = ?", (user_id,)
        ) as cursor:
            return await cursor.fetchone() is not None
