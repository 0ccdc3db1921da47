"""Reminders about an unfinished self-check, with the clock controlled by the test.

The real bot runs in-process against the fake Bot API server; its background check runs every
50 ms, and the test moves a fake clock forward instead of waiting days.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.cli.config import load_settings
from tests.harness import InProcessBot, bot_env, wait_for
from tests.stored import query
from tests.telegram_server import BotApiServer, SimulatedUser

MINI = Path(__file__).resolve().parent / "fixtures" / "mini.yaml"
REMINDER = "wartet auf Sie"
CHECKS = 0.3  # several reminder checks (every 50 ms) have run after this long


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@asynccontextmanager
async def reminder_bot(
    server: BotApiServer, database: Path, clock: FakeClock
) -> AsyncIterator[InProcessBot]:
    env = bot_env(
        server,
        database,
        QUESTIONNAIRE_PATH=str(MINI),
        REMINDER_DAYS="3",
        REMINDER_MAX="2",
        REMINDER_CHECK_SECONDS="0.05",
    )
    bot = InProcessBot(server, load_settings(env), clock=clock)
    await bot.start()
    try:
        yield bot
    finally:
        await bot.shutdown()


def reminders_sent(server: BotApiServer, user: SimulatedUser) -> int:
    """Reminder messages the bot tried to send to the user (also refused ones)."""
    return sum(
        REMINDER in str(call.params.get("text", ""))
        for call in server.calls("sendMessage", user.chat_id)
    )


async def answer_some(user: SimulatedUser, count: int) -> None:
    await user.send_command("/start")
    await user.wait_for_message(lambda m: "Willkommen" in m.visible_text)
    await user.press("▶️ Los geht’s")
    for _ in range(count):
        await user.wait_for_message(lambda m: "trifft voll zu" in m.button_texts)
        await user.press("trifft voll zu")
    await user.wait_until_idle()


async def complete_check(user: SimulatedUser) -> None:
    """Answer every question of the mini questionnaire, moving on after each field."""
    await user.send_command("/start")
    await user.wait_for_message(lambda m: "Willkommen" in m.visible_text)
    await user.press("▶️ Los geht’s")
    for _ in range(30):
        await user.wait_until_idle(quiet=0.05)
        if any("Ihr Ergebnis" in m.visible_text for m in user.messages):
            return
        buttons = user.buttons()
        if "trifft voll zu" in buttons:
            await user.press("trifft voll zu")
        else:
            await user.press(next(b for b in buttons if b.startswith("▶️ Weiter")))
    raise AssertionError(f"check not completed; last text: {user.last_text!r}")


async def test_idle_person_gets_limited_reminders_that_continue_where_they_left_off(
    server: BotApiServer, database: Path
) -> None:
    clock = FakeClock()
    async with reminder_bot(server, database, clock) as bot:
        user = bot.user(701)
        await answer_some(user, 2)

        clock.advance(days=2, hours=23)
        await asyncio.sleep(CHECKS)
        assert reminders_sent(server, user) == 0

        clock.advance(hours=2)  # idle for more than three days
        reminder = await user.wait_for_message(lambda m: REMINDER in m.visible_text)
        assert "2 von 10 Aussagen" in reminder.visible_text
        assert reminder.button_texts == ["▶️ Weitermachen"]
        await asyncio.sleep(CHECKS)
        assert reminders_sent(server, user) == 1

        clock.advance(days=2)  # still idle, but the last reminder is only two days old
        await asyncio.sleep(CHECKS)
        assert reminders_sent(server, user) == 1

        await bot.restart()  # same database, same time: nothing is repeated
        await asyncio.sleep(CHECKS)
        assert reminders_sent(server, user) == 1

        clock.advance(days=1, minutes=1)
        second = await user.wait_for_message(lambda m: REMINDER in m.visible_text)
        await asyncio.sleep(CHECKS)
        assert reminders_sent(server, user) == 2

        clock.advance(days=30)  # REMINDER_MAX = 2
        await asyncio.sleep(CHECKS)
        assert reminders_sent(server, user) == 2

        await user.press("▶️ Weitermachen", second)
        question = await user.wait_for_message(lambda m: "Frage 3 von 3" in m.visible_text)
        assert "trifft voll zu" in question.button_texts
        assert question.message_id == second.message_id  # the reminder became the question


async def test_no_reminders_for_opted_out_completed_or_blocked_people(
    server: BotApiServer, database: Path
) -> None:
    clock = FakeClock()
    async with reminder_bot(server, database, clock) as bot:
        idle, opted_out, completed, blocked, fresh = (bot.user(i) for i in range(711, 716))
        for person in (idle, opted_out, blocked):
            await answer_some(person, 1)
        await complete_check(completed)
        await fresh.send_command("/start")  # only the welcome: not begun, nothing to remind of
        await fresh.wait_until_idle()

        await opted_out.send_command("/erinnerungen", "aus")
        off = await opted_out.wait_for_message(lambda m: "keine Erinnerungen" in m.visible_text)
        assert "/erinnerungen an" in off.visible_text
        blocked.block_bot()

        clock.advance(days=3, minutes=1)
        await idle.wait_for_message(lambda m: REMINDER in m.visible_text)
        await wait_for(lambda: reminders_sent(server, blocked) == 1, what="attempt at blocked")
        await asyncio.sleep(CHECKS)
        for person in (opted_out, completed, fresh):
            assert reminders_sent(server, person) == 0
        [(blocked_at,)] = query(
            database, "SELECT blocked_at FROM users WHERE user_id = ?", blocked.chat_id
        )
        assert blocked_at is not None

        clock.advance(days=3, minutes=1)
        await idle.wait_for_message(lambda m: REMINDER in m.visible_text)
        await asyncio.sleep(CHECKS)
        assert reminders_sent(server, blocked) == 1  # marked as blocked: not tried again
        assert reminders_sent(server, opted_out) == 0

        await opted_out.send_command("/reminders", "on")
        on = await opted_out.wait_for_message(lambda m: "erinnere ich Sie" in m.visible_text)
        assert "höchstens 2-mal" in on.visible_text
        await opted_out.wait_for_message(lambda m: REMINDER in m.visible_text)
        assert reminders_sent(server, opted_out) == 1


async def test_due_reminder_query_uses_the_open_sessions_index(
    server: BotApiServer, database: Path
) -> None:
    from bot.store.storage import Storage

    storage = await Storage.open(database)
    try:
        async with storage._db.execute(
            "EXPLAIN QUERY PLAN " + storage._DUE_REMINDERS,
            {"due_before": "2025-01-01T00:00:00+00:00", "max_count": 2},
        ) as cursor:
            plan = " | ".join(row["detail"] for row in await cursor.fetchall())
    finally:
        await storage.close()
    assert "USING INDEX sessions_open_by_activity (updated_at<?)" in plan, plan
    assert "SCAN s" not in plan and "SCAN sessions" not in plan, plan


async def test_a_round_of_reminders_is_paced_at_a_third_of_the_rate_limit(
    server: BotApiServer, database: Path
) -> None:
    """Reminders use a third of TELEGRAM_RATE_LIMIT (30/s by default: 10 requests/s), two
    requests each (the reminder, and the old message's buttons taken off): one every 0.2 s.
    Unpaced, the limiter's burst of 30 would let a whole round of eight through at once."""
    clock = FakeClock()
    async with reminder_bot(server, database, clock):
        idle = [SimulatedUser(server, 8200 + number) for number in range(8)]
        await asyncio.gather(*(answer_some(user, 1) for user in idle))
        clock.advance(days=3, minutes=1)
        await wait_for(lambda: all(reminders_sent(server, u) for u in idle), 10, "the round")
        for user in idle:  # the reminder carries the buttons now, the question no longer
            await user.wait_until_idle(quiet=0.05)
            assert [m for m in user.messages if m.button_texts] == [user.messages[-1]]
    sent = sorted(
        call.time
        for user in idle
        for call in server.calls("sendMessage", user.chat_id)
        if REMINDER in str(call.params.get("text", ""))
    )
    assert len(sent) == len(idle)
    # Paced in the bot: one held up on the way may arrive closer to the next, but eight
    # reminders 0.2 s apart take at least 1.4 s however they bunch (unpaced: about 0.06 s).
    gaps = [round(later - earlier, 2) for earlier, later in itertools.pairwise(sent)]
    assert sent[-1] - sent[0] > 0.7 * 1.4, f"reminders {gaps} s apart: not paced"
