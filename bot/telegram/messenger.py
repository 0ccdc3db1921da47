"""Sends a `Turn` to Telegram: edits in place, falls back to sending, keeps one live keyboard.

Telegram specifics live here and only here: "message is not modified" is harmless, an edit
that fails becomes a new message, network hiccups are retried, and a person who blocked the
bot is recorded instead of being retried forever.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from telegram import (
    Bot,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    Message,
)
from telegram.error import BadRequest, Forbidden, NetworkError, TimedOut

from bot.app.service import SelfCheck, Turn
from bot.ui.views import View

log = logging.getLogger(__name__)
T = TypeVar("T")

NETWORK_ATTEMPTS = 4


def keyboard(view: View) -> InlineKeyboardMarkup | None:
    if not view.buttons:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.label, callback_data=b.data) for b in row] for row in view.buttons]
    )


class Messenger:
    def __init__(self, bot: Bot, service: SelfCheck) -> None:
        self.bot = bot
        self.service = service

    async def deliver(
        self,
        chat_id: int,
        turn: Turn,
        origin: int | None = None,
        query: CallbackQuery | None = None,
    ) -> None:
        """Show the turn; a person who blocked the bot is recorded once, never retried."""
        try:
            await self._deliver(chat_id, turn, origin, query)
        except Forbidden:
            await self._blocked(chat_id)

    async def _deliver(
        self, chat_id: int, turn: Turn, origin: int | None, query: CallbackQuery | None
    ) -> None:
        reply = turn.reply
        sends = list(reply.send)
        new_live: int | None = None
        if query is not None:
            # Answered first and on its own: sent together with the edit, a 429 for one would
            # find the other already on its way, inside the retry_after window.
            await self._answer(query, reply.toast)
        if reply.edit is not None:
            if origin is not None and await self._edit(chat_id, origin, reply.edit):
                if reply.edit.buttons:
                    new_live = origin
            else:
                sends.insert(0, reply.edit)
        for view in sends:
            message = await self.send(chat_id, view)
            if message is None:
                return
            if view.buttons:
                new_live = message.message_id
        if new_live is not None and new_live != turn.live_message_id and turn.session_id:
            if turn.live_message_id and turn.live_message_id != origin:
                await self._strip_keyboard(chat_id, turn.live_message_id)
            await self.service.set_live_message(turn.session_id, new_live)
        if turn.session_id and reply.edit is None and origin not in (None, new_live):
            # A press on an old message was answered below it: its buttons would stay stale.
            await self._strip_keyboard(chat_id, origin)

    async def send(self, chat_id: int, view: View) -> Message | None:
        """Send one view; None if the person has blocked the bot (then recorded)."""
        try:
            return await self._retrying(lambda: self._send_once(chat_id, view))
        except Forbidden:
            await self._blocked(chat_id)
            return None

    async def _blocked(self, chat_id: int) -> None:
        log.info("chat %s blocked the bot; not retrying", chat_id)
        await self.service.storage.mark_blocked(chat_id, self.service.clock())

    async def _send_once(self, chat_id: int, view: View) -> Message:
        markup = keyboard(view)
        file = view.attachment
        if file is None:
            return await self.bot.send_message(chat_id, view.text, reply_markup=markup)
        upload = InputFile(file.content, filename=file.filename)
        if file.kind == "photo":
            return await self.bot.send_photo(
                chat_id, upload, caption=view.text, reply_markup=markup
            )
        return await self.bot.send_document(chat_id, upload, caption=view.text, reply_markup=markup)

    async def _edit(self, chat_id: int, message_id: int, view: View) -> bool:
        try:
            await self._retrying(
                lambda: self.bot.edit_message_text(
                    view.text, chat_id=chat_id, message_id=message_id, reply_markup=keyboard(view)
                )
            )
        except BadRequest as error:
            if "not modified" in error.message.lower():
                return True
            log.info(
                "chat %s: edit of message %s failed (%s); sending instead",
                chat_id,
                message_id,
                error.message,
            )
            return False
        return True

    async def _strip_keyboard(self, chat_id: int, message_id: int) -> None:
        """The older message keeps its text but loses buttons that would only be stale."""
        try:
            await self._retrying(
                lambda: self.bot.edit_message_reply_markup(chat_id=chat_id, message_id=message_id)
            )
        except (BadRequest, Forbidden) as error:
            log.debug("chat %s: could not remove old keyboard: %s", chat_id, error)

    async def _answer(self, query: CallbackQuery, toast: str | None) -> None:
        # Telegram shows a spinner on the button until the query is answered, even if silently.
        try:
            await self._retrying(lambda: query.answer(toast[:200] if toast else None))
        except BadRequest as error:
            log.debug("callback query could not be answered: %s", error.message)

    @staticmethod
    async def _retrying(call: Callable[[], Awaitable[T]]) -> T:
        """Retry timeouts and dropped connections; Telegram's own refusals are not retried.

        Flood control (429 with retry_after) is AIORateLimiter's job, one layer below.
        """
        for attempt in range(1, NETWORK_ATTEMPTS + 1):
            try:
                return await call()
            except (BadRequest, Forbidden):
                raise
            except (TimedOut, NetworkError):
                if attempt == NETWORK_ATTEMPTS:
                    raise
                await asyncio.sleep(0.2 * 2**attempt)
        raise AssertionError("unreachable")
