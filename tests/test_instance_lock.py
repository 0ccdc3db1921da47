"""Issue 10, "Two bot processes on one database both run and fight".

A second `python -m bot` on the same database must refuse at once with one line, and the
first keeps serving alone. After kill -9 of the first, the kernel has dropped its lock, so a
restart is not blocked by a stale lock file.
"""

from __future__ import annotations

from pathlib import Path

from tests.harness import BotProcess, bot_env
from tests.process import run_to_exit
from tests.telegram_server import BotApiServer, SimulatedUser


async def test_two_bot_processes_on_one_database_second_refuses_to_start(
    server: BotApiServer, database: Path, tmp_path: Path
) -> None:
    env = bot_env(server, database)
    first = BotProcess(server, env, log=tmp_path / "first.log")
    await first.start()
    try:
        polls_before = len(server.calls("getUpdates"))
        second = await run_to_exit(env, timeout=15)
        assert second.code != 0
        assert second.seconds < 10
        assert len(second.lines) == 1, second.stderr
        assert second.lines[0].startswith("Start-up error: another bot process (pid "), second
        assert str(first.process.pid) in second.lines[0]  # type: ignore[union-attr]
        assert str(database) in second.lines[0]

        # The first one still serves, and only one process asked Telegram for updates.
        person = SimulatedUser(server, 4711)
        await person.send_command("/start")
        welcome = await person.wait_for_message(lambda m: "Willkommen" in m.visible_text)
        assert welcome is not None
        assert all(call.status != 409 for call in server.calls("getUpdates")[polls_before:])
        assert len(server.calls("sendMessage", 4711)) == 1

        # kill -9 leaves the lock file behind, but not the lock: a restart serves again.
        first.kill()
        assert database.with_name(database.name + ".lock").exists()
        restarted = BotProcess(server, env, log=tmp_path / "restarted.log")
        await restarted.start()
        try:
            await person.send_command("/start")
            await person.wait_for_message(lambda m: "Willkommen" in m.visible_text)
        finally:
            assert await restarted.terminate() == 0
    finally:
        if first.process is not None:
            first.kill()
    log = (tmp_path / "first.log").read_text(errors="replace")
    assert "Conflict" not in log and "Traceback" not in log, log
