"""Sends a `Turn` to Telegram: edits in place, falls back to sending, keeps one live keyboard.

Telegram specifics live here and only here: an edit that fails becomes a new message, network
hiccups are retried, a person who blocked the bot is reported instead of being retried forever.
It never writes to the store: `deliver` returns what happened (the message that now carries
the keyboard, or that the chat is blocked) and the use case records it.

Only messages known to carry a keyboard are stripped of it: the session's live message (its
keyboard is live by definition) and a pressed message whose keyboard Telegram itself shows in
the callback query. So no call is ever sent that Telegram would refuse as "not modified".
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
    WebAppInfo,
)
from telegram.error import BadRequest, Forbidden, NetworkError, TimedOut

from bot.app.ports import Delivered, Turn
from bot.app.pseudonyms import alias
from bot.ui.texts import plain_text
from bot.ui.views import Button, View, pieces

log = logging.getLogger(__name__)
T = TypeVar("T")

NETWORK_ATTEMPTS = 4


def keyboard(view: View) -> InlineKeyboardMarkup | None:
    if not view.buttons:
        return None
    return InlineKeyboardMarkup([[_button(b) for b in row] for row in view.buttons])


def _button(button: Button) -> InlineKeyboardButton:
    if button.url is not None and button.web_app:
        return InlineKeyboardButton(button.label, web_app=WebAppInfo(button.url))
    if button.url is not None:
        return InlineKeyboardButton(button.label, url=button.url)
    return InlineKeyboardButton(button.label, callback_data=button.data)


def shows(message: Message, view: View, markup: InlineKeyboardMarkup | None) -> bool:
    """Whether the message already shows exactly this view's text and buttons (`markup`).

    The buttons first: after an answer they differ (they carry the new revision), and
    comparing them is cheaper than reading the text out of its HTML.
    """
    if message.reply_markup != markup:
        return False
    visible = (message.text or message.caption or "").strip()
    return visible == plain_text(view.text).strip()


class Messenger:
    """Delivery to any chat; `for_press` binds it to the button press being answered."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    def for_press(self, query: CallbackQuery) -> PressDelivery:
        return PressDelivery(self, query)

    async def deliver(
        self,
        chat_id: int,
        turn: Turn,
        origin: int | None = None,
        query: CallbackQuery | None = None,
        origin_has_keyboard: bool = False,
    ) -> Delivered:
        """Show the turn; a person who blocked the bot is reported once, never retried."""
        try:
            live = await self._deliver(chat_id, turn, origin, query, origin_has_keyboard)
        except Forbidden:
            log.info("person %s blocked the bot; not retrying", alias(chat_id))
            return Delivered(blocked=True)
        return Delivered(live_message_id=live)

    async def _deliver(
        self,
        chat_id: int,
        turn: Turn,
        origin: int | None,
        query: CallbackQuery | None,
        origin_has_keyboard: bool,
    ) -> int | None:
        reply = turn.reply
        # Telegram's 4096 characters: long views become several messages, buttons on the last.
        sends = [piece for view in reply.send for piece in pieces(view)]
        edit_pieces = pieces(reply.edit) if reply.edit is not None else []
        edit = edit_pieces[0] if edit_pieces else None
        sends[:0] = edit_pieces[1:]
        new_live: int | None = None
        if query is not None:
            # Answered first and on its own: sent together with the edit, a 429 for one would
            # find the other already on its way, inside the retry_after window.
            await self._answer(query, reply.toast)
        pressed = query.message if query is not None else None
        if edit is not None:
            markup = keyboard(edit)
            if isinstance(pressed, Message) and shows(pressed, edit, markup):
                # Already on screen (a double tap): Telegram would refuse it as "not modified".
                edited = True
            else:
                edited = origin is not None and await self._edit(chat_id, origin, edit, markup)
            if not edited:
                sends.insert(0, edit)
            elif edit.buttons:
                new_live = origin
        for view in sends:
            message = await self.send(chat_id, view)
            if view.buttons:
                new_live = message.message_id
        if not turn.session_id:
            return new_live  # group and admin messages keep their buttons for later use
        stripped: set[int] = set()
        old_live = turn.live_message_id
        if new_live is not None and old_live is not None and old_live not in (new_live, origin):
            await self._strip_keyboard(chat_id, old_live)
            stripped.add(old_live)
        live_now = new_live if new_live is not None else old_live
        if (
            origin_has_keyboard
            and reply.edit is None
            and origin is not None
            and origin != live_now
            and origin not in stripped
        ):
            # A press on an older message was answered below it: its buttons would stay stale.
            await self._strip_keyboard(chat_id, origin)
        return new_live

    async def send(self, chat_id: int, view: View) -> Message:
        """Send one view (raises Forbidden if the person has blocked the bot)."""
        return await self._retrying(lambda: self._send_once(chat_id, view))

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

    async def _edit(
        self, chat_id: int, message_id: int, view: View, markup: InlineKeyboardMarkup | None
    ) -> bool:
        try:
            await self._retrying(
                lambda: self.bot.edit_message_text(
                    view.text, chat_id=chat_id, message_id=message_id, reply_markup=markup
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
        except BadRequest as error:  # deleted by the person, or too old to edit
            log.info("person %s: could not remove old keyboard: %s", alias(chat_id), error.message)

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


class PressDelivery:
    """Delivery of the answer to one button press: the pressed message is edited in place."""

    def __init__(self, messenger: Messenger, query: CallbackQuery) -> None:
        self.messenger = messenger
        self.query = query

    async def deliver(self, chat_id: int, turn: Turn) -> Delivered:
        message = self.query.message
        origin = message.message_id if message else None
        markup = message.reply_markup if isinstance(message, Message) else None
        has_keyboard = bool(markup and markup.inline_keyboard)
        return await self.messenger.deliver(chat_id, turn, origin, self.query, has_keyboard)
