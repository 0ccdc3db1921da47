"""The one routing table: `Router.handle(person, input, delivery) -> Turn`, for every transport.

A transport decodes what arrived into a `Command`, a `Press` or `Text`, calls `handle` with a
delivery for the person's chat, and is done. `handle` holds the person's lock from reading the
session until delivery has returned, and records what delivery reports. Commands come from the
one definition in `bot/locale/de.yaml` (`commands:`), which also makes the command menus, so a
command can never be in a menu without a route or the other way round.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.app import codec
from bot.app.admin_desk import AdminDesk
from bot.app.groups import COMMAND_ACTIONS, GroupDesk
from bot.app.locks import PersonLocks
from bot.app.outbox import Outbox
from bot.app.ports import Clock, Delivery, Turn
from bot.app.pseudonyms import alias
from bot.app.records import UserRef
from bot.app.reminders import ReminderPolicy, RemindersStore, reminder_command
from bot.app.rights import RightsDesk
from bot.app.service import OwnVersionUnavailable, SelfCheck
from bot.app.workshop import Workshop
from bot.ui.texts import Html, Texts
from bot.ui.views import Reply, View

log = logging.getLogger(__name__)

AUDIENCES = ("everyone", "coordinator", "admin")


@dataclass(frozen=True)
class Command:
    """A command by the name the person typed (without "/"), with the rest of the line."""

    name: str
    argument: str = ""


@dataclass(frozen=True)
class Press:
    """A button press: its data and the message it was on (None if unknown)."""

    data: str | None
    message_id: int | None = None


@dataclass(frozen=True)
class Text:
    """Anything else a person sends: text, a sticker, a photo."""


Input = Command | Press | Text


@dataclass(frozen=True)
class CommandSpec:
    name: str
    action: str
    audience: str
    description: str
    aliases: tuple[str, ...] = ()


class CommandTable:
    """Every command by name and alias, read from the texts' `commands:` definition."""

    def __init__(self, specs: list[CommandSpec]) -> None:
        self.specs = specs
        self._by_name: dict[str, CommandSpec] = {}
        for spec in specs:
            if spec.audience not in AUDIENCES:
                raise ValueError(f"command /{spec.name}: unknown audience {spec.audience!r}")
            for name in (spec.name, *spec.aliases):
                if name in self._by_name:
                    raise ValueError(f"command /{name} is defined twice")
                self._by_name[name] = spec

    @classmethod
    def from_texts(cls, texts: Texts) -> CommandTable:
        definition: Mapping[str, Mapping[str, Any]] = texts.section("commands")
        return cls(
            [
                CommandSpec(
                    name=name,
                    action=str(entry["action"]),
                    audience=str(entry.get("audience", "everyone")),
                    description=str(entry["menu"]),
                    aliases=tuple(str(a).lower() for a in entry.get("aliases", ())),
                )
                for name, entry in definition.items()
            ]
        )

    def find(self, name: str) -> CommandSpec | None:
        return self._by_name.get(name.lower())

    def menu(self, *audiences: str) -> list[CommandSpec]:
        """The commands a menu for these audiences lists, in the definition's order."""
        return [spec for spec in self.specs if spec.audience in audiences]

    def actions(self) -> set[str]:
        return {spec.action for spec in self.specs}


Route = Callable[[UserRef, str], Awaitable[Turn]]


