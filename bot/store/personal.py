"""One person's data as a whole: everything stored about them, and deleting all of it.

The right of access (`/meinedaten`) reads every table that holds the person; the right to
erasure (`/loeschen`, retention) deletes from the same tables in one transaction, replaces their
check ids in stored group releases by placeholders (`flows.disclosure.forget`, so published
figures stay as they were, without a link), and replaces their id in the audit log by their
pseudonym. Keeping both lists in this one module is what makes "nothing of the person is
left" checkable.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from datetime import datetime
from typing import Any

from bot.store.base import Repository, iso
from bot.store.release_json import dump_release, load_release
from flows.disclosure import Release, forget


class PersonalRepository(Repository):
    """Implements `bot.app.ports.PersonalData`."""

    async def people_ids(self) -> list[int]:
        """Every person the bot knows (to resolve a pseudonym, which is a one-way hash)."""
        async with self._db.execute("SELECT user_id FROM users ORDER BY user_id") as cursor:
            return [row["user_id"] for row in await cursor.fetchall()]

    async def personal_data(self, user_id: int) -> dict[str, list[dict[str, Any]]]:
        """Every row that belongs to the person, by section (profile, sessions, answers, …)."""
        queries = {
            "profile": "SELECT * FROM users WHERE user_id = ?",
            "sessions": """
                SELECT s.id, s.content_hash, s.started_at, s.updated_at, s.completed_at,
                       s.archived_at, s.archived_reason, s.group_round, s.perspective,
                       g.name AS group_name
                FROM sessions s LEFT JOIN groups g ON g.id = s.group_id
                WHERE s.user_id = ? ORDER BY s.id
            """,
            "answers": """
                SELECT a.session_id, a.question_id, a.option_id, a.answered_at
                FROM answers a JOIN sessions s ON s.id = a.session_id
                WHERE s.user_id = ? ORDER BY a.session_id, a.answered_at, a.question_id
            """,
            "coordinates": """
                SELECT g.name AS group_name, c.added_at FROM group_coordinators c
                JOIN groups g ON g.id = c.group_id WHERE c.user_id = ? ORDER BY g.id
            """,
            "coordinator_grant": "SELECT granted_at FROM coordinator_grants WHERE user_id = ?",
            "pending_join": """
                SELECT g.name AS group_name, p.consented, p.created_at FROM pending_joins p
                JOIN groups g ON g.id = p.group_id WHERE p.user_id = ?
            """,
            "reminders": """
                SELECT r.session_id, r.sent_count, r.last_sent_at FROM session_reminders r
                JOIN sessions s ON s.id = r.session_id WHERE s.user_id = ? ORDER BY r.session_id
            """,
            "reminders_off": "SELECT opted_out_at FROM reminder_optouts WHERE user_id = ?",
        }
        data: dict[str, list[dict[str, Any]]] = {}
        for section, sql in queries.items():
            async with self._db.execute(sql, (user_id,)) as cursor:
                data[section] = [dict(row) for row in await cursor.fetchall()]
        return data

    async def delete_person(self, user_id: int, pseudonym: str) -> int:
        """Delete everything of the person; returns how many of their sessions were deleted.

        Their checks leave future group releases; releases already published keep their
        figures, with the person's check ids and tokens replaced (see module docstring).
        """
        async with self.transaction() as db:
            cursor = await db.execute("SELECT id FROM sessions WHERE user_id = ?", (user_id,))
            session_ids = [row["id"] for row in await cursor.fetchall()]
            await _forget_in_releases(db, session_ids)
            marks = ",".join("?" * len(session_ids))
            if session_ids:
                for table in ("answers", "session_reminders"):
                    await db.execute(
                        f"DELETE FROM {table} WHERE session_id IN ({marks})", session_ids
                    )
            for sql in (
                "DELETE FROM sessions WHERE user_id = ?",
                "DELETE FROM pending_joins WHERE user_id = ?",
                "DELETE FROM reminder_optouts WHERE user_id = ?",
                "DELETE FROM coordinator_grants WHERE user_id = ?",
                "DELETE FROM retention_notices WHERE user_id = ?",
                "DELETE FROM group_coordinators WHERE user_id = ?",
                "UPDATE groups SET created_by = 0 WHERE created_by = ?",
                "DELETE FROM users WHERE user_id = ?",
            ):
                await db.execute(sql, (user_id,))
            # Earlier admin actions on (or by) the person keep their record, under the pseudonym.
            await db.execute(
                "UPDATE audit_log SET target = ? WHERE target = ?", (pseudonym, str(user_id))
            )
            await db.execute(
                "UPDATE audit_log SET who = ? WHERE who = ?", (pseudonym, str(user_id))
            )
        return len(session_ids)

    # A person's last activity: seen (a command, /start) or a change to one of their sessions.
    _LAST_ACTIVE = """
        SELECT u.user_id, u.chat_id, u.blocked_at, n.noticed_at,
               max(u.last_seen_at, coalesce(
                   (SELECT max(s.updated_at) FROM sessions s WHERE s.user_id = u.user_id), ''
               )) AS last_active
        FROM users u LEFT JOIN retention_notices n ON n.user_id = u.user_id
    """

    async def inactive_people(
        self, before: datetime, user_id: int | None = None
    ) -> list[dict[str, Any]]:
        """People last active before `before`, with chat, blocked state and any notice sent.

        With `user_id`: that person only, if they are (still) inactive.
        """
        async with self._db.execute(
            f"SELECT * FROM ({self._LAST_ACTIVE}) WHERE last_active < ? "
            "AND (? IS NULL OR user_id = ?) ORDER BY last_active",
            (iso(before), user_id, user_id),
        ) as cursor:
            return [dict(row) for row in await cursor.fetchall()]

    async def claim_retention_notice(self, user_id: int, before: datetime, now: datetime) -> bool:
        """Record a notice if the person is still inactive and not told since their last activity.

        Recorded before it is sent, like reminders: a crash loses a notice, never repeats one.
        """
        async with self.transaction() as db:
            cursor = await db.execute(
                f"SELECT * FROM ({self._LAST_ACTIVE}) WHERE user_id = ? AND last_active < ? "
                "AND (noticed_at IS NULL OR noticed_at < last_active)",
                (user_id, iso(before)),
            )
            row = await cursor.fetchone()
            await cursor.close()
            if row is None:
                return False
            await db.execute(
                "INSERT OR REPLACE INTO retention_notices (user_id, noticed_at) VALUES (?, ?)",
                (user_id, iso(now)),
            )
        return True

    async def old_checks(self, before: datetime) -> list[int]:
        """Earlier attempts (archived sessions) last changed before `before`."""
        async with self._db.execute(
            "SELECT id FROM sessions WHERE archived_at IS NOT NULL AND updated_at < ? ORDER BY id",
            (iso(before),),
        ) as cursor:
            return [row["id"] for row in await cursor.fetchall()]

    async def delete_checks(self, session_ids: list[int]) -> None:
        """Delete these sessions with their answers; stored releases lose the link."""
        if not session_ids:
            return
        marks = ",".join("?" * len(session_ids))
        async with self.transaction() as db:
            await _forget_in_releases(db, session_ids)
            for table, column in (
                ("answers", "session_id"),
                ("session_reminders", "session_id"),
                ("sessions", "id"),
            ):
                await db.execute(f"DELETE FROM {table} WHERE {column} IN ({marks})", session_ids)

    async def leave_group(self, user_id: int, group_id: int) -> bool:
        """Withdraw from a group: the person's sessions stay, without group, round, perspective.

        Their checks leave the group's future releases; the stored releases lose the link.
        False if none of their sessions was in the group.
        """
        async with self.transaction() as db:
            cursor = await db.execute(
                "SELECT id FROM sessions WHERE user_id = ? AND group_id = ?", (user_id, group_id)
            )
            session_ids = [row["id"] for row in await cursor.fetchall()]
            await _forget_in_releases(db, session_ids)
            await db.execute(
                "UPDATE sessions SET group_id = NULL, group_round = NULL, perspective = NULL "
                "WHERE user_id = ? AND group_id = ?",
                (user_id, group_id),
            )
            await db.execute(
                "DELETE FROM pending_joins WHERE user_id = ? AND group_id = ?", (user_id, group_id)
            )
        return bool(session_ids)


async def _forget_in_releases(db: Any, session_ids: list[int]) -> None:
    """Replace the sessions' check ids in every stored release of the rounds they were in."""
    if not session_ids:
        return
    cursor = await db.execute("SELECT group_id, round, number, body FROM group_releases")
    rounds: dict[tuple[int, int], list[Release]] = defaultdict(list)
    for row in await cursor.fetchall():
        rounds[(row["group_id"], row["round"])].append(load_release(row["body"]))
    for (group_id, round_number), releases in rounds.items():
        touched = False
        for check_id in session_ids:
            if any(check_id in release.check_ids for release in releases):
                # A negative placeholder is never a session id, and unique within the round.
                placeholder = -(secrets.randbelow(2**40) + 1)
                releases = forget(releases, check_id, placeholder, lambda: secrets.token_hex(6))
                touched = True
        if touched:
            for release in releases:
                await db.execute(
                    "UPDATE group_releases SET body = ? "
                    "WHERE group_id = ? AND round = ? AND number = ?",
                    (dump_release(release), group_id, round_number, release.number),
                )
