"""Telegram commands for the bot's operators (ADMIN_IDS): reset, reload, stats, export, coordinator.

Only admins reach these handlers (a `filters.User` filter); the same command names from
anyone else get exactly the answer to an unknown command, so nothing about them is revealed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

from telegram import Bot, BotCommand, BotCommandScopeChat, CallbackQuery, Update
from telegram.error import TelegramError
from telegram.ext import Application, CommandHandler, ContextTypes, filters

from bot.app.admin import Admin, Person
from bot.app.catalog import Catalog
from bot.app.service import SelfCheck, Turn
from bot.store.storage import SessionRecord
from bot.telegram.handlers import PrefixButtons, user_of
from bot.telegram.messenger import Messenger
from bot.ui.texts import Html, Texts
from bot.ui.views import Attachment, Button, Reply, View, rows, split_text
from flows.loading import QuestionnaireInvalid
from flows.questionnaire import Questionnaire

log = logging.getLogger(__name__)

BUTTON_PREFIX = "adm:"
PROBLEMS_SHOWN = 30

Callback = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]


async def publish_admin_commands(
    bot: Bot, admin_ids: frozenset[int], normal: list[BotCommand], t: Texts
) -> None:
    """Each admin's own command menu: the normal commands plus the admin ones."""
    extra = [BotCommand(name, text) for name, text in t.section("admin_commands").items()]
    for admin_id in sorted(admin_ids):
        try:
            await bot.set_my_commands([*normal, *extra], scope=BotCommandScopeChat(admin_id))
        except TelegramError as error:  # e.g. the admin has never opened the bot
            log.warning("could not set the admin command menu for %s: %s", admin_id, error)


class AdminButtons(PrefixButtons):
    """Admin buttons (prefix "adm:") only for admins; others fall through to the usual handlers."""

    def __init__(self, admin_ids: frozenset[int], callback: Callback) -> None:
        super().__init__(callback, pattern=rf"^{BUTTON_PREFIX}")
        self.admin_ids = admin_ids

    def check_update(self, update: object) -> bool | object | None:
        if not isinstance(update, Update) or update.effective_user is None:
            return None
        if update.effective_user.id not in self.admin_ids:
            return None
        return super().check_update(update)


