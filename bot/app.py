"""Composition root: builds storage, catalog, service and the Telegram application."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from telegram import BotCommand, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import AIORateLimiter, Application, Defaults

from bot.admin_handlers import AdminHandlers, publish_admin_commands
from bot.catalog import Catalog
from bot.config import Settings
from bot.group_handlers import GroupHandlers
from bot.groups import GroupDesk, GroupPolicy
from bot.handlers import SelfCheckHandlers
from bot.locks import PerChatUpdateProcessor
from bot.messenger import Messenger
from bot.reminder_handlers import ReminderHandlers
from bot.reminders import ReminderPolicy, Reminders
from bot.service import SelfCheck
from bot.storage import Storage
from bot.texts import load_texts
from bot.webhook_guard import limit_request_bodies

log = logging.getLogger(__name__)


@dataclass
class Core:
    """Everything that is the same for Telegram and the console chat."""

    storage: Storage
    catalog: Catalog
    service: SelfCheck
    desk: GroupDesk

    async def close(self) -> None:
        await self.storage.close()


async def build_core(settings: Settings) -> Core:
    """Open the database and load the questionnaire (raises `QuestionnaireInvalid`)."""
    storage = await Storage.open(settings.database_path)
    try:
        catalog = await Catalog.load(storage, settings.questionnaire_path)
    except BaseException:
        await storage.close()
        raise
    service = SelfCheck(storage, catalog, load_texts())
    policy = GroupPolicy(settings.group_creation, settings.group_min_size)
    return Core(storage, catalog, service, GroupDesk(service, policy, settings.bot_username))


def build_application(settings: Settings, core: Core) -> tuple[Application, Messenger]:
    assert settings.token is not None
    builder = Application.builder()
    if settings.https_proxy:
        # Both connection pools (getUpdates has its own) go through the operator's proxy.
        builder = builder.proxy(settings.https_proxy).get_updates_proxy(settings.https_proxy)
    app = (
        builder.token(settings.token)
        .base_url(settings.base_url)
        .base_file_url(settings.base_file_url)
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)
            )
        )
        .rate_limiter(AIORateLimiter(max_retries=5))
        .concurrent_updates(PerChatUpdateProcessor(core.service.locks, max_concurrent_updates=64))
        .build()
    )
    messenger = Messenger(app.bot, core.service)
    # Order matters: the first matching handler wins. Admin commands and buttons come first so
    # they are never shadowed; then the groups' and reminders' commands and button patterns;
    # the conversation last, because it also catches every other command and message.
    AdminHandlers(
        core.service, core.catalog, messenger, settings.admin_ids, settings.group_creation
    ).register(app)
    GroupHandlers(core.desk, messenger, settings.admin_ids).register(app)
    ReminderHandlers(core.service, messenger, ReminderPolicy.from_settings(settings)).register(app)
    SelfCheckHandlers(core.service, messenger, core.desk).register(app)
    return app, messenger


async def publish_profile(app: Application, core: Core, admin_ids: frozenset[int]) -> None:
    """The bot's name for invitation links; its commands and descriptions for Telegram's UI."""
    core.desk.bot_username = app.bot.username
    descriptions = core.service.t.section("commands")
    commands = [BotCommand(name, text) for name, text in descriptions.items()]
    await app.bot.set_my_commands(commands)
    # Shown in the empty chat before someone presses "Start", and in the bot's profile.
    await app.bot.set_my_description(core.service.t.plain("bot_description"))
    await app.bot.set_my_short_description(core.service.t.plain("bot_short_description"))
    await publish_admin_commands(app.bot, admin_ids, commands, core.service.t)


async def serve(
    settings: Settings, stop: asyncio.Event, clock: Callable[[], datetime] | None = None
) -> None:
    """Run the bot (long polling, or a webhook if configured) until `stop` is set.

    Shutdown order: the reminder task ends (a reminder being sent is finished), no new updates
    are taken, updates being handled run to completion (`Application.stop` waits for them),
    and only then is the database closed. `clock` replaces the wall clock (tests).
    """
    core = await build_core(settings)
    if clock is not None:
        core.service.clock = clock
    try:
        app, messenger = build_application(settings, core)
        async with app:
            await publish_profile(app, core, settings.admin_ids)
            await app.start()
            policy = ReminderPolicy.from_settings(settings)
            reminders = Reminders(core.service, messenger, policy)
            try:
                await _receive_updates(app, settings)
                reminders.start()
                await stop.wait()
                log.info("shutting down")
            finally:
                await reminders.stop()
                if app.updater is not None and app.updater.running:
                    await app.updater.stop()
                await app.stop()
    finally:
        await core.close()


async def _receive_updates(app: Application, settings: Settings) -> None:
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
            allowed_updates=Update.ALL_TYPES,
        )
        log.info("bot @%s receives updates via webhook", app.bot.username)
        return
    await app.updater.start_polling(allowed_updates=Update.ALL_TYPES, poll_interval=0.0, timeout=10)
    log.info("bot @%s is polling", app.bot.username)
