"""Group releases: the published reports of each group round, stored so they survive a restart.

A release is stored as the JSON of `flows.disclosure.Release` exactly as it was published
(`bot.store.release_json`), so a report seen once is shown again unchanged, and the next
release is audited against the whole history (a restart must never start a fresh one: that
would allow differencing).
"""

from __future__ import annotations

from datetime import datetime

from bot.store.base import Repository, iso
from bot.store.release_json import dump_release, load_release
from flows.disclosure import Release


class ReleaseRepository(Repository):
    """Implements `bot.app.ports.Releases`."""

    async def releases(self, group_id: int, round_number: int) -> list[Release]:
        async with self._db.execute(
            "SELECT body FROM group_releases WHERE group_id = ? AND round = ? ORDER BY number",
            (group_id, round_number),
        ) as cursor:
            return [load_release(row["body"]) for row in await cursor.fetchall()]

    async def add_release(
        self, group_id: int, round_number: int, release: Release, now: datetime
    ) -> bool:
        """Store a new release; False if another one with its number was stored first."""
        async with self.transaction() as db:
            cursor = await db.execute(
                """
                INSERT OR IGNORE INTO group_releases (group_id, round, number, body, stored_at)
                VALUES (?, ?, ?, ?, ?)
                """,
                (group_id, round_number, release.number, dump_release(release), iso(now)),
            )
            return cursor.rowcount == 1
