"""In-process test tools: the use cases and rendering through `Router.handle`, no HTTP at all.

Why: most behaviour (the check, groups, reports, admin answers) does not depend on Telegram;
driving it through the routing table with a recording delivery and a real temporary SQLite file
takes milliseconds instead of a PTB start-up and hundreds of HTTP round trips. The tools speak
the same language as the real-HTTP ones (`SimulatedUser`, `StoredMessage`), so a behaviour test
reads the same in both layers: `user.send_command("/start")`, `user.press("Los geht’s")`,
`user.messages[-1].visible_text`. Visible text is computed with the local Bot API server's own
HTML parser, exactly as Telegram would show it.

What only Telegram shows (edits refused, 4096 splitting on the wire, 429, faults, SIGKILL,
webhook) stays in the real-HTTP tests.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.app.ports import Delivered, Turn
from bot.app.records import UserRef
from bot.app.routing import Command, Press, Router, Text
from bot.cli.compose import Core, build_core, open_storage
from bot.cli.config import load_settings
from bot.ui.views import View
from tests.telegram_server import BOT_USER, StoredFile, StoredMessage, parse_html
from tests.telegram_server.user import ButtonSpec, _find_button

JSON = dict[str, Any]


@dataclass
class FastChat:
    """One private chat: the bot's messages (current state) and every new or edited version."""

    user: JSON
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    events: list[StoredMessage] = field(default_factory=list)


@dataclass
class PressRecord:
    """A press and the bot's answer to it, like the server's callback query record."""

    message_id: int
    data: str | None
    answer: JSON | None = None

    @property
    def answered(self) -> bool:
        return self.answer is not None


class FastWorld:
    """The recording delivery for every chat: shows turns the way the messenger does."""

    def __init__(self) -> None:
        self.chats: dict[int, FastChat] = {}
        self._ids = itertools.count(1)
        self.presses: list[PressRecord] = []

    def chat(self, chat_id: int) -> FastChat:
        return self.chats.setdefault(chat_id, FastChat({"id": chat_id, "first_name": "?"}))

    async def deliver(self, chat_id: int, turn: Turn) -> Delivered:
        return self.show(chat_id, turn, None)

    def show(self, chat_id: int, turn: Turn, press: PressRecord | None) -> Delivered:
        chat = self.chat(chat_id)
        reply = turn.reply
        origin = press.message_id if press else None
        if press is not None:
            press.answer = {"text": reply.toast or "", "show_alert": False}
        new_live: int | None = None
        sends = list(reply.send)
        if reply.edit is not None:
            if origin is not None and origin in chat.messages:
                self._put(chat, origin, reply.edit)
                if reply.edit.buttons:
                    new_live = origin
            else:
                sends.insert(0, reply.edit)
        for view in sends:
            message_id = self._put(chat, next(self._ids), view)
            if view.buttons:
                new_live = message_id
        if turn.session_id:
            old = turn.live_message_id
            if new_live is not None and old is not None and old not in (new_live, origin):
                self._strip(chat, old)
            live_now = new_live if new_live is not None else old
            if origin is not None and reply.edit is None and origin != live_now:
                self._strip(chat, origin)
        return Delivered(live_message_id=new_live)

    def _put(self, chat: FastChat, message_id: int, view: View) -> int:
        visible, entities = parse_html(view.text)
        markup = (
            {
                "inline_keyboard": [
                    [{"text": b.label, "callback_data": b.data} for b in row]
                    for row in view.buttons
                ]
            }
            if view.buttons
            else None
        )
        file = view.attachment
        stored = (
            StoredFile(
                f"{file.kind}-{message_id}",
                f"unique-{message_id}",
                f"{file.kind}s/{file.filename}",
                file.content,
                file_name=file.filename,
                kind=file.kind,
            )
            if file
            else None
        )
        message = StoredMessage(
            message_id=message_id,
            chat={"id": chat.user["id"], "type": "private"},
            sender=dict(BOT_USER),
            date=int(time.time()),
            text=None if file else visible,
            raw_text=view.text,
            parse_mode="HTML",
            entities=[] if file else entities,
            caption=visible if file else None,
            reply_markup=markup,
            photo=stored if file and file.kind == "photo" else None,
            document=stored if file and file.kind == "document" else None,
        )
        chat.messages[message_id] = message
        chat.events.append(message.snapshot())
        return message_id

    def _strip(self, chat: FastChat, message_id: int) -> None:
        message = chat.messages.get(message_id)
        if message is not None and message.reply_markup:
            message.reply_markup = None
            chat.events.append(message.snapshot())


