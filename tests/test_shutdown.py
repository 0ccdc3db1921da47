"""SIGTERM while an update is being handled: it is finished, then the bot exits cleanly.

Runs the exact `python -m bot` an operator starts, against the fake Bot API server.
"""

from __future__ import annotations

import time
from pathlib import Path

from tests.harness import BotProcess, bot_env, wait_for
from tests.stored import assert_intact, query
from tests.telegram_server import BotApiServer, SimulatedUser


async def test_sigterm_finishes_the_running_update_and_closes_the_database(
    server: BotApiServer, database: Path, tmp_path: Path
) -> None:
    bot = BotProcess(server, bot_env(server, database, LOG_LEVEL="INFO"), log=tmp_path / "bot.log")
    await bot.start()
    try:
        user = SimulatedUser(server, 901)
        await user.send_command("/start")
        await user.wait_for_message(lambda m: "Willkommen" in m.visible_text)
        await user.press("▶️ Los geht’s")
        question = await user.wait_for_message(lambda m: "Frage 1 von" in m.visible_text)
        await user.wait_until_idle(quiet=0.1)

        # The answer is stored, then the bot's reply hangs for a second: SIGTERM arrives then.
        server.faults.slow(1.0, 1.0, methods=["answerCallbackQuery"], chat_id=901, times=1)
        await user.press("trifft voll zu")
        await wait_for(
            lambda: any(c.status is None for c in server.calls("answerCallbackQuery", 901)),
            what="the answer to be in flight",
        )
        started = time.monotonic()
        code = await bot.terminate()
        elapsed = time.monotonic() - started
    finally:
        if bot.process is not None:
            bot.kill()
    log = (tmp_path / "bot.log").read_text(errors="replace")
    assert code == 0, log
    assert 0.5 < elapsed < 6, elapsed  # it waited for the reply in flight, not much longer
    assert "Traceback" not in log, log

    # The update in flight was handled to its end: toast answered, question 2 shown in place.
    assert all(c.status == 200 for c in server.calls("answerCallbackQuery", 901))
    current = server.chat(901).messages[question.message_id]
    assert "Frage 2 von" in current.visible_text, current.visible_text

    assert_intact(database)
    answers = query(database, "SELECT question_id, option_id FROM answers")
    assert len(answers) == 1 and answers[0][1] is not None
    wal = database.with_name(database.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0  # checkpointed on close
