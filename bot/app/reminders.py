"""Friendly reminders for people who left their self-check unfinished.

A background task looks every `check_seconds` for current, unfinished sessions that have been
idle for `days` days and sends at most `max_count` reminders per session, at least `days`
apart. Each reminder is first recorded (count and time, in one transaction that re-checks that
it is still due) and only then sent: a crash in between loses one reminder but can never send
one twice, also not after a restart. People can switch reminders off and on again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from bot.app import codec
from bot.app.locks import PersonLocks
from bot.app.outbox import Outbox
from bot.app.pacing import Pace
from bot.app.ports import (
    Clock,
    Delivery,
    People,
    Questionnaires,
    ReminderStore,
    Sessions,
    Turn,
    readable,
)
from bot.app.pseudonyms import alias
from bot.app.records import UserRef
from bot.app.retention import Retention
from bot.app.service import version_unavailable_view
from bot.ui.render import percent
from bot.ui.texts import Texts
from bot.ui.views import Button, Reply, View

log = logging.getLogger(__name__)

BATCH = 50
# The reminder, and (usually) taking the buttons off the message that had them until then.
REQUESTS_PER_REMINDER = 2


class RemindersStore(ReminderStore, Sessions, People, Protocol):
    """The repositories reminders read and write."""


@dataclass(frozen=True)
class ReminderPolicy:
    days: int = 3
    max_count: int = 2
    check_seconds: float = 3600.0

    @property
    def enabled(self) -> bool:
        return self.max_count > 0


class Reminders:
    """Finds due reminders and sends them; `run` is the background loop."""

    def __init__(
        self,
        storage: RemindersStore,
        catalog: Questionnaires,
        texts: Texts,
        locks: PersonLocks,
        outbox: Outbox,
        delivery: Delivery,
        policy: ReminderPolicy,
        clock: Clock,
        retention: Retention | None,
        pace: Pace,
    ) -> None:
        """`retention` runs on every round too, whether reminders are switched on or off;
        `pace` spaces the reminders (`bot.app.pacing`)."""
        self.retention = retention
        self.pace = pace
        self.storage = storage
        self.catalog = catalog
        self.t = texts
        self.locks = locks
        self.outbox = outbox
        self.delivery = delivery
        self.policy = policy
        self.clock = clock
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        if (self.policy.enabled or self.retention is not None) and self._task is None:
            self._stopping.clear()
            self._task = asyncio.create_task(self.run(), name="reminders")

    async def stop(self, grace: float = 10.0) -> None:
        """Let a reminder that is being sent finish (up to `grace` seconds), then end."""
        self._stopping.set()
        task, self._task = self._task, None
        if task is None:
            return
        done, _ = await asyncio.wait({task}, timeout=grace)
        if not done:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                if self.policy.enabled:
                    await self.check()
                if self.retention is not None:
                    await self.retention.sweep(self._stopping)
            except Exception:
                log.exception("reminder check failed; trying again later")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.policy.check_seconds)

    # one round ----------------------------------------------------------------------------

    async def check(self) -> int:
        """Send every reminder that is due now; returns how many were sent."""
        storage = self.storage
        seen: set[int] = set()
        sent = 0
        while not self._stopping.is_set():
            now = self.clock()
            due_before = now - timedelta(days=self.policy.days)
            due = [
                row
                for row in await storage.due_reminders(due_before, self.policy.max_count, BATCH)
                if row[0] not in seen
            ]
            if not due:
                break
            for session_id, user_id, chat_id, count in due:
                if self._stopping.is_set():
                    break
                seen.add(session_id)
                await self.pace.turn(REQUESTS_PER_REMINDER)
                if self._stopping.is_set():
                    break
                try:
                    sent += await self._remind(session_id, user_id, chat_id, count)
                except Exception:
                    log.exception("reminder for person %s failed", alias(user_id))
        return sent

    async def _remind(self, session_id: int, user_id: int, chat_id: int, count: int) -> int:
        storage = self.storage
        async with self.locks.hold(user_id):
            now = self.clock()
            due_before = now - timedelta(days=self.policy.days)
            # Recorded before sending: a crash now loses this reminder rather than repeating it.
            if not await storage.claim_reminder(
                session_id, count, due_before, self.policy.max_count, now
            ):
                return 0
            record = await storage.session(session_id)
            if record is None:
                return 0
            t = self.t
            q = await readable(self.catalog.get, record.content_hash)
            if q is None:
                # Nothing to count progress on: the reminder is the notice and its way on,
                # which the person would otherwise only see when they come back by themselves.
                view = version_unavailable_view(t)
            else:
                done, total = len(record.state.answers), len(q.questions)
                view = View(
                    t(
                        "reminder",
                        title=q.title,
                        answered=done,
                        questions=total,
                        percent=percent(done, total),
                    ),
                    ((Button(t.plain("button_continue"), codec.RESUME),),),
                )
            turn = Turn(Reply(send=[view]), record.id, record.message_id)
            await self.outbox.deliver(self.delivery, chat_id, turn)
            log.info(
                "reminder %s of %s sent to person %s",
                count + 1,
                self.policy.max_count,
                alias(user_id),
            )
            return 1


async def reminder_command(
    storage: RemindersStore,
    texts: Texts,
    policy: ReminderPolicy,
    clock: Clock,
    user: UserRef,
    argument: str,
) -> Turn:
    """/erinnerungen aus|an (also /reminders off|on); without an argument, the current state."""
    words = argument.lower().split()
    word = words[0] if words else ""
    now = clock()
    await storage.touch_user(user, now)
    if word in texts.words("reminder_words_off"):
        await storage.set_reminders_enabled(user.user_id, False, now)
        return _say(texts("reminders_off"))
    if word in texts.words("reminder_words_on"):
        await storage.set_reminders_enabled(user.user_id, True, now)
        return _say(texts("reminders_on", days=policy.days, max=policy.max_count))
    if not policy.enabled:
        return _say(texts("reminders_unavailable"))
    enabled = await storage.reminders_enabled(user.user_id)
    key = "reminders_status_on" if enabled else "reminders_status_off"
    return _say(texts(key, days=policy.days, max=policy.max_count))


def _say(text: str) -> Turn:
    return Turn(Reply(send=[View(text)]))
