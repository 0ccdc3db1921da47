"""Support work for the bot's operators: find people, restart a check, count, export, grant.

Shared by the Telegram admin commands and the `python -m bot admin` CLI, so both act on the
database the same way and both write one audit row per action. Nothing here talks to
Telegram, and nothing logs answer contents.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from bot.app.ports import People, PersonalData, Reports, Sessions, readable
from bot.app.pseudonyms import alias
from bot.app.records import SessionRecord, utc_now
from bot.ui.export import ExportRow, build_csv, build_xlsx, day, pseudonym
from bot.ui.personal import answer_label
from bot.ui.texts import Texts
from flows.questionnaire import Questionnaire
from flows.session import field_is_complete

log = logging.getLogger(__name__)

RESET_REASON = "admin_reset"
USERNAME = re.compile(r"^@?[A-Za-z0-9_]{3,64}$")

# Telegram ids are below 2**52; anything longer is no id (and would overflow SQLite's integer).
USER_ID = re.compile(r"^-?[0-9]{1,15}$")

Versions = Callable[[str], Awaitable[Questionnaire]]


class AdminStore(Sessions, People, Reports, PersonalData, Protocol):
    """The repositories the operators' actions read and write."""


def user_id_of(spec: str) -> int | None:
    """A numeric Telegram id written by an operator, or None if it cannot be one."""
    spec = spec.strip()
    return int(spec) if USER_ID.match(spec) else None


@dataclass(frozen=True)
class Person:
    """Someone the bot knows (or at least their Telegram id)."""

    user_id: int
    chat_id: int | None = None
    username: str | None = None
    first_name: str | None = None

    @property
    def label(self) -> str:
        """Plain text for the operator: name, id and @username where known."""
        parts = [self.first_name] if self.first_name else []
        parts.append(f"ID {self.user_id}")
        if self.username:
            parts.append(f"@{self.username}")
        return " · ".join(parts)


@dataclass(frozen=True)
class FieldCompletion:
    field_id: str
    title: str
    complete: int


@dataclass(frozen=True)
class Stats:
    people: int
    sessions: int
    started: int
    completed: int
    current: int
    groups: int
    open_groups: int
    active_7: int
    active_30: int
    fields: tuple[FieldCompletion, ...]
    unreadable: int = 0  # current checks on a version that cannot be read: in no field count


@dataclass(frozen=True)
class Export:
    content: bytes  # CSV
    xlsx: bytes
    rows: int
    sessions: int


