"""Retention: inactive people and old checks are deleted, with a notice some weeks before.

Run by the reminder job (`Reminders.run`) on every round. Whoever has been inactive for
`months` is deleted entirely (the same deletion as `/loeschen`, audited as "retention");
`notice_days` before that, a person the bot can still reach gets one notice per period of
inactivity — using the bot again is all it takes to keep the data. Earlier attempts (archived
checks) unchanged for `months` are deleted too. Each person is handled under their lock, and
their inactivity is checked again there, so someone who writes at that very moment is kept.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from bot.app.locks import PersonLocks
from bot.app.outbox import Outbox
from bot.app.pacing import Pace
from bot.app.ports import Clock, Delivery, RetentionStore, Turn
from bot.app.rights import RightsDesk
from bot.ui.texts import Texts
from bot.ui.views import Reply, View
from flows.retention import deleted_on, deletion_cutoff, notice_cutoff

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetentionPolicy:
    months: int = 24
    notice_days: int = 28


class RetentionJob(RetentionStore, Protocol):
    """The repositories retention reads and writes."""


class Retention:
    def __init__(
        self,
        storage: RetentionJob,
        rights: RightsDesk,
        texts: Texts,
        locks: PersonLocks,
        outbox: Outbox,
        delivery: Delivery,
        policy: RetentionPolicy,
        clock: Clock,
        pace: Pace,
    ) -> None:
        """`pace` spaces the notices (`bot.app.pacing`)."""
        self.pace = pace
        self.storage = storage
        self.rights = rights
        self.t = texts
        self.locks = locks
        self.outbox = outbox
        self.delivery = delivery
        self.policy = policy
        self.clock = clock

    def _due(self, person: dict[str, Any], now: datetime) -> bool:
        """Whether the person's deletion date has come (see `flows.retention.deleted_on`)."""
        last = datetime.fromisoformat(person["last_active"])
        if person["blocked_at"] is not None:
            notice = None  # cannot be reached: deleted on time
        elif not _told(person):
            return False  # reachable and not told yet: the notice goes out first
        else:
            notice = datetime.fromisoformat(person["noticed_at"])
        return deleted_on(last, notice, self.policy.months, self.policy.notice_days) <= now

    async def sweep(self, stopping: asyncio.Event | None = None) -> tuple[int, int]:
        """One round: (notices sent, people deleted). Notices stop being sent once `stopping`
        is set (they are paced, so many of them take a while; deletions are all done first)."""
        months = self.policy.months
        now = self.clock()
        deleted = 0
        for person in await self.storage.inactive_people(deletion_cutoff(now, months)):
            if not self._due(person, now):
                continue
            user_id = person["user_id"]
            async with self.locks.hold(user_id):
                # Asked again under the lock: someone writing right now is kept.
                now = self.clock()
                again = await self.storage.inactive_people(deletion_cutoff(now, months), user_id)
                if again and self._due(again[0], now):
                    await self.rights.delete(user_id, "retention")
                    deleted += 1
        old = await self.storage.old_checks(deletion_cutoff(now, months))
        await self.storage.delete_checks(old)
        notices = 0
        before = notice_cutoff(now, months, self.policy.notice_days)
        for person in await self.storage.inactive_people(before):
            if person["blocked_at"] is not None or _told(person):
                continue  # cannot be reached, or told already: nothing to send (or to pace)
            await self.pace.turn()
            if stopping is not None and stopping.is_set():
                break
            async with self.locks.hold(person["user_id"]):
                if not await self.storage.claim_retention_notice(
                    person["user_id"], before, self.clock()
                ):
                    continue
                last = datetime.fromisoformat(person["last_active"])
                when = deleted_on(last, self.clock(), months, self.policy.notice_days)
                text = self.t(
                    "retention_notice",
                    months=months,
                    date=when.strftime(self.t.plain("report_date_format")),
                )
                turn = Turn(Reply(send=[View(text)]))
                try:
                    await self.outbox.deliver(self.delivery, person["chat_id"], turn)
                except Exception as error:  # a transport failure: deletion happens on time anyway
                    log.warning("retention notice not delivered (%s)", type(error).__name__)
                    continue
                notices += 1
        if notices or deleted:  # counts only: nobody is named, not even by pseudonym
            log.info("retention: %s notices sent, %s people deleted", notices, deleted)
        return notices, deleted


def _told(person: dict[str, Any]) -> bool:
    """Whether the person got the notice since they were last active (what the claim checks)."""
    noticed = person["noticed_at"]
    return noticed is not None and noticed >= person["last_active"]
