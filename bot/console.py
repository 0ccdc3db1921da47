"""A chat in the terminal: the same service, flow and storage as on Telegram, without a token."""

from __future__ import annotations

import asyncio
import html
import re
import sys
from typing import TextIO

from bot.app import build_core
from bot.config import Settings
from bot.service import SelfCheck, Turn
from bot.storage import UserRef
from bot.views import View

CONSOLE_USER = UserRef(user_id=1, chat_id=1, username="console", first_name="Konsole")


def to_plain(text: str) -> str:
    """Telegram HTML to terminal text: bold becomes upper-case-free plain text."""
    return html.unescape(re.sub(r"</?[a-z][^>]*>", "", text))


class ConsoleChat:
    """Prints views with numbered buttons; a number presses the button of the live message."""

    def __init__(self, service: SelfCheck, out: TextIO = sys.stdout) -> None:
        self.service = service
        self.out = out
        self.next_message_id = 1
        self.live: tuple[int, View] | None = None

    async def deliver(self, turn: Turn, origin: int | None = None) -> None:
        reply = turn.reply
        if reply.toast:
            self.out.write(f"  ({reply.toast})\n")
        views = ([reply.edit] if reply.edit else []) + reply.send
        for view in views:
            self.show(view)
        if self.live and turn.session_id and self.live[0] != turn.live_message_id:
            await self.service.set_live_message(turn.session_id, self.live[0])

    def show(self, view: View) -> None:
        self.out.write("\n" + to_plain(view.text) + "\n")
        if view.buttons:
            message_id = self.next_message_id
            self.next_message_id += 1
            self.live = (message_id, view)
            number = 1
            for row in view.buttons:
                self.out.write(
                    "   ".join(f"[{number + i}] {b.label}" for i, b in enumerate(row)) + "\n"
                )
                number += len(row)
        self.out.flush()

    async def handle(self, line: str) -> bool:
        """One line of input; returns False when the person wants to quit."""
        line = line.strip()
        if line.lower() in {"q", "quit", "exit", "/quit"}:
            return False
        if line.startswith("/"):
            name = line.split()[0][1:]
            turn = await (
                self.service.start(CONSOLE_USER)
                if name == "start"
                else self.service.command(CONSOLE_USER, name)
            )
            await self.deliver(turn)
        elif line.isdigit() and self.live:
            buttons = [b for row in self.live[1].buttons for b in row]
            index = int(line) - 1
            if 0 <= index < len(buttons):
                turn = await self.service.press(CONSOLE_USER, buttons[index].data, self.live[0])
                await self.deliver(turn, origin=self.live[0])
            else:
                await self.deliver(await self.service.other_input(CONSOLE_USER))
        else:
            await self.deliver(await self.service.other_input(CONSOLE_USER))
        return True


async def chat(settings: Settings, lines: TextIO = sys.stdin, out: TextIO = sys.stdout) -> int:
    core = await build_core(settings)
    try:
        t = core.service.t
        out.write(t.plain("console_intro", database=settings.database_path) + "\n")
        console = ConsoleChat(core.service, out)
        await console.deliver(await core.service.start(CONSOLE_USER))
        while True:
            out.write(t.plain("console_prompt"))
            out.flush()
            line = await asyncio.to_thread(lines.readline)
            if not line:
                break
            if not await console.handle(line):
                break
        out.write("\n" + t.plain("console_bye") + "\n")
    finally:
        await core.close()
    return 0
