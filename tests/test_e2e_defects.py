"""Regression tests for the structural defects of issue 10, each named after its defect.

They drive the real bot over HTTP against the local Bot API server: as `python -m bot` in a
subprocess where the defect took the whole process down (deadlock, one chat stalling all,
a poison update), in-process where the log or the exact Bot API calls are inspected.
"""

from __future__ import annotations

import json
import logging
import re
import time
from pathlib import Path

import pytest

from bot.cli.config import ConfigError, load_settings
from tests.harness import ROOT, BotProcess, bot_env, running_bot, wait_for
from tests.stored import query
from tests.telegram_server import BotApiServer, SimulatedUser

MINI = ROOT / "tests" / "fixtures" / "mini.yaml"
BOT_USERNAME = "selbstcheck_test_bot"  # what the local server's getMe answers


async def say(user: SimulatedUser, command: str, payload: str = "") -> str:
    user.mark_seen()
    await user.send_command(command, payload)
    message = await user.wait_for_message(timeout=10)
    await user.wait_until_idle()
    return message.visible_text or ""


async def say_all(user: SimulatedUser, command: str, payload: str = "") -> str:
    """Every message the bot sends in answer, joined."""
    user.mark_seen()
    before = len(user.messages)
    await user.send_command(command, payload)
    await user.wait_for_message(timeout=10)
    await user.wait_until_idle()
    return "\n".join(m.visible_text or "" for m in user.messages[before:])


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        f"{r.name}: {r.getMessage()}"
        for r in caplog.records
        if r.levelno >= logging.ERROR and r.name.split(".")[0] in ("bot", "telegram")
    ]


def refused_calls(server: BotApiServer) -> list[str]:
    """Bot API calls Telegram answered with 4xx, except 429s the fault injector produced."""
    return [
        f"{call.method} {call.status} {call.params}"
        for call in server.calls()
        if call.status is not None and 400 <= call.status < 500 and call.fault is None
    ]


# 1. deadlock ------------------------------------------------------------------------------


async def test_two_admins_resetting_each_other_do_not_deadlock(
    server: BotApiServer, database: Path, questionnaire: Path, tmp_path: Path
) -> None:
    env = bot_env(server, database, ADMIN_IDS="900,901", QUESTIONNAIRE_PATH=str(questionnaire))
    bot = BotProcess(server, env, log=tmp_path / "bot.log")
    await bot.start()
    try:
        first, second = SimulatedUser(server, 900), SimulatedUser(server, 901)
        for admin in (first, second):
            await say(admin, "/start")
        confirms = []
        for admin, other in ((first, second), (second, first)):
            text = await say(admin, "/reset", str(other.chat_id))
            assert "Wirklich" in text or "neu starten" in text, text
            message = admin.last_message
            assert message is not None
            data = next(
                b["callback_data"]
                for b in message.inline_buttons
                if b["callback_data"].startswith("adm:r:")
            )
            confirms.append((admin, message.message_id, data))
        # Both confirmations in one batch of updates: the old code locked in opposite order.
        records = [
            server.add_callback_query(admin.chat_id, message_id, data)
            for admin, message_id, data in confirms
        ]
        await wait_for(lambda: all(r.answered for r in records), 15, "both presses answered")
        for admin in (first, second):
            await admin.wait_until_idle()
            texts = [m.visible_text or "" for m in admin.messages]
            assert any("neu gestartet" in t or "zurückgesetzt" in t for t in texts), texts
        archived = query(
            database,
            "SELECT user_id, count(*) FROM sessions WHERE archived_at IS NOT NULL GROUP BY user_id",
        )
        assert archived == [(900, 1), (901, 1)]
        assert await bot.terminate() == 0  # SIGTERM completes: nothing is stuck
    finally:
        bot.kill()


# 2. one chat stalls all others ------------------------------------------------------------


async def test_one_chat_sending_hundreds_of_messages_does_not_delay_another(
    server: BotApiServer, database: Path, tmp_path: Path
) -> None:
    bot = BotProcess(server, bot_env(server, database), log=tmp_path / "bot.log")
    await bot.start()
    try:
        hammer, other = SimulatedUser(server, 7001), SimulatedUser(server, 7002)
        await say(other, "/start")
        await say(hammer, "/start")
        for number in range(300):
            server.add_user_message(hammer.chat_id, {"text": f"hallo {number}"})
        await wait_for(lambda: len(hammer.messages) > 5, 10, "the hammering to be served")
        other.mark_seen()
        started = time.monotonic()
        record = await other.press("▶️ Los geht’s")
        await wait_for(lambda: record.answered, 10, "the other person's press")
        shown = await other.wait_for_message(timeout=10)
        waited = time.monotonic() - started
        served_meanwhile = len(hammer.messages)
        assert "Frage 1" in (shown.visible_text or "")
        assert waited < 3.0, f"the other person waited {waited:.1f} s"
        assert served_meanwhile < 250, "the hammering was already over: the test shows nothing"
    finally:
        bot.kill()


