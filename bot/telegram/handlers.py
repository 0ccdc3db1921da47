"""The three thin Telegram handlers (command, press, other): decode, call `Router.handle`.

Only new messages in private chats and button presses reach them (edited messages are not
asked for and filtered out besides); a command addressed to another bot (`/hilfe@OtherBot`)
is ignored. Each person's command menu is set the first time they write in this process if
they are an admin (a menu for a chat that never wrote to the bot is refused by Telegram), and
again whenever a turn changes their role (they created or joined a group as coordinator).
"""

from __future__ import annotations

import html
import logging
from typing import Any

from telegram import Bot, BotCommand, BotCommandScopeChat, Update
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.app.ports import StoreBusy, Turn
from bot.app.pseudonyms import alias
from bot.app.records import UserRef
from bot.app.routing import Command, CommandSpec, Press, Router, Text
from bot.telegram.messenger import Messenger
from bot.ui.texts import Texts
from bot.ui.views import View

log = logging.getLogger(__name__)

# New messages in private chats only: edits of old messages are no new input.
PRIVATE_MESSAGES = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE


def user_of(update: Update) -> UserRef:
    user = update.effective_user
    chat = update.effective_chat
    assert user is not None and chat is not None
    return UserRef(user.id, chat.id, user.username, user.first_name)


def decode_command(text: str, bot_username: str | None) -> Command | None:
    """ "/Ergebnis@SomeBot extra" -> Command("ergebnis", "extra"); None if for another bot."""
    head, _, argument = text.strip().partition(" ")
    name, _, addressee = head.lstrip("/").partition("@")
    if addressee and (bot_username is None or addressee.lower() != bot_username.lower()):
        return None
    return Command(name.lower(), argument.strip())


def bot_commands(specs: list[CommandSpec]) -> list[BotCommand]:
    return [BotCommand(spec.name, spec.description) for spec in specs]


class CommandMenus:
    """Sets a person's own command menu when they need one (see module docstring)."""

    def __init__(self, bot: Bot, router: Router) -> None:
        self.bot = bot
        self.router = router
        self._set: set[int] = set()

    async def after(self, person: UserRef, turn: Turn) -> None:
        first_admin_contact = self.router.is_admin(person) and person.chat_id not in self._set
        if not (turn.menu_changed or first_admin_contact):
            return
        menu = bot_commands(await self.router.menu_for(person))
        try:
            await self.bot.set_my_commands(menu, scope=BotCommandScopeChat(person.chat_id))
        except TelegramError as error:
            log.warning(
                "could not set the command menu of person %s: %s", alias(person.user_id), error
            )
            return
        self._set.add(person.chat_id)


class Handlers:
    """The conversation's three handlers and the error handler; one instance per application."""

    def __init__(self, router: Router, messenger: Messenger, menus: CommandMenus, texts: Texts):
        self.router = router
        self.messenger = messenger
        self.menus = menus
        self.t = texts

    def register(self, app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        # Order matters: commands first, so "/..." never counts as other input.
        app.add_handler(MessageHandler(PRIVATE_MESSAGES & filters.COMMAND, self.command))
        app.add_handler(CallbackQueryHandler(self.press))
        app.add_handler(MessageHandler(PRIVATE_MESSAGES & ~filters.COMMAND, self.other))
        app.add_error_handler(self.error)

    async def command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Every command; the routing table knows them, unknown ones get the help text."""
        message = update.effective_message
        assert message is not None and message.text is not None
        decoded = decode_command(message.text, context.bot.username)
        if decoded is None:
            log.info("person %s: command for another bot ignored", alias(message.chat_id))
            return
        person = user_of(update)
        turn = await self.router.handle(person, decoded, self.messenger)
        await self.menus.after(person, turn)

    async def press(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A button press; the stored session decides whether it still applies."""
        query = update.callback_query
        assert query is not None
        person = user_of(update)
        message_id = query.message.message_id if query.message else None
        press = Press(query.data, message_id)
        turn = await self.router.handle(person, press, self.messenger.for_press(query))
        await self.menus.after(person, turn)

    async def other(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Free text, stickers, photos, voice, documents: a hint and the open question again."""
        person = user_of(update)
        turn = await self.router.handle(person, Text(), self.messenger)
        await self.menus.after(person, turn)

    async def error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log first (so the error is seen even if telling the person fails), then apologise."""
        log.error("error while handling an update", exc_info=context.error)
        if not isinstance(update, Update) or update.effective_chat is None:
            return
        key = "error_busy" if isinstance(context.error, StoreBusy) else "error_generic"
        try:
            if update.callback_query is not None:
                await update.callback_query.answer(self.t.plain(key)[:200], show_alert=True)
            else:
                await self.messenger.send(
                    update.effective_chat.id, View(html.escape(self.t.plain(key)))
                )
        except Exception:  # reporting must never raise from the error handler itself
            log.warning("could not tell person %s about the error", alias(update.effective_chat.id))
