"""A chat in the terminal: the same service, flow and storage as on Telegram, without a token."""

from __future__ import annotations

import html
import re
import sys
from pathlib import Path
from typing import TextIO

from bot.app import build_core
from bot.config import Settings
from bot.console_input import ConsoleInput
from bot.group_handlers import COMMAND_ACTIONS
from bot.groups import GroupDesk
from bot.service import SelfCheck, Turn
from bot.storage import UserRef
from bot.views import View

CONSOLE_USER = UserRef(user_id=1, chat_id=1, username="console", first_name="Konsole")


def to_plain(text: str) -> str:
    """Telegram HTML to terminal text: bold becomes upper-case-free plain text."""
    return html.unescape(re.sub(r"</?[a-z][^>]*>", "", text))


class ConsoleChat:
    """Prints views with numbered buttons; a number presses the button of the live message."""

    def __init__(
        self,
        service: SelfCheck,
        desk: GroupDesk,
        out: TextIO = sys.stdout,
        files: Path = Path("data"),
    ) -> None:
        self.service = service
        self.desk = desk
        self.out = out
        self.files = files
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
        if view.attachment is not None:
            # A terminal cannot show a photo or document: keep it as a file beside the database.
            self.files.mkdir(parents=True, exist_ok=True)
            path = self.files / view.attachment.filename
            path.write_bytes(view.attachment.content)
            self.out.write(f"[{view.attachment.kind}: {path}]\n")
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
            name, _, argument = line[1:].partition(" ")
            await self.deliver(await self._command(name.lower(), argument.strip()))
        elif line.isdigit() and self.live:
            buttons = [b for row in self.live[1].buttons for b in row]
            index = int(line) - 1
            if 0 <= index < len(buttons):
                turn = await self._press(buttons[index].data, self.live[0])
                await self.deliver(turn, origin=self.live[0])
            else:
                await self.deliver(await self.service.other_input(CONSOLE_USER))
        else:
            await self.deliver(await self.service.other_input(CONSOLE_USER))
        return True

    async def _command(self, name: str, argument: str) -> Turn:
        """The same commands as on Telegram, except the admins' (ADMIN_IDS has no console)."""
        if name == "start":
            if argument:
                return await self.desk.start_with_token(CONSOLE_USER, argument)
            return await self.service.start(CONSOLE_USER)
        if name == "newgroup":
            return await self.desk.new_group(CONSOLE_USER, argument)
        if name == "groups":
            return await self.desk.list_groups(CONSOLE_USER)
        if name in COMMAND_ACTIONS:
            return await self.desk.choose_or_run(CONSOLE_USER, COMMAND_ACTIONS[name])
        return await self.service.command(CONSOLE_USER, name)

    async def _press(self, data: str, message_id: int) -> Turn:
        group_action = re.fullmatch(r"g:(\w):(\d{1,9})", data)
        if group_action:
            return await self.desk.act(CONSOLE_USER, group_action[1], int(group_action[2]))
        if re.fullmatch(r"[jp]:.*", data):
            return await self.desk.press_join(CONSOLE_USER, data)
        return await self.service.press(CONSOLE_USER, data, message_id)


async def chat(settings: Settings, lines: TextIO = sys.stdin, out: TextIO = sys.stdout) -> int:
    core = await build_core(settings)
    try:
        t = core.service.t
        out.write(t.plain("console_intro", database=settings.database_path) + "\n")
        console = ConsoleChat(core.service, core.desk, out, settings.database_path.parent)
        await console.deliver(await core.service.start(CONSOLE_USER))
        typed = ConsoleInput(lines)
        with typed.ctrl_c_ends_chat():
            while True:
                out.write(t.plain("console_prompt"))
                out.flush()
                line = await typed.next_line()
                if line is None or not await console.handle(line):
                    break
        out.write("\n" + t.plain("console_bye") + "\n")
    finally:
        await core.close()
    return 0
