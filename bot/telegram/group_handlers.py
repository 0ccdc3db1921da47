"""Handlers for coordinators: create groups, list them, act on them, and the join dialogue."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CommandHandler, ContextTypes, filters

from bot.app.groups import GroupDesk
from bot.telegram.handlers import PrefixButtons, command_name, user_of
from bot.telegram.messenger import Messenger

COMMAND_ACTIONS = {"groupreport": "r", "closegroup": "c", "opengroup": "o", "newround": "n"}


class GroupHandlers:
    def __init__(self, desk: GroupDesk, messenger: Messenger, admin_ids: frozenset[int]) -> None:
        self.desk = desk
        self.messenger = messenger
        self.admin_ids = admin_ids

    def register(self, app: Application) -> None:
        """Registered before the conversation's handlers so their patterns win."""
        private = filters.ChatType.PRIVATE
        app.add_handler(CommandHandler("newgroup", self.new_group, filters=private))
        app.add_handler(CommandHandler("groups", self.list_groups, filters=private))
        app.add_handler(CommandHandler(list(COMMAND_ACTIONS), self.group_command, filters=private))
        app.add_handler(PrefixButtons(self.press_group, pattern=r"^g:"))
        app.add_handler(PrefixButtons(self.press_join, pattern=r"^[jp]:"))

    async def new_group(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/newgroup <name>: a group, its invitation link and a QR code for print."""
        user = user_of(update)
        name = " ".join(context.args or [])
        turn = await self.desk.new_group(user, name, is_admin=user.user_id in self.admin_ids)
        await self.messenger.deliver(user.chat_id, turn)

    async def list_groups(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/groups: the coordinator's groups with joined, started and completed counts."""
        user = user_of(update)
        await self.messenger.deliver(user.chat_id, await self.desk.list_groups(user))

    async def group_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/groupreport, /closegroup, /opengroup, /newround: for one group or after a choice."""
        user = user_of(update)
        turn = await self.desk.choose_or_run(user, COMMAND_ACTIONS[command_name(update)])
        await self.messenger.deliver(user.chat_id, turn)

    async def press_group(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A group action button; the coordinator check happens on every press."""
        query = update.callback_query
        assert query is not None and query.data is not None
        user = user_of(update)
        parts = query.data.split(":")
        if len(parts) == 3 and parts[2].isdigit():
            turn = await self.desk.act(user, parts[1], int(parts[2]))
        else:
            turn = await self.desk.act(user, "?", -1)
        await self.messenger.deliver(user.chat_id, turn, query=query)

    async def press_join(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Consent and perspective of a pending join."""
        query = update.callback_query
        assert query is not None and query.data is not None
        user = user_of(update)
        message_id = query.message.message_id if query.message else None
        turn = await self.desk.press_join(user, query.data)
        await self.messenger.deliver(user.chat_id, turn, origin=message_id, query=query)
