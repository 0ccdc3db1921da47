"""A simulated Telegram user that chats with the bot through :class:`BotApiServer`.

Why: end-to-end tests should read like a conversation ("send /start, press 'Weiter', expect
…") and must not depend on sleeps; the waiting helpers block on server state changes.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from typing import Any

from .formatting import utf16_len
from .models import JSON, CallbackRecord, StoredFile, StoredMessage
from .server import BotApiServer

ButtonSpec = str | re.Pattern[str] | Callable[[JSON], bool]
# The smallest valid PNG (1x1, transparent): real bytes, so a bot may even decode it.
TINY_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000b49444154789c6360000200000500017a5eab3f0000000049454e44ae426082"
)


class SimulatedUser:
    """A user in a private chat with the bot (chat id = user id)."""

    default_choice: str | None = None
    """A button a person presses first when a keyboard offers it instead of the one asked for.

    Why: a product may put a one-time question in front of what most tests are about (ours
    asks for the municipality type before "Los geht’s"); the test suite names the usual answer
    once (`tests/conftest.py`) instead of in every test. Tests of that question press its
    buttons themselves, so it is never chosen for them.
    """

    def __init__(
        self,
        server: BotApiServer,
        user_id: int,
        first_name: str = "Test",
        username: str | None = None,
        language_code: str = "de",
    ) -> None:
        self.server = server
        self.chat_id = user_id
        self.user: JSON = {
            "id": user_id,
            "is_bot": False,
            "first_name": first_name,
            "language_code": language_code,
        }
        if username:
            self.user["username"] = username
        self._chat = server.register_user(self.user)
        self._cursor = len(self._chat.events)

    # -- acting ----------------------------------------------------------------------------

    async def send_text(self, text: str) -> StoredMessage:
        return await self._send({"text": text})

    async def send_command(self, command: str, payload: str = "") -> StoredMessage:
        """``/command [payload]`` with the ``bot_command`` entity Telegram attaches."""
        command = command if command.startswith("/") else f"/{command}"
        entity = {"type": "bot_command", "offset": 0, "length": utf16_len(command)}
        text = f"{command} {payload}" if payload else command
        return await self._send({"text": text, "entities": [entity]})

    async def send_sticker(self, emoji: str = "👍") -> StoredMessage:
        stored = self.server.register_file(b"RIFF-sticker", kind="sticker", mime_type="image/webp")
        sticker = {
            **_file_ref(stored),
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
        }
        return await self._send({"sticker": sticker})

    async def send_photo(
        self, content: bytes = TINY_PNG, caption: str | None = None
    ) -> StoredMessage:
        stored = self.server.register_file(content, kind="photo", mime_type="image/png")
        return await self._send(_with_caption({"photo": stored.photo_sizes()}, caption))

    async def send_voice(self, duration: int = 3, content: bytes = b"OggS-voice") -> StoredMessage:
        stored = self.server.register_file(content, kind="voice", mime_type="audio/ogg")
        voice = {**_file_ref(stored), "duration": duration, "mime_type": "audio/ogg"}
        return await self._send({"voice": voice})

    async def send_document(
        self,
        content: bytes = b"hello",
        filename: str = "test.txt",
        mime_type: str = "text/plain",
        caption: str | None = None,
    ) -> StoredMessage:
        """A document the bot can really download via getFile + base_file_url."""
        stored = self.server.register_file(
            content, kind="document", file_name=filename, mime_type=mime_type
        )
        return await self._send(_with_caption({"document": stored.to_api()}, caption))

    async def press(
        self, button: ButtonSpec, message: StoredMessage | int | None = None
    ) -> CallbackRecord:
        """Press an inline button of ``message`` (default: latest bot message with a keyboard).

        ``button`` is the exact text, else a unique substring; or a regex (searched in the
        text); or a predicate receiving the button dict.
        """
        target = self._keyboard_message(message)
        if (
            self.default_choice
            and not _matching(target, button)
            and len(_matching(target, self.default_choice)) == 1
        ):
            first = _find_button(target, self.default_choice)
            seen_all = self._cursor >= len(self._chat.events)
            await self.press_data(target.message_id, first["callback_data"])
            target = await self._offering(target.message_id, button)
            if seen_all:  # the choice's own edit is not what the test waits for
                self._cursor = len(self._chat.events)
        chosen = _find_button(target, button)
        if "callback_data" not in chosen:
            raise AssertionError(f"button {chosen['text']!r} has no callback_data: {chosen}")
        return await self.press_data(target.message_id, chosen["callback_data"])

    async def press_data(self, message_id: int, data: str | None) -> CallbackRecord:
        """Send arbitrary (possibly forged or stale) callback data for a message."""
        record = self.server.add_callback_query(self.chat_id, message_id, data)
        await asyncio.sleep(0)
        return record

    async def _offering(
        self, message_id: int, button: ButtonSpec, timeout: float = 10.0
    ) -> StoredMessage:
        """The message once its keyboard offers `button` (after the bot edited it)."""
        deadline = time.monotonic() + timeout
        while True:
            current = self._chat.messages.get(message_id)
            if current is not None and _matching(current, button):
                return current
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return self._keyboard_message(None)
            # Short waits: a change between the check and taking the event is not missed.
            await self.server.wait_change(self.server.change_event, min(remaining, 0.2))

    def block_bot(self) -> None:
        self.server.block_chat(self.chat_id)

    # -- waiting ---------------------------------------------------------------------------

    async def wait_for_message(
        self, predicate: Callable[[StoredMessage], bool] | None = None, timeout: float = 10.0
    ) -> StoredMessage:
        """The next new *or edited* bot message (snapshot) not yet seen by this test.

        Non-matching messages passed on the way are consumed, like lines read from a log.
        """
        deadline = time.monotonic() + timeout
        while True:
            event = self.server.change_event
            while self._cursor < len(self._chat.events):
                message = self._chat.events[self._cursor]
                self._cursor += 1
                if predicate is None or predicate(message):
                    return message
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(
                    f"no matching bot message within {timeout}s; last text: {self.last_text!r}"
                )
            await self.server.wait_change(event, remaining)

    async def wait_until_idle(self, timeout: float = 10.0, quiet: float = 0.3) -> None:
        """Wait until the bot fetched all our updates, answered all our callback queries,
        has no request for this chat running and made no call for it for ``quiet`` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            event = self.server.change_event
            now = time.monotonic()
            busy = self.server.is_busy(self.chat_id)
            quiet_left = self._chat.last_activity + quiet - now
            if not busy and quiet_left <= 0:
                return
            if now >= deadline:
                raise TimeoutError(
                    f"bot not idle for chat {self.chat_id} within {timeout}s "
                    f"(busy={busy}, pending={self.server.pending_updates})"
                )
            wait = deadline - now if busy else min(deadline - now, quiet_left)
            await self.server.wait_change(event, wait)

    def mark_seen(self) -> None:
        """Skip everything received so far for :meth:`wait_for_message`."""
        self._cursor = len(self._chat.events)

    # -- inspecting ------------------------------------------------------------------------

    @property
    def messages(self) -> list[StoredMessage]:
        """All bot messages in this chat, in their current (edited) state."""
        return self.server.messages(self.chat_id)

    @property
    def last_message(self) -> StoredMessage | None:
        messages = self.messages
        return messages[-1] if messages else None

    @property
    def last_text(self) -> str | None:
        """Visible text (or caption) of the latest bot message."""
        last = self.last_message
        return last.visible_text if last else None

    def buttons(self, message: StoredMessage | int | None = None) -> list[str]:
        """Inline button texts (rows flattened) of ``message`` or of the latest keyboard."""
        try:
            return self._keyboard_message(message).button_texts
        except AssertionError:
            return []

    @property
    def answered_callbacks(self) -> list[JSON]:
        """The bot's answers to this user's callback queries (text, show_alert, url, …)."""
        records = self.server.callback_queries.values()
        return [r.answer for r in records if r.chat_id == self.chat_id and r.answer is not None]

    @property
    def documents(self) -> list[StoredFile]:
        return [m.document for m in self.messages if m.document]

    @property
    def photos(self) -> list[StoredFile]:
        return [m.photo for m in self.messages if m.photo]

    # -- helpers ---------------------------------------------------------------------------

    async def _send(self, content: JSON) -> StoredMessage:
        message = self.server.add_user_message(self.chat_id, content)
        await asyncio.sleep(0)
        return message

    def _keyboard_message(self, message: StoredMessage | int | None) -> StoredMessage:
        if message is None:
            with_keyboard = [m for m in self.messages if m.inline_buttons]
            if not with_keyboard:
                raise AssertionError("no bot message with an inline keyboard")
            return with_keyboard[-1]
        message_id = message if isinstance(message, int) else message.message_id
        current = self._chat.messages.get(message_id)
        if current is None or current.deleted or not current.from_bot:
            raise AssertionError(f"no bot message {message_id} in chat {self.chat_id}")
        return current


def _matching(message: StoredMessage, spec: ButtonSpec) -> list[JSON]:
    buttons = message.inline_buttons
    if isinstance(spec, str):
        return [b for b in buttons if b["text"] == spec] or [
            b for b in buttons if spec in b["text"]
        ]
    if isinstance(spec, re.Pattern):
        return [b for b in buttons if spec.search(b["text"])]
    return [b for b in buttons if spec(b)]


def _find_button(message: StoredMessage, spec: ButtonSpec) -> JSON:
    matches = _matching(message, spec)
    if len(matches) != 1:
        problem = "ambiguous" if matches else "no"
        raise AssertionError(f"{problem} button matching {spec!r}; buttons: {message.button_texts}")
    return matches[0]


def _file_ref(stored: StoredFile) -> dict[str, Any]:
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": stored.file_size,
    }


def _with_caption(content: JSON, caption: str | None) -> JSON:
    return {**content, "caption": caption} if caption else content