class AdminHandlers:
    def __init__(
        self,
        service: SelfCheck,
        catalog: Catalog,
        messenger: Messenger,
        admin_ids: frozenset[int],
        group_creation: str = "anyone",
    ) -> None:
        self.service = service
        self.catalog = catalog
        self.messenger = messenger
        self.admin_ids = admin_ids
        self.group_creation = group_creation
        self.t = service.t
        self.admin = Admin(service.storage, catalog.get, clock=service.clock)

    def register(self, app: Application) -> None:
        """Registered before every other handler, so admins' commands are never shadowed."""
        private = filters.ChatType.PRIVATE
        admins = private & filters.User(user_id=self.admin_ids)
        app.add_handler(CommandHandler("reset", self.reset, filters=admins))
        app.add_handler(CommandHandler("reload", self.reload, filters=admins))
        app.add_handler(CommandHandler("stats", self.stats, filters=admins))
        app.add_handler(CommandHandler("export", self.export, filters=admins))
        app.add_handler(CommandHandler("coordinator", self.coordinator, filters=admins))
        # Anyone else's /reset etc. falls through to the conversation's catch-all, which
        # answers exactly as to any unknown command and so reveals nothing.
        app.add_handler(AdminButtons(self.admin_ids, self.press))

    # commands -----------------------------------------------------------------------------

    async def reset(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/reset <id or @username>: after confirmation, restart that person's check."""
        admin = user_of(update)
        person = await self._target(admin.chat_id, "reset", context.args)
        if person is None:
            return
        record = await self.service.storage.current_session(person.user_id)
        if record is None:
            await self._say(admin.chat_id, self.t("admin_reset_no_session", who=person.label))
            return
        group = await self.service.storage.group(record.group_id) if record.group_id else None
        text = self.t(
            "admin_reset_confirm",
            who=person.label,
            answered=len(record.state.answers),
            started=_date(record.started_at),
            group=self.t("admin_reset_group", name=group.name) if group else Html(""),
            same_group=self.t("admin_reset_same_group") if group else Html(""),
        )
        buttons = rows(
            Button(
                self.t.plain("admin_button_reset_confirm"),
                f"{BUTTON_PREFIX}r:{person.user_id}:{record.id}",
            ),
            Button(self.t.plain("admin_button_cancel"), f"{BUTTON_PREFIX}n"),
        )
        await self._say(admin.chat_id, text, buttons)

    async def reload(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/reload: read the questionnaire file again; on errors the running version stays."""
        admin = user_of(update)
        before = self.catalog.active
        try:
            q = await self.catalog.reload()
        except QuestionnaireInvalid as error:
            await self.admin.audit(
                str(admin.user_id), "reload", None, f"rejected: {len(error.problems)} problem(s)"
            )
            await self._send_all(admin.chat_id, self._problems(before, error))
            return
        await self.admin.audit(
            str(admin.user_id), "reload", None, f"{before.content_hash} -> {q.content_hash}"
        )
        text = self.t(
            "admin_reload_done",
            title=q.title,
            version=q.version,
            hash=q.content_hash,
            unchanged=self.t("admin_reload_unchanged")
            if q.content_hash == before.content_hash
            else Html(""),
            fields=len(q.fields),
            questions=len(q.questions),
        )
        await self._say(admin.chat_id, text)

    async def stats(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/stats: people, checks, completion per field, groups, activity."""
        admin = user_of(update)
        stats = await self.admin.stats(str(admin.user_id), self.catalog.active)
        lines = [
            self.t(
                "admin_stats_field",
                number=number,
                title=field.title,
                complete=field.complete,
                current=stats.current,
            )
            for number, field in enumerate(stats.fields, start=1)
        ]
        values = {k: v for k, v in vars(stats).items() if k != "fields"}
        text = self.t("admin_stats", **values, fields=Html("\n".join(lines)))
        await self._send_all(admin.chat_id, [text])

    async def export(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/export: every answer as a pseudonymous CSV document."""
        admin = user_of(update)
        export = await self.admin.export(str(admin.user_id))
        if export.rows == 0:
            await self._say(admin.chat_id, self.t("admin_export_empty"))
            return
        stamp = self.service.clock().strftime("%Y-%m-%d")
        caption = self.t("admin_export_caption", rows=export.rows, sessions=export.sessions)
        attachment = Attachment("document", f"selbstcheck-export-{stamp}.csv", export.content)
        await self.messenger.send(admin.chat_id, View(caption, attachment=attachment))

    async def coordinator(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/coordinator <id or @username>: allow that person to create groups."""
        admin = user_of(update)
        args = context.args or []
        person = await self.admin.find(args[0]) if args else None
        if person is None and args and args[0].strip().isdigit():
            person = Person(int(args[0]))  # may not have opened the bot yet; the grant waits
        if person is None:
            await self._say(admin.chat_id, self._target_problem("coordinator", args))
            return
        await self.admin.grant_coordinator(str(admin.user_id), admin.user_id, person)
        text = self.t("admin_coordinator_done", who=person.label)
        if self.group_creation != "coordinators":
            text = Html(text + self.t("admin_coordinator_note_anyone"))
        await self._say(admin.chat_id, text)

    # buttons ------------------------------------------------------------------------------

    async def press(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The reset confirmation (adm:r:<user>:<session>) or its cancellation (adm:n)."""
        query = update.callback_query
        assert query is not None and query.data is not None
        admin = user_of(update)
        parts = query.data.removeprefix(BUTTON_PREFIX).split(":")
        if len(parts) == 3 and parts[0] == "r" and parts[1].isdigit() and parts[2].isdigit():
            text = await self._confirm_reset(admin.user_id, int(parts[1]), int(parts[2]))
        else:
            text = self.t("admin_reset_cancelled")
        await self._edit(admin.chat_id, query, text)

    async def _confirm_reset(self, admin_id: int, user_id: int, session_id: int) -> Html:
        person = await self.admin.find(str(user_id))
        if person is None:
            return self.t("admin_target_unknown", target=user_id)
        async with self.service.locked(user_id):
            old = await self.service.storage.session(session_id)
            fresh = await self.admin.reset(
                str(admin_id), person, self.catalog.active.content_hash, session_id
            )
        if fresh is None:
            return self.t("admin_reset_stale")
        reached = await self._notify(person, fresh, old.message_id if old else None)
        return self.t(
            "admin_reset_done" if reached else "admin_reset_done_unreached", who=person.label
        )

    async def _notify(self, person: Person, fresh: SessionRecord, old_live: int | None) -> bool:
        """Tell the person, with the welcome to begin anew; False if they could not be reached."""
        if person.chat_id is None:
            return False
        q = await self.catalog.get(fresh.content_hash)
        reply = Reply(
            send=[View(self.t("admin_reset_notice")), self.service.render.welcome(q, fresh.state)]
        )
        try:
            await self.messenger.deliver(person.chat_id, Turn(reply, fresh.id, old_live))
        except TelegramError as error:
            log.info("chat %s: reset notice not delivered (%s)", person.chat_id, error)
            return False
        return not await self.service.storage.is_blocked(person.chat_id)

    # helpers ------------------------------------------------------------------------------

    async def _target(self, chat_id: int, command: str, args: list[str] | None) -> Person | None:
        person = await self.admin.find(args[0]) if args else None
        if person is None:
            await self._say(chat_id, self._target_problem(command, args or []))
        return person

    def _target_problem(self, command: str, args: list[str]) -> Html:
        if not args:
            return self.t("admin_target_missing", command=command)
        return self.t("admin_target_unknown", target=args[0])

    def _problems(self, running: Questionnaire, error: QuestionnaireInvalid) -> list[str]:
        lines = [
            self.t(
                "admin_reload_failed",
                version=running.version,
                hash=running.content_hash,
                count=len(error.problems),
            )
        ]
        for problem in error.problems[:PROBLEMS_SHOWN]:
            lines.append(
                self.t(
                    "admin_reload_problem",
                    source=problem.source,
                    line=f":{problem.line}" if problem.line else "",
                    path=problem.path or "–",
                    message=problem.message,
                )
            )
        if len(error.problems) > PROBLEMS_SHOWN:
            lines.append(self.t("admin_reload_more", count=len(error.problems) - PROBLEMS_SHOWN))
        return ["\n".join(lines)]

    async def _say(
        self, chat_id: int, text: str, buttons: tuple[tuple[Button, ...], ...] = ()
    ) -> None:
        await self.messenger.send(chat_id, View(text, buttons))

    async def _send_all(self, chat_id: int, texts: list[str]) -> None:
        for text in texts:
            for chunk in split_text(text):
                await self.messenger.send(chat_id, View(chunk))

    async def _edit(self, chat_id: int, query: CallbackQuery, text: str) -> None:
        origin = query.message.message_id if query.message else None
        await self.messenger.deliver(chat_id, Turn(Reply(edit=View(text))), origin, query)


def _date(iso: str) -> str:
    try:
        return datetime.fromisoformat(iso).strftime("%d.%m.%Y")
    except ValueError:
        return iso
