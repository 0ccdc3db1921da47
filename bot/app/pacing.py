"""Messages nobody is waiting for (reminders, retention notices) go out paced, below the limit.

Why: every request to Telegram goes through one limiter (`TELEGRAM_RATE_LIMIT`, 30 per second
by default, as Telegram asks for bulk sending). A reminder round sends one message after the
other as fast as Telegram answers; with a thousand reminders due (after a restart, or three
days after a workshop invitation went round) it would take most of that budget for a minute,
and every person answering meanwhile would wait behind it for each press. Paced at a third of
the limit, two thirds stay for the people answering (an answer is one chat-bound request, its
edit). With the limit off (0) nothing is paced either: there is no budget to share.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

# The part of TELEGRAM_RATE_LIMIT that messages nobody is waiting for may use.
BACKGROUND_SHARE = 1 / 3


class Pace:
    """Spaces background requests at `per_second` at most; 0 does not pace.

    One instance is shared by every background sender, so reminders and retention notices
    together stay within the share. Each turn books its slot before it waits, so senders
    running at the same time would still go out one slot after the other.
    """

    def __init__(
        self,
        per_second: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self._clock = clock
        self._sleep = sleep
        self._next = float("-inf")

    @classmethod
    def for_limit(cls, telegram_rate_limit: float) -> Pace:
        """The background share of the shipped limiter's rate (0: the limiter is off)."""
        return cls(telegram_rate_limit * BACKGROUND_SHARE)

    async def turn(self, requests: int = 1) -> None:
        """Wait until a background message of `requests` Bot API requests may go out (call it
        before taking a person's lock: a person who presses meanwhile is not kept waiting)."""
        if not self.interval:
            return
        now = self._clock()
        slot = max(now, self._next)
        self._next = slot + self.interval * requests
        if slot > now:
            await self._sleep(slot - now)
