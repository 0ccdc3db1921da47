"""A chat in the terminal: the same service, flow and storage as on Telegram, without a token.

`/als 2` switches to writing as another person (ids are small numbers here), so a group can be
tried end to end without Telegram: create it as person 1, join by `/start <token>` as 2, 3
and 4, and read the group report as 1 again. Each person has their own live keyboard.
"""

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
from bot.ui.texts import Texts, load_texts, plain_text
from bot.ui.views import View

CONSOLE_USER = UserRef(user_id=1, chat_id=1, username="console", first_name="Konsole")


def console_person(number: int) -> UserRef:
    """Person `number` of the console (1 is the one the chat starts as)."""
    if number == CONSOLE_USER.user_id:
        return CONSOLE_USER
    return UserRef(number, number, f"console{number}", f"Person {number}")


class ConsoleChat:
    """Prints views with numbered buttons; a number presses the button of the live message.

    It is the console's delivery too: it shows a turn and reports which message now carries
    the keyboard, like the Telegram messenger does.
    """

    def __init__(
        self, out: TextIO = sys.stdout, files: Path = Path("data"), texts: Texts | None = None
    ) -> None:
        self.out = out
        self.files = files
        self.t = texts or load_texts()
        self.next_message_id = 1
        self.person = CONSOLE_USER
        # The live keyboard of each person's chat: a number presses a button of one's own.
        self.lives: dict[int, tuple[int, View]] = {}

    @property
    def live(self) -> tuple[int, View] | None:
        return self.lives.get(self.person.chat_id)

    async def deliver(self, chat_id: int, turn: Turn) -> Delivered:
        if chat_id != self.person.chat_id:
            # A notice to someone else (an admin's reset, ...): say whose chat it goes to.
            self.out.write("\n" + self.t.plain("console_to_other", person=chat_id) + "\n")
        reply = turn.reply
        if reply.toast:
            self.out.write(f"  ({reply.toast})\n")
        views = ([reply.edit] if reply.edit else []) + reply.send
        shown: int | None = None
        for view in views:
            shown = self.show(view, chat_id) or shown
        return Delivered(live_message_id=shown)

    def show(self, view: View, chat_id: int | None = None) -> int | None:
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
            self.lives[self.person.chat_id if chat_id is None else chat_id] = (
                message_id,
                View(view.text, pressable, view.attachment),
            )
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
    name, _, argument = line.removeprefix("/").partition(" ")
    if line.startswith("/") and name.lower() in console.t.words("console_as_commands"):
        number = argument.strip()
        if not number.isdigit() or not 0 < int(number) < 10**9:
            console.out.write("\n" + console.t.plain("console_as_invalid") + "\n")
            return True
        console.person = console_person(int(number))
        console.out.write("\n" + console.t.plain("console_as", person=console.person.user_id))
        await router.handle(console.person, Command("start"), console)
        return True
    await router.handle(console.person, console.decode(line), console)
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
