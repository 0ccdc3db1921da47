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

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.app.ports import Delivered, Turn
from bot.app.records import UserRef, utc_now
from bot.app.routing import Command, Press, Router, Text
from bot.cli.compose import Core, build_core, open_storage
from bot.cli.config import load_settings
from bot.ui.views import Button, View
from tests.telegram_server import BOT_USER, SimulatedUser, StoredFile, StoredMessage, parse_html

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

    chat_id: int
    message_id: int
    data: str | None
    answer: JSON | None = None

    @property
    def answered(self) -> bool:
        return self.answer is not None


def button_json(button: Button) -> JSON:
    """A button as the Bot API carries it: callback data, a URL, or a Mini App."""
    if button.url is not None:
        key = "web_app" if button.web_app else "url"
        return {"text": button.label, key: {"url": button.url} if button.web_app else button.url}
    return {"text": button.label, "callback_data": button.data}


class FastWorld:
    """The recording delivery for every chat: shows turns the way the messenger does."""

    def __init__(self) -> None:
        self.chats: dict[int, FastChat] = {}
        self._ids = itertools.count(1)
        self.callback_queries: dict[str, PressRecord] = {}
        # Deliveries here are synchronous: nothing changes while a user waits, so a wait is
        # a short pause that lets the waiting loop give up on its deadline.
        self.change_event = asyncio.Event()

    # the parts of the local server's interface that `SimulatedUser` reads

    async def wait_change(self, event: asyncio.Event, timeout: float) -> None:
        await asyncio.sleep(min(timeout, 0.01))

    def register_user(self, user: JSON) -> FastChat:
        return self.chats.setdefault(user["id"], FastChat(dict(user)))

    def chat(self, chat_id: int) -> FastChat:
        return self.chats.setdefault(chat_id, FastChat({"id": chat_id, "first_name": "?"}))

    def messages(self, chat_id: int) -> list[StoredMessage]:
        return list(self.chat(chat_id).messages.values())

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
            {"inline_keyboard": [[button_json(b) for b in row] for row in view.buttons]}
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


class FastUser(SimulatedUser):
    """A person in a private chat: `SimulatedUser`'s inspecting part, acting in-process.

    Acting calls the routing table directly, so by the time an action returns its turn has
    been delivered; the waiting helpers only read what is already there.
    """

    def __init__(self, bot: FastBot, user_id: int, first_name: str, username: str | None) -> None:
        super().__init__(bot.world, user_id, first_name, username)  # type: ignore[arg-type]
        self.bot = bot
        self.person = UserRef(user_id, user_id, username, first_name)

    async def send_command(self, command: str, payload: str = "") -> None:  # type: ignore[override]
        name = command.removeprefix("/").split("@")[0]
        await self.bot.router.handle(self.person, Command(name.lower(), payload), self.bot.world)

    async def send_text(self, text: str) -> None:  # type: ignore[override]
        await self.bot.router.handle(self.person, Text(), self.bot.world)

    async def press_data(self, message_id: int, data: str | None) -> PressRecord:  # type: ignore[override]
        record = PressRecord(self.chat_id, message_id, data)
        self.bot.world.callback_queries[f"cq-{len(self.bot.world.callback_queries)}"] = record
        delivery = _PressDelivery(self.bot.world, record)
        await self.bot.router.handle(self.person, Press(data, message_id), delivery)
        return record

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
async def fast_bot(
    database: Path, clock: Callable[[], datetime] = utc_now, **env: str
) -> AsyncIterator[FastBot]:
    """The bot as `python -m bot` builds it (same settings from the same variables).

    `clock` replaces the wall clock of every use case (retention and reminder tests).
    """
    settings = load_settings({"DATABASE_PATH": str(database), **env})
    storage, catalog = await open_storage(settings)
    world = FastWorld()
    core = build_core(
        settings, storage, catalog, notify=world, clock=clock, bot_username=BOT_USER["username"]
    )
    try:
        yield FastBot(core, world)
    finally:
        await core.close()
