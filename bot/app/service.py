"""The self-check's use cases: one call per input, for every transport alike.

Each loads the person's session, lets the pure flow decide, persists the result in one
transaction and returns the turn to show. None of them sends anything or takes a lock: the
routing table (`bot.app.routing`) holds the person's lock around the use case and delivery.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Protocol

from bot.app import codec
from bot.app.ports import (
    Clock,
    Groups,
    People,
    Questionnaires,
    Sessions,
    Turn,
    VersionUnavailable,
    readable,
)
from bot.app.pseudonyms import alias
from bot.app.records import SessionRecord, UserRef, utc_now
from bot.ui.render import Renderer
from bot.ui.texts import Html, Texts
from bot.ui.views import Button, Reply, View
from flows.membership import behind_current_round
from flows.questionnaire import Questionnaire
from flows.scoring import NOT_APPLICABLE
from flows.session import OpenMenu, Outcome, Position, Refusal, Screen, SessionState, apply

log = logging.getLogger(__name__)


class SelfCheckStore(Sessions, People, Groups, Protocol):
    """The repositories the self-check reads and writes."""


def version_unavailable_view(t: Texts) -> View:
    """The notice for a person whose session runs on an unreadable version, with the one way
    on; the same in answer to any input and as a reminder."""
    button = Button(t.plain("button_adopt_active"), codec.ADOPT_ACTIVE)
    return View(t("version_unavailable"), ((button,),))


class OwnVersionUnavailable(Exception):
    """The person's own session runs on a questionnaire version that cannot be read.

    Raised wherever the session is read, so that every input of that person (a press, a
    command, text) gets the same answer from the routing table: `SelfCheck.version_unavailable`.
    """

    def __init__(self, record: SessionRecord, cause: VersionUnavailable) -> None:
        super().__init__(str(cause))
        self.record = record  # the session as read, for the notice's live message


class SelfCheck:
    """Welcome, questions, menu, progress, results and restart of one person's check."""

    def __init__(
        self,
        storage: SelfCheckStore,
        catalog: Questionnaires,
        texts: Texts,
        render: Renderer,
        clock: Clock = utc_now,
    ) -> None:
        self.storage = storage
        self.catalog = catalog
        self.t = texts
        self.render = render
        self.clock = clock

    async def session_for(self, user: UserRef) -> tuple[SessionRecord, Questionnaire]:
        """The person's current session and the questionnaire of its municipality type.

        A session starts on the active questionnaire's default type. A group member's session
        follows the group's type (the coordinator may change it); a person on their own keeps
        the type they chose. Switching only changes which questions apply: answers stay.
        """
        record, q, _ = await self._session(user)
        return record, q

    async def _session(
        self, user: UserRef, cached: SessionRecord | None = None
    ) -> tuple[SessionRecord, Questionnaire, bool]:
        """`session_for`, and whether the type was switched just now (the live message then
        shows a questionnaire the session no longer runs on). With `cached`, that record
        instead of the stored one (see `press`)."""
        record = cached or await self.storage.current_session(user.user_id)
        if record is None:
            # First contact of any kind (text, a sticker, a press on an old keyboard after a
            # restore) may come from someone without a row yet: the session refers to it.
            await self.storage.touch_user(user, self.clock())
            record = await self.storage.create_session(
                user.user_id, self.catalog.active.content_hash, self.clock()
            )
        q = await self._own_version(record)
        wanted = record.municipality_type
        if record.group_id is not None:
            group = await self.storage.group(record.group_id)
            if group is not None:
                wanted = group.municipality_type or type_of(q.for_type())
        if wanted is None or q.document.municipality_type_by_id(wanted) is None:
            return record, q, False
        if wanted == type_of(q) and wanted == record.municipality_type:
            return record, q, False
        switched = await self._switch_type(record, q, wanted)
        if switched is None:  # the row moved on meanwhile: read it again
            record = await self.storage.current_session(user.user_id) or record
            return record, await self._own_version(record), True
        return *switched, True

    async def _own_version(self, record: SessionRecord) -> Questionnaire:
        try:
            return await self.catalog.get(record.content_hash)
        except VersionUnavailable as error:
            raise OwnVersionUnavailable(record, error) from error

    def version_unavailable(
        self, error: OwnVersionUnavailable, pressed: bool, message_id: int | None = None
    ) -> Turn:
        """What a person on an unreadable version gets for any input: their answers are safe,
        and they may go on with the active version (`adopt_active_version`) or wait.

        A press on the live message turns it into the notice; a press elsewhere (an old
        results message, say) keeps that message as it is and gets the notice below, like
        `_resync`."""
        record = error.record
        view = version_unavailable_view(self.t)
        if not pressed:
            return self._turn(record, Reply(send=[view]))
        toast = self.t.plain("toast_version_unavailable")
        if message_id is not None and message_id == record.message_id:
            return self._turn(record, Reply(edit=view, toast=toast))
        return self._turn(record, Reply(send=[view], toast=toast))

    async def adopt_active_version(self, user: UserRef, message_id: int | None) -> Turn:
        """Move a session whose version cannot be read onto the active version; the answers
        stay as stored.

        Only what the person agreed to by pressing, and only while their version is still
        unreadable: a stale or forged press (the version is readable again, or was never
        broken) changes nothing. The stored answers keep their question and option ids, so
        the active version counts every answer whose question and option it still has, and
        treats any other as unanswered (`flows.scoring`); nothing is deleted. The revision
        advances, so buttons shown on the old version become stale, and the person lands in
        the menu, where progress shows what carried over.
        """
        record = await self.storage.current_session(user.user_id)
        if record is not None and await readable(self.catalog.get, record.content_hash) is None:
            active = self.catalog.active
            chosen = record.municipality_type
            offered = self._offers(active, chosen)
            target = active.for_type(chosen) if offered else active
            state = SessionState(
                record.state.answers, Position(Screen.MENU), record.state.revision + 1
            )
            # A type the active version no longer has is no choice the person made there.
            kept_type = type_of(target) if offered else None
            saved = await self.storage.set_municipality_type(
                record, kept_type, target.content_hash, state, self.clock()
            )
            if saved:
                log.info(
                    "session %s: moved from unreadable version %s to %s",
                    record.id,
                    record.content_hash,
                    target.content_hash,
                )
                record, q = await self.session_for(user)
                view = self._current(record, q, prefix=self.t("version_adopted") + "\n\n")
                return self._turn(record, Reply(edit=view))
        record, q = await self.session_for(user)
        return self._resync(record, q, message_id, self.t.plain("toast_stale"))

    @staticmethod
    def _offers(q: Questionnaire, type_id: str | None) -> bool:
        return type_id is not None and q.document.municipality_type_by_id(type_id) is not None

    def needs_type(self, record: SessionRecord, q: Questionnaire) -> bool:
        """A person on their own who has not chosen a type yet (and not begun)."""
        return (
            bool(q.document.municipality_types)
            and record.municipality_type is None
            and record.group_id is None
            and not record.state.answers
        )

    async def _switch_type(
        self, record: SessionRecord, q: Questionnaire, type_id: str
    ) -> tuple[SessionRecord, Questionnaire] | None:
        """Move the session to `type_id`'s questionnaire of the same version.

        The revision advances (question numbers on old buttons mean other questions now); a
        person looking at a question that no longer applies is taken to the menu.
        """
        target = q.for_type(type_id)
        state = record.state
        position = state.position
        if position.question_id and not target.has_question(position.question_id):
            position = Position(Screen.MENU)
        new_state = SessionState(state.answers, position, state.revision + 1)
        saved = await self.storage.set_municipality_type(
            record, type_id, target.content_hash, new_state, self.clock()
        )
        if not saved:
            return None
        log.info("session %s: municipality type %s", record.id, type_id)
        moved = replace(
            record,
            state=new_state,
            municipality_type=type_id,
            content_hash=target.content_hash,
        )
        return moved, target

    # updates ------------------------------------------------------------------------------

    async def start(self, user: UserRef) -> Turn:
        log.info("person %s: start", alias(user.user_id))
        await self.storage.touch_user(user, self.clock())
        record, q = await self.session_for(user)
        group = await self.storage.group(record.group_id) if record.group_id else None
        views: list[View] = []
        if group and behind_current_round(record.group_round, group.current_round):
            # The coordinator started a new round: the earlier attempt stays for comparison.
            record, q = await self._fresh_session(user, record, "new_round")
            views.append(View(self.t("new_round_note", name=group.name)))
        views.append(await self._welcome(record, q))
        return self._turn(record, Reply(send=views))

    async def command(self, user: UserRef, action: str, help_extra: Html | None = None) -> Turn:
        """menu, progress, results, restart, help; anything else is an unknown command."""
        log.info("person %s: command %s", alias(user.user_id), action)
        await self.storage.touch_user(user, self.clock())
        record, q = await self.session_for(user)
        state = record.state
        if action == "menu" and self.needs_type(record, q):
            # The menu leads into the questions, which depend on the type: choose it first.
            return self._turn(record, Reply(send=[self.render.choose_type(q, first=True)]))
        if action == "menu":
            record, _ = await self._move(record, q, apply(q, state, OpenMenu()))
            return self._turn(record, Reply(send=[self.render.menu(q, record.state)]))
        if action == "progress":
            return self._turn(record, Reply(send=[self.render.progress(q, state)]))
        if action == "results":
            return self._turn(record, Reply(send=self.render.results(q, state)))
        if action == "restart":
            if not state.answers:
                return self._turn(record, Reply(send=[self._nothing_to_restart(q, record)]))
            return self._turn(record, Reply(send=[self.render.restart_confirm(state)]))
        prefix = Html("") if action == "help" else self.t("unknown_command") + "\n\n"
        view = self.render.help(q, state, prefix=prefix, extra=help_extra or Html(""))
        return self._turn(record, Reply(send=[view]))

    async def other_input(self, user: UserRef) -> Turn:
        """Text, stickers, photos and the like: a friendly hint and the open question again."""
        log.info("person %s: input that is not a button or command", alias(user.user_id))
        record, q = await self.session_for(user)
        question = record.state.position.screen is Screen.QUESTION
        key = "not_a_button" if question else "not_a_button_idle"
        view = self._current(record, q, prefix=self.t(key) + "\n\n")
        return self._turn(record, Reply(send=[view]))

    async def press(self, user: UserRef, data: str | None, message_id: int | None) -> Turn:
        """A button press: decode, check it against the stored revision, apply, persist.

        Most presses answer or move on from the session as this process last saw it: with the
        cached record, decided and saved by a write guarded by its id and revision, in one
        hand-off to the database. Any other press, and any press the guard refuses, is
        decided again on the stored session.
        """
        cached = await self.storage.cached_session(user.user_id)
        if cached is not None:
            session = await self._session(user, cached)
            turn = await self._saved_press(user, session, data)
            if turn is not None:
                return turn
            if session[2]:  # the type switch just wrote (guarded) what the press must meet
                return await self._stored_press(user, session, data, message_id)
        return await self._stored_press(user, await self._session(user), data, message_id)

    async def _saved_press(
        self, user: UserRef, session: tuple[SessionRecord, Questionnaire, bool], data: str | None
    ) -> Turn | None:
        """The turn of a press that moves the session on, once saved; None for anything else."""
        record, q, switched = session
        decoded = codec.decode(data, q)
        if (
            switched
            or decoded is None
            or decoded.event is None
            or decoded.restart is not None
            or decoded.choose_type
            or decoded.municipality_type is not None
            or self.needs_type(record, q)
        ):
            return None
        outcome = apply(q, record.state, decoded.event)
        if outcome.refused is not None or outcome.state == record.state:
            return None
        moved, saved = await self._move(record, q, outcome)
        if not saved:
            return None
        if log.isEnabledFor(logging.INFO):
            log.info("person %s: %s", alias(user.user_id), type(decoded.event).__name__)
        return self._turn(moved, self._after_move(q, moved, outcome))

    async def _stored_press(
        self,
        user: UserRef,
        session: tuple[SessionRecord, Questionnaire, bool],
        data: str | None,
        message_id: int | None,
    ) -> Turn:
        """`press` decided on the session as stored (or as a type switch just wrote it)."""
        record, q, switched = session
        if switched:  # the coordinator changed the group's type: show the screen anew
            message_id = None
        decoded = codec.decode(data, q)
        if decoded is None:
            log.info("person %s: unknown button data refused", alias(user.user_id))
            return self._resync(record, q, message_id, self.t.plain("toast_unknown"))
        if decoded.restart is not None:
            return await self._restart(user, record, q, decoded.restart)
        if decoded.choose_type or decoded.municipality_type is not None:
            return await self._type_press(record, q, decoded.municipality_type)
        if self.needs_type(record, q):
            # A person on their own answers for one type: first the choice, then questions.
            view = self.render.choose_type(q, first=True)
            return self._turn(record, Reply(edit=view, toast=self.t.plain("toast_choose_type")))
        assert decoded.event is not None
        outcome = apply(q, record.state, decoded.event)
        if log.isEnabledFor(logging.INFO):
            log.info(
                "person %s: %s%s",
                alias(user.user_id),
                type(decoded.event).__name__,
                f" refused ({outcome.refused})" if outcome.refused else "",
            )
        if outcome.refused is Refusal.STALE:
            return self._resync(record, q, message_id, self.t.plain("toast_stale"))
        if outcome.refused is not None:
            return self._resync(record, q, message_id, self.t.plain("toast_unknown"))
        moved, saved = await self._move(record, q, outcome)
        if not saved:
            fresh, q = await self.session_for(user)
            return self._resync(fresh, q, message_id, self.t.plain("toast_stale"))
        return self._turn(moved, self._after_move(q, moved, outcome))

    # helpers ------------------------------------------------------------------------------

    async def _move(
        self, record: SessionRecord, q: Questionnaire, outcome: Outcome
    ) -> tuple[SessionRecord, bool]:
        if outcome.refused is not None or outcome.state == record.state:
            return record, True
        saved = await self.storage.save_state(
            record,
            outcome.state,
            self.clock(),
            stored_answer=outcome.stored_answer,
            completed=outcome.session_completed,
        )
        if not saved:
            return record, False
        return _with_state(record, outcome), True

    def _after_move(self, q: Questionnaire, record: SessionRecord, outcome: Outcome) -> Reply:
        state = record.state
        reply = Reply()
        if outcome.stored_answer is not None:
            question_id, value = outcome.stored_answer
            option = q.scale.option(value)
            if option is not None:
                reply.toast = self.t.plain("toast_saved", answer=option.label)
            elif value == NOT_APPLICABLE:
                reply.toast = self.t.plain("toast_not_applicable")
            else:
                reply.toast = self.t.plain("toast_skipped")
            note = self.render.previous_answer_note(q, question_id, value)
            reply.edit = self.render.current(q, state, prefix=note)
        elif state.position.screen is Screen.RESULTS:
            views = self.render.results(q, state)
            reply.edit, reply.send = views[0], views[1:]
            return reply
        else:
            reply.edit = self.render.current(q, state)
        if outcome.session_completed:
            reply.send = self.render.results(q, state)
        return reply

    def _resync(
        self, record: SessionRecord, q: Questionnaire, message_id: int | None, toast: str
    ) -> Turn:
        """Show where the person really is.

        The live message already shows the current state (every change edits it or replaces
        it), so a press there gets only the toast: editing it to the same content is a call
        Telegram refuses ("message is not modified"). A press elsewhere gets the current
        screen below.
        """
        if message_id is not None and message_id == record.message_id:
            return self._turn(record, Reply(toast=toast))
        view = self._current(record, q)
        return self._turn(record, Reply(toast=toast, send=[view]))

    async def _restart(
        self, user: UserRef, record: SessionRecord, q: Questionnaire, confirmed: bool
    ) -> Turn:
        if not confirmed:
            view = self._current(record, q, prefix=self.t("restart_cancelled") + "\n\n")
            return self._turn(record, Reply(edit=view))
        if not record.state.answers:
            # An empty attempt is no round worth keeping: archiving it would only add noise.
            return self._turn(record, Reply(edit=self._nothing_to_restart(q, record)))
        fresh, fresh_q = await self._fresh_session(user, record, "restart")
        reply = Reply(
            edit=View(self.t("restart_done")),
            send=[await self._welcome(fresh, fresh_q)],
        )
        return self._turn(fresh, reply)

    def _nothing_to_restart(self, q: Questionnaire, record: SessionRecord) -> View:
        return self.render.current(q, record.state, prefix=self.t("restart_nothing") + "\n\n")

    def _current(self, record: SessionRecord, q: Questionnaire, prefix: str = "") -> View:
        """The current screen; on the welcome, the type choice for whoever still needs it."""
        if record.state.position.screen is Screen.WELCOME and self.needs_type(record, q):
            choice = self.render.choose_type(q, first=True)
            return View(prefix + choice.text, choice.buttons)
        return self.render.current(q, record.state, prefix=prefix)

    async def _type_press(
        self, record: SessionRecord, q: Questionnaire, type_id: str | None
    ) -> Turn:
        """The type choice (from the menu) or a chosen type; in a group the coordinator decides."""
        if record.group_id is not None:
            group = await self.storage.group(record.group_id)
            label = q.municipality_type.label if q.municipality_type else "–"
            note = self.t("type_set_by_group", name=group.name if group else "–", type=label)
            return self._turn(record, Reply(send=[self.render.current(q, record.state, note)]))
        if type_id is None:
            return self._turn(record, Reply(edit=self.render.choose_type(q, first=False)))
        first = record.municipality_type is None and not record.state.answers
        switched = await self._switch_type(record, q, type_id)
        if switched is None:
            return self._resync(record, q, None, self.t.plain("toast_stale"))
        record, q = switched
        assert q.municipality_type is not None
        label = q.municipality_type.label
        toast = self.t.plain("toast_type", type=label)
        if first:
            return self._turn(record, Reply(edit=await self._welcome(record, q), toast=toast))
        note = Html(self.t("type_changed", type=label) + "\n\n")
        view = self.render.current(q, record.state, prefix=note)
        return self._turn(record, Reply(edit=view, toast=toast))

    async def _welcome(self, record: SessionRecord, q: Questionnaire) -> View:
        """The welcome, reminding group members whose check they are doing and who sees what.

        A person on their own who has not chosen a municipality type gets the choice with it.
        """
        if self.needs_type(record, q):
            return self.render.choose_type(q, first=True)
        welcome = self.render.welcome(q, record.state)
        group = await self.storage.group(record.group_id) if record.group_id else None
        if group is None:
            return welcome
        perspective = q.perspective(record.perspective)
        note = self.t(
            "welcome_group",
            name=group.name,
            perspective=perspective.label if perspective else "–",
        )
        return View(f"{welcome.text}\n\n{note}", welcome.buttons)

    async def _fresh_session(
        self, user: UserRef, record: SessionRecord, reason: str
    ) -> tuple[SessionRecord, Questionnaire]:
        """Archive the current attempt and begin a new one in the same group and perspective."""
        await self.storage.restart_session(
            user.user_id, record.id, self.catalog.active.content_hash, reason, self.clock()
        )
        # The new session carries the chosen type; reading it switches it to that type's content.
        return await self.session_for(user)

    @staticmethod
    def _turn(record: SessionRecord, reply: Reply) -> Turn:
        return Turn(reply, record.id, record.message_id)


def type_of(q: Questionnaire) -> str | None:
    """The municipality type id a questionnaire was derived for (None: a typeless file)."""
    return q.municipality_type.id if q.municipality_type else None


def _with_state(record: SessionRecord, outcome: Outcome) -> SessionRecord:
    return replace(record, state=outcome.state)
