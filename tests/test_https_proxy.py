"""Issue 10, "HTTPS proxy as municipal networks need": HTTPS_PROXY carries every request.

The real `python -m bot` talks to the local Bot API server under a name that only the test's
proxy resolves, so the conversation works only if every request goes through the proxy.
"""

from __future__ import annotations

from pathlib import Path

from tests.forward_proxy import ForwardProxy
from tests.harness import PRIVACY, TOKEN, BotProcess, bot_env
from tests.process import run_to_exit
from tests.telegram_server import BotApiServer, SimulatedUser

HIDDEN_HOST = "api.telegram.invalid"  # .invalid never resolves (RFC 2606)


async def test_https_proxy_carries_every_request_of_the_bot(
    server: BotApiServer, database: Path, tmp_path: Path
) -> None:
    async with ForwardProxy({HIDDEN_HOST: "127.0.0.1"}) as proxy:
        env = bot_env(
            server,
            database,
            TELEGRAM_BASE_URL=f"http://{HIDDEN_HOST}:{server.port}",
            HTTPS_PROXY=proxy.url,
        )
        bot = BotProcess(server, env, log=tmp_path / "bot.log")
        await bot.start()
        try:
            person = SimulatedUser(server, 6060)
            await person.send_command("/start")
            welcome = await person.wait_for_message(lambda m: "Willkommen" in m.visible_text)
            assert welcome is not None
        finally:
            bot.kill()
    prefix = f"POST http://{HIDDEN_HOST}:{server.port}/bot{TOKEN}/"
    methods = {line.removeprefix(prefix) for line in proxy.seen if line.startswith(prefix)}
    assert {"getMe", "getUpdates", "sendMessage"} <= methods, proxy.seen
    assert all(line.startswith(prefix) for line in proxy.seen), proxy.seen


async def test_https_proxy_is_asked_to_connect_to_telegram(database: Path) -> None:
    """Real Telegram is HTTPS: the bot asks the proxy for a tunnel (CONNECT); this proxy
    refuses, so start-up gives up with one line after its retries."""
    async with ForwardProxy(allow_connect=False) as proxy:
        env = {
            "BOT_TOKEN": TOKEN,
            **PRIVACY,
            "DATABASE_PATH": str(database),
            "HTTPS_PROXY": proxy.url,
            "TELEGRAM_STARTUP_TIMEOUT": "1",
            "LOG_LEVEL": "WARNING",
        }
        result = await run_to_exit(env, timeout=30)
    assert "CONNECT api.telegram.org:443" in proxy.seen, proxy.seen
    assert result.code == 1
    assert result.lines[-1].startswith("Start-up error: Telegram cannot be reached"), result
    assert TOKEN not in result.stderr
