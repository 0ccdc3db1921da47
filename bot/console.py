"""A chat in the terminal: the same service, flow and storage as on Telegram, without a token."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from bot.app.ports import Delivered, Turn
from bot.app.records import UserRef
from bot.app.routing import Command, Input, Press, Router, Text
from bot.cli.compose import build_core, open_storage
from bot.cli.config import Settings
from bot.console_input import ConsoleInput
from bot.ui.texts import plain_text
from bot.ui.views import View

CONSOLE_USER = UserRef(user_id=1, chat_id=1, username="console", first_name="Konsole")


class ConsoleChat:
    """Prints views with numbered buttons; a number presses the button of the live message.

    It is the console's delivery too: it shows a turn and reports which message now carries
    the keyboard, like the Telegram messenger does.
    """

    def __init__(self, out: TextIO = sys.stdout, files: Path = Path("data")) -> None:
        self.out = out
        self.files = files
        self.next_message_id = 1
        self.live: tuple[int, View] | None = None

    async def deliver(self, chat_id: int, turn: Turn) -> Delivered:
        reply = turn.reply
        if reply.toast:
            self.out.write(f"  ({reply.toast})\n")
        views = ([reply.edit] if reply.edit else []) + reply.send
        shown: int | None = None
        for view in views:
            shown = self.show(view) or shown
        return Delivered(live_message_id=shown)

    def show(self, view: View) -> int | None:
        """Print one view; the number of its message if it has buttons (then the live one)."""
        self.out.write("\n" + plain_text(view.text) + "\n")
        if view.attachment is not None:
            # A terminal cannot show a photo or document: keep it as a file beside the database.
            self.files.mkdir(parents=True, exist_ok=True)
            path = self.files / view.attachment.filename
            path.write_bytes(view.attachment.content)
            self.out.write(f"[{view.attachment.kind}: {path}]\n")
        for row in view.buttons:
            for link in (b for b in row if b.url is not None):
                # A terminal opens no web page: the address is for a browser.
                self.out.write(f"  {link.label}: {link.url}\n")
        pressable = tuple(
            kept for row in view.buttons if (kept := tuple(b for b in row if b.url is None))
        )
        if pressable:
            message_id = self.next_message_id
            self.next_message_id += 1
            self.live = (message_id, View(view.text, pressable, view.attachment))
            number = 1
            for row in pressable:
                self.out.write(
                    "   ".join(f"[{number + i}] {b.label}" for i, b in enumerate(row)) + "\n"
                )
                number += len(row)
            self.out.flush()
            return message_id
        self.out.flush()
        return None

    def decode(self, line: str) -> Input:
        """A command, a button number of the live message, or anything else."""
        if line.startswith("/"):
            name, _, argument = line[1:].partition(" ")
            return Command(name.lower(), argument.strip())
        if line.isdigit() and self.live:
            buttons = [b for row in self.live[1].buttons for b in row]
            index = int(line) - 1
            if 0 <= index < len(buttons):
                return Press(buttons[index].data, self.live[0])
        return Text()


async def handle_line(router: Router, console: ConsoleChat, line: str) -> bool:
    """One line of input; returns False when the person wants to quit."""
    line = line.strip()
    if line.lower() in {"q", "quit", "exit", "/quit"}:
        return False
    await router.handle(CONSOLE_USER, console.decode(line), console)
    return True


async def chat(settings: Settings, lines: TextIO = sys.stdin, out: TextIO = sys.stdout) -> int:
    storage, catalog = await open_storage(settings)
    console = ConsoleChat(out, settings.database_path.parent)
    core = build_core(settings, storage, catalog, notify=console)
    try:
        t = core.texts
        out.write(t.plain("console_intro", database=settings.database_path) + "\n")
        await core.router.handle(CONSOLE_USER, Command("start"), console)
        typed = ConsoleInput(lines)
        with typed.ctrl_c_ends_chat():
            while True:
                out.write(t.plain("console_prompt"))
                out.flush()
                line = await typed.next_line()
                if line is None or not await handle_line(core.router, console, line):
                    break
        out.write("\n" + t.plain("console_bye") + "\n")
    finally:
        await core.close()
    return 0
