"""The composition root: every object of the product built once, with exactly its collaborators.

Both transports start here: `python -m bot` with a token builds the Telegram application
around `Core` (see `bot.telegram.app`), without one the console chat does. Nothing else
constructs use cases, and no use case reaches through another object to its internals.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.app import pseudonyms
from bot.app.admin_desk import AdminDesk
from bot.app.groups import GroupDesk, GroupPolicy
from bot.app.locks import PersonLocks
from bot.app.outbox import Outbox
from bot.app.pacing import Pace
from bot.app.ports import Clock, Delivery
from bot.app.records import utc_now
from bot.app.reminders import ReminderPolicy, Reminders
from bot.app.retention import Retention, RetentionPolicy
from bot.app.rights import PrivacyPolicy, RightsDesk
from bot.app.routing import CommandTable, Router
from bot.app.service import SelfCheck
from bot.app.workshop import Workshop
from bot.cli.config import Settings
from bot.store.catalog import Catalog
from bot.store.content import Validate, validate_here
from bot.store.startup_checks import StartupError
from bot.store.storage import Storage
from bot.ui.render import Renderer
from bot.ui.texts import Texts, load_texts
from bot.web.pages import DeskSource, WebPages, link_signer

if TYPE_CHECKING:
    from bot.web.server import WorkshopServer


@dataclass
class Core:
    """The use cases and what they stand on; the same for Telegram and the console chat."""

    storage: Storage
    catalog: Catalog
    texts: Texts
    table: CommandTable
    selfcheck: SelfCheck
    groups: GroupDesk
    router: Router
    reminders: Reminders
    retention: Retention
    pages: WebPages

    async def close(self) -> None:
        await self.storage.close()


def reminder_policy(settings: Settings) -> ReminderPolicy:
    return ReminderPolicy(
        settings.reminder_days, settings.reminder_max, settings.reminder_check_seconds
    )


async def open_storage(
    settings: Settings, validate: Validate = validate_here
) -> tuple[Storage, Catalog]:
    """Open the database and load the questionnaire (raises `QuestionnaireInvalid`)."""
    storage = await Storage.open(settings.database_path)
    try:
        pseudonyms.configure(await storage.export_salt())
        catalog = await Catalog.load(storage, settings.questionnaire_path, validate)
    except BaseException:
        await storage.close()
        raise
    return storage, catalog


def build_core(
    settings: Settings,
    storage: Storage,
    catalog: Catalog,
    notify: Delivery,
    clock: Clock = utc_now,
    bot_username: str | None = None,
) -> Core:
    """Wire the use cases; `notify` delivers to any chat (notices, reminders)."""
    texts = load_texts()
    render = Renderer(texts)
    locks = PersonLocks()
    outbox = Outbox(storage, storage, clock)
    table = CommandTable.from_texts(texts)
    selfcheck = SelfCheck(storage, catalog, texts, render, clock)
    policy = GroupPolicy(
        settings.group_creation, settings.group_min_size, settings.groups_per_coordinator
    )
    groups = GroupDesk(
        storage,
        catalog,
        selfcheck,
        texts,
        policy,
        bot_username or settings.bot_username,
        clock,
    )
    admin = AdminDesk(storage, catalog, texts, render, settings.group_creation, clock)
    pages = WebPages(settings.web_base_url, link_signer(settings))
    workshop = Workshop(
        storage, catalog, groups, selfcheck, pages, texts, settings.web_link_days, clock
    )
    reminders_policy = reminder_policy(settings)
    privacy = PrivacyPolicy(
        settings.privacy_controller,
        settings.privacy_contact,
        settings.retention_months,
        settings.group_min_size,
    )
    rights = RightsDesk(storage, catalog, texts, privacy, clock)
    router = Router(
        table,
        locks,
        outbox,
        selfcheck,
        groups,
        admin,
        storage,
        reminders_policy,
        texts,
        settings.admin_ids,
        notify,
        clock,
        rights,
        workshop=workshop,
    )
    # Reminders and retention notices share one background budget (bot.app.pacing).
    pace = Pace.for_limit(settings.telegram_rate_limit)
    retention = Retention(
        storage,
        rights,
        texts,
        locks,
        outbox,
        notify,
        RetentionPolicy(settings.retention_months, settings.retention_notice_days),
        clock,
        pace,
    )
    reminders = Reminders(
        storage, catalog, texts, locks, outbox, notify, reminders_policy, clock, retention, pace
    )
    return Core(
        storage, catalog, texts, table, selfcheck, groups, router, reminders, retention, pages
    )


async def start_web_server(settings: Settings, core: Core) -> WorkshopServer | None:
    """The workshop pages' server in this process and event loop; None without WEB_BASE_URL.

    A port another program holds ends start-up with one line instead of a traceback.
    """
    if not core.pages.serves_pages:
        return None
    from bot.web.server import workshop_server  # aiohttp and rendering: only when serving

    source = DeskSource(core.storage, core.groups, core.catalog)
    server = workshop_server(settings, source, core.pages.signer)
    if server is None:
        return None
    try:
        await server.start()
    except OSError as error:
        raise StartupError(
            f"the workshop pages cannot listen on {settings.web_listen}:{settings.web_port} "
            f"({error.strerror or error}); set WEB_PORT to a free port or stop the program "
            "that uses it"
        ) from error
    return server
