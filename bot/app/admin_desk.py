"""The admins' commands (ADMIN_IDS) as use cases: reset, reload, stats, export, coordinator.

Only the routing table calls these, and only for admins; the same command names from anyone
else get exactly the answer to an unknown command, so nothing about them is revealed.

A reset affects another person. It is done in two steps that never overlap: first under the
other person's lock (archive, start anew, tell them), then under the admin's own lock (show
the admin what happened). So two admins resetting each other can never wait for each other.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Protocol

from bot.app import codec
from bot.app.admin import Admin, AdminStore, Person, user_id_of
from bot.app.ports import Clock, Groups, Questionnaires, Turn
from bot.app.records import SessionRecord
from bot.ui.render import Renderer
from bot.ui.texts import Html, Texts
from bot.ui.views import Attachment, Button, Reply, View, rows
from flows.loading import QuestionnaireInvalid
from flows.questionnaire import Questionnaire

log = logging.getLogger(__name__)

PROBLEMS_SHOWN = 30


class AdminDeskStore(AdminStore, Groups, Protocol):
    """The repositories the admins' commands read and write."""


class AdminDesk:
    def __init__(
        self,
        storage: AdminDeskStore,
        catalog: Questionnaires,
        texts: Texts,
        render: Renderer,
        group_creation: str,
        clock: Clock,
    ) -> None:
        self.storage = storage
        self.catalog = catalog
        self.t = texts
        self.render = render
        self.group_creation = group_creation
        self.clock = clock
        self.admin = Admin(storage, catalog.get, texts, clock=clock)

    # commands -----------------------------------------------------------------------------

    async def ask_reset(self, argument: str) -> Turn:
        """/reset <id or @username>: the confirmation, naming what will happen."""
        person, problem = await self._target("reset", argument)
        if person is None:
            return _say(problem)
        record = await self.storage.current_session(person.user_id)
        if record is None:
            return _say(self.t("admin_reset_no_session", who=person.label))
        group = await self.storage.group(record.group_id) if record.group_id else None
        text = self.t(
            "admin_reset_confirm",
            who=person.label,
            answered=len(record.state.answers),
            started=_date(record.started_at, self.t.plain("date_format")),
            group=self.t("admin_reset_group", name=group.name) if group else Html(""),
            same_group=self.t("admin_reset_same_group") if group else Html(""),
        )
        buttons = rows(
            Button(
                self.t.plain("admin_button_reset_confirm"), codec.reset(person.user_id, record.id)
            ),
            Button(self.t.plain("admin_button_cancel"), codec.RESET_CANCEL),
        )
        return _say(text, buttons)

    async def reload(self, admin_id: int) -> Turn:
        """/reload: read the questionnaire file again; on errors the running version stays."""
        before = self.catalog.active
        try:
            q = await self.catalog.reload()
        except QuestionnaireInvalid as error:
            await self.admin.audit(
                str(admin_id), "reload", None, f"rejected: {len(error.problems)} problem(s)"
            )
            return _say_all(self._problems(before, error))
        await self.admin.audit(
            str(admin_id), "reload", None, f"{before.content_hash} -> {q.content_hash}"
        )
        text = self.t(
            "admin_reload_done",
            title=q.title,
            version=q.version,
            hash=q.content_hash,
            unchanged=self.t("admin_reload_unchanged")
            if q.content_hash == before.content_hash
            else Html(""),
            fields=len(q.fields),
            questions=len(q.questions),
        )
        return _say(text)

    async def stats(self, admin_id: int) -> Turn:
        """/stats: people, checks, completion per field, groups, activity."""
        stats = await self.admin.stats(str(admin_id), self.catalog.active)
        lines = [
            self.t(
                "admin_stats_field",
                number=number,
                title=field.title,
                complete=field.complete,
                current=stats.current,
            )
            for number, field in enumerate(stats.fields, start=1)
        ]
        if stats.unreadable:
            lines.append(self.t("admin_stats_unreadable", count=stats.unreadable))
        values = {k: v for k, v in vars(stats).items() if k not in ("fields", "unreadable")}
        return _say_all([self.t("admin_stats", **values, fields=Html("\n".join(lines)))])

    async def export(self, admin_id: int) -> Turn:
        """/export: every answer as pseudonymous CSV and XLSX documents."""
        export = await self.admin.export(str(admin_id))
        if export.rows == 0:
            return _say(self.t("admin_export_empty"))
        stamp = self.clock().strftime(self.t.plain("file_date_format"))
        caption = self.t("admin_export_caption", rows=export.rows, sessions=export.sessions)
        csv_file = Attachment(
            "document", self.t.plain("admin_export_filename", date=stamp), export.content
        )
        xlsx_file = Attachment(
            "document", self.t.plain("admin_export_filename_xlsx", date=stamp), export.xlsx
        )
        return Turn(
            Reply(
                send=[
                    View(caption, attachment=csv_file),
                    View(self.t("admin_export_caption_xlsx"), attachment=xlsx_file),
                ]
            )
        )

    async def grant_coordinator(self, admin_id: int, argument: str) -> Turn:
        """/coordinator <id or @username>: allow that person to create groups."""
        argument = _first_word(argument)
        person = await self.admin.find(argument) if argument else None
        user_id = user_id_of(argument)
        if person is None and user_id is not None:
            person = Person(user_id)  # may not have opened the bot yet; the grant waits
        if person is None:
            return _say(self._target_problem("coordinator", argument))
        await self.admin.grant_coordinator(str(admin_id), admin_id, person)
        text = self.t("admin_coordinator_done", who=person.label)
        if self.group_creation != "coordinators":
            text = Html(text + self.t("admin_coordinator_note_anyone"))
        return _say(text)

    # the reset confirmation, in two steps ------------------------------------------------------

    async def find(self, user_id: int) -> Person | None:
        return await self.admin.find(str(user_id))

    async def reset(
        self, admin_id: int, person: Person, session_id: int
    ) -> tuple[SessionRecord, Turn] | None:
        """Step one, under the person's lock: archive and start anew; the notice to show them.

        None if the check is no longer the one the admin was asked about.
        """
        old = await self.storage.session(session_id)
        fresh = await self.admin.reset(
            str(admin_id), person, self.catalog.active.content_hash, session_id
        )
        if fresh is None:
            return None
        q = await self.catalog.get(fresh.content_hash)
        if q.document.municipality_type_by_id(fresh.municipality_type):
            # The fresh check keeps the person's type; their next step switches it over.
            q = q.for_type(fresh.municipality_type)
        reply = Reply(
            send=[View(self.t("admin_reset_notice")), self.render.welcome(q, fresh.state)]
        )
        return fresh, Turn(reply, fresh.id, old.message_id if old else None)

    def reset_outcome(self, person: Person | None, target: int, done: bool, reached: bool) -> Turn:
        """Step two, under the admin's lock: what the admin sees in place of the question."""
        if person is None:
            text = self.t("admin_target_unknown", target=target)
        elif not done:
            text = self.t("admin_reset_stale")
        else:
            key = "admin_reset_done" if reached else "admin_reset_done_unreached"
            text = self.t(key, who=person.label)
        return Turn(Reply(edit=View(text)))

    def reset_cancelled(self) -> Turn:
        return Turn(Reply(edit=View(self.t("admin_reset_cancelled"))))

    # helpers ------------------------------------------------------------------------------

    async def _target(self, command: str, argument: str) -> tuple[Person | None, Html]:
        argument = _first_word(argument)
        person = await self.admin.find(argument) if argument else None
        return person, Html("") if person else self._target_problem(command, argument)

    def _target_problem(self, command: str, argument: str) -> Html:
        if not argument:
            return self.t("admin_target_missing", command=command)
        return self.t("admin_target_unknown", target=argument)

    def _problems(self, running: Questionnaire, error: QuestionnaireInvalid) -> list[str]:
        lines = [
            self.t(
                "admin_reload_failed",
                version=running.version,
                hash=running.content_hash,
                count=len(error.problems),
            )
        ]
        for problem in error.problems[:PROBLEMS_SHOWN]:
            lines.append(
                self.t(
                    "admin_reload_problem",
                    source=problem.source,
                    line=f":{problem.line}" if problem.line else "",
                    path=problem.path or "–",
                    message=problem.message,
                )
            )
        if len(error.problems) > PROBLEMS_SHOWN:
            lines.append(self.t("admin_reload_more", count=len(error.problems) - PROBLEMS_SHOWN))
        return ["\n".join(lines)]


def _say(text: str, buttons: tuple[tuple[Button, ...], ...] = ()) -> Turn:
    return Turn(Reply(send=[View(text, buttons)]))


def _say_all(texts: list[str]) -> Turn:
    return Turn(Reply(send=[View(text) for text in texts]))


def _first_word(text: str) -> str:
    words = text.split()
    return words[0] if words else ""


def _date(iso: str, pattern: str) -> str:
    try:
        return datetime.fromisoformat(iso).strftime(pattern)
    except ValueError:
        return iso