class Admin:
    """The operator's actions; `who` is the admin's Telegram id or "cli"."""

    def __init__(
        self,
        storage: AdminStore,
        versions: Versions,
        texts: Texts,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        """`texts` gives the export its German headers and answers in words."""
        self.t = texts
        self.storage = storage
        self.versions = versions
        self.clock = clock

    async def _readable(self, content_hash: str) -> Questionnaire | None:
        """The version, or None if it cannot be read (its answers are exported as ids)."""
        return await readable(self.versions, content_hash)

    async def find(self, spec: str) -> Person | None:
        """A person by numeric Telegram id or @username; None if the bot does not know them."""
        spec = spec.strip()
        user_id = user_id_of(spec)
        if user_id is not None:
            row = await self.storage.find_user(user_id=user_id)
        elif USERNAME.match(spec):
            row = await self.storage.find_user(username=spec.lstrip("@"))
        else:
            row = None
        if row is None:
            return None
        return Person(row["user_id"], row["chat_id"], row["username"], row["first_name"])

    async def whois(self, who: str, alias: str) -> Person | None:
        """The person behind a log or export pseudonym ("P-…"), for support; audited."""
        await self.audit(who, "whois", alias.strip())
        salt = await self.storage.export_salt()
        for user_id in await self.storage.people_ids():
            if pseudonym(salt, user_id) == alias.strip():
                return await self.find(str(user_id))
        return None

    async def audit(self, who: str, action: str, target: str | None, details: str = "") -> None:
        await self.storage.add_audit(who, action, target, details or None, self.clock())
        # The audit log keeps ids (it is in the database); the log names people by pseudonym.
        log.info("admin %s: %s%s", _named(who), action, f" {_named(target)}" if target else "")

    async def reset(
        self, who: str, person: Person, content_hash: str, expected_session: int | None = None
    ) -> SessionRecord | None:
        """Archive the person's current check ("admin_reset") and start a fresh one.

        Group and perspective are kept, as when a person restarts. None if there was no
        current check, or it is no longer `expected_session`.
        """
        result = await self.storage.restart_session(
            person.user_id, expected_session, content_hash, RESET_REASON, self.clock()
        )
        if result is None:
            return None
        archived, fresh = result
        await self.audit(who, "reset", str(person.user_id), f"archived session {archived}")
        return fresh

    async def grant_coordinator(self, who: str, granted_by: int, person: Person) -> None:
        await self.storage.grant_coordinator(person.user_id, granted_by, self.clock())
        await self.audit(who, "grant_coordinator", str(person.user_id))

    async def stats(self, who: str, active: Questionnaire | None = None) -> Stats:
        now = self.clock()
        counts = await self.storage.usage_counts(now - timedelta(days=7), now - timedelta(days=30))
        titles: dict[str, str] = {f.id: f.title for f in active.fields} if active else {}
        complete: dict[str, int] = dict.fromkeys(titles, 0)
        unreadable = 0
        for content_hash, answered in await self.storage.current_answered():
            q = await self._readable(content_hash)
            if q is None:
                unreadable += 1  # no fields to count it under; the WARNING names the version
                continue
            answers = dict.fromkeys(answered)
            for field in q.fields:
                titles.setdefault(field.id, field.title)
                complete.setdefault(field.id, 0)
                if field_is_complete(q, field.id, answers):
                    complete[field.id] += 1
        fields = tuple(FieldCompletion(fid, titles[fid], n) for fid, n in complete.items())
        await self.audit(who, "stats", None)
        return Stats(**counts, fields=fields, unreadable=unreadable)

    async def export(self, who: str) -> Export:
        """All answers and skips, one row each, with pseudonyms instead of Telegram ids."""
        salt = await self.storage.export_salt()
        rows: list[tuple[int, int, ExportRow]] = []
        for raw in await self.storage.export_answers():
            q = await self._readable(raw["content_hash"])
            question_id = raw["question_id"]
            known = q is not None and q.has_question(question_id)
            option = q.scale.option(raw["option_id"]) if q is not None else None
            order = q.question_number(question_id) if q is not None and known else 10**6
            field_id = q.question(question_id).field if q is not None and known else None
            rows.append(
                (
                    raw["session_id"],
                    order,
                    ExportRow(
                        person=pseudonym(salt, raw["user_id"]),
                        session_id=raw["session_id"],
                        attempt=raw["attempt"],
                        group=raw["group_name"],
                        group_round=raw["group_round"],
                        perspective=raw["perspective"],
                        questionnaire_id=raw["questionnaire_id"],
                        questionnaire_version=raw["questionnaire_version"],
                        content_hash=raw["content_hash"],
                        field_id=field_id,
                        field_title=q.field(field_id).title if q and field_id else None,
                        question_id=question_id,
                        question_text=q.question(question_id).text if q and known else None,
                        option_id=raw["option_id"],
                        answer=answer_label(self.t, q, raw["option_id"]),
                        points=option.points if option is not None else None,
                        answered_on=day(raw["answered_at"]) or "",
                        session_started_on=day(raw["started_at"]) or "",
                        session_completed_on=day(raw["completed_at"]),
                        session_archived_on=day(raw["archived_at"]),
                        session_archived_reason=raw["archived_reason"],
                    ),
                )
            )
        rows.sort(key=lambda item: (item[0], item[1]))
        sessions = len({session_id for session_id, _, _ in rows})
        table = [row for _, _, row in rows]
        columns = self.t.section("export_columns")
        export = Export(
            build_csv(table, columns),
            build_xlsx(table, columns, self.t.plain("export_sheet_title")),
            len(rows),
            sessions,
        )
        await self.audit(who, "export", None, f"{export.rows} rows, {export.sessions} sessions")
        return export


def _named(value: str) -> str:
    """A Telegram id as its pseudonym (for log lines); anything else ("cli", "P-…") as it is."""
    return alias(int(value)) if value.lstrip("-").isdigit() else value