class FastUser:
    """A person in a private chat, with the acting and inspecting parts of `SimulatedUser`."""

    def __init__(self, bot: FastBot, user_id: int, first_name: str, username: str | None) -> None:
        self.bot = bot
        self.chat_id = user_id
        self.person = UserRef(user_id, user_id, username, first_name)
        self._chat = bot.world.chat(user_id)
        self._chat.user = {"id": user_id, "first_name": first_name}
        self._cursor = len(self._chat.events)

    # acting --------------------------------------------------------------------------------

    async def send_command(self, command: str, payload: str = "") -> None:
        command = command if command.startswith("/") else f"/{command}"
        name = command[1:].split("@")[0]
        await self.bot.router.handle(self.person, Command(name.lower(), payload), self.bot.world)

    async def send_text(self, text: str) -> None:
        await self.bot.router.handle(self.person, Text(), self.bot.world)

    async def press(
        self, button: ButtonSpec, message: StoredMessage | int | None = None
    ) -> PressRecord:
        target = self._keyboard_message(message)
        chosen = _find_button(target, button)
        return await self.press_data(target.message_id, chosen["callback_data"])

    async def press_data(self, message_id: int, data: str | None) -> PressRecord:
        record = PressRecord(message_id, data)
        self.bot.world.presses.append(record)
        delivery = _PressDelivery(self.bot.world, record)
        await self.bot.router.handle(self.person, Press(data, message_id), delivery)
        return record

    # waiting: everything has happened by the time an action returns ---------------------------

    async def wait_for_message(
        self, predicate: Callable[[StoredMessage], bool] | None = None, timeout: float = 0
    ) -> StoredMessage:
        while self._cursor < len(self._chat.events):
            message = self._chat.events[self._cursor]
            self._cursor += 1
            if predicate is None or predicate(message):
                return message
        raise TimeoutError(f"no matching bot message; last text: {self.last_text!r}")

    async def wait_until_idle(self, timeout: float = 0, quiet: float = 0) -> None:
        """Nothing to wait for: the turn was delivered before the action returned."""

    def mark_seen(self) -> None:
        self._cursor = len(self._chat.events)

    # inspecting ----------------------------------------------------------------------------

    @property
    def server(self) -> FastWorld:
        """Where the chats are kept (`server.chat(id).messages`, as on the local server)."""
        return self.bot.world

    @property
    def messages(self) -> list[StoredMessage]:
        return list(self._chat.messages.values())

    @property
    def last_message(self) -> StoredMessage | None:
        messages = self.messages
        return messages[-1] if messages else None

    @property
    def last_text(self) -> str | None:
        last = self.last_message
        return last.visible_text if last else None

    def buttons(self, message: StoredMessage | int | None = None) -> list[str]:
        try:
            return self._keyboard_message(message).button_texts
        except AssertionError:
            return []

    @property
    def answered_callbacks(self) -> list[JSON]:
        mine = set(self._chat.messages)
        return [p.answer for p in self.bot.world.presses if p.answer and p.message_id in mine]

    @property
    def photos(self) -> list[StoredFile]:
        return [m.photo for m in self.messages if m.photo]

    @property
    def documents(self) -> list[StoredFile]:
        return [m.document for m in self.messages if m.document]

    def _keyboard_message(self, message: StoredMessage | int | None) -> StoredMessage:
        if message is None:
            with_keyboard = [m for m in self.messages if m.inline_buttons]
            if not with_keyboard:
                raise AssertionError("no bot message with an inline keyboard")
            return with_keyboard[-1]
        message_id = message if isinstance(message, int) else message.message_id
        return self._chat.messages[message_id]


class _PressDelivery:
    def __init__(self, world: FastWorld, record: PressRecord) -> None:
        self.world = world
        self.record = record

    async def deliver(self, chat_id: int, turn: Turn) -> Delivered:
        return self.world.show(chat_id, turn, self.record)


@dataclass
class FastBot:
    """The product's core on a real SQLite file, behind the routing table."""

    core: Core
    world: FastWorld

    @property
    def router(self) -> Router:
        return self.core.router

    def user(self, user_id: int, first_name: str = "Test", username: str | None = None) -> FastUser:
        return FastUser(self, user_id, first_name, username)


@asynccontextmanager
async def fast_bot(database: Path, **env: str) -> AsyncIterator[FastBot]:
    """The bot as `python -m bot` builds it (same settings from the same variables)."""
    settings = load_settings({"DATABASE_PATH": str(database), **env})
    storage, catalog = await open_storage(settings)
    world = FastWorld()
    core = build_core(settings, storage, catalog, notify=world, bot_username=BOT_USER["username"])
    try:
        yield FastBot(core, world)
    finally:
        await core.close()
