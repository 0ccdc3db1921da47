"""Composition root: builds storage, catalog, service and the Telegram application."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from telegram import BotCommand, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import AIORateLimiter, Application, Defaults

from bot.catalog import Catalog
from bot.config import Settings
from bot.group_handlers import GroupHandlers
from bot.groups import GroupDesk, GroupPolicy
from bot.handlers import SelfCheckHandlers
from bot.messenger import Messenger
from bot.service import SelfCheck
from bot.storage import Storage
from bot.texts import load_texts

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


def build_application(settings: Settings, core: Core) -> Application:
    assert settings.token is not None
    app = (
        Application.builder()
        .token(settings.token)
        .base_url(settings.base_url)
        .base_file_url(settings.base_file_url)
        .defaults(Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)))
        .rate_limiter(AIORateLimiter(max_retries=5))
        .concurrent_updates(64)
        .post_init(_post_init(core))
        .build()
    )
    messenger = Messenger(app.bot, core.service)
    # Group handlers first: their command names and button patterns must win.
    GroupHandlers(core.desk, messenger, settings.admin_ids).register(app)
    SelfCheckHandlers(core.service, messenger, core.desk).register(app)
    return app


def _post_init(core: Core):
    async def post_init(app: Application) -> None:
        core.desk.bot_username = app.bot.username
        descriptions = core.service.t.section("commands")
        await app.bot.set_my_commands(
            [BotCommand(name, text) for name, text in descriptions.items()]
        )

    return post_init


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    """Run the bot with long polling until `stop` is set, then shut down cleanly."""
    core = await build_core(settings)
    try:
        app = build_application(settings, core)
        async with app:
            await app.start()
            assert app.updater is not None
            await app.updater.start_polling(
                allowed_updates=Update.ALL_TYPES, poll_interval=0.0, timeout=10
            )
            log.info("bot @%s is polling", app.bot.username)
            await stop.wait()
            log.info("shutting down")
            await app.updater.stop()
            await app.stop()
    finally:
        await core.close()
