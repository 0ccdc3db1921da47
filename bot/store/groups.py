"""Groups of a municipality: rounds, coordinators, pending joins, completed checks."""

from __future__ import annotations

from datetime import datetime

from bot.app.records import CompletedCheck, GroupCounts, GroupRecord
from bot.store.base import Repository, iso, one_row


class GroupRepository(Repository):
    """Implements `bot.app.ports.Groups`."""

    async def create_group(
        self, name: str, join_token: str, coordinator_token: str, user_id: int, now: datetime
    ) -> GroupRecord:
        async with self.transaction() as db:
            cursor = await db.execute(
                """
                INSERT INTO groups (name, join_token, coordinator_token, created_by, created_at)
                VALUES (?, ?, ?, ?, ?)
                """,
                (name, join_token, coordinator_token, user_id, iso(now)),
            )
            group_id = cursor.lastrowid
            assert group_id is not None
            await db.execute(
                "INSERT INTO group_coordinators (group_id, user_id, added_at) VALUES (?, ?, ?)",
                (group_id, user_id, iso(now)),
            )
        group = await self.group(group_id)
        assert group is not None
        return group

    async def group(self, group_id: int) -> GroupRecord | None:
        async with self._db.execute("SELECT * FROM groups WHERE id = ?", (group_id,)) as cursor:
            row = await cursor.fetchone()
        return GroupRecord(**dict(row)) if row else None

    async def set_group_type(self, group_id: int, municipality_type: str) -> None:
        """The type every check of the group answers for (participants follow it)."""
        async with self.transaction() as db:
            await db.execute(
                "UPDATE groups SET municipality_type = ? WHERE id = ?",
                (municipality_type, group_id),
            )

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

    async def coordinators_of(self, group_id: int) -> set[int]:
        """The user ids of everyone who coordinates the group (one query for a whole report)."""
        async with self._db.execute(
            "SELECT user_id FROM group_coordinators WHERE group_id = ?", (group_id,)
        ) as cursor:
            return {row[0] for row in await cursor.fetchall()}

    async def add_coordinator(self, group_id: int, user_id: int, now: datetime) -> None:
        async with self.transaction() as db:
            await db.execute(
                """
                INSERT OR IGNORE INTO group_coordinators (group_id, user_id, added_at)
                VALUES (?, ?, ?)
                """,
                (group_id, user_id, iso(now)),
            )

    async def set_group_open(self, group_id: int, is_open: bool, now: datetime) -> None:
        async with self.transaction() as db:
            await db.execute(
                "UPDATE groups SET closed_at = ? WHERE id = ?",
                (None if is_open else iso(now), group_id),
            )

    async def start_new_round(self, group_id: int) -> int:
        async with self.transaction() as db:
            cursor = await db.execute(
                "UPDATE groups SET current_round = current_round + 1 WHERE id = ? "
                "RETURNING current_round",
                (group_id,),
            )
            (round_number,) = one_row(await cursor.fetchone())
        return int(round_number)

    async def renew_link_generation(self, group_id: int) -> int:
        """Revoke every workshop link of the group: the new generation is the only valid one."""
        async with self.transaction() as db:
            cursor = await db.execute(
                "UPDATE groups SET link_generation = link_generation + 1 WHERE id = ? "
                "RETURNING link_generation",
                (group_id,),
            )
            (generation,) = one_row(await cursor.fetchone())
        return int(generation)

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
        row = one_row(row)
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
            sessions = list(await cursor.fetchall())
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
                (user_id, group_id, iso(now)),
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
