"""python-telegram-bot handlers: parse the update, call the service, let the messenger send."""

from __future__ import annotations

import html
import logging
import sqlite3

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.app.groups import GroupDesk
from bot.app.service import SelfCheck
from bot.store.storage import UserRef
from bot.telegram.messenger import Messenger
from bot.ui.views import View

log = logging.getLogger(__name__)


def command_name(update: Update) -> str:
    """ "/Ergebnis@SomeBot extra" -> "ergebnis"."""
    assert update.effective_message is not None and update.effective_message.text
    return update.effective_message.text.split()[0].lstrip("/").split("@")[0].lower()


class PrefixButtons(CallbackQueryHandler):
    """PTB passes presses without data through any pattern; these take only their prefix."""

    def check_update(self, update: object) -> bool | object | None:
        if isinstance(update, Update) and update.callback_query and not update.callback_query.data:
            return None
        return super().check_update(update)


def user_of(update: Update) -> UserRef:
    user = update.effective_user
    chat = update.effective_chat
    assert user is not None and chat is not None
    return UserRef(user.id, chat.id, user.username, user.first_name)


class SelfCheckHandlers:
    """The conversation's handlers; one instance per application."""

    def __init__(self, service: SelfCheck, messenger: Messenger, desk: GroupDesk) -> None:
        self.service = service
        self.messenger = messenger
        self.desk = desk

    def register(self, app: Application) -> None:
        private = filters.ChatType.PRIVATE
        # Order matters: known commands first, then any other command, then everything else.
        app.add_handler(CommandHandler("start", self.start, filters=private))
        app.add_handler(MessageHandler(private & filters.COMMAND, self.command))
        app.add_handler(CallbackQueryHandler(self.press))
        app.add_handler(MessageHandler(private & ~filters.COMMAND, self.other))
        app.add_error_handler(self.error)

    async def start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/start [token]: welcome (back); with a group's token, the join dialogue."""
        user = user_of(update)
        if context.args:
            turn = await self.desk.start_with_token(user, context.args[0])
        else:
            turn = await self.service.start(user)
        await self.messenger.deliver(user.chat_id, turn)

    async def command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Every other command; unknown ones get the help text."""
        user = user_of(update)
        turn = await self.service.command(user, command_name(update))
        await self.messenger.deliver(user.chat_id, turn)

    async def press(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A button press; the stored session decides whether it still applies."""
        query = update.callback_query
        assert query is not None
        user = user_of(update)
        message_id = query.message.message_id if query.message else None
        turn = await self.service.press(user, query.data, message_id)
        await self.messenger.deliver(user.chat_id, turn, origin=message_id, query=query)

    async def other(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Free text, stickers, photos, voice, documents: a hint and the open question again."""
        user = user_of(update)
        await self.messenger.deliver(user.chat_id, await self.service.other_input(user))

    async def error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log first (so the error is seen even if telling the person fails), then apologise."""
        log.error("error while handling an update", exc_info=context.error)
        if not isinstance(update, Update) or update.effective_chat is None:
            return
        key = (
            "error_busy" if isinstance(context.error, sqlite3.OperationalError) else "error_generic"
        )
        try:
            if update.callback_query is not None:
                await update.callback_query.answer(self.service.t.plain(key)[:200], show_alert=True)
            else:
                await self.messenger.send(
                    update.effective_chat.id, View(html.escape(self.service.t.plain(key)))
                )
        except Exception:  # reporting must never raise from the error handler itself
            log.warning("could not tell chat %s about the error", update.effective_chat.id)
