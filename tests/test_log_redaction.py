"""Issue 10, "The token reaches the logs": the token and the webhook secret never do.

The real `python -m bot` runs at LOG_LEVEL=DEBUG against the local Bot API server, through a
conversation, a rejected token and an unreachable Telegram; its whole stderr is searched for
every spelling of the token and the secret, and for what a person typed and answered.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from urllib.parse import quote

from bot.cli.log_redaction import REDACTED, Redactor
from tests.harness import PRIVACY, TOKEN, BotProcess, bot_env, free_port, log_of_a_run
from tests.process import run_to_exit
from tests.telegram_server import BotApiServer, SimulatedUser
from tests.test_e2e_webhook import webhook_env

SECRET_HALF = TOKEN.partition(":")[2]
WEBHOOK_SECRET = "Webhook_secret-for-the-log-test-0123456789"
NAME = "Ottilie-Quellenberg"


def assert_no_secrets(log: str) -> None:
    for secret in (TOKEN, quote(TOKEN, safe=""), SECRET_HALF, WEBHOOK_SECRET):
        assert secret not in log, f"{secret!r} in the log"


async def converse(server: BotApiServer) -> None:
    person = SimulatedUser(server, 5150, first_name=NAME, username="ottilie_q")
    await person.send_command("/start")
    await person.wait_for_message(lambda m: "Willkommen" in m.visible_text)
    await person.press("▶️ Los geht’s")
    await person.wait_for_message(lambda m: "Frage 1 von" in m.visible_text)
    await person.press("trifft eher nicht zu")
    await person.wait_for_message(lambda m: "Frage 2 von" in m.visible_text)
    await person.send_text("Meine geheime Anmerkung 8271")
    await person.wait_until_idle()


async def test_the_token_reaches_the_logs_at_debug_level(
    server: BotApiServer, database: Path, tmp_path: Path
) -> None:
    env = bot_env(server, database, LOG_LEVEL="DEBUG")
    log = await log_of_a_run(server, env, tmp_path / "bot.log", lambda: converse(server))
    assert " DEBUG " in log and "Traceback" not in log  # it did log at DEBUG, without errors
    assert_no_secrets(log)
    # Per-call lines (Bot API parameters, SQL values) stay off: no answer, name or text.
    for private in (NAME, "ottilie_q", "trifft eher nicht zu", "8271"):
        assert private not in log, f"{private!r} in the log:\n{log[-3000:]}"


async def test_the_token_reaches_the_logs_webhook_secret_at_debug_level(
    server: BotApiServer, database: Path, tmp_path: Path
) -> None:
    port = free_port()
    env = webhook_env(server, database, port, LOG_LEVEL="DEBUG", WEBHOOK_SECRET=WEBHOOK_SECRET)
    log_file = tmp_path / "bot.log"
    bot = BotProcess(server, env, log=log_file)
    try:
        await bot.start_webhook()
        assert server.webhook["secret_token"] == WEBHOOK_SECRET
        await converse(server)
    finally:
        assert await bot.terminate() == 0
    log = log_file.read_text(errors="replace")
    assert " DEBUG " in log and "Traceback" not in log
    assert_no_secrets(log)


async def test_the_token_reaches_the_logs_when_telegram_rejects_it(database: Path) -> None:
    async with BotApiServer(token="654321:the-only-token-this-server-accepts") as server:
        env = bot_env(server, database, LOG_LEVEL="DEBUG")
        result = await run_to_exit(env, timeout=20)
    assert result.code == 1, result
    assert result.seconds < 10
    assert "Traceback" not in result.stderr, result.stderr
    assert_no_secrets(result.stderr)
    assert result.lines[-1].startswith("Start-up error: Telegram rejected BOT_TOKEN"), result
    assert "@BotFather" in result.lines[-1]
    assert not [line for line in result.lines if " ERROR " in line or "CRITICAL" in line]


async def test_unreachable_telegram_at_start_up_is_retried_then_one_line(database: Path) -> None:
    env = {
        "BOT_TOKEN": TOKEN,
        **PRIVACY,
        "TELEGRAM_BASE_URL": f"http://127.0.0.1:{free_port()}",
        "DATABASE_PATH": str(database),
        "LOG_LEVEL": "INFO",
        # Long enough for two pauses (1 s, 2 s) even when each attempt is slow on a busy machine.
        "TELEGRAM_STARTUP_TIMEOUT": "5",
    }
    result = await run_to_exit(env, timeout=30)
    assert result.code == 1, result
    assert 4.5 < result.seconds < 20, result.seconds
    assert "Traceback" not in result.stderr, result.stderr
    assert_no_secrets(result.stderr)
    retries = [line for line in result.lines if "trying again in" in line]
    assert len(retries) >= 2, result.stderr  # 1 s, then 2 s
    assert result.lines[-1].startswith("Start-up error: Telegram cannot be reached"), result
    assert "HTTPS_PROXY" in result.lines[-1]


async def test_the_token_reaches_the_logs_even_with_every_call_logged(
    server: BotApiServer, database: Path, tmp_path: Path
) -> None:
    """LOG_CALLS=true turns the libraries' per-call lines on (with the Bot API URLs in
    them): the filter replaces the token there too."""
    env = bot_env(server, database, LOG_LEVEL="DEBUG", LOG_CALLS="true")
    log = await log_of_a_run(server, env, tmp_path / "bot.log", lambda: converse(server))
    assert_no_secrets(log)
    assert f"/bot{REDACTED}/getMe" in log  # the URL was logged, with the token replaced
    assert "trifft eher nicht zu" in log  # and the per-call lines are really on


def test_redactor_covers_arguments_and_exception_text() -> None:
    redactor = Redactor([TOKEN, WEBHOOK_SECRET, None])
    try:
        raise RuntimeError(f"POST https://api.telegram.org/bot{quote(TOKEN, safe='')}/getMe")
    except RuntimeError:
        record = logging.LogRecord(
            "x",
            logging.ERROR,
            __file__,
            1,
            "url %s secret %s",
            (TOKEN, WEBHOOK_SECRET),
            sys.exc_info(),
        )
    assert redactor.filter(record)
    text = logging.Formatter().format(record)
    assert_no_secrets(text)
    assert text.count(REDACTED) == 3 and "RuntimeError" in text
