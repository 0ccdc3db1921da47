"""The Telegram application: built around the core from the composition root, then served.

Built here, once: the python-telegram-bot `Application` (HTML defaults, the configurable rate
limiter, the fair update processor, a bot that skips updates it cannot parse), the messenger,
and the handlers. Telegram is asked only for the update types the bot handles.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import httpx
from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import AIORateLimiter, Application, Defaults, ExtBot
from telegram.request import HTTPXRequest

from bot.app.ports import Clock
from bot.app.records import utc_now
from bot.cli.compose import Core, build_core, open_storage, start_web_server
from bot.cli.config import Settings
from bot.store.content import Validate, validate_here
from bot.telegram.handlers import CommandMenus, Handlers, bot_commands
from bot.telegram.messenger import Messenger
from bot.telegram.update_processor import FairUpdateProcessor
from bot.telegram.webhook_guard import limit_request_bodies

log = logging.getLogger(__name__)

# New messages and button presses: everything else (edits, channel posts, reactions…) is
# neither asked for nor handled.
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY]


class TolerantBot(ExtBot[Any]):
    """A bot that skips an update it cannot parse instead of stopping long polling, and
    parses only what the self-check reads.

    python-telegram-bot parses a whole getUpdates batch at once; one malformed update makes
    it fail, and the updater fetches the same batch again, forever. Here each update is
    parsed on its own; one that does not parse is logged once and replaced by an empty
    update with the same id, which no handler takes, so the offset moves on.

    Each update is parsed once (it is the bot's largest CPU cost per press after the HTTP
    calls): `_post` parses the batch and hands PTB's own parse an empty list, and
    `get_updates` returns what `_post` parsed.

    The message Telegram sends back for an edit is not parsed at all: the messenger only
    needs to know that the edit succeeded (a refusal still raises), and parsing the edited
    question with its entities and keyboard into PTB's objects took about 0.3 ms per press,
    as long as the self-check's own work for an answer (issue 15). PTB's edit methods return
    `Message | bool`; they return True here, as Telegram itself does for inline messages.
    """

    # Bot API methods whose result (the edited message) nobody reads.
    UNREAD_RESULTS = frozenset({"editMessageText", "editMessageReplyMarkup"})

    _parsed: tuple[Update, ...] = ()

    async def get_updates(self, *args: Any, **kwargs: Any) -> tuple[Update, ...]:
        await super().get_updates(*args, **kwargs)
        updates, self._parsed = self._parsed, ()
        for update in updates:  # ExtBot did this for the empty list PTB parsed
            self.insert_callback_data(update)
        return updates

    async def _post(self, endpoint: str, *args: Any, **kwargs: Any) -> Any:
        result = await super()._post(endpoint, *args, **kwargs)
        if endpoint in self.UNREAD_RESULTS:
            return True
        if endpoint != "getUpdates" or not isinstance(result, list):
            return result
        self._parsed = tuple(self._parsable(raw) for raw in result)
        return []

    def _parsable(self, raw: Any) -> Update:
        try:
            return Update.de_json(raw, self)
        except Exception as error:  # any parse failure: skip exactly this update
            update_id = raw.get("update_id") if isinstance(raw, dict) else None
            log.warning("skipping update %s that cannot be read (%r)", update_id, error)
            return Update.de_json({"update_id": update_id}, self)


def build_application(settings: Settings) -> Application[Any, Any, Any, Any, Any, Any]:
    assert settings.token is not None
    limit = settings.telegram_rate_limit
    tls = {"verify": httpx.create_ssl_context()}
    bot = TolerantBot(
        settings.token,
        base_url=settings.base_url,
        base_file_url=settings.base_file_url,
        defaults=Defaults(
            parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)
        ),
        # 0 lifts the overall limit; retrying after Telegram's 429 (retry_after) always stays.
        rate_limiter=AIORateLimiter(overall_max_rate=limit, max_retries=5),
        # The pool sizes ApplicationBuilder would choose: many calls at once, one long poll.
        # Both connection pools (getUpdates has its own) go through the operator's proxy and
        # share one TLS set-up (loading the CA certificates is a tenth of the start-up).
        request=HTTPXRequest(
            connection_pool_size=256, proxy=settings.https_proxy, httpx_kwargs=tls
        ),
        get_updates_request=HTTPXRequest(
            connection_pool_size=1, proxy=settings.https_proxy, httpx_kwargs=tls
        ),
    )
    return (
        Application.builder()
        .bot(bot)
        .concurrent_updates(FairUpdateProcessor(max_running=64))
        .build()
    )


async def publish_profile(app: Application[Any, Any, Any, Any, Any, Any], core: Core) -> None:
    """Everyone's command menu and the bot's descriptions for Telegram's UI.

    Admins' and coordinators' own menus are set when they write (see `CommandMenus`): a menu
    for a chat that has never written to the bot is refused by Telegram.
    """
    await app.bot.set_my_commands(bot_commands(core.table.menu("everyone")))
    # Shown in the empty chat before someone presses "Start", and in the bot's profile.
    await app.bot.set_my_description(core.texts.plain("bot_description"))
    await app.bot.set_my_short_description(core.texts.plain("bot_short_description"))


async def serve(
    settings: Settings,
    stop: asyncio.Event,
    clock: Clock | None = None,
    ready: Callable[[], None] | None = None,
    validate: Validate = validate_here,
) -> None:
    """Run the bot (long polling, or a webhook if configured) until `stop` is set.

    Shutdown order: the reminder task ends (a reminder being sent is finished), no new updates
    are taken, updates being handled run to completion (`Application.stop` waits for them),
    the workshop pages' server stops, and only then is the database closed. `clock` replaces
    the wall clock (tests); `ready` is called once everything is built, just before the bot
    starts receiving updates (`python -m bot` freezes start-up's objects there); `validate` is
    where questionnaire sources are validated (`python -m bot`: in a child process).
    """
    storage, catalog = await open_storage(settings, validate)
    try:
        app = build_application(settings)
        messenger = Messenger(app.bot)
        async with app:
            core = build_core(
                settings, storage, catalog, messenger, clock or utc_now, app.bot.username
            )
            menus = CommandMenus(app.bot, core.router)
            Handlers(core.router, messenger, menus, core.texts).register(app)
            # The workshop pages share this event loop; a taken port stops start-up here.
            web = await start_web_server(settings, core)
            try:
                await publish_profile(app, core)
                await app.start()
                try:
                    if ready is not None:
                        ready()
                    await _receive_updates(app, settings)
                    core.reminders.start()
                    await stop.wait()
                    log.info("shutting down")
                finally:
                    await core.reminders.stop()
                    if app.updater is not None and app.updater.running:
                        await app.updater.stop()
                    await app.stop()
            finally:
                if web is not None:  # pages read the database: stop serving before it closes
                    await web.stop()
    finally:
        await storage.close()


async def _receive_updates(
    app: Application[Any, Any, Any, Any, Any, Any], settings: Settings
) -> None:
    """Long polling, or a webhook server when WEBHOOK_URL is set (Telegram then pushes)."""
    assert app.updater is not None
    if settings.webhook_url:
        # PTB rejects requests without the matching secret token header with 403, but only
        # after reading the body; Tornado refuses oversized ones before.
        limit_request_bodies()
        await app.updater.start_webhook(
            listen=settings.webhook_listen,
            port=settings.webhook_port,
            url_path=settings.webhook_path,
            webhook_url=settings.webhook_url,
            secret_token=settings.webhook_secret,
            allowed_updates=ALLOWED_UPDATES,
        )
        log.info("bot @%s receives updates via webhook", app.bot.username)
        return
    await app.updater.start_polling(allowed_updates=ALLOWED_UPDATES, poll_interval=0.0, timeout=10)
    log.info("bot @%s is polling", app.bot.username)
