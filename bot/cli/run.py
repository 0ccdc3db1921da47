"""Start-up: settings, logging, then the Telegram bot or the console chat."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import sys
from urllib.parse import urlsplit

from bot.cli import collector, early, log_redaction
from bot.cli.config import ConfigError, Settings, load_settings, require_privacy_contact
from bot.cli.instance_lock import InstanceLock
from bot.store.startup_checks import EXIT_STARTUP, StartupError, retry_network
from bot.store.validation import ChildValidator
from flows.loading import QuestionnaireInvalid

log = logging.getLogger(__name__)


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        level=settings.log_level,
        stream=sys.stderr,
    )
    # WeasyPrint warns about every screen-only CSS rule of the workshop page it skips for the
    # PDF: nothing an operator could act on.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    proxy_password = urlsplit(settings.https_proxy).password if settings.https_proxy else None
    log_redaction.install(
        (settings.token, settings.webhook_secret, proxy_password), settings.log_calls
    )


def startup_settings() -> Settings | None:
    """Settings and logging for any entry point; None (after a one-line message) if invalid."""
    try:
        settings = load_settings()
    except ConfigError as error:
        print(f"Configuration error: {error}", file=sys.stderr)
        return None
    configure_logging(settings)
    return settings


def run() -> int:
    settings = startup_settings()
    if settings is None:
        return 2
    try:
        require_privacy_contact(settings)
    except ConfigError as error:
        print(f"Configuration error: {error}", file=sys.stderr)
        return 2
    try:
        if settings.token is None:
            from bot.console import chat

            collector.resume_frozen()  # the console chat's start-up is over here

            if "LOG_LEVEL" not in os.environ:
                # Event logs would interleave with the chat in the same terminal.
                logging.getLogger().setLevel(logging.WARNING)

            return asyncio.run(chat(settings))
        with InstanceLock(settings.database_path):
            asyncio.run(_serve_until_signal(settings))
    except StartupError as error:
        print(f"Start-up error: {error}", file=sys.stderr)
        return EXIT_STARTUP
    except QuestionnaireInvalid as error:
        print("The questionnaire could not be loaded:", file=sys.stderr)
        for problem in error.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # Whoever read the console chat went away (`python -m bot | head`): every answer is
        # stored already. End quietly, and keep the final flush from failing once more.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    finally:
        gc.enable()  # a start-up that failed never reached `collector.resume_frozen`
    return 0


async def _serve_until_signal(settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    # Questionnaires are validated in a child process, so this one never loads pydantic. The
    # first child was started at process start (bot.cli.early), or starts now and gets ready
    # while the imports below run.
    validator = ChildValidator(early.take_validation_child())
    validator.warm_up()
    try:
        # A network failure before the bot serves (getMe, the command menus) is retried; once
        # it polls, PTB itself retries failed requests.
        await retry_network(
            lambda: _attempt(settings, stop, validator), settings.telegram_startup_timeout, stop
        )
    finally:
        validator.close()


async def _attempt(settings: Settings, stop: asyncio.Event, validator: ChildValidator) -> None:
    from bot.telegram.app import serve

    try:
        await serve(settings, stop, ready=_started, validate=validator)
    except BaseException:
        collector.thaw()  # the failed attempt's objects are garbage (see bot.cli.collector)
        raise


def _started() -> None:
    frozen = collector.resume_frozen()
    log.debug("start-up done: %d objects frozen out of garbage collection", frozen)
