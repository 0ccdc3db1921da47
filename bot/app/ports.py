"""The ports of the use cases: what they need from storage, delivery and time, as Protocols.

The store (`bot.store`) implements the repositories, each transport (`bot.telegram`, the
console) implements `Delivery`. Use cases see only these shapes, so a second storage engine or
a third transport plugs in without touching them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from bot.app.records import (
    CompletedCheck,
    GroupCounts,
    GroupRecord,
    SessionRecord,
    UserRef,
)
from bot.ui.views import Reply
from flows.disclosure import PublishedReport, Release
from flows.questionnaire import Questionnaire
from flows.scoring import FieldResult
from flows.session import SessionState

Clock = Callable[[], datetime]


class StoreBusy(Exception):
    """The store could not get its lock in time; nothing was written. Try again later."""


@dataclass
class Turn:
    """What one input produced, plus the facts delivery needs to keep the chat tidy.

    `live_message_id` is the message that carried the session's keyboard before this turn;
    `menu_changed` asks the transport to show the person's command menu anew (they became a
    coordinator, for example).
    """

    reply: Reply
    session_id: int | None = None
    live_message_id: int | None = None
    menu_changed: bool = False


@dataclass(frozen=True)
class Delivered:
    """What delivery did: the message that now carries the keyboard, and whether it reached."""

    live_message_id: int | None = None
    blocked: bool = False


class Delivery(Protocol):
    """Shows a turn to a person; returns what happened, never writes anything itself."""

    async def deliver(self, chat_id: int, turn: Turn) -> Delivered: ...


class Sessions(Protocol):
    """The self-check sessions of people, with their position and answers."""

    async def current_session(self, user_id: int) -> SessionRecord | None: ...

    async def cached_session(self, user_id: int) -> SessionRecord | None:
        """The current session as this process last read or wrote it, else as stored.

        It may be out of date (another process changed the file): act on it only through
        `save_state`, whose guard on the record's id and revision refuses a stale record, and
        read `current_session` for anything else.
        """
        ...

    async def session(self, session_id: int) -> SessionRecord | None: ...

    async def create_session(
        self, user_id: int, content_hash: str, now: datetime
    ) -> SessionRecord: ...

    async def save_state(
        self,
        record: SessionRecord,
        state: SessionState,
        now: datetime,
        stored_answer: tuple[str, str | None] | None = None,
        completed: bool = False,
    ) -> bool: ...

    async def set_message_id(self, session_id: int, message_id: int | None) -> None: ...

    async def set_municipality_type(
        self,
        record: SessionRecord,
        municipality_type: str | None,
        content_hash: str,
        state: SessionState,
        now: datetime,
    ) -> bool: ...

    async def restart_session(
        self,
        user_id: int,
        expected_session: int | None,
        content_hash: str,
        reason: str,
        now: datetime,
        perspective: str | None = None,
    ) -> tuple[int, SessionRecord] | None: ...


class People(Protocol):
    """The people the bot knows, with their chat and whether they blocked it."""

    async def touch_user(self, user: UserRef, now: datetime) -> None: ...

    async def mark_blocked(self, chat_id: int, now: datetime) -> None: ...

    async def is_blocked(self, chat_id: int) -> bool: ...

    async def find_user(
        self, user_id: int | None = None, username: str | None = None
    ) -> Any | None: ...

    async def grant_coordinator(self, user_id: int, granted_by: int, now: datetime) -> None: ...

    async def may_coordinate(self, user_id: int) -> bool: ...


class Groups(Protocol):
    """Groups of a municipality, their rounds, coordinators and pending joins."""

    async def create_group(
        self, name: str, join_token: str, coordinator_token: str, user_id: int, now: datetime
    ) -> GroupRecord: ...

    async def group(self, group_id: int) -> GroupRecord | None: ...

    async def set_group_type(self, group_id: int, municipality_type: str) -> None: ...

    async def group_by_token(self, token: str) -> tuple[GroupRecord, str] | None: ...

    async def groups_coordinated_by(self, user_id: int) -> list[GroupRecord]: ...

    async def is_coordinator_of(self, user_id: int, group_id: int) -> bool: ...

    async def coordinators_of(self, group_id: int) -> set[int]: ...

    async def add_coordinator(self, group_id: int, user_id: int, now: datetime) -> None: ...

    async def set_group_open(self, group_id: int, is_open: bool, now: datetime) -> None: ...

    async def start_new_round(self, group_id: int) -> int: ...

    async def renew_link_generation(self, group_id: int) -> int: ...

    async def group_counts(self, group_id: int, round_number: int) -> GroupCounts: ...

    async def completed_checks(self, group_id: int, round_number: int) -> list[CompletedCheck]: ...

    async def assign_group(
        self,
        session_id: int,
        group_id: int | None,
        round_number: int | None,
        perspective: str | None,
    ) -> None: ...

    async def set_pending_join(self, user_id: int, group_id: int, now: datetime) -> None: ...

    async def pending_join(self, user_id: int) -> tuple[int, bool] | None: ...

    async def consent_pending_join(self, user_id: int) -> None: ...

    async def clear_pending_join(self, user_id: int) -> None: ...


class Releases(Protocol):
    """The published releases of each group round, oldest first, kept as they were shown."""

    async def releases(self, group_id: int, round_number: int) -> list[Release]: ...

    async def add_release(
        self, group_id: int, round_number: int, release: Release, now: datetime
    ) -> bool: ...


class PersonalData(Protocol):
    """Everything stored about one person: to hand it to them, and to delete all of it."""

    async def personal_data(self, user_id: int) -> dict[str, list[dict[str, Any]]]: ...

    async def delete_person(self, user_id: int, pseudonym: str) -> int: ...

    async def leave_group(self, user_id: int, group_id: int) -> bool: ...

    async def people_ids(self) -> list[int]: ...


class RetentionStore(Protocol):
    """Who has been inactive how long, the notices before deletion, old earlier attempts."""

    async def inactive_people(
        self, before: datetime, user_id: int | None = None
    ) -> list[dict[str, Any]]: ...

    async def claim_retention_notice(
        self, user_id: int, before: datetime, now: datetime
    ) -> bool: ...

    async def old_checks(self, before: datetime) -> list[int]: ...

    async def delete_checks(self, session_ids: list[int]) -> None: ...


class ReminderStore(Protocol):
    """Due reminders, claimed before they are sent, and people's choice to get them."""

    async def due_reminders(
        self, due_before: datetime, max_count: int, limit: int
    ) -> Sequence[tuple[int, int, int, int]]: ...

    async def claim_reminder(
        self, session_id: int, count: int, due_before: datetime, max_count: int, now: datetime
    ) -> bool: ...

    async def set_reminders_enabled(self, user_id: int, enabled: bool, now: datetime) -> None: ...

    async def reminders_enabled(self, user_id: int) -> bool: ...


