"""Coordinators and their municipality's group: invitation links, joining, and the group report.

Joining is a short dialogue (consent, then perspective) whose progress is stored, so a forged
button can never put someone into a group whose link they did not open.
"""

from __future__ import annotations

import io
import logging
import re
import secrets
from dataclasses import dataclass, field
from typing import Protocol

from bot.app import codec
from bot.app.ports import (
    Clock,
    Groups,
    People,
    Questionnaires,
    Releases,
    Sessions,
    Turn,
    ViewerReport,
    readable,
)
from bot.app.records import GroupRecord, SessionRecord, UserRef
from bot.app.service import SelfCheck
from bot.ui.report import render_report
from bot.ui.texts import Html, Texts
from bot.ui.views import Attachment, Button, Reply, View, rows
from flows.disclosure import (
    Check,
    Given,
    PublishedReport,
    Release,
    changed_checks,
    for_viewers,
    next_release,
    nothing_yet,
)
from flows.membership import Join, joining
from flows.naming import group_name
from flows.questionnaire import Questionnaire
from flows.translation import answers_on

log = logging.getLogger(__name__)

TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
GROUP_NAME_LIMIT = 80
ACTIONS = {"r", "c", "o", "n", "N", "t", "a"}
# The coordinators' commands and the group action each one runs.
COMMAND_ACTIONS = {"group_report": "r", "close_group": "c", "open_group": "o", "new_round": "n"}


def new_token() -> str:
    """192 random bits in Telegram's start-parameter alphabet (32 characters)."""
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class _Round:
    """A round as `_latest_release` leaves it: its releases, its readable completed checks,
    the check ids of coordinators who took part (`viewers`), the user ids of everyone who
    completed a check, and the unreadable checks that hold it at its last release."""

    history: list[Release]
    checks: list[_Check]
    viewers: set[int]
    participants: set[int]
    held: frozenset[int]


@dataclass(frozen=True)
class _Check(Check):
    """A completed check with the person it belongs to, to recognise a coordinator's own."""

    user_id: int = field(kw_only=True)


@dataclass(frozen=True)
class GroupPolicy:
    creation: str = "anyone"  # or "coordinators": only people an admin has granted it
    min_group: int = 3
    max_groups: int = 20  # groups one person may coordinate (admins are not limited)


class GroupStore(Groups, Sessions, People, Releases, Protocol):
    """The repositories groups and joining read and write."""


