"""Start-up: settings, logging, then the Telegram bot or the console chat."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys

from bot.cli.config import ConfigError, Settings, load_settings
from flows.loading import QuestionnaireInvalid


def configure_logging(level: str) -> None:
    logging.basicConfig(
        format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=level, stream=sys.stderr
    )
    # httpx logs every request URL at INFO, and those URLs contain the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)


def startup_settings() -> Settings | None:
    """Settings and logging for any entry point; None (after a one-line message) if invalid."""
    try:
        settings = load_settings()
    except ConfigError as error:
        print(f"Configuration error: {error}", file=sys.stderr)
        return None
    configure_logging(settings.log_level)
    return settings


def run() -> int:
    settings = startup_settings()
    if settings is None:
        return 2
    try:
        if settings.token is None:
            from bot.console import chat

            if "LOG_LEVEL" not in os.environ:
                # Event logs would interleave with the chat in the same terminal.
                logging.getLogger().setLevel(logging.WARNING)

            return asyncio.run(chat(settings))
        asyncio.run(_serve_until_signal(settings))
    except QuestionnaireInvalid as error:
        print("The questionnaire could not be loaded:", file=sys.stderr)
        for problem in error.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


async def _serve_until_signal(settings: Settings) -> None:
    from bot.telegram.app import serve

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await serve(settings, stop)