# 3. a poison update -----------------------------------------------------------------------


async def test_update_that_cannot_be_parsed_is_skipped_and_polling_goes_on(
    server: BotApiServer, database: Path, tmp_path: Path
) -> None:
    log = tmp_path / "bot.log"
    bot = BotProcess(server, bot_env(server, database, LOG_LEVEL="WARNING"), log=log)
    await bot.start()
    try:
        polls_before = len(server.calls("getUpdates"))
        server.enqueue("message", {"message_id": 1, "date": "soon", "chat": "oops"}, 7101)
        user = SimulatedUser(server, 7102)
        text = await say(user, "/start")
        assert "Willkommen" in text
        await wait_for(lambda: not server.pending_updates, 5, "the bad update to be confirmed")
        polls = len(server.calls("getUpdates")) - polls_before
        assert polls < 20, f"{polls} getUpdates calls: the same batch is fetched again and again"
        allowed = server.calls("getUpdates")[-1].params.get("allowed_updates")
        assert sorted(json.loads(allowed)) == ["callback_query", "message"]
    finally:
        bot.kill()
    output = log.read_text(errors="replace")
    assert output.count("skipping update") == 1, output[-2000:]
    assert "Traceback" not in output


# 4. edited messages, commands for another bot ----------------------------------------------


async def test_edited_messages_and_commands_for_another_bot_are_ignored(
    server: BotApiServer, database: Path
) -> None:
    async with running_bot(server, database):
        user = SimulatedUser(server, 7201)
        await say(user, "/start")
        count = len(user.messages)
        edited = user.messages[-1].to_api() | {"text": "/neustart", "edit_date": 1}
        edited["from"] = dict(user.user)
        edited["entities"] = [{"type": "bot_command", "offset": 0, "length": 9}]
        server.enqueue("edited_message", edited, user.chat_id)
        await user.send_command("/hilfe@OtherBot")
        await user.send_command("/neustart@OtherBot")
        await user.wait_until_idle()
        assert len(user.messages) == count, [m.visible_text for m in user.messages[count:]]
        # Addressed to this bot by name, the command is answered as usual.
        assert "So funktioniert der Selbstcheck" in await say(user, f"/hilfe@{BOT_USERNAME}")
        assert query(database, "SELECT count(*) FROM sessions WHERE user_id = 7201") == [(1,)]


# 5. oddly parsing callback data and ids ----------------------------------------------------


