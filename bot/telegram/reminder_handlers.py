"""The /reminders (/erinnerungen) command: switch reminders about an unfinished check off or on."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CommandHandler, ContextTypes, filters

from bot.app.reminders import ReminderPolicy, reminder_command
from bot.app.service import SelfCheck
from bot.telegram.handlers import user_of
from bot.telegram.messenger import Messenger


class ReminderHandlers:
    def __init__(self, service: SelfCheck, messenger: Messenger, policy: ReminderPolicy) -> None:
        self.service = service
        self.messenger = messenger
        self.policy = policy

    def register(self, app: Application) -> None:
        """Registered before the conversation's catch-all command handler."""
        app.add_handler(
            CommandHandler(
                ["reminders", "erinnerungen"], self.command, filters=filters.ChatType.PRIVATE
            )
        )

    async def command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        user = user_of(update)
        argument = context.args[0] if context.args else ""
        view = await reminder_command(self.service, self.policy, user, argument)
        await self.messenger.send(user.chat_id, view)