class GroupDesk:
    """The coordinators' use cases and the join dialogue; `selfcheck` shows the welcome."""

    def __init__(
        self,
        storage: GroupStore,
        catalog: Questionnaires,
        selfcheck: SelfCheck,
        texts: Texts,
        policy: GroupPolicy,
        bot_username: str,
        clock: Clock,
    ) -> None:
        self.storage = storage
        self.catalog = catalog
        self.selfcheck = selfcheck
        self.t = texts
        self.policy = policy
        self.bot_username = bot_username
        self.clock = clock

    async def coordinates(self, user_id: int) -> bool:
        """Whether the person coordinates at least one group (their menu and help show more)."""
        return bool(await self.storage.groups_coordinated_by(user_id))

    def link(self, token: str) -> str:
        return f"https://t.me/{self.bot_username}?start={token}"

    # coordinators -------------------------------------------------------------------------

    async def new_group(self, user: UserRef, name: str, is_admin: bool = False) -> Turn:
        if not name.strip():
            return _plain(View(self.t("group_name_missing")))
        cleaned = group_name(name)
        if cleaned is None:
            return _plain(View(self.t("group_name_invisible")))
        name = cleaned
        if len(name) > GROUP_NAME_LIMIT:
            return _plain(View(self.t("group_name_too_long")))
        if (
            self.policy.creation == "coordinators"
            and not is_admin
            and not await self.storage.may_coordinate(user.user_id)
        ):
            return _plain(View(self.t("group_not_allowed")))
        coordinated = await self.storage.groups_coordinated_by(user.user_id)
        if not is_admin and len(coordinated) >= self.policy.max_groups:
            return _plain(View(self.t("group_limit", max=self.policy.max_groups)))
        now = self.clock()
        await self.storage.touch_user(user, now)
        group = await self.storage.create_group(name, new_token(), new_token(), user.user_id, now)
        link = self.link(group.join_token)
        text = self.t(
            "group_created",
            name=group.name,
            link=link,
            min_group=self.policy.min_group,
            coordinator_link=self.link(group.coordinator_token),
        )
        import segno  # only for a new group's QR code: not part of every start-up (issue 15)

        qr = io.BytesIO()
        segno.make(link, error="m").save(qr, kind="png", scale=8, border=4)
        caption = self.t("group_qr_caption", name=group.name, link=link)
        turn = _plain(
            View(text),
            View(
                caption,
                self._actions(group),
                Attachment("photo", self.t.plain("group_qr_filename"), qr.getvalue()),
            ),
        )
        if self.catalog.active.document.municipality_types:
            # Asked right away, so participants who follow the link are never asked themselves.
            turn.reply.send.append(self._type_choice(group, self.t("group_type_ask")))
        turn.menu_changed = True  # a coordinator now: their menu lists the group commands
        return turn

    async def list_groups(self, user: UserRef) -> Turn:
        groups = await self.storage.groups_coordinated_by(user.user_id)
        if not groups:
            return _plain(View(self.t("groups_none")))
        # One message for all groups (split by the transport if long), one report button each:
        # a message per group flooded the chat of a coordinator with many.
        lines = [self.t("groups_title")]
        buttons = []
        for group in groups:
            counts = await self.storage.group_counts(group.id, group.current_round)
            text = self.t(
                "groups_line",
                name=group.name,
                round=group.current_round,
                state=self.t.plain("group_state_open" if group.is_open else "group_state_closed"),
                joined=counts.joined,
                started=counts.started,
                completed=counts.completed,
                link=self.link(group.join_token),
            )
            lines.append(text)
            label = self.t.plain("groups_button_report", name=group.name)
            more = self.t.plain("groups_button_actions")
            buttons.append(
                (
                    Button(label, codec.group("r", group.id)),
                    Button(more, codec.group("a", group.id)),
                )
            )
        if len(groups) == 1:
            # One group: all its actions at hand (report, close/open, new round, type, workshop).
            lines.append(self.t("groups_actions_hint"))
            return _plain(View("\n\n".join(lines), self._actions(groups[0])))
        # Several: the report of each at hand, every other action one press further ("⚙️").
        lines.append(self.t("groups_actions_hint_several"))
        return _plain(View("\n\n".join(lines), tuple(buttons)))

    async def choose_or_run(self, user: UserRef, action: str) -> Turn:
        """Commands like /groupreport: run directly for one group, else offer a choice."""
        groups = await self.storage.groups_coordinated_by(user.user_id)
        if not groups:
            return _plain(View(self.t("groups_none")))
        if len(groups) == 1:
            return await self.act(user, action, groups[0].id)
        buttons = [Button(g.name, codec.group(action, g.id)) for g in groups]
        return _plain(View(self.t("group_choose"), rows(*buttons)))

    async def act(self, user: UserRef, action: str, group_id: int | None) -> Turn:
        """A coordinator's action on one group; everyone else is politely refused."""
        group = await self.storage.group(group_id) if group_id is not None else None
        if (
            group is None
            or action not in ACTIONS
            or not await self.storage.is_coordinator_of(user.user_id, group.id)
        ):
            return _plain(View(self.t("group_refused")))
        now = self.clock()
        if action == "r":
            return _plain(*await self.report_views(group, viewer_id=user.user_id))
        if action == "c":
            await self.storage.set_group_open(group.id, False, now)
            return _plain(View(self.t("group_closed_done", name=group.name)))
        if action == "o":
            await self.storage.set_group_open(group.id, True, now)
            return _plain(View(self.t("group_opened_done", name=group.name)))
        if action == "t":
            if await self._type_fixed(group):
                return _plain(View(self._type_fixed_text(group)))
            return _plain(self._type_choice(group, self.t("group_type_change")))
        if action == "a":
            state = self.t.plain("group_state_open" if group.is_open else "group_state_closed")
            text = self.t(
                "group_actions_of", name=group.name, round=group.current_round, state=state
            )
            return _plain(View(text, self._actions(group)))
        if action == "n":
            text = self.t("group_round_confirm", name=group.name, round=group.current_round)
            button = Button(self.t.plain("group_button_round_confirm"), codec.group("N", group.id))
            return _plain(View(text, rows(button)))
        round_number = await self.storage.start_new_round(group.id)
        return _plain(
            View(
                self.t(
                    "group_round_done",
                    name=group.name,
                    round=round_number,
                    link=self.link(group.join_token),
                )
            )
        )

    def group_questionnaire(self, group: GroupRecord) -> Questionnaire:
        """The questionnaire every check of the group is evaluated with: the group's type."""
        active = self.catalog.active
        if group.municipality_type and active.document.municipality_type_by_id(
            group.municipality_type
        ):
            return active.for_type(group.municipality_type)
        return active.for_type()

    def _type_choice(self, group: GroupRecord, intro: Html) -> View:
        q = self.group_questionnaire(group)
        current = q.municipality_type.label if q.municipality_type else "–"
        text = self.t("group_type_choose", intro=intro, name=group.name, type=current)
        buttons = [
            Button(t.label, codec.group_type(group.id, i))
            for i, t in enumerate(q.document.municipality_types)
        ]
        return View(text, rows(*buttons))

    async def set_type(self, user: UserRef, group_id: int | None, index: int) -> Turn:
        """A coordinator sets the group's municipality type; participants' checks follow it."""
        group = await self.storage.group(group_id) if group_id is not None else None
        types = self.catalog.active.document.municipality_types
        if (
            group is None
            or index >= len(types)
            or not await self.storage.is_coordinator_of(user.user_id, group.id)
        ):
            return _plain(View(self.t("group_refused")))
        before = self.group_questionnaire(group)
        chosen = types[index]
        changes = before.municipality_type is None or before.municipality_type.id != chosen.id
        if changes and await self._type_fixed(group):
            return Turn(
                Reply(
                    edit=View(self._type_fixed_text(group)),
                    toast=self.t.plain("toast_type_fixed"),
                )
            )
        await self.storage.set_group_type(group.id, chosen.id)
        counts = await self.storage.group_counts(group.id, group.current_round)
        changed = before.municipality_type is not None and before.municipality_type.id != chosen.id
        key = "group_type_changed" if changed and counts.started else "group_type_set"
        text = self.t(key, name=group.name, type=chosen.label, started=counts.started)
        return Turn(Reply(edit=View(text), toast=self.t.plain("toast_type", type=chosen.label)))

    async def _type_fixed(self, group: GroupRecord) -> bool:
        """Whether the round already has a report: then its type stays until a new round.

        Every check is read with the group's type. A change after a release would re-read all
        of them under other questions, and the next release would differ from the last by
        everyone's field scores although nobody changed an answer; together with one newcomer
        that difference is the newcomer's own score (docs/privacy.md, "Releases").
        """
        return bool(await self.storage.releases(group.id, group.current_round))

    def _type_fixed_text(self, group: GroupRecord) -> Html:
        q = self.group_questionnaire(group)
        current = q.municipality_type.label if q.municipality_type else "–"
        return self.t("group_type_fixed", name=group.name, type=current, round=group.current_round)

    async def report_views(self, group: GroupRecord, viewer_id: int | None = None) -> list[View]:
        """The group report as chat messages, for one coordinator."""
        seen = await self.published_report(group, viewer_id)
        return render_report(self.t, group, seen.report, seen.pending, own=seen.own, held=seen.held)

    async def published_report(self, group: GroupRecord, viewer_id: int | None) -> ViewerReport:
        """The latest release of the group's round as this person may see it.

        With it: the checks waiting for the next release, whether the viewer took part, and
        whether the round is held at this release because a check it counted cannot be read
        just now (see `_latest_release`; every rendering then says so instead of promising
        the next release).

        Every rendering (chat, web page, PDF) shows this object and nothing computed elsewhere:
        the report is never recomputed from live answers; a new release is made only when
        disclosure control allows one (enough checks added or changed since the last). The
        figures are those every coordinator who took part may see (`for_viewers`), whoever
        asks: the page and the PDF are shown to all of them, and a report one coordinator
        forwards to another must not tell that one more than their own would.
        """
        q = self.group_questionnaire(group)
        k = self.policy.min_group
        previous_round = None
        if group.current_round > 1:
            earlier = await self._latest_release(
                q, group.id, group.current_round - 1, None, closed=True
            )
            # The change per field is new mean minus old: it must not give a coordinator who
            # took part in the earlier round an old mean that round withheld from them.
            previous_round = (
                for_viewers(q, earlier.history, earlier.viewers) if earlier.history else None
            )
        now = await self._latest_release(q, group.id, group.current_round, previous_round)
        history, viewers = now.history, now.viewers
        own = viewer_id in now.participants
        if not history:
            # A coordinator's own check never counts towards their threshold.
            report = nothing_yet(q, len(now.checks), k, for_participants=bool(viewers))
            return ViewerReport(report, own=own)
        # A check held back (see `_latest_release`) is no change anybody made.
        pending = changed_checks(q, history[-1], now.checks, unchanged=now.held)
        return ViewerReport(for_viewers(q, history, viewers), pending, own, bool(now.held))

    async def _latest_release(
        self,
        q: Questionnaire,
        group_id: int,
        round_number: int,
        previous_round: PublishedReport | None,
        closed: bool = False,
    ) -> _Round:
        """Add a release if one is due; return the round's releases (none before the first),
        its readable completed checks and who took part.

        An earlier round is closed: it keeps its last release (or gets a first one). Every
        check is evaluated with `q`, the group's type, whatever type it was answered under.

        A completed check whose questionnaire version cannot be read (`VersionUnavailable`)
        is left out while no release has counted it: like a check not yet completed, it is in
        no published figure, and its coordinator (if one took part) has nothing of their own
        to subtract. One that a release has counted holds the round at its last release
        instead: leaving it out would be a removal, after which the audit withholds every
        figure it was in for the rest of the round, although its person may well come back
        (they are offered to go on with the active version, and then it counts again).
        """
        # Each check means what its own questionnaire version says: read it in the group's
        # questionnaire's terms before combining (a reload may have renamed options or changed
        # questions); the stored answers go along, for the markers the audit compares.
        checks = []
        viewers = set()
        participants = set()
        unreadable = set()
        coordinators = await self.storage.coordinators_of(group_id)
        for c in await self.storage.completed_checks(group_id, round_number):
            participants.add(c.user_id)
            if c.user_id in coordinators:
                viewers.add(c.session_id)
            own = await readable(self.catalog.get, c.content_hash)
            if own is None:
                unreadable.add(c.session_id)
                continue
            checks.append(
                _Check(
                    c.perspective,
                    answers_on(q, own, c.answers),
                    c.session_id,
                    Given(c.answers, own),
                    user_id=c.user_id,
                )
            )
        # Stored, never held in memory: a restart must not begin a fresh history, whose first
        # release could be differenced against what a coordinator saw before it.
        history = await self.storage.releases(group_id, round_number)
        released = {check_id for r in history for check_id in r.check_ids}
        held = frozenset(unreadable & released)
        if unreadable:
            log.warning(
                "group %s round %s: %s completed check(s) on a questionnaire version that "
                "cannot be read: %s",
                group_id,
                round_number,
                len(unreadable),
                "no new release until they can" if held else "left out until they can",
            )
        if held:
            return _Round(history, checks, viewers, participants, held)
        now = self.clock()
        release = next_release(
            q,
            history,
            checks,
            self.policy.min_group,
            now,
            round_closed=closed,
            previous_round=previous_round,
            viewers=viewers,
        )
        if release is not None and not await self.storage.add_release(
            group_id, round_number, release, now
        ):
            # Another coordinator's report stored this number first: show theirs.
            history = await self.storage.releases(group_id, round_number)
            release = None
        if release is not None:
            history.append(release)
        return _Round(history, checks, viewers, participants, held)

    def _actions(self, group: GroupRecord) -> tuple[tuple[Button, ...], ...]:
        toggle = (
            Button(self.t.plain("group_button_close"), codec.group("c", group.id))
            if group.is_open
            else Button(self.t.plain("group_button_open"), codec.group("o", group.id))
        )
        return (
            (Button(self.t.plain("group_button_report"), codec.group("r", group.id)),),
            (toggle, Button(self.t.plain("group_button_round"), codec.group("n", group.id))),
            (
                Button(self.t.plain("group_button_type"), codec.group("t", group.id)),
                Button(self.t.plain("group_button_workshop"), codec.workshop("l", group.id)),
            ),
        )

    # joining ------------------------------------------------------------------------------

    async def start_with_token(self, user: UserRef, token: str) -> Turn:
        """/start <token>: join a group, become co-coordinator, or learn the link is not valid."""
        found = await self.storage.group_by_token(token) if TOKEN_PATTERN.match(token) else None
        if found is None:
            return await self._welcome_with(user, self.t("join_invalid"))
        group, kind = found
        now = self.clock()
        await self.storage.touch_user(user, now)
        if kind == "coordinator":
            await self.storage.add_coordinator(group.id, user.user_id, now)
            turn = _plain(
                View(self.t("group_coordinator_added", name=group.name), self._actions(group))
            )
            turn.menu_changed = True
            return turn
        if not group.is_open:
            return await self._welcome_with(user, self.t("join_closed", name=group.name))
        record, _ = await self.selfcheck.session_for(user)
        if self._joining(record, group) is Join.ALREADY:
            return await self._welcome_with(user, self.t("join_already", name=group.name))
        await self.storage.set_pending_join(user.user_id, group.id, now)
        # An earlier round of this same group is no "switch": just ask to take part again.
        other = record.group_id if record.group_id != group.id else None
        current = await self.storage.group(other) if other else None
        text = self.t("join_consent", name=group.name, min_group=self.policy.min_group)
        if current is not None:
            text = Html(text + self.t("join_switch_note", name=group.name, current=current.name))
            yes = self.t.plain("join_button_switch", name=group.name)
            no = self.t.plain("join_button_stay", current=current.name)
        else:
            yes, no = self.t.plain("join_button_yes"), self.t.plain("join_button_no")
        consent = Button(yes, codec.join(group.id, True))
        return _plain(View(text, rows(consent, Button(no, codec.join(group.id, False)))))

    async def press_join(self, user: UserRef, press: codec.JoinPress) -> Turn:
        """Consent (yes / no) and perspective (its index) of the stored pending join."""
        pending = await self.storage.pending_join(user.user_id)
        group = await self.storage.group(pending[0]) if pending else None
        if pending is None or group is None:
            return await self._welcome_with(
                user, self.t("join_stale"), toast=self.t.plain("toast_stale")
            )
        if press.group_id != group.id:
            # A button of an earlier invitation: it consents to that one, never to this one.
            note = self.t("join_stale_other", name=group.name)
            return _plain(View(note), toast=self.t.plain("toast_stale"))
        _, consented = pending
        if press.consent is False:
            await self.storage.clear_pending_join(user.user_id)
            record = await self.storage.current_session(user.user_id)
            current = (
                await self.storage.group(record.group_id) if record and record.group_id else None
            )
            note = self.t("join_kept", name=current.name) if current else self.t("join_declined")
            return await self._welcome_with(user, note)
        if not group.is_open:
            await self.storage.clear_pending_join(user.user_id)
            return await self._welcome_with(user, self.t("join_closed", name=group.name))
        q = self.catalog.active
        if press.consent is True:
            await self.storage.consent_pending_join(user.user_id)
            buttons = [
                Button(p.label, codec.perspective(group.id, i))
                for i, p in enumerate(q.perspectives)
            ]
            return Turn(Reply(edit=View(self.t("join_perspective"), rows(*buttons, per_row=2))))
        index = press.perspective
        if not consented or index is None or index >= len(q.perspectives):
            return await self._welcome_with(
                user, self.t("join_stale"), toast=self.t.plain("toast_unknown")
            )
        perspective = q.perspectives[index]
        record, _ = await self.selfcheck.session_for(user)
        await self._assign(user, record, group, perspective.id)
        await self.storage.clear_pending_join(user.user_id)
        note = self.t("join_done", name=group.name, perspective=perspective.label)
        return await self._welcome_with(user, note)

    async def _assign(
        self, user: UserRef, record: SessionRecord, group: GroupRecord, perspective: str
    ) -> None:
        """A completed check of an earlier round stays there; otherwise the session moves along."""
        membership = (group.id, group.current_round, perspective)
        if self._joining(record, group) is Join.NEW_ROUND:
            await self.storage.restart_session(
                user.user_id,
                record.id,
                self.catalog.active.content_hash,
                "new_round",
                self.clock(),
                perspective=perspective,
            )
            return
        await self.storage.assign_group(record.id, *membership)

    @staticmethod
    def _joining(record: SessionRecord, group: GroupRecord) -> Join:
        return joining(
            record.group_id,
            record.group_round,
            record.completed_at is not None,
            group.id,
            group.current_round,
        )

    async def _welcome_with(self, user: UserRef, note: Html, toast: str | None = None) -> Turn:
        turn = await self.selfcheck.start(user)
        turn.reply.toast = toast
        turn.reply.send.insert(0, View(note))
        return turn


def _plain(*views: View, toast: str | None = None) -> Turn:
    return Turn(Reply(send=list(views), toast=toast))
