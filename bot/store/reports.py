"""What operators read and record: usage counts, the export, the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.store.base import Repository, iso, one_row


class ReportRepository(Repository):
    """Implements `bot.app.ports.Reports`."""

    async def add_audit(
        self, who: str, action: str, target: str | None, details: str | None, now: datetime
    ) -> None:
        async with self.transaction() as db:
            await db.execute(
                "INSERT INTO audit_log (at, who, action, target, details) VALUES (?, ?, ?, ?, ?)",
                (iso(now), who, action, target, details),
            )

    async def audit_entries(self, limit: int = 100) -> list[dict[str, Any]]:
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
            (salt,) = one_row(await cursor.fetchone())
        return str(salt)

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
            {"d7": iso(since_7), "d30": iso(since_30)},
        ) as cursor:
            row = await cursor.fetchone()
        return dict(one_row(row))

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

    async def export_answers(self) -> list[dict[str, Any]]:
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
