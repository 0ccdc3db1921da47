"""Issue 15, the shipped limiter: `TELEGRAM_RATE_LIMIT` builds the same AIORateLimiter as a
bare python-telegram-bot bot (the benchmark's echo bot), and a press costs one chat-bound
request, as in the echo bot.

AIORateLimiter counts only requests that carry a `chat_id` against its overall limit
(answering a callback query carries none), in a bucket of `limit` requests that drains at
`limit` per second. So a bot that sends more chat-bound requests per press than the echo
bot, or a limiter built differently (a bucket of 1 that drains every 1/30 s, say), would make
presses wait below the limit: what the benchmark's "shipped limiter" target would show as p99.
"""

from __future__ import annotations

from pathlib import Path

from telegram.ext import AIORateLimiter

from bot.cli.config import load_settings
from bot.telegram.app import build_application
from tests.harness import PRIVACY, TOKEN, running_bot
from tests.telegram_server import BotApiServer, SimulatedUser


def limiter_shape(limiter: object) -> tuple[object, ...]:
    """What decides when AIORateLimiter makes a request wait (python-telegram-bot 22.8)."""
    assert isinstance(limiter, AIORateLimiter)
    base = limiter._base_limiter
    overall = None if base is None else (base.max_rate, base.time_period)
    return overall, limiter._group_max_rate, limiter._group_time_period, limiter._max_retries


def built_limiter(**env: str) -> object:
    settings = load_settings({"BOT_TOKEN": TOKEN, **PRIVACY, **env})
    return build_application(settings).bot.rate_limiter


def test_the_shipped_limit_is_a_bare_bots_aioratelimiter() -> None:
    echo_bots = AIORateLimiter(max_retries=5)  # bench/echo_bot.py, shipped configuration
    assert limiter_shape(built_limiter()) == limiter_shape(echo_bots)
    assert limiter_shape(built_limiter())[0] == (30, 1)  # a bucket of 30, 30 per second


def test_a_rate_limit_of_zero_lifts_only_the_overall_limit() -> None:
    echo_unthrottled = AIORateLimiter(0, max_retries=5)  # ECHO_RATE_LIMIT=off
    assert limiter_shape(built_limiter(TELEGRAM_RATE_LIMIT="0")) == limiter_shape(echo_unthrottled)
    assert limiter_shape(built_limiter(TELEGRAM_RATE_LIMIT="12.5"))[0] == (12.5, 1)


async def test_an_answer_costs_one_chat_bound_request(server: BotApiServer, database: Path) -> None:
    async with running_bot(server, database):
        person = SimulatedUser(server, 6061, first_name="Lene")
        await person.send_command("/start")
        await person.wait_for_message(lambda m: "Willkommen" in m.visible_text)
        await person.press("kreisfreie Stadt")
        await person.wait_for_message(lambda m: "Art der Kommune: kreisfreie" in m.visible_text)
        await person.press("▶️ Los geht’s")
        await person.wait_for_message(lambda m: "Frage 1 von" in m.visible_text)
        await person.wait_until_idle()
        before = len(server.calls())
        for number in (2, 3, 4):
            await person.press("trifft eher zu")
            await person.wait_for_message(lambda m, n=number: f"Frage {n} von" in m.visible_text)
            await person.wait_until_idle()
        calls = [call for call in server.calls()[before:] if call.method != "getUpdates"]
    chat_bound = [call.method for call in calls if "chat_id" in call.params]
    assert chat_bound == ["editMessageText"] * 3, [call.method for call in calls]
    assert [call.method for call in calls].count("answerCallbackQuery") == 3