async def test_odd_callback_data_and_overlong_ids_are_refused_without_error(
    server: BotApiServer,
    database: Path,
    questionnaire: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    env = {"ADMIN_IDS": "900", "QUESTIONNAIRE_PATH": str(questionnaire)}
    async with running_bot(server, database, **env):
        admin = SimulatedUser(server, 900)
        await say(admin, "/start")
        message = admin.last_message
        assert message is not None
        odd = ["g:r:²", "g:r:١٢", "1234567890123456789012345", "adm:r:99999999999999999999:1"]
        for data in odd:
            record = await admin.press_data(message.message_id, data)
            await wait_for(lambda r=record: r.answered, 10, f"press {data!r}")
            await admin.wait_until_idle()
        assert "nur die Koordinator*innen" in (admin.last_text or "")
        answer = await say(admin, "/reset", "99999999999999999999")
        assert "kenne ich keine Person" in answer
        answer = await say(admin, "/coordinator", "99999999999999999999")
        assert "kenne ich keine Person" in answer
    assert errors(caplog) == []
    assert query(database, "SELECT count(*) FROM coordinator_grants") == [(0,)]


# 6. stale presses and 4xx ------------------------------------------------------------------


async def test_stale_and_forged_presses_never_draw_a_refused_call(
    server: BotApiServer, database: Path
) -> None:
    async with running_bot(server, database):
        user = SimulatedUser(server, 7301)
        await say(user, "/start")
        welcome = user.last_message
        assert welcome is not None
        record = await user.press("▶️ Los geht’s")
        await wait_for(lambda: record.answered, 10, "begin")
        await user.wait_until_idle()
        question = user.last_message
        assert question is not None
        data = [b["callback_data"] for b in question.inline_buttons]
        # A double tap, the same button again later, a forged one, the old welcome twice.
        for press in (data[0], data[0], data[0], "zzz", "a:1:0:9"):
            record = await user.press_data(question.message_id, press)
            await wait_for(lambda r=record: r.answered, 10, f"press {press!r}")
        for _ in range(2):
            record = await user.press_data(welcome.message_id, "c")
            await wait_for(lambda r=record: r.answered, 10, "old welcome")
            await user.wait_until_idle()
        # Old messages, their buttons already gone, pressed again; then menus and commands.
        await say(user, "/menu")
        for message in list(user.messages)[:-1]:
            record = await user.press_data(message.message_id, "m")
            await wait_for(lambda r=record: r.answered, 10, "old message")
            await user.wait_until_idle()
        await say(user, "/neustart")
        record = await user.press("Nein, weitermachen")
        await wait_for(lambda: record.answered, 10, "cancel restart")
        await user.wait_until_idle()
        record = await user.press_data(user.messages[-1].message_id, "x:n")
        await wait_for(lambda: record.answered, 10, "cancel again")
        await user.wait_until_idle()
        # Under injected server faults as well.
        server.faults.rate(0.3, status=500, methods={"editMessageText", "sendMessage"})
        for _ in range(6):
            message = user.messages[-1]
            buttons = [b["callback_data"] for b in message.inline_buttons] or ["m"]
            record = await user.press_data(message.message_id, buttons[0])
            await wait_for(lambda r=record: r.answered, 20, "press under faults")
            await user.wait_until_idle(timeout=20)
        server.faults.clear()
        # Checked before shutdown: the updater's last getUpdates then overlaps the long poll.
        assert refused_calls(server) == []


# 7. coordinators' commands -----------------------------------------------------------------


async def test_coordinators_commands_are_german_listed_in_help_and_in_their_menu(
    server: BotApiServer, database: Path
) -> None:
    async with running_bot(server, database):
        coordinator, person = SimulatedUser(server, 7401), SimulatedUser(server, 7402)
        menu = {"type": "chat", "chat_id": coordinator.chat_id}
        help_before = await say(coordinator, "/hilfe")
        assert "/gruppenbericht" not in help_before
        assert server.commands(menu) == []
        created = await say(coordinator, "/neuegruppe", "Stadt Musterstadt")
        assert "Gruppe „Stadt Musterstadt“ angelegt" in created
        await coordinator.wait_until_idle()
        names = [c["command"] for c in server.commands(menu)]
        assert {"neuegruppe", "gruppen", "gruppenbericht", "neuerunde"} <= set(names)
        assert {"start", "hilfe", "fortschritt"} <= set(names)
        assert not {"reset", "newgroup", "groupreport"} & set(names)
        help_after = await say(coordinator, "/hilfe")
        for command in ("/neuegruppe", "/gruppen", "/gruppenbericht", "/neuerunde"):
            assert command in help_after, command
        assert "Stadt Musterstadt" in await say_all(coordinator, "/gruppen")
        assert "Stadt Musterstadt" in await say_all(coordinator, "/gruppenbericht")
        # The English names stay as aliases; other people's menus and help stay as they were.
        assert "Stadt Musterstadt" in await say_all(coordinator, "/groups")
        assert "/gruppenbericht" not in await say(person, "/hilfe")
        assert server.commands({"type": "chat", "chat_id": person.chat_id}) == []
        everyone = {c["command"] for c in server.commands()}
        assert "gruppenbericht" not in everyone


# 8. admin menu for a chat that never wrote -------------------------------------------------


async def test_admin_menu_is_set_when_the_admin_first_writes_not_at_start_up(
    server: BotApiServer, database: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    async with running_bot(server, database, ADMIN_IDS="950"):
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert [c for c in server.calls("setMyCommands") if c.status != 200] == []
        admin = SimulatedUser(server, 950)  # writes to the bot for the first time
        await say(admin, "/start")
        await admin.wait_until_idle()
        names = {c["command"] for c in server.commands({"type": "chat", "chat_id": 950})}
        assert {"reset", "stats", "start", "hilfe"} <= names
        await say(admin, "/hilfe")
        calls = [c for c in server.calls("setMyCommands") if (c.params.get("scope") or {})]
        assert len(calls) == 1, "the admin's menu is set once per process, not on every update"
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


# the configurable rate limiter ------------------------------------------------------------


def test_telegram_rate_limit_is_configurable_and_checked() -> None:
    assert load_settings({}).telegram_rate_limit == 30
    assert load_settings({"TELEGRAM_RATE_LIMIT": "0"}).telegram_rate_limit == 0
    assert load_settings({"TELEGRAM_RATE_LIMIT": "12.5"}).telegram_rate_limit == 12.5
    for bad in ("-1", "fast", "5000"):
        with pytest.raises(ConfigError, match=re.escape("TELEGRAM_RATE_LIMIT")):
            load_settings({"TELEGRAM_RATE_LIMIT": bad})