class Router:
    """Decoded input in, a delivered turn out; the only owner of the per-person lock."""

    def __init__(
        self,
        table: CommandTable,
        locks: PersonLocks,
        outbox: Outbox,
        selfcheck: SelfCheck,
        groups: GroupDesk,
        admin: AdminDesk,
        reminders_store: RemindersStore,
        reminder_policy: ReminderPolicy,
        texts: Texts,
        admin_ids: frozenset[int],
        notify: Delivery,
        clock: Clock,
        rights: RightsDesk,
        *,
        workshop: Workshop,
    ) -> None:
        """`notify` delivers to any chat: notices to someone other than the person who acted."""
        self.workshop = workshop
        self.notify = notify
        self.clock = clock
        self.rights = rights
        self.table = table
        self.locks = locks
        self.outbox = outbox
        self.selfcheck = selfcheck
        self.groups = groups
        self.admin = admin
        self.reminders_store = reminders_store
        self.reminder_policy = reminder_policy
        self.t = texts
        self.admin_ids = admin_ids
        self._routes: dict[str, Route] = {
            "start": self._start,
            "menu": self._selfcheck_command("menu"),
            "progress": self._selfcheck_command("progress"),
            "results": self._selfcheck_command("results"),
            "restart": self._selfcheck_command("restart"),
            "help": self._help,
            "my_id": self._my_id,
            "reminders": self._reminders,
            "privacy": lambda person, _: self.rights.notice(person),
            "my_data": lambda person, _: self.rights.my_data(person),
            "delete": lambda person, _: self._ask_delete(),
            "leave_group": lambda person, _: self.rights.ask_leave(person),
            "new_group": self._new_group,
            "groups": lambda person, _: self.groups.list_groups(person),
            "workshop": lambda person, argument: self.workshop.command(person, argument),
            **{action: self._group_command(code) for action, code in COMMAND_ACTIONS.items()},
            "reset": lambda person, argument: self.admin.ask_reset(argument),
            "reload": lambda person, _: self.admin.reload(person.user_id),
            "stats": lambda person, _: self.admin.stats(person.user_id),
            "export": lambda person, _: self.admin.export(person.user_id),
            "grant_coordinator": lambda person, argument: self.admin.grant_coordinator(
                person.user_id, argument
            ),
        }
        missing = table.actions() - self._routes.keys()
        unlisted = self._routes.keys() - table.actions()
        if missing or unlisted:
            raise ValueError(f"commands without a route {missing}, routes without one {unlisted}")

    def is_admin(self, person: UserRef) -> bool:
        return person.user_id in self.admin_ids

    async def menu_for(self, person: UserRef) -> list[CommandSpec]:
        """The person's own command menu: everyone's, plus coordinators' and admins' if so."""
        audiences = ["everyone"]
        if await self.groups.coordinates(person.user_id):
            audiences.append("coordinator")
        if self.is_admin(person):
            audiences.append("admin")
        return self.table.menu(*audiences)

    async def handle(self, person: UserRef, message: Input, delivery: Delivery) -> Turn:
        """Run the input's use case and deliver its turn, all under the person's lock."""
        if isinstance(message, Press):
            pressed = codec.parse(message.data)
            if isinstance(pressed, codec.ResetPress) and self.is_admin(person):
                return await self._reset_press(person, pressed, delivery)
        async with self.locks.hold(person.user_id):
            try:
                turn = await self._turn(person, message)
            except OwnVersionUnavailable as error:
                # Whatever they sent: the answers are safe, and the one way on is offered.
                on = message.message_id if isinstance(message, Press) else None
                turn = self.selfcheck.version_unavailable(error, isinstance(message, Press), on)
            await self.outbox.deliver(delivery, person.chat_id, turn)
            return turn

    async def _turn(self, person: UserRef, message: Input) -> Turn:
        if isinstance(message, Command):
            spec = self.table.find(message.name)
            if spec is None or (spec.audience == "admin" and not self.is_admin(person)):
                # Unknown, and admin commands for everyone else: the same answer, revealing nothing.
                return await self.selfcheck.command(person, "unknown")
            return await self._routes[spec.action](person, message.argument)
        if isinstance(message, Press):
            return await self._press(person, message)
        return await self.selfcheck.other_input(person)

    async def _press(self, person: UserRef, press: Press) -> Turn:
        pressed = codec.parse(press.data)
        if isinstance(pressed, codec.GroupPress):
            return await self.groups.act(person, pressed.action, pressed.group_id)
        if isinstance(pressed, codec.GroupTypePress):
            return await self.groups.set_type(person, pressed.group_id, pressed.type_index)
        if isinstance(pressed, codec.WorkshopPress):
            return await self.workshop.act(person, pressed.action, pressed.group_id)
        if isinstance(pressed, codec.AdoptActivePress):
            return await self.selfcheck.adopt_active_version(person, press.message_id)
        if isinstance(pressed, codec.ResultPdfPress):
            # The turn is delivered to the presser's own chat: a person's PDF goes nowhere else.
            return await self.workshop.own_result(person)
        if isinstance(pressed, codec.JoinPress):
            return await self.groups.press_join(person, pressed)
        if isinstance(pressed, codec.RightsPress):
            return await self.rights.press(person, pressed)
        if isinstance(pressed, codec.SelfCheckPress):
            return await self.selfcheck.press(person, pressed.data, press.message_id)
        # No button of this bot, or an admin's button pressed by someone else.
        return await self.selfcheck.press(person, None, press.message_id)

    # routes -------------------------------------------------------------------------------

    async def _start(self, person: UserRef, argument: str) -> Turn:
        """/start [token]: welcome (back); with a group's token, the join dialogue."""
        if argument:
            return await self.groups.start_with_token(person, argument.split()[0])
        return await self.selfcheck.start(person)

    def _selfcheck_command(self, action: str) -> Route:
        async def route(person: UserRef, argument: str) -> Turn:
            return await self.selfcheck.command(person, action)

        return route

    async def _help(self, person: UserRef, argument: str) -> Turn:
        coordinator = await self.groups.coordinates(person.user_id)
        extra = self.t("help_coordinator") if coordinator else Html("")
        return await self.selfcheck.command(person, "help", help_extra=extra)

    async def _my_id(self, person: UserRef, argument: str) -> Turn:
        """/meineid: the numeric id an operator needs for ADMIN_IDS or a coordinator grant."""
        return Turn(Reply(send=[View(self.t("my_id", user_id=person.user_id))]))

    async def _reminders(self, person: UserRef, argument: str) -> Turn:
        return await reminder_command(
            self.reminders_store,
            self.t,
            self.reminder_policy,
            self.clock,
            person,
            argument,
        )

    async def _ask_delete(self) -> Turn:
        return self.rights.ask_delete()

    async def _new_group(self, person: UserRef, argument: str) -> Turn:
        return await self.groups.new_group(person, argument, is_admin=self.is_admin(person))

    def _group_command(self, code: str) -> Route:
        async def route(person: UserRef, argument: str) -> Turn:
            return await self.groups.choose_or_run(person, code)

        return route

    async def _tell(self, chat_id: int | None, turn: Turn) -> bool:
        """Deliver a notice to someone else; False if it did not reach them."""
        if chat_id is None:
            return False
        try:
            delivered = await self.outbox.deliver(self.notify, chat_id, turn)
        except Exception as error:  # any transport failure: the admin is told it did not reach
            log.info("person %s: notice not delivered (%s)", alias(chat_id), type(error).__name__)
            return False
        return not delivered.blocked

    async def _reset_press(
        self, admin: UserRef, press: codec.ResetPress, delivery: Delivery
    ) -> Turn:
        """Reset in two steps that never hold two people's locks at once (see admin_desk)."""
        if press.user_id is None or press.session_id is None:
            async with self.locks.hold(admin.user_id):
                turn = self.admin.reset_cancelled()
                await self.outbox.deliver(delivery, admin.chat_id, turn)
                return turn
        person = await self.admin.find(press.user_id)
        done = reached = False
        if person is not None:
            async with self.locks.hold(person.user_id):
                result = await self.admin.reset(admin.user_id, person, press.session_id)
                if result is not None:
                    done = True
                    _, notice = result
                    reached = await self._tell(person.chat_id, notice)
        async with self.locks.hold(admin.user_id):
            turn = self.admin.reset_outcome(person, press.user_id, done, reached)
            await self.outbox.deliver(delivery, admin.chat_id, turn)
            return turn
