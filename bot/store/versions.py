"""The source of every questionnaire version a session may run on."""

from __future__ import annotations

from datetime import datetime

from bot.store.base import Repository, iso


class VersionRepository(Repository):
    """Each version's YAML source, stored once by its content hash."""

    async def remember_questionnaire(
        self, content_hash: str, questionnaire_id: str, version: str, source: str, now: datetime
    ) -> None:
        """Keep the exact source so sessions can finish on the version they started with."""
        values = (content_hash, questionnaire_id, version, source, iso(now))
        await self.write(
            lambda db: db.execute(
                """
                INSERT OR IGNORE INTO questionnaire_versions
                    (content_hash, questionnaire_id, version, source, loaded_at)
                VALUES (?, ?, ?, ?, ?)
                """,
                values,
            )
        )

    async def questionnaire_source(self, content_hash: str) -> str | None:
        async with self._db.execute(
            "SELECT source FROM questionnaire_versions WHERE content_hash = ?", (content_hash,)
        ) as cursor:
            row = await cursor.fetchone()
        return row["source"] if row else None
