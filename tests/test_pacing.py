"""`Pace`: background messages spaced by the share of the limit, without a real clock.

Why: reminders and retention notices rely on it to leave most of Telegram's budget to people
answering (`tests/test_e2e_reminders.py` shows it end to end).
"""

from __future__ import annotations

import asyncio

from bot.app.pacing import BACKGROUND_SHARE, Pace


class FakeTime:
    """A monotonic clock that only moves when something sleeps or the test says so."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds

    async def record_only(self, seconds: float) -> None:
        """A sleep during which others run (here: the clock stands still)."""
        self.slept.append(round(seconds, 6))


async def test_messages_in_a_row_are_spaced_by_the_interval() -> None:
    time = FakeTime()
    pace = Pace(4, clock=time.clock, sleep=time.sleep)
    for _ in range(4):
        await pace.turn()
    assert time.slept == [0.25, 0.25, 0.25]  # the first goes at once
    assert time.now == 100.75


async def test_time_spent_between_messages_counts_towards_the_interval() -> None:
    time = FakeTime()
    pace = Pace(4, clock=time.clock, sleep=time.sleep)
    await pace.turn()
    time.now += 0.1  # the message itself took a while to send
    await pace.turn()
    time.now += 1.0  # nothing due for a second
    await pace.turn()
    assert time.slept == [0.15]


async def test_a_message_of_several_requests_takes_as_many_slots() -> None:
    time = FakeTime()
    pace = Pace(10, clock=time.clock, sleep=time.sleep)
    await pace.turn(2)
    await pace.turn(2)
    await pace.turn(1)
    await pace.turn(1)
    assert time.slept == [0.2, 0.2, 0.1]


async def test_senders_at_the_same_time_get_one_slot_after_the_other() -> None:
    time = FakeTime()
    pace = Pace(10, clock=time.clock, sleep=time.record_only)
    await asyncio.gather(*(pace.turn() for _ in range(3)))  # the clock does not move
    assert sorted(time.slept) == [0.1, 0.2]


async def test_the_share_follows_the_limit_and_no_limit_means_no_pace() -> None:
    assert BACKGROUND_SHARE == 1 / 3
    assert Pace.for_limit(30).interval == 0.1
    time = FakeTime()
    unpaced = Pace.for_limit(0)
    unpaced._sleep = time.sleep
    for _ in range(100):
        await unpaced.turn()
    assert unpaced.interval == 0 and time.slept == []