class VersionUnavailable(LookupError):
    """A questionnaire version some session runs on cannot be read: not stored, or its stored
    source no longer validates (a damaged row, or a later release of the bot with stricter
    rules than the ones that source once passed). The answers are unaffected; each use case
    decides what it can still do without that version's texts."""

    def __init__(self, content_hash: str, reason: str) -> None:
        super().__init__(f"questionnaire version {content_hash} cannot be read: {reason}")
        self.content_hash = content_hash
        self.reason = reason


async def readable(
    get: Callable[[str], Awaitable[Questionnaire]], content_hash: str
) -> Questionnaire | None:
    """The version `get` finds for this hash, or None where it cannot be read: for the use
    cases that go on without its texts (`VersionUnavailable`)."""
    try:
        return await get(content_hash)
    except VersionUnavailable:
        return None


class Questionnaires(Protocol):
    """The active questionnaire and every version sessions still run on."""

    active: Questionnaire

    async def get(self, content_hash: str) -> Questionnaire:
        """The version with this hash; raises `VersionUnavailable` if it cannot be read."""
        ...

    async def reload(self) -> Questionnaire: ...


class Reports(Protocol):
    """What operators read and record: usage, answers for export, the audit log."""

    async def add_audit(
        self, who: str, action: str, target: str | None, details: str | None, now: datetime
    ) -> None: ...

    async def export_salt(self) -> str: ...

    async def usage_counts(self, since_7: datetime, since_30: datetime) -> dict[str, int]: ...

    async def current_answered(self) -> list[tuple[str, set[str]]]: ...

    async def export_answers(self) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class ViewerReport:
    """A round's latest release as one viewer may see it, with what every rendering (chat,
    page, PDF) says about it: `GroupDesk.published_report` returns it.

    `own`: the viewer's own check is in the group (it never counts towards their threshold);
    `pending`: checks completed or changed since this release, waiting for the next; `held`:
    no next release for now, because a check this release counted cannot be read.
    """

    report: PublishedReport
    pending: int = 0
    own: bool = False
    held: bool = False


class WorkshopPages(Protocol):
    """The web transport's side of /workshop and of a person's result PDF.

    Links point at the web server that runs in the bot's process; documents are rendered from
    exactly the objects given (the published report, a person's own field results).
    """

    serves_pages: bool  # False without WEB_BASE_URL: there is no page to link to

    def page_url(self, group_id: int, round_number: int, generation: int) -> str | None:
        """A new signed link to the round's workshop page; None without WEB_BASE_URL."""
        ...

    def mini_app_url(self, group_id: int, round_number: int) -> str | None:
        """The Mini App address of the round; None unless the public address is HTTPS."""
        ...

    async def workshop_pdf(
        self,
        group_name: str,
        round_number: int,
        questionnaire: Questionnaire,
        seen: ViewerReport,
    ) -> bytes:
        """The workshop page as PDF, from the release as its viewer may see it."""
        ...

    async def own_result_pdf(
        self, results: Sequence[FieldResult], questionnaire: Questionnaire, released: date
    ) -> bytes:
        """One person's seven fields as PDF; for that person only."""
        ...
